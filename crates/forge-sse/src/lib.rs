//! Stream assembly for forge: decoding streamed model responses and writing the streams the proxy
//! sends.
//!
//! - [`SseDecoder`] and [`NdjsonDecoder`] turn body bytes into events or JSON lines, incrementally
//!   and independently of how the bytes were chunked; [`sse_frames`] / [`ndjson_values`] do the
//!   same over a `futures` byte stream.
//! - [`in_stream_error`] recognises errors a server reports after the stream started.
//! - Assemblers ([`OpenAiStreamAssembler`], …) turn a provider's stream events into
//!   [`StreamChunk`](forge_types::StreamChunk)s and exactly one final
//!   [`Completion`](forge_types::Completion); tool-call arguments are decoded once, at the end,
//!   by the one policy in `forge_toolparse`.
//! - [`OpenAiChunkEncoder`] and [`AnthropicEventEncoder`] write the streams the proxy sends,
//!   byte for byte the sequences of the spec (ids and timestamps are inputs).
//!
//! Everything here is pure and synchronous: no I/O, no runtime.
//!
//! ```
//! use forge_sse::{SseDecoder, SseFrame};
//!
//! let mut decoder = SseDecoder::new();
//! let frames = decoder.push(b"data: {\"choices\":[]}\r\n\r\ndata: [DONE]\r\n\r\n");
//! assert_eq!(frames.len(), 2);
//! assert_eq!(frames[1], SseFrame::Done);
//! ```

mod assemble;
mod encode;
mod lines;
mod ndjson;
mod sse;
mod stream;

pub use assemble::{
    AnthropicStreamAssembler, AssembledResponse, OllamaStreamAssembler, OpenAiStreamAssembler,
    RawToolCall, ReasoningFallback,
};
pub use encode::{AnthropicEventEncoder, OpenAiChunkEncoder};
pub use ndjson::NdjsonDecoder;
pub use sse::{error_from_payload, in_stream_error, SseDecoder, SseEvent, SseFrame};
pub use stream::{ndjson_values, sse_frames, Decoded, IncrementalDecoder};
