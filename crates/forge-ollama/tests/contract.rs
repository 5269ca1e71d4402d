//! The Ollama client against a mock daemon: spec 02 §9.4 and the backend defects it must not copy.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::time::Duration;

use forge_client::{HttpConfig, InferenceRequest, LlmClient};
use forge_ollama::{OllamaClient, OllamaConfig, ThinkMode};
use forge_types::{
    BackendError, Completion, ForgeError, LlmResponse, SamplingParams, StreamChunk, TokenUsage,
    ToolCall, ToolSpec,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn pricing_tool() -> ToolSpec {
    ToolSpec::new(
        "get_pricing",
        "Get get_pricing",
        json!({"type": "object", "properties": {"part": {"type": "string", "description": "Part number"}}, "required": ["part"]}),
    )
}

fn request() -> InferenceRequest {
    InferenceRequest {
        messages: vec![json!({"role": "user", "content": "Price of X123?"})],
        tools: vec![pricing_tool()],
        ..Default::default()
    }
}

fn config(server: &MockServer, model: &str, think: ThinkMode) -> OllamaConfig {
    OllamaConfig::new(model).base_url(server.uri()).think(think)
}

fn client(server: &MockServer, think: ThinkMode) -> OllamaClient {
    OllamaClient::new(config(server, "test-model", think)).unwrap()
}

fn reply(message: Value) -> Value {
    json!({"model": "test-model", "created_at": "2026-05-01T12:00:00Z", "message": message,
           "done": true, "done_reason": "stop", "prompt_eval_count": 42, "eval_count": 17})
}

fn pricing_call(arguments: Value) -> Value {
    json!({"function": {"name": "get_pricing", "arguments": arguments}})
}

async fn mount_chat(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/api/chat"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn send_with(message: Value, think: ThinkMode) -> Completion {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(message)),
    )
    .await;
    client(&server, think).send(&request()).await.unwrap()
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

fn call(args: Value, reasoning: Option<&str>) -> LlmResponse {
    LlmResponse::ToolCalls(vec![ToolCall {
        reasoning: reasoning.map(str::to_owned),
        ..ToolCall::new("get_pricing", args.as_object().cloned().unwrap())
    }])
}

#[tokio::test]
async fn non_streaming_responses_resolve_per_policy() {
    let part = json!({"part": "X123"});
    let cases: Vec<(Value, ThinkMode, LlmResponse)> = vec![
        (
            json!({"role": "assistant", "content": "", "tool_calls": [pricing_call(part.clone())]}),
            ThinkMode::Auto,
            call(part.clone(), None),
        ),
        (
            json!({"role": "assistant", "content": "I need more info"}),
            ThinkMode::Auto,
            LlmResponse::text("I need more info"),
        ),
        (
            json!({"content": "thinking...", "tool_calls": []}),
            ThinkMode::Auto,
            LlmResponse::text("thinking..."),
        ),
        (
            json!({"content": "I should look up the price for this part.", "tool_calls": [pricing_call(part.clone())]}),
            ThinkMode::On,
            call(
                part.clone(),
                Some("I should look up the price for this part."),
            ),
        ),
        (
            json!({"content": "Final answer text", "thinking": "I need to calculate 17 * 23 first...", "tool_calls": [pricing_call(part.clone())]}),
            ThinkMode::On,
            call(part.clone(), Some("I need to calculate 17 * 23 first...")),
        ),
        (
            json!({"content": "<think>Let me reason about this</think>", "tool_calls": [pricing_call(part.clone())]}),
            ThinkMode::Off,
            call(part.clone(), None),
        ),
        (
            json!({"content": "<think>inline</think>", "tool_calls": [pricing_call(part.clone())]}),
            ThinkMode::On,
            call(part.clone(), Some("inline")),
        ),
        (
            json!({"tool_calls": [pricing_call(part.clone())]}),
            ThinkMode::Auto,
            call(part.clone(), None),
        ),
        (
            json!({"content": "", "tool_calls": [{"function": {"name": "get_pricing"}}]}),
            ThinkMode::Auto,
            call(json!({}), None),
        ),
        (
            json!({"content": "", "tool_calls": [pricing_call(json!("{\"part\": \"X123\"}"))]}),
            ThinkMode::Auto,
            call(part.clone(), None),
        ),
    ];
    for (message, think, expected) in cases {
        assert_eq!(
            send_with(message.clone(), think).await.response,
            expected,
            "{message}"
        );
    }
}

#[tokio::test]
async fn text_answers_are_think_stripped() {
    let LlmResponse::Text(text) = send_with(
        json!({"content": "<think>hmm</think>Answer"}),
        ThinkMode::On,
    )
    .await
    .response
    else {
        panic!("text expected")
    };
    assert_eq!(
        (text.content.as_str(), text.reasoning.as_deref()),
        ("Answer", Some("hmm"))
    );
}

#[tokio::test]
async fn unusable_arguments_send_the_whole_response_to_the_retry_path() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"content": "", "tool_calls": [pricing_call(json!("{broken"))]}),
            "{broken",
        ),
        (
            json!({"content": "Let me check.", "tool_calls": [pricing_call(json!("{broken"))]}),
            "Let me check.",
        ),
        (
            json!({"content": "", "tool_calls": [pricing_call(json!(null))]}),
            "null",
        ),
        (
            json!({"content": "", "tool_calls": [pricing_call(json!([1]))]}),
            "[1]",
        ),
        (
            json!({"content": "", "tool_calls": [pricing_call(json!({"part": "A"})), pricing_call(json!(7))]}),
            "7",
        ),
    ];
    for (message, text) in cases {
        assert_eq!(
            send_with(message.clone(), ThinkMode::Off)
                .await
                .response
                .as_text(),
            Some(text),
            "{message}"
        );
    }
}

#[tokio::test]
async fn parallel_calls_keep_order_and_reasoning_sits_on_the_first() {
    let message = json!({"content": "", "thinking": "why", "tool_calls": [
        {"function": {"name": "a", "arguments": {}}}, {"function": {"name": "b", "arguments": {"x": 1}}}]});
    let LlmResponse::ToolCalls(calls) = send_with(message, ThinkMode::On).await.response else {
        panic!("calls expected")
    };
    let summary: Vec<(&str, Option<&str>)> = calls
        .iter()
        .map(|c| (c.tool.as_str(), c.reasoning.as_deref()))
        .collect();
    assert_eq!(summary, vec![("a", Some("why")), ("b", None)]);
}

#[tokio::test]
async fn usage_is_returned_with_its_response_and_never_reused() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(json!({"content": "a"}))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message": {"content": "b"}, "done": true})),
        )
        .mount(&server)
        .await;
    let client = client(&server, ThinkMode::Off);
    assert_eq!(
        client.send(&request()).await.unwrap().usage,
        Some(TokenUsage::new(42, 17))
    );
    assert_eq!(client.send(&request()).await.unwrap().usage, None);
}

#[tokio::test]
async fn request_body_snapshot_with_tools_options_and_think() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
    )
    .await;
    let instance = SamplingParams {
        temperature: Some(0.7),
        top_p: Some(0.9),
        ..Default::default()
    };
    let client =
        OllamaClient::new(config(&server, "test-model", ThinkMode::On).sampling(instance)).unwrap();
    client.set_num_ctx(Some(8000));
    let request = InferenceRequest {
        messages: vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "go"}),
            json!({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "fetch", "arguments": {}}}]}),
            json!({"role": "tool", "content": "fetch_result", "tool_name": "fetch"}),
        ],
        sampling: SamplingParams {
            temperature: Some(0.0),
            seed: Some(42),
            ..Default::default()
        },
        ..request()
    };
    client.send(&request).await.unwrap();
    insta::assert_json_snapshot!("send_body", bodies(&server).await.pop().unwrap());
    assert_eq!(
        client.instance_sampling().temperature,
        Some(0.7),
        "instance not mutated"
    );
}

#[tokio::test]
async fn default_body_has_options_without_sampling_and_no_think() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
    )
    .await;
    client(&server, ThinkMode::Off)
        .send(&request())
        .await
        .unwrap();
    let body = bodies(&server).await.pop().unwrap();
    assert_eq!(
        (&body["model"], &body["stream"], &body["options"]),
        (&json!("test-model"), &json!(false), &json!({}))
    );
    assert!(body.get("think").is_none());
    assert_eq!(body["tools"][0]["function"]["name"], "get_pricing");
}

#[tokio::test]
async fn think_flag_per_mode_and_model_name() {
    let cases = [
        (ThinkMode::On, "test-model", true),
        (ThinkMode::Off, "ministral-reasoning-14b", false),
        (ThinkMode::Auto, "ministral-reasoning-14b", true),
        (ThinkMode::Auto, "ministral-instruct-14b", false),
    ];
    for (mode, model, sent) in cases {
        let server = MockServer::start().await;
        mount_chat(
            &server,
            ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
        )
        .await;
        OllamaClient::new(config(&server, model, mode))
            .unwrap()
            .send(&request())
            .await
            .unwrap();
        let body = bodies(&server).await.pop().unwrap();
        assert_eq!(
            body.get("think") == Some(&json!(true)),
            sent,
            "{mode:?} {model}"
        );
    }
}

fn thinking_rejection(model: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"error": format!("\"{model}\" does not support thinking")}))
}

#[tokio::test]
async fn auto_thinking_falls_back_once_when_the_model_rejects_it() {
    let model = "ministral-reasoning-14b";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"think": true})))
        .respond_with(thinking_rejection(model))
        .mount(&server)
        .await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
    )
    .await;
    let client = OllamaClient::new(config(&server, model, ThinkMode::Auto)).unwrap();
    assert_eq!(
        client.send(&request()).await.unwrap().response,
        LlmResponse::text("ok")
    );
    let sent = bodies(&server).await;
    assert_eq!(sent.len(), 2);
    assert!(sent[1].get("think").is_none());
    assert!(!client.thinking_enabled());
}

#[tokio::test]
async fn explicit_thinking_rejection_is_a_typed_error_after_one_request() {
    let model = "ministral-instruct-14b";
    let server = MockServer::start().await;
    mount_chat(&server, thinking_rejection(model)).await;
    let client = OllamaClient::new(config(&server, model, ThinkMode::On)).unwrap();
    let err = client.send(&request()).await.unwrap_err();
    assert_eq!(
        err,
        BackendError::ThinkingNotSupported {
            model: model.into()
        }
    );
    assert!(err.to_string().contains("does not support thinking"));
    assert_eq!(bodies(&server).await.len(), 1);
    let err = client.send_stream(&request()).await.err().unwrap();
    assert_eq!(
        err,
        BackendError::ThinkingNotSupported {
            model: model.into()
        }
    );
}

#[tokio::test]
async fn streaming_auto_thinking_falls_back_once() {
    let model = "ministral-reasoning-14b";
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"think": true})))
        .respond_with(thinking_rejection(model))
        .mount(&server)
        .await;
    mount_chat(
        &server,
        ndjson(&[r#"{"message":{"role":"assistant","content":"ok"},"done":true}"#]),
    )
    .await;
    let client = OllamaClient::new(config(&server, model, ThinkMode::Auto)).unwrap();
    let (chunks, err) = drain(&client).await;
    assert!(err.is_none());
    assert_eq!(
        texts(&chunks),
        vec!["ok"],
        "the done line's text is streamed too"
    );
    assert_eq!(final_of(&chunks).response, LlmResponse::text("ok"));
    assert!(!client.thinking_enabled());
    assert_eq!(bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn every_error_status_is_a_typed_http_error_never_content() {
    for status in [400u16, 401, 403, 404, 429, 500, 502, 503] {
        let server = MockServer::start().await;
        mount_chat(
            &server,
            ResponseTemplate::new(status).set_body_json(json!({"error": "model runner crashed"})),
        )
        .await;
        let client = client(&server, ThinkMode::Off);
        let err = client.send(&request()).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "send {status}");
        assert!(err.to_string().contains("model runner crashed"));
        assert_eq!(
            client.send_stream(&request()).await.err().unwrap().status(),
            Some(status),
            "stream {status}"
        );
    }
}

#[tokio::test]
async fn a_slow_daemon_is_a_timeout() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(reply(json!({"content": "late"})))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let http = HttpConfig::with_timeout(Duration::from_millis(200));
    let client =
        OllamaClient::new(config(&server, "test-model", ThinkMode::Off).http(http)).unwrap();
    assert!(client.send(&request()).await.unwrap_err().is_timeout());
    assert!(client
        .send_stream(&request())
        .await
        .err()
        .unwrap()
        .is_timeout());
}

#[tokio::test]
async fn in_band_error_in_a_200_body_is_an_error() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"error": "out of memory"})),
    )
    .await;
    let err = client(&server, ThinkMode::Off)
        .send(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BackendError::InStream { message, .. } if message == "out of memory"),
        "{err}"
    );
}

#[tokio::test]
async fn extra_headers_reach_the_daemon() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))))
        .mount(&server)
        .await;
    let http = HttpConfig::with_timeout(Duration::from_secs(5)).api_key("tok");
    let client =
        OllamaClient::new(config(&server, "test-model", ThinkMode::Off).http(http)).unwrap();
    assert_eq!(
        client.send(&request()).await.unwrap().response,
        LlmResponse::text("ok")
    );
}

#[tokio::test]
async fn context_length_is_the_configured_num_ctx() {
    let server = MockServer::start().await;
    let client = client(&server, ThinkMode::Off);
    assert_eq!(client.context_length().await.unwrap(), None);
    client.set_num_ctx(Some(8000));
    assert_eq!(client.context_length().await.unwrap(), Some(8000));
    client.set_num_ctx(None);
    assert_eq!(client.context_length().await.unwrap(), None);
}

#[test]
fn recommended_sampling_is_strict_about_unknown_models() {
    let known = OllamaClient::new(OllamaConfig::new("qwen3:8b-q4_K_M").recommended_sampling(true));
    match known {
        Ok(client) => assert!(client.instance_sampling().temperature.is_some()),
        Err(err) => panic!("qwen3 should be in the sampling map: {err}"),
    }
    let unknown =
        OllamaClient::new(OllamaConfig::new("nonexistent-model:1b").recommended_sampling(true));
    assert!(matches!(unknown, Err(ForgeError::UnsupportedModel { .. })));
    let explicit = OllamaClient::new(
        OllamaConfig::new("qwen3:8b-q4_K_M")
            .recommended_sampling(true)
            .sampling(SamplingParams {
                temperature: Some(0.99),
                ..Default::default()
            }),
    )
    .unwrap();
    assert_eq!(explicit.instance_sampling().temperature, Some(0.99));
    let off = OllamaClient::new(OllamaConfig::new("qwen3:8b-q4_K_M")).unwrap();
    assert_eq!(off.instance_sampling(), &SamplingParams::default());
}

// ---- streaming ----

fn ndjson(lines: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-ndjson")
        .set_body_string(lines.join("\n") + "\n")
}

async fn drain(client: &OllamaClient) -> (Vec<StreamChunk>, Option<BackendError>) {
    let mut stream = client.send_stream(&request()).await.unwrap();
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => chunks.push(chunk),
            Err(err) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (chunks, Some(err));
            }
        }
    }
    (chunks, None)
}

async fn stream_lines(
    lines: &[&str],
    think: ThinkMode,
) -> (Vec<StreamChunk>, Option<BackendError>) {
    let server = MockServer::start().await;
    mount_chat(&server, ndjson(lines)).await;
    drain(&client(&server, think)).await
}

fn final_of(chunks: &[StreamChunk]) -> &Completion {
    let finals: Vec<&Completion> = chunks
        .iter()
        .filter_map(|c| {
            if let StreamChunk::Final(f) = c {
                Some(f)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(finals.len(), 1, "exactly one final: {chunks:?}");
    assert!(
        matches!(chunks.last(), Some(StreamChunk::Final(_))),
        "final comes last"
    );
    finals[0]
}

fn texts(chunks: &[StreamChunk]) -> Vec<&str> {
    chunks
        .iter()
        .filter_map(|c| {
            if let StreamChunk::TextDelta { content } = c {
                Some(content.as_str())
            } else {
                None
            }
        })
        .collect()
}

#[tokio::test]
async fn streamed_text_arrives_as_deltas_then_one_final() {
    let (chunks, err) = stream_lines(&[
        r#"{"message":{"role":"assistant","content":"Hello"},"done":false}"#,
        r#"{"message":{"role":"assistant","content":" world"},"done":false}"#,
        r#"{"message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":30,"eval_count":8}"#,
    ], ThinkMode::Off).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(texts(&chunks), vec!["Hello", " world"]);
    let completion = final_of(&chunks);
    assert_eq!(completion.response, LlmResponse::text("Hello world"));
    assert_eq!(completion.usage, Some(TokenUsage::new(30, 8)));
}

#[tokio::test]
async fn streamed_tool_calls_on_any_line_are_all_kept() {
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":{"part":"X"}}}]},"done":true}"#,
            ],
            vec!["get_pricing"],
        ),
        (
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"id":"call_abc","function":{"index":0,"name":"get_pricing","arguments":{"part":"X"}}}]},"done":false}"#,
                r#"{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop"}"#,
            ],
            vec!["get_pricing"],
        ),
        (
            vec![
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"index":0,"name":"a","arguments":{}}}]},"done":false}"#,
                r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"index":1,"name":"b","arguments":{"x":1}}}]},"done":false}"#,
                r#"{"message":{"role":"assistant","content":""},"done":true}"#,
            ],
            vec!["a", "b"],
        ),
    ];
    for (lines, names) in cases {
        let (chunks, err) = stream_lines(&lines, ThinkMode::Off).await;
        assert!(err.is_none(), "{err:?}");
        let LlmResponse::ToolCalls(calls) = &final_of(&chunks).response else {
            panic!("calls expected: {chunks:?}")
        };
        assert_eq!(
            calls.iter().map(|c| c.tool.as_str()).collect::<Vec<_>>(),
            names
        );
    }
}

#[tokio::test]
async fn streamed_reasoning_from_thinking_or_content() {
    let call_line = r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":{"part":"X"}}}]},"done":true}"#;
    let cases: Vec<(Vec<&str>, ThinkMode, Option<&str>)> = vec![
        (
            vec![
                r#"{"message":{"content":"Let me "},"done":false}"#,
                r#"{"message":{"content":"think..."},"done":false}"#,
                call_line,
            ],
            ThinkMode::On,
            Some("Let me think..."),
        ),
        (
            vec![
                r#"{"message":{"content":"","thinking":"Let me "},"done":false}"#,
                r#"{"message":{"content":"","thinking":"reason..."},"done":false}"#,
                r#"{"message":{"content":"Final."},"done":false}"#,
                call_line,
            ],
            ThinkMode::On,
            Some("Let me reason..."),
        ),
        (
            vec![
                r#"{"message":{"content":"Let me "},"done":false}"#,
                call_line,
            ],
            ThinkMode::Off,
            None,
        ),
        (vec![call_line], ThinkMode::Auto, None),
    ];
    for (lines, think, reasoning) in cases {
        let (chunks, _) = stream_lines(&lines, think).await;
        let LlmResponse::ToolCalls(calls) = &final_of(&chunks).response else {
            panic!("calls expected")
        };
        assert_eq!(calls[0].reasoning.as_deref(), reasoning, "{lines:?}");
    }
}

#[tokio::test]
async fn streamed_unusable_arguments_go_to_the_retry_path() {
    let (chunks, _) = stream_lines(&[
        r#"{"message":{"content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":"{broken"}}]},"done":true}"#,
    ], ThinkMode::Off).await;
    assert_eq!(final_of(&chunks).response, LlmResponse::text("{broken"));
}

#[tokio::test]
async fn stream_errors_end_with_an_error_never_silently() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![r#"{"message":{"content":"Hel"},"done":false}"#],
            "truncated",
        ),
        (
            vec![
                r#"{"message":{"content":"Hel"},"done":false}"#,
                r#"{"error":"model runner has unexpectedly stopped"}"#,
            ],
            "in_stream",
        ),
        (
            vec![r#"{"message":{"content":"Hel"},"done":false}"#, "not json"],
            "invalid",
        ),
    ];
    for (lines, kind) in cases {
        let (chunks, err) = stream_lines(&lines, ThinkMode::Off).await;
        assert!(
            chunks.iter().all(|c| !matches!(c, StreamChunk::Final(_))),
            "{lines:?}"
        );
        let got = match err {
            Some(BackendError::Truncated { .. }) => "truncated",
            Some(BackendError::InStream { .. }) => "in_stream",
            Some(BackendError::InvalidResponse { .. }) => "invalid",
            other => panic!("{lines:?}: unexpected {other:?}"),
        };
        assert_eq!(got, kind, "{lines:?}");
    }
}

#[tokio::test]
async fn streaming_body_snapshot() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ndjson(&[r#"{"message":{"content":"ok"},"done":true}"#]),
    )
    .await;
    let (chunks, _) = drain(&client(&server, ThinkMode::On)).await;
    assert_eq!(final_of(&chunks).response, LlmResponse::text("ok"));
    insta::assert_json_snapshot!("stream_body", bodies(&server).await.pop().unwrap());
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_usage() {
    let server = MockServer::start().await;
    for (tag, prompt, delay) in [("A", 11u64, 300u64), ("B", 22, 0)] {
        let line = json!({"message": {"content": tag}, "done": true, "prompt_eval_count": prompt, "eval_count": 1}).to_string();
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"messages": [{"content": tag}]})))
            .respond_with(ndjson(&[&line]).set_delay(Duration::from_millis(delay)))
            .mount(&server)
            .await;
    }
    let client = client(&server, ThinkMode::Off);
    let ask = |tag: &str| InferenceRequest {
        messages: vec![json!({"role": "user", "content": tag})],
        ..Default::default()
    };
    let run = |request: InferenceRequest| {
        let client = &client;
        async move {
            let mut stream = client.send_stream(&request).await.unwrap();
            let mut last = None;
            while let Some(chunk) = stream.next().await {
                last = Some(chunk.unwrap());
            }
            match last {
                Some(StreamChunk::Final(completion)) => completion,
                other => panic!("final expected, got {other:?}"),
            }
        }
    };
    let (a, b) = tokio::join!(run(ask("A")), run(ask("B")));
    assert_eq!(
        (a.response.as_text(), a.usage.map(|u| u.prompt_tokens)),
        (Some("A"), Some(11))
    );
    assert_eq!(
        (b.response.as_text(), b.usage.map(|u| u.prompt_tokens)),
        (Some("B"), Some(22))
    );
}

/// A server that answers 200, sends `first_line` as the start of a chunked body, then stalls.
async fn stalling_server(content_type: &str, first_line: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let chunk = format!("{:x}\r\n{first_line}\n\r\n", first_line.len() + 1);
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut request).await;
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(chunk.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    format!("http://{address}")
}

#[tokio::test]
async fn a_stream_that_stalls_mid_body_ends_with_a_timeout_error() {
    let url = stalling_server(
        "application/x-ndjson",
        r#"{"message":{"content":"Hel"},"done":false}"#,
    )
    .await;
    let http = HttpConfig::with_timeout(Duration::from_millis(300));
    let client = OllamaClient::new(
        OllamaConfig::new("test-model")
            .base_url(url)
            .think(ThinkMode::Off)
            .http(http),
    )
    .unwrap();
    let (chunks, err) = drain(&client).await;
    assert_eq!(texts(&chunks), vec!["Hel"]);
    assert!(
        err.as_ref().is_some_and(BackendError::is_timeout),
        "{err:?}"
    );
}
