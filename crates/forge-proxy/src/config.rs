//! The command line (a drop-in for the reference proxy's flags) and the validated
//! [`ProxyConfig`] it resolves to.
//!
//! Every flag can also come from an environment variable (`FORGE_PROXY_<FLAG>`, shown by
//! `--help`); the backend key is `FORGE_BACKEND_API_KEY`. Validation needs no I/O and happens
//! before anything is started, so a bad combination fails at once with a message naming the
//! flags involved.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use forge_guardrails::{ConstraintPolicy, ReasoningReplay};
use forge_managed::{BackendKind, BudgetMode};
use thiserror::Error;

/// `forge-proxy`: an OpenAI- and Anthropic-compatible proxy that makes a model's tool calls
/// reliable (rescue of calls written as text, validation, corrective retries).
///
/// External mode (`--backend-url`) talks to a server you run; managed mode (`--backend` without
/// `--backend-url`) starts llama-server, llamafile or vLLM itself, or attaches to Ollama, and
/// stops it on exit.
#[derive(Debug, Clone, Parser)]
#[command(name = "forge-proxy", version, about, long_about = None)]
pub struct Cli {
    /// URL of a model server you run (external mode), e.g. http://127.0.0.1:8080. A trailing
    /// `/v1` is optional. For --backend-protocol anthropic: the API root (forge appends
    /// /v1/messages).
    #[arg(long, env = "FORGE_PROXY_BACKEND_URL", value_name = "URL")]
    pub backend_url: Option<String>,

    /// Which server. Managed mode: the one to start (llamaserver, llamafile, vllm) or attach to
    /// (ollama). External mode: selects the client (vllm: served-name discovery; openai: generic
    /// OpenAI-compatible client for hosted APIs; ollama: Ollama's OpenAI-compatible /v1 surface;
    /// default: the llama.cpp client).
    #[arg(long, env = "FORGE_PROXY_BACKEND", value_enum, value_name = "NAME")]
    pub backend: Option<BackendChoice>,

    /// Model name. Required for managed ollama and for --backend openai (the wire model of every
    /// call); external llama.cpp: the model sent when the request names none; Anthropic: pins
    /// the downstream model (otherwise each request's own model is used).
    #[arg(long, env = "FORGE_PROXY_MODEL", value_name = "NAME")]
    pub model: Option<String>,

    /// GGUF file to serve (managed llamaserver / llamafile).
    #[arg(long, env = "FORGE_PROXY_GGUF", value_name = "PATH")]
    pub gguf: Option<PathBuf>,

    /// Model directory or Hugging Face repo id to serve (managed vllm).
    #[arg(long, env = "FORGE_PROXY_MODEL_PATH", value_name = "PATH")]
    pub model_path: Option<String>,

    /// Port of the managed server [default: 8080; 11434 for ollama]. Managed mode only.
    #[arg(long, env = "FORGE_PROXY_BACKEND_PORT", value_name = "N")]
    pub backend_port: Option<u16>,

    /// How the managed server's context budget is chosen: backend (what the server reports),
    /// manual (--budget-tokens), forge-full, forge-fast (half). Managed mode only [default:
    /// backend].
    #[arg(long, env = "FORGE_PROXY_BUDGET_MODE", value_enum, value_name = "MODE")]
    pub budget_mode: Option<BudgetModeChoice>,

    /// Context budget in tokens. Managed: the context size for --budget-mode manual. External:
    /// reported only (the proxy never compacts the caller's history).
    #[arg(long, env = "FORGE_PROXY_BUDGET_TOKENS", value_name = "N")]
    pub budget_tokens: Option<u64>,

    /// Extra arguments for the managed server, as ONE shell-quoted string, e.g.
    /// --extra-flags "-ngl 99 --threads 8" (dash-prefixed arguments work). Not for ollama or
    /// external mode.
    #[arg(
        long,
        env = "FORGE_PROXY_EXTRA_FLAGS",
        value_name = "FLAGS",
        allow_hyphen_values = true
    )]
    pub extra_flags: Option<String>,

    /// Protocol of the backend: openai (Path 2: everything is translated to OpenAI chat
    /// completions) or anthropic (Path 1: an Anthropic Messages API downstream, external only).
    #[arg(
        long,
        env = "FORGE_PROXY_BACKEND_PROTOCOL",
        value_enum,
        default_value = "openai",
        value_name = "P"
    )]
    pub backend_protocol: BackendProtocol,

    /// Address the proxy listens on.
    #[arg(long, env = "FORGE_PROXY_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// Port the proxy listens on (0 picks a free one).
    #[arg(long, env = "FORGE_PROXY_PORT", default_value_t = 8081)]
    pub port: u16,

    /// Run one inference at a time, in arrival order (default: on in managed mode, off in
    /// external mode).
    #[arg(
        long,
        env = "FORGE_PROXY_SERIALIZE",
        conflicts_with = "no_serialize",
        default_value_t = false
    )]
    pub serialize: bool,

    /// Let inferences run concurrently, even in managed mode.
    #[arg(long, env = "FORGE_PROXY_NO_SERIALIZE", default_value_t = false)]
    pub no_serialize: bool,

    /// Consecutive retries per request after a response that is not a valid tool call (at most
    /// N+1 backend calls).
    #[arg(long, env = "FORGE_PROXY_MAX_RETRIES", default_value_t = 3)]
    pub max_retries: u32,

    /// Tool-error budget per request (malformed tool-call arguments).
    #[arg(long, env = "FORGE_PROXY_MAX_TOOL_ERRORS", default_value_t = 2)]
    pub max_tool_errors: u32,

    /// Timeout in seconds of every call to the backend (connect and read).
    #[arg(
        long,
        env = "FORGE_PROXY_BACKEND_TIMEOUT",
        default_value_t = 300.0,
        value_name = "S",
        allow_negative_numbers = true
    )]
    pub backend_timeout: f64,

    /// Do not rescue tool calls the model wrote as text (fenced JSON, Mistral TOOL_CALLS, Qwen tool_call tags):
    /// such answers go straight to a retry.
    #[arg(long, env = "FORGE_PROXY_NO_RESCUE", default_value_t = false)]
    pub no_rescue: bool,

    /// How the backend is asked for tool calls: native (the server's tool support) or prompt
    /// (tools described in the prompt, llama.cpp / llamafile only).
    #[arg(
        long,
        env = "FORGE_PROXY_BACKEND_CAPABILITY",
        value_enum,
        default_value = "native",
        value_name = "C"
    )]
    pub backend_capability: Capability,

    /// Offer the model a synthetic `respond` tool for plain answers; calls to it come back to
    /// the client as text.
    #[arg(long, env = "FORGE_PROXY_INJECT_RESPOND_TOOL", default_value_t = false)]
    pub inject_respond_tool: bool,

    /// How much model reasoning is replayed to the backend and shown to the client: none
    /// (dropped), keep-last (OpenAI `reasoning_content`), full (assistant content, the v0.7.3
    /// behaviour).
    #[arg(
        long,
        env = "FORGE_PROXY_REASONING_REPLAY",
        value_enum,
        default_value = "none",
        value_name = "POLICY"
    )]
    pub reasoning_replay: ReplayChoice,

    /// Constrained decoding of tool calls (see docs/constrained-decoding.md): never (the
    /// reference behaviour), retry (every retry after a failed attempt is constrained to one
    /// valid call), always (every attempt). Backends without a constraint dialect stay
    /// unconstrained, with a warning.
    #[arg(
        long,
        env = "FORGE_PROXY_CONSTRAIN",
        default_value = "never",
        value_name = "POLICY",
        value_parser = ["never", "retry", "always"]
    )]
    pub constrain: String,

    /// Static credential for the backend (Bearer token; x-api-key for Anthropic). Without it
    /// each request's own Authorization or x-api-key header is forwarded; with it, a request
    /// that brings one is refused (400).
    #[arg(
        long,
        env = "FORGE_BACKEND_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub backend_api_key: Option<String>,

    /// The managed server binary (default: llama-server / vllm / ollama from PATH; llamafile:
    /// the newest llamafile-* runtime beside the model file).
    #[arg(long, env = "FORGE_PROXY_SERVER_BINARY", value_name = "PATH")]
    pub server_binary: Option<PathBuf>,

    /// Debug logging, which adds the per-request lines (request, routing, response); RUST_LOG
    /// overrides.
    #[arg(short, long, env = "FORGE_PROXY_VERBOSE", default_value_t = false)]
    pub verbose: bool,
}

/// `--backend` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// llama.cpp's llama-server.
    Llamaserver,
    /// A llamafile runtime.
    Llamafile,
    /// Ollama.
    Ollama,
    /// vLLM.
    Vllm,
    /// A generic OpenAI-compatible endpoint (external only).
    Openai,
}

impl BackendChoice {
    fn managed_kind(self) -> Option<BackendKind> {
        match self {
            Self::Llamaserver => Some(BackendKind::LlamaServer),
            Self::Llamafile => Some(BackendKind::Llamafile),
            Self::Ollama => Some(BackendKind::Ollama),
            Self::Vllm => Some(BackendKind::Vllm),
            Self::Openai => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Llamaserver => "llamaserver",
            Self::Llamafile => "llamafile",
            Self::Ollama => "ollama",
            Self::Vllm => "vllm",
            Self::Openai => "openai",
        }
    }
}

/// `--budget-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BudgetModeChoice {
    /// What the server reports.
    Backend,
    /// `--budget-tokens`.
    Manual,
    /// The full context.
    ForgeFull,
    /// Half the full context.
    ForgeFast,
}

impl From<BudgetModeChoice> for BudgetMode {
    fn from(choice: BudgetModeChoice) -> Self {
        match choice {
            BudgetModeChoice::Backend => Self::Backend,
            BudgetModeChoice::Manual => Self::Manual,
            BudgetModeChoice::ForgeFull => Self::ForgeFull,
            BudgetModeChoice::ForgeFast => Self::ForgeFast,
        }
    }
}

/// `--backend-protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendProtocol {
    /// OpenAI chat completions (Path 2).
    Openai,
    /// Anthropic Messages (Path 1).
    Anthropic,
}

/// `--backend-capability` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Capability {
    /// The server's native tool calling.
    Native,
    /// Tools described in the prompt, calls parsed from text.
    Prompt,
}

/// `--reasoning-replay` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayChoice {
    /// Reasoning is neither replayed nor shown.
    None,
    /// The last block is replayed; OpenAI clients see it as `reasoning_content`.
    KeepLast,
    /// Everything is replayed; clients see it as assistant content.
    Full,
}

impl From<ReplayChoice> for ReasoningReplay {
    fn from(choice: ReplayChoice) -> Self {
        match choice {
            ReplayChoice::None => Self::None,
            ReplayChoice::KeepLast => Self::KeepLast,
            ReplayChoice::Full => Self::Full,
        }
    }
}

/// A command line that cannot work. Raised before anything is started.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where the backend is and which client talks to it.
#[derive(Debug, Clone, PartialEq)]
pub enum BackendTarget {
    /// A server the user runs.
    External(ExternalBackend),
    /// A server the proxy starts (or attaches to, for Ollama) and stops.
    Managed(ManagedBackendConfig),
}

/// External mode: which client, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalBackend {
    /// The client family.
    pub client: ExternalClient,
    /// The server root without a trailing `/v1` (metadata routes are forwarded here).
    pub root_url: String,
    /// `--model`, when given and not blank.
    pub model: Option<String>,
}

/// The client used in external mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalClient {
    /// llama.cpp / llamafile (the default).
    LlamaCpp,
    /// vLLM.
    Vllm,
    /// A generic OpenAI-compatible endpoint (also Ollama's `/v1`).
    OpenAiCompat,
    /// An Anthropic Messages API downstream (Path 1).
    Anthropic,
}

impl fmt::Display for ExternalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LlamaCpp => "llama.cpp",
            Self::Vllm => "vllm",
            Self::OpenAiCompat => "openai-compatible",
            Self::Anthropic => "anthropic",
        })
    }
}

/// Managed mode: what to start.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedBackendConfig {
    /// The server kind.
    pub kind: BackendKind,
    /// `--gguf`, `--model-path` or `--model`, whichever the kind needs.
    pub identity: forge_managed::ModelIdentity,
    /// `--backend-port`, when given (the kind's default port otherwise).
    pub port: Option<u16>,
    /// The budget mode.
    pub budget_mode: BudgetMode,
    /// `--budget-tokens` (manual mode).
    pub budget_tokens: Option<u64>,
    /// `--extra-flags`, split.
    pub extra_flags: Vec<String>,
    /// `--server-binary`.
    pub server_binary: Option<PathBuf>,
}

/// The validated proxy configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyConfig {
    /// The backend.
    pub backend: BackendTarget,
    /// Listen address.
    pub host: String,
    /// Listen port.
    pub port: u16,
    /// One inference at a time.
    pub serialize: bool,
    /// Retry budget per request.
    pub max_retries: u32,
    /// Tool-error budget per request.
    pub max_tool_errors: u32,
    /// Timeout of backend calls.
    pub backend_timeout: Duration,
    /// Rescue of calls written as text.
    pub rescue_enabled: bool,
    /// Tool-calling capability.
    pub capability: Capability,
    /// Inject the synthetic `respond` tool.
    pub inject_respond_tool: bool,
    /// Reasoning replay and display.
    pub reasoning_replay: ReasoningReplay,
    /// Constrained decoding policy.
    pub constraint_policy: ConstraintPolicy,
    /// Backend credential.
    pub backend_api_key: Option<String>,
    /// External `--budget-tokens` (reported, never used to compact).
    pub reported_budget_tokens: Option<u64>,
}

impl ProxyConfig {
    /// Resolves and validates a parsed command line.
    pub fn from_cli(cli: &Cli) -> Result<Self, ConfigError> {
        let err = |message: String| Err(ConfigError(message));
        let model = cli
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        let backend_url = cli
            .backend_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if backend_url.is_none() && cli.backend.is_none() {
            return err(
                "Provide either --backend-url (external) or --backend (managed)".to_owned(),
            );
        }
        if cli.backend_protocol == BackendProtocol::Anthropic && backend_url.is_none() {
            return err("--backend-protocol anthropic requires external mode (--backend-url ...). Managed mode launches local llama.cpp / Ollama / vLLM, which only speak OpenAI.".to_owned());
        }
        if cli.backend_protocol == BackendProtocol::Anthropic {
            if let Some(backend) = cli.backend {
                return err(format!(
                    "--backend {} speaks the OpenAI protocol; --backend-protocol anthropic is not applicable.",
                    backend.as_str()
                ));
            }
        }
        if cli.backend_capability == Capability::Prompt {
            if cli.backend_protocol == BackendProtocol::Anthropic {
                return err("--backend-capability prompt is not supported with the anthropic protocol (native tool calling only).".to_owned());
            }
            if let Some(backend) = cli
                .backend
                .filter(|b| !matches!(b, BackendChoice::Llamaserver | BackendChoice::Llamafile))
            {
                return err(format!(
                    "--backend-capability prompt is only supported for llama.cpp/llamafile backends, not --backend {}.",
                    backend.as_str()
                ));
            }
        }
        if !cli.backend_timeout.is_finite() || cli.backend_timeout <= 0.0 {
            return err("--backend-timeout must be a finite value greater than 0".to_owned());
        }
        let backend_timeout = Duration::try_from_secs_f64(cli.backend_timeout)
            .map_err(|e| ConfigError(format!("--backend-timeout {}: {e}", cli.backend_timeout)))?;
        let api_key = cli
            .backend_api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);

        let (backend, reported_budget_tokens) = match backend_url {
            Some(url) => {
                let external = external_backend(cli, url, model)?;
                (BackendTarget::External(external), cli.budget_tokens)
            }
            None => {
                let choice = cli
                    .backend
                    .expect("checked above: managed mode has a --backend");
                (
                    BackendTarget::Managed(managed_backend(cli, choice, model)?),
                    None,
                )
            }
        };
        let managed = matches!(backend, BackendTarget::Managed(_));
        Ok(Self {
            backend,
            host: cli.host.clone(),
            port: cli.port,
            serialize: if cli.serialize {
                true
            } else if cli.no_serialize {
                false
            } else {
                managed
            },
            max_retries: cli.max_retries,
            max_tool_errors: cli.max_tool_errors,
            backend_timeout,
            rescue_enabled: !cli.no_rescue,
            capability: cli.backend_capability,
            inject_respond_tool: cli.inject_respond_tool,
            reasoning_replay: cli.reasoning_replay.into(),
            constraint_policy: cli
                .constrain
                .parse()
                .map_err(|err: forge_types::ForgeError| {
                    ConfigError(format!("--constrain: {err}"))
                })?,
            backend_api_key: api_key,
            reported_budget_tokens,
        })
    }

    /// Parses and validates a command line (`args[0]` is the program name), as the binary does.
    pub fn from_args<I, T>(args: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(args).map_err(|e| ConfigError(e.to_string()))?;
        Self::from_cli(&cli)
    }

    /// `http://<host>:<port>` as configured.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

fn external_backend(
    cli: &Cli,
    url: &str,
    model: Option<String>,
) -> Result<ExternalBackend, ConfigError> {
    let managed_only = [
        ("--gguf", cli.gguf.is_some()),
        ("--model-path", cli.model_path.is_some()),
        ("--backend-port", cli.backend_port.is_some()),
        ("--budget-mode", cli.budget_mode.is_some()),
        ("--extra-flags", cli.extra_flags.is_some()),
        ("--server-binary", cli.server_binary.is_some()),
    ];
    if let Some((flag, _)) = managed_only.iter().find(|(_, given)| *given) {
        return Err(ConfigError(format!(
            "{flag} only applies in managed mode (without --backend-url); remove it or drop --backend-url"
        )));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError(format!(
            "--backend-url {url:?} must start with http:// or https://"
        )));
    }
    let client = if cli.backend_protocol == BackendProtocol::Anthropic {
        ExternalClient::Anthropic
    } else {
        match cli.backend {
            Some(BackendChoice::Vllm) => ExternalClient::Vllm,
            Some(BackendChoice::Openai | BackendChoice::Ollama) => ExternalClient::OpenAiCompat,
            Some(BackendChoice::Llamaserver | BackendChoice::Llamafile) | None => {
                ExternalClient::LlamaCpp
            }
        }
    };
    if client == ExternalClient::OpenAiCompat && model.is_none() {
        return Err(ConfigError(format!(
            "--backend {} needs --model: it is the model every call asks the endpoint for",
            cli.backend.map_or("openai", BackendChoice::as_str)
        )));
    }
    if cli.budget_tokens == Some(0) {
        return Err(ConfigError("--budget-tokens must be positive".to_owned()));
    }
    let trimmed = url.trim_end_matches('/');
    let root_url = match client {
        ExternalClient::Anthropic => trimmed.to_owned(),
        _ => trimmed.strip_suffix("/v1").unwrap_or(trimmed).to_owned(),
    };
    Ok(ExternalBackend {
        client,
        root_url,
        model,
    })
}

fn managed_backend(
    cli: &Cli,
    choice: BackendChoice,
    model: Option<String>,
) -> Result<ManagedBackendConfig, ConfigError> {
    use forge_managed::ModelIdentity;
    let Some(kind) = choice.managed_kind() else {
        return Err(ConfigError(
            "--backend openai is a hosted or external endpoint: give its --backend-url".to_owned(),
        ));
    };
    let name = kind.as_str();
    let identity = match kind {
        BackendKind::Ollama => {
            reject_field(name, "--gguf", cli.gguf.is_some(), "--model")?;
            reject_field(name, "--model-path", cli.model_path.is_some(), "--model")?;
            ModelIdentity::OllamaModel(
                model.ok_or_else(|| ConfigError(format!("--backend {name} requires --model")))?,
            )
        }
        BackendKind::Vllm => {
            reject_field(name, "--gguf", cli.gguf.is_some(), "--model-path")?;
            reject_field(name, "--model", model.is_some(), "--model-path")?;
            ModelIdentity::ModelPath(
                cli.model_path.clone().ok_or_else(|| {
                    ConfigError(format!("--backend {name} requires --model-path"))
                })?,
            )
        }
        BackendKind::LlamaServer | BackendKind::Llamafile => {
            reject_field(name, "--model", model.is_some(), "--gguf")?;
            reject_field(name, "--model-path", cli.model_path.is_some(), "--gguf")?;
            ModelIdentity::Gguf(
                cli.gguf
                    .clone()
                    .ok_or_else(|| ConfigError(format!("--backend {name} requires --gguf")))?,
            )
        }
    };
    let extra_flags = match &cli.extra_flags {
        Some(raw) => {
            forge_managed::split_extra_flags(raw).map_err(|e| ConfigError(e.to_string()))?
        }
        None => Vec::new(),
    };
    if kind == BackendKind::Ollama && !extra_flags.is_empty() {
        return Err(ConfigError(
            "--extra-flags does not apply to --backend ollama (forge attaches to a running daemon)"
                .to_owned(),
        ));
    }
    forge_managed::check_extra_flags(kind, &extra_flags).map_err(|e| ConfigError(e.to_string()))?;
    let budget_mode = cli
        .budget_mode
        .map_or(BudgetMode::Backend, BudgetMode::from);
    forge_managed::BudgetRequest::new(budget_mode, cli.budget_tokens)
        .map_err(|e| ConfigError(e.to_string()))?;
    Ok(ManagedBackendConfig {
        kind,
        identity,
        port: cli.backend_port,
        budget_mode,
        budget_tokens: cli.budget_tokens,
        extra_flags,
        server_binary: cli.server_binary.clone(),
    })
}

fn reject_field(backend: &str, flag: &str, given: bool, instead: &str) -> Result<(), ConfigError> {
    if given {
        return Err(ConfigError(format!(
            "--backend {backend} does not accept {flag} (use {instead})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ProxyConfig, String> {
        let mut argv = vec!["forge-proxy"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
        ProxyConfig::from_cli(&cli).map_err(|e| e.0)
    }

    #[test]
    fn constrain_flag_selects_the_constraint_policy() {
        let default = parse(&["--backend-url", "http://127.0.0.1:8080"]).unwrap();
        assert_eq!(default.constraint_policy, ConstraintPolicy::Never);
        for (flag, policy) in [
            ("never", ConstraintPolicy::Never),
            ("retry", ConstraintPolicy::Retry),
            ("always", ConstraintPolicy::Always),
        ] {
            let config = parse(&[
                "--backend-url",
                "http://127.0.0.1:8080",
                "--constrain",
                flag,
            ])
            .unwrap();
            assert_eq!(config.constraint_policy, policy, "--constrain {flag}");
        }
        let err = parse(&[
            "--backend-url",
            "http://127.0.0.1:8080",
            "--constrain",
            "sometimes",
        ])
        .unwrap_err();
        assert!(err.contains("sometimes"), "{err}");
    }

    fn check_rejected(args: &[&str], needle: &str) {
        let error = parse(args).expect_err("must be rejected");
        assert!(
            error.contains(needle),
            "{args:?}: expected {needle:?} in {error:?}"
        );
    }

    #[test]
    fn defaults_match_the_reference_cli() {
        let config = parse(&["--backend-url", "http://127.0.0.1:8080"]).unwrap();
        assert_eq!(config.host, "127.0.0.1");
        assert_eq!(config.port, 8081);
        assert_eq!(config.max_retries, 3);
        assert_eq!(config.max_tool_errors, 2);
        assert_eq!(config.backend_timeout, Duration::from_secs(300));
        assert!(config.rescue_enabled);
        assert!(
            !config.serialize,
            "external mode is not serialized by default"
        );
        assert_eq!(config.capability, Capability::Native);
        assert!(!config.inject_respond_tool);
        assert_eq!(config.reasoning_replay, ReasoningReplay::None);
        assert_eq!(config.url(), "http://127.0.0.1:8081");
        let BackendTarget::External(external) = config.backend else {
            panic!("external")
        };
        assert_eq!(external.client, ExternalClient::LlamaCpp);
        assert_eq!(external.root_url, "http://127.0.0.1:8080");
    }

    #[test]
    fn invalid_combinations_are_rejected_before_anything_starts() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "Provide either --backend-url"),
            (
                &[
                    "--backend",
                    "llamaserver",
                    "--gguf",
                    "/m.gguf",
                    "--backend-protocol",
                    "anthropic",
                ],
                "requires external mode",
            ),
            (
                &[
                    "--backend-url",
                    "http://x",
                    "--backend",
                    "vllm",
                    "--backend-protocol",
                    "anthropic",
                ],
                "speaks the OpenAI protocol",
            ),
            (
                &[
                    "--backend-url",
                    "http://x",
                    "--backend-protocol",
                    "anthropic",
                    "--backend-capability",
                    "prompt",
                ],
                "not supported with the anthropic protocol",
            ),
            (
                &[
                    "--backend-url",
                    "http://x",
                    "--backend",
                    "vllm",
                    "--backend-capability",
                    "prompt",
                ],
                "only supported for llama.cpp/llamafile",
            ),
            (
                &[
                    "--backend",
                    "ollama",
                    "--model",
                    "q",
                    "--backend-capability",
                    "prompt",
                ],
                "only supported for llama.cpp/llamafile",
            ),
            (
                &["--backend-url", "http://x", "--backend-timeout", "0"],
                "finite value greater than 0",
            ),
            (
                &["--backend-url", "http://x", "--backend-timeout", "-1"],
                "finite value greater than 0",
            ),
            (
                &["--backend-url", "http://x", "--backend-timeout", "NaN"],
                "finite value greater than 0",
            ),
            (
                &["--backend-url", "http://x", "--backend-timeout", "inf"],
                "finite value greater than 0",
            ),
            (&["--backend", "ollama"], "requires --model"),
            (&["--backend", "llamaserver"], "requires --gguf"),
            (&["--backend", "llamafile"], "requires --gguf"),
            (&["--backend", "vllm"], "requires --model-path"),
            (
                &[
                    "--backend",
                    "vllm",
                    "--model-path",
                    "/m",
                    "--gguf",
                    "/x.gguf",
                ],
                "does not accept --gguf",
            ),
            (
                &[
                    "--backend",
                    "llamaserver",
                    "--gguf",
                    "/m.gguf",
                    "--model",
                    "x",
                ],
                "does not accept --model",
            ),
            (
                &["--backend", "ollama", "--model", "q", "--extra-flags", "-x"],
                "does not apply to --backend ollama",
            ),
            (
                &[
                    "--backend",
                    "llamaserver",
                    "--gguf",
                    "/m.gguf",
                    "--extra-flags",
                    "--port 9",
                ],
                "--port",
            ),
            (
                &[
                    "--backend",
                    "llamaserver",
                    "--gguf",
                    "/m.gguf",
                    "--budget-mode",
                    "manual",
                ],
                "manual",
            ),
            (
                &["--backend-url", "http://x", "--gguf", "/m.gguf"],
                "--gguf only applies in managed mode",
            ),
            (
                &["--backend-url", "http://x", "--extra-flags", "-ngl 9"],
                "--extra-flags only applies in managed mode",
            ),
            (
                &["--backend-url", "http://x", "--budget-mode", "forge-fast"],
                "--budget-mode only applies in managed mode",
            ),
            (
                &["--backend-url", "http://x", "--backend", "openai"],
                "needs --model",
            ),
            (&["--backend-url", "localhost:8080"], "must start with http"),
            (
                &["--backend", "openai", "--model", "m"],
                "give its --backend-url",
            ),
            (
                &["--backend-url", "http://x", "--serialize", "--no-serialize"],
                "cannot be used with",
            ),
            (
                &["--backend-url", "http://x", "--port", "abc"],
                "invalid value",
            ),
        ];
        for (args, needle) in cases {
            check_rejected(args, needle);
        }
    }

    #[test]
    fn extra_flags_carry_dash_prefixed_arguments() {
        let config = parse(&[
            "--backend",
            "llamaserver",
            "--gguf",
            "/m.gguf",
            "--extra-flags",
            "-ngl 99 --no-mmap",
        ])
        .unwrap();
        let BackendTarget::Managed(managed) = config.backend else {
            panic!("managed")
        };
        assert_eq!(managed.extra_flags, ["-ngl", "99", "--no-mmap"]);
        assert_eq!(managed.port, None, "the kind's default port applies");
        assert!(config.serialize, "managed mode serializes by default");
    }

    #[test]
    fn serialization_resolution_follows_the_auto_rule() {
        let managed = ["--backend", "vllm", "--model-path", "/m"];
        assert!(parse(&managed).unwrap().serialize);
        let mut no = managed.to_vec();
        no.push("--no-serialize");
        assert!(!parse(&no).unwrap().serialize);
        assert!(
            parse(&["--backend-url", "http://x", "--serialize"])
                .unwrap()
                .serialize
        );
    }

    #[test]
    fn external_clients_follow_backend_and_protocol() {
        let client = |args: &[&str]| match parse(args).unwrap().backend {
            BackendTarget::External(e) => (e.client, e.root_url),
            BackendTarget::Managed(_) => panic!("external"),
        };
        assert_eq!(
            client(&["--backend-url", "http://h:8000/v1/", "--backend", "vllm"]),
            (ExternalClient::Vllm, "http://h:8000".to_owned())
        );
        assert_eq!(
            client(&[
                "--backend-url",
                "https://api.x/v1",
                "--backend",
                "openai",
                "--model",
                "m"
            ]),
            (ExternalClient::OpenAiCompat, "https://api.x".to_owned())
        );
        assert_eq!(
            client(&["--backend-url", "http://h", "--backend", "llamafile"]),
            (ExternalClient::LlamaCpp, "http://h".to_owned())
        );
        assert_eq!(
            client(&[
                "--backend-url",
                "http://h:4000/",
                "--backend-protocol",
                "anthropic"
            ]),
            (ExternalClient::Anthropic, "http://h:4000".to_owned())
        );
    }

    #[test]
    fn blank_model_and_key_count_as_absent() {
        let config = parse(&[
            "--backend-url",
            "http://x",
            "--model",
            "  ",
            "--backend-api-key",
            " ",
        ])
        .unwrap();
        assert_eq!(config.backend_api_key, None);
        let BackendTarget::External(e) = config.backend else {
            panic!("external")
        };
        assert_eq!(e.model, None);
    }
}
