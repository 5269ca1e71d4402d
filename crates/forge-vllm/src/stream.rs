//! The streaming path: SSE frames → [`OpenAiStreamAssembler`] → deltas and one final response.

use forge_client::ChunkStream;
use forge_sse::{sse_frames, OpenAiStreamAssembler, SseFrame};
use forge_types::{BackendError, StreamChunk};
use futures_util::{stream, Stream, StreamExt};

use forge_client::finish_with_think_policy as finish;

/// Turns a 2xx streaming body into the client's chunk stream.
///
/// Deltas are forwarded as they arrive (reasoning deltas only while `think` is on). The stream
/// ends with exactly one `Final` — at `data: [DONE]`, or at the end of a body whose choice
/// reported a finish reason — or with exactly one error: a broken connection, an in-stream error
/// frame, a payload that is not a chunk, or a body cut before the answer was complete.
pub(crate) fn open_stream<S, B>(body: S, think: bool) -> ChunkStream
where
    S: Stream<Item = Result<B, BackendError>> + Send + Unpin + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    let state = Some((sse_frames(body), OpenAiStreamAssembler::new()));
    stream::unfold(state, move |state| async move {
        let (mut frames, mut assembler) = state?;
        loop {
            let frame = match frames.next().await {
                Some(Ok(frame)) => frame,
                Some(Err(err)) => return Some((vec![Err(err)], None)),
                None => return Some((vec![final_chunk(assembler, think)], None)),
            };
            let is_done = matches!(frame, SseFrame::Done);
            let chunks = match assembler.push(&frame) {
                Ok(chunks) => chunks,
                Err(err) => return Some((vec![Err(err)], None)),
            };
            if is_done {
                return Some((vec![final_chunk(assembler, think)], None));
            }
            let chunks: Vec<_> = chunks
                .into_iter()
                .filter(|chunk| think || !matches!(chunk, StreamChunk::ReasoningDelta { .. }))
                .map(Ok)
                .collect();
            if !chunks.is_empty() {
                return Some((chunks, Some((frames, assembler))));
            }
        }
    })
    .flat_map(stream::iter)
    .boxed()
}

fn final_chunk(assembler: OpenAiStreamAssembler, think: bool) -> Result<StreamChunk, BackendError> {
    assembler
        .finish_raw()
        .map(|assembled| StreamChunk::Final(finish(assembled, think)))
}
