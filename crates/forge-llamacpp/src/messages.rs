//! Preparing a conversation for llama-server's chat templates.
//!
//! - [`merge_consecutive`]: strict Jinja templates (Mistral family) reject conversations whose
//!   plain user/assistant messages do not alternate; same-role neighbours are merged.
//! - [`downgrade_for_prompt`]: prompt mode sends no `tools`, so history tool calls become JSON text
//!   lines and tool results become user messages.
//! - [`inject_tool_prompt`]: prompt mode describes the tools in the first message.
//!
//! Message content may be a string, `null`, or a list of parts (OpenAI multi-part); every function
//! here handles all three without losing a part. Anything else is passed through untouched.

use std::borrow::Cow;

use forge_toolparse::{decode_arguments, ArgumentsOutcome};
use forge_types::py_json::py_json_dumps;
use serde_json::{json, Map, Value};

fn role(message: &Value) -> Option<&str> {
    message.get("role").and_then(Value::as_str)
}

/// A plain user or assistant message (no `tool_calls` key, whatever its value).
fn is_visible(message: &Value) -> bool {
    matches!(role(message), Some("user" | "assistant")) && message.get("tool_calls").is_none()
}

/// Content as text when it is text-only (`null` is empty); `None` when it holds non-text parts or
/// is not a content shape.
fn text_only(content: Option<&Value>) -> Option<String> {
    match content {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(
                |part| match (part.get("type").and_then(Value::as_str), part.get("text")) {
                    (Some("text"), Some(Value::String(text))) => Some(text.as_str()),
                    _ => None,
                },
            )
            .collect::<Option<Vec<_>>>()
            .map(|texts| texts.join("\n")),
        Some(_) => None,
    }
}

/// Content as a list of parts.
fn as_parts(content: Option<&Value>) -> Option<Vec<Value>> {
    match content {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => Some(Vec::new()),
        Some(Value::String(text)) => Some(vec![json!({"type": "text", "text": text})]),
        Some(Value::Array(parts)) => Some(parts.clone()),
        Some(_) => None,
    }
}

/// `earlier` followed by `later`, separated by a blank line; `None` if either is not content.
fn merged_content(earlier: Option<&Value>, later: Option<&Value>) -> Option<Value> {
    if let (Some(a), Some(b)) = (text_only(earlier), text_only(later)) {
        let joined = [a, b]
            .into_iter()
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        return Some(Value::String(joined));
    }
    let mut parts = as_parts(earlier)?;
    parts.extend(as_parts(later)?);
    Some(Value::Array(parts))
}

/// Merges each plain user/assistant message into the last plain message before it when both
/// have the same role, across system/tool/tool-call messages in between.
pub fn merge_consecutive(messages: &[Value]) -> Vec<Value> {
    merge_consecutive_view(messages)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
}

/// [`merge_consecutive`], borrowing every message that merging leaves unchanged.
pub(crate) fn merge_consecutive_view(messages: &[Value]) -> Vec<Cow<'_, Value>> {
    let mut out: Vec<Cow<'_, Value>> = Vec::with_capacity(messages.len());
    for message in messages {
        if is_visible(message) {
            let last_visible = out.iter().rposition(|kept| is_visible(kept));
            if let Some(index) = last_visible.filter(|&i| role(&out[i]) == role(message)) {
                let merged = merged_content(out[index].get("content"), message.get("content"));
                if let (Some(content), true) = (merged, out[index].is_object()) {
                    if let Some(target) = out[index].to_mut().as_object_mut() {
                        target.insert("content".into(), content);
                    }
                    continue;
                }
            }
        }
        out.push(Cow::Borrowed(message));
    }
    out
}

/// Rewrites history for prompt mode: tool results become user messages, and a message with
/// tool calls becomes a plain message with one `{"tool": name, "args": {…}}` line per call.
pub fn downgrade_for_prompt(messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .map(|message| {
            let Some(object) = message.as_object() else {
                return message.clone();
            };
            if role(message) == Some("tool") {
                let mut downgraded = object.clone();
                downgraded.insert("role".into(), json!("user"));
                return Value::Object(downgraded);
            }
            if object.contains_key("tool_calls") {
                return call_lines_message(object);
            }
            message.clone()
        })
        .collect()
}

fn call_lines_message(message: &Map<String, Value>) -> Value {
    let lines: Vec<String> = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|call| {
            let function = call.get("function");
            let name = function
                .and_then(|f| f.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let raw = function.and_then(|f| f.get("arguments"));
            // An undecodable history value is shown as it was, never replaced by `{}`.
            let args = match decode_arguments(raw) {
                ArgumentsOutcome::Object(args) => Value::Object(args),
                _ => raw.cloned().unwrap_or(Value::Null),
            };
            py_json_dumps(&json!({"tool": name, "args": args}))
        })
        .collect();
    let content = if lines.is_empty() {
        message.get("content").cloned().unwrap_or(Value::Null)
    } else {
        Value::String(lines.join("\n"))
    };
    json!({"role": message.get("role").cloned().unwrap_or(Value::Null), "content": content})
}

/// Puts `prompt` before the first message's content (blank line between). An empty conversation
/// gets a system message holding the prompt.
pub fn inject_tool_prompt(messages: &mut Vec<Value>, prompt: &str) {
    let Some(first) = messages.first_mut().and_then(Value::as_object_mut) else {
        messages.insert(0, json!({"role": "system", "content": prompt}));
        return;
    };
    let content = match first.get("content") {
        None | Some(Value::Null) => Value::String(prompt.to_owned()),
        Some(Value::String(text)) if text.is_empty() => Value::String(prompt.to_owned()),
        Some(Value::String(text)) => Value::String(format!("{prompt}\n\n{text}")),
        Some(Value::Array(parts)) => {
            let mut with_prompt = vec![json!({"type": "text", "text": format!("{prompt}\n\n")})];
            with_prompt.extend(parts.iter().cloned());
            Value::Array(with_prompt)
        }
        Some(other) => other.clone(),
    };
    first.insert("content".into(), content);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(content: &str) -> Value {
        json!({"role": "user", "content": content})
    }
    fn assistant(content: &str) -> Value {
        json!({"role": "assistant", "content": content})
    }
    fn tool_calls(name: &str) -> Value {
        json!({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": name, "arguments": "{}"}}]})
    }
    fn tool(content: &str) -> Value {
        json!({"role": "tool", "content": content})
    }
    fn system(content: &str) -> Value {
        json!({"role": "system", "content": content})
    }

    #[test]
    fn merge_table() {
        let cases: Vec<(&str, Vec<Value>, Vec<Value>)> = vec![
            (
                "two_users_merge",
                vec![system("s"), user("hello"), user("retry nudge")],
                vec![system("s"), user("hello\n\nretry nudge")],
            ),
            (
                "two_assistants_merge",
                vec![
                    system("s"),
                    user("go"),
                    assistant("I should check pricing."),
                    assistant("[tool_call] get_pricing({})"),
                ],
                vec![
                    system("s"),
                    user("go"),
                    assistant("I should check pricing.\n\n[tool_call] get_pricing({})"),
                ],
            ),
            (
                "tool_call_messages_are_not_merged",
                vec![assistant("thinking..."), tool_calls("f")],
                vec![assistant("thinking..."), tool_calls("f")],
            ),
            (
                "tool_results_are_not_merged",
                vec![tool("result1"), tool("result2")],
                vec![tool("result1"), tool("result2")],
            ),
            (
                "alternating_is_unchanged",
                vec![system("s"), user("a"), assistant("b"), user("c")],
                vec![system("s"), user("a"), assistant("b"), user("c")],
            ),
            ("empty", vec![], vec![]),
            (
                "text_after_tool_call_stays",
                vec![tool_calls("f"), assistant("reasoning")],
                vec![tool_calls("f"), assistant("reasoning")],
            ),
            (
                "nudge_folds_back_across_tool_exchange",
                vec![
                    system("s"),
                    user("go"),
                    tool_calls("fetch"),
                    tool("result"),
                    tool_calls("report"),
                    user("step nudge"),
                ],
                vec![
                    system("s"),
                    user("go\n\nstep nudge"),
                    tool_calls("fetch"),
                    tool("result"),
                    tool_calls("report"),
                ],
            ),
            (
                "null_content_merges_as_empty",
                vec![user("a"), json!({"role": "user", "content": null})],
                vec![user("a")],
            ),
            (
                "text_parts_flatten_when_merged",
                vec![
                    json!({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
                    user("c"),
                ],
                vec![user("a\nb\n\nc")],
            ),
            (
                "image_parts_are_kept",
                vec![
                    json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}),
                    user("c"),
                ],
                vec![
                    json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}, {"type": "text", "text": "c"}]}),
                ],
            ),
            (
                "odd_content_is_left_alone",
                vec![json!({"role": "user", "content": 5}), user("c")],
                vec![json!({"role": "user", "content": 5}), user("c")],
            ),
        ];
        for (name, input, expected) in cases {
            assert_eq!(merge_consecutive(&input), expected, "case {name}");
        }
    }

    #[test]
    fn merge_keeps_other_keys_of_the_earlier_message() {
        let merged = merge_consecutive(&[
            json!({"role": "user", "content": "a", "name": "u1"}),
            user("b"),
        ]);
        assert_eq!(
            merged,
            vec![json!({"role": "user", "content": "a\n\nb", "name": "u1"})]
        );
    }

    #[test]
    fn downgrade_turns_calls_into_json_lines_and_results_into_user_messages() {
        let input = vec![
            user("hi"),
            json!({"role": "assistant", "content": "ignored", "tool_calls": [
                {"id": "c0", "type": "function", "function": {"name": "get_pricing", "arguments": "{\"part\": \"A\"}"}},
                {"function": {"name": "sort", "arguments": {"order": "asc"}}},
                {"function": {"name": "broken", "arguments": "{oops"}}]}),
            json!({"role": "tool", "content": "42", "tool_call_id": "c0", "name": "get_pricing"}),
        ];
        let expected = vec![
            user("hi"),
            json!({"role": "assistant", "content": "{\"tool\": \"get_pricing\", \"args\": {\"part\": \"A\"}}\n{\"tool\": \"sort\", \"args\": {\"order\": \"asc\"}}\n{\"tool\": \"broken\", \"args\": \"{oops\"}"}),
            json!({"role": "user", "content": "42", "tool_call_id": "c0", "name": "get_pricing"}),
        ];
        assert_eq!(downgrade_for_prompt(&input), expected);
    }

    #[test]
    fn prompt_goes_before_the_first_message() {
        let cases = [
            (
                vec![system("You are helpful."), user("test")],
                json!("PROMPT\n\nYou are helpful."),
            ),
            (
                vec![json!({"role": "user", "content": null})],
                json!("PROMPT"),
            ),
            (
                vec![json!({"role": "user", "content": [{"type": "text", "text": "hi"}]})],
                json!([{"type": "text", "text": "PROMPT\n\n"}, {"type": "text", "text": "hi"}]),
            ),
        ];
        for (mut messages, expected) in cases {
            inject_tool_prompt(&mut messages, "PROMPT");
            assert_eq!(messages[0]["content"], expected);
        }
        let mut empty = Vec::new();
        inject_tool_prompt(&mut empty, "PROMPT");
        assert_eq!(empty, vec![system("PROMPT")]);
    }
}
