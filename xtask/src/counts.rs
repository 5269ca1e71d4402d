//! Test counts read from the closing lines of nextest and libtest.

use std::fmt;
use std::ops::AddAssign;

/// How many tests a runner reported as passed, failed and skipped (ignored or filtered out by nextest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TestCounts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl TestCounts {
    /// Tests that actually ran.
    pub fn ran(&self) -> u64 {
        self.passed + self.failed
    }
}

impl AddAssign for TestCounts {
    fn add_assign(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

impl fmt::Display for TestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// The number written just before `word` in `line` (`"12 passed"` → 12 for `passed`).
fn number_before(line: &str, word: &str) -> Option<u64> {
    let tokens: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':')
        .filter(|token| !token.is_empty())
        .collect();
    tokens
        .windows(2)
        .find(|pair| pair[1] == word)
        .and_then(|pair| pair[0].parse().ok())
}

/// Counts from nextest's summary line, e.g.
/// `Summary [   1.2s] 25 tests run: 24 passed, 1 failed, 3 skipped`.
pub fn parse_nextest(output: &str) -> Option<TestCounts> {
    let line = output
        .lines()
        .rev()
        .find(|line| line.contains("Summary [") && line.contains(" run: "))?;
    Some(TestCounts {
        passed: number_before(line, "passed").unwrap_or(0),
        failed: number_before(line, "failed").unwrap_or(0),
        skipped: number_before(line, "skipped").unwrap_or(0),
    })
}

/// Counts summed over every libtest `test result:` line (one per test binary and for doc-tests).
pub fn parse_libtest(output: &str) -> Option<TestCounts> {
    let mut total: Option<TestCounts> = None;
    for line in output
        .lines()
        .filter(|line| line.starts_with("test result: "))
    {
        let counts = TestCounts {
            passed: number_before(line, "passed").unwrap_or(0),
            failed: number_before(line, "failed").unwrap_or(0),
            skipped: number_before(line, "ignored").unwrap_or(0),
        };
        *total.get_or_insert_with(TestCounts::default) += counts;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(passed: u64, failed: u64, skipped: u64) -> TestCounts {
        TestCounts {
            passed,
            failed,
            skipped,
        }
    }

    #[test]
    fn nextest_summary_lines_give_counts() {
        let cases: &[(&str, Option<TestCounts>)] = &[
            (
                "     Summary [   0.412s] 25 tests run: 25 passed, 3 skipped",
                Some(counts(25, 0, 3)),
            ),
            (
                "     Summary [   2.000s] 5 tests run: 4 passed, 1 failed, 40 skipped",
                Some(counts(4, 1, 40)),
            ),
            (
                "     Summary [   0.010s] 1 test run: 1 passed, 0 skipped",
                Some(counts(1, 0, 0)),
            ),
            (
                "     Summary [   0.100s] 3 tests run: 1 passed (1 slow), 2 failed",
                Some(counts(1, 2, 0)),
            ),
            ("    Finished `test` profile", None),
        ];
        for (output, expected) in cases {
            assert_eq!(parse_nextest(output), *expected, "{output}");
        }
    }

    #[test]
    fn libtest_result_lines_are_summed_over_binaries() {
        let output = "\
running 2 tests
test result: ok. 2 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s

test result: FAILED. 3 passed; 1 failed; 0 ignored; 0 measured; 5 filtered out; finished in 0.01s
";
        assert_eq!(parse_libtest(output), Some(counts(5, 1, 1)));
        assert_eq!(parse_libtest("error: could not compile"), None);
    }

    #[test]
    fn ran_counts_passed_and_failed_only() {
        assert_eq!(counts(4, 1, 40).ran(), 5);
    }
}
