use std::path::PathBuf;
use std::time::Duration;

use forge_types::ForgeError;
use thiserror::Error;

/// Everything that can go wrong while configuring, starting, probing or stopping a managed backend.
///
/// Startup errors are returned as soon as they are known (a child that exits, a port already
/// taken, a missing model file), never after a fixed wait, and any process spawned for the
/// failed start has already been killed when the caller sees the error.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ManagedError {
    /// The configuration breaks a rule (identity, budget mode, port, backend-specific options).
    #[error("{0}")]
    InvalidConfig(String),
    /// The `--extra-flags` value cannot be used.
    #[error("invalid --extra-flags {flags:?}: {problem}")]
    BadExtraFlags {
        /// The flags as given.
        flags: String,
        /// What is wrong with them.
        problem: String,
    },
    /// The server binary could not be found.
    #[error("{program} not found ({searched}); {hint}")]
    BinaryNotFound {
        /// The program that was looked for.
        program: String,
        /// Where it was looked for.
        searched: String,
        /// What to install, or which option to set.
        hint: &'static str,
    },
    /// The model file (GGUF or llamafile) does not exist.
    #[error("model file {path} does not exist (or is not a file)")]
    ModelFileMissing {
        /// The path given.
        path: PathBuf,
    },
    /// No llamafile runtime sits next to the model file.
    #[error("No llamafile runtime found in {dir} (expected a file matching llamafile-*)")]
    LlamafileRuntimeMissing {
        /// The directory searched.
        dir: PathBuf,
    },
    /// Something already listens on the backend port, so a spawned server could not bind it
    /// (and health probes would talk to the wrong server).
    #[error("cannot use {addr} for the backend: {source}; stop whatever listens there or choose another --backend-port")]
    PortUnavailable {
        /// The address that was checked.
        addr: String,
        /// Why binding it failed.
        source: std::io::Error,
    },
    /// The operating system refused to start the process.
    #[error("failed to spawn {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The server process exited before it became healthy.
    #[error("{program} (pid {pid}) exited during startup ({status}); last output:\n{output_tail}")]
    ExitedDuringStartup {
        /// The program.
        program: String,
        /// Its process id (already reaped).
        pid: u32,
        /// How it ended, e.g. `exit status: 1`.
        status: String,
        /// The last lines it wrote to stdout/stderr.
        output_tail: String,
    },
    /// The server did not become healthy before the deadline; it has been killed.
    #[error("{program} (pid {pid}) did not become ready at {url} within {after:?} (last probe: {last_probe}); it was stopped. Last output:\n{output_tail}")]
    HealthDeadline {
        /// The program.
        program: String,
        /// Its process id (stopped before the error is returned).
        pid: u32,
        /// The readiness URL polled.
        url: String,
        /// The deadline.
        after: Duration,
        /// What the last probe saw.
        last_probe: String,
        /// The last lines the server wrote.
        output_tail: String,
    },
    /// The port answered with something that is not the expected server.
    #[error("unexpected answer from {url}: {detail}")]
    UnexpectedResponse {
        /// The URL probed.
        url: String,
        /// What was wrong.
        detail: String,
    },
    /// The Ollama daemon we should attach to does not answer.
    #[error("Ollama is not reachable at {url}: {cause}; start it with `ollama serve`, or point --backend-port at the port it listens on")]
    OllamaUnreachable {
        /// The URL probed.
        url: String,
        /// What went wrong.
        cause: String,
    },
    /// `ollama stop <model>` failed.
    #[error("`ollama stop {model}` failed: {detail}")]
    OllamaUnload {
        /// The model.
        model: String,
        /// Exit status and output.
        detail: String,
    },
    /// Signalling or waiting for the server process failed.
    #[error("failed to stop process {pid}: {source}")]
    Stop {
        /// The process id.
        pid: u32,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Budget resolution or hardware detection failed.
    #[error(transparent)]
    Forge(#[from] ForgeError),
}

impl ManagedError {
    /// A [`ForgeError::BudgetResolution`] with a cause.
    pub(crate) fn budget(cause: impl Into<String>) -> Self {
        Self::Forge(ForgeError::BudgetResolution {
            cause: Some(cause.into()),
        })
    }
}
