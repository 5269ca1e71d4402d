//! A request's own credential reaches the backend in the client's native slot (`Authorization: Bearer`),
//! on plain and streaming calls; next to a static key it is refused; `Debug` never shows it.
#![allow(clippy::unwrap_used, reason = "tests fail by panicking")]

use forge_client::{AuthSlot, Credential, InferenceRequest, LlmClient};
use forge_openai::{OpenAiCompatClient, OpenAiCompatConfig};
use forge_types::BackendError;
use serde_json::{json, Value};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "sk-request-secret";

fn client(server: &MockServer, static_key: Option<&str>) -> OpenAiCompatClient {
    let config = OpenAiCompatConfig::new("gpt-test", format!("{}/v1", server.uri()))
        .api_key(static_key.unwrap_or_default());
    OpenAiCompatClient::new(config).unwrap()
}

fn request(credential: Option<Credential>) -> InferenceRequest {
    InferenceRequest {
        messages: vec![json!({"role": "user", "content": "hi"})],
        credential,
        ..Default::default()
    }
}

/// Serves `reply` to every request (a 200 head is all a streaming call needs to open).
async fn server(reply: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&server)
        .await;

    server
}

/// The auth headers of every request the backend received, as `name: value` lines.
async fn auth_headers(server: &MockServer) -> Vec<String> {
    let mut seen = Vec::new();
    for request in server.received_requests().await.unwrap() {
        for name in ["authorization", "x-api-key"] {
            for value in request.headers.get_all(name) {
                seen.push(format!("{name}: {}", value.to_str().unwrap()));
            }
        }
    }
    seen
}

#[tokio::test]
async fn request_credential_lands_in_the_native_slot_on_send_and_stream() {
    let cases = [
        (
            Credential::token(SECRET).unwrap(),
            "authorization: Bearer sk-request-secret",
        ),
        (
            Credential::verbatim(AuthSlot::Authorization, "Basic dXNlcg==").unwrap(),
            "authorization: Basic dXNlcg==",
        ),
        (
            Credential::verbatim(AuthSlot::XApiKey, SECRET).unwrap(),
            "x-api-key: sk-request-secret",
        ),
    ];
    for (credential, expected) in cases {
        for stream in [false, true] {
            let backend = server(json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]})).await;
            let client = client(&backend, None);
            assert_eq!(client.auth_slot(), AuthSlot::Authorization);
            let request = request(Some(credential.clone()));
            if stream {
                // Opening the stream is enough: the request head has been sent.
                drop(client.send_stream(&request).await);
            } else {
                drop(client.send(&request).await);
            }
            let seen = auth_headers(&backend).await;
            assert!(!seen.is_empty(), "stream={stream}: nothing sent");
            assert!(
                seen.iter().all(|line| line == expected),
                "stream={stream}: {seen:?}"
            );
        }
    }
}

#[tokio::test]
async fn request_credential_next_to_a_static_key_is_refused_before_sending() {
    let backend = server(json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]})).await;
    let client = client(&backend, Some("sk-static"));
    let request = request(Some(Credential::token(SECRET).unwrap()));
    for outcome in [
        client.send(&request).await.map(drop),
        client.send_stream(&request).await.map(drop),
    ] {
        let error = outcome.unwrap_err();
        assert!(
            matches!(error, BackendError::InvalidRequest { .. }),
            "{error}"
        );
        assert!(!error.to_string().contains("sk-"), "{error}");
    }
    assert!(backend.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_request_credential_the_static_key_is_sent_alone() {
    let backend = server(json!({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]})).await;
    drop(
        client(&backend, Some("sk-static"))
            .send(&request(None))
            .await,
    );
    assert_eq!(
        auth_headers(&backend).await,
        ["authorization: Bearer sk-static"]
    );
}

#[test]
fn debug_output_of_a_request_hides_its_credential() {
    let shown = format!("{:?}", request(Some(Credential::token(SECRET).unwrap())));
    assert!(shown.contains("credential"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}
