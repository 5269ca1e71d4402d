//! `cargo xtask`: project automation for forge-rs.
//!
//! One binary with a few commands, run through the `cargo xtask` alias. `cargo xtask test` is the one
//! command people and CI run: the whole matrix, including the real llama-server tier, with a summary.

mod bench_proxy;
mod canned_backend;
mod clock;
mod counts;
mod demo;
mod eval;
mod fuzz;
mod http;
mod llama_build;
mod matrix;
mod process;
mod proxy_process;
mod real_tier;
mod sdk_tier;
mod setup;

use std::path::PathBuf;

use anyhow::{bail, Context, Result};

const HELP: &str = "\
cargo xtask <command>

commands:
  test [--quick]                run the whole test matrix (fmt, clippy, tests, doc-tests, per-crate check,
                                docs, real llama-server tier) and print a summary; --quick skips the
                                per-crate check and docs; FORGE_SKIP_REAL=1 skips the real tier
  setup                         prepare the real tier: llama-server (found or built), the model, templates
  real-server                   start the real-tier llama-servers, print their URLs, run until Ctrl-C
  demo                          forge end to end on the small model: managed proxy (OpenAI, Anthropic),
                                the weather workflow, guardrail events narrated; then stops everything
  sdk-clients [--backend-url URL]
                                run the openai/anthropic Python SDK checks against forge-proxy in front
                                of the canned backend (and in front of URL, e.g. a llama-server, if given)
  bench-proxy [--requests N] [--max-seconds S] [--no-build]
                                benchmark the release proxy against a canned backend at concurrency 1
                                and 32: added latency p50/p99, throughput, RSS (default 20000, 20 s)
  eval [--runs N] [--modes LIST] [--presets LIST] [--constraints LIST] [--config P[:POLICY]]
       [--scenario NAME] [--max-tokens N] [--timeout-secs N] [--ctx N] [--output-dir DIR] [--dry-run]
                                the real-model eval: setup, release forge-eval, one llama-server with the
                                tools template, `forge-eval llama-suite` into docs/results/smollm2-135m/
                                (results.jsonl, markdown, dashboard.html, COMMAND.md); resumes when
                                re-run; hours at the defaults (`cargo xtask eval --help` for details)
  fuzz <target> [--seconds N]   run one cargo-fuzz target for N seconds (default 60)
  fuzz --list                   list the fuzz targets
  help                          print this list

environment:
  FORGE_CACHE_DIR      cache root for llama-server, the model and downloads (default ~/.cache/forge-rs)
  FORGE_LLAMA_SERVER   use this llama-server binary instead of finding or building one
  FORGE_MODEL          use this GGUF model instead of SmolLM2-135M-Instruct
  FORGE_SKIP_REAL=1    skip the real llama-server tier in `test`
  FORGE_TEST_RUNNER    `nextest` or `cargo-test` (default: nextest when `cargo nextest` runs)
";

fn main() {
    if let Err(error) = run() {
        eprintln!("xtask: error: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    match command {
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        "test" => {
            let options = matrix::Options::parse(rest)?;
            let passed = matrix::run(&repo_root()?, &options)?;
            if !passed {
                std::process::exit(1);
            }
            Ok(())
        }
        "setup" => {
            no_arguments(command, rest)?;
            setup::prepare(&repo_root()?).map(|_| ())
        }
        "real-server" => {
            no_arguments(command, rest)?;
            real_tier::serve_until_interrupted(&repo_root()?)
        }
        "sdk-clients" => sdk_tier::run_command(&repo_root()?, rest),
        "bench-proxy" => {
            let options = bench_proxy::Options::parse(rest)?;
            if !bench_proxy::run(&repo_root()?, &options)? {
                std::process::exit(1);
            }
            Ok(())
        }
        "demo" => {
            no_arguments(command, rest)?;
            demo::run(&repo_root()?)
        }
        "eval" => eval::run(&repo_root()?, rest),
        "fuzz" => fuzz::run(&repo_root()?, rest),
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

fn no_arguments(command: &str, rest: &[String]) -> Result<()> {
    if let Some(extra) = rest.first() {
        bail!("`{command}` takes no arguments, got `{extra}`");
    }
    Ok(())
}

/// The repository root: the parent of this crate's folder.
///
/// `cargo run` sets `CARGO_MANIFEST_DIR` for the process; that is preferred over the compile-time
/// value, which goes stale when two checkouts share one target folder (cargo then reuses the binary).
fn repo_root() -> Result<PathBuf> {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let root = manifest_dir
        .parent()
        .context("xtask's manifest folder has no parent")?;
    if !root.join("Cargo.toml").is_file() {
        bail!(
            "{} is not the repository root (no Cargo.toml)",
            root.display()
        );
    }
    Ok(root.to_path_buf())
}

/// The cargo binary that runs us (cargo sets `CARGO` for `cargo run`), so nested builds use the same
/// toolchain.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}
