//! Messages-API events for the proxy's Anthropic-protocol streams.

use forge_types::py_json::py_json_dumps;
use forge_types::wire::anthropic::{
    BlockDelta, ContentBlock, ErrorDetail, MessageDeltaBody, MessagesResponse, StreamEvent, Usage,
};
use forge_types::{Completion, LlmResponse};
use serde_json::Value;

/// Writes the events of one streamed message as `event: <type>\ndata: <json>\n\n` frames.
///
/// [`AnthropicEventEncoder::completion`] writes the whole sequence for a resolved response (spec
/// 04 §6.8); the other methods write single events for callers that stream as they go.
///
/// ```
/// use forge_sse::AnthropicEventEncoder;
///
/// let encoder = AnthropicEventEncoder::new("msg_1", "claude-x");
/// assert_eq!(encoder.message_stop(), "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnthropicEventEncoder {
    message_id: String,
    model: String,
}

impl AnthropicEventEncoder {
    /// An encoder for the message with this id (`msg_…`) and model name.
    pub fn new(message_id: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            message_id: message_id.into(),
            model: model.into(),
        }
    }

    /// The whole event sequence for a resolved response. Usage counts are 0 when unknown.
    ///
    /// Text: `message_start`, a text block (start, one delta with the full text, stop),
    /// `message_delta` with `end_turn`, `message_stop`. Tool calls: `message_start`, a text block
    /// with the first call's reasoning (only if it has one), then per call a `tool_use` block with
    /// id `tool_use_id(i)` (start with empty input, one `input_json_delta` with the complete
    /// arguments, stop), `message_delta` with `tool_use`, `message_stop`.
    pub fn completion(
        &self,
        completion: &Completion,
        mut tool_use_id: impl FnMut(usize) -> String,
    ) -> Vec<String> {
        let usage = completion.usage.unwrap_or_default();
        let mut frames = vec![self.message_start(usage.prompt_tokens)];
        let stop_reason = match &completion.response {
            LlmResponse::Text(text) => {
                self.push_text_block(0, &text.content, &mut frames);
                "end_turn"
            }
            LlmResponse::ToolCalls(calls) => {
                let mut index = 0;
                if let Some(reasoning) = calls.first().and_then(|call| call.reasoning.as_ref()) {
                    self.push_text_block(index, reasoning, &mut frames);
                    index += 1;
                }
                for (position, call) in calls.iter().enumerate() {
                    let arguments = py_json_dumps(&Value::Object(call.args.clone()));
                    frames.push(self.tool_use_start(index, &tool_use_id(position), &call.tool));
                    frames.push(self.input_json_delta(index, &arguments));
                    frames.push(self.content_block_stop(index));
                    index += 1;
                }
                "tool_use"
            }
        };
        frames.push(self.message_delta(stop_reason, usage.completion_tokens));
        frames.push(self.message_stop());
        frames
    }

    /// `message_start` with an empty message; `output_tokens` is 1 as the API reports it there.
    pub fn message_start(&self, input_tokens: u64) -> String {
        event(&StreamEvent::MessageStart {
            message: MessagesResponse {
                id: self.message_id.clone(),
                kind: "message".to_owned(),
                role: "assistant".to_owned(),
                model: self.model.clone(),
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                usage: Usage {
                    input_tokens: Some(input_tokens),
                    output_tokens: Some(1),
                    ..Usage::default()
                },
            },
        })
    }

    /// `content_block_start` of a text block.
    pub fn text_block_start(&self, index: u32) -> String {
        self.block_start(
            index,
            ContentBlock::Text {
                text: String::new(),
            },
        )
    }

    /// `content_block_delta` with a piece of text.
    pub fn text_delta(&self, index: u32, text: &str) -> String {
        self.block_delta(
            index,
            BlockDelta::TextDelta {
                text: text.to_owned(),
            },
        )
    }

    /// `content_block_start` of a tool_use block (empty input).
    pub fn tool_use_start(&self, index: u32, id: &str, name: &str) -> String {
        self.block_start(
            index,
            ContentBlock::ToolUse {
                id: Some(id.to_owned()),
                name: name.to_owned(),
                input: Value::Object(Default::default()),
            },
        )
    }

    /// `content_block_delta` with a fragment of a tool call's input JSON.
    pub fn input_json_delta(&self, index: u32, partial_json: &str) -> String {
        self.block_delta(
            index,
            BlockDelta::InputJsonDelta {
                partial_json: partial_json.to_owned(),
            },
        )
    }

    /// `content_block_start` of a thinking block.
    pub fn thinking_block_start(&self, index: u32) -> String {
        self.block_start(
            index,
            ContentBlock::Thinking {
                thinking: String::new(),
                signature: None,
            },
        )
    }

    /// `content_block_delta` with a piece of thinking.
    pub fn thinking_delta(&self, index: u32, thinking: &str) -> String {
        self.block_delta(
            index,
            BlockDelta::ThinkingDelta {
                thinking: thinking.to_owned(),
            },
        )
    }

    /// `content_block_delta` with a thinking block's signature.
    pub fn signature_delta(&self, index: u32, signature: &str) -> String {
        self.block_delta(
            index,
            BlockDelta::SignatureDelta {
                signature: signature.to_owned(),
            },
        )
    }

    /// `content_block_stop`.
    pub fn content_block_stop(&self, index: u32) -> String {
        event(&StreamEvent::ContentBlockStop { index })
    }

    /// `message_delta` with the stop reason and the output token count.
    pub fn message_delta(&self, stop_reason: &str, output_tokens: u64) -> String {
        event(&StreamEvent::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(stop_reason.to_owned()),
                stop_sequence: None,
            },
            usage: Some(Usage {
                output_tokens: Some(output_tokens),
                ..Usage::default()
            }),
        })
    }

    /// `message_stop`: the end of the stream.
    pub fn message_stop(&self) -> String {
        event(&StreamEvent::MessageStop)
    }

    /// `ping`.
    pub fn ping(&self) -> String {
        event(&StreamEvent::Ping)
    }

    /// How a stream that already sent its 200 reports a failure: `event: error` with
    /// `{"type": "error", "error": {"type", "message"}}`. It is the last event of the stream.
    pub fn error(&self, error_type: &str, message: &str) -> String {
        event(&StreamEvent::Error {
            error: ErrorDetail {
                kind: error_type.to_owned(),
                message: message.to_owned(),
            },
        })
    }

    fn push_text_block(&self, index: u32, text: &str, frames: &mut Vec<String>) {
        frames.push(self.text_block_start(index));
        frames.push(self.text_delta(index, text));
        frames.push(self.content_block_stop(index));
    }

    fn block_start(&self, index: u32, content_block: ContentBlock) -> String {
        event(&StreamEvent::ContentBlockStart {
            index,
            content_block,
        })
    }

    fn block_delta(&self, index: u32, delta: BlockDelta) -> String {
        event(&StreamEvent::ContentBlockDelta { index, delta })
    }
}

fn event(event: &StreamEvent) -> String {
    let json = serde_json::to_string(event).expect("wire structs always serialize to JSON");
    let name = match event {
        StreamEvent::MessageStart { .. } => "message_start",
        StreamEvent::ContentBlockStart { .. } => "content_block_start",
        StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
        StreamEvent::ContentBlockStop { .. } => "content_block_stop",
        StreamEvent::MessageDelta { .. } => "message_delta",
        StreamEvent::MessageStop => "message_stop",
        StreamEvent::Ping => "ping",
        StreamEvent::Error { .. } => "error",
        StreamEvent::Unknown => "unknown",
    };
    format!("event: {name}\ndata: {json}\n\n")
}
