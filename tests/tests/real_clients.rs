//! forge's OpenAI-shape clients against the real llama-servers that `cargo xtask test` starts:
//! `LlamaServerClient` in native and prompt mode, and `OpenAiCompatClient` pointed at llama-server's
//! `/v1`, each sending and streaming, with and without tools.
//!
//! What is asserted holds for any model: a call ends in a well-formed [`Completion`] (text, or tool
//! calls with object arguments, and plausible usage) or in a typed [`BackendError`]; a stream yields
//! deltas and then exactly one final item. The only model-independent way to get a real tool call
//! out of a 135M model is server-side: with the tools template, a request whose last message is an
//! assistant turn already holding `<tool_call>` and the call JSON, answered with `max_tokens: 1`, is
//! parsed by llama-server into `tool_calls`. The same prefill with text that is not JSON makes the
//! server's parser fail whatever the model adds, which gives a deterministic parse error.

use forge_client::{InferenceRequest, LlmClient};
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};
use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
use forge_tests::{RealEnv, REAL_SERVER_CONTEXT_LENGTH};
use forge_types::{
    json_object, BackendError, Completion, LlmResponse, SamplingParams, StreamChunk, ToolSpec,
};
use futures_util::StreamExt;
use serde_json::{json, Value};

/// Enough tokens for a sentence or the start of a call, few enough to keep the file fast.
const MAX_TOKENS: u64 = 16;
const SEED: i64 = 42;
const PREFILLED_CALL: &str = r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#;
/// A `<tool_call>` block no continuation can turn into JSON.
const UNPARSABLE_CALL: &str = "<tool_call>\nnot json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    LlamaNative,
    LlamaPrompt,
    OpenAiCompat,
}

#[derive(Debug, Clone, Copy)]
enum Server {
    /// The model's built-in chat template (it drops tools).
    BuiltInTemplate,
    /// `assets/templates/smollm2-tools.jinja`: tools in the prompt, `<tool_call>` parsed back.
    ToolsTemplate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Send,
    Stream,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    client: ClientKind,
    server: Server,
    with_tools: bool,
    mode: Mode,
}

impl Case {
    fn label(&self) -> String {
        format!(
            "{:?} on {:?}, {}, {:?}",
            self.client,
            self.server,
            if self.with_tools { "tools" } else { "no tools" },
            self.mode
        )
    }
}

fn sampling() -> SamplingParams {
    SamplingParams {
        temperature: Some(0.0),
        seed: Some(SEED),
        ..SamplingParams::default()
    }
}

fn client(real: &RealEnv, kind: ClientKind, server: Server) -> Box<dyn LlmClient> {
    let root = match server {
        Server::BuiltInTemplate => &real.llama_url,
        Server::ToolsTemplate => &real.llama_tools_url,
    };
    let base_url = format!("{root}/v1");
    let llama = |mode| {
        let config = LlamaServerConfig::new(real.model_path.display().to_string())
            .base_url(base_url.clone())
            .mode(mode)
            .sampling(sampling());
        Box::new(LlamaServerClient::new(config).expect("a valid llama-server configuration"))
    };
    match kind {
        ClientKind::LlamaNative => llama(ToolMode::Native),
        ClientKind::LlamaPrompt => llama(ToolMode::Prompt),
        ClientKind::OpenAiCompat => {
            let config = OpenAiCompatConfig::new("smollm2", base_url).sampling(sampling());
            Box::new(OpenAiCompatClient::new(config).expect("a valid OpenAI-compatible config"))
        }
    }
}

fn tool(name: &str, description: &str) -> ToolSpec {
    ToolSpec::new(
        name,
        description,
        json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
    )
}

fn weather_tools() -> Vec<ToolSpec> {
    vec![
        tool("get_weather", "Current weather for a city."),
        tool("get_time", "Current local time in a city."),
    ]
}

fn request(messages: Vec<Value>, tools: Vec<ToolSpec>, max_tokens: u64) -> InferenceRequest {
    InferenceRequest {
        messages,
        tools,
        sampling: SamplingParams::default(),
        passthrough: json_object(json!({"max_tokens": max_tokens})).expect("a JSON object literal"),
        ..InferenceRequest::default()
    }
}

fn weather_question(tools: Vec<ToolSpec>) -> InferenceRequest {
    request(
        vec![json!({"role": "user", "content": "What is the weather in Paris right now?"})],
        tools,
        MAX_TOKENS,
    )
}

/// The question followed by an assistant turn that already holds `prefill`.
fn prefilled(prefill: &str) -> InferenceRequest {
    request(
        vec![
            json!({"role": "user", "content": "What is the weather in Paris right now?"}),
            json!({"role": "assistant", "content": prefill}),
        ],
        weather_tools(),
        1,
    )
}

/// Everything a stream yielded, in order, read to its end.
async fn drain(
    client: &dyn LlmClient,
    request: &InferenceRequest,
) -> Result<Vec<Result<StreamChunk, BackendError>>, BackendError> {
    let stream = client.send_stream(request).await?;
    Ok(stream.collect().await)
}

/// Checks the stream protocol — deltas, then exactly one final item (a `Final` or an error),
/// nothing after — and returns the deltas and that final item.
fn split_stream(
    label: &str,
    items: Vec<Result<StreamChunk, BackendError>>,
) -> (Vec<StreamChunk>, Result<Completion, BackendError>) {
    let mut items = items;
    let last = items
        .pop()
        .unwrap_or_else(|| panic!("{label}: the stream yielded nothing"));
    let deltas: Vec<StreamChunk> = items
        .into_iter()
        .map(|item| match item {
            Ok(
                delta @ (StreamChunk::TextDelta { .. }
                | StreamChunk::ReasoningDelta { .. }
                | StreamChunk::ToolCallDelta { .. }),
            ) => delta,
            other => panic!("{label}: only deltas may precede the final item, got {other:?}"),
        })
        .collect();
    let terminal = match last {
        Ok(StreamChunk::Final(completion)) => Ok(completion),
        Err(error) => Err(error),
        Ok(other) => panic!("{label}: the stream ended with {other:?} instead of a final item"),
    };
    (deltas, terminal)
}

fn joined_text(deltas: &[StreamChunk]) -> String {
    deltas
        .iter()
        .filter_map(|delta| match delta {
            StreamChunk::TextDelta { content } => Some(content.as_str()),
            _ => None,
        })
        .collect()
}

/// Usage must be the server's real accounting for this response.
fn check_usage(label: &str, completion: &Completion, max_tokens: u64) {
    let usage = completion
        .usage
        .unwrap_or_else(|| panic!("{label}: no usage in {completion:?}"));
    assert!(usage.prompt_tokens > 0, "{label}: {usage:?}");
    assert!(
        usage.completion_tokens <= max_tokens,
        "{label}: more tokens than max_tokens: {usage:?}"
    );
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens,
        "{label}: {usage:?}"
    );
}

/// A completion every client may return for `case`.
fn check_completion(case: &Case, completion: &Completion, offered: &[ToolSpec]) {
    let label = case.label();
    check_usage(&label, completion, MAX_TOKENS);
    match &completion.response {
        LlmResponse::Text(_) => {}
        LlmResponse::ToolCalls(calls) => {
            assert!(
                case.with_tools,
                "{label}: tool calls without tools: {calls:?}"
            );
            assert!(!calls.is_empty(), "{label}: an empty tool-call batch");
            for call in calls {
                assert!(!call.tool.is_empty(), "{label}: a call without a name");
                if case.client == ClientKind::LlamaPrompt {
                    // Prompt-mode extraction only ever returns calls of offered tools.
                    assert!(
                        offered.iter().any(|tool| tool.name == call.tool),
                        "{label}: extracted a call of an unknown tool: {call:?}"
                    );
                }
            }
        }
    }
}

/// A failure is acceptable only where the server's tool-call parser runs, and only as the typed
/// error for it: HTTP 500 when sending, an in-stream error event when streaming.
fn check_failure(case: &Case, error: &BackendError) {
    let label = case.label();
    let parser_runs = case.with_tools && case.client != ClientKind::LlamaPrompt;
    assert!(
        parser_runs,
        "{label}: a request without server-side tool parsing failed: {error}"
    );
    match (case.mode, error) {
        (Mode::Send, BackendError::Http { status: 500, .. })
        | (Mode::Stream, BackendError::InStream { .. }) => {}
        _ => panic!("{label}: not the server's typed parse failure: {error:?}"),
    }
}

/// Runs one case and checks everything that must hold for any model; returns a one-line summary.
async fn check_case(real: &RealEnv, case: Case) -> String {
    let label = case.label();
    let client = client(real, case.client, case.server);
    let offered = if case.with_tools {
        weather_tools()
    } else {
        Vec::new()
    };
    let request = weather_question(offered.clone());
    let outcome = match case.mode {
        Mode::Send => client.send(&request).await,
        Mode::Stream => match drain(client.as_ref(), &request).await {
            Err(error) => Err(error),
            Ok(items) => {
                let (deltas, terminal) = split_stream(&label, items);
                if let Ok(Completion {
                    response: LlmResponse::Text(text),
                    ..
                }) = &terminal
                {
                    let streamed = joined_text(&deltas);
                    if !case.with_tools && !streamed.contains("think>") {
                        assert_eq!(
                            streamed.trim(),
                            text.content.trim(),
                            "{label}: the final text is not what was streamed"
                        );
                    }
                }
                terminal
            }
        },
    };
    match &outcome {
        Ok(completion) => check_completion(&case, completion, &offered),
        Err(error) => check_failure(&case, error),
    }
    let summary = match &outcome {
        Ok(Completion {
            response: LlmResponse::Text(text),
            usage,
        }) => format!("text of {} chars, {usage:?}", text.content.len()),
        Ok(Completion {
            response: LlmResponse::ToolCalls(calls),
            ..
        }) => format!("{} tool call(s)", calls.len()),
        Err(error) => format!("typed error: {error}"),
    };
    format!("{label}: {summary}")
}

/// Every combination of tools and mode for one client on one server.
async fn check_client(client: ClientKind, server: Server) {
    let real = RealEnv::from_env();
    for with_tools in [false, true] {
        for mode in [Mode::Send, Mode::Stream] {
            let case = Case {
                client,
                server,
                with_tools,
                mode,
            };
            let summary = check_case(&real, case).await;
            eprintln!("{summary}");
        }
    }
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_llama_native_client_answers_well_formed_with_and_without_tools() {
    check_client(ClientKind::LlamaNative, Server::BuiltInTemplate).await;
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_llama_native_client_on_the_tools_template_answers_well_formed_or_typed_errors() {
    check_client(ClientKind::LlamaNative, Server::ToolsTemplate).await;
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_llama_prompt_mode_client_answers_well_formed_with_and_without_tools() {
    check_client(ClientKind::LlamaPrompt, Server::BuiltInTemplate).await;
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_openai_compat_client_answers_well_formed_with_and_without_tools() {
    check_client(ClientKind::OpenAiCompat, Server::BuiltInTemplate).await;
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_llama_client_discovers_the_configured_context_length_from_props() {
    let real = RealEnv::from_env();
    for server in [Server::BuiltInTemplate, Server::ToolsTemplate] {
        for kind in [ClientKind::LlamaNative, ClientKind::LlamaPrompt] {
            let discovered = client(&real, kind, server)
                .context_length()
                .await
                .unwrap_or_else(|error| panic!("{kind:?} on {server:?}: {error}"));
            assert_eq!(
                discovered,
                Some(REAL_SERVER_CONTEXT_LENGTH),
                "{kind:?} on {server:?}"
            );
        }
    }
}

/// The prefilled call comes back as a real `tool_calls` reply, sent and streamed.
async fn check_prefilled_call(kind: ClientKind) {
    let real = RealEnv::from_env();
    let client = client(&real, kind, Server::ToolsTemplate);
    let request = prefilled(&format!("<tool_call>\n{PREFILLED_CALL}\n</tool_call>"));
    let expected_args = json_object(json!({"city": "Paris"})).expect("a JSON object literal");
    for mode in [Mode::Send, Mode::Stream] {
        let label = format!("{kind:?} prefilled call, {mode:?}");
        let completion = match mode {
            Mode::Send => client.send(&request).await,
            Mode::Stream => {
                let items = drain(client.as_ref(), &request)
                    .await
                    .unwrap_or_else(|error| panic!("{label}: {error}"));
                let (deltas, terminal) = split_stream(&label, items);
                let named = deltas.iter().any(|delta| {
                    matches!(delta, StreamChunk::ToolCallDelta { name: Some(name), .. } if name == "get_weather")
                });
                assert!(
                    named,
                    "{label}: no tool-call delta named the tool: {deltas:?}"
                );
                terminal
            }
        }
        .unwrap_or_else(|error| panic!("{label}: {error}"));
        check_usage(&label, &completion, 1);
        let calls = completion
            .response
            .as_tool_calls()
            .unwrap_or_else(|| panic!("{label}: not a tool call: {:?}", completion.response));
        assert_eq!(calls.len(), 1, "{label}: {calls:?}");
        assert_eq!(calls[0].tool, "get_weather", "{label}");
        assert_eq!(calls[0].args, expected_args, "{label}");
    }
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_llama_native_client_returns_a_server_parsed_tool_call_as_tool_calls() {
    check_prefilled_call(ClientKind::LlamaNative).await;
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_openai_compat_client_returns_a_server_parsed_tool_call_as_tool_calls() {
    check_prefilled_call(ClientKind::OpenAiCompat).await;
}

/// A stream the server ends with its parse-error event ends with a typed error item: no final
/// response, and the error never shows up as text.
async fn check_unparsable_stream(kind: ClientKind) {
    let real = RealEnv::from_env();
    let label = format!("{kind:?} unparsable call, streamed");
    let client = client(&real, kind, Server::ToolsTemplate);
    let items = drain(client.as_ref(), &prefilled(UNPARSABLE_CALL))
        .await
        .unwrap_or_else(|error| panic!("{label}: the stream did not start: {error}"));
    let (deltas, terminal) = split_stream(&label, items);
    match terminal {
        Err(BackendError::InStream { message, .. }) => {
            assert!(!message.is_empty(), "{label}: an error without a message");
        }
        other => panic!("{label}: expected an in-stream error, got {other:?}"),
    }
    let text = joined_text(&deltas);
    assert!(
        !text.contains("error"),
        "{label}: the error leaked into the text: {text}"
    );
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_llama_native_client_reports_an_unparsable_call_as_a_typed_error() {
    let real = RealEnv::from_env();
    let client = client(&real, ClientKind::LlamaNative, Server::ToolsTemplate);
    match client.send(&prefilled(UNPARSABLE_CALL)).await {
        Err(BackendError::Http { status, .. }) => assert_eq!(status, 500),
        // Builds that echo the rejected generation in the 500 get it back as text for the retry
        // path; that text is the model's output, never empty and never a tool call.
        Ok(Completion {
            response: LlmResponse::Text(text),
            ..
        }) => assert!(
            !text.content.trim().is_empty(),
            "an empty rescued generation"
        ),
        other => panic!("expected HTTP 500 or the rescued generation, got {other:?}"),
    }
    check_unparsable_stream(ClientKind::LlamaNative).await;
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_openai_compat_client_reports_an_unparsable_call_as_a_typed_error() {
    let real = RealEnv::from_env();
    let client = client(&real, ClientKind::OpenAiCompat, Server::ToolsTemplate);
    match client.send(&prefilled(UNPARSABLE_CALL)).await {
        Err(BackendError::Http {
            status,
            body_excerpt,
            ..
        }) => {
            assert_eq!(status, 500);
            assert!(!body_excerpt.is_empty(), "a 500 without its body");
        }
        other => panic!("expected HTTP 500, got {other:?}"),
    }
    check_unparsable_stream(ClientKind::OpenAiCompat).await;
}
