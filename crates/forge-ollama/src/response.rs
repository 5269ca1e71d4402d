//! Turning a non-streaming `/api/chat` answer into a [`Completion`]. Pure: no I/O.

use forge_sse::{AssembledResponse, RawToolCall};
use forge_toolparse::JsonKind;
use forge_types::{BackendError, Completion, TokenUsage};
use serde_json::Value;

use forge_client::finish_with_think_policy as finish;

/// Parses a complete `/api/chat` response body.
pub(crate) fn parse_chat_response(body: &str, think: bool) -> Result<Completion, BackendError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|err| invalid(format!("body is not JSON ({err})"), body))?;
    if !value.is_object() {
        return Err(invalid("body is not a JSON object".into(), body));
    }
    if let Some(error) = in_band_error(&value) {
        return Err(error);
    }
    let usage = usage_of(&value).map_err(|problem| invalid(problem, body))?;
    let message = message_of(&value).map_err(|problem| invalid(problem, body))?;
    let content = optional_string(message, "content").map_err(|problem| invalid(problem, body))?;
    let thinking =
        optional_string(message, "thinking").map_err(|problem| invalid(problem, body))?;
    let calls = tool_calls_of(message).map_err(|problem| invalid(problem, body))?;
    let assembled = AssembledResponse {
        content,
        reasoning: thinking,
        tool_calls: calls,
        usage,
    };
    Ok(finish(assembled, think))
}

/// `{"error": "..."}`: Ollama's way of reporting a failure in a 200 body or an NDJSON line.
pub(crate) fn in_band_error(value: &Value) -> Option<BackendError> {
    let error = value.get("error")?;
    let message = match error {
        Value::String(text) => text.clone(),
        Value::Null => return None,
        other => other.to_string(),
    };
    Some(BackendError::InStream {
        error_type: None,
        message,
    })
}

/// Usage from `prompt_eval_count` / `eval_count`; `None` when neither is present.
pub(crate) fn usage_of(value: &Value) -> Result<Option<TokenUsage>, String> {
    let count = |key: &str| -> Result<Option<u64>, String> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(n) => n
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{key} is not a count: {n}")),
        }
    };
    let (prompt, completion) = (count("prompt_eval_count")?, count("eval_count")?);
    if prompt.is_none() && completion.is_none() {
        return Ok(None);
    }
    Ok(Some(TokenUsage::new(
        prompt.unwrap_or(0),
        completion.unwrap_or(0),
    )))
}

/// The `message` member (absent → an empty message).
pub(crate) fn message_of(value: &Value) -> Result<&Value, String> {
    match value.get("message") {
        None | Some(Value::Null) => Ok(&Value::Null),
        Some(message @ Value::Object(_)) => Ok(message),
        Some(other) => Err(format!("message is {}", JsonKind::of(other).as_str())),
    }
}

/// The message's tool calls (absent, `null` or `[]` → none).
pub(crate) fn tool_calls_of(message: &Value) -> Result<Vec<RawToolCall>, String> {
    let entries = match message.get("tool_calls") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(other) => return Err(format!("tool_calls is {}", JsonKind::of(other).as_str())),
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
                        JsonKind::of(other).as_str()
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

/// `value[key]` as a string: absent or `null` → `""`, another type → an error.
pub(crate) fn optional_string(value: &Value, key: &str) -> Result<String, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(format!(
            "{key} is {}, expected a string",
            JsonKind::of(other).as_str()
        )),
    }
}

pub(crate) fn invalid(problem: String, body: &str) -> BackendError {
    BackendError::InvalidResponse {
        problem,
        body_excerpt: BackendError::excerpt(body),
    }
}
