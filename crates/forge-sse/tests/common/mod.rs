//! Helpers shared by the integration tests: reading captures, decoding them in pieces, and
//! running an assembler to its end.

#![allow(dead_code)]

use std::path::PathBuf;

use forge_sse::{
    AnthropicStreamAssembler, NdjsonDecoder, OllamaStreamAssembler, OpenAiStreamAssembler,
    SseDecoder, SseFrame,
};
use forge_types::{BackendError, Completion, StreamChunk};
use serde_json::Value;

/// The bytes of `tests/data/<relative>`.
pub fn data(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(relative);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// SSE frames of `body`, fed to the decoder in pieces cut at `cuts` (ascending offsets).
pub fn sse_frames_split(body: &[u8], cuts: &[usize]) -> Vec<SseFrame> {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        frames.extend(decoder.push(&body[start..cut]));
        start = cut;
    }
    frames.extend(decoder.push(&body[start..]));
    frames.extend(decoder.finish());
    frames
}

/// NDJSON values of `body`, fed in pieces cut at `cuts`.
pub fn ndjson_split(body: &[u8], cuts: &[usize]) -> Vec<Result<Value, BackendError>> {
    let mut decoder = NdjsonDecoder::new();
    let mut values = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        values.extend(decoder.push(&body[start..cut]));
        start = cut;
    }
    values.extend(decoder.push(&body[start..]));
    values.extend(decoder.finish());
    values
}

/// What running an assembler over a whole stream produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The deltas, in order.
    pub chunks: Vec<StreamChunk>,
    /// The final response, or the error that ended the stream.
    pub outcome: Result<Completion, BackendError>,
}

impl Run {
    /// The text deltas joined.
    pub fn streamed_text(&self) -> String {
        self.chunks
            .iter()
            .filter_map(|chunk| match chunk {
                StreamChunk::TextDelta { content } => Some(content.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Runs the OpenAI assembler over `frames` the way a client does: stop at the first error.
pub fn run_openai(frames: &[SseFrame], assembler: OpenAiStreamAssembler) -> Run {
    let mut assembler = assembler;
    let mut chunks = Vec::new();
    for frame in frames {
        match assembler.push(frame) {
            Ok(more) => chunks.extend(more),
            Err(err) => {
                return Run {
                    chunks,
                    outcome: Err(err),
                }
            }
        }
    }
    Run {
        chunks,
        outcome: assembler.finish(),
    }
}

/// Runs the Anthropic assembler over `frames`, stopping at the first error.
pub fn run_anthropic(frames: &[SseFrame], assembler: AnthropicStreamAssembler) -> Run {
    let mut assembler = assembler;
    let mut chunks = Vec::new();
    for frame in frames {
        match assembler.push(frame) {
            Ok(more) => chunks.extend(more),
            Err(err) => {
                return Run {
                    chunks,
                    outcome: Err(err),
                }
            }
        }
    }
    Run {
        chunks,
        outcome: assembler.finish(),
    }
}

/// Runs the Ollama assembler over decoded lines, stopping at the first error (a decoding error
/// included).
pub fn run_ollama(
    lines: Vec<Result<Value, BackendError>>,
    assembler: OllamaStreamAssembler,
) -> Run {
    let mut assembler = assembler;
    let mut chunks = Vec::new();
    for line in lines {
        match line.and_then(|line| assembler.push(&line)) {
            Ok(more) => chunks.extend(more),
            Err(err) => {
                return Run {
                    chunks,
                    outcome: Err(err),
                }
            }
        }
    }
    Run {
        chunks,
        outcome: assembler.finish(),
    }
}
