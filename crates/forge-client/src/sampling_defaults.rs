//! Per-model recommended sampling, from each model's card, and the opt-in policy that applies it.
//!
//! Lookup is an exact, case-sensitive match on the identity string a client derives for its model
//! (an Ollama tag like `qwen3:8b-q4_K_M`, a GGUF stem like `Qwen3-8B-Q4_K_M`, a llamafile stem like
//! `Mistral-Nemo-Instruct-2407.Q4_K_M`, or a hosted model name). Rows for the same model under
//! different identities are independent copies on purpose.
//!
//! An absent field means "let the backend default apply"; an explicit `0`/`0.0` is a value.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};

use forge_types::{ForgeError, JsonObject, SamplingParams};

/// One row of the map, as data.
struct Row {
    model: &'static str,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<i64>,
    min_p: Option<f64>,
    repeat_penalty: Option<f64>,
    presence_penalty: Option<f64>,
    /// JSON object text, parsed once when the map is built.
    chat_template_kwargs: Option<&'static str>,
}

#[rustfmt::skip]
const ROWS: &[Row] = &[
    Row { model: "qwen3:4b-instruct-2507-q4_K_M", temperature: Some(0.7), top_p: Some(0.8), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3:4b-thinking-2507-q4_K_M", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3:8b-q4_K_M", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Qwen3-8B-Q4_K_M", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3:8b-q8_0", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Qwen3-8B-Q8_0", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3:14b-q4_K_M", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Qwen3-14B-Q4_K_M", temperature: Some(0.6), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3.5:27b-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: Some(1.5), chat_template_kwargs: None },
    Row { model: "Qwen3.5-27B-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: Some(1.5), chat_template_kwargs: None },
    Row { model: "qwen3.5:35b-a3b-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: Some(1.5), chat_template_kwargs: None },
    Row { model: "Qwen3.5-35B-A3B-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: Some(1.5), chat_template_kwargs: None },
    Row { model: "qwen3.6:35b-a3b-ud-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: Some(1.5), chat_template_kwargs: None },
    Row { model: "Qwen3.6-35B-A3B-UD-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: Some(1.5), chat_template_kwargs: None },
    Row { model: "qwen3-coder:30b-a3b-instruct-q4_K_M", temperature: Some(0.7), top_p: Some(0.8), top_k: Some(20), min_p: None, repeat_penalty: Some(1.05), presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M", temperature: Some(0.7), top_p: Some(0.8), top_k: Some(20), min_p: None, repeat_penalty: Some(1.05), presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3-next:80b-a3b-instruct-q4_K_M", temperature: Some(0.7), top_p: Some(0.8), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Qwen3-Next-80B-A3B-Instruct-Q4_K_M", temperature: Some(0.7), top_p: Some(0.8), top_k: Some(20), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "qwen3-coder-next:80b-a3b-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(40), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Qwen3-Coder-Next-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(40), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma4:31b-it-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma-4-31B-it-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma4:26b-a4b-it-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma-4-26B-A4B-it-UD-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma4:26b-a4b-it-q8_0", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma-4-26B-A4B-it-Q8_0", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma4:e4b-it-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma-4-E4B-it-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma4:e4b-it-q8_0", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gemma-4-E4B-it-Q8_0", temperature: Some(1.0), top_p: Some(0.95), top_k: Some(64), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "mistral-small-4:119b-2603-q4_K_M", temperature: Some(0.7), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"reasoning_effort": "high"}"#) },
    Row { model: "Mistral-Small-4-119B-2603-UD-Q4_K_M", temperature: Some(0.7), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"reasoning_effort": "high"}"#) },
    Row { model: "Qwen3.5-122B-A10B-Q4_K_M", temperature: Some(0.7), top_p: Some(0.8), top_k: Some(20), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "gpt-oss:120b-q4_K_M", temperature: Some(1.0), top_p: Some(1.0), top_k: Some(0), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"reasoning_effort": "medium"}"#) },
    Row { model: "gpt-oss-120b-Q4_K_M", temperature: Some(1.0), top_p: Some(1.0), top_k: Some(0), min_p: Some(0.0), repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"reasoning_effort": "medium"}"#) },
    Row { model: "nemotron-3-super:120b-a12b-q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"enable_thinking": true, "low_effort": true, "force_nonempty_content": true}"#) },
    Row { model: "NVIDIA-Nemotron-3-Super-120B-A12B-UD-Q4_K_M", temperature: Some(1.0), top_p: Some(0.95), top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"enable_thinking": true, "low_effort": true, "force_nonempty_content": true}"#) },
    Row { model: "Nemotron-3-Nano-30B-A3B-Q4_K_M", temperature: Some(0.6), top_p: Some(0.95), top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: Some(r#"{"enable_thinking": true}"#) },
    Row { model: "mistral-small-3.2:24b-instruct-2506-q4_K_M", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Mistral-Small-3.2-24B-Instruct-2506-Q4_K_M", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "mistral-small-3.2:24b-instruct-2506-q8_0", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Mistral-Small-3.2-24B-Instruct-2506-Q8_0", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "devstral-small-2:24b-instruct-2512-q4_K_M", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Devstral-Small-2-24B-Instruct-2512-Q4_K_M", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "devstral-small-2:24b-instruct-2512-q8_0", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Devstral-Small-2-24B-Instruct-2512-Q8_0", temperature: Some(0.15), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "ministral-3:8b-instruct-2512-q4_K_M", temperature: Some(0.05), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Ministral-3-8B-Instruct-2512-Q4_K_M", temperature: Some(0.05), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "ministral-3:8b-instruct-2512-q8_0", temperature: Some(0.05), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Ministral-3-8B-Instruct-2512-Q8_0", temperature: Some(0.05), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "ministral-3:14b-instruct-2512-q4_K_M", temperature: Some(0.05), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Ministral-3-14B-Instruct-2512-Q4_K_M", temperature: Some(0.05), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "ministral-3:8b-reasoning-2512-q4_K_M", temperature: Some(0.7), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Ministral-3-8B-Reasoning-2512-Q4_K_M", temperature: Some(0.7), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "ministral-3:8b-reasoning-2512-q8_0", temperature: Some(0.7), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Ministral-3-8B-Reasoning-2512-Q8_0", temperature: Some(0.7), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "ministral-3:14b-reasoning-2512-q4_K_M", temperature: Some(1.0), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Ministral-3-14B-Reasoning-2512-Q4_K_M", temperature: Some(1.0), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "mistral-nemo:12b-instruct-2407-q4_K_M", temperature: Some(0.3), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Mistral-Nemo-Instruct-2407-Q4_K_M", temperature: Some(0.3), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "Mistral-Nemo-Instruct-2407.Q4_K_M", temperature: Some(0.3), top_p: None, top_k: None, min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite-4.0:h-micro-q4_K_M", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite-4.0-h-micro-Q4_K_M", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite-4.0:h-tiny-q4_K_M", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite-4.0-h-tiny-Q4_K_M", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite4.1:8b-q4_K_M", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite-4.1-8b-Q4_K_M", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite4.1:8b-q8_0", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
    Row { model: "granite-4.1-8b-Q8_0", temperature: Some(0.0), top_p: Some(1.0), top_k: Some(0), min_p: None, repeat_penalty: None, presence_penalty: None, chat_template_kwargs: None },
];

static MAP: LazyLock<HashMap<&'static str, SamplingParams>> = LazyLock::new(|| {
    ROWS.iter()
        .map(|row| {
            let chat_template_kwargs = row.chat_template_kwargs.map(|text| {
                serde_json::from_str::<JsonObject>(text).expect(
                    "chat_template_kwargs rows are JSON object literals (checked by a test)",
                )
            });
            let params = SamplingParams {
                temperature: row.temperature,
                top_p: row.top_p,
                top_k: row.top_k,
                min_p: row.min_p,
                repeat_penalty: row.repeat_penalty,
                presence_penalty: row.presence_penalty,
                seed: None,
                chat_template_kwargs,
            };
            (row.model, params)
        })
        .collect()
});

/// Models already reported by [`apply_sampling_defaults`] in this process (one log per model).
static REPORTED: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// The number of models in the map.
pub fn known_model_count() -> usize {
    MAP.len()
}

/// The recommended sampling for `model`, if the map knows it. Pure: no logging.
pub fn sampling_defaults(model: &str) -> Option<SamplingParams> {
    MAP.get(model).cloned()
}

/// The constructor-time policy (`strict` = the client's `recommended_sampling` flag):
///
/// | strict | model known | result |
/// |---|---|---|
/// | true | yes | the model's row |
/// | true | no | [`ForgeError::UnsupportedModel`] |
/// | false | yes | nothing applied; one INFO log per model suggesting the flag |
/// | false | no | nothing applied (backend defaults); one INFO log per model saying so |
///
/// "Nothing applied" is an empty [`SamplingParams`]: the client sends no sampling field it was not
/// explicitly given.
pub fn apply_sampling_defaults(model: &str, strict: bool) -> Result<SamplingParams, ForgeError> {
    match (strict, sampling_defaults(model)) {
        (true, Some(params)) => {
            tracing::info!(model, ?params, "applying recommended sampling");
            Ok(params)
        }
        (true, None) => Err(ForgeError::UnsupportedModel {
            model: model.to_owned(),
        }),
        (false, known) => {
            if first_report(model) {
                if known.is_some() {
                    tracing::info!(
                        model,
                        "recommended sampling params exist for '{model}'; pass recommended_sampling=true to use them"
                    );
                } else {
                    tracing::info!(
                        model,
                        "no recommended sampling for '{model}'; the backend's defaults apply"
                    );
                }
            }
            Ok(SamplingParams::default())
        }
    }
}

fn first_report(model: &str) -> bool {
    // A poisoned lock only means another thread panicked while logging; the set is still usable.
    let mut reported = REPORTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    reported.insert(model.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn map_holds_every_reference_row_once() {
        assert_eq!(ROWS.len(), 69);
        assert_eq!(known_model_count(), 69, "duplicate model keys");
    }

    #[test]
    fn rows_read_as_the_model_cards_say() {
        let qwen = sampling_defaults("qwen3:8b-q4_K_M").unwrap();
        assert_eq!(
            (qwen.temperature, qwen.top_p, qwen.top_k, qwen.min_p),
            (Some(0.6), Some(0.95), Some(20), Some(0.0))
        );
        let coder = sampling_defaults("qwen3-coder:30b-a3b-instruct-q4_K_M").unwrap();
        assert_eq!(coder.repeat_penalty, Some(1.05));
        assert_eq!((coder.min_p, coder.presence_penalty), (None, None));
        let qwen35 = sampling_defaults("qwen3.5:27b-q4_K_M").unwrap();
        assert_eq!(qwen35.presence_penalty, Some(1.5));
        let nemotron = sampling_defaults("NVIDIA-Nemotron-3-Super-120B-A12B-UD-Q4_K_M").unwrap();
        assert_eq!(
            nemotron.chat_template_kwargs.map(serde_json::Value::Object),
            Some(
                json!({"enable_thinking": true, "low_effort": true, "force_nonempty_content": true})
            )
        );
        let granite = sampling_defaults("granite-4.0-h-micro-Q4_K_M").unwrap();
        assert_eq!((granite.temperature, granite.top_k), (Some(0.0), Some(0)));
        assert!(sampling_defaults("Mistral-Nemo-Instruct-2407.Q4_K_M").is_some());
    }

    #[test]
    fn lookup_is_exact_and_case_sensitive() {
        for model in [
            "qwen3-8b-q4_k_m",
            "Qwen3-8B",
            "Qwen3-8B-Q4_K_M.gguf",
            " Qwen3-8B-Q4_K_M",
        ] {
            assert!(sampling_defaults(model).is_none(), "{model}");
        }
    }

    #[test]
    fn returned_rows_are_copies() {
        let mut row = sampling_defaults("qwen3:8b-q4_K_M").unwrap();
        row.temperature = Some(999.0);
        assert_eq!(
            sampling_defaults("qwen3:8b-q4_K_M").unwrap().temperature,
            Some(0.6)
        );
    }

    #[test]
    fn strict_unknown_model_is_an_error_naming_it() {
        let err = apply_sampling_defaults("nonexistent-model:1b", true).unwrap_err();
        assert!(
            matches!(&err, ForgeError::UnsupportedModel { model } if model == "nonexistent-model:1b")
        );
        assert!(err.to_string().contains("nonexistent-model:1b"));
    }

    #[test]
    fn not_strict_applies_nothing_known_or_not() {
        for model in ["qwen3:14b-q4_K_M", "some-model-we-dont-know:7b"] {
            for _ in 0..3 {
                assert!(apply_sampling_defaults(model, false).unwrap().is_empty());
            }
        }
        assert_eq!(
            apply_sampling_defaults("Qwen3-14B-Q4_K_M", true)
                .unwrap()
                .top_k,
            Some(20)
        );
    }
}
