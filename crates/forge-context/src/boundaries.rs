//! Where the compactable part of a history ends.

use forge_types::Message;

/// Messages before this index (the system prompt and the user input) are never compacted.
pub(crate) const PROTECTED_HEAD: usize = 2;

/// The end of the *eligible zone* `[2, end)`: everything from the returned index on is the
/// protected recent window of `keep_recent` loop iterations.
///
/// Iterations are told apart by `step_index`: walking `messages[2..]`, the step indices form a
/// sequence in which only *consecutive* repeats collapse (`0, 0, 1, 0` gives `[0, 1, 0]`) and
/// messages without a step index are skipped. The last `keep_recent` entries of that sequence
/// are protected, starting at the first message whose step index is at least the oldest
/// protected step.
///
/// - Fewer iterations than `keep_recent` (or no step indices at all, as in a transcript that
///   came in through the proxy): nothing is eligible, the result is 2.
/// - `keep_recent == 0` protects nothing: the whole history after the first two messages is
///   eligible. (The reference protected *everything* here, through negative-zero indexing.)
/// - Messages without a step index are eligible when they lie before the boundary and
///   protected after it.
///
/// The result always lies in `min(2, len) ..= len`.
///
/// ```
/// use forge_context::find_eligible_end;
/// use forge_types::{Message, MessageType};
///
/// let at = |kind: MessageType, step: u32| Message::assistant("…", kind.at_step(step));
/// let history = vec![
///     Message::system("sys", MessageType::SystemPrompt.meta()),
///     Message::user("task", MessageType::UserInput.meta()),
///     at(MessageType::ToolCall, 0),
///     at(MessageType::ToolResult, 0),
///     at(MessageType::ToolCall, 1),
///     at(MessageType::ToolResult, 1),
/// ];
/// assert_eq!(find_eligible_end(&history, 1), 4);
/// assert_eq!(find_eligible_end(&history, 2), 2);
/// assert_eq!(find_eligible_end(&history, 0), 6);
/// ```
pub fn find_eligible_end(messages: &[Message], keep_recent: usize) -> usize {
    let head = PROTECTED_HEAD.min(messages.len());
    if keep_recent == 0 {
        return messages.len();
    }
    let steps = iteration_sequence(&messages[head..]);
    if steps.len() <= keep_recent {
        return head;
    }
    let cutoff = steps[steps.len() - keep_recent];
    messages
        .iter()
        .enumerate()
        .skip(head)
        .find(|(_, message)| {
            message
                .metadata
                .step_index()
                .is_some_and(|step| step >= cutoff)
        })
        .map_or(messages.len(), |(index, _)| index)
}

/// Step indices in order, skipping messages without one and collapsing consecutive repeats.
fn iteration_sequence(messages: &[Message]) -> Vec<u32> {
    let mut steps: Vec<u32> = Vec::new();
    for step in messages.iter().filter_map(|m| m.metadata.step_index()) {
        if steps.last() != Some(&step) {
            steps.push(step);
        }
    }
    steps
}
