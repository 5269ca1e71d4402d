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
use forge_types::{Completion, LlmResponse, TokenUsage};
use serde_json::{json, Value};

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

fn openai_usage(usage: Option<&TokenUsage>) -> Value {
    let usage = usage.copied().unwrap_or_default();
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    })
}

/// The non-streaming OpenAI `chat.completion` object.
pub fn openai_json(completion: &Completion, model: &str, replay: ReasoningReplay) -> Value {
    let (shown, reasoning) = present(completion, replay);
    let (mut message, finish_reason) = match &shown.response {
        LlmResponse::Text(text) => (
            json!({"role": "assistant", "content": text.content}),
            "stop",
        ),
        LlmResponse::ToolCalls(calls) => {
            let tool_calls: Vec<Value> = calls
                .iter()
                .map(|call| {
                    json!({
                        "id": ids::openai_call_id(),
                        "type": "function",
                        "function": {
                            "name": call.tool,
                            "arguments": py_json_dumps(&Value::Object(call.args.clone())),
                        },
                    })
                })
                .collect();
            let content = calls
                .first()
                .and_then(|c| c.reasoning.clone())
                .map_or(Value::Null, Value::String);
            (
                json!({"role": "assistant", "content": content, "tool_calls": tool_calls}),
                "tool_calls",
            )
        }
    };
    if let Some(reasoning) = reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    json!({
        "id": ids::chat_completion_id(),
        "object": "chat.completion",
        "created": unix_now(),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": openai_usage(shown.usage.as_ref()),
    })
}

/// The non-streaming Anthropic `message` object.
pub fn anthropic_json(completion: &Completion, model: &str, replay: ReasoningReplay) -> Value {
    let (shown, _) = present(completion, replay);
    let (content, stop_reason) = match &shown.response {
        LlmResponse::Text(text) => (
            vec![json!({"type": "text", "text": text.content})],
            "end_turn",
        ),
        LlmResponse::ToolCalls(calls) => {
            let mut blocks = Vec::new();
            if let Some(reasoning) = calls.first().and_then(|c| c.reasoning.as_ref()) {
                blocks.push(json!({"type": "text", "text": reasoning}));
            }
            blocks.extend(calls.iter().map(|call| {
                json!({"type": "tool_use", "id": ids::tool_use_id(), "name": call.tool, "input": call.args})
            }));
            (blocks, "tool_use")
        }
    };
    let usage = shown.usage.unwrap_or_default();
    let mut usage_json = json!({
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
    });
    if usage.cache_creation_input_tokens > 0 {
        usage_json["cache_creation_input_tokens"] = json!(usage.cache_creation_input_tokens);
    }
    if usage.cache_read_input_tokens > 0 {
        usage_json["cache_read_input_tokens"] = json!(usage.cache_read_input_tokens);
    }
    json!({
        "id": ids::anthropic_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": usage_json,
    })
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
    use forge_types::{json_object, ToolCall};

    fn call_with_reasoning() -> Completion {
        let mut call = ToolCall::new("search", json_object(json!({"q": "x"})).unwrap());
        call.reasoning = Some("thinking aloud".into());
        Completion {
            response: LlmResponse::ToolCalls(vec![call]),
            usage: Some(TokenUsage::new(7, 3)),
        }
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
}
