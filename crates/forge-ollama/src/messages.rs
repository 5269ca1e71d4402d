//! Making a conversation acceptable to Ollama's native `/api/chat`. Pure: no I/O.
//!
//! The engine already writes Ollama-shaped messages, but a proxy's clean first attempt forwards
//! the caller's verbatim OpenAI messages, which Ollama's stricter endpoint rejects: multi-part
//! `content` arrays ("cannot unmarshal array") and JSON-string `arguments`.

use forge_toolparse::{decode_arguments_str, ArgumentsOutcome};
use serde_json::Value;

/// The messages with list/`null` content flattened to text, string arguments that decode to an
/// object turned into that object, and OpenAI tool-result `name` copied to `tool_name`.
///
/// Anything else is left as it was: in particular, arguments that are not a JSON object stay
/// the raw string (Ollama then rejects the request and the caller sees that error; forge never
/// invents `{}` for them).
pub(crate) fn normalize_messages(messages: &[Value]) -> Vec<Value> {
    messages.iter().map(normalize_message).collect()
}

fn normalize_message(message: &Value) -> Value {
    let Some(fields) = message.as_object() else {
        return message.clone();
    };
    let mut out = fields.clone();
    match out.get("content") {
        Some(Value::Array(parts)) => {
            let text = flatten_parts(parts);
            out.insert("content".into(), Value::String(text));
        }
        Some(Value::Null) => {
            out.insert("content".into(), Value::String(String::new()));
        }
        _ => {}
    }
    if let Some(Value::Array(calls)) = out.get_mut("tool_calls") {
        for call in calls {
            if let Some(arguments) = call.pointer_mut("/function/arguments") {
                if let Value::String(raw) = arguments {
                    if let ArgumentsOutcome::Object(args) = decode_arguments_str(raw) {
                        *arguments = Value::Object(args);
                    }
                }
            }
        }
    }
    if out.get("role").and_then(Value::as_str) == Some("tool") && !out.contains_key("tool_name") {
        if let Some(name) = out.get("name").cloned() {
            out.insert("tool_name".into(), name);
        }
    }
    Value::Object(out)
}

/// Text parts joined by `"\n"`; non-text parts (images, audio) are dropped.
fn flatten_parts(parts: &[Value]) -> String {
    parts
        .iter()
        .filter_map(|part| match part {
            Value::String(text) => Some(text.as_str()),
            Value::Object(fields) if fields.get("type").and_then(Value::as_str) == Some("text") => {
                fields.get("text").and_then(Value::as_str)
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_transcript_becomes_ollama_shaped() {
        let input = vec![
            json!({"role": "system", "content": "sys"}),
            json!({"role": "user", "content": [
                {"type": "text", "text": "look at"},
                {"type": "image_url", "image_url": {"url": "data:..."}},
                {"type": "text", "text": "this"}
            ]}),
            json!({"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_pricing", "arguments": "{\"part\": \"X1\"}"}},
                {"id": "c2", "type": "function", "function": {"name": "noop", "arguments": ""}},
                {"id": "c3", "type": "function", "function": {"name": "bad", "arguments": "{broken"}}
            ]}),
            json!({"role": "tool", "content": "42.00", "name": "get_pricing", "tool_call_id": "c1"}),
        ];
        insta::assert_json_snapshot!(normalize_messages(&input));
        assert_eq!(
            input[1]["content"][0]["text"], "look at",
            "input not mutated"
        );
    }

    #[test]
    fn ollama_shaped_messages_pass_unchanged() {
        let input = vec![
            json!({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "fetch", "arguments": {}}}]}),
            json!({"role": "tool", "content": "fetch_result", "tool_name": "fetch"}),
        ];
        assert_eq!(normalize_messages(&input), input);
    }
}
