//! One prepared request → one resolved answer: the tool-free bypass, or the guardrailed path
//! through the retry engine, with respond-tool injection and stripping.
//!
//! Everything here is request-local: a fresh context manager that never compacts (the proxy
//! never rewrites the caller's history), a fresh error tracker and usage per request. Dropping
//! the returned future abandons the backend call in flight (that is how a client that hangs up
//! cancels its work).

use forge_client::{InferenceRequest, LlmClient};
use forge_context::ContextManager;
use forge_guardrails::{
    fold_and_serialize, partition_respond_calls, respond_message, respond_spec, run_inference,
    strip_raw_reasoning, ConstraintPolicy, ErrorTracker, InferenceCall, InferenceOptions,
    InferenceOutcome, ReasoningReplay, ResponseValidator, RESPOND_TOOL_NAME,
};
use forge_types::{CallIdGenerator, Completion, ForgeError, LlmResponse, TextResponse, ToolCall};
use serde_json::{json, Value};

use crate::credentials::WithCredential;
use crate::error::ProxyError;
use crate::inbound::PreparedRequest;

/// The guardrail settings of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandlerSettings {
    /// Consecutive retries per request.
    pub max_retries: u32,
    /// Tool-error budget per request.
    pub max_tool_errors: u32,
    /// Rescue of calls written as text.
    pub rescue_enabled: bool,
    /// Offer the synthetic `respond` tool.
    pub inject_respond_tool: bool,
    /// Reasoning replay (to the backend) and display (to the client).
    pub reasoning_replay: ReasoningReplay,
    /// When attempts are constrained to one valid call.
    pub constraint_policy: ConstraintPolicy,
}

impl Default for HandlerSettings {
    fn default() -> Self {
        Self {
            max_retries: forge_guardrails::DEFAULT_MAX_RETRIES,
            max_tool_errors: forge_guardrails::DEFAULT_MAX_TOOL_ERRORS,
            rescue_enabled: true,
            inject_respond_tool: false,
            reasoning_replay: ReasoningReplay::None,
            constraint_policy: ConstraintPolicy::Never,
        }
    }
}

/// Answers one request. Backend failures are errors, never content; a model that never made a
/// valid call gets its last text passed through (a 200, as the reference does).
pub async fn handle(
    client: &dyn LlmClient,
    settings: &HandlerSettings,
    request: PreparedRequest,
) -> Result<Completion, ProxyError> {
    if request.tools.is_empty() {
        return bypass(client, settings, request).await;
    }
    guarded(client, settings, request).await
}

/// Tool-free requests: one backend call, no validation, no retry.
async fn bypass(
    client: &dyn LlmClient,
    settings: &HandlerSettings,
    request: PreparedRequest,
) -> Result<Completion, ProxyError> {
    tracing::debug!("no tools in request, passing through to backend");
    let messages = match &request.raw.openai_messages {
        Some(raw) => strip_raw_reasoning(raw, settings.reasoning_replay),
        None => fold_and_serialize(
            &request.history,
            client.api_format(),
            settings.reasoning_replay,
        ),
    };
    let call = InferenceRequest {
        messages,
        tools: Vec::new(),
        sampling: request.sampling,
        passthrough: request.passthrough,
        raw_openai_tools: None,
        inbound_anthropic_body: request.raw.anthropic_body,
        credential: request.credential,
        ..InferenceRequest::default()
    };
    let completion = client.send(&call).await?;
    let response = match completion.response {
        LlmResponse::Text(text) => LlmResponse::Text(text),
        LlmResponse::ToolCalls(calls) => {
            tracing::warn!(
                calls = calls.len(),
                "backend answered a tool-free request with tool calls; they are dropped"
            );
            LlmResponse::Text(TextResponse::new(""))
        }
    };
    Ok(Completion {
        response,
        usage: completion.usage,
    })
}

async fn guarded(
    client: &dyn LlmClient,
    settings: &HandlerSettings,
    mut request: PreparedRequest,
) -> Result<Completion, ProxyError> {
    // The engine builds every attempt's request; the credential rides on the client instead.
    let credential = request.credential.take();
    let authenticated = credential
        .as_ref()
        .map(|credential| WithCredential::new(client, credential));
    let client: &dyn LlmClient = match &authenticated {
        Some(authenticated) => authenticated,
        None => client,
    };
    let injected =
        settings.inject_respond_tool && !request.tools.iter().any(|t| t.name == RESPOND_TOOL_NAME);
    if injected {
        let spec = respond_spec();
        if let Some(raw_tools) = request.raw.openai_tools.as_mut() {
            raw_tools.push(spec.to_openai_tool());
        }
        request.tools.push(spec);
    }
    let validator = ResponseValidator::new(request.tools).with_rescue(settings.rescue_enabled);
    let mut errors = ErrorTracker::new(settings.max_retries, settings.max_tool_errors);
    let ids = CallIdGenerator::continuing_after(
        request
            .history
            .iter()
            .filter_map(|m| m.tool_calls.as_ref())
            .flatten()
            .map(|info| &info.call_id),
    );
    let mut context = ContextManager::without_budget();
    let mut history = request.history;
    let options = InferenceOptions {
        sampling: request.sampling,
        passthrough: request.passthrough,
        raw: request.raw,
        reasoning_replay: settings.reasoning_replay,
        constraint_policy: settings.constraint_policy,
        ..InferenceOptions::default()
    };
    let call = InferenceCall::new(client, &mut context, &validator, &mut errors, &ids)
        .with_options(options);
    match run_inference(call, &mut history).await {
        Ok(InferenceOutcome::Response(result)) => Ok(Completion {
            response: strip_respond(result.calls, injected),
            usage: result.usage,
        }),
        Ok(InferenceOutcome::OutOfAttempts(log)) => Err(ProxyError::Internal(format!(
            "the engine stopped after {} attempts without an answer or an error",
            log.attempts
        ))),
        Err(failure) => match failure.error {
            ForgeError::RetriesExhausted { attempts, .. } => {
                let text = exhausted_text(failure.last_response.as_ref());
                tracing::warn!(
                    attempts,
                    text = %text.chars().take(120).collect::<String>(),
                    "retries exhausted, passing the model's last text through"
                );
                Ok(Completion {
                    response: LlmResponse::text(text),
                    usage: failure.log.usage.last().copied().flatten(),
                })
            }
            ForgeError::Backend(error) => Err(ProxyError::Backend(error)),
            other => Err(ProxyError::Internal(other.to_string())),
        },
    }
}

/// Calls of the injected `respond` tool become text; a client's own `respond` tool is left
/// alone (it was not injected).
fn strip_respond(calls: Vec<ToolCall>, injected: bool) -> LlmResponse {
    if !injected {
        return LlmResponse::ToolCalls(calls);
    }
    let reasoning = calls.first().and_then(|c| c.reasoning.clone());
    let (respond, mut others) = partition_respond_calls(calls);
    if others.is_empty() {
        tracing::debug!("stripping respond() call, returning as text");
        let text = respond
            .first()
            .and_then(respond_message)
            .unwrap_or_default()
            .to_owned();
        return LlmResponse::Text(TextResponse {
            content: text,
            reasoning,
        });
    }
    if let Some(first) = others.first_mut() {
        if first.reasoning.is_none() {
            first.reasoning = reasoning;
        }
    }
    LlmResponse::ToolCalls(others)
}

/// What the client gets when the model never produced a valid call: its last text; for a
/// tool-call failure, the narration next to the calls, else the calls written as JSON lines
/// (`{"name": …, "arguments": {…}}`) — the model's own output in a stable form.
fn exhausted_text(last: Option<&LlmResponse>) -> String {
    match last {
        Some(LlmResponse::Text(text)) => text.content.clone(),
        Some(LlmResponse::ToolCalls(calls)) => {
            if let Some(reasoning) = calls
                .first()
                .and_then(|c| c.reasoning.as_deref())
                .filter(|r| !r.trim().is_empty())
            {
                return reasoning.to_owned();
            }
            calls
                .iter()
                .map(|call| {
                    json!({"name": call.tool, "arguments": Value::Object(call.args.clone())})
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_types::json_object;

    fn call(name: &str, args: Value) -> ToolCall {
        ToolCall::new(name, json_object(args).unwrap())
    }

    #[test]
    fn injected_respond_alone_becomes_text() {
        let response = strip_respond(vec![call("respond", json!({"message": "Hi!"}))], true);
        assert_eq!(response.as_text(), Some("Hi!"));
    }

    #[test]
    fn injected_respond_next_to_a_real_call_is_dropped() {
        let response = strip_respond(
            vec![
                call("search", json!({"q": "test"})),
                call("respond", json!({"message": "also this"})),
            ],
            true,
        );
        let calls = response.as_tool_calls().unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].tool, "search");
    }

    #[test]
    fn clients_own_respond_tool_stays_a_tool_call_without_injection() {
        let response = strip_respond(vec![call("respond", json!({"message": "Hi!"}))], false);
        assert_eq!(response.as_tool_calls().unwrap()[0].tool, "respond");
    }

    #[test]
    fn unknown_tool_exhaustion_text_is_stable_json_not_a_debug_dump() {
        let last = LlmResponse::ToolCalls(vec![call("nosuch", json!({}))]);
        assert_eq!(
            exhausted_text(Some(&last)),
            r#"{"name":"nosuch","arguments":{}}"#
        );
        assert_eq!(exhausted_text(Some(&LlmResponse::text("plain"))), "plain");
    }
}
