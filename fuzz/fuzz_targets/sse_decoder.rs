//! The SSE decoder on arbitrary bytes cut at an arbitrary point: no panic, and the same frames as
//! the uncut input. The frames are then fed to every SSE assembler, which must not panic either
//! (errors are fine: arbitrary bytes are rarely a valid stream).

#![no_main]

use forge_sse::{AnthropicStreamAssembler, OpenAiStreamAssembler, SseDecoder, SseFrame};
use libfuzzer_sys::fuzz_target;

fn decode(pieces: &[&[u8]]) -> Vec<SseFrame> {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    for piece in pieces {
        frames.extend(decoder.push(piece));
    }
    frames.extend(decoder.finish());
    frames
}

fuzz_target!(|input: &[u8]| {
    let Some((cut_bytes, body)) = input.split_first_chunk::<2>() else {
        return;
    };
    let cut = usize::from(u16::from_le_bytes(*cut_bytes)) % (body.len() + 1);
    let frames = decode(&[body]);
    assert_eq!(decode(&[&body[..cut], &body[cut..]]), frames);

    let mut openai = OpenAiStreamAssembler::new();
    let mut anthropic = AnthropicStreamAssembler::new();
    for frame in &frames {
        let _ = openai.push(frame);
        let _ = anthropic.push(frame);
    }
    let _ = openai.finish();
    let _ = anthropic.finish();
});
