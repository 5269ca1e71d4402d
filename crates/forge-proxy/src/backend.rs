//! The backend behind the proxy: the client for an external server, or a managed server started
//! (and later stopped) together with its client.

use std::sync::Arc;

use forge_anthropic::{AnthropicClient, AnthropicConfig};
use forge_client::{HttpConfig, LlmClient};
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ServerFlavor, ToolMode};
use forge_managed::{BackendKind, BudgetRequest, ManagedBackend, ManagedConfig, RunningBackend};
use forge_ollama::{OllamaClient, OllamaConfig};
use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
use forge_types::ForgeError;
use forge_vllm::{VllmClient, VllmConfig};
use thiserror::Error;

use crate::config::{
    Capability, ExternalBackend, ExternalClient, ManagedBackendConfig, ProxyConfig,
};

/// Why the proxy could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// A client could not be built from the configuration.
    #[error("cannot build the backend client: {0}")]
    Client(#[from] ForgeError),
    /// The managed backend failed to start (anything it spawned is already stopped).
    #[error("managed backend failed to start: {0}")]
    Managed(#[from] forge_managed::ManagedError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// A started backend: the client, where metadata routes go, and the managed server (if any).
#[derive(Debug)]
pub struct Backend {
    /// The client every inference uses.
    pub client: Arc<dyn LlmClient>,
    /// The backend root for metadata forwarding.
    pub root_url: String,
    /// The managed server, stopped on shutdown.
    pub managed: Option<RunningBackend>,
}

fn http_config(config: &ProxyConfig) -> HttpConfig {
    let http = HttpConfig::with_timeout(config.backend_timeout);
    match &config.backend_api_key {
        Some(key) => http.api_key(key.clone()),
        None => http,
    }
}

fn tool_mode(capability: Capability) -> ToolMode {
    match capability {
        Capability::Native => ToolMode::Native,
        Capability::Prompt => ToolMode::Prompt,
    }
}

/// The client for an external server. No I/O: nothing is probed at startup.
pub fn external_client(
    external: &ExternalBackend,
    config: &ProxyConfig,
) -> Result<Arc<dyn LlmClient>, StartError> {
    let base = format!("{}/v1", external.root_url);
    let client: Arc<dyn LlmClient> = match external.client {
        ExternalClient::LlamaCpp => {
            let mut llama =
                LlamaServerConfig::new(external.model.clone().unwrap_or_else(|| "default".into()))
                    .base_url(base)
                    .mode(tool_mode(config.capability));
            llama.http = http_config(config);
            Arc::new(LlamaServerClient::new(llama)?)
        }
        ExternalClient::Vllm => {
            let mut vllm = VllmConfig::new(base).http(http_config(config));
            if let Some(model) = &external.model {
                vllm = vllm.model(model.clone());
            }
            Arc::new(VllmClient::new(vllm)?)
        }
        ExternalClient::OpenAiCompat => {
            let model = external
                .model
                .clone()
                .expect("config validation requires --model for the OpenAI-compatible client");
            let mut openai = OpenAiCompatConfig::new(model, base);
            openai.http = http_config(config);
            Arc::new(OpenAiCompatClient::new(openai)?)
        }
        ExternalClient::Anthropic => {
            // Only the proxy's own key: an ambient ANTHROPIC_API_KEY would be a hidden second
            // credential next to the callers' own. Without a key, each request brings one.
            let key = config.backend_api_key.clone().unwrap_or_default();
            let mut anthropic = AnthropicConfig::new(key)
                .base_url(external.root_url.clone())
                .http(HttpConfig::with_timeout(config.backend_timeout));
            if let Some(model) = &external.model {
                anthropic = anthropic.model(model.clone());
            }
            Arc::new(AnthropicClient::new(anthropic)?)
        }
    };
    Ok(client)
}

/// Builds the backend: the external client, or starts the managed server and its client.
/// A failed managed start has already stopped whatever it spawned.
pub async fn start_backend(config: &ProxyConfig) -> Result<Backend, StartError> {
    match &config.backend {
        crate::config::BackendTarget::External(external) => Ok(Backend {
            client: external_client(external, config)?,
            root_url: external.root_url.clone(),
            managed: None,
        }),
        crate::config::BackendTarget::Managed(managed) => start_managed(managed, config).await,
    }
}

async fn start_managed(
    managed: &ManagedBackendConfig,
    config: &ProxyConfig,
) -> Result<Backend, StartError> {
    let mut server = ManagedConfig::new(managed.kind, managed.identity.clone());
    if let Some(port) = managed.port {
        server.port = port;
    }
    server.binary = managed.server_binary.clone();
    server.extra_flags = managed.extra_flags.clone();
    let budget = BudgetRequest::new(managed.budget_mode, managed.budget_tokens)?;
    let running = ManagedBackend::new(server)?.start(budget).await?;
    match managed_client(managed, config, &running) {
        Ok(client) => Ok(Backend {
            client,
            root_url: running.root_url(),
            managed: Some(running),
        }),
        Err(error) => {
            if let Err(stop) = running.stop().await {
                tracing::error!(error = %stop, "stopping the managed backend after a failed start");
            }
            Err(error)
        }
    }
}

fn managed_client(
    managed: &ManagedBackendConfig,
    config: &ProxyConfig,
    running: &RunningBackend,
) -> Result<Arc<dyn LlmClient>, StartError> {
    use forge_managed::ModelIdentity;
    let identity = match &managed.identity {
        ModelIdentity::Gguf(path) => path.display().to_string(),
        ModelIdentity::ModelPath(path) => path.clone(),
        ModelIdentity::OllamaModel(model) => model.clone(),
    };
    let client: Arc<dyn LlmClient> = match managed.kind {
        BackendKind::LlamaServer | BackendKind::Llamafile => {
            let mut llama = LlamaServerConfig::new(identity)
                .base_url(running.openai_base_url())
                .mode(tool_mode(config.capability));
            if managed.kind == BackendKind::Llamafile {
                llama = llama.flavor(ServerFlavor::Llamafile);
            }
            llama.http = http_config(config);
            Arc::new(LlamaServerClient::new(llama)?)
        }
        BackendKind::Vllm => Arc::new(VllmClient::new(
            VllmConfig::new(running.openai_base_url())
                .model(identity)
                .http(http_config(config)),
        )?),
        BackendKind::Ollama => {
            let ollama = OllamaClient::new(
                OllamaConfig::new(identity)
                    .base_url(running.root_url())
                    .http(http_config(config)),
            )?;
            ollama.set_num_ctx(Some(running.budget_tokens()));
            Arc::new(ollama)
        }
    };
    Ok(client)
}
