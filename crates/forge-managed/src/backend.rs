//! Starting a managed backend, resolving its budget, and stopping it.

use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;

use crate::argv::{resolve_program, server_args};
use crate::budget::{forge_fast_context, ollama_budget, BudgetRequest, LaunchPlan};
use crate::discovery::server_context;
use crate::health::{describe_transport_error, wait_until_ready};
use crate::process::ServerProcess;
use crate::{BackendKind, ManagedConfig, ManagedError, ModelIdentity};

/// A validated managed-backend configuration, ready to start.
#[derive(Debug, Clone)]
pub struct ManagedBackend {
    config: ManagedConfig,
}

impl ManagedBackend {
    /// Validates `config` (no I/O) and keeps it.
    pub fn new(config: ManagedConfig) -> Result<Self, ManagedError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The configuration.
    pub fn config(&self) -> &ManagedConfig {
        &self.config
    }

    /// The command line a spawned server gets with `ctx_override` (program not included).
    pub fn server_args(&self, ctx_override: Option<u64>) -> Vec<String> {
        server_args(&self.config, ctx_override)
    }

    /// Starts the server (or attaches to Ollama), waits until it is ready and resolves the
    /// context budget for `budget`.
    ///
    /// Spawned servers: `backend`/`forge-full` launch without a context size and read what the
    /// server reports; `manual` launches with `-c`/`--max-model-len` set to the tokens and reads
    /// it back; `forge-fast` launches, reads the full context, relaunches with half of it
    /// (times the slot count unless unified) and reads again. Ollama: the daemon must answer;
    /// `manual` gives the tokens, the others the VRAM tier (halved for `forge-fast`).
    ///
    /// Fails as soon as a failure is known; any process spawned for this start is stopped
    /// before the error is returned.
    pub async fn start(self, budget: BudgetRequest) -> Result<RunningBackend, ManagedError> {
        let config = self.config;
        let client = reqwest::Client::builder()
            .timeout(config.timing.probe_timeout)
            .no_proxy()
            .build()
            .map_err(|err| {
                ManagedError::InvalidConfig(format!("cannot build the HTTP probe client: {err}"))
            })?;
        if let ModelIdentity::Gguf(path) = &config.model {
            if !path.is_file() {
                return Err(ManagedError::ModelFileMissing { path: path.clone() });
            }
        }
        let program = resolve_program(&config)?;
        tracing::info!(
            backend = %config.kind,
            model = %config.model,
            program = %program.display(),
            address = %config.socket_addr(),
            extra_flags = ?config.extra_flags,
            budget_mode = %budget.mode(),
            manual_tokens = ?budget.manual_tokens(),
            health_deadline = ?config.timing.health_deadline,
            "starting managed backend"
        );
        let mut running = RunningBackend {
            config,
            client,
            program,
            process: None,
            ctx_override: None,
            budget_tokens: 0,
        };
        match running.bring_up(budget).await {
            Ok(tokens) => {
                running.budget_tokens = tokens;
                tracing::info!(
                    backend = %running.config.kind,
                    pid = ?running.pid(),
                    url = %running.root_url(),
                    budget_tokens = tokens,
                    budget_mode = %budget.mode(),
                    "managed backend ready"
                );
                Ok(running)
            }
            Err(err) => {
                if let Some(mut process) = running.process.take() {
                    if let Err(stop_err) = process.stop(running.config.timing.stop_grace).await {
                        tracing::warn!(%stop_err, "could not stop the backend after a failed start");
                    }
                }
                Err(err)
            }
        }
    }
}

/// A managed backend that is up: a server process forge spawned and owns, or an attached
/// Ollama daemon.
///
/// Call [`RunningBackend::stop`] to shut it down in order. Dropping it without `stop` kills a
/// spawned server (SIGKILL to its process group) so a panic or early return never leaves it
/// running; an attached Ollama daemon is never stopped, only its model unloaded by `stop`.
#[derive(Debug)]
pub struct RunningBackend {
    config: ManagedConfig,
    client: reqwest::Client,
    program: PathBuf,
    process: Option<ServerProcess>,
    ctx_override: Option<u64>,
    budget_tokens: u64,
}

impl RunningBackend {
    /// The resolved context budget in tokens (for Ollama, also the `num_ctx` to send).
    pub fn budget_tokens(&self) -> u64 {
        self.budget_tokens
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &ManagedConfig {
        &self.config
    }

    /// `http://<host>:<port>`, the server root.
    pub fn root_url(&self) -> String {
        self.config.root_url()
    }

    /// `http://<host>:<port>/v1`, the OpenAI-compatible base URL (llama.cpp, llamafile, vLLM).
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.config.root_url())
    }

    /// The spawned server's process id (`None` for Ollama).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// The server binary (for Ollama, the CLI used to unload the model).
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// The context size the server was launched with, if forge set one.
    pub fn ctx_override(&self) -> Option<u64> {
        self.ctx_override
    }

    /// The context length the server reports now (not for Ollama, which reports none).
    pub async fn server_context(&self) -> Result<u64, ManagedError> {
        if !self.config.kind.is_spawned() {
            return Err(ManagedError::budget(
                "Ollama does not report a context length; its budget comes from the budget mode",
            ));
        }
        server_context(&self.client, &self.config).await
    }

    /// Makes sure the server runs with `ctx_override`: reuses the running process when it is
    /// alive with the same context size, otherwise stops it and launches a new one.
    pub async fn ensure_running(&mut self, ctx_override: Option<u64>) -> Result<(), ManagedError> {
        if !self.config.kind.is_spawned() {
            return Ok(());
        }
        if let Some(process) = self.process.as_mut() {
            if self.ctx_override == ctx_override && process.try_exit()?.is_none() {
                tracing::debug!(
                    pid = process.pid(),
                    "same configuration already running; reusing it"
                );
                return Ok(());
            }
        }
        self.stop_process().await?;
        self.launch(ctx_override).await
    }

    /// Stops what forge started: SIGTERM to the spawned server, up to the grace period, then
    /// SIGKILL; for Ollama, `ollama stop <model>` (the daemon keeps running).
    pub async fn stop(mut self) -> Result<(), ManagedError> {
        match self.config.kind {
            BackendKind::Ollama => self.unload_ollama_model().await,
            _ => self.stop_process().await,
        }
    }

    async fn bring_up(&mut self, budget: BudgetRequest) -> Result<u64, ManagedError> {
        if self.config.kind == BackendKind::Ollama {
            self.attach_ollama().await?;
            return ollama_budget(budget).await;
        }
        match budget.launch_plan() {
            LaunchPlan::ServerDefault => self.launch(None).await?,
            LaunchPlan::Fixed(tokens) => self.launch(Some(tokens)).await?,
            LaunchPlan::HalfOfDiscovered => {
                self.launch(None).await?;
                let reported = self.server_context().await?;
                let half = forge_fast_context(reported, &self.config.tuning);
                tracing::info!(
                    reported,
                    relaunch_ctx = half,
                    "forge-fast: relaunching with half the context"
                );
                self.ensure_running(Some(half)).await?;
            }
        }
        self.server_context().await
    }

    async fn launch(&mut self, ctx_override: Option<u64>) -> Result<(), ManagedError> {
        let addr = self.config.socket_addr();
        // A port that is already taken would let the health probe talk to someone else's
        // server while ours dies on bind; refuse it up front.
        drop(std::net::TcpListener::bind(addr).map_err(|source| {
            ManagedError::PortUnavailable {
                addr: addr.to_string(),
                source,
            }
        })?);
        let args = server_args(&self.config, ctx_override);
        let mut process = ServerProcess::spawn(&self.program, &args)?;
        tracing::info!(pid = process.pid(), program = %self.program.display(), ?args, "spawned backend");
        if let Err(err) = wait_until_ready(&mut process, &self.client, &self.config).await {
            if let Err(stop_err) = process.stop(self.config.timing.stop_grace).await {
                tracing::warn!(%stop_err, "could not stop the backend after a failed start");
            }
            return Err(err);
        }
        self.process = Some(process);
        self.ctx_override = ctx_override;
        Ok(())
    }

    async fn stop_process(&mut self) -> Result<(), ManagedError> {
        if let Some(mut process) = self.process.take() {
            let status = process.stop(self.config.timing.stop_grace).await?;
            tracing::info!(pid = process.pid(), %status, "backend stopped");
        }
        self.ctx_override = None;
        Ok(())
    }

    async fn attach_ollama(&self) -> Result<(), ManagedError> {
        let url = format!("{}/api/version", self.config.root_url());
        let unreachable = |cause: String| ManagedError::OllamaUnreachable {
            url: url.clone(),
            cause,
        };
        let response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|err| unreachable(describe_transport_error(&err)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|err| unreachable(describe_transport_error(&err)))?;
        if !status.is_success() {
            return Err(unreachable(format!("HTTP {}", status.as_u16())));
        }
        let version = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|json| json["version"].as_str().map(str::to_owned))
            .ok_or_else(|| {
                unreachable(format!(
                    "the answer is not Ollama's version JSON: {}",
                    forge_types::BackendError::excerpt(&body)
                ))
            })?;
        tracing::info!(%version, url = %self.config.root_url(), "attached to Ollama");
        Ok(())
    }

    async fn unload_ollama_model(&self) -> Result<(), ManagedError> {
        let ModelIdentity::OllamaModel(model) = &self.config.model else {
            return Ok(());
        };
        let failed = |detail: String| ManagedError::OllamaUnload {
            model: model.clone(),
            detail,
        };
        let mut command = Command::new(&self.program);
        command
            .args(["stop", model])
            // The CLI talks to OLLAMA_HOST; point it at the daemon we attached to.
            .env("OLLAMA_HOST", self.config.socket_addr().to_string())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let output = tokio::time::timeout(
            unload_deadline(self.config.timing.stop_grace),
            command.output(),
        )
        .await
        .map_err(|_| failed("timed out".to_owned()))?
        .map_err(|err| failed(err.to_string()))?;
        if !output.status.success() {
            return Err(failed(format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        tracing::info!(%model, "unloaded the Ollama model");
        Ok(())
    }
}

/// `ollama stop` only asks the daemon to unload; give it the same grace as a server stop.
fn unload_deadline(stop_grace: Duration) -> Duration {
    stop_grace.max(Duration::from_secs(1))
}
