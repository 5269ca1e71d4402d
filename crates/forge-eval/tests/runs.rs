//! Whole runs through the real `WorkflowRunner` with scripted models: every golden path passes
//! under `reforged`, and each kind of bad model fails under `bare` but is rescued under
//! `reforged`, in every scenario family.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::sync::Arc;

use forge_eval::preset::Preset;
use forge_eval::run::{run_scenario, RowIdentity, RunResult, RunSettings};
use forge_eval::scenario::{all_scenarios, golden_path, Scenario};
use forge_eval::scripted::{call_response, ScriptedClient};
use forge_types::{json_object, LlmResponse, ToolCall};
use serde_json::json;

async fn run(scenario: &Scenario, responses: Vec<LlmResponse>, preset: Preset) -> RunResult {
    let client = Arc::new(ScriptedClient::new(responses));
    run_scenario(client, scenario, &RunSettings::new(preset, 8192)).await
}

fn golden(scenario: &Scenario) -> Vec<LlmResponse> {
    golden_path(scenario.name())
        .unwrap()
        .into_iter()
        .map(call_response)
        .collect()
}

#[tokio::test]
async fn every_golden_path_passes_under_reforged() {
    for scenario in all_scenarios() {
        let result = run(&scenario, golden(&scenario), Preset::Reforged).await;
        assert!(
            result.completeness,
            "{}: {:?} {:?}",
            scenario.name(),
            result.error_type,
            result.error_message
        );
        assert_eq!(result.accuracy, Some(true), "{}", scenario.name());
        assert_eq!(result.validate_error, None, "{}", scenario.name());
        let expected = golden_path(scenario.name()).unwrap().len() as u32;
        assert_eq!(result.iterations, expected, "{}", scenario.name());
    }
}

#[tokio::test]
async fn the_row_of_a_golden_run_records_identity_budget_and_counters() {
    let scenario = forge_eval::scenario::scenario("error_recovery").unwrap();
    let result = run(&scenario, golden(&scenario), Preset::Reforged).await;
    let identity = RowIdentity {
        model: "scripted-golden".into(),
        backend: "scripted".into(),
        mode: "native".into(),
        tool_choice: "auto".into(),
        sampling: Some("backend_defaults".into()),
    };
    let row = result.to_row(&identity, Preset::Reforged, 1);
    assert!(row.completeness && row.is_correct());
    assert_eq!(row.iterations, 3);
    assert_eq!(row.ideal_iterations, 2);
    assert_eq!(row.wasted_calls, Some(1));
    assert_eq!(row.tool_errors, Some(1), "the deliberate first TypeError");
    assert_eq!(row.retry_nudges, Some(0));
    assert_eq!(row.budget_tokens, Some(8192));
    assert_eq!(row.mode, "native");
    assert!(row.forge_rs.is_some());
    // The row as written to JSONL, with the clock and version pinned.
    let mut pinned = row.clone();
    pinned.elapsed_s = 0.0;
    pinned.forge_rs = Some("[version]".into());
    insta::assert_json_snapshot!("golden_error_recovery_row", pinned);
    let mut failed = run(&scenario, golden(&scenario), Preset::Bare)
        .await
        .to_row(&identity, Preset::Bare, 1);
    failed.elapsed_s = 0.0;
    failed.forge_rs = Some("[version]".into());
    insta::assert_json_snapshot!("bare_error_recovery_row", failed);
}

#[tokio::test]
async fn compaction_pressure_scenarios_run_on_their_own_budget() {
    let scenario = forge_eval::scenario::scenario("compaction_chain_p3").unwrap();
    let result = run(&scenario, golden(&scenario), Preset::Reforged).await;
    assert_eq!(result.budget_tokens, 1536);
    assert!(
        !result.compaction_events.is_empty(),
        "1536 tokens cannot hold ten results uncompacted"
    );
    let baseline = forge_eval::scenario::scenario("compaction_chain_baseline").unwrap();
    let result = run(&baseline, golden(&baseline), Preset::Reforged).await;
    assert_eq!(result.budget_tokens, 8192);
}

/// One kind of bad model: what it says before behaving.
#[derive(Debug, Clone, Copy)]
enum BadModel {
    /// Answers in prose first.
    BareTextFirst,
    /// Writes its first call as fenced JSON in the text instead of calling the tool.
    FencedJson,
    /// Calls a tool that does not exist first.
    WrongToolName,
    /// Calls the terminal tool with a guess before doing the required steps.
    PrematureTerminal,
}

fn bad_script(scenario: &Scenario, kind: BadModel) -> Option<Vec<LlmResponse>> {
    let path = golden_path(scenario.name()).unwrap();
    let mut script = Vec::new();
    match kind {
        BadModel::BareTextFirst => {
            script.push(LlmResponse::text(
                "Sure! Let me work through this step by step.",
            ));
        }
        BadModel::FencedJson => {
            let first = &path[0];
            let text = format!(
                "I'll call the tool:\n```json\n{}\n```",
                json!({"name": first.tool, "arguments": first.args})
            );
            script.push(LlmResponse::text(text));
            script.extend(path.into_iter().skip(1).map(call_response));
            return Some(script);
        }
        BadModel::WrongToolName => {
            let wrong = format!("{}_v2", path[0].tool);
            let args = json_object(path[0].args.clone()).unwrap();
            script.push(LlmResponse::ToolCalls(vec![ToolCall::new(wrong, args)]));
        }
        BadModel::PrematureTerminal => {
            if scenario.spec().required_steps.is_empty() {
                return None;
            }
            let terminal = &path.last().unwrap().tool;
            let guess = scenario
                .spec()
                .tools
                .iter()
                .find(|t| t.name == *terminal)
                .unwrap();
            // A guess: every parameter filled with the same non-answer.
            let mut args = serde_json::Map::new();
            for name in guess.parameters["properties"].as_object().unwrap().keys() {
                args.insert(name.clone(), json!("I am not sure yet."));
            }
            script.push(LlmResponse::ToolCalls(vec![ToolCall::new(
                terminal.to_string(),
                args,
            )]));
        }
    }
    script.extend(path.into_iter().map(call_response));
    Some(script)
}

fn family(scenario: &Scenario) -> &'static str {
    if scenario.name().starts_with("compaction_chain") {
        "compaction_chain"
    } else if scenario.has_tag("advanced_reasoning") {
        "advanced_reasoning"
    } else if scenario.has_tag("plumbing") {
        "plumbing"
    } else {
        "model_quality"
    }
}

async fn check_guardrail_effect(kind: BadModel) {
    let mut families = std::collections::BTreeSet::new();
    for scenario in all_scenarios() {
        let Some(script) = bad_script(&scenario, kind) else {
            continue;
        };
        let bare = run(&scenario, script.clone(), Preset::Bare).await;
        assert!(
            !(bare.completeness && bare.accuracy == Some(true)),
            "{kind:?} {}: bare should fail but passed",
            scenario.name()
        );
        let reforged = run(&scenario, script, Preset::Reforged).await;
        assert!(
            reforged.completeness && reforged.accuracy == Some(true),
            "{kind:?} {}: reforged should pass: {:?} {:?} accuracy {:?}",
            scenario.name(),
            reforged.error_type,
            reforged.error_message,
            reforged.accuracy
        );
        families.insert(family(&scenario));
    }
    assert_eq!(
        families.into_iter().collect::<Vec<_>>(),
        [
            "advanced_reasoning",
            "compaction_chain",
            "model_quality",
            "plumbing"
        ],
        "{kind:?} covers every family"
    );
}

#[tokio::test]
async fn bare_text_first_fails_bare_and_is_retried_under_reforged() {
    check_guardrail_effect(BadModel::BareTextFirst).await;
}

#[tokio::test]
async fn fenced_json_fails_bare_and_is_rescued_under_reforged() {
    check_guardrail_effect(BadModel::FencedJson).await;
}

#[tokio::test]
async fn wrong_tool_name_fails_bare_and_is_corrected_under_reforged() {
    check_guardrail_effect(BadModel::WrongToolName).await;
}

#[tokio::test]
async fn premature_terminal_call_fails_bare_and_is_blocked_under_reforged() {
    check_guardrail_effect(BadModel::PrematureTerminal).await;
}

#[tokio::test]
async fn bare_fails_the_error_recovery_golden_path_on_its_first_tool_error() {
    let scenario = forge_eval::scenario::scenario("error_recovery").unwrap();
    let result = run(&scenario, golden(&scenario), Preset::Bare).await;
    assert!(!result.completeness);
    assert_eq!(result.error_type.as_deref(), Some("ToolExecutionError"));
    assert_eq!(result.iterations, 1);
}

#[tokio::test]
async fn a_run_that_outlives_its_timeout_is_recorded_as_timeout() {
    #[derive(Debug)]
    struct Hang;
    #[async_trait::async_trait]
    impl forge_client::LlmClient for Hang {
        fn api_format(&self) -> forge_types::ApiFormat {
            forge_types::ApiFormat::OpenAi
        }
        fn backend_name(&self) -> &'static str {
            "hang"
        }
        async fn send(
            &self,
            _: &forge_client::InferenceRequest,
        ) -> Result<forge_types::Completion, forge_types::BackendError> {
            std::future::pending().await
        }
        async fn send_stream(
            &self,
            _: &forge_client::InferenceRequest,
        ) -> Result<forge_client::ChunkStream, forge_types::BackendError> {
            std::future::pending().await
        }
        async fn context_length(&self) -> Result<Option<u64>, forge_types::BackendError> {
            Ok(None)
        }
    }
    let scenario = forge_eval::scenario::scenario("basic_2step").unwrap();
    let mut settings = RunSettings::new(Preset::Reforged, 8192);
    settings.timeout = Some(std::time::Duration::from_millis(50));
    let result = run_scenario(Arc::new(Hang), &scenario, &settings).await;
    assert_eq!(result.error_type.as_deref(), Some("Timeout"));
    assert!(!result.completeness);
}

#[tokio::test]
async fn max_tokens_cap_reaches_every_model_call() {
    #[derive(Debug, Default)]
    struct Recorder {
        seen: std::sync::Mutex<Vec<Option<serde_json::Value>>>,
    }
    #[async_trait::async_trait]
    impl forge_client::LlmClient for Recorder {
        fn api_format(&self) -> forge_types::ApiFormat {
            forge_types::ApiFormat::OpenAi
        }
        fn backend_name(&self) -> &'static str {
            "recorder"
        }
        async fn send(
            &self,
            request: &forge_client::InferenceRequest,
        ) -> Result<forge_types::Completion, forge_types::BackendError> {
            self.seen
                .lock()
                .unwrap()
                .push(request.passthrough.get("max_tokens").cloned());
            forge_eval::scripted::GoldenClient.send(request).await
        }
        async fn send_stream(
            &self,
            request: &forge_client::InferenceRequest,
        ) -> Result<forge_client::ChunkStream, forge_types::BackendError> {
            forge_eval::scripted::GoldenClient
                .send_stream(request)
                .await
        }
        async fn context_length(&self) -> Result<Option<u64>, forge_types::BackendError> {
            Ok(None)
        }
    }
    let scenario = forge_eval::scenario::scenario("sequential_3step").unwrap();
    let recorder = Arc::new(Recorder::default());
    let mut settings = RunSettings::new(Preset::Reforged, 8192);
    settings.max_tokens = Some(64);
    let result = run_scenario(recorder.clone(), &scenario, &settings).await;
    assert_eq!(
        result.accuracy,
        Some(true),
        "the golden client plays the whole path"
    );
    assert_eq!(*recorder.seen.lock().unwrap(), vec![Some(json!(64)); 3]);
}

/// Plays the golden path like `GoldenClient`, but claims llama.cpp's grammar dialect and
/// records whether each request arrived constrained.
#[derive(Debug, Default)]
struct ConstraintRecorder {
    constrained: std::sync::Mutex<Vec<bool>>,
}

#[async_trait::async_trait]
impl forge_client::LlmClient for ConstraintRecorder {
    fn api_format(&self) -> forge_types::ApiFormat {
        forge_types::ApiFormat::OpenAi
    }
    fn backend_name(&self) -> &'static str {
        "constraint-recorder"
    }
    fn constraint_dialect(&self) -> Option<forge_client::ConstraintDialect> {
        Some(forge_client::ConstraintDialect::LlamaCppGrammar)
    }
    async fn send(
        &self,
        request: &forge_client::InferenceRequest,
    ) -> Result<forge_types::Completion, forge_types::BackendError> {
        self.constrained
            .lock()
            .unwrap()
            .push(request.constraint.is_some());
        forge_eval::scripted::GoldenClient.send(request).await
    }
    async fn send_stream(
        &self,
        request: &forge_client::InferenceRequest,
    ) -> Result<forge_client::ChunkStream, forge_types::BackendError> {
        forge_eval::scripted::GoldenClient
            .send_stream(request)
            .await
    }
    async fn context_length(&self) -> Result<Option<u64>, forge_types::BackendError> {
        Ok(None)
    }
}

#[tokio::test]
async fn the_constraint_policy_reaches_the_runner_and_the_row() {
    use forge_guardrails::ConstraintPolicy;
    // The golden path never fails, so `retry` never gets to constrain.
    let cases = [
        (ConstraintPolicy::Never, "never", false),
        (ConstraintPolicy::Retry, "retry", false),
        (ConstraintPolicy::Always, "always", true),
    ];
    let scenario = forge_eval::scenario::scenario("sequential_3step").unwrap();
    let identity = RowIdentity {
        model: "scripted-golden".into(),
        backend: "scripted".into(),
        mode: "native".into(),
        tool_choice: "auto".into(),
        sampling: None,
    };
    for (policy, name, constrained) in cases {
        let recorder = Arc::new(ConstraintRecorder::default());
        let mut settings = RunSettings::new(Preset::Reforged, 8192);
        settings.constraint = policy;
        let result = run_scenario(recorder.clone(), &scenario, &settings).await;
        assert_eq!(result.accuracy, Some(true), "{name}: {result:?}");
        assert_eq!(
            *recorder.constrained.lock().unwrap(),
            vec![constrained; 3],
            "{name}"
        );
        let row = result.to_row(&identity, Preset::Reforged, 1);
        assert_eq!(row.constraint, name);
        assert_eq!(
            serde_json::to_value(&row).unwrap()["constraint"],
            json!(name),
            "always serialized"
        );
    }
}
