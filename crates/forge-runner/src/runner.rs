//! `WorkflowRunner`: the agentic loop. The library owns the loop: ask the model, gate the batch,
//! run the tools, feed the results back, until a terminal tool succeeds or a budget runs out.

use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use forge_client::LlmClient;
use forge_context::ContextManager;
use forge_guardrails::{
    run_inference, ChunkSink, ConstraintPolicy, ErrorTracker, Gate, InferenceCall,
    InferenceOptions, InferenceOutcome, Nudge, ReasoningReplay, ResponseValidator, RetryNudgeFn,
    SinkClosed, StepEnforcer, DEFAULT_MAX_PREMATURE_ATTEMPTS, DEFAULT_MAX_PREREQ_VIOLATIONS,
};
use forge_types::{
    CallIdGenerator, ForgeError, JsonObject, Message, MessageType, SamplingParams, StreamChunk,
    ToolCall, ToolCallInfo,
};
use futures_util::FutureExt;
use tokio_util::sync::CancellationToken;

use crate::tool::{ToolFailure, ToolOutput};
use crate::workflow::Workflow;

/// Called with every message as it enters the history (and with context warnings, which never do).
pub type MessageCallback = Arc<dyn Fn(&Message) + Send + Sync>;

/// Default ceiling on model calls per run (retries included).
pub const DEFAULT_MAX_ITERATIONS: u32 = 10;

/// How a run starts.
#[derive(Debug, Clone)]
enum Start {
    Fresh {
        user_message: String,
        prompt_vars: HashMap<String, String>,
    },
    Seeded(Vec<Message>),
}

/// What to run: a fresh conversation or a seeded one, and an optional cancellation token.
///
/// ```
/// use forge_runner::RunRequest;
/// use tokio_util::sync::CancellationToken;
///
/// let cancel = CancellationToken::new();
/// let request = RunRequest::new("What's the weather in Oslo?")
///     .with_prompt_var("role", "weather assistant")
///     .with_cancellation(cancel.clone());
/// # let _ = request;
/// ```
#[derive(Debug, Clone)]
pub struct RunRequest {
    start: Start,
    cancel: Option<CancellationToken>,
}

impl RunRequest {
    /// A fresh conversation: the rendered system prompt, then `user_message`.
    pub fn new(user_message: impl Into<String>) -> Self {
        Self {
            start: Start::Fresh {
                user_message: user_message.into(),
                prompt_vars: HashMap::new(),
            },
            cancel: None,
        }
    }

    /// A conversation continuing `history`, which must already hold the system prompt and the
    /// new user message (multi-turn use). Nothing is reported for the seed, and call ids
    /// continue after the highest id in it.
    pub fn seeded(history: Vec<Message>) -> Self {
        Self {
            start: Start::Seeded(history),
            cancel: None,
        }
    }

    /// Sets a system prompt variable (ignored for a seeded conversation).
    pub fn with_prompt_var(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Start::Fresh { prompt_vars, .. } = &mut self.start {
            prompt_vars.insert(name.into(), value.into());
        }
        self
    }

    /// Sets every system prompt variable at once (ignored for a seeded conversation).
    pub fn with_prompt_vars(mut self, vars: HashMap<String, String>) -> Self {
        if let Start::Fresh { prompt_vars, .. } = &mut self.start {
            *prompt_vars = vars;
        }
        self
    }

    /// Stops the run when `cancel` fires (see [`WorkflowRunner::run`]).
    pub fn with_cancellation(mut self, cancel: CancellationToken) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// The cancellation token, if one was set.
    pub fn cancellation(&self) -> Option<&CancellationToken> {
        self.cancel.as_ref()
    }
}

impl From<&str> for RunRequest {
    fn from(user_message: &str) -> Self {
        Self::new(user_message)
    }
}

impl From<String> for RunRequest {
    fn from(user_message: String) -> Self {
        Self::new(user_message)
    }
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// What the terminal tool returned (the last one, if a batch ran several).
    pub output: ToolOutput,
    /// The terminal tool that ended the run.
    pub terminal_tool: String,
    /// The whole conversation, seed included: pass it (plus the next user message) to
    /// [`RunRequest::seeded`] for the next turn.
    pub history: Vec<Message>,
    /// Model calls made, retries included.
    pub iterations: u32,
}

/// Runs workflows against one model client.
///
/// Defaults: 10 iterations (model calls, retries included), 3 retries per step, 2 tool errors,
/// 3 premature terminal calls, 2 prerequisite violations, rescue on, no streaming, and no
/// reasoning replay. The context manager is shared by every run (its threshold memory and last
/// observed usage persist across runs).
pub struct WorkflowRunner {
    client: Arc<dyn LlmClient>,
    context: ContextManager,
    max_iterations: u32,
    max_retries_per_step: u32,
    max_tool_errors: u32,
    max_premature_attempts: u32,
    max_prereq_violations: u32,
    stream: bool,
    on_chunk: Option<Box<dyn ChunkSink>>,
    on_message: Option<MessageCallback>,
    rescue_enabled: bool,
    retry_nudge: Option<RetryNudgeFn>,
    reasoning_replay: ReasoningReplay,
    constraint_policy: ConstraintPolicy,
    sampling: SamplingParams,
    passthrough: JsonObject,
}

impl fmt::Debug for WorkflowRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowRunner")
            .field("client", &self.client)
            .field("context", &self.context)
            .field("max_iterations", &self.max_iterations)
            .field("max_retries_per_step", &self.max_retries_per_step)
            .field("max_tool_errors", &self.max_tool_errors)
            .field("stream", &self.stream)
            .field("rescue_enabled", &self.rescue_enabled)
            .field("reasoning_replay", &self.reasoning_replay)
            .field("constraint_policy", &self.constraint_policy)
            .finish_non_exhaustive()
    }
}

impl WorkflowRunner {
    /// A runner with the defaults.
    pub fn new(client: Arc<dyn LlmClient>, context: ContextManager) -> Self {
        Self {
            client,
            context,
            max_iterations: DEFAULT_MAX_ITERATIONS,
            max_retries_per_step: forge_guardrails::DEFAULT_MAX_RETRIES,
            max_tool_errors: forge_guardrails::DEFAULT_MAX_TOOL_ERRORS,
            max_premature_attempts: DEFAULT_MAX_PREMATURE_ATTEMPTS,
            max_prereq_violations: DEFAULT_MAX_PREREQ_VIOLATIONS,
            stream: false,
            on_chunk: None,
            on_message: None,
            rescue_enabled: true,
            retry_nudge: None,
            reasoning_replay: ReasoningReplay::default(),
            constraint_policy: ConstraintPolicy::default(),
            sampling: SamplingParams::default(),
            passthrough: JsonObject::new(),
        }
    }

    /// At most `max` model calls per run, retries included.
    pub fn with_max_iterations(mut self, max: u32) -> Self {
        self.max_iterations = max;
        self
    }

    /// At most `max` consecutive unusable responses (the `max + 1`-th fails the run).
    pub fn with_max_retries_per_step(mut self, max: u32) -> Self {
        self.max_retries_per_step = max;
        self
    }

    /// At most `max` consecutive batches with a failing tool.
    pub fn with_max_tool_errors(mut self, max: u32) -> Self {
        self.max_tool_errors = max;
        self
    }

    /// At most `max` premature terminal calls before the run fails.
    pub fn with_max_premature_attempts(mut self, max: u32) -> Self {
        self.max_premature_attempts = max;
        self
    }

    /// At most `max` consecutive prerequisite violations before the run fails.
    pub fn with_max_prereq_violations(mut self, max: u32) -> Self {
        self.max_prereq_violations = max;
        self
    }

    /// Streams model calls; chunks go to the [`WorkflowRunner::with_on_chunk`] sink, if any.
    pub fn with_stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// Where streamed chunks go (used only when streaming). A [`StreamChunk::Retry`] follows
    /// every attempt that was discarded, so a UI can drop what it showed.
    pub fn with_on_chunk(mut self, sink: impl ChunkSink + 'static) -> Self {
        self.on_chunk = Some(Box::new(sink));
        self
    }

    /// Calls `callback` with every new history message (see [`WorkflowRunner::run`]).
    pub fn with_on_message(mut self, callback: impl Fn(&Message) + Send + Sync + 'static) -> Self {
        self.on_message = Some(Arc::new(callback));
        self
    }

    /// Rescue of tool calls written as text on or off.
    pub fn with_rescue(mut self, enabled: bool) -> Self {
        self.rescue_enabled = enabled;
        self
    }

    /// A custom retry text built from the model's raw text.
    pub fn with_retry_nudge(mut self, build: RetryNudgeFn) -> Self {
        self.retry_nudge = Some(build);
        self
    }

    /// A fixed retry text.
    pub fn with_retry_text(self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.with_retry_nudge(Arc::new(move |_| text.clone()))
    }

    /// When model calls are constrained to one valid tool call (see `ConstraintPolicy`); the
    /// default is never, the reference behaviour.
    pub fn with_constraint_policy(mut self, policy: ConstraintPolicy) -> Self {
        self.constraint_policy = policy;
        self
    }

    /// How much captured reasoning the model sees again.
    pub fn with_reasoning_replay(mut self, replay: ReasoningReplay) -> Self {
        self.reasoning_replay = replay;
        self
    }

    /// Sampling overrides for every model call.
    pub fn with_sampling(mut self, sampling: SamplingParams) -> Self {
        self.sampling = sampling;
        self
    }

    /// Request body fields forge does not own (`max_tokens`, `stop`, …), sent on every model
    /// call.
    pub fn with_passthrough(mut self, fields: JsonObject) -> Self {
        self.passthrough = fields;
        self
    }

    /// The context manager.
    pub fn context(&self) -> &ContextManager {
        &self.context
    }

    /// The client.
    pub fn client(&self) -> &Arc<dyn LlmClient> {
        &self.client
    }

    /// The iteration ceiling.
    pub fn max_iterations(&self) -> u32 {
        self.max_iterations
    }

    /// Runs `workflow` until a terminal tool succeeds.
    ///
    /// Each loop turn checks cancellation, asks the model (through the retry engine, which
    /// appends failure transcripts of unusable answers and counts every attempt as an
    /// iteration), gates the batch (a premature terminal call or a missing prerequisite answers
    /// every call with a nudge and runs nothing), then runs every call of the batch in order and
    /// answers each with its result, `[ToolResolutionError] …` or `[ToolError] …`. A batch in
    /// which a terminal tool succeeded ends the run, whatever the tool returned.
    ///
    /// `on_message` sees every message as it enters the history (the seed excepted), including
    /// failure transcripts of a model call that then fails the run, and context warnings.
    ///
    /// Cancellation is checked at the top of every turn, and a model call in flight is
    /// abandoned when the token fires; tools are never interrupted (an assistant tool call is
    /// never left without its reply). Either way the run fails with
    /// [`ForgeError::WorkflowCancelled`] carrying the history so far.
    ///
    /// Errors: [`ForgeError::MaxIterations`], [`ForgeError::RetriesExhausted`],
    /// [`ForgeError::StepEnforcement`], [`ForgeError::Prerequisite`],
    /// [`ForgeError::ToolExecution`], [`ForgeError::WorkflowCancelled`], the client's
    /// [`ForgeError::Backend`] / [`ForgeError::StreamEndedWithoutFinal`], and
    /// [`ForgeError::InvalidInput`] for a system prompt variable without a value.
    pub async fn run(
        &mut self,
        workflow: &Workflow,
        request: impl Into<RunRequest>,
    ) -> Result<RunOutcome, ForgeError> {
        let RunRequest { start, cancel } = request.into();
        let cancel = cancel.unwrap_or_default();
        let mut history = Vec::new();
        let ids = match start {
            Start::Fresh {
                user_message,
                prompt_vars,
            } => {
                let system = workflow.build_system_prompt(&prompt_vars).map_err(|err| {
                    ForgeError::InvalidInput {
                        what: "system prompt variables",
                        message: err.to_string(),
                    }
                })?;
                self.emit(
                    &mut history,
                    Message::system(system, MessageType::SystemPrompt.meta()),
                );
                self.emit(
                    &mut history,
                    Message::user(user_message, MessageType::UserInput.meta()),
                );
                CallIdGenerator::new()
            }
            Start::Seeded(seed) => {
                let ids = CallIdGenerator::continuing_after(seed.iter().flat_map(|m| {
                    m.tool_calls
                        .iter()
                        .flatten()
                        .map(|call| &call.call_id)
                        .chain(m.tool_call_id.as_ref())
                }));
                history = seed;
                ids
            }
        };

        let mut validator =
            ResponseValidator::new(workflow.tool_specs()).with_rescue(self.rescue_enabled);
        if let Some(build) = &self.retry_nudge {
            validator = validator.with_retry_nudge(Arc::clone(build));
        }
        let mut enforcer = StepEnforcer::new(
            workflow.required_steps().to_vec(),
            workflow.terminal_tools().iter().cloned(),
        )
        .with_prerequisites(workflow.prerequisites())
        .with_max_premature_attempts(self.max_premature_attempts)
        .with_max_prereq_violations(self.max_prereq_violations);
        let mut errors = ErrorTracker::new(self.max_retries_per_step, self.max_tool_errors);
        let mut iteration: u32 = 0;

        while iteration < self.max_iterations {
            if cancel.is_cancelled() {
                return Err(cancelled(history, &enforcer, iteration));
            }
            let options = InferenceOptions {
                step_index: iteration,
                step_hint: enforcer.summary_hint(),
                max_attempts: Some(self.max_iterations - iteration),
                sampling: self.sampling.clone(),
                passthrough: self.passthrough.clone(),
                reasoning_replay: self.reasoning_replay,
                constraint_policy: self.constraint_policy,
                ..InferenceOptions::default()
            };
            let mut discard = DiscardSink;
            let call = InferenceCall::new(
                self.client.as_ref(),
                &mut self.context,
                &validator,
                &mut errors,
                &ids,
            )
            .with_options(options)
            .with_cancellation(cancel.clone());
            let call = if self.stream {
                match self.on_chunk.as_deref_mut() {
                    Some(sink) => call.streaming(sink),
                    None => call.streaming(&mut discard),
                }
            } else {
                call
            };
            let outcome = run_inference(call, &mut history).await;
            let calls = match outcome {
                Err(failure) => {
                    self.report(&failure.log.new_messages);
                    let iteration = iteration.saturating_add(failure.log.attempts);
                    if matches!(failure.error, ForgeError::Cancelled { .. })
                        && cancel.is_cancelled()
                    {
                        return Err(cancelled(history, &enforcer, iteration));
                    }
                    tracing::warn!(error = %failure.error, iteration, "run failed in the model call");
                    return Err(failure.error);
                }
                Ok(InferenceOutcome::OutOfAttempts(log)) => {
                    // The attempts used up the remaining iterations.
                    self.report(&log.new_messages);
                    break;
                }
                Ok(InferenceOutcome::Response(result)) => {
                    self.report(&result.log.new_messages);
                    iteration = iteration.saturating_add(result.log.attempts);
                    result.calls
                }
            };

            match enforcer.gate(&calls) {
                Gate::Proceed => {}
                Gate::Exhausted(error) => {
                    tracing::warn!(%error, iteration, "run failed in step enforcement");
                    return Err(error);
                }
                Gate::Blocked(nudge) => {
                    self.answer_with_nudge(&mut history, &calls, &nudge, &ids, iteration);
                    continue;
                }
            }

            let infos = self.record_calls(&mut history, &calls, &ids, iteration);
            let mut last_hard_failure: Option<(String, ToolFailure)> = None;
            let mut terminal: Option<(String, ToolOutput)> = None;
            for (call, info) in calls.iter().zip(&infos) {
                let content = match execute(workflow, call).await {
                    Ok(output) => {
                        tracing::debug!(tool = %call.tool, "tool succeeded");
                        enforcer.record(&call.tool, call.args.clone());
                        let content = output.to_content();
                        if enforcer.is_terminal(&call.tool) {
                            terminal = Some((call.tool.clone(), output));
                        }
                        content
                    }
                    Err(failure) => {
                        tracing::info!(tool = %call.tool, %failure, "tool failed");
                        let content = failure.to_content();
                        if !failure.is_resolution() {
                            last_hard_failure = Some((call.tool.clone(), failure));
                        }
                        content
                    }
                };
                self.emit(
                    &mut history,
                    Message::tool_result(
                        &call.tool,
                        info.call_id.clone(),
                        content,
                        MessageType::ToolResult.at_step(iteration),
                    ),
                );
            }

            if let Some((tool_name, failure)) = last_hard_failure {
                errors.record_result(false, false);
                if errors.tool_errors_exhausted() {
                    let error = ForgeError::ToolExecution {
                        tool_name,
                        cause: failure.message().to_owned(),
                    };
                    tracing::warn!(%error, iteration, "tool-error budget spent");
                    return Err(error);
                }
            } else {
                errors.reset_errors();
                enforcer.reset_premature();
                enforcer.reset_prereq_violations();
            }

            if let Some((terminal_tool, output)) = terminal {
                tracing::info!(tool = %terminal_tool, iterations = iteration, "workflow complete");
                return Ok(RunOutcome {
                    output,
                    terminal_tool,
                    history,
                    iterations: iteration,
                });
            }
        }

        let error = ForgeError::MaxIterations {
            iterations: self.max_iterations,
            completed_steps: completed_steps(&enforcer),
            pending_steps: enforcer.pending(),
        };
        tracing::warn!(%error, "iteration budget spent");
        Err(error)
    }

    fn emit(&self, history: &mut Vec<Message>, message: Message) {
        if let Some(callback) = &self.on_message {
            callback(&message);
        }
        history.push(message);
    }

    /// Reports messages the engine already placed in the history (or, for context warnings,
    /// deliberately kept out of it).
    fn report(&self, messages: &[Message]) {
        if let Some(callback) = &self.on_message {
            messages.iter().for_each(|message| callback(message));
        }
    }

    /// Appends the reasoning (if any) and the assistant tool-call message of `calls`, with
    /// fresh ids, and returns the calls' records.
    fn record_calls(
        &self,
        history: &mut Vec<Message>,
        calls: &[ToolCall],
        ids: &CallIdGenerator,
        step: u32,
    ) -> Vec<ToolCallInfo> {
        let reasoning = calls
            .first()
            .and_then(|call| call.reasoning.as_deref())
            .filter(|reasoning| !reasoning.is_empty());
        if let Some(reasoning) = reasoning {
            self.emit(
                history,
                Message::assistant(reasoning, MessageType::Reasoning.at_step(step)),
            );
        }
        let infos: Vec<ToolCallInfo> = calls
            .iter()
            .map(|call| ToolCallInfo::new(call.tool.clone(), call.args.clone(), ids.next_id()))
            .collect();
        self.emit(
            history,
            Message::tool_calls(infos.clone(), MessageType::ToolCall.at_step(step)),
        );
        infos
    }

    fn answer_with_nudge(
        &self,
        history: &mut Vec<Message>,
        calls: &[ToolCall],
        nudge: &Nudge,
        ids: &CallIdGenerator,
        step: u32,
    ) {
        let infos = self.record_calls(history, calls, ids, step);
        for message in nudge.delivery(&infos, Some(step)) {
            self.emit(history, message);
        }
    }
}

/// Runs one call. A panicking tool is a failure like any other: reported to the model and
/// counted, so the assistant call still gets its reply.
async fn execute(workflow: &Workflow, call: &ToolCall) -> Result<ToolOutput, ToolFailure> {
    let Some(tool) = workflow.tool(&call.tool) else {
        // The validator only lets known tools through; this guards the invariant without a panic.
        return Err(ToolFailure::error(
            "UnknownTool",
            format!(
                "no tool named '{}' in workflow '{}'",
                call.tool,
                workflow.name()
            ),
        ));
    };
    let args = call.args.clone();
    match AssertUnwindSafe(async move { tool.call(args).await })
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "the tool panicked".to_owned());
            tracing::error!(tool = %call.tool, %message, "tool panicked");
            Err(ToolFailure::error("Panic", message))
        }
    }
}

fn completed_steps(enforcer: &StepEnforcer) -> Vec<String> {
    enforcer
        .tracker()
        .completed_steps()
        .iter()
        .cloned()
        .collect()
}

fn cancelled(history: Vec<Message>, enforcer: &StepEnforcer, iteration: u32) -> ForgeError {
    tracing::info!(iteration, "workflow cancelled");
    ForgeError::WorkflowCancelled {
        messages: history,
        completed_steps: completed_steps(enforcer),
        iteration,
    }
}

/// Streaming without a consumer: chunks are dropped.
struct DiscardSink;

#[async_trait::async_trait]
impl ChunkSink for DiscardSink {
    async fn deliver(&mut self, _chunk: StreamChunk) -> Result<(), SinkClosed> {
        Ok(())
    }
}
