//! The command line of each spawned server, and where its binary comes from.

use std::path::{Path, PathBuf};

use crate::{BackendKind, ManagedConfig, ManagedError, ModelIdentity};

/// llama.cpp offloads this many layers: "all of them". A user `-ngl` in the extra flags comes
/// later on the command line and wins.
const ALL_GPU_LAYERS: &str = "999";

/// The arguments after the program for `config`, with `ctx_override` as the context size
/// (`-c` for llama.cpp, `--max-model-len` for vLLM). Ollama has no command line: empty.
///
/// Order: forge's own flags, then the extra flags, then the context and tuning flags, so a
/// user `-ngl` overrides forge's while the context size stays forge's.
pub fn server_args(config: &ManagedConfig, ctx_override: Option<u64>) -> Vec<String> {
    let host = config.host.to_string();
    let port = config.port.to_string();
    let mut args: Vec<String> = Vec::new();
    match (&config.model, config.kind) {
        (ModelIdentity::Gguf(gguf), kind @ (BackendKind::LlamaServer | BackendKind::Llamafile)) => {
            if kind == BackendKind::Llamafile {
                args.extend(["--server".into(), "--nobrowser".into()]);
            }
            args.extend([
                "-m".into(),
                gguf.display().to_string(),
                "-ngl".into(),
                ALL_GPU_LAYERS.into(),
                "--host".into(),
                host,
                "--port".into(),
                port,
            ]);
            if config.jinja {
                args.push("--jinja".into());
            }
            args.extend(config.extra_flags.iter().cloned());
            if let Some(ctx) = ctx_override {
                args.extend(["-c".into(), ctx.to_string()]);
            }
            let tuning = &config.tuning;
            if let Some(k) = &tuning.cache_type_k {
                args.extend(["--cache-type-k".into(), k.clone()]);
            }
            if let Some(v) = &tuning.cache_type_v {
                args.extend(["--cache-type-v".into(), v.clone()]);
            }
            if let Some(slots) = tuning.n_slots {
                args.extend(["--parallel".into(), slots.to_string()]);
            }
            if tuning.kv_unified {
                args.push("--kv-unified".into());
            }
        }
        (ModelIdentity::ModelPath(path), BackendKind::Vllm) => {
            args.extend([
                "serve".into(),
                path.clone(),
                "--host".into(),
                host,
                "--port".into(),
                port,
            ]);
            args.extend(config.extra_flags.iter().cloned());
            if let Some(ctx) = ctx_override {
                args.extend(["--max-model-len".into(), ctx.to_string()]);
            }
        }
        // Ollama, or an identity that does not fit (rejected by `validate` before any launch).
        _ => {}
    }
    args
}

/// The binary that runs `config`, checked to exist.
///
/// `config.binary` wins; otherwise llama-server, vLLM and Ollama are looked up on `PATH`, and
/// llamafile uses the newest `llamafile-*` runtime in the model file's directory.
pub fn resolve_program(config: &ManagedConfig) -> Result<PathBuf, ManagedError> {
    if let Some(binary) = &config.binary {
        return resolve_explicit(binary);
    }
    match (config.kind, &config.model) {
        (BackendKind::Llamafile, ModelIdentity::Gguf(gguf)) => {
            let dir = match gguf.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
                _ => PathBuf::from("."),
            };
            find_llamafile_runtime(&dir)
        }
        (kind, _) => {
            let (program, hint) = default_program(kind);
            find_on_path(program).ok_or_else(|| ManagedError::BinaryNotFound {
                program: program.to_owned(),
                searched: "searched PATH".to_owned(),
                hint,
            })
        }
    }
}

fn default_program(kind: BackendKind) -> (&'static str, &'static str) {
    match kind {
        BackendKind::LlamaServer | BackendKind::Llamafile => (
            "llama-server",
            "install llama.cpp's llama-server and put it on PATH, or give the binary's path explicitly",
        ),
        BackendKind::Vllm => (
            "vllm",
            "install vLLM (pip install vllm) so `vllm` is on PATH, or give the binary's path explicitly",
        ),
        BackendKind::Ollama => (
            "ollama",
            "forge needs the `ollama` CLI to unload the model on stop; install Ollama, or give the binary's path explicitly",
        ),
    }
}

fn resolve_explicit(binary: &Path) -> Result<PathBuf, ManagedError> {
    let is_bare_name = binary.components().count() == 1 && binary.parent() == Some(Path::new(""));
    let found = if is_bare_name {
        find_on_path(&binary.to_string_lossy())
    } else {
        is_executable_file(binary).then(|| binary.to_owned())
    };
    found.ok_or_else(|| ManagedError::BinaryNotFound {
        program: binary.display().to_string(),
        searched: if is_bare_name {
            "searched PATH".to_owned()
        } else {
            "no executable file at that path".to_owned()
        },
        hint: "check the configured backend binary path",
    })
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
}

#[cfg(unix)]
fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable_file(path: &Path) -> bool {
    path.is_file()
}

/// The newest `llamafile-*` runtime in `dir`, by version number (`llamafile-0.10.0` beats
/// `llamafile-0.9.2`, unlike the reference's plain string order).
pub fn find_llamafile_runtime(dir: &Path) -> Result<PathBuf, ManagedError> {
    let missing = || ManagedError::LlamafileRuntimeMissing {
        dir: dir.to_owned(),
    };
    let entries = std::fs::read_dir(dir).map_err(|_| missing())?;
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.starts_with("llamafile-"))
        .collect();
    names.sort_by_key(|name| runtime_sort_key(name));
    names.pop().map(|name| dir.join(name)).ok_or_else(missing)
}

/// Orders runtime file names by their numeric version; names without one sort first.
fn runtime_sort_key(name: &str) -> (Vec<u64>, String) {
    let version = name.trim_start_matches("llamafile-");
    let numbers = version
        .split('.')
        .map_while(|part| part.parse::<u64>().ok())
        .collect();
    (numbers, name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llamafile_runtime_is_chosen_by_version_not_by_string_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "llamafile-0.8.0",
            "llamafile-0.10.0",
            "llamafile-0.9.2.exe",
            "model.gguf",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let chosen = find_llamafile_runtime(dir.path()).unwrap();
        assert_eq!(chosen, dir.path().join("llamafile-0.10.0"));
    }

    #[test]
    fn missing_llamafile_runtime_names_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = find_llamafile_runtime(dir.path()).unwrap_err();
        assert!(err.to_string().starts_with("No llamafile runtime found in"));
        assert!(err.to_string().contains("llamafile-*"));
    }
}
