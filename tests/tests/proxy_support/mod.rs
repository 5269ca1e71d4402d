//! The proxy in front of a scripted wiremock backend, and readers for what each side saw.

#![allow(dead_code, clippy::unwrap_used)]

use forge_proxy::{Proxy, ProxyConfig};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The retry nudge the engine sends after bare text.
pub const RETRY_NUDGE_PREFIX: &str = "Your previous response was not a valid tool call.";

/// A running proxy and its backend.
pub struct Harness {
    /// The scripted backend.
    pub backend: MockServer,
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    http: reqwest::Client,
}

impl Harness {
    /// A proxy in external llama.cpp mode with a short backend timeout, plus `extra` flags.
    pub async fn start(extra: &[&str]) -> Self {
        let backend = MockServer::start().await;
        let uri = backend.uri();
        let mut argv = vec![
            "forge-proxy",
            "--backend-url",
            uri.as_str(),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--backend-timeout",
            "0.5",
        ];
        argv.extend_from_slice(extra);
        Self::start_with(backend, &argv).await
    }

    /// A proxy started from a full argv whose backend is `backend`.
    pub async fn start_with(backend: MockServer, argv: &[&str]) -> Self {
        let config = ProxyConfig::from_args(argv).expect("valid test configuration");
        let proxy = Proxy::start(config)
            .await
            .expect("external mode starts without I/O");
        let listener = proxy.bind().await.expect("a free loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(proxy.serve(listener, std::future::pending()));
        Self {
            backend,
            url,
            http: reqwest::Client::new(),
        }
    }

    /// Mounts `responses` on the chat endpoint: each answers once, in order; the last one keeps
    /// answering when `repeat_last` is set.
    pub async fn script(&self, responses: Vec<ResponseTemplate>, repeat_last: bool) {
        script_at(
            &self.backend,
            "/v1/chat/completions",
            responses,
            repeat_last,
        )
        .await;
    }

    /// POSTs `body` and returns the status and the JSON answer.
    pub async fn post_json(&self, route: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{route}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("proxy answered non-JSON ({e}): {text:?}"));
        (status, value)
    }

    /// POSTs raw bytes with a content type.
    pub async fn post_raw(&self, route: &str, body: Vec<u8>) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}{route}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    /// Sends a request of any method.
    pub async fn request(&self, method: reqwest::Method, route: &str) -> reqwest::Response {
        self.http
            .request(method, format!("{}{route}", self.url))
            .send()
            .await
            .unwrap()
    }

    /// POSTs a streaming request and returns the status, content type and the SSE events.
    pub async fn post_sse(&self, route: &str, body: &Value) -> (u16, String, Vec<SseEvent>) {
        let response = self
            .http
            .post(format!("{}{route}", self.url))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = response.text().await.unwrap();
        (status, content_type, parse_sse(&text))
    }

    /// The JSON bodies the backend received on `route`, in order.
    pub async fn backend_bodies(&self, route: &str) -> Vec<Value> {
        self.backend
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == route)
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

/// Mounts a one-answer-each sequence on `route` of `server`.
pub async fn script_at(
    server: &MockServer,
    route: &str,
    responses: Vec<ResponseTemplate>,
    repeat_last: bool,
) {
    let count = responses.len();
    for (index, response) in responses.into_iter().enumerate() {
        let mock = Mock::given(method("POST"))
            .and(path(route))
            .respond_with(response);
        let mock = if repeat_last && index + 1 == count {
            mock
        } else {
            mock.up_to_n_times(1)
        };
        mock.mount(server).await;
    }
}

/// One SSE event: its `event:` name (if any) and its `data:` payload.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    /// The data as JSON (`[DONE]` is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("SSE data is not JSON ({e}): {:?}", self.data))
    }
}

/// Splits an SSE body into events.
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event:") {
                    event = Some(name.trim().to_owned());
                } else if let Some(payload) = line.strip_prefix("data:") {
                    data.push(payload.trim_start().to_owned());
                } else {
                    panic!("unexpected SSE line {line:?} in {text:?}");
                }
            }
            SseEvent {
                event,
                data: data.join("\n"),
            }
        })
        .collect()
}

/// A llama-server text answer.
pub fn text_reply(content: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    }))
}

/// A llama-server tool-call answer: `(name, raw arguments string)` per call.
pub fn calls_reply(content: Value, calls: &[(&str, &str)]) -> ResponseTemplate {
    let tool_calls: Vec<Value> = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| {
            json!({"id": format!("backend_{i}"), "type": "function",
                   "function": {"name": name, "arguments": args}})
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": content, "tool_calls": tool_calls}}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    }))
}

/// The valid answer every retry scenario ends with: `search({"q": "x"})`.
pub fn valid_call() -> ResponseTemplate {
    calls_reply(Value::Null, &[("search", r#"{"q": "x"}"#)])
}

/// The one tool the scenarios offer, OpenAI-shaped.
pub fn openai_tools() -> Value {
    json!([{"type": "function", "function": {"name": "search", "description": "Search the web",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}])
}

/// The same tool, Anthropic-shaped.
pub fn anthropic_tools() -> Value {
    json!([{"name": "search", "description": "Search the web",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}])
}

/// Replaces ids and timestamps so emitted shapes can be snapshotted.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let redacted = match key.as_str() {
                        "id" if v.is_string() => json!("[id]"),
                        "created" if v.is_number() => json!("[created]"),
                        _ => redact(v),
                    };
                    (key.clone(), redacted)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Events as `{"event": name, "data": <redacted JSON or the raw text>}` for snapshots.
pub fn redact_events(events: &[SseEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| {
                let data = serde_json::from_str::<Value>(&e.data)
                    .map_or_else(|_| json!(e.data), |v| redact(&v));
                json!({"event": e.event, "data": data})
            })
            .collect(),
    )
}
