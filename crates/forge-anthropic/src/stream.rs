//! The streaming path: SSE events → [`AnthropicStreamAssembler`] → deltas and one final response.

use forge_client::ChunkStream;
use forge_sse::{sse_frames, AnthropicStreamAssembler, SseFrame};
use forge_types::{BackendError, StreamChunk};
use futures_util::{stream, Stream, StreamExt};
use serde_json::Value;

/// Turns a 2xx streaming body into the client's chunk stream.
///
/// Deltas are forwarded as they arrive. The stream ends with exactly one `Final` at
/// `message_stop`, or with exactly one error: a broken connection, an `error` event (its own
/// type and message), an event that is not the protocol's shape, or a body cut before
/// `message_stop`.
pub(crate) fn open_stream<S, B>(body: S) -> ChunkStream
where
    S: Stream<Item = Result<B, BackendError>> + Send + Unpin + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    let state = Some((sse_frames(body), AnthropicStreamAssembler::new()));
    stream::unfold(state, |state| async move {
        let (mut frames, mut assembler) = state?;
        loop {
            let frame = match frames.next().await {
                Some(Ok(frame)) => frame,
                Some(Err(err)) => return Some((vec![Err(err)], None)),
                None => return Some((vec![final_chunk(assembler)], None)),
            };
            let stop = is_message_stop(&frame);
            let mut items: Vec<_> = match assembler.push(&frame) {
                Ok(chunks) => chunks.into_iter().map(Ok).collect(),
                Err(err) => return Some((vec![Err(err)], None)),
            };
            if stop {
                items.push(final_chunk(assembler));
                return Some((items, None));
            }
            if !items.is_empty() {
                return Some((items, Some((frames, assembler))));
            }
        }
    })
    .flat_map(stream::iter)
    .boxed()
}

/// True for the event that completes a message (by its SSE name, or its payload's `type`).
fn is_message_stop(frame: &SseFrame) -> bool {
    let SseFrame::Event(event) = frame else {
        return false;
    };
    match event.event.as_deref() {
        Some(name) => name == "message_stop",
        None => serde_json::from_str::<Value>(&event.data)
            .ok()
            .and_then(|payload| {
                payload
                    .get("type")?
                    .as_str()
                    .map(|kind| kind == "message_stop")
            })
            .unwrap_or(false),
    }
}

fn final_chunk(assembler: AnthropicStreamAssembler) -> Result<StreamChunk, BackendError> {
    assembler.finish().map(StreamChunk::Final)
}
