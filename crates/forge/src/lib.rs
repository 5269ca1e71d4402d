//! forge makes tool calling by self-hosted models reliable. It sits between your code and a model
//! server (llama.cpp, Ollama, vLLM, any OpenAI-compatible endpoint, Anthropic) and rescues calls
//! written as text, validates them, retries with corrective nudges, enforces required steps and
//! prerequisites, and keeps the conversation inside the context window.
//!
//! This crate gathers the public API of the forge crates. Two ways to use it:
//!
//! - **The library owns the loop**: describe a [`Workflow`] of async tools and let a
//!   [`WorkflowRunner`] drive the model to a terminal tool (below, and `examples/weather.rs`).
//! - **You own the loop**: put [`Guardrails`] between your model calls and your tool execution
//!   (`examples/foreign_loop.rs`).
//!
//! Backends are behind cargo features (all on by default): `openai`, `llamacpp`, `vllm`,
//! `ollama`, `anthropic` (see [`backends`]), and `managed` for starting a local model server.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use forge::client::ChunkStream;
//! use forge::{
//!     json_object, ApiFormat, BackendError, Completion, ContextManager, InferenceRequest,
//!     LlmClient, LlmResponse, RunRequest, TieredCompact, ToolCall, ToolDef, ToolFailure,
//!     Workflow, WorkflowRunner,
//! };
//! use serde_json::json;
//!
//! /// Arguments of `get_weather`.
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct City {
//!     /// The city to look up.
//!     city: String,
//! }
//!
//! // A stand-in for a model server: answers from a script. Use a client from
//! // `forge::backends` for a real one.
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
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let workflow = Workflow::builder("weather")
//!     .tool(ToolDef::typed("get_weather", "Current weather for a city.", |a: City| async move {
//!         Ok::<_, ToolFailure>(json!({"city": a.city, "sky": "clear", "celsius": 21}))
//!     }))
//!     .tool(forge::respond_tool())
//!     .required_steps(["get_weather"])
//!     .terminal_tool(forge::RESPOND_TOOL_NAME)
//!     .system_prompt("You are a {role}. Look the weather up, then respond.")
//!     .build()?;
//!
//! let call = |tool: &str, args| ToolCall::new(tool, json_object(args).expect("an object"));
//! let model = Scripted(Mutex::new(vec![
//!     // the model answers the respond tool too early: blocked, it is told to get the weather
//!     LlmResponse::ToolCalls(vec![call("respond", json!({"message": "Sunny!"}))]),
//!     LlmResponse::ToolCalls(vec![call("get_weather", json!({"city": "Lyon"}))]),
//!     LlmResponse::ToolCalls(vec![call("respond", json!({"message": "Clear, 21 °C in Lyon."}))]),
//! ]));
//! let context = ContextManager::new(TieredCompact::default(), 8_192);
//! let mut runner = WorkflowRunner::new(Arc::new(model), context);
//! let request = RunRequest::new("Weather in Lyon?").with_prompt_var("role", "forecaster");
//! let outcome = runner.run(&workflow, request).await?;
//! assert_eq!(outcome.output.as_text(), Some("Clear, 21 °C in Lyon."));
//! assert_eq!(outcome.iterations, 3);
//! # Ok(())
//! # }
//! ```

// Messages and the model's answers.
pub use forge_types::{
    json_object, ApiFormat, CallId, CallIdGenerator, Completion, JsonObject, LlmResponse, Message,
    MessageMeta, MessageRole, MessageType, Prerequisite, TextResponse, ToolCall, ToolCallInfo,
    ToolSpec,
};

// Workflows, tools and the runner.
pub use forge_runner::{
    respond_tool, schema_for, PromptTemplate, RunOutcome, RunRequest, SlotWorker, TemplateError,
    ToolDef, ToolFailure, ToolOutput, Workflow, WorkflowBuilder, WorkflowError, WorkflowRunner,
};

// Guardrail middleware, steps, nudges and the retry engine.
pub use forge_guardrails::{
    fold_and_serialize, respond_spec, retry_nudge, run_inference, step_nudge, CheckResult,
    ChunkSink, ErrorTracker, Executed, FnSink, Gate, Guardrails, InferenceCall, InferenceFailure,
    InferenceOptions, InferenceOutcome, InferenceResult, Nudge, NudgeKind, PrerequisiteCheck,
    Progress, ReasoningReplay, ResponseValidator, StepEnforcer, StepTracker, ToolOutcome,
    Validation, RESPOND_TOOL_NAME,
};

// Talking to model servers.
pub use forge_client::{InferenceRequest, LlmClient};
pub use forge_types::{ChunkKind, SamplingParams, StreamChunk, TokenUsage};

// Context management.
pub use forge_context::{
    default_context_warning, detect_hardware, BudgetMode, CompactEvent, CompactStrategy,
    ContextManager, ContextWarning, HardwareProfile, NoCompact, SlidingWindowCompact,
    TieredCompact,
};

// Tool-call parsing and prompt building.
pub use forge_toolparse::{build_tool_prompt, extract_tool_calls, rescue_tool_calls};

// Errors.
pub use forge_types::{BackendError, ForgeError, ToolResolutionError};

/// Protocol and domain types: messages, tools, responses, stream chunks, wire shapes, errors.
pub mod types {
    pub use forge_types::*;
}

/// The client trait, request type and HTTP plumbing shared by the backends.
pub mod client {
    pub use forge_client::*;
}

/// Token estimates, compaction strategies, threshold warnings, hardware detection and budgets.
pub mod context {
    pub use forge_context::*;
}

/// The guardrail components and the retry engine.
pub mod guardrails {
    pub use forge_guardrails::*;
}

/// Workflows, tools, the runner and the slot worker.
pub mod runner {
    pub use forge_runner::*;
}

/// Rescue and extraction of tool calls written as text, think tags, the tool prompt.
pub mod prompts {
    pub use forge_toolparse::*;
}

/// Backend clients, one per cargo feature.
///
/// Each client implements [`LlmClient`]; hand it to a
/// [`WorkflowRunner`] in an `Arc`:
///
/// ```no_run
/// # #[cfg(feature = "llamacpp")]
/// # fn main() -> Result<(), forge::ForgeError> {
/// use std::sync::Arc;
///
/// use forge::backends::llamacpp::{LlamaServerClient, LlamaServerConfig};
/// use forge::{ContextManager, TieredCompact, WorkflowRunner};
///
/// let client = LlamaServerClient::new(
///     LlamaServerConfig::new("SmolLM2-135M-Instruct.Q4_1.gguf").base_url("http://127.0.0.1:8080/v1"),
/// )?;
/// let runner = WorkflowRunner::new(Arc::new(client), ContextManager::new(TieredCompact::default(), 4_096));
/// # let _ = runner;
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "llamacpp"))]
/// # fn main() {}
/// ```
pub mod backends {
    /// Any OpenAI-compatible `/chat/completions` endpoint (feature `openai`).
    #[cfg(feature = "openai")]
    pub use forge_openai as openai;

    /// llama.cpp's llama-server and llamafile (feature `llamacpp`).
    #[cfg(feature = "llamacpp")]
    pub use forge_llamacpp as llamacpp;

    /// vLLM (feature `vllm`).
    #[cfg(feature = "vllm")]
    pub use forge_vllm as vllm;

    /// Ollama (feature `ollama`).
    #[cfg(feature = "ollama")]
    pub use forge_ollama as ollama;

    /// Anthropic's Messages API (feature `anthropic`).
    #[cfg(feature = "anthropic")]
    pub use forge_anthropic as anthropic;
}

/// Starting and supervising a local model server (feature `managed`).
#[cfg(feature = "managed")]
pub mod managed {
    pub use forge_managed::*;
}
