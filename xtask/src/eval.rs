//! `cargo xtask eval`: the reproducible real-model eval. Prepares llama-server and the model
//! (`cargo xtask setup`), builds `forge-eval` in release, starts one llama-server with the tools
//! chat template, runs `forge-eval llama-suite` over the chosen matrix into an output folder
//! (`results.jsonl`, markdown views, `dashboard.html`) and writes `COMMAND.md` describing how to
//! reproduce it. Re-running the same command resumes: runs already in `results.jsonl` are skipped.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::process::{describe, run_inherited, stdout_if_success};
use crate::real_tier::{stop_servers_on_signal, LlamaServer, HEALTH_TIMEOUT};
use crate::setup::{self, RealSetup, TOOLS_TEMPLATE};

/// Runs per (mode, configuration, scenario).
pub const DEFAULT_RUNS: u32 = 3;
/// Tool-calling modes (`forge-eval --modes`).
pub const DEFAULT_MODES: &str = "native,prompt";
/// Ablation presets (`forge-eval --presets`).
pub const DEFAULT_PRESETS: &str = "reforged,bare";
/// Constrained-decoding policies (`forge-eval --constraints`).
pub const DEFAULT_CONSTRAINTS: &str = "never";
/// Cap on generated tokens per model call: the small model otherwise rambles until the context
/// is full.
pub const DEFAULT_MAX_TOKENS: u32 = 256;
/// Per-run wall-clock limit in seconds.
pub const DEFAULT_TIMEOUT_SECS: u32 = 300;
/// llama-server context length (`-c`), also the scenarios' context budget.
pub const DEFAULT_CONTEXT: u32 = 4096;
/// llama-server threads (`-t`). One: llama.cpp's thread pool spins at its barriers, so when
/// the cores are shared with anything else (a build, the eval client) two threads on two cores
/// collapse to a fraction of one thread's speed (measured here: 0.4 tokens/s at `-t 2` under
/// load vs 25-60 tokens/s at `-t 1`); a 135M model needs no more than one core.
pub const DEFAULT_THREADS: u32 = 1;
/// Where the results go, relative to the repository root.
pub const DEFAULT_OUTPUT_DIR: &str = "docs/results/smollm2-135m";

/// The results file inside the output folder.
const RESULTS_FILE: &str = "results.jsonl";
/// The chat template's path in the repository (what `COMMAND.md` names).
const TEMPLATE_IN_REPO: &str = "assets/templates/smollm2-tools.jinja";

pub const HELP: &str = "\
cargo xtask eval [options]

Runs forge's 30 reference scenarios against the real small model (SmolLM2-135M-Instruct Q4_1 by
default) and writes the results and reports into a folder to commit:
  1. prepares llama-server and the model like `cargo xtask setup` (cached; FORGE_LLAMA_SERVER and
     FORGE_MODEL choose others),
  2. builds forge-eval in release,
  3. starts ONE llama-server with the tools chat template (assets/templates/smollm2-tools.jinja),
     one slot, context --ctx, --threads threads,
  4. runs `forge-eval llama-suite` over modes x presets x constraint policies x scenarios x runs,
     appending to OUTPUT/results.jsonl (progress on stderr),
  5. writes OUTPUT/index.md, OUTPUT/raw/*.md, OUTPUT/dashboard.html and OUTPUT/COMMAND.md (this
     command line, llama-server build, model file and sha256, template, context, sampling, nproc,
     date, wall time), then stops the server.
Re-running the same command resumes: runs already in results.jsonl are not run again, so an
interrupted eval continues where it stopped and `--runs` can be raised later.

How long: every run is one scenario played to the end by the model on the CPU, a few seconds to
--timeout-secs; the default matrix is 342 runs (30 scenarios x 2 modes x 2 presets x 3 runs, minus
the 3 compaction-pressure scenarios, which bare skips) and takes hours on a small machine. --dry-run
prints the plan and the number of runs first (it still prepares and builds, but starts no server).

options:
  --runs N                 runs per (mode, configuration, scenario) (default 3)
  --modes LIST             native,prompt (default native,prompt)
  --presets LIST           reforged,bare,no_rescue,no_nudge,no_steps,no_recovery,no_compact
                           (default reforged,bare)
  --constraints LIST       constrained-decoding policies never,retry,always (default never);
                           every preset runs under every policy
  --config PRESET[:POLICY] run exactly these configurations instead of presets x constraints
                           (repeatable, e.g. --config reforged --config reforged:always --config bare)
  --scenario NAME          only this scenario (repeatable; default: all 30)
  --max-tokens N           cap on generated tokens per model call (default 256)
  --timeout-secs N         per-run wall-clock limit (default 300)
  --ctx N                  llama-server context length and context budget (default 4096)
  --threads N              llama-server threads, `-t` (default 1: a spinning thread pool on
                           shared cores collapses; one core is plenty for a 135M model)
  --output-dir DIR         where results and reports go (default docs/results/smollm2-135m)
  --dry-run                print the plan and the number of runs, run nothing
";

/// What `cargo xtask eval` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub runs: u32,
    pub modes: String,
    pub presets: String,
    pub constraints: String,
    pub configs: Vec<String>,
    pub scenarios: Vec<String>,
    pub max_tokens: u32,
    pub timeout_secs: u32,
    pub context: u32,
    pub threads: u32,
    pub output_dir: PathBuf,
    pub dry_run: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            runs: DEFAULT_RUNS,
            modes: DEFAULT_MODES.to_owned(),
            presets: DEFAULT_PRESETS.to_owned(),
            constraints: DEFAULT_CONSTRAINTS.to_owned(),
            configs: Vec::new(),
            scenarios: Vec::new(),
            max_tokens: DEFAULT_MAX_TOKENS,
            timeout_secs: DEFAULT_TIMEOUT_SECS,
            context: DEFAULT_CONTEXT,
            threads: DEFAULT_THREADS,
            output_dir: PathBuf::from(DEFAULT_OUTPUT_DIR),
            dry_run: false,
        }
    }
}

impl Options {
    /// Parses the arguments after `eval`. Values are checked by forge-eval itself (the dry run
    /// that precedes every eval), so a typo fails before any server starts.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut presets_or_constraints = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut text = |name: &str| -> Result<String> {
                args.next()
                    .filter(|value| !value.starts_with("--"))
                    .cloned()
                    .with_context(|| format!("`{name}` needs a value"))
            };
            let number = |name: &str, value: String| -> Result<u32> {
                let number: u32 = value
                    .parse()
                    .with_context(|| format!("`{name} {value}`: not a whole number"))?;
                if number == 0 {
                    bail!("`{name}` must be at least 1");
                }
                Ok(number)
            };
            match arg.as_str() {
                "--runs" => options.runs = number(arg, text(arg)?)?,
                "--max-tokens" => options.max_tokens = number(arg, text(arg)?)?,
                "--timeout-secs" => options.timeout_secs = number(arg, text(arg)?)?,
                "--ctx" => options.context = number(arg, text(arg)?)?,
                "--threads" => options.threads = number(arg, text(arg)?)?,
                "--modes" => options.modes = text(arg)?,
                "--presets" => {
                    options.presets = text(arg)?;
                    presets_or_constraints = true;
                }
                "--constraints" => {
                    options.constraints = text(arg)?;
                    presets_or_constraints = true;
                }
                "--config" => options.configs.push(text(arg)?),
                "--scenario" => options.scenarios.push(text(arg)?),
                "--output-dir" => options.output_dir = PathBuf::from(text(arg)?),
                "--dry-run" => options.dry_run = true,
                "--help" | "-h" => bail!("{HELP}"),
                other => bail!("`eval` does not know `{other}`\n\n{HELP}"),
            }
        }
        if presets_or_constraints && !options.configs.is_empty() {
            bail!("`--config` replaces `--presets` and `--constraints`: give one or the other");
        }
        Ok(options)
    }

    /// The matrix arguments of `forge-eval llama-suite`, in a fixed order.
    pub fn suite_args(&self) -> Vec<String> {
        let mut args = vec![
            "--runs".to_owned(),
            self.runs.to_string(),
            "--modes".to_owned(),
            self.modes.clone(),
        ];
        if self.configs.is_empty() {
            args.extend([
                "--presets".to_owned(),
                self.presets.clone(),
                "--constraints".to_owned(),
                self.constraints.clone(),
            ]);
        } else {
            for config in &self.configs {
                args.extend(["--config".to_owned(), config.clone()]);
            }
        }
        for scenario in &self.scenarios {
            args.extend(["--scenario".to_owned(), scenario.clone()]);
        }
        args.extend([
            "--max-tokens".to_owned(),
            self.max_tokens.to_string(),
            "--timeout-secs".to_owned(),
            self.timeout_secs.to_string(),
            "--budget".to_owned(),
            self.context.to_string(),
        ]);
        args
    }

    /// The `cargo xtask eval` command line with every option spelled out, so the defaults of a
    /// later version cannot change what it reproduces.
    pub fn command_line(&self) -> String {
        let mut words = vec!["cargo xtask eval".to_owned()];
        words.push(format!("--runs {}", self.runs));
        words.push(format!("--modes {}", self.modes));
        if self.configs.is_empty() {
            words.push(format!("--presets {}", self.presets));
            words.push(format!("--constraints {}", self.constraints));
        } else {
            words.extend(self.configs.iter().map(|c| format!("--config {c}")));
        }
        words.extend(self.scenarios.iter().map(|s| format!("--scenario {s}")));
        words.push(format!("--max-tokens {}", self.max_tokens));
        words.push(format!("--timeout-secs {}", self.timeout_secs));
        words.push(format!("--ctx {}", self.context));
        words.push(format!("--threads {}", self.threads));
        words.push(format!("--output-dir {}", self.output_dir.display()));
        words.join(" ")
    }
}

/// `cargo xtask eval`.
pub fn run(repo_root: &Path, args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{HELP}");
        return Ok(());
    }
    let options = Options::parse(args)?;
    let started = Instant::now();
    let date = crate::clock::utc_minute(crate::clock::unix_now());
    stop_servers_on_signal()?;
    let setup = setup::prepare(repo_root)?;
    let forge_eval = build_forge_eval(repo_root)?;
    let output_dir = if options.output_dir.is_absolute() {
        options.output_dir.clone()
    } else {
        repo_root.join(&options.output_dir)
    };
    let results = output_dir.join(RESULTS_FILE);
    let model = setup
        .model
        .path
        .to_str()
        .context("the model path is not UTF-8")?
        .to_owned();

    // The plan, from forge-eval itself: validates every value before a server starts.
    let mut plan = Command::new(&forge_eval);
    plan.current_dir(repo_root)
        .args(["llama-suite", "--dry-run", "--url", "http://127.0.0.1:1"])
        .args(["--model", &model])
        .args(options.suite_args())
        .arg("--output")
        .arg(&results);
    if !options.dry_run {
        plan.stdout(Stdio::null());
    }
    println!("[eval] plan: {}", describe(&plan));
    run_inherited(&mut plan)?;
    if options.dry_run {
        println!("[eval] dry run: nothing was run");
        return Ok(());
    }

    std::fs::create_dir_all(&output_dir)
        .with_context(|| format!("cannot create {}", output_dir.display()))?;
    let template = setup.templates_dir.join(TOOLS_TEMPLATE);
    let template_arg = template
        .to_str()
        .context("the templates folder path is not UTF-8")?
        .to_owned();
    let context = options.context.to_string();
    let threads = options.threads.to_string();
    let mut server = LlamaServer::spawn_with_context(
        &setup,
        "eval",
        &context,
        &["--chat-template-file", &template_arg, "-t", &threads],
    )?;
    let waited = server.wait_until_healthy(HEALTH_TIMEOUT)?;
    println!(
        "[eval] llama-server healthy at {} after {:.1} s",
        server.url(),
        waited.as_secs_f64()
    );
    let rows_before = count_rows(&results)?;
    let mut suite = Command::new(&forge_eval);
    suite
        .current_dir(repo_root)
        .args(["llama-suite", "--url", &server.url(), "--model", &model])
        .args(options.suite_args())
        .arg("--output")
        .arg(&results)
        .arg("--report-dir")
        .arg(&output_dir);
    let suite_line = describe(&suite);
    println!("[eval] running: {suite_line}");
    run_inherited(&mut suite)?;
    let server_line = server.command_line().to_owned();
    drop(server);
    let rows_after = count_rows(&results)?;

    let sampling = stdout_if_success(Command::new(&forge_eval).args(["sampling", &model]))
        .context("`forge-eval sampling` failed")?;
    let record = Record {
        options: &options,
        setup: &setup,
        date,
        wall: started.elapsed(),
        rows_run: rows_after.saturating_sub(rows_before),
        rows_total: rows_after,
        sampling: sampling.trim().to_owned(),
        server_line,
        suite_line,
    };
    let command_md = output_dir.join("COMMAND.md");
    std::fs::write(&command_md, record.markdown(repo_root)?)
        .with_context(|| format!("cannot write {}", command_md.display()))?;
    println!(
        "[eval] {} runs now, {} in {}; wrote {} in {}",
        record.rows_run,
        record.rows_total,
        results.display(),
        command_md.display(),
        format_duration(record.wall)
    );
    Ok(())
}

/// Builds the release `forge-eval` and returns its path (under cargo's target folder).
fn build_forge_eval(repo_root: &Path) -> Result<PathBuf> {
    let mut build = Command::new(crate::cargo());
    build.current_dir(repo_root).args([
        "build",
        "--release",
        "-p",
        "forge-eval",
        "--bin",
        "forge-eval",
    ]);
    println!("[eval] building: {}", describe(&build));
    run_inherited(&mut build)?;
    let metadata = stdout_if_success(Command::new(crate::cargo()).current_dir(repo_root).args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
    ]))
    .context("`cargo metadata` failed while looking for the target folder")?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cargo metadata printed invalid JSON")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("cargo metadata has no `target_directory`")?;
    let binary = Path::new(target).join("release").join("forge-eval");
    if !binary.is_file() {
        bail!(
            "cargo built forge-eval but {} does not exist",
            binary.display()
        );
    }
    Ok(binary)
}

/// Non-blank lines of the results file (0 when it does not exist yet).
fn count_rows(path: &Path) -> Result<usize> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.lines().filter(|l| !l.trim().is_empty()).count()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// What `COMMAND.md` records about one invocation.
struct Record<'a> {
    options: &'a Options,
    setup: &'a RealSetup,
    date: String,
    wall: Duration,
    rows_run: usize,
    rows_total: usize,
    sampling: String,
    server_line: String,
    suite_line: String,
}

impl Record<'_> {
    fn markdown(&self, repo_root: &Path) -> Result<String> {
        let model = &self.setup.model.path;
        let model_name = model.file_name().map_or_else(
            || model.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let model_sha = sha256(model)?;
        let template_sha = sha256(&repo_root.join(TEMPLATE_IN_REPO))?;
        let buildinfo_path = self.setup.llama_server.path.with_extension("buildinfo");
        let buildinfo = std::fs::read_to_string(&buildinfo_path).ok();
        let version = setup::llama_server_version(&self.setup.llama_server.path)
            .unwrap_or_else(|| "unknown (`--version` failed)".to_owned());
        let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
        let commit = stdout_if_success(
            Command::new("git")
                .current_dir(repo_root)
                .args(["rev-parse", "HEAD"]),
        )
        .map_or_else(|| "unknown".to_owned(), |s| s.trim().to_owned());
        let dirty = stdout_if_success(Command::new("git").current_dir(repo_root).args([
            "status",
            "--porcelain",
            "--untracked-files=no",
        ]))
        .is_some_and(|s| !s.trim().is_empty());

        let mut md = String::new();
        let _ = writeln!(md, "# How these results were produced\n");
        let _ = writeln!(
            md,
            "Reproduce (from the repository root; re-running resumes, runs already in \
             `{RESULTS_FILE}` are skipped):\n"
        );
        let _ = writeln!(md, "```sh\n{}\n```\n", self.options.command_line());
        let _ = writeln!(md, "## This invocation\n");
        let _ = writeln!(md, "- date: {}", self.date);
        let _ = writeln!(
            md,
            "- wall time: {} (setup, build, server start, {} runs; {} rows in `{RESULTS_FILE}` now)",
            format_duration(self.wall),
            self.rows_run,
            self.rows_total
        );
        let _ = writeln!(
            md,
            "- forge-rs commit: `{commit}`{}",
            if dirty {
                " (with uncommitted changes)"
            } else {
                ""
            }
        );
        let _ = writeln!(md, "- nproc: {nproc}");
        let _ = writeln!(md, "\n## Model and server\n");
        let _ = writeln!(md, "- model file: `{model_name}`");
        let _ = writeln!(md, "- model sha256: `{model_sha}`");
        let _ = writeln!(md, "- model from: {}", self.setup.model.origin);
        let _ = writeln!(md, "- llama-server `--version`: {version}");
        let _ = writeln!(
            md,
            "- llama-server from: {}",
            self.setup.llama_server.origin
        );
        let _ = writeln!(
            md,
            "- chat template: `{TEMPLATE_IN_REPO}` (sha256 `{template_sha}`)"
        );
        let _ = writeln!(
            md,
            "- context: {} tokens, 1 slot; the scenarios' context budget is the same (the three \
             compaction-pressure scenarios use their own)",
            self.options.context
        );
        let _ = writeln!(
            md,
            "- per model call: at most {} generated tokens; per run: at most {} s",
            self.options.max_tokens, self.options.timeout_secs
        );
        let _ = writeln!(
            md,
            "- sampling (`forge-eval sampling`): `{}`",
            self.sampling
        );
        match buildinfo {
            Some(info) => {
                let _ = writeln!(
                    md,
                    "\nllama-server build (`{}`):\n",
                    buildinfo_path.display()
                );
                let _ = writeln!(md, "```\n{}\n```", info.trim_end());
            }
            None => {
                let _ = writeln!(
                    md,
                    "\nllama-server build: no `.buildinfo` next to the binary (not built by \
                     `cargo xtask setup`)"
                );
            }
        }
        let _ = writeln!(md, "\n## Commands run\n");
        let _ = writeln!(md, "```sh\n{}\n{}\n```", self.server_line, self.suite_line);
        Ok(md)
    }
}

/// The sha256 of a file, by `sha256sum` (coreutils).
fn sha256(path: &Path) -> Result<String> {
    let output = stdout_if_success(Command::new("sha256sum").arg(path))
        .with_context(|| format!("`sha256sum {}` failed", path.display()))?;
    output
        .split_whitespace()
        .next()
        .map(str::to_owned)
        .with_context(|| format!("`sha256sum {}` printed nothing", path.display()))
}

fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    format!(
        "{}h {:02}m {:02}s",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &str) -> Vec<String> {
        words.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn defaults_spell_out_every_option_in_the_reproduce_line() {
        let options = Options::parse(&[]).unwrap();
        assert_eq!(
            options.command_line(),
            "cargo xtask eval --runs 3 --modes native,prompt --presets reforged,bare \
             --constraints never --max-tokens 256 --timeout-secs 300 --ctx 4096 \
             --threads 1 --output-dir docs/results/smollm2-135m"
        );
    }

    #[test]
    fn options_reach_forge_eval_in_a_fixed_order() {
        let options = Options::parse(&args(
            "--scenario basic_2step --runs 1 --modes native --config reforged \
             --config reforged:always --scenario error_recovery --ctx 2048 --threads 2 --output-dir /tmp/x",
        ))
        .unwrap();
        assert_eq!(
            options.suite_args().join(" "),
            "--runs 1 --modes native --config reforged --config reforged:always \
             --scenario basic_2step --scenario error_recovery --max-tokens 256 \
             --timeout-secs 300 --budget 2048"
        );
        assert_eq!(options.output_dir, PathBuf::from("/tmp/x"));
        assert_eq!(options.threads, 2);
        assert!(options
            .command_line()
            .contains("--config reforged --config reforged:always"));
    }

    #[test]
    fn bad_options_are_refused() {
        let cases = [
            "--runs 0",
            "--runs three",
            "--ctx",
            "--threads 0",
            "--modes --runs 2",
            "--config reforged --presets bare",
            "--constraints always --config reforged",
            "--frobnicate",
        ];
        for case in cases {
            assert!(Options::parse(&args(case)).is_err(), "{case}");
        }
    }
}
