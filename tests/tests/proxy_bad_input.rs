//! Every malformed request class gets its status and its protocol's error shape, the backend
//! is never called for it, and the proxy keeps serving.

#![allow(clippy::unwrap_used)]

mod proxy_support;

use proxy_support::{text_reply, Harness};
use serde_json::Value;

const OPENAI: &str = "/v1/chat/completions";
const ANTHROPIC: &str = "/v1/messages";

/// (case, route, raw body, expected status, the field the message must name or a phrase)
type Case = (&'static str, &'static str, &'static str, u16, &'static str);

fn cases() -> Vec<Case> {
    vec![
        ("not_json", OPENAI, "not json", 400, "Invalid JSON"),
        ("empty_body", OPENAI, "", 400, "Invalid JSON"),
        (
            "truncated_json",
            ANTHROPIC,
            r#"{"messages": ["#,
            400,
            "Invalid JSON",
        ),
        (
            "array_body",
            OPENAI,
            "[1, 2, 3]",
            400,
            "Request body must be a JSON object",
        ),
        (
            "string_body",
            ANTHROPIC,
            r#""hi""#,
            400,
            "Request body must be a JSON object",
        ),
        (
            "messages_not_an_array",
            OPENAI,
            r#"{"messages": "hi"}"#,
            400,
            "`messages`",
        ),
        (
            "message_not_an_object",
            OPENAI,
            r#"{"messages": ["hi"]}"#,
            400,
            "`messages[0]`",
        ),
        (
            "content_wrong_type",
            OPENAI,
            r#"{"messages": [{"role": "user", "content": 5}]}"#,
            400,
            "`messages[0].content`",
        ),
        (
            "role_wrong_type",
            OPENAI,
            r#"{"messages": [{"role": 1, "content": "x"}]}"#,
            400,
            "`messages[0].role`",
        ),
        (
            "history_arguments_not_json",
            OPENAI,
            r#"{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]}"#,
            400,
            "`messages[1].tool_calls[0].function.arguments`",
        ),
        (
            "history_arguments_not_an_object",
            OPENAI,
            r#"{"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "42"}}]}]}"#,
            400,
            "`messages[0].tool_calls[0].function.arguments`",
        ),
        (
            "tools_not_an_array",
            OPENAI,
            r#"{"messages": [], "tools": {"type": "function"}}"#,
            400,
            "`tools`",
        ),
        (
            "tool_without_name",
            OPENAI,
            r#"{"messages": [], "tools": [{"type": "function", "function": {}}]}"#,
            400,
            "`tools[0].function.name`",
        ),
        (
            "stream_not_boolean",
            OPENAI,
            r#"{"messages": [], "stream": "false"}"#,
            400,
            "`stream`",
        ),
        (
            "temperature_not_a_number",
            OPENAI,
            r#"{"messages": [], "temperature": "hot"}"#,
            400,
            "`temperature`",
        ),
        (
            "model_not_a_string",
            ANTHROPIC,
            r#"{"model": 3, "messages": []}"#,
            400,
            "`model`",
        ),
        (
            "anthropic_block_not_an_object",
            ANTHROPIC,
            r#"{"messages": [{"role": "user", "content": [1]}]}"#,
            400,
            "`messages[0].content[0]`",
        ),
        (
            "anthropic_tool_input_not_an_object",
            ANTHROPIC,
            r#"{"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": [1]}]}]}"#,
            400,
            "`messages[0].content[0].input`",
        ),
        (
            "anthropic_system_wrong_type",
            ANTHROPIC,
            r#"{"system": {"text": "x"}, "messages": []}"#,
            400,
            "`system`",
        ),
        (
            "anthropic_schema_wrong_type",
            ANTHROPIC,
            r#"{"messages": [], "tools": [{"name": "f", "input_schema": "x"}]}"#,
            400,
            "`tools[0].input_schema`",
        ),
    ]
}

fn check_error_shape(route: &str, body: &Value, needle: &str, case: &str) {
    let message = if route == ANTHROPIC {
        assert_eq!(body["type"], "error", "{case}: {body}");
        assert!(body["error"]["type"].is_string(), "{case}: {body}");
        body["error"]["message"].as_str().unwrap()
    } else {
        assert_eq!(body["error"]["type"], "proxy_error", "{case}: {body}");
        assert!(body["error"]["code"].is_string(), "{case}: {body}");
        body["error"]["message"].as_str().unwrap()
    };
    assert!(
        message.contains(needle),
        "{case}: {message:?} lacks {needle:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_naming_the_field_and_never_reach_the_backend() {
    let h = Harness::start(&[]).await;
    h.script(vec![text_reply("unused")], true).await;
    for (case, route, raw, status, needle) in cases() {
        let (got, text) = h.post_raw(route, raw.as_bytes().to_vec()).await;
        assert_eq!(got, status, "{case}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        check_error_shape(route, &body, needle, case);
    }
    assert!(h.backend_bodies(OPENAI).await.is_empty());
    let alive = h.request(reqwest::Method::GET, "/forge/health").await;
    assert_eq!(
        alive.status(),
        200,
        "the proxy keeps serving after bad input"
    );
}

#[tokio::test]
async fn oversized_body_is_413_in_the_protocols_shape() {
    let h = Harness::start(&[]).await;
    let body = vec![b' '; forge_proxy::MAX_BODY_BYTES + 1];
    for route in [OPENAI, ANTHROPIC] {
        let (status, text) = h.post_raw(route, body.clone()).await;
        assert_eq!(status, 413, "{route}");
        let json: Value = serde_json::from_str(&text).unwrap();
        check_error_shape(route, &json, "Request too large", route);
    }
}

#[tokio::test]
async fn null_tools_and_messages_are_treated_as_absent() {
    let h = Harness::start(&[]).await;
    h.script(vec![text_reply("Hello!")], true).await;
    let (status, body) = h
        .post_raw(
            OPENAI,
            br#"{"tools": null, "messages": [{"role": "user", "content": "hi"}], "stream": null}"#
                .to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["choices"][0]["message"]["content"], "Hello!");
}

#[tokio::test]
async fn empty_string_history_arguments_are_a_call_without_arguments() {
    let h = Harness::start(&[]).await;
    h.script(vec![text_reply("done")], true).await;
    let (status, body) = h
        .post_raw(
            OPENAI,
            br#"{"messages": [{"role": "user", "content": "ping"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "ping", "arguments": ""}}]}, {"role": "tool", "tool_call_id": "c1", "content": "pong"}]}"#.to_vec(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
