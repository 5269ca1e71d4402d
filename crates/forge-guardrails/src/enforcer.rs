//! Required steps, terminal tools and prerequisites: what may run now.

use forge_types::{ForgeError, JsonObject, Prerequisite, ToolCall};
use indexmap::{IndexMap, IndexSet};

use crate::nudge::{prerequisite_nudge, step_nudge, Nudge, NudgeKind};
use crate::steps::StepTracker;

/// Premature terminal calls allowed before the next one is fatal.
pub const DEFAULT_MAX_PREMATURE_ATTEMPTS: u32 = 3;
/// Consecutive prerequisite violations allowed before the next one is fatal.
pub const DEFAULT_MAX_PREREQ_VIOLATIONS: u32 = 2;

/// What [`StepEnforcer::gate`] decided about a batch.
#[derive(Debug)]
pub enum Gate {
    /// Nothing blocks the batch: execute it.
    Proceed,
    /// The batch is blocked; answer every call with the nudge and ask again.
    Blocked(Nudge),
    /// The batch is blocked and the budget for this kind of block is spent.
    Exhausted(ForgeError),
}

/// Enforces required steps before terminal tools, and per-tool prerequisites.
///
/// One per conversation. Checks are made against the state *before* the batch: a batch
/// `[fetch, submit]` with `fetch` required and not yet done is premature, and
/// `[read_file(p), edit_file(p)]` is blocked when `edit_file` needs an earlier `read_file(p)`.
/// Blocking is whole-batch: nothing is reordered or partially executed.
#[derive(Debug, Clone)]
pub struct StepEnforcer {
    tracker: StepTracker,
    terminal_tools: IndexSet<String>,
    prerequisites: IndexMap<String, Vec<Prerequisite>>,
    max_premature_attempts: u32,
    max_prereq_violations: u32,
    premature_attempts: u32,
    prereq_violations: u32,
}

impl StepEnforcer {
    /// An enforcer with the default budgets and no prerequisites.
    pub fn new(
        required_steps: Vec<String>,
        terminal_tools: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            tracker: StepTracker::new(required_steps),
            terminal_tools: terminal_tools.into_iter().map(Into::into).collect(),
            prerequisites: IndexMap::new(),
            max_premature_attempts: DEFAULT_MAX_PREMATURE_ATTEMPTS,
            max_prereq_violations: DEFAULT_MAX_PREREQ_VIOLATIONS,
            premature_attempts: 0,
            prereq_violations: 0,
        }
    }

    /// The same enforcer requiring `steps` instead (a builder step: recorded state is dropped).
    pub fn with_required_steps(mut self, steps: Vec<String>) -> Self {
        self.tracker = StepTracker::new(steps);
        self
    }

    /// The same enforcer with per-tool prerequisites (tools with an empty list are ignored).
    pub fn with_prerequisites(
        mut self,
        prerequisites: impl IntoIterator<Item = (String, Vec<Prerequisite>)>,
    ) -> Self {
        self.prerequisites = prerequisites
            .into_iter()
            .filter(|(_, list)| !list.is_empty())
            .collect();
        self
    }

    /// The same enforcer allowing `max` premature terminal calls (the `max + 1`-th is fatal).
    pub fn with_max_premature_attempts(mut self, max: u32) -> Self {
        self.max_premature_attempts = max;
        self
    }

    /// The same enforcer allowing `max` consecutive prerequisite violations.
    pub fn with_max_prereq_violations(mut self, max: u32) -> Self {
        self.max_prereq_violations = max;
        self
    }

    /// Checks a batch for a premature terminal call.
    ///
    /// When the batch contains a terminal tool while required steps are pending, counts one
    /// premature attempt and returns a step nudge whose tier is the attempt count capped at 3,
    /// naming the first terminal call of the batch.
    pub fn check(&mut self, batch: &[ToolCall]) -> Option<Nudge> {
        let attempted = self.first_terminal(batch)?;
        if self.tracker.is_satisfied() {
            return None;
        }
        self.premature_attempts = self.premature_attempts.saturating_add(1);
        let tier = self.premature_attempts.min(3);
        let content = step_nudge(attempted, &self.tracker.pending(), i64::from(tier));
        tracing::info!(
            terminal = attempted,
            attempts = self.premature_attempts,
            "premature terminal call blocked"
        );
        Some(Nudge::new(NudgeKind::Step, content).with_tier(tier as u8))
    }

    /// Checks the prerequisites of every call in the batch against the pre-batch state.
    ///
    /// At the first call with an unmet prerequisite, counts one violation (once per batch) and
    /// returns a prerequisite nudge naming that tool and what it is missing.
    pub fn check_prerequisites(&mut self, batch: &[ToolCall]) -> Option<Nudge> {
        let (tool, missing) = self.first_violation(batch)?;
        self.prereq_violations = self.prereq_violations.saturating_add(1);
        tracing::info!(
            tool,
            violations = self.prereq_violations,
            ?missing,
            "call blocked by prerequisites"
        );
        Some(Nudge::new(
            NudgeKind::Prerequisite,
            prerequisite_nudge(tool, &missing),
        ))
    }

    /// Both checks in order (premature terminal first, then prerequisites), with exhaustion
    /// turned into the typed error.
    pub fn gate(&mut self, batch: &[ToolCall]) -> Gate {
        if let Some(nudge) = self.check(batch) {
            if self.premature_exhausted() {
                return Gate::Exhausted(self.premature_error(batch));
            }
            return Gate::Blocked(nudge);
        }
        if let Some(nudge) = self.check_prerequisites(batch) {
            if self.prereq_exhausted() {
                return Gate::Exhausted(self.prerequisite_error(batch));
            }
            return Gate::Blocked(nudge);
        }
        Gate::Proceed
    }

    /// [`ForgeError::StepEnforcement`] for `batch` with the current counters.
    pub fn premature_error(&self, batch: &[ToolCall]) -> ForgeError {
        ForgeError::StepEnforcement {
            terminal_tool: self.first_terminal(batch).unwrap_or_default().to_owned(),
            attempts: self.premature_attempts,
            pending_steps: self.tracker.pending(),
        }
    }

    /// [`ForgeError::Prerequisite`] for the first violating call of `batch`.
    pub fn prerequisite_error(&self, batch: &[ToolCall]) -> ForgeError {
        let (tool, missing) = self.first_violation(batch).unwrap_or_default();
        ForgeError::Prerequisite {
            tool_name: tool.to_owned(),
            violations: self.prereq_violations,
            missing_prereqs: missing,
        }
    }

    /// Records one successful execution.
    pub fn record(&mut self, tool: &str, args: JsonObject) {
        self.tracker.record(tool, args);
    }

    /// True when the batch contains a terminal tool and every required step is done.
    pub fn terminal_reached(&self, batch: &[ToolCall]) -> bool {
        self.first_terminal(batch).is_some() && self.tracker.is_satisfied()
    }

    /// True when `tool` is one of the terminal tools.
    pub fn is_terminal(&self, tool: &str) -> bool {
        self.terminal_tools.contains(tool)
    }

    /// The terminal tools.
    pub fn terminal_tools(&self) -> &IndexSet<String> {
        &self.terminal_tools
    }

    /// The step state.
    pub fn tracker(&self) -> &StepTracker {
        &self.tracker
    }

    /// True when every required step is done.
    pub fn is_satisfied(&self) -> bool {
        self.tracker.is_satisfied()
    }

    /// Required steps not yet done.
    pub fn pending(&self) -> Vec<String> {
        self.tracker.pending()
    }

    /// The step hint handed to compaction.
    pub fn summary_hint(&self) -> String {
        self.tracker.summary_hint()
    }

    /// Premature terminal calls since the last clean batch.
    pub fn premature_attempts(&self) -> u32 {
        self.premature_attempts
    }

    /// True once premature calls exceed the allowance.
    pub fn premature_exhausted(&self) -> bool {
        self.premature_attempts > self.max_premature_attempts
    }

    /// Prerequisite violations since the last clean batch.
    pub fn prereq_violations(&self) -> u32 {
        self.prereq_violations
    }

    /// True once violations exceed the allowance.
    pub fn prereq_exhausted(&self) -> bool {
        self.prereq_violations > self.max_prereq_violations
    }

    /// Forgets premature attempts (after a clean executed batch).
    pub fn reset_premature(&mut self) {
        self.premature_attempts = 0;
    }

    /// Forgets prerequisite violations (after a clean executed batch).
    pub fn reset_prereq_violations(&mut self) {
        self.prereq_violations = 0;
    }

    fn first_terminal<'a>(&self, batch: &'a [ToolCall]) -> Option<&'a str> {
        batch
            .iter()
            .map(|call| call.tool.as_str())
            .find(|tool| self.terminal_tools.contains(*tool))
    }

    fn first_violation<'a>(&self, batch: &'a [ToolCall]) -> Option<(&'a str, Vec<String>)> {
        batch.iter().find_map(|call| {
            let prerequisites = self.prerequisites.get(&call.tool)?;
            let check = self.tracker.check_prerequisites(&call.args, prerequisites);
            (!check.is_satisfied()).then_some((call.tool.as_str(), check.missing))
        })
    }
}
