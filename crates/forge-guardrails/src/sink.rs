//! Where streamed chunks go.

use forge_types::StreamChunk;

/// The consumer of a stream stopped listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkClosed;

/// Receives the chunks of a streamed inference, in order.
///
/// Delivery is awaited, so a slow consumer slows the stream down instead of piling chunks up.
/// A sink that reports [`SinkClosed`] ends the inference with a cancellation error.
#[async_trait::async_trait]
pub trait ChunkSink: Send {
    /// Delivers one chunk.
    async fn deliver(&mut self, chunk: StreamChunk) -> Result<(), SinkClosed>;
}

#[async_trait::async_trait]
impl ChunkSink for tokio::sync::mpsc::Sender<StreamChunk> {
    async fn deliver(&mut self, chunk: StreamChunk) -> Result<(), SinkClosed> {
        self.send(chunk).await.map_err(|_| SinkClosed)
    }
}

#[async_trait::async_trait]
impl ChunkSink for Vec<StreamChunk> {
    async fn deliver(&mut self, chunk: StreamChunk) -> Result<(), SinkClosed> {
        self.push(chunk);
        Ok(())
    }
}

/// A sink calling a synchronous function with each chunk (which must not block).
pub struct FnSink<F>(pub F);

impl<F> std::fmt::Debug for FnSink<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnSink")
    }
}

#[async_trait::async_trait]
impl<F: FnMut(StreamChunk) + Send> ChunkSink for FnSink<F> {
    async fn deliver(&mut self, chunk: StreamChunk) -> Result<(), SinkClosed> {
        (self.0)(chunk);
        Ok(())
    }
}
