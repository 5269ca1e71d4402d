//! Running child processes: echoing and capturing their output, or logging it to a file with progress.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The command as a person would type it, for logs and error messages.
pub fn describe(command: &Command) -> String {
    let program = command.get_program();
    // `crate::cargo()` is a full toolchain path; people know it as `cargo`.
    let program = if Some(program) == std::env::var_os("CARGO").as_deref() {
        "cargo".into()
    } else {
        program.to_string_lossy()
    };
    let mut words = vec![program.into_owned()];
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    let envs: Vec<String> = command
        .get_envs()
        .filter_map(|(key, value)| {
            value.map(|value| format!("{}={}", key.to_string_lossy(), value.to_string_lossy()))
        })
        .collect();
    if envs.is_empty() {
        words.join(" ")
    } else {
        format!("{} {}", envs.join(" "), words.join(" "))
    }
}

/// Runs `command` with no stdin, echoing its stdout and stderr as they come and also returning them
/// (interleaved per chunk) so the caller can read closing summary lines.
pub fn run_echoing(command: &mut Command) -> Result<(ExitStatus, String)> {
    let description = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{description}`"))?;
    let stdout = child.stdout.take().context("child stdout was piped")?;
    let stderr = child.stderr.take().context("child stderr was piped")?;
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    let out_sender = sender.clone();
    let out_thread = thread::spawn(move || copy_chunks(stdout, io::stdout(), out_sender));
    let err_thread = thread::spawn(move || copy_chunks(stderr, io::stderr(), sender));
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{description}`"))?;
    for copier in [out_thread, err_thread] {
        copier
            .join()
            .map_err(|_| anyhow::anyhow!("output copier thread panicked"))?
            .context("copying child output")?;
    }
    let captured: Vec<u8> = receiver.into_iter().flatten().collect();
    Ok((status, String::from_utf8_lossy(&captured).into_owned()))
}

fn copy_chunks(
    mut from: impl Read,
    mut to: impl Write,
    sink: std::sync::mpsc::Sender<Vec<u8>>,
) -> io::Result<()> {
    let mut buffer = [0u8; 8192];
    loop {
        let read = from.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        to.write_all(&buffer[..read])?;
        to.flush()?;
        // The receiver lives until both copiers are joined, so a send cannot fail while we run.
        let _ = sink.send(buffer[..read].to_vec());
    }
}

/// Runs `command` to completion with no stdin and its output inherited; fails on a non-zero exit.
pub fn run_inherited(command: &mut Command) -> Result<()> {
    let description = describe(command);
    let status = command
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start `{description}`"))?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    Ok(())
}

/// Runs `command` quietly and returns its stdout and stderr together if it exits with success.
pub fn output_if_success(command: &mut Command) -> Option<String> {
    let output = command.stdin(Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Some(text)
}

/// Runs `command` quietly and returns its stdout if it exits with success.
pub fn stdout_if_success(command: &mut Command) -> Option<String> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Opens `path` for appending, creating it (and not its folder) if needed.
pub fn append_log(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log {}", path.display()))
}

/// Runs a long `command` with its output appended to `log`, printing `phase` and the elapsed time
/// every `every` (with the log's last line, which for ninja and make is the build progress).
pub fn run_logged_with_progress(
    command: &mut Command,
    log: &Path,
    phase: &str,
    every: Duration,
) -> Result<Duration> {
    let description = describe(command);
    let mut file = append_log(log)?;
    writeln!(file, "\n$ {description}").context("writing the log")?;
    let stdout = file.try_clone().context("duplicating the log handle")?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(file)
        .spawn()
        .with_context(|| format!("cannot start `{description}`"))?;
    let started = Instant::now();
    println!("[setup] {phase} (log: {})", log.display());
    let status = wait_with_progress(&mut child, log, phase, every, started)?;
    let elapsed = started.elapsed();
    if !status.success() {
        bail!(
            "{phase} failed ({status}) after {} s: `{description}`\nlast lines of {}:\n{}",
            elapsed.as_secs(),
            log.display(),
            tail_lines(log, 40)
        );
    }
    println!("[setup] {phase}: done in {} s", elapsed.as_secs());
    Ok(elapsed)
}

fn wait_with_progress(
    child: &mut Child,
    log: &Path,
    phase: &str,
    every: Duration,
    started: Instant,
) -> Result<ExitStatus> {
    let mut next_report = started + every;
    loop {
        if let Some(status) = child.try_wait().context("polling a child process")? {
            return Ok(status);
        }
        if Instant::now() >= next_report {
            let last = tail_lines(log, 1);
            println!(
                "[setup] {phase}: {} s elapsed  {}",
                started.elapsed().as_secs(),
                last.trim()
            );
            next_report += every;
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// The last `count` lines of the file at `path` (or a note saying it cannot be read).
pub fn tail_lines(path: &Path, count: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => last_lines(&String::from_utf8_lossy(&bytes), count),
        Err(error) => format!("(cannot read {}: {error})", path.display()),
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.rsplit('\r').next().unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_skips_blank_lines_and_keeps_the_latest_carriage_return_update() {
        let cases: &[(&str, usize, &str)] = &[
            ("a\nb\nc\n", 2, "b\nc"),
            ("a\n\n\n", 1, "a"),
            ("[1/9] x\r[2/9] y\n", 1, "[2/9] y"),
            ("only", 5, "only"),
            ("", 3, ""),
        ];
        for (text, count, expected) in cases {
            assert_eq!(last_lines(text, *count), *expected, "{text:?}");
        }
    }

    #[test]
    fn describe_shows_environment_then_program_and_arguments() {
        let mut command = Command::new("cargo");
        command
            .args(["doc", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings");
        assert_eq!(
            describe(&command),
            "RUSTDOCFLAGS=-D warnings cargo doc --no-deps"
        );
    }
}
