//! Managed mode end to end: the proxy starts a stand-in llama-server (tests/data), serves
//! through it, and stops it on shutdown; a failing start is reported at once.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use forge_proxy::{Proxy, ProxyConfig, StartError};
use serde_json::{json, Value};

fn fake_server() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fake_llama_chat.py");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    script
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("forge-proxy-managed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn free_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port().to_string()
}

fn managed_config(extra_flags: &str) -> ProxyConfig {
    let gguf = scratch("model.gguf");
    std::fs::write(&gguf, b"GGUF").unwrap();
    let script = fake_server();
    let backend_port = free_port();
    ProxyConfig::from_args([
        "forge-proxy",
        "--backend",
        "llamaserver",
        "--gguf",
        gguf.to_str().unwrap(),
        "--server-binary",
        script.to_str().unwrap(),
        "--backend-port",
        &backend_port,
        "--extra-flags",
        extra_flags,
        "--port",
        "0",
    ])
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_llama_server_serves_tool_calls_and_is_stopped_on_shutdown() {
    let term_file = scratch("term");
    let _ = std::fs::remove_file(&term_file);
    let config = managed_config(&format!("--fake-term-file {}", term_file.display()));
    assert!(config.serialize, "managed mode serializes by default");
    let proxy = Proxy::start(config)
        .await
        .expect("the stand-in server starts");
    let listener = proxy.bind().await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(proxy.serve(listener, async {
        let _ = stopped.await;
    }));

    let http = reqwest::Client::new();
    let response: Value = http
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({"messages": [{"role": "user", "content": "find x"}],
            "tools": [{"type": "function", "function": {"name": "search",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "search"
    );
    let props: Value = http
        .get(format!("{url}/props"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        props["default_generation_settings"]["n_ctx"], 4096,
        "forwarded to the managed server"
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert_eq!(
        std::fs::read_to_string(&term_file).unwrap(),
        "SIGTERM",
        "the server got SIGTERM"
    );
}

#[tokio::test]
async fn managed_startup_failure_is_reported_at_once_with_its_cause() {
    let started = tokio::time::timeout(
        Duration::from_secs(60),
        Proxy::start(managed_config("--fake-crash")),
    )
    .await;
    let error = started
        .expect("a crashing server fails the start as soon as it exits")
        .expect_err("the start fails");
    assert!(matches!(error, StartError::Managed(_)), "{error}");
    assert!(
        error.to_string().contains("fake crash requested"),
        "{error}"
    );
}

#[tokio::test]
async fn missing_model_file_fails_before_anything_is_spawned() {
    let config = ProxyConfig::from_args([
        "forge-proxy",
        "--backend",
        "llamaserver",
        "--gguf",
        "/nonexistent/model.gguf",
        "--port",
        "0",
    ])
    .unwrap();
    let error = Proxy::start(config).await.expect_err("no such file");
    assert!(
        error.to_string().contains("/nonexistent/model.gguf"),
        "{error}"
    );
}
