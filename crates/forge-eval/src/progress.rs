//! A progress line for batch runs on stderr: runs done, pass rate so far, ETA, current run.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// `[D d ]HH:MM:SS`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let clock = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if days > 0 {
        format!("{days}d {clock}")
    } else {
        clock
    }
}

/// Progress of a batch: counts and timing, rendered as one line.
#[derive(Debug, Clone)]
pub struct Progress {
    total: u64,
    done: u64,
    correct: u64,
    started: Instant,
    elapsed_in_runs: Duration,
    interactive: bool,
}

impl Progress {
    /// Progress over `total` runs; draws in place when stderr is a terminal, else one line per run.
    pub fn new(total: u64) -> Self {
        Self {
            total,
            done: 0,
            correct: 0,
            started: Instant::now(),
            elapsed_in_runs: Duration::ZERO,
            interactive: std::io::stderr().is_terminal(),
        }
    }

    /// Records a finished run that took `elapsed`.
    pub fn record(&mut self, correct: bool, elapsed: Duration) {
        self.done += 1;
        self.correct += u64::from(correct);
        self.elapsed_in_runs += elapsed;
    }

    /// Runs done.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// The ETA from the mean duration of the runs so far (`None` before the first run).
    pub fn eta(&self) -> Option<Duration> {
        if self.done == 0 {
            return None;
        }
        let remaining = self.total.saturating_sub(self.done);
        let per_run = self.elapsed_in_runs.as_secs_f64() / self.done as f64;
        Some(Duration::from_secs_f64(per_run * remaining as f64))
    }

    /// The line: `[#####-----] 12/60  20% | pass 41.7% | ETA 00:03:12 | <current>`.
    pub fn render(&self, current: &str) -> String {
        const WIDTH: u64 = 24;
        let filled = (self.done * WIDTH)
            .checked_div(self.total)
            .map_or(WIDTH, |f| f.min(WIDTH));
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '#' } else { '-' })
            .collect();
        let percent = (self.done * 100).checked_div(self.total).unwrap_or(100);
        let pass = if self.done == 0 {
            "—".to_owned()
        } else {
            format!("{:.1}%", self.correct as f64 * 100.0 / self.done as f64)
        };
        let eta = self.eta().map_or_else(|| "—".to_owned(), format_duration);
        format!(
            "[{bar}] {}/{} {percent:>3}% | pass {pass} | ETA {eta} | elapsed {} | {current}",
            self.done,
            self.total,
            format_duration(self.started.elapsed())
        )
    }

    /// Draws the line on stderr.
    pub fn draw(&self, current: &str) {
        let line = self.render(current);
        let mut err = std::io::stderr().lock();
        if self.interactive {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    /// Ends the in-place line.
    pub fn finish(&self) {
        if self.interactive {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_format_as_clock_with_days() {
        assert_eq!(format_duration(Duration::from_secs(0)), "00:00:00");
        assert_eq!(
            format_duration(Duration::from_secs(3 * 3600 + 62)),
            "03:01:02"
        );
        assert_eq!(
            format_duration(Duration::from_secs(86_400 + 5)),
            "1d 00:00:05"
        );
    }

    #[test]
    fn eta_extrapolates_the_mean_run_time() {
        let mut progress = Progress::new(10);
        assert_eq!(progress.eta(), None);
        progress.record(true, Duration::from_secs(4));
        progress.record(false, Duration::from_secs(6));
        assert_eq!(progress.eta(), Some(Duration::from_secs(40)));
        let line = progress.render("basic_2step [reforged]");
        assert!(
            line.starts_with("[####--------------------] 2/10  20% | pass 50.0% | ETA 00:00:40"),
            "{line}"
        );
        assert!(line.ends_with("| basic_2step [reforged]"), "{line}");
    }
}
