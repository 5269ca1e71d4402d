use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::flags::check_extra_flags;
use crate::{BackendKind, ManagedError, ModelIdentity};

/// Everything needed to start (or attach to) one managed backend.
///
/// Build it with [`ManagedConfig::new`] and override fields as needed; every default is
/// visible here and logged at startup.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedConfig {
    /// Which server to run.
    pub kind: BackendKind,
    /// The model it serves; must fit `kind` (see [`ModelIdentity::fits`]).
    pub model: ModelIdentity,
    /// The server binary. `None` looks `llama-server`, `vllm` or `ollama` up on `PATH`, and for
    /// llamafile picks the newest `llamafile-*` runtime beside the model file. A bare name is
    /// looked up on `PATH`; anything with a directory part is used as given.
    pub binary: Option<PathBuf>,
    /// Address the server binds to and forge probes. Default `127.0.0.1`.
    pub host: IpAddr,
    /// Port of the server: spawned servers get `--port`; for Ollama, the port of the daemon
    /// to attach to. Default [`BackendKind::default_port`].
    pub port: u16,
    /// Extra server arguments, appended after forge's own (see
    /// [`split_extra_flags`](crate::split_extra_flags)).
    pub extra_flags: Vec<String>,
    /// Launch llama-server/llamafile with `--jinja` (native tool calling). Default `true`:
    /// the proxy always launches native, even under the prompt capability.
    pub jinja: bool,
    /// llama.cpp-only KV-cache and slot options.
    pub tuning: LlamaTuning,
    /// Deadlines and poll intervals.
    pub timing: Timing,
}

/// llama.cpp options the proxy does not expose but library callers may set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LlamaTuning {
    /// KV-cache quantization for keys (`--cache-type-k`, e.g. `q8_0`).
    pub cache_type_k: Option<String>,
    /// KV-cache quantization for values (`--cache-type-v`).
    pub cache_type_v: Option<String>,
    /// Concurrent slots (`--parallel N`); each gets its share of the context unless unified.
    pub n_slots: Option<u32>,
    /// One KV pool shared by all slots (`--kv-unified`).
    pub kv_unified: bool,
}

impl LlamaTuning {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Deadlines and intervals of the process lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long a spawned server may take to become ready (reference: 180 s for llama.cpp,
    /// 300 s for vLLM). A child that exits earlier fails the start at once.
    pub health_deadline: Duration,
    /// Pause between readiness probes.
    pub poll_interval: Duration,
    /// Timeout of one HTTP probe (readiness, context discovery, Ollama attach).
    pub probe_timeout: Duration,
    /// How long `stop` waits after SIGTERM before it kills.
    pub stop_grace: Duration,
}

impl Timing {
    /// The defaults for `kind`: the reference's deadlines, a 500 ms poll, 5 s probes and a 10 s
    /// grace period on stop.
    pub fn for_kind(kind: BackendKind) -> Self {
        Self {
            health_deadline: match kind {
                BackendKind::Vllm => Duration::from_secs(300),
                _ => Duration::from_secs(180),
            },
            poll_interval: Duration::from_millis(500),
            probe_timeout: Duration::from_secs(5),
            stop_grace: Duration::from_secs(10),
        }
    }
}

impl ManagedConfig {
    /// A configuration with the defaults for `kind`: host `127.0.0.1`, the kind's default port,
    /// binary from `PATH`, no extra flags, `--jinja` on.
    pub fn new(kind: BackendKind, model: ModelIdentity) -> Self {
        Self {
            kind,
            model,
            binary: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: kind.default_port(),
            extra_flags: Vec::new(),
            jinja: true,
            tuning: LlamaTuning::default(),
            timing: Timing::for_kind(kind),
        }
    }

    /// The server's address.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// `http://<host>:<port>` (the server root, without `/v1`).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.socket_addr())
    }

    /// Checks the rules that need no I/O: identity fits the kind, options the kind does not
    /// support, port, extra flags. Messages follow the reference where it has one.
    pub fn validate(&self) -> Result<(), ManagedError> {
        let invalid = |message: String| Err(ManagedError::InvalidConfig(message));
        let name = self.kind.as_str();
        if !self.model.fits(self.kind) {
            let wanted = match self.kind {
                BackendKind::Ollama => "model",
                BackendKind::Vllm => "model_path",
                BackendKind::LlamaServer | BackendKind::Llamafile => "gguf_path",
            };
            return invalid(format!(
                "backend='{name}' does not accept {} (use {wanted})",
                self.model.field_name()
            ));
        }
        if self.port == 0 {
            return invalid(format!(
                "backend='{name}' needs a concrete port, not 0 (forge must know where to probe it)"
            ));
        }
        match self.kind {
            BackendKind::Vllm => {
                if self.tuning.cache_type_k.is_some() || self.tuning.cache_type_v.is_some() {
                    return invalid(
                        "backend='vllm' does not support cache_type_k/cache_type_v (quantization is baked into the model artifact)".to_owned(),
                    );
                }
                if self.tuning.n_slots.is_some() || self.tuning.kv_unified {
                    return invalid(
                        "backend='vllm' does not support n_slots/kv_unified (vLLM has its own scheduler concepts)".to_owned(),
                    );
                }
            }
            BackendKind::Ollama => {
                if !self.tuning.is_default() {
                    return invalid(
                        "backend='ollama' does not support cache types, n_slots or kv_unified (forge attaches to the daemon; configure Ollama itself)".to_owned(),
                    );
                }
            }
            BackendKind::LlamaServer | BackendKind::Llamafile => {
                if self.tuning.n_slots == Some(0) {
                    return invalid(format!("backend='{name}' needs n_slots >= 1"));
                }
            }
        }
        check_extra_flags(self.kind, &self.extra_flags)
    }
}
