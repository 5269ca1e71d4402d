//! A scripted fake `LlmClient`, tool builders and the spec's default workflow, shared by the
//! runner tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use forge_client::{ChunkStream, InferenceRequest, LlmClient};
use forge_context::{CompactStrategy, Compaction, ContextManager, NoCompact};
use forge_runner::{RunRequest, ToolDef, ToolFailure, ToolOutput, Workflow, WorkflowRunner};
use forge_types::{
    json_object, ApiFormat, BackendError, Completion, JsonObject, LlmResponse, Message,
    Prerequisite, StreamChunk, ToolCall, ToolSpec,
};
use futures_util::stream;
use serde_json::{json, Value};
use tokio::sync::Notify;

/// One scripted answer.
#[derive(Debug)]
pub enum Scripted {
    /// `send` returns it; `send_stream` yields `TextDelta("partial...")` then `Final`.
    Reply(LlmResponse),
    /// `send_stream` yields exactly these items.
    Chunks(Vec<Result<StreamChunk, BackendError>>),
    /// The call fails.
    Fail(BackendError),
    /// The call never completes.
    Hang,
}

/// Answers from a script, in order, and records every request.
#[derive(Debug)]
pub struct ScriptedClient {
    format: ApiFormat,
    script: Mutex<VecDeque<Scripted>>,
    requests: Mutex<Vec<InferenceRequest>>,
    streamed: Mutex<Vec<bool>>,
}

impl ScriptedClient {
    pub fn new(format: ApiFormat, script: Vec<Scripted>) -> Arc<Self> {
        Arc::new(Self {
            format,
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
            streamed: Mutex::new(Vec::new()),
        })
    }

    /// An Ollama-format client (the reference runner tests' double has no `api_format`, so
    /// the default applies).
    pub fn replies(responses: Vec<LlmResponse>) -> Arc<Self> {
        Self::new(
            ApiFormat::Ollama,
            responses.into_iter().map(Scripted::Reply).collect(),
        )
    }

    pub fn openai(responses: Vec<LlmResponse>) -> Arc<Self> {
        Self::new(
            ApiFormat::OpenAi,
            responses.into_iter().map(Scripted::Reply).collect(),
        )
    }

    pub fn requests(&self) -> Vec<InferenceRequest> {
        self.requests.lock().unwrap().clone()
    }

    pub fn payloads(&self) -> Vec<Vec<Value>> {
        self.requests().into_iter().map(|r| r.messages).collect()
    }

    pub fn sends(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn streamed(&self) -> Vec<bool> {
        self.streamed.lock().unwrap().clone()
    }

    pub fn remaining(&self) -> usize {
        self.script.lock().unwrap().len()
    }

    fn next(&self, request: &InferenceRequest, streamed: bool) -> Scripted {
        self.requests.lock().unwrap().push(request.clone());
        self.streamed.lock().unwrap().push(streamed);
        self.script.lock().unwrap().pop_front().unwrap_or_else(|| {
            Scripted::Fail(BackendError::InvalidRequest {
                problem: "the script ran out of responses".into(),
            })
        })
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
            Scripted::Chunks(items) => items,
            Scripted::Fail(error) => return Err(error),
            Scripted::Hang => return Ok(Box::pin(stream::pending())),
        };
        Ok(Box::pin(stream::iter(items)))
    }

    async fn context_length(&self) -> Result<Option<u64>, BackendError> {
        Ok(None)
    }
}

pub fn args(value: Value) -> JsonObject {
    json_object(value).unwrap()
}

pub fn call(name: &str, value: Value) -> ToolCall {
    ToolCall::new(name, args(value))
}

/// A one-call batch with empty arguments.
pub fn c(name: &str) -> LlmResponse {
    LlmResponse::ToolCalls(vec![call(name, json!({}))])
}

/// A one-call batch.
pub fn ca(name: &str, value: Value) -> LlmResponse {
    LlmResponse::ToolCalls(vec![call(name, value)])
}

pub fn batch(calls: Vec<ToolCall>) -> LlmResponse {
    LlmResponse::ToolCalls(calls)
}

pub fn text(content: &str) -> LlmResponse {
    LlmResponse::text(content)
}

pub fn with_reasoning(name: &str, reasoning: &str) -> LlmResponse {
    let mut call = call(name, json!({}));
    call.reasoning = Some(reasoning.to_owned());
    LlmResponse::ToolCalls(vec![call])
}

pub fn no_arg_spec(name: &str) -> ToolSpec {
    ToolSpec::new(name, "", json!({"type": "object", "properties": {}}))
}

/// A no-argument tool returning `"{name}_result"`.
pub fn tool(name: &str) -> ToolDef {
    let result = format!("{name}_result");
    ToolDef::new_sync(no_arg_spec(name), move |_| Ok(result.clone()))
}

/// A tool that records the arguments of every call and answers with `behave(call number
/// starting at 1, args)`.
#[derive(Clone)]
pub struct Probe {
    pub calls: Arc<Mutex<Vec<JsonObject>>>,
}

impl Probe {
    pub fn new() -> Self {
        Self {
            calls: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    pub fn args(&self) -> Vec<JsonObject> {
        self.calls.lock().unwrap().clone()
    }

    pub fn tool<F>(&self, name: &str, behave: F) -> ToolDef
    where
        F: Fn(usize, &JsonObject) -> Result<ToolOutput, ToolFailure> + Send + Sync + 'static,
    {
        let calls = Arc::clone(&self.calls);
        ToolDef::new_sync(no_arg_spec(name), move |args| {
            let n = {
                let mut calls = calls.lock().unwrap();
                calls.push(args.clone());
                calls.len()
            };
            behave(n, &args)
        })
    }
}

/// A tool that waits for `gate` before answering `"{name}_result"`, and signals `entered`
/// when it starts.
pub fn gated_tool(name: &str, entered: Arc<Notify>, gate: Arc<Notify>) -> ToolDef {
    let result = format!("{name}_result");
    ToolDef::new(no_arg_spec(name), move |_| {
        let entered = Arc::clone(&entered);
        let gate = Arc::clone(&gate);
        let result = result.clone();
        async move {
            entered.notify_one();
            gate.notified().await;
            Ok::<_, ToolFailure>(result)
        }
    })
}

/// The spec's default workflow: `fetch`, `submit`, fetch required, submit terminal.
pub fn default_workflow() -> Workflow {
    workflow_with(vec![tool("fetch"), tool("submit")], &["fetch"], &["submit"])
}

pub fn workflow_with(tools: Vec<ToolDef>, required: &[&str], terminal: &[&str]) -> Workflow {
    Workflow::builder("test")
        .tools(tools)
        .required_steps(required.iter().copied())
        .terminal_tools(terminal.iter().copied())
        .system_prompt("You are a {role}.")
        .build()
        .unwrap()
}

/// Tools `read_file`, `edit_file` (prerequisite `prereq`), `submit`; no required steps.
pub fn prereq_workflow(prereq: Prerequisite) -> Workflow {
    workflow_with(
        vec![
            tool("read_file"),
            tool("edit_file").with_prerequisites([prereq]),
            tool("submit"),
        ],
        &[],
        &["submit"],
    )
}

/// The spec's default request: user `go`, role `agent`.
pub fn go() -> RunRequest {
    RunRequest::new("go").with_prompt_var("role", "agent")
}

/// A runner with `NoCompact`, a 100 000-token budget and the defaults.
pub fn runner(client: &Arc<ScriptedClient>) -> WorkflowRunner {
    WorkflowRunner::new(client.clone(), ContextManager::new(NoCompact, 100_000))
}

/// Collects what `on_message` reports.
#[derive(Clone, Default)]
pub struct Reported(pub Arc<Mutex<Vec<Message>>>);

impl Reported {
    pub fn attach(&self, runner: WorkflowRunner) -> WorkflowRunner {
        let sink = Arc::clone(&self.0);
        runner.with_on_message(move |m| sink.lock().unwrap().push(m.clone()))
    }

    pub fn messages(&self) -> Vec<Message> {
        self.0.lock().unwrap().clone()
    }

    pub fn types(&self) -> Vec<&'static str> {
        self.messages()
            .iter()
            .map(|m| m.metadata.kind().as_str())
            .collect()
    }

    pub fn of_type(&self, kind: &str) -> Vec<Message> {
        self.messages()
            .into_iter()
            .filter(|m| m.metadata.kind().as_str() == kind)
            .collect()
    }
}

/// A strategy that never compacts but records the history it was shown on every call.
#[derive(Debug, Clone, Default)]
pub struct SpyCompact(pub Arc<Mutex<Vec<Vec<Message>>>>);

impl CompactStrategy for SpyCompact {
    fn compact_from(&self, messages: &[Message], _: u64, _: u64, _: &str) -> Compaction {
        self.0.lock().unwrap().push(messages.to_vec());
        Compaction::NotNeeded
    }
}

impl SpyCompact {
    pub fn runner(&self, client: &Arc<ScriptedClient>) -> WorkflowRunner {
        WorkflowRunner::new(client.clone(), ContextManager::new(self.clone(), 100_000))
    }

    pub fn calls(&self) -> Vec<Vec<Message>> {
        self.0.lock().unwrap().clone()
    }
}

/// A history row as the spec's trace tables write it.
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

/// Every assistant tool call has exactly one reply, and call ids are unique.
pub fn assert_calls_answered(history: &[Message]) {
    let mut ids = Vec::new();
    for (i, m) in history.iter().enumerate() {
        for call in m.tool_calls.iter().flatten() {
            assert!(
                !ids.contains(&call.call_id),
                "duplicate call id {}",
                call.call_id
            );
            ids.push(call.call_id.clone());
            let replies = history[i + 1..]
                .iter()
                .filter(|r| r.tool_call_id.as_ref() == Some(&call.call_id))
                .count();
            assert_eq!(replies, 1, "call {} has {replies} replies", call.call_id);
        }
    }
}

/// Counts calls to a closure (for tools whose behaviour depends on the call number).
pub fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

pub fn bump(counter: &AtomicUsize) -> usize {
    counter.fetch_add(1, Ordering::SeqCst) + 1
}
