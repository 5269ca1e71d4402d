//! Data-driven tests of the SSE and NDJSON decoders: every rule, under every split of the input.

use forge_sse::{NdjsonDecoder, SseDecoder, SseEvent, SseFrame};
use serde_json::{json, Value};

fn event(name: Option<&str>, data: &str) -> SseFrame {
    SseFrame::Event(SseEvent {
        event: name.map(str::to_owned),
        data: data.to_owned(),
    })
}

fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Vec<SseFrame> {
    let mut decoder = SseDecoder::new();
    let mut frames = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        frames.extend(decoder.push(&input[start..cut]));
        start = cut;
    }
    frames.extend(decoder.push(&input[start..]));
    frames.extend(decoder.finish());
    frames
}

/// Decodes `input` whole, byte by byte, and split at every single position; all must agree.
fn check(name: &str, input: &[u8], expected: &[SseFrame]) {
    assert_eq!(
        decode_in_pieces(input, &[]),
        expected,
        "{name}: whole input"
    );
    let every_byte: Vec<usize> = (1..input.len()).collect();
    assert_eq!(
        decode_in_pieces(input, &every_byte),
        expected,
        "{name}: byte by byte"
    );
    for cut in 0..=input.len() {
        assert_eq!(
            decode_in_pieces(input, &[cut]),
            expected,
            "{name}: split at {cut}"
        );
    }
}

#[test]
fn sse_rules() {
    let cases: Vec<(&str, &[u8], Vec<SseFrame>)> = vec![
        (
            "lf line ends",
            b"data: a\n\ndata: b\n\n",
            vec![event(None, "a"), event(None, "b")],
        ),
        (
            "crlf line ends",
            b"data: a\r\n\r\ndata: b\r\n\r\n",
            vec![event(None, "a"), event(None, "b")],
        ),
        (
            "cr line ends",
            b"data: a\r\rdata: b\r\r",
            vec![event(None, "a"), event(None, "b")],
        ),
        (
            "mixed line ends",
            b"data: a\r\n\ndata: b\r\r\n",
            vec![event(None, "a"), event(None, "b")],
        ),
        (
            "multi-line data joined with newline",
            b"data: one\ndata: two\ndata:\n\n",
            vec![event(None, "one\ntwo\n")],
        ),
        (
            "only one space after the colon is dropped",
            b"data:  two spaces\ndata:none\n\n",
            vec![event(None, " two spaces\nnone")],
        ),
        (
            "event name",
            b"event: message_start\ndata: {}\n\n",
            vec![event(Some("message_start"), "{}")],
        ),
        (
            "event name resets after dispatch",
            b"event: x\ndata: 1\n\ndata: 2\n\n",
            vec![event(Some("x"), "1"), event(None, "2")],
        ),
        (
            "empty event name is none",
            b"event:\ndata: 1\n\n",
            vec![event(None, "1")],
        ),
        (
            "comments ignored",
            b": ping\n:\ndata: a\n: mid-event comment\n\n",
            vec![event(None, "a")],
        ),
        (
            "id and retry ignored",
            b"id: 7\nretry: 1000\ndata: a\n\n",
            vec![event(None, "a")],
        ),
        (
            "unknown fields ignored",
            b"foo: bar\ndata: a\n\n",
            vec![event(None, "a")],
        ),
        ("field without colon", b"data\n\n", vec![event(None, "")]),
        (
            "event without data is not dispatched",
            b"event: ping\n\n",
            vec![],
        ),
        ("blank lines alone dispatch nothing", b"\n\n\r\n\r", vec![]),
        ("done terminator", b"data: [DONE]\n\n", vec![SseFrame::Done]),
        (
            "done with trailing space is data",
            b"data: [DONE] \n\n",
            vec![event(None, "[DONE] ")],
        ),
        (
            "events after done still decode",
            b"data: [DONE]\n\ndata: x\n\n",
            vec![SseFrame::Done, event(None, "x")],
        ),
        (
            "multi-byte utf-8 kept whole",
            "data: Zürich 東京 🦀\n\n".as_bytes(),
            vec![event(None, "Zürich 東京 🦀")],
        ),
        (
            "invalid utf-8 replaced",
            b"data: a\xffb\n\n",
            vec![event(None, "a\u{fffd}b")],
        ),
        (
            "last event without blank line delivered at finish",
            b"data: a\n",
            vec![event(None, "a")],
        ),
        (
            "last line without terminator is dropped at finish",
            b"data: a\n\ndata: {\"cut",
            vec![event(None, "a")],
        ),
        (
            "leading byte-order mark dropped",
            b"\xEF\xBB\xBFdata: a\n\n",
            vec![event(None, "a")],
        ),
        (
            "byte-order mark only at the start",
            b"data: \xEF\xBB\xBFa\n\n",
            vec![event(None, "\u{feff}a")],
        ),
        (
            "incomplete byte-order mark is data",
            b"\xEF\xBBdata: a\n\n",
            vec![],
        ),
        (
            "colon inside value kept",
            b"data: {\"a\": \"b:c\"}\n\n",
            vec![event(None, "{\"a\": \"b:c\"}")],
        ),
    ];
    for (name, input, expected) in &cases {
        check(name, input, expected);
    }
}

fn ndjson_in_pieces(input: &[u8], cut: usize) -> Vec<Value> {
    let mut decoder = NdjsonDecoder::new();
    let mut values = decoder.push(&input[..cut]);
    values.extend(decoder.push(&input[cut..]));
    values.extend(decoder.finish());
    values
        .into_iter()
        .map(|value| value.expect("every test line is valid JSON"))
        .collect()
}

#[test]
fn ndjson_rules() {
    let cases: Vec<(&str, &[u8], Vec<Value>)> = vec![
        (
            "one value per line",
            b"{\"a\":1}\n{\"a\":2}\n",
            vec![json!({"a": 1}), json!({"a": 2})],
        ),
        (
            "blank lines skipped",
            b"\n{\"a\":1}\n\n  \n{\"a\":2}\n",
            vec![json!({"a": 1}), json!({"a": 2})],
        ),
        (
            "crlf",
            b"{\"a\":1}\r\n{\"a\":2}\r\n",
            vec![json!({"a": 1}), json!({"a": 2})],
        ),
        (
            "last line without newline",
            b"{\"a\":1}\n{\"done\":true}",
            vec![json!({"a": 1}), json!({"done": true})],
        ),
        (
            "utf-8 across splits",
            "{\"t\":\"Zürich 🦀\"}\n".as_bytes(),
            vec![json!({"t": "Zürich 🦀"})],
        ),
    ];
    for (name, input, expected) in &cases {
        for cut in 0..=input.len() {
            assert_eq!(
                ndjson_in_pieces(input, cut),
                *expected,
                "{name}: split at {cut}"
            );
        }
    }
}

#[test]
fn ndjson_bad_line_is_an_error_and_a_cut_last_line_is_truncated() {
    let mut decoder = NdjsonDecoder::new();
    let mut values = decoder.push(b"{\"a\":1}\n{\"a\":");
    values.extend(decoder.finish());
    assert!(values[0].is_ok());
    assert!(matches!(
        values[1],
        Err(forge_types::BackendError::Truncated { .. })
    ));
    let mut decoder = NdjsonDecoder::new();
    let values = decoder.push(b"{\"a\":\n");
    assert!(matches!(
        values[0],
        Err(forge_types::BackendError::InvalidResponse { .. })
    ));
}
