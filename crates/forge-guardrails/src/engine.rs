//! `run_inference`: one model call made reliable — compact, warn, serialize, send or stream,
//! validate, and retry with corrective nudges until a usable batch or a spent budget.
//!
//! Shared by the workflow runner and the proxy. Step enforcement, tool execution and terminal
//! detection stay with the caller.

use std::fmt;

use forge_client::{InferenceRequest, LlmClient};
use forge_context::ContextManager;
use forge_types::{
    CallId, CallIdGenerator, Completion, ForgeError, JsonObject, LlmResponse, Message, MessageType,
    SamplingParams, StreamChunk, TokenUsage, ToolCall, ToolCallInfo,
};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::constraint::{constraint_for, ConstraintPolicy};
use crate::error_tracker::ErrorTracker;
use crate::fold::{fold_and_serialize, strip_raw_reasoning, ReasoningReplay};
use crate::nudge::{meta_at, Nudge};
use crate::sink::ChunkSink;
use crate::validator::{ResponseValidator, Validation};

/// The caller's verbatim inbound payload (the proxy's clean-first-attempt passthrough).
#[derive(Debug, Clone, Default)]
pub struct RawInbound {
    /// The client's OpenAI `messages`, sent as-is on a clean first attempt (no compaction, no
    /// context warning); every other attempt sends the serialized history.
    pub openai_messages: Option<Vec<Value>>,
    /// The client's OpenAI `tools`, sent on the first attempt only.
    pub openai_tools: Option<Vec<Value>>,
    /// The inbound Anthropic body, sent on a clean first attempt only (so `cache_control`
    /// survives when forge changed nothing).
    pub anthropic_body: Option<JsonObject>,
}

/// Per-call settings of [`run_inference`]. `Default` is a plain first call at step 0.
#[derive(Debug, Clone, Default)]
pub struct InferenceOptions {
    /// The loop iteration: tags every message this call appends, and drives compaction.
    pub step_index: u32,
    /// The step summary handed to compaction.
    pub step_hint: String,
    /// At most this many model calls (the runner passes its remaining iterations); `None` means
    /// bounded by the retry budget only.
    pub max_attempts: Option<u32>,
    /// Per-call sampling overrides.
    pub sampling: SamplingParams,
    /// Body fields forge does not own, forwarded on every attempt.
    pub passthrough: JsonObject,
    /// Verbatim inbound payloads (proxy only).
    pub raw: RawInbound,
    /// How much captured reasoning the backend sees again.
    pub reasoning_replay: ReasoningReplay,
    /// Which attempts ask the backend to constrain decoding to one tool call.
    pub constraint_policy: ConstraintPolicy,
}

/// Everything the attempts of one [`run_inference`] call produced besides the final answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptLog {
    /// In order: the failure transcripts of discarded attempts (already appended to the
    /// history) and the context warnings (never appended to the history). The final response is
    /// not included: the caller records it.
    pub new_messages: Vec<Message>,
    /// Usage per attempt made, in order (`None` when the backend reported none).
    pub usage: Vec<Option<TokenUsage>>,
    /// Model calls made.
    pub attempts: u32,
}

/// A usable answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceResult {
    /// The validated, non-empty batch (rescued from text when the model wrote the call as text).
    pub calls: Vec<ToolCall>,
    /// What the model answered on the final attempt, before validation.
    pub response: LlmResponse,
    /// Usage of the final attempt.
    pub usage: Option<TokenUsage>,
    /// What the attempts produced on the way.
    pub log: AttemptLog,
}

/// How a [`run_inference`] call ended without an error.
#[derive(Debug, Clone, PartialEq)]
pub enum InferenceOutcome {
    /// A usable batch.
    Response(InferenceResult),
    /// `max_attempts` ran out before a usable answer (the retry budget did not). The runner
    /// treats this as its iteration budget spent.
    OutOfAttempts(AttemptLog),
}

/// A [`run_inference`] call that failed, with what its attempts produced, so the caller can
/// still report the failure transcripts (the reference lost them).
#[derive(Debug)]
pub struct InferenceFailure {
    /// What went wrong.
    pub error: ForgeError,
    /// What the attempts produced before the failure.
    pub log: AttemptLog,
    /// The model's last answer, when the failure came after one (retries exhausted).
    pub last_response: Option<LlmResponse>,
}

impl fmt::Display for InferenceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (after {} attempts)", self.error, self.log.attempts)
    }
}

impl std::error::Error for InferenceFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<InferenceFailure> for ForgeError {
    fn from(failure: InferenceFailure) -> Self {
        failure.error
    }
}

/// The collaborators of one [`run_inference`] call.
///
/// The error tracker and the id generator are the caller's, so the retry budget and the call-id
/// sequence span calls.
pub struct InferenceCall<'a> {
    client: &'a dyn LlmClient,
    context: &'a mut ContextManager,
    validator: &'a ResponseValidator,
    errors: &'a mut ErrorTracker,
    ids: &'a CallIdGenerator,
    options: InferenceOptions,
    sink: Option<&'a mut dyn ChunkSink>,
    cancel: CancellationToken,
}

impl fmt::Debug for InferenceCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InferenceCall")
            .field("client", &self.client)
            .field("validator", &self.validator)
            .field("errors", &self.errors)
            .field("options", &self.options)
            .field("streaming", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> InferenceCall<'a> {
    /// A non-streaming call with default options that cannot be cancelled.
    pub fn new(
        client: &'a dyn LlmClient,
        context: &'a mut ContextManager,
        validator: &'a ResponseValidator,
        errors: &'a mut ErrorTracker,
        ids: &'a CallIdGenerator,
    ) -> Self {
        Self {
            client,
            context,
            validator,
            errors,
            ids,
            options: InferenceOptions::default(),
            sink: None,
            cancel: CancellationToken::new(),
        }
    }

    /// The same call with these options.
    pub fn with_options(mut self, options: InferenceOptions) -> Self {
        self.options = options;
        self
    }

    /// The same call streaming: every chunk of every attempt goes to `sink`, in order, and a
    /// [`StreamChunk::Retry`] follows each attempt that is discarded.
    pub fn streaming(mut self, sink: &'a mut dyn ChunkSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The same call stopping with [`ForgeError::Cancelled`] as soon as `cancel` fires (the
    /// model call in flight is abandoned).
    pub fn with_cancellation(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }
}

/// Runs one model call with corrective retries, appending failure transcripts to `history`.
///
/// Per attempt: compaction (which may rewrite `history` in place), the threshold check (a
/// warning rides this attempt only, as a trailing user message, and is logged but never kept),
/// the payload (the caller's verbatim messages on a clean first attempt, else the folded
/// history), the constraint the [`ConstraintPolicy`] asks for on this attempt (built once per
/// call from the validator's tools plus `respond`; a backend that cannot constrain, or a tool
/// schema its grammar engine cannot carry, is logged as a warning and the attempt goes out
/// unconstrained), the send or stream, usage bookkeeping, and validation. A failed attempt appends
/// its transcript (bare text → the text and a user-channel nudge; unknown tool or invalid
/// arguments → the tool call, or the calls rescued from text, and one `[UnknownTool]` or
/// `[InvalidArguments]` reply per call) and costs one retry; when the budget is spent the
/// call fails with [`ForgeError::RetriesExhausted`] and the failing attempt is not appended.
///
/// Streaming (see [`InferenceCall::streaming`]) forwards every chunk of every attempt and sends
/// [`StreamChunk::Retry`] before each attempt that replaces a discarded one; a stream that ends
/// without a final chunk fails with [`ForgeError::StreamEndedWithoutFinal`]. Backend errors are
/// returned as [`ForgeError::Backend`], never retried as if the model had answered. Every
/// failure carries the [`AttemptLog`], so failure transcripts can still be reported.
pub async fn run_inference(
    mut call: InferenceCall<'_>,
    history: &mut Vec<Message>,
) -> Result<InferenceOutcome, InferenceFailure> {
    let mut log = AttemptLog::default();
    let attempt_limit = call
        .options
        .max_attempts
        .map_or(call.errors.max_retries().saturating_add(1), |max| {
            max.min(call.errors.max_retries().saturating_add(1))
        });
    let format = call.client.api_format();
    let step = call.options.step_index;
    // Built on the first constrained attempt: the tools do not change between attempts.
    let mut constraint: Option<Option<forge_client::ToolConstraint>> = None;

    for attempt in 0..attempt_limit {
        if call.cancel.is_cancelled() {
            return Err(failure(cancelled(), log, None));
        }
        if attempt > 0 {
            if let Some(sink) = call.sink.as_deref_mut() {
                if sink.deliver(StreamChunk::Retry { attempt }).await.is_err() {
                    return Err(failure(consumer_gone(), log, None));
                }
            }
        }
        log.attempts += 1;

        let compacted = call
            .context
            .compact_in_place(history, step, &call.options.step_hint)
            .is_some();
        let warning = call.context.check_thresholds(history);
        let clean_first = attempt == 0 && !compacted && warning.is_none();

        let mut messages = match (&call.options.raw.openai_messages, clean_first) {
            (Some(raw), true) => strip_raw_reasoning(raw, call.options.reasoning_replay),
            _ => fold_and_serialize(history, format, call.options.reasoning_replay),
        };
        if let Some(warning) = &warning {
            tracing::info!(
                tokens = warning.tokens,
                budget = warning.budget_tokens,
                "context warning injected"
            );
            messages.push(json!({"role": "user", "content": warning.text}));
            log.new_messages.push(warning.to_message(step));
        }
        let attempt_constraint = if call.options.constraint_policy.constrains_attempt(attempt) {
            constraint
                .get_or_insert_with(|| constraint_for(call.client, call.validator.tools()))
                .clone()
        } else {
            None
        };
        let request = InferenceRequest {
            messages,
            tools: call.validator.tools().to_vec(),
            sampling: call.options.sampling.clone(),
            passthrough: call.options.passthrough.clone(),
            raw_openai_tools: if attempt == 0 {
                call.options.raw.openai_tools.clone()
            } else {
                None
            },
            inbound_anthropic_body: if clean_first {
                call.options.raw.anthropic_body.clone()
            } else {
                None
            },
            constraint: attempt_constraint,
            ..InferenceRequest::default()
        };

        let Completion { response, usage } = match send(&mut call, &request).await {
            Ok(completion) => completion,
            Err(error) => return Err(failure(error, log, None)),
        };
        log.usage.push(usage);
        observe_usage(call.context, usage.as_ref());

        let nudge = match call.validator.validate(&response) {
            Validation::Valid(calls) => {
                call.errors.reset_retries();
                tracing::debug!(
                    attempts = log.attempts,
                    calls = calls.len(),
                    "usable response"
                );
                return Ok(InferenceOutcome::Response(InferenceResult {
                    calls,
                    response,
                    usage,
                    log,
                }));
            }
            Validation::Retry(nudge) => nudge,
        };

        call.errors.record_retry();
        // The failure transcript makes the recorded usage describe a shorter history.
        call.context.clear_token_count();
        if call.errors.retries_exhausted() {
            let error = ForgeError::RetriesExhausted {
                attempts: log.attempts,
                reason: format!(
                    "Retries exhausted after {} consecutive failed attempts ({})",
                    call.errors.max_retries(),
                    failure_reason(&response, &nudge)
                ),
                last_response: response.as_text().map(str::to_owned),
            };
            tracing::warn!(%error, "retry budget spent");
            return Err(failure(error, log, Some(response)));
        }
        tracing::info!(
            attempt = log.attempts,
            kind = nudge.kind().as_str(),
            "discarding attempt and retrying"
        );
        let transcript = failure_transcript(&response, &nudge, step, call.ids);
        history.extend(transcript.iter().cloned());
        log.new_messages.extend(transcript);
    }
    tracing::info!(
        attempts = log.attempts,
        "attempt limit reached without a usable response"
    );
    Ok(InferenceOutcome::OutOfAttempts(log))
}

/// One model call, batch or streamed, abandoned as soon as the cancellation token fires.
async fn send(
    call: &mut InferenceCall<'_>,
    request: &InferenceRequest,
) -> Result<Completion, ForgeError> {
    let cancel = call.cancel.clone();
    let Some(sink) = call.sink.as_deref_mut() else {
        return tokio::select! {
            biased;
            () = cancel.cancelled() => Err(cancelled()),
            result = call.client.send(request) => result.map_err(ForgeError::Backend),
        };
    };
    let mut stream = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(cancelled()),
        result = call.client.send_stream(request) => result?,
    };
    let mut last_final = None;
    loop {
        let next = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(cancelled()),
            next = stream.next() => next,
        };
        let Some(chunk) = next else { break };
        let chunk = chunk?;
        if let StreamChunk::Final(completion) = &chunk {
            last_final = Some(completion.clone());
        }
        if sink.deliver(chunk).await.is_err() {
            return Err(consumer_gone());
        }
    }
    last_final.ok_or(ForgeError::StreamEndedWithoutFinal)
}

/// Feeds the attempt's prompt occupancy to the context manager; an attempt without usage
/// invalidates the previous figure rather than leaving a stale one.
fn observe_usage(context: &mut ContextManager, usage: Option<&TokenUsage>) {
    match usage {
        Some(usage) => context.update_token_count(
            usage
                .prompt_tokens
                .saturating_add(usage.cache_creation_input_tokens)
                .saturating_add(usage.cache_read_input_tokens),
        ),
        None => context.clear_token_count(),
    }
}

/// The messages recording a discarded attempt and its correction.
fn failure_transcript(
    response: &LlmResponse,
    nudge: &Nudge,
    step: u32,
    ids: &CallIdGenerator,
) -> Vec<Message> {
    let mut out = Vec::new();
    let at = |kind: MessageType| meta_at(kind, Some(step));
    match response {
        LlmResponse::Text(text) if !nudge.rescued_calls().is_empty() => {
            // Calls rescued from the text were at fault: answer them on the tool channel.
            if let Some(reasoning) = text.reasoning.as_deref().filter(|r| !r.is_empty()) {
                out.push(Message::assistant(reasoning, at(MessageType::Reasoning)));
            }
            let infos = call_infos(nudge.rescued_calls(), || ids.next_id());
            out.push(Message::tool_calls(
                infos.clone(),
                at(MessageType::ToolCall),
            ));
            out.extend(nudge.delivery(&infos, Some(step)));
        }
        LlmResponse::Text(text) => {
            if let Some(reasoning) = text.reasoning.as_deref().filter(|r| !r.is_empty()) {
                out.push(Message::assistant(reasoning, at(MessageType::Reasoning)));
            }
            out.push(Message::assistant(
                &text.content,
                at(MessageType::TextResponse),
            ));
            out.extend(nudge.delivery(&[], Some(step)));
        }
        LlmResponse::ToolCalls(calls) if calls.is_empty() => {
            // Nothing to answer on the tool channel: record the empty turn and nudge as for text.
            out.push(Message::assistant("", at(MessageType::TextResponse)));
            out.push(Message::user(
                nudge.content(),
                at(nudge.kind().message_type()),
            ));
        }
        LlmResponse::ToolCalls(calls) => {
            if let Some(reasoning) = calls[0].reasoning.as_deref().filter(|r| !r.is_empty()) {
                out.push(Message::assistant(reasoning, at(MessageType::Reasoning)));
            }
            let infos = call_infos(calls, || ids.next_id());
            out.push(Message::tool_calls(
                infos.clone(),
                at(MessageType::ToolCall),
            ));
            out.extend(nudge.delivery(&infos, Some(step)));
        }
    }
    out
}

fn failure_reason(response: &LlmResponse, nudge: &Nudge) -> String {
    match response {
        LlmResponse::Text(_) if !nudge.rescued_calls().is_empty() => nudge.content().to_owned(),
        LlmResponse::Text(_) => "the last response was text, not a tool call".to_owned(),
        LlmResponse::ToolCalls(calls) if calls.is_empty() => {
            "the last response was an empty tool-call batch".to_owned()
        }
        LlmResponse::ToolCalls(_) => nudge.content().to_owned(),
    }
}

fn failure(
    error: ForgeError,
    log: AttemptLog,
    last_response: Option<LlmResponse>,
) -> InferenceFailure {
    InferenceFailure {
        error,
        log,
        last_response,
    }
}

fn cancelled() -> ForgeError {
    ForgeError::Cancelled {
        reason: "inference cancelled by the caller".to_owned(),
    }
}

fn consumer_gone() -> ForgeError {
    ForgeError::Cancelled {
        reason: "the stream consumer went away".to_owned(),
    }
}

/// The assistant tool-call record of `calls`, with fresh ids from `next_id`.
fn call_infos(calls: &[ToolCall], mut next_id: impl FnMut() -> CallId) -> Vec<ToolCallInfo> {
    calls
        .iter()
        .map(|call| ToolCallInfo::new(call.tool.clone(), call.args.clone(), next_id()))
        .collect()
}
