//! Snapshots of every stream the proxy writes, and round trips through the assemblers.

mod common;

use common::{run_anthropic, run_openai, sse_frames_split};
use forge_sse::{
    AnthropicEventEncoder, AnthropicStreamAssembler, OpenAiChunkEncoder, OpenAiStreamAssembler,
    ReasoningFallback,
};
use forge_types::{json_object, Completion, LlmResponse, TextResponse, TokenUsage, ToolCall};
use serde_json::json;

fn openai() -> OpenAiChunkEncoder {
    OpenAiChunkEncoder::new("chatcmpl-0123456789ab", "m")
}

fn anthropic() -> AnthropicEventEncoder {
    AnthropicEventEncoder::new("msg_0123456789abcdef01234567", "claude")
}

fn call_id(index: usize) -> String {
    format!("call_{index:08x}")
}

fn tool_use_id(index: usize) -> String {
    format!("toolu_{index:024x}")
}

/// Every frame is one SSE event: it ends with exactly one blank line and holds no other.
fn assert_framed(frames: &[String]) {
    for frame in frames {
        assert!(frame.ends_with("\n\n"), "{frame:?}");
        assert!(!frame[..frame.len() - 2].contains("\n\n"), "{frame:?}");
    }
}

fn tool_calls_with_reasoning() -> Completion {
    Completion {
        response: LlmResponse::ToolCalls(vec![
            ToolCall {
                tool: "search".into(),
                args: json_object(json!({"q": "x", "city": "Zürich", "n": 1.0}))
                    .expect("an object"),
                reasoning: Some("Let me look.".into()),
            },
            ToolCall::new("sort", json_object(json!({})).expect("an object")),
        ]),
        usage: Some(TokenUsage::new(10, 5)),
    }
}

fn text(content: &str, usage: Option<TokenUsage>) -> Completion {
    Completion {
        response: LlmResponse::text(content),
        usage,
    }
}

#[test]
fn openai_sequences() {
    let cases = [
        (
            "openai-text-with-usage",
            text("Hello!", Some(TokenUsage::new(10, 5))),
        ),
        ("openai-empty-text-without-usage", text("", None)),
        (
            "openai-tool-calls-with-reasoning",
            tool_calls_with_reasoning(),
        ),
        (
            "openai-tool-call-without-reasoning",
            Completion::new(LlmResponse::ToolCalls(vec![ToolCall::new(
                "search",
                json_object(json!({"q": "x"})).unwrap(),
            )])),
        ),
    ];
    for (name, completion) in cases {
        let frames = openai().completion(&completion, call_id);
        assert_framed(&frames);
        insta::assert_snapshot!(name, frames.concat());
    }
}

#[test]
fn openai_single_frames() {
    let encoder = openai().with_created(1_795_480_704);
    let frames = [
        encoder.role(),
        encoder.content("Hel"),
        encoder.reasoning_content("hmm"),
        encoder.tool_call(0, "call_00000000", "search", ""),
        encoder.tool_call_arguments(0, "{\"q\": "),
        encoder.finish("length", None),
        encoder.usage(&TokenUsage::new(3, 4)),
        encoder.done(),
    ];
    insta::assert_snapshot!("openai-single-frames", frames.concat());
}

#[test]
fn openai_error_ends_the_stream_with_done() {
    insta::assert_snapshot!(
        "openai-error",
        openai()
            .error(
                "Backend returned 400: {\"error\": \"bad thing\"}",
                "proxy_error"
            )
            .concat()
    );
}

#[test]
fn anthropic_sequences() {
    let cases = [
        (
            "anthropic-text",
            text("Hello!", Some(TokenUsage::new(10, 5))),
        ),
        ("anthropic-text-without-usage", text("", None)),
        (
            "anthropic-tool-use-with-reasoning",
            tool_calls_with_reasoning(),
        ),
    ];
    for (name, completion) in cases {
        insta::assert_snapshot!(
            name,
            anthropic().completion(&completion, tool_use_id).concat()
        );
    }
}

#[test]
fn anthropic_single_frames() {
    let encoder = anthropic();
    let frames = [
        encoder.thinking_block_start(0),
        encoder.thinking_delta(0, "hmm"),
        encoder.signature_delta(0, "sig"),
        encoder.content_block_stop(0),
        encoder.ping(),
    ];
    insta::assert_snapshot!("anthropic-single-frames", frames.concat());
}

#[test]
fn anthropic_error_is_a_named_error_event() {
    insta::assert_snapshot!(
        "anthropic-error",
        anthropic().error("api_error", "Backend returned 502: upstream down")
    );
}

#[test]
fn openai_output_assembles_back_to_the_same_completion() {
    let cases = [
        text("Hello!", Some(TokenUsage::new(10, 5))),
        text("", None),
        tool_calls_with_reasoning(),
    ];
    for completion in cases {
        let bytes = openai().completion(&completion, call_id).concat();
        let run = run_openai(
            &sse_frames_split(bytes.as_bytes(), &[]),
            // The proxy writes the first call's reasoning as content; read back as reasoning.
            OpenAiStreamAssembler::new().with_reasoning_fallback(ReasoningFallback::Content),
        );
        assert_eq!(run.outcome, Ok(completion));
    }
}

#[test]
fn anthropic_output_assembles_back_to_the_same_completion() {
    let cases = [
        text("Hello!", Some(TokenUsage::new(10, 5))),
        tool_calls_with_reasoning(),
        Completion {
            response: LlmResponse::Text(TextResponse::new("plain")),
            usage: Some(TokenUsage::new(1, 2)),
        },
    ];
    for completion in cases {
        let bytes = anthropic().completion(&completion, tool_use_id).concat();
        let run = run_anthropic(
            &sse_frames_split(bytes.as_bytes(), &[]),
            AnthropicStreamAssembler::new(),
        );
        assert_eq!(run.outcome, Ok(completion));
    }
}
