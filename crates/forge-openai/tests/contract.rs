//! Contract suite for `OpenAiCompatClient` against a local mock server (spec 02 §2, §9.1).
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::time::Duration;

use forge_client::{ChunkStream, InferenceRequest, LlmClient};
use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
use forge_types::{
    json_object, BackendError, ForgeError, LlmResponse, SamplingParams, StreamChunk, TextResponse,
    TimeoutPhase, TokenUsage, ToolCall, ToolSpec,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TEST_MODEL: &str = "test-model";

fn get_pricing() -> ToolSpec {
    ToolSpec::new(
        "get_pricing",
        "Get get_pricing",
        json!({"type": "object", "properties": {"part": {"type": "string", "description": "Part number"}}, "required": ["part"]}),
    )
}

fn request(messages: Value) -> InferenceRequest {
    InferenceRequest {
        messages: messages.as_array().unwrap().clone(),
        tools: vec![get_pricing()],
        ..Default::default()
    }
}

fn user_hi() -> InferenceRequest {
    request(json!([{"role": "user", "content": "hi"}]))
}

fn config(server: &MockServer) -> OpenAiCompatConfig {
    OpenAiCompatConfig::new(TEST_MODEL, format!("{}/v1", server.uri())).api_key("tok")
}

fn client(server: &MockServer) -> OpenAiCompatClient {
    OpenAiCompatClient::new(config(server)).unwrap()
}

fn reply(message: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}]
    }))
}

fn sse(events: &[&str]) -> ResponseTemplate {
    let body: String = events.iter().map(|event| format!("{event}\n\n")).collect();
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

async fn serve(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "exactly one request");
    requests[0].body_json().unwrap()
}

fn calls(list: &[(&str, Value)]) -> LlmResponse {
    LlmResponse::ToolCalls(
        list.iter()
            .map(|(name, args)| ToolCall::new(*name, json_object(args.clone()).unwrap()))
            .collect(),
    )
}

/// Items of a stream: the chunks, and the error that ended it (if any). Asserts nothing follows
/// a final or an error.
async fn drain(mut stream: ChunkStream) -> (Vec<StreamChunk>, Option<BackendError>) {
    let mut chunks = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(chunk) => {
                let is_final = matches!(chunk, StreamChunk::Final(_));
                chunks.push(chunk);
                if is_final {
                    assert!(
                        stream.next().await.is_none(),
                        "nothing after the final chunk"
                    );
                    return (chunks, None);
                }
            }
            Err(err) => {
                assert!(stream.next().await.is_none(), "nothing after an error item");
                return (chunks, Some(err));
            }
        }
    }
    (chunks, None)
}

fn final_of(chunks: &[StreamChunk]) -> &forge_types::Completion {
    let finals: Vec<_> = chunks
        .iter()
        .filter_map(|chunk| match chunk {
            StreamChunk::Final(completion) => Some(completion),
            _ => None,
        })
        .collect();
    assert_eq!(finals.len(), 1, "exactly one final chunk in {chunks:?}");
    finals[0]
}

fn text_deltas(chunks: &[StreamChunk]) -> Vec<&str> {
    chunks
        .iter()
        .filter_map(|chunk| match chunk {
            StreamChunk::TextDelta { content } => Some(content.as_str()),
            _ => None,
        })
        .collect()
}

fn tool_call(name: &str, arguments: Value) -> Value {
    json!({"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}})
}

// ---------------------------------------------------------------- non-streaming responses

#[tokio::test]
async fn send_maps_each_message_shape_to_one_response() {
    let with_reasoning = |reasoning: &str| {
        let mut call = ToolCall::new("get_pricing", json_object(json!({"part": "X"})).unwrap());
        call.reasoning = Some(reasoning.into());
        LlmResponse::ToolCalls(vec![call])
    };
    let cases: Vec<(&str, Value, LlmResponse)> = vec![
        (
            "tool_call_with_null_content",
            json!({"role": "assistant", "content": null, "tool_calls": [tool_call("get_pricing", json!("{\"part\": \"X123\"}"))]}),
            calls(&[("get_pricing", json!({"part": "X123"}))]),
        ),
        (
            "plain_text",
            json!({"role": "assistant", "content": "I need more info"}),
            LlmResponse::text("I need more info"),
        ),
        (
            "null_content_without_calls_is_empty_text",
            json!({"role": "assistant", "content": null}),
            LlmResponse::text(""),
        ),
        (
            "malformed_args_with_no_content_goes_to_retry_path_as_raw_args",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!("{not json"))]}),
            LlmResponse::text("{not json"),
        ),
        (
            "malformed_args_with_null_content_goes_to_retry_path",
            json!({"role": "assistant", "content": null, "tool_calls": [tool_call("get_pricing", json!("{not json"))]}),
            LlmResponse::text("{not json"),
        ),
        (
            "malformed_args_with_content_keeps_the_content",
            json!({"role": "assistant", "content": "Let me look that up.", "tool_calls": [tool_call("get_pricing", json!("{not json"))]}),
            LlmResponse::text("Let me look that up."),
        ),
        (
            "one_bad_call_among_several_sends_the_whole_response_to_retry",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!("{\"part\": \"A\"}")), tool_call("get_pricing", json!("{broken"))]}),
            LlmResponse::text("{broken"),
        ),
        (
            "non_object_args_go_to_retry_path",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!("[1, 2]"))]}),
            LlmResponse::text("[1, 2]"),
        ),
        (
            "null_args_go_to_retry_path",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!(null))]}),
            LlmResponse::text("null"),
        ),
        (
            "args_given_as_object_are_accepted",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!({"part": "X123"}))]}),
            calls(&[("get_pricing", json!({"part": "X123"}))]),
        ),
        (
            "empty_string_args_are_a_call_without_arguments",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!(""))]}),
            calls(&[("get_pricing", json!({}))]),
        ),
        (
            "parallel_calls_keep_their_order",
            json!({"role": "assistant", "tool_calls": [tool_call("get_pricing", json!("{\"part\": \"A\"}")), tool_call("get_pricing", json!("{\"part\": \"B\"}"))]}),
            calls(&[
                ("get_pricing", json!({"part": "A"})),
                ("get_pricing", json!({"part": "B"})),
            ]),
        ),
        (
            "reasoning_content_goes_on_the_first_call",
            json!({"role": "assistant", "content": "Calling.", "reasoning_content": "Need the price.", "tool_calls": [tool_call("get_pricing", json!("{\"part\": \"X\"}"))]}),
            with_reasoning("Need the price."),
        ),
        (
            "inline_think_is_reasoning_never_plain_content",
            json!({"role": "assistant", "content": "<think>Need the price.</think>Checking now.", "tool_calls": [tool_call("get_pricing", json!("{\"part\": \"X\"}"))]}),
            with_reasoning("Need the price."),
        ),
        (
            "hosted_preamble_is_not_reasoning",
            json!({"role": "assistant", "content": "Checking now.", "tool_calls": [tool_call("get_pricing", json!("{\"part\": \"X\"}"))]}),
            calls(&[("get_pricing", json!({"part": "X"}))]),
        ),
        (
            "text_has_think_tags_removed_and_kept_as_reasoning",
            json!({"role": "assistant", "content": "<think>hmm</think>The answer."}),
            LlmResponse::Text(TextResponse {
                content: "The answer.".into(),
                reasoning: Some("hmm".into()),
            }),
        ),
    ];
    for (name, message, expected) in cases {
        let server = serve(reply(message)).await;
        let completion = client(&server).send(&user_hi()).await.unwrap();
        assert_eq!(completion.response, expected, "case {name}");
    }
}

#[tokio::test]
async fn broken_envelopes_are_invalid_responses_never_content() {
    let cases = [
        (json!({"object": "error"}), "response has no choices"),
        (json!({"choices": []}), "response has no choices"),
        (
            json!({"choices": [{"index": 0}]}),
            "choices[0] has no message object",
        ),
        (
            json!({"choices": [{"message": {"content": ["a"]}}]}),
            "message.content is not a string",
        ),
        (
            json!({"choices": [{"message": {"reasoning_content": {"a": 1}}}]}),
            "message.reasoning_content is not a string",
        ),
    ];
    for (body, problem) in cases {
        let server = serve(ResponseTemplate::new(200).set_body_json(body.clone())).await;
        let err = client(&server).send(&user_hi()).await.unwrap_err();
        assert!(
            matches!(&err, BackendError::InvalidResponse { problem: p, .. } if p == problem),
            "{body}: {err:?}"
        );
    }
    let server = serve(ResponseTemplate::new(200).set_body_string("not json")).await;
    let err = client(&server).send(&user_hi()).await.unwrap_err();
    assert!(
        matches!(err, BackendError::InvalidResponse { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn every_error_status_is_a_typed_http_error() {
    for status in [
        201, 204, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503, 504,
    ] {
        let server =
            serve(ResponseTemplate::new(status).set_body_string(r#"{"error": "nope"}"#)).await;
        let err = client(&server).send(&user_hi()).await;
        if status < 300 {
            // A 2xx without a usable body is a broken envelope, not content.
            assert!(
                matches!(err, Err(BackendError::InvalidResponse { .. })),
                "{status}: {err:?}"
            );
            continue;
        }
        let err = err.unwrap_err();
        assert_eq!(err.status(), Some(status), "{err:?}");
        assert!(matches!(&err, BackendError::Http { body_excerpt, url, .. }
            if body_excerpt == r#"{"error": "nope"}"# && url.ends_with("/v1/chat/completions")));
    }
}

#[tokio::test]
async fn slow_backend_is_a_read_timeout() {
    let server = serve(reply(json!({"content": "late"})).set_delay(Duration::from_secs(3))).await;
    let mut config = config(&server);
    config.http = config.http.read_timeout(Duration::from_millis(200));
    let err = OpenAiCompatClient::new(config)
        .unwrap()
        .send(&user_hi())
        .await
        .unwrap_err();
    assert!(
        matches!(err, BackendError::Timeout { phase: TimeoutPhase::Read, after, .. } if after == Duration::from_millis(200)),
        "{err:?}"
    );
}

#[tokio::test]
async fn unreachable_backend_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let client = OpenAiCompatClient::new(OpenAiCompatConfig::new(TEST_MODEL, base)).unwrap();
    let err = client.send(&user_hi()).await.unwrap_err();
    assert!(matches!(err, BackendError::Transport { .. }), "{err:?}");
    let err = client.send_stream(&user_hi()).await.err().unwrap();
    assert!(matches!(err, BackendError::Transport { .. }), "{err:?}");
}

// ---------------------------------------------------------------- usage

#[tokio::test]
async fn usage_travels_with_its_response_and_is_never_stale() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"content": "one"}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(reply(json!({"content": "two"})))
        .mount(&server)
        .await;
    let client = client(&server);
    let first = client.send(&user_hi()).await.unwrap();
    assert_eq!(first.usage, Some(TokenUsage::new(10, 5)));
    let second = client.send(&user_hi()).await.unwrap();
    assert_eq!(second.usage, None, "a response without usage reports none");
}

#[tokio::test]
async fn interleaved_requests_on_one_client_each_get_their_own_usage() {
    let server = MockServer::start().await;
    let answer = |content: &str, prompt: u64| {
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"content": content}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1}
        }))
    };
    // The first request is answered after the second one, so their exchanges overlap.
    Mock::given(body_partial_json(
        json!({"messages": [{"content": "slow"}]}),
    ))
    .respond_with(answer("slow", 100).set_delay(Duration::from_millis(400)))
    .mount(&server)
    .await;
    Mock::given(body_partial_json(
        json!({"messages": [{"content": "fast"}]}),
    ))
    .respond_with(answer("fast", 7))
    .mount(&server)
    .await;
    let client = client(&server);
    let slow_request = request(json!([{"role": "user", "content": "slow"}]));
    let fast_request = request(json!([{"role": "user", "content": "fast"}]));
    let (slow, fast) = tokio::join!(client.send(&slow_request), client.send(&fast_request));
    let (slow, fast) = (slow.unwrap(), fast.unwrap());
    assert_eq!(
        (slow.response.as_text(), slow.usage),
        (Some("slow"), Some(TokenUsage::new(100, 1)))
    );
    assert_eq!(
        (fast.response.as_text(), fast.usage),
        (Some("fast"), Some(TokenUsage::new(7, 1)))
    );
}

// ---------------------------------------------------------------- request bodies

#[tokio::test]
async fn request_bodies_as_sent() {
    let messages = json!([{"role": "system", "content": "You are a parts assistant."}, {"role": "user", "content": "Price of X123?"}]);
    let mut with_passthrough = request(messages.clone());
    with_passthrough.passthrough =
        json_object(json!({"max_tokens": 512, "stop": ["END"], "tool_choice": "auto"})).unwrap();
    with_passthrough.sampling = SamplingParams {
        temperature: Some(0.2),
        seed: Some(42),
        ..Default::default()
    };

    let mut forge_owns_its_fields = request(json!([{"role": "user", "content": "hi"}]));
    forge_owns_its_fields.passthrough = json_object(json!({
        "model": "evil", "messages": [{"role": "system", "content": "evil"}], "stream": true,
        "temperature": 1.5
    }))
    .unwrap();
    forge_owns_its_fields.inbound_anthropic_body =
        Some(json_object(json!({"some_anthropic_field": "value", "shape": "data"})).unwrap());

    let mut raw_tools = user_hi();
    raw_tools.raw_openai_tools = Some(vec![
        json!({"type": "function", "function": {"name": "search", "parameters": {}}}),
    ]);

    let mut no_tools = user_hi();
    no_tools.tools.clear();

    let cases = [
        ("body_with_passthrough_sampling_and_tools", with_passthrough),
        (
            "body_forge_owns_model_messages_and_stream",
            forge_owns_its_fields,
        ),
        ("body_with_raw_openai_tools", raw_tools),
        ("body_without_tools", no_tools),
    ];
    for (name, request) in cases {
        let server = serve(reply(json!({"content": "ok"}))).await;
        client(&server).send(&request).await.unwrap();
        insta::assert_json_snapshot!(name, sent_body(&server).await);
    }
}

#[tokio::test]
async fn streaming_body_asks_for_usage() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"content":"ok"}}]}"#,
        "data: [DONE]",
    ]))
    .await;
    let mut request = user_hi();
    request.passthrough = json_object(json!({"max_tokens": 64})).unwrap();
    request.inbound_anthropic_body = Some(json_object(json!({"x": 1})).unwrap());
    let (chunks, error) = drain(client(&server).send_stream(&request).await.unwrap()).await;
    assert!(error.is_none());
    final_of(&chunks);
    insta::assert_json_snapshot!("streaming_body", sent_body(&server).await);
}

#[tokio::test]
async fn instance_sampling_fields_are_sent_and_per_call_values_win() {
    let instance = SamplingParams {
        temperature: Some(0.7),
        top_p: Some(0.9),
        top_k: Some(40),
        min_p: Some(0.05),
        repeat_penalty: Some(1.1),
        presence_penalty: Some(0.2),
        chat_template_kwargs: Some(json_object(json!({"enable_thinking": true})).unwrap()),
        ..Default::default()
    };
    let server = serve(reply(json!({"content": "ok"}))).await;
    let client = OpenAiCompatClient::new(config(&server).sampling(instance.clone())).unwrap();
    let mut request = user_hi();
    request.sampling = SamplingParams {
        temperature: Some(0.0),
        seed: Some(42),
        ..Default::default()
    };
    client.send(&request).await.unwrap();
    let body = sent_body(&server).await;
    let sent: Vec<_> = [
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "repeat_penalty",
        "presence_penalty",
        "seed",
        "chat_template_kwargs",
    ]
    .iter()
    .map(|key| body[*key].clone())
    .collect();
    assert_eq!(
        sent,
        [
            json!(0.0),
            json!(0.9),
            json!(40),
            json!(0.05),
            json!(1.1),
            json!(0.2),
            json!(42),
            json!({"enable_thinking": true})
        ]
    );
    assert_eq!(
        client.sampling(),
        &instance,
        "per-call values never change the instance"
    );
}

#[tokio::test]
async fn default_client_sends_no_sampling_fields() {
    let server = serve(reply(json!({"content": "ok"}))).await;
    client(&server).send(&user_hi()).await.unwrap();
    let body = sent_body(&server).await;
    for key in SamplingParams::KEYS {
        assert!(body.get(key).is_none(), "{key} sent by default");
    }
}

#[test]
fn recommended_sampling_policy() {
    let strict = OpenAiCompatConfig::new("definitely-not-in-registry-zzz", "http://127.0.0.1:1/v1")
        .recommended_sampling(true);
    assert!(
        matches!(OpenAiCompatClient::new(strict), Err(ForgeError::UnsupportedModel { model }) if model == "definitely-not-in-registry-zzz")
    );

    let lenient =
        OpenAiCompatConfig::new("definitely-not-in-registry-zzz", "http://127.0.0.1:1/v1");
    assert!(OpenAiCompatClient::new(lenient)
        .unwrap()
        .sampling()
        .is_empty());

    let known = OpenAiCompatConfig::new("Qwen3-8B-Q4_K_M", "http://127.0.0.1:1/v1")
        .recommended_sampling(true)
        .sampling(SamplingParams {
            temperature: Some(0.99),
            ..Default::default()
        });
    let sampling = OpenAiCompatClient::new(known).unwrap().sampling().clone();
    assert_eq!(
        (
            sampling.temperature,
            sampling.top_p,
            sampling.top_k,
            sampling.min_p
        ),
        (Some(0.99), Some(0.95), Some(20), Some(0.0))
    );
}

// ---------------------------------------------------------------- URL and headers

#[tokio::test]
async fn url_is_base_plus_chat_completions_with_one_slash() {
    let server = serve(reply(json!({"content": "ok"}))).await;
    let client = OpenAiCompatClient::new(OpenAiCompatConfig::new(
        TEST_MODEL,
        format!("{}/v1/", server.uri()),
    ))
    .unwrap();
    assert_eq!(
        client.chat_url(),
        format!("{}/v1/chat/completions", server.uri())
    );
    client.send(&user_hi()).await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.path(), "/v1/chat/completions");
}

#[tokio::test]
async fn auth_and_extra_headers() {
    type Headers = Vec<(&'static str, &'static str)>;
    // (api key, extra headers, expected Authorization, other expected headers)
    let cases: Vec<(&str, Headers, Option<&str>, Headers)> = vec![
        ("secret", vec![], Some("Bearer secret"), vec![]),
        ("", vec![], None, vec![]),
        (
            "tok",
            vec![
                ("HTTP-Referer", "https://example.com"),
                ("X-Title", "MyApp"),
            ],
            Some("Bearer tok"),
            vec![
                ("http-referer", "https://example.com"),
                ("x-title", "MyApp"),
            ],
        ),
        (
            "",
            vec![("Authorization", "ApiKey custom-scheme")],
            Some("ApiKey custom-scheme"),
            vec![],
        ),
    ];
    for (key, extra, expected_auth, expected_other) in cases {
        let server = serve(reply(json!({"content": "ok"}))).await;
        let mut config =
            OpenAiCompatConfig::new(TEST_MODEL, format!("{}/v1", server.uri())).api_key(key);
        for (name, value) in &extra {
            config = config.header(*name, *value);
        }
        OpenAiCompatClient::new(config)
            .unwrap()
            .send(&user_hi())
            .await
            .unwrap();
        let request = &server.received_requests().await.unwrap()[0];
        let auth: Vec<_> = request
            .headers
            .get_all("authorization")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            auth,
            expected_auth.into_iter().collect::<Vec<_>>(),
            "key {key:?}"
        );
        for (name, value) in expected_other {
            assert_eq!(request.headers.get(name).unwrap(), value);
        }
    }
}

#[tokio::test]
async fn context_length_is_unknown_for_hosted_apis() {
    let server = MockServer::start().await;
    assert_eq!(client(&server).context_length().await.unwrap(), None);
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "no request made"
    );
}

// ---------------------------------------------------------------- streaming

#[tokio::test]
async fn stream_of_text_deltas_ends_with_one_final() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"content":"Hello"}}]}"#,
        r#"data: {"choices":[{"delta":{"content":" world"}}]}"#,
        "data: [DONE]",
    ]))
    .await;
    let (chunks, error) = drain(client(&server).send_stream(&user_hi()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(text_deltas(&chunks), ["Hello", " world"]);
    assert_eq!(final_of(&chunks).response, LlmResponse::text("Hello world"));
}

#[tokio::test]
async fn streamed_responses_resolve_like_sent_ones() {
    let cases: Vec<(&str, Vec<&str>, LlmResponse)> = vec![
        (
            "tool_call_in_fragments",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_pricing","arguments":""}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"part\": "}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"X\"}"}}]}}]}"#,
                "data: [DONE]",
            ],
            calls(&[("get_pricing", json!({"part": "X"}))]),
        ),
        (
            "malformed_streamed_args_go_to_retry_path",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":"{not"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":" json"}}]}}]}"#,
                "data: [DONE]",
            ],
            LlmResponse::text("{not json"),
        ),
        (
            "arguments_sent_as_one_object",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":{"part":"X9"}}}]}}]}"#,
                "data: [DONE]",
            ],
            calls(&[("get_pricing", json!({"part": "X9"}))]),
        ),
        (
            "empty_streamed_args_are_no_arguments",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":""}}]}}]}"#,
                "data: [DONE]",
            ],
            calls(&[("get_pricing", json!({}))]),
        ),
        (
            "parallel_calls_by_index",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":"{\"part\": \"A\"}"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"get_pricing","arguments":"{\"part\": \"B\"}"}}]}}]}"#,
                "data: [DONE]",
            ],
            calls(&[
                ("get_pricing", json!({"part": "A"})),
                ("get_pricing", json!({"part": "B"})),
            ]),
        ),
        (
            "one_bad_streamed_call_sends_everything_to_retry",
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":"{\"part\": \"A\"}"}}]}}]}"#,
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"name":"get_pricing","arguments":"[1]"}}]}}]}"#,
                "data: [DONE]",
            ],
            LlmResponse::text("[1]"),
        ),
        (
            "keep_alive_comments_and_blank_lines_are_skipped",
            vec![
                ": keep-alive comment",
                r#"data: {"choices":[{"delta":{"content":"hi"}}]}"#,
                "data: [DONE]",
            ],
            LlmResponse::text("hi"),
        ),
        (
            "finish_reason_without_done_is_complete",
            vec![r#"data: {"choices":[{"delta":{"content":"hi"},"finish_reason":"stop"}]}"#],
            LlmResponse::text("hi"),
        ),
    ];
    for (name, events, expected) in cases {
        let server = serve(sse(&events)).await;
        let (chunks, error) = drain(client(&server).send_stream(&user_hi()).await.unwrap()).await;
        assert!(error.is_none(), "{name}: {error:?}");
        assert_eq!(final_of(&chunks).response, expected, "case {name}");
    }
}

#[tokio::test]
async fn streamed_reasoning_is_captured_and_usage_reported() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"reasoning_content":"Let me "}}]}"#,
        r#"data: {"choices":[{"delta":{"reasoning_content":"reason..."}}]}"#,
        r#"data: {"choices":[{"delta":{"content":"Checking."}}]}"#,
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":"{\"part\": \"X\"}"}}]}}]}"#,
        r#"data: {"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}}"#,
        "data: [DONE]",
    ]))
    .await;
    let (chunks, error) = drain(client(&server).send_stream(&user_hi()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    let completion = final_of(&chunks);
    let calls = completion.response.as_tool_calls().unwrap();
    assert_eq!(calls[0].reasoning.as_deref(), Some("Let me reason..."));
    assert_eq!(
        completion.usage,
        Some(TokenUsage {
            prompt_tokens: 30,
            completion_tokens: 12,
            total_tokens: 42,
            ..Default::default()
        })
    );
    assert!(chunks
        .iter()
        .any(|chunk| matches!(chunk, StreamChunk::ReasoningDelta { .. })));
    assert!(chunks
        .iter()
        .any(|chunk| matches!(chunk, StreamChunk::ToolCallDelta { .. })));
}

#[tokio::test]
async fn stream_error_statuses_fail_before_any_chunk() {
    for status in [400, 401, 404, 429, 500, 502, 503] {
        let server =
            serve(ResponseTemplate::new(status).set_body_string(r#"{"error": "nope"}"#)).await;
        let err = client(&server).send_stream(&user_hi()).await.err().unwrap();
        assert_eq!(err.status(), Some(status), "{err:?}");
    }
}

#[tokio::test]
async fn in_stream_error_frame_ends_the_stream_with_an_error() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"content":"partial"}}]}"#,
        r#"data: {"error":{"code":500,"message":"The model produced output that does not match the expected peg-native format","type":"server_error"}}"#,
    ]))
    .await;
    let (chunks, error) = drain(client(&server).send_stream(&user_hi()).await.unwrap()).await;
    assert_eq!(text_deltas(&chunks), ["partial"]);
    assert!(
        matches!(error, Some(BackendError::InStream { ref message, .. }) if message.contains("peg-native")),
        "{error:?}"
    );
}

#[tokio::test]
async fn truncated_stream_is_an_error_not_an_empty_success() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":"{\"part\": "}}]}}]}"#,
    ]))
    .await;
    let (chunks, error) = drain(client(&server).send_stream(&user_hi()).await.unwrap()).await;
    assert!(!chunks
        .iter()
        .any(|chunk| matches!(chunk, StreamChunk::Final(_))));
    assert!(
        matches!(error, Some(BackendError::Truncated { .. })),
        "{error:?}"
    );

    let empty = serve(sse(&[])).await;
    let (_, error) = drain(client(&empty).send_stream(&user_hi()).await.unwrap()).await;
    assert!(
        matches!(error, Some(BackendError::Truncated { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn stalled_stream_is_a_read_timeout_item() {
    let server = serve(sse(&["data: [DONE]"]).set_delay(Duration::from_secs(3))).await;
    let mut config = config(&server);
    config.http = config.http.read_timeout(Duration::from_millis(200));
    let err = OpenAiCompatClient::new(config)
        .unwrap()
        .send_stream(&user_hi())
        .await
        .err()
        .unwrap();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn interleaved_streams_each_get_their_own_usage() {
    let server = MockServer::start().await;
    let stream_with_usage = |prompt: u64| {
        sse(&[
            r#"data: {"choices":[{"delta":{"content":"ok"}}]}"#,
            &format!(
                r#"data: {{"choices":[],"usage":{{"prompt_tokens":{prompt},"completion_tokens":1,"total_tokens":{}}}}}"#,
                prompt + 1
            ),
            "data: [DONE]",
        ])
    };
    Mock::given(body_partial_json(
        json!({"messages": [{"content": "slow"}]}),
    ))
    .respond_with(stream_with_usage(100).set_delay(Duration::from_millis(300)))
    .mount(&server)
    .await;
    Mock::given(body_partial_json(
        json!({"messages": [{"content": "fast"}]}),
    ))
    .respond_with(stream_with_usage(7))
    .mount(&server)
    .await;
    let client = client(&server);
    let slow_request = request(json!([{"role": "user", "content": "slow"}]));
    let fast_request = request(json!([{"role": "user", "content": "fast"}]));
    let run = |request: &InferenceRequest| {
        let client = client.clone();
        let request = request.clone();
        async move { drain(client.send_stream(&request).await.unwrap()).await }
    };
    let ((slow, _), (fast, _)) = tokio::join!(run(&slow_request), run(&fast_request));
    assert_eq!(final_of(&slow).usage, Some(TokenUsage::new(100, 1)));
    assert_eq!(final_of(&fast).usage, Some(TokenUsage::new(7, 1)));
}
