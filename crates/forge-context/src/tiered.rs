//! Three-phase compaction: shed corrections and bulk first, keep the model's own words longest.

use forge_types::{ForgeError, Message, MessageType};

use crate::boundaries::PROTECTED_HEAD;
use crate::rewrite::{self, Action, Rewritten};
use crate::{estimate_tokens, find_eligible_end, BudgetFraction, CompactStrategy, Compaction};

/// Compaction in three escalating phases, each applied to the messages of the eligible zone
/// (see [`find_eligible_end`]); the first two messages and the last `keep_recent` iterations
/// are always copied through unchanged.
///
/// | type in the eligible zone | phase 1 | phase 2 | phase 3 |
/// |---|---|---|---|
/// | step, prerequisite and retry nudges | drop | drop | drop |
/// | tool result | truncate past 200 chars | drop | drop |
/// | text response, reasoning | keep | keep | drop |
/// | tool call, and every other type | keep | keep | keep |
///
/// Phase 1 runs once usage reaches the first trigger; phase 2 runs only if the phase-1 result
/// is still at or over the second trigger, phase 3 only if the phase-2 result is still at or
/// over the third. Each phase is computed from the original history.
///
/// A truncated tool result keeps its first 200 characters followed by
/// `"\n[Truncated — <n> chars removed]"`, and keeps its tool name and call id. A dropped
/// reply whose assistant tool call stays is replaced by a short placeholder reply (tagged
/// [`MessageType::Summary`]), so no tool call is ever left unanswered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TieredCompact {
    keep_recent: usize,
    triggers: [BudgetFraction; 3],
}

impl Default for TieredCompact {
    /// Two protected iterations, every phase triggered at 75 % of the budget.
    fn default() -> Self {
        Self {
            keep_recent: Self::DEFAULT_KEEP_RECENT,
            triggers: [BudgetFraction(Self::DEFAULT_THRESHOLD); 3],
        }
    }
}

impl TieredCompact {
    /// Iterations protected by [`TieredCompact::default`].
    pub const DEFAULT_KEEP_RECENT: usize = 2;
    /// The trigger of every phase in [`TieredCompact::default`].
    pub const DEFAULT_THRESHOLD: f64 = 0.75;

    /// Protects `keep_recent` iterations; all three phases trigger at `compact_threshold`.
    ///
    /// Fails when the threshold is negative or not finite.
    pub fn new(keep_recent: usize, compact_threshold: f64) -> Result<Self, ForgeError> {
        Self::with_phase_thresholds(keep_recent, [compact_threshold; 3])
    }

    /// Protects `keep_recent` iterations with one trigger per phase, e.g. `[0.6, 0.75, 0.9]`.
    ///
    /// The triggers need not ascend; each must be finite and non-negative.
    pub fn with_phase_thresholds(
        keep_recent: usize,
        phase_thresholds: [f64; 3],
    ) -> Result<Self, ForgeError> {
        let [first, second, third] = phase_thresholds;
        Ok(Self {
            keep_recent,
            triggers: [
                BudgetFraction::new(first)?,
                BudgetFraction::new(second)?,
                BudgetFraction::new(third)?,
            ],
        })
    }

    /// How many recent iterations are protected.
    pub fn keep_recent(&self) -> usize {
        self.keep_recent
    }

    /// The three phase triggers, as fractions of the budget.
    pub fn phase_thresholds(&self) -> [f64; 3] {
        self.triggers.map(BudgetFraction::get)
    }

    fn run_phase(&self, phase: u8, messages: &[Message], eligible_end: usize) -> Option<Rewritten> {
        let actions: Vec<Action> = messages
            .iter()
            .enumerate()
            .map(|(index, message)| {
                if (PROTECTED_HEAD..eligible_end).contains(&index) {
                    phase_action(phase, message.metadata.kind())
                } else {
                    Action::Keep
                }
            })
            .collect();
        rewrite::apply(messages, &actions)
    }
}

/// The phase table of [`TieredCompact`], for one message of the eligible zone.
fn phase_action(phase: u8, kind: MessageType) -> Action {
    use MessageType as T;
    match kind {
        T::StepNudge | T::PrerequisiteNudge | T::RetryNudge => Action::Drop,
        T::ToolResult if phase == 1 => Action::Truncate,
        T::ToolResult => Action::Drop,
        T::TextResponse | T::Reasoning if phase >= 3 => Action::Drop,
        T::TextResponse
        | T::Reasoning
        | T::ToolCall
        | T::SystemPrompt
        | T::UserInput
        | T::ContextWarning
        | T::Summary => Action::Keep,
    }
}

impl CompactStrategy for TieredCompact {
    fn compact_from(
        &self,
        messages: &[Message],
        budget_tokens: u64,
        initial_tokens: u64,
        _step_hint: &str,
    ) -> Compaction {
        let [first, second, third] = self.triggers.map(|fraction| fraction.of(budget_tokens));
        let mut tokens = initial_tokens;
        if tokens < first {
            return Compaction::NotNeeded;
        }
        let eligible_end = find_eligible_end(messages, self.keep_recent);

        // Like the reference after 0.7.3: re-estimate only when a phase changed the history,
        // so a backend-reported first count is not replaced by the heuristic for nothing.
        let phase1 = self.run_phase(1, messages, eligible_end);
        if let Some(rewritten) = &phase1 {
            tokens = estimate_tokens(&rewritten.messages);
        }
        if tokens < second {
            return outcome(1, phase1);
        }

        let phase2 = self.run_phase(2, messages, eligible_end);
        if view(messages, &phase2) != view(messages, &phase1) {
            tokens = estimate_tokens(view(messages, &phase2));
        }
        if tokens < third {
            return outcome(2, phase2);
        }

        outcome(3, self.run_phase(3, messages, eligible_end))
    }
}

fn view<'a>(original: &'a [Message], rewritten: &'a Option<Rewritten>) -> &'a [Message] {
    rewritten
        .as_ref()
        .map_or(original, |rewritten| rewritten.messages.as_slice())
}

fn outcome(phase_reached: u8, rewritten: Option<Rewritten>) -> Compaction {
    match rewritten {
        Some(Rewritten { messages, changes }) => Compaction::Compacted {
            messages,
            phase_reached,
            changes,
        },
        None => Compaction::NothingToRemove { phase_reached },
    }
}
