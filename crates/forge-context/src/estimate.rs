//! The character heuristic every strategy decides with.

use forge_types::Message;

/// Characters per token in the heuristic.
const CHARS_PER_TOKEN: u64 = 4;

/// Estimated tokens of `messages`: the total number of content characters divided by four.
///
/// One integer division of the total, not per message. Only `content` counts (tool-call
/// arguments, names, ids and roles cost nothing), and characters are Unicode code points, so
/// `"ü"` counts as one. Strategies always use this, never a backend-reported count for their
/// own re-estimates.
///
/// ```
/// use forge_context::estimate_tokens;
/// use forge_types::{Message, MessageType};
///
/// let history = [
///     Message::user("a".repeat(100), MessageType::UserInput.meta()),
///     Message::user("ü".repeat(201), MessageType::UserInput.meta()),
/// ];
/// assert_eq!(estimate_tokens(&history), 75);
/// ```
pub fn estimate_tokens(messages: &[Message]) -> u64 {
    content_chars(messages) / CHARS_PER_TOKEN
}

fn content_chars(messages: &[Message]) -> u64 {
    messages
        .iter()
        .map(|message| message.content.chars().count() as u64)
        .sum()
}
