//! Budget tracking, the compaction trigger and one-shot context-usage warnings.

use std::fmt;

use forge_types::{ForgeError, Message, MessageType};
use serde::Serialize;

use crate::{
    default_context_warning, estimate_tokens, BudgetFraction, CompactStrategy, Compaction,
    CompactionChanges, NoCompact,
};

/// Called with every [`CompactEvent`].
pub type CompactCallback = Box<dyn Fn(&CompactEvent) + Send + Sync>;

/// Called when usage crosses a context threshold, with `(tokens, budget, fraction)`; returns
/// the warning to show the model, or `None` for no warning.
pub type ThresholdCallback = Box<dyn Fn(u64, u64, f64) -> Option<String> + Send + Sync>;

/// A compaction that changed the history. Never emitted when nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompactEvent {
    /// The loop iteration passed to [`ContextManager::maybe_compact`].
    pub step_index: u32,
    /// The manager's usage figure before compaction (backend-reported when known).
    pub tokens_before: u64,
    /// The character estimate of the compacted history.
    pub tokens_after: u64,
    /// The manager's budget.
    pub budget_tokens: u64,
    /// History length before.
    pub messages_before: usize,
    /// History length after.
    pub messages_after: usize,
    /// The strategy's phase (≥ 1).
    pub phase_reached: u8,
    /// What was dropped, truncated or replaced.
    pub changes: CompactionChanges,
}

/// A context-usage warning for the engine to show the model on the next call.
///
/// It is transient: sent as a trailing `user` message on that one attempt and reported to
/// observers, never added to the history (mid-conversation system messages break some chat
/// templates, hence the user role).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContextWarning {
    /// The text to show the model.
    pub text: String,
    /// The usage figure that crossed the threshold.
    pub tokens: u64,
    /// The budget.
    pub budget_tokens: u64,
    /// `tokens / budget_tokens`.
    pub fraction: f64,
}

impl ContextWarning {
    /// The warning as a `user`-role [`MessageType::ContextWarning`] message.
    pub fn to_message(&self, step_index: u32) -> Message {
        Message::user(
            self.text.clone(),
            MessageType::ContextWarning.at_step(step_index),
        )
    }
}

/// Holds the context budget and the last usage figure, runs the compaction strategy, and
/// decides when to warn the model about context usage.
///
/// Usage is the backend-reported token count once one has been recorded
/// ([`ContextManager::update_token_count`]), else the character heuristic
/// ([`estimate_tokens`]). A compaction that changes the history discards the recorded count,
/// since it described the old history.
pub struct ContextManager {
    strategy: Box<dyn CompactStrategy>,
    budget_tokens: Option<u64>,
    on_compact: Option<CompactCallback>,
    thresholds: Vec<BudgetFraction>,
    on_context_threshold: Option<ThresholdCallback>,
    fired: Vec<bool>,
    observed_tokens: Option<u64>,
}

impl fmt::Debug for ContextManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContextManager")
            .field("strategy", &self.strategy)
            .field("budget_tokens", &self.budget_tokens)
            .field("on_compact", &self.on_compact.is_some())
            .field("thresholds", &self.thresholds)
            .field("on_context_threshold", &self.on_context_threshold.is_some())
            .field("fired", &self.fired)
            .field("observed_tokens", &self.observed_tokens)
            .finish()
    }
}

impl ContextManager {
    /// A manager compacting with `strategy` against a budget of `budget_tokens`, with no
    /// callbacks and no thresholds.
    pub fn new(strategy: impl CompactStrategy + 'static, budget_tokens: u64) -> Self {
        Self::build(Box::new(strategy), Some(budget_tokens))
    }

    /// A manager for when the context window is unknown: it never compacts and never warns,
    /// but still tracks usage for reporting.
    pub fn without_budget() -> Self {
        Self::build(Box::new(NoCompact), None)
    }

    fn build(strategy: Box<dyn CompactStrategy>, budget_tokens: Option<u64>) -> Self {
        Self {
            strategy,
            budget_tokens,
            on_compact: None,
            thresholds: Vec::new(),
            on_context_threshold: None,
            fired: Vec::new(),
            observed_tokens: None,
        }
    }

    /// Calls `callback` with every [`CompactEvent`].
    pub fn with_on_compact(
        mut self,
        callback: impl Fn(&CompactEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_compact = Some(Box::new(callback));
        self
    }

    /// Warns once per threshold crossed (fractions of the budget, e.g. `[0.5, 0.65, 0.8]`),
    /// with the text `callback` returns. A threshold re-arms when usage falls back below it.
    ///
    /// Fails for a manager without a budget, or when a threshold is negative or not finite.
    pub fn with_context_thresholds(
        mut self,
        thresholds: &[f64],
        callback: impl Fn(u64, u64, f64) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, ForgeError> {
        if self.budget_tokens.is_none() {
            return Err(ForgeError::InvalidInput {
                what: "context thresholds",
                message: "a context manager without a budget cannot warn about usage".into(),
            });
        }
        let mut thresholds = thresholds
            .iter()
            .map(|&t| BudgetFraction::new(t))
            .collect::<Result<Vec<_>, _>>()?;
        thresholds.sort_by(|a, b| a.get().total_cmp(&b.get()));
        thresholds.dedup();
        self.fired = vec![false; thresholds.len()];
        self.thresholds = thresholds;
        self.on_context_threshold = Some(Box::new(callback));
        Ok(self)
    }

    /// [`ContextManager::with_context_thresholds`] with [`default_context_warning`].
    pub fn with_default_context_warnings(self, thresholds: &[f64]) -> Result<Self, ForgeError> {
        self.with_context_thresholds(thresholds, |tokens, budget, fraction| {
            Some(default_context_warning(tokens, budget, fraction))
        })
    }

    /// The budget, or `None` for a manager without one.
    pub fn budget_tokens(&self) -> Option<u64> {
        self.budget_tokens
    }

    /// The compaction strategy.
    pub fn strategy(&self) -> &dyn CompactStrategy {
        self.strategy.as_ref()
    }

    /// Records the token count the backend reported for the last call.
    pub fn update_token_count(&mut self, tokens: u64) {
        self.observed_tokens = Some(tokens);
    }

    /// Forgets the recorded count (the call reported no usage, or the history was rewritten
    /// outside the manager); usage falls back to the character heuristic.
    pub fn clear_token_count(&mut self) {
        self.observed_tokens = None;
    }

    /// The recorded backend count, if any.
    pub fn observed_tokens(&self) -> Option<u64> {
        self.observed_tokens
    }

    /// Current usage: the recorded backend count if there is one (whatever `messages` are),
    /// else [`estimate_tokens`] of `messages`.
    pub fn estimate_tokens(&self, messages: &[Message]) -> u64 {
        self.observed_tokens
            .unwrap_or_else(|| estimate_tokens(messages))
    }

    /// Runs the strategy on `messages`; returns the history to use from now on and, when the
    /// strategy changed it, the [`CompactEvent`] (also passed to the `on_compact` callback).
    ///
    /// Without a budget this returns a copy of `messages` and no event.
    pub fn maybe_compact(
        &mut self,
        messages: &[Message],
        step_index: u32,
        step_hint: &str,
    ) -> (Vec<Message>, Option<CompactEvent>) {
        match self.compaction(messages, step_index, step_hint) {
            Some((compacted, event)) => (compacted, Some(event)),
            None => (messages.to_vec(), None),
        }
    }

    /// [`ContextManager::maybe_compact`] replacing `history` in place when it changes; returns
    /// the event, if any.
    pub fn compact_in_place(
        &mut self,
        history: &mut Vec<Message>,
        step_index: u32,
        step_hint: &str,
    ) -> Option<CompactEvent> {
        let (compacted, event) = self.compaction(history, step_index, step_hint)?;
        *history = compacted;
        Some(event)
    }

    fn compaction(
        &mut self,
        messages: &[Message],
        step_index: u32,
        step_hint: &str,
    ) -> Option<(Vec<Message>, CompactEvent)> {
        let budget_tokens = self.budget_tokens?;
        let tokens_before = self.estimate_tokens(messages);
        let outcome = self
            .strategy
            .compact_from(messages, budget_tokens, tokens_before, step_hint);
        let (compacted, phase_reached, changes) = match outcome {
            Compaction::NotNeeded => return None,
            Compaction::NothingToRemove { phase_reached } => {
                tracing::debug!(
                    phase_reached,
                    tokens = tokens_before,
                    budget_tokens,
                    "context over the compaction trigger but nothing is eligible for removal"
                );
                return None;
            }
            Compaction::Compacted {
                messages: compacted,
                ..
            } if compacted == messages => {
                tracing::warn!(
                    strategy = ?self.strategy,
                    "compaction strategy reported a change but returned an identical history"
                );
                return None;
            }
            Compaction::Compacted {
                messages: compacted,
                phase_reached,
                changes,
            } => (compacted, phase_reached, changes),
        };
        // The recorded count described the old history; the next call will report a new one.
        self.clear_token_count();
        let event = CompactEvent {
            step_index,
            tokens_before,
            tokens_after: self.estimate_tokens(&compacted),
            budget_tokens,
            messages_before: messages.len(),
            messages_after: compacted.len(),
            phase_reached,
            changes,
        };
        tracing::info!(
            step_index,
            phase_reached,
            tokens_before,
            tokens_after = event.tokens_after,
            budget_tokens,
            messages_before = event.messages_before,
            messages_after = event.messages_after,
            dropped = changes.dropped,
            truncated = changes.truncated,
            placeholders = changes.placeholders,
            "context compacted"
        );
        if let Some(callback) = &self.on_compact {
            callback(&event);
        }
        Some((compacted, event))
    }

    /// The warning to show the model before the next call, if usage has newly crossed a
    /// threshold.
    ///
    /// Fires for the highest crossed threshold that has not fired yet, and marks every crossed
    /// threshold as fired, so a jump past several thresholds warns once (the reference marked
    /// only the highest and repeated the same warning on the next calls). Thresholds above the
    /// current usage re-arm. `None` without thresholds, without a budget, with a zero budget,
    /// or when the callback returns no text (or an empty one).
    pub fn check_thresholds(&mut self, messages: &[Message]) -> Option<ContextWarning> {
        let callback = self.on_context_threshold.as_ref()?;
        let budget_tokens = self.budget_tokens.filter(|&budget| budget > 0)?;
        let tokens = self
            .observed_tokens
            .unwrap_or_else(|| estimate_tokens(messages));
        let fraction = tokens as f64 / budget_tokens as f64;
        let mut newly_crossed = false;
        for (threshold, fired) in self.thresholds.iter().zip(self.fired.iter_mut()) {
            let crossed = fraction >= threshold.get();
            newly_crossed |= crossed && !*fired;
            *fired = crossed;
        }
        if !newly_crossed {
            return None;
        }
        let text = callback(tokens, budget_tokens, fraction).filter(|text| !text.is_empty())?;
        Some(ContextWarning {
            text,
            tokens,
            budget_tokens,
            fraction,
        })
    }
}
