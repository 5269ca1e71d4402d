//! The Anthropic client against a mock Messages API: spec 02 §9.5 and the defects it must not copy.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::time::Duration;

use forge_anthropic::{AnthropicClient, AnthropicConfig};
use forge_client::{HttpConfig, InferenceRequest, LlmClient};
use forge_types::{
    BackendError, Completion, ForgeError, JsonObject, LlmResponse, StreamChunk, TokenUsage,
    ToolCall, ToolSpec,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MODEL: &str = "claude-sonnet-4-6";

fn weather_tool() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Get get_weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn request() -> InferenceRequest {
    InferenceRequest {
        messages: vec![
            json!({"role": "system", "content": "be helpful"}),
            json!({"role": "user", "content": "Weather in Paris?"}),
        ],
        tools: vec![weather_tool()],
        ..Default::default()
    }
}

fn config(server: &MockServer) -> AnthropicConfig {
    AnthropicConfig::new("sk-test")
        .base_url(server.uri())
        .model(MODEL)
}

fn client(server: &MockServer) -> AnthropicClient {
    AnthropicClient::new(config(server)).unwrap()
}

fn object(value: Value) -> JsonObject {
    value.as_object().cloned().unwrap()
}

fn reply(content: Value) -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": content,
           "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 12, "output_tokens": 7}})
}

async fn mount_messages(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(response)
        .mount(server)
        .await;
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn send_with(content: Value) -> Completion {
    let server = MockServer::start().await;
    mount_messages(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(content)),
    )
    .await;
    client(&server).send(&request()).await.unwrap()
}

fn tool_use(input: Value) -> Value {
    json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": input})
}

fn call(args: Value, reasoning: Option<&str>) -> LlmResponse {
    LlmResponse::ToolCalls(vec![ToolCall {
        reasoning: reasoning.map(str::to_owned),
        ..ToolCall::new("get_weather", args.as_object().cloned().unwrap())
    }])
}

#[tokio::test]
async fn non_streaming_responses_resolve_per_policy() {
    let cases: Vec<(Value, LlmResponse)> = vec![
        (
            json!([{"type": "text", "text": "Hello!"}]),
            LlmResponse::text("Hello!"),
        ),
        (
            json!([tool_use(json!({"city": "Paris"}))]),
            call(json!({"city": "Paris"}), None),
        ),
        (
            json!([{"type": "text", "text": "Let me check the weather."}, tool_use(json!({"city": "Paris"}))]),
            call(json!({"city": "Paris"}), Some("Let me check the weather.")),
        ),
        (
            json!([{"type": "thinking", "thinking": "Paris first.", "signature": "sig"}, tool_use(json!({"city": "Paris"}))]),
            call(json!({"city": "Paris"}), Some("Paris first.")),
        ),
        (json!([]), LlmResponse::text("")),
        (
            json!([tool_use(json!("not an object"))]),
            LlmResponse::text("not an object"),
        ),
        (
            json!([tool_use(json!({})), tool_use(json!(null))]),
            LlmResponse::text("null"),
        ),
    ];
    for (content, expected) in cases {
        assert_eq!(
            send_with(content.clone()).await.response,
            expected,
            "{content}"
        );
    }
}

#[tokio::test]
async fn usage_comes_back_with_each_response() {
    let server = MockServer::start().await;
    let cached = json!({"content": [{"type": "text", "text": "a"}], "usage": {"input_tokens": 12, "output_tokens": 7, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 100}});
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(cached))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"content": []})))
        .mount(&server)
        .await;
    let client = client(&server);
    let usage = client.send(&request()).await.unwrap().usage.unwrap();
    assert_eq!(
        usage,
        TokenUsage {
            cache_creation_input_tokens: 3,
            cache_read_input_tokens: 100,
            ..TokenUsage::new(12, 7)
        }
    );
    assert_eq!(
        client.send(&request()).await.unwrap().usage,
        None,
        "no stale usage"
    );
}

#[tokio::test]
async fn auth_and_version_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", "sk-test"))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("anthropic-beta", "prompt-caching"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(reply(json!([{"type": "text", "text": "ok"}]))),
        )
        .mount(&server)
        .await;
    let http =
        HttpConfig::with_timeout(Duration::from_secs(5)).header("anthropic-beta", "prompt-caching");
    let client = AnthropicClient::new(config(&server).http(http)).unwrap();
    assert_eq!(
        client.send(&request()).await.unwrap().response,
        LlmResponse::text("ok")
    );
}

#[test]
fn two_credentials_are_refused() {
    let http = HttpConfig::with_timeout(Duration::from_secs(5)).api_key("bearer-token");
    let err = AnthropicClient::new(AnthropicConfig::new("sk-test").http(http)).unwrap_err();
    assert!(matches!(err, ForgeError::InvalidInput { .. }));
}

#[tokio::test]
async fn rebuilt_body_snapshot() {
    let server = MockServer::start().await;
    mount_messages(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!([{"type": "text", "text": "ok"}]))),
    )
    .await;
    let request = InferenceRequest {
        messages: vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "Weather?"}),
            json!({"role": "assistant", "content": "", "tool_calls": [{"id": "call_000", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}),
            json!({"role": "tool", "content": "22C sunny", "tool_call_id": "call_000", "name": "get_weather"}),
            json!({"role": "user", "content": "Complete required steps first."}),
        ],
        ..request()
    };
    client(&server).send(&request).await.unwrap();
    insta::assert_json_snapshot!("rebuilt_body", bodies(&server).await.pop().unwrap());
}

#[tokio::test]
async fn verbatim_body_is_forwarded_with_cache_control() {
    let server = MockServer::start().await;
    mount_messages(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!([{"type": "text", "text": "ok"}]))),
    )
    .await;
    let inbound = object(json!({
        "model": "claude-opus-4-7",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}],
        "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        "metadata": {"user_id": "test"},
        "stream": true
    }));
    let request = InferenceRequest {
        inbound_anthropic_body: Some(inbound.clone()),
        ..request()
    };
    let unpinned =
        AnthropicClient::new(AnthropicConfig::new("sk-test").base_url(server.uri())).unwrap();
    unpinned.send(&request).await.unwrap();
    let mut expected = inbound;
    expected.remove("stream");
    assert_eq!(
        bodies(&server).await.pop().unwrap(),
        Value::Object(expected),
        "verbatim except stream"
    );
}

#[tokio::test]
async fn rebuilt_calls_use_the_requests_model_never_a_placeholder() {
    let server = MockServer::start().await;
    mount_messages(
        &server,
        ResponseTemplate::new(200).set_body_json(reply(json!([{"type": "text", "text": "ok"}]))),
    )
    .await;
    let unpinned =
        AnthropicClient::new(AnthropicConfig::new("sk-test").base_url(server.uri())).unwrap();
    let routed = InferenceRequest {
        passthrough: object(json!({"model": "claude-opus-4-7", "stop": "END"})),
        ..request()
    };
    unpinned.send(&routed).await.unwrap();
    let body = bodies(&server).await.pop().unwrap();
    assert_eq!(body["model"], "claude-opus-4-7");
    assert_eq!(
        body["stop_sequences"],
        json!(["END"]),
        "OpenAI-shaped pass-through is translated"
    );
    assert!(body.get("stop").is_none());

    let err = unpinned.send(&request()).await.unwrap_err();
    assert!(matches!(err, BackendError::InvalidRequest { .. }), "{err}");
    assert_eq!(
        bodies(&server).await.len(),
        1,
        "nothing sent without a model"
    );
}

#[tokio::test]
async fn unusable_history_arguments_are_a_request_error_not_a_backend_failure() {
    let server = MockServer::start().await;
    let request = InferenceRequest {
        messages: vec![
            json!({"role": "user", "content": "go"}),
            json!({"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": "{broken"}}]}),
        ],
        ..request()
    };
    let err = client(&server).send(&request).await.unwrap_err();
    assert!(matches!(err, BackendError::InvalidRequest { .. }), "{err}");
}

#[tokio::test]
async fn every_error_status_is_a_typed_http_error_never_content() {
    let body =
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "bad"}});
    for status in [400u16, 401, 403, 404, 413, 429, 500, 529] {
        let server = MockServer::start().await;
        mount_messages(
            &server,
            ResponseTemplate::new(status).set_body_json(body.clone()),
        )
        .await;
        let client = client(&server);
        let err = client.send(&request()).await.unwrap_err();
        assert_eq!(err.status(), Some(status), "send {status}");
        assert!(err.to_string().contains("invalid_request_error"));
        assert_eq!(
            client.send_stream(&request()).await.err().unwrap().status(),
            Some(status),
            "stream {status}"
        );
    }
}

#[tokio::test]
async fn a_slow_api_is_a_timeout() {
    let server = MockServer::start().await;
    mount_messages(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(reply(json!([])))
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let client = AnthropicClient::new(
        config(&server).http(HttpConfig::with_timeout(Duration::from_millis(200))),
    )
    .unwrap();
    assert!(client.send(&request()).await.unwrap_err().is_timeout());
    assert!(client
        .send_stream(&request())
        .await
        .err()
        .unwrap()
        .is_timeout());
}

#[tokio::test]
async fn broken_envelopes_are_invalid_responses() {
    for body in ["not json", r#"{"content": "text"}"#] {
        let server = MockServer::start().await;
        mount_messages(&server, ResponseTemplate::new(200).set_body_string(body)).await;
        assert!(
            matches!(
                client(&server).send(&request()).await.unwrap_err(),
                BackendError::InvalidResponse { .. }
            ),
            "{body}"
        );
    }
}

#[tokio::test]
async fn context_length_is_unknown() {
    let server = MockServer::start().await;
    assert_eq!(client(&server).context_length().await.unwrap(), None);
}

// ---- streaming ----

fn event(data: Value) -> String {
    format!(
        "event: {}\ndata: {}\n\n",
        data["type"].as_str().unwrap(),
        data
    )
}

fn sse(events: &[Value]) -> ResponseTemplate {
    let body: String = events.iter().map(|e| event(e.clone())).collect();
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

fn message_start(input_tokens: u64) -> Value {
    json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "model": MODEL, "content": [],
           "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})
}

fn text_block(index: u32, text: &str) -> Vec<Value> {
    vec![
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
        json!({"type": "content_block_stop", "index": index}),
    ]
}

fn tool_block(index: u32, id: &str, name: &str, fragments: &[&str]) -> Vec<Value> {
    let mut events = vec![
        json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}}}),
    ];
    for fragment in fragments {
        events.push(json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment}}));
    }
    events.push(json!({"type": "content_block_stop", "index": index}));
    events
}

fn message_end(output_tokens: u64) -> Vec<Value> {
    vec![
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": output_tokens}}),
        json!({"type": "message_stop"}),
    ]
}

async fn drain(
    client: &AnthropicClient,
    request: &InferenceRequest,
) -> (Vec<StreamChunk>, Option<BackendError>) {
    let mut stream = client.send_stream(request).await.unwrap();
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

async fn stream_events(events: Vec<Value>) -> (Vec<StreamChunk>, Option<BackendError>) {
    let server = MockServer::start().await;
    mount_messages(&server, sse(&events)).await;
    drain(&client(&server), &request()).await
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

#[tokio::test]
async fn streamed_text_and_tool_call_with_usage() {
    let mut events = vec![message_start(20), json!({"type": "ping"})];
    events.extend(text_block(0, "Let me check."));
    events.extend(tool_block(
        1,
        "toolu_1",
        "get_weather",
        &["{\"city\": ", "\"Paris\"}"],
    ));
    events.extend(message_end(15));
    let (chunks, err) = stream_events(events).await;
    assert!(err.is_none(), "{err:?}");
    assert!(chunks.contains(&StreamChunk::text("Let me check.")));
    let fragments: Vec<&str> = chunks
        .iter()
        .filter_map(|c| match c {
            StreamChunk::ToolCallDelta { arguments, .. } if !arguments.is_empty() => {
                Some(arguments.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(fragments, vec!["{\"city\": ", "\"Paris\"}"]);
    let completion = final_of(&chunks);
    assert_eq!(
        completion.response,
        call(json!({"city": "Paris"}), Some("Let me check."))
    );
    assert_eq!(completion.usage, Some(TokenUsage::new(20, 15)));
}

#[tokio::test]
async fn streamed_parallel_calls_and_empty_input() {
    let mut events = vec![message_start(5)];
    events.extend(tool_block(0, "toolu_a", "a", &[]));
    events.extend(tool_block(1, "toolu_b", "b", &["{\"x\": 1}"]));
    events.extend(message_end(3));
    let (chunks, _) = stream_events(events).await;
    let LlmResponse::ToolCalls(calls) = &final_of(&chunks).response else {
        panic!("calls expected")
    };
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.tool.as_str(), c.args.len()))
            .collect::<Vec<_>>(),
        vec![("a", 0), ("b", 1)]
    );
}

#[tokio::test]
async fn streamed_malformed_tool_json_goes_to_the_retry_path() {
    let mut events = vec![message_start(5)];
    events.extend(tool_block(0, "toolu_a", "get_weather", &["{\"city\": "]));
    events.extend(message_end(3));
    let (chunks, err) = stream_events(events).await;
    assert!(err.is_none(), "{err:?}");
    assert_eq!(final_of(&chunks).response, LlmResponse::text("{\"city\": "));
}

#[tokio::test]
async fn streamed_error_event_is_a_backend_error_with_its_own_type() {
    let mut events = vec![message_start(5)];
    events.extend(text_block(0, "par"));
    events.push(
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    );
    let (chunks, err) = stream_events(events).await;
    assert!(chunks.iter().all(|c| !matches!(c, StreamChunk::Final(_))));
    assert_eq!(
        err,
        Some(BackendError::InStream {
            error_type: Some("overloaded_error".into()),
            message: "Overloaded".into()
        })
    );
}

#[tokio::test]
async fn stream_without_message_stop_is_truncated() {
    let mut events = vec![message_start(5)];
    events.extend(text_block(0, "par"));
    let (chunks, err) = stream_events(events).await;
    assert!(chunks.iter().all(|c| !matches!(c, StreamChunk::Final(_))));
    assert!(
        matches!(err, Some(BackendError::Truncated { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn streaming_body_snapshot() {
    let server = MockServer::start().await;
    let mut events = vec![message_start(1)];
    events.extend(text_block(0, "ok"));
    events.extend(message_end(1));
    mount_messages(&server, sse(&events)).await;
    let (chunks, _) = drain(&client(&server), &request()).await;
    assert_eq!(final_of(&chunks).response, LlmResponse::text("ok"));
    insta::assert_json_snapshot!("stream_body", bodies(&server).await.pop().unwrap());
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_usage() {
    let server = MockServer::start().await;
    for (tag, input, delay) in [("A", 11u64, 300u64), ("B", 22, 0)] {
        let mut events = vec![message_start(input)];
        events.extend(text_block(0, tag));
        events.extend(message_end(1));
        Mock::given(method("POST"))
            .and(body_partial_json(json!({"messages": [{"content": tag}]})))
            .respond_with(sse(&events).set_delay(Duration::from_millis(delay)))
            .mount(&server)
            .await;
    }
    let client = client(&server);
    let ask = |tag: &str| InferenceRequest {
        messages: vec![json!({"role": "user", "content": tag})],
        ..Default::default()
    };
    let (a, b) = (ask("A"), ask("B"));
    let ((chunks_a, _), (chunks_b, _)) = tokio::join!(drain(&client, &a), drain(&client, &b));
    let (a, b) = (final_of(&chunks_a), final_of(&chunks_b));
    assert_eq!(
        (a.response.as_text(), a.usage.map(|u| u.prompt_tokens)),
        (Some("A"), Some(11))
    );
    assert_eq!(
        (b.response.as_text(), b.usage.map(|u| u.prompt_tokens)),
        (Some("B"), Some(22))
    );
}
