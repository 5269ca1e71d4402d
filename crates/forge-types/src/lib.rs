//! Protocol and domain types for forge.
//!
//! This crate is plain data: the conversation model ([`Message`]), tool descriptions
//! ([`ToolSpec`]), what a model answered ([`LlmResponse`]), streaming pieces
//! ([`StreamChunk`]), token accounting ([`TokenUsage`]), sampling knobs
//! ([`SamplingParams`]), and the
//! error types shared by every forge crate ([`ForgeError`], [`BackendError`]).
//!
//! The [`wire`] module holds the serde shapes of the OpenAI, Anthropic and Ollama protocols.
//!
//! It does no I/O and depends on nothing of ours.
//!
//! ```
//! use forge_types::{json_object, ApiFormat, CallId, Message, MessageType, ToolCallInfo};
//! use serde_json::json;
//!
//! let args = json_object(json!({"city": "Zürich"})).expect("an object");
//! let call = ToolCallInfo::new("get_weather", args, CallId::from_counter(1));
//! let message = Message::tool_calls(vec![call], MessageType::ToolCall.meta());
//! let wire = message.to_api_value(ApiFormat::OpenAi);
//! // OpenAI-format arguments are a JSON string written the way the reference writes it.
//! assert_eq!(
//!     wire["tool_calls"][0]["function"]["arguments"],
//!     r#"{"city": "Z\u00fcrich"}"#
//! );
//! ```

mod error;
mod ids;
mod message;
pub mod py_json;
mod response;
mod sampling;
mod stream;
mod tool;
mod usage;
pub mod wire;

pub use error::{BackendError, ForgeError, TimeoutPhase, ToolResolutionError, BODY_EXCERPT_CHARS};
pub use ids::{CallId, CallIdGenerator};
pub use message::{ApiFormat, Message, MessageMeta, MessageRole, MessageType, ToolCallInfo};
pub use response::{Completion, LlmResponse, TextResponse, ToolCall};
pub use sampling::SamplingParams;
pub use stream::{ChunkKind, StreamChunk};
pub use tool::{Prerequisite, SchemaType, ToolSpec};
pub use usage::TokenUsage;

/// A JSON object with insertion-ordered keys: the shape of tool-call arguments everywhere.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// `value` as a JSON object, or the value back unchanged when it is not one.
///
/// Never coerces: the caller decides what a non-object means (usually the retry path).
pub fn json_object(value: serde_json::Value) -> Result<JsonObject, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => Ok(map),
        other => Err(other),
    }
}
