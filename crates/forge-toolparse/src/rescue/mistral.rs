//! Mistral's bracket tag: `[TOOL_CALLS]name{…}` (Devstral, Mistral-Small 3.x in prompt mode).

use forge_types::{ToolCall, ToolSpec};
use memchr::memmem;

use crate::arguments::{decode_arguments_str, ArgumentsOutcome};
use crate::json_scan::BraceIndex;
use crate::py_text::{is_py_space, is_word_char};

use super::is_known;

const TAG: &str = "[TOOL_CALLS]";

/// Every `[TOOL_CALLS]name{…}` call to a known tool.
///
/// The tag is followed directly by the name (a run of word characters; `[TOOL_CALLS] read`
/// does not count), optional whitespace, then `{`. The arguments run to the brace that
/// balances it (string-aware, so braces and escaped quotes in strings are fine) and must be a
/// JSON object, else the call is skipped. Unlike the reference, the search resumes *after* the
/// arguments — for unknown tools too — so a `[TOOL_CALLS]…` written inside a string argument
/// is not a phantom second call. (The reference's scan also treated a backslash outside
/// strings as an escape; that only matters for text that is not JSON anyway.)
pub(super) fn parse(text: &str, index: &BraceIndex, tools: &[ToolSpec]) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let finder = memmem::Finder::new(TAG);
    let mut search_from = 0;
    while let Some(offset) = finder.find(&text.as_bytes()[search_from..]) {
        let tag_at = search_from + offset;
        let name_start = tag_at + TAG.len();
        let rest = &text[name_start..];
        let name_len = rest
            .char_indices()
            .find(|(_, c)| !is_word_char(*c))
            .map_or(rest.len(), |(at, _)| at);
        let name = &rest[..name_len];
        let gap = rest[name_len..]
            .char_indices()
            .find(|(_, c)| !is_py_space(*c))
            .map(|(at, c)| (name_start + name_len + at, c));
        let open = match gap {
            Some((open, '{')) if !name.is_empty() => open,
            _ => {
                search_from = tag_at + 1;
                continue;
            }
        };
        let Some(close) = index.close_of(open) else {
            search_from = open + 1;
            continue;
        };
        if is_known(tools, name) {
            if let ArgumentsOutcome::Object(args) = decode_arguments_str(&text[open..=close]) {
                calls.push(ToolCall::new(name, args));
            }
        }
        search_from = close + 1;
    }
    calls
}
