//! The proxy in front of a scripted llama.cpp-shaped backend emitting each failure mode, for both
//! inbound protocols, streaming and not: what the client sees, and what the backend received on
//! each attempt.

#![allow(clippy::unwrap_used)]

mod proxy_support;

use std::time::Duration;

use proxy_support::{
    anthropic_tools, calls_reply, openai_tools, text_reply, valid_call, Harness, SseEvent,
    RETRY_NUDGE_PREFIX,
};
use serde_json::{json, Value};
use wiremock::ResponseTemplate;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Inbound {
    OpenAi,
    Anthropic,
}

/// What the client ends up with, whatever the wire shape.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Call { name: String, args: Value },
    Text(String),
    HttpError { status: u16, message: String },
    StreamError { message: String },
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Call,
    Text(&'static str),
    Error { status: u16, message: &'static str },
}

struct Scenario {
    name: &'static str,
    replies: fn() -> Vec<ResponseTemplate>,
    repeat_last: bool,
    expect: Expect,
    attempts: usize,
    check_backend: fn(&[Value]),
}

fn roles(body: &Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap().to_owned())
        .collect()
}

fn tail(body: &Value, n: usize) -> Vec<Value> {
    let messages = body["messages"].as_array().unwrap();
    messages[messages.len() - n..].to_vec()
}

fn no_retry(bodies: &[Value]) {
    assert_eq!(roles(&bodies[0]), ["system", "user"]);
    assert_eq!(bodies[0]["tools"][0]["function"]["name"], "search");
}

/// The retry carries the failed output as assistant text and a user-channel nudge.
fn text_retry_with(expected_assistant: Option<&'static str>) -> impl Fn(&[Value]) {
    move |bodies: &[Value]| {
        let retry = &bodies[1];
        let last = tail(retry, 2);
        assert_eq!(last[0]["role"], "assistant", "{retry}");
        if let Some(expected) = expected_assistant {
            assert_eq!(last[0]["content"], expected, "{retry}");
        }
        assert_eq!(last[1]["role"], "user");
        assert!(
            last[1]["content"]
                .as_str()
                .unwrap()
                .starts_with(RETRY_NUDGE_PREFIX),
            "{retry}"
        );
        assert_eq!(roles(retry)[..2], ["system", "user"]);
    }
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "fenced_json_is_rescued_without_a_retry",
            replies: || {
                vec![text_reply(
                    "Sure.\n```json\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n```",
                )]
            },
            repeat_last: false,
            expect: Expect::Call,
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "mistral_tool_calls_marker_is_rescued_without_a_retry",
            replies: || {
                vec![text_reply(
                    "[TOOL_CALLS][{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}]",
                )]
            },
            repeat_last: false,
            expect: Expect::Call,
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "qwen_tool_call_tag_is_rescued_without_a_retry",
            replies: || {
                vec![text_reply("<tool_call>\n{\"name\": \"search\", \"arguments\": {\"q\": \"x\"}}\n</tool_call>")]
            },
            repeat_last: false,
            expect: Expect::Call,
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "malformed_args_with_null_content_go_to_the_retry_path",
            replies: || {
                vec![
                    calls_reply(Value::Null, &[("search", r#"{"q": "x""#)]),
                    valid_call(),
                ]
            },
            repeat_last: false,
            expect: Expect::Call,
            attempts: 2,
            check_backend: |bodies| text_retry_with(Some(r#"{"q": "x""#))(bodies),
        },
        Scenario {
            name: "one_malformed_call_of_several_retries_the_whole_batch",
            replies: || {
                vec![
                    calls_reply(
                        Value::Null,
                        &[("search", r#"{"q": "ok"}"#), ("search", r#"{"q": "#)],
                    ),
                    valid_call(),
                ]
            },
            repeat_last: false,
            expect: Expect::Call,
            attempts: 2,
            check_backend: |bodies| text_retry_with(None)(bodies),
        },
        Scenario {
            name: "unknown_tool_is_answered_on_the_tool_channel",
            replies: || vec![calls_reply(Value::Null, &[("nosuch", "{}")]), valid_call()],
            repeat_last: false,
            expect: Expect::Call,
            attempts: 2,
            check_backend: |bodies| {
                let last = tail(&bodies[1], 2);
                assert_eq!(last[0]["role"], "assistant");
                assert_eq!(last[0]["tool_calls"][0]["function"]["name"], "nosuch");
                assert_eq!(last[1]["role"], "tool");
                assert!(last[1]["content"]
                    .as_str()
                    .unwrap()
                    .starts_with("[UnknownTool]"));
                assert_eq!(last[1]["tool_call_id"], last[0]["tool_calls"][0]["id"]);
            },
        },
        Scenario {
            name: "bare_text_then_a_call_retries_once",
            replies: || vec![text_reply("I will look that up."), valid_call()],
            repeat_last: false,
            expect: Expect::Call,
            attempts: 2,
            check_backend: |bodies| text_retry_with(Some("I will look that up."))(bodies),
        },
        Scenario {
            name: "bare_text_forever_passes_the_last_text_through_after_the_budget",
            replies: || vec![text_reply("plain answer")],
            repeat_last: true,
            expect: Expect::Text("plain answer"),
            attempts: 4,
            check_backend: |bodies| {
                let nudges = bodies[3]["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| {
                        m["content"]
                            .as_str()
                            .is_some_and(|c| c.starts_with(RETRY_NUDGE_PREFIX))
                    })
                    .count();
                assert_eq!(nudges, 3);
            },
        },
        Scenario {
            name: "backend_400_is_a_502_with_status_and_excerpt",
            replies: || {
                vec![ResponseTemplate::new(400).set_body_json(json!({"error": "bad thing"}))]
            },
            repeat_last: false,
            expect: Expect::Error {
                status: 502,
                message: "Backend returned 400: ",
            },
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "backend_500_is_a_gateway_error_never_content",
            replies: || {
                vec![ResponseTemplate::new(500).set_body_string("{\"error\": \"out of memory\"}")]
            },
            repeat_last: false,
            expect: Expect::Error {
                status: 502,
                message: "Backend returned 500: ",
            },
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "backend_401_is_a_401_without_the_backend_body",
            replies: || vec![ResponseTemplate::new(401).set_body_string("missing key")],
            repeat_last: false,
            expect: Expect::Error {
                status: 401,
                message: "Backend rejected the request's credential (HTTP 401)",
            },
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "backend_timeout_is_a_504",
            replies: || vec![valid_call().set_delay(Duration::from_secs(2))],
            repeat_last: false,
            expect: Expect::Error {
                status: 504,
                message: "did not answer in time",
            },
            attempts: 1,
            check_backend: no_retry,
        },
        Scenario {
            name: "truncated_backend_body_is_a_502",
            replies: || {
                vec![ResponseTemplate::new(200).set_body_raw(
                    r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hel"#,
                    "application/json",
                )]
            },
            repeat_last: false,
            expect: Expect::Error {
                status: 502,
                message: "invalid",
            },
            attempts: 1,
            check_backend: no_retry,
        },
    ]
}

fn request(inbound: Inbound, stream: bool) -> (&'static str, Value) {
    match inbound {
        Inbound::OpenAi => (
            "/v1/chat/completions",
            json!({"model": "m", "stream": stream, "tools": openai_tools(),
                   "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "find x"}]}),
        ),
        Inbound::Anthropic => (
            "/v1/messages",
            json!({"model": "claude-x", "max_tokens": 100, "stream": stream, "system": "sys",
                   "tools": anthropic_tools(), "messages": [{"role": "user", "content": "find x"}]}),
        ),
    }
}

/// Reads what the client got, checking each shape's framing on the way.
async fn client_sees(h: &Harness, inbound: Inbound, stream: bool) -> Seen {
    let (route, body) = request(inbound, stream);
    if !stream {
        let (status, json) = h.post_json(route, &body).await;
        if status != 200 {
            let message = match inbound {
                Inbound::OpenAi => {
                    assert_eq!(json["error"]["type"], "proxy_error", "{json}");
                    json["error"]["message"].as_str().unwrap().to_owned()
                }
                Inbound::Anthropic => {
                    assert_eq!(json["type"], "error", "{json}");
                    assert!(json["error"]["type"].is_string());
                    json["error"]["message"].as_str().unwrap().to_owned()
                }
            };
            return Seen::HttpError { status, message };
        }
        return match inbound {
            Inbound::OpenAi => {
                let choice = &json["choices"][0];
                match choice["finish_reason"].as_str().unwrap() {
                    "tool_calls" => {
                        let call = &choice["message"]["tool_calls"][0];
                        assert!(call["id"].as_str().unwrap().starts_with("call_"));
                        Seen::Call {
                            name: call["function"]["name"].as_str().unwrap().to_owned(),
                            args: serde_json::from_str(
                                call["function"]["arguments"].as_str().unwrap(),
                            )
                            .unwrap(),
                        }
                    }
                    "stop" => Seen::Text(choice["message"]["content"].as_str().unwrap().to_owned()),
                    other => panic!("finish_reason {other}"),
                }
            }
            Inbound::Anthropic => {
                assert_eq!(json["type"], "message");
                match json["stop_reason"].as_str().unwrap() {
                    "tool_use" => {
                        let block = json["content"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .find(|b| b["type"] == "tool_use")
                            .unwrap();
                        assert!(block["id"].as_str().unwrap().starts_with("toolu_"));
                        Seen::Call {
                            name: block["name"].as_str().unwrap().to_owned(),
                            args: block["input"].clone(),
                        }
                    }
                    "end_turn" => {
                        Seen::Text(json["content"][0]["text"].as_str().unwrap().to_owned())
                    }
                    other => panic!("stop_reason {other}"),
                }
            }
        };
    }
    let (status, content_type, events) = h.post_sse(route, &body).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    match inbound {
        Inbound::OpenAi => openai_stream_seen(&events),
        Inbound::Anthropic => anthropic_stream_seen(&events),
    }
}

fn openai_stream_seen(events: &[SseEvent]) -> Seen {
    assert_eq!(events.last().unwrap().data, "[DONE]", "{events:?}");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(SseEvent::json)
        .collect();
    if let Some(error) = chunks.iter().find(|c| c.get("error").is_some()) {
        assert_eq!(
            chunks.len(),
            1,
            "the error frame is the only frame before [DONE]"
        );
        return Seen::StreamError {
            message: error["error"]["message"].as_str().unwrap().to_owned(),
        };
    }
    let last = chunks.last().unwrap();
    let finish = last["choices"][0]["finish_reason"].as_str().unwrap();
    let deltas: Vec<&Value> = chunks.iter().map(|c| &c["choices"][0]["delta"]).collect();
    match finish {
        "tool_calls" => {
            let call = deltas.iter().find_map(|d| d.get("tool_calls")).unwrap();
            Seen::Call {
                name: call[0]["function"]["name"].as_str().unwrap().to_owned(),
                args: serde_json::from_str(call[0]["function"]["arguments"].as_str().unwrap())
                    .unwrap(),
            }
        }
        "stop" => Seen::Text(
            deltas
                .iter()
                .filter_map(|d| d["content"].as_str())
                .collect(),
        ),
        other => panic!("finish_reason {other}"),
    }
}

fn anthropic_stream_seen(events: &[SseEvent]) -> Seen {
    for event in events {
        assert_eq!(
            event.event.as_deref(),
            event.json()["type"].as_str(),
            "event name = data.type"
        );
    }
    if events[0].event.as_deref() == Some("error") {
        assert_eq!(events.len(), 1, "the error event ends the stream");
        let data = events[0].json();
        assert_eq!(data["type"], "error");
        return Seen::StreamError {
            message: data["error"]["message"].as_str().unwrap().to_owned(),
        };
    }
    assert_eq!(events[0].event.as_deref(), Some("message_start"));
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("message_stop")
    );
    let delta = events
        .iter()
        .find(|e| e.event.as_deref() == Some("message_delta"))
        .unwrap()
        .json();
    match delta["delta"]["stop_reason"].as_str().unwrap() {
        "tool_use" => {
            let start = events
                .iter()
                .map(SseEvent::json)
                .find(|e| {
                    e["type"] == "content_block_start" && e["content_block"]["type"] == "tool_use"
                })
                .unwrap();
            let partial = events
                .iter()
                .map(SseEvent::json)
                .find(|e| e["delta"]["type"] == "input_json_delta")
                .unwrap();
            Seen::Call {
                name: start["content_block"]["name"].as_str().unwrap().to_owned(),
                args: serde_json::from_str(partial["delta"]["partial_json"].as_str().unwrap())
                    .unwrap(),
            }
        }
        "end_turn" => Seen::Text(
            events
                .iter()
                .map(SseEvent::json)
                .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
                .collect(),
        ),
        other => panic!("stop_reason {other}"),
    }
}

async fn check(scenario: &Scenario, inbound: Inbound, stream: bool) {
    let label = format!("{} ({inbound:?}, stream={stream})", scenario.name);
    let h = Harness::start(&[]).await;
    h.script((scenario.replies)(), scenario.repeat_last).await;
    let seen = client_sees(&h, inbound, stream).await;
    match (scenario.expect, &seen) {
        (Expect::Call, Seen::Call { name, args }) => {
            assert_eq!(name, "search", "{label}");
            assert_eq!(args, &json!({"q": "x"}), "{label}");
        }
        (Expect::Text(text), Seen::Text(got)) => assert_eq!(got, text, "{label}"),
        (
            Expect::Error { status, message },
            Seen::HttpError {
                status: got,
                message: got_message,
            },
        ) if !stream => {
            assert_eq!(*got, status, "{label}: {got_message}");
            assert!(
                got_message.contains(message),
                "{label}: {got_message:?} lacks {message:?}"
            );
        }
        (
            Expect::Error { message, .. },
            Seen::StreamError {
                message: got_message,
            },
        ) if stream => {
            assert!(
                got_message.contains(message),
                "{label}: {got_message:?} lacks {message:?}"
            );
        }
        (expect, seen) => panic!("{label}: expected {expect:?}, client saw {seen:?}"),
    }
    let bodies = h.backend_bodies("/v1/chat/completions").await;
    assert_eq!(bodies.len(), scenario.attempts, "{label}: backend attempts");
    for body in &bodies {
        assert!(
            body.get("stream_options").is_none(),
            "{label}: stream_options never forwarded"
        );
    }
    (scenario.check_backend)(&bodies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_mode_for_both_protocols_streaming_and_not() {
    for scenario in scenarios() {
        for inbound in [Inbound::OpenAi, Inbound::Anthropic] {
            for stream in [false, true] {
                check(&scenario, inbound, stream).await;
            }
        }
    }
}
