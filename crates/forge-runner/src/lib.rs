//! The forge workflow runner: the library owns the agentic loop.
//!
//! - [`Workflow`]: ordered tools, required steps, terminal tool(s), per-tool prerequisites and a
//!   system prompt template ([`PromptTemplate`]), validated when built.
//! - [`ToolDef`]: a tool's spec and its async implementation — typed (the JSON Schema derived
//!   from an argument struct with `schemars`, the arguments deserialized into it) or raw (a JSON
//!   Schema and the argument object). Tools return a [`ToolOutput`] or a [`ToolFailure`].
//! - [`WorkflowRunner`]: drives a workflow to a terminal tool through the retry engine of
//!   `forge-guardrails`, with step enforcement, tool-error budgets, streaming, `on_message`
//!   observation, multi-turn seeding and cancellation.
//! - [`SlotWorker`]: serializes runs over one inference slot by priority, with cooperative
//!   preemption.
//!
//! The runner talks to models only through [`forge_client::LlmClient`]; it never names a backend.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use forge_client::{ChunkStream, InferenceRequest, LlmClient};
//! use forge_context::{ContextManager, NoCompact};
//! use forge_runner::{RunRequest, ToolDef, ToolFailure, Workflow, WorkflowRunner};
//! use forge_types::{json_object, ApiFormat, BackendError, Completion, LlmResponse, ToolCall};
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use serde_json::json;
//!
//! /// A stand-in model that answers from a script.
//! #[derive(Debug)]
//! struct Scripted(Mutex<Vec<LlmResponse>>);
//!
//! #[async_trait::async_trait]
//! impl LlmClient for Scripted {
//!     fn api_format(&self) -> ApiFormat { ApiFormat::OpenAi }
//!     fn backend_name(&self) -> &'static str { "scripted" }
//!     async fn send(&self, _: &InferenceRequest) -> Result<Completion, BackendError> {
//!         Ok(Completion::new(self.0.lock().expect("not poisoned").remove(0)))
//!     }
//!     async fn send_stream(&self, _: &InferenceRequest) -> Result<ChunkStream, BackendError> {
//!         Err(BackendError::InvalidRequest { problem: "this example does not stream".into() })
//!     }
//!     async fn context_length(&self) -> Result<Option<u64>, BackendError> { Ok(None) }
//! }
//!
//! /// Arguments of `get_weather`.
//! #[derive(Deserialize, JsonSchema)]
//! struct City {
//!     /// The city.
//!     city: String,
//! }
//!
//! /// Arguments of `respond`.
//! #[derive(Deserialize, JsonSchema)]
//! struct Reply {
//!     /// The message to send to the user.
//!     message: String,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let workflow = Workflow::builder("weather")
//!     .tool(ToolDef::typed("get_weather", "Current weather.", |a: City| async move {
//!         Ok::<_, ToolFailure>(json!({"city": a.city, "sky": "clear"}))
//!     }))
//!     .tool(ToolDef::typed("respond", "Answer the user.", |a: Reply| async move {
//!         Ok::<_, ToolFailure>(a.message)
//!     }))
//!     .required_steps(["get_weather"])
//!     .terminal_tool("respond")
//!     .system_prompt("You are a {role}.")
//!     .build()?;
//!
//! let call = |tool: &str, args| ToolCall::new(tool, json_object(args).expect("an object"));
//! let model = Scripted(Mutex::new(vec![
//!     LlmResponse::text("Let me check."), // prose: retried with a nudge
//!     LlmResponse::ToolCalls(vec![call("get_weather", json!({"city": "Oslo"}))]),
//!     LlmResponse::ToolCalls(vec![call("respond", json!({"message": "Clear skies in Oslo."}))]),
//! ]));
//! let mut runner = WorkflowRunner::new(Arc::new(model), ContextManager::new(NoCompact, 8_192));
//! let outcome = runner
//!     .run(&workflow, RunRequest::new("Weather in Oslo?").with_prompt_var("role", "forecaster"))
//!     .await?;
//! assert_eq!(outcome.output.as_text(), Some("Clear skies in Oslo."));
//! assert_eq!(outcome.iterations, 3);
//! # Ok(())
//! # }
//! ```

mod respond;
mod runner;
mod slot_worker;
mod template;
mod tool;
mod workflow;

pub use respond::respond_tool;
pub use runner::{MessageCallback, RunOutcome, RunRequest, WorkflowRunner, DEFAULT_MAX_ITERATIONS};
pub use slot_worker::SlotWorker;
pub use template::{PromptTemplate, TemplateError};
pub use tool::{schema_for, ToolDef, ToolFailure, ToolFn, ToolFuture, ToolOutput};
pub use workflow::{Workflow, WorkflowBuilder, WorkflowError};
