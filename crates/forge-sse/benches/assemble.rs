//! Throughput of SSE decoding plus OpenAI assembly over a ~1 MB realistic llama-server stream.
//!
//! The body is generated from the shape of a real capture (`tests/data/llama-server/`): the
//! capture's content chunks repeated until the body passes 1 MB, then a tool call streamed in
//! small argument fragments, the usage-only chunk and `[DONE]`. It is fed to the decoder in 4 KiB
//! reads, as a socket would deliver it.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use forge_sse::{OpenAiStreamAssembler, SseDecoder};

const CAPTURE: &str = include_str!("../tests/data/llama-server/tools-offered-long-text.sse");
const TARGET_BYTES: usize = 1 << 20;
const READ_SIZE: usize = 4096;

fn realistic_body() -> Vec<u8> {
    let content_chunks: Vec<&str> = CAPTURE
        .split("\n\n")
        .filter(|frame| frame.contains("\"delta\":{\"content\""))
        .collect();
    let last_chunk = content_chunks.last().expect("the capture streams content");
    let template = last_chunk
        .split("\"choices\"")
        .nth(1)
        .expect("a chunk has choices")
        .split_once("}],")
        .map(|(_, rest)| rest)
        .expect("choices close before the metadata");
    let mut body = String::with_capacity(TARGET_BYTES + 64 * 1024);
    'fill: loop {
        for chunk in &content_chunks {
            body.push_str(chunk);
            body.push_str("\n\n");
            if body.len() >= TARGET_BYTES {
                break 'fill;
            }
        }
    }
    let arguments = "{\"city\": \"Paris\", \"unit\": \"celsius\", \"days\": 3}";
    let mut fragments = arguments.as_bytes().chunks(4).map(|piece| {
        let piece = std::str::from_utf8(piece).expect("ASCII arguments");
        serde_json::to_string(piece).expect("a string serializes")
    });
    let first = fragments.next().expect("non-empty arguments");
    body.push_str(&format!(
        "data: {{\"choices\":[{{\"finish_reason\":null,\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"Dr2uEND6FVDXiCt805PD6kuuqoWxFxJI\",\"type\":\"function\",\"function\":{{\"name\":\"get_weather\",\"arguments\":{first}}}}}]}}}}],{template}\n\n"
    ));
    for fragment in fragments {
        body.push_str(&format!(
            "data: {{\"choices\":[{{\"finish_reason\":null,\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{fragment}}}}}]}}}}],{template}\n\n"
        ));
    }
    body.push_str(&format!(
        "data: {{\"choices\":[{{\"finish_reason\":\"tool_calls\",\"index\":0,\"delta\":{{}}}}],{template}\n\n"
    ));
    body.push_str("data: {\"choices\":[],\"usage\":{\"completion_tokens\":9000,\"prompt_tokens\":37,\"total_tokens\":9037}}\n\ndata: [DONE]\n\n");
    body.into_bytes()
}

fn decode_and_assemble(body: &[u8]) -> forge_types::Completion {
    let mut decoder = SseDecoder::new();
    let mut assembler = OpenAiStreamAssembler::new();
    let mut deltas = 0usize;
    for read in body.chunks(READ_SIZE) {
        for frame in decoder.push(read) {
            deltas += assembler.push(&frame).expect("no error frames").len();
        }
    }
    for frame in decoder.finish() {
        deltas += assembler.push(&frame).expect("no error frames").len();
    }
    black_box(deltas);
    assembler.finish().expect("a complete stream")
}

fn bench(c: &mut Criterion) {
    let body = realistic_body();
    let completion = decode_and_assemble(&body);
    assert_eq!(
        completion
            .response
            .as_tool_calls()
            .expect("the body ends with a tool call")[0]
            .args["days"],
        3
    );
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("decode_and_assemble_openai_1mb", |b| {
        b.iter(|| decode_and_assemble(black_box(&body)))
    });
    group.bench_function("decode_only_1mb", |b| {
        b.iter(|| {
            let mut decoder = SseDecoder::new();
            let mut frames = 0usize;
            for read in black_box(&body).chunks(READ_SIZE) {
                frames += decoder.push(read).len();
            }
            frames + decoder.finish().len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
