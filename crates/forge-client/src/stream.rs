//! Turning an OpenAI-shaped SSE response into the [`ChunkStream`] a client returns.

use std::collections::VecDeque;

use forge_sse::{AssembledResponse, OpenAiStreamAssembler, SseFrame};
use forge_types::{BackendError, Completion, StreamChunk};
use futures_util::stream::{self, BoxStream, StreamExt};

use crate::openai_shape::{RawCall, ResponseParts};
use crate::ChunkStream;

/// Decoded SSE frames of one response body.
pub type FrameStream = BoxStream<'static, Result<SseFrame, BackendError>>;

/// What a stream's deltas include besides text and tool-call fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningDeltas {
    /// Forward reasoning pieces as [`StreamChunk::ReasoningDelta`].
    Forward,
    /// Drop them (the client discards reasoning).
    Drop,
}

impl From<AssembledResponse> for ResponseParts {
    fn from(assembled: AssembledResponse) -> Self {
        Self {
            content: assembled.content,
            reasoning: assembled.reasoning,
            tool_calls: assembled
                .tool_calls
                .into_iter()
                .map(|call| RawCall {
                    name: call.name,
                    arguments: call.arguments,
                })
                .collect(),
            usage: assembled.usage,
        }
    }
}

struct State<F> {
    frames: FrameStream,
    assembler: Option<OpenAiStreamAssembler>,
    finalize: Option<F>,
    pending: VecDeque<StreamChunk>,
    reasoning: ReasoningDeltas,
}

/// Runs `frames` through [`OpenAiStreamAssembler`]: deltas as they arrive, then exactly one
/// [`StreamChunk::Final`] built by `finalize` from the assembled parts, or one error item
/// (an error frame, a broken payload, a transport failure, or a body that ended before
/// `[DONE]`/a finish reason). Nothing follows the final item. Reading stops at `[DONE]`.
pub fn openai_chunk_stream<F>(
    frames: FrameStream,
    reasoning: ReasoningDeltas,
    finalize: F,
) -> ChunkStream
where
    F: FnOnce(ResponseParts) -> Result<Completion, BackendError> + Send + 'static,
{
    let state = State {
        frames,
        assembler: Some(OpenAiStreamAssembler::new()),
        finalize: Some(finalize),
        pending: VecDeque::new(),
        reasoning,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(chunk) = state.pending.pop_front() {
                return Some((Ok(chunk), state));
            }
            let assembler = state.assembler.as_mut()?;
            let frame = state.frames.next().await;
            let at_end = matches!(frame, None | Some(Ok(SseFrame::Done)));
            match frame {
                Some(Err(err)) => return fail(state, err),
                Some(Ok(frame)) => match assembler.push(&frame) {
                    Ok(chunks) => state.pending.extend(chunks.into_iter().filter(|chunk| {
                        state.reasoning == ReasoningDeltas::Forward
                            || !matches!(chunk, StreamChunk::ReasoningDelta { .. })
                    })),
                    Err(err) => return fail(state, err),
                },
                None => {}
            }
            if at_end {
                let assembler = state.assembler.take()?;
                let finalize = state.finalize.take()?;
                let outcome = assembler
                    .finish_raw()
                    .and_then(|assembled| finalize(assembled.into()));
                return match outcome {
                    Ok(completion) => Some((Ok(StreamChunk::Final(completion)), state)),
                    Err(err) => Some((Err(err), state)),
                };
            }
        }
    })
    .boxed()
}

fn fail<F>(
    mut state: State<F>,
    err: BackendError,
) -> Option<(Result<StreamChunk, BackendError>, State<F>)> {
    tracing::warn!(error = %err, "stream ended with an error");
    state.assembler = None;
    state.pending.clear();
    Some((Err(err), state))
}
