//! `run_inference` driven by a scripted fake client: the pinned behaviours of spec 03 §9 and
//! §18.8, the raw-payload gate (§9.4), streaming, cancellation, and the engine defect
//! regressions of the reference.
#![allow(clippy::unwrap_used)]

mod support;

use forge_context::{ContextManager, NoCompact, SlidingWindowCompact};
use forge_guardrails::{
    fold_and_serialize, run_inference, strip_raw_reasoning, ErrorTracker, FnSink, InferenceCall,
    InferenceFailure, InferenceOptions, InferenceOutcome, RawInbound, ReasoningReplay,
    ResponseValidator, RETRY_NUDGE_TEXT,
};
use forge_types::{
    ApiFormat, BackendError, CallId, CallIdGenerator, ChunkKind, Completion, ForgeError, Message,
    MessageRole, MessageType, StreamChunk, TokenUsage, ToolCallInfo,
};
use serde_json::{json, Value};
use support::{args, batch, call, fresh_history, specs, text, Scripted, ScriptedClient};
use tokio_util::sync::CancellationToken;

/// Everything one `run_inference` call needs, owned, so a test states only what differs.
struct Harness {
    client: ScriptedClient,
    context: ContextManager,
    validator: ResponseValidator,
    errors: ErrorTracker,
    ids: CallIdGenerator,
    history: Vec<Message>,
}

impl Harness {
    fn new(client: ScriptedClient, tools: &[&str], history: Vec<Message>) -> Self {
        Self {
            client,
            context: ContextManager::new(NoCompact, 100_000),
            validator: ResponseValidator::new(specs(tools)),
            errors: ErrorTracker::new(3, 2),
            ids: CallIdGenerator::new(),
            history,
        }
    }

    /// The default trace setup of spec 03 §14: tools fetch/submit, OpenAI format.
    fn trace(script: Vec<forge_types::LlmResponse>) -> Self {
        Self::new(
            ScriptedClient::replies(ApiFormat::OpenAi, script),
            &["fetch", "submit"],
            fresh_history("You are a agent.", "go"),
        )
    }

    async fn run(
        &mut self,
        options: InferenceOptions,
    ) -> Result<InferenceOutcome, InferenceFailure> {
        let call = InferenceCall::new(
            &self.client,
            &mut self.context,
            &self.validator,
            &mut self.errors,
            &self.ids,
        )
        .with_options(options);
        run_inference(call, &mut self.history).await
    }

    async fn run_streaming(
        &mut self,
        options: InferenceOptions,
        chunks: &mut Vec<StreamChunk>,
    ) -> Result<InferenceOutcome, InferenceFailure> {
        let call = InferenceCall::new(
            &self.client,
            &mut self.context,
            &self.validator,
            &mut self.errors,
            &self.ids,
        )
        .with_options(options)
        .streaming(chunks);
        run_inference(call, &mut self.history).await
    }
}

fn response(
    outcome: Result<InferenceOutcome, InferenceFailure>,
) -> forge_guardrails::InferenceResult {
    match outcome {
        Ok(InferenceOutcome::Response(result)) => result,
        other => panic!("expected a response, got {other:?}"),
    }
}

fn failure(outcome: Result<InferenceOutcome, InferenceFailure>) -> InferenceFailure {
    match outcome {
        Err(failure) => failure,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn types(messages: &[Message]) -> Vec<&'static str> {
    messages
        .iter()
        .map(|m| m.metadata.kind().as_str())
        .collect()
}

fn tools_named(names: &[&str]) -> Vec<forge_types::ToolCall> {
    names.iter().map(|n| call(n, json!({}))).collect()
}

// ------------------------------------------------------------- §18.8 raw gate and thresholds

#[tokio::test]
async fn raw_messages_and_tools_ride_only_the_clean_first_attempt() {
    let client = ScriptedClient::replies(
        ApiFormat::Ollama,
        vec![
            text("just narrating, no tool"),
            batch(tools_named(&["search"])),
        ],
    );
    let mut harness = Harness::new(
        client,
        &["search"],
        vec![Message::user("folded-form", MessageType::UserInput.meta())],
    );
    harness.errors = ErrorTracker::new(2, 2);
    let raw_messages = vec![json!({"role": "user", "content": "VERBATIM", "name": "u1"})];
    let raw_tools =
        vec![json!({"type": "function", "function": {"name": "search", "parameters": {}}})];
    let options = InferenceOptions {
        raw: RawInbound {
            openai_messages: Some(raw_messages.clone()),
            openai_tools: Some(raw_tools.clone()),
            anthropic_body: Some(args(json!({"model": "claude", "messages": []}))),
        },
        ..Default::default()
    };
    let result = response(harness.run(options).await);
    assert_eq!(result.log.attempts, 2);
    let requests = harness.client.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].messages, raw_messages);
    assert_eq!(requests[0].raw_openai_tools, Some(raw_tools));
    assert!(requests[0].inbound_anthropic_body.is_some());
    assert_ne!(requests[1].messages, raw_messages);
    assert_eq!(requests[1].messages[0]["content"], "folded-form");
    assert_eq!(requests[1].raw_openai_tools, None);
    assert_eq!(requests[1].inbound_anthropic_body, None);
    // the parsed specs are always offered
    assert!(requests
        .iter()
        .all(|r| r.tools.len() == 1 && r.tools[0].name == "search"));
}

#[tokio::test]
async fn without_raw_payloads_the_history_is_serialized() {
    let client = ScriptedClient::replies(ApiFormat::Ollama, vec![batch(tools_named(&["search"]))]);
    let mut harness = Harness::new(
        client,
        &["search"],
        vec![Message::user("hello", MessageType::UserInput.meta())],
    );
    response(harness.run(InferenceOptions::default()).await);
    let requests = harness.client.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].messages[0]["content"], "hello");
    assert_eq!(requests[0].raw_openai_tools, None);
}

fn threshold_history() -> Vec<Message> {
    vec![
        Message::user(
            "You are a helpful assistant.",
            MessageType::UserInput.meta(),
        ),
        Message::user("x".repeat(200), MessageType::UserInput.meta()),
    ]
}

#[tokio::test]
async fn crossed_threshold_injects_a_transient_user_warning() {
    let client = ScriptedClient::replies(ApiFormat::Ollama, vec![batch(tools_named(&["done"]))]);
    let mut harness = Harness::new(client, &["done"], threshold_history());
    harness.validator = ResponseValidator::new(specs(&["done"])).with_rescue(false);
    harness.errors = ErrorTracker::new(1, 2);
    harness.context = ContextManager::new(NoCompact, 100)
        .with_default_context_warnings(&[0.3])
        .unwrap();
    let result = response(
        harness
            .run(InferenceOptions {
                step_index: 4,
                ..Default::default()
            })
            .await,
    );
    let sent = &harness.client.payloads()[0];
    let last = sent.last().unwrap();
    assert_eq!(last["role"], "user");
    assert!(last["content"].as_str().unwrap().contains("Context usage"));
    // reported once, never kept
    assert_eq!(types(&result.log.new_messages), ["context_warning"]);
    assert_eq!(result.log.new_messages[0].role, MessageRole::User);
    assert_eq!(result.log.new_messages[0].metadata.step_index(), Some(4));
    assert_eq!(harness.history, threshold_history());
}

#[tokio::test]
async fn no_thresholds_no_warning() {
    let client = ScriptedClient::replies(ApiFormat::Ollama, vec![batch(tools_named(&["done"]))]);
    let mut harness = Harness::new(client, &["done"], threshold_history());
    harness.context = ContextManager::new(NoCompact, 100);
    let result = response(harness.run(InferenceOptions::default()).await);
    let sent = &harness.client.payloads()[0];
    assert!(sent
        .iter()
        .all(|m| !m["content"].as_str().unwrap().contains("Context usage")));
    assert!(result.log.new_messages.is_empty());
}

#[tokio::test]
async fn a_warning_forces_the_folded_history_but_raw_tools_still_ride_attempt_zero() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![batch(tools_named(&["done"]))]);
    let mut harness = Harness::new(client, &["done"], threshold_history());
    harness.context = ContextManager::new(NoCompact, 100)
        .with_default_context_warnings(&[0.3])
        .unwrap();
    let raw_tools = vec![json!({"type": "function", "function": {"name": "done"}})];
    let options = InferenceOptions {
        raw: RawInbound {
            openai_messages: Some(vec![json!({"role": "user", "content": "VERBATIM"})]),
            openai_tools: Some(raw_tools.clone()),
            anthropic_body: Some(args(json!({"model": "m"}))),
        },
        ..Default::default()
    };
    response(harness.run(options).await);
    let request = &harness.client.requests()[0];
    assert_eq!(
        request.messages[0]["content"],
        "You are a helpful assistant."
    );
    assert_eq!(request.raw_openai_tools, Some(raw_tools));
    assert_eq!(request.inbound_anthropic_body, None);
}

fn long_history() -> Vec<Message> {
    let mut history = fresh_history("system", "go");
    for step in 0..4u32 {
        let id = CallId::from_counter(u64::from(step));
        let info = ToolCallInfo::new("fetch", args(json!({})), id.clone());
        history.push(Message::tool_calls(
            vec![info],
            MessageType::ToolCall.at_step(step),
        ));
        history.push(Message::tool_result(
            "fetch",
            id,
            "r".repeat(400),
            MessageType::ToolResult.at_step(step),
        ));
    }
    history
}

#[tokio::test]
async fn compaction_rewrites_the_history_in_place_and_forces_the_folded_form() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![batch(tools_named(&["fetch"]))]);
    let mut harness = Harness::new(client, &["fetch"], long_history());
    harness.context = ContextManager::new(SlidingWindowCompact::new(1, 0.5).unwrap(), 100);
    let raw_tools = vec![json!({"type": "function", "function": {"name": "fetch"}})];
    let options = InferenceOptions {
        step_index: 4,
        raw: RawInbound {
            openai_messages: Some(vec![json!({"role": "user", "content": "VERBATIM"})]),
            openai_tools: Some(raw_tools.clone()),
            anthropic_body: Some(args(json!({"model": "m"}))),
        },
        ..Default::default()
    };
    response(harness.run(options).await);
    assert!(
        harness.history.len() < long_history().len(),
        "history was not compacted"
    );
    let request = &harness.client.requests()[0];
    assert_eq!(
        request.messages,
        fold_and_serialize(&harness.history, ApiFormat::OpenAi, ReasoningReplay::None)
    );
    assert_eq!(request.raw_openai_tools, Some(raw_tools));
    assert_eq!(request.inbound_anthropic_body, None);
}

// ------------------------------------------------------------------ retries and budgets

#[tokio::test]
async fn bare_text_then_valid_call_resets_the_retry_count() {
    let mut harness = Harness::trace(vec![
        text("I think the answer is 42."),
        batch(tools_named(&["fetch"])),
    ]);
    let result = response(harness.run(InferenceOptions::default()).await);
    assert_eq!(result.calls, tools_named(&["fetch"]));
    assert_eq!(result.log.attempts, 2);
    assert_eq!(harness.errors.consecutive_retries(), 0);
    assert_eq!(
        types(&result.log.new_messages),
        ["text_response", "retry_nudge"]
    );
    // the failure transcript is in the history too, the final response is not
    assert_eq!(
        types(&harness.history),
        [
            "system_prompt",
            "user_input",
            "text_response",
            "retry_nudge"
        ]
    );
    assert_eq!(harness.history[3].content, RETRY_NUDGE_TEXT);
    assert_eq!(harness.history[3].role, MessageRole::User);
}

#[tokio::test]
async fn max_retries_zero_fails_on_the_first_bad_response() {
    let mut harness = Harness::trace(vec![text("nope")]);
    harness.errors = ErrorTracker::new(0, 2);
    let failure = failure(harness.run(InferenceOptions::default()).await);
    match failure.error {
        ForgeError::RetriesExhausted {
            attempts,
            reason,
            last_response,
        } => {
            assert_eq!(attempts, 1);
            assert!(
                reason.starts_with("Retries exhausted after 0 consecutive failed attempts"),
                "{reason}"
            );
            assert_eq!(last_response.as_deref(), Some("nope"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(types(&harness.history), ["system_prompt", "user_input"]);
}

#[tokio::test]
async fn four_bare_texts_exhaust_three_retries_with_the_last_text() {
    let mut harness = Harness::trace(vec![text("a"), text("b"), text("c"), text("final_nope")]);
    let failure = failure(harness.run(InferenceOptions::default()).await);
    assert!(matches!(
        &failure.error,
        ForgeError::RetriesExhausted { attempts: 4, last_response: Some(last), .. } if last == "final_nope"
    ));
    assert_eq!(failure.last_response, Some(text("final_nope")));
    assert_eq!(failure.log.attempts, 4);
}

#[tokio::test]
async fn attempt_limit_returns_out_of_attempts_and_keeps_the_retry_count() {
    let mut harness = Harness::trace(vec![text("a"), text("b"), text("c")]);
    harness.errors = ErrorTracker::new(5, 2);
    let outcome = harness
        .run(InferenceOptions {
            max_attempts: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    let InferenceOutcome::OutOfAttempts(log) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(log.attempts, 3);
    assert_eq!(harness.client.requests().len(), 3);
    assert_eq!(harness.errors.consecutive_retries(), 3);
    assert_eq!(
        types(&log.new_messages),
        [
            "text_response",
            "retry_nudge",
            "text_response",
            "retry_nudge",
            "text_response",
            "retry_nudge"
        ]
    );
}

#[tokio::test]
async fn text_and_unknown_tools_share_one_retry_counter() {
    let mut harness = Harness::trace(vec![
        text("t1"),
        batch(tools_named(&["nonexistent"])),
        text("t2"),
        batch(tools_named(&["still_wrong"])),
    ]);
    let failure = failure(harness.run(InferenceOptions::default()).await);
    assert!(matches!(
        failure.error,
        ForgeError::RetriesExhausted {
            attempts: 4,
            last_response: None,
            ..
        }
    ));
    assert!(failure.error.to_string().contains("Retries exhausted"));
    assert!(failure.error.to_string().contains("still_wrong"));
}

#[tokio::test]
async fn failure_transcripts_are_returned_when_the_engine_gives_up() {
    // The reference appended them to the history and then lost them: on_message never saw them.
    let mut harness = Harness::trace(vec![
        text("nope1"),
        text("nope2"),
        text("nope3"),
        text("nope4"),
    ]);
    let failure = failure(
        harness
            .run(InferenceOptions {
                step_index: 2,
                ..Default::default()
            })
            .await,
    );
    assert_eq!(failure.log.new_messages.len(), 6);
    assert_eq!(&harness.history[2..], failure.log.new_messages.as_slice());
    assert!(failure
        .log
        .new_messages
        .iter()
        .all(|m| m.metadata.step_index() == Some(2)));
    let forge_error: ForgeError = failure.into();
    assert!(matches!(forge_error, ForgeError::RetriesExhausted { .. }));
}

#[tokio::test]
async fn empty_batch_goes_to_the_retry_path_with_a_user_nudge() {
    let mut harness = Harness::trace(vec![batch(vec![]), batch(tools_named(&["fetch"]))]);
    let result = response(harness.run(InferenceOptions::default()).await);
    assert_eq!(result.log.attempts, 2);
    assert_eq!(
        types(&result.log.new_messages),
        ["text_response", "retry_nudge"]
    );
    assert_eq!(result.log.new_messages[0].content, "");
    assert_eq!(result.log.new_messages[1].role, MessageRole::User);
    assert_eq!(result.log.new_messages[1].content, RETRY_NUDGE_TEXT);
}

#[tokio::test]
async fn unknown_tool_attempt_leaves_no_tool_call_without_reply() {
    let mut reasoned = call("search", json!({"q": "x"}));
    reasoned.reasoning = Some("I will search.".into());
    let mut harness = Harness::trace(vec![
        batch(vec![
            reasoned,
            call("get_data", json!({"x": 1})),
            call("fetch", json!({})),
        ]),
        batch(tools_named(&["fetch"])),
    ]);
    let result = response(harness.run(InferenceOptions::default()).await);
    assert_eq!(
        types(&result.log.new_messages),
        [
            "reasoning",
            "tool_call",
            "retry_nudge",
            "retry_nudge",
            "retry_nudge"
        ]
    );
    let call_ids: Vec<CallId> = harness
        .history
        .iter()
        .filter_map(|m| m.tool_calls.as_ref())
        .flatten()
        .map(|c| c.call_id.clone())
        .collect();
    let reply_ids: Vec<CallId> = harness
        .history
        .iter()
        .filter_map(|m| m.tool_call_id.clone())
        .collect();
    assert_eq!(call_ids, reply_ids);
    for reply in &result.log.new_messages[2..] {
        assert_eq!(reply.role, MessageRole::Tool);
        // every reply names the first unknown tool, including replies to known calls
        assert_eq!(
            reply.content,
            "[UnknownTool] Tool 'search' does not exist. Available tools: fetch, submit. Call one of them."
        );
    }
}

#[tokio::test]
async fn call_ids_continue_after_a_seeded_history() {
    let mut history = fresh_history("s", "u");
    let seeded = ToolCallInfo::new("fetch", args(json!({})), CallId::from_counter(3));
    history.push(Message::tool_calls(
        vec![seeded],
        MessageType::ToolCall.at_step(0),
    ));
    history.push(Message::tool_result(
        "fetch",
        CallId::from_counter(3),
        "ok",
        MessageType::ToolResult.at_step(0),
    ));
    history.push(Message::user("follow-up", MessageType::UserInput.meta()));
    let ids =
        CallIdGenerator::continuing_after(history.iter().filter_map(|m| m.tool_call_id.as_ref()));
    let client = ScriptedClient::replies(
        ApiFormat::OpenAi,
        vec![batch(tools_named(&["bad"])), batch(tools_named(&["fetch"]))],
    );
    let mut harness = Harness::new(client, &["fetch"], history);
    harness.ids = ids;
    let result = response(harness.run(InferenceOptions::default()).await);
    let infos = result.log.new_messages[0].tool_calls.as_ref().unwrap();
    assert_eq!(infos[0].call_id.as_str(), "call_000000004");
}

// ------------------------------------------------------------------------------ usage

#[tokio::test]
async fn usage_is_kept_per_attempt_and_feeds_the_context_manager() {
    let usage = |prompt| TokenUsage {
        cache_read_input_tokens: 5,
        ..TokenUsage::new(prompt, 7)
    };
    let client = ScriptedClient::new(
        ApiFormat::OpenAi,
        vec![
            Scripted::ReplyWithUsage(text("prose"), usage(100)),
            Scripted::Reply(text("prose again")),
            Scripted::ReplyWithUsage(batch(tools_named(&["fetch"])), usage(300)),
        ],
    );
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let result = response(harness.run(InferenceOptions::default()).await);
    assert_eq!(
        result.log.usage,
        vec![Some(usage(100)), None, Some(usage(300))]
    );
    assert_eq!(result.usage, Some(usage(300)));
    // prompt occupancy: prompt + cache tokens
    assert_eq!(harness.context.observed_tokens(), Some(305));
}

#[tokio::test]
async fn a_retry_invalidates_the_observed_token_count() {
    let client = ScriptedClient::new(
        ApiFormat::OpenAi,
        vec![Scripted::ReplyWithUsage(
            text("prose"),
            TokenUsage::new(100, 5),
        )],
    );
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let outcome = harness
        .run(InferenceOptions {
            max_attempts: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(matches!(outcome, InferenceOutcome::OutOfAttempts(_)));
    assert_eq!(harness.context.observed_tokens(), None);
}

// ----------------------------------------------------------------------------- errors

#[tokio::test]
async fn backend_errors_propagate_typed_and_are_never_content() {
    let error = BackendError::Http {
        status: 500,
        url: "http://127.0.0.1:1/v1/chat/completions".into(),
        body_excerpt: "boom".into(),
    };
    let client = ScriptedClient::new(ApiFormat::OpenAi, vec![Scripted::Fail(error.clone())]);
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let failure = failure(harness.run(InferenceOptions::default()).await);
    assert!(matches!(&failure.error, ForgeError::Backend(e) if *e == error));
    assert_eq!(failure.log.attempts, 1);
    assert_eq!(harness.errors.consecutive_retries(), 0);
    assert_eq!(types(&harness.history), ["system_prompt", "user_input"]);
}

// -------------------------------------------------------------------------- streaming

#[tokio::test]
async fn streaming_forwards_every_chunk_and_uses_the_final_response() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![batch(tools_named(&["fetch"]))]);
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let mut chunks = Vec::new();
    let result = response(
        harness
            .run_streaming(InferenceOptions::default(), &mut chunks)
            .await,
    );
    assert_eq!(result.calls, tools_named(&["fetch"]));
    assert_eq!(harness.client.streamed(), [true]);
    let kinds: Vec<ChunkKind> = chunks.iter().map(StreamChunk::kind).collect();
    assert_eq!(kinds, [ChunkKind::TextDelta, ChunkKind::Final]);
}

#[tokio::test]
async fn streamed_attempt_discarded_emits_retry_chunk() {
    let client = ScriptedClient::replies(
        ApiFormat::OpenAi,
        vec![
            text("prose"),
            batch(tools_named(&["bad"])),
            batch(tools_named(&["fetch"])),
        ],
    );
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let mut chunks = Vec::new();
    response(
        harness
            .run_streaming(InferenceOptions::default(), &mut chunks)
            .await,
    );
    let kinds: Vec<ChunkKind> = chunks.iter().map(StreamChunk::kind).collect();
    use ChunkKind::{Final, Retry, TextDelta};
    assert_eq!(
        kinds,
        [TextDelta, Final, Retry, TextDelta, Final, Retry, TextDelta, Final]
    );
    let retries: Vec<u32> = chunks
        .iter()
        .filter_map(|c| match c {
            StreamChunk::Retry { attempt } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(retries, [1, 2]);
}

#[tokio::test]
async fn no_retry_chunk_when_no_attempt_follows() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![text("a"), text("b")]);
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    harness.errors = ErrorTracker::new(1, 2);
    let mut chunks = Vec::new();
    failure(
        harness
            .run_streaming(InferenceOptions::default(), &mut chunks)
            .await,
    );
    let kinds: Vec<ChunkKind> = chunks.iter().map(StreamChunk::kind).collect();
    use ChunkKind::{Final, Retry, TextDelta};
    assert_eq!(kinds, [TextDelta, Final, Retry, TextDelta, Final]);
}

#[tokio::test]
async fn stream_without_final_is_an_error() {
    let client = ScriptedClient::new(
        ApiFormat::OpenAi,
        vec![Scripted::Chunks(vec![Ok(StreamChunk::text("partial"))])],
    );
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let mut chunks = Vec::new();
    let failure = failure(
        harness
            .run_streaming(InferenceOptions::default(), &mut chunks)
            .await,
    );
    assert!(matches!(failure.error, ForgeError::StreamEndedWithoutFinal));
    assert!(failure.error.to_string().contains("FINAL chunk"));
    assert_eq!(chunks.len(), 1);
}

#[tokio::test]
async fn the_last_final_chunk_wins_and_stream_errors_propagate() {
    let first = Completion::new(batch(tools_named(&["bad"])));
    let second = Completion::new(batch(tools_named(&["fetch"])));
    let client = ScriptedClient::new(
        ApiFormat::OpenAi,
        vec![
            Scripted::Chunks(vec![
                Ok(StreamChunk::Final(first)),
                Ok(StreamChunk::Final(second)),
            ]),
            Scripted::Chunks(vec![
                Ok(StreamChunk::text("x")),
                Err(BackendError::InStream {
                    error_type: None,
                    message: "overloaded".into(),
                }),
            ]),
        ],
    );
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let mut chunks = Vec::new();
    let result = response(
        harness
            .run_streaming(InferenceOptions::default(), &mut chunks)
            .await,
    );
    assert_eq!(result.calls, tools_named(&["fetch"]));
    let failure = failure(
        harness
            .run_streaming(InferenceOptions::default(), &mut chunks)
            .await,
    );
    assert!(matches!(
        failure.error,
        ForgeError::Backend(BackendError::InStream { .. })
    ));
}

#[tokio::test]
async fn a_closed_consumer_cancels_the_stream() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![batch(tools_named(&["fetch"]))]);
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let (sender, receiver) = tokio::sync::mpsc::channel::<StreamChunk>(4);
    drop(receiver);
    let mut sender = sender;
    let call = InferenceCall::new(
        &harness.client,
        &mut harness.context,
        &harness.validator,
        &mut harness.errors,
        &harness.ids,
    )
    .streaming(&mut sender);
    let failure = failure(run_inference(call, &mut harness.history).await);
    assert!(matches!(failure.error, ForgeError::Cancelled { .. }));
}

#[tokio::test]
async fn a_function_sink_sees_the_chunks() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![batch(tools_named(&["fetch"]))]);
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let mut seen = Vec::new();
    {
        let mut sink = FnSink(|chunk: StreamChunk| seen.push(chunk.kind()));
        let call = InferenceCall::new(
            &harness.client,
            &mut harness.context,
            &harness.validator,
            &mut harness.errors,
            &harness.ids,
        )
        .streaming(&mut sink);
        response(run_inference(call, &mut harness.history).await);
    }
    assert_eq!(seen, [ChunkKind::TextDelta, ChunkKind::Final]);
}

// ----------------------------------------------------------------------- cancellation

#[tokio::test]
async fn cancelled_before_the_call_makes_no_request() {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, vec![batch(tools_named(&["fetch"]))]);
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    let cancel = CancellationToken::new();
    cancel.cancel();
    let call = InferenceCall::new(
        &harness.client,
        &mut harness.context,
        &harness.validator,
        &mut harness.errors,
        &harness.ids,
    )
    .with_cancellation(cancel);
    let failure = failure(run_inference(call, &mut harness.history).await);
    assert!(matches!(failure.error, ForgeError::Cancelled { .. }));
    assert!(harness.client.requests().is_empty());
}

#[tokio::test]
async fn cancellation_abandons_a_call_in_flight() {
    for streaming in [false, true] {
        let client = ScriptedClient::new(ApiFormat::OpenAi, vec![Scripted::Hang]);
        let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        let mut chunks = Vec::new();
        let mut call = InferenceCall::new(
            &harness.client,
            &mut harness.context,
            &harness.validator,
            &mut harness.errors,
            &harness.ids,
        )
        .with_cancellation(cancel);
        if streaming {
            call = call.streaming(&mut chunks);
        }
        let (outcome, ()) = tokio::join!(run_inference(call, &mut harness.history), async move {
            tokio::task::yield_now().await;
            trigger.cancel();
        });
        let failure = failure(outcome);
        assert!(
            matches!(failure.error, ForgeError::Cancelled { .. }),
            "streaming={streaming}"
        );
        assert_eq!(harness.client.requests().len(), 1);
    }
}

// ------------------------------------------------------------------ folding (§9.2)

fn reasoning(content: &str, step: u32) -> Message {
    Message::assistant(content, MessageType::Reasoning.at_step(step))
}

fn tool_call_message(name: &str, n: u64, step: u32) -> Message {
    let info = ToolCallInfo::new(name, args(json!({"q": "x"})), CallId::from_counter(n));
    Message::tool_calls(vec![info], MessageType::ToolCall.at_step(step))
}

#[test]
fn reasoning_folds_into_the_following_tool_call_per_replay_policy() {
    let history = vec![
        Message::user("go", MessageType::UserInput.meta()),
        reasoning("first thought", 1),
        tool_call_message("fetch", 0, 1),
        Message::tool_result(
            "fetch",
            CallId::from_counter(0),
            "r",
            MessageType::ToolResult.at_step(1),
        ),
        reasoning("collapsed away", 2),
        reasoning("second thought", 2),
        Message::assistant("plain text", MessageType::TextResponse.at_step(2)),
        reasoning("dangling", 3),
    ];
    let contents = |replay| -> Vec<Value> {
        fold_and_serialize(&history, ApiFormat::Ollama, replay)
            .into_iter()
            .map(|m| json!([m["role"], m["content"], m.get("tool_calls").is_some()]))
            .collect()
    };
    assert_eq!(
        contents(ReasoningReplay::Full),
        vec![
            json!(["user", "go", false]),
            json!(["assistant", "first thought", true]),
            json!(["tool", "r", false]),
            json!(["assistant", "second thought", false]),
            json!(["assistant", "plain text", false]),
            json!(["assistant", "dangling", false]),
        ]
    );
    assert_eq!(
        contents(ReasoningReplay::KeepLast),
        vec![
            json!(["user", "go", false]),
            json!(["assistant", "", true]),
            json!(["tool", "r", false]),
            json!(["assistant", "plain text", false]),
            json!(["assistant", "dangling", false]),
        ]
    );
    assert_eq!(
        contents(ReasoningReplay::None),
        vec![
            json!(["user", "go", false]),
            json!(["assistant", "", true]),
            json!(["tool", "r", false]),
            json!(["assistant", "plain text", false]),
        ]
    );
}

#[test]
fn reasoning_typed_non_assistant_message_is_serialized_normally() {
    let history = vec![
        Message::user("odd", MessageType::Reasoning.meta()),
        tool_call_message("fetch", 0, 0),
    ];
    let wire = fold_and_serialize(&history, ApiFormat::OpenAi, ReasoningReplay::Full);
    assert_eq!(wire[0], json!({"role": "user", "content": "odd"}));
    assert_eq!(wire[1]["content"], "");
}

#[test]
fn raw_reasoning_fields_are_stripped_per_replay_policy() {
    let raw = vec![
        json!({"role": "user", "content": "q", "reasoning": "user field stays"}),
        json!({"role": "assistant", "content": "a", "reasoning_content": "r1"}),
        json!({"role": "assistant", "content": "b", "reasoning": "r2", "reasoning_text": "r2t"}),
    ];
    assert_eq!(strip_raw_reasoning(&raw, ReasoningReplay::Full), raw);
    let none = strip_raw_reasoning(&raw, ReasoningReplay::None);
    assert_eq!(none[0], raw[0]);
    assert_eq!(none[1], json!({"role": "assistant", "content": "a"}));
    assert_eq!(none[2], json!({"role": "assistant", "content": "b"}));
    let keep_last = strip_raw_reasoning(&raw, ReasoningReplay::KeepLast);
    assert_eq!(keep_last[1], json!({"role": "assistant", "content": "a"}));
    assert_eq!(keep_last[2], raw[2]);
}

#[tokio::test]
async fn default_replay_sends_no_reasoning_but_keeps_it_in_history() {
    let mut reasoned = call("bad", json!({}));
    reasoned.reasoning = Some("secret plan".into());
    let client = ScriptedClient::replies(
        ApiFormat::OpenAi,
        vec![batch(vec![reasoned]), batch(tools_named(&["fetch"]))],
    );
    let mut harness = Harness::new(client, &["fetch"], fresh_history("s", "u"));
    response(harness.run(InferenceOptions::default()).await);
    assert_eq!(harness.history[2].content, "secret plan");
    let second = &harness.client.payloads()[1];
    assert!(second.iter().all(|m| m["content"] != "secret plan"));
    let full = fold_and_serialize(&harness.history, ApiFormat::OpenAi, ReasoningReplay::Full);
    assert_eq!(full[2]["content"], "secret plan");
    assert!(full[2].get("tool_calls").is_some());
}
