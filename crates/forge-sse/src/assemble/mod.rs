//! Assemblers: provider stream events in, [`StreamChunk`](forge_types::StreamChunk)s and one
//! final [`Completion`] out.
//!
//! Every assembler follows the same contract: `push` each decoded event and forward the chunks it
//! returns; call `finish` when the body ends to get the one final [`Completion`]. An error
//! reported inside the stream, a payload that is not the protocol's shape, and a stream that ends
//! before its terminator are [`BackendError`](forge_types::BackendError)s, never content.
//! Arguments are decoded once, in `finish`, by [`forge_toolparse::decode_arguments`].

mod anthropic;
mod ollama;
mod openai;
mod response;

pub use anthropic::AnthropicStreamAssembler;
pub use ollama::OllamaStreamAssembler;
pub use openai::OpenAiStreamAssembler;
pub use response::{AssembledResponse, RawToolCall, ReasoningFallback};
