//! Inbound requests → what the handler needs: forge's history, tool specs, sampling, the
//! pass-through fields, and the verbatim payloads for the clean first attempt.
//!
//! Parsing walks the JSON by hand so a caller's mistake comes back as a 400 that names the
//! field (`messages[2].tool_calls[0].function.arguments`), never as a 5xx.

mod anthropic;
mod openai;

pub use anthropic::prepare_anthropic;
pub use openai::prepare_openai;

use forge_client::Credential;
use forge_guardrails::RawInbound;
use forge_types::{JsonObject, Message, SamplingParams, ToolSpec};
use serde_json::Value;
use thiserror::Error;

/// Which API the caller speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI chat completions.
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

impl Protocol {
    /// `openai` or `anthropic`, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
        }
    }
}

/// A request body the caller got wrong: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct InboundError {
    /// The field path (`messages[1].content`), empty for the body itself.
    pub field: String,
    /// The full message, naming the field.
    pub message: String,
}

impl InboundError {
    pub(crate) fn field(field: impl Into<String>, problem: impl AsRef<str>) -> Self {
        let field = field.into();
        let message = format!("`{field}` {}", problem.as_ref());
        Self { field, message }
    }
}

/// One inbound request, ready for the handler.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    /// The caller's protocol.
    pub protocol: Protocol,
    /// `stream: true`.
    pub stream: bool,
    /// The `model` the caller named.
    pub model: Option<String>,
    /// The conversation in forge's form.
    pub history: Vec<Message>,
    /// The tools offered.
    pub tools: Vec<ToolSpec>,
    /// Sampling fields the caller set.
    pub sampling: SamplingParams,
    /// Fields forge does not own, forwarded to the backend.
    pub passthrough: JsonObject,
    /// The verbatim payloads for the clean first attempt.
    pub raw: RawInbound,
    /// The backend credential resolved from the inbound headers (never from the body), sent on
    /// every backend call of this request.
    pub credential: Option<Credential>,
}

/// The JSON type name of `value`, for error messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `body[key]` with JSON `null` treated as absent.
pub(crate) fn present<'a>(body: &'a JsonObject, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

/// `stream`: absent or null is false; anything but a boolean is the caller's mistake.
pub(crate) fn stream_flag(body: &JsonObject) -> Result<bool, InboundError> {
    match present(body, "stream") {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(InboundError::field(
            "stream",
            format!("must be a boolean (got {})", type_name(other)),
        )),
    }
}

/// An optional string field.
pub(crate) fn optional_string(
    object: &JsonObject,
    key: &str,
    path: &str,
) -> Result<Option<String>, InboundError> {
    match present(object, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(InboundError::field(
            path,
            format!("must be a string (got {})", type_name(other)),
        )),
    }
}

/// An optional array field (absent or null is empty).
pub(crate) fn optional_array<'a>(
    object: &'a JsonObject,
    key: &str,
    path: &str,
) -> Result<&'a [Value], InboundError> {
    match present(object, key) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(InboundError::field(
            path,
            format!("must be an array (got {})", type_name(other)),
        )),
    }
}

/// `value` as an object, or an error naming `path`.
pub(crate) fn as_object<'a>(value: &'a Value, path: &str) -> Result<&'a JsonObject, InboundError> {
    value.as_object().ok_or_else(|| {
        InboundError::field(
            path,
            format!("must be an object (got {})", type_name(value)),
        )
    })
}

/// Text of a content list: `text` parts and bare strings joined with `"\n"`; other parts
/// (images, documents) are dropped.
pub(crate) fn flatten_text_parts(parts: &[Value], path: &str) -> Result<String, InboundError> {
    let mut texts = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        match part {
            Value::String(s) => texts.push(s.clone()),
            Value::Object(block) => {
                if block.get("type").and_then(Value::as_str) == Some("text") {
                    match block.get("text") {
                        Some(Value::String(s)) => texts.push(s.clone()),
                        Some(other) => {
                            return Err(InboundError::field(
                                format!("{path}[{index}].text"),
                                format!("must be a string (got {})", type_name(other)),
                            ))
                        }
                        None => {
                            return Err(InboundError::field(
                                format!("{path}[{index}].text"),
                                "is missing from a text part",
                            ))
                        }
                    }
                }
            }
            other => {
                return Err(InboundError::field(
                    format!("{path}[{index}]"),
                    format!(
                        "must be a content part object or a string (got {})",
                        type_name(other)
                    ),
                ))
            }
        }
    }
    Ok(texts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_must_be_boolean_and_null_means_absent() {
        let body = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(stream_flag(&body(json!({}))), Ok(false));
        assert_eq!(stream_flag(&body(json!({"stream": null}))), Ok(false));
        assert_eq!(stream_flag(&body(json!({"stream": true}))), Ok(true));
        let error = stream_flag(&body(json!({"stream": "false"}))).unwrap_err();
        assert_eq!(error.field, "stream");
        assert_eq!(error.message, "`stream` must be a boolean (got string)");
    }

    #[test]
    fn content_parts_keep_text_and_drop_images() {
        let parts =
            json!([{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}, "b"]);
        assert_eq!(
            flatten_text_parts(parts.as_array().unwrap(), "messages[0].content").unwrap(),
            "a\nb"
        );
        let bad = json!([{"type": "text", "text": 3}]);
        let error = flatten_text_parts(bad.as_array().unwrap(), "messages[0].content").unwrap_err();
        assert_eq!(error.field, "messages[0].content[0].text");
    }
}
