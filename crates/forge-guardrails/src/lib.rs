//! The guardrail and retry engine of forge.
//!
//! Small models make tool-calling mistakes: they answer in prose, write the call as text, invent
//! tool names, call the final tool before doing the work, or skip a prerequisite. This crate
//! decides what to do about each of these, and feeds the model a correction on the channel it
//! understands best:
//!
//! - `ResponseValidator` turns a response into a usable batch (rescuing calls written as text)
//!   or a retry [`Nudge`];
//! - [`StepEnforcer`] (over a [`StepTracker`]) blocks premature terminal calls and calls whose
//!   prerequisites are unmet, with escalating nudges;
//! - [`ErrorTracker`] holds the retry and tool-error budgets;
//! - `Guardrails` bundles the three for callers that own their loop;
//! - the retry engine (`run_inference`, shared by the runner and the proxy) drives one model call
//!   through compaction, serialization, sending or streaming, validation and corrective retries.
//!
//! Everything but the engine is pure and synchronous.
//!
//! # Step enforcement
//!
//! ```
//! use forge_guardrails::{Gate, StepEnforcer};
//! use forge_types::{JsonObject, ToolCall};
//!
//! let mut enforcer = StepEnforcer::new(vec!["search".into()], ["answer"]);
//! let answer = vec![ToolCall::new("answer", JsonObject::new())];
//! match enforcer.gate(&answer) {
//!     Gate::Blocked(nudge) => assert_eq!(
//!         nudge.wire_content(),
//!         "[StepEnforcementError] You cannot call answer yet. You must first complete these \
//!          required steps: search. Call one of them now."
//!     ),
//!     other => panic!("{other:?}"),
//! }
//! enforcer.record("search", JsonObject::new());
//! assert!(matches!(enforcer.gate(&answer), Gate::Proceed));
//! ```

mod enforcer;
mod error_tracker;
mod nudge;
mod respond;
mod steps;

pub use enforcer::{
    Gate, StepEnforcer, DEFAULT_MAX_PREMATURE_ATTEMPTS, DEFAULT_MAX_PREREQ_VIOLATIONS,
};
pub use error_tracker::{ErrorTracker, DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOOL_ERRORS};
pub use nudge::{
    prerequisite_nudge, retry_nudge, step_nudge, unknown_tool_nudge, Nudge, NudgeKind,
    RETRY_NUDGE_TEXT,
};
pub use respond::{
    partition_respond_calls, respond_message, respond_spec, RESPOND_DESCRIPTION, RESPOND_TOOL_NAME,
};
pub use steps::{PrerequisiteCheck, StepTracker};
