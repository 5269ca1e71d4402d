//! The `/api/chat` request body. Pure: no I/O.

use forge_client::{constraint_in, ConstraintDialect, InferenceRequest};
use forge_types::{JsonObject, SamplingParams};
use serde_json::{json, Value};

use crate::messages::normalize_messages;

/// Keys forge always owns at the top level.
const FORGE_OWNED: [&str; 6] = ["model", "messages", "stream", "think", "tools", "options"];

/// OpenAI request fields that have no meaning for `/api/chat` and would only be ignored there.
const OPENAI_ONLY: [&str; 7] = [
    "tool_choice",
    "stream_options",
    "parallel_tool_calls",
    "n",
    "logprobs",
    "top_logprobs",
    "user",
];

/// What the body needs besides the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodySettings<'a> {
    pub model: &'a str,
    pub instance_sampling: &'a SamplingParams,
    pub num_ctx: Option<u64>,
    pub think: bool,
    pub stream: bool,
}

/// Builds the body.
///
/// - `options` is always present: a pass-through `options` object, then `num_predict` / `stop`
///   translated from OpenAI `max_tokens` / `stop`, then the sampling fields (per-call over
///   instance; `chat_template_kwargs` has no Ollama equivalent and is not sent), then `num_ctx`.
/// - `think: true` only while thinking is on (never `think: false`).
/// - `tools` only when there are tools.
/// - Other pass-through fields (`format`, `keep_alive`, `litellm_session_id`, …) are forwarded;
///   OpenAI-only ones are dropped with a debug log.
/// - A tool-call constraint goes in `format` as its JSON schema (over a caller's `format`).
pub(crate) fn chat_body(request: &InferenceRequest, settings: BodySettings<'_>) -> JsonObject {
    let mut body = JsonObject::new();
    let mut options = JsonObject::new();
    for (key, value) in &request.passthrough {
        match key.as_str() {
            "options" => match value {
                Value::Object(passed) => options.extend(passed.clone()),
                _ => tracing::debug!("pass-through `options` is not an object; dropped"),
            },
            "max_tokens" | "max_completion_tokens" => {
                options.insert("num_predict".into(), value.clone());
            }
            "stop" => {
                let stops = match value {
                    Value::String(one) => json!([one]),
                    other => other.clone(),
                };
                options.insert("stop".into(), stops);
            }
            "response_format" => {
                if let Some(format) = ollama_format(value) {
                    body.insert("format".into(), format);
                }
            }
            key if FORGE_OWNED.contains(&key) => {
                tracing::debug!(key, "pass-through field replaced by forge's own")
            }
            key if OPENAI_ONLY.contains(&key) => {
                tracing::debug!(key, "OpenAI-only pass-through field not sent to Ollama")
            }
            _ => {
                body.insert(key.clone(), value.clone());
            }
        }
    }
    let mut sampling = request.sampling.or(settings.instance_sampling);
    sampling.chat_template_kwargs = None;
    sampling.write_into(&mut options);
    if let Some(num_ctx) = settings.num_ctx {
        options.insert("num_ctx".into(), json!(num_ctx));
    }
    body.insert("model".into(), json!(settings.model));
    body.insert(
        "messages".into(),
        Value::Array(normalize_messages(&request.messages)),
    );
    body.insert("stream".into(), json!(settings.stream));
    body.insert("options".into(), Value::Object(options));
    if settings.think {
        body.insert("think".into(), json!(true));
    }
    if !request.tools.is_empty() {
        let tools = request
            .tools
            .iter()
            .map(|spec| spec.to_openai_tool())
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    if let Some(constraint) = constraint_in(request, ConstraintDialect::OllamaFormat) {
        if body.contains_key("format") {
            tracing::warn!("the tool-call constraint replaces the caller's `format`");
        }
        body.insert("format".into(), constraint.schema().clone());
    }
    body
}

/// OpenAI `response_format` as Ollama `format`: `json_object` → `"json"`, `json_schema` → the
/// schema; `text` (the default) → nothing.
fn ollama_format(response_format: &Value) -> Option<Value> {
    match response_format.get("type").and_then(Value::as_str) {
        Some("json_object") => Some(json!("json")),
        Some("json_schema") => response_format.pointer("/json_schema/schema").cloned(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::ToolSpec;

    fn settings(sampling: &SamplingParams) -> BodySettings<'_> {
        BodySettings {
            model: "test-model",
            instance_sampling: sampling,
            num_ctx: None,
            think: false,
            stream: false,
        }
    }

    fn pricing_tool() -> ToolSpec {
        ToolSpec::new(
            "get_pricing",
            "Get get_pricing",
            json!({"type": "object", "properties": {"part": {"type": "string", "description": "Part number"}}, "required": ["part"]}),
        )
    }

    fn request() -> InferenceRequest {
        InferenceRequest {
            messages: vec![json!({"role": "user", "content": "Price of X123?"})],
            ..Default::default()
        }
    }

    #[test]
    fn default_body_has_empty_options_and_no_think() {
        insta::assert_json_snapshot!(chat_body(&request(), settings(&SamplingParams::default())));
    }

    #[test]
    fn full_body_with_tools_think_num_ctx_and_sampling() {
        let instance = SamplingParams {
            temperature: Some(0.6),
            top_p: Some(0.95),
            top_k: Some(20),
            min_p: Some(0.0),
            repeat_penalty: Some(1.05),
            presence_penalty: Some(1.5),
            chat_template_kwargs: Some(JsonObject::new()),
            ..Default::default()
        };
        let request = InferenceRequest {
            tools: vec![pricing_tool()],
            sampling: SamplingParams {
                temperature: Some(0.0),
                seed: Some(42),
                ..Default::default()
            },
            ..request()
        };
        let settings = BodySettings {
            num_ctx: Some(8192),
            think: true,
            stream: true,
            ..settings(&instance)
        };
        insta::assert_json_snapshot!(chat_body(&request, settings));
    }

    #[test]
    fn passthrough_is_translated_for_ollama() {
        let passthrough = json!({
            "max_tokens": 64,
            "stop": "END",
            "tool_choice": "auto",
            "model": "evil",
            "keep_alive": "10m",
            "litellm_session_id": "s-1",
            "response_format": {"type": "json_object"},
            "options": {"mirostat": 2, "temperature": 1.5}
        });
        let request = InferenceRequest {
            passthrough: passthrough.as_object().cloned().unwrap(),
            sampling: SamplingParams {
                temperature: Some(0.2),
                ..Default::default()
            },
            ..request()
        };
        insta::assert_json_snapshot!(chat_body(&request, settings(&SamplingParams::default())));
    }
}
