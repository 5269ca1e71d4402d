//! The real-client tier: the official `openai` and `anthropic` Python SDKs (pinned, in a venv under
//! the cache) call `forge-proxy` — in front of the canned backend, whose fenced-JSON answers the
//! proxy must rescue, and in front of the real llama-server when the real tier runs. The scripts
//! live in `tests/sdk/`; each prints `PASS`/`FAIL` lines that are counted here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::canned_backend::{CannedBackend, ToolAnswer};
use crate::counts::TestCounts;
use crate::process::{describe, output_if_success, run_echoing, run_logged_with_progress};
use crate::proxy_process::{build_proxy, Profile, ProxyProcess};
use crate::setup::Cache;

/// The SDK versions installed, pinned so a new release cannot change the tier under us.
pub const SDK_REQUIREMENTS: &[&str] = &["openai==3.54.0", "anthropic==2.12.0"];
/// The client scripts, in `tests/sdk/`.
const SCRIPTS: &[&str] = &["openai_client.py", "anthropic_client.py"];
/// Written into the venv after a successful install; a venv whose marker differs is rebuilt.
const MARKER: &str = "forge-sdk-requirements.txt";

/// What the tier did.
#[derive(Debug)]
pub enum SdkRun {
    /// Not run, and why (printed).
    Skipped(String),
    /// Ran: the counted checks and the names of those that failed.
    Ran {
        counts: TestCounts,
        failures: Vec<String>,
    },
}

/// A backend the SDK checks run against.
pub struct Target<'a> {
    /// `canned` (exact answers checked) or `real` (shapes only): the scripts' `--backend`.
    pub kind: &'static str,
    /// The backend root URL the proxy's `--backend-url` takes.
    pub backend_url: &'a str,
    /// Extra proxy arguments.
    pub proxy_args: &'a [&'a str],
}

/// Installs the SDKs if needed, builds the proxy, runs both scripts against the canned backend and
/// against `real_backend_url` if given. Python or pip missing is a skip with its reason.
pub fn run(repo_root: &Path, real_backend_url: Option<&str>) -> Result<SdkRun> {
    let cache = Cache::locate()?;
    let python = match sdk_python(&cache)? {
        Ok(python) => python,
        Err(reason) => {
            println!("[sdk] skipped: {reason}");
            return Ok(SdkRun::Skipped(reason));
        }
    };
    let proxy_binary = build_proxy(repo_root, Profile::Debug)?;
    let logs = cache.dir("logs")?;
    let mut counts = TestCounts::default();
    let mut failures = Vec::new();

    let canned = CannedBackend::start(ToolAnswer::FencedJson)?;
    println!("[sdk] canned backend at {}", canned.url());
    let canned_target = Target {
        kind: "canned",
        backend_url: &canned.url(),
        proxy_args: &[],
    };
    run_target(
        repo_root,
        &python,
        &proxy_binary,
        &canned_target,
        &logs,
        &mut counts,
        &mut failures,
    )?;
    println!(
        "[sdk] the canned backend answered {} chat completions",
        canned.requests_answered()
    );
    if canned.requests_answered() == 0 {
        counts.failed += 1;
        failures.push("the canned backend was never called".to_owned());
    }
    drop(canned);

    match real_backend_url {
        Some(url) => run_target(
            repo_root,
            &python,
            &proxy_binary,
            &Target {
                kind: "real",
                backend_url: url,
                // The 135M model almost never calls a tool, so every tool request would run the
                // whole retry budget on a shared CPU; one retry still takes the retry path, and the
                // shapes the SDKs parse are the same.
                proxy_args: &["--max-retries", "1"],
            },
            &logs,
            &mut counts,
            &mut failures,
        )?,
        None => println!("[sdk] no real llama-server: only the canned backend was used"),
    }
    Ok(SdkRun::Ran { counts, failures })
}

/// `cargo xtask sdk-clients [--backend-url URL]`: the tier on its own, for running it by hand.
pub fn run_command(repo_root: &Path, args: &[String]) -> Result<()> {
    let real_backend_url = match args {
        [] => None,
        [flag, url] if flag == "--backend-url" => Some(url.as_str()),
        _ => bail!("`sdk-clients` takes only `--backend-url URL`, got {args:?}"),
    };
    match run(repo_root, real_backend_url)? {
        SdkRun::Skipped(reason) => bail!("the SDK checks could not run: {reason}"),
        SdkRun::Ran { counts, failures } => {
            println!(
                "
[sdk] {} passed, {} failed",
                counts.passed, counts.failed
            );
            if !failures.is_empty() {
                bail!("failed: {}", failures.join("; "));
            }
            Ok(())
        }
    }
}

/// Starts a proxy in front of `target` and runs every script against it.
fn run_target(
    repo_root: &Path,
    python: &Path,
    proxy_binary: &Path,
    target: &Target<'_>,
    logs: &Path,
    counts: &mut TestCounts,
    failures: &mut Vec<String>,
) -> Result<()> {
    let log = logs.join(format!(
        "sdk-proxy-{}-{}.log",
        std::process::id(),
        target.kind
    ));
    let proxy = ProxyProcess::start(proxy_binary, target.backend_url, target.proxy_args, &log)?;
    for script in SCRIPTS {
        let mut command = Command::new(python);
        command
            .current_dir(repo_root.join("tests").join("sdk"))
            .arg(script)
            .args(["--base-url", &proxy.url(), "--backend", target.kind])
            .env("PYTHONDONTWRITEBYTECODE", "1");
        println!("\n[sdk] {} backend: {}", target.kind, describe(&command));
        let (status, output) = run_echoing(&mut command)?;
        let report = parse_report(&output);
        counts.passed += report.passed;
        counts.failed += report.failed.len() as u64;
        failures.extend(
            report
                .failed
                .iter()
                .map(|name| format!("{} ({})", name, target.kind)),
        );
        if !report.summary_seen || (!status.success() && report.failed.is_empty()) {
            counts.failed += 1;
            failures.push(format!(
                "{script} ({}) ended without its summary ({status})",
                target.kind
            ));
        }
    }
    println!("[sdk] proxy log: {}", proxy.log().display());
    Ok(())
}

/// The PASS/FAIL lines of one script's output.
#[derive(Debug, Default, PartialEq, Eq)]
struct Report {
    passed: u64,
    failed: Vec<String>,
    summary_seen: bool,
}

fn parse_report(output: &str) -> Report {
    let mut report = Report::default();
    for line in output.lines() {
        if line.starts_with("PASS ") {
            report.passed += 1;
        } else if let Some(rest) = line.strip_prefix("FAIL ") {
            let name = rest.split_once(": ").map_or(rest, |(head, tail)| {
                // `FAIL openai 3.54.0: chat: why` — keep the client and the check name.
                let check = tail.split_once(": ").map_or(tail, |(check, _)| check);
                &rest[..head.len() + 2 + check.len()]
            });
            report.failed.push(name.to_owned());
        } else if line.starts_with("sdk-summary: ") {
            report.summary_seen = true;
        }
    }
    report
}

/// The venv's python with the pinned SDKs installed, or why the tier cannot run here.
fn sdk_python(cache: &Cache) -> Result<std::result::Result<PathBuf, String>> {
    let venv = cache.root.join("sdk-venv");
    let python = venv.join("bin").join("python");
    let wanted = SDK_REQUIREMENTS.join("\n") + "\n";
    let installed = fs::read_to_string(venv.join(MARKER)).ok();
    if installed.as_deref() == Some(wanted.as_str()) && sdks_import(&python) {
        println!(
            "[sdk] using {} ({})",
            venv.display(),
            SDK_REQUIREMENTS.join(", ")
        );
        return Ok(Ok(python));
    }

    let system_python = PathBuf::from("python3");
    if output_if_success(Command::new(&system_python).arg("--version")).is_none() {
        return Ok(Err("python3 is not installed (or does not run)".to_owned()));
    }
    if output_if_success(Command::new(&system_python).args(["-c", "import venv, ensurepip"]))
        .is_none()
    {
        return Ok(Err(
            "python3 has no venv/ensurepip module (Debian/Ubuntu: apt-get install python3-venv)"
                .to_owned(),
        ));
    }
    println!(
        "[sdk] creating {} with {}",
        venv.display(),
        SDK_REQUIREMENTS.join(", ")
    );
    let log = cache.dir("logs")?.join("sdk-venv.log");
    let mut create = Command::new(&system_python);
    create.args(["-m", "venv", "--clear"]).arg(&venv);
    run_logged_with_progress(
        &mut create,
        &log,
        "creating the SDK venv",
        Duration::from_secs(30),
    )?;
    if output_if_success(Command::new(&python).args(["-m", "pip", "--version"])).is_none() {
        return Ok(Err(format!(
            "the venv at {} has no working pip",
            venv.display()
        )));
    }
    let mut install = Command::new(&python);
    install
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
        ])
        .args(SDK_REQUIREMENTS);
    run_logged_with_progress(
        &mut install,
        &log,
        "installing the SDKs from PyPI",
        Duration::from_secs(30),
    )
    .context("pip could not install the SDKs; check that this machine reaches PyPI")?;
    if !sdks_import(&python) {
        bail!(
            "the SDKs installed into {} but `import openai, anthropic` fails; see {}",
            venv.display(),
            log.display()
        );
    }
    fs::write(venv.join(MARKER), wanted)
        .with_context(|| format!("cannot write {}", venv.join(MARKER).display()))?;
    Ok(Ok(python))
}

fn sdks_import(python: &Path) -> bool {
    output_if_success(Command::new(python).args(["-c", "import openai, anthropic"])).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_pass_and_fail_lines_and_names_the_failed_checks() {
        let output = "\
PASS openai 3.54.0: chat
FAIL openai 3.54.0: tools: no tool call (content 'x: y'): the fenced call was not rescued
    Traceback: FAIL inside a detail line is not a result
PASS openai 3.54.0: tools, streaming
sdk-summary: 2 passed, 1 failed
";
        assert_eq!(
            parse_report(output),
            Report {
                passed: 2,
                failed: vec!["openai 3.54.0: tools".to_owned()],
                summary_seen: true,
            }
        );
        assert_eq!(
            parse_report("Traceback (most recent call last):\nImportError: openai"),
            Report::default()
        );
    }
}
