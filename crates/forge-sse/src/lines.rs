//! Splitting a byte stream into lines, whatever the chunk boundaries.

use memchr::memchr2;

/// Cuts bytes into lines ending at LF, CRLF or a lone CR; the terminator is not part of the line.
///
/// A CR at the very end of a chunk ends its line at once; an LF that opens the next chunk is then
/// recognised as the second half of that CRLF, so every split of the input gives the same lines.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    partial: Vec<u8>,
    after_cr: bool,
}

impl LineSplitter {
    /// Feeds `chunk`, calling `on_line` for every line it completes.
    pub(crate) fn push(&mut self, chunk: &[u8], mut on_line: impl FnMut(&[u8])) {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(pos) = memchr2(b'\n', b'\r', rest) {
            if self.partial.is_empty() {
                on_line(&rest[..pos]);
            } else {
                self.partial.extend_from_slice(&rest[..pos]);
                on_line(&self.partial);
                self.partial.clear();
            }
            let ended_with_cr = rest[pos] == b'\r';
            rest = &rest[pos + 1..];
            if ended_with_cr {
                match rest.first() {
                    None => self.after_cr = true,
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                }
            }
        }
        self.partial.extend_from_slice(rest);
    }

    /// Ends the input: a last line without terminator is still a line.
    pub(crate) fn finish(self, mut on_line: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            on_line(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |line| {
                lines.push(String::from_utf8_lossy(line).into_owned())
            });
        }
        splitter.finish(|line| lines.push(String::from_utf8_lossy(line).into_owned()));
        lines
    }

    #[test]
    fn every_line_ending_ends_a_line_and_crlf_split_counts_once() {
        let cases: &[(&[&[u8]], &[&str])] = &[
            (&[b"a\nb\r\nc\rd"], &["a", "b", "c", "d"]),
            (&[b"a\r", b"\nb"], &["a", "b"]),
            (&[b"a\r", b"", b"\nb"], &["a", "b"]),
            (&[b"a\r", b"\r\nb"], &["a", "", "b"]),
            (&[b"a\n\n"], &["a", ""]),
            (&[b"ab", b"cd\n", b"e"], &["abcd", "e"]),
            (&[b""], &[]),
        ];
        for (chunks, expected) in cases {
            assert_eq!(lines_of(chunks), *expected, "chunks {chunks:?}");
        }
    }
}
