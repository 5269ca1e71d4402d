//! Rescue, prompt-mode extraction and think-tag splitting on arbitrary UTF-8: no panic, and
//! every call found names an offered tool.

#![no_main]

use forge_toolparse::{extract_thinking, extract_tool_calls, rescue_tool_calls};
use forge_types::ToolSpec;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new("fetch", "Fetch", json!({"type": "object"})),
        ToolSpec::new(
            "get_weather",
            "Weather",
            json!({"type": "object", "properties": {
                "city": {"type": "string"}, "days": {"type": "integer"},
                "metric": {"type": "boolean"}, "opts": {"type": ["object", "null"]}}}),
        ),
    ]
}

fuzz_target!(|text: &str| {
    let tools = tools();
    if let Some(rescued) = rescue_tool_calls(text, &tools) {
        assert!(!rescued.calls.is_empty());
        for call in &rescued.calls {
            assert!(tools.iter().any(|tool| tool.name == call.tool));
        }
    }
    for call in extract_tool_calls(text, &tools) {
        assert!(tools.iter().any(|tool| tool.name == call.tool));
    }
    let split = extract_thinking(text);
    assert!(split.remaining.len() <= text.len());
});
