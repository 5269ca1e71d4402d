//! `--extra-flags`: one shell-words string split into server arguments, then checked against the
//! flags forge sets itself.
//!
//! Quoting: give the whole value as one shell argument and quote inside it the way a POSIX
//! shell would, e.g. `--extra-flags "-ngl 0 --threads 2"` or
//! `--extra-flags '--chat-template-file "/models/my template.jinja"'`. Dash-prefixed
//! arguments are fine because the proxy receives them inside one string.

use crate::{BackendKind, ManagedError};

/// Splits an `--extra-flags` value into arguments with POSIX shell rules (quotes, backslash
/// escapes). An empty or all-blank value gives no arguments.
///
/// ```
/// let flags = forge_managed::split_extra_flags(r#"-ngl 0 --alias "my model""#).unwrap();
/// assert_eq!(flags, ["-ngl", "0", "--alias", "my model"]);
/// ```
pub fn split_extra_flags(raw: &str) -> Result<Vec<String>, ManagedError> {
    shlex::split(raw).ok_or_else(|| ManagedError::BadExtraFlags {
        flags: raw.to_owned(),
        problem: "unbalanced quote or trailing backslash; pass the flags as one shell-quoted \
                  string, e.g. --extra-flags \"-ngl 0 --threads 2\""
            .to_owned(),
    })
}

/// A flag forge sets itself, and what to use instead of passing it through `--extra-flags`.
struct OwnedFlag {
    spellings: &'static [&'static str],
    instead: &'static str,
}

const LLAMA_OWNED: &[OwnedFlag] = &[
    OwnedFlag {
        spellings: &["--host"],
        instead: "forge binds the backend to its configured host",
    },
    OwnedFlag {
        spellings: &["--port"],
        instead: "use --backend-port",
    },
    OwnedFlag {
        spellings: &["-m", "--model"],
        instead: "use --gguf",
    },
    OwnedFlag {
        spellings: &["-c", "--ctx-size"],
        instead: "use --budget-mode manual --budget-tokens N",
    },
];

const VLLM_OWNED: &[OwnedFlag] = &[
    OwnedFlag {
        spellings: &["--host"],
        instead: "forge binds the backend to its configured host",
    },
    OwnedFlag {
        spellings: &["--port"],
        instead: "use --backend-port",
    },
    OwnedFlag {
        spellings: &["--max-model-len"],
        instead: "use --budget-mode manual --budget-tokens N",
    },
];

/// Rejects extra flags that cannot work for `kind`: any flag at all for Ollama (forge does not
/// launch it), and flags forge sets itself (host, port, model, context size), in both the
/// `--flag value` and `--flag=value` forms.
pub fn check_extra_flags(kind: BackendKind, flags: &[String]) -> Result<(), ManagedError> {
    let bad = |problem: String| ManagedError::BadExtraFlags {
        flags: flags.join(" "),
        problem,
    };
    if flags.is_empty() {
        return Ok(());
    }
    let owned = match kind {
        BackendKind::Ollama => {
            return Err(bad(
                "Ollama is attached to, not launched by forge, so there is no command line to \
                 extend; configure the Ollama daemon itself"
                    .to_owned(),
            ))
        }
        BackendKind::Vllm => VLLM_OWNED,
        BackendKind::LlamaServer | BackendKind::Llamafile => LLAMA_OWNED,
    };
    for flag in flags {
        let name = flag.split_once('=').map_or(flag.as_str(), |(name, _)| name);
        if let Some(owned_flag) = owned.iter().find(|o| o.spellings.contains(&name)) {
            return Err(bad(format!(
                "{name} is set by forge for backend '{kind}'; {}",
                owned_flag.instead
            )));
        }
    }
    Ok(())
}
