//! Regression tests for the reference proxy's defects (spec 00), one per behaviour, plus Path 1
//! (an Anthropic-shaped downstream) and queueing.

#![allow(clippy::unwrap_used)]

mod proxy_support;

use std::time::Duration;

use proxy_support::{
    anthropic_tools, calls_reply, openai_tools, script_at, text_reply, valid_call, Harness,
};
use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};

fn tool_request(stream: bool) -> Value {
    json!({"model": "m", "stream": stream, "tools": openai_tools(),
           "messages": [{"role": "user", "content": "find x"}]})
}

#[tokio::test]
async fn usage_is_per_request_never_stale() {
    let h = Harness::start(&[]).await;
    let without_usage = ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "again"}}]
    }));
    h.script(
        vec![text_reply("first"), without_usage.clone(), without_usage],
        false,
    )
    .await;
    let chat = json!({"messages": [{"role": "user", "content": "hi"}]});
    let (_, first) = h.post_json("/v1/chat/completions", &chat).await;
    assert_eq!(first["usage"]["total_tokens"], 15);
    let (_, second) = h.post_json("/v1/chat/completions", &chat).await;
    assert_eq!(
        second["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
        "a response without usage must not report the previous request's"
    );
    let mut streamed = chat.clone();
    streamed["stream"] = json!(true);
    let (_, _, events) = h.post_sse("/v1/chat/completions", &streamed).await;
    let finish = events[events.len() - 2].json();
    assert!(
        finish.get("usage").is_none(),
        "unknown usage is left out of the stream: {finish}"
    );
}

#[tokio::test]
async fn backend_500_on_a_tool_free_request_is_a_gateway_error_not_content() {
    let h = Harness::start(&[]).await;
    h.script(
        vec![ResponseTemplate::new(500).set_body_string("{\"error\": {\"message\": \"boom\"}}")],
        true,
    )
    .await;
    let (status, body) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Backend returned 500"));
    assert_eq!(body["error"]["backend_status"], 500);
}

#[tokio::test]
async fn llama_parse_rejection_500_is_rescued_into_a_call() {
    let h = Harness::start(&[]).await;
    let rejection = json!({"error": {"code": 500, "type": "server_error",
        "message": "Failed to parse input at pos 0: <tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n</tool_call>"}});
    h.script(
        vec![ResponseTemplate::new(500).set_body_json(rejection)],
        false,
    )
    .await;
    let (status, body) = h
        .post_json("/v1/chat/completions", &tool_request(false))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "search"
    );
}

#[tokio::test]
async fn unknown_tool_exhaustion_returns_the_calls_as_stable_json_not_a_debug_dump() {
    let h = Harness::start(&["--max-retries", "1"]).await;
    h.script(vec![calls_reply(Value::Null, &[("nosuch", "{}")])], true)
        .await;
    let (status, body) = h
        .post_json("/v1/chat/completions", &tool_request(false))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let text = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"name": "nosuch", "arguments": {}})
    );
    assert_eq!(h.backend_bodies("/v1/chat/completions").await.len(), 2);
}

#[tokio::test]
async fn clients_own_respond_tool_is_returned_as_a_tool_call_without_injection() {
    let h = Harness::start(&[]).await;
    h.script(
        vec![calls_reply(
            Value::Null,
            &[("respond", r#"{"message": "Hi!"}"#)],
        )],
        false,
    )
    .await;
    let mut request = tool_request(false);
    request["tools"] = json!([{"type": "function", "function": {"name": "respond",
        "parameters": {"type": "object", "properties": {"message": {"type": "string"}}}}}]);
    let (status, body) = h.post_json("/v1/chat/completions", &request).await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "respond"
    );
}

#[tokio::test]
async fn injected_respond_tool_is_offered_and_its_call_comes_back_as_text() {
    let h = Harness::start(&["--inject-respond-tool"]).await;
    h.script(
        vec![calls_reply(
            Value::Null,
            &[("respond", r#"{"message": "Hi!"}"#)],
        )],
        false,
    )
    .await;
    for (route, body) in [
        ("/v1/chat/completions", tool_request(false)),
        (
            "/v1/messages",
            json!({"model": "c", "max_tokens": 9, "tools": anthropic_tools(),
                   "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ] {
        h.backend.reset().await;
        h.script(
            vec![calls_reply(
                Value::Null,
                &[("respond", r#"{"message": "Hi!"}"#)],
            )],
            false,
        )
        .await;
        let (status, response) = h.post_json(route, &body).await;
        assert_eq!(status, 200, "{response}");
        if route == "/v1/messages" {
            assert_eq!(response["stop_reason"], "end_turn");
            assert_eq!(
                response["content"],
                json!([{"type": "text", "text": "Hi!"}])
            );
        } else {
            assert_eq!(response["choices"][0]["message"]["content"], "Hi!");
            assert!(response["choices"][0]["message"]
                .get("tool_calls")
                .is_none());
        }
        let sent = &h.backend_bodies("/v1/chat/completions").await[0];
        let names: Vec<&str> = sent["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["search", "respond"], "{route}");
    }
}

#[tokio::test]
async fn think_tags_are_stripped_from_a_tool_free_answer() {
    let h = Harness::start(&[]).await;
    h.script(vec![text_reply("<think>hmm</think>plain answer")], false)
        .await;
    let (_, body) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(body["choices"][0]["message"]["content"], "plain answer");
    let sent = &h.backend_bodies("/v1/chat/completions").await[0];
    assert_eq!(
        sent["model"], "default",
        "no model anywhere: the client's placeholder"
    );
}

#[tokio::test]
async fn malformed_args_retry_then_stream_the_valid_call() {
    let h = Harness::start(&[]).await;
    h.script(
        vec![
            calls_reply(Value::Null, &[("search", "{\"q\": ")]),
            valid_call(),
        ],
        false,
    )
    .await;
    let (status, _, events) = h
        .post_sse("/v1/chat/completions", &tool_request(true))
        .await;
    assert_eq!(status, 200);
    let call = events
        .iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| e.json())
        .find_map(|c| c["choices"][0]["delta"].get("tool_calls").cloned())
        .expect("the valid call is streamed, never an empty stream");
    assert_eq!(call[0]["function"]["name"], "search");
}

fn anthropic_text(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_down", "type": "message", "role": "assistant", "model": "claude-in",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 11, "output_tokens": 2}
    }))
}

fn anthropic_tool_use() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_down", "type": "message", "role": "assistant", "model": "claude-in",
        "content": [{"type": "tool_use", "id": "toolu_down", "name": "search", "input": {"q": "x"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 12, "output_tokens": 4}
    }))
}

async fn path1() -> Harness {
    let backend = MockServer::start().await;
    let uri = backend.uri();
    Harness::start_with(
        backend,
        &[
            "forge-proxy",
            "--backend-url",
            &uri,
            "--backend-protocol",
            "anthropic",
            "--backend-api-key",
            "sk-ant-test",
            "--port",
            "0",
            "--backend-timeout",
            "0.5",
        ],
    )
    .await
}

fn path1_request() -> Value {
    json!({"model": "claude-in", "max_tokens": 50, "stream": false,
        "metadata": {"user_id": "u1"}, "stop_sequences": ["</done>"],
        "system": [{"type": "text", "text": "S", "cache_control": {"type": "ephemeral"}}],
        "tools": anthropic_tools(), "messages": [{"role": "user", "content": "find x"}]})
}

#[tokio::test]
async fn path1_clean_attempt_forwards_the_anthropic_body_verbatim() {
    let h = path1().await;
    script_at(
        &h.backend,
        "/v1/messages",
        vec![anthropic_tool_use()],
        false,
    )
    .await;
    let (status, body) = h
        .post_json("/v1/messages?beta=true", &path1_request())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(body["content"][0]["input"], json!({"q": "x"}));
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 12, "output_tokens": 4})
    );
    let sent = &h.backend_bodies("/v1/messages").await[0];
    assert_eq!(
        sent["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert_eq!(sent["metadata"], json!({"user_id": "u1"}));
    assert_eq!(sent["model"], "claude-in");
    assert_eq!(sent["tools"], anthropic_tools());
    let received = h.backend.received_requests().await.unwrap();
    assert_eq!(received[0].headers["x-api-key"], "sk-ant-test");
}

#[tokio::test]
async fn path1_retry_keeps_the_requests_model_and_anthropic_shaped_fields() {
    let h = path1().await;
    script_at(
        &h.backend,
        "/v1/messages",
        vec![anthropic_text("I will search."), anthropic_tool_use()],
        false,
    )
    .await;
    let (status, body) = h.post_json("/v1/messages", &path1_request()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stop_reason"], "tool_use");
    let sent = h.backend_bodies("/v1/messages").await;
    assert_eq!(sent.len(), 2);
    let retry = &sent[1];
    assert_eq!(
        retry["model"], "claude-in",
        "never the `claude` placeholder"
    );
    assert!(
        retry.get("stop").is_none(),
        "no OpenAI-shaped fields on an Anthropic call: {retry}"
    );
    assert_eq!(retry["stop_sequences"], json!(["</done>"]));
    let last = retry["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "user");
    assert!(last.to_string().contains("not a valid tool call"), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_request_of_a_client_that_left_never_reaches_the_backend() {
    let backend = MockServer::start().await;
    let uri = backend.uri();
    let h = Harness::start_with(
        backend,
        &[
            "forge-proxy",
            "--backend-url",
            &uri,
            "--serialize",
            "--port",
            "0",
            "--backend-timeout",
            "10",
        ],
    )
    .await;
    h.script(
        vec![text_reply("slow").set_delay(Duration::from_millis(1500))],
        true,
    )
    .await;
    let url = format!("{}/v1/chat/completions", h.url);
    let chat = json!({"messages": [{"role": "user", "content": "hi"}]});
    let first = tokio::spawn({
        let (url, chat) = (url.clone(), chat.clone());
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&chat)
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    assert!(
        impatient.post(&url).json(&chat).send().await.is_err(),
        "the second client gives up while queued"
    );
    assert_eq!(first.await.unwrap(), 200);
    // Give a wrongly-dispatched queued request the chance to show up at the backend.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.backend_bodies("/v1/chat/completions").await.len(), 1);
}

#[tokio::test]
async fn path1_streaming_request_is_answered_as_sse_from_a_non_streamed_downstream_call() {
    let h = path1().await;
    script_at(
        &h.backend,
        "/v1/messages",
        vec![anthropic_tool_use()],
        false,
    )
    .await;
    let mut request = path1_request();
    request["stream"] = json!(true);
    let (status, _, events) = h.post_sse("/v1/messages", &request).await;
    assert_eq!(status, 200);
    assert_eq!(events[0].event.as_deref(), Some("message_start"));
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("message_stop")
    );
    let sent = &h.backend_bodies("/v1/messages").await[0];
    assert_ne!(
        sent["stream"],
        json!(true),
        "the downstream call is not streamed: {sent}"
    );
    assert_eq!(
        sent["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
}
