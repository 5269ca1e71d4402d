//! `cargo xtask test`: the whole test matrix, run step by step, with a summary table at the end.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::counts::{parse_libtest, parse_nextest, TestCounts};
use crate::process::{describe, output_if_success, run_echoing, stdout_if_success};
use crate::real_tier::{run_real_tests, stop_servers_on_signal, RealServers};
use crate::sdk_tier::{self, SdkRun};
use crate::setup;

/// Packages that are not library crates of the product: they get no `cargo check -p` of their own.
const NOT_PRODUCT_CRATES: &[&str] = &["xtask", "forge-tests"];

/// Command-line options of `cargo xtask test`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Skip the per-crate checks and the docs build.
    pub quick: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        for arg in args {
            match arg.as_str() {
                "--quick" => options.quick = true,
                other => bail!("`test` does not know `{other}` (options: --quick)"),
            }
        }
        Ok(options)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Passed,
    Failed,
    Skipped(String),
}

#[derive(Debug)]
struct StepRecord {
    name: String,
    status: Status,
    duration: Duration,
    detail: String,
}

/// The results so far, plus the test counts read from the runners' closing lines.
#[derive(Default)]
struct Matrix {
    records: Vec<StepRecord>,
    totals: Option<TestCounts>,
}

impl Matrix {
    fn record(&mut self, name: &str, status: Status, duration: Duration, detail: String) {
        self.records.push(StepRecord {
            name: name.to_owned(),
            status,
            duration,
            detail,
        });
    }

    fn skip(&mut self, name: &str, reason: &str) {
        println!("\n==> {name}: skipped ({reason})");
        self.record(
            name,
            Status::Skipped(reason.to_owned()),
            Duration::ZERO,
            String::new(),
        );
    }

    fn add_counts(&mut self, counts: TestCounts) {
        *self.totals.get_or_insert_with(TestCounts::default) += counts;
    }

    /// Runs one step's command in the repository, echoing its output; records and returns whether it
    /// passed, with the output for callers that read counts from it.
    fn run(&mut self, name: &str, mut command: Command) -> (bool, String) {
        println!("\n==> {name}: {}", describe(&command));
        let started = Instant::now();
        let (passed, output, detail) = match run_echoing(&mut command) {
            Ok((status, output)) => (status.success(), output, String::new()),
            Err(error) => (false, String::new(), format!("{error:#}")),
        };
        let status = if passed {
            Status::Passed
        } else {
            Status::Failed
        };
        self.record(name, status, started.elapsed(), detail);
        (passed, output)
    }

    fn set_detail(&mut self, detail: String) {
        if let Some(last) = self.records.last_mut() {
            last.detail = detail;
        }
    }

    fn all_passed(&self) -> bool {
        self.records
            .iter()
            .all(|record| record.status != Status::Failed)
    }
}

/// The variable forge-eval's dashboard test reads to skip its headless-Chromium render.
const SKIP_BROWSER_ENV: &str = "FORGE_SKIP_BROWSER";

/// Why the dashboard's browser render cannot run here, if it cannot: the user asked to skip it,
/// or no Chromium is installed (the test would fail with an install hint; the matrix reports a
/// skip with the same hint instead, and `.ci/run` installs Chromium so CI always renders).
fn browser_skip_reason() -> Option<String> {
    if std::env::var_os(SKIP_BROWSER_ENV).is_some_and(|value| value == "1") {
        return Some(format!("{SKIP_BROWSER_ENV}=1"));
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
            .unwrap_or(false)
    };
    if ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|name| on_path(name))
    {
        None
    } else {
        Some("Chromium not installed; `apt-get install chromium` to run it".to_owned())
    }
}

fn cargo_in(repo_root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(crate::cargo());
    command.current_dir(repo_root).args(args);
    command
}

fn nextest_available(repo_root: &Path) -> bool {
    output_if_success(&mut cargo_in(repo_root, &["nextest", "--version"])).is_some()
}

/// Whether to run tests with nextest: `FORGE_TEST_RUNNER` (`nextest` or `cargo-test`) if set, else
/// nextest when `cargo nextest` runs.
fn choose_nextest(repo_root: &Path) -> Result<bool> {
    match std::env::var("FORGE_TEST_RUNNER").ok().as_deref() {
        None | Some("") => Ok(nextest_available(repo_root)),
        Some("nextest") => Ok(true),
        Some("cargo-test") => Ok(false),
        Some(other) => bail!("FORGE_TEST_RUNNER={other}: expected `nextest` or `cargo-test`"),
    }
}

/// Every workspace package with a library target, except the automation and integration-test crates.
fn library_crates(repo_root: &Path) -> Result<Vec<String>> {
    let metadata = stdout_if_success(&mut cargo_in(
        repo_root,
        &["metadata", "--no-deps", "--format-version", "1"],
    ))
    .context("`cargo metadata --no-deps --format-version 1` failed")?;
    library_crates_in_metadata(&metadata)
}

fn library_crates_in_metadata(metadata: &str) -> Result<Vec<String>> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata).context("cargo metadata printed invalid JSON")?;
    let packages = metadata["packages"]
        .as_array()
        .context("cargo metadata has no `packages` list")?;
    let mut crates: Vec<String> = packages
        .iter()
        .filter(|package| {
            package["targets"].as_array().is_some_and(|targets| {
                targets.iter().any(|target| {
                    target["kind"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|kind| kind == "lib"))
                })
            })
        })
        .filter_map(|package| package["name"].as_str())
        .filter(|name| !NOT_PRODUCT_CRATES.contains(name))
        .map(str::to_owned)
        .collect();
    crates.sort();
    Ok(crates)
}

/// Why the real tier is skipped by request, if it is.
fn real_tier_skip_reason() -> Option<String> {
    let value = std::env::var("FORGE_SKIP_REAL").ok()?;
    (!value.is_empty() && value != "0").then(|| format!("FORGE_SKIP_REAL={value}"))
}

/// Runs the matrix and prints the summary; returns whether every step that ran passed.
pub fn run(repo_root: &Path, options: &Options) -> Result<bool> {
    let started = Instant::now();
    let mut matrix = Matrix::default();
    const BUILD_FAILED: &str = "build failed";

    matrix.run(
        "fmt",
        cargo_in(repo_root, &["fmt", "--all", "--", "--check"]),
    );
    matrix.run(
        "clippy",
        cargo_in(
            repo_root,
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
    );
    let (built, _) = matrix.run(
        "build tests",
        cargo_in(repo_root, &["test", "--workspace", "--no-run"]),
    );

    let use_nextest = choose_nextest(repo_root)?;
    let runner = if use_nextest {
        "cargo nextest"
    } else {
        "cargo test (cargo nextest not found or FORGE_TEST_RUNNER=cargo-test)"
    };
    println!("\n[test] test runner: {runner}");
    let browser_skip = browser_skip_reason();
    if let Some(reason) = &browser_skip {
        println!("[test] dashboard browser render: skipped ({reason})");
    }
    if built {
        let mut command = if use_nextest {
            cargo_in(
                repo_root,
                &["nextest", "run", "--workspace", "--no-fail-fast"],
            )
        } else {
            cargo_in(
                repo_root,
                &[
                    "test",
                    "--workspace",
                    "--lib",
                    "--bins",
                    "--tests",
                    "--no-fail-fast",
                ],
            )
        };
        if browser_skip.is_some() {
            command.env(SKIP_BROWSER_ENV, "1");
        }
        let (_, output) = matrix.run("tests", command);
        let counts = if use_nextest {
            parse_nextest(&output)
        } else {
            parse_libtest(&output)
        };
        let runner_name = if use_nextest { "nextest" } else { "cargo test" };
        match counts {
            Some(counts) => {
                matrix.add_counts(counts);
                matrix.set_detail(format!("{counts} ({runner_name})"));
            }
            None => matrix.set_detail(format!("no summary line read ({runner_name})")),
        }

        let (_, output) = matrix.run(
            "doc-tests",
            cargo_in(repo_root, &["test", "--workspace", "--doc"]),
        );
        if let Some(counts) = parse_libtest(&output) {
            matrix.add_counts(counts);
            matrix.set_detail(counts.to_string());
        }
    } else {
        matrix.skip("tests", BUILD_FAILED);
        matrix.skip("doc-tests", BUILD_FAILED);
    }
    if let Some(reason) = &browser_skip {
        matrix.skip("browser render", reason);
    }

    if options.quick {
        matrix.skip("check -p <each library crate>", "--quick");
        matrix.skip("doc", "--quick");
    } else {
        match library_crates(repo_root) {
            Ok(crates) => {
                for name in crates {
                    matrix.run(
                        &format!("check -p {name}"),
                        cargo_in(repo_root, &["check", "-p", &name]),
                    );
                }
            }
            Err(error) => {
                println!("\n==> check -p <each library crate>: {error:#}");
                matrix.record(
                    "check -p <each library crate>",
                    Status::Failed,
                    Duration::ZERO,
                    format!("{error:#}"),
                );
            }
        }
        let mut doc = cargo_in(repo_root, &["doc", "--workspace", "--no-deps"]);
        doc.env("RUSTDOCFLAGS", "-D warnings");
        matrix.run("doc", doc);
    }

    let (real_line, real_servers) = run_real_tier(&mut matrix, repo_root, built, use_nextest);
    run_sdk_clients(&mut matrix, repo_root, built, real_servers.as_ref());
    // Stop the servers before the summary, so their "stopped" lines come first.
    drop(real_servers);

    print_summary(&matrix, started.elapsed(), &real_line);
    Ok(matrix.all_passed())
}

/// Runs setup and the real tier as two steps; returns the `real backend: …` line and the servers,
/// still running, for the SDK clients step.
fn run_real_tier(
    matrix: &mut Matrix,
    repo_root: &Path,
    built: bool,
    use_nextest: bool,
) -> (String, Option<RealServers>) {
    const SETUP: &str = "real-tier setup";
    const TIER: &str = "real tier";
    let skip_reason =
        real_tier_skip_reason().or_else(|| (!built).then(|| "build failed".to_owned()));
    if let Some(reason) = skip_reason {
        matrix.skip(SETUP, &reason);
        matrix.skip(TIER, &reason);
        return (format!("real backend: skipped ({reason})"), None);
    }

    println!("\n==> {SETUP}");
    let setup_started = Instant::now();
    let setup = match setup::prepare(repo_root) {
        Ok(setup) => {
            matrix.record(
                SETUP,
                Status::Passed,
                setup_started.elapsed(),
                String::new(),
            );
            setup
        }
        Err(error) => {
            eprintln!("[setup] failed: {error:#}");
            matrix.record(
                SETUP,
                Status::Failed,
                setup_started.elapsed(),
                first_line(&format!("{error:#}")),
            );
            matrix.skip(TIER, "setup failed");
            return ("real backend: skipped (setup failed)".to_owned(), None);
        }
    };

    println!("\n==> {TIER}");
    let tier_started = Instant::now();
    let mut kept_servers = None;
    let outcome = stop_servers_on_signal()
        .and_then(|()| RealServers::start(&setup))
        .and_then(|servers| {
            let result = run_real_tests(repo_root, &setup, &servers, use_nextest);
            kept_servers = Some(servers);
            result
        });
    let elapsed = tier_started.elapsed();
    match outcome {
        Ok((status, output)) => {
            let counts = if use_nextest {
                parse_nextest(&output)
            } else {
                parse_libtest(&output)
            };
            let ran = counts.map(|counts| counts.ran()).unwrap_or(0);
            let passed = status.success() && ran > 0;
            let detail = match counts {
                Some(counts) if ran > 0 => {
                    format!("{} passed, {} failed", counts.passed, counts.failed)
                }
                _ => "no real_ test ran".to_owned(),
            };
            if let Some(counts) = counts {
                matrix.add_counts(TestCounts {
                    skipped: 0,
                    ..counts
                });
            }
            let status = if passed {
                Status::Passed
            } else {
                Status::Failed
            };
            matrix.record(TIER, status, elapsed, detail.clone());
            let line = format!("real backend: ran {ran} ({detail})");
            println!("{line}");
            (line, kept_servers)
        }
        Err(error) => {
            eprintln!("[real] failed: {error:#}");
            matrix.record(
                TIER,
                Status::Failed,
                elapsed,
                first_line(&format!("{error:#}")),
            );
            (
                "real backend: ran 0 (the servers did not start)".to_owned(),
                kept_servers,
            )
        }
    }
}

/// The SDK clients step: the Python SDKs against the proxy in front of the canned backend, and in
/// front of the real tier's tools server when it is up.
fn run_sdk_clients(matrix: &mut Matrix, repo_root: &Path, built: bool, real: Option<&RealServers>) {
    const STEP: &str = "sdk clients";
    if !built {
        matrix.skip(STEP, "build failed");
        return;
    }
    println!("\n==> {STEP}");
    let started = Instant::now();
    let real_url = real.map(|servers| servers.tools.url());
    match sdk_tier::run(repo_root, real_url.as_deref()) {
        Ok(SdkRun::Skipped(reason)) => matrix.skip(STEP, &reason),
        Ok(SdkRun::Ran { counts, failures }) => {
            matrix.add_counts(counts);
            let backends = if real_url.is_some() {
                "canned and real backend"
            } else {
                "canned backend only"
            };
            let mut detail = format!(
                "{} passed, {} failed ({backends})",
                counts.passed, counts.failed
            );
            if !failures.is_empty() {
                detail.push_str(&format!(": {}", failures.join("; ")));
            }
            let status = if counts.failed == 0 {
                Status::Passed
            } else {
                Status::Failed
            };
            matrix.record(STEP, status, started.elapsed(), detail);
        }
        Err(error) => {
            eprintln!("[sdk] failed: {error:#}");
            matrix.record(
                STEP,
                Status::Failed,
                started.elapsed(),
                first_line(&format!("{error:#}")),
            );
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 60.0 {
        format!(
            "{}m{:02}s",
            duration.as_secs() / 60,
            duration.as_secs() % 60
        )
    } else {
        format!("{seconds:.1}s")
    }
}

fn summary_table(records: &[StepRecord]) -> String {
    let rows: Vec<[String; 4]> = records
        .iter()
        .map(|record| {
            let (status, detail) = match &record.status {
                Status::Passed => ("passed", record.detail.clone()),
                Status::Failed => ("FAILED", record.detail.clone()),
                Status::Skipped(reason) => ("skipped", reason.clone()),
            };
            let duration = match record.status {
                Status::Skipped(_) => "-".to_owned(),
                _ => format_duration(record.duration),
            };
            [record.name.clone(), status.to_owned(), duration, detail]
        })
        .collect();
    let header = [
        "step".to_owned(),
        "status".to_owned(),
        "time".to_owned(),
        "detail / reason".to_owned(),
    ];
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    std::iter::once(&header)
        .chain(&rows)
        .map(|[step, status, time, detail]| {
            format!(
                "{step:<w0$}  {status:<w1$}  {time:>w2$}  {detail}",
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )
            .trim_end()
            .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn print_summary(matrix: &Matrix, elapsed: Duration, real_line: &str) {
    println!("\n==> summary\n{}", summary_table(&matrix.records));
    println!("\n{real_line}");
    let failed: Vec<&str> = matrix
        .records
        .iter()
        .filter(|record| record.status == Status::Failed)
        .map(|record| record.name.as_str())
        .collect();
    if failed.is_empty() {
        println!("matrix passed in {}", format_duration(elapsed));
    } else {
        println!(
            "matrix FAILED in {} (failed steps: {})",
            format_duration(elapsed),
            failed.join(", ")
        );
    }
    if let Some(totals) = matrix.totals {
        println!("tests: {} passed, {} failed", totals.passed, totals.failed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_accept_quick_and_reject_anything_else() {
        let cases: &[(&[&str], Option<Options>)] = &[
            (&[], Some(Options { quick: false })),
            (&["--quick"], Some(Options { quick: true })),
            (&["--fast"], None),
        ];
        for (args, expected) in cases {
            let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
            assert_eq!(Options::parse(&args).ok(), *expected, "{args:?}");
        }
    }

    #[test]
    fn library_crates_are_packages_with_a_lib_target_except_automation_and_tests() {
        let metadata = r#"{"packages":[
 {"name":"forge-types","targets":[{"kind":["lib"]}]},
 {"name":"xtask","targets":[{"kind":["bin"]}]},
 {"name":"forge-tests","targets":[{"kind":["lib"]},{"kind":["test"]}]},
 {"name":"forge-proxy","targets":[{"kind":["lib"]},{"kind":["bin"]}]},
 {"name":"forge-eval","targets":[{"kind":["bin"]}]}
]}"#;
        assert_eq!(
            library_crates_in_metadata(metadata).unwrap(),
            ["forge-proxy", "forge-types"]
        );
        assert!(library_crates_in_metadata("error: no manifest").is_err());
    }

    #[test]
    fn summary_table_aligns_columns_and_shows_skip_reasons() {
        let records = vec![
            StepRecord {
                name: "fmt".to_owned(),
                status: Status::Passed,
                duration: Duration::from_millis(300),
                detail: String::new(),
            },
            StepRecord {
                name: "tests".to_owned(),
                status: Status::Failed,
                duration: Duration::from_secs(75),
                detail: "3 passed, 1 failed, 0 skipped (nextest)".to_owned(),
            },
            StepRecord {
                name: "real tier".to_owned(),
                status: Status::Skipped("FORGE_SKIP_REAL=1".to_owned()),
                duration: Duration::ZERO,
                detail: String::new(),
            },
        ];
        let expected = "\
step       status    time  detail / reason
fmt        passed    0.3s
tests      FAILED   1m15s  3 passed, 1 failed, 0 skipped (nextest)
real tier  skipped      -  FORGE_SKIP_REAL=1";
        assert_eq!(summary_table(&records), expected);
    }
}
