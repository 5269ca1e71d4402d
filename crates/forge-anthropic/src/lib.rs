//! forge backend for the [Anthropic Messages API](https://docs.anthropic.com/en/api/messages),
//! spoken directly over HTTP with forge's own wire types (no SDK).
//!
//! - **Verbatim path**: when the request carries the caller's Anthropic body (the proxy's clean
//!   first attempt), it is forwarded as is — `cache_control`, `metadata`, system blocks and
//!   thinking survive — with only `stream` (and a pinned `model`) set by forge.
//! - **Rebuilt path**: forge's OpenAI-shaped conversation is converted (system prompt, `tool_use`
//!   and `tool_result` blocks, strict alternation); OpenAI-shaped pass-through fields are
//!   translated (`stop` → `stop_sequences`, `tool_choice` forms).
//! - The model is the pinned one, else the request's own — never a placeholder.
//! - Streaming reads SSE events; an `error` event is a backend error with the event's own type
//!   and message; malformed tool input goes to the retry path like everywhere else.
//! - Usage (including cache counters) comes back with each response.
//!
//! ```
//! use forge_anthropic::{AnthropicClient, AnthropicConfig};
//! use forge_client::LlmClient;
//! use forge_types::ApiFormat;
//!
//! let client = AnthropicClient::new(AnthropicConfig::new("sk-ant-test").model("claude-sonnet-4-6"))
//!     .expect("a valid configuration");
//! assert_eq!(client.api_format(), ApiFormat::OpenAi);
//! assert_eq!(client.pinned_model(), Some("claude-sonnet-4-6"));
//! ```

mod body;
mod client;
mod convert;
mod response;
mod stream;

pub use client::{
    AnthropicClient, AnthropicConfig, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DEFAULT_MAX_TOKENS,
};
