//! One credential per request, end to end through the proxy (spec 06 F20; known defect: inbound
//! authorization was never forwarded, so gated backends could not be used).
//!
//! Each scenario sends real HTTP to the proxy and reads what the scripted backend received: the
//! auth header in the backend's native slot (relocated across protocols, verbatim within one),
//! on the tool-free bypass and the guardrailed path (every retry attempt), streaming and not;
//! and the refusals (two credentials, a repeated header, inbound next to the static key, no
//! credential for an Anthropic backend) as real statuses in the caller's protocol. No error body
//! ever quotes a credential.

#![allow(clippy::unwrap_used)]

mod proxy_support;

use proxy_support::{
    anthropic_tools, openai_tools, parse_sse, script_at, text_reply, valid_call, Harness, SseEvent,
};
use serde_json::{json, Value};
use wiremock::{MockServer, ResponseTemplate};

const SECRET: &str = "sk-inbound-secret-4242";

/// Which inbound route a scenario calls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Route {
    OpenAi,
    Anthropic,
}

impl Route {
    fn path(self) -> &'static str {
        match self {
            Self::OpenAi => "/v1/chat/completions",
            Self::Anthropic => "/v1/messages",
        }
    }

    /// A request body; `tools` sends the guardrailed path, else the tool-free bypass.
    fn body(self, tools: bool, stream: bool) -> Value {
        let mut body = json!({"model": "m", "max_tokens": 20, "stream": stream,
            "messages": [{"role": "user", "content": "find x"}]});
        if tools {
            body["tools"] = match self {
                Self::OpenAi => openai_tools(),
                Self::Anthropic => anthropic_tools(),
            };
        }
        body
    }
}

/// The backend kind behind the proxy.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Backend {
    /// llama.cpp external mode (`Authorization: Bearer`).
    OpenAiShaped,
    /// `--backend-protocol anthropic` (`x-api-key`).
    Anthropic,
}

impl Backend {
    fn chat_path(self) -> &'static str {
        match self {
            Self::OpenAiShaped => "/v1/chat/completions",
            Self::Anthropic => "/v1/messages",
        }
    }

    async fn start(self, static_key: Option<&str>) -> Harness {
        let backend = MockServer::start().await;
        let uri = backend.uri();
        let mut argv = vec![
            "forge-proxy",
            "--backend-url",
            uri.as_str(),
            "--port",
            "0",
            "--backend-timeout",
            "0.5",
        ];
        if self == Self::Anthropic {
            argv.extend(["--backend-protocol", "anthropic"]);
        }
        if let Some(key) = static_key {
            argv.extend(["--backend-api-key", key]);
        }
        Harness::start_with(backend, &argv).await
    }

    /// A text answer, then (for tool-bearing requests) a valid call, in the backend's shape.
    fn text(self, text: &str) -> ResponseTemplate {
        match self {
            Self::OpenAiShaped => text_reply(text),
            Self::Anthropic => ResponseTemplate::new(200).set_body_json(json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 2}})),
        }
    }

    fn call(self) -> ResponseTemplate {
        match self {
            Self::OpenAiShaped => valid_call(),
            Self::Anthropic => ResponseTemplate::new(200).set_body_json(json!({
                "id": "msg_2", "type": "message", "role": "assistant", "model": "m",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "search", "input": {"q": "x"}}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 3, "output_tokens": 2}})),
        }
    }
}

/// What the proxy answered: status, and the JSON body or the SSE events.
#[derive(Debug)]
struct Answer {
    status: u16,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    fn events(&self) -> Vec<SseEvent> {
        parse_sse(&self.text)
    }
}

async fn send(h: &Harness, route: Route, body: &Value, headers: &[(&str, &str)]) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{}", h.url, route.path()))
        .json(body);
    for (name, value) in headers {
        // `header` appends, so a repeated name reaches the proxy twice.
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(SECRET) && !text.contains("sk-static-secret"),
        "an answer quotes a credential: {text}"
    );
    Answer { status, text }
}

/// Every auth header each backend request carried, as `name: value` lines per request.
async fn backend_auth(h: &Harness) -> Vec<Vec<String>> {
    h.backend
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|request| {
            ["authorization", "x-api-key"]
                .into_iter()
                .flat_map(|name| {
                    request
                        .headers
                        .get_all(name)
                        .iter()
                        .map(move |value| format!("{name}: {}", value.to_str().unwrap()))
                })
                .collect()
        })
        .collect()
}

/// One forwarding scenario: the inbound header, route and backend → the header every backend
/// request must carry (alone).
struct Forwarded {
    name: &'static str,
    route: Route,
    backend: Backend,
    inbound: (&'static str, String),
    expected: String,
}

fn forwarding_cases() -> Vec<Forwarded> {
    vec![
        Forwarded {
            name: "bearer_to_openai_backend_is_forwarded",
            route: Route::OpenAi,
            backend: Backend::OpenAiShaped,
            inbound: ("Authorization", format!("Bearer {SECRET}")),
            expected: format!("authorization: Bearer {SECRET}"),
        },
        Forwarded {
            name: "x_api_key_from_anthropic_route_moves_to_bearer_for_openai_backend",
            route: Route::Anthropic,
            backend: Backend::OpenAiShaped,
            inbound: ("x-api-key", SECRET.to_owned()),
            expected: format!("authorization: Bearer {SECRET}"),
        },
        Forwarded {
            name: "bearer_from_openai_route_moves_to_x_api_key_for_anthropic_backend",
            route: Route::OpenAi,
            backend: Backend::Anthropic,
            inbound: ("Authorization", format!("Bearer {SECRET}")),
            expected: format!("x-api-key: {SECRET}"),
        },
        Forwarded {
            name: "x_api_key_on_anthropic_route_to_anthropic_backend_is_verbatim",
            route: Route::Anthropic,
            backend: Backend::Anthropic,
            inbound: ("X-Api-Key", SECRET.to_owned()),
            expected: format!("x-api-key: {SECRET}"),
        },
        Forwarded {
            name: "oauth_bearer_on_anthropic_route_to_anthropic_backend_is_verbatim",
            route: Route::Anthropic,
            backend: Backend::Anthropic,
            inbound: ("Authorization", format!("Bearer {SECRET}")),
            expected: format!("authorization: Bearer {SECRET}"),
        },
    ]
}

#[tokio::test]
async fn inbound_credential_reaches_every_backend_call_in_its_native_slot() {
    for case in forwarding_cases() {
        // (tools, stream): bypass and guardrailed path (text, retry, call), JSON and SSE.
        for (tools, stream) in [(false, false), (false, true), (true, false), (true, true)] {
            let label = format!("{} tools={tools} stream={stream}", case.name);
            let h = case.backend.start(None).await;
            let replies = if tools {
                vec![case.backend.text("I will search."), case.backend.call()]
            } else {
                vec![case.backend.text("hello")]
            };
            script_at(&h.backend, case.backend.chat_path(), replies, false).await;
            let (name, value) = &case.inbound;
            let answer = send(
                &h,
                case.route,
                &case.route.body(tools, stream),
                &[(name, value), ("X-Custom", "private"), ("Cookie", "c=1")],
            )
            .await;
            assert_eq!(answer.status, 200, "{label}: {}", answer.text);
            if stream {
                assert!(!answer.events().is_empty(), "{label}");
            }
            let seen = backend_auth(&h).await;
            assert_eq!(seen.len(), if tools { 2 } else { 1 }, "{label}: {seen:?}");
            for request in &seen {
                assert_eq!(request, std::slice::from_ref(&case.expected), "{label}");
            }
            for request in h.backend.received_requests().await.unwrap() {
                for private in ["x-custom", "cookie"] {
                    assert!(
                        request.headers.get(private).is_none(),
                        "{label}: {private} forwarded"
                    );
                }
            }
        }
    }
}

/// A refused request: nothing reaches the backend, and the caller gets `status` in its own
/// protocol's error shape, before any stream starts.
async fn assert_refused(
    h: &Harness,
    route: Route,
    headers: &[(&str, &str)],
    status: u16,
    fragment: &str,
) {
    for stream in [false, true] {
        let label = format!("{route:?} stream={stream} {headers:?}");
        let answer = send(h, route, &route.body(true, stream), headers).await;
        assert_eq!(answer.status, status, "{label}: {}", answer.text);
        let body = answer.json();
        let message = match route {
            Route::OpenAi => {
                assert_eq!(body["error"]["type"], "proxy_error", "{label}");
                body["error"]["message"].as_str().unwrap().to_owned()
            }
            Route::Anthropic => {
                assert_eq!(body["type"], "error", "{label}");
                let expected_type = if status == 401 {
                    "authentication_error"
                } else {
                    "invalid_request_error"
                };
                assert_eq!(body["error"]["type"], expected_type, "{label}");
                body["error"]["message"].as_str().unwrap().to_owned()
            }
        };
        assert!(message.contains(fragment), "{label}: {message}");
    }
    assert!(h.backend.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn two_credentials_are_a_400_in_the_callers_protocol() {
    let bearer = format!("Bearer {SECRET}");
    for route in [Route::OpenAi, Route::Anthropic] {
        let h = Backend::OpenAiShaped.start(None).await;
        assert_refused(
            &h,
            route,
            &[("Authorization", &bearer), ("x-api-key", SECRET)],
            400,
            "more than one credential (authorization, x-api-key)",
        )
        .await;
        let body = send(
            &h,
            route,
            &route.body(false, false),
            &[("Authorization", &bearer), ("x-api-key", "other")],
        )
        .await
        .json();
        if route == Route::OpenAi {
            assert_eq!(body["error"]["code"], "invalid_credentials");
        }
    }
}

#[tokio::test]
async fn the_same_auth_header_twice_is_a_400_not_last_wins() {
    let bearer = format!("Bearer {SECRET}");
    for route in [Route::OpenAi, Route::Anthropic] {
        let h = Backend::OpenAiShaped.start(None).await;
        assert_refused(
            &h,
            route,
            &[("Authorization", &bearer), ("Authorization", &bearer)],
            400,
            "authorization header 2 times",
        )
        .await;
        assert_refused(
            &h,
            route,
            &[("x-api-key", SECRET), ("x-api-key", "other")],
            400,
            "x-api-key header 2 times",
        )
        .await;
    }
}

#[tokio::test]
async fn inbound_credential_next_to_the_static_key_is_a_400() {
    for backend in [Backend::OpenAiShaped, Backend::Anthropic] {
        let h = backend.start(Some("sk-static-secret")).await;
        assert_refused(
            &h,
            Route::OpenAi,
            &[("Authorization", &format!("Bearer {SECRET}"))],
            400,
            "--backend-api-key",
        )
        .await;
        assert_refused(
            &h,
            Route::Anthropic,
            &[("x-api-key", SECRET)],
            400,
            "--backend-api-key",
        )
        .await;
    }
}

#[tokio::test]
async fn blank_and_scheme_only_credentials_count_as_absent() {
    for blank in [
        ("Authorization", "Bearer "),
        ("Authorization", "Bearer"),
        ("x-api-key", "  "),
    ] {
        // An ungated backend: the request goes through without any auth header.
        let h = Backend::OpenAiShaped.start(None).await;
        h.script(vec![text_reply("hello")], false).await;
        let answer = send(
            &h,
            Route::OpenAi,
            &Route::OpenAi.body(false, false),
            &[blank],
        )
        .await;
        assert_eq!(answer.status, 200, "{blank:?}: {}", answer.text);
        assert_eq!(backend_auth(&h).await, [Vec::<String>::new()], "{blank:?}");
        // A blank header next to a real one is one credential, not two.
        let h = Backend::OpenAiShaped.start(None).await;
        h.script(vec![text_reply("hello")], false).await;
        let other = if blank.0 == "x-api-key" {
            ("Authorization", format!("Bearer {SECRET}"))
        } else {
            ("x-api-key", SECRET.to_owned())
        };
        let answer = send(
            &h,
            Route::OpenAi,
            &Route::OpenAi.body(false, false),
            &[blank, (other.0, other.1.as_str())],
        )
        .await;
        assert_eq!(answer.status, 200, "{blank:?}: {}", answer.text);
        assert_eq!(backend_auth(&h).await.len(), 1);
    }
}

#[tokio::test]
async fn anthropic_backend_without_any_credential_is_a_clear_401_before_dispatch() {
    let h = Backend::Anthropic.start(None).await;
    for route in [Route::OpenAi, Route::Anthropic] {
        assert_refused(&h, route, &[], 401, "requires a credential (x-api-key)").await;
        assert_refused(
            &h,
            route,
            &[("Authorization", "Bearer ")],
            401,
            "send an Authorization or x-api-key header",
        )
        .await;
    }
}

#[tokio::test]
async fn static_key_alone_authenticates_every_call() {
    let h = Backend::Anthropic.start(Some("sk-static-secret")).await;
    script_at(
        &h.backend,
        "/v1/messages",
        vec![
            Backend::Anthropic.text("I will search."),
            Backend::Anthropic.call(),
        ],
        false,
    )
    .await;
    let answer = send(&h, Route::OpenAi, &Route::OpenAi.body(true, false), &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        backend_auth(&h).await,
        vec![vec!["x-api-key: sk-static-secret".to_owned()]; 2]
    );
}

#[tokio::test]
async fn backend_auth_rejection_is_a_401_that_never_quotes_the_key() {
    for (backend_status, backend) in [
        (401, Backend::OpenAiShaped),
        (403, Backend::OpenAiShaped),
        (401, Backend::Anthropic),
    ] {
        for route in [Route::OpenAi, Route::Anthropic] {
            let label = format!("{backend:?} {backend_status} {route:?}");
            let h = backend.start(None).await;
            // Providers echo (part of) a rejected key; the proxy must not pass it on.
            let echo = ResponseTemplate::new(backend_status).set_body_string(format!(
                "{{\"error\": \"Incorrect API key provided: {SECRET}\"}}"
            ));
            script_at(&h.backend, backend.chat_path(), vec![echo], true).await;
            let credential = ("x-api-key", SECRET);
            let answer = send(&h, route, &route.body(true, false), &[credential]).await;
            assert_eq!(answer.status, 401, "{label}: {}", answer.text);
            let body = answer.json();
            match route {
                Route::OpenAi => {
                    assert_eq!(body["error"]["code"], "backend_auth_failed", "{label}");
                    assert_eq!(body["error"]["backend_status"], backend_status, "{label}");
                }
                Route::Anthropic => {
                    assert_eq!(body["error"]["type"], "authentication_error", "{label}")
                }
            }
            // Streaming: the head is already sent, so the rejection is an error event.
            let answer = send(&h, route, &route.body(true, true), &[credential]).await;
            assert_eq!(answer.status, 200, "{label}");
            let events = answer.events();
            assert!(
                events
                    .iter()
                    .any(|e| e.data.contains("rejected the request's credential")),
                "{label}: {events:?}"
            );
        }
    }
}

#[tokio::test]
async fn other_backend_errors_quoting_the_key_are_redacted() {
    let h = Backend::OpenAiShaped.start(None).await;
    h.script(
        vec![ResponseTemplate::new(500).set_body_string(format!("bad header Bearer {SECRET}"))],
        true,
    )
    .await;
    let answer = send(
        &h,
        Route::OpenAi,
        &Route::OpenAi.body(false, false),
        &[("Authorization", &format!("Bearer {SECRET}"))],
    )
    .await;
    assert_eq!(answer.status, 502);
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("bad header Bearer [redacted]"),
        "{message}"
    );
}

#[tokio::test]
async fn metadata_routes_follow_the_same_one_credential_rule() {
    let h = Backend::Anthropic.start(None).await;
    wiremock::Mock::given(wiremock::matchers::path("/v1/models"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&h.backend)
        .await;
    let get = |headers: Vec<(&'static str, String)>| {
        let mut request = reqwest::Client::new().get(format!("{}/v1/models", h.url));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let response = get(vec![("Authorization", format!("Bearer {SECRET}"))])
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(backend_auth(&h).await, [[format!("x-api-key: {SECRET}")]]);
    let response = get(vec![
        ("Authorization", format!("Bearer {SECRET}")),
        ("x-api-key", SECRET.to_owned()),
    ])
    .await
    .unwrap();
    assert_eq!(response.status(), 400);
    assert!(!response.text().await.unwrap().contains(SECRET));
    assert_eq!(
        backend_auth(&h).await.len(),
        1,
        "the refused GET was not forwarded"
    );
}
