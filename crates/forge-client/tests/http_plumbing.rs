//! The shared HTTP plumbing against a local mock server.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::time::Duration;

use forge_client::{AuthSlot, Credential, Endpoint, HttpBackend, HttpConfig};
use forge_types::{BackendError, TimeoutPhase};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn backend(config: HttpConfig) -> HttpBackend {
    HttpBackend::new(config).unwrap()
}

fn quick() -> HttpConfig {
    HttpConfig::with_timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn success_returns_the_decoded_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .mount(&server)
        .await;
    let body = backend(quick())
        .post_json(&format!("{}/v1/x", server.uri()), &json!({"a": 1}))
        .await
        .unwrap();
    assert_eq!(body, json!({"ok": true}));
    let received: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(received, json!({"a": 1}));
}

#[tokio::test]
async fn every_error_status_is_a_typed_http_error_with_excerpt() {
    for status in [301, 400, 401, 403, 404, 408, 422, 429, 500, 502, 503, 504] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(status).set_body_string(format!("failure {status}")),
            )
            .mount(&server)
            .await;
        let url = format!("{}/x", server.uri());
        let err = backend(quick())
            .post_json(&url, &json!({}))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            BackendError::Http {
                status,
                url: url.clone(),
                body_excerpt: format!("failure {status}")
            },
            "status {status}"
        );
    }
}

#[tokio::test]
async fn undecodable_success_body_is_invalid_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    let err = backend(quick())
        .post_json(&format!("{}/x", server.uri()), &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BackendError::InvalidResponse { body_excerpt, .. } if body_excerpt == "<html>gateway</html>"),
        "{err:?}"
    );
}

#[tokio::test]
async fn slow_server_is_a_read_timeout_not_a_transport_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let config = quick().read_timeout(Duration::from_millis(200));
    let url = format!("{}/x", server.uri());
    let err = backend(config)
        .post_json(&url, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        BackendError::Timeout {
            phase: TimeoutPhase::Read,
            after: Duration::from_millis(200),
            url
        }
    );
}

#[tokio::test]
async fn refused_connection_is_a_transport_error() {
    // A port that was just free: nothing listens there any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/x", listener.local_addr().unwrap());
    drop(listener);
    let err = backend(quick())
        .post_json(&url, &json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, BackendError::Transport { url: u, .. } if *u == url),
        "{err:?}"
    );
}

#[tokio::test]
async fn bearer_key_and_extra_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer tok"))
        .and(header("x-title", "MyApp"))
        .and(header("http-referer", "https://example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let config = quick()
        .api_key("tok")
        .header("HTTP-Referer", "https://example.com")
        .header("X-Title", "MyApp");
    backend(config)
        .get_json(&format!("{}/m", server.uri()))
        .await
        .unwrap();
}

#[tokio::test]
async fn extra_authorization_header_is_the_one_static_credential() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let config = quick().header("authorization", "ApiKey custom-scheme");
    backend(config)
        .get_json(&format!("{}/m", server.uri()))
        .await
        .unwrap();
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    let values: Vec<_> = requests[0]
        .headers
        .get_all("authorization")
        .iter()
        .collect();
    assert_eq!(values, ["ApiKey custom-scheme"]);
    let both = quick()
        .api_key("sk-1")
        .header("authorization", "ApiKey custom-scheme");
    assert!(
        HttpBackend::new(both).is_err(),
        "a key and an auth header are two credentials, refused rather than merged"
    );
}

#[tokio::test]
async fn per_request_credential_rides_in_the_requested_slot_on_every_method() {
    let cases = [
        (
            AuthSlot::Authorization,
            Credential::token("sk-r").unwrap(),
            "authorization",
            "Bearer sk-r",
        ),
        (
            AuthSlot::XApiKey,
            Credential::token("sk-r").unwrap(),
            "x-api-key",
            "sk-r",
        ),
        (
            AuthSlot::XApiKey,
            Credential::verbatim(AuthSlot::Authorization, "Bearer oauth").unwrap(),
            "authorization",
            "Bearer oauth",
        ),
    ];
    for (native, credential, name, value) in cases {
        let server = MockServer::start().await;
        Mock::given(header(name, value))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
            .expect(3)
            .mount(&server)
            .await;
        let shared = backend(quick());
        let http = shared.for_request(Some(&credential), native).unwrap();
        let url = format!("{}/x", server.uri());
        http.get_json(&url).await.unwrap();
        http.post_json(&url, &json!({})).await.unwrap();
        assert!(http.post_streaming(&url, &json!({})).await.unwrap().is_ok());
        shared.get_json(&url).await.unwrap_err();
        let received = server.received_requests().await.unwrap();
        let other = if name == "authorization" {
            "x-api-key"
        } else {
            "authorization"
        };
        assert!(
            received.iter().all(|r| r.headers.get(other).is_none()),
            "{name}"
        );
        server.verify().await;
    }
}

#[tokio::test]
async fn no_key_sends_no_authorization_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    backend(quick())
        .get_json(&format!("{}/m", server.uri()))
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(requests[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn streaming_post_returns_error_responses_whole() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&server)
        .await;
    let outcome = backend(quick())
        .post_streaming(&format!("{}/x", server.uri()), &json!({}))
        .await
        .unwrap();
    let response = outcome.err().expect("a non-2xx answer comes back whole");
    assert_eq!(
        (response.status, response.body.as_str()),
        (503, "overloaded")
    );
}

#[tokio::test]
async fn an_endpoint_reaches_the_same_server_and_reports_the_same_url_and_errors_as_its_string() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/x"))
        .respond_with(ResponseTemplate::new(418).set_body_string("teapot"))
        .mount(&server)
        .await;
    let http = backend(quick());
    let cases = [
        format!("{}/v1/x", server.uri()),
        "not a url".to_owned(),
        "unix:/no/host".to_owned(),
    ];
    for url in cases {
        let endpoint = Endpoint::new(url.clone());
        assert_eq!(endpoint.as_str(), url);
        let by_string = http.post(&url, &json!({"a": 1})).await;
        let by_endpoint = http.post(&endpoint, &json!({"a": 1})).await;
        assert_eq!(by_endpoint, by_string, "{url}");
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
