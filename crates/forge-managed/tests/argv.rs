//! The command line of every backend under every option, as one reviewed snapshot.

// Test helpers may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use forge_managed::{server_args, BackendKind, LlamaTuning, ManagedConfig, ModelIdentity};
use serde_json::{json, Value};

fn gguf() -> ModelIdentity {
    ModelIdentity::Gguf(PathBuf::from("/models/Qwen3-8B.Q4_K_M.gguf"))
}

fn vllm() -> ModelIdentity {
    ModelIdentity::ModelPath("/models/gemma-4-26B-A4B-it-AWQ-4bit".into())
}

fn flags(raw: &str) -> Vec<String> {
    forge_managed::split_extra_flags(raw).unwrap()
}

struct Case {
    name: &'static str,
    kind: BackendKind,
    model: ModelIdentity,
    ctx: Option<u64>,
    edit: fn(&mut ManagedConfig),
}

fn case(
    name: &'static str,
    kind: BackendKind,
    ctx: Option<u64>,
    edit: fn(&mut ManagedConfig),
) -> Case {
    let model = match kind {
        BackendKind::Vllm => vllm(),
        BackendKind::Ollama => ModelIdentity::OllamaModel("ministral-3:14b".into()),
        BackendKind::LlamaServer | BackendKind::Llamafile => gguf(),
    };
    Case {
        name,
        kind,
        model,
        ctx,
        edit,
    }
}

fn render(cases: Vec<Case>) -> Value {
    let rendered: Vec<Value> = cases
        .into_iter()
        .map(|case| {
            let mut config = ManagedConfig::new(case.kind, case.model);
            (case.edit)(&mut config);
            config
                .validate()
                .unwrap_or_else(|err| panic!("{}: {err}", case.name));
            json!({
                "backend": case.kind.as_str(),
                "case": case.name,
                "args": server_args(&config, case.ctx),
            })
        })
        .collect();
    Value::Array(rendered)
}

#[test]
fn argv_for_every_backend_and_option() {
    use BackendKind::{LlamaServer, Llamafile, Ollama, Vllm};
    let mut cases = Vec::new();
    for kind in [LlamaServer, Llamafile] {
        cases.extend([
            case("defaults", kind, None, |_| {}),
            case("prompt mode: no --jinja", kind, None, |c| c.jinja = false),
            case("context override", kind, Some(8000), |_| {}),
            case("extra flags come before -c", kind, Some(4096), |c| {
                c.extra_flags = flags("-ngl 0 --threads 2 --reasoning-format auto")
            }),
            case("port and host", kind, None, |c| {
                c.port = 9090;
                c.host = "::1".parse().unwrap();
            }),
            case("kv cache types", kind, None, |c| {
                c.tuning = LlamaTuning {
                    cache_type_k: Some("q8_0".into()),
                    cache_type_v: Some("q4_0".into()),
                    ..LlamaTuning::default()
                }
            }),
            case("slots, unified kv, everything", kind, Some(35000), |c| {
                c.extra_flags = flags("--no-mmap");
                c.tuning = LlamaTuning {
                    cache_type_k: Some("q8_0".into()),
                    cache_type_v: Some("q8_0".into()),
                    n_slots: Some(2),
                    kv_unified: true,
                };
            }),
        ]);
    }
    cases.extend([
        case("defaults", Vllm, None, |_| {}),
        case("jinja setting is irrelevant", Vllm, None, |c| c.jinja = false),
        case("context override", Vllm, Some(113000), |_| {}),
        case("extra flags", Vllm, Some(113000), |c| {
            c.extra_flags = flags(
                "--tensor-parallel-size 2 --reasoning-parser gemma4 --tool-call-parser gemma4 --enable-auto-tool-choice",
            );
            c.port = 8000;
        }),
        case("ollama has no command line", Ollama, None, |_| {}),
    ]);
    insta::assert_json_snapshot!(render(cases));
}
