//! The prompt-mode tool prompt for a few tool sets, snapshotted (the text is wire output: a
//! model reads it, and llama.cpp's prompt cache keys on it).

use forge_toolparse::build_tool_prompt;
use forge_types::ToolSpec;
use serde_json::json;

fn weather() -> ToolSpec {
    ToolSpec::new(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Zürich"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"},
            "days": {"type": ["integer", "null"], "description": "Forecast days"}},
            "required": ["city"]}),
    )
}

fn coding_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            "read",
            "Read a file",
            json!({"type": "object", "properties": {"file_path": {"type": "string"}},
                   "required": ["file_path"]}),
        ),
        ToolSpec::new(
            "edit",
            "Replace text in a file",
            json!({"type": "object", "properties": {
                "file_path": {"type": "string", "description": "Path"},
                "old_string": {"type": "string", "description": "Text to replace"},
                "new_string": {"type": "string", "description": "Replacement"},
                "count": {"type": "integer", "enum": [1, 2, 3]},
                "ratio": {"type": "number", "enum": [0.5, 1e-05, true, null]}},
                "required": ["file_path", "old_string", "new_string"]}),
        ),
        ToolSpec::new("finish", "Stop working", json!({"type": "object"})),
    ]
}

#[test]
fn prompt_for_no_tools() {
    insta::assert_snapshot!(build_tool_prompt(&[]));
}

#[test]
fn prompt_for_one_tool_with_enum_list_type_and_unicode() {
    insta::assert_snapshot!(build_tool_prompt(&[weather()]));
}

#[test]
fn prompt_for_coding_tools() {
    insta::assert_snapshot!(build_tool_prompt(&coding_tools()));
}
