//! A resolved [`Completion`] → what the caller receives: OpenAI or Anthropic JSON, or the SSE
//! frames of the same answer (written by `forge-sse`'s encoders).
//!
//! Reasoning follows the replay policy: `none` drops it, `keep-last` shows it as OpenAI
//! `reasoning_content` (Anthropic clients do not see it), `full` puts it in the assistant
//! content as the v0.7.3 proxy did.

use std::time::{SystemTime, UNIX_EPOCH};

use forge_guardrails::ReasoningReplay;
use forge_sse::{AnthropicEventEncoder, OpenAiChunkEncoder};
use forge_types::py_json::py_json_dumps;
use forge_types::{Completion, JsonObject, LlmResponse};
use serde::Serialize;
use serde_json::Value;

use crate::error::ProxyError;
use crate::ids;

/// The completion as the client may see it, and the reasoning to show separately (keep-last).
fn present(completion: &Completion, replay: ReasoningReplay) -> (Completion, Option<String>) {
    let mut shown = completion.clone();
    let mut separate = None;
    match &mut shown.response {
        LlmResponse::ToolCalls(calls) => {
            for call in calls.iter_mut() {
                match replay {
                    ReasoningReplay::Full => {}
                    ReasoningReplay::KeepLast => {
                        separate = separate.or(call.reasoning.take());
                    }
                    ReasoningReplay::None => call.reasoning = None,
                }
            }
        }
        LlmResponse::Text(text) => {
            let reasoning = text.reasoning.take();
            if replay == ReasoningReplay::KeepLast {
                separate = reasoning;
            }
        }
    }
    (shown, separate.filter(|r| !r.is_empty()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The non-streaming OpenAI `chat.completion` object, serialized field by field in this order
/// (no JSON tree is built for it).
#[derive(Debug, Serialize)]
pub struct OpenAiCompletionBody<'a> {
    id: String,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [OpenAiChoice; 1],
    usage: OpenAiUsage,
}

#[derive(Debug, Serialize)]
struct OpenAiChoice {
    index: u32,
    message: OpenAiMessage,
    finish_reason: &'static str,
}

/// `content` is `null` next to tool calls without reasoning to show.
#[derive(Debug, Serialize)]
struct OpenAiMessage {
    role: &'static str,
    content: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<Vec<OpenAiToolCall>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_content: Option<String>,
}

#[derive(Debug, Serialize)]
struct OpenAiToolCall {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    function: OpenAiFunction,
}

#[derive(Debug, Serialize)]
struct OpenAiFunction {
    name: String,
    /// The arguments as a JSON string, written the way Python's `json.dumps` writes them.
    arguments: String,
}

#[derive(Debug, Serialize)]
struct OpenAiUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
}

/// The non-streaming OpenAI `chat.completion` object.
pub fn openai_json<'a>(
    completion: &Completion,
    model: &'a str,
    replay: ReasoningReplay,
) -> OpenAiCompletionBody<'a> {
    let (shown, reasoning_content) = present(completion, replay);
    let (message, finish_reason) = match shown.response {
        LlmResponse::Text(text) => (
            OpenAiMessage {
                role: "assistant",
                content: Some(text.content),
                tool_calls: None,
                reasoning_content,
            },
            "stop",
        ),
        LlmResponse::ToolCalls(calls) => {
            let content = calls.first().and_then(|c| c.reasoning.clone());
            let tool_calls = calls
                .into_iter()
                .map(|call| OpenAiToolCall {
                    id: ids::openai_call_id(),
                    kind: "function",
                    function: OpenAiFunction {
                        arguments: py_json_dumps(&Value::Object(call.args)),
                        name: call.tool,
                    },
                })
                .collect();
            (
                OpenAiMessage {
                    role: "assistant",
                    content,
                    tool_calls: Some(tool_calls),
                    reasoning_content,
                },
                "tool_calls",
            )
        }
    };
    let usage = shown.usage.unwrap_or_default();
    OpenAiCompletionBody {
        id: ids::chat_completion_id(),
        object: "chat.completion",
        created: unix_now(),
        model,
        choices: [OpenAiChoice {
            index: 0,
            message,
            finish_reason,
        }],
        usage: OpenAiUsage {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.total_tokens,
        },
    }
}

/// The non-streaming Anthropic `message` object, serialized field by field in this order.
#[derive(Debug, Serialize)]
pub struct AnthropicMessageBody<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<AnthropicBlock>,
    stop_reason: &'static str,
    stop_sequence: Option<String>,
    usage: AnthropicUsage,
}

/// A content block; the `type` tag is written first.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AnthropicBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: JsonObject,
    },
}

/// Cache counters appear only when non-zero.
#[derive(Debug, Serialize)]
struct AnthropicUsage {
    input_tokens: u64,
    output_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    cache_creation_input_tokens: u64,
    #[serde(skip_serializing_if = "is_zero")]
    cache_read_input_tokens: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// The non-streaming Anthropic `message` object.
pub fn anthropic_json<'a>(
    completion: &Completion,
    model: &'a str,
    replay: ReasoningReplay,
) -> AnthropicMessageBody<'a> {
    let (shown, _) = present(completion, replay);
    let (content, stop_reason) = match shown.response {
        LlmResponse::Text(text) => (
            vec![AnthropicBlock::Text { text: text.content }],
            "end_turn",
        ),
        LlmResponse::ToolCalls(calls) => {
            let mut blocks = Vec::with_capacity(calls.len() + 1);
            if let Some(reasoning) = calls.first().and_then(|c| c.reasoning.clone()) {
                blocks.push(AnthropicBlock::Text { text: reasoning });
            }
            blocks.extend(calls.into_iter().map(|call| AnthropicBlock::ToolUse {
                id: ids::tool_use_id(),
                name: call.tool,
                input: call.args,
            }));
            (blocks, "tool_use")
        }
    };
    let usage = shown.usage.unwrap_or_default();
    AnthropicMessageBody {
        id: ids::anthropic_message_id(),
        kind: "message",
        role: "assistant",
        model,
        content,
        stop_reason,
        stop_sequence: None,
        usage: AnthropicUsage {
            input_tokens: usage.prompt_tokens,
            output_tokens: usage.completion_tokens,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
        },
    }
}

/// The OpenAI SSE frames of the answer, `[DONE]` included.
pub fn openai_frames(completion: &Completion, model: &str, replay: ReasoningReplay) -> Vec<String> {
    let (shown, reasoning) = present(completion, replay);
    let encoder =
        OpenAiChunkEncoder::new(ids::chat_completion_id(), model).with_created(unix_now());
    let mut frames = Vec::new();
    if let Some(reasoning) = reasoning {
        frames.push(encoder.reasoning_content(&reasoning));
    }
    frames.extend(encoder.completion(&shown, |_| ids::openai_call_id()));
    frames
}

/// The Anthropic SSE events of the answer, ending with `message_stop`.
pub fn anthropic_frames(
    completion: &Completion,
    model: &str,
    replay: ReasoningReplay,
) -> Vec<String> {
    let (shown, _) = present(completion, replay);
    AnthropicEventEncoder::new(ids::anthropic_message_id(), model)
        .completion(&shown, |_| ids::tool_use_id())
}

/// How an OpenAI stream that already answered 200 reports `error`: an error frame, then
/// `[DONE]`.
pub fn openai_error_frames(error: &ProxyError, model: &str) -> Vec<String> {
    OpenAiChunkEncoder::new(ids::chat_completion_id(), model)
        .error(&error.to_string(), "proxy_error")
}

/// How an Anthropic stream that already answered 200 reports `error`: `event: error`, the last
/// event of the stream.
pub fn anthropic_error_frames(error: &ProxyError, model: &str) -> Vec<String> {
    vec![
        AnthropicEventEncoder::new(ids::anthropic_message_id(), model)
            .error(error.anthropic_type(), &error.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::{json_object, TokenUsage, ToolCall};
    use serde_json::json;

    fn call_with_reasoning() -> Completion {
        let mut call = ToolCall::new("search", json_object(json!({"q": "x"})).unwrap());
        call.reasoning = Some("thinking aloud".into());
        Completion {
            response: LlmResponse::ToolCalls(vec![call]),
            usage: Some(TokenUsage::new(7, 3)),
        }
    }

    fn openai_json(completion: &Completion, model: &str, replay: ReasoningReplay) -> Value {
        serde_json::to_value(super::openai_json(completion, model, replay)).unwrap()
    }

    fn anthropic_json(completion: &Completion, model: &str, replay: ReasoningReplay) -> Value {
        serde_json::to_value(super::anthropic_json(completion, model, replay)).unwrap()
    }

    #[test]
    fn reasoning_follows_the_replay_policy() {
        let completion = call_with_reasoning();
        let none = openai_json(&completion, "m", ReasoningReplay::None);
        assert_eq!(none["choices"][0]["message"]["content"], Value::Null);
        assert!(none["choices"][0]["message"]
            .get("reasoning_content")
            .is_none());
        let keep_last = openai_json(&completion, "m", ReasoningReplay::KeepLast);
        assert_eq!(
            keep_last["choices"][0]["message"]["reasoning_content"],
            "thinking aloud"
        );
        assert_eq!(keep_last["choices"][0]["message"]["content"], Value::Null);
        let full = openai_json(&completion, "m", ReasoningReplay::Full);
        assert_eq!(full["choices"][0]["message"]["content"], "thinking aloud");
        let anthropic = anthropic_json(&completion, "m", ReasoningReplay::Full);
        assert_eq!(
            anthropic["content"][0],
            json!({"type": "text", "text": "thinking aloud"})
        );
        assert_eq!(
            anthropic["usage"],
            json!({"input_tokens": 7, "output_tokens": 3})
        );
        let stripped = anthropic_json(&completion, "m", ReasoningReplay::None);
        assert_eq!(stripped["content"][0]["type"], "tool_use");
        assert_eq!(stripped["stop_reason"], "tool_use");
    }

    #[test]
    fn arguments_are_a_json_string_that_parses_back() {
        let json = openai_json(&call_with_reasoning(), "m", ReasoningReplay::None);
        let arguments = json["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(arguments).unwrap(),
            json!({"q": "x"})
        );
    }

    #[test]
    fn anthropic_usage_writes_cache_counters_in_order_only_when_non_zero() {
        let usage = |creation, read| {
            let mut usage = TokenUsage::new(7, 3);
            usage.cache_creation_input_tokens = creation;
            usage.cache_read_input_tokens = read;
            let completion = Completion {
                response: LlmResponse::text("hi"),
                usage: Some(usage),
            };
            let body = super::anthropic_json(&completion, "m", ReasoningReplay::None);
            serde_json::to_string(&body.usage).unwrap()
        };
        let cases = [
            ((0, 0), r#"{"input_tokens":7,"output_tokens":3}"#),
            (
                (5, 0),
                r#"{"input_tokens":7,"output_tokens":3,"cache_creation_input_tokens":5}"#,
            ),
            (
                (5, 2),
                r#"{"input_tokens":7,"output_tokens":3,"cache_creation_input_tokens":5,"cache_read_input_tokens":2}"#,
            ),
            (
                (0, 2),
                r#"{"input_tokens":7,"output_tokens":3,"cache_read_input_tokens":2}"#,
            ),
        ];
        for ((creation, read), expected) in cases {
            assert_eq!(
                usage(creation, read),
                expected,
                "creation {creation}, read {read}"
            );
        }
    }
}
