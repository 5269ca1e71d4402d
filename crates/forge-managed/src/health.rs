//! Readiness polling of a spawned server, racing the child's exit.

use serde_json::Value;
use tokio::time::Instant;

use crate::process::ServerProcess;
use crate::{BackendKind, ManagedConfig, ManagedError};

/// What one readiness probe saw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Probe {
    /// The server is ready to serve.
    Ready,
    /// Not yet (loading, not listening yet); the reason is kept for the deadline error.
    NotReady(String),
}

/// The URL whose answer says "ready": `/props` for llama.cpp (it answers 200 with the
/// generation settings only once the model is loaded), `/v1/models` for vLLM (lists the model
/// only once the engine is up; `/health` can turn green mid-load).
pub(crate) fn readiness_url(config: &ManagedConfig) -> String {
    let path = match config.kind {
        BackendKind::Vllm => "/v1/models",
        _ => "/props",
    };
    format!("{}{path}", config.root_url())
}

/// Judges a 200 answer from the readiness URL.
pub(crate) fn judge_ready_body(
    kind: BackendKind,
    url: &str,
    body: &str,
) -> Result<Probe, ManagedError> {
    let json: Value = serde_json::from_str(body).map_err(|err| ManagedError::UnexpectedResponse {
        url: url.to_owned(),
        detail: format!(
            "HTTP 200 with a body that is not JSON ({err}); is another kind of server listening on this port? body: {}",
            forge_types::BackendError::excerpt(body)
        ),
    })?;
    let ready = match kind {
        BackendKind::Vllm => json["data"].as_array().is_some_and(|data| !data.is_empty()),
        _ => json.get("default_generation_settings").is_some(),
    };
    Ok(if ready {
        Probe::Ready
    } else {
        Probe::NotReady("HTTP 200 but the model is not listed as loaded yet".to_owned())
    })
}

/// One readiness probe. Transport failures and non-200 answers mean "not yet".
pub(crate) async fn probe_ready(
    client: &reqwest::Client,
    kind: BackendKind,
    url: &str,
) -> Result<Probe, ManagedError> {
    let response = match client.get(url).send().await {
        Ok(response) => response,
        Err(err) => return Ok(Probe::NotReady(describe_transport_error(&err))),
    };
    let status = response.status();
    if !status.is_success() {
        return Ok(Probe::NotReady(format!("HTTP {}", status.as_u16())));
    }
    match response.text().await {
        Ok(body) => judge_ready_body(kind, url, &body),
        Err(err) => Ok(Probe::NotReady(describe_transport_error(&err))),
    }
}

/// The innermost cause of a transport error ("Connection refused (os error 111)"), which says
/// more than reqwest's outer "error sending request".
pub(crate) fn describe_transport_error(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "probe timed out".to_owned();
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// Polls until the server is ready. Returns as soon as the child exits (with its status and
/// output) or the deadline passes; the caller stops the child on any error.
pub(crate) async fn wait_until_ready(
    process: &mut ServerProcess,
    client: &reqwest::Client,
    config: &ManagedConfig,
) -> Result<(), ManagedError> {
    let url = readiness_url(config);
    let timing = config.timing;
    let deadline = Instant::now() + timing.health_deadline;
    loop {
        let probe = tokio::select! {
            status = process.wait_exit() => {
                let status = status?;
                return Err(process.exited_during_startup(status).await);
            }
            probe = probe_ready(client, config.kind, &url) => probe?,
        };
        let last_probe = match probe {
            Probe::Ready => return Ok(()),
            Probe::NotReady(reason) => reason,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(ManagedError::HealthDeadline {
                program: process.program().to_owned(),
                pid: process.pid(),
                url,
                after: timing.health_deadline,
                last_probe,
                output_tail: process.output_tail().await,
            });
        }
        let pause = timing.poll_interval.min(deadline - now);
        tokio::select! {
            status = process.wait_exit() => {
                let status = status?;
                return Err(process.exited_during_startup(status).await);
            }
            () = tokio::time::sleep(pause) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_is_judged_per_kind() {
        let url = "http://127.0.0.1:1/props";
        let check = |kind, body: &str| judge_ready_body(kind, url, body).map_err(|e| e.to_string());
        assert_eq!(
            check(
                BackendKind::LlamaServer,
                r#"{"default_generation_settings":{"n_ctx":2048}}"#
            ),
            Ok(Probe::Ready)
        );
        assert!(matches!(
            check(BackendKind::LlamaServer, r#"{"other":1}"#),
            Ok(Probe::NotReady(_))
        ));
        assert_eq!(
            check(BackendKind::Vllm, r#"{"data":[{"id":"m"}]}"#),
            Ok(Probe::Ready)
        );
        assert!(matches!(
            check(BackendKind::Vllm, r#"{"data":[]}"#),
            Ok(Probe::NotReady(_))
        ));
        let err = check(BackendKind::LlamaServer, "<html>hello</html>").unwrap_err();
        assert!(err.contains("not JSON"), "{err}");
        assert!(err.contains("<html>hello</html>"), "{err}");
    }
}
