//! `chat.completion.chunk` frames for the proxy's OpenAI-protocol streams.

use forge_types::py_json::py_json_dumps;
use forge_types::wire::openai::{
    ChatCompletionChunk, ChunkChoice, ChunkToolCall, Delta, ErrorBody, ErrorDetail, FunctionCall,
    Usage,
};
use forge_types::{Completion, LlmResponse, TokenUsage};
use serde_json::Value;

/// The `data: [DONE]` frame that ends every OpenAI-protocol stream.
const DONE_FRAME: &str = "data: [DONE]\n\n";

/// Writes the frames of one streamed chat completion: every chunk carries the same `id`,
/// `object: "chat.completion.chunk"`, `model` and one choice at index 0.
///
/// [`OpenAiChunkEncoder::completion`] writes the whole sequence for a resolved response (spec 04
/// §6.3); the other methods write single frames for callers that stream as they go.
///
/// ```
/// use forge_sse::OpenAiChunkEncoder;
/// use forge_types::{Completion, LlmResponse};
///
/// let encoder = OpenAiChunkEncoder::new("chatcmpl-1", "m");
/// let frames = encoder.completion(&Completion::new(LlmResponse::text("Hi")), |i| format!("call_{i}"));
/// assert_eq!(frames.concat(), concat!(
///     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
///     "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
///     "data: [DONE]\n\n",
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiChunkEncoder {
    id: String,
    model: String,
    created: Option<u64>,
}

impl OpenAiChunkEncoder {
    /// An encoder for the stream with this id (`chatcmpl-…`) and model name.
    pub fn new(id: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            model: model.into(),
            created: None,
        }
    }

    /// Adds `created` (Unix seconds) to every chunk, for client libraries that require it.
    pub fn with_created(mut self, unix_seconds: u64) -> Self {
        self.created = Some(unix_seconds);
        self
    }

    /// The whole stream for a resolved response, `[DONE]` included.
    ///
    /// Text: one chunk with role and the full text (even when empty), then the `stop` chunk.
    /// Tool calls: a role-and-content chunk with the first call's reasoning (only if it has
    /// one), one chunk per call with its fresh id (`call_id(i)`), name and complete arguments,
    /// then the `tool_calls` chunk. The finishing chunk carries `usage` only when it is known.
    pub fn completion(
        &self,
        completion: &Completion,
        mut call_id: impl FnMut(usize) -> String,
    ) -> Vec<String> {
        let usage = completion.usage.as_ref();
        let mut frames = Vec::new();
        match &completion.response {
            LlmResponse::Text(text) => {
                frames.push(self.role_and_content(&text.content));
                frames.push(self.finish("stop", usage));
            }
            LlmResponse::ToolCalls(calls) => {
                if let Some(reasoning) = calls.first().and_then(|call| call.reasoning.as_ref()) {
                    frames.push(self.role_and_content(reasoning));
                }
                for (index, call) in calls.iter().enumerate() {
                    let arguments = py_json_dumps(&Value::Object(call.args.clone()));
                    frames.push(self.tool_call(index, &call_id(index), &call.tool, &arguments));
                }
                frames.push(self.finish("tool_calls", usage));
            }
        }
        frames.push(DONE_FRAME.to_owned());
        frames
    }

    /// A chunk opening the assistant message: `{"role": "assistant"}`.
    pub fn role(&self) -> String {
        self.delta_frame(Delta {
            role: Some("assistant".to_owned()),
            ..Delta::default()
        })
    }

    /// A chunk with the role and a piece of text.
    pub fn role_and_content(&self, text: &str) -> String {
        self.delta_frame(Delta {
            role: Some("assistant".to_owned()),
            content: Some(text.to_owned()),
            ..Delta::default()
        })
    }

    /// A chunk with a piece of text.
    pub fn content(&self, text: &str) -> String {
        self.delta_frame(Delta {
            content: Some(text.to_owned()),
            ..Delta::default()
        })
    }

    /// A chunk with a piece of reasoning in `reasoning_content` (llama-server's field).
    pub fn reasoning_content(&self, text: &str) -> String {
        self.delta_frame(Delta {
            reasoning_content: Some(text.to_owned()),
            ..Delta::default()
        })
    }

    /// A chunk opening tool call `index` with its id and name, and a first argument fragment
    /// (the complete arguments when not streaming them).
    pub fn tool_call(&self, index: usize, call_id: &str, name: &str, arguments: &str) -> String {
        self.tool_call_frame(ChunkToolCall {
            index: index_u32(index),
            id: Some(call_id.to_owned()),
            kind: Some("function".to_owned()),
            function: Some(FunctionCall {
                name: Some(name.to_owned()),
                arguments: Some(Value::String(arguments.to_owned())),
            }),
        })
    }

    /// A chunk with a further argument fragment of tool call `index`.
    pub fn tool_call_arguments(&self, index: usize, fragment: &str) -> String {
        self.tool_call_frame(ChunkToolCall {
            index: index_u32(index),
            function: Some(FunctionCall {
                name: None,
                arguments: Some(Value::String(fragment.to_owned())),
            }),
            ..ChunkToolCall::default()
        })
    }

    /// The chunk ending the choice (`stop`, `tool_calls`, `length`), with `usage` when known.
    pub fn finish(&self, finish_reason: &str, usage: Option<&TokenUsage>) -> String {
        let mut chunk = self.chunk(vec![ChunkChoice {
            index: 0,
            delta: Delta::default(),
            finish_reason: Some(finish_reason.to_owned()),
        }]);
        chunk.usage = usage.map(Usage::from);
        frame(&chunk)
    }

    /// A usage-only chunk with empty `choices`, as OpenAI sends for `include_usage`.
    pub fn usage(&self, usage: &TokenUsage) -> String {
        let mut chunk = self.chunk(Vec::new());
        chunk.usage = Some(Usage::from(usage));
        frame(&chunk)
    }

    /// `data: [DONE]`.
    pub fn done(&self) -> String {
        DONE_FRAME.to_owned()
    }

    /// How a stream that already sent its 200 reports a failure: an error frame
    /// `data: {"error": {"message", "type"}}`, then `[DONE]` (spec 04 §9.2; never a silent end).
    pub fn error(&self, message: &str, error_type: &str) -> Vec<String> {
        let body = ErrorBody {
            error: ErrorDetail {
                message: message.to_owned(),
                kind: Some(error_type.to_owned()),
                code: None,
            },
        };
        vec![frame(&body), DONE_FRAME.to_owned()]
    }

    fn tool_call_frame(&self, call: ChunkToolCall) -> String {
        self.delta_frame(Delta {
            tool_calls: Some(vec![call]),
            ..Delta::default()
        })
    }

    fn delta_frame(&self, delta: Delta) -> String {
        frame(&self.chunk(vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: None,
        }]))
    }

    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: Some(self.id.clone()),
            object: Some("chat.completion.chunk".to_owned()),
            created: self.created,
            model: Some(self.model.clone()),
            choices,
            usage: None,
            error: None,
        }
    }
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).expect("a response never holds more than u32::MAX tool calls")
}

fn frame(payload: &impl serde::Serialize) -> String {
    let json = serde_json::to_string(payload).expect("wire structs always serialize to JSON");
    format!("data: {json}\n\n")
}
