//! forge's proxy: an OpenAI- and Anthropic-compatible HTTP server that makes a model's tool
//! calls reliable without changing the client.
//!
//! Point any chat client (the OpenAI or Anthropic SDKs, opencode, Continue, aider, Claude Code)
//! at the proxy; it forwards to a model server (llama-server, llamafile, vLLM, Ollama, a hosted
//! OpenAI-compatible endpoint, or an Anthropic Messages API) and runs every tool-bearing request
//! through forge's retry engine: calls written as text are rescued, unknown tools and prose get
//! a corrective retry, backend failures become proper HTTP errors. Tool-free requests pass
//! straight through.
//!
//! - [`config`]: the command line (a drop-in for the reference proxy) and [`ProxyConfig`];
//! - [`Proxy`]: starts the backend (managed or external), serves, and stops what it started;
//! - [`router`] over an [`AppState`]: the routes, usable with any [`LlmClient`](forge_client::LlmClient);
//! - [`handle`]: one request through the bypass or the guardrailed path.
//!
//! ```
//! use std::sync::Arc;
//! use forge_proxy::{router, AppState, HandlerSettings};
//! use forge_llamacpp::{LlamaServerClient, LlamaServerConfig};
//!
//! let client = LlamaServerClient::new(
//!     LlamaServerConfig::new("default").base_url("http://127.0.0.1:8080/v1"),
//! )
//! .expect("a valid configuration");
//! let state = AppState::new(Arc::new(client), HandlerSettings::default()).with_serialization(true);
//! let app: axum::Router = router(Arc::new(state));
//! # drop(app);
//! ```

mod backend;
pub mod config;
mod credentials;
mod error;
mod handler;
mod ids;
mod inbound;
mod outbound;
mod server;

use std::future::Future;
use std::sync::Arc;

pub use backend::{external_client, StartError};
pub use config::{Cli, ConfigError, ProxyConfig};
pub use credentials::{resolve_metadata_credential, resolve_request_credential, WithCredential};
pub use error::{ProxyError, MAX_BODY_BYTES};
pub use handler::{handle, HandlerSettings};
pub use inbound::{prepare_anthropic, prepare_openai, InboundError, PreparedRequest, Protocol};
pub use server::{router, AppState, ForwardTarget};

use forge_managed::RunningBackend;
use tokio::net::TcpListener;

use crate::config::{BackendTarget, Capability};

/// A proxy whose backend is ready: serve it, then it stops what it started.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    state: Arc<AppState>,
    managed: Option<RunningBackend>,
}

impl Proxy {
    /// Logs the effective configuration and prepares the backend: builds the external client
    /// (no I/O), or starts the managed server and waits until it is ready. A failure is
    /// returned as soon as it is known, with anything spawned already stopped.
    pub async fn start(config: ProxyConfig) -> Result<Self, StartError> {
        log_effective_config(&config);
        let backend = backend::start_backend(&config).await?;
        let http = reqwest::Client::builder()
            .timeout(config.backend_timeout)
            .build()
            .map_err(|e| {
                StartError::Client(forge_types::ForgeError::InvalidInput {
                    what: "HTTP client",
                    message: e.to_string(),
                })
            })?;
        let settings = HandlerSettings {
            max_retries: config.max_retries,
            max_tool_errors: config.max_tool_errors,
            rescue_enabled: config.rescue_enabled,
            inject_respond_tool: config.inject_respond_tool,
            reasoning_replay: config.reasoning_replay,
            constraint_policy: config.constraint_policy,
        };
        let static_credential = config
            .backend_api_key
            .as_deref()
            .map(forge_client::Credential::token)
            .transpose()
            .map_err(|error| {
                StartError::Client(forge_types::ForgeError::InvalidInput {
                    what: "--backend-api-key",
                    message: error.to_string(),
                })
            })?;
        let default_model = match &config.backend {
            BackendTarget::External(external) => external.model.clone(),
            BackendTarget::Managed(_) => None,
        };
        let state = AppState::new(backend.client, settings)
            .with_serialization(config.serialize)
            .with_native_passthrough(config.capability == Capability::Native)
            .with_default_model(default_model)
            .with_static_credential(static_credential)
            .with_forwarding(ForwardTarget {
                root_url: backend.root_url,
                http,
            });
        Ok(Self {
            config,
            state: Arc::new(state),
            managed: backend.managed,
        })
    }

    /// The routes, for serving elsewhere or for tests.
    pub fn router(&self) -> axum::Router {
        router(self.state.clone())
    }

    /// The configuration.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    /// Binds the configured host and port.
    pub async fn bind(&self) -> Result<TcpListener, StartError> {
        let addr = format!("{}:{}", self.config.host, self.config.port);
        TcpListener::bind(&addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })
    }

    /// Serves on `listener` until `shutdown` completes, lets requests in flight finish, then
    /// stops the managed backend.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(StartError::Serve);
        self.stop().await;
        served
    }

    /// Stops the managed backend, if any.
    pub async fn stop(self) {
        if let Some(running) = self.managed {
            match running.stop().await {
                Ok(()) => tracing::info!("managed backend stopped"),
                Err(error) => tracing::error!(%error, "stopping the managed backend failed"),
            }
        }
        tracing::info!("proxy stopped");
    }
}

fn log_effective_config(config: &ProxyConfig) {
    match &config.backend {
        BackendTarget::External(external) => tracing::info!(
            mode = "external",
            client = %external.client,
            backend_url = %external.root_url,
            model = external.model.as_deref().unwrap_or("(per request)"),
            reported_budget_tokens = ?config.reported_budget_tokens,
            "backend"
        ),
        BackendTarget::Managed(managed) => tracing::info!(
            mode = "managed",
            kind = %managed.kind,
            model = ?managed.identity,
            port = managed.port.unwrap_or_else(|| managed.kind.default_port()),
            budget_mode = %managed.budget_mode,
            budget_tokens = ?managed.budget_tokens,
            extra_flags = ?managed.extra_flags,
            server_binary = ?managed.server_binary,
            "backend"
        ),
    }
    tracing::info!(
        listen = %config.url(),
        serialize = config.serialize,
        max_retries = config.max_retries,
        max_tool_errors = config.max_tool_errors,
        backend_timeout_s = config.backend_timeout.as_secs_f64(),
        rescue = config.rescue_enabled,
        capability = ?config.capability,
        inject_respond_tool = config.inject_respond_tool,
        reasoning_replay = ?config.reasoning_replay,
        constrain = %config.constraint_policy,
        backend_api_key = if config.backend_api_key.is_some() { "set" } else { "unset" },
        "proxy configuration"
    );
}
