//! The `futures::Stream` adapters over body chunks.

use bytes::Bytes;
use forge_sse::{ndjson_values, sse_frames, SseEvent, SseFrame};
use forge_types::BackendError;
use futures_util::{stream, FutureExt, StreamExt};
use serde_json::json;

fn collect<S: futures_util::Stream>(stream: S) -> Vec<S::Item> {
    stream
        .collect::<Vec<_>>()
        .now_or_never()
        .expect("in-memory streams are always ready")
}

#[test]
fn sse_frames_span_chunks_and_a_last_event_without_blank_line_is_flushed() {
    let body = stream::iter(vec![
        Ok::<_, BackendError>(Bytes::from_static(b"data: a")),
        Ok(Bytes::from_static(b"b\r")),
        Ok(Bytes::from_static(b"\n\r\ndata: tail\n")),
    ]);
    let frames: Vec<_> = collect(sse_frames(body))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        frames,
        vec![
            SseFrame::Event(SseEvent {
                event: None,
                data: "ab".into()
            }),
            SseFrame::Event(SseEvent {
                event: None,
                data: "tail".into()
            }),
        ]
    );
}

#[test]
fn body_error_is_passed_through_and_ends_the_stream() {
    let cut = BackendError::Transport {
        url: "http://127.0.0.1:1/v1/chat/completions".into(),
        message: "connection reset".into(),
    };
    let body = stream::iter(vec![
        Ok(Bytes::from_static(b"data: a\n\ndata: partial")),
        Err(cut.clone()),
        Ok(Bytes::from_static(b"\n\n")),
    ]);
    let items = collect(sse_frames(body));
    assert_eq!(
        items,
        vec![
            Ok(SseFrame::Event(SseEvent {
                event: None,
                data: "a".into()
            })),
            Err(cut),
        ]
    );
}

#[test]
fn ndjson_values_decode_lines_and_report_bad_ones() {
    let body = stream::iter(vec![
        Ok::<_, BackendError>(Bytes::from_static(b"{\"done\":fal")),
        Ok(Bytes::from_static(b"se}\nnope\n{\"done\":true}")),
    ]);
    let items = collect(ndjson_values(body));
    assert_eq!(items.len(), 3);
    assert_eq!(items[0], Ok(json!({"done": false})));
    assert!(matches!(
        items[1],
        Err(BackendError::InvalidResponse { .. })
    ));
    assert_eq!(items[2], Ok(json!({"done": true})));
}
