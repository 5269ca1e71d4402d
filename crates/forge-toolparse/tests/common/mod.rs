//! Helpers shared by the integration tests: tool sets and one way to print calls.

#![allow(dead_code)] // each test binary uses a different subset

use forge_toolparse::{extract_tool_calls, rescue_tool_calls};
use forge_types::{ToolCall, ToolSpec};
use serde_json::json;

/// Tools that take any object (no declared parameters, so Qwen-XML values stay text).
pub fn untyped_tools(names: &[&str]) -> Vec<ToolSpec> {
    names
        .iter()
        .map(|name| ToolSpec::new(*name, format!("The {name} tool"), json!({"type": "object"})))
        .collect()
}

/// The tools of the reference's rescue tests.
pub fn rescue_tools() -> Vec<ToolSpec> {
    untyped_tools(&["fetch", "submit", "read", "edit", "report", "bash"])
}

/// The tools of the reference's extraction tests.
pub fn extract_tools() -> Vec<ToolSpec> {
    untyped_tools(&["get_pricing", "search"])
}

/// `name {"compact":"json"}`, the notation of the spec's tables.
pub fn render(call: &ToolCall) -> String {
    format!(
        "{} {}",
        call.tool,
        serde_json::to_string(&call.args).expect("a JSON object serializes")
    )
}

pub fn render_all(calls: &[ToolCall]) -> Vec<String> {
    calls.iter().map(render).collect()
}

/// Rescue `input` and compare the calls (and, when given, the format) with `expected`.
pub fn check_rescue(input: &str, tools: &[ToolSpec], expected: &[&str], format: Option<&str>) {
    let rescued = rescue_tool_calls(input, tools);
    let calls = rescued
        .as_ref()
        .map(|rescued| render_all(&rescued.calls))
        .unwrap_or_default();
    assert_eq!(calls, expected, "rescue of {input:?}");
    if let (Some(rescued), Some(format)) = (&rescued, format) {
        assert_eq!(rescued.format.as_str(), format, "format of {input:?}");
    }
}

/// Extract (prompt mode) from `input` and compare with `expected`.
pub fn check_extract(input: &str, tools: &[ToolSpec], expected: &[&str]) {
    assert_eq!(
        render_all(&extract_tool_calls(input, tools)),
        expected,
        "extract of {input:?}"
    );
}
