//! The process lifecycle against fake servers (tests/data/*.py): start, readiness, budget,
//! failures, stop and drop. No timed assertions: deadlines are kept short through `Timing`, and
//! the tests assert outcomes.

// Test helpers may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use forge_managed::{
    BackendKind, BudgetMode, BudgetRequest, ManagedBackend, ManagedConfig, ManagedError,
    ModelIdentity, RunningBackend, Timing,
};
use tempfile::TempDir;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Generous deadlines that only matter when something is broken, a quick poll, a short grace.
fn test_timing() -> Timing {
    Timing {
        health_deadline: Duration::from_secs(30),
        poll_interval: Duration::from_millis(50),
        probe_timeout: Duration::from_secs(2),
        stop_grace: Duration::from_secs(5),
    }
}

struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.gguf"), b"not really a model").unwrap();
        Self { dir }
    }

    fn gguf(&self) -> PathBuf {
        self.dir.path().join("model.gguf")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A llama-server config that runs the fake server with `extra` as --extra-flags.
    fn llama(&self, extra: &str) -> ManagedConfig {
        let mut config =
            ManagedConfig::new(BackendKind::LlamaServer, ModelIdentity::Gguf(self.gguf()));
        config.binary = Some(data("fake_server.py"));
        config.port = free_port();
        config.extra_flags = forge_managed::split_extra_flags(extra).unwrap();
        config.timing = test_timing();
        config
    }
}

async fn start(
    config: ManagedConfig,
    mode: BudgetMode,
    tokens: Option<u64>,
) -> Result<RunningBackend, ManagedError> {
    ManagedBackend::new(config)?
        .start(BudgetRequest::new(mode, tokens)?)
        .await
}

/// Waits (bounded) until `pid` no longer runs: gone from /proc, or a zombie awaiting reaping.
async fn process_is_gone(pid: u32) -> bool {
    for _ in 0..200 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat) => {
                let state = stat
                    .rsplit(") ")
                    .next()
                    .and_then(|rest| rest.chars().next());
                if state == Some('Z') {
                    return true;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn answers(url: &str) -> bool {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .is_ok()
}

#[tokio::test]
async fn healthy_start_reads_the_budget_from_props_and_stop_sends_sigterm() {
    let fixture = Fixture::new();
    let term_file = fixture.path("term");
    let config = fixture.llama(&format!(
        "--fake-n-ctx 4096 --fake-term-file {}",
        term_file.display()
    ));
    let running = start(config, BudgetMode::Backend, None).await.unwrap();
    assert_eq!(running.budget_tokens(), 4096);
    assert_eq!(running.ctx_override(), None);
    assert_eq!(running.server_context().await.unwrap(), 4096);
    assert!(answers(&format!("{}/health", running.root_url())).await);
    let pid = running.pid().unwrap();

    running.stop().await.unwrap();
    assert!(process_is_gone(pid).await);
    assert_eq!(std::fs::read_to_string(&term_file).unwrap(), "SIGTERM");
}

#[tokio::test]
async fn manual_mode_launches_with_the_context_and_reads_it_back() {
    let fixture = Fixture::new();
    let running = start(
        fixture.llama("--fake-n-ctx 4096"),
        BudgetMode::Manual,
        Some(2048),
    )
    .await
    .unwrap();
    assert_eq!(running.budget_tokens(), 2048);
    assert_eq!(running.ctx_override(), Some(2048));
    running.stop().await.unwrap();
}

#[tokio::test]
async fn forge_fast_relaunches_with_half_the_discovered_context() {
    let fixture = Fixture::new();
    let running = start(
        fixture.llama("--fake-n-ctx 8192"),
        BudgetMode::ForgeFast,
        None,
    )
    .await
    .unwrap();
    assert_eq!(running.ctx_override(), Some(4096));
    assert_eq!(running.budget_tokens(), 4096);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_server_that_is_loading_at_first_becomes_ready() {
    let fixture = Fixture::new();
    let running = start(
        fixture.llama("--fake-loading-probes 3"),
        BudgetMode::ForgeFull,
        None,
    )
    .await
    .unwrap();
    assert_eq!(running.budget_tokens(), 4096);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn vllm_budget_comes_from_the_served_models_max_model_len() {
    let fixture = Fixture::new();
    let mut config = ManagedConfig::new(
        BackendKind::Vllm,
        ModelIdentity::ModelPath("org/some-model".into()),
    );
    config.binary = Some(data("fake_server.py"));
    config.port = free_port();
    config.timing = test_timing();
    config.extra_flags = vec!["--fake-n-ctx".into(), "32768".into()];
    let running = start(config.clone(), BudgetMode::Backend, None)
        .await
        .unwrap();
    assert_eq!(running.budget_tokens(), 32768);
    running.stop().await.unwrap();

    let running = start(config, BudgetMode::Manual, Some(16000))
        .await
        .unwrap();
    assert_eq!(running.budget_tokens(), 16000);
    running.stop().await.unwrap();
    drop(fixture);
}

#[tokio::test]
async fn llamafile_runs_the_newest_runtime_beside_the_model() {
    let fixture = Fixture::new();
    let runtime = fixture.path("llamafile-0.10.0");
    std::fs::copy(data("fake_server.py"), &runtime).unwrap();
    std::fs::write(fixture.path("llamafile-0.9.2"), b"#!/bin/sh\nexit 3\n").unwrap();
    let mut config =
        ManagedConfig::new(BackendKind::Llamafile, ModelIdentity::Gguf(fixture.gguf()));
    config.port = free_port();
    config.timing = test_timing();
    let running = start(config, BudgetMode::Backend, None).await.unwrap();
    assert_eq!(running.program(), runtime.as_path());
    assert_eq!(running.budget_tokens(), 4096);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn immediate_crash_is_reported_with_exit_status_and_output_tail() {
    let fixture = Fixture::new();
    let mut config = fixture.llama("--fake-mode crash");
    // Only the child's exit can end this start early: a deadline would take minutes.
    config.timing.health_deadline = Duration::from_secs(600);
    let err = start(config, BudgetMode::Backend, None).await.unwrap_err();
    let ManagedError::ExitedDuringStartup {
        pid,
        status,
        output_tail,
        ..
    } = &err
    else {
        panic!("expected ExitedDuringStartup, got {err}");
    };
    assert_eq!(status, "exit status: 1");
    assert!(
        output_tail.contains("fake crash requested"),
        "{output_tail}"
    );
    assert!(err.to_string().contains("fake crash requested"));
    assert!(process_is_gone(*pid).await);
}

#[tokio::test]
async fn a_server_that_never_gets_ready_fails_at_the_deadline_and_is_killed() {
    let fixture = Fixture::new();
    let mut config = fixture.llama("--fake-mode never-ready");
    config.timing.health_deadline = Duration::from_millis(600);
    let err = start(config, BudgetMode::Backend, None).await.unwrap_err();
    let ManagedError::HealthDeadline {
        pid,
        last_probe,
        url,
        ..
    } = &err
    else {
        panic!("expected HealthDeadline, got {err}");
    };
    assert!(url.ends_with("/props"), "{url}");
    assert!(
        last_probe.contains("503") || last_probe.contains("refused"),
        "{last_probe}"
    );
    assert!(process_is_gone(*pid).await);
}

#[tokio::test]
async fn stop_kills_a_server_that_ignores_sigterm() {
    let fixture = Fixture::new();
    let mut config = fixture.llama("--fake-ignore-term");
    config.timing.stop_grace = Duration::from_millis(300);
    let running = start(config, BudgetMode::Backend, None).await.unwrap();
    let pid = running.pid().unwrap();
    running.stop().await.unwrap();
    assert!(process_is_gone(pid).await);
}

#[tokio::test]
async fn dropping_a_running_backend_kills_its_server() {
    let fixture = Fixture::new();
    let running = start(fixture.llama(""), BudgetMode::Backend, None)
        .await
        .unwrap();
    let pid = running.pid().unwrap();
    let url = format!("{}/health", running.root_url());
    drop(running);
    assert!(process_is_gone(pid).await);
    assert!(!answers(&url).await);
}

#[tokio::test]
async fn ensure_running_reuses_the_same_configuration_and_relaunches_on_change() {
    let fixture = Fixture::new();
    let mut running = start(fixture.llama(""), BudgetMode::Backend, None)
        .await
        .unwrap();
    let first = running.pid().unwrap();
    running.ensure_running(None).await.unwrap();
    assert_eq!(running.pid(), Some(first));

    running.ensure_running(Some(1024)).await.unwrap();
    let second = running.pid().unwrap();
    assert_ne!(second, first);
    assert!(process_is_gone(first).await);
    assert_eq!(running.server_context().await.unwrap(), 1024);
    running.stop().await.unwrap();
    assert!(process_is_gone(second).await);
}

#[tokio::test]
async fn a_taken_port_fails_before_anything_is_spawned() {
    let fixture = Fixture::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = fixture.llama("");
    config.port = listener.local_addr().unwrap().port();
    let err = start(config, BudgetMode::Backend, None).await.unwrap_err();
    assert!(matches!(err, ManagedError::PortUnavailable { .. }), "{err}");
    assert!(err.to_string().contains("--backend-port"), "{err}");
}

#[tokio::test]
async fn missing_model_file_and_missing_binary_fail_before_spawning() {
    let fixture = Fixture::new();
    let mut config = fixture.llama("");
    config.model = ModelIdentity::Gguf(fixture.path("absent.gguf"));
    let err = start(config, BudgetMode::Backend, None).await.unwrap_err();
    assert!(
        matches!(err, ManagedError::ModelFileMissing { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("absent.gguf"), "{err}");

    let mut config = fixture.llama("");
    config.binary = Some(fixture.path("no-such-llama-server"));
    let err = start(config, BudgetMode::Backend, None).await.unwrap_err();
    assert!(matches!(err, ManagedError::BinaryNotFound { .. }), "{err}");
    assert!(err.to_string().contains("no-such-llama-server"), "{err}");

    let mut config = fixture.llama("");
    config.binary = Some("forge-test-no-such-binary".into());
    let err = start(config, BudgetMode::Backend, None).await.unwrap_err();
    assert!(err.to_string().contains("searched PATH"), "{err}");
}

/// A fake Ollama daemon owned by the test (forge must never stop it).
struct FakeOllama {
    child: tokio::process::Child,
    port: u16,
}

impl FakeOllama {
    async fn start() -> Self {
        let port = free_port();
        let child = tokio::process::Command::new(data("fake_ollama.py"))
            .args(["serve", "--port", &port.to_string()])
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/api/version");
        for _ in 0..200 {
            if answers(&url).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port }
    }

    async fn unloaded(&self) -> serde_json::Value {
        let url = format!("http://127.0.0.1:{}/fake/unloaded", self.port);
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let body = client.get(url).send().await.unwrap().text().await.unwrap();
        serde_json::from_str(&body).unwrap()
    }
}

fn ollama_config(port: u16) -> ManagedConfig {
    let mut config = ManagedConfig::new(
        BackendKind::Ollama,
        ModelIdentity::OllamaModel("ministral-3:14b".into()),
    );
    config.binary = Some(data("fake_ollama.py"));
    config.port = port;
    config.timing = test_timing();
    config
}

#[tokio::test]
async fn ollama_is_attached_on_the_given_port_and_stop_unloads_only_the_model() {
    let mut daemon = FakeOllama::start().await;
    let running = start(ollama_config(daemon.port), BudgetMode::Manual, Some(8192))
        .await
        .unwrap();
    assert_eq!(running.budget_tokens(), 8192);
    assert_eq!(running.pid(), None);
    running.stop().await.unwrap();
    assert_eq!(
        daemon.unloaded().await,
        serde_json::json!(["ministral-3:14b"])
    );
    // The daemon was attached to, not started: it still runs.
    assert_eq!(daemon.child.try_wait().unwrap(), None);
}

#[tokio::test]
async fn unreachable_ollama_fails_at_once_with_a_hint() {
    let err = start(ollama_config(free_port()), BudgetMode::Manual, Some(8192))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ManagedError::OllamaUnreachable { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("ollama serve"), "{err}");
}
