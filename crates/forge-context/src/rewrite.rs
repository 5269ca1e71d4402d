//! Applying per-message decisions to a history without breaking call/reply pairing.

use std::collections::HashSet;

use forge_types::{CallId, Message, MessageType};

use crate::CompactionChanges;

/// Tool results longer than this many characters are truncated by phase 1.
pub const TRUNCATE_CHARS: usize = 200;

const TRUNCATION_MARKER: &str = "\n[Truncated — ";
const TRUNCATION_TAIL: &str = " chars removed]";

/// What a strategy wants done with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Keep,
    Drop,
    /// Truncate the content if it is longer than [`TRUNCATE_CHARS`].
    Truncate,
}

/// A history rewritten by [`apply`], with what changed.
pub(crate) struct Rewritten {
    pub(crate) messages: Vec<Message>,
    pub(crate) changes: CompactionChanges,
}

/// Applies `actions` (one per message) to `messages`, or `None` when nothing would change.
///
/// Pairing is kept intact whatever the actions say: a dropped reply whose assistant tool call
/// stays is replaced by a placeholder reply, and a kept reply whose call was dropped goes too.
pub(crate) fn apply(messages: &[Message], actions: &[Action]) -> Option<Rewritten> {
    debug_assert_eq!(messages.len(), actions.len());
    let mut kept_calls: HashSet<&CallId> = HashSet::new();
    let mut dropped_calls: HashSet<&CallId> = HashSet::new();
    for (message, action) in messages.iter().zip(actions) {
        let calls = message
            .tool_calls
            .iter()
            .flatten()
            .map(|call| &call.call_id);
        match action {
            Action::Drop => dropped_calls.extend(calls),
            Action::Keep | Action::Truncate => kept_calls.extend(calls),
        }
    }
    let answers = |message: &Message, calls: &HashSet<&CallId>| {
        message
            .tool_call_id
            .as_ref()
            .is_some_and(|id| calls.contains(id))
    };

    let mut changes = CompactionChanges::default();
    let mut out = Vec::with_capacity(messages.len());
    for (message, action) in messages.iter().zip(actions) {
        match action {
            Action::Drop if answers(message, &kept_calls) => {
                out.push(placeholder_for(message));
                changes.placeholders += 1;
            }
            Action::Drop => changes.dropped += 1,
            Action::Keep | Action::Truncate
                if answers(message, &dropped_calls) && !answers(message, &kept_calls) =>
            {
                changes.dropped += 1;
            }
            Action::Truncate => match truncate_tool_result(&message.content) {
                Some(content) => {
                    out.push(Message {
                        content,
                        ..message.clone()
                    });
                    changes.truncated += 1;
                }
                None => out.push(message.clone()),
            },
            Action::Keep => out.push(message.clone()),
        }
    }
    (!changes.is_empty()).then_some(Rewritten {
        messages: out,
        changes,
    })
}

/// The phase-1 form of a tool result: its first [`TRUNCATE_CHARS`] characters and a marker
/// saying how many were removed, or `None` when it is short enough or was truncated before.
///
/// Re-truncating an already truncated result would replace the real count with the marker's
/// own length, so a result carrying the marker is left alone.
pub(crate) fn truncate_tool_result(content: &str) -> Option<String> {
    let total = content.chars().count();
    if total <= TRUNCATE_CHARS || is_truncated(content) {
        return None;
    }
    let kept: String = content.chars().take(TRUNCATE_CHARS).collect();
    let removed = total - TRUNCATE_CHARS;
    Some(format!(
        "{kept}{TRUNCATION_MARKER}{removed}{TRUNCATION_TAIL}"
    ))
}

fn is_truncated(content: &str) -> bool {
    let Some(rest) = content.strip_suffix(TRUNCATION_TAIL) else {
        return false;
    };
    let Some(marker_at) = rest.rfind(TRUNCATION_MARKER) else {
        return false;
    };
    let count = &rest[marker_at + TRUNCATION_MARKER.len()..];
    !count.is_empty()
        && count.bytes().all(|b| b.is_ascii_digit())
        && rest[..marker_at].chars().count() == TRUNCATE_CHARS
}

/// A short reply standing in for a removed one, keeping its tool name and call id.
///
/// Tagged [`MessageType::Summary`] with the removed type as `original_type`, so later
/// compactions keep it as it is.
fn placeholder_for(message: &Message) -> Message {
    let original = message.metadata.kind();
    let what = match original {
        MessageType::ToolResult => "tool result",
        MessageType::StepNudge | MessageType::PrerequisiteNudge | MessageType::RetryNudge => {
            "correction"
        }
        _ => "message",
    };
    let mut metadata = MessageType::Summary.meta().with_original_type(original);
    if let Some(step) = message.metadata.step_index() {
        metadata = metadata.with_step(step);
    }
    Message {
        content: format!("[Compacted — earlier {what} removed to save context]"),
        metadata,
        ..message.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_code_points_and_cuts_on_char_boundaries() {
        let content = "ü".repeat(250);
        let truncated = truncate_tool_result(&content).unwrap();
        assert_eq!(
            truncated,
            format!("{}\n[Truncated — 50 chars removed]", "ü".repeat(200))
        );
    }

    #[test]
    fn truncation_leaves_short_and_already_truncated_results_alone() {
        assert_eq!(truncate_tool_result(&"x".repeat(200)), None);
        let once = truncate_tool_result(&"x".repeat(1000)).unwrap();
        assert_eq!(truncate_tool_result(&once), None);
        // A marker that does not follow exactly 200 characters is ordinary text.
        let lookalike = format!("{}\n[Truncated — 5 chars removed]", "y".repeat(250));
        assert!(truncate_tool_result(&lookalike).is_some());
    }
}
