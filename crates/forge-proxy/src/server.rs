//! The HTTP surface: routes, body limits, CORS, SSE framing, the optional one-at-a-time gate,
//! and read-only forwarding of the backend's metadata routes.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use forge_client::{Credential, LlmClient};
use forge_types::BackendError;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::credentials::{resolve_metadata_credential, resolve_request_credential};
use crate::error::{ProxyError, MAX_BODY_BYTES};
use crate::handler::{handle, HandlerSettings};
use crate::inbound::{prepare_anthropic, prepare_openai, PreparedRequest, Protocol};
use crate::outbound;

/// Where metadata GETs (`/health`, `/v1/models`, …) are forwarded.
#[derive(Debug, Clone)]
pub struct ForwardTarget {
    /// The backend root (no trailing `/v1`); the request's path and query are appended.
    pub root_url: String,
    /// The HTTP client (carries the backend timeout). Credentials follow the same
    /// one-credential rule as inference (see [`AppState::with_static_credential`]).
    pub http: reqwest::Client,
}

/// What every request handler shares.
#[derive(Debug)]
pub struct AppState {
    client: Arc<dyn LlmClient>,
    settings: HandlerSettings,
    native_passthrough: bool,
    default_model: Option<String>,
    gate: Option<Semaphore>,
    waiting: AtomicUsize,
    forward: Option<ForwardTarget>,
    static_credential: Option<Credential>,
}

impl AppState {
    /// State for `client` with these guardrail settings; concurrent, native passthrough, no
    /// forwarding. Adjust with the `with_*` methods.
    pub fn new(client: Arc<dyn LlmClient>, settings: HandlerSettings) -> Self {
        Self {
            client,
            settings,
            native_passthrough: true,
            default_model: None,
            gate: None,
            waiting: AtomicUsize::new(0),
            forward: None,
            static_credential: None,
        }
    }

    /// The proxy's static backend key (`--backend-api-key`), already configured in the client.
    /// With it, a request that brings its own credential is refused (400); metadata GETs send
    /// it in the backend's native slot; error bodies never quote it.
    pub fn with_static_credential(mut self, credential: Option<Credential>) -> Self {
        self.static_credential = credential;
        self
    }

    /// `error` with the request's and the static credential's secrets removed.
    fn scrubbed(&self, error: ProxyError, credential: Option<&Credential>) -> ProxyError {
        [credential, self.static_credential.as_ref()]
            .into_iter()
            .flatten()
            .fold(error, |error, credential| error.redacted(credential))
    }

    /// One inference at a time, in arrival order.
    pub fn with_serialization(mut self, serialize: bool) -> Self {
        self.gate = serialize.then(|| Semaphore::new(1));
        self
    }

    /// Whether the caller's verbatim messages and tools are sent on the clean first attempt
    /// (native tool calling); off under the prompt capability.
    pub fn with_native_passthrough(mut self, native: bool) -> Self {
        self.native_passthrough = native;
        self
    }

    /// The `model` echoed when the request names none (default `forge`).
    pub fn with_default_model(mut self, model: Option<String>) -> Self {
        self.default_model = model;
        self
    }

    /// Forward metadata GETs to this backend.
    pub fn with_forwarding(mut self, target: ForwardTarget) -> Self {
        self.forward = Some(target);
        self
    }

    /// Waits for the inference slot when serialization is on. Dropping the waiting future (a
    /// client that hung up) leaves the queue without ever reaching the backend.
    async fn slot(&self) -> Result<Option<SemaphorePermit<'_>>, ProxyError> {
        let Some(gate) = &self.gate else {
            return Ok(None);
        };
        let depth = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _leave = DecrementOnDrop(&self.waiting);
        if gate.available_permits() == 0 {
            tracing::info!(depth = depth + 1, "queued behind a running inference");
        }
        gate.acquire()
            .await
            .map(Some)
            .map_err(|_| ProxyError::Internal("the inference queue is closed".to_owned()))
    }
}

struct DecrementOnDrop<'a>(&'a AtomicUsize);

impl Drop for DecrementOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The proxy's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(openai_completion))
        .route("/chat/completions", post(openai_completion))
        .route("/v1/messages", post(anthropic_completion))
        .route("/health", get(forward))
        .route("/v1/health", get(forward))
        .route("/v1/models", get(forward))
        .route("/models", get(forward))
        .route("/props", get(forward))
        .route("/forge/health", get(forge_health))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

async fn not_found() -> Response {
    ProxyError::NotFound.into_protocol_response(Protocol::OpenAi)
}

async fn forge_health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

const CORS_ALLOW_HEADERS: &str =
    "Content-Type, Authorization, X-Api-Key, anthropic-version, anthropic-beta";

/// Logs the request line; answers preflight for every path (204) and adds
/// `Access-Control-Allow-Origin: *` to every response.
async fn cors(request: Request, next: Next) -> Response {
    tracing::debug!(method = %request.method(), target = %request.uri(), ">>");
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_ALLOW_HEADERS),
        );
        return response;
    }
    let mut response = next.run(request).await;
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

async fn openai_completion(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    completion(state, Protocol::OpenAi, headers, body).await
}

async fn anthropic_completion(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    completion(state, Protocol::Anthropic, headers, body).await
}

async fn completion(
    state: Arc<AppState>,
    protocol: Protocol,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let prepared = match read_request(&state, protocol, &headers, body).await {
        Ok(prepared) => prepared,
        Err(error) => {
            tracing::info!(protocol = protocol.as_str(), %error, "rejected request");
            return error.into_protocol_response(protocol);
        }
    };
    let credential = prepared.credential.clone();
    let model = prepared
        .model
        .clone()
        .or_else(|| state.default_model.clone())
        .unwrap_or_else(|| "forge".to_owned());
    tracing::debug!(
        protocol = protocol.as_str(),
        stream = prepared.stream,
        messages = prepared.history.len(),
        tools = prepared.tools.len(),
        %model,
        "request"
    );
    if prepared.stream {
        return stream_response(state, protocol, model, prepared);
    }
    let result = async {
        let _slot = state.slot().await?;
        handle(state.client.as_ref(), &state.settings, prepared).await
    }
    .await;
    let replay = state.settings.reasoning_replay;
    match result.map_err(|error| state.scrubbed(error, credential.as_ref())) {
        Ok(completion) => {
            tracing::debug!("<< JSON 200");
            match protocol {
                Protocol::OpenAi => {
                    Json(outbound::openai_json(&completion, &model, replay)).into_response()
                }
                Protocol::Anthropic => {
                    Json(outbound::anthropic_json(&completion, &model, replay)).into_response()
                }
            }
        }
        Err(error) => {
            tracing::warn!(status = error.status().as_u16(), %error, "<< error");
            error.into_protocol_response(protocol)
        }
    }
}

/// The 200 SSE response: headers now, frames when the answer is resolved. The inference runs
/// inside the body stream, so a client that disconnects drops it (and the backend call).
fn stream_response(
    state: Arc<AppState>,
    protocol: Protocol,
    model: String,
    prepared: PreparedRequest,
) -> Response {
    let credential = prepared.credential.clone();
    let frames = futures_util::stream::once(async move {
        let result = async {
            let _slot = state.slot().await?;
            handle(state.client.as_ref(), &state.settings, prepared).await
        }
        .await
        .map_err(|error| state.scrubbed(error, credential.as_ref()));
        let replay = state.settings.reasoning_replay;
        let frames = match result {
            Ok(completion) => match protocol {
                Protocol::OpenAi => outbound::openai_frames(&completion, &model, replay),
                Protocol::Anthropic => outbound::anthropic_frames(&completion, &model, replay),
            },
            Err(error) => {
                tracing::warn!(%error, "<< in-stream error");
                match protocol {
                    Protocol::OpenAi => outbound::openai_error_frames(&error, &model),
                    Protocol::Anthropic => outbound::anthropic_error_frames(&error, &model),
                }
            }
        };
        tracing::debug!(
            events = frames.len(),
            protocol = protocol.as_str(),
            "<< SSE"
        );
        futures_util::stream::iter(
            frames
                .into_iter()
                .map(|frame| Ok::<Bytes, Infallible>(Bytes::from(frame))),
        )
    })
    .flatten();
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

async fn read_request(
    state: &AppState,
    protocol: Protocol,
    headers: &HeaderMap,
    body: Body,
) -> Result<PreparedRequest, ProxyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(ProxyError::TooLarge);
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            {
                ProxyError::TooLarge
            } else {
                ProxyError::BodyRead(e.to_string())
            }
        })?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| ProxyError::InvalidJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ProxyError::NotAnObject);
    };
    let mut prepared = match protocol {
        Protocol::OpenAi => prepare_openai(object, state.native_passthrough)?,
        Protocol::Anthropic => prepare_anthropic(object)?,
    };
    // Before any response head: a credential problem is a real status even when streaming.
    prepared.credential = resolve_request_credential(
        headers,
        protocol,
        state.client.auth_slot(),
        state.static_credential.is_some(),
    )?;
    if prepared.credential.is_none() && state.client.requires_request_credential() {
        return Err(ProxyError::Backend(BackendError::MissingCredential {
            backend: state.client.backend_name().to_owned(),
            header: state.client.auth_slot().header_name().to_owned(),
        }));
    }
    Ok(prepared)
}

/// Read-only forwarding of a metadata GET: the backend's status, body and content type, with
/// forge's CORS header. A backend that cannot be reached is a 502.
async fn forward(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let Some(target) = &state.forward else {
        return ProxyError::NotFound.into_protocol_response(Protocol::OpenAi);
    };
    let path_and_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let url = format!("{}{}", target.root_url, path_and_query);
    let native = state.client.auth_slot();
    let credential =
        match resolve_metadata_credential(&headers, native, state.static_credential.as_ref()) {
            Ok(credential) => credential,
            Err(error) => {
                tracing::info!(%error, "rejected metadata request");
                return error.into_protocol_response(Protocol::OpenAi);
            }
        };
    let mut request = target.http.get(&url);
    if let Some(credential) = &credential {
        let (name, value) = credential.header(native);
        request = request.header(name, value);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            let error = state.scrubbed(
                ProxyError::ForwardFailed(e.to_string()),
                credential.as_ref(),
            );
            tracing::warn!(%url, %error, "metadata forward failed");
            return error.into_protocol_response(Protocol::OpenAi);
        }
    };
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(e) => {
            return ProxyError::ForwardFailed(e.to_string())
                .into_protocol_response(Protocol::OpenAi)
        }
    };
    let mut out = (status, body).into_response();
    if let Some(content_type) = content_type {
        out.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use forge_client::{ChunkStream, InferenceRequest};
    use forge_types::{ApiFormat, BackendError, Completion, LlmResponse};

    /// A backend that answers after `delay`, recording how many calls overlap and whether a
    /// call was abandoned before it finished.
    #[derive(Debug, Default)]
    struct SlowClient {
        delay: Duration,
        running: AtomicUsize,
        max_running: AtomicUsize,
        calls: AtomicUsize,
        abandoned: AtomicBool,
    }

    struct CallGuard<'a> {
        client: &'a SlowClient,
        finished: bool,
    }

    impl Drop for CallGuard<'_> {
        fn drop(&mut self) {
            self.client.running.fetch_sub(1, Ordering::SeqCst);
            if !self.finished {
                self.client.abandoned.store(true, Ordering::SeqCst);
            }
        }
    }

    #[async_trait::async_trait]
    impl LlmClient for SlowClient {
        fn api_format(&self) -> ApiFormat {
            ApiFormat::OpenAi
        }

        fn backend_name(&self) -> &'static str {
            "slow"
        }

        async fn send(&self, _request: &InferenceRequest) -> Result<Completion, BackendError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_running.fetch_max(now, Ordering::SeqCst);
            let mut guard = CallGuard {
                client: self,
                finished: false,
            };
            tokio::time::sleep(self.delay).await;
            guard.finished = true;
            Ok(Completion::new(LlmResponse::text("done")))
        }

        async fn send_stream(
            &self,
            _request: &InferenceRequest,
        ) -> Result<ChunkStream, BackendError> {
            Err(BackendError::InvalidRequest {
                problem: "the proxy never streams from the backend".into(),
            })
        }

        async fn context_length(&self) -> Result<Option<u64>, BackendError> {
            Ok(None)
        }
    }

    async fn serve(client: Arc<SlowClient>, serialize: bool) -> String {
        let state = AppState::new(client, HandlerSettings::default()).with_serialization(serialize);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router(Arc::new(state))).await });
        url
    }

    fn chat(stream: bool) -> Value {
        json!({"stream": stream, "messages": [{"role": "user", "content": "hi"}]})
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_hangs_up_cancels_its_backend_call_in_flight() {
        for stream in [false, true] {
            let client = Arc::new(SlowClient {
                delay: Duration::from_secs(30),
                ..SlowClient::default()
            });
            let url = serve(client.clone(), false).await;
            let impatient = reqwest::Client::builder()
                .timeout(Duration::from_millis(300))
                .build()
                .unwrap();
            let outcome = impatient
                .post(format!("{url}/v1/chat/completions"))
                .json(&chat(stream))
                .send()
                .await;
            if let Ok(response) = outcome {
                // Streaming: the head arrived; hang up while the body is pending.
                assert!(stream);
                assert!(response.text().await.is_err());
            }
            drop(impatient);
            let mut waited = 0;
            while !client.abandoned.load(Ordering::SeqCst) && waited < 100 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                waited += 1;
            }
            assert!(client.abandoned.load(Ordering::SeqCst), "stream={stream}");
            assert_eq!(client.running.load(Ordering::SeqCst), 0);
        }
    }

    async fn overlapping_requests(serialize: bool) -> usize {
        let client = Arc::new(SlowClient {
            delay: Duration::from_millis(200),
            ..SlowClient::default()
        });
        let url = serve(client.clone(), serialize).await;
        let http = reqwest::Client::new();
        let requests = (0..3).map(|_| {
            http.post(format!("{url}/v1/chat/completions"))
                .json(&chat(false))
                .send()
        });
        for response in futures_util::future::join_all(requests).await {
            assert_eq!(response.unwrap().status(), 200);
        }
        assert_eq!(client.calls.load(Ordering::SeqCst), 3);
        client.max_running.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serialization_runs_one_inference_at_a_time_and_concurrency_is_otherwise_free() {
        assert_eq!(overlapping_requests(true).await, 1);
        assert_eq!(overlapping_requests(false).await, 3);
    }
}
