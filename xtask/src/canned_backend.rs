//! A canned OpenAI-compatible backend on loopback: answers every chat completion at once with a
//! fixed, deterministic reply, so what is measured or checked is the proxy and not a model.
//!
//! It runs on its own thread with its own single-threaded runtime, so the caller can be blocking code
//! (the SDK tier) or another runtime (the load generator).

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// The one tool the canned backend ever calls, and its arguments. Clients must offer it.
pub const CANNED_TOOL: &str = "get_weather";
/// The canned call's arguments, as the JSON object a client must see.
pub const CANNED_ARGUMENTS: &str = r#"{"city": "Paris"}"#;
/// The answer to a request without tools.
pub const CANNED_TEXT: &str = "Hello from the canned backend.";

/// How the backend answers a request that offers tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolAnswer {
    /// A native `tool_calls` entry (the proxy's happy path, used by the benchmark).
    Native,
    /// The call written as a fenced JSON block in the text, which the proxy must rescue.
    FencedJson,
}

/// A running canned backend; stopped when dropped.
pub struct CannedBackend {
    address: SocketAddr,
    requests: Arc<AtomicU64>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl CannedBackend {
    /// Binds a free loopback port and serves on a thread of its own.
    pub fn start(tool_answer: ToolAnswer) -> Result<Self> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .context("cannot bind a loopback port for the canned backend")?;
        listener
            .set_nonblocking(true)
            .context("making the canned backend's listener non-blocking")?;
        let address = listener
            .local_addr()
            .context("reading the canned backend's address")?;
        let requests = Arc::new(AtomicU64::new(0));
        let state = Arc::new(Canned {
            tool_answer,
            requests: requests.clone(),
            last: Mutex::new(None),
        });
        let (shutdown, shutdown_received) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot build the canned backend's runtime")?;
        let thread = std::thread::Builder::new()
            .name("canned-backend".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            eprintln!("[canned] cannot adopt the listener: {error}");
                            return;
                        }
                    };
                    let served = axum::serve(listener, router(state))
                        .with_graceful_shutdown(async {
                            // A dropped sender also means "stop".
                            let _ = shutdown_received.await;
                        })
                        .await;
                    if let Err(error) = served {
                        eprintln!("[canned] backend stopped with an error: {error}");
                    }
                });
            })
            .context("cannot start the canned backend's thread")?;
        Ok(Self {
            address,
            requests,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`, the root a proxy's `--backend-url` takes.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// How many chat completions it has answered.
    pub fn requests_answered(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for CannedBackend {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already have stopped on its own; there is nothing to tell it then.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                eprintln!("[canned] the backend thread panicked");
            }
        }
    }
}

struct Canned {
    tool_answer: ToolAnswer,
    requests: Arc<AtomicU64>,
    /// The last valid request and its answer.
    last: Mutex<Option<(Bytes, Answer)>>,
}

fn router(state: Arc<Canned>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completion))
        .route("/chat/completions", post(chat_completion))
        .route("/health", get(health))
        .route("/v1/health", get(health))
        .with_state(state)
}

async fn health() -> Response {
    json_response(StatusCode::OK, json!({"status": "ok"}).to_string())
}

async fn chat_completion(State(canned): State<Arc<Canned>>, body: Bytes) -> Response {
    if let Some(answer) = canned.remembered(&body) {
        canned.requests.fetch_add(1, Ordering::Relaxed);
        return answer.response();
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("invalid JSON: {error}");
            let body = json!({"error": {"message": message, "type": "invalid_request_error"}});
            return json_response(StatusCode::BAD_REQUEST, body.to_string());
        }
    };
    canned.requests.fetch_add(1, Ordering::Relaxed);
    let offers_tools = request["tools"]
        .as_array()
        .is_some_and(|tools| !tools.is_empty());
    let reply = match (offers_tools, canned.tool_answer) {
        (false, _) => Reply::Text(CANNED_TEXT.to_owned()),
        (true, ToolAnswer::Native) => Reply::ToolCall,
        (true, ToolAnswer::FencedJson) => Reply::Text(fenced_call()),
    };
    let model = request["model"].as_str().unwrap_or("canned").to_owned();
    let answer = if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        Answer {
            stream: true,
            body: sse_body(&reply, &model, include_usage).into(),
        }
    } else {
        Answer {
            stream: false,
            body: completion_json(&reply, &model).to_string().into(),
        }
    };
    canned.remember(body, answer.clone());
    answer.response()
}

/// A successful answer, kept to repeat for the same request.
#[derive(Debug, Clone)]
struct Answer {
    stream: bool,
    body: Bytes,
}

impl Answer {
    fn response(self) -> Response {
        if self.stream {
            (
                [
                    (header::CONTENT_TYPE, "text/event-stream"),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                self.body,
            )
                .into_response()
        } else {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                self.body,
            )
                .into_response()
        }
    }
}

impl Canned {
    /// The answer to the last request if `body` is the same request: the answer depends on
    /// the request body alone, and the benchmark sends one body over and over, so the backend
    /// need not parse and build it again (it shares the machine with what is measured).
    fn remembered(&self, body: &Bytes) -> Option<Answer> {
        let last = self
            .last
            .lock()
            .expect("the canned backend's memo is only held to copy or replace it");
        last.as_ref()
            .filter(|(request, _)| request == body)
            .map(|(_, answer)| answer.clone())
    }

    fn remember(&self, body: Bytes, answer: Answer) {
        *self
            .last
            .lock()
            .expect("the canned backend's memo is only held to copy or replace it") =
            Some((body, answer));
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

enum Reply {
    Text(String),
    ToolCall,
}

/// The canned call written the way small models often write one: a fenced JSON block.
pub fn fenced_call() -> String {
    format!("```json\n{{\"name\": \"{CANNED_TOOL}\", \"arguments\": {CANNED_ARGUMENTS}}}\n```")
}

fn usage() -> Value {
    json!({"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19})
}

fn completion_json(reply: &Reply, model: &str) -> Value {
    let (message, finish_reason) = match reply {
        Reply::Text(text) => (json!({"role": "assistant", "content": text}), "stop"),
        Reply::ToolCall => (
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_canned_0",
                    "type": "function",
                    "function": {"name": CANNED_TOOL, "arguments": CANNED_ARGUMENTS}
                }]
            }),
            "tool_calls",
        ),
    };
    json!({
        "id": "chatcmpl-canned",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage()
    })
}

fn sse_body(reply: &Reply, model: &str, include_usage: bool) -> String {
    let chunk = |delta: Value, finish_reason: Value| {
        json!({
            "id": "chatcmpl-canned",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
        })
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    let finish_reason = match reply {
        Reply::Text(text) => {
            // Two pieces, so a client's accumulation is exercised.
            let middle = text
                .char_indices()
                .nth(text.chars().count() / 2)
                .map_or(text.len(), |(index, _)| index);
            events.push(chunk(json!({"content": &text[..middle]}), Value::Null));
            events.push(chunk(json!({"content": &text[middle..]}), Value::Null));
            "stop"
        }
        Reply::ToolCall => {
            events.push(chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_canned_0", "type": "function",
                    "function": {"name": CANNED_TOOL, "arguments": ""}}]}),
                Value::Null,
            ));
            events.push(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": CANNED_ARGUMENTS}}]}),
                Value::Null,
            ));
            "tool_calls"
        }
    };
    events.push(chunk(json!({}), json!(finish_reason)));
    if include_usage {
        events.push(json!({
            "id": "chatcmpl-canned",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": usage()
        }));
    }
    let mut body: String = events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect();
    body.push_str("data: [DONE]\n\n");
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_call_holds_the_canned_call_as_json() {
        let fenced = fenced_call();
        let inner = fenced
            .strip_prefix("```json\n")
            .and_then(|rest| rest.strip_suffix("\n```"))
            .unwrap();
        let call: Value = serde_json::from_str(inner).unwrap();
        assert_eq!(call["name"], CANNED_TOOL);
        assert_eq!(
            call["arguments"],
            serde_json::from_str::<Value>(CANNED_ARGUMENTS).unwrap()
        );
    }

    #[test]
    fn streamed_text_reassembles_to_the_whole_answer_and_ends_with_done() {
        let body = sse_body(&Reply::Text(CANNED_TEXT.to_owned()), "m", true);
        let events: Vec<&str> = body
            .split("\n\n")
            .filter(|event| !event.is_empty())
            .map(|event| event.strip_prefix("data: ").unwrap())
            .collect();
        assert_eq!(events.last(), Some(&"[DONE]"));
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|event| serde_json::from_str(event).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, CANNED_TEXT);
        let finish: Vec<&str> = chunks
            .iter()
            .filter_map(|chunk| chunk["choices"][0]["finish_reason"].as_str())
            .collect();
        assert_eq!(finish, ["stop"]);
        assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 19);
    }

    async fn answer(canned: &Arc<Canned>, request: &Value) -> (StatusCode, String, String) {
        let response =
            chat_completion(State(canned.clone()), Bytes::from(request.to_string())).await;
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_repeated_request_gets_the_same_answer_and_is_counted() {
        let canned = Arc::new(Canned {
            tool_answer: ToolAnswer::Native,
            requests: Arc::new(AtomicU64::new(0)),
            last: Mutex::new(None),
        });
        let with_tools = json!({"model": "m", "tools": [{"type": "function"}], "messages": []});
        let streamed = json!({"model": "s", "stream": true, "messages": []});
        let first = answer(&canned, &with_tools).await;
        assert_eq!(first.0, StatusCode::OK);
        assert_eq!(first.1, "application/json");
        assert!(first.2.contains(CANNED_TOOL) && first.2.contains(r#""model":"m""#));
        assert_eq!(answer(&canned, &with_tools).await, first);
        let stream = answer(&canned, &streamed).await;
        assert_eq!(stream.1, "text/event-stream");
        assert!(stream.2.starts_with("data: ") && stream.2.ends_with("data: [DONE]\n\n"));
        assert_eq!(answer(&canned, &streamed).await, stream);
        assert_eq!(answer(&canned, &with_tools).await, first);
        assert_eq!(canned.requests.load(Ordering::Relaxed), 5);
    }
}
