//! Serde shapes of the protocols forge speaks: OpenAI chat completions, Anthropic Messages and
//! Ollama `/api/chat`.
//!
//! Plain data, no I/O. Input tolerates fields it does not know (serde's default), so a provider
//! adding a field never breaks a client. Output is deterministic: fields serialize in struct
//! order and optional fields are left out when unset, except where the protocol wants an
//! explicit `null` (documented on the field).
//!
//! ```
//! use forge_types::wire::openai::ChatCompletionChunk;
//!
//! let line = r#"{"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"object":"chat.completion.chunk"}"#;
//! let chunk: ChatCompletionChunk = serde_json::from_str(line).expect("a chunk");
//! assert_eq!(chunk.choices[0].delta.content.as_deref(), Some("Hi"));
//! ```

pub mod anthropic;
pub mod ollama;
pub mod openai;
