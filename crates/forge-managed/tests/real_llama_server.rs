//! Real-backend tier: a real llama-server with a small GGUF, started and stopped by forge.
//!
//! Run with `cargo xtask test`, or by hand:
//! `FORGE_REAL_LLAMA_SERVER=/path/to/llama-server FORGE_REAL_MODEL_PATH=/path/to/model.gguf
//! cargo test -p forge-managed -- --ignored`.
//!
//! `FORGE_REAL_LLAMA_EXTRA_FLAGS` (shell words) is passed as `--extra-flags`; it defaults to
//! `--no-repack`, because the CPU build used by the real tier crashes (SIGSEGV in
//! `ggml_backend_amx_mul_mat`) while warming up on machines that report AMX, unless weight
//! repacking is off.

// Test helpers may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use forge_managed::{
    BackendKind, BudgetMode, BudgetRequest, ManagedBackend, ManagedConfig, ModelIdentity,
};

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("set {name} to run the real llama-server tier"))
}

#[tokio::test]
#[ignore = "needs a real llama-server; run by cargo xtask test"]
async fn real_managed_llama_server_starts_and_stops() {
    let binary = required_env("FORGE_REAL_LLAMA_SERVER");
    let model = required_env("FORGE_REAL_MODEL_PATH");
    let mut config =
        ManagedConfig::new(BackendKind::LlamaServer, ModelIdentity::Gguf(model.into()));
    config.binary = Some(binary.into());
    let extra =
        std::env::var("FORGE_REAL_LLAMA_EXTRA_FLAGS").unwrap_or_else(|_| "--no-repack".to_owned());
    config.extra_flags = forge_managed::split_extra_flags(&extra).unwrap();
    config.port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    config.timing.health_deadline = Duration::from_secs(120);
    let backend = ManagedBackend::new(config).unwrap();
    // Manual 2048 launches `llama-server … --jinja -c 2048`.
    assert!(backend
        .server_args(Some(2048))
        .windows(2)
        .any(|pair| pair == ["-c", "2048"]));

    let running = backend
        .start(BudgetRequest::new(BudgetMode::Manual, Some(2048)).unwrap())
        .await
        .unwrap();
    assert_eq!(running.budget_tokens(), 2048);
    let pid = running.pid().unwrap();
    running.stop().await.unwrap();

    let mut gone = false;
    for _ in 0..100 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => gone = true,
            Ok(stat) => {
                gone = stat
                    .rsplit(") ")
                    .next()
                    .is_some_and(|rest| rest.starts_with('Z'))
            }
        }
        if gone {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "llama-server {pid} still runs after stop");
}
