//! `LlamaServerClient`: configuration, request bodies, response resolution.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use forge_client::openai_shape::{decode_chat_completion_response, ReasoningPolicy, ResponseParts};
use forge_client::sampling_defaults::apply_sampling_defaults;
use forge_client::{
    constraint_in, hide_constrained_text, join_url, openai_chunk_stream, ChunkStream,
    ConstraintDialect, Endpoint, HttpBackend, HttpConfig, InferenceRequest, LlmClient, RawResponse,
    ReasoningDeltas, ToolConstraint,
};
use forge_toolparse::{build_tool_prompt, extract_tool_calls, EnvelopeKeys};
use forge_types::{
    ApiFormat, BackendError, Completion, ForgeError, LlmResponse, SamplingParams, StreamChunk,
    TextResponse, ToolSpec,
};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::body::{FieldValue, RequestBody};
use crate::identity::model_name_from_path;
use crate::messages::{
    downgrade_for_prompt, inject_tool_prompt, merge_consecutive, merge_consecutive_view,
};
use crate::rejected_generation::rejected_generation;

/// How tools reach the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolMode {
    /// The `tools` request field; needs a server started with `--jinja`.
    #[default]
    Native,
    /// Tools described in the first message, calls parsed back out of the text; for servers or
    /// templates without native function calling.
    Prompt,
}

impl FromStr for ToolMode {
    type Err = ForgeError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "native" => Ok(Self::Native),
            "prompt" => Ok(Self::Prompt),
            other => Err(ForgeError::InvalidInput {
                what: "tool mode",
                message: format!("mode must be 'native' or 'prompt', got '{other}'"),
            }),
        }
    }
}

impl fmt::Display for ToolMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Native => "native",
            Self::Prompt => "prompt",
        })
    }
}

/// Which server the client talks to. Both speak the same protocol; they differ in the name of
/// the slot-pinning field and in the name reported in logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerFlavor {
    /// llama.cpp's `llama-server` (reads `id_slot`).
    #[default]
    LlamaServer,
    /// `llamafile`, whose embedded older server reads `slot_id`.
    Llamafile,
}

impl ServerFlavor {
    /// The request field that pins a request to a slot.
    pub fn slot_field(self) -> &'static str {
        match self {
            Self::LlamaServer => "id_slot",
            Self::Llamafile => "slot_id",
        }
    }
}

/// How to build a [`LlamaServerClient`].
#[derive(Debug, Clone)]
pub struct LlamaServerConfig {
    /// The `.gguf` / `.llamafile` path or a model name; the model name is derived from it (see
    /// [`model_name_from_path`]). The file need not exist locally.
    pub model_path: String,
    /// The OpenAI-compatible root, default `http://localhost:8080/v1`.
    pub base_url: String,
    /// Timeouts, optional bearer key (`--api-key`) and extra headers (default timeout 300 s).
    pub http: HttpConfig,
    /// Sampling sent on every call unless the call overrides a field.
    pub sampling: SamplingParams,
    /// Fill unset sampling fields from the model's recommended values; an unknown model is then
    /// a construction error.
    pub recommended_sampling: bool,
    /// Native or prompt-injected tool calling.
    pub mode: ToolMode,
    /// Capture reasoning (default true); false discards every reasoning source.
    pub think: bool,
    /// Ask the server to reuse the slot's KV cache for a shared prompt prefix (default true).
    pub cache_prompt: bool,
    /// Pin every request to this server slot.
    pub slot: Option<u32>,
    /// llama-server or llamafile.
    pub flavor: ServerFlavor,
}

impl LlamaServerConfig {
    /// The default llama-server address.
    pub const DEFAULT_BASE_URL: &'static str = "http://localhost:8080/v1";

    /// A native-mode llama-server configuration with the defaults.
    pub fn new(model_path: impl Into<String>) -> Self {
        Self {
            model_path: model_path.into(),
            base_url: Self::DEFAULT_BASE_URL.to_owned(),
            http: HttpConfig::with_timeout(HttpConfig::LOCAL_TIMEOUT),
            sampling: SamplingParams::default(),
            recommended_sampling: false,
            mode: ToolMode::Native,
            think: true,
            cache_prompt: true,
            slot: None,
            flavor: ServerFlavor::LlamaServer,
        }
    }

    /// Sets the base URL.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the tool mode.
    pub fn mode(mut self, mode: ToolMode) -> Self {
        self.mode = mode;
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

    /// Turns reasoning capture on or off.
    pub fn think(mut self, think: bool) -> Self {
        self.think = think;
        self
    }

    /// Pins requests to a slot.
    pub fn slot(mut self, slot: u32) -> Self {
        self.slot = Some(slot);
        self
    }

    /// Sets the server flavor.
    pub fn flavor(mut self, flavor: ServerFlavor) -> Self {
        self.flavor = flavor;
        self
    }
}

/// A client for one llama-server or llamafile instance. Share it freely: it keeps no
/// per-request state.
#[derive(Debug, Clone)]
pub struct LlamaServerClient {
    http: HttpBackend,
    model: String,
    chat_url: Endpoint,
    props_url: String,
    sampling: SamplingParams,
    mode: ToolMode,
    think: bool,
    cache_prompt: bool,
    slot: Option<u32>,
    flavor: ServerFlavor,
}

impl LlamaServerClient {
    /// Builds the client: derives the model name, resolves the sampling policy, sets up HTTP.
    pub fn new(config: LlamaServerConfig) -> Result<Self, ForgeError> {
        let model = model_name_from_path(&config.model_path);
        let recommended = apply_sampling_defaults(&model, config.recommended_sampling)?;
        let sampling = config.sampling.or(&recommended);
        let chat_url = join_url(&config.base_url, "/chat/completions");
        let props_url = join_url(&server_root(&config.base_url), "/props");
        tracing::info!(
            %model, %chat_url, mode = %config.mode, flavor = ?config.flavor, ?sampling,
            think = config.think, slot = ?config.slot, "llama.cpp client"
        );
        Ok(Self {
            http: HttpBackend::new(config.http)?,
            model,
            chat_url: Endpoint::new(chat_url),
            props_url,
            sampling,
            mode: config.mode,
            think: config.think,
            cache_prompt: config.cache_prompt,
            slot: config.slot,
            flavor: config.flavor,
        })
    }

    /// The derived model name (wire `model` unless the caller passes one through).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The effective instance sampling.
    pub fn sampling(&self) -> &SamplingParams {
        &self.sampling
    }

    /// The tool mode.
    pub fn mode(&self) -> ToolMode {
        self.mode
    }

    /// The chat endpoint.
    pub fn chat_url(&self) -> &str {
        self.chat_url.as_str()
    }

    /// The `/props` endpoint (outside `/v1`).
    pub fn props_url(&self) -> &str {
        &self.props_url
    }

    /// The messages as sent: prompt mode downgrades history and injects the tool prompt; both
    /// modes merge same-role neighbours for strict templates.
    pub fn prepare_messages(&self, request: &InferenceRequest) -> Vec<Value> {
        self.messages_view(request)
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    /// [`Self::prepare_messages`], borrowing every message that goes out unchanged.
    fn messages_view<'a>(&self, request: &'a InferenceRequest) -> Vec<Cow<'a, Value>> {
        match self.mode {
            ToolMode::Native => merge_consecutive_view(&request.messages),
            ToolMode::Prompt => {
                let mut messages = merge_consecutive(&downgrade_for_prompt(&request.messages));
                if !request.tools.is_empty() {
                    inject_tool_prompt(&mut messages, &build_tool_prompt(&request.tools));
                }
                messages.into_iter().map(Cow::Owned).collect()
            }
        }
    }

    /// The JSON body for `request`.
    ///
    /// Pass-through fields first; then forge's: `messages`, `stream`, `cache_prompt`, the slot
    /// field, sampling, and (native mode) `tools`. A pass-through `model` is kept (the proxy
    /// routes by request model); otherwise the derived model is sent.
    pub fn request_body(&self, request: &InferenceRequest, stream: bool) -> Value {
        serde_json::to_value(self.body_view(request, stream))
            .expect("a body made of JSON values serializes to a JSON value")
    }

    /// [`Self::request_body`] as a view over `request`, serialized without copying what the
    /// request holds.
    fn body_view<'a>(&'a self, request: &'a InferenceRequest, stream: bool) -> RequestBody<'a> {
        let mut body = RequestBody::over(&request.passthrough);
        body.set(
            "messages",
            FieldValue::Messages(self.messages_view(request)),
        );
        body.set("stream", FieldValue::Owned(Value::Bool(stream)));
        if stream {
            body.set(
                "stream_options",
                FieldValue::Owned(json!({"include_usage": true})),
            );
        }
        body.set(
            "cache_prompt",
            FieldValue::Owned(Value::Bool(self.cache_prompt)),
        );
        body.set_if_absent("model", || {
            FieldValue::Owned(Value::String(self.model.clone()))
        });
        if let Some(slot) = self.slot {
            body.set(self.flavor.slot_field(), FieldValue::Owned(json!(slot)));
        }
        for (key, value) in request.sampling.or(&self.sampling).entries() {
            body.set(key, FieldValue::Owned(value));
        }
        if self.mode == ToolMode::Native {
            if let Some(raw_tools) = &request.raw_openai_tools {
                body.set("tools", FieldValue::Array(raw_tools));
            } else if !request.tools.is_empty() {
                let tools = request.tools.iter().map(ToolSpec::to_openai_tool).collect();
                body.set("tools", FieldValue::Owned(Value::Array(tools)));
            }
        }
        if let Some(constraint) = self.constraint(request) {
            body.set(
                "json_schema",
                FieldValue::Owned(constraint.schema().clone()),
            );
        }
        body
    }

    /// The request's constraint, when this server can carry it (llama-server only). In prompt
    /// mode the envelope takes the keys the tool prompt shows the model (`tool`/`args`): a
    /// small model picks the right tool far more often when the grammar agrees with its prompt.
    fn constraint(&self, request: &InferenceRequest) -> Option<ToolConstraint> {
        let constraint = self
            .constraint_dialect()
            .and_then(|dialect| constraint_in(request, dialect))?
            .clone();
        Some(match self.mode {
            ToolMode::Prompt => constraint.with_envelope_keys(EnvelopeKeys::PROMPT_MODE),
            ToolMode::Native => constraint,
        })
    }

    fn resolution(&self, request: &InferenceRequest) -> Resolution {
        Resolution {
            constraint: self.constraint(request),
            mode: self.mode,
            policy: if self.think {
                ReasoningPolicy::LOCAL
            } else {
                ReasoningPolicy::DISCARD
            },
        }
    }
}

/// The root of a base URL: trailing slashes and one trailing `/v1` removed.
fn server_root(base_url: &str) -> String {
    let trimmed = base_url.trim_end_matches('/');
    trimmed.strip_suffix("/v1").unwrap_or(trimmed).to_owned()
}

/// How parts become the final response; shared by `send` and `send_stream`.
#[derive(Debug, Clone)]
struct Resolution {
    constraint: Option<ToolConstraint>,
    mode: ToolMode,
    policy: ReasoningPolicy,
}

impl Resolution {
    fn resolve(self, parts: ResponseParts, tools: &[ToolSpec]) -> Completion {
        if let Some(constraint) = &self.constraint {
            return parts.resolve_with(self.policy, Some(constraint));
        }
        if self.mode == ToolMode::Native || !parts.tool_calls.is_empty() || tools.is_empty() {
            return parts.resolve(self.policy);
        }
        let (text, reasoning) = parts.split_reasoning(self.policy);
        let mut calls = extract_tool_calls(&text, tools);
        let response = match calls.first_mut() {
            Some(first) => {
                first.reasoning = reasoning;
                LlmResponse::ToolCalls(calls)
            }
            None => LlmResponse::Text(TextResponse {
                content: text,
                reasoning,
            }),
        };
        Completion {
            response,
            usage: parts.usage,
        }
    }
}

/// A non-2xx answer: a rescuable parse rejection becomes the model's text, anything else a typed
/// error.
fn rejected(response: &RawResponse) -> Result<Completion, BackendError> {
    if response.status == 500 {
        if let Some(generation) = rejected_generation(&response.body) {
            tracing::warn!(
                url = %response.url,
                generation = %BackendError::excerpt(&generation),
                "llama.cpp rejected the model's tool-call output; returning the generation as text for the retry path"
            );
            return Ok(Completion::new(LlmResponse::text(generation)));
        }
    }
    Err(response.http_error())
}

#[async_trait::async_trait]
impl LlmClient for LlamaServerClient {
    fn api_format(&self) -> ApiFormat {
        ApiFormat::OpenAi
    }

    fn backend_name(&self) -> &'static str {
        match self.flavor {
            ServerFlavor::LlamaServer => "llamaserver",
            ServerFlavor::Llamafile => "llamafile",
        }
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        let body = self.body_view(request, false);
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let response = http.post(&self.chat_url, &body).await?;
        if !response.is_success() {
            return rejected(&response);
        }
        let parts = decode_chat_completion_response(response)?;
        Ok(self.resolution(request).resolve(parts, &request.tools))
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let body = self.body_view(request, true);
        let http = self
            .http
            .for_request(request.credential.as_ref(), self.auth_slot())?;
        let frames = match http.post_sse(&self.chat_url, &body).await? {
            Ok(frames) => frames,
            Err(response) => {
                let completion = rejected(&response)?;
                return Ok(stream::once(async { Ok(StreamChunk::Final(completion)) }).boxed());
            }
        };
        let resolution = self.resolution(request);
        let constrained = resolution.constraint.is_some();
        let deltas = if self.think {
            ReasoningDeltas::Forward
        } else {
            ReasoningDeltas::Drop
        };
        let tools = request.tools.clone();
        let stream = openai_chunk_stream(frames, deltas, move |parts| {
            Ok(resolution.resolve(parts, &tools))
        });
        Ok(if constrained {
            hide_constrained_text(stream)
        } else {
            stream
        })
    }

    /// llama-server takes a JSON schema in the body's `json_schema` field and compiles it with
    /// llama.cpp's schema-to-grammar converter; llamafile's older server is not relied on to.
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        match self.flavor {
            ServerFlavor::LlamaServer => Some(ConstraintDialect::LlamaCppGrammar),
            ServerFlavor::Llamafile => None,
        }
    }

    /// `GET {root}/props` → `default_generation_settings.n_ctx` (an integer, or a numeric
    /// string); `None` when the server does not report it.
    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        let props = self.http.get_json(&self.props_url).await?;
        let invalid = |problem: &str| BackendError::InvalidResponse {
            problem: problem.to_owned(),
            body_excerpt: BackendError::excerpt(&props.to_string()),
        };
        let settings = match props.get("default_generation_settings") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(settings)) => settings,
            Some(_) => return Err(invalid("default_generation_settings is not an object")),
        };
        match settings.get("n_ctx") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| invalid("n_ctx is not a non-negative integer")),
            Some(Value::String(text)) => text
                .trim()
                .parse::<u64>()
                .map(Some)
                .map_err(|_| invalid("n_ctx is not a non-negative integer")),
            Some(_) => Err(invalid("n_ctx is not a non-negative integer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn props_live_outside_v1() {
        let cases = [
            ("http://test:8080/v1", "http://test:8080"),
            ("http://test:8080/v1/", "http://test:8080"),
            ("http://test:8080", "http://test:8080"),
            ("http://test:8080/api/v1", "http://test:8080/api"),
        ];
        for (base, root) in cases {
            assert_eq!(server_root(base), root, "{base}");
        }
    }

    #[test]
    fn mode_names() {
        assert_eq!("native".parse::<ToolMode>().unwrap(), ToolMode::Native);
        assert_eq!("prompt".parse::<ToolMode>().unwrap(), ToolMode::Prompt);
        let err = "auto".parse::<ToolMode>().unwrap_err();
        assert!(
            err.to_string()
                .contains("mode must be 'native' or 'prompt', got 'auto'"),
            "{err}"
        );
        assert_eq!(ToolMode::default(), ToolMode::Native);
    }
}
