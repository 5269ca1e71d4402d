//! Turning a non-streaming `/chat/completions` answer into a [`Completion`]. Pure: no I/O.
//!
//! The answer is read as raw JSON rather than through serde structs so that an `arguments: null`
//! stays distinguishable from an absent `arguments` (the first is a malformed call, the second
//! a call without arguments).

use forge_sse::{AssembledResponse, RawToolCall};
use forge_types::{BackendError, Completion, TokenUsage};
use serde_json::Value;

use forge_client::finish_with_think_policy as finish;

/// Parses a complete response body.
pub(crate) fn parse_chat_completion(body: &str, think: bool) -> Result<Completion, BackendError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|err| invalid(format!("body is not JSON ({err})"), body))?;
    let Some(root) = value.as_object() else {
        return Err(invalid("body is not a JSON object".into(), body));
    };
    let usage = match root.get("usage") {
        None | Some(Value::Null) => None,
        Some(usage) => parse_usage(usage).map_err(|problem| invalid(problem, body))?,
    };
    let choice = root
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|choices| choices.first())
        .ok_or_else(|| invalid("vLLM response has no choices".into(), body))?;
    let message = match choice.get("message") {
        None | Some(Value::Null) => &Value::Null,
        Some(message @ Value::Object(_)) => message,
        Some(_) => return Err(invalid("choices[0].message is not an object".into(), body)),
    };
    let content = optional_string(message, "content").map_err(|problem| invalid(problem, body))?;
    let structured = structured_reasoning(message).map_err(|problem| invalid(problem, body))?;
    let calls =
        parse_tool_calls(message.get("tool_calls")).map_err(|problem| invalid(problem, body))?;
    let assembled = AssembledResponse {
        content,
        reasoning: structured,
        tool_calls: calls,
        usage,
    };
    Ok(finish(assembled, think))
}

/// The reasoning the server split out: `reasoning` (vLLM ≥ 0.21) or `reasoning_content` (older
/// vLLM, llama.cpp naming). A non-string value is a contract violation.
pub(crate) fn structured_reasoning(message: &Value) -> Result<String, String> {
    for key in ["reasoning", "reasoning_content"] {
        let text = optional_string(message, key)?;
        if !text.is_empty() {
            return Ok(text);
        }
    }
    Ok(String::new())
}

fn parse_tool_calls(value: Option<&Value>) -> Result<Vec<RawToolCall>, String> {
    let entries = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(format!("tool_calls is not an array but {}", kind(other))),
    };
    entries
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            let function = match entry.get("function") {
                None | Some(Value::Null) => &Value::Null,
                Some(function @ Value::Object(_)) => function,
                Some(other) => {
                    return Err(format!(
                        "tool_calls[{position}].function is {}",
                        kind(other)
                    ))
                }
            };
            Ok(RawToolCall {
                name: optional_string(function, "name")?,
                arguments: function.get("arguments").cloned(),
            })
        })
        .collect()
}

/// Usage from a `usage` member. An empty object means "not reported".
pub(crate) fn parse_usage(value: &Value) -> Result<Option<TokenUsage>, String> {
    let Some(usage) = value.as_object() else {
        return Err(format!("usage is {}", kind(value)));
    };
    if usage.is_empty() {
        return Ok(None);
    }
    let count = |key: &str| -> Result<Option<u64>, String> {
        match usage.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("usage.{key} is not a count: {n}")),
        }
    };
    let prompt = count("prompt_tokens")?.unwrap_or(0);
    let completion = count("completion_tokens")?.unwrap_or(0);
    let mut out = TokenUsage::new(prompt, completion);
    if let Some(total) = count("total_tokens")? {
        out.total_tokens = total;
    }
    Ok(Some(out))
}

/// `message[key]` as a string: absent or `null` → `""`, another type → an error.
fn optional_string(message: &Value, key: &str) -> Result<String, String> {
    match message.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(format!("{key} is {}, expected a string", kind(other))),
    }
}

fn kind(value: &Value) -> &'static str {
    forge_toolparse::JsonKind::of(value).as_str()
}

fn invalid(problem: String, body: &str) -> BackendError {
    BackendError::InvalidResponse {
        problem,
        body_excerpt: BackendError::excerpt(body),
    }
}
