//! forge backend for [vLLM](https://docs.vllm.ai)'s OpenAI-compatible server.
//!
//! vLLM parses tool calls and reasoning on the server (`--enable-auto-tool-choice
//! --tool-call-parser …`, `--reasoning-parser …`), so this client is native-only: it sends
//! `tools`, reads `tool_calls` and the `reasoning` field, and decodes arguments with forge's one
//! policy (malformed or non-object arguments send the whole response to the retry path).
//!
//! - Identity: a pinned model is sent verbatim as `model`; without one the first served name in
//!   `GET /v1/models` is adopted on first use ([`VllmClient::identity`]).
//! - Context length: `max_model_len` of the model's own catalog row.
//! - The caller's pass-through fields (`max_tokens`, `stop`, `tool_choice`, …) and raw OpenAI
//!   tools reach vLLM; forge owns `model`, `messages`, `stream` and `tools`.
//!
//! ```
//! use forge_client::LlmClient;
//! use forge_types::ApiFormat;
//! use forge_vllm::{VllmClient, VllmConfig};
//!
//! let client = VllmClient::new(
//!     VllmConfig::new("http://127.0.0.1:8000/v1").model("/models/gemma-4-26B-A4B-it-AWQ-4bit"),
//! )
//! .expect("a valid configuration");
//! assert_eq!(client.api_format(), ApiFormat::OpenAi);
//! assert!(client.is_pinned());
//! ```

mod body;
mod catalog;
mod client;
mod identity;
mod response;
mod stream;

pub use client::{VllmClient, VllmConfig, DEFAULT_BASE_URL};
pub use identity::ModelIdentity;
