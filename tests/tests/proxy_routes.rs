//! Routes besides inference: forwarding of the backend's metadata, the proxy's own liveness,
//! CORS, aliases, query strings, 404s, and the backend credential.

#![allow(clippy::unwrap_used)]

mod proxy_support;

use proxy_support::{text_reply, Harness};
use reqwest::Method;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn metadata_routes_forward_the_backends_status_and_body_unchanged() {
    let h = Harness::start(&[]).await;
    let catalog = json!({"object": "list", "data": [{"id": "qwen3-8b", "object": "model"}]});
    let routes: [(&str, ResponseTemplate); 5] = [
        (
            "/v1/models",
            ResponseTemplate::new(200).set_body_json(catalog.clone()),
        ),
        (
            "/models",
            ResponseTemplate::new(200).set_body_json(catalog.clone()),
        ),
        (
            "/health",
            ResponseTemplate::new(503)
                .set_body_json(json!({"error": {"message": "Loading model"}})),
        ),
        (
            "/v1/health",
            ResponseTemplate::new(404).set_body_string("no such route"),
        ),
        (
            "/props",
            ResponseTemplate::new(200)
                .set_body_json(json!({"default_generation_settings": {"n_ctx": 8192}})),
        ),
    ];
    for (route, reply) in routes {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(reply)
            .mount(&h.backend)
            .await;
    }
    let check = |route: &'static str, status: u16, body: Value| {
        let h = &h;
        async move {
            let response = h.request(Method::GET, route).await;
            assert_eq!(response.status(), status, "{route}");
            assert_eq!(
                response.headers()["access-control-allow-origin"],
                "*",
                "{route}"
            );
            let text = response.text().await.unwrap();
            let got = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
            assert_eq!(got, body, "{route}");
        }
    };
    check("/v1/models", 200, catalog.clone()).await;
    check("/models", 200, catalog).await;
    check(
        "/health",
        503,
        json!({"error": {"message": "Loading model"}}),
    )
    .await;
    check("/v1/health", 404, json!("no such route")).await;
    check(
        "/props",
        200,
        json!({"default_generation_settings": {"n_ctx": 8192}}),
    )
    .await;
}

#[tokio::test]
async fn forwarding_keeps_the_query_string() {
    let h = Harness::start(&[]).await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"page": 2})))
        .mount(&h.backend)
        .await;
    let response = h.request(Method::GET, "/v1/models?page=2").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unreachable_backend_on_a_metadata_route_is_a_502() {
    // A port nothing listens on (wiremock pools its servers, so a dropped one may still answer).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    let h = Harness::start_with(
        MockServer::start().await,
        &[
            "forge-proxy",
            "--backend-url",
            &uri,
            "--port",
            "0",
            "--backend-timeout",
            "0.5",
        ],
    )
    .await;
    let response = h.request(Method::GET, "/health").await;
    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Backend request failed"));
}

#[tokio::test]
async fn forge_health_is_local_liveness() {
    let h = Harness::start(&[]).await;
    let response = h.request(Method::GET, "/forge/health").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    assert!(h.backend.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn preflight_is_204_with_cors_headers_on_any_path() {
    let h = Harness::start(&[]).await;
    for route in ["/v1/chat/completions", "/v1/messages", "/anything"] {
        let response = h.request(Method::OPTIONS, route).await;
        assert_eq!(response.status(), 204, "{route}");
        let headers = response.headers();
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert_eq!(
            headers["access-control-allow-methods"],
            "GET, POST, OPTIONS"
        );
        let allowed = headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for name in [
            "content-type",
            "authorization",
            "x-api-key",
            "anthropic-version",
            "anthropic-beta",
        ] {
            assert!(allowed.contains(name), "{name} in {allowed}");
        }
    }
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_404_json() {
    let h = Harness::start(&[]).await;
    for (verb, route) in [
        (Method::GET, "/nonexistent"),
        (Method::GET, "/v1/chat/completions"),
        (Method::POST, "/health"),
        (Method::POST, "/props"),
        (Method::DELETE, "/v1/models"),
        (Method::GET, "/forge/usage"),
    ] {
        let response = h.request(verb.clone(), route).await;
        assert_eq!(response.status(), 404, "{verb} {route}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["message"], "Not found");
    }
}

#[tokio::test]
async fn unversioned_alias_and_query_strings_reach_the_completion_routes() {
    let h = Harness::start(&[]).await;
    h.script(vec![text_reply("Hello!")], true).await;
    let (status, body) = h
        .post_json(
            "/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["message"]["content"], "Hello!");
    assert_eq!(
        body["model"], "forge",
        "no model in the request echoes forge"
    );
    let (status, body) = h
        .post_json(
            "/v1/messages?beta=true",
            &json!({"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["content"], json!([{"type": "text", "text": "Hello!"}]));
}

#[tokio::test]
async fn backend_api_key_authenticates_inference_and_forwarding() {
    let backend = MockServer::start().await;
    let uri = backend.uri();
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test"))
        .respond_with(text_reply("authorized"))
        .mount(&backend)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header("authorization", "Bearer sk-test"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&backend)
        .await;
    let h = Harness::start_with(
        backend,
        &[
            "forge-proxy",
            "--backend-url",
            &uri,
            "--port",
            "0",
            "--backend-api-key",
            "sk-test",
        ],
    )
    .await;
    let (status, body) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "authorized");
    assert_eq!(h.request(Method::GET, "/v1/models").await.status(), 200);
}

#[tokio::test]
async fn generic_openai_backend_sends_the_configured_model() {
    let backend = MockServer::start().await;
    let uri = format!("{}/v1", backend.uri());
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(text_reply("hosted"))
        .mount(&backend)
        .await;
    let h = Harness::start_with(
        backend,
        &[
            "forge-proxy",
            "--backend-url",
            &uri,
            "--backend",
            "openai",
            "--model",
            "gpt-test",
            "--port",
            "0",
        ],
    )
    .await;
    let (status, body) = h
        .post_json(
            "/v1/chat/completions",
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "gpt-test");
    let sent = h.backend_bodies("/v1/chat/completions").await;
    assert_eq!(sent[0]["model"], "gpt-test");
}
