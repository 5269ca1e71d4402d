//! The OpenAI-shaped stream assembler: behaviour tables and contract tests on real llama-server
//! captures.

mod common;

use common::{data, run_openai, sse_frames_split, Run};
use forge_sse::{OpenAiStreamAssembler, ReasoningFallback};
use forge_types::{
    json_object, BackendError, Completion, LlmResponse, StreamChunk, TextResponse, TokenUsage,
    ToolCall,
};
use serde_json::{json, Value};

fn run_lines(lines: &[&str], fallback: ReasoningFallback) -> Run {
    let body: String = lines.iter().map(|line| format!("{line}\n\n")).collect();
    let frames = sse_frames_split(body.as_bytes(), &[]);
    run_openai(
        &frames,
        OpenAiStreamAssembler::new().with_reasoning_fallback(fallback),
    )
}

fn call(tool: &str, args: Value, reasoning: Option<&str>) -> ToolCall {
    ToolCall {
        tool: tool.to_owned(),
        args: json_object(args).expect("test args are objects"),
        reasoning: reasoning.map(str::to_owned),
    }
}

fn text(content: &str, reasoning: Option<&str>) -> LlmResponse {
    LlmResponse::Text(TextResponse {
        content: content.to_owned(),
        reasoning: reasoning.map(str::to_owned),
    })
}

/// Runs `lines` and compares the final response (usage not checked here).
fn check(name: &str, lines: &[&str], fallback: ReasoningFallback, expected: LlmResponse) {
    let run = run_lines(lines, fallback);
    match run.outcome {
        Ok(completion) => assert_eq!(completion.response, expected, "{name}"),
        Err(err) => panic!("{name}: unexpected error {err}"),
    }
}

const DONE: &str = "data: [DONE]";

#[test]
fn final_response_table() {
    let none = ReasoningFallback::None;
    let cases: Vec<(&str, Vec<&str>, ReasoningFallback, LlmResponse)> = vec![
        (
            "text deltas concatenate",
            vec![
                r#"data: {"choices":[{"delta":{"content":"Hello"}}]}"#,
                r#"data: {"choices":[{"delta":{"content":" world"}}]}"#,
                DONE,
            ],
            none,
            text("Hello world", None),
        ),
        (
            "tool call spread over chunks (spec 02 §2.5)",
            vec![
                r#"data: {"choices":[{"delta":{"role":"assistant","content":"Let me check. "}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_pricing","arguments":""}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"part\": "}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"X\"}"}}]}}]}"#,
                r#"data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}"#,
                DONE,
            ],
            none,
            LlmResponse::ToolCalls(vec![call("get_pricing", json!({"part": "X"}), None)]),
        ),
        (
            "reasoning_content goes on the first call (spec 02 §3.7)",
            vec![
                r#"data: {"choices":[{"delta":{"reasoning_content":"Let me "}}]}"#,
                r#"data: {"choices":[{"delta":{"reasoning_content":"reason..."}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"Final."}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_pricing","arguments":""}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"part\": \"X\"}"}}]}}]}"#,
                DONE,
            ],
            ReasoningFallback::Content,
            LlmResponse::ToolCalls(vec![call(
                "get_pricing",
                json!({"part": "X"}),
                Some("Let me reason..."),
            )]),
        ),
        (
            "vLLM reasoning field (spec 02 §4.6)",
            vec![
                r#"data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
                r#"data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"reasoning":"Let me "}}]}"#,
                r#"data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"reasoning":"think... "}}]}"#,
                r#"data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"chatcmpl-tool-1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
                r#"data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]}"#,
                DONE,
            ],
            none,
            LlmResponse::ToolCalls(vec![call(
                "get_weather",
                json!({"city": "Paris"}),
                Some("Let me think... "),
            )]),
        ),
        (
            "two calls interleaved by index are both kept, in index order",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"b","arguments":"{\"n\":"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"a","arguments":"{}"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}]}"#,
                DONE,
            ],
            none,
            LlmResponse::ToolCalls(vec![
                call("a", json!({}), None),
                call("b", json!({"n": 2}), None),
            ]),
        ),
        (
            "name fragments concatenate; a repeated whole name is not doubled",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"weather","arguments":"{}"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"sort","arguments":"{"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"sort","arguments":"}"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":""}}]}}]}"#,
                DONE,
            ],
            none,
            LlmResponse::ToolCalls(vec![
                call("get_weather", json!({}), None),
                call("sort", json!({}), None),
            ]),
        ),
        (
            "a non-string arguments fragment is written as JSON text",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":{"a":[1,"x"]}}}]}}]}"#,
                DONE,
            ],
            none,
            LlmResponse::ToolCalls(vec![call("f", json!({"a": [1, "x"]}), None)]),
        ),
        (
            "empty-string arguments are a call without arguments",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"ping","arguments":""}}]}}]}"#,
                DONE,
            ],
            none,
            LlmResponse::ToolCalls(vec![call("ping", json!({}), None)]),
        ),
        (
            "malformed args with no text go to the retry path as the raw arguments",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
                DONE,
            ],
            none,
            text("{\"city\": ", None),
        ),
        (
            "malformed args with text go to the retry path as the text",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"let me try again"}}]}"#,
                DONE,
            ],
            none,
            text("let me try again", None),
        ),
        (
            "one malformed call among several sends the whole batch to the retry path",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"a","arguments":"{}"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"b","arguments":"[1, 2]"}}]}}]}"#,
                DONE,
            ],
            none,
            text("[1, 2]", None),
        ),
        (
            "null arguments are not an object",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"a","arguments":"null"}}]}}]}"#,
                DONE,
            ],
            none,
            text("null", None),
        ),
        (
            "comments, blank lines and frames after [DONE] are ignored",
            vec![
                ": keep-alive comment",
                r#"data: {"choices":[{"delta":{"content":"hi"}}]}"#,
                DONE,
                r#"data: {"choices":[{"delta":{"content":" ignored"}}]}"#,
            ],
            none,
            text("hi", None),
        ),
        (
            "a finish_reason without [DONE] is a complete answer",
            vec![r#"data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}"#],
            none,
            text("ok", None),
        ),
        (
            "text keeps its reasoning",
            vec![
                r#"data: {"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"answer"}}]}"#,
                DONE,
            ],
            none,
            text("answer", Some("hmm")),
        ),
    ];
    for (name, lines, fallback, expected) in cases {
        check(name, &lines, fallback, expected);
    }
}

#[test]
fn deltas_are_forwarded_in_order() {
    let run = run_lines(
        &[
            r#"data: {"choices":[{"delta":{"reasoning_content":"r"}}]}"#,
            r#"data: {"choices":[{"delta":{"content":"t"}}]}"#,
            r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"x","function":{"name":"f","arguments":""}}]}}]}"#,
            r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}"#,
            DONE,
        ],
        ReasoningFallback::None,
    );
    assert_eq!(
        run.chunks,
        vec![
            StreamChunk::ReasoningDelta {
                content: "r".into()
            },
            StreamChunk::text("t"),
            StreamChunk::ToolCallDelta {
                index: 0,
                name: Some("f".into()),
                arguments: String::new()
            },
            StreamChunk::ToolCallDelta {
                index: 0,
                name: None,
                arguments: "{}".into()
            },
        ]
    );
}

#[test]
fn usage_comes_from_the_usage_only_last_chunk() {
    let run = run_lines(
        &[
            r#"data: {"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}"#,
            r#"data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}"#,
            DONE,
        ],
        ReasoningFallback::None,
    );
    assert_eq!(run.outcome.unwrap().usage, Some(TokenUsage::new(12, 9)));
}

#[test]
fn a_response_without_usage_reports_none() {
    let run = run_lines(
        &[r#"data: {"choices":[{"delta":{"content":"hi"}}]}"#, DONE],
        ReasoningFallback::None,
    );
    assert_eq!(run.outcome.unwrap().usage, None);
}

#[test]
fn errors_table() {
    let cases: Vec<(&str, Vec<&str>, BackendError)> = vec![
        (
            "error frame is an in-stream error",
            vec![
                r#"data: {"choices":[{"delta":{"content":"partial"}}]}"#,
                r#"data: {"error":{"code":500,"message":"boom","type":"server_error"}}"#,
            ],
            BackendError::InStream {
                error_type: Some("server_error".into()),
                message: "boom".into(),
            },
        ),
        (
            "event: error is an in-stream error",
            vec!["event: error\ndata: {\"error\":{\"message\":\"bad\",\"type\":\"api_error\"}}"],
            BackendError::InStream {
                error_type: Some("api_error".into()),
                message: "bad".into(),
            },
        ),
        (
            "bare string error",
            vec![r#"data: {"error":"nope"}"#],
            BackendError::InStream {
                error_type: None,
                message: "nope".into(),
            },
        ),
        (
            "a body cut before any terminator is truncated",
            vec![r#"data: {"choices":[{"delta":{"content":"The capital of"}}]}"#],
            BackendError::Truncated {
                detail: "the SSE stream ended without `data: [DONE]` and without a finish_reason"
                    .into(),
            },
        ),
        (
            "an empty body is truncated",
            vec![],
            BackendError::Truncated {
                detail: "the SSE stream ended without `data: [DONE]` and without a finish_reason"
                    .into(),
            },
        ),
    ];
    for (name, lines, expected) in cases {
        let run = run_lines(&lines, ReasoningFallback::None);
        assert_eq!(run.outcome, Err(expected), "{name}");
    }
}

#[test]
fn a_payload_that_is_not_a_chunk_is_an_invalid_response() {
    for line in [
        r#"data: {"choices":"#,
        r#"data: {"choices":[{"delta":{"content":5}}]}"#,
        "data: [1]",
    ] {
        let run = run_lines(&[line, DONE], ReasoningFallback::None);
        assert!(
            matches!(run.outcome, Err(BackendError::InvalidResponse { .. })),
            "{line}: {:?}",
            run.outcome
        );
    }
}

// ---- contract tests on real llama-server captures ----

fn run_capture(name: &str) -> Run {
    let body = data(&format!("llama-server/{name}.sse"));
    run_openai(&sse_frames_split(&body, &[]), OpenAiStreamAssembler::new())
}

#[test]
fn text_captures_assemble_to_the_non_streaming_answer() {
    let captures = [
        "plain",
        "tools-offered-long-text",
        "text-cut-by-max-tokens",
        "tools-template-01-paris",
        "tools-template-03-tokyo-implicit",
        "tools-template-C1-no-tool-needed",
        "tools-template-C2-after-tool-result",
        "prefill-template-02-berlin-terse",
        "prefill-template-05-pick-time-tool",
    ];
    for name in captures {
        let response: Value =
            serde_json::from_slice(&data(&format!("llama-server/{name}.response.json"))).unwrap();
        let expected = response["choices"][0]["message"]["content"]
            .as_str()
            .unwrap();
        let run = run_capture(name);
        let completion = run
            .outcome
            .clone()
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(completion.response, text(expected, None), "{name}");
        assert_eq!(run.streamed_text(), expected, "{name}: deltas");
    }
}

#[test]
fn capture_with_include_usage_reports_its_usage_and_others_report_none() {
    let with_usage = run_capture("tools-offered-long-text").outcome.unwrap();
    assert_eq!(with_usage.usage, Some(TokenUsage::new(37, 254)));
    let without = run_capture("plain").outcome.unwrap();
    assert_eq!(without.usage, None);
}

#[test]
fn error_frame_after_partial_tool_call_without_done_is_a_typed_error_not_content() {
    let run = run_capture("error-after-partial-tool-call");
    assert_eq!(
        run.outcome,
        Err(BackendError::InStream {
            error_type: Some("server_error".into()),
            message: "The model produced output that does not match the expected peg-native format"
                .into(),
        })
    );
    let streamed_arguments: String = run
        .chunks
        .iter()
        .filter_map(|chunk| match chunk {
            StreamChunk::ToolCallDelta { arguments, .. } => Some(arguments.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(streamed_arguments, "{\"city\": \"Paris\"}");
}

#[test]
fn error_frame_before_any_content_is_a_typed_error() {
    let run = run_capture("error-before-any-content");
    assert!(matches!(
        run.outcome,
        Err(BackendError::InStream { ref error_type, .. }) if error_type.as_deref() == Some("server_error")
    ));
    assert!(run.chunks.is_empty());
}

#[test]
fn tool_call_cut_by_max_tokens_goes_to_the_retry_path() {
    let completion = run_capture("tool-call-cut-by-max-tokens").outcome.unwrap();
    assert_eq!(completion.response, text("{\"city\": \"Paris", None));
}

#[test]
fn capture_cut_mid_stream_is_truncated() {
    let body = data("llama-server/plain.sse");
    let cut = body.len() / 2;
    let run = run_openai(
        &sse_frames_split(&body[..cut], &[]),
        OpenAiStreamAssembler::new(),
    );
    assert!(
        matches!(run.outcome, Err(BackendError::Truncated { .. })),
        "{:?}",
        run.outcome
    );
}

#[test]
fn assembled_finals_of_captures() {
    let captures = [
        "plain",
        "tools-offered-long-text",
        "tool-call-cut-by-max-tokens",
        "named-tool-choice-answered-in-text",
        "tools-template-08-non-ascii",
    ];
    for name in captures {
        let completion: Completion = run_capture(name)
            .outcome
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        insta::assert_json_snapshot!(format!("final-{name}"), completion);
    }
}
