//! Adapting a body byte stream into a stream of decoded frames.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use forge_types::BackendError;
use futures_util::Stream;
use pin_project::pin_project;
use serde_json::Value;

use crate::{NdjsonDecoder, SseDecoder, SseFrame};

/// A decoder that can sit behind [`Decoded`]: SSE or NDJSON.
pub trait IncrementalDecoder {
    /// What one decoded unit is.
    type Frame;

    /// Decodes the next body chunk, appending what it completed to `out`.
    fn decode_chunk(&mut self, chunk: &[u8], out: &mut VecDeque<Result<Self::Frame, BackendError>>);

    /// Ends the body, appending what was still pending to `out`.
    fn decode_end(self, out: &mut VecDeque<Result<Self::Frame, BackendError>>);
}

impl IncrementalDecoder for SseDecoder {
    type Frame = SseFrame;

    fn decode_chunk(&mut self, chunk: &[u8], out: &mut VecDeque<Result<SseFrame, BackendError>>) {
        out.extend(self.push(chunk).into_iter().map(Ok));
    }

    fn decode_end(self, out: &mut VecDeque<Result<SseFrame, BackendError>>) {
        out.extend(self.finish().into_iter().map(Ok));
    }
}

impl IncrementalDecoder for NdjsonDecoder {
    type Frame = Value;

    fn decode_chunk(&mut self, chunk: &[u8], out: &mut VecDeque<Result<Value, BackendError>>) {
        out.extend(self.push(chunk));
    }

    fn decode_end(self, out: &mut VecDeque<Result<Value, BackendError>>) {
        out.extend(self.finish());
    }
}

/// A stream of decoded frames over a stream of body chunks (see [`sse_frames`] and
/// [`ndjson_values`]).
///
/// A body error is passed through and ends the stream (the decoder's pending bytes are dropped: a
/// body that broke off is not decoded as if it had ended). Decoding errors are converted into the
/// body's error type with `From<BackendError>`.
#[pin_project]
#[derive(Debug)]
pub struct Decoded<S, D: IncrementalDecoder> {
    #[pin]
    body: S,
    decoder: Option<D>,
    ready: VecDeque<Result<D::Frame, BackendError>>,
    body_failed: bool,
}

impl<S, D: IncrementalDecoder> Decoded<S, D> {
    /// Decodes `body` with `decoder`.
    pub fn new(body: S, decoder: D) -> Self {
        Self {
            body,
            decoder: Some(decoder),
            ready: VecDeque::new(),
            body_failed: false,
        }
    }
}

/// SSE frames of a `text/event-stream` body.
///
/// ```
/// use futures_util::{stream, FutureExt, StreamExt};
/// use forge_sse::{sse_frames, SseFrame};
/// use forge_types::BackendError;
///
/// let body = stream::iter([
///     Ok::<_, BackendError>(&b"data: hel"[..]),
///     Ok(&b"lo\n\ndata: [DONE]\n\n"[..]),
/// ]);
/// let frames: Vec<_> = sse_frames(body).collect().now_or_never().expect("an in-memory body is always ready");
/// assert_eq!(frames.len(), 2);
/// assert!(matches!(&frames[1], Ok(SseFrame::Done)));
/// ```
pub fn sse_frames<S>(body: S) -> Decoded<S, SseDecoder> {
    Decoded::new(body, SseDecoder::new())
}

/// JSON values of an NDJSON body.
pub fn ndjson_values<S>(body: S) -> Decoded<S, NdjsonDecoder> {
    Decoded::new(body, NdjsonDecoder::new())
}

impl<S, B, E, D> Stream for Decoded<S, D>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: From<BackendError>,
    D: IncrementalDecoder,
{
    type Item = Result<D::Frame, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(item.map_err(E::from)));
            }
            if *this.body_failed {
                return Poll::Ready(None);
            }
            let Some(decoder) = this.decoder.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(this.body.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => decoder.decode_chunk(chunk.as_ref(), this.ready),
                Some(Err(err)) => {
                    *this.body_failed = true;
                    return Poll::Ready(Some(Err(err)));
                }
                None => {
                    if let Some(decoder) = this.decoder.take() {
                        decoder.decode_end(this.ready);
                    }
                }
            }
        }
    }
}
