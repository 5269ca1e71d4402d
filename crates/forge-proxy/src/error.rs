//! Every way a proxied request can fail, each mapped to one HTTP status and one body per
//! protocol: OpenAI `{"error": {...}}`, Anthropic `{"type": "error", "error": {...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use forge_client::Credential;
use forge_types::BackendError;
use serde_json::{json, Value};
use thiserror::Error;

use crate::inbound::{InboundError, Protocol};

/// The largest request body the proxy reads: 16 MiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A request that could not be answered with a model response.
#[derive(Debug, Error)]
pub enum ProxyError {
    /// The body is not JSON.
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    /// The body is JSON but not an object.
    #[error("Request body must be a JSON object")]
    NotAnObject,
    /// A field has the wrong type or shape.
    #[error("{0}")]
    InvalidField(#[from] InboundError),
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("Request too large: the limit is {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// The body could not be read.
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The request's credentials break the one-credential rule (two of them, a repeated auth
    /// header, an inbound one next to the static key) or cannot be sent. Names headers, never
    /// values.
    #[error("Invalid credentials: {0}")]
    Credentials(String),
    /// No such route.
    #[error("Not found")]
    NotFound,
    /// The backend failed (never model output).
    #[error("{}", backend_message(.0))]
    Backend(BackendError),
    /// A metadata request could not reach the backend.
    #[error("Backend request failed: {0}")]
    ForwardFailed(String),
    /// forge itself failed.
    #[error("Internal error: {0}")]
    Internal(String),
}

fn backend_message(error: &BackendError) -> String {
    match error {
        // Auth failures quote no body: a rejection may echo the credential it rejected.
        BackendError::Http {
            status: status @ (401 | 403),
            ..
        } => format!(
            "Backend rejected the request's credential (HTTP {status}); check the Authorization \
             or x-api-key header, or the proxy's --backend-api-key"
        ),
        BackendError::MissingCredential { backend, header } => format!(
            "The {backend} backend requires a credential ({header}) and this request carries \
             none: send an Authorization or x-api-key header, or start the proxy with \
             --backend-api-key"
        ),
        BackendError::Http {
            status,
            body_excerpt,
            ..
        } => format!("Backend returned {status}: {body_excerpt}"),
        BackendError::Timeout { phase, after, .. } => {
            format!("Backend did not answer in time ({phase} timeout after {after:?})")
        }
        other => format!("Backend error: {other}"),
    }
}

impl ProxyError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_)
            | Self::NotAnObject
            | Self::InvalidField(_)
            | Self::Credentials(_)
            | Self::BodyRead(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Backend(error) => match error {
                BackendError::Http {
                    status: 401 | 403, ..
                }
                | BackendError::MissingCredential { .. } => StatusCode::UNAUTHORIZED,
                BackendError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                BackendError::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            },
            Self::ForwardFailed(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code (OpenAI `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::NotAnObject | Self::InvalidField(_) | Self::BodyRead(_) => "invalid_request",
            Self::Credentials(_) => "invalid_credentials",
            Self::Backend(BackendError::MissingCredential { .. }) => "missing_credential",
            Self::Backend(BackendError::Http {
                status: 401 | 403, ..
            }) => "backend_auth_failed",
            Self::TooLarge => "request_too_large",
            Self::NotFound => "not_found",
            Self::Backend(BackendError::Timeout { .. }) => "backend_timeout",
            Self::Backend(BackendError::Http { .. }) => "backend_http_error",
            Self::Backend(BackendError::Transport { .. }) | Self::ForwardFailed(_) => {
                "backend_unreachable"
            }
            Self::Backend(BackendError::InvalidRequest { .. }) => "invalid_request",
            Self::Backend(_) => "backend_error",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The field the caller got wrong, for 400s about a field.
    fn param(&self) -> Option<&str> {
        match self {
            Self::InvalidField(error) if !error.field.is_empty() => Some(&error.field),
            _ => None,
        }
    }

    fn backend_status(&self) -> Option<u16> {
        match self {
            Self::Backend(error) => error.status(),
            _ => None,
        }
    }

    /// The Anthropic `error.type` for this error.
    pub fn anthropic_type(&self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "invalid_request_error",
            StatusCode::UNAUTHORIZED => "authentication_error",
            StatusCode::FORBIDDEN => "permission_error",
            StatusCode::NOT_FOUND => "not_found_error",
            StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
            StatusCode::GATEWAY_TIMEOUT => "timeout_error",
            _ => "api_error",
        }
    }

    /// The OpenAI-shaped body: `{"error": {"message", "type", "code", "param"?, "backend_status"?}}`.
    pub fn openai_body(&self) -> Value {
        let mut error = json!({
            "message": self.to_string(),
            "type": "proxy_error",
            "code": self.code(),
        });
        if let Some(param) = self.param() {
            error["param"] = json!(param);
        }
        if let Some(status) = self.backend_status() {
            error["backend_status"] = json!(status);
        }
        json!({ "error": error })
    }

    /// The Anthropic-shaped body: `{"type": "error", "error": {"type", "message"}}`.
    pub fn anthropic_body(&self) -> Value {
        json!({
            "type": "error",
            "error": {"type": self.anthropic_type(), "message": self.to_string()},
        })
    }

    /// The response in `protocol`'s shape.
    pub fn into_protocol_response(self, protocol: Protocol) -> Response {
        let body = match protocol {
            Protocol::OpenAi => self.openai_body(),
            Protocol::Anthropic => self.anthropic_body(),
        };
        (self.status(), axum::Json(body)).into_response()
    }
}

impl ProxyError {
    /// This error with every occurrence of `credential`'s secret replaced (backend bodies and
    /// messages quoted in it may echo the key they rejected).
    pub fn redacted(self, credential: &Credential) -> Self {
        let redact = |text: String| credential.redact(&text);
        match self {
            Self::Backend(error) => Self::Backend(match error {
                BackendError::Http {
                    status,
                    url,
                    body_excerpt,
                } => BackendError::Http {
                    status,
                    url,
                    body_excerpt: redact(body_excerpt),
                },
                BackendError::InvalidResponse {
                    problem,
                    body_excerpt,
                } => BackendError::InvalidResponse {
                    problem: redact(problem),
                    body_excerpt: redact(body_excerpt),
                },
                BackendError::InStream {
                    error_type,
                    message,
                } => BackendError::InStream {
                    error_type,
                    message: redact(message),
                },
                BackendError::Transport { url, message } => BackendError::Transport {
                    url,
                    message: redact(message),
                },
                BackendError::Truncated { detail } => BackendError::Truncated {
                    detail: redact(detail),
                },
                BackendError::InvalidRequest { problem } => BackendError::InvalidRequest {
                    problem: redact(problem),
                },
                other => other,
            }),
            Self::ForwardFailed(message) => Self::ForwardFailed(redact(message)),
            Self::Internal(message) => Self::Internal(redact(message)),
            other => other,
        }
    }
}

impl From<BackendError> for ProxyError {
    fn from(error: BackendError) -> Self {
        Self::Backend(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backend_failures_map_to_gateway_statuses_and_auth_passes_through() {
        let http = |status: u16| {
            ProxyError::Backend(BackendError::Http {
                status,
                url: "http://b/v1/chat/completions".into(),
                body_excerpt: "{\"error\": \"bad thing\"}".into(),
            })
        };
        let cases = [
            (http(400), 502),
            (http(500), 502),
            (http(401), 401),
            (http(403), 401),
            (
                ProxyError::Backend(BackendError::MissingCredential {
                    backend: "anthropic".into(),
                    header: "x-api-key".into(),
                }),
                401,
            ),
            (ProxyError::Credentials("two".into()), 400),
            (
                ProxyError::Backend(BackendError::Timeout {
                    phase: forge_types::TimeoutPhase::Read,
                    after: Duration::from_millis(200),
                    url: "u".into(),
                }),
                504,
            ),
            (
                ProxyError::Backend(BackendError::Transport {
                    url: "u".into(),
                    message: "connection refused".into(),
                }),
                502,
            ),
            (
                ProxyError::Backend(BackendError::InvalidRequest {
                    problem: "no model".into(),
                }),
                400,
            ),
        ];
        for (error, status) in cases {
            assert_eq!(error.status().as_u16(), status, "{error}");
        }
        let body = http(400).openai_body();
        assert_eq!(
            body["error"]["message"],
            "Backend returned 400: {\"error\": \"bad thing\"}"
        );
        assert_eq!(body["error"]["backend_status"], 400);
        assert_eq!(http(500).anthropic_body()["type"], "error");
    }
}
