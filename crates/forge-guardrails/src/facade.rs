//! `Guardrails`: the validator, the step enforcer and the error budgets behind two calls, for
//! callers that own their agent loop.

use forge_types::{JsonObject, LlmResponse, Prerequisite, ToolCall, ToolSpec};

use crate::enforcer::{Gate, StepEnforcer};
use crate::error_tracker::{ErrorTracker, DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOOL_ERRORS};
use crate::nudge::Nudge;
use crate::validator::{ResponseValidator, RetryNudgeFn, Validation};

/// [`CheckResult::Fatal`] reason when the retry budget is spent.
pub const FATAL_BAD_RESPONSES: &str = "too many consecutive bad responses";
/// [`CheckResult::Fatal`] reason when premature terminal calls exceed their allowance.
pub const FATAL_SKIPPED_STEPS: &str = "model repeatedly skipped required steps";
/// [`CheckResult::Fatal`] reason when prerequisite violations exceed their allowance.
pub const FATAL_PREREQUISITES: &str = "model repeatedly called tools without their prerequisites";
/// [`Progress::Fatal`] reason when failing tool batches exceed `max_tool_errors`.
pub const FATAL_TOOL_ERRORS: &str = "too many consecutive tool errors";

/// What the caller should do with a model response.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult {
    /// The calls are safe to run (possibly rescued from text).
    Execute(Vec<ToolCall>),
    /// The response was unusable (bare text, an empty batch, an unknown tool): deliver the
    /// nudge ([`Nudge::delivery`]) and ask the model again.
    Retry(Nudge),
    /// The batch may not run yet (a premature terminal call, or a missing prerequisite):
    /// deliver the nudge as the reply to every call of the batch and ask again.
    StepBlocked(Nudge),
    /// A budget is spent; stop the loop. The text says which one.
    Fatal(String),
}

/// How one executed tool call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolOutcome {
    /// The tool ran and returned a result.
    Succeeded,
    /// The tool could not resolve its input (a soft failure: not counted as a tool error).
    Unresolved,
    /// The tool failed (a hard failure: counted against `max_tool_errors`).
    Failed,
}

/// One call the caller executed, with its arguments and outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The tool.
    pub tool: String,
    /// The arguments it ran with (kept for argument-matched prerequisites).
    pub args: JsonObject,
    /// How it went.
    pub outcome: ToolOutcome,
}

impl Executed {
    /// A successful call.
    pub fn succeeded(tool: impl Into<String>, args: JsonObject) -> Self {
        Self::new(tool, args, ToolOutcome::Succeeded)
    }

    /// A call that could not resolve its input.
    pub fn unresolved(tool: impl Into<String>, args: JsonObject) -> Self {
        Self::new(tool, args, ToolOutcome::Unresolved)
    }

    /// A call that failed.
    pub fn failed(tool: impl Into<String>, args: JsonObject) -> Self {
        Self::new(tool, args, ToolOutcome::Failed)
    }

    fn new(tool: impl Into<String>, args: JsonObject, outcome: ToolOutcome) -> Self {
        Self {
            tool: tool.into(),
            args,
            outcome,
        }
    }
}

/// Where the workflow stands after recording an executed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Keep looping.
    Continue,
    /// A terminal tool succeeded with every required step done.
    Done,
    /// The tool-error budget is spent; stop the loop.
    Fatal(String),
}

/// Guardrail middleware for a caller-owned loop: [`Guardrails::check`] each model response
/// before executing anything, [`Guardrails::record`] each executed batch.
///
/// Unlike the reference facade, this one checks prerequisites (configure them with
/// [`Guardrails::with_prerequisites`]) and counts failed tool batches against
/// `max_tool_errors` (report outcomes through [`Executed`]).
#[derive(Debug, Clone)]
pub struct Guardrails {
    validator: ResponseValidator,
    enforcer: StepEnforcer,
    errors: ErrorTracker,
}

impl Guardrails {
    /// Guardrails over `tools`, ending at any of `terminal_tools`, with no required steps and the
    /// default budgets (3 retries, 2 tool errors, 3 premature attempts, 2 prerequisite
    /// violations) and rescue on.
    pub fn new(
        tools: Vec<ToolSpec>,
        terminal_tools: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            validator: ResponseValidator::new(tools),
            enforcer: StepEnforcer::new(Vec::new(), terminal_tools),
            errors: ErrorTracker::new(DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOOL_ERRORS),
        }
    }

    /// The same guardrails requiring `steps` (in order of declaration) before a terminal tool.
    pub fn with_required_steps(mut self, steps: Vec<String>) -> Self {
        self.enforcer = self.enforcer.with_required_steps(steps);
        self
    }

    /// The same guardrails with per-tool prerequisites.
    pub fn with_prerequisites(
        mut self,
        prerequisites: impl IntoIterator<Item = (String, Vec<Prerequisite>)>,
    ) -> Self {
        self.enforcer = self.enforcer.with_prerequisites(prerequisites);
        self
    }

    /// The same guardrails allowing `max` consecutive bad responses.
    pub fn with_max_retries(mut self, max: u32) -> Self {
        self.errors = ErrorTracker::new(max, self.errors.max_tool_errors());
        self
    }

    /// The same guardrails allowing `max` consecutive failing tool batches.
    pub fn with_max_tool_errors(mut self, max: u32) -> Self {
        self.errors = ErrorTracker::new(self.errors.max_retries(), max);
        self
    }

    /// The same guardrails allowing `max` premature terminal calls.
    pub fn with_max_premature_attempts(mut self, max: u32) -> Self {
        self.enforcer = self.enforcer.with_max_premature_attempts(max);
        self
    }

    /// The same guardrails allowing `max` consecutive prerequisite violations.
    pub fn with_max_prereq_violations(mut self, max: u32) -> Self {
        self.enforcer = self.enforcer.with_max_prereq_violations(max);
        self
    }

    /// The same guardrails with rescue of calls written as text on or off.
    pub fn with_rescue(mut self, enabled: bool) -> Self {
        self.validator = self.validator.with_rescue(enabled);
        self
    }

    /// The same guardrails with a custom retry text built from the model's raw text.
    pub fn with_retry_nudge(mut self, build: RetryNudgeFn) -> Self {
        self.validator = self.validator.with_retry_nudge(build);
        self
    }

    /// Judges a model response. Call after every response, before executing anything.
    ///
    /// A usable batch resets the retry count even when it is then blocked; after
    /// [`CheckResult::Fatal`] further calls keep counting (bad responses stay fatal until a
    /// valid one resets the count).
    pub fn check(&mut self, response: &LlmResponse) -> CheckResult {
        let calls = match self.validator.validate(response) {
            Validation::Retry(nudge) => {
                self.errors.record_retry();
                if self.errors.retries_exhausted() {
                    return CheckResult::Fatal(FATAL_BAD_RESPONSES.to_owned());
                }
                return CheckResult::Retry(nudge);
            }
            Validation::Valid(calls) => calls,
        };
        self.errors.reset_retries();
        match self.enforcer.gate(&calls) {
            Gate::Proceed => CheckResult::Execute(calls),
            Gate::Blocked(nudge) => CheckResult::StepBlocked(nudge),
            Gate::Exhausted(error) => {
                tracing::warn!(%error, "guardrail budget exhausted");
                let reason = if self.enforcer.premature_exhausted() {
                    FATAL_SKIPPED_STEPS
                } else {
                    FATAL_PREREQUISITES
                };
                CheckResult::Fatal(reason.to_owned())
            }
        }
    }

    /// Records an executed batch. Call after executing the calls [`Guardrails::check`] allowed.
    ///
    /// Successful calls count as completed steps (with their arguments, for prerequisites). A
    /// batch with at least one [`ToolOutcome::Failed`] call counts one tool error and may be
    /// fatal; a batch without one resets the tool-error, premature and prerequisite counters.
    /// [`Progress::Done`] when a terminal tool succeeded with every required step done, even if
    /// a sibling call failed (unless that failure spent the budget).
    pub fn record(&mut self, executed: &[Executed]) -> Progress {
        let mut terminal_succeeded = false;
        for call in executed {
            if call.outcome == ToolOutcome::Succeeded {
                self.enforcer.record(&call.tool, call.args.clone());
                terminal_succeeded |= self.enforcer.is_terminal(&call.tool);
            }
        }
        if executed.iter().any(|c| c.outcome == ToolOutcome::Failed) {
            self.errors.record_result(false, false);
            if self.errors.tool_errors_exhausted() {
                return Progress::Fatal(FATAL_TOOL_ERRORS.to_owned());
            }
        } else {
            self.errors.reset_errors();
            self.enforcer.reset_premature();
            self.enforcer.reset_prereq_violations();
        }
        if terminal_succeeded && self.enforcer.is_satisfied() {
            Progress::Done
        } else {
            Progress::Continue
        }
    }

    /// The step enforcer (state, counters, pending steps).
    pub fn enforcer(&self) -> &StepEnforcer {
        &self.enforcer
    }

    /// The error budgets.
    pub fn errors(&self) -> &ErrorTracker {
        &self.errors
    }

    /// The validator.
    pub fn validator(&self) -> &ResponseValidator {
        &self.validator
    }
}
