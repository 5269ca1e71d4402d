//! Finding balanced `{…}` spans in free text, string-aware and in linear time.
//!
//! The parsers need, for a `{` at some position, the `}` that balances it when one scans
//! forward from that `{` alone: braces count only outside JSON strings, a `"` opens or closes
//! a string, and inside a string a `\` makes the next character literal. The reference ran
//! that scan afresh from every `{` and moved on by one character when it found no balance,
//! which is quadratic on text with many unclosed braces (and a megabyte of prose or code has
//! plenty).
//!
//! [`BraceIndex`] answers the question for every `{` of a text in one pass. The insight: a
//! scan started at any `{` is always in one of three lexical states (in code, in a string,
//! just after a backslash in a string), and two scans that reach the same state at the same
//! position behave identically from then on. So the pass keeps at most three *lanes*, one per
//! state, each holding the scans that are currently in that state with their depths. A new
//! `{` joins the code lane; a `}` in code closes the lane's scans whose depth drops to zero;
//! when two lanes fall into the same state they merge (the smaller into the larger). The
//! result is exactly what the fresh per-`{` scans would find. The pass is linear in the text;
//! a merge (it takes a backslash-escaped quote that re-synchronises two scans) costs the
//! depth range the two lanes share, which on real text is a few levels.

/// For every `{` of a text, the byte offset of the `}` that balances it, if any.
#[derive(Debug, Clone, Default)]
pub(crate) struct BraceIndex {
    /// Byte offsets of every `{`, ascending.
    openers: Vec<usize>,
    /// `closes[i]` balances `openers[i]`; [`NO_CLOSE`] when nothing does.
    closes: Vec<usize>,
}

/// The `closes` entry of an opener that never balances (a `}` is never at `usize::MAX`).
const NO_CLOSE: usize = usize::MAX;

/// The lexical state of a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lex {
    Code = 0,
    Str = 1,
    StrEscape = 2,
}

/// Scans that are in the same lexical state and will stay together from here on.
///
/// A scan's depth is `counter - key`: it joins with key = counter (then the counter steps to
/// make its depth 1), so the scans in a lane are keyed in depth order without touching them
/// when the lane's depth changes. `pending` is sorted by key: a new opener always has the
/// highest key, and the ones a `}` balances are always at the end.
#[derive(Debug, Default)]
struct Lane {
    counter: i64,
    /// (key, opener id), ascending by key; a key repeats only after a merge.
    pending: Vec<(i64, usize)>,
}

impl Lane {
    fn open(&mut self, id: usize) {
        self.pending.push((self.counter, id));
        self.counter += 1;
    }

    /// A `}` in code: every scan goes one level up; those at depth zero are balanced here.
    fn close(&mut self, at: usize, closes: &mut [usize]) {
        self.counter -= 1;
        while let Some(&(key, id)) = self.pending.last() {
            if key != self.counter {
                break;
            }
            closes[id] = at;
            self.pending.pop();
        }
    }

    /// Takes in the scans of `other`, which from now on share this lane's future.
    ///
    /// Only the part of this lane at or above `other`'s lowest key is re-sorted: the scans no
    /// deeper than `other`'s deepest. On real text `other` is a handful of fresh, shallow
    /// scans and this is an append.
    fn absorb(&mut self, other: Lane) {
        let shift = self.counter - other.counter;
        let Some(lowest) = other.pending.first().map(|(key, _)| key + shift) else {
            return;
        };
        let split = self.pending.partition_point(|(key, _)| *key < lowest);
        let mut mine = self.pending.split_off(split).into_iter().peekable();
        let mut theirs = other
            .pending
            .into_iter()
            .map(|(key, id)| (key + shift, id))
            .peekable();
        loop {
            let take_mine = match (mine.peek(), theirs.peek()) {
                (Some(a), Some(b)) => a.0 <= b.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let next = if take_mine {
                mine.next()
            } else {
                theirs.next()
            };
            self.pending.extend(next);
        }
    }
}

fn is_lexically_significant(byte: u8) -> bool {
    matches!(byte, b'{' | b'}' | b'"' | b'\\')
}

fn merge(a: Option<Lane>, b: Option<Lane>) -> Option<Lane> {
    match (a, b) {
        (Some(mut a), Some(b)) if a.pending.len() >= b.pending.len() => {
            a.absorb(b);
            Some(a)
        }
        (Some(a), Some(mut b)) => {
            b.absorb(a);
            Some(b)
        }
        (a, b) => a.or(b),
    }
}

impl BraceIndex {
    /// Indexes every `{` of `text`.
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        // Sized once: on brace-heavy text these tables are the pass's main memory traffic.
        let opener_count = memchr::memchr_iter(b'{', bytes).count();
        let mut index = Self {
            openers: Vec::with_capacity(opener_count),
            closes: Vec::with_capacity(opener_count),
        };
        let mut lanes: [Option<Lane>; 3] = [None, None, None];
        let mut pos = 0;
        while pos < bytes.len() {
            if lanes.iter().all(Option::is_none) {
                // No scan is running: only the next `{` can start one.
                match memchr::memchr(b'{', &bytes[pos..]) {
                    Some(offset) => pos += offset,
                    None => break,
                }
            } else if lanes[Lex::StrEscape as usize].is_none() {
                // Without a pending escape only braces, quotes and backslashes change a lane.
                match bytes[pos..]
                    .iter()
                    .position(|&b| is_lexically_significant(b))
                {
                    Some(offset) => pos += offset,
                    None => break,
                }
            }
            let byte = bytes[pos];
            match byte {
                b'"' => {
                    let code = lanes[Lex::Code as usize].take();
                    let string = lanes[Lex::Str as usize].take();
                    let escaped = lanes[Lex::StrEscape as usize].take();
                    lanes[Lex::Str as usize] = merge(code, escaped);
                    lanes[Lex::Code as usize] = string;
                }
                b'\\' => {
                    let string = lanes[Lex::Str as usize].take();
                    let escaped = lanes[Lex::StrEscape as usize].take();
                    lanes[Lex::StrEscape as usize] = string;
                    lanes[Lex::Str as usize] = escaped;
                }
                _ => {
                    let escaped = lanes[Lex::StrEscape as usize].take();
                    if escaped.is_some() {
                        let string = lanes[Lex::Str as usize].take();
                        lanes[Lex::Str as usize] = merge(string, escaped);
                    }
                    if byte == b'{' {
                        let id = index.openers.len();
                        index.openers.push(pos);
                        index.closes.push(NO_CLOSE);
                        lanes[Lex::Code as usize]
                            .get_or_insert_with(Lane::default)
                            .open(id);
                    } else if byte == b'}' {
                        if let Some(lane) = lanes[Lex::Code as usize].as_mut() {
                            lane.close(pos, &mut index.closes);
                            if lane.pending.is_empty() {
                                lanes[Lex::Code as usize] = None;
                            }
                        }
                    }
                }
            }
            pos += 1;
        }
        index
    }

    /// Byte offsets of every `{` with the `}` balancing it, in text order.
    pub(crate) fn spans(&self) -> impl Iterator<Item = (usize, Option<usize>)> + '_ {
        self.openers.iter().copied().zip(
            self.closes
                .iter()
                .map(|&close| (close != NO_CLOSE).then_some(close)),
        )
    }

    /// The `}` balancing the `{` at byte offset `open` (`None` if unbalanced or not a `{`).
    pub(crate) fn close_of(&self, open: usize) -> Option<usize> {
        let id = self.openers.binary_search(&open).ok()?;
        let close = self.closes[id];
        (close != NO_CLOSE).then_some(close)
    }
}

/// The balanced, non-overlapping `{…}` spans of a text, left to right: from each `{` that
/// balances, the span up to its `}` (the next span starts after it); an unbalanced `{` is
/// passed over so a later complete object is still found.
pub(crate) fn top_level_spans(index: &BraceIndex) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut next_free = 0;
    for (open, close) in index.spans() {
        if open < next_free {
            continue;
        }
        if let Some(close) = close {
            spans.push((open, close));
            next_free = close + 1;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition: a fresh scan from the `{` at `open`.
    fn naive_close(text: &str, open: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for (pos, byte) in text.bytes().enumerate().skip(open) {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(pos);
                    }
                }
                _ => {}
            }
        }
        None
    }

    fn check_against_naive(text: &str) {
        let index = BraceIndex::new(text);
        let openers: Vec<usize> = text.match_indices('{').map(|(at, _)| at).collect();
        assert_eq!(index.openers, openers, "openers of {text:?}");
        for open in openers {
            assert_eq!(
                index.close_of(open),
                naive_close(text, open),
                "close of {{ at {open} in {text:?}"
            );
        }
    }

    #[test]
    fn lanes_agree_with_fresh_scans() {
        let cases = [
            r#"{"a": "}"}"#,
            r#"{"a": "{"}"#,
            r#"{ {"tool": "x", "args": {}}"#,
            r#"{"s": "say \"hi\" {"}, {"t": 1}}"#,
            r#"{"x": "a\\"} "b{"}"#,
            r#"{ it's 5" long } {"tool": "f", "args": {}} "}"#,
            r#"{{{{ "\" {}} "\\" }"#,
            r#"{"a": "\"\\\"{"}"#,
            "{\"é\": \"ü{\"}}",
            r#"}{"}{"\{"}{\"}"#,
            "",
            "no braces",
        ];
        for case in cases {
            check_against_naive(case);
        }
    }

    #[test]
    fn lanes_agree_with_fresh_scans_on_every_short_string() {
        let alphabet = [b'{', b'}', b'"', b'\\', b'a'];
        let mut text = Vec::new();
        for len in 0..=7u32 {
            for mut code in 0..alphabet.len().pow(len) {
                text.clear();
                for _ in 0..len {
                    text.push(alphabet[code % alphabet.len()]);
                    code /= alphabet.len();
                }
                check_against_naive(std::str::from_utf8(&text).unwrap());
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn lanes_agree_with_fresh_scans_on_long_random_text(
            text in "[{}\"\\\\ a]{0,200}"
        ) {
            check_against_naive(&text);
        }
    }

    #[test]
    fn unbalanced_openers_are_passed_over() {
        let text = r#"{ note {"a": 1} {"b": "}"}"#;
        let spans = top_level_spans(&BraceIndex::new(text));
        assert_eq!(spans, vec![(7, 14), (16, 25)]);
    }
}
