//! Think blocks: `<think>…</think>` (Qwen3, DeepSeek) and `[THINK]…[/THINK]` (Mistral).
//!
//! One scanner serves [`extract_thinking`] (clients splitting reasoning from content) and the
//! rescue path (which drops closed blocks before looking for calls), so both agree on what a
//! block is:
//!
//! - a block is an opener followed by the *first* matching closer of the same family (shortest
//!   match, newlines included); blocks are found left to right without overlap;
//! - tags are case-sensitive; an opener without its closer (`<think>` alone), a lone closer and
//!   mismatched pairs (`[THINK]…</think>`) are not blocks and stay in the text.

use std::ops::Range;

use memchr::memmem;

use crate::py_text::py_strip;
use crate::search::NextMatch;

/// Thinking split from the rest of a model's text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Thinking {
    /// The inner text of every closed block, each trimmed, joined with a blank line (`"\n\n"`);
    /// empty when there was no block.
    pub reasoning: String,
    /// The text without its blocks, trimmed at both ends when at least one block was removed;
    /// the input unchanged (not trimmed) when there was none.
    pub remaining: String,
}

/// Splits the think blocks out of `text`.
///
/// ```
/// use forge_toolparse::extract_thinking;
///
/// let split = extract_thinking("<think> plan </think>\nA [THINK]x[/THINK] B");
/// assert_eq!(split.reasoning, "plan\n\nx");
/// assert_eq!(split.remaining, "A  B");
/// assert_eq!(extract_thinking(" <think>open").remaining, " <think>open");
/// ```
pub fn extract_thinking(text: &str) -> Thinking {
    let blocks = think_blocks(text);
    if blocks.is_empty() {
        return Thinking {
            reasoning: String::new(),
            remaining: text.to_owned(),
        };
    }
    let reasoning = blocks
        .iter()
        .map(|block| py_strip(&text[block.inner.clone()]))
        .collect::<Vec<_>>()
        .join("\n\n");
    Thinking {
        reasoning,
        remaining: py_strip(&remove_blocks(text, &blocks)).to_owned(),
    }
}

/// `text` with every closed think block removed, trimmed (the rescue path's first step).
pub(crate) fn strip_think_blocks(text: &str) -> String {
    py_strip(&remove_blocks(text, &think_blocks(text))).to_owned()
}

/// One closed block: `outer` covers the tags, `inner` the thinking between them.
struct ThinkBlock {
    outer: Range<usize>,
    inner: Range<usize>,
}

struct TagFamily<'a> {
    open: NextMatch<'a>,
    open_len: usize,
    close: &'static str,
    /// Set once a closer search failed: no later opener of this family can close either.
    closer_exhausted: bool,
}

impl<'a> TagFamily<'a> {
    fn new(text: &'a str, open: &'static str, close: &'static str) -> Self {
        Self {
            open: NextMatch::new(text, open),
            open_len: open.len(),
            close,
            closer_exhausted: false,
        }
    }

    fn next_opener(&mut self, pos: usize) -> Option<usize> {
        if self.closer_exhausted {
            return None;
        }
        self.open.at_or_after(pos)
    }
}

fn think_blocks(text: &str) -> Vec<ThinkBlock> {
    // The bracket family first: at one position only one family can start, so the order only
    // mirrors the reference's alternation.
    let mut families = [
        TagFamily::new(text, "[THINK]", "[/THINK]"),
        TagFamily::new(text, "<think>", "</think>"),
    ];
    let mut blocks = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        let candidate = families
            .iter_mut()
            .enumerate()
            .filter_map(|(index, family)| family.next_opener(pos).map(|at| (at, index)))
            .min();
        let Some((open_at, index)) = candidate else {
            break;
        };
        let family = &mut families[index];
        let inner_start = open_at + family.open_len;
        match memmem::find(&text.as_bytes()[inner_start..], family.close.as_bytes()) {
            Some(offset) => {
                let inner_end = inner_start + offset;
                let outer_end = inner_end + family.close.len();
                blocks.push(ThinkBlock {
                    outer: open_at..outer_end,
                    inner: inner_start..inner_end,
                });
                pos = outer_end;
            }
            None => {
                family.closer_exhausted = true;
                pos = open_at + 1;
            }
        }
    }
    blocks
}

fn remove_blocks(text: &str, blocks: &[ThinkBlock]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut kept_from = 0;
    for block in blocks {
        out.push_str(&text[kept_from..block.outer.start]);
        kept_from = block.outer.end;
    }
    out.push_str(&text[kept_from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, reasoning: &str, remaining: &str) {
        let split = extract_thinking(input);
        assert_eq!(split.reasoning, reasoning, "reasoning of {input:?}");
        assert_eq!(split.remaining, remaining, "remaining of {input:?}");
    }

    #[test]
    fn think_tag_rules_of_the_shared_helper() {
        let cases: &[(&str, &str, &str)] = &[
            ("no tags here ", "", "no tags here "),
            ("  <think>hmm</think>  answer \n", "hmm", "answer"),
            ("[THINK] a [/THINK]x<think>\nb\n</think>y", "a\n\nb", "xy"),
            ("A [THINK]x[/THINK] B", "x", "A  B"),
            ("<think></think>done", "", "done"),
            ("<think>one</think><think>two</think>", "one\n\ntwo", ""),
            (
                "<think>shortest</think> mid </think>",
                "shortest",
                "mid </think>",
            ),
            (" <think>unclosed", "", " <think>unclosed"),
            ("lone </think> closer ", "", "lone </think> closer "),
            ("[THINK]mismatched</think>", "", "[THINK]mismatched</think>"),
            ("<THINK>caps</THINK>", "", "<THINK>caps</THINK>"),
            (
                "<think>a [THINK]inner[/THINK] b</think>tail",
                "a [THINK]inner[/THINK] b",
                "tail",
            ),
            (
                "<think>never closed [THINK]x[/THINK] rest",
                "x",
                "<think>never closed  rest",
            ),
            ("<think>multi\nline\n</think>\n\nout", "multi\nline", "out"),
            ("<think>é ü</think>ünïcode", "é ü", "ünïcode"),
        ];
        for (input, reasoning, remaining) in cases {
            check(input, reasoning, remaining);
        }
    }

    #[test]
    fn rescue_stripping_trims_even_without_blocks() {
        assert_eq!(strip_think_blocks("  call \n"), "call");
        assert_eq!(strip_think_blocks("<think>x</think>"), "");
    }
}
