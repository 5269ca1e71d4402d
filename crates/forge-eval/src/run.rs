//! One run of one scenario against one model client, under one ablation preset and one
//! constrained-decoding policy.
//!
//! Every run starts from scratch: a fresh scenario backend, a fresh workflow (with the terminal
//! tool wrapped so its arguments are captured before it executes), fresh counters and a fresh
//! context manager. A run that dies on a broken stream is retried from scratch (twice at most).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use forge_client::{AuthSlot, ChunkStream, ConstraintDialect, InferenceRequest, LlmClient};
use forge_context::{CompactEvent, ContextManager, NoCompact, TieredCompact};
use forge_guardrails::ConstraintPolicy;
use forge_runner::{ToolDef, ToolFailure, Workflow, WorkflowRunner};
use forge_types::{
    ApiFormat, BackendError, Completion, ForgeError, JsonObject, Message, StreamChunk, TokenUsage,
};
use futures_util::StreamExt;

use crate::metrics::HistoryStats;
use crate::preset::Preset;
use crate::row::{round_to, RunRow};
use crate::scenario::{Scenario, ScenarioBackend};

/// Whole-run retries after a broken stream.
pub const STREAM_RETRIES: u32 = 2;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// The ablation preset.
    pub preset: Preset,
    /// When model calls are constrained to one valid tool call (the runner's
    /// `with_constraint_policy`); independent of the preset.
    pub constraint: ConstraintPolicy,
    /// The context budget for scenarios without their own (all but P1–P3).
    pub budget_tokens: u32,
    /// Stream responses.
    pub stream: bool,
    /// Keep the message history (needed for the nudge / error counters).
    pub keep_history: bool,
    /// Give up on a run after this long (recorded as error type `Timeout`).
    pub timeout: Option<Duration>,
    /// Cap on generated tokens per model call (sent as `max_tokens`; the backend's default
    /// when unset). Tiny CPU models otherwise ramble until the context is full.
    pub max_tokens: Option<u32>,
}

impl RunSettings {
    /// The given preset and budget, never constrained, no streaming, history kept, no timeout.
    pub fn new(preset: Preset, budget_tokens: u32) -> Self {
        Self {
            preset,
            constraint: ConstraintPolicy::Never,
            budget_tokens,
            stream: false,
            keep_history: true,
            timeout: None,
            max_tokens: None,
        }
    }
}

/// What happened in one run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The scenario.
    pub scenario: String,
    /// The constrained-decoding policy the run used.
    pub constraint: ConstraintPolicy,
    /// The terminal tool ran successfully and the loop returned normally.
    pub completeness: bool,
    /// Model calls in the final attempt (retries included).
    pub iterations: u32,
    /// Arguments of the last terminal call (captured even if it then failed).
    pub terminal_args: Option<JsonObject>,
    /// The verdict (complete runs only).
    pub accuracy: Option<bool>,
    /// The check raised.
    pub validate_error: Option<String>,
    /// Error kind of an incomplete run.
    pub error_type: Option<String>,
    /// Error text of an incomplete run.
    pub error_message: Option<String>,
    /// Compaction events.
    pub compaction_events: Vec<CompactEvent>,
    /// The history, when kept.
    pub history: Option<Vec<Message>>,
    /// Wall-clock time of the final attempt.
    pub elapsed: Duration,
    /// Whole-run retries after broken streams.
    pub stream_retries: u32,
    /// Token usage over the final attempt.
    pub usage: TokenUsage,
    /// The budget the scenario ran with.
    pub budget_tokens: u32,
    /// The scenario's ideal number of model calls.
    pub ideal_iterations: u32,
}

/// Identity fields of a row that a run does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIdentity {
    /// Model identity.
    pub model: String,
    /// Backend name.
    pub backend: String,
    /// `native` or `prompt`.
    pub mode: String,
    /// Anthropic tool choice (`auto` elsewhere).
    pub tool_choice: String,
    /// `recommended` or `backend_defaults`.
    pub sampling: Option<String>,
}

impl RunResult {
    /// The JSONL row of this run as run number `run` of `identity` under `preset`.
    pub fn to_row(&self, identity: &RowIdentity, preset: Preset, run: u32) -> RunRow {
        let stats = self.history.as_deref().map(HistoryStats::from_messages);
        RunRow {
            model: identity.model.clone(),
            backend: identity.backend.clone(),
            mode: identity.mode.clone(),
            ablation: preset.as_str().to_owned(),
            constraint: self.constraint.as_str().to_owned(),
            tool_choice: identity.tool_choice.clone(),
            scenario: self.scenario.clone(),
            run,
            completeness: self.completeness,
            iterations: self.iterations,
            elapsed_s: round_to(self.elapsed.as_secs_f64(), 2),
            error_type: self.error_type.clone(),
            error_message: self.error_message.clone(),
            compaction_events: u32::try_from(self.compaction_events.len()).unwrap_or(u32::MAX),
            budget_tokens: Some(self.budget_tokens),
            stream_retries: self.stream_retries,
            retry_nudges: stats.map(|s| s.retry_nudges),
            step_nudges: stats.map(|s| s.step_nudges),
            tool_errors: stats.map(|s| s.tool_errors),
            reasoning_msgs: stats.map(|s| s.reasoning_msgs),
            accuracy: self.accuracy,
            validate_error: self.validate_error.clone(),
            ideal_iterations: self.ideal_iterations,
            wasted_calls: self
                .completeness
                .then(|| self.iterations.saturating_sub(self.ideal_iterations)),
            input_tokens: (self.usage.prompt_tokens > 0 || self.usage.completion_tokens > 0)
                .then_some(self.usage.prompt_tokens),
            output_tokens: (self.usage.prompt_tokens > 0 || self.usage.completion_tokens > 0)
                .then_some(self.usage.completion_tokens),
            cost_usd: None,
            sampling: identity.sampling.clone(),
            forge_rs: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }
    }
}

/// The reference's exception class name for an error, so rows stay comparable.
pub fn error_type_name(err: &ForgeError) -> &'static str {
    match err {
        ForgeError::MaxIterations { .. } => "MaxIterationsError",
        ForgeError::RetriesExhausted { .. } => "ToolCallError",
        ForgeError::ToolExecution { .. } => "ToolExecutionError",
        ForgeError::StepEnforcement { .. } => "StepEnforcementError",
        ForgeError::Prerequisite { .. } => "PrerequisiteError",
        ForgeError::WorkflowCancelled { .. } | ForgeError::Cancelled { .. } => {
            "WorkflowCancelledError"
        }
        ForgeError::ContextBudgetExceeded { .. } => "ContextBudgetExceededError",
        ForgeError::StreamEndedWithoutFinal => "StreamError",
        ForgeError::Backend(BackendError::InStream { .. } | BackendError::Truncated { .. }) => {
            "StreamError"
        }
        ForgeError::Backend(_) => "BackendError",
        _ => "ForgeError",
    }
}

/// Counts model calls, sums the usage they report, and applies the `max_tokens` cap.
#[derive(Debug)]
struct CountingClient {
    inner: Arc<dyn LlmClient>,
    calls: AtomicU32,
    usage: Arc<Mutex<TokenUsage>>,
    max_tokens: Option<u32>,
}

impl CountingClient {
    fn capped<'a>(&self, request: &'a InferenceRequest) -> std::borrow::Cow<'a, InferenceRequest> {
        match self.max_tokens {
            Some(cap) if !request.passthrough.contains_key("max_tokens") => {
                let mut capped = request.clone();
                capped.passthrough.insert("max_tokens".into(), cap.into());
                std::borrow::Cow::Owned(capped)
            }
            _ => std::borrow::Cow::Borrowed(request),
        }
    }
}

fn add_usage(total: &Mutex<TokenUsage>, usage: Option<TokenUsage>) {
    if let Some(usage) = usage {
        let mut total = total.lock().unwrap_or_else(PoisonError::into_inner);
        *total = total.saturating_add(usage);
    }
}

#[async_trait::async_trait]
impl LlmClient for CountingClient {
    fn api_format(&self) -> ApiFormat {
        self.inner.api_format()
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let completion = self.inner.send(&self.capped(request)).await?;
        add_usage(&self.usage, completion.usage);
        Ok(completion)
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let usage = Arc::clone(&self.usage);
        let stream = self.inner.send_stream(&self.capped(request)).await?;
        Ok(Box::pin(stream.inspect(move |item| {
            if let Ok(StreamChunk::Final(completion)) = item {
                add_usage(&usage, completion.usage);
            }
        })))
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        self.inner.context_length().await
    }

    // Without this the wrapper would hide the backend's dialect and the runner would never
    // constrain, whatever the policy.
    fn constraint_dialect(&self) -> Option<ConstraintDialect> {
        self.inner.constraint_dialect()
    }

    fn auth_slot(&self) -> AuthSlot {
        self.inner.auth_slot()
    }

    fn requires_request_credential(&self) -> bool {
        self.inner.requires_request_credential()
    }
}

type SharedBackend = Arc<Mutex<Box<dyn ScenarioBackend>>>;
type Captured = Arc<Mutex<Option<JsonObject>>>;

fn build_workflow(
    scenario: &Scenario,
    backend: &SharedBackend,
    captured: &Captured,
    enforce_steps: bool,
) -> Result<Workflow, ForgeError> {
    let spec = scenario.spec();
    let terminal = spec.terminal_tool.clone();
    let mut builder = Workflow::builder(&spec.name)
        .description(&spec.description)
        .terminal_tool(&terminal)
        // The reference prompts contain no placeholders; escape braces so none is read as one.
        .system_prompt(spec.system_prompt.replace('{', "{{").replace('}', "}}"));
    if enforce_steps {
        builder = builder.required_steps(spec.required_steps.iter().cloned());
    }
    for tool in scenario.tool_specs() {
        let name = tool.name.clone();
        let backend = Arc::clone(backend);
        let captured = (name == terminal).then(|| Arc::clone(captured));
        builder = builder.tool(ToolDef::new_sync(tool, move |args: JsonObject| {
            if let Some(captured) = &captured {
                *captured.lock().unwrap_or_else(PoisonError::into_inner) = Some(args.clone());
            }
            let mut backend = backend.lock().unwrap_or_else(PoisonError::into_inner);
            backend
                .call(&name, &args)
                .map_err(|err| ToolFailure::error(err.type_name, err.message))
        }));
    }
    builder.build().map_err(ForgeError::from)
}

/// The budget `scenario` runs with: its own for P1–P3, else `settings.budget_tokens`.
pub fn scenario_budget(scenario: &Scenario, settings: &RunSettings) -> u32 {
    if scenario.is_compaction_pressure() {
        scenario.spec().budget_tokens
    } else {
        settings.budget_tokens
    }
}

struct Attempt {
    outcome: Result<(), ForgeError>,
    timed_out: bool,
    iterations: u32,
    terminal_args: Option<JsonObject>,
    backend: SharedBackend,
    events: Vec<CompactEvent>,
    history: Vec<Message>,
    elapsed: Duration,
    usage: TokenUsage,
}

async fn attempt(
    client: &Arc<dyn LlmClient>,
    scenario: &Scenario,
    settings: &RunSettings,
) -> Attempt {
    let knobs = settings.preset.knobs();
    let backend: SharedBackend = Arc::new(Mutex::new(scenario.new_backend()));
    let captured: Captured = Arc::new(Mutex::new(None));
    let usage = Arc::new(Mutex::new(TokenUsage::default()));
    let counting = Arc::new(CountingClient {
        inner: Arc::clone(client),
        calls: AtomicU32::new(0),
        usage: Arc::clone(&usage),
        max_tokens: settings.max_tokens,
    });
    let events: Arc<Mutex<Vec<CompactEvent>>> = Arc::default();
    let history: Arc<Mutex<Vec<Message>>> = Arc::default();
    let budget = u64::from(scenario_budget(scenario, settings));
    let context = if knobs.compaction && scenario.is_compaction_pressure() {
        ContextManager::new(TieredCompact::default(), budget)
    } else {
        ContextManager::new(NoCompact, budget)
    };
    let sink = Arc::clone(&events);
    let context = context.with_on_compact(move |event| {
        sink.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(event.clone());
    });
    let started = Instant::now();
    let mut timed_out = false;
    let outcome = match build_workflow(scenario, &backend, &captured, knobs.step_enforcement) {
        Err(err) => Err(err),
        Ok(workflow) => {
            let mut runner = WorkflowRunner::new(counting.clone(), context)
                .with_max_iterations(scenario.spec().max_iterations)
                .with_max_retries_per_step(knobs.max_retries_per_step)
                .with_max_tool_errors(knobs.max_tool_errors)
                .with_rescue(knobs.rescue)
                .with_constraint_policy(settings.constraint)
                .with_stream(settings.stream);
            if settings.keep_history {
                let log = Arc::clone(&history);
                runner = runner.with_on_message(move |message| {
                    log.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(message.clone());
                });
            }
            let run = runner.run(&workflow, scenario.spec().user_message.as_str());
            match settings.timeout {
                None => run.await.map(|_| ()),
                Some(limit) => match tokio::time::timeout(limit, run).await {
                    Ok(result) => result.map(|_| ()),
                    Err(_) => {
                        timed_out = true;
                        Ok(())
                    }
                },
            }
        }
    };
    let elapsed = started.elapsed();
    let usage = *usage.lock().unwrap_or_else(PoisonError::into_inner);
    Attempt {
        outcome,
        timed_out,
        iterations: counting.calls.load(Ordering::SeqCst),
        terminal_args: take(&captured),
        backend,
        events: take(&events),
        history: take(&history),
        elapsed,
        usage,
    }
}

fn take<T: Default>(shared: &Mutex<T>) -> T {
    std::mem::take(&mut *shared.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Runs `scenario` once (plus up to [`STREAM_RETRIES`] fresh restarts after a broken stream).
pub async fn run_scenario(
    client: Arc<dyn LlmClient>,
    scenario: &Scenario,
    settings: &RunSettings,
) -> RunResult {
    let mut retries = 0;
    let attempt = loop {
        let attempt = attempt(&client, scenario, settings).await;
        let broken_stream = matches!(
            &attempt.outcome,
            Err(err) if error_type_name(err) == "StreamError"
        );
        if broken_stream && retries < STREAM_RETRIES {
            retries += 1;
            tracing::warn!(
                scenario = scenario.name(),
                retry = retries,
                "stream error, retrying the run"
            );
            continue;
        }
        break attempt;
    };
    let mut result = RunResult {
        scenario: scenario.name().to_owned(),
        constraint: settings.constraint,
        completeness: false,
        iterations: attempt.iterations,
        terminal_args: attempt.terminal_args,
        accuracy: None,
        validate_error: None,
        error_type: None,
        error_message: None,
        compaction_events: attempt.events,
        history: settings.keep_history.then_some(attempt.history),
        elapsed: attempt.elapsed,
        stream_retries: retries,
        usage: attempt.usage,
        budget_tokens: scenario_budget(scenario, settings),
        ideal_iterations: scenario.ideal_iterations(),
    };
    if attempt.timed_out {
        let limit = settings.timeout.map_or(0, |t| t.as_secs());
        result.error_type = Some("Timeout".to_owned());
        result.error_message = Some(format!("Exceeded {limit}s"));
        return result;
    }
    match attempt.outcome {
        Err(err) => {
            result.error_type = Some(error_type_name(&err).to_owned());
            result.error_message = Some(err.to_string());
        }
        Ok(()) => {
            result.completeness = true;
            if let Some(args) = &result.terminal_args {
                match scenario.validate(args) {
                    Ok(verdict) => result.accuracy = Some(verdict),
                    Err(err) => result.validate_error = Some(err.type_name),
                }
            }
            let state = attempt
                .backend
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .state_ok();
            if let Some(state_ok) = state {
                result.accuracy = Some(result.accuracy.unwrap_or(true) && state_ok);
            }
        }
    }
    result
}
