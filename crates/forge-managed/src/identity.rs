use std::fmt;
use std::path::{Path, PathBuf};

use crate::{BackendKind, ManagedError};

/// What model a managed backend serves. Each backend kind takes exactly one form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelIdentity {
    /// A GGUF (or `.llamafile`) file, for llama-server and llamafile (`--gguf`).
    Gguf(PathBuf),
    /// A model directory or Hugging Face repo id, for vLLM (`--model-path`).
    ModelPath(String),
    /// An Ollama model tag such as `ministral-3:14b` (`--model`).
    OllamaModel(String),
}

impl ModelIdentity {
    /// Picks the identity from the proxy's three identity flags, applying the reference's
    /// rules: each backend accepts exactly its own field and rejects the other two.
    ///
    /// Empty strings count as absent, as in the reference.
    pub fn from_flags(
        kind: BackendKind,
        model: Option<&str>,
        gguf: Option<&Path>,
        model_path: Option<&str>,
    ) -> Result<Self, ManagedError> {
        let invalid = |message: String| Err(ManagedError::InvalidConfig(message));
        let model = model.filter(|m| !m.is_empty());
        let model_path = model_path.filter(|m| !m.is_empty());
        let gguf = gguf.filter(|g| !g.as_os_str().is_empty());
        let name = kind.as_str();
        match kind {
            BackendKind::Ollama => {
                if gguf.is_some() {
                    return invalid(format!(
                        "backend='{name}' does not accept gguf_path (use model)"
                    ));
                }
                if model_path.is_some() {
                    return invalid(format!(
                        "backend='{name}' does not accept model_path (use model)"
                    ));
                }
                match model {
                    Some(model) => Ok(Self::OllamaModel(model.to_owned())),
                    None => invalid(format!("backend='{name}' requires model")),
                }
            }
            BackendKind::Vllm => {
                if gguf.is_some() {
                    return invalid(format!(
                        "backend='{name}' does not accept gguf_path (use model_path)"
                    ));
                }
                if model.is_some() {
                    return invalid(format!(
                        "backend='{name}' does not accept model (use model_path)"
                    ));
                }
                match model_path {
                    Some(path) => Ok(Self::ModelPath(path.to_owned())),
                    None => invalid(format!("backend='{name}' requires model_path")),
                }
            }
            BackendKind::LlamaServer | BackendKind::Llamafile => {
                if model.is_some() {
                    return invalid(format!(
                        "backend='{name}' does not accept model (use gguf_path)"
                    ));
                }
                if model_path.is_some() {
                    return invalid(format!(
                        "backend='{name}' does not accept model_path (use gguf_path)"
                    ));
                }
                match gguf {
                    Some(path) => Ok(Self::Gguf(path.to_owned())),
                    None => invalid(format!("backend='{name}' requires gguf_path")),
                }
            }
        }
    }

    /// Whether `kind` takes this form of identity.
    pub fn fits(&self, kind: BackendKind) -> bool {
        matches!(
            (self, kind),
            (
                Self::Gguf(_),
                BackendKind::LlamaServer | BackendKind::Llamafile
            ) | (Self::ModelPath(_), BackendKind::Vllm)
                | (Self::OllamaModel(_), BackendKind::Ollama)
        )
    }

    /// The name of the flag this identity comes from.
    pub fn field_name(&self) -> &'static str {
        match self {
            Self::Gguf(_) => "gguf_path",
            Self::ModelPath(_) => "model_path",
            Self::OllamaModel(_) => "model",
        }
    }
}

impl fmt::Display for ModelIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gguf(path) => write!(f, "{}", path.display()),
            Self::ModelPath(path) => f.write_str(path),
            Self::OllamaModel(model) => f.write_str(model),
        }
    }
}
