//! The two simple strategies: never compact, and keep only the recent iterations.

use forge_types::{ForgeError, Message};

use crate::boundaries::PROTECTED_HEAD;
use crate::rewrite::{self, Action};
use crate::{find_eligible_end, BudgetFraction, CompactStrategy, Compaction};

/// Never compacts. The right choice when the budget is ample or runs are short, and the only
/// strategy a [`crate::ContextManager`] without a budget accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoCompact;

impl CompactStrategy for NoCompact {
    fn compact_from(&self, _: &[Message], _: u64, _: u64, _: &str) -> Compaction {
        Compaction::NotNeeded
    }
}

/// Keeps the system prompt, the user input and the last `keep_recent` iterations; drops
/// everything in between once usage reaches `compact_threshold` of the budget.
///
/// Simple and predictable; it has a single phase, reported as 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlidingWindowCompact {
    keep_recent: usize,
    compact_threshold: BudgetFraction,
}

impl SlidingWindowCompact {
    /// The threshold the reference defaults to: 75 % of the budget.
    pub const DEFAULT_THRESHOLD: f64 = 0.75;

    /// A window of `keep_recent` iterations, triggered at `compact_threshold` of the budget.
    ///
    /// Fails when the threshold is negative or not finite.
    pub fn new(keep_recent: usize, compact_threshold: f64) -> Result<Self, ForgeError> {
        Ok(Self {
            keep_recent,
            compact_threshold: BudgetFraction::new(compact_threshold)?,
        })
    }

    /// How many recent iterations are kept.
    pub fn keep_recent(&self) -> usize {
        self.keep_recent
    }

    /// The trigger, as a fraction of the budget.
    pub fn compact_threshold(&self) -> f64 {
        self.compact_threshold.get()
    }
}

impl CompactStrategy for SlidingWindowCompact {
    fn compact_from(
        &self,
        messages: &[Message],
        budget_tokens: u64,
        initial_tokens: u64,
        _step_hint: &str,
    ) -> Compaction {
        const PHASE: u8 = 1;
        if initial_tokens < self.compact_threshold.of(budget_tokens) {
            return Compaction::NotNeeded;
        }
        let eligible_end = find_eligible_end(messages, self.keep_recent);
        let actions: Vec<Action> = (0..messages.len())
            .map(|index| {
                if (PROTECTED_HEAD..eligible_end).contains(&index) {
                    Action::Drop
                } else {
                    Action::Keep
                }
            })
            .collect();
        match rewrite::apply(messages, &actions) {
            Some(rewritten) => Compaction::Compacted {
                messages: rewritten.messages,
                phase_reached: PHASE,
                changes: rewritten.changes,
            },
            None => Compaction::NothingToRemove {
                phase_reached: PHASE,
            },
        }
    }
}
