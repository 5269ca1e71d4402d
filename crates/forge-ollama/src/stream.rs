//! The streaming path: NDJSON lines → [`OllamaStreamAssembler`] → deltas and one final response.

use forge_client::ChunkStream;
use forge_sse::{ndjson_values, OllamaStreamAssembler};
use forge_types::{BackendError, StreamChunk};
use futures_util::{stream, Stream, StreamExt};
use serde_json::Value;

use forge_client::finish_with_think_policy as finish;

/// Turns a 2xx streaming body into the client's chunk stream.
///
/// Deltas are forwarded as they arrive (thinking deltas only while thinking is on). The stream
/// ends with exactly one `Final` at the `done: true` line, or with exactly one error: a broken
/// connection or read timeout, an `{"error": …}` line, a line that is not JSON or not a chat
/// response, or a body that ended before `done`.
pub(crate) fn open_stream<S, B>(body: S, think: bool) -> ChunkStream
where
    S: Stream<Item = Result<B, BackendError>> + Send + Unpin + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    let state = Some((ndjson_values(body), OllamaStreamAssembler::new()));
    stream::unfold(state, move |state| async move {
        let (mut lines, mut assembler) = state?;
        loop {
            let line: Value = match lines.next().await {
                Some(Ok(line)) => line,
                Some(Err(err)) => return Some((vec![Err(err)], None)),
                None => return Some((vec![final_chunk(assembler, think)], None)),
            };
            let is_done = line.get("done").and_then(Value::as_bool) == Some(true);
            let chunks: Vec<_> = match assembler.push(&line) {
                Ok(chunks) => chunks
                    .into_iter()
                    .filter(|chunk| think || !matches!(chunk, StreamChunk::ReasoningDelta { .. }))
                    .map(Ok)
                    .collect(),
                Err(err) => return Some((vec![Err(err)], None)),
            };
            if is_done {
                let mut items = chunks;
                items.push(final_chunk(assembler, think));
                return Some((items, None));
            }
            if !chunks.is_empty() {
                return Some((chunks, Some((lines, assembler))));
            }
        }
    })
    .flat_map(stream::iter)
    .boxed()
}

fn final_chunk(assembler: OllamaStreamAssembler, think: bool) -> Result<StreamChunk, BackendError> {
    assembler
        .finish_raw()
        .map(|assembled| StreamChunk::Final(finish(assembled, think)))
}
