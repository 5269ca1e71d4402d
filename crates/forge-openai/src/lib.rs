//! forge's client for any OpenAI-compatible `/chat/completions` endpoint: hosted providers
//! (OpenAI, OpenRouter, Groq, Together, Fireworks, Cloudflare Workers AI), gateways, and local
//! servers' OpenAI modes.
//!
//! The client knows only the protocol: a base URL that includes the API prefix, an optional
//! bearer key, extra headers, and one endpoint, `POST {base_url}/chat/completions`.
//!
//! ```
//! use forge_client::LlmClient;
//! use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
//! use forge_types::ApiFormat;
//!
//! let config = OpenAiCompatConfig::new("gpt-4o-mini", "https://api.example.com/v1/").api_key("sk-…");
//! let client = OpenAiCompatClient::new(config).expect("valid configuration");
//! assert_eq!(client.chat_url(), "https://api.example.com/v1/chat/completions");
//! assert_eq!(client.api_format(), ApiFormat::OpenAi);
//! ```
//!
//! # Behaviour
//!
//! - Request body: the caller's pass-through fields first, then forge's: `model` (the client's,
//!   over a pass-through `model`), `messages`, `stream`, sampling (per-call value, else the
//!   client's; unset fields are not written), and `tools` (the caller's verbatim tools on a clean
//!   first attempt, else forge's specs). Streaming adds `stream_options.include_usage`.
//! - Constrained decoding ([`InferenceRequest::constraint`]): `response_format: {"type":
//!   "json_schema", "json_schema": {"name": "tool_call", "strict": true, "schema": …}}` and, when
//!   tools are sent, `tool_choice: "none"`, so the one call arrives as JSON content, decoded back
//!   into a call.
//! - Response: see [`forge_client::openai_shape`]. Reasoning comes only from the reasoning fields
//!   or inline think tags, never from plain content: for a hosted model, text next to a tool call
//!   is meant for the user. Text responses have think tags removed.
//! - Authentication: the configured bearer key, or the request's own
//!   [`credential`](InferenceRequest::credential) as `Authorization: Bearer` (both at once is
//!   refused before sending).
//! - Every non-2xx status, timeout, transport failure and broken envelope is a typed
//!   [`BackendError`]; an error frame or a cut inside a stream ends the stream with an error item.
//! - The context window is unknown (hosted APIs do not report it): [`LlmClient::context_length`]
//!   answers `None`.

use forge_client::openai_shape::{decode_chat_completion_response, ReasoningPolicy};
use forge_client::sampling_defaults::apply_sampling_defaults;
use forge_client::{
    constraint_in, hide_constrained_text, join_url, openai_chunk_stream, ChunkStream,
    ConstraintDialect, HttpBackend, HttpConfig, InferenceRequest, LlmClient, ReasoningDeltas,
};

/// The `json_schema.name` of the constrained `response_format`.
pub const RESPONSE_FORMAT_NAME: &str = "tool_call";
use forge_types::{ApiFormat, BackendError, Completion, ForgeError, JsonObject, SamplingParams};
use serde_json::{json, Value};

/// How to build an [`OpenAiCompatClient`].
#[derive(Debug, Clone)]
pub struct OpenAiCompatConfig {
    /// The wire `model`, and the key into the recommended sampling map.
    pub model: String,
    /// The API root including its prefix, e.g. `https://openrouter.ai/api/v1`.
    pub base_url: String,
    /// Timeouts, bearer key and extra headers (default timeout 120 s).
    pub http: HttpConfig,
    /// Sampling sent on every call unless the call overrides a field.
    pub sampling: SamplingParams,
    /// Fill unset sampling fields from the model's recommended values; an unknown model is then
    /// a construction error.
    pub recommended_sampling: bool,
}

impl OpenAiCompatConfig {
    /// A configuration with the default timeout, no key and no sampling.
    pub fn new(model: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            base_url: base_url.into(),
            http: HttpConfig::with_timeout(HttpConfig::HOSTED_TIMEOUT),
            sampling: SamplingParams::default(),
            recommended_sampling: false,
        }
    }

    /// Sets the bearer key (a blank key means none).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.http = self.http.api_key(key);
        self
    }

    /// Adds a header sent on every request. An `Authorization` or `x-api-key` header here is
    /// the static credential: together with [`api_key`](Self::api_key) it is refused when the
    /// client is built.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.http = self.http.header(name, value);
        self
    }

    /// Sets the instance sampling.
    pub fn sampling(mut self, sampling: SamplingParams) -> Self {
        self.sampling = sampling;
        self
    }

    /// Asks for the model's recommended sampling (explicit fields still win).
    pub fn recommended_sampling(mut self, enabled: bool) -> Self {
        self.recommended_sampling = enabled;
        self
    }
}

/// A client for one model behind an OpenAI-compatible endpoint. Share it freely: it keeps no
/// per-request state.
#[derive(Debug, Clone)]
pub struct OpenAiCompatClient {
    http: HttpBackend,
    model: String,
    chat_url: String,
    sampling: SamplingParams,
}

impl OpenAiCompatClient {
    /// Builds the client: resolves the sampling policy and sets up the HTTP client.
    pub fn new(config: OpenAiCompatConfig) -> Result<Self, ForgeError> {
        let recommended = apply_sampling_defaults(&config.model, config.recommended_sampling)?;
        let sampling = config.sampling.or(&recommended);
        let chat_url = join_url(&config.base_url, "/chat/completions");
        tracing::info!(model = %config.model, %chat_url, ?sampling, "OpenAI-compatible client");
        Ok(Self {
            http: HttpBackend::new(config.http)?,
            model: config.model,
            chat_url,
            sampling,
        })
    }

    /// The wire model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The effective instance sampling (explicit values over recommended ones).
    pub fn sampling(&self) -> &SamplingParams {
        &self.sampling
    }

    /// The URL every chat request goes to.
    pub fn chat_url(&self) -> &str {
        &self.chat_url
    }

    /// The JSON body for `request`.
    pub fn request_body(&self, request: &InferenceRequest, stream: bool) -> Value {
        let mut body: JsonObject = request.passthrough.clone();
        body.insert("model".into(), Value::String(self.model.clone()));
        body.insert("messages".into(), Value::Array(request.messages.clone()));
        body.insert("stream".into(), Value::Bool(stream));
        if stream {
            body.insert("stream_options".into(), json!({"include_usage": true}));
        }
        request.sampling.or(&self.sampling).write_into(&mut body);
        if let Some(raw_tools) = &request.raw_openai_tools {
            body.insert("tools".into(), Value::Array(raw_tools.clone()));
        } else if !request.tools.is_empty() {
            let tools = request
                .tools
                .iter()
                .map(|tool| tool.to_openai_tool())
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        if let Some(constraint) = constraint_in(request, ConstraintDialect::OpenAiStrict) {
            body.insert(
                "response_format".into(),
                json!({
                    "type": "json_schema",
                    "json_schema": {
                        "name": RESPONSE_FORMAT_NAME,
                        "strict": true,
                        "schema": constraint.schema(),
                    }
                }),
            );
            // The call must come through the schema, not as an unconstrained native call.
            if body.contains_key("tools") {
                body.insert("tool_choice".into(), json!("none"));
            }
        }
        Value::Object(body)
    }
}

#[async_trait::async_trait]
impl LlmClient for OpenAiCompatClient {
    fn api_format(&self) -> ApiFormat {
        ApiFormat::OpenAi
    }

    fn backend_name(&self) -> &'static str {
        "openai"
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        let body = self.request_body(request, false);
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let response = http.post(&self.chat_url, &body).await?;
        let constraint = constraint_in(request, ConstraintDialect::OpenAiStrict);
        Ok(decode_chat_completion_response(response)?
            .resolve_with(ReasoningPolicy::HOSTED, constraint))
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let body = self.request_body(request, true);
        let frames = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?
            .post_sse(&self.chat_url, &body)
            .await?
            .map_err(|response| response.http_error())?;
        let constraint = constraint_in(request, ConstraintDialect::OpenAiStrict).cloned();
        let constrained = constraint.is_some();
        let stream = openai_chunk_stream(frames, ReasoningDeltas::Forward, move |parts| {
            Ok(parts.resolve_with(ReasoningPolicy::HOSTED, constraint.as_ref()))
        });
        Ok(if constrained {
            hide_constrained_text(stream)
        } else {
            stream
        })
    }

    /// Strict structured outputs: `response_format` of type `json_schema` with `strict: true`.
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        Some(ConstraintDialect::OpenAiStrict)
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
