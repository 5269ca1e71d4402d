//! Salvaging tool calls that a model wrote as text instead of calling the tool.

mod coerce;
mod json_format;
mod mistral;
mod qwen_xml;
mod rehearsal;

use forge_types::{ToolCall, ToolSpec};

use crate::extract::located_json_calls;
use crate::json_scan::BraceIndex;
use crate::thinking::strip_think_blocks;

/// Calls salvaged from a text answer, and how they were written.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescued {
    /// The calls, in text order; never empty.
    pub calls: Vec<ToolCall>,
    /// The syntax the calls were found in.
    pub format: RescueFormat,
}

/// The syntax a rescued call was written in (for logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RescueFormat {
    /// A JSON object inside a Markdown code fence (```` ```json ```` or bare ```` ``` ````).
    FencedJson,
    /// A JSON object in plain text (forge `{"tool", "args"}`, OpenAI `{"name", "arguments"}`,
    /// or an OpenAI `{"type": "function", "function": {…}}` entry).
    BareJson,
    /// JSON inside `<tool_call>…</tool_call>` tags (Hermes, Granite, Qwen).
    ToolCallTags,
    /// Mistral's `[TOOL_CALLS]name{…}` or `[TOOL_CALLS][{…}, …]`.
    MistralToolCalls,
    /// Qwen-coder XML: `<function=name><parameter=key>value</parameter></function>`.
    QwenXml,
    /// The rehearsal syntax reasoning models use in their thinking: `name[ARGS]{…}`.
    ArgsRehearsal,
}

impl RescueFormat {
    /// A short stable name: `"fenced_json"`, `"qwen_xml"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FencedJson => "fenced_json",
            Self::BareJson => "bare_json",
            Self::ToolCallTags => "tool_call_tags",
            Self::MistralToolCalls => "mistral_tool_calls",
            Self::QwenXml => "qwen_xml",
            Self::ArgsRehearsal => "args_rehearsal",
        }
    }
}

impl std::fmt::Display for RescueFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Salvages the tool calls written as text in `text`; `None` when there is none (the caller
/// then nudges the model to retry).
///
/// Only calls to one of `tools` (exact name) are returned. Steps, as in the reference:
///
/// 0. Closed think blocks (`<think>…</think>`, `[THINK]…[/THINK]`) are removed and the rest is
///    trimmed. **A call written only inside a closed think block is not rescued**: it is the
///    model rehearsing, not calling (the reference does the same, and later versions kept it).
///    An unclosed `<think>` is left in place, so a call after it is still found.
/// 1. JSON objects ([`extract_tool_calls`](crate::extract_tool_calls)).
/// 2. If none: `name[ARGS]{…}` rehearsals.
/// 3. If none: Qwen-coder XML, with values coerced to the declared parameter types.
/// 4. If none: Mistral `[TOOL_CALLS]name{…}`.
///
/// The first strategy that finds a call decides; strategies never mix.
///
/// Fixed reference defects: a JSON call whose arguments are not an object is skipped (the
/// reference raised); every `name[ARGS]{…}` is found, each up to its own balancing brace (the
/// reference's greedy match lost both of two calls, and any call followed by a stray `}`); the
/// Mistral and rehearsal scans resume after a call's arguments, so text inside a string
/// argument (`"[TOOL_CALLS]edit{}"`) never becomes a phantom call; Qwen-XML values are typed.
///
/// ```
/// use forge_toolparse::{rescue_tool_calls, RescueFormat};
/// use forge_types::ToolSpec;
/// use serde_json::json;
///
/// let tools = [
///     ToolSpec::new("fetch", "Fetch", json!({"type": "object"})),
///     ToolSpec::new("submit", "Submit", json!({"type": "object"})),
/// ];
/// let rescued = rescue_tool_calls(r#"fetch[ARGS]{"a": 1} submit[ARGS]{"b": 2}"#, &tools)
///     .expect("two rehearsed calls");
/// assert_eq!(rescued.format, RescueFormat::ArgsRehearsal);
/// assert_eq!(rescued.calls.len(), 2);
/// assert!(rescue_tool_calls("<think>{\"tool\": \"fetch\"}</think>", &tools).is_none());
/// ```
pub fn rescue_tool_calls(text: &str, tools: &[ToolSpec]) -> Option<Rescued> {
    let cleaned = strip_think_blocks(text);
    if cleaned.is_empty() {
        return None;
    }
    let index = BraceIndex::new(&cleaned);

    let json_calls = located_json_calls(&cleaned, &index, tools);
    if let Some((first_at, _)) = json_calls.first() {
        let format = json_format::classify(&cleaned, *first_at);
        return rescued(
            json_calls.into_iter().map(|(_, call)| call).collect(),
            format,
        );
    }
    let strategies: [(TextStrategy, RescueFormat); 3] = [
        (rehearsal::parse, RescueFormat::ArgsRehearsal),
        (qwen_xml::parse, RescueFormat::QwenXml),
        (mistral::parse, RescueFormat::MistralToolCalls),
    ];
    strategies.into_iter().find_map(|(parse, format)| {
        let calls = parse(&cleaned, &index, tools);
        rescued(calls, format)
    })
}

/// A strategy after the JSON one: the calls it finds in the cleaned text.
type TextStrategy = fn(&str, &BraceIndex, &[ToolSpec]) -> Vec<ToolCall>;

fn rescued(calls: Vec<ToolCall>, format: RescueFormat) -> Option<Rescued> {
    (!calls.is_empty()).then_some(Rescued { calls, format })
}

/// Whether `name` is one of `tools`.
fn is_known(tools: &[ToolSpec], name: &str) -> bool {
    tools.iter().any(|tool| tool.name == name)
}
