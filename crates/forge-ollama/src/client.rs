//! [`OllamaClient`]: the [`LlmClient`] for Ollama's native `/api/chat`.

use std::sync::Mutex;

use forge_client::sampling_defaults::apply_sampling_defaults;
use forge_client::{
    constrained_stream, constraint_in, decode_constrained_completion, join_url, ChunkStream,
    ConstraintDialect, HttpBackend, HttpConfig, InferenceRequest, LlmClient, RawResponse,
};
use forge_types::{ApiFormat, BackendError, Completion, ForgeError, JsonObject, SamplingParams};
use serde_json::Value;

use crate::body::{chat_body, BodySettings};
use crate::response::parse_chat_response;
use crate::stream::open_stream;
use crate::think::{is_thinking_unsupported, Rejection, ThinkMode, ThinkState};

/// Where the Ollama daemon listens by default (the root, without `/v1`).
pub const DEFAULT_BASE_URL: &str = "http://localhost:11434";

/// How to reach and drive one Ollama model.
#[derive(Debug, Clone)]
pub struct OllamaConfig {
    /// The daemon root (no `/v1`: this client speaks the native API).
    pub base_url: String,
    /// The model tag, e.g. `qwen3:8b-q4_K_M`; also the recommended-sampling key.
    pub model: String,
    /// Instance sampling, sent in `options` unless the call overrides a field.
    pub sampling: SamplingParams,
    /// Fill unset sampling fields from the recommended-sampling map (unknown model → error).
    pub recommended_sampling: bool,
    /// How `think` is negotiated.
    pub think: ThinkMode,
    /// Context size sent as `options.num_ctx` (see [`OllamaClient::set_num_ctx`]).
    pub num_ctx: Option<u64>,
    /// Timeouts and headers. The first call may wait 10–30 s while Ollama loads the model.
    pub http: HttpConfig,
}

impl OllamaConfig {
    /// A configuration for `model` on the local daemon.
    pub fn new(model: impl Into<String>) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            model: model.into(),
            sampling: SamplingParams::default(),
            recommended_sampling: false,
            think: ThinkMode::Auto,
            num_ctx: None,
            http: HttpConfig::with_timeout(HttpConfig::LOCAL_TIMEOUT),
        }
    }

    /// Sets the daemon root.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the instance sampling.
    pub fn sampling(mut self, sampling: SamplingParams) -> Self {
        self.sampling = sampling;
        self
    }

    /// Asks for the model's recommended sampling.
    pub fn recommended_sampling(mut self, on: bool) -> Self {
        self.recommended_sampling = on;
        self
    }

    /// Sets the thinking mode.
    pub fn think(mut self, mode: ThinkMode) -> Self {
        self.think = mode;
        self
    }

    /// Sets the context size.
    pub fn num_ctx(mut self, num_ctx: Option<u64>) -> Self {
        self.num_ctx = num_ctx;
        self
    }

    /// Replaces the HTTP settings.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
}

/// A client for one model on an Ollama daemon.
///
/// Holds no per-request state: usage comes back in each [`Completion`]. Its only state is
/// configuration-like: the context size and the outcome of the thinking negotiation.
#[derive(Debug)]
pub struct OllamaClient {
    http: HttpBackend,
    chat_url: String,
    model: String,
    sampling: SamplingParams,
    num_ctx: Mutex<Option<u64>>,
    think: ThinkState,
}

impl OllamaClient {
    /// Builds the client. Fails on an empty model, an unusable HTTP setting, or recommended
    /// sampling for a model the map does not know.
    pub fn new(config: OllamaConfig) -> Result<Self, ForgeError> {
        if config.model.trim().is_empty() {
            return Err(ForgeError::InvalidInput {
                what: "Ollama configuration",
                message: "the model tag is empty".into(),
            });
        }
        let defaults = apply_sampling_defaults(&config.model, config.recommended_sampling)?;
        Ok(Self {
            http: HttpBackend::new(config.http)?,
            chat_url: join_url(&config.base_url, "/api/chat"),
            sampling: config.sampling.or(&defaults),
            num_ctx: Mutex::new(config.num_ctx),
            think: ThinkState::new(config.think, &config.model),
            model: config.model,
        })
    }

    /// The model tag.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The sampling sent when a call overrides nothing.
    pub fn instance_sampling(&self) -> &SamplingParams {
        &self.sampling
    }

    /// Sets (or clears) the context size sent as `options.num_ctx` on every later request.
    pub fn set_num_ctx(&self, num_ctx: Option<u64>) {
        *self
            .num_ctx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = num_ctx;
    }

    /// The context size this client sends, if set.
    pub fn num_ctx(&self) -> Option<u64> {
        *self
            .num_ctx
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True while requests carry `think: true`.
    pub fn thinking_enabled(&self) -> bool {
        self.think.current().enabled
    }

    fn body(&self, request: &InferenceRequest, think: bool, stream: bool) -> JsonObject {
        let settings = BodySettings {
            model: &self.model,
            instance_sampling: &self.sampling,
            num_ctx: self.num_ctx(),
            think,
            stream,
        };
        chat_body(request, settings)
    }

    /// Applies the thinking negotiation to a rejected request: `Ok(true)` = send again without
    /// `think`; `Ok(false)` = not a thinking rejection.
    fn retry_without_think(&self, response: &RawResponse) -> Result<bool, BackendError> {
        if !is_thinking_unsupported(response.status, &response.body) {
            return Ok(false);
        }
        match self.think.on_rejection(&self.model) {
            Rejection::Fail => Err(BackendError::ThinkingNotSupported {
                model: self.model.clone(),
            }),
            Rejection::RetryWithoutThink => Ok(true),
        }
    }
}

#[async_trait::async_trait]
impl LlmClient for OllamaClient {
    fn api_format(&self) -> ApiFormat {
        ApiFormat::Ollama
    }

    fn backend_name(&self) -> &'static str {
        "ollama"
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let mut think = self.think.current().enabled;
        let mut response = http
            .post(
                &self.chat_url,
                &Value::Object(self.body(request, think, false)),
            )
            .await?;
        if self.retry_without_think(&response)? {
            think = false;
            response = http
                .post(
                    &self.chat_url,
                    &Value::Object(self.body(request, think, false)),
                )
                .await?;
        }
        if !response.is_success() {
            return Err(response.http_error());
        }
        let completion = parse_chat_response(&response.body, think)?;
        self.think.mark_resolved();
        Ok(
            match constraint_in(request, ConstraintDialect::OllamaFormat) {
                Some(constraint) => decode_constrained_completion(constraint, completion),
                None => completion,
            },
        )
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let mut think = self.think.current().enabled;
        let mut opened = http
            .post_streaming(
                &self.chat_url,
                &Value::Object(self.body(request, think, true)),
            )
            .await?;
        let rejected_thinking = match &opened {
            Err(rejected) => self.retry_without_think(rejected)?,
            Ok(_) => false,
        };
        if rejected_thinking {
            think = false;
            opened = http
                .post_streaming(
                    &self.chat_url,
                    &Value::Object(self.body(request, think, true)),
                )
                .await?;
        }
        let bytes = opened.map_err(|response| response.http_error())?;
        self.think.mark_resolved();
        let stream = open_stream(bytes, think);
        Ok(
            match constraint_in(request, ConstraintDialect::OllamaFormat) {
                Some(constraint) => constrained_stream(constraint.clone(), stream),
                None => stream,
            },
        )
    }

    /// Ollama's `format` takes a JSON schema, turned into a grammar by the llama.cpp converter.
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        Some(ConstraintDialect::OllamaFormat)
    }

    /// The `num_ctx` this client sends, if set: Ollama runs the model with that window. Without
    /// it the daemon's default applies, which the client cannot know (`None`).
    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(self.num_ctx())
    }
}
