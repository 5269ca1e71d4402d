//! One spawned server process: its output, its exit, and stopping it.
//!
//! The child runs in a process group of its own (Unix), for two reasons: a terminal Ctrl+C
//! reaches only forge, which then stops the server in order; and stopping signals the whole
//! group, so helper processes a server forks (vLLM's engine workers) stop with it. The group is
//! only signalled while its leader has not been reaped, so its id cannot belong to anyone else.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::output::OutputTail;
use crate::ManagedError;

/// How long to wait for the output readers after the child exited. A grandchild that kept the
/// pipes open must not hold up an error report.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// A running (or just exited) server child that forge spawned and therefore owns.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    program: String,
    pid: u32,
    child: Child,
    tail: OutputTail,
    readers: Vec<JoinHandle<()>>,
}

impl ServerProcess {
    /// Spawns `program args…` with stdin closed and stdout/stderr captured.
    pub(crate) fn spawn(program: &Path, args: &[String]) -> Result<Self, ManagedError> {
        let program_name = program.display().to_string();
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn().map_err(|source| ManagedError::Spawn {
            program: program_name.clone(),
            source,
        })?;
        let pid = child
            .id()
            .expect("a child that was just spawned has not been reaped yet");
        let tail = OutputTail::default();
        let mut readers = Vec::with_capacity(2);
        if let Some(stdout) = child.stdout.take() {
            readers.push(tail.spawn_reader(stdout, pid, "stdout"));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tail.spawn_reader(stderr, pid, "stderr"));
        }
        Ok(Self {
            program: program_name,
            pid,
            child,
            tail,
            readers,
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The program path as given to spawn.
    pub(crate) fn program(&self) -> &str {
        &self.program
    }

    /// Waits until the child exits. Cancel-safe, so it can race a probe in `select!`.
    pub(crate) async fn wait_exit(&mut self) -> Result<ExitStatus, ManagedError> {
        self.child
            .wait()
            .await
            .map_err(|source| ManagedError::Stop {
                pid: self.pid,
                source,
            })
    }

    /// The exit status if the child has exited, without waiting.
    pub(crate) fn try_exit(&mut self) -> Result<Option<ExitStatus>, ManagedError> {
        self.child.try_wait().map_err(|source| ManagedError::Stop {
            pid: self.pid,
            source,
        })
    }

    /// The last output lines. After an exit, waits (briefly) for the readers to reach the end
    /// of the pipes first, so the lines explaining the exit are included.
    pub(crate) async fn output_tail(&mut self) -> String {
        if !self.is_running() {
            for reader in self.readers.drain(..) {
                // A reader that is still blocked belongs to a pipe some grandchild holds open;
                // what we have so far is the best report available.
                let _ = tokio::time::timeout(DRAIN_WAIT, reader).await;
            }
        }
        self.tail.render()
    }

    /// The error for a child that exited before it became ready.
    pub(crate) async fn exited_during_startup(&mut self, status: ExitStatus) -> ManagedError {
        ManagedError::ExitedDuringStartup {
            program: self.program.clone(),
            pid: self.pid,
            status: status.to_string(),
            output_tail: self.output_tail().await,
        }
    }

    /// True until the child's exit has been observed.
    fn is_running(&self) -> bool {
        self.child.id().is_some()
    }

    /// SIGTERM (to the group), up to `grace` for the exit, then SIGKILL. Returns the exit status.
    pub(crate) async fn stop(&mut self, grace: Duration) -> Result<ExitStatus, ManagedError> {
        if self.is_running() {
            tracing::info!(pid = self.pid, program = %self.program, "stopping backend (SIGTERM)");
            self.signal_terminate()?;
            match tokio::time::timeout(grace, self.child.wait()).await {
                Ok(status) => {
                    return status.map_err(|source| ManagedError::Stop {
                        pid: self.pid,
                        source,
                    })
                }
                Err(_) => {
                    tracing::warn!(
                        pid = self.pid,
                        ?grace,
                        "backend ignored SIGTERM; killing it"
                    );
                    self.kill_now();
                }
            }
        }
        self.wait_exit().await
    }

    #[cfg(unix)]
    fn signal_terminate(&mut self) -> Result<(), ManagedError> {
        self.signal_group(rustix::process::Signal::TERM)
            .map_err(|source| ManagedError::Stop {
                pid: self.pid,
                source,
            })
    }

    #[cfg(not(unix))]
    fn signal_terminate(&mut self) -> Result<(), ManagedError> {
        self.child
            .start_kill()
            .map_err(|source| ManagedError::Stop {
                pid: self.pid,
                source,
            })
    }

    /// Sends `signal` to the child's process group, only while the leader is unreaped.
    #[cfg(unix)]
    fn signal_group(&mut self, signal: rustix::process::Signal) -> std::io::Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let raw = i32::try_from(self.pid).map_err(std::io::Error::other)?;
        let Some(pid) = rustix::process::Pid::from_raw(raw) else {
            return Ok(());
        };
        match rustix::process::kill_process_group(pid, signal) {
            Ok(()) => Ok(()),
            // The group is already gone: every member exited (the leader is a zombie).
            Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// SIGKILL to the group (and the child itself), without waiting.
    fn kill_now(&mut self) {
        #[cfg(unix)]
        if let Err(err) = self.signal_group(rustix::process::Signal::KILL) {
            tracing::warn!(pid = self.pid, %err, "could not SIGKILL the backend's process group");
        }
        if self.is_running() {
            if let Err(err) = self.child.start_kill() {
                tracing::warn!(pid = self.pid, %err, "could not kill the backend process");
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.is_running() {
            if let Ok(None) = self.child.try_wait() {
                tracing::warn!(pid = self.pid, program = %self.program, "backend dropped without stop(); killing it");
                self.kill_now();
            }
        }
    }
}
