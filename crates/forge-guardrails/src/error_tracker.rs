//! The two consecutive-failure budgets: bad model responses and failing tool batches.

/// Bad responses allowed in a row before the next one is fatal.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Failing tool batches allowed in a row before the next one is fatal.
pub const DEFAULT_MAX_TOOL_ERRORS: u32 = 2;

/// Counts consecutive retries and consecutive hard tool failures.
///
/// Never nudges and never fails by itself: callers ask whether a budget is exhausted and
/// decide. "N allowed, N+1-th exhausts": with `max_retries = 3` the 4th consecutive bad
/// response exhausts the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorTracker {
    max_retries: u32,
    max_tool_errors: u32,
    consecutive_retries: u32,
    consecutive_tool_errors: u32,
}

impl Default for ErrorTracker {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RETRIES, DEFAULT_MAX_TOOL_ERRORS)
    }
}

impl ErrorTracker {
    /// A tracker with both counters at zero.
    pub fn new(max_retries: u32, max_tool_errors: u32) -> Self {
        Self {
            max_retries,
            max_tool_errors,
            consecutive_retries: 0,
            consecutive_tool_errors: 0,
        }
    }

    /// Counts one bad response.
    pub fn record_retry(&mut self) {
        self.consecutive_retries = self.consecutive_retries.saturating_add(1);
    }

    /// Forgets bad responses (after a valid one).
    pub fn reset_retries(&mut self) {
        self.consecutive_retries = 0;
    }

    /// Counts one tool outcome: a hard failure adds one; a success or a soft (resolution)
    /// failure changes nothing. A single success does not reset the count: callers reset after
    /// a whole batch without hard failures ([`ErrorTracker::reset_errors`]).
    pub fn record_result(&mut self, success: bool, soft: bool) {
        if !success && !soft {
            self.consecutive_tool_errors = self.consecutive_tool_errors.saturating_add(1);
        }
    }

    /// Forgets tool failures (after a batch without hard failures).
    pub fn reset_errors(&mut self) {
        self.consecutive_tool_errors = 0;
    }

    /// True once consecutive bad responses exceed `max_retries`.
    pub fn retries_exhausted(&self) -> bool {
        self.consecutive_retries > self.max_retries
    }

    /// True once consecutive failing batches exceed `max_tool_errors`.
    pub fn tool_errors_exhausted(&self) -> bool {
        self.consecutive_tool_errors > self.max_tool_errors
    }

    /// Consecutive bad responses so far.
    pub fn consecutive_retries(&self) -> u32 {
        self.consecutive_retries
    }

    /// Consecutive failing batches so far.
    pub fn consecutive_tool_errors(&self) -> u32 {
        self.consecutive_tool_errors
    }

    /// The retry allowance.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The tool-error allowance.
    pub fn max_tool_errors(&self) -> u32 {
        self.max_tool_errors
    }
}
