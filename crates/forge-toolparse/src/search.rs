//! Repeated forward searches for one needle without rescanning text.

use memchr::memmem::Finder;

/// The next occurrence of a fixed needle at or after a position that only moves forward.
///
/// A scan asks "where is the next `</parameter>` from here?" once per element; searching the
/// whole remainder each time is quadratic when the needle is rare or missing. This remembers
/// the last answer (and that there is none past a point), so the text is searched once.
pub(crate) struct NextMatch<'a> {
    haystack: &'a [u8],
    finder: Finder<'static>,
    /// `Some(answer)` for the search last made; `Some(None)` means no occurrence from there on.
    last: Option<Option<usize>>,
}

impl<'a> NextMatch<'a> {
    pub(crate) fn new(haystack: &'a str, needle: &'static str) -> Self {
        Self {
            haystack: haystack.as_bytes(),
            finder: Finder::new(needle.as_bytes()),
            last: None,
        }
    }

    /// The byte offset of the first occurrence starting at or after `pos`.
    pub(crate) fn at_or_after(&mut self, pos: usize) -> Option<usize> {
        match self.last {
            Some(Some(found)) if found >= pos => Some(found),
            Some(None) => None,
            _ => {
                let found = self
                    .haystack
                    .get(pos..)
                    .and_then(|rest| self.finder.find(rest))
                    .map(|offset| pos + offset);
                self.last = Some(found);
                found
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_follow_the_position() {
        let mut next = NextMatch::new("ab--ab--", "ab");
        assert_eq!(next.at_or_after(0), Some(0));
        assert_eq!(next.at_or_after(0), Some(0));
        assert_eq!(next.at_or_after(1), Some(4));
        assert_eq!(next.at_or_after(5), None);
        assert_eq!(next.at_or_after(9), None);
    }
}
