//! [`VllmClient`]: the [`LlmClient`] for vLLM.

use forge_client::sampling_defaults::apply_sampling_defaults;
use forge_client::{
    constrained_stream, constraint_in, decode_constrained_completion, join_url, ChunkStream,
    ConstraintDialect, HttpBackend, HttpConfig, InferenceRequest, LlmClient,
};
use forge_types::{ApiFormat, BackendError, Completion, ForgeError, SamplingParams};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::body::chat_body;
use crate::catalog::{context_length_of, first_served_model};
use crate::identity::ModelIdentity;
use crate::response::parse_chat_completion;
use crate::stream::open_stream;

/// Where a vLLM server listens by default (`vllm serve --port 8000`).
pub const DEFAULT_BASE_URL: &str = "http://localhost:8000/v1";

/// How to reach and drive one vLLM server.
#[derive(Debug, Clone)]
pub struct VllmConfig {
    /// The API root including `/v1`.
    pub base_url: String,
    /// The model to request. `Some` pins it (sent verbatim, never replaced by discovery); `None`
    /// adopts the first served model listed by `GET /v1/models` on first use.
    pub model: Option<String>,
    /// Instance sampling, sent on every call unless the call overrides a field.
    pub sampling: SamplingParams,
    /// Fill unset sampling fields from the recommended-sampling map (needs a pinned model whose
    /// key the map knows; otherwise construction fails).
    pub recommended_sampling: bool,
    /// Capture reasoning (`reasoning` field, think tags, narration before a call). Off: reasoning
    /// is discarded.
    pub think: bool,
    /// Timeouts, bearer key and extra headers (hosted vLLM gateways need a key).
    pub http: HttpConfig,
}

impl VllmConfig {
    /// A configuration for the server at `base_url`, with discovery, thinking on and the
    /// self-hosted default timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: None,
            sampling: SamplingParams::default(),
            recommended_sampling: false,
            think: true,
            http: HttpConfig::with_timeout(HttpConfig::LOCAL_TIMEOUT),
        }
    }

    /// Pins the model. A blank name is treated as no pin.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        let model = model.into();
        self.model = (!model.trim().is_empty()).then_some(model);
        self
    }

    /// Sets the instance sampling.
    pub fn sampling(mut self, sampling: SamplingParams) -> Self {
        self.sampling = sampling;
        self
    }

    /// Asks for the recommended sampling of the pinned model.
    pub fn recommended_sampling(mut self, on: bool) -> Self {
        self.recommended_sampling = on;
        self
    }

    /// Turns reasoning capture on or off.
    pub fn think(mut self, on: bool) -> Self {
        self.think = on;
        self
    }

    /// Replaces the HTTP settings.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
}

impl Default for VllmConfig {
    fn default() -> Self {
        Self::new(DEFAULT_BASE_URL)
    }
}

/// A client for one vLLM server (native tool calling; the server parses calls and reasoning).
///
/// Holds no per-request state: usage comes back in each [`Completion`]. The only state is the
/// model identity, fixed by a pin or discovered once.
#[derive(Debug)]
pub struct VllmClient {
    http: HttpBackend,
    base_url: String,
    pinned: bool,
    identity: OnceCell<ModelIdentity>,
    sampling: SamplingParams,
    think: bool,
}

impl VllmClient {
    /// Builds the client. Fails on an unusable HTTP setting, or when recommended sampling is
    /// asked for without a pinned model or for a model the map does not know.
    pub fn new(config: VllmConfig) -> Result<Self, ForgeError> {
        let identity = config.model.as_deref().map(ModelIdentity::new);
        let sampling = match (&identity, config.recommended_sampling) {
            (Some(identity), strict) => config.sampling.or(&apply_sampling_defaults(identity.sampling_key(), strict)?),
            (None, true) => {
                return Err(ForgeError::InvalidInput {
                    what: "vLLM configuration",
                    message: "recommended_sampling needs a pinned model (the served name is only known after discovery)".into(),
                })
            }
            (None, false) => config.sampling,
        };
        Ok(Self {
            http: HttpBackend::new(config.http)?,
            base_url: config.base_url,
            pinned: identity.is_some(),
            identity: OnceCell::new_with(identity),
            sampling,
            think: config.think,
        })
    }

    /// True when the model was given, not discovered.
    pub fn is_pinned(&self) -> bool {
        self.pinned
    }

    /// The model identity: the pin, or the first model `GET /v1/models` lists (asked once).
    ///
    /// An unpinned client whose server lists no model fails here rather than sending a guess
    /// that vLLM would answer with 404.
    pub async fn identity(&self) -> Result<&ModelIdentity, BackendError> {
        self.identity_with(&self.http).await
    }

    /// [`identity`](Self::identity), discovered through `http` (an inference's own credential,
    /// so a gated server is asked with the caller's key). A failed discovery is not latched.
    async fn identity_with(&self, http: &HttpBackend) -> Result<&ModelIdentity, BackendError> {
        self.identity
            .get_or_try_init(|| async {
                let (catalog, raw) = Self::catalog(http, &self.base_url).await?;
                let served = first_served_model(&catalog, &raw)?.ok_or_else(|| {
                    BackendError::InvalidResponse {
                        problem: "no model configured and vLLM /v1/models lists none".into(),
                        body_excerpt: BackendError::excerpt(&raw),
                    }
                })?;
                tracing::info!(model = %served, "adopted vLLM served model name");
                Ok(ModelIdentity::new(served))
            })
            .await
    }

    async fn catalog(http: &HttpBackend, base_url: &str) -> Result<(Value, String), BackendError> {
        let response = http.get(&join_url(base_url, "/models")).await?;
        let raw = response.body.clone();
        Ok((response.into_json()?, raw))
    }

    fn chat_url(&self) -> String {
        join_url(&self.base_url, "/chat/completions")
    }
}

#[async_trait::async_trait]
impl LlmClient for VllmClient {
    fn api_format(&self) -> ApiFormat {
        ApiFormat::OpenAi
    }

    fn backend_name(&self) -> &'static str {
        "vllm"
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let model = self.identity_with(&http).await?.wire().to_owned();
        let body = chat_body(&model, request, &self.sampling, false);
        let response = http.post(&self.chat_url(), &Value::Object(body)).await?;
        if !response.is_success() {
            return Err(response.http_error());
        }
        let completion = parse_chat_completion(&response.body, self.think)?;
        Ok(
            match constraint_in(request, ConstraintDialect::VllmStructuredOutputs) {
                Some(constraint) => decode_constrained_completion(constraint, completion),
                None => completion,
            },
        )
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let model = self.identity_with(&http).await?.wire().to_owned();
        let body = chat_body(&model, request, &self.sampling, true);
        let bytes = match http
            .post_streaming(&self.chat_url(), &Value::Object(body))
            .await?
        {
            Ok(bytes) => bytes,
            Err(response) => return Err(response.http_error()),
        };
        let stream = open_stream(bytes, self.think);
        Ok(
            match constraint_in(request, ConstraintDialect::VllmStructuredOutputs) {
                Some(constraint) => constrained_stream(constraint.clone(), stream),
                None => stream,
            },
        )
    }

    /// vLLM structured outputs: `structured_outputs: {"json": <schema>}` in the body.
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        Some(ConstraintDialect::VllmStructuredOutputs)
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        let model = self.identity().await?.wire().to_owned();
        let (catalog, raw) = Self::catalog(&self.http, &self.base_url).await?;
        context_length_of(&catalog, &raw, &model)
    }
}
