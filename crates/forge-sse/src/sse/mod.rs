//! Server-sent events: the incremental decoder and in-stream error detection.

mod decoder;
mod error;

pub use decoder::{SseDecoder, SseEvent, SseFrame};
pub(crate) use error::error_from_member;
pub use error::{error_from_payload, in_stream_error};
