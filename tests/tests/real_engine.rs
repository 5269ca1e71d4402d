//! The retry engine (`run_inference`) on real model output from the llama-servers that
//! `cargo xtask test` starts.
//!
//! With the model's built-in template the tools are dropped and a small model answers in prose, so
//! the engine must nudge and retry; whether a later attempt yields a usable call is up to the model.
//! The assertions hold either way: the call ends with a valid tool-call batch or with the
//! retries-exhausted failure after exactly `max_retries + 1` backend calls, every discarded
//! attempt is recorded in the history with its nudge on the right channel, every assistant tool
//! call in the history is answered, and a stream marks each discarded attempt with a `Retry` chunk.

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use forge_client::{ChunkStream, InferenceRequest, LlmClient};
use forge_context::{ContextManager, NoCompact};
use forge_guardrails::{
    run_inference, ErrorTracker, InferenceCall, InferenceFailure, InferenceOptions,
    InferenceOutcome, ResponseValidator, RETRY_NUDGE_TEXT,
};
use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};
use forge_tests::{RealEnv, REAL_SERVER_CONTEXT_LENGTH};
use forge_types::{
    json_object, ApiFormat, BackendError, CallIdGenerator, Completion, ForgeError, LlmResponse,
    Message, MessageRole, MessageType, SamplingParams, StreamChunk, TokenUsage, ToolSpec,
};
use serde_json::json;

const MAX_RETRIES: u32 = 2;
const MAX_TOKENS: u64 = 24;
const SEED: i64 = 42;
const STEP: u32 = 0;

/// Delegates to a real client and counts the calls that reach it.
#[derive(Debug)]
struct CountingClient {
    inner: LlamaServerClient,
    sends: AtomicU32,
    streams: AtomicU32,
}

impl CountingClient {
    fn new(inner: LlamaServerClient) -> Self {
        Self {
            inner,
            sends: AtomicU32::new(0),
            streams: AtomicU32::new(0),
        }
    }

    fn sends(&self) -> u32 {
        self.sends.load(Ordering::SeqCst)
    }

    fn streams(&self) -> u32 {
        self.streams.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl LlmClient for CountingClient {
    fn api_format(&self) -> ApiFormat {
        self.inner.api_format()
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request).await
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        self.streams.fetch_add(1, Ordering::SeqCst);
        self.inner.send_stream(request).await
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        self.inner.context_length().await
    }
}

fn llama_client(base: &str, real: &RealEnv, mode: ToolMode) -> CountingClient {
    let config = LlamaServerConfig::new(real.model_path.display().to_string())
        .base_url(format!("{base}/v1"))
        .mode(mode)
        .sampling(SamplingParams {
            temperature: Some(0.0),
            seed: Some(SEED),
            ..SamplingParams::default()
        });
    CountingClient::new(LlamaServerClient::new(config).expect("a valid llama-server configuration"))
}

fn tool(name: &str, description: &str, parameters: serde_json::Value) -> ToolSpec {
    ToolSpec::new(name, description, parameters)
}

fn travel_tools() -> Vec<ToolSpec> {
    let city = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    });
    vec![
        tool("get_weather", "Current weather for a city.", city.clone()),
        tool("get_time", "Current local time in a city.", city),
        tool(
            "convert_currency",
            "Convert an amount between currencies.",
            json!({
                "type": "object",
                "properties": {
                    "amount": {"type": "number"},
                    "from": {"type": "string"},
                    "to": {"type": "string"},
                },
                "required": ["amount", "from", "to"],
            }),
        ),
    ]
}

fn fresh_history() -> Vec<Message> {
    vec![
        Message::system(
            "You are a travel assistant. Answer only by calling one of the tools.",
            MessageType::SystemPrompt.meta(),
        ),
        Message::user(
            "What is the weather in Paris right now?",
            MessageType::UserInput.meta(),
        ),
    ]
}

fn options() -> InferenceOptions {
    InferenceOptions {
        step_index: STEP,
        passthrough: json_object(json!({"max_tokens": MAX_TOKENS})).expect("an object literal"),
        ..InferenceOptions::default()
    }
}

/// Everything one `run_inference` call needs besides the client.
struct Run {
    context: ContextManager,
    validator: ResponseValidator,
    errors: ErrorTracker,
    ids: CallIdGenerator,
    history: Vec<Message>,
}

impl Run {
    /// A run whose context budget is what the real server reports.
    async fn new(client: &CountingClient, history: Vec<Message>) -> Self {
        let budget = client
            .context_length()
            .await
            .expect("/props answers")
            .expect("llama-server reports its context length");
        assert_eq!(budget, REAL_SERVER_CONTEXT_LENGTH);
        Self {
            context: ContextManager::new(NoCompact, budget),
            validator: ResponseValidator::new(travel_tools()),
            errors: ErrorTracker::new(MAX_RETRIES, 2),
            ids: CallIdGenerator::new(),
            history,
        }
    }

    async fn send(
        &mut self,
        client: &CountingClient,
    ) -> Result<InferenceOutcome, InferenceFailure> {
        let call = InferenceCall::new(
            client,
            &mut self.context,
            &self.validator,
            &mut self.errors,
            &self.ids,
        )
        .with_options(options());
        run_inference(call, &mut self.history).await
    }

    async fn stream(
        &mut self,
        client: &CountingClient,
        chunks: &mut Vec<StreamChunk>,
    ) -> Result<InferenceOutcome, InferenceFailure> {
        let call = InferenceCall::new(
            client,
            &mut self.context,
            &self.validator,
            &mut self.errors,
            &self.ids,
        )
        .with_options(options())
        .streaming(chunks);
        run_inference(call, &mut self.history).await
    }
}

/// How a run ended, reduced to what the checks need.
struct Ended {
    attempts: u32,
    final_response: LlmResponse,
    discarded_transcripts: Vec<Message>,
    /// Per attempt; `None` only for a rejected generation the client rescued as text.
    usage: Vec<Option<TokenUsage>>,
}

/// The outcome must be a valid batch or the retries-exhausted failure after the whole budget.
fn check_outcome(outcome: Result<InferenceOutcome, InferenceFailure>, tools: &[ToolSpec]) -> Ended {
    match outcome {
        Ok(InferenceOutcome::Response(result)) => {
            assert!(
                (1..=MAX_RETRIES + 1).contains(&result.log.attempts),
                "{result:?}"
            );
            assert!(!result.calls.is_empty(), "a valid batch is never empty");
            for call in &result.calls {
                assert!(
                    tools.iter().any(|tool| tool.name == call.tool),
                    "a validated call of an unknown tool: {call:?}"
                );
            }
            eprintln!(
                "valid batch after {} attempt(s): {:?}",
                result.log.attempts, result.calls
            );
            Ended {
                attempts: result.log.attempts,
                final_response: result.response,
                discarded_transcripts: result.log.new_messages,
                usage: result.log.usage,
            }
        }
        Ok(InferenceOutcome::OutOfAttempts(log)) => {
            panic!("no attempt limit was set, yet the attempts ran out: {log:?}")
        }
        Err(failure) => {
            let ForgeError::RetriesExhausted { attempts, .. } = &failure.error else {
                panic!("expected the retries-exhausted outcome, got {failure}");
            };
            assert_eq!(*attempts, MAX_RETRIES + 1, "{failure}");
            assert_eq!(failure.log.attempts, MAX_RETRIES + 1, "{failure}");
            let last = failure
                .last_response
                .expect("an exhausted budget keeps the model's last answer");
            eprintln!("retries exhausted after {attempts} attempts; last answer: {last:?}");
            Ended {
                attempts: failure.log.attempts,
                final_response: last,
                discarded_transcripts: failure.log.new_messages,
                usage: failure.log.usage,
            }
        }
    }
}

/// The history is the starting messages followed by one transcript per discarded attempt: the
/// model's answer and its nudge, on the user channel after text and on the tool channel (one
/// reply per call) after tool calls. Every assistant tool call is answered.
fn check_history(history: &[Message], start: &[Message], ended: &Ended) {
    assert!(history.starts_with(start), "the starting messages changed");
    let appended = &history[start.len()..];
    assert_eq!(
        appended,
        ended.discarded_transcripts.as_slice(),
        "the history gained exactly the logged transcripts"
    );
    for message in appended {
        assert_eq!(message.metadata.step_index(), Some(STEP), "{message:?}");
    }

    let mut nudged_attempts = 0;
    let mut index = 0;
    while index < appended.len() {
        let mut answer = &appended[index];
        if answer.metadata.kind() == MessageType::Reasoning {
            index += 1;
            answer = appended
                .get(index)
                .unwrap_or_else(|| panic!("reasoning without the answer it belongs to"));
        }
        assert_eq!(answer.role, MessageRole::Assistant, "{answer:?}");
        index += 1;
        match answer.metadata.kind() {
            MessageType::TextResponse => {
                let nudge = appended
                    .get(index)
                    .unwrap_or_else(|| panic!("a discarded text answer without a nudge"));
                assert_eq!(nudge.role, MessageRole::User, "{nudge:?}");
                assert_eq!(nudge.metadata.kind(), MessageType::RetryNudge, "{nudge:?}");
                assert_eq!(nudge.content, RETRY_NUDGE_TEXT);
                index += 1;
            }
            MessageType::ToolCall => {
                let calls = answer
                    .tool_calls
                    .as_ref()
                    .expect("a tool-call message carries its calls");
                assert!(!calls.is_empty(), "{answer:?}");
                for call in calls {
                    let reply = appended.get(index).unwrap_or_else(|| {
                        panic!("assistant tool call {:?} left unanswered", call.call_id)
                    });
                    assert_eq!(reply.role, MessageRole::Tool, "{reply:?}");
                    assert_eq!(reply.metadata.kind(), MessageType::RetryNudge, "{reply:?}");
                    assert_eq!(reply.tool_call_id.as_ref(), Some(&call.call_id));
                    assert!(reply.content.starts_with("[UnknownTool] "), "{reply:?}");
                    index += 1;
                }
            }
            other => panic!("unexpected {other:?} in a failure transcript: {answer:?}"),
        }
        nudged_attempts += 1;
    }
    assert_eq!(
        nudged_attempts,
        ended.attempts - 1,
        "one transcript per discarded attempt"
    );
    assert_eq!(
        ended.usage.len(),
        ended.attempts as usize,
        "one usage entry per attempt"
    );
    for usage in ended.usage.iter().flatten() {
        assert!(usage.prompt_tokens > 0, "{usage:?}");
        assert!(usage.completion_tokens <= MAX_TOKENS, "{usage:?}");
    }
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_engine_turns_prose_into_nudged_retries_within_the_budget() {
    let real = RealEnv::from_env();
    let client = llama_client(&real.llama_url, &real, ToolMode::Native);
    let start = fresh_history();
    let mut run = Run::new(&client, start.clone()).await;

    let ended = check_outcome(run.send(&client).await, &travel_tools());

    assert_eq!(
        client.sends(),
        ended.attempts,
        "one backend call per attempt"
    );
    assert_eq!(client.streams(), 0);
    check_history(&run.history, &start, &ended);
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_engine_in_prompt_mode_rescues_or_retries_within_the_budget() {
    let real = RealEnv::from_env();
    let client = llama_client(&real.llama_url, &real, ToolMode::Prompt);
    let start = fresh_history();
    let mut run = Run::new(&client, start.clone()).await;

    let ended = check_outcome(run.send(&client).await, &travel_tools());

    assert_eq!(
        client.sends(),
        ended.attempts,
        "one backend call per attempt"
    );
    check_history(&run.history, &start, &ended);
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_engine_streaming_marks_each_discarded_attempt_with_a_retry_chunk() {
    let real = RealEnv::from_env();
    let client = llama_client(&real.llama_url, &real, ToolMode::Native);
    let start = fresh_history();
    let mut run = Run::new(&client, start.clone()).await;
    let mut chunks = Vec::new();

    let ended = check_outcome(run.stream(&client, &mut chunks).await, &travel_tools());

    assert_eq!(
        client.streams(),
        ended.attempts,
        "one backend stream per attempt"
    );
    assert_eq!(client.sends(), 0);
    check_history(&run.history, &start, &ended);

    // Attempts are separated by Retry chunks numbered from 1; each attempt is deltas then one Final.
    let attempts: Vec<&[StreamChunk]> = chunks
        .split(|chunk| matches!(chunk, StreamChunk::Retry { .. }))
        .collect();
    let retries: Vec<u32> = chunks
        .iter()
        .filter_map(|chunk| match chunk {
            StreamChunk::Retry { attempt } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(retries, (1..ended.attempts).collect::<Vec<_>>());
    assert_eq!(attempts.len() as u32, ended.attempts);
    for (number, attempt) in attempts.iter().enumerate() {
        let (last, deltas) = attempt
            .split_last()
            .unwrap_or_else(|| panic!("attempt {number} streamed nothing"));
        assert!(
            matches!(last, StreamChunk::Final(_)),
            "attempt {number} does not end with Final: {attempt:?}"
        );
        assert!(
            deltas.iter().all(|chunk| matches!(
                chunk,
                StreamChunk::TextDelta { .. }
                    | StreamChunk::ReasoningDelta { .. }
                    | StreamChunk::ToolCallDelta { .. }
            )),
            "attempt {number}: only deltas precede its Final: {attempt:?}"
        );
    }
    let last_final = match chunks.last() {
        Some(StreamChunk::Final(completion)) => &completion.response,
        other => panic!("the stream does not end with Final: {other:?}"),
    };
    assert_eq!(last_final, &ended.final_response);
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_engine_accepts_a_server_parsed_tool_call_on_the_first_attempt() {
    let real = RealEnv::from_env();
    let client = llama_client(&real.llama_tools_url, &real, ToolMode::Native);
    // The assistant turn already holds the call; with max_tokens 1 the server parses it into
    // `tool_calls` whatever the model adds.
    let mut start = fresh_history();
    start.push(Message::assistant(
        "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
        MessageType::TextResponse.meta(),
    ));
    let mut run = Run::new(&client, start.clone()).await;
    let options = InferenceOptions {
        passthrough: json_object(json!({"max_tokens": 1})).expect("an object literal"),
        ..options()
    };
    let call = InferenceCall::new(
        &client,
        &mut run.context,
        &run.validator,
        &mut run.errors,
        &run.ids,
    )
    .with_options(options);

    let outcome = run_inference(call, &mut run.history).await;

    let result = match outcome {
        Ok(InferenceOutcome::Response(result)) => result,
        other => panic!("expected the parsed call, got {other:?}"),
    };
    assert_eq!(result.log.attempts, 1);
    assert_eq!(client.sends(), 1);
    assert_eq!(result.calls.len(), 1, "{:?}", result.calls);
    assert_eq!(result.calls[0].tool, "get_weather");
    assert_eq!(
        result.calls[0].args,
        json_object(json!({"city": "Paris"})).expect("an object literal")
    );
    let usage = result.usage.expect("the server reports usage");
    assert!(usage.prompt_tokens > 0, "{usage:?}");
    assert_eq!(
        run.history, start,
        "a first-attempt success appends nothing"
    );
    assert_eq!(run.errors.consecutive_retries(), 0);
    assert_eq!(run.context.observed_tokens(), Some(usage.prompt_tokens));
}
