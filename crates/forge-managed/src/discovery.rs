//! Reading the context length a running server actually uses.

use serde_json::Value;

use crate::health::describe_transport_error;
use crate::{BackendKind, ManagedConfig, ManagedError, ModelIdentity};

/// Reads a context length out of a metadata answer, or says what is missing.
type ContextParser = fn(&Value, &ManagedConfig) -> Result<u64, String>;

/// The context length the server at `config` reports: llama.cpp's
/// `default_generation_settings.n_ctx` from `/props` (per slot without `--kv-unified`, the
/// whole pool with it — either is the right compaction budget), or vLLM's `max_model_len` for
/// the served model from `/v1/models`.
pub(crate) async fn server_context(
    client: &reqwest::Client,
    config: &ManagedConfig,
) -> Result<u64, ManagedError> {
    let (path, parse): (&str, ContextParser) = match config.kind {
        BackendKind::Vllm => ("/v1/models", context_from_vllm_models),
        _ => ("/props", context_from_props),
    };
    let url = format!("{}{path}", config.root_url());
    let response = client.get(&url).send().await.map_err(|err| {
        ManagedError::budget(format!(
            "GET {url} failed: {}",
            describe_transport_error(&err)
        ))
    })?;
    let status = response.status();
    let body = response.text().await.map_err(|err| {
        ManagedError::budget(format!(
            "reading {url} failed: {}",
            describe_transport_error(&err)
        ))
    })?;
    if !status.is_success() {
        return Err(ManagedError::budget(format!(
            "GET {url} returned HTTP {}: {}",
            status.as_u16(),
            forge_types::BackendError::excerpt(&body)
        )));
    }
    let json: Value = serde_json::from_str(&body)
        .map_err(|err| ManagedError::budget(format!("GET {url} returned invalid JSON ({err})")))?;
    parse(&json, config).map_err(|problem| ManagedError::budget(format!("GET {url}: {problem}")))
}

/// `default_generation_settings.n_ctx` from a llama.cpp `/props` body.
pub(crate) fn context_from_props(props: &Value, _config: &ManagedConfig) -> Result<u64, String> {
    props["default_generation_settings"]["n_ctx"]
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| "no positive default_generation_settings.n_ctx in the answer".to_owned())
}

/// `max_model_len` of the served model from a vLLM `/v1/models` body. The row whose `id` is
/// the launched model path wins; a single row is accepted as is (a `--served-model-name` in
/// the extra flags renames it); several rows without a match are ambiguous.
pub(crate) fn context_from_vllm_models(
    models: &Value,
    config: &ManagedConfig,
) -> Result<u64, String> {
    let rows = models["data"]
        .as_array()
        .filter(|rows| !rows.is_empty())
        .ok_or_else(|| "no models listed in data".to_owned())?;
    let served = match &config.model {
        ModelIdentity::ModelPath(path) => path.as_str(),
        _ => "",
    };
    let row = match rows.iter().find(|row| row["id"].as_str() == Some(served)) {
        Some(row) => row,
        None if rows.len() == 1 => &rows[0],
        None => {
            return Err(format!(
                "{} models listed and none has id {served:?}",
                rows.len()
            ))
        }
    };
    row["max_model_len"]
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| "the served model has no positive max_model_len".to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(kind: BackendKind, model: ModelIdentity, body: Value) -> Result<u64, String> {
        let config = ManagedConfig::new(kind, model);
        match kind {
            BackendKind::Vllm => context_from_vllm_models(&body, &config),
            _ => context_from_props(&body, &config),
        }
    }

    #[test]
    fn context_is_read_from_each_servers_metadata() {
        let gguf = || ModelIdentity::Gguf("/m/x.gguf".into());
        let vllm = || ModelIdentity::ModelPath("/models/x".into());
        let cases: Vec<(BackendKind, ModelIdentity, Value, Result<u64, &str>)> = vec![
            (
                BackendKind::LlamaServer,
                gguf(),
                json!({"default_generation_settings": {"n_ctx": 13568}}),
                Ok(13568),
            ),
            (
                BackendKind::LlamaServer,
                gguf(),
                json!({"default_generation_settings": {}}),
                Err("n_ctx"),
            ),
            (
                BackendKind::Llamafile,
                gguf(),
                json!({"default_generation_settings": {"n_ctx": 0}}),
                Err("n_ctx"),
            ),
            (
                BackendKind::Vllm,
                vllm(),
                json!({"data": [{"id": "/models/x", "max_model_len": 113000}]}),
                Ok(113000),
            ),
            (
                BackendKind::Vllm,
                vllm(),
                json!({"data": [{"id": "renamed", "max_model_len": 4096}]}),
                Ok(4096),
            ),
            (
                BackendKind::Vllm,
                vllm(),
                json!({"data": [{"id": "a", "max_model_len": 1}, {"id": "/models/x", "max_model_len": 8192}]}),
                Ok(8192),
            ),
            (
                BackendKind::Vllm,
                vllm(),
                json!({"data": [{"id": "a", "max_model_len": 1}, {"id": "b", "max_model_len": 2}]}),
                Err("none has id"),
            ),
            (
                BackendKind::Vllm,
                vllm(),
                json!({"data": []}),
                Err("no models"),
            ),
            (
                BackendKind::Vllm,
                vllm(),
                json!({"data": [{"id": "/models/x"}]}),
                Err("max_model_len"),
            ),
        ];
        for (kind, model, body, expected) in cases {
            let got = check(kind, model, body.clone());
            match (expected, got) {
                (Ok(want), Ok(got)) => assert_eq!(got, want, "{body}"),
                (Err(fragment), Err(got)) => assert!(got.contains(fragment), "{body}: {got}"),
                (want, got) => panic!("{body}: expected {want:?}, got {got:?}"),
            }
        }
    }
}
