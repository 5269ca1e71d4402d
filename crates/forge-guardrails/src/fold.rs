//! History → wire messages: reasoning folding and the reasoning replay policy.

use forge_types::{ApiFormat, Message, MessageRole, MessageType};
use serde_json::{json, Value};

/// How much captured reasoning is replayed to the backend.
///
/// Reasoning is always kept in the history and reported to observers; this only decides what
/// the model sees again. The reference replayed everything until v0.7.5, then defaulted to
/// replaying nothing after measuring no accuracy loss and less context growth (ADR-017).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReasoningReplay {
    /// Replay no reasoning (the default).
    #[default]
    None,
    /// Replay only the most recent reasoning block.
    KeepLast,
    /// Replay every reasoning block (the v0.7.3 behaviour).
    Full,
}

/// Wire reasoning fields an OpenAI-shaped assistant message may carry.
const RAW_REASONING_FIELDS: [&str; 3] = ["reasoning_content", "reasoning", "reasoning_text"];

/// Serializes `history` for a backend speaking `format`, folding reasoning.
///
/// A replayed assistant `reasoning` message is held until the next message: if that message
/// carries tool calls, the reasoning becomes its `content` (one assistant message with both, as
/// OpenAI expects); otherwise the reasoning is emitted as its own assistant message first.
/// Consecutive held blocks collapse to the last one; a block still held at the end is emitted on
/// its own. Text responses are never folded. Metadata never reaches the wire.
pub fn fold_and_serialize(
    history: &[Message],
    format: ApiFormat,
    replay: ReasoningReplay,
) -> Vec<Value> {
    let last_reasoning = history.iter().rposition(is_reasoning);
    let mut wire = Vec::with_capacity(history.len());
    let mut held: Option<&str> = None;
    for (index, message) in history.iter().enumerate() {
        if is_reasoning(message) {
            let replayed = match replay {
                ReasoningReplay::Full => true,
                ReasoningReplay::KeepLast => Some(index) == last_reasoning,
                ReasoningReplay::None => false,
            };
            if replayed {
                held = Some(&message.content);
            }
            continue;
        }
        let mut value = message.to_api_value(format);
        if let Some(reasoning) = held.take() {
            if message.tool_calls.is_some() {
                value["content"] = json!(reasoning);
            } else {
                wire.push(json!({"role": "assistant", "content": reasoning}));
            }
        }
        wire.push(value);
    }
    if let Some(reasoning) = held {
        wire.push(json!({"role": "assistant", "content": reasoning}));
    }
    wire
}

/// The caller's verbatim OpenAI messages with reasoning fields removed per `replay`.
///
/// [`ReasoningReplay::None`] strips `reasoning_content` / `reasoning` / `reasoning_text` from
/// every assistant message; [`ReasoningReplay::KeepLast`] keeps them on the last assistant
/// message that has any; [`ReasoningReplay::Full`] changes nothing.
pub fn strip_raw_reasoning(messages: &[Value], replay: ReasoningReplay) -> Vec<Value> {
    let has_reasoning = |m: &Value| {
        m.get("role").and_then(Value::as_str) == Some("assistant")
            && RAW_REASONING_FIELDS.iter().any(|f| m.get(*f).is_some())
    };
    let keep = match replay {
        ReasoningReplay::Full => return messages.to_vec(),
        ReasoningReplay::KeepLast => messages.iter().rposition(has_reasoning),
        ReasoningReplay::None => None,
    };
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let mut message = message.clone();
            if Some(index) != keep && has_reasoning(&message) {
                if let Some(object) = message.as_object_mut() {
                    for field in RAW_REASONING_FIELDS {
                        object.remove(field);
                    }
                }
            }
            message
        })
        .collect()
}

fn is_reasoning(message: &Message) -> bool {
    message.metadata.kind() == MessageType::Reasoning && message.role == MessageRole::Assistant
}
