//! A model stand-in that replays a script: for tests and for exercising the harness end to end
//! without a model (`forge-eval run --backend scripted`).

use std::collections::VecDeque;
use std::sync::Mutex;

use forge_client::{ChunkStream, InferenceRequest, LlmClient};
use forge_types::{ApiFormat, BackendError, Completion, LlmResponse, StreamChunk, ToolCall};
use futures_util::stream;
use serde_json::Value;

use crate::scenario::{golden_path, GoldenCall};

/// Replays responses in order; once the script is exhausted it answers with plain text (which a
/// guarded run treats as a bad response).
#[derive(Debug)]
pub struct ScriptedClient {
    responses: Mutex<VecDeque<LlmResponse>>,
}

impl ScriptedClient {
    /// A client answering with `responses`, in order.
    pub fn new(responses: impl IntoIterator<Item = LlmResponse>) -> Self {
        Self {
            responses: Mutex::new(responses.into_iter().collect()),
        }
    }

    /// A client replaying the golden path of `scenario` (one call per turn); `None` for an
    /// unknown scenario.
    pub fn golden(scenario: &str) -> Option<Self> {
        golden_path(scenario).map(|path| Self::new(path.into_iter().map(call_response)))
    }

    /// Responses not yet used.
    pub fn remaining(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<LlmResponse>> {
        self.responses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn next(&self) -> LlmResponse {
        self.lock()
            .pop_front()
            .unwrap_or_else(|| LlmResponse::text("(the script has no more responses)"))
    }
}

/// The response of a model making one golden call.
pub fn call_response(call: GoldenCall) -> LlmResponse {
    let args = match call.args {
        Value::Object(map) => map,
        other => {
            let mut map = serde_json::Map::new();
            map.insert("value".into(), other);
            map
        }
    };
    LlmResponse::ToolCalls(vec![ToolCall::new(call.tool, args)])
}

#[async_trait::async_trait]
impl LlmClient for ScriptedClient {
    fn api_format(&self) -> ApiFormat {
        ApiFormat::OpenAi
    }

    fn backend_name(&self) -> &'static str {
        "scripted"
    }

    async fn send(&self, _request: &InferenceRequest) -> Result<Completion, BackendError> {
        Ok(Completion::new(self.next()))
    }

    async fn send_stream(&self, _request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let completion = Completion::new(self.next());
        Ok(Box::pin(stream::iter([Ok(StreamChunk::Final(completion))])))
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}

/// A stateless stand-in that plays the golden path of whichever scenario it is asked about: it
/// recognises the scenario from the user message and the tool names, and picks the next call
/// after the last tool call in the history. One instance serves any number of concurrent runs
/// (`forge-eval run --backend scripted` uses it to exercise the whole pipeline without a model).
#[derive(Debug, Default)]
pub struct GoldenClient;

fn find_scenario(request: &InferenceRequest) -> Option<crate::scenario::Scenario> {
    let user = request
        .messages
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())?;
    let tools: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
    crate::scenario::all_scenarios().into_iter().find(|s| {
        user.contains(&s.spec().user_message)
            && s.spec()
                .tools
                .iter()
                .map(|t| t.name.as_str())
                .eq(tools.iter().copied())
    })
}

fn last_call(request: &InferenceRequest) -> Option<(String, Value)> {
    let message = request.messages.iter().rev().find(|m| {
        m["role"] == "assistant" && m["tool_calls"].as_array().is_some_and(|c| !c.is_empty())
    })?;
    let call = &message["tool_calls"].as_array()?.last()?["function"];
    let args = match &call["arguments"] {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    Some((call["name"].as_str()?.to_owned(), args))
}

impl GoldenClient {
    fn respond(request: &InferenceRequest) -> LlmResponse {
        let Some(scenario) = find_scenario(request) else {
            return LlmResponse::text("(no scenario matches this request)");
        };
        let path = golden_path(scenario.name()).unwrap_or_default();
        let next = match last_call(request) {
            None => 0,
            Some((tool, args)) => path
                .iter()
                .rposition(|c| c.tool == tool && c.args == args)
                .map_or(path.len(), |i| i + 1),
        };
        path.into_iter().nth(next).map_or_else(
            || LlmResponse::text("(the golden path is over)"),
            call_response,
        )
    }
}

#[async_trait::async_trait]
impl LlmClient for GoldenClient {
    fn api_format(&self) -> ApiFormat {
        ApiFormat::OpenAi
    }

    fn backend_name(&self) -> &'static str {
        "scripted"
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        Ok(Completion::new(Self::respond(request)))
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let completion = Completion::new(Self::respond(request));
        Ok(Box::pin(stream::iter([Ok(StreamChunk::Final(completion))])))
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}
