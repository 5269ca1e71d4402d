//! Snapshots of every shape the proxy emits (ids and timestamps redacted), and the spec's
//! worked examples (04 §12) as checks of what the backend receives.

#![allow(clippy::unwrap_used)]

mod proxy_support;

use proxy_support::{
    anthropic_tools, calls_reply, openai_tools, redact, redact_events, text_reply, Harness,
};
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

fn openai_body(stream: bool, tools: bool) -> Value {
    let mut body = json!({"model": "m", "stream": stream,
        "messages": [{"role": "user", "content": "find x"}]});
    if tools {
        body["tools"] = openai_tools();
    }
    body
}

fn anthropic_body(stream: bool, tools: bool) -> Value {
    let mut body = json!({"model": "claude-x", "max_tokens": 100, "stream": stream,
        "messages": [{"role": "user", "content": "find x"}]});
    if tools {
        body["tools"] = anthropic_tools();
    }
    body
}

fn reasoned_call() -> ResponseTemplate {
    calls_reply(json!("Let me look."), &[("search", r#"{"q": "x"}"#)])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitted_shapes() {
    // (snapshot name, scripted reply, inbound route, body, replay policy flag)
    let cases: Vec<(&str, ResponseTemplate, &str, Value, &str)> = vec![
        (
            "openai_tool_call_json",
            reasoned_call(),
            "/v1/chat/completions",
            openai_body(false, true),
            "none",
        ),
        (
            "openai_tool_call_json_full_reasoning",
            reasoned_call(),
            "/v1/chat/completions",
            openai_body(false, true),
            "full",
        ),
        (
            "openai_tool_call_json_keep_last",
            reasoned_call(),
            "/v1/chat/completions",
            openai_body(false, true),
            "keep-last",
        ),
        (
            "openai_text_json",
            text_reply("Hello!"),
            "/v1/chat/completions",
            openai_body(false, false),
            "none",
        ),
        (
            "openai_tool_call_sse",
            reasoned_call(),
            "/v1/chat/completions",
            openai_body(true, true),
            "full",
        ),
        (
            "openai_text_sse",
            text_reply("Hello!"),
            "/v1/chat/completions",
            openai_body(true, false),
            "none",
        ),
        (
            "anthropic_tool_use_json",
            reasoned_call(),
            "/v1/messages",
            anthropic_body(false, true),
            "full",
        ),
        (
            "anthropic_text_json",
            text_reply("Hello!"),
            "/v1/messages",
            anthropic_body(false, false),
            "none",
        ),
        (
            "anthropic_tool_use_sse",
            reasoned_call(),
            "/v1/messages",
            anthropic_body(true, true),
            "full",
        ),
        (
            "anthropic_text_sse",
            text_reply("Hello!"),
            "/v1/messages",
            anthropic_body(true, false),
            "none",
        ),
        (
            "openai_backend_error_json",
            ResponseTemplate::new(400).set_body_json(json!({"error": "bad thing"})),
            "/v1/chat/completions",
            openai_body(false, true),
            "none",
        ),
        (
            "anthropic_backend_error_json",
            ResponseTemplate::new(400).set_body_json(json!({"error": "bad thing"})),
            "/v1/messages",
            anthropic_body(false, true),
            "none",
        ),
        (
            "openai_backend_error_sse",
            ResponseTemplate::new(400).set_body_json(json!({"error": "bad thing"})),
            "/v1/chat/completions",
            openai_body(true, true),
            "none",
        ),
        (
            "anthropic_backend_error_sse",
            ResponseTemplate::new(400).set_body_json(json!({"error": "bad thing"})),
            "/v1/messages",
            anthropic_body(true, true),
            "none",
        ),
    ];
    for (name, reply, route, body, replay) in cases {
        let h = Harness::start(&["--reasoning-replay", replay]).await;
        h.script(vec![reply], false).await;
        if body["stream"] == true {
            let (status, _, events) = h.post_sse(route, &body).await;
            assert_eq!(status, 200, "{name}");
            insta::assert_json_snapshot!(name, redact_events(&events));
        } else {
            let (status, json) = h.post_json(route, &body).await;
            insta::assert_json_snapshot!(name, json!({"status": status, "body": redact(&json)}));
        }
    }
}

/// Spec 04 §12.1: what a llama.cpp backend receives for an OpenAI tool request.
#[tokio::test]
async fn openai_example_backend_body_keeps_passthrough_and_merges_users() {
    let h = Harness::start(&[]).await;
    h.script(
        vec![calls_reply(
            json!("thinking aloud"),
            &[("search", r#"{"q":"x"}"#)],
        )],
        false,
    )
    .await;
    let tools = json!([{"type": "function", "function": {"name": "search", "description": "S",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]);
    let (status, response) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"model": "qq", "temperature": 0.2, "max_tokens": 9, "foo": "bar",
                "stream_options": {"include_usage": true},
                "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "a"},
                             {"role": "user", "content": "b"}],
                "tools": tools}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(response["model"], "qq");
    assert_eq!(
        response["usage"],
        json!({"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10})
    );
    let sent = &h.backend_bodies("/v1/chat/completions").await[0];
    assert_eq!(sent["model"], "qq");
    assert_eq!(sent["max_tokens"], 9);
    assert_eq!(sent["foo"], "bar");
    assert_eq!(sent["temperature"], 0.2);
    assert_eq!(sent["cache_prompt"], true);
    assert!(sent.get("stream_options").is_none());
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "sys"}, {"role": "user", "content": "a\n\nb"}])
    );
    assert_eq!(
        sent["tools"], tools,
        "the caller's tools go out verbatim on the first attempt"
    );
}

/// Spec 04 §12.5: an Anthropic request on Path 2 reaches llama.cpp translated.
#[tokio::test]
async fn anthropic_example_is_translated_for_an_openai_backend() {
    let h = Harness::start(&[]).await;
    h.script(
        vec![calls_reply(
            json!("thinking aloud"),
            &[("search", r#"{"q":"x"}"#)],
        )],
        false,
    )
    .await;
    let (status, response) = h
        .post_json(
            "/v1/messages",
            &json!({"model": "claude-x", "max_tokens": 100,
                "system": [{"type": "text", "text": "S1", "cache_control": {"type": "ephemeral"}}],
                "stop_sequences": ["X"], "tool_choice": {"type": "tool", "name": "search"},
                "thinking": {"type": "enabled", "budget_tokens": 10},
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": [{"type": "text", "text": "calling"},
                        {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "a"}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "res"}]}, {"type": "text", "text": "more"}]}],
                "tools": [{"name": "search", "description": "S",
                    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}]}),
        )
        .await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["stop_reason"], "tool_use");
    assert_eq!(response["model"], "claude-x");
    assert_eq!(
        response["usage"],
        json!({"input_tokens": 7, "output_tokens": 3})
    );
    let sent = &h.backend_bodies("/v1/chat/completions").await[0];
    assert_eq!(sent["model"], "claude-x");
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["stop"], json!(["X"]));
    assert_eq!(
        sent["tool_choice"],
        json!({"type": "function", "function": {"name": "search"}})
    );
    assert!(sent.get("thinking").is_none());
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    assert_eq!(sent["messages"][0]["content"], "S1");
    assert_eq!(sent["messages"][1]["content"], "q\n\nmore");
    assert_eq!(sent["messages"][2]["tool_calls"][0]["id"], "toolu_1");
    assert_eq!(sent["messages"][3]["content"], "res");
    assert_eq!(sent["tools"][0]["function"]["name"], "search");
}
