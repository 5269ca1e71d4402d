//! The vLLM client against a mock server: spec 02 §9.3 and the backend defects it must not copy.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::time::Duration;

use forge_client::{HttpConfig, InferenceRequest, LlmClient};
use forge_types::{
    BackendError, Completion, LlmResponse, SamplingParams, StreamChunk, TokenUsage, ToolCall,
    ToolSpec,
};
use forge_vllm::{VllmClient, VllmConfig};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MODEL: &str = "/models/gemma-4-26B-A4B-it-AWQ-4bit";

fn weather_tool() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Get get_weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn request() -> InferenceRequest {
    InferenceRequest {
        messages: vec![json!({"role": "user", "content": "Weather in Paris?"})],
        tools: vec![weather_tool()],
        ..Default::default()
    }
}

fn config(server: &MockServer) -> VllmConfig {
    VllmConfig::new(format!("{}/v1", server.uri())).model(MODEL)
}

fn client(server: &MockServer) -> VllmClient {
    VllmClient::new(config(server)).unwrap()
}

fn reply(message: Value) -> Value {
    json!({"id": "chatcmpl-1", "object": "chat.completion",
           "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
}

fn weather_call(arguments: Value) -> Value {
    json!({"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}})
}

async fn mount_chat(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn send_with(message: Value, think: bool) -> Completion {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(message)),
    )
    .await;
    let client = VllmClient::new(config(&server).think(think)).unwrap();
    client.send(&request()).await.unwrap()
}

async fn last_body(server: &MockServer) -> Value {
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    serde_json::from_slice(&requests.last().unwrap().body).unwrap()
}

fn call(args: Value, reasoning: Option<&str>) -> LlmResponse {
    LlmResponse::ToolCalls(vec![ToolCall {
        reasoning: reasoning.map(str::to_owned),
        ..ToolCall::new("get_weather", args.as_object().cloned().unwrap())
    }])
}

#[tokio::test]
async fn non_streaming_responses_resolve_per_policy() {
    // (assistant message, think, expected response)
    let cases: Vec<(Value, bool, LlmResponse)> = vec![
        (
            json!({"role": "assistant", "content": null, "tool_calls": [weather_call(json!("{\"city\": \"Paris\"}"))]}),
            true,
            call(json!({"city": "Paris"}), None),
        ),
        (
            json!({"role": "assistant", "content": "PONG", "tool_calls": []}),
            true,
            LlmResponse::text("PONG"),
        ),
        (
            json!({"content": null, "tool_calls": [weather_call(json!("{\"city\": \"Paris\", \"units\": \"metric\"}"))]}),
            true,
            call(json!({"city": "Paris", "units": "metric"}), None),
        ),
        (
            json!({"content": null, "reasoning": "I should check the weather first.", "tool_calls": [weather_call(json!("{\"city\": \"Paris\"}"))]}),
            true,
            call(
                json!({"city": "Paris"}),
                Some("I should check the weather first."),
            ),
        ),
        (
            json!({"content": null, "reasoning": "thought", "tool_calls": [weather_call(json!("{\"city\": \"Paris\"}"))]}),
            false,
            call(json!({"city": "Paris"}), None),
        ),
        (
            json!({"content": "", "reasoning_content": "older field", "tool_calls": [weather_call(json!("{\"city\": \"Paris\"}"))]}),
            true,
            call(json!({"city": "Paris"}), Some("older field")),
        ),
        (
            json!({"content": "<think>inline</think>", "tool_calls": [weather_call(json!("{\"city\": \"Paris\"}"))]}),
            true,
            call(json!({"city": "Paris"}), Some("inline")),
        ),
        (
            json!({"content": "Let me look.", "tool_calls": [weather_call(json!({"city": "Paris"}))]}),
            true,
            call(json!({"city": "Paris"}), Some("Let me look.")),
        ),
        (
            json!({"content": "", "tool_calls": [weather_call(json!(""))]}),
            true,
            call(json!({}), None),
        ),
        (
            json!({"content": "", "tool_calls": [{"function": {"name": "get_weather"}}]}),
            true,
            call(json!({}), None),
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
async fn unusable_arguments_send_the_whole_response_to_the_retry_path() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"content": null, "tool_calls": [weather_call(json!("{\"city\": "))]}),
            "{\"city\": ",
        ),
        (
            json!({"content": "Let me look that up.", "tool_calls": [weather_call(json!("{broken"))]}),
            "Let me look that up.",
        ),
        (
            json!({"content": null, "tool_calls": [weather_call(json!(null))]}),
            "null",
        ),
        (
            json!({"content": null, "tool_calls": [weather_call(json!(123))]}),
            "123",
        ),
        (
            json!({"content": null, "tool_calls": [weather_call(json!("[1, 2]"))]}),
            "[1, 2]",
        ),
        (
            json!({"content": null, "tool_calls": [weather_call(json!(["a"]))]}),
            "[\"a\"]",
        ),
        (
            json!({"content": null, "tool_calls": [weather_call(json!("{\"city\": \"A\"}")), weather_call(json!("{broken"))]}),
            "{broken",
        ),
        (
            json!({"content": "<think>r</think>", "tool_calls": [weather_call(json!("{broken"))]}),
            "{broken",
        ),
    ];
    for (message, text) in cases {
        let response = send_with(message.clone(), true).await.response;
        assert_eq!(response.as_text(), Some(text), "{message}");
    }
}

#[tokio::test]
async fn parallel_calls_keep_order_and_reasoning_sits_on_the_first() {
    let message = json!({"content": null, "reasoning": "because", "tool_calls": [
        {"function": {"name": "a", "arguments": "{}"}}, {"function": {"name": "b", "arguments": "{\"x\": 1}"}}]});
    let LlmResponse::ToolCalls(calls) = send_with(message, true).await.response else {
        panic!("calls expected")
    };
    let summary: Vec<(&str, Option<&str>)> = calls
        .iter()
        .map(|c| (c.tool.as_str(), c.reasoning.as_deref()))
        .collect();
    assert_eq!(summary, vec![("a", Some("because")), ("b", None)]);
    assert_eq!(calls[1].args["x"], 1);
}

#[tokio::test]
async fn text_answers_lose_think_tags_and_keep_them_as_reasoning() {
    let completion = send_with(json!({"content": "<think>hmm</think>PONG"}), true).await;
    let LlmResponse::Text(text) = completion.response else {
        panic!("text expected")
    };
    assert_eq!(
        (text.content.as_str(), text.reasoning.as_deref()),
        ("PONG", Some("hmm"))
    );
}

#[tokio::test]
async fn usage_is_returned_with_its_response_and_never_reused() {
    let server = MockServer::start().await;
    let with_usage = json!({"choices": [{"message": {"content": "a"}}], "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}});
    let without_usage = json!({"choices": [{"message": {"content": "b"}}]});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(with_usage))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(without_usage))
        .mount(&server)
        .await;
    let client = client(&server);
    let first = client.send(&request()).await.unwrap();
    assert_eq!(first.usage, Some(TokenUsage::new(100, 20)));
    let second = client.send(&request()).await.unwrap();
    assert_eq!(
        second.usage, None,
        "no stale usage from the previous response"
    );
}

#[tokio::test]
async fn broken_envelopes_are_invalid_responses() {
    let bodies = [
        json!({"choices": [], "usage": {}}).to_string(),
        json!({"object": "error"}).to_string(),
        "not json".to_owned(),
        json!({"choices": [{"message": {"content": 5}}]}).to_string(),
        json!({"choices": [{"message": {"content": "", "reasoning": 5, "tool_calls": [weather_call(json!("{}"))]}}]}).to_string(),
        json!({"choices": [{"message": {"tool_calls": {"not": "a list"}}}]}).to_string(),
    ];
    for body in bodies {
        let server = MockServer::start().await;
        mount_chat(
            &server,
            ResponseTemplate::new(200).set_body_string(body.clone()),
        )
        .await;
        let err = client(&server).send(&request()).await.unwrap_err();
        assert!(
            matches!(err, BackendError::InvalidResponse { .. }),
            "{body}: {err}"
        );
    }
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"choices": []})),
    )
    .await;
    assert!(client(&server)
        .send(&request())
        .await
        .unwrap_err()
        .to_string()
        .contains("no choices"));
}

#[tokio::test]
async fn every_error_status_is_a_typed_http_error_never_content() {
    for status in [400u16, 401, 403, 404, 408, 422, 429, 500, 502, 503] {
        let server = MockServer::start().await;
        mount_chat(
            &server,
            ResponseTemplate::new(status).set_body_string("bad gateway"),
        )
        .await;
        let client = client(&server);
        let err = client.send(&request()).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "send {status}");
        assert!(err.to_string().contains("bad gateway"));
        let err = client.send_stream(&request()).await.err().unwrap();
        assert_eq!(err.status(), Some(status), "stream {status}");
    }
}

#[tokio::test]
async fn a_slow_server_is_a_timeout() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(reply(json!({"content": "late"})))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let http = HttpConfig::with_timeout(Duration::from_millis(200));
    let client = VllmClient::new(config(&server).http(http)).unwrap();
    assert!(client.send(&request()).await.unwrap_err().is_timeout());
    assert!(client
        .send_stream(&request())
        .await
        .err()
        .unwrap()
        .is_timeout());
}

#[tokio::test]
async fn request_body_carries_tools_sampling_and_passthrough() {
    let server = MockServer::start().await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
    )
    .await;
    let instance = SamplingParams {
        temperature: Some(1.0),
        top_p: Some(0.85),
        ..Default::default()
    };
    let client = VllmClient::new(config(&server).sampling(instance)).unwrap();
    let request = InferenceRequest {
        sampling: SamplingParams {
            temperature: Some(0.0),
            seed: Some(42),
            ..Default::default()
        },
        passthrough: json!({"max_tokens": 64, "stop": ["END"]})
            .as_object()
            .cloned()
            .unwrap(),
        ..request()
    };
    client.send(&request).await.unwrap();
    insta::assert_json_snapshot!(
        "send_body_with_tools_sampling_passthrough",
        last_body(&server).await
    );

    client
        .send(&InferenceRequest {
            tools: Vec::new(),
            ..self::request()
        })
        .await
        .unwrap();
    let body = last_body(&server).await;
    assert!(
        body.get("tools").is_none() && body.get("tool_choice").is_none(),
        "{body}"
    );
    assert_eq!(
        body["temperature"], 1.0,
        "instance value when the call sets none"
    );
}

#[tokio::test]
async fn auth_and_extra_headers_reach_the_server() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer secret"))
        .and(header("x-title", "forge"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))))
        .mount(&server)
        .await;
    let http = HttpConfig::with_timeout(Duration::from_secs(5))
        .api_key("secret")
        .header("X-Title", "forge");
    let client = VllmClient::new(config(&server).http(http)).unwrap();
    assert_eq!(
        client.send(&request()).await.unwrap().response,
        LlmResponse::text("ok")
    );
}

#[tokio::test]
async fn unpinned_client_adopts_the_served_name_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"data": [{"id": "google/gemma-4-26B-A4B-it", "max_model_len": 262144}]}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
    )
    .await;
    let client = VllmClient::new(VllmConfig::new(format!("{}/v1", server.uri()))).unwrap();
    assert!(!client.is_pinned());
    client.send(&request()).await.unwrap();
    client.send(&request()).await.unwrap();
    let identity = client.identity().await.unwrap();
    assert_eq!(
        (identity.wire(), identity.sampling_key()),
        ("google/gemma-4-26B-A4B-it", "gemma-4-26B-A4B-it")
    );
    assert_eq!(
        last_body(&server).await["model"],
        "google/gemma-4-26B-A4B-it"
    );
    // The second catalog read is context_length's; discovery itself ran once.
    assert_eq!(client.context_length().await.unwrap(), Some(262144));
}

#[tokio::test]
async fn unpinned_client_without_served_models_fails_loudly() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    let client = VllmClient::new(VllmConfig::new(format!("{}/v1", server.uri()))).unwrap();
    assert!(client
        .send(&request())
        .await
        .unwrap_err()
        .to_string()
        .contains("lists none"));
    let refused = VllmClient::new(VllmConfig::new("http://127.0.0.1:1/v1")).unwrap();
    assert!(matches!(
        refused.send(&request()).await.unwrap_err(),
        BackendError::Transport { .. }
    ));
}

#[tokio::test]
async fn pinned_model_is_sent_verbatim_without_discovery() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    mount_chat(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!({"content": "ok"}))),
    )
    .await;
    client(&server).send(&request()).await.unwrap();
    assert_eq!(last_body(&server).await["model"], MODEL);
}

#[tokio::test]
async fn context_length_reads_the_models_own_catalog_row() {
    let cases: Vec<(Value, Result<Option<u64>, &str>)> = vec![
        (
            json!({"data": [{"id": MODEL, "max_model_len": 113000}]}),
            Ok(Some(113000)),
        ),
        (
            json!({"data": [{"id": "other", "max_model_len": 4096}, {"id": MODEL, "max_model_len": 8192}]}),
            Ok(Some(8192)),
        ),
        (json!({"data": [{"id": MODEL}]}), Ok(None)),
        (
            json!({"data": [{"id": "other", "max_model_len": 4096}]}),
            Ok(None),
        ),
        (json!({"data": []}), Err("no entries")),
    ];
    for (catalog, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/models"))
            .respond_with(ResponseTemplate::new(200).set_body_json(catalog.clone()))
            .mount(&server)
            .await;
        let got = client(&server)
            .context_length()
            .await
            .map_err(|err| err.to_string());
        match expected {
            Ok(value) => assert_eq!(got, Ok(value), "{catalog}"),
            Err(phrase) => assert!(got.unwrap_err().contains(phrase), "{catalog}"),
        }
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    assert_eq!(
        client(&server).context_length().await.unwrap_err().status(),
        Some(503)
    );
}

// ---- streaming ----

fn sse(lines: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(lines.join("\n") + "\n")
}

/// Every item of the stream: chunks, then the error if one ended it.
async fn stream_all(server: &MockServer, think: bool) -> (Vec<StreamChunk>, Option<BackendError>) {
    let client = VllmClient::new(config(server).think(think)).unwrap();
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

async fn stream_lines(lines: &[&str], think: bool) -> (Vec<StreamChunk>, Option<BackendError>) {
    let server = MockServer::start().await;
    mount_chat(&server, sse(lines)).await;
    stream_all(&server, think).await
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

fn tool_deltas(chunks: &[StreamChunk]) -> usize {
    chunks
        .iter()
        .filter(|c| matches!(c, StreamChunk::ToolCallDelta { .. }))
        .count()
}

#[tokio::test]
async fn streamed_text_arrives_as_deltas_then_one_final() {
    let (chunks, err) = stream_lines(
        &[
            r#"data: {"choices":[{"delta":{"content":"PO"}}]}"#,
            "",
            r#"data: {"choices":[{"delta":{"content":"NG"}}]}"#,
            "",
            "data: [DONE]",
        ],
        true,
    )
    .await;
    assert!(err.is_none());
    assert_eq!(texts(&chunks), vec!["PO", "NG"]);
    assert_eq!(final_of(&chunks).response, LlmResponse::text("PONG"));
}

#[tokio::test]
async fn streamed_tool_call_is_assembled_with_its_reasoning_and_usage() {
    let (chunks, err) = stream_lines(&[
        r#"data: {"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
        r#"data: {"id":"c","choices":[{"index":0,"delta":{"reasoning":"Let me "}}]}"#,
        r#"data: {"id":"c","choices":[{"index":0,"delta":{"reasoning":"think... "}}]}"#,
        r#"data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
        r#"data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]}"#,
        r#"data: {"id":"c","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":3,"total_tokens":53}}"#,
        "data: [DONE]",
    ].join("\n\n").lines().collect::<Vec<_>>(), true).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(tool_deltas(&chunks), 2);
    let completion = final_of(&chunks);
    assert_eq!(
        completion.response,
        call(json!({"city": "Paris"}), Some("Let me think... "))
    );
    assert_eq!(completion.usage, Some(TokenUsage::new(50, 3)));
}

#[tokio::test]
async fn streamed_parallel_calls_are_ordered_by_index() {
    let (chunks, _) = stream_lines(&[
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"b","arguments":"{}"}}]}}]}"#,
        "",
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"a","arguments":""}}]}}]}"#,
        "",
        "data: [DONE]",
    ], true).await;
    let LlmResponse::ToolCalls(calls) = &final_of(&chunks).response else {
        panic!("calls expected")
    };
    assert_eq!(
        calls.iter().map(|c| c.tool.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
}

#[tokio::test]
async fn streamed_malformed_arguments_go_to_the_retry_path() {
    let (chunks, err) = stream_lines(&[
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_weather","arguments":"{\"city\": "}}]}}]}"#,
        "",
        r#"data: {"choices":[{"delta":{"content":"let me try again"}}]}"#,
        "",
        "data: [DONE]",
    ], true).await;
    assert!(err.is_none());
    assert_eq!(
        final_of(&chunks).response,
        LlmResponse::text("let me try again")
    );
}

#[tokio::test]
async fn streamed_keepalives_and_comments_are_ignored() {
    let (chunks, _) = stream_lines(
        &[
            "",
            ":keepalive",
            r#"data: {"choices":[{"delta":{"content":"OK"}}]}"#,
            "",
            "data: [DONE]",
        ],
        true,
    )
    .await;
    assert_eq!(texts(&chunks), vec!["OK"]);
    assert_eq!(final_of(&chunks).response, LlmResponse::text("OK"));
}

#[tokio::test]
async fn stream_without_done_is_truncated_not_a_silent_success() {
    let (chunks, err) = stream_lines(
        &[r#"data: {"choices":[{"delta":{"content":"par"}}]}"#, ""],
        true,
    )
    .await;
    assert!(chunks.iter().all(|c| !matches!(c, StreamChunk::Final(_))));
    assert!(
        matches!(err, Some(BackendError::Truncated { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn in_stream_error_ends_the_stream_with_an_error() {
    let (chunks, err) = stream_lines(
        &[
            r#"data: {"choices":[{"delta":{"content":"a"}}]}"#,
            "",
            r#"data: {"error":{"message":"model crashed","type":"server_error"}}"#,
            "",
        ],
        true,
    )
    .await;
    assert!(chunks.iter().all(|c| !matches!(c, StreamChunk::Final(_))));
    let Some(BackendError::InStream { message, .. }) = err else {
        panic!("in-stream error expected, got {err:?}")
    };
    assert!(message.contains("model crashed"));
}

#[tokio::test]
async fn streaming_body_asks_for_usage() {
    let server = MockServer::start().await;
    mount_chat(&server, sse(&["data: [DONE]"])).await;
    let (chunks, _) = stream_all(&server, true).await;
    assert_eq!(final_of(&chunks).response, LlmResponse::text(""));
    insta::assert_json_snapshot!("stream_body", last_body(&server).await);
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_usage() {
    let server = MockServer::start().await;
    for (tag, prompt, delay) in [("A", 11u64, 300u64), ("B", 22, 0)] {
        let body = json!({"choices": [{"message": {"content": tag}}], "usage": {"prompt_tokens": prompt, "completion_tokens": 1}});
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"messages": [{"content": tag}]})))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(body)
                    .set_delay(Duration::from_millis(delay)),
            )
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let ask = |tag: &str| InferenceRequest {
        messages: vec![json!({"role": "user", "content": tag})],
        ..Default::default()
    };
    let (ask_a, ask_b) = (ask("A"), ask("B"));
    let (a, b) = tokio::join!(client.send(&ask_a), client.send(&ask_b));
    let (a, b) = (a.unwrap(), b.unwrap());
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
async fn stalling_server(first_line: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    let chunk = format!("{:x}\r\n{first_line}\n\n\r\n", first_line.len() + 2);
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut request).await;
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(chunk.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    format!("http://{address}/v1")
}

#[tokio::test]
async fn a_stream_that_stalls_mid_body_ends_with_a_timeout_error() {
    let url = stalling_server(r#"data: {"choices":[{"delta":{"content":"PO"}}]}"#).await;
    let http = HttpConfig::with_timeout(Duration::from_millis(300));
    let client = VllmClient::new(VllmConfig::new(url).model(MODEL).http(http)).unwrap();
    let mut stream = client.send_stream(&request()).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        StreamChunk::text("PO")
    );
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn streamed_object_fragment_is_a_call_not_a_crash() {
    let (chunks, err) = stream_lines(&[
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]}}]}"#,
        "",
        "data: [DONE]",
    ], true).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(
        final_of(&chunks).response,
        call(json!({"city": "Paris"}), None)
    );
}

#[test]
fn recommended_sampling_needs_a_known_pinned_model() {
    let unpinned =
        VllmClient::new(VllmConfig::new("http://127.0.0.1:1/v1").recommended_sampling(true));
    assert!(matches!(
        unpinned,
        Err(forge_types::ForgeError::InvalidInput { .. })
    ));
    let unknown = VllmClient::new(
        VllmConfig::new("http://127.0.0.1:1/v1")
            .model("org/nonexistent-model")
            .recommended_sampling(true),
    );
    assert!(
        matches!(unknown, Err(forge_types::ForgeError::UnsupportedModel { model }) if model == "nonexistent-model")
    );
}
