//! Constrained decoding end to end, per backend and per policy: `run_inference` with a real
//! backend client against a wiremock server. The constraint must land in the backend's own request
//! field on exactly the attempts the policy names (never: none; retry: attempts 2 and later;
//! always: all), and the constrained answer must come back decoded into a call by the client.
//!
//! The mock answers like a model that ignores the tools until told: request 1 gets prose (or,
//! when constrained, a `respond` call — a text answer), every later request a `get_weather` call
//! (JSON content when constrained, a native call otherwise).
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use forge_anthropic::{AnthropicClient, AnthropicConfig};
use forge_client::LlmClient;
use forge_context::ContextManager;
use forge_guardrails::{
    run_inference, ConstraintPolicy, ErrorTracker, InferenceCall, InferenceOptions,
    InferenceOutcome, ResponseValidator,
};
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig};
use forge_ollama::{OllamaClient, OllamaConfig, ThinkMode};
use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
use forge_types::{CallIdGenerator, LlmResponse, Message, MessageType, ToolSpec};
use forge_vllm::{VllmClient, VllmConfig};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    LlamaServer,
    Vllm,
    Ollama,
    OpenAi,
    Anthropic,
}

const BACKENDS: [Backend; 5] = [
    Backend::LlamaServer,
    Backend::Vllm,
    Backend::Ollama,
    Backend::OpenAi,
    Backend::Anthropic,
];

fn weather_tool() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string", "title": "City"}},
               "required": ["city"], "title": "GetWeatherParams"}),
    )
}

/// What an answer says, before it is put in the backend's wire shape.
enum Answer {
    Prose(&'static str),
    Call(Value),
}

/// The envelope a JSON-schema backend's model writes under the constraint.
fn envelope(backend: Backend, name: &str, arguments: Value) -> String {
    let call = json!({"name": name, "arguments": arguments});
    match backend {
        Backend::OpenAi => json!({"tool_call": call}).to_string(),
        _ => call.to_string(),
    }
}

impl Backend {
    /// The constraint as found in a request body, if any.
    fn constraint_field(self, body: &Value) -> Option<Value> {
        match self {
            Self::LlamaServer => body.get("json_schema").cloned(),
            Self::Vllm => body.pointer("/structured_outputs/json").cloned(),
            Self::Ollama => body.get("format").cloned(),
            Self::OpenAi => body.get("response_format").cloned(),
            Self::Anthropic => body
                .get("tool_choice")
                .filter(|choice| choice["type"] == "any")
                .cloned(),
        }
    }

    fn reply(self, answer: Answer, constrained: bool) -> Value {
        let native_call = |arguments: Value| match self {
            Self::Ollama => json!({"function": {"name": "get_weather", "arguments": arguments}}),
            _ => json!({"id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": arguments.to_string()}}),
        };
        match self {
            Self::Anthropic => {
                let block = match answer {
                    Answer::Prose(text) if constrained => {
                        json!({"type": "tool_use", "id": "toolu_1",
                        "name": "respond", "input": {"message": text}})
                    }
                    Answer::Prose(text) => json!({"type": "text", "text": text}),
                    Answer::Call(arguments) => json!({"type": "tool_use", "id": "toolu_1",
                        "name": "get_weather", "input": arguments}),
                };
                json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
                       "content": [block], "stop_reason": "end_turn", "stop_sequence": null,
                       "usage": {"input_tokens": 12, "output_tokens": 7}})
            }
            _ => {
                let message = match answer {
                    Answer::Prose(text) if constrained => json!({"role": "assistant",
                        "content": envelope(self, "respond", json!({"message": text}))}),
                    Answer::Prose(text) => json!({"role": "assistant", "content": text}),
                    Answer::Call(arguments) if constrained => json!({"role": "assistant",
                        "content": envelope(self, "get_weather", arguments)}),
                    Answer::Call(arguments) => json!({"role": "assistant", "content": "",
                        "tool_calls": [native_call(arguments)]}),
                };
                match self {
                    Self::Ollama => {
                        json!({"model": "test-model", "created_at": "2026-05-01T12:00:00Z",
                        "message": message, "done": true, "done_reason": "stop",
                        "prompt_eval_count": 42, "eval_count": 17})
                    }
                    _ => json!({"id": "chatcmpl-1", "object": "chat.completion",
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
                }
            }
        }
    }

    fn client(self, server: &MockServer) -> Box<dyn LlmClient> {
        let uri = server.uri();
        match self {
            Self::LlamaServer => Box::new(
                LlamaServerClient::new(
                    LlamaServerConfig::new("model.gguf").base_url(format!("{uri}/v1")),
                )
                .unwrap(),
            ),
            Self::Vllm => Box::new(
                VllmClient::new(VllmConfig::new(format!("{uri}/v1")).model("test-model")).unwrap(),
            ),
            Self::Ollama => Box::new(
                OllamaClient::new(
                    OllamaConfig::new("test-model")
                        .base_url(uri)
                        .think(ThinkMode::Off),
                )
                .unwrap(),
            ),
            Self::OpenAi => Box::new(
                OpenAiCompatClient::new(OpenAiCompatConfig::new("gpt-test", format!("{uri}/v1")))
                    .unwrap(),
            ),
            Self::Anthropic => Box::new(
                AnthropicClient::new(
                    AnthropicConfig::new("sk-test")
                        .base_url(uri)
                        .model("claude-test"),
                )
                .unwrap(),
            ),
        }
    }
}

/// Answers by request order and by whether the request carries the constraint.
struct ScriptedModel {
    backend: Backend,
    seen: Arc<AtomicUsize>,
}

impl Respond for ScriptedModel {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let constrained = self.backend.constraint_field(&body).is_some();
        let answer = match self.seen.fetch_add(1, Ordering::SeqCst) {
            0 => Answer::Prose("Which city do you mean?"),
            _ => Answer::Call(json!({"city": "Paris"})),
        };
        ResponseTemplate::new(200).set_body_json(self.backend.reply(answer, constrained))
    }
}

struct Run {
    constrained_attempts: Vec<bool>,
    bodies: Vec<Value>,
    outcome: InferenceOutcome,
}

async fn run(backend: Backend, policy: ConstraintPolicy) -> Run {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ScriptedModel {
            backend,
            seen: Arc::default(),
        })
        .mount(&server)
        .await;
    let client = backend.client(&server);
    let mut context = ContextManager::without_budget();
    let validator = ResponseValidator::new(vec![weather_tool()]);
    let mut errors = ErrorTracker::new(3, 2);
    let ids = CallIdGenerator::new();
    let mut history = vec![Message::user(
        "What is the weather in Paris?",
        MessageType::UserInput.meta(),
    )];
    let options = InferenceOptions {
        constraint_policy: policy,
        passthrough: forge_types::json_object(json!({"model": "test-model", "max_tokens": 256}))
            .unwrap(),
        ..InferenceOptions::default()
    };
    let call = InferenceCall::new(client.as_ref(), &mut context, &validator, &mut errors, &ids)
        .with_options(options);
    let outcome = run_inference(call, &mut history).await.unwrap();
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|request| request.method.as_str() == "POST")
        .map(|request| serde_json::from_slice(&request.body).unwrap())
        .collect();
    Run {
        constrained_attempts: bodies
            .iter()
            .map(|body| backend.constraint_field(body).is_some())
            .collect(),
        bodies,
        outcome,
    }
}

fn check(backend: Backend, policy: ConstraintPolicy, run: &Run) {
    let expected = match policy {
        ConstraintPolicy::Never => vec![false, false],
        ConstraintPolicy::Retry => vec![false, true],
        ConstraintPolicy::Always => vec![true, true],
    };
    assert_eq!(
        run.constrained_attempts, expected,
        "{backend:?} under {policy}: which attempts carried the constraint"
    );
    let InferenceOutcome::Response(result) = &run.outcome else {
        panic!("{backend:?} under {policy}: no usable response");
    };
    assert_eq!(result.calls.len(), 1, "{backend:?} under {policy}");
    assert_eq!(result.calls[0].tool, "get_weather");
    assert_eq!(result.calls[0].args["city"], "Paris");
    // The final answer is a call as the client returned it: under a constraint, the client
    // decoded the JSON content itself (nothing was left for the validator to rescue).
    assert!(
        matches!(result.response, LlmResponse::ToolCalls(_)),
        "{backend:?} under {policy}: {:?}",
        result.response
    );
    // Attempt 1 was a text answer either way; when constrained it came as a `respond` call,
    // which the client turned back into text.
    let first_text = result
        .log
        .new_messages
        .iter()
        .find(|m| m.metadata.kind() == MessageType::TextResponse)
        .map(|m| m.content.as_str());
    assert_eq!(
        first_text,
        Some("Which city do you mean?"),
        "{backend:?} under {policy}"
    );
}

#[tokio::test]
async fn the_constraint_rides_exactly_the_attempts_the_policy_names_on_every_backend() {
    for backend in BACKENDS {
        for policy in [
            ConstraintPolicy::Never,
            ConstraintPolicy::Retry,
            ConstraintPolicy::Always,
        ] {
            let run = run(backend, policy).await;
            check(backend, policy, &run);
        }
    }
}

#[tokio::test]
async fn each_backend_writes_the_constraint_in_its_own_field() {
    for backend in BACKENDS {
        let run = run(backend, ConstraintPolicy::Always).await;
        let field = backend.constraint_field(&run.bodies[0]).unwrap();
        let schema_names = |schema: &Value, branches: &str| -> Vec<String> {
            schema
                .pointer(branches)
                .and_then(Value::as_array)
                .unwrap()
                .iter()
                .map(|branch| {
                    let name = &branch["properties"]["name"];
                    name.get("const")
                        .or_else(|| name.pointer("/enum/0"))
                        .and_then(Value::as_str)
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        match backend {
            Backend::LlamaServer | Backend::Vllm | Backend::Ollama => {
                assert_eq!(schema_names(&field, "/oneOf"), ["get_weather", "respond"]);
            }
            Backend::OpenAi => {
                assert_eq!(field["type"], "json_schema");
                assert_eq!(field["json_schema"]["strict"], true);
                assert_eq!(field["json_schema"]["name"], "tool_call");
                assert_eq!(
                    schema_names(
                        &field["json_schema"]["schema"],
                        "/properties/tool_call/anyOf"
                    ),
                    ["get_weather", "respond"]
                );
                assert_eq!(run.bodies[0]["tool_choice"], "none");
            }
            Backend::Anthropic => {
                assert_eq!(
                    field,
                    json!({"type": "any", "disable_parallel_tool_use": true})
                );
                let offered: Vec<&str> = run.bodies[0]["tools"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|tool| tool["name"].as_str().unwrap())
                    .collect();
                assert_eq!(offered, ["get_weather", "respond"]);
            }
        }
    }
}

#[tokio::test]
async fn a_constrained_stream_hides_the_json_and_ends_with_the_decoded_call() {
    use forge_client::InferenceRequest;
    use forge_toolparse::{build_tool_constraint, ConstraintDialect, ConstraintOutcome};
    use forge_types::StreamChunk;
    use futures_util::StreamExt;

    let server = MockServer::start().await;
    let pieces = [
        r#"{"name": "get_"#,
        r#"weather", "arguments": "#,
        r#"{"city": "Paris"}}"#,
    ];
    let mut sse = String::new();
    for piece in pieces {
        let chunk = json!({"id": "c1", "object": "chat.completion.chunk",
                           "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]});
        sse.push_str(&format!("data: {chunk}\n\n"));
    }
    let last = json!({"id": "c1", "object": "chat.completion.chunk",
                      "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    sse.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(sse),
        )
        .mount(&server)
        .await;
    let ConstraintOutcome::Constrained(constraint) =
        build_tool_constraint(&[weather_tool()], None, ConstraintDialect::LlamaCppGrammar)
    else {
        panic!("a plain schema is supported");
    };
    let request = InferenceRequest {
        messages: vec![json!({"role": "user", "content": "Weather in Paris?"})],
        tools: vec![weather_tool()],
        constraint: Some(constraint),
        ..InferenceRequest::default()
    };
    let client = Backend::LlamaServer.client(&server);
    let chunks: Vec<StreamChunk> = client
        .send_stream(&request)
        .await
        .unwrap()
        .map(|item| item.unwrap())
        .collect()
        .await;
    assert!(
        !chunks
            .iter()
            .any(|chunk| matches!(chunk, StreamChunk::TextDelta { .. })),
        "{chunks:?}"
    );
    let Some(StreamChunk::Final(completion)) = chunks.last() else {
        panic!("no final chunk: {chunks:?}");
    };
    let LlmResponse::ToolCalls(calls) = &completion.response else {
        panic!("not decoded: {:?}", completion.response);
    };
    assert_eq!(calls[0].tool, "get_weather");
    assert_eq!(calls[0].args["city"], "Paris");
}

#[tokio::test]
async fn llama_prompt_mode_asks_for_the_envelope_its_tool_prompt_shows() {
    use forge_client::InferenceRequest;
    use forge_llamacpp::ToolMode;
    use forge_toolparse::{build_tool_constraint, ConstraintDialect, ConstraintOutcome};

    let server = MockServer::start().await;
    let content = json!({"tool": "get_weather", "args": {"city": "Paris"}}).to_string();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}]})))
        .mount(&server)
        .await;
    let ConstraintOutcome::Constrained(constraint) =
        build_tool_constraint(&[weather_tool()], None, ConstraintDialect::LlamaCppGrammar)
    else {
        panic!("a plain schema is supported");
    };
    let client = LlamaServerClient::new(
        LlamaServerConfig::new("model.gguf")
            .base_url(format!("{}/v1", server.uri()))
            .mode(ToolMode::Prompt),
    )
    .unwrap();
    let request = InferenceRequest {
        messages: vec![json!({"role": "user", "content": "Weather in Paris?"})],
        tools: vec![weather_tool()],
        constraint: Some(constraint),
        ..InferenceRequest::default()
    };
    let completion = client.send(&request).await.unwrap();
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let branch = &body["json_schema"]["oneOf"][0];
    assert_eq!(
        branch["properties"]["tool"],
        json!({"const": "get_weather"})
    );
    assert_eq!(branch["required"], json!(["tool", "args"]));
    let LlmResponse::ToolCalls(calls) = completion.response else {
        panic!("not decoded: {:?}", completion.response);
    };
    assert_eq!(calls[0].tool, "get_weather");
    assert_eq!(calls[0].args["city"], "Paris");
}
