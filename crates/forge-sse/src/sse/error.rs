//! Recognising errors a server reports inside an already-started stream.
//!
//! Shapes seen in the wild: llama-server sends `data: {"error": {"code": 500, "message": …,
//! "type": "server_error"}}` and then closes the stream without `[DONE]`; Anthropic sends
//! `event: error` with `{"type": "error", "error": {"type": "overloaded_error", "message": …}}`;
//! Ollama puts `{"error": "…"}` on an NDJSON line. Each becomes [`BackendError::InStream`], never
//! content.

use forge_types::BackendError;
use serde_json::Value;

use super::SseEvent;

/// The backend error an event reports, if it reports one: an `event: error`, or a JSON payload
/// with a top-level `error` member.
pub fn in_stream_error(event: &SseEvent) -> Option<BackendError> {
    let named_error = event.event.as_deref() == Some("error");
    if !named_error && !event.data.contains("\"error\"") {
        return None;
    }
    match serde_json::from_str::<Value>(&event.data) {
        Ok(payload) => error_from_payload(&payload).or_else(|| {
            named_error.then(|| BackendError::InStream {
                error_type: None,
                message: error_message_of(&payload),
            })
        }),
        Err(_) if named_error => Some(BackendError::InStream {
            error_type: None,
            message: event.data.clone(),
        }),
        Err(_) => None,
    }
}

/// The backend error a decoded payload reports through a top-level, non-null `error` member.
pub fn error_from_payload(payload: &Value) -> Option<BackendError> {
    let error = payload.get("error").filter(|error| !error.is_null())?;
    Some(error_from_member(error))
}

/// The backend error an `error` member (a string or `{"type", "code", "message"}`) describes.
pub(crate) fn error_from_member(error: &Value) -> BackendError {
    match error {
        Value::String(message) => BackendError::InStream {
            error_type: None,
            message: message.clone(),
        },
        Value::Object(fields) => BackendError::InStream {
            error_type: fields
                .get("type")
                .or_else(|| fields.get("code"))
                .and_then(scalar_text),
            message: error_message_of(error),
        },
        other => BackendError::InStream {
            error_type: None,
            message: other.to_string(),
        },
    }
}

fn error_message_of(value: &Value) -> String {
    match value.get("message") {
        Some(Value::String(message)) => message.clone(),
        _ => value.to_string(),
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(event: Option<&str>, data: &str, expected: Option<(Option<&str>, &str)>) {
        let event = SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        };
        let expected = expected.map(|(error_type, message)| BackendError::InStream {
            error_type: error_type.map(str::to_owned),
            message: message.to_owned(),
        });
        assert_eq!(in_stream_error(&event), expected, "event {event:?}");
    }

    #[test]
    fn error_frames_of_every_provider_are_recognised() {
        check(
            None,
            r#"{"error":{"code":500,"message":"The model produced output that does not match the expected peg-native format","type":"server_error"}}"#,
            Some((
                Some("server_error"),
                "The model produced output that does not match the expected peg-native format",
            )),
        );
        check(
            Some("error"),
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            Some((Some("overloaded_error"), "Overloaded")),
        );
        check(None, r#"{"error":"boom"}"#, Some((None, "boom")));
        check(
            None,
            r#"{"error":{"code":429}}"#,
            Some((Some("429"), r#"{"code":429}"#)),
        );
        check(
            Some("error"),
            "upstream died",
            Some((None, "upstream died")),
        );
        check(Some("error"), r#"{"message":"bad"}"#, Some((None, "bad")));
    }

    #[test]
    fn content_that_mentions_errors_is_not_an_error() {
        check(
            None,
            r#"{"choices":[{"delta":{"content":"\"error\" is a word"}}]}"#,
            None,
        );
        check(None, r#"{"error":null,"choices":[]}"#, None);
        check(None, r#"not json "error""#, None);
        check(Some("message_start"), r#"{"type":"message_start"}"#, None);
    }
}
