//! Managed mode on the real tier: the proxy spawns the real llama-server itself from `--gguf`,
//! answers a tool-bearing OpenAI request through it, and stops it on shutdown.
//!
//! What must hold for any model: exactly one llama-server is spawned on the requested port, the
//! answer is a well-formed `chat.completion` (a call to the offered tool with JSON-object
//! arguments, or text), and after shutdown that llama-server is gone and its port closed. What the
//! 135M model says is not asserted.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use forge_proxy::{Proxy, ProxyConfig};
use forge_tests::RealEnv;
use serde_json::{json, Value};

/// Tokens per answer: a call fits, rambling is cut short.
const MAX_TOKENS: u64 = 48;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The pids of running (not zombie) processes whose command line has `--port <port>` and whose
/// program is `binary`.
fn servers_on_port(binary: &Path, port: u16) -> Vec<u32> {
    let proc_root = Path::new("/proc");
    assert!(
        proc_root.is_dir(),
        "this test finds the spawned server through /proc"
    );
    let port = port.to_string();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir(proc_root).unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|byte| *byte == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        let is_binary = args
            .first()
            .is_some_and(|program| Path::new(program) == binary);
        let on_port = args
            .windows(2)
            .any(|pair| pair[0] == "--port" && pair[1] == port);
        if is_binary && on_port && process_running(pid) {
            pids.push(pid);
        }
    }
    pids
}

fn process_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => !stat
            .rsplit(") ")
            .next()
            .is_some_and(|rest| rest.starts_with('Z')),
    }
}

/// A well-formed OpenAI answer: one assistant choice holding either calls of the offered tool with
/// JSON-object arguments, or text.
fn assert_well_formed_answer(answer: &Value) {
    assert_eq!(answer["object"], "chat.completion", "{answer}");
    let choice = &answer["choices"][0];
    let message = &choice["message"];
    assert_eq!(message["role"], "assistant", "{answer}");
    let finish_reason = choice["finish_reason"].as_str().unwrap_or_default();
    match message["tool_calls"].as_array() {
        Some(calls) => {
            assert!(!calls.is_empty(), "an empty tool_calls array: {answer}");
            assert_eq!(finish_reason, "tool_calls", "{answer}");
            for call in calls {
                assert_eq!(call["type"], "function", "{answer}");
                assert_eq!(
                    call["function"]["name"], "get_weather",
                    "only the offered tool may come back as a call: {answer}"
                );
                let arguments: Value =
                    serde_json::from_str(call["function"]["arguments"].as_str().unwrap())
                        .unwrap_or_else(|e| panic!("arguments are not JSON ({e}): {answer}"));
                assert!(arguments.is_object(), "arguments not an object: {answer}");
            }
        }
        None => {
            assert!(
                message["content"].is_string(),
                "neither calls nor text: {answer}"
            );
            assert!(
                ["stop", "length"].contains(&finish_reason),
                "unexpected finish_reason for text: {answer}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_proxy_managed_mode_spawns_llama_server() {
    let real = RealEnv::from_env();
    let backend_port = free_port();
    // Half the cores: llama.cpp's workers spin-wait, and on a machine busy with builds all-core
    // threads are an order of magnitude slower.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get() / 2)
        .max(1);
    let extra_flags = format!("-n {MAX_TOKENS} -t {threads}");
    let config = ProxyConfig::from_args([
        "forge-proxy",
        "--backend",
        "llamaserver",
        "--gguf",
        real.model_path.to_str().unwrap(),
        "--server-binary",
        real.llama_server.to_str().unwrap(),
        "--backend-port",
        &backend_port.to_string(),
        "--budget-mode",
        "manual",
        "--budget-tokens",
        "2048",
        "--max-retries",
        "1",
        "--extra-flags",
        &extra_flags,
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ])
    .unwrap();
    let proxy = Proxy::start(config)
        .await
        .expect("the proxy starts the real llama-server and it becomes healthy");
    let spawned = servers_on_port(&real.llama_server, backend_port);
    assert_eq!(
        spawned.len(),
        1,
        "exactly one llama-server on port {backend_port}: {spawned:?}"
    );

    let listener = proxy.bind().await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(proxy.serve(listener, async {
        let _ = stopped.await;
    }));

    let response = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({
            "max_tokens": MAX_TOKENS,
            "messages": [
                {"role": "system", "content": "Call get_weather for the city the user names."},
                {"role": "user", "content": "What's the weather in Paris?"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Get the current weather for a city.",
                "parameters": {"type": "object",
                    "properties": {"city": {"type": "string"}}, "required": ["city"]}
            }}]
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_well_formed_answer(&answer);

    stop.send(()).unwrap();
    server
        .await
        .unwrap()
        .expect("the proxy serves until shutdown");
    for pid in spawned {
        assert!(
            !process_running(pid),
            "llama-server {pid} still runs after the proxy stopped"
        );
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", backend_port)).is_err(),
        "something still listens on the backend port {backend_port}"
    );
}

#[test]
fn answers_of_either_kind_are_well_formed() {
    let call = json!({"object": "chat.completion", "choices": [{"finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
            "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}]});
    assert_well_formed_answer(&call);
    let text = json!({"object": "chat.completion", "choices": [{"finish_reason": "length",
        "message": {"role": "assistant", "content": "It rains."}}]});
    assert_well_formed_answer(&text);
}

#[test]
#[should_panic(expected = "only the offered tool")]
fn a_call_of_a_tool_never_offered_is_not_well_formed() {
    let call = json!({"object": "chat.completion", "choices": [{"finish_reason": "tool_calls",
        "message": {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "launch", "arguments": "{}"}}]}}]});
    assert_well_formed_answer(&call);
}
