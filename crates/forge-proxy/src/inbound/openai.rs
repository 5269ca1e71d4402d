//! OpenAI chat-completions request → [`PreparedRequest`].

use forge_guardrails::RawInbound;
use forge_types::{
    CallId, JsonObject, Message, MessageType, SamplingParams, ToolCallInfo, ToolSpec,
};
use serde_json::Value;

use super::{
    as_object, flatten_text_parts, optional_array, optional_string, present, stream_flag,
    type_name, InboundError, PreparedRequest, Protocol,
};
use crate::ids::openai_call_id;

/// Fields forge owns: never forwarded as pass-through. `stream_options` is dropped because the
/// proxy's backend calls are not streamed and strict servers reject it without `stream`.
const FORGE_OWNED: [&str; 5] = ["messages", "tools", "stream", "stream_options", "system"];

/// Sampling fields, carried separately from the pass-through.
const SAMPLING_KEYS: [&str; 8] = [
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "presence_penalty",
    "seed",
    "chat_template_kwargs",
];

/// Prepares an OpenAI body. `native_passthrough` keeps the verbatim `messages` and `tools` for
/// the clean first attempt. The body is taken by value: those payloads and the pass-through
/// fields move into the prepared request instead of being copied.
pub fn prepare_openai(
    mut body: JsonObject,
    native_passthrough: bool,
) -> Result<PreparedRequest, InboundError> {
    let stream = stream_flag(&body)?;
    let model = optional_string(&body, "model", "model")?;
    let messages = optional_array(&body, "messages", "messages")?;
    let tools_value = optional_array(&body, "tools", "tools")?;
    let history = convert_messages(messages)?;
    let tools = convert_tools(tools_value)?;
    let sampling = sampling(&body)?;
    let raw = if native_passthrough {
        let messages = take_array(&mut body, "messages");
        let tools_value = take_array(&mut body, "tools");
        RawInbound {
            openai_messages: (!messages.is_empty()).then_some(messages),
            openai_tools: (!tools_value.is_empty()).then_some(tools_value),
            anthropic_body: None,
        }
    } else {
        RawInbound::default()
    };
    // `retain` keeps the caller's field order (a `remove` would reorder the map).
    body.retain(|key, _| {
        !FORGE_OWNED.contains(&key.as_str()) && !SAMPLING_KEYS.contains(&key.as_str())
    });
    Ok(PreparedRequest {
        protocol: Protocol::OpenAi,
        stream,
        model,
        history,
        tools,
        sampling,
        passthrough: body,
        raw,
        credential: None,
    })
}

/// Moves the array at `key` out of `body` (already validated: an array, null or absent), leaving
/// a null in its place; empty when there is none.
fn take_array(body: &mut JsonObject, key: &str) -> Vec<Value> {
    match body.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn convert_messages(messages: &[Value]) -> Result<Vec<Message>, InboundError> {
    messages
        .iter()
        .enumerate()
        .map(|(index, value)| convert_message(value, &format!("messages[{index}]")))
        .collect()
}

fn convert_message(value: &Value, path: &str) -> Result<Message, InboundError> {
    let message = as_object(value, path)?;
    let role = optional_string(message, "role", &format!("{path}.role"))?;
    let content = content_text(message, path)?;
    match role.as_deref() {
        Some("system") => Ok(Message::system(content, MessageType::SystemPrompt.meta())),
        Some("assistant") => {
            let calls = optional_array(message, "tool_calls", &format!("{path}.tool_calls"))?;
            if calls.is_empty() {
                return Ok(Message::assistant(
                    content,
                    MessageType::TextResponse.meta(),
                ));
            }
            let infos = calls
                .iter()
                .enumerate()
                .map(|(i, call)| convert_call(call, &format!("{path}.tool_calls[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            let mut converted = Message::tool_calls(infos, MessageType::ToolCall.meta());
            converted.content = content;
            Ok(converted)
        }
        Some("tool") => {
            let name = optional_string(message, "name", &format!("{path}.name"))?;
            let call_id =
                optional_string(message, "tool_call_id", &format!("{path}.tool_call_id"))?;
            Ok(Message::tool_result(
                name.unwrap_or_default(),
                CallId::new(call_id.unwrap_or_default()),
                content,
                MessageType::ToolResult.meta(),
            ))
        }
        _ => Ok(Message::user(content, MessageType::UserInput.meta())),
    }
}

fn content_text(message: &JsonObject, path: &str) -> Result<String, InboundError> {
    let field = format!("{path}.content");
    match present(message, "content") {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => flatten_text_parts(parts, &field),
        Some(other) => Err(InboundError::field(
            field,
            format!(
                "must be a string, an array of content parts or null (got {})",
                type_name(other)
            ),
        )),
    }
}

/// One history tool call. Arguments: a JSON string holding an object, an object, or empty
/// (`""`, absent, null: a call without arguments). Anything else is the caller's mistake and a
/// 400 naming the field — forge never guesses arguments.
fn convert_call(value: &Value, path: &str) -> Result<ToolCallInfo, InboundError> {
    let call = as_object(value, path)?;
    let function_path = format!("{path}.function");
    let function = match present(call, "function") {
        Some(f) => as_object(f, &function_path)?,
        None => return Err(InboundError::field(function_path, "is missing")),
    };
    let name =
        optional_string(function, "name", &format!("{function_path}.name"))?.unwrap_or_default();
    let args_path = format!("{function_path}.arguments");
    let args = match present(function, "arguments") {
        None => JsonObject::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(Value::String(s)) if s.trim().is_empty() => JsonObject::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(InboundError::field(
                    args_path,
                    format!(
                        "must encode a JSON object (it encodes a {})",
                        type_name(&other)
                    ),
                ))
            }
            Err(e) => {
                return Err(InboundError::field(
                    args_path,
                    format!("is not valid JSON ({e}): {}", excerpt(s)),
                ))
            }
        },
        Some(other) => {
            return Err(InboundError::field(
                args_path,
                format!(
                    "must be a JSON string or an object (got {})",
                    type_name(other)
                ),
            ))
        }
    };
    let id = optional_string(call, "id", &format!("{path}.id"))?
        .filter(|id| !id.is_empty())
        .unwrap_or_else(openai_call_id);
    Ok(ToolCallInfo::new(name, args, CallId::new(id)))
}

fn excerpt(s: &str) -> String {
    let head: String = s.chars().take(80).collect();
    if head.len() < s.len() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// Function tools → specs; other tool types are ignored.
fn convert_tools(tools: &[Value]) -> Result<Vec<ToolSpec>, InboundError> {
    let mut specs = Vec::new();
    for (index, tool) in tools.iter().enumerate() {
        let path = format!("tools[{index}]");
        let tool = as_object(tool, &path)?;
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            continue;
        }
        let function_path = format!("{path}.function");
        let function = match present(tool, "function") {
            Some(f) => as_object(f, &function_path)?,
            None => return Err(InboundError::field(function_path, "is missing")),
        };
        let name = optional_string(function, "name", &format!("{function_path}.name"))?
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                InboundError::field(
                    format!("{function_path}.name"),
                    "must be a non-empty string",
                )
            })?;
        let description = optional_string(
            function,
            "description",
            &format!("{function_path}.description"),
        )?
        .unwrap_or_default();
        let parameters = match present(function, "parameters") {
            None => Value::Object(JsonObject::new()),
            Some(Value::Object(p)) => Value::Object(p.clone()),
            Some(other) => {
                return Err(InboundError::field(
                    format!("{function_path}.parameters"),
                    format!("must be a JSON Schema object (got {})", type_name(other)),
                ))
            }
        };
        specs.push(ToolSpec::new(name, description, parameters));
    }
    Ok(specs)
}

fn sampling(body: &JsonObject) -> Result<SamplingParams, InboundError> {
    let float = |key: &str| -> Result<Option<f64>, InboundError> {
        match present(body, key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or_else(|| {
                InboundError::field(key, format!("must be a number (got {})", type_name(v)))
            }),
        }
    };
    let integer = |key: &str| -> Result<Option<i64>, InboundError> {
        match present(body, key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                InboundError::field(key, format!("must be an integer (got {})", describe(v)))
            }),
        }
    };
    let kwargs = match present(body, "chat_template_kwargs") {
        None => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(other) => {
            return Err(InboundError::field(
                "chat_template_kwargs",
                format!("must be an object (got {})", type_name(other)),
            ))
        }
    };
    Ok(SamplingParams {
        temperature: float("temperature")?,
        top_p: float("top_p")?,
        top_k: integer("top_k")?,
        min_p: float("min_p")?,
        repeat_penalty: float("repeat_penalty")?,
        presence_penalty: float("presence_penalty")?,
        seed: integer("seed")?,
        chat_template_kwargs: kwargs,
    })
}

fn describe(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("number {n}"),
        other => type_name(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prepare(body: Value) -> Result<PreparedRequest, InboundError> {
        prepare_openai(body.as_object().unwrap().clone(), true)
    }

    #[test]
    fn sampling_and_passthrough_split_with_stream_options_excluded() {
        let prepared = prepare(json!({
            "model": "test", "max_tokens": 256, "tool_choice": "auto", "foo": "bar",
            "temperature": 0.3, "seed": 42, "stream": true,
            "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "hi"}]
        }))
        .unwrap();
        assert_eq!(
            Value::Object(prepared.passthrough),
            json!({"model": "test", "max_tokens": 256, "tool_choice": "auto", "foo": "bar"})
        );
        assert_eq!(prepared.sampling.temperature, Some(0.3));
        assert_eq!(prepared.sampling.seed, Some(42));
        assert!(prepared.stream);
        assert_eq!(prepared.model.as_deref(), Some("test"));
    }

    #[test]
    fn null_tools_and_messages_are_absent_not_errors() {
        let prepared = prepare(json!({"tools": null, "messages": null, "model": null})).unwrap();
        assert!(prepared.tools.is_empty());
        assert!(prepared.history.is_empty());
        assert_eq!(prepared.model, None);
        assert!(prepared.raw.openai_messages.is_none());
    }

    #[test]
    fn empty_string_arguments_in_history_are_a_call_without_arguments() {
        let prepared = prepare(json!({"messages": [
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "ping", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "pong"}
        ]}))
        .unwrap();
        let calls = prepared.history[0].tool_calls.as_ref().unwrap();
        assert!(calls[0].args.is_empty());
        assert_eq!(calls[0].call_id.as_str(), "c1");
        assert_eq!(prepared.history[1].content, "pong");
    }

    #[test]
    fn list_and_null_content_become_text() {
        let prepared = prepare(json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": null},
            {"role": "developer", "content": "d"}
        ]}))
        .unwrap();
        let contents: Vec<&str> = prepared
            .history
            .iter()
            .map(|m| m.content.as_str())
            .collect();
        assert_eq!(contents, ["a\nb", "", "d"]);
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let cases = [
            (json!({"messages": "hi"}), "messages"),
            (json!({"messages": ["hi"]}), "messages[0]"),
            (json!({"messages": [{"role": 3}]}), "messages[0].role"),
            (
                json!({"messages": [{"role": "user", "content": 5}]}),
                "messages[0].content",
            ),
            (
                json!({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{bad"}}]}]}),
                "messages[0].tool_calls[0].function.arguments",
            ),
            (
                json!({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}]}),
                "messages[0].tool_calls[0].function.arguments",
            ),
            (
                json!({"messages": [{"role": "assistant", "tool_calls": [{"type": "function"}]}]}),
                "messages[0].tool_calls[0].function",
            ),
            (json!({"tools": {"a": 1}}), "tools"),
            (
                json!({"tools": [{"type": "function", "function": {"parameters": {}}}]}),
                "tools[0].function.name",
            ),
            (
                json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]}),
                "tools[0].function.parameters",
            ),
            (json!({"temperature": "hot"}), "temperature"),
            (json!({"top_k": 1.5}), "top_k"),
            (json!({"model": 7}), "model"),
            (json!({"stream": 1}), "stream"),
        ];
        for (body, field) in cases {
            let error = prepare(body.clone()).expect_err("must be rejected");
            assert_eq!(error.field, field, "{body}: {}", error.message);
            assert!(error.message.starts_with(&format!("`{field}`")));
        }
    }

    #[test]
    fn raw_copies_only_under_native_passthrough_and_only_function_tools_become_specs() {
        let body = json!({
            "messages": [{"role": "user", "content": "hi", "name": "u1"}],
            "tools": [{"type": "retrieval"}, {"type": "function", "function": {"name": "search"}}]
        });
        let native = prepare(body.clone()).unwrap();
        assert_eq!(native.tools.len(), 1);
        assert_eq!(native.tools[0].name, "search");
        assert_eq!(
            native.raw.openai_messages.unwrap(),
            body["messages"].as_array().unwrap().clone()
        );
        assert_eq!(native.raw.openai_tools.unwrap().len(), 2);
        let prompt = prepare_openai(body.as_object().unwrap().clone(), false).unwrap();
        assert!(prompt.raw.openai_messages.is_none() && prompt.raw.openai_tools.is_none());
    }
}
