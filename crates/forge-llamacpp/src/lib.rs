//! forge's client for llama.cpp's `llama-server` and for `llamafile`, with native or
//! prompt-injected tool calling.
//!
//! ```
//! use forge_client::LlmClient;
//! use forge_llamacpp::{LlamaServerClient, LlamaServerConfig, ToolMode};
//!
//! let config = LlamaServerConfig::new("/models/Qwen3-8B-Q4_K_M-00001-of-00002.gguf")
//!     .base_url("http://127.0.0.1:8080/v1")
//!     .mode(ToolMode::Prompt)
//!     .slot(0);
//! let client = LlamaServerClient::new(config).expect("valid configuration");
//! assert_eq!(client.model(), "Qwen3-8B-Q4_K_M");
//! assert_eq!(client.props_url(), "http://127.0.0.1:8080/props");
//! assert_eq!(client.backend_name(), "llamaserver");
//! ```
//!
//! # Behaviour
//!
//! - **Native mode** sends tools in the `tools` field (the caller's verbatim tools on a clean
//!   first attempt) and reads `tool_calls` back; the server must run with `--jinja`.
//! - **Prompt mode** sends no `tools`: the tool descriptions go before the first message
//!   ([`forge_toolparse::build_tool_prompt`]), history tool calls become JSON lines and tool
//!   results user messages, and calls are parsed out of the reply
//!   ([`forge_toolparse::extract_tool_calls`]) after think blocks are split off.
//! - Both modes merge same-role neighbours, since strict chat templates reject them.
//! - Body: pass-through fields first, then `messages`, `stream` (always written),
//!   `stream_options.include_usage` when streaming, `cache_prompt`, `model` (a pass-through
//!   `model` wins), the slot field (`id_slot` for llama-server, `slot_id` for llamafile), and
//!   sampling (per-call value, else the instance's; unset fields are not written).
//! - Reasoning: `reasoning_content`, else inline `<think>`/`[THINK]` blocks, else (native tool
//!   calls only) the text next to the call; `think = false` discards all of it. Text responses
//!   have think blocks removed, streamed or not.
//! - Arguments are decoded once ([`forge_toolparse::decode_arguments`]); malformed or non-object
//!   arguments in any call send the whole response to the retry path as text.
//! - An HTTP 500 whose body still holds the model's rejected generation ("Failed to parse input
//!   at pos N: …", or generated `<tool_call`/`<function=` markup) comes back as that text so the
//!   engine's rescue and retry run; every other non-2xx status is a typed error.
//! - Context length: `GET {root}/props` → `default_generation_settings.n_ctx`.

mod body;
mod client;
mod identity;
mod messages;
mod rejected_generation;

pub use client::{LlamaServerClient, LlamaServerConfig, ServerFlavor, ToolMode};
pub use identity::model_name_from_path;
pub use messages::{downgrade_for_prompt, inject_tool_prompt, merge_consecutive};
pub use rejected_generation::rejected_generation;
