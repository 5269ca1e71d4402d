//! The contract between forge's engine and a model server, and what every backend shares.
//!
//! - [`LlmClient`]: the trait each backend crate (`forge-openai`, `forge-llamacpp`, …) implements.
//!   The engine and the runner are written against it and never name a concrete backend.
//! - [`InferenceRequest`]: everything one model call needs.
//! - [`HttpBackend`]: one HTTP client per backend instance with timeouts, auth headers and typed
//!   errors ([`BackendError`]).
//! - [`Credential`]: one request's backend credential, written into the backend's native
//!   [`AuthSlot`] (at most one credential per request; the secret never shows in `Debug`).
//! - [`openai_shape`]: the OpenAI chat-completions response shape and the one policy that turns
//!   it (streamed or not) into a [`Completion`]: argument decoding, reasoning, the retry path.
//! - [`sampling_defaults`]: the per-model recommended sampling map and its strict mode.
//!
//! Token usage comes back inside every [`Completion`] (and in the final
//! stream chunk); a client keeps no per-request state, so one instance serves concurrent requests.
//!
//! ```
//! use forge_client::{join_url, sampling_defaults::apply_sampling_defaults, InferenceRequest};
//! use serde_json::json;
//!
//! let request = InferenceRequest {
//!     messages: vec![json!({"role": "user", "content": "Price of X123?"})],
//!     ..Default::default()
//! };
//! assert!(request.tools.is_empty());
//! assert_eq!(
//!     join_url("http://127.0.0.1:8080/v1/", "/chat/completions"),
//!     "http://127.0.0.1:8080/v1/chat/completions"
//! );
//! let qwen = apply_sampling_defaults("Qwen3-8B-Q4_K_M", true).expect("a known model");
//! assert_eq!(qwen.temperature, Some(0.6));
//! assert!(apply_sampling_defaults("no-such-model", true).is_err());
//! ```

mod completion_body;
mod constrained;
mod credential;
mod http;
pub mod openai_shape;
pub mod sampling_defaults;
mod stream;
mod think_policy;

pub use constrained::{
    constrained_stream, constraint_in, decode_constrained_completion, hide_constrained_text,
    resolve_constrained_text,
};
pub use credential::{auth_header_token, AuthSlot, Credential, CredentialError};
pub use forge_toolparse::{ConstraintDialect, ToolConstraint};
pub use http::{join_url, Endpoint, HttpBackend, HttpConfig, RawResponse, RequestUrl};
pub use stream::{openai_chunk_stream, FrameStream, ReasoningDeltas};
pub use think_policy::finish_with_think_policy;

use forge_types::{
    ApiFormat, BackendError, Completion, JsonObject, SamplingParams, StreamChunk, ToolSpec,
};

/// Everything one model call needs. Built by the engine; `Default` so fields can be added later
/// (construct it with `..Default::default()`).
#[derive(Debug, Clone, Default)]
pub struct InferenceRequest {
    /// The conversation, already wire-shaped for the client's [`LlmClient::api_format`].
    pub messages: Vec<serde_json::Value>,
    /// The tools offered to the model.
    pub tools: Vec<ToolSpec>,
    /// Per-call sampling overrides (`None` = unset: the client's instance value applies).
    pub sampling: SamplingParams,
    /// The caller's body fields forge does not own (`max_tokens`, `stop`, `tool_choice`, `model`,
    /// …). Written into the outgoing body before forge-owned fields.
    pub passthrough: JsonObject,
    /// The caller's verbatim `tools` array (native passthrough on the clean first attempt only).
    pub raw_openai_tools: Option<Vec<serde_json::Value>>,
    /// The inbound Anthropic body for the verbatim path; every other client ignores it.
    pub inbound_anthropic_body: Option<JsonObject>,
    /// Constrain decoding to exactly one call of one of [`tools`](Self::tools) (or the
    /// constraint's synthetic text tool). Set only when [`LlmClient::constraint_dialect`] is
    /// `Some` and the constraint was built for that dialect; a client given a constraint of
    /// another dialect ignores it with a warning.
    ///
    /// Under a JSON-schema constraint the model's answer is JSON text in the content, which the
    /// client decodes back into one call (or, for the synthetic text tool, into text), and a
    /// stream forwards no text deltas: the JSON is not meant for a reader.
    pub constraint: Option<ToolConstraint>,
    /// This request's backend credential (the proxy's inbound caller's), written into the
    /// backend's native [`AuthSlot`]. A client that also has a static credential refuses the
    /// request ([`BackendError::InvalidRequest`]): forge forwards at most one.
    pub credential: Option<Credential>,
}

/// The stream a client returns from [`LlmClient::send_stream`].
pub type ChunkStream = futures_util::stream::BoxStream<'static, Result<StreamChunk, BackendError>>;

/// A model server forge can talk to.
///
/// Implementations do not retry (retries belong to the engine) and keep no per-request state.
#[async_trait::async_trait]
pub trait LlmClient: Send + Sync + std::fmt::Debug {
    /// The message dialect [`InferenceRequest::messages`] must be written in.
    fn api_format(&self) -> ApiFormat;

    /// A short stable name for logs and reports: `"openai"`, `"llamaserver"`, `"llamafile"`, ….
    fn backend_name(&self) -> &'static str;

    /// One non-streaming call.
    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError>;

    /// One streaming call.
    ///
    /// Deltas, then exactly one Final (carrying this response's usage), or an error item; nothing after.
    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError>;

    /// The backend's context window in tokens, when it can tell.
    async fn context_length(&self) -> Result<Option<u64>, BackendError>;

    /// The header this backend authenticates with: where a [`Credential::token`] lands.
    /// Default: `Authorization` (`Bearer <token>`), the OpenAI-shaped servers' slot.
    fn auth_slot(&self) -> AuthSlot {
        AuthSlot::Authorization
    }

    /// True when a request without its own [`InferenceRequest::credential`] would be refused
    /// before sending ([`BackendError::MissingCredential`]): the backend needs a credential
    /// and the client has none configured. Default: `false` (ungated servers are normal).
    fn requires_request_credential(&self) -> bool {
        false
    }

    /// How this backend constrains decoding to a tool call, or `None` when it cannot (the
    /// default): the engine then never sets [`InferenceRequest::constraint`].
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        None
    }
}
