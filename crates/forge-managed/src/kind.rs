use std::fmt;
use std::str::FromStr;

use crate::ManagedError;

/// Which model server a managed backend runs (the proxy's `--backend` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// llama.cpp's `llama-server`, spawned with a GGUF file.
    LlamaServer,
    /// A llamafile runtime (`llamafile-*` beside the model file), spawned in server mode.
    Llamafile,
    /// `vllm serve`, spawned with a model directory or Hugging Face repo id.
    Vllm,
    /// An Ollama daemon that is already running: attached to, never spawned.
    Ollama,
}

impl BackendKind {
    /// Every kind, in CLI order.
    pub const ALL: [BackendKind; 4] = [
        BackendKind::LlamaServer,
        BackendKind::Llamafile,
        BackendKind::Ollama,
        BackendKind::Vllm,
    ];

    /// The CLI spelling (`llamaserver`, `llamafile`, `ollama`, `vllm`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LlamaServer => "llamaserver",
            Self::Llamafile => "llamafile",
            Self::Vllm => "vllm",
            Self::Ollama => "ollama",
        }
    }

    /// Whether forge starts (and owns) the server process. Ollama is attached to instead.
    pub fn is_spawned(self) -> bool {
        !matches!(self, Self::Ollama)
    }

    /// Whether the server speaks llama.cpp's flags and `/props` (llama-server and llamafile).
    pub fn is_llama(self) -> bool {
        matches!(self, Self::LlamaServer | Self::Llamafile)
    }

    /// The port the server listens on unless told otherwise: 11434 for Ollama, 8080 otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Ollama => 11434,
            _ => 8080,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BackendKind {
    type Err = ManagedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| ManagedError::InvalidConfig(format!("unsupported backend: '{s}'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_names_round_trip_and_unknown_names_are_rejected() {
        for kind in BackendKind::ALL {
            assert_eq!(kind.to_string().parse::<BackendKind>().unwrap(), kind);
        }
        let err = "bogus".parse::<BackendKind>().unwrap_err();
        assert_eq!(err.to_string(), "unsupported backend: 'bogus'");
    }
}
