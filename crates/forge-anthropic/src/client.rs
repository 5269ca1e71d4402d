//! [`AnthropicClient`]: the [`LlmClient`] for the Anthropic Messages API.

use forge_client::{
    constraint_in, decode_constrained_completion, join_url, AuthSlot, ChunkStream,
    ConstraintDialect, HttpBackend, HttpConfig, InferenceRequest, LlmClient,
};
use forge_types::StreamChunk;
use forge_types::{ApiFormat, BackendError, Completion, ForgeError, JsonObject};
use futures_util::StreamExt;
use serde_json::Value;

use crate::body::{messages_body, BodySettings};
use crate::response::parse_messages_response;
use crate::stream::open_stream;

/// The public API root.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The `anthropic-version` header sent by default.
pub const DEFAULT_API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the request gives none.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// How to reach one Anthropic-shaped endpoint (the API itself, LiteLLM, a self-hosted gateway).
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// The API root, without `/v1` (the client appends `/v1/messages`).
    pub base_url: String,
    /// Sent as `x-api-key`. A blank key is none. (A gateway that wants a bearer token instead
    /// takes it through [`HttpConfig::api_key`]; configuring both is refused.) Without a
    /// configured key every request must carry its own
    /// [`credential`](InferenceRequest::credential); a request with neither is refused before
    /// sending ([`BackendError::MissingCredential`]).
    pub api_key: Option<String>,
    /// Pins the model. `None`: each request's own model is used (the inbound body's, else the
    /// pass-through `model`); a request with neither is refused before anything is sent.
    pub model: Option<String>,
    /// `max_tokens` when the request gives none.
    pub max_tokens: u64,
    /// `tool_choice` type (`auto`, `any`) sent with tools when the request chose none.
    pub tool_choice: Option<String>,
    /// The `anthropic-version` header.
    pub api_version: String,
    /// Timeouts and extra headers (`anthropic-beta`, gateway headers).
    pub http: HttpConfig,
}

impl AnthropicConfig {
    /// A configuration for the public API with the given key, no pinned model.
    pub fn new(api_key: impl Into<String>) -> Self {
        let key = api_key.into();
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: (!key.trim().is_empty()).then_some(key),
            model: None,
            max_tokens: DEFAULT_MAX_TOKENS,
            tool_choice: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            http: HttpConfig::with_timeout(HttpConfig::LOCAL_TIMEOUT),
        }
    }

    /// Sets the API root.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Pins the model. A blank name is no pin.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        let model = model.into();
        self.model = (!model.trim().is_empty()).then_some(model);
        self
    }

    /// Sets the default `max_tokens`.
    pub fn max_tokens(mut self, max_tokens: u64) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sets the default `tool_choice` type.
    pub fn tool_choice(mut self, kind: impl Into<String>) -> Self {
        self.tool_choice = Some(kind.into());
        self
    }

    /// Replaces the HTTP settings.
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
}

/// A client for the Anthropic Messages API, speaking HTTP directly with forge's own types.
///
/// Two request paths: **verbatim** (the proxy's clean first attempt forwards the caller's
/// Anthropic body, keeping `cache_control`, system blocks and thinking), and **rebuilt** (forge's
/// OpenAI-shaped conversation converted). The client does not retry; retries are the engine's.
#[derive(Debug)]
pub struct AnthropicClient {
    http: HttpBackend,
    messages_url: String,
    model: Option<String>,
    max_tokens: u64,
    tool_choice: Option<String>,
}

impl AnthropicClient {
    /// Builds the client. Fails on an unusable header or on two credentials.
    pub fn new(config: AnthropicConfig) -> Result<Self, ForgeError> {
        let mut http = config.http.header("anthropic-version", config.api_version);
        if let Some(key) = config.api_key {
            if http.api_key.is_some()
                || http
                    .extra_headers
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            {
                return Err(ForgeError::InvalidInput {
                    what: "Anthropic configuration",
                    message:
                        "both an x-api-key and an Authorization credential are configured; give one"
                            .into(),
                });
            }
            http = http.header("x-api-key", key);
        }
        Ok(Self {
            http: HttpBackend::new(http)?,
            messages_url: join_url(&config.base_url, "/v1/messages"),
            model: config.model,
            max_tokens: config.max_tokens,
            tool_choice: config.tool_choice,
        })
    }

    /// The pinned model, if any.
    pub fn pinned_model(&self) -> Option<&str> {
        self.model.as_deref()
    }

    /// The HTTP client for `request`: its own credential (in `x-api-key`, unless it travels
    /// verbatim) or the configured one. The Messages API rejects a call without a credential,
    /// so one with none is refused here with a clear error instead of a backend 401.
    fn http_for(&self, request: &InferenceRequest) -> Result<HttpBackend, BackendError> {
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        if !http.sends_credential() {
            return Err(BackendError::MissingCredential {
                backend: self.backend_name().to_owned(),
                header: self.auth_slot().header_name().to_owned(),
            });
        }
        Ok(http)
    }

    fn body(&self, request: &InferenceRequest, stream: bool) -> Result<JsonObject, BackendError> {
        let settings = BodySettings {
            pinned_model: self.model.as_deref(),
            max_tokens: self.max_tokens,
            tool_choice: self.tool_choice.as_deref(),
            stream,
        };
        messages_body(request, settings)
            .map_err(|err| BackendError::InvalidRequest { problem: err.0 })
    }
}

#[async_trait::async_trait]
impl LlmClient for AnthropicClient {
    /// OpenAI: the engine writes OpenAI-shaped messages and this client converts them.
    fn api_format(&self) -> ApiFormat {
        ApiFormat::OpenAi
    }

    fn backend_name(&self) -> &'static str {
        "anthropic"
    }

    /// `x-api-key`: a request's token lands there.
    fn auth_slot(&self) -> AuthSlot {
        AuthSlot::XApiKey
    }

    /// The Messages API always needs a credential: without a configured one, each request
    /// must bring its own.
    fn requires_request_credential(&self) -> bool {
        !self.http.has_static_credential()
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        let http = self.http_for(request)?;
        let body = self.body(request, false)?;
        let response = http.post(&self.messages_url, &Value::Object(body)).await?;
        if !response.is_success() {
            return Err(response.http_error());
        }
        let completion = parse_messages_response(&response.body)?;
        Ok(
            match constraint_in(request, ConstraintDialect::AnthropicToolChoice) {
                Some(constraint) => decode_constrained_completion(constraint, completion),
                None => completion,
            },
        )
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let http = self.http_for(request)?;
        let body = self.body(request, true)?;
        let bytes = http
            .post_streaming(&self.messages_url, &Value::Object(body))
            .await?
            .map_err(|response| response.http_error())?;
        let stream = open_stream(bytes);
        let Some(constraint) =
            constraint_in(request, ConstraintDialect::AnthropicToolChoice).cloned()
        else {
            return Ok(stream);
        };
        // Text deltas stay: they are prose the model may write before its forced call.
        Ok(stream
            .map(move |item| match item {
                Ok(StreamChunk::Final(completion)) => Ok(StreamChunk::Final(
                    decode_constrained_completion(&constraint, completion),
                )),
                other => other,
            })
            .boxed())
    }

    /// `tool_choice: {"type": "any"}` forces one call of an offered tool.
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        Some(ConstraintDialect::AnthropicToolChoice)
    }

    /// Unknown (`None`): the API's window depends on the model and beta flags, and a gateway may
    /// route anywhere; the reference's fixed 200 000 could be wrong in both directions.
    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
