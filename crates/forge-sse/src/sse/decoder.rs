//! The incremental SSE decoder.

use crate::lines::LineSplitter;

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name, if the event had a non-empty one.
    pub event: Option<String>,
    /// The `data:` lines of the event, joined with `"\n"`.
    pub data: String,
}

/// What the decoder yields: an event, or the `data: [DONE]` terminator of OpenAI-shaped streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseFrame {
    /// A server-sent event.
    Event(SseEvent),
    /// `data: [DONE]`: the server says the stream is complete.
    Done,
}

/// Decodes a `text/event-stream` body chunk by chunk.
///
/// Follows the WHATWG event-stream rules: lines end at LF, CRLF or CR; a blank line dispatches the
/// event; `data:` lines are joined with `"\n"`; one space after the colon is dropped; comment lines
/// (`: ping`), `id:` and `retry:` are ignored; an event without any `data:` line is not dispatched;
/// a byte-order mark opening the stream is dropped.
/// The output is the same for every way the bytes are split into chunks, including splits inside
/// a UTF-8 character or between CR and LF. Invalid UTF-8 in data becomes U+FFFD.
///
/// ```
/// use forge_sse::{SseDecoder, SseEvent, SseFrame};
///
/// let mut decoder = SseDecoder::default();
/// let mut frames = decoder.push(b"event: ping\ndata: {\"a\"");
/// frames.extend(decoder.push(b":1}\n\ndata: [DONE]\n\n"));
/// assert_eq!(
///     frames,
///     vec![
///         SseFrame::Event(SseEvent { event: Some("ping".into()), data: "{\"a\":1}".into() }),
///         SseFrame::Done,
///     ]
/// );
/// ```
#[derive(Debug, Default)]
pub struct SseDecoder {
    bom: BomSkipper,
    lines: LineSplitter,
    event: EventBuilder,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Drops one UTF-8 byte-order mark at the very start of the stream, even when it arrives split
/// over several chunks.
#[derive(Debug, Default)]
struct BomSkipper {
    seen: usize,
    decided: bool,
}

impl BomSkipper {
    /// The part of `chunk` that is not BOM, plus any BOM prefix held back that turned out not to
    /// be one.
    fn strip<'a>(&mut self, chunk: &'a [u8]) -> (&'static [u8], &'a [u8]) {
        if self.decided {
            return (&[], chunk);
        }
        let mut matched = 0;
        while matched < chunk.len() && self.seen + matched < BOM.len() {
            if chunk[matched] != BOM[self.seen + matched] {
                self.decided = true;
                return (&BOM[..self.seen], chunk);
            }
            matched += 1;
        }
        self.seen += matched;
        if self.seen == BOM.len() {
            self.decided = true;
        }
        (&[], &chunk[matched..])
    }

    /// At the end: a BOM prefix held back that never completed is data.
    fn held_back(&self) -> &'static [u8] {
        if self.decided {
            &[]
        } else {
            &BOM[..self.seen]
        }
    }
}

#[derive(Debug, Default)]
struct EventBuilder {
    name: Option<String>,
    data: Vec<u8>,
    has_data: bool,
}

impl SseDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of the body; returns the frames it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        let (held_back, chunk) = self.bom.strip(chunk);
        let event = &mut self.event;
        for piece in [held_back, chunk] {
            self.lines
                .push(piece, |line| event.take_line(line, &mut frames));
        }
        frames
    }

    /// Ends the body.
    ///
    /// A last event whose lines all ended but which lacks the closing blank line is still
    /// delivered. A last line without any terminator is dropped: the body may have been cut
    /// inside it, and half a JSON payload is not an event. Whether the response was complete is
    /// for the assembler to judge from the protocol's own terminator (`[DONE]`, `message_stop`).
    pub fn finish(self) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        let mut event = self.event;
        let mut lines = self.lines;
        lines.push(self.bom.held_back(), |line| {
            event.take_line(line, &mut frames)
        });
        event.dispatch(&mut frames);
        frames
    }
}

impl EventBuilder {
    fn take_line(&mut self, line: &[u8], frames: &mut Vec<SseFrame>) {
        if line.is_empty() {
            self.dispatch(frames);
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(0) => return,
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => {
                self.name =
                    (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            // `id`, `retry` and unknown fields carry nothing forge uses.
            _ => {}
        }
    }

    fn dispatch(&mut self, frames: &mut Vec<SseFrame>) {
        let name = self.name.take();
        if !std::mem::take(&mut self.has_data) {
            return;
        }
        let bytes = std::mem::take(&mut self.data);
        let data = String::from_utf8(bytes)
            .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned());
        if data == "[DONE]" {
            frames.push(SseFrame::Done);
        } else {
            frames.push(SseFrame::Event(SseEvent { event: name, data }));
        }
    }
}
