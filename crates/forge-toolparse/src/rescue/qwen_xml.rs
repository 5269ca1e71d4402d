//! Qwen-coder XML: `<function=name><parameter=key>value</parameter>…</function>`.

use forge_types::{JsonObject, ToolCall, ToolSpec};
use memchr::memmem;

use crate::json_scan::BraceIndex;
use crate::py_text::is_py_space;
use crate::search::NextMatch;

use super::coerce::coerce_parameter;

const FUNCTION_OPEN: &str = "<function=";
const FUNCTION_CLOSE: &str = "</function>";
const PARAMETER_OPEN: &str = "<parameter=";
const PARAMETER_CLOSE: &str = "</parameter>";

/// Every `<function=…>` block naming a known tool, in text order.
///
/// A block is `<function=NAME>` (NAME: no `>`, no whitespace) up to the *first* following
/// `</function>`; an opener with no closer after it is not a block. An outer `<tool_call>`
/// wrapper and text between parameters are ignored. Within a block, each `<parameter=KEY>`
/// value runs to the earliest of `</parameter>`, the next `<parameter=` or the block's end
/// (before a final newline); one leading and one trailing `\n` are dropped (a `\r\n` is not a
/// newline here), spaces are kept, and a repeated key keeps its first position with the last
/// value. Values are typed by the tool's schema (see `coerce_parameter`); the reference left
/// them all strings. XML entities are not decoded: Qwen-coder writes values raw.
pub(super) fn parse(text: &str, _index: &BraceIndex, tools: &[ToolSpec]) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let opener = memmem::Finder::new(FUNCTION_OPEN);
    let mut closer = NextMatch::new(text, FUNCTION_CLOSE);
    let mut search_from = 0;
    while let Some(offset) = opener.find(&text.as_bytes()[search_from..]) {
        let open_at = search_from + offset;
        let Some(tag) = tag_value(text, open_at + FUNCTION_OPEN.len()) else {
            break;
        };
        let (name, body_start) = match tag {
            Tag::Named { value, end } => (value, end),
            Tag::Unnamed { resume_at } => {
                search_from = resume_at.max(open_at + 1);
                continue;
            }
        };
        let Some(body_end) = closer.at_or_after(body_start) else {
            break;
        };
        search_from = body_end + FUNCTION_CLOSE.len();
        if let Some(tool) = tools.iter().find(|tool| tool.name == name) {
            let args = parameters(&text[body_start..body_end])
                .into_iter()
                .map(|(key, raw)| {
                    let value = coerce_parameter(tool, &key, raw);
                    (key, value)
                })
                .collect::<JsonObject>();
            calls.push(ToolCall::new(name, args));
        }
    }
    calls
}

/// What follows `<function=` or `<parameter=`.
enum Tag<'a> {
    /// A non-empty value closed by `>`; `end` is the byte after the `>`.
    Named { value: &'a str, end: usize },
    /// Not a tag (empty value, or whitespace before `>`): no opener before `resume_at` can be
    /// one either.
    Unnamed { resume_at: usize },
}

/// Reads the tag value starting at `start`; `None` when the text ends before any `>` or
/// whitespace (then no later opener can be a tag either).
fn tag_value(text: &str, start: usize) -> Option<Tag<'_>> {
    let rest = &text[start..];
    let (len, stop) = rest
        .char_indices()
        .find(|(_, c)| *c == '>' || is_py_space(*c))?;
    Some(if len > 0 && stop == '>' {
        Tag::Named {
            value: &rest[..len],
            end: start + len + 1,
        }
    } else {
        Tag::Unnamed {
            resume_at: start + len,
        }
    })
}

/// The `(key, raw value)` pairs of a function body, in order, later duplicates replacing
/// earlier values.
fn parameters(body: &str) -> TextParameters {
    let mut found = TextParameters::new();
    let opener = memmem::Finder::new(PARAMETER_OPEN);
    let mut next_open = NextMatch::new(body, PARAMETER_OPEN);
    let mut next_close = NextMatch::new(body, PARAMETER_CLOSE);
    let mut search_from = 0;
    while let Some(offset) = opener.find(&body.as_bytes()[search_from..]) {
        let open_at = search_from + offset;
        let Some(tag) = tag_value(body, open_at + PARAMETER_OPEN.len()) else {
            break;
        };
        let (key, value_start) = match tag {
            Tag::Named { value, end } => (value, end),
            Tag::Unnamed { resume_at } => {
                search_from = resume_at.max(open_at + 1);
                continue;
            }
        };
        let close = next_close.at_or_after(value_start);
        let next = next_open.at_or_after(value_start);
        let (value_end, resume) = match (close, next) {
            (Some(close), Some(next)) if next < close => (next, next),
            (Some(close), _) => (close, close + PARAMETER_CLOSE.len()),
            (None, Some(next)) => (next, next),
            (None, None) => {
                // Python's `$` also matches just before a final newline.
                let end = if body.ends_with('\n') && value_start < body.len() {
                    body.len() - 1
                } else {
                    body.len()
                };
                (end, end)
            }
        };
        found.insert(key, trim_one_newline(&body[value_start..value_end]));
        search_from = resume;
    }
    found
}

/// Ordered key → text pairs where a repeated key keeps its place and takes the new value.
struct TextParameters(Vec<(String, String)>);

impl TextParameters {
    fn new() -> Self {
        Self(Vec::new())
    }

    fn insert(&mut self, key: &str, value: &str) {
        match self.0.iter_mut().find(|(existing, _)| existing == key) {
            Some((_, slot)) => *slot = value.to_owned(),
            None => self.0.push((key.to_owned(), value.to_owned())),
        }
    }
}

impl IntoIterator for TextParameters {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

fn trim_one_newline(value: &str) -> &str {
    let value = value.strip_prefix('\n').unwrap_or(value);
    value.strip_suffix('\n').unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_parameters(body: &str) -> Vec<(String, String)> {
        parameters(body).into_iter().collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parameter_values_end_where_the_reference_pattern_ends_them() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("<parameter=q>v</parameter>", &[("q", "v")]),
            ("<parameter=q>\nv\n</parameter>", &[("q", "v")]),
            ("<parameter=q>\n\nv\n\n</parameter>", &[("q", "\nv\n")]),
            ("<parameter=q>\r\nv\r\n</parameter>", &[("q", "\r\nv\r")]),
            ("<parameter=a>1<parameter=b>2", &[("a", "1"), ("b", "2")]),
            ("<parameter=q>value", &[("q", "value")]),
            ("<parameter=q>value\n", &[("q", "value")]),
            ("<parameter=q>value\n\n", &[("q", "value")]),
            ("<parameter=q>", &[("q", "")]),
            ("<parameter=q>\n", &[("q", "")]),
            ("<parameter= a>x</parameter>", &[]),
            ("<parameter=a>1<parameter= b>2", &[("a", "1")]),
            (
                "<parameter=a>1</parameter><parameter=a>2</parameter>",
                &[("a", "2")],
            ),
            ("<parameter=a b>x", &[]),
            ("<parameter=a", &[]),
            (
                "noise <parameter=k>  spaced  </parameter> noise",
                &[("k", "  spaced  ")],
            ),
            ("<parameter=<parameter=k>v", &[("<parameter=k", "v")]),
        ];
        for (body, expected) in cases {
            assert_eq!(raw_parameters(body), pairs(expected), "body {body:?}");
        }
    }

    #[test]
    fn repeated_keys_keep_their_first_position() {
        assert_eq!(
            raw_parameters("<parameter=a>1<parameter=b>2<parameter=a>3"),
            pairs(&[("a", "3"), ("b", "2")])
        );
    }
}
