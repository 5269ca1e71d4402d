//! Context management for forge: keeping a conversation inside the model's context window.
//!
//! - [`estimate_tokens`] and [`find_eligible_end`]: the character heuristic and the iteration
//!   boundaries every strategy works with.
//! - [`CompactStrategy`] and the built-in strategies [`NoCompact`], [`SlidingWindowCompact`]
//!   and [`TieredCompact`]: pure, deterministic rewrites of a history that never mutate their
//!   input and never leave an assistant tool call without its reply.
//! - [`ContextManager`]: holds the budget and the last backend-reported usage, runs the
//!   strategy (emitting a [`CompactEvent`] only when the history changed), and produces
//!   one-shot [`ContextWarning`]s ([`default_context_warning`]) as usage crosses thresholds.
//! - [`hardware`]: GPU detection, and [`BudgetMode`] with the budget arithmetic
//!   ([`vram_tier_budget`], [`forge_fast_budget`], [`manual_budget`], …).
//!
//! Only [`hardware`] does I/O.
//!
//! ```
//! use forge_context::{ContextManager, TieredCompact};
//! use forge_types::{CallId, Message, MessageType, ToolCallInfo};
//!
//! let mut history = vec![
//!     Message::system("You are a careful assistant.", MessageType::SystemPrompt.meta()),
//!     Message::user("Summarize the logs.", MessageType::UserInput.meta()),
//! ];
//! for step in 0..4 {
//!     let id = CallId::from_counter(u64::from(step));
//!     let call = ToolCallInfo::new("read_log", Default::default(), id.clone());
//!     history.push(Message::tool_calls(vec![call], MessageType::ToolCall.at_step(step)));
//!     history.push(Message::tool_result(
//!         "read_log",
//!         id,
//!         "log line\n".repeat(100),
//!         MessageType::ToolResult.at_step(step),
//!     ));
//! }
//!
//! let mut manager = ContextManager::new(TieredCompact::default(), 1_000)
//!     .with_default_context_warnings(&[0.5, 0.8])
//!     .expect("valid thresholds");
//! let (compacted, event) = manager.maybe_compact(&history, 4, "");
//! let event = event.expect("911 estimated tokens are over 75 % of 1000");
//! assert_eq!(event.phase_reached, 1);
//! assert_eq!(event.changes.truncated, 2); // the two oldest results; two iterations stay intact
//! assert!(compacted[3].content.ends_with("[Truncated — 700 chars removed]"));
//! assert_eq!(compacted[3].tool_call_id, history[3].tool_call_id);
//!
//! let warning = manager.check_thresholds(&compacted).expect("still over 50 %");
//! assert!(warning.text.starts_with("[Context usage: 58% (577 / 1,000 tokens)."));
//! ```

mod boundaries;
mod budget;
mod estimate;
pub mod hardware;
mod manager;
mod rewrite;
mod sliding;
mod strategy;
mod tiered;
mod warning;

pub use boundaries::find_eligible_end;
pub use budget::{
    forge_fast_budget, launch_context_override, manual_budget, ollama_budget, total_server_context,
    vram_tier_budget, BudgetMode, LARGE_TIER_TOKENS, MEDIUM_TIER_TOKENS, SMALL_TIER_TOKENS,
};
pub use estimate::estimate_tokens;
pub use hardware::{detect_hardware, HardwareProfile};
pub use manager::{
    CompactCallback, CompactEvent, ContextManager, ContextWarning, ThresholdCallback,
};
pub use rewrite::TRUNCATE_CHARS;
pub use sliding::{NoCompact, SlidingWindowCompact};
pub use strategy::{BudgetFraction, CompactStrategy, Compaction, CompactionChanges};
pub use tiered::TieredCompact;
pub use warning::default_context_warning;
