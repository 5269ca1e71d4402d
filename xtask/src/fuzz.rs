//! `cargo xtask fuzz`: runs one cargo-fuzz target of the `fuzz/` project for a bounded time.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::process::{output_if_success, run_inherited};

const DEFAULT_SECONDS: u64 = 60;

#[derive(Debug, PartialEq, Eq)]
enum Request {
    List,
    Run { target: String, seconds: u64 },
}

fn parse(args: &[String]) -> Result<Request> {
    let mut target = None;
    let mut seconds = DEFAULT_SECONDS;
    let mut list = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" => list = true,
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .with_context(|| format!("--seconds {value}: not a whole number of seconds"))?;
            }
            flag if flag.starts_with('-') => bail!("`fuzz` does not know `{flag}`"),
            name if target.is_none() => target = Some(name.to_owned()),
            extra => bail!("`fuzz` takes one target, got another: `{extra}`"),
        }
    }
    match (list, target) {
        (true, None) => Ok(Request::List),
        (true, Some(_)) => bail!("`fuzz --list` takes no target"),
        (false, Some(target)) => Ok(Request::Run { target, seconds }),
        (false, None) => bail!("usage: cargo xtask fuzz <target> [--seconds N] | --list"),
    }
}

/// The `[[bin]]` names declared in a cargo-fuzz project's manifest.
fn fuzz_targets(manifest: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        if !in_bin {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name" {
            targets.push(value.trim().trim_matches('"').to_owned());
        }
    }
    targets
}

pub fn run(repo_root: &Path, args: &[String]) -> Result<()> {
    let request = parse(args)?;
    let manifest_path = repo_root.join("fuzz").join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("no fuzz project: cannot read {}", manifest_path.display()))?;
    let targets = fuzz_targets(&manifest);
    match request {
        Request::List => {
            for target in targets {
                println!("{target}");
            }
            Ok(())
        }
        Request::Run { target, seconds } => {
            if !targets.contains(&target) {
                bail!("no fuzz target `{target}`; targets: {}", targets.join(", "));
            }
            ensure_cargo_fuzz(repo_root)?;
            let mut command = Command::new(crate::cargo());
            command
                .current_dir(repo_root)
                // cargo-fuzz needs nightly-only flags (sanitizers); this lets the stable toolchain accept them.
                .env("RUSTC_BOOTSTRAP", "1")
                .args(["fuzz", "run", &target, "--"])
                .arg(format!("-max_total_time={seconds}"));
            println!("[fuzz] {target} for {seconds} s");
            run_inherited(&mut command)
        }
    }
}

fn ensure_cargo_fuzz(repo_root: &Path) -> Result<()> {
    let mut version = Command::new(crate::cargo());
    version.current_dir(repo_root).args(["fuzz", "--version"]);
    if output_if_success(&mut version).is_some() {
        return Ok(());
    }
    println!("[fuzz] cargo-fuzz not found; installing it with `cargo install cargo-fuzz --locked`");
    let mut install = Command::new(crate::cargo());
    install.args(["install", "cargo-fuzz", "--locked"]);
    run_inherited(&mut install).context("installing cargo-fuzz failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|arg| (*arg).to_owned()).collect()
    }

    #[test]
    fn arguments_select_a_target_and_a_duration_or_the_list() {
        let run = |target: &str, seconds| Request::Run {
            target: target.to_owned(),
            seconds,
        };
        let cases: &[(&[&str], Option<Request>)] = &[
            (&["rescue"], Some(run("rescue", 60))),
            (&["rescue", "--seconds", "5"], Some(run("rescue", 5))),
            (&["--seconds", "5", "arguments"], Some(run("arguments", 5))),
            (&["--list"], Some(Request::List)),
            (&[], None),
            (&["--list", "rescue"], None),
            (&["rescue", "arguments"], None),
            (&["rescue", "--seconds"], None),
            (&["rescue", "--seconds", "ten"], None),
            (&["rescue", "--jobs", "2"], None),
        ];
        for (args, expected) in cases {
            assert_eq!(parse(&strings(args)).ok(), *expected, "{args:?}");
        }
    }

    #[test]
    fn targets_are_the_bin_names_of_the_fuzz_manifest() {
        let manifest = r#"
[package]
name = "forge-fuzz"

[dependencies]
libfuzzer-sys = "0.4"

[[bin]]
name = "rescue"
path = "fuzz_targets/rescue.rs"
test = false

[[bin]]
path = "fuzz_targets/arguments.rs"
name = "arguments"
"#;
        assert_eq!(fuzz_targets(manifest), ["rescue", "arguments"]);
    }
}
