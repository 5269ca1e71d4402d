//! Ollama native `/api/chat` shapes: the request, and the response object that is also each line
//! of a streamed (NDJSON) answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{JsonObject, TokenUsage};

/// `POST /api/chat` request body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model tag (`qwen3:8b-q4_K_M`).
    pub model: String,
    /// The conversation.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// Whether to stream NDJSON lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Sampling and runtime options (`temperature`, `num_ctx`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<JsonObject>,
    /// Ask for thinking to be split out (`true`, or a level such as `"high"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think: Option<Value>,
    /// Tool definitions in the OpenAI `{"type": "function", …}` shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    /// Structured-output format (`"json"` or a schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Value>,
    /// How long the model stays loaded (`"5m"`, seconds, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<Value>,
}

/// A message, in a request or in a response.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    #[serde(default)]
    pub role: String,
    /// The text (possibly empty).
    #[serde(default)]
    pub content: String,
    /// Reasoning split out when `think` was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// Tool calls, with arguments as objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// On a `tool` message: which tool produced the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// Base64 images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<String>>,
}

/// One tool call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id newer Ollama versions send (discarded by forge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The function and its arguments.
    #[serde(default)]
    pub function: FunctionCall,
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Position in the batch, as newer Ollama versions send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The tool name.
    #[serde(default)]
    pub name: String,
    /// The arguments: an object per the protocol; decode with the parsing policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
}

/// A non-streaming response, or one line of a streamed answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The model tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// RFC 3339 timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The message (a piece of it when streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// True on the last line.
    #[serde(default)]
    pub done: bool,
    /// Why generation stopped (`stop`, `length`, `load`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_reason: Option<String>,
    /// Total time in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_duration: Option<u64>,
    /// Model load time in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_duration: Option<u64>,
    /// Input tokens evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_eval_count: Option<u64>,
    /// Prompt evaluation time in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_eval_duration: Option<u64>,
    /// Generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_count: Option<u64>,
    /// Generation time in nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_duration: Option<u64>,
    /// An error (status bodies, and lines of a stream that failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ChatResponse {
    /// Usage from `prompt_eval_count` / `eval_count`; `None` when both are absent.
    pub fn token_usage(&self) -> Option<TokenUsage> {
        if self.prompt_eval_count.is_none() && self.eval_count.is_none() {
            return None;
        }
        Some(TokenUsage::new(
            self.prompt_eval_count.unwrap_or(0),
            self.eval_count.unwrap_or(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_lines_deserialize() {
        let lines = [
            r#"{"model":"qwen3:8b-q4_K_M","created_at":"2026-05-01T12:00:00Z","message":{"role":"assistant","content":"","thinking":"Need price."},"done":false}"#,
            r#"{"model":"qwen3:8b-q4_K_M","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_abc","function":{"index":0,"name":"get_pricing","arguments":{"part":"X"}}}]},"done":false}"#,
            r#"{"model":"qwen3:8b-q4_K_M","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":912345678,"prompt_eval_count":30,"eval_count":8}"#,
        ];
        let parsed: Vec<ChatResponse> = lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            parsed[0].message.as_ref().unwrap().thinking.as_deref(),
            Some("Need price.")
        );
        let call = &parsed[1]
            .message
            .as_ref()
            .unwrap()
            .tool_calls
            .as_ref()
            .unwrap()[0];
        assert_eq!(call.function.name, "get_pricing");
        assert_eq!(call.function.arguments, Some(json!({"part": "X"})));
        assert!(parsed[2].done);
        assert_eq!(parsed[2].token_usage(), Some(TokenUsage::new(30, 8)));
        assert_eq!(parsed[0].token_usage(), None);
    }

    #[test]
    fn error_body_deserializes() {
        let body = r#"{"error":"\"ministral-instruct-14b\" does not support thinking"}"#;
        let parsed: ChatResponse = serde_json::from_str(body).unwrap();
        assert!(parsed.error.unwrap().contains("does not support thinking"));
    }

    #[test]
    fn request_serializes_without_unset_fields() {
        let request = ChatRequest {
            model: "qwen3:8b".into(),
            messages: vec![Message {
                role: "tool".into(),
                content: "42".into(),
                tool_name: Some("get_pricing".into()),
                ..Message::default()
            }],
            stream: Some(true),
            options: Some(JsonObject::new()),
            think: Some(json!(true)),
            ..ChatRequest::default()
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"model":"qwen3:8b","messages":[{"role":"tool","content":"42","tool_name":"get_pricing"}],"stream":true,"options":{},"think":true}"#
        );
    }
}
