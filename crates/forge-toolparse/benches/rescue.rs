//! Rescue throughput on realistic text: prose, code and non-call JSON, with the call at the
//! very end (the worst place), at 1 KB, 100 KB and 1 MB. Time should grow linearly with size.
//!
//! `json_call_at_end` stops at the first strategy; `mistral_call_at_end` runs every strategy.
//! `unclosed_braces` is the reference's quadratic case (every `{` unclosed).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use forge_toolparse::rescue_tool_calls;
use forge_types::ToolSpec;
use serde_json::json;

/// Text a model writes before giving up on native tool calling: prose, code with braces in
/// strings and char literals (`'"'` flips a naive string scan), unclosed braces, JSON results.
const FILLER: &[&str] = &[
    "The build failed because the parser counted braces that sit inside string literals. ",
    "Here is the function I changed:\n```rust\nfn render(x: &str) -> String {\n    let q = '\"';\n    if x.is_empty() { return format!(\"{}{}\", q, \"}\"); }\n    x.replace('{', \"{{\")\n}\n```\n",
    "The tool returned {\"status\": \"ok\", \"items\": [1, 2, 3], \"note\": \"use {braces}\"}. ",
    "Call it like f({ and keep going; a stray \" quote in prose happens too. ",
    "Next I will look at <b>the output</b> and the [ARGS] section of the log.\n",
];

fn text_of_size(size: usize, call: &str) -> String {
    let mut text = String::with_capacity(size + call.len());
    for piece in FILLER.iter().cycle() {
        if text.len() + piece.len() > size {
            break;
        }
        text.push_str(piece);
    }
    text.push_str(call);
    text
}

fn tools() -> Vec<ToolSpec> {
    ["fetch", "read", "edit"]
        .into_iter()
        .map(|name| ToolSpec::new(name, "", json!({"type": "object"})))
        .collect()
}

fn rescue(c: &mut Criterion) {
    let tools = tools();
    let calls = [
        (
            "json_call_at_end",
            r#"{"tool": "fetch", "args": {"q": "x"}}"#,
        ),
        ("mistral_call_at_end", r#"[TOOL_CALLS]fetch{"q": "x"}"#),
    ];
    for (name, call) in calls {
        let mut group = c.benchmark_group(format!("rescue/{name}"));
        for (label, size) in [("1KB", 1 << 10), ("100KB", 100 << 10), ("1MB", 1 << 20)] {
            let text = text_of_size(size, call);
            assert!(
                rescue_tool_calls(&text, &tools).is_some(),
                "the bench text holds a call"
            );
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(label), &text, |b, text| {
                b.iter(|| rescue_tool_calls(std::hint::black_box(text), &tools));
            });
        }
        group.finish();
    }
}

/// The reference's worst case: every `{` unclosed (a rescan per brace made it quadratic).
fn unclosed_braces(c: &mut Criterion) {
    let tools = tools();
    let mut group = c.benchmark_group("rescue/unclosed_braces");
    for (label, size) in [("100KB", 100 << 10), ("1MB", 1 << 20)] {
        let mut text = "{\"a\": \"{\", ".repeat(size / 11);
        text.push_str(r#"{"tool": "fetch", "args": {}}"#);
        assert!(
            rescue_tool_calls(&text, &tools).is_some(),
            "the bench text holds a call"
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &text, |b, text| {
            b.iter(|| rescue_tool_calls(std::hint::black_box(text), &tools));
        });
    }
    group.finish();
}

criterion_group!(benches, rescue, unclosed_braces);
criterion_main!(benches);
