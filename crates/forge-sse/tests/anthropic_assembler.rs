//! The Anthropic Messages stream assembler.

mod common;

use common::{data, run_anthropic, sse_frames_split, Run};
use forge_sse::{AnthropicStreamAssembler, ReasoningFallback};
use forge_types::{
    json_object, BackendError, LlmResponse, StreamChunk, TextResponse, TokenUsage, ToolCall,
};
use serde_json::{json, Value};

fn run_events(events: &[(&str, &str)]) -> Run {
    let body: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    run_anthropic(
        &sse_frames_split(body.as_bytes(), &[]),
        AnthropicStreamAssembler::new(),
    )
}

fn run_capture(name: &str) -> Run {
    let body = data(&format!("anthropic/{name}.sse"));
    run_anthropic(
        &sse_frames_split(&body, &[]),
        AnthropicStreamAssembler::new(),
    )
}

fn call(tool: &str, args: Value, reasoning: Option<&str>) -> ToolCall {
    ToolCall {
        tool: tool.to_owned(),
        args: json_object(args).expect("test args are objects"),
        reasoning: reasoning.map(str::to_owned),
    }
}

const START: (&str, &str) = (
    "message_start",
    r#"{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1}}}"#,
);
const STOP: (&str, &str) = ("message_stop", r#"{"type":"message_stop"}"#);

fn tool_start(index: u32, name: &str) -> String {
    format!(
        r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"tool_use","name":"{name}","input":{{}}}}}}"#
    )
}

fn json_delta(index: u32, partial: &str) -> String {
    json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": partial}}).to_string()
}

#[test]
fn text_then_two_tool_uses_without_ids() {
    let run = run_capture("text-then-tool-use");
    let completion = run.outcome.unwrap();
    assert_eq!(
        completion.response,
        LlmResponse::ToolCalls(vec![
            call(
                "get_weather",
                json!({"city": "Zürich"}),
                Some("Let me check.")
            ),
            call("get_time", json!({"tz": "CET"}), None),
        ])
    );
    assert_eq!(completion.usage, Some(TokenUsage::new(20, 15)));
    assert_eq!(
        run.chunks[..3],
        [
            StreamChunk::text("Let me "),
            StreamChunk::text("check."),
            StreamChunk::ToolCallDelta {
                index: 0,
                name: Some("get_weather".into()),
                arguments: String::new()
            },
        ]
    );
}

#[test]
fn thinking_is_reasoning_and_cache_usage_is_kept() {
    let completion = run_capture("thinking-then-text").outcome.unwrap();
    assert_eq!(
        completion.response,
        LlmResponse::Text(TextResponse {
            content: "Hello! 🦀".into(),
            reasoning: Some("The user wants a greeting.".into()),
        })
    );
    let usage = completion.usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (12, 9));
    assert_eq!(usage.cache_read_input_tokens, 100);
}

#[test]
fn error_event_is_a_backend_error_with_its_own_type_and_message() {
    let run = run_capture("overloaded-mid-stream");
    assert_eq!(
        run.outcome,
        Err(BackendError::InStream {
            error_type: Some("overloaded_error".into()),
            message: "Overloaded".into(),
        })
    );
    assert_eq!(run.chunks, vec![StreamChunk::text("Partial")]);
}

#[test]
fn malformed_streamed_tool_json_goes_to_the_retry_path() {
    let start = tool_start(0, "get_weather");
    let delta = json_delta(0, "{\"city\": ");
    let run = run_events(&[
        START,
        ("content_block_start", &start),
        ("content_block_delta", &delta),
        STOP,
    ]);
    assert_eq!(
        run.outcome.unwrap().response,
        LlmResponse::text("{\"city\": ")
    );
}

#[test]
fn tool_use_without_deltas_is_a_call_without_arguments_or_its_start_input() {
    let empty = tool_start(0, "ping");
    let with_input = r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"t","name":"echo","input":{"x":1}}}"#;
    let run = run_events(&[
        START,
        ("content_block_start", &empty),
        ("content_block_start", with_input),
        STOP,
    ]);
    assert_eq!(
        run.outcome.unwrap().response,
        LlmResponse::ToolCalls(vec![
            call("ping", json!({}), None),
            call("echo", json!({"x": 1}), None)
        ])
    );
}

#[test]
fn text_is_not_reasoning_when_the_fallback_is_off() {
    let body = data("anthropic/text-then-tool-use.sse");
    let run = run_anthropic(
        &sse_frames_split(&body, &[]),
        AnthropicStreamAssembler::new().with_reasoning_fallback(ReasoningFallback::None),
    );
    assert_eq!(
        run.outcome.unwrap().response.as_tool_calls().unwrap()[0].reasoning,
        None
    );
}

#[test]
fn incomplete_and_invalid_streams_are_errors() {
    let truncated = run_events(&[START]);
    assert_eq!(
        truncated.outcome,
        Err(BackendError::Truncated {
            detail: "the Anthropic event stream ended without message_stop".into()
        })
    );
    let not_json = run_events(&[START, ("content_block_delta", "{\"type\":")]);
    assert!(matches!(
        not_json.outcome,
        Err(BackendError::InvalidResponse { .. })
    ));
    let stray_json_delta = json_delta(3, "{}");
    let stray = run_events(&[START, ("content_block_delta", &stray_json_delta), STOP]);
    assert!(matches!(
        stray.outcome,
        Err(BackendError::InvalidResponse { .. })
    ));
}

#[test]
fn events_after_message_stop_are_ignored() {
    let late =
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"late"}}"#;
    let run = run_events(&[START, STOP, ("content_block_delta", late)]);
    assert_eq!(run.outcome.unwrap().response, LlmResponse::text(""));
    assert!(run.chunks.is_empty());
}
