//! No credential value ever reaches a log line: every target at TRACE level is captured while
//! credentials are forwarded, rejected by the backend (which echoes them), refused as duplicates
//! and used as the static key. Header names are logged; values never.
#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Json;
use forge_proxy::{Proxy, ProxyConfig};
use serde_json::{json, Value};

const FORWARDED: &str = "sk-forwarded-secret-1111";
const REJECTED: &str = "sk-rejected-secret-2222";
const STATIC: &str = "sk-static-secret-3333";

/// Every formatted log line, from every thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A gated backend: accepts only the forwarded key or the static key, and rejects anything else
/// with a 401 that echoes what it got (as some providers do).
async fn backend(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if auth == format!("Bearer {FORWARDED}") || auth == format!("Bearer {STATIC}") {
        return (
            StatusCode::OK,
            Json(json!({"choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "hello"}}]})),
        );
    }
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": format!("Incorrect API key provided: {auth}")})),
    )
}

async fn serve_backend() -> String {
    let app = axum::Router::new().route("/v1/chat/completions", post(backend));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn serve_proxy(backend_url: &str, static_key: Option<&str>) -> String {
    let mut argv = vec!["forge-proxy", "--backend-url", backend_url, "--port", "0"];
    if let Some(key) = static_key {
        argv.extend(["--backend-api-key", key]);
    }
    let proxy = Proxy::start(ProxyConfig::from_args(argv).unwrap())
        .await
        .unwrap();
    let listener = proxy.bind().await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(proxy.serve(listener, std::future::pending()));
    url
}

async fn chat(proxy: &str, stream: bool, tools: bool, headers: &[(&str, String)]) -> u16 {
    let mut body = json!({"stream": stream, "messages": [{"role": "user", "content": "hi"}]});
    if tools {
        body["tools"] = json!([{"type": "function", "function": {"name": "search",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]);
    }
    let mut request = reqwest::Client::new()
        .post(format!("{proxy}/v1/chat/completions"))
        .json(&body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    drop(response.text().await.unwrap());
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_carries_a_credential_value() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let backend = serve_backend().await;
    let open = serve_proxy(&backend, None).await;
    let gated = serve_proxy(&backend, Some(STATIC)).await;
    let bearer = |key: &str| ("Authorization", format!("Bearer {key}"));
    for (stream, tools) in [(false, false), (true, false), (false, true), (true, true)] {
        assert_eq!(chat(&open, stream, tools, &[bearer(FORWARDED)]).await, 200);
        let rejected = chat(&open, stream, tools, &[("x-api-key", REJECTED.to_owned())]).await;
        assert_eq!(rejected, if stream { 200 } else { 401 });
        let doubled = [bearer(FORWARDED), ("x-api-key", REJECTED.to_owned())];
        assert_eq!(chat(&open, stream, tools, &doubled).await, 400);
        assert_eq!(chat(&gated, stream, tools, &[]).await, 200);
        assert_eq!(chat(&gated, stream, tools, &[bearer(FORWARDED)]).await, 400);
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("per-request credential") && logs.contains("authorization"),
        "the capture saw the proxy's credential logging:\n{logs}"
    );
    assert!(
        logs.contains("Backend rejected the request's credential"),
        "{logs}"
    );
    for secret in [FORWARDED, REJECTED, STATIC] {
        let leaks: Vec<&str> = logs.lines().filter(|line| line.contains(secret)).collect();
        assert!(leaks.is_empty(), "{secret} logged:\n{}", leaks.join("\n"));
    }
}
