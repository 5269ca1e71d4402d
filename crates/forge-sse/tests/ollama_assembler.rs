//! The Ollama NDJSON stream assembler.

mod common;

use common::{data, ndjson_split, run_ollama, Run};
use forge_sse::{OllamaStreamAssembler, ReasoningFallback};
use forge_types::{json_object, BackendError, LlmResponse, StreamChunk, TokenUsage, ToolCall};
use serde_json::{json, Value};

fn run_lines(lines: &[&str]) -> Run {
    let body: String = lines.iter().map(|line| format!("{line}\n")).collect();
    run_ollama(
        ndjson_split(body.as_bytes(), &[]),
        OllamaStreamAssembler::new(),
    )
}

fn call(tool: &str, args: Value, reasoning: Option<&str>) -> ToolCall {
    ToolCall {
        tool: tool.to_owned(),
        args: json_object(args).expect("test args are objects"),
        reasoning: reasoning.map(str::to_owned),
    }
}

#[test]
fn tool_calls_on_separate_lines_are_all_kept() {
    let run = run_ollama(
        ndjson_split(&data("ollama/two-calls-on-separate-lines.ndjson"), &[]),
        OllamaStreamAssembler::new(),
    );
    let completion = run.outcome.unwrap();
    assert_eq!(
        completion.response,
        LlmResponse::ToolCalls(vec![
            call("get_pricing", json!({"part": "X"}), Some("Need prices.")),
            call("get_pricing", json!({"part": "Zürich-7"}), None),
        ])
    );
    assert_eq!(completion.usage, Some(TokenUsage::new(30, 8)));
}

#[test]
fn text_deltas_and_usage() {
    let run = run_ollama(
        ndjson_split(&data("ollama/text.ndjson"), &[]),
        OllamaStreamAssembler::new(),
    );
    assert_eq!(
        run.chunks,
        vec![StreamChunk::text("Hello"), StreamChunk::text(" world")]
    );
    let completion = run.outcome.unwrap();
    assert_eq!(completion.response, LlmResponse::text("Hello world"));
    assert_eq!(completion.usage, Some(TokenUsage::new(11, 2)));
}

#[test]
fn final_response_table() {
    let cases: Vec<(&str, Vec<&str>, LlmResponse)> = vec![
        (
            "call on the done line (spec 02 §9.4 #21)",
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":{"part":"X"}}}]},"done":true}"#,
            ],
            LlmResponse::ToolCalls(vec![call("get_pricing", json!({"part": "X"}), None)]),
        ),
        (
            "content becomes reasoning when there is no thinking (spec 02 §9.4 #23)",
            vec![
                r#"{"message":{"role":"assistant","content":"Let me "},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"think..."},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":{"part":"X"}}}]},"done":true}"#,
            ],
            LlmResponse::ToolCalls(vec![call(
                "get_pricing",
                json!({"part": "X"}),
                Some("Let me think..."),
            )]),
        ),
        (
            "thinking wins over content (spec 02 §9.4 #24)",
            vec![
                r#"{"message":{"role":"assistant","content":"","thinking":"Let me "},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"","thinking":"reason..."},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"Final."},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":{"part":"X"}}}]},"done":true}"#,
            ],
            LlmResponse::ToolCalls(vec![call(
                "get_pricing",
                json!({"part": "X"}),
                Some("Let me reason..."),
            )]),
        ),
        (
            "a call without arguments has empty arguments",
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"ping"}}]},"done":true}"#,
            ],
            LlmResponse::ToolCalls(vec![call("ping", json!({}), None)]),
        ),
        (
            "string arguments holding an object are decoded by the policy",
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":"{\"a\": 1}"}}]},"done":true}"#,
            ],
            LlmResponse::ToolCalls(vec![call("f", json!({"a": 1}), None)]),
        ),
        (
            "non-object arguments go to the retry path",
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":[1]}}]},"done":true}"#,
            ],
            LlmResponse::text("[1]"),
        ),
        (
            "lines after done are ignored",
            vec![
                r#"{"message":{"role":"assistant","content":"ok"},"done":true}"#,
                r#"{"message":{"role":"assistant","content":" more"},"done":false}"#,
            ],
            LlmResponse::text("ok"),
        ),
    ];
    for (name, lines, expected) in cases {
        let run = run_lines(&lines);
        assert_eq!(run.outcome.map(|c| c.response), Ok(expected), "{name}");
    }
}

#[test]
fn done_line_content_is_forwarded_as_a_delta() {
    let run = run_lines(&[r#"{"message":{"role":"assistant","content":"ok"},"done":true}"#]);
    assert_eq!(run.chunks, vec![StreamChunk::text("ok")]);
    assert_eq!(run.outcome.unwrap().usage, None);
}

#[test]
fn errors_table() {
    type IsExpected = fn(&BackendError) -> bool;
    let cases: Vec<(&str, Vec<&str>, IsExpected)> = vec![
        (
            "error line",
            vec![r#"{"error":"model runner crashed"}"#],
            |err| {
                *err == BackendError::InStream {
                    error_type: None,
                    message: "model runner crashed".into(),
                }
            },
        ),
        (
            "no done line",
            vec![r#"{"message":{"role":"assistant","content":"Hel"},"done":false}"#],
            |err| matches!(err, BackendError::Truncated { .. }),
        ),
        (
            "not a chat response",
            vec![r#"{"message":"text","done":false}"#],
            |err| matches!(err, BackendError::InvalidResponse { .. }),
        ),
        ("not JSON", vec!["<html>"], |err| {
            matches!(err, BackendError::InvalidResponse { .. })
        }),
    ];
    for (name, lines, is_expected) in cases {
        let run = run_lines(&lines);
        match run.outcome {
            Err(err) => assert!(is_expected(&err), "{name}: {err:?}"),
            Ok(completion) => panic!("{name}: unexpected {completion:?}"),
        }
    }
}

#[test]
fn fallback_off_keeps_content_out_of_reasoning() {
    let body = concat!(
        r#"{"message":{"role":"assistant","content":"narration"},"done":false}"#,
        "\n",
        r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{}}}]},"done":true}"#,
        "\n"
    );
    let run = run_ollama(
        ndjson_split(body.as_bytes(), &[]),
        OllamaStreamAssembler::new().with_reasoning_fallback(ReasoningFallback::None),
    );
    assert_eq!(
        run.outcome.unwrap().response.as_tool_calls().unwrap()[0].reasoning,
        None
    );
}
