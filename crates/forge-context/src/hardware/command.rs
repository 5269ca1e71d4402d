//! Running a probe command with a deadline.

use std::fmt;
use std::io::{self, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How a probe command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// The executable is not installed (not on `PATH`).
    NotFound,
    /// It ran past its deadline and was killed.
    TimedOut,
    /// It exited.
    Exited {
        /// The exit code; `None` when a signal ended it.
        code: Option<i32>,
        /// Everything it wrote to standard output.
        stdout: String,
    },
}

/// Runs the external commands hardware probes need. Tests substitute a scripted one.
pub trait CommandRunner: Send + Sync + fmt::Debug {
    /// Runs `program` with `args`, killing it after `timeout`.
    ///
    /// A missing executable is an outcome ([`CommandOutcome::NotFound`]); any other failure to
    /// launch or read it is an error.
    fn run(&self, program: &str, args: &[&str], timeout: Duration) -> io::Result<CommandOutcome>;
}

/// Runs commands as child processes of this one.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemCommandRunner;

/// How often a running child is checked for exit.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

impl CommandRunner for SystemCommandRunner {
    fn run(&self, program: &str, args: &[&str], timeout: Duration) -> io::Result<CommandOutcome> {
        let spawned = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Ok(CommandOutcome::NotFound)
            }
            Err(err) => return Err(err),
        };
        let mut stdout = child
            .stdout
            .take()
            .expect("stdout was configured as a pipe just above");
        // Read on another thread so a chatty child cannot block on a full pipe while we wait.
        // The thread is not joined after a timeout: a grandchild may still hold the pipe open.
        let (sender, output) = mpsc::channel();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let read = stdout.read_to_end(&mut bytes).map(|_| bytes);
            // The receiver is gone only when the deadline passed; nobody wants the bytes then.
            let _ = sender.send(read);
        });
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                child.kill()?;
                child.wait()?;
                return Ok(CommandOutcome::TimedOut);
            }
            thread::sleep(POLL_INTERVAL);
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let bytes = match output.recv_timeout(remaining) {
            Ok(read) => read?,
            Err(mpsc::RecvTimeoutError::Timeout) => return Ok(CommandOutcome::TimedOut),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(io::Error::other(format!(
                    "reading the output of {program} stopped without a result"
                )))
            }
        };
        let stdout = String::from_utf8(bytes).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{program} wrote non-UTF-8 output: {err}"),
            )
        })?;
        Ok(CommandOutcome::Exited {
            code: status.code(),
            stdout,
        })
    }
}
