//! The guardrail and retry engine of forge.
//!
//! Small models make tool-calling mistakes: they answer in prose, write the call as text, invent
//! tool names, call the final tool before doing the work, or skip a prerequisite. This crate
//! decides what to do about each of these, and feeds the model a correction on the channel it
//! understands best:
//!
//! - [`ResponseValidator`] turns a response into a usable batch (rescuing calls written as text)
//!   or a retry [`Nudge`];
//! - [`StepEnforcer`] (over a [`StepTracker`]) blocks premature terminal calls and calls whose
//!   prerequisites are unmet, with escalating nudges;
//! - [`ErrorTracker`] holds the retry and tool-error budgets;
//! - [`Guardrails`] bundles the three for callers that own their loop;
//! - the retry engine ([`run_inference`], shared by the runner and the proxy) drives one model
//!   call through compaction, serialization, sending or streaming, validation and corrective
//!   retries.
//!
//! Everything but the engine is pure and synchronous. The engine talks to backends only through
//! the [`forge_client::LlmClient`] trait, never a concrete backend, and never parses wire formats.
//!
//! # Guardrails in a caller-owned loop
//!
//! ```
//! use forge_guardrails::{CheckResult, Executed, Guardrails, Progress};
//! use forge_types::{
//!     json_object, CallIdGenerator, LlmResponse, Message, MessageType, ToolCall, ToolCallInfo,
//!     ToolSpec,
//! };
//! use serde_json::json;
//!
//! let tool = |name: &str| ToolSpec::new(name, "", json!({"type": "object", "properties": {}}));
//! let call = |name: &str| ToolCall::new(name, json_object(json!({})).expect("an object"));
//! let mut guardrails = Guardrails::new(vec![tool("search"), tool("answer")], ["answer"])
//!     .with_required_steps(vec!["search".into()]);
//!
//! // What a model might answer, turn by turn.
//! let mut model = vec![
//!     LlmResponse::text("The answer is 42."),
//!     LlmResponse::ToolCalls(vec![call("answer")]),
//!     LlmResponse::ToolCalls(vec![call("search")]),
//!     LlmResponse::ToolCalls(vec![call("answer")]),
//! ]
//! .into_iter();
//!
//! let ids = CallIdGenerator::new();
//! let mut history: Vec<Message> = Vec::new();
//! let mut record_calls = |history: &mut Vec<Message>, calls: &[ToolCall]| {
//!     let infos: Vec<ToolCallInfo> = calls
//!         .iter()
//!         .map(|c| ToolCallInfo::new(c.tool.clone(), c.args.clone(), ids.next_id()))
//!         .collect();
//!     history.push(Message::tool_calls(infos.clone(), MessageType::ToolCall.meta()));
//!     infos
//! };
//! let outcome = loop {
//!     let response = model.next().expect("the script ends with a finished workflow");
//!     match guardrails.check(&response) {
//!         CheckResult::Execute(calls) => {
//!             let infos = record_calls(&mut history, &calls);
//!             for info in &infos {
//!                 let result = format!("{}_result", info.name);
//!                 let meta = MessageType::ToolResult.meta();
//!                 history.push(Message::tool_result(&info.name, info.call_id.clone(), result, meta));
//!             }
//!             let executed: Vec<Executed> =
//!                 calls.into_iter().map(|c| Executed::succeeded(c.tool, c.args)).collect();
//!             match guardrails.record(&executed) {
//!                 Progress::Done => break Ok(()),
//!                 Progress::Continue => {}
//!                 Progress::Fatal(reason) => break Err(reason),
//!             }
//!         }
//!         CheckResult::Retry(nudge) | CheckResult::StepBlocked(nudge) => {
//!             // Keep what the model said, then answer it with the nudge.
//!             let infos = match &response {
//!                 LlmResponse::ToolCalls(calls) => record_calls(&mut history, calls),
//!                 LlmResponse::Text(text) => {
//!                     let meta = MessageType::TextResponse.meta();
//!                     history.push(Message::assistant(&text.content, meta));
//!                     Vec::new()
//!                 }
//!             };
//!             history.extend(nudge.delivery(&infos, None));
//!         }
//!         CheckResult::Fatal(reason) => break Err(reason),
//!     }
//! };
//! assert_eq!(outcome, Ok(()));
//! let kinds: Vec<&str> = history.iter().map(|m| m.metadata.kind().as_str()).collect();
//! assert_eq!(
//!     kinds,
//!     [
//!         "text_response", "retry_nudge", // prose: a user-channel retry
//!         "tool_call", "step_nudge",      // premature answer: a tool-channel reply per call
//!         "tool_call", "tool_result",     // search runs
//!         "tool_call", "tool_result",     // answer runs: done
//!     ]
//! );
//! assert!(history[3].content.starts_with("[StepEnforcementError] You cannot call answer yet."));
//! ```

mod constraint;
mod enforcer;
mod engine;
mod error_tracker;
mod facade;
mod fold;
mod nudge;
mod respond;
mod sink;
mod steps;
mod validator;

pub use constraint::ConstraintPolicy;
pub use enforcer::{
    Gate, StepEnforcer, DEFAULT_MAX_PREMATURE_ATTEMPTS, DEFAULT_MAX_PREREQ_VIOLATIONS,
};
pub use engine::{
    run_inference, AttemptLog, InferenceCall, InferenceFailure, InferenceOptions, InferenceOutcome,
    InferenceResult, RawInbound,
};
pub use error_tracker::{ErrorTracker, DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOOL_ERRORS};
pub use facade::{
    CheckResult, Executed, Guardrails, Progress, ToolOutcome, FATAL_BAD_RESPONSES,
    FATAL_PREREQUISITES, FATAL_SKIPPED_STEPS, FATAL_TOOL_ERRORS,
};
pub use fold::{fold_and_serialize, strip_raw_reasoning, ReasoningReplay};
pub use nudge::{
    invalid_arguments_nudge, prerequisite_nudge, retry_nudge, step_nudge, unknown_tool_nudge,
    Nudge, NudgeKind, RETRY_NUDGE_TEXT,
};
pub use respond::{
    partition_respond_calls, respond_message, respond_spec, RESPOND_DESCRIPTION,
    RESPOND_MESSAGE_FIELD, RESPOND_TOOL_NAME,
};
pub use sink::{ChunkSink, FnSink, SinkClosed};
pub use steps::{PrerequisiteCheck, StepTracker};
pub use validator::{ResponseValidator, RetryNudgeFn, Validation, DEFAULT_ARGUMENT_VALIDATION};
