//! JSON-object tool calls embedded in text: prompt mode's parse-back and rescue's first
//! strategy.

use forge_types::{ToolCall, ToolSpec};
use serde_json::Value;

use crate::arguments::{decode_arguments, ArgumentsOutcome};
use crate::json_scan::{top_level_spans, BraceIndex};

/// Finds every JSON-object tool call in `text`, in text order (prompt mode, spec §9.2).
///
/// An object is a call when it names one of `tools` exactly (case-sensitive):
///
/// - the name is `"tool"` when that is truthy (a non-empty string, …), else `"name"`
///   (`{"tool": "bogus", "name": "fetch"}` is not a call: a truthy `tool` wins);
/// - the arguments are `"args"` unless absent or null, else `"arguments"`, else (Llama 3 style)
///   `"parameters"`; no arguments key means `{}`. They are decoded by
///   [`decode_arguments`](crate::decode_arguments), so a string holding a JSON object is
///   accepted and anything that is not an object is refused;
/// - an OpenAI tool-call entry, `{"type": "function", "function": {"name": …, "arguments": …}}`,
///   is read through its `function` object when the outer object names nothing.
///
/// How objects are found: from each `{`, a string-aware scan finds the balancing `}`; the span
/// is parsed and the search resumes after it whether or not it was a call, so objects nested
/// in a non-call object (`{"result": {"tool": …}}`) are not examined. A `{` that never
/// balances is passed over, so an unclosed preamble does not hide a later call. Surrounding
/// text, code fences, `<tool_call>` tags and array brackets (`[{…}, {…}]`) are ignored.
///
/// Deviations from the reference (v0.7.3), all deliberate:
///
/// - The brace scan skips braces inside JSON strings; the reference counted them, so a call
///   whose string argument held an unbalanced brace (`{"s": "}"}`, code edits) was lost.
/// - Code fences are not deleted from the text first; the reference deleted them everywhere,
///   which also edited argument values containing triple backticks. Fences never sit inside
///   an object's braces except in strings, so no call is lost by keeping them.
/// - A candidate whose arguments are not an object (a non-JSON string, a list, a number,
///   `null`) is skipped instead of raising; when nothing else is found the caller takes the
///   retry path. (`ToolCall::args` is an object by construction.)
/// - The `function` wrapper and the `parameters` key are understood; the reference found no
///   call in the former and dropped the arguments of the latter.
///
/// ```
/// use forge_toolparse::extract_tool_calls;
/// use forge_types::ToolSpec;
/// use serde_json::json;
///
/// let tools = [ToolSpec::new("get_pricing", "Get pricing", json!({"type": "object"}))];
/// let text = "Sure: ```json\n{\"tool\": \"get_pricing\", \"args\": {\"part\": \"X1\"}}\n```";
/// let calls = extract_tool_calls(text, &tools);
/// assert_eq!(calls.len(), 1);
/// assert_eq!(calls[0].args["part"], "X1");
/// assert!(extract_tool_calls(r#"{"tool": "delete_everything", "args": {}}"#, &tools).is_empty());
/// ```
pub fn extract_tool_calls(text: &str, tools: &[ToolSpec]) -> Vec<ToolCall> {
    located_json_calls(text, &BraceIndex::new(text), tools)
        .into_iter()
        .map(|(_, call)| call)
        .collect()
}

/// The JSON calls of `text` with the byte offset where each object starts.
pub(crate) fn located_json_calls(
    text: &str,
    index: &BraceIndex,
    tools: &[ToolSpec],
) -> Vec<(usize, ToolCall)> {
    top_level_spans(index)
        .into_iter()
        .filter(|&(open, close)| may_be_a_call(&text[open..=close]))
        .filter_map(|(open, close)| {
            let candidate = serde_json::from_str::<Value>(&text[open..=close]).ok()?;
            call_from_object(&candidate, tools).map(|call| (open, call))
        })
        .collect()
}

/// A cheap test before the JSON parser: the span must look like an object (a key or `}`
/// after the brace) and mention a key that can name a tool. Code blocks, prose in braces and
/// ordinary JSON results are skipped without building a value. (A key spelled with escapes,
/// `"\u0074ool"`, is therefore not recognised; models do not write that.)
fn may_be_a_call(span: &str) -> bool {
    let after_brace = span[1..].trim_start_matches([' ', '\t', '\n', '\r']);
    matches!(after_brace.as_bytes().first(), Some(b'"' | b'}'))
        && NAME_KEYS
            .iter()
            .any(|key| memchr::memmem::find(span.as_bytes(), key.as_bytes()).is_some())
}

const NAME_KEYS: [&str; 3] = ["\"tool\"", "\"name\"", "\"function\""];

/// Reads a parsed candidate as a call to one of `tools`, if it is one.
pub(crate) fn call_from_object(candidate: &Value, tools: &[ToolSpec]) -> Option<ToolCall> {
    let object = candidate.as_object()?;
    let name = object
        .get("tool")
        .filter(|tool| is_truthy(tool))
        .or_else(|| object.get("name"));
    let Some(name) = name else {
        return object
            .get("function")
            .filter(|function| function.is_object())
            .and_then(|function| call_from_object(function, tools));
    };
    let name = name.as_str()?;
    if !tools.iter().any(|tool| tool.name == name) {
        return None;
    }
    let arguments = object
        .get("args")
        .filter(|args| !args.is_null())
        .or_else(|| object.get("arguments"))
        .or_else(|| object.get("parameters"));
    match decode_arguments(arguments) {
        ArgumentsOutcome::Object(args) => Some(ToolCall::new(name, args)),
        ArgumentsOutcome::Malformed { .. } | ArgumentsOutcome::NotAnObject { .. } => None,
    }
}

/// Python truthiness of a JSON value.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}
