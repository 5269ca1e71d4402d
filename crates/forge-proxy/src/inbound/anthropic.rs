//! Anthropic Messages request → [`PreparedRequest`].

use std::collections::HashMap;

use forge_guardrails::RawInbound;
use forge_types::{
    CallId, JsonObject, Message, MessageType, SamplingParams, ToolCallInfo, ToolSpec,
};
use serde_json::{json, Value};

use super::{
    as_object, flatten_text_parts, optional_array, optional_string, present, stream_flag,
    type_name, InboundError, PreparedRequest, Protocol,
};
use crate::ids::tool_use_id;

/// Prepares an Anthropic body. The body itself rides along for a Path 1 backend's verbatim
/// clean first attempt (moved, not copied); an OpenAI-shaped backend ignores it.
pub fn prepare_anthropic(body: JsonObject) -> Result<PreparedRequest, InboundError> {
    let stream = stream_flag(&body)?;
    let model = optional_string(&body, "model", "model")?;
    let mut history = Vec::new();
    if let Some(system) = system_text(&body)? {
        history.push(Message::system(system, MessageType::SystemPrompt.meta()));
    }
    let messages = optional_array(&body, "messages", "messages")?;
    let mut names_by_id = HashMap::new();
    for (index, message) in messages.iter().enumerate() {
        convert_message(
            message,
            &format!("messages[{index}]"),
            &mut names_by_id,
            &mut history,
        )?;
    }
    let tools = convert_tools(optional_array(&body, "tools", "tools")?)?;
    let passthrough = openai_passthrough(&body);
    Ok(PreparedRequest {
        protocol: Protocol::Anthropic,
        stream,
        model,
        history,
        tools,
        sampling: SamplingParams::default(),
        passthrough,
        raw: RawInbound {
            openai_messages: None,
            openai_tools: None,
            anthropic_body: Some(body),
        },
        credential: None,
    })
}

fn system_text(body: &JsonObject) -> Result<Option<String>, InboundError> {
    let text = match present(body, "system") {
        None => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => {
            let non_empty: Vec<Value> = blocks
                .iter()
                .filter(|b| {
                    b.as_str() != Some("") && b.get("text").and_then(Value::as_str) != Some("")
                })
                .cloned()
                .collect();
            flatten_text_parts(&non_empty, "system")?
        }
        Some(other) => {
            return Err(InboundError::field(
                "system",
                format!(
                    "must be a string or an array of text blocks (got {})",
                    type_name(other)
                ),
            ))
        }
    };
    Ok((!text.is_empty()).then_some(text))
}

fn convert_message(
    value: &Value,
    path: &str,
    names_by_id: &mut HashMap<String, String>,
    history: &mut Vec<Message>,
) -> Result<(), InboundError> {
    let message = as_object(value, path)?;
    let role = optional_string(message, "role", &format!("{path}.role"))?
        .unwrap_or_else(|| "user".to_owned());
    let assistant = role == "assistant";
    let content_path = format!("{path}.content");
    let blocks = match present(message, "content") {
        None => {
            history.push(plain(assistant, String::new()));
            return Ok(());
        }
        Some(Value::String(s)) => {
            history.push(plain(assistant, s.clone()));
            return Ok(());
        }
        Some(Value::Array(blocks)) => blocks,
        Some(other) => {
            return Err(InboundError::field(
                content_path,
                format!(
                    "must be a string or an array of content blocks (got {})",
                    type_name(other)
                ),
            ))
        }
    };
    let mut texts = Vec::new();
    let mut calls = Vec::new();
    let mut results = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        let block_path = format!("{content_path}[{index}]");
        let block = as_object(block, &block_path)?;
        match block.get("type").and_then(Value::as_str) {
            Some("text") => {
                let text = optional_string(block, "text", &format!("{block_path}.text"))?
                    .unwrap_or_default();
                if !text.is_empty() {
                    texts.push(text);
                }
            }
            Some("tool_use") => {
                let name = optional_string(block, "name", &format!("{block_path}.name"))?
                    .unwrap_or_default();
                let input = match present(block, "input") {
                    None => JsonObject::new(),
                    Some(Value::Object(map)) => map.clone(),
                    Some(other) => {
                        return Err(InboundError::field(
                            format!("{block_path}.input"),
                            format!("must be an object (got {})", type_name(other)),
                        ))
                    }
                };
                let id = optional_string(block, "id", &format!("{block_path}.id"))?
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(tool_use_id);
                names_by_id.insert(id.clone(), name.clone());
                calls.push(ToolCallInfo::new(name, input, CallId::new(id)));
            }
            Some("tool_result") => {
                let id =
                    optional_string(block, "tool_use_id", &format!("{block_path}.tool_use_id"))?
                        .unwrap_or_default();
                let content = match present(block, "content") {
                    None => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(parts)) => {
                        flatten_text_parts(parts, &format!("{block_path}.content"))?
                    }
                    Some(other) => other.to_string(),
                };
                let name = names_by_id.get(&id).cloned().unwrap_or_default();
                results.push(Message::tool_result(
                    name,
                    CallId::new(id),
                    content,
                    MessageType::ToolResult.meta(),
                ));
            }
            // thinking, images, documents: no OpenAI-shaped analog on this path.
            _ => {}
        }
    }
    let text = texts.join("\n");
    if assistant && !calls.is_empty() {
        let mut converted = Message::tool_calls(calls, MessageType::ToolCall.meta());
        converted.content = text;
        history.push(converted);
    } else if assistant {
        history.push(Message::assistant(text, MessageType::TextResponse.meta()));
    } else if !results.is_empty() {
        history.extend(results);
        if !text.is_empty() {
            history.push(Message::user(text, MessageType::UserInput.meta()));
        }
    } else {
        history.push(Message::user(text, MessageType::UserInput.meta()));
    }
    Ok(())
}

fn plain(assistant: bool, text: String) -> Message {
    if assistant {
        Message::assistant(text, MessageType::TextResponse.meta())
    } else {
        Message::user(text, MessageType::UserInput.meta())
    }
}

/// Tools with a non-empty name become specs (`input_schema` is the parameter schema).
fn convert_tools(tools: &[Value]) -> Result<Vec<ToolSpec>, InboundError> {
    let mut specs = Vec::new();
    for (index, tool) in tools.iter().enumerate() {
        let path = format!("tools[{index}]");
        let tool = as_object(tool, &path)?;
        let Some(name) =
            optional_string(tool, "name", &format!("{path}.name"))?.filter(|n| !n.is_empty())
        else {
            continue;
        };
        let description = optional_string(tool, "description", &format!("{path}.description"))?
            .unwrap_or_default();
        let schema = match present(tool, "input_schema") {
            None => Value::Object(JsonObject::new()),
            Some(Value::Object(s)) => Value::Object(s.clone()),
            Some(other) => {
                return Err(InboundError::field(
                    format!("{path}.input_schema"),
                    format!("must be a JSON Schema object (got {})", type_name(other)),
                ))
            }
        };
        specs.push(ToolSpec::new(name, description, schema));
    }
    Ok(specs)
}

/// The OpenAI-shaped fields an OpenAI backend gets from an Anthropic request (Path 2).
fn openai_passthrough(body: &JsonObject) -> JsonObject {
    let mut out = JsonObject::new();
    for key in ["model", "max_tokens", "temperature", "top_p", "top_k"] {
        if let Some(value) = body.get(key) {
            out.insert(key.to_owned(), value.clone());
        }
    }
    if let Some(stop) = body.get("stop_sequences") {
        out.insert("stop".to_owned(), stop.clone());
    }
    if let Some(choice) = body.get("tool_choice") {
        out.insert("tool_choice".to_owned(), translate_tool_choice(choice));
    }
    out
}

fn translate_tool_choice(choice: &Value) -> Value {
    let Some(object) = choice.as_object() else {
        return choice.clone();
    };
    match object.get("type").and_then(Value::as_str) {
        Some("auto") => json!("auto"),
        Some("any") => json!("required"),
        Some("none") => json!("none"),
        Some("tool") => json!({
            "type": "function",
            "function": {"name": object.get("name").and_then(Value::as_str).unwrap_or_default()}
        }),
        _ => choice.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::MessageRole;

    fn prepare(body: Value) -> Result<PreparedRequest, InboundError> {
        prepare_anthropic(body.as_object().unwrap().clone())
    }

    #[test]
    fn passthrough_translates_stop_sequences_and_tool_choice_and_drops_the_rest() {
        let prepared = prepare(json!({
            "model": "claude-3-5-sonnet", "max_tokens": 1024, "temperature": 0.5, "top_p": 0.9,
            "top_k": 40, "stop_sequences": ["</done>"], "tool_choice": {"type": "any"},
            "thinking": {"type": "enabled"}, "metadata": {"user_id": "u"}, "service_tier": "auto",
            "messages": [], "stream": true
        }))
        .unwrap();
        assert_eq!(
            Value::Object(prepared.passthrough),
            json!({"model": "claude-3-5-sonnet", "max_tokens": 1024, "temperature": 0.5,
                   "top_p": 0.9, "top_k": 40, "stop": ["</done>"], "tool_choice": "required"})
        );
        let choices = [
            (json!({"type": "auto"}), json!("auto")),
            (json!({"type": "none"}), json!("none")),
            (
                json!({"type": "tool", "name": "search"}),
                json!({"type": "function", "function": {"name": "search"}}),
            ),
            (json!("weird"), json!("weird")),
            (json!({"type": "other"}), json!({"type": "other"})),
        ];
        for (input, expected) in choices {
            assert_eq!(translate_tool_choice(&input), expected);
        }
    }

    #[test]
    fn tool_results_precede_follow_up_text_and_keep_the_tool_name() {
        let prepared = prepare(json!({
            "system": [{"type": "text", "text": "S1", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": [{"type": "text", "text": "calling"},
                    {"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "a"}}]},
                {"role": "user", "content": [{"type": "text", "text": "more"},
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "res"}]}]}
            ],
            "tools": [{"name": "search", "description": "S", "input_schema": {"type": "object"}}, {"description": "nameless"}]
        }))
        .unwrap();
        let shape: Vec<(MessageRole, &str)> = prepared
            .history
            .iter()
            .map(|m| (m.role, m.content.as_str()))
            .collect();
        assert_eq!(
            shape,
            [
                (MessageRole::System, "S1"),
                (MessageRole::User, "q"),
                (MessageRole::Assistant, "calling"),
                (MessageRole::Tool, "res"),
                (MessageRole::User, "more"),
            ]
        );
        assert_eq!(prepared.history[3].tool_name.as_deref(), Some("search"));
        assert_eq!(prepared.tools.len(), 1);
        assert!(prepared.raw.anthropic_body.is_some());
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let cases = [
            (
                json!({"messages": [{"role": "user", "content": ["x"]}]}),
                "messages[0].content[0]",
            ),
            (
                json!({"messages": [{"role": "user", "content": 3}]}),
                "messages[0].content",
            ),
            (
                json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": "x"}]}]}),
                "messages[0].content[0].input",
            ),
            (json!({"system": 5}), "system"),
            (
                json!({"tools": [{"name": "f", "input_schema": []}]}),
                "tools[0].input_schema",
            ),
            (json!({"messages": {}}), "messages"),
        ];
        for (body, field) in cases {
            let error = prepare(body.clone()).expect_err("must be rejected");
            assert_eq!(error.field, field, "{body}: {}", error.message);
        }
    }
}
