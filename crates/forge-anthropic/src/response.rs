//! Turning a non-streaming Messages answer into a [`Completion`]. Pure: no I/O.

use forge_sse::{AssembledResponse, RawToolCall, ReasoningFallback};
use forge_types::wire::anthropic::{ContentBlock, MessagesResponse, Usage};
use forge_types::{BackendError, Completion};

/// Parses a complete response body.
///
/// Text blocks (joined by `"\n"`) are the text; thinking blocks (joined by `"\n"`) the
/// reasoning. Tool calls take the thinking as reasoning, else the text that preceded them (the
/// reference's behaviour: the text would otherwise be lost, since a tool-call response has no
/// text). Each `input` is decoded by the one argument policy.
pub(crate) fn parse_messages_response(body: &str) -> Result<Completion, BackendError> {
    let response: MessagesResponse =
        serde_json::from_str(body).map_err(|err| BackendError::InvalidResponse {
            problem: format!("not a Messages response ({err})"),
            body_excerpt: BackendError::excerpt(body),
        })?;
    let usage = (response.usage != Usage::default()).then(|| response.usage.to_token_usage());
    let mut text = Vec::new();
    let mut thinking = Vec::new();
    let mut tool_calls = Vec::new();
    for block in response.content {
        match block {
            ContentBlock::Text { text: piece } => text.push(piece),
            ContentBlock::Thinking {
                thinking: piece, ..
            } => thinking.push(piece),
            ContentBlock::ToolUse { name, input, .. } => tool_calls.push(RawToolCall {
                name,
                arguments: Some(input),
            }),
            _ => {}
        }
    }
    let assembled = AssembledResponse {
        content: text.join("\n"),
        reasoning: thinking.join("\n"),
        tool_calls,
        usage,
    };
    Ok(assembled.into_completion(ReasoningFallback::Content))
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::{LlmResponse, TokenUsage};
    use serde_json::{json, Value};

    fn check(content: Value) -> LlmResponse {
        let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
                          "content": content, "stop_reason": "end_turn", "usage": {"input_tokens": 12, "output_tokens": 7}});
        parse_messages_response(&body.to_string()).unwrap().response
    }

    #[test]
    fn blocks_resolve_per_policy() {
        let call = |input: Value| json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": input});
        assert_eq!(
            check(json!([{"type": "text", "text": "Hello!"}])),
            LlmResponse::text("Hello!")
        );
        assert_eq!(check(json!([])), LlmResponse::text(""));
        let LlmResponse::ToolCalls(calls) = check(
            json!([{"type": "text", "text": "Let me check the weather."}, call(json!({"city": "Paris"}))]),
        ) else {
            panic!("tool calls expected")
        };
        assert_eq!(
            calls[0].reasoning.as_deref(),
            Some("Let me check the weather.")
        );
        assert_eq!(calls[0].args["city"], "Paris");
        let LlmResponse::ToolCalls(calls) = check(
            json!([{"type": "thinking", "thinking": "hmm", "signature": "s"}, {"type": "text", "text": "Checking."}, call(json!({}))]),
        ) else {
            panic!("tool calls expected")
        };
        assert_eq!(calls[0].reasoning.as_deref(), Some("hmm"));
        assert_eq!(
            check(json!([call(json!([1]))])),
            LlmResponse::text("[1]"),
            "non-object input goes to the retry path"
        );
    }

    #[test]
    fn usage_includes_cache_counters() {
        let body = json!({"content": [], "usage": {"input_tokens": 12, "output_tokens": 7, "cache_read_input_tokens": 100}});
        let usage = parse_messages_response(&body.to_string())
            .unwrap()
            .usage
            .unwrap();
        assert_eq!(
            usage,
            TokenUsage {
                cache_read_input_tokens: 100,
                ..TokenUsage::new(12, 7)
            }
        );
    }

    #[test]
    fn broken_envelopes_are_invalid_responses() {
        for body in [
            "not json",
            r#"{"content": "text"}"#,
            r#"{"content": [{"type": "text", "text": 5}]}"#,
        ] {
            assert!(
                matches!(
                    parse_messages_response(body),
                    Err(BackendError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
    }
}
