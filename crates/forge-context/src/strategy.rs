//! The compaction interface and what a compaction reports.

use std::fmt;

use forge_types::{ForgeError, Message};
use serde::Serialize;

use crate::estimate_tokens;

/// A deterministic way of shrinking a history that approaches its context budget.
///
/// Strategies are pure: they never call a model, never mutate their input, and return a new
/// history only when something actually changed. Every strategy must keep `messages[0]` (the
/// system prompt) and `messages[1]` (the user input) untouched, and must never leave an
/// assistant tool call without its `role: "tool"` reply (backends reject such transcripts).
pub trait CompactStrategy: Send + Sync + fmt::Debug {
    /// Compacts `messages` for a budget of `budget_tokens`, deciding the first trigger with
    /// `initial_tokens`.
    ///
    /// [`crate::ContextManager`] passes its own usage figure as `initial_tokens` (the
    /// backend-reported count when it has one, else the character heuristic); every later
    /// re-estimate of a rewritten history uses [`estimate_tokens`]. `step_hint` is the step
    /// tracker's summary of progress: the built-in strategies ignore it, it exists for
    /// strategies that summarize.
    fn compact_from(
        &self,
        messages: &[Message],
        budget_tokens: u64,
        initial_tokens: u64,
        step_hint: &str,
    ) -> Compaction;

    /// Compacts `messages`, deciding the first trigger with [`estimate_tokens`].
    fn compact(&self, messages: &[Message], budget_tokens: u64, step_hint: &str) -> Compaction {
        self.compact_from(
            messages,
            budget_tokens,
            estimate_tokens(messages),
            step_hint,
        )
    }
}

/// The outcome of one [`CompactStrategy`] call.
#[derive(Debug, Clone, PartialEq)]
pub enum Compaction {
    /// Usage is under the strategy's trigger: the history stands as it is.
    NotNeeded,
    /// Usage is over the trigger, but nothing the reached phase may touch could be removed
    /// (too few iterations outside the protected window, or no step indices at all).
    ///
    /// The history stands as it is. The reference reported this as a compaction and fired its
    /// event with identical before/after counts; here it is told apart.
    NothingToRemove {
        /// The phase the strategy escalated to (≥ 1).
        phase_reached: u8,
    },
    /// The history was rewritten.
    Compacted {
        /// The new history.
        messages: Vec<Message>,
        /// The phase that produced it (≥ 1; strategies without phases report 1).
        phase_reached: u8,
        /// What was changed.
        changes: CompactionChanges,
    },
}

impl Compaction {
    /// The phase reached: 0 when compaction was not needed.
    pub fn phase_reached(&self) -> u8 {
        match self {
            Self::NotNeeded => 0,
            Self::NothingToRemove { phase_reached } | Self::Compacted { phase_reached, .. } => {
                *phase_reached
            }
        }
    }

    /// True when the strategy returned a rewritten history.
    pub fn changed(&self) -> bool {
        matches!(self, Self::Compacted { .. })
    }

    /// The history to use from now on: the rewritten one, or a copy of `original`.
    pub fn into_messages(self, original: &[Message]) -> Vec<Message> {
        match self {
            Self::Compacted { messages, .. } => messages,
            Self::NotNeeded | Self::NothingToRemove { .. } => original.to_vec(),
        }
    }
}

/// What a compaction did to the messages of the eligible zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CompactionChanges {
    /// Messages removed.
    pub dropped: usize,
    /// Tool results cut to their first 200 characters plus a marker.
    pub truncated: usize,
    /// Tool replies replaced by a short placeholder because the assistant tool call they
    /// answer stays in the history (a call without a reply is an invalid transcript).
    pub placeholders: usize,
}

impl CompactionChanges {
    /// True when nothing was dropped, truncated or replaced.
    pub fn is_empty(&self) -> bool {
        self.dropped == 0 && self.truncated == 0 && self.placeholders == 0
    }
}

/// A trigger expressed as a fraction of the budget (`0.75` = 75 %).
///
/// Any finite, non-negative value is accepted; values above 1 mean "never". The token trigger
/// is `trunc(budget × fraction)`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct BudgetFraction(pub(crate) f64);

impl BudgetFraction {
    /// Validates `fraction`.
    pub fn new(fraction: f64) -> Result<Self, ForgeError> {
        if fraction.is_finite() && fraction >= 0.0 {
            Ok(Self(fraction))
        } else {
            Err(ForgeError::InvalidInput {
                what: "compaction threshold",
                message: format!("{fraction} is not a finite, non-negative fraction of the budget"),
            })
        }
    }

    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }

    /// `trunc(budget_tokens × fraction)`, saturating at `u64::MAX`.
    pub fn of(self, budget_tokens: u64) -> u64 {
        // Float-to-int `as` truncates toward zero and saturates, which is the trigger rule.
        (budget_tokens as f64 * self.0) as u64
    }
}
