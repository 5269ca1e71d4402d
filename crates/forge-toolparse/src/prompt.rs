//! The prompt-mode tool prompt: the tool catalogue as text for the system message.

use forge_types::py_json::py_json_dumps;
use forge_types::{JsonObject, ToolSpec};
use serde_json::{json, Value};

use crate::py_text::py_str;

/// Renders `tools` as the text block prompt mode puts in front of the system message.
///
/// The text matches the reference byte for byte: one `## name` section per tool with its
/// parameters (`  - name (type (required|optional)): description`, plus an
/// `    Allowed values: …` line for an `enum`), then the required answer shape and an example
/// call to the first tool written as Python's `json.dumps` would write it.
///
/// A parameter's type is printed as Python's `str()` of the schema's `type` value, so a
/// list-valued type reads `['string', 'null']`; a parameter without `type` reads `any`.
///
/// ```
/// use forge_toolparse::build_tool_prompt;
/// use forge_types::ToolSpec;
/// use serde_json::json;
///
/// let tool = ToolSpec::new(
///     "get_pricing",
///     "Get pricing for a part",
///     json!({"type": "object",
///            "properties": {"part_number": {"type": "string", "description": "The part number"}},
///            "required": ["part_number"]}),
/// );
/// let prompt = build_tool_prompt(&[tool]);
/// assert!(prompt.contains("  - part_number (string (required)): The part number\n"));
/// assert!(prompt.contains(r#"{"tool": "get_pricing", "args": {"part_number": "<part_number>"}}"#));
/// ```
pub fn build_tool_prompt(tools: &[ToolSpec]) -> String {
    let mut lines: Vec<String> = vec![
        "You have access to the following tools:".into(),
        String::new(),
    ];
    for tool in tools {
        push_tool_section(&mut lines, tool);
    }
    lines.push("To call a tool, respond with ONLY a JSON object in this exact format:".into());
    lines.push(r#"{"tool": "<tool_name>", "args": {<arguments>}}"#.into());
    lines.push(String::new());
    lines.push("Example:".into());
    if let Some(first) = tools.first() {
        lines.push(example_call(first));
    }
    lines.push(String::new());
    lines.push("Respond with ONLY the JSON tool call. Do not include any other text.".into());
    lines.join("\n")
}

fn push_tool_section(lines: &mut Vec<String>, tool: &ToolSpec) {
    lines.push(format!("## {}", tool.name));
    lines.push(format!("Description: {}", tool.description));
    let properties = non_empty_properties(tool);
    if let Some(properties) = properties {
        let required = tool.required();
        lines.push("Parameters:".into());
        for (name, schema) in properties {
            let necessity = if required.contains(&name.as_str()) {
                "required"
            } else {
                "optional"
            };
            let kind = schema.get("type").map_or_else(|| "any".to_owned(), py_str);
            let description = schema.get("description").map(py_str).unwrap_or_default();
            lines.push(format!("  - {name} ({kind} ({necessity})): {description}"));
            if let Some(values) = schema.get("enum") {
                lines.push(format!("    Allowed values: {}", allowed_values(values)));
            }
        }
    }
    lines.push(String::new());
}

fn non_empty_properties(tool: &ToolSpec) -> Option<&JsonObject> {
    tool.properties()
        .filter(|properties| !properties.is_empty())
}

/// Python's `", ".join(str(v) for v in enum)`; a non-list `enum` is printed whole.
fn allowed_values(values: &Value) -> String {
    match values {
        Value::Array(items) => items.iter().map(py_str).collect::<Vec<_>>().join(", "),
        other => py_str(other),
    }
}

fn example_call(tool: &ToolSpec) -> String {
    let args: JsonObject = non_empty_properties(tool)
        .into_iter()
        .flat_map(|properties| properties.keys())
        .map(|name| (name.clone(), Value::String(format!("<{name}>"))))
        .collect();
    py_json_dumps(&json!({"tool": tool.name, "args": args}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tool_list_gives_the_bare_frame() {
        assert_eq!(
            build_tool_prompt(&[]),
            "You have access to the following tools:\n\nTo call a tool, respond with ONLY a JSON \
             object in this exact format:\n{\"tool\": \"<tool_name>\", \"args\": {<arguments>}}\n\n\
             Example:\n\nRespond with ONLY the JSON tool call. Do not include any other text."
        );
    }
}
