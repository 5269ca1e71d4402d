//! Contract suite for `LlamaServerClient` against a local mock server (spec 02 §3, §9.2), with
//! real llama-server captures from `tests/data` where they fit.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::time::Duration;

use forge_client::{ChunkStream, InferenceRequest, LlmClient};
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ServerFlavor, ToolMode};
use forge_types::{
    json_object, BackendError, Completion, ForgeError, LlmResponse, SamplingParams, StreamChunk,
    TextResponse, TimeoutPhase, TokenUsage, ToolCall, ToolSpec,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TEXT_REPLY: &str = include_str!("data/text-reply.json");
const TEXT_STREAM: &str = include_str!("data/text-stream.sse");
const TRUNCATED_TOOL_CALL: &str = include_str!("data/truncated-tool-call.json");
const TOOL_CALL_STREAM: &str = include_str!("data/tool-call-stream.sse");
const PEG_FORMAT_500: &str = include_str!("data/peg-format-500.json");
const IN_STREAM_ERROR: &str = include_str!("data/in-stream-error.sse");
const PROPS: &str = include_str!("data/props.json");

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

fn user_go() -> InferenceRequest {
    request(json!([{"role": "user", "content": "go"}]))
}

fn config(server: &MockServer) -> LlamaServerConfig {
    LlamaServerConfig::new("test-model").base_url(format!("{}/v1", server.uri()))
}

fn client(server: &MockServer) -> LlamaServerClient {
    LlamaServerClient::new(config(server)).unwrap()
}

fn reply(message: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "finish_reason": "stop", "message": message}]
    }))
}

fn sse(events: &[&str]) -> ResponseTemplate {
    let body: String = events.iter().map(|event| format!("{event}\n\n")).collect();
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

fn raw_sse(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_owned(), "text/event-stream")
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

fn tool_call(name: &str, arguments: Value) -> Value {
    json!({"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}})
}

fn pricing_call(reasoning: Option<&str>) -> LlmResponse {
    let mut call = ToolCall::new("get_pricing", json_object(json!({"part": "X"})).unwrap());
    call.reasoning = reasoning.map(str::to_owned);
    LlmResponse::ToolCalls(vec![call])
}

fn text_with(content: &str, reasoning: Option<&str>) -> LlmResponse {
    LlmResponse::Text(TextResponse {
        content: content.into(),
        reasoning: reasoning.map(str::to_owned),
    })
}

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

fn final_of(chunks: &[StreamChunk]) -> &Completion {
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

// ---------------------------------------------------------------- native, non-streaming

#[tokio::test]
async fn native_send_maps_each_message_shape_to_one_response() {
    let x = || tool_call("get_pricing", json!("{\"part\": \"X\"}"));
    // (case, think, message, expected)
    let cases: Vec<(&str, bool, Value, LlmResponse)> = vec![
        (
            "tool_call",
            true,
            json!({"content": null, "tool_calls": [x()]}),
            pricing_call(None),
        ),
        (
            "text",
            true,
            json!({"content": "I need more info"}),
            LlmResponse::text("I need more info"),
        ),
        (
            "extra_args_kept",
            true,
            json!({"tool_calls": [tool_call("get_pricing", json!("{\"part\": \"X\", \"qty\": 100}"))]}),
            LlmResponse::ToolCalls(vec![ToolCall::new(
                "get_pricing",
                json_object(json!({"part": "X", "qty": 100})).unwrap(),
            )]),
        ),
        (
            "narration_is_reasoning",
            true,
            json!({"content": "I should check the pricing.", "tool_calls": [x()]}),
            pricing_call(Some("I should check the pricing.")),
        ),
        (
            "reasoning_content_wins_over_content",
            true,
            json!({"content": "Final answer", "reasoning_content": "I need to think about this carefully...", "tool_calls": [x()]}),
            pricing_call(Some("I need to think about this carefully...")),
        ),
        (
            "null_content_no_reasoning",
            true,
            json!({"content": null, "tool_calls": [x()]}),
            pricing_call(None),
        ),
        (
            "empty_content_no_reasoning",
            true,
            json!({"content": "", "tool_calls": [x()]}),
            pricing_call(None),
        ),
        (
            "mistral_think_tags",
            true,
            json!({"content": "[THINK]I should check pricing.[/THINK]", "tool_calls": [x()]}),
            pricing_call(Some("I should check pricing.")),
        ),
        (
            "qwen_think_tags",
            true,
            json!({"content": "<think>hmm</think>", "tool_calls": [x()]}),
            pricing_call(Some("hmm")),
        ),
        (
            "think_off_discards_reasoning_content",
            false,
            json!({"content": "", "reasoning_content": "Deep reasoning here...", "tool_calls": [x()]}),
            pricing_call(None),
        ),
        (
            "think_off_discards_think_tags",
            false,
            json!({"content": "[THINK]Reasoning here[/THINK]", "tool_calls": [x()]}),
            pricing_call(None),
        ),
        (
            "server_reasoning_beats_tags",
            true,
            json!({"content": "[THINK]Content reasoning[/THINK]", "reasoning_content": "Server-parsed reasoning", "tool_calls": [x()]}),
            pricing_call(Some("Server-parsed reasoning")),
        ),
        (
            "text_is_think_stripped",
            true,
            json!({"content": "[THINK]Some reasoning[/THINK]I don't know which tool to call."}),
            text_with("I don't know which tool to call.", Some("Some reasoning")),
        ),
        (
            "malformed_args_with_null_content_goes_to_retry_path",
            true,
            json!({"content": null, "tool_calls": [tool_call("get_pricing", json!("{\"part\": "))]}),
            LlmResponse::text("{\"part\": "),
        ),
        (
            "malformed_args_with_empty_content_keeps_raw_args",
            true,
            json!({"content": "", "tool_calls": [tool_call("get_pricing", json!("{oops"))]}),
            LlmResponse::text("{oops"),
        ),
        (
            "malformed_args_keep_the_narration",
            true,
            json!({"content": "Let me check.", "tool_calls": [tool_call("get_pricing", json!("{oops"))]}),
            LlmResponse::text("Let me check."),
        ),
        (
            "empty_string_args_are_no_arguments",
            true,
            json!({"tool_calls": [tool_call("get_pricing", json!(""))]}),
            LlmResponse::ToolCalls(vec![ToolCall::new("get_pricing", Default::default())]),
        ),
        (
            "non_object_args_go_to_retry_path",
            true,
            json!({"tool_calls": [x(), tool_call("get_pricing", json!("\"X\""))]}),
            LlmResponse::text("\"X\""),
        ),
        (
            "parallel_calls",
            true,
            json!({"tool_calls": [x(), tool_call("get_pricing", json!({"part": "Y"}))]}),
            LlmResponse::ToolCalls(vec![
                ToolCall::new("get_pricing", json_object(json!({"part": "X"})).unwrap()),
                ToolCall::new("get_pricing", json_object(json!({"part": "Y"})).unwrap()),
            ]),
        ),
    ];
    for (name, think, message, expected) in cases {
        let server = serve(reply(message)).await;
        let client = LlamaServerClient::new(config(&server).think(think)).unwrap();
        let completion = client.send(&user_go()).await.unwrap();
        assert_eq!(completion.response, expected, "case {name}");
    }
}

#[tokio::test]
async fn real_captures_resolve_as_expected() {
    let server = serve(ResponseTemplate::new(200).set_body_string(TEXT_REPLY)).await;
    let completion = client(&server).send(&user_go()).await.unwrap();
    assert_eq!(
        completion.response.as_text(),
        Some("The weather in Paris is a mix of the French Alps, with a focus on the French Alps.")
    );
    assert_eq!(completion.usage, Some(TokenUsage::new(216, 21)));

    // A call cut by max_tokens: the raw arguments go to the retry path, never `{}`.
    let server = serve(ResponseTemplate::new(200).set_body_string(TRUNCATED_TOOL_CALL)).await;
    let completion = client(&server).send(&user_go()).await.unwrap();
    assert_eq!(completion.response, LlmResponse::text("{\"city\": \"Paris"));
    assert_eq!(completion.usage, Some(TokenUsage::new(225, 1)));
}

#[tokio::test]
async fn broken_envelope_is_an_invalid_response() {
    for body in [
        json!({"object": "error"}),
        json!({"choices": []}),
        json!({"choices": [{"message": {"content": {}}}]}),
    ] {
        let server = serve(ResponseTemplate::new(200).set_body_json(body.clone())).await;
        let err = client(&server).send(&user_go()).await.unwrap_err();
        assert!(
            matches!(err, BackendError::InvalidResponse { .. }),
            "{body}: {err:?}"
        );
    }
}

#[tokio::test]
async fn error_statuses_are_typed_errors_never_content() {
    for status in [400, 401, 403, 404, 429, 500, 502, 503] {
        for mode in [ToolMode::Native, ToolMode::Prompt] {
            let server = serve(
                ResponseTemplate::new(status)
                    .set_body_string(r#"{"error":{"code":1,"message":"nope"}}"#),
            )
            .await;
            let client = LlamaServerClient::new(config(&server).mode(mode)).unwrap();
            let err = client.send(&user_go()).await.unwrap_err();
            assert_eq!(err.status(), Some(status), "{mode} {err:?}");
            let err = client.send_stream(&user_go()).await.err().unwrap();
            assert_eq!(err.status(), Some(status), "{mode} stream {err:?}");
        }
    }
    // The 500 a current build sends for a rejected generation carries no generation: an error.
    let server = serve(ResponseTemplate::new(500).set_body_string(PEG_FORMAT_500)).await;
    let err = client(&server).send(&user_go()).await.unwrap_err();
    assert!(
        matches!(&err, BackendError::Http { status: 500, body_excerpt, .. } if body_excerpt.contains("peg-native")),
        "{err:?}"
    );
}

#[tokio::test]
async fn parse_rejection_500_with_the_generation_returns_it_as_text() {
    let generation =
        "<tool_call>\n<function=get_pricing>\n<parameter=part>\nX\n</parameter>\n</function>";
    let body = json!({"error": {"code": 500, "message": format!("Failed to parse input at pos 0: {generation}"), "type": "server_error"}});
    let server = serve(ResponseTemplate::new(500).set_body_json(body)).await;
    let completion = client(&server).send(&user_go()).await.unwrap();
    assert_eq!(completion.response, LlmResponse::text(generation));
    let (chunks, error) = drain(client(&server).send_stream(&user_go()).await.unwrap()).await;
    assert!(error.is_none());
    assert_eq!(final_of(&chunks).response, LlmResponse::text(generation));
}

#[tokio::test]
async fn read_timeout_and_transport_errors_are_typed() {
    let server = serve(reply(json!({"content": "late"})).set_delay(Duration::from_secs(3))).await;
    let mut config = config(&server);
    config.http = config.http.read_timeout(Duration::from_millis(200));
    let err = LlamaServerClient::new(config)
        .unwrap()
        .send(&user_go())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            BackendError::Timeout {
                phase: TimeoutPhase::Read,
                ..
            }
        ),
        "{err:?}"
    );

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let client = LlamaServerClient::new(LlamaServerConfig::new("m").base_url(base)).unwrap();
    assert!(matches!(
        client.send(&user_go()).await,
        Err(BackendError::Transport { .. })
    ));
    assert!(matches!(
        client.context_length().await,
        Err(BackendError::Transport { .. })
    ));
}

// ---------------------------------------------------------------- prompt mode

#[tokio::test]
async fn prompt_mode_parses_calls_out_of_text() {
    let cases: Vec<(&str, &str, LlmResponse)> = vec![
        (
            "json_call",
            r#"{"tool": "get_pricing", "args": {"part": "X"}}"#,
            pricing_call(None),
        ),
        (
            "think_then_call",
            r#"<think>hmm</think>{"tool": "get_pricing", "args": {"part": "X"}}"#,
            pricing_call(Some("hmm")),
        ),
        (
            "no_call_is_text",
            "I don't know which tool to call",
            LlmResponse::text("I don't know which tool to call"),
        ),
        (
            "unknown_tool_is_text",
            r#"{"tool": "delete_everything", "args": {}}"#,
            LlmResponse::text(r#"{"tool": "delete_everything", "args": {}}"#),
        ),
    ];
    for (name, content, expected) in cases {
        let server = serve(reply(json!({"content": content}))).await;
        let client = LlamaServerClient::new(config(&server).mode(ToolMode::Prompt)).unwrap();
        assert_eq!(
            client.send(&user_go()).await.unwrap().response,
            expected,
            "case {name}"
        );
    }
}

#[tokio::test]
async fn prompt_mode_stream_parses_the_call_at_the_end() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"content":"{\"tool\": \"get_pricing\", "}}]}"#,
        r#"data: {"choices":[{"delta":{"content":"\"args\": {\"part\": \"X\"}}"}}]}"#,
        "data: [DONE]",
    ]))
    .await;
    let client = LlamaServerClient::new(config(&server).mode(ToolMode::Prompt)).unwrap();
    let (chunks, error) = drain(client.send_stream(&user_go()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(final_of(&chunks).response, pricing_call(None));
}

// ---------------------------------------------------------------- request bodies

#[tokio::test]
async fn request_bodies_as_sent() {
    let history = json!([
        {"role": "system", "content": "You are a parts assistant."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c0", "type": "function", "function": {"name": "get_pricing", "arguments": "{\"part\": \"A\"}"}}]},
        {"role": "tool", "content": "42", "tool_call_id": "c0", "name": "get_pricing"},
        {"role": "user", "content": "and B?"},
        {"role": "user", "content": [{"type": "text", "text": "(retry nudge)"}]},
    ]);
    let mut with_passthrough = request(history.clone());
    with_passthrough.passthrough = json_object(json!({"max_tokens": 256, "model": "routed-model", "tool_choice": "auto", "temperature": 1.0})).unwrap();
    with_passthrough.sampling = SamplingParams {
        temperature: Some(0.0),
        seed: Some(42),
        ..Default::default()
    };
    let mut raw_tools = request(history.clone());
    raw_tools.raw_openai_tools = Some(vec![
        json!({"type": "function", "function": {"name": "search", "parameters": {}}}),
    ]);
    raw_tools.inbound_anthropic_body = Some(json_object(json!({"anthropic_only": true})).unwrap());

    let instance = SamplingParams {
        temperature: Some(0.6),
        top_p: Some(0.95),
        top_k: Some(20),
        min_p: Some(0.0),
        ..Default::default()
    };
    let cases: Vec<(&str, LlamaServerConfig, InferenceRequest, bool)> = vec![
        (
            "native_body",
            LlamaServerConfig::new("/m/Qwen3-8B-Q4_K_M.gguf")
                .slot(1)
                .sampling(instance.clone()),
            request(history.clone()),
            false,
        ),
        (
            "native_body_passthrough_model_wins",
            LlamaServerConfig::new("/m/Qwen3-8B-Q4_K_M.gguf"),
            with_passthrough,
            false,
        ),
        (
            "native_body_raw_tools",
            LlamaServerConfig::new("test-model"),
            raw_tools.clone(),
            false,
        ),
        (
            "native_stream_body",
            LlamaServerConfig::new("test-model"),
            request(history.clone()),
            true,
        ),
        (
            "prompt_body",
            LlamaServerConfig::new("/m/Qwen3-8B-Q4_K_M.gguf").mode(ToolMode::Prompt),
            raw_tools,
            false,
        ),
        (
            "prompt_stream_body",
            LlamaServerConfig::new("test-model")
                .mode(ToolMode::Prompt)
                .sampling(instance),
            request(history),
            true,
        ),
        (
            "llamafile_slot_body",
            LlamaServerConfig::new("a/Mistral-Nemo-Instruct-2407.Q4_K_M.llamafile")
                .flavor(ServerFlavor::Llamafile)
                .slot(2),
            user_go(),
            false,
        ),
    ];
    for (name, config, request, stream) in cases {
        let server = if stream {
            serve(sse(&[
                r#"data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}"#,
                "data: [DONE]",
            ]))
            .await
        } else {
            serve(reply(json!({"content": "ok"}))).await
        };
        let client =
            LlamaServerClient::new(config.base_url(format!("{}/v1", server.uri()))).unwrap();
        if stream {
            let (_, error) = drain(client.send_stream(&request).await.unwrap()).await;
            assert!(error.is_none(), "{name}: {error:?}");
        } else {
            client.send(&request).await.unwrap();
        }
        insta::assert_json_snapshot!(name, sent_body(&server).await);
    }
}

#[tokio::test]
async fn callers_messages_are_not_mutated_and_tool_results_survive_native_mode() {
    let server = serve(reply(json!({"content": "ok"}))).await;
    let messages = json!([
        {"role": "system", "content": "sys"}, {"role": "user", "content": "go"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "fetch", "arguments": {}}}]},
        {"role": "tool", "content": "fetch_result"},
    ]);
    let request = request(messages.clone());
    client(&server).send(&request).await.unwrap();
    let body = sent_body(&server).await;
    assert_eq!(body["messages"], messages);
    assert_eq!(Value::Array(request.messages), messages);
}

#[test]
fn sampling_policy_and_identity() {
    let strict = LlamaServerConfig::new("nonexistent-model:1b").recommended_sampling(true);
    assert!(
        matches!(LlamaServerClient::new(strict), Err(ForgeError::UnsupportedModel { model }) if model == "nonexistent-model:1b")
    );

    let known = LlamaServerConfig::new("qwen3:8b-q4_K_M").recommended_sampling(true);
    let sampling = LlamaServerClient::new(known).unwrap().sampling().clone();
    assert_eq!(
        (
            sampling.temperature,
            sampling.top_p,
            sampling.top_k,
            sampling.min_p
        ),
        (Some(0.6), Some(0.95), Some(20), Some(0.0))
    );

    let explicit = LlamaServerConfig::new("qwen3:8b-q4_K_M")
        .recommended_sampling(true)
        .sampling(SamplingParams {
            temperature: Some(0.99),
            ..Default::default()
        });
    assert_eq!(
        LlamaServerClient::new(explicit)
            .unwrap()
            .sampling()
            .temperature,
        Some(0.99)
    );

    let not_asked = LlamaServerConfig::new("qwen3:8b-q4_K_M");
    assert!(LlamaServerClient::new(not_asked)
        .unwrap()
        .sampling()
        .is_empty());

    let sharded = LlamaServerConfig::new("/models/gemma-4-31B-it-Q4_K_M-00001-of-00003.gguf")
        .recommended_sampling(true);
    assert_eq!(
        LlamaServerClient::new(sharded).unwrap().sampling().top_k,
        Some(64)
    );
}

// ---------------------------------------------------------------- context length

#[tokio::test]
async fn context_length_comes_from_props_outside_v1() {
    let cases: Vec<(ResponseTemplate, Result<Option<u64>, &str>)> = vec![
        (
            ResponseTemplate::new(200).set_body_string(PROPS),
            Ok(Some(4096)),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"default_generation_settings": {"n_ctx": 8192}})),
            Ok(Some(8192)),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"default_generation_settings": {"n_ctx": "4096"}})),
            Ok(Some(4096)),
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({})),
            Ok(None),
        ),
        (
            ResponseTemplate::new(200)
                .set_body_json(json!({"default_generation_settings": {"n_ctx": "lots"}})),
            Err("invalid"),
        ),
        (
            ResponseTemplate::new(200).set_body_json(json!({"default_generation_settings": 3})),
            Err("invalid"),
        ),
        (
            ResponseTemplate::new(503).set_body_string("loading model"),
            Err("http 503"),
        ),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/props"))
            .respond_with(response)
            .mount(&server)
            .await;
        let got = client(&server).context_length().await;
        match (&got, expected) {
            (Ok(value), Ok(expected)) => assert_eq!(*value, expected),
            (Err(BackendError::InvalidResponse { .. }), Err("invalid")) => {}
            (Err(BackendError::Http { status: 503, .. }), Err("http 503")) => {}
            _ => panic!("got {got:?}, expected {expected:?}"),
        }
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests[0].url.path(), "/props");
    }
}

// ---------------------------------------------------------------- streaming

#[tokio::test]
async fn native_stream_cases() {
    let call_events = [
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_pricing","arguments":""}}]}}]}"#,
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"part\":"}}]}}]}"#,
        r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":" \"X\"}"}}]}}]}"#,
    ];
    let with_call = |before: &[&'static str]| -> Vec<&'static str> {
        before
            .iter()
            .copied()
            .chain(call_events)
            .chain(["data: [DONE]"])
            .collect()
    };
    // (case, think, events, expected)
    let cases: Vec<(&str, bool, Vec<&str>, LlmResponse)> = vec![
        (
            "text",
            true,
            vec![
                r#"data: {"choices":[{"delta":{"content":"Hello"}}]}"#,
                r#"data: {"choices":[{"delta":{"content":" world"}}]}"#,
                "data: [DONE]",
            ],
            LlmResponse::text("Hello world"),
        ),
        ("tool_call_only", true, with_call(&[]), pricing_call(None)),
        (
            "narration_is_reasoning",
            true,
            with_call(&[
                r#"data: {"choices":[{"delta":{"content":"Let me "}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"check..."}}]}"#,
            ]),
            pricing_call(Some("Let me check...")),
        ),
        (
            "reasoning_content_wins",
            true,
            with_call(&[
                r#"data: {"choices":[{"delta":{"reasoning_content":"Let me "}}]}"#,
                r#"data: {"choices":[{"delta":{"reasoning_content":"reason..."}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"Final."}}]}"#,
            ]),
            pricing_call(Some("Let me reason...")),
        ),
        (
            "think_tags_across_chunks",
            true,
            with_call(&[
                r#"data: {"choices":[{"delta":{"content":"[THINK]I need to "}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"check.[/THINK]"}}]}"#,
            ]),
            pricing_call(Some("I need to check.")),
        ),
        (
            "think_off_reasoning_content",
            false,
            with_call(&[r#"data: {"choices":[{"delta":{"reasoning_content":"Thinking..."}}]}"#]),
            pricing_call(None),
        ),
        (
            "think_off_tags",
            false,
            with_call(&[r#"data: {"choices":[{"delta":{"content":"[THINK]reasoning[/THINK]"}}]}"#]),
            pricing_call(None),
        ),
        (
            "server_reasoning_beats_tags",
            true,
            with_call(&[
                r#"data: {"choices":[{"delta":{"reasoning_content":"Server reasoning"}}]}"#,
                r#"data: {"choices":[{"delta":{"content":"[THINK]Content reasoning[/THINK]"}}]}"#,
            ]),
            pricing_call(Some("Server reasoning")),
        ),
        (
            "streamed_text_is_think_stripped_like_sent_text",
            true,
            vec![
                r#"data: {"choices":[{"delta":{"content":"<think>hm</think>Answer"}}]}"#,
                "data: [DONE]",
            ],
            text_with("Answer", Some("hm")),
        ),
        (
            "malformed_streamed_args_go_to_retry_path",
            true,
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":"{\"part\": "}}]}}]}"#,
                "data: [DONE]",
            ],
            LlmResponse::text("{\"part\": "),
        ),
        (
            "empty_streamed_args_are_no_arguments",
            true,
            vec![
                r#"data: {"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"get_pricing","arguments":""}}]}}]}"#,
                "data: [DONE]",
            ],
            LlmResponse::ToolCalls(vec![ToolCall::new("get_pricing", Default::default())]),
        ),
    ];
    for (name, think, events, expected) in cases {
        let server = serve(sse(&events)).await;
        let client = LlamaServerClient::new(config(&server).think(think)).unwrap();
        let (chunks, error) = drain(client.send_stream(&user_go()).await.unwrap()).await;
        assert!(error.is_none(), "{name}: {error:?}");
        assert_eq!(final_of(&chunks).response, expected, "case {name}");
        if name == "tool_call_only" {
            let deltas = chunks
                .iter()
                .filter(|chunk| matches!(chunk, StreamChunk::ToolCallDelta { .. }))
                .count();
            assert_eq!(deltas, 3);
        }
        if !think {
            assert!(
                !chunks
                    .iter()
                    .any(|chunk| matches!(chunk, StreamChunk::ReasoningDelta { .. })),
                "{name}: reasoning deltas dropped"
            );
        }
    }
}

#[tokio::test]
async fn real_stream_captures() {
    let server = serve(raw_sse(TEXT_STREAM)).await;
    let (chunks, error) = drain(client(&server).send_stream(&user_go()).await.unwrap()).await;
    assert!(error.is_none(), "{error:?}");
    let completion = final_of(&chunks);
    assert!(completion
        .response
        .as_text()
        .unwrap()
        .starts_with("The weather in Paris"));
    assert_eq!(completion.usage, Some(TokenUsage::new(216, 256)));

    // Argument deltas, then the server rejects the continuation: an error item, no final.
    let server = serve(raw_sse(TOOL_CALL_STREAM)).await;
    let (chunks, error) = drain(client(&server).send_stream(&user_go()).await.unwrap()).await;
    assert!(chunks
        .iter()
        .any(|chunk| matches!(chunk, StreamChunk::ToolCallDelta { .. })));
    assert!(
        matches!(error, Some(BackendError::InStream { .. })),
        "{error:?}"
    );

    let server = serve(raw_sse(IN_STREAM_ERROR)).await;
    let (chunks, error) = drain(client(&server).send_stream(&user_go()).await.unwrap()).await;
    assert!(!chunks
        .iter()
        .any(|chunk| matches!(chunk, StreamChunk::Final(_))));
    assert!(
        matches!(error, Some(BackendError::InStream { ref message, .. }) if message.contains("peg-native")),
        "{error:?}"
    );
}

#[tokio::test]
async fn truncated_stream_is_an_error_item() {
    let server = serve(sse(&[
        r#"data: {"choices":[{"delta":{"content":"The weather"}}]}"#,
    ]))
    .await;
    let (chunks, error) = drain(client(&server).send_stream(&user_go()).await.unwrap()).await;
    assert_eq!(chunks.len(), 1, "the delta, then no final");
    assert!(
        matches!(error, Some(BackendError::Truncated { .. })),
        "{error:?}"
    );
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
