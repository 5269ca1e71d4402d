//! A scripted fake `LlmClient` and small builders shared by the engine tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use forge_client::{ChunkStream, InferenceRequest, LlmClient};
use forge_types::{
    json_object, ApiFormat, BackendError, Completion, JsonObject, LlmResponse, Message,
    MessageType, StreamChunk, TokenUsage, ToolCall, ToolSpec,
};
use futures_util::stream;
use serde_json::{json, Value};

/// One scripted answer of the fake client.
#[derive(Debug)]
pub enum Scripted {
    /// `send` returns this response (no usage); `send_stream` yields `TEXT_DELTA("partial...")`
    /// then `FINAL`.
    Reply(LlmResponse),
    /// As `Reply`, with usage.
    ReplyWithUsage(LlmResponse, TokenUsage),
    /// `send_stream` yields exactly these items (for `send`: a scripting error).
    Chunks(Vec<Result<StreamChunk, BackendError>>),
    /// The call fails before any chunk.
    Fail(BackendError),
    /// The call never completes.
    Hang,
}

/// Returns scripted answers in order and records every request it received.
#[derive(Debug)]
pub struct ScriptedClient {
    format: ApiFormat,
    script: Mutex<VecDeque<Scripted>>,
    requests: Mutex<Vec<InferenceRequest>>,
    streamed: Mutex<Vec<bool>>,
}

impl ScriptedClient {
    pub fn new(format: ApiFormat, script: Vec<Scripted>) -> Self {
        Self {
            format,
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
            streamed: Mutex::new(Vec::new()),
        }
    }

    /// An OpenAI-format client answering `responses` in order.
    pub fn replies(format: ApiFormat, responses: Vec<LlmResponse>) -> Self {
        Self::new(format, responses.into_iter().map(Scripted::Reply).collect())
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<InferenceRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// Per request: whether it came through `send_stream`.
    pub fn streamed(&self) -> Vec<bool> {
        self.streamed.lock().unwrap().clone()
    }

    /// The wire messages of every request.
    pub fn payloads(&self) -> Vec<Vec<Value>> {
        self.requests().into_iter().map(|r| r.messages).collect()
    }

    fn next(&self, request: &InferenceRequest, streamed: bool) -> Scripted {
        self.requests.lock().unwrap().push(request.clone());
        self.streamed.lock().unwrap().push(streamed);
        self.script
            .lock()
            .unwrap()
            .pop_front()
            .expect("the script ran out of responses")
    }
}

#[async_trait]
impl LlmClient for ScriptedClient {
    fn api_format(&self) -> ApiFormat {
        self.format
    }

    fn backend_name(&self) -> &'static str {
        "scripted"
    }

    async fn send(&self, request: &InferenceRequest) -> Result<Completion, BackendError> {
        match self.next(request, false) {
            Scripted::Reply(response) => Ok(Completion::new(response)),
            Scripted::ReplyWithUsage(response, usage) => Ok(Completion {
                response,
                usage: Some(usage),
            }),
            Scripted::Fail(error) => Err(error),
            Scripted::Hang => std::future::pending().await,
            Scripted::Chunks(_) => panic!("chunks scripted for a non-streaming call"),
        }
    }

    async fn send_stream(&self, request: &InferenceRequest) -> Result<ChunkStream, BackendError> {
        let items = match self.next(request, true) {
            Scripted::Reply(response) => vec![
                Ok(StreamChunk::text("partial...")),
                Ok(StreamChunk::Final(Completion::new(response))),
            ],
            Scripted::ReplyWithUsage(response, usage) => vec![
                Ok(StreamChunk::text("partial...")),
                Ok(StreamChunk::Final(Completion {
                    response,
                    usage: Some(usage),
                })),
            ],
            Scripted::Chunks(items) => items,
            Scripted::Fail(error) => return Err(error),
            Scripted::Hang => {
                return Ok(Box::pin(stream::pending()));
            }
        };
        Ok(Box::pin(stream::iter(items)))
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}

pub fn spec(name: &str) -> ToolSpec {
    ToolSpec::new(name, "", json!({"type": "object", "properties": {}}))
}

pub fn specs(names: &[&str]) -> Vec<ToolSpec> {
    names.iter().map(|n| spec(n)).collect()
}

pub fn args(value: Value) -> JsonObject {
    json_object(value).unwrap()
}

pub fn call(name: &str, value: Value) -> ToolCall {
    ToolCall::new(name, args(value))
}

pub fn batch(calls: Vec<ToolCall>) -> LlmResponse {
    LlmResponse::ToolCalls(calls)
}

pub fn text(content: &str) -> LlmResponse {
    LlmResponse::text(content)
}

/// The history a fresh run starts with: the system prompt and the user input.
pub fn fresh_history(system: &str, user: &str) -> Vec<Message> {
    vec![
        Message::system(system, MessageType::SystemPrompt.meta()),
        Message::user(user, MessageType::UserInput.meta()),
    ]
}

/// A history row as the spec's trace tables write it, for snapshots.
pub fn rows(history: &[Message]) -> Vec<Value> {
    history
        .iter()
        .map(|m| {
            let mut row = json!({
                "role": m.role.as_str(),
                "type": m.metadata.kind().as_str(),
                "step": m.metadata.step_index(),
                "content": m.content,
            });
            if let Some(calls) = &m.tool_calls {
                row["calls"] = calls
                    .iter()
                    .map(|c| json!({"name": c.name, "args": c.args, "id": c.call_id.as_str()}))
                    .collect();
            }
            if let Some(name) = &m.tool_name {
                row["tool_name"] = json!(name);
            }
            if let Some(id) = &m.tool_call_id {
                row["tool_call_id"] = json!(id.as_str());
            }
            row
        })
        .collect()
}
