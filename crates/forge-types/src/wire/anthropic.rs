//! Anthropic Messages API shapes: the request, the response, content blocks and the streamed
//! events.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{JsonObject, TokenUsage};

/// `POST /v1/messages` request body.
///
/// Fields forge does not model (`metadata`, `service_tier`, …) are kept in
/// [`MessagesRequest::extra`] and written back after the known ones.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessagesRequest {
    /// The model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Output token cap (required by the API; not validated here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// The system prompt: a string or a list of text blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<SystemPrompt>,
    /// The conversation.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// Tool definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `{"type": "auto" | "any" | "none" | "tool", "name"?: …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<Value>,
    /// Whether to stream events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Extended-thinking configuration, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Value>,
    /// Every other field, verbatim.
    #[serde(flatten)]
    pub extra: JsonObject,
}

/// A system prompt: plain text or blocks (which may carry `cache_control`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SystemPrompt {
    /// Plain text.
    Text(String),
    /// Blocks, kept as raw JSON so block-level fields survive.
    Blocks(Vec<Value>),
}

/// One conversation turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// `"user"` or `"assistant"`.
    pub role: String,
    /// Text or content blocks.
    pub content: MessageContent,
}

/// A message's content: plain text or a list of blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content blocks.
    Blocks(Vec<ContentBlock>),
}

/// A content block of a message or response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Text.
    Text {
        /// The text.
        #[serde(default)]
        text: String,
    },
    /// A tool call.
    ToolUse {
        /// The call id (`toolu_…`); forge tolerates its absence on input.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// The tool name.
        #[serde(default)]
        name: String,
        /// The arguments (an object per the protocol; decode with the parsing policy).
        #[serde(default)]
        input: Value,
    },
    /// The result of a tool call, sent by the user.
    ToolResult {
        /// The call this answers.
        #[serde(default)]
        tool_use_id: String,
        /// A string or a list of blocks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<Value>,
        /// Whether the tool failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        is_error: Option<bool>,
    },
    /// Extended thinking.
    Thinking {
        /// The thinking text.
        #[serde(default)]
        thinking: String,
        /// The signature that lets the API verify the block when it is sent back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signature: Option<String>,
    },
    /// Thinking the API returns encrypted.
    RedactedThinking {
        /// The opaque payload.
        #[serde(default)]
        data: String,
    },
    /// Any block type forge does not model (`image`, `document`, …); its payload is dropped.
    #[serde(other)]
    Unknown,
}

/// A tool definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool name.
    pub name: String,
    /// What the tool does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input.
    #[serde(default)]
    pub input_schema: Value,
}

/// A non-streaming response, and the `message` of a `message_start` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesResponse {
    /// Message id (`msg_…`).
    #[serde(default)]
    pub id: String,
    /// `"message"`.
    #[serde(rename = "type", default = "message_kind")]
    pub kind: String,
    /// `"assistant"`.
    #[serde(default = "assistant_role")]
    pub role: String,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// The answer's blocks (empty in `message_start`).
    #[serde(default)]
    pub content: Vec<ContentBlock>,
    /// `end_turn`, `tool_use`, `max_tokens`, `stop_sequence`; written as `null` when unset.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched; written as `null` when unset.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Token counts.
    #[serde(default)]
    pub usage: Usage,
}

fn message_kind() -> String {
    "message".to_owned()
}

fn assistant_role() -> String {
    "assistant".to_owned()
}

/// Token counts. Every field is optional because `message_delta` carries only some of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

impl Usage {
    /// Our usage type: prompt = input, completion = output, total = their sum; missing counts are 0.
    pub fn to_token_usage(&self) -> TokenUsage {
        TokenUsage {
            cache_creation_input_tokens: self.cache_creation_input_tokens.unwrap_or(0),
            cache_read_input_tokens: self.cache_read_input_tokens.unwrap_or(0),
            ..TokenUsage::new(
                self.input_tokens.unwrap_or(0),
                self.output_tokens.unwrap_or(0),
            )
        }
    }

    /// This usage with every count `other` reports replacing ours (how `message_delta` updates
    /// the counts of `message_start`).
    pub fn updated_with(self, other: &Usage) -> Usage {
        Usage {
            input_tokens: other.input_tokens.or(self.input_tokens),
            output_tokens: other.output_tokens.or(self.output_tokens),
            cache_creation_input_tokens: other
                .cache_creation_input_tokens
                .or(self.cache_creation_input_tokens),
            cache_read_input_tokens: other
                .cache_read_input_tokens
                .or(self.cache_read_input_tokens),
        }
    }
}

/// One streamed event (the JSON after `data: `; its `type` is also the SSE `event:` name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message begins; carries the input usage.
    MessageStart {
        /// The message shell (empty content).
        message: MessagesResponse,
    },
    /// A content block begins.
    ContentBlockStart {
        /// Block position.
        index: u32,
        /// The block shell (empty text, tool name and id, empty thinking).
        content_block: ContentBlock,
    },
    /// A piece of a content block.
    ContentBlockDelta {
        /// Block position.
        index: u32,
        /// The piece.
        delta: BlockDelta,
    },
    /// A content block ends.
    ContentBlockStop {
        /// Block position.
        index: u32,
    },
    /// Top-level changes: stop reason and output usage.
    MessageDelta {
        /// Stop reason and sequence.
        delta: MessageDeltaBody,
        /// Cumulative usage so far (usually only `output_tokens`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
    },
    /// The message is complete.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// The server failed after the stream started.
    Error {
        /// What went wrong.
        error: ErrorDetail,
    },
    /// An event type forge does not know; ignored.
    #[serde(other)]
    Unknown,
}

/// The piece a `content_block_delta` carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    /// Text.
    TextDelta {
        /// The text piece.
        text: String,
    },
    /// A fragment of a tool call's input JSON.
    InputJsonDelta {
        /// The raw JSON fragment.
        partial_json: String,
    },
    /// A piece of thinking.
    ThinkingDelta {
        /// The thinking piece.
        thinking: String,
    },
    /// The signature of a thinking block.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// A delta type forge does not know (`citations_delta`, …); ignored.
    #[serde(other)]
    Unknown,
}

/// The `delta` of a `message_delta` event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    /// Why generation stopped; written as `null` when unset.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence that matched; written as `null` when unset.
    #[serde(default)]
    pub stop_sequence: Option<String>,
}

/// An error as Anthropic reports it (status body `{"type":"error","error":{…}}` or stream event).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Error class (`overloaded_error`, `api_error`, `invalid_request_error`, …).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stream_events_of_a_tool_call_deserialize() {
        let lines = [
            r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1}}}"#,
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}"#,
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{}}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":15}}"#,
            r#"{"type":"message_stop"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            r#"{"type":"brand_new_event","x":1}"#,
        ];
        let events: Vec<StreamEvent> = lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let StreamEvent::MessageStart { message } = &events[0] else {
            panic!("{:?}", events[0]);
        };
        assert_eq!(message.usage.input_tokens, Some(20));
        assert!(matches!(
            &events[1],
            StreamEvent::ContentBlockStart { index: 1, content_block: ContentBlock::ToolUse { name, .. } } if name == "get_weather"
        ));
        assert!(matches!(
            &events[2],
            StreamEvent::ContentBlockDelta { delta: BlockDelta::InputJsonDelta { partial_json }, .. } if partial_json == "{\"city\": \"Paris\"}"
        ));
        assert!(matches!(
            &events[5],
            StreamEvent::ContentBlockDelta {
                delta: BlockDelta::Unknown,
                ..
            }
        ));
        assert!(matches!(
            &events[6],
            StreamEvent::MessageDelta {
                usage: Some(Usage {
                    output_tokens: Some(15),
                    ..
                }),
                ..
            }
        ));
        assert_eq!(events[7], StreamEvent::MessageStop);
        assert_eq!(events[8], StreamEvent::Ping);
        assert!(
            matches!(&events[9], StreamEvent::Error { error } if error.kind == "overloaded_error")
        );
        assert_eq!(events[10], StreamEvent::Unknown);
    }

    #[test]
    fn request_with_blocks_and_cache_control_deserializes() {
        let body = json!({
            "model": "claude-x", "max_tokens": 100,
            "system": [{"type": "text", "text": "S1", "cache_control": {"type": "ephemeral"}}],
            "stop_sequences": ["X"],
            "metadata": {"user_id": "u"},
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "calling"},
                    {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "a"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "res"}]},
                    {"type": "image", "source": {"type": "base64", "data": "..."}}]}],
            "tools": [{"name": "search", "description": "S", "input_schema": {"type": "object"}}]
        });
        let request: MessagesRequest = serde_json::from_value(body).unwrap();
        assert_eq!(request.extra["metadata"], json!({"user_id": "u"}));
        let MessageContent::Blocks(blocks) = &request.messages[2].content else {
            panic!("blocks expected");
        };
        assert!(
            matches!(&blocks[0], ContentBlock::ToolResult { tool_use_id, .. } if tool_use_id == "toolu_1")
        );
        assert_eq!(blocks[1], ContentBlock::Unknown);
    }

    #[test]
    fn response_serializes_in_protocol_order_with_null_stop_sequence() {
        let response = MessagesResponse {
            id: "msg_1".into(),
            kind: "message".into(),
            role: "assistant".into(),
            model: "m".into(),
            content: vec![ContentBlock::ToolUse {
                id: Some("toolu_1".into()),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
            }],
            stop_reason: Some("tool_use".into()),
            stop_sequence: None,
            usage: Usage {
                input_tokens: Some(12),
                output_tokens: Some(7),
                ..Usage::default()
            },
        };
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":7}}"#
        );
        assert_eq!(response.usage.to_token_usage(), TokenUsage::new(12, 7));
    }

    #[test]
    fn delta_usage_updates_start_usage() {
        let start = Usage {
            input_tokens: Some(20),
            output_tokens: Some(1),
            ..Usage::default()
        };
        let delta = Usage {
            output_tokens: Some(15),
            ..Usage::default()
        };
        assert_eq!(
            start.updated_with(&delta).to_token_usage(),
            TokenUsage::new(20, 15)
        );
    }
}
