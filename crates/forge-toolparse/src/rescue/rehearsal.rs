//! `name[ARGS]{…}`: how reasoning models rehearse a call (Mistral's `[TOOL_CALLS]name[ARGS]{…}`
//! included).

use forge_types::{ToolCall, ToolSpec};
use memchr::memmem;

use crate::arguments::{decode_arguments_str, ArgumentsOutcome};
use crate::json_scan::BraceIndex;
use crate::py_text::is_word_char;

use super::is_known;

const MARKER: &str = "[ARGS]{";

/// Every rehearsed call to a known tool.
///
/// The name is the whole run of word characters right before `[ARGS]` (`call:fetch[ARGS]` →
/// `fetch`, `xfetch[ARGS]` → `xfetch`, `my-fetch[ARGS]` → `fetch`); `[ARGS]` must be followed
/// directly by `{`. The arguments run to the brace that balances it (string-aware) — not to the
/// last `}` of the text as in the reference, whose greedy match lost both of two rehearsed
/// calls. Arguments that are not a JSON object skip the call. The search resumes after the
/// arguments, so a rehearsal quoted inside an argument is not a second call.
pub(super) fn parse(text: &str, index: &BraceIndex, tools: &[ToolSpec]) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let finder = memmem::Finder::new(MARKER);
    // Where the previous call ended: a name cannot reach back before it.
    let mut consumed_to = 0;
    let mut search_from = 0;
    while let Some(offset) = finder.find(&text.as_bytes()[search_from..]) {
        let marker_at = search_from + offset;
        let open = marker_at + MARKER.len() - 1;
        let name = trailing_word(&text[consumed_to..marker_at]);
        let close = index.close_of(open);
        match (name.is_empty(), close) {
            (false, Some(close)) => {
                if is_known(tools, name) {
                    if let ArgumentsOutcome::Object(args) =
                        decode_arguments_str(&text[open..=close])
                    {
                        calls.push(ToolCall::new(name, args));
                    }
                }
                consumed_to = close + 1;
                search_from = consumed_to;
            }
            _ => search_from = marker_at + 1,
        }
    }
    calls
}

/// The longest suffix of `text` made of word characters.
fn trailing_word(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word_char(*c))
        .last()
        .map_or(text.len(), |(at, _)| at);
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_whole_word_run() {
        assert_eq!(trailing_word("call:fetch"), "fetch");
        assert_eq!(trailing_word("my-fetch"), "fetch");
        assert_eq!(trailing_word("[TOOL_CALLS]fetch"), "fetch");
        assert_eq!(trailing_word("lés_outils"), "lés_outils");
        assert_eq!(trailing_word("fetch "), "");
        assert_eq!(trailing_word(""), "");
    }
}
