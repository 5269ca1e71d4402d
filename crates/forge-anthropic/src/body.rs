//! The `/v1/messages` request body: the verbatim path and the rebuilt path. Pure: no I/O.

use forge_client::{constraint_in, ConstraintDialect, InferenceRequest, ToolConstraint};
use forge_types::JsonObject;
use serde_json::{json, Value};

use crate::convert::convert_messages;

/// Top-level Messages API fields a pass-through may carry as they are.
const ANTHROPIC_FIELDS: [&str; 10] = [
    "metadata",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

/// Why a body cannot be built (the caller's input; never sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyError(pub String);

/// Client-level settings the body needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodySettings<'a> {
    /// A pinned model: wins over the request's.
    pub pinned_model: Option<&'a str>,
    /// `max_tokens` when the request gives none.
    pub max_tokens: u64,
    /// `tool_choice` type (`auto`, `any`) when tools are sent and the request chose none.
    pub tool_choice: Option<&'a str>,
    /// Streaming request.
    pub stream: bool,
}

/// Builds the body: verbatim when the request carries the inbound Anthropic body, else rebuilt.
pub(crate) fn messages_body(
    request: &InferenceRequest,
    settings: BodySettings<'_>,
) -> Result<JsonObject, BodyError> {
    let mut body = match &request.inbound_anthropic_body {
        Some(inbound) => verbatim_body(inbound, request, settings)?,
        None => rebuilt_body(request, settings)?,
    };
    if let Some(constraint) = constraint_in(request, ConstraintDialect::AnthropicToolChoice) {
        constrain_tool_choice(&mut body, constraint);
    }
    Ok(body)
}

/// Forces exactly one tool call: `tool_choice: {"type": "any", "disable_parallel_tool_use":
/// true}`, with the constraint's text-answer tool offered so a text answer stays possible.
/// Anthropic refuses a forced tool choice while extended thinking is on: then the request goes
/// unconstrained, with a warning.
fn constrain_tool_choice(body: &mut JsonObject, constraint: &ToolConstraint) {
    let thinking_on = body
        .get("thinking")
        .and_then(|thinking| thinking.get("type"))
        .is_some_and(|kind| kind != "disabled");
    if thinking_on {
        tracing::warn!("extended thinking is on and Anthropic refuses a forced tool choice with it; sending unconstrained");
        return;
    }
    let Some(Value::Array(tools)) = body.get_mut("tools") else {
        tracing::warn!("no tools in the body to force a choice among; sending unconstrained");
        return;
    };
    if let Some(spec) = constraint.synthetic_text_tool() {
        tools.push(json!({"name": spec.name, "description": spec.description, "input_schema": spec.parameters}));
    }
    body.insert(
        "tool_choice".into(),
        json!({"type": "any", "disable_parallel_tool_use": true}),
    );
}

/// The caller's own Anthropic body (clean first attempt): everything kept — `cache_control`,
/// `metadata`, system blocks, thinking — except `stream`, which is ours, and `model` when pinned.
fn verbatim_body(
    inbound: &JsonObject,
    request: &InferenceRequest,
    settings: BodySettings<'_>,
) -> Result<JsonObject, BodyError> {
    let mut body = inbound.clone();
    body.remove("stream");
    let model = settings
        .pinned_model
        .map(str::to_owned)
        .or_else(|| non_blank_string(inbound.get("model")))
        .or_else(|| non_blank_string(request.passthrough.get("model")))
        .ok_or_else(no_model)?;
    body.insert("model".into(), json!(model));
    if settings.stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(body)
}

/// A body built from forge's OpenAI-shaped conversation (retries, compaction, library use).
///
/// Pass-through fields arrive OpenAI-shaped (the proxy builds them that way for both inbound
/// protocols), so they are translated: `max_tokens`/`max_completion_tokens` → `max_tokens`,
/// `stop` → `stop_sequences`, an OpenAI `tool_choice` → its Anthropic form. Native Messages
/// fields pass as they are; anything else is left out with a debug log (the API answers 400 to
/// unknown fields).
fn rebuilt_body(
    request: &InferenceRequest,
    settings: BodySettings<'_>,
) -> Result<JsonObject, BodyError> {
    let converted = convert_messages(&request.messages).map_err(|err| BodyError(err.0))?;
    let model = settings
        .pinned_model
        .map(str::to_owned)
        .or_else(|| non_blank_string(request.passthrough.get("model")))
        .ok_or_else(no_model)?;
    let mut body = JsonObject::new();
    let mut max_tokens = None;
    let mut tool_choice = None;
    let mut passthrough_system = None;
    for (key, value) in &request.passthrough {
        match key.as_str() {
            "model" => {}
            "max_tokens" | "max_completion_tokens" => max_tokens = Some(value.clone()),
            "stop" => {
                let stops = match value {
                    Value::String(one) => json!([one]),
                    other => other.clone(),
                };
                body.insert("stop_sequences".into(), stops);
            }
            "tool_choice" => tool_choice = anthropic_tool_choice(value),
            "system" => passthrough_system = Some(value.clone()),
            key if ANTHROPIC_FIELDS.contains(&key) => {
                body.insert(key.to_owned(), value.clone());
            }
            key => tracing::debug!(
                key,
                "pass-through field has no Messages API equivalent; not sent"
            ),
        }
    }
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(converted.messages));
    body.insert(
        "max_tokens".into(),
        max_tokens.unwrap_or_else(|| json!(settings.max_tokens)),
    );
    match (converted.system, passthrough_system) {
        (Some(system), _) => {
            body.insert("system".into(), json!(system));
        }
        (None, Some(system)) => {
            body.insert("system".into(), system);
        }
        (None, None) => {}
    }
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|spec| json!({"name": spec.name, "description": spec.description, "input_schema": spec.parameters}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) =
            tool_choice.or_else(|| settings.tool_choice.map(|kind| json!({"type": kind})))
        {
            body.insert("tool_choice".into(), choice);
        }
    }
    if settings.stream {
        body.insert("stream".into(), json!(true));
    }
    if !request.sampling.is_empty() {
        tracing::debug!("per-call sampling is not sent to Anthropic; pass temperature/top_p/top_k through instead");
    }
    Ok(body)
}

/// An OpenAI or Anthropic `tool_choice` in Anthropic form; unknown shapes are dropped (logged).
fn anthropic_tool_choice(value: &Value) -> Option<Value> {
    let choice = match value {
        Value::String(kind) => match kind.as_str() {
            "auto" => json!({"type": "auto"}),
            "required" | "any" => json!({"type": "any"}),
            "none" => json!({"type": "none"}),
            _ => Value::Null,
        },
        Value::Object(fields) => match fields.get("type").and_then(Value::as_str) {
            Some("function") => match value.pointer("/function/name").and_then(Value::as_str) {
                Some(name) => json!({"type": "tool", "name": name}),
                None => Value::Null,
            },
            Some("auto" | "any" | "tool" | "none") => value.clone(),
            _ => Value::Null,
        },
        _ => Value::Null,
    };
    if choice.is_null() {
        tracing::debug!(%value, "pass-through tool_choice not understood; not sent");
        return None;
    }
    Some(choice)
}

fn non_blank_string(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
        .map(str::to_owned)
}

fn no_model() -> BodyError {
    BodyError("no model: the client has none pinned and the request names none".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::ToolSpec;

    fn object(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap()
    }

    fn settings() -> BodySettings<'static> {
        BodySettings {
            pinned_model: None,
            max_tokens: 4096,
            tool_choice: None,
            stream: false,
        }
    }

    fn weather_tool() -> ToolSpec {
        ToolSpec::new(
            "get_weather",
            "Get weather",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        )
    }

    fn inbound() -> JsonObject {
        object(json!({
            "model": "claude-opus-4-7",
            "max_tokens": 1024,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}],
            "metadata": {"user_id": "test"},
            "stream": true
        }))
    }

    #[test]
    fn verbatim_body_keeps_cache_control_and_drops_stream() {
        let request = InferenceRequest {
            inbound_anthropic_body: Some(inbound()),
            ..Default::default()
        };
        insta::assert_json_snapshot!(messages_body(&request, settings()).unwrap());
    }

    #[test]
    fn verbatim_model_precedence_pin_then_inbound_then_request() {
        let cases: &[(Option<&str>, Value, Value, Option<&str>)] = &[
            (
                None,
                json!({"max_tokens": 256, "messages": []}),
                json!({"model": "from-passthrough"}),
                Some("from-passthrough"),
            ),
            (
                None,
                json!({"model": "claude-opus-4-7", "messages": []}),
                json!({}),
                Some("claude-opus-4-7"),
            ),
            (
                Some("pinned"),
                json!({"model": "claude-opus-4-7", "messages": []}),
                json!({}),
                Some("pinned"),
            ),
            (None, json!({"messages": []}), json!({}), None),
        ];
        for (pin, inbound, passthrough, expected) in cases {
            let request = InferenceRequest {
                inbound_anthropic_body: Some(object(inbound.clone())),
                passthrough: object(passthrough.clone()),
                ..Default::default()
            };
            let got = messages_body(
                &request,
                BodySettings {
                    pinned_model: *pin,
                    ..settings()
                },
            )
            .ok()
            .map(|body| body["model"].as_str().unwrap().to_owned());
            assert_eq!(got.as_deref(), *expected, "{inbound}");
        }
    }

    #[test]
    fn rebuilt_body_translates_openai_passthrough_and_uses_the_requests_model() {
        let request = InferenceRequest {
            messages: vec![
                json!({"role": "system", "content": "be helpful"}),
                json!({"role": "user", "content": "hi"}),
            ],
            tools: vec![weather_tool()],
            passthrough: object(json!({
                "model": "claude-sonnet-4-6",
                "max_tokens": 512,
                "temperature": 0.2,
                "top_k": 5,
                "stop": ["END"],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "response_format": {"type": "json_object"}
            })),
            ..Default::default()
        };
        insta::assert_json_snapshot!(messages_body(&request, settings()).unwrap());
    }

    #[test]
    fn rebuilt_body_defaults_max_tokens_and_instance_tool_choice() {
        let request = InferenceRequest {
            messages: vec![json!({"role": "user", "content": "hi"})],
            tools: vec![weather_tool()],
            ..Default::default()
        };
        let settings = BodySettings {
            pinned_model: Some("claude-x"),
            tool_choice: Some("any"),
            stream: true,
            ..settings()
        };
        let body = messages_body(&request, settings).unwrap();
        assert_eq!(body["max_tokens"], json!(4096));
        assert_eq!(body["tool_choice"], json!({"type": "any"}));
        assert_eq!(body["stream"], json!(true));
        assert_eq!(body["model"], json!("claude-x"));
        assert!(!body.contains_key("system"));
    }

    #[test]
    fn openai_tool_choice_forms_translate() {
        let cases = [
            (json!("auto"), Some(json!({"type": "auto"}))),
            (json!("required"), Some(json!({"type": "any"}))),
            (json!("none"), Some(json!({"type": "none"}))),
            (
                json!({"type": "tool", "name": "x"}),
                Some(json!({"type": "tool", "name": "x"})),
            ),
            (json!("sometimes"), None),
        ];
        for (input, expected) in cases {
            assert_eq!(anthropic_tool_choice(&input), expected, "{input}");
        }
    }
}
