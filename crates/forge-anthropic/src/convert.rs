//! OpenAI-shaped conversation → Anthropic Messages `(system, messages)`. Pure: no I/O.
//!
//! The engine writes OpenAI-shaped messages for this client (its `api_format` is OpenAI); the
//! rebuilt path converts them here. Anthropic wants strict user/assistant alternation, tool calls
//! as `tool_use` blocks and their results as `tool_result` blocks inside user messages.

use forge_toolparse::{decode_arguments, ArgumentsOutcome};
use serde_json::{json, Value};

/// The converted conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Converted {
    /// The system prompt (all system messages, joined by a blank line), if any.
    pub system: Option<String>,
    /// The messages, alternating roles.
    pub messages: Vec<Value>,
}

/// Why a conversation cannot be converted. The caller's input, not a backend failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConversionError(pub String);

/// What the tool result of a call that never ran says.
const NOT_EXECUTED: &str = "Not executed.";

/// Converts OpenAI-shaped messages.
///
/// - `system` messages become the system prompt (all of them, in order; the reference kept only
///   the last one);
/// - an assistant message with tool calls becomes text (when non-empty) plus one `tool_use` per
///   call; a call without an id gets a distinct generated one (`toolu_forge_<n>`); its string
///   arguments must decode to an object, else the conversation is refused (Anthropic has no way
///   to carry malformed input, and forge never invents `{}`);
/// - a `tool` message becomes a user `tool_result` for its `tool_call_id` (or, lacking one, the
///   oldest call still waiting for a result);
/// - a user message that arrives while calls still wait for results (a nudge answered a call that
///   never ran) first closes them with error results saying "Not executed.";
/// - an assistant message with no text and no calls is skipped (the API rejects empty turns);
/// - consecutive messages of the same role are merged into one block list.
pub(crate) fn convert_messages(messages: &[Value]) -> Result<Converted, ConversionError> {
    let mut system_parts: Vec<String> = Vec::new();
    let mut converted: Vec<Value> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut generated_ids = 0usize;

    for (position, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let text = flatten_content(message.get("content"));
        match role {
            "system" | "developer" => system_parts.push(text),
            "assistant" => {
                let calls = message
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .filter(|calls| !calls.is_empty());
                let Some(calls) = calls else {
                    if text.is_empty() {
                        tracing::debug!(position, "empty assistant message skipped");
                    } else {
                        converted.push(json!({"role": "assistant", "content": text}));
                    }
                    continue;
                };
                let mut blocks = Vec::new();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for call in calls {
                    let id = match call
                        .get("id")
                        .and_then(Value::as_str)
                        .filter(|id| !id.is_empty())
                    {
                        Some(id) => id.to_owned(),
                        None => {
                            generated_ids += 1;
                            format!("toolu_forge_{generated_ids}")
                        }
                    };
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let input = match decode_arguments(call.pointer("/function/arguments")) {
                        ArgumentsOutcome::Object(args) => Value::Object(args),
                        failed => {
                            return Err(ConversionError(format!(
                            "message {position}: tool call {name:?} has unusable arguments ({})",
                            failed.problem().unwrap_or_default()
                        )))
                        }
                    };
                    blocks
                        .push(json!({"type": "tool_use", "id": id, "name": name, "input": input}));
                    pending.push(id);
                }
                converted.push(json!({"role": "assistant", "content": blocks}));
            }
            "tool" => {
                let id = match message.get("tool_call_id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
                    Some(id) => id.to_owned(),
                    None if !pending.is_empty() => pending[0].clone(),
                    None => {
                        return Err(ConversionError(format!(
                            "message {position}: tool result without tool_call_id and no call waiting for one"
                        )))
                    }
                };
                pending.retain(|waiting| *waiting != id);
                converted.push(json!({
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": id, "content": text}]
                }));
            }
            "user" => {
                if pending.is_empty() {
                    converted.push(json!({"role": "user", "content": text}));
                    continue;
                }
                let mut blocks: Vec<Value> = pending
                    .drain(..)
                    .map(|id| json!({"type": "tool_result", "tool_use_id": id, "content": NOT_EXECUTED, "is_error": true}))
                    .collect();
                if !text.is_empty() {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                converted.push(json!({"role": "user", "content": blocks}));
            }
            other => tracing::debug!(position, role = other, "message with unknown role skipped"),
        }
    }

    let system_parts: Vec<String> = system_parts
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    let system = (!system_parts.is_empty()).then(|| system_parts.join("\n\n"));
    Ok(Converted {
        system,
        messages: merge_same_role(converted),
    })
}

/// Text of an OpenAI `content`: a string as is; text parts joined by `"\n"` (other parts
/// dropped); absent or `null` → `""`.
fn flatten_content(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                other if other.get("type").and_then(Value::as_str) == Some("text") => {
                    other.get("text").and_then(Value::as_str)
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn merge_same_role(messages: Vec<Value>) -> Vec<Value> {
    let mut merged: Vec<Value> = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(last) = merged.last_mut() {
            if last["role"] == message["role"] {
                let mut blocks = into_blocks(last["content"].take());
                blocks.extend(into_blocks(message["content"].clone()));
                last["content"] = Value::Array(blocks);
                continue;
            }
        }
        merged.push(message);
    }
    merged
}

fn into_blocks(content: Value) -> Vec<Value> {
    match content {
        Value::Array(blocks) => blocks,
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool_call(id: Option<&str>, name: &str, arguments: Value) -> Value {
        let mut call =
            json!({"type": "function", "function": {"name": name, "arguments": arguments}});
        if let Some(id) = id {
            call["id"] = json!(id);
        }
        call
    }

    fn assistant_calls(content: &str, calls: Vec<Value>) -> Value {
        json!({"role": "assistant", "content": content, "tool_calls": calls})
    }

    fn check(messages: Vec<Value>) -> Value {
        let converted = convert_messages(&messages).unwrap();
        json!({"system": converted.system, "messages": converted.messages})
    }

    #[test]
    fn system_is_extracted_and_plain_turns_stay_strings() {
        insta::assert_json_snapshot!(check(vec![
            json!({"role": "system", "content": "You are helpful."}),
            json!({"role": "user", "content": "Hi"}),
            json!({"role": "assistant", "content": "Hello!"}),
        ]));
    }

    #[test]
    fn tool_round_trip_and_nudge_after_unanswered_call() {
        insta::assert_json_snapshot!(check(vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": "Weather?"}),
            assistant_calls(
                "",
                vec![tool_call(
                    Some("call_000"),
                    "get_weather",
                    json!("{\"city\": \"Paris\"}")
                )]
            ),
            json!({"role": "tool", "content": "22C sunny", "tool_call_id": "call_000", "name": "get_weather"}),
            json!({"role": "user", "content": "Complete required steps first."}),
            assistant_calls(
                "Let me submit.",
                vec![tool_call(Some("call_001"), "submit", json!({"key": "val"}))]
            ),
            json!({"role": "user", "content": "You must call a tool."}),
        ]));
    }

    #[test]
    fn calls_without_ids_get_distinct_ids() {
        let converted = convert_messages(&[
            json!({"role": "user", "content": "Go"}),
            assistant_calls(
                "",
                vec![
                    tool_call(None, "a", json!("{}")),
                    tool_call(None, "b", json!("")),
                ],
            ),
            json!({"role": "tool", "content": "ra"}),
            json!({"role": "tool", "content": "rb"}),
        ])
        .unwrap();
        let uses = &converted.messages[1]["content"];
        assert_ne!(uses[0]["id"], uses[1]["id"]);
        assert_eq!(
            uses[1]["input"],
            json!({}),
            "empty-string arguments are a call without arguments"
        );
        let results = &converted.messages[2]["content"];
        assert_eq!(results[0]["tool_use_id"], uses[0]["id"]);
        assert_eq!(results[1]["tool_use_id"], uses[1]["id"]);
    }

    #[test]
    fn unusable_history_arguments_are_refused_not_coerced() {
        for arguments in [json!("{broken"), json!("[1, 2]"), json!(null)] {
            let err = convert_messages(&[assistant_calls(
                "",
                vec![tool_call(Some("c"), "f", arguments.clone())],
            )])
            .unwrap_err();
            assert!(
                err.0.contains("unusable arguments"),
                "{arguments}: {}",
                err.0
            );
        }
    }

    #[test]
    fn list_and_null_content_is_flattened() {
        let converted = convert_messages(&[
            json!({"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
            json!({"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": "x"}}]}),
            json!({"role": "assistant", "content": null}),
        ])
        .unwrap();
        assert_eq!(converted.system.as_deref(), Some("a\nb"));
        assert_eq!(
            converted.messages,
            vec![json!({"role": "user", "content": "look"})]
        );
    }
}
