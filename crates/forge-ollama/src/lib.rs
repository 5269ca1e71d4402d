//! forge backend for [Ollama](https://ollama.com)'s native `/api/chat` endpoint.
//!
//! - Messages are normalized for the native endpoint: list or `null` content flattened to text,
//!   JSON-string tool-call arguments turned into objects (when they decode to one).
//! - Sampling and the context size travel in `options` (`num_ctx` from
//!   [`OllamaClient::set_num_ctx`]); OpenAI pass-through fields are translated (`max_tokens` →
//!   `num_predict`, `stop` → `options.stop`, `response_format` → `format`).
//! - `think` is negotiated ([`ThinkMode`]): auto mode falls back once when the model rejects it.
//! - Streaming reads NDJSON lines; every tool call of every line is kept; an error line, a cut
//!   body or a missing `done` line ends the stream with an error, never silently.
//! - Arguments follow forge's one policy: malformed or non-object arguments send the whole
//!   response to the retry path as text. A non-2xx status (500 included) is a
//!   [`BackendError`](forge_types::BackendError), never content.
//!
//! ```
//! use forge_client::LlmClient;
//! use forge_ollama::{OllamaClient, OllamaConfig, ThinkMode};
//! use forge_types::ApiFormat;
//!
//! let client = OllamaClient::new(OllamaConfig::new("qwen3:8b-q4_K_M").think(ThinkMode::Off))
//!     .expect("a valid configuration");
//! client.set_num_ctx(Some(8192));
//! assert_eq!(client.api_format(), ApiFormat::Ollama);
//! assert_eq!(client.num_ctx(), Some(8192));
//! ```

mod body;
mod client;
mod messages;
mod response;
mod stream;
mod think;

pub use client::{OllamaClient, OllamaConfig, DEFAULT_BASE_URL};
pub use think::ThinkMode;
