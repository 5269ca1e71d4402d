//! The last lines a server wrote, kept so a failed start can say why.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::task::JoinHandle;

/// Lines kept per server.
pub(crate) const TAIL_LINES: usize = 40;
/// Characters kept per line; longer lines are cut.
const LINE_CHARS: usize = 1_000;

/// A bounded ring of the most recent output lines, shared by the reader tasks and the owner.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutputTail {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl OutputTail {
    fn push(&self, line: String) {
        // A panicking reader cannot leave the ring half-written, so a poisoned lock is usable.
        let mut lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The kept lines, oldest first, joined with newlines; `(no output)` when there are none.
    pub(crate) fn render(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(PoisonError::into_inner);
        if lines.is_empty() {
            return "(no output)".to_owned();
        }
        lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads `stream` line by line until EOF, keeping each line and logging it at debug level.
    /// Reading continuously also keeps the child from blocking on a full pipe.
    pub(crate) fn spawn_reader<R>(&self, stream: R, pid: u32, name: &'static str) -> JoinHandle<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let tail = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buf);
                        let line: String = text.trim_end().chars().take(LINE_CHARS).collect();
                        tracing::debug!(target: "forge_managed::server_output", pid, stream = name, "{line}");
                        tail.push(line);
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_only_the_newest_lines() {
        let tail = OutputTail::default();
        assert_eq!(tail.render(), "(no output)");
        for i in 0..TAIL_LINES + 5 {
            tail.push(format!("line {i}"));
        }
        let rendered = tail.render();
        assert_eq!(rendered.lines().count(), TAIL_LINES);
        assert!(rendered.starts_with("line 5\n"));
        assert!(rendered.ends_with(&format!("line {}", TAIL_LINES + 4)));
    }
}
