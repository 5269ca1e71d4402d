//! The `/chat/completions` request body vLLM receives. Pure: no I/O.

use forge_client::{constraint_in, ConstraintDialect, InferenceRequest};
use forge_types::{JsonObject, SamplingParams};
use serde_json::{json, Value};

/// Keys forge always owns, whatever the caller passed through.
const FORGE_OWNED: [&str; 5] = ["model", "messages", "stream", "stream_options", "tools"];

/// The body field carrying a tool-call constraint: vLLM's structured outputs (v0.10.2 and
/// later; the older `guided_json` field was removed in v0.12).
pub const STRUCTURED_OUTPUTS_FIELD: &str = "structured_outputs";

/// Builds the request body.
///
/// Order of writers (later wins): the caller's pass-through fields (`max_tokens`, `stop`,
/// `tool_choice`, …), then forge's `model`, `messages`, `stream` (and `stream_options` when
/// streaming), the tools (the caller's raw OpenAI tools when given, else ours), `tool_choice:
/// "auto"` only when tools are sent and the caller chose none, and finally the sampling fields
/// (per-call values over the instance's), then a tool-call constraint in
/// [`STRUCTURED_OUTPUTS_FIELD`] as `{"json": <schema>}`.
pub fn chat_body(
    model: &str,
    request: &InferenceRequest,
    instance_sampling: &SamplingParams,
    stream: bool,
) -> JsonObject {
    let mut body = request.passthrough.clone();
    for key in FORGE_OWNED {
        if body.remove(key).is_some() {
            tracing::debug!(key, "pass-through field replaced by forge's own");
        }
    }
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(request.messages.clone()));
    body.insert("stream".into(), json!(stream));
    if stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    let tools: Vec<Value> = match &request.raw_openai_tools {
        Some(raw) => raw.clone(),
        None => request
            .tools
            .iter()
            .map(|spec| spec.to_openai_tool())
            .collect(),
    };
    if !tools.is_empty() {
        body.insert("tools".into(), Value::Array(tools));
        body.entry("tool_choice").or_insert_with(|| json!("auto"));
    }
    request.sampling.or(instance_sampling).write_into(&mut body);
    if let Some(constraint) = constraint_in(request, ConstraintDialect::VllmStructuredOutputs) {
        body.insert(
            STRUCTURED_OUTPUTS_FIELD.into(),
            json!({"json": constraint.schema()}),
        );
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::ToolSpec;

    fn weather_tool() -> ToolSpec {
        ToolSpec::new(
            "get_weather",
            "Get get_weather",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        )
    }

    fn request() -> InferenceRequest {
        InferenceRequest {
            messages: vec![json!({"role": "user", "content": "Weather in Paris?"})],
            ..Default::default()
        }
    }

    fn object(value: Value) -> JsonObject {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn plain_send_has_no_tools_and_no_tool_choice() {
        insta::assert_json_snapshot!(chat_body(
            "/models/x",
            &request(),
            &SamplingParams::default(),
            false
        ));
    }

    #[test]
    fn streaming_with_tools_asks_for_usage_and_auto_tool_choice() {
        let request = InferenceRequest {
            tools: vec![weather_tool()],
            ..request()
        };
        insta::assert_json_snapshot!(chat_body(
            "/models/x",
            &request,
            &SamplingParams::default(),
            true
        ));
    }

    #[test]
    fn passthrough_fields_reach_vllm_but_forge_owns_model_stream_and_tools() {
        let request = InferenceRequest {
            tools: vec![weather_tool()],
            passthrough: object(json!({
                "max_tokens": 512,
                "stop": ["END"],
                "tool_choice": "required",
                "model": "evil",
                "stream": true,
                "stream_options": {"include_usage": false},
                "temperature": 0.9,
                "litellm_session_id": "s-1"
            })),
            sampling: SamplingParams {
                temperature: Some(0.0),
                seed: Some(42),
                ..Default::default()
            },
            ..request()
        };
        let instance = SamplingParams {
            temperature: Some(1.0),
            top_p: Some(0.85),
            ..Default::default()
        };
        insta::assert_json_snapshot!(chat_body("/models/x", &request, &instance, false));
    }

    #[test]
    fn raw_openai_tools_are_sent_verbatim() {
        let raw = json!({"type": "function", "function": {"name": "search", "parameters": {}, "strict": true}});
        let request = InferenceRequest {
            tools: vec![weather_tool()],
            raw_openai_tools: Some(vec![raw.clone()]),
            ..request()
        };
        let body = chat_body("m", &request, &SamplingParams::default(), false);
        assert_eq!(body["tools"], json!([raw]));
    }

    #[test]
    fn instance_sampling_applies_when_the_call_sets_none() {
        let instance = SamplingParams {
            temperature: Some(0.5),
            top_p: Some(0.85),
            chat_template_kwargs: Some(object(json!({"enable_thinking": false}))),
            ..Default::default()
        };
        let body = chat_body("m", &request(), &instance, false);
        assert_eq!(body["temperature"], json!(0.5));
        assert_eq!(body["top_p"], json!(0.85));
        assert_eq!(
            body["chat_template_kwargs"],
            json!({"enable_thinking": false})
        );
        assert!(!body.contains_key("seed"));
    }

    #[test]
    fn anthropic_body_never_leaks_into_the_request() {
        let request = InferenceRequest {
            inbound_anthropic_body: Some(object(json!({"some_anthropic_field": "value"}))),
            ..request()
        };
        let body = chat_body("m", &request, &SamplingParams::default(), false);
        assert!(!body.contains_key("some_anthropic_field"));
    }
}
