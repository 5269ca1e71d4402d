//! Configuration rules and their messages, and `--extra-flags` splitting.

// Test helpers may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use forge_managed::{
    check_extra_flags, split_extra_flags, BackendKind, LlamaTuning, ManagedBackend, ManagedConfig,
    ModelIdentity,
};

/// Runs the identity rules for one flag combination; `Ok` carries the identity's display form.
fn identity(
    kind: &str,
    model: Option<&str>,
    gguf: Option<&str>,
    model_path: Option<&str>,
) -> Result<String, String> {
    let kind: BackendKind = kind
        .parse()
        .map_err(|e: forge_managed::ManagedError| e.to_string())?;
    ModelIdentity::from_flags(kind, model, gguf.map(Path::new), model_path)
        .map(|identity| identity.to_string())
        .map_err(|err| err.to_string())
}

/// backend, --model, --gguf, --model-path, and the identity or the error message.
type IdentityCase = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    Result<&'static str, &'static str>,
);

#[test]
fn identity_rules_follow_the_reference_messages() {
    let cases: &[IdentityCase] = &[
        (
            "ollama",
            Some("ministral-3:14b"),
            None,
            None,
            Ok("ministral-3:14b"),
        ),
        (
            "ollama",
            Some("m"),
            Some("/m.gguf"),
            None,
            Err("backend='ollama' does not accept gguf_path (use model)"),
        ),
        (
            "ollama",
            Some("m"),
            None,
            Some("/dir"),
            Err("backend='ollama' does not accept model_path (use model)"),
        ),
        (
            "ollama",
            None,
            None,
            None,
            Err("backend='ollama' requires model"),
        ),
        (
            "ollama",
            Some(""),
            None,
            None,
            Err("backend='ollama' requires model"),
        ),
        ("vllm", None, None, Some("/models/awq"), Ok("/models/awq")),
        (
            "vllm",
            None,
            Some("/m.gguf"),
            Some("/d"),
            Err("backend='vllm' does not accept gguf_path (use model_path)"),
        ),
        (
            "vllm",
            Some("m"),
            None,
            Some("/d"),
            Err("backend='vllm' does not accept model (use model_path)"),
        ),
        (
            "vllm",
            None,
            None,
            None,
            Err("backend='vllm' requires model_path"),
        ),
        (
            "llamaserver",
            None,
            Some("/models/x.gguf"),
            None,
            Ok("/models/x.gguf"),
        ),
        (
            "llamaserver",
            Some("m"),
            Some("/x.gguf"),
            None,
            Err("backend='llamaserver' does not accept model (use gguf_path)"),
        ),
        (
            "llamaserver",
            None,
            Some("/x.gguf"),
            Some("/d"),
            Err("backend='llamaserver' does not accept model_path (use gguf_path)"),
        ),
        (
            "llamaserver",
            None,
            None,
            None,
            Err("backend='llamaserver' requires gguf_path"),
        ),
        (
            "llamafile",
            None,
            None,
            None,
            Err("backend='llamafile' requires gguf_path"),
        ),
        (
            "llamafile",
            None,
            Some("/m/x.llamafile"),
            None,
            Ok("/m/x.llamafile"),
        ),
        (
            "bogus",
            None,
            Some("/x.gguf"),
            None,
            Err("unsupported backend: 'bogus'"),
        ),
    ];
    for (kind, model, gguf, model_path, expected) in cases {
        let got = identity(kind, *model, *gguf, *model_path);
        assert_eq!(
            got.as_ref().map(String::as_str).map_err(String::as_str),
            *expected,
            "{kind} model={model:?} gguf={gguf:?} model_path={model_path:?}"
        );
    }
}

fn validate(kind: BackendKind, edit: impl FnOnce(&mut ManagedConfig)) -> Result<(), String> {
    let model = match kind {
        BackendKind::Vllm => ModelIdentity::ModelPath("/models/awq".into()),
        BackendKind::Ollama => ModelIdentity::OllamaModel("ministral-3:14b".into()),
        BackendKind::LlamaServer | BackendKind::Llamafile => {
            ModelIdentity::Gguf("/m/x.gguf".into())
        }
    };
    let mut config = ManagedConfig::new(kind, model);
    edit(&mut config);
    ManagedBackend::new(config)
        .map(|_| ())
        .map_err(|err| err.to_string())
}

#[test]
fn configuration_rules_reject_options_a_backend_cannot_use() {
    let q8 = || Some("q8_0".to_owned());
    let expect_err = |result: Result<(), String>, fragment: &str| {
        let err = result.expect_err(fragment);
        assert!(err.contains(fragment), "expected {fragment:?} in {err:?}");
    };
    assert_eq!(validate(BackendKind::LlamaServer, |_| {}), Ok(()));
    assert_eq!(validate(BackendKind::Ollama, |_| {}), Ok(()));
    assert_eq!(
        validate(BackendKind::Vllm, |c| c.extra_flags =
            vec!["--enforce-eager".into()]),
        Ok(())
    );

    expect_err(
        validate(BackendKind::Vllm, |c| c.tuning.cache_type_k = q8()),
        "backend='vllm' does not support cache_type_k/cache_type_v (quantization is baked into the model artifact)",
    );
    expect_err(
        validate(BackendKind::Vllm, |c| c.tuning.cache_type_v = q8()),
        "does not support cache_type",
    );
    expect_err(
        validate(BackendKind::Vllm, |c| c.tuning.n_slots = Some(2)),
        "backend='vllm' does not support n_slots/kv_unified (vLLM has its own scheduler concepts)",
    );
    expect_err(
        validate(BackendKind::Vllm, |c| c.tuning.kv_unified = true),
        "does not support n_slots",
    );
    expect_err(
        validate(BackendKind::Ollama, |c| {
            c.tuning = LlamaTuning {
                n_slots: Some(2),
                ..LlamaTuning::default()
            }
        }),
        "backend='ollama' does not support cache types",
    );
    expect_err(
        validate(BackendKind::Ollama, |c| {
            c.extra_flags = vec!["--verbose".into()]
        }),
        "Ollama is attached to",
    );
    expect_err(
        validate(BackendKind::LlamaServer, |c| c.tuning.n_slots = Some(0)),
        "n_slots >= 1",
    );
    expect_err(validate(BackendKind::LlamaServer, |c| c.port = 0), "not 0");
    expect_err(
        validate(BackendKind::LlamaServer, |c| {
            c.model = ModelIdentity::ModelPath("/d".into())
        }),
        "backend='llamaserver' does not accept model_path (use gguf_path)",
    );
    expect_err(
        validate(BackendKind::Vllm, |c| {
            c.model = ModelIdentity::Gguf("/x.gguf".into())
        }),
        "backend='vllm' does not accept gguf_path (use model_path)",
    );
}

#[test]
fn extra_flags_split_like_a_posix_shell() {
    let cases: &[(&str, Result<&[&str], &str>)] = &[
        ("", Ok(&[])),
        ("   ", Ok(&[])),
        ("-ngl 0 --threads 2", Ok(&["-ngl", "0", "--threads", "2"])),
        ("--no-mmap", Ok(&["--no-mmap"])),
        ("-fa 1", Ok(&["-fa", "1"])),
        (
            r#"--alias "my model" -ngl 99"#,
            Ok(&["--alias", "my model", "-ngl", "99"]),
        ),
        (
            r#"--chat-template-file '/models/a b/t.jinja'"#,
            Ok(&["--chat-template-file", "/models/a b/t.jinja"]),
        ),
        (r"--alias my\ model", Ok(&["--alias", "my model"])),
        ("--reasoning-format=auto", Ok(&["--reasoning-format=auto"])),
        (r#"--alias "unclosed"#, Err("unbalanced quote")),
        (r"--alias trailing\", Err("trailing backslash")),
    ];
    for (raw, expected) in cases {
        let got = split_extra_flags(raw).map_err(|err| err.to_string());
        match (expected, &got) {
            (Ok(want), Ok(got)) => assert_eq!(got, want, "{raw:?}"),
            (Err(fragment), Err(err)) => {
                assert!(err.contains(fragment), "{raw:?}: {err}");
                assert!(
                    err.contains("--extra-flags \"-ngl 0 --threads 2\""),
                    "the error shows how to quote: {err}"
                );
            }
            _ => panic!("{raw:?}: expected {expected:?}, got {got:?}"),
        }
    }
}

#[test]
fn extra_flags_cannot_override_flags_forge_sets() {
    let check = |kind: BackendKind, raw: &str| {
        check_extra_flags(kind, &split_extra_flags(raw).unwrap()).map_err(|e| e.to_string())
    };
    let rejected = [
        (
            BackendKind::LlamaServer,
            "--port 9000",
            "use --backend-port",
        ),
        (
            BackendKind::LlamaServer,
            "--port=9000",
            "use --backend-port",
        ),
        (
            BackendKind::LlamaServer,
            "--host 0.0.0.0",
            "--host is set by forge",
        ),
        (BackendKind::LlamaServer, "-m /other.gguf", "use --gguf"),
        (BackendKind::Llamafile, "--model /other.gguf", "use --gguf"),
        (
            BackendKind::LlamaServer,
            "-ngl 0 -c 8192",
            "use --budget-mode manual --budget-tokens N",
        ),
        (
            BackendKind::LlamaServer,
            "--ctx-size=8192",
            "--ctx-size is set by forge",
        ),
        (
            BackendKind::Vllm,
            "--max-model-len 4096",
            "use --budget-mode manual",
        ),
        (BackendKind::Vllm, "--port 8001", "use --backend-port"),
        (BackendKind::Ollama, "--anything", "Ollama is attached to"),
    ];
    for (kind, raw, fragment) in rejected {
        let err = check(kind, raw).expect_err(raw);
        assert!(err.contains(fragment), "{kind} {raw:?}: {err}");
    }
    for (kind, raw) in [
        (BackendKind::LlamaServer, "-ngl 0 --threads 2 --no-mmap"),
        (BackendKind::LlamaServer, "--chat-template-file /t.jinja"),
        (BackendKind::Vllm, "--tensor-parallel-size 2 -O3"),
        (BackendKind::Ollama, ""),
    ] {
        assert_eq!(check(kind, raw), Ok(()), "{kind} {raw:?}");
    }
}
