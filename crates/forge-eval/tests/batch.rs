//! The batch runner end to end with the model-free golden client: rows, resume after an
//! interruption, compaction skips.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::sync::Arc;

use forge_eval::batch::{BatchConfig, BatchPlan};
use forge_eval::preset::{Configuration, Preset};
use forge_eval::row::read_rows;
use forge_eval::run::{RowIdentity, RunSettings};
use forge_eval::scenario::scenario;
use forge_eval::scripted::GoldenClient;
use forge_guardrails::ConstraintPolicy;

fn plan(output: std::path::PathBuf, runs: u32) -> BatchPlan {
    plan_with(
        output,
        runs,
        Configuration::cross(
            &[Preset::Reforged, Preset::Bare],
            &[ConstraintPolicy::Never],
        ),
    )
}

fn plan_with(
    output: std::path::PathBuf,
    runs: u32,
    configurations: Vec<Configuration>,
) -> BatchPlan {
    BatchPlan {
        configs: vec![BatchConfig {
            client: Arc::new(GoldenClient),
            identity: RowIdentity {
                model: "golden".into(),
                backend: "scripted".into(),
                mode: "native".into(),
                tool_choice: "auto".into(),
                sampling: Some("backend_defaults".into()),
            },
            settings: RunSettings::new(Preset::Reforged, 8192),
        }],
        configurations,
        scenarios: [
            "basic_2step",
            "error_recovery_stateful",
            "compaction_chain_p1",
        ]
        .iter()
        .map(|n| scenario(n).unwrap())
        .collect(),
        runs,
        output,
    }
}

#[tokio::test]
async fn batch_writes_one_row_per_run_and_skips_compaction_under_bare() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path().join("rows.jsonl"), 2);
    let summary = plan.execute(false).await.unwrap();
    // reforged: 3 scenarios x 2 runs; bare: P1 skipped, 2 scenarios x 2 runs.
    assert_eq!(summary.executed, 10);
    assert_eq!(summary.skipped_compaction, 1);
    let rows = read_rows(&plan.output).unwrap().rows;
    assert_eq!(rows.len(), 10);
    let reforged_correct = rows
        .iter()
        .filter(|r| r.ablation == "reforged" && r.is_correct())
        .count();
    assert_eq!(reforged_correct, 6, "the golden path passes under reforged");
    let bare_error_recovery: Vec<_> = rows
        .iter()
        .filter(|r| r.ablation == "bare" && r.scenario == "error_recovery_stateful")
        .map(|r| r.error_type.clone())
        .collect();
    assert_eq!(
        bare_error_recovery,
        vec![Some("ToolExecutionError".to_owned()); 2]
    );
    assert!(rows
        .iter()
        .all(|r| r.budget_tokens.is_some() && r.mode == "native"));
}

#[tokio::test]
async fn an_interrupted_batch_resumes_without_repeating_runs() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("rows.jsonl");
    plan(output.clone(), 2).execute(false).await.unwrap();
    // Simulate an interruption: keep the first 4 rows and a torn fifth line.
    let text = std::fs::read_to_string(&output).unwrap();
    let mut kept: Vec<&str> = text.lines().take(4).collect();
    kept.push("{\"model\": \"gold");
    std::fs::write(&output, kept.join("\n") + "\n").unwrap();

    let resumed = plan(output.clone(), 3);
    let (pending, summary) = resumed.pending().unwrap();
    assert_eq!(summary.resumed, 4);
    assert_eq!(pending.len(), 3 * 3 + 2 * 3 - 4);
    let done = resumed.execute(false).await.unwrap();
    assert_eq!(done.executed, 11);
    let loaded = read_rows(&output).unwrap();
    assert_eq!(
        loaded.bad_lines,
        vec![5],
        "the torn line is reported, not parsed"
    );
    let mut keys: Vec<(String, String, u32)> = loaded
        .rows
        .iter()
        .map(|r| (r.ablation.clone(), r.scenario.clone(), r.run))
        .collect();
    keys.sort();
    let before = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), before, "no run number is used twice");
    assert_eq!(keys.len(), 15, "every slot reached 3 runs");
    // Nothing is left to do.
    assert!(plan(output, 3).pending().unwrap().0.is_empty());
}

#[tokio::test]
async fn constrained_configurations_get_their_own_rows_and_resume_slots() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("rows.jsonl");
    let always = vec!["reforged:always".parse::<Configuration>().unwrap()];
    let done = plan_with(output.clone(), 1, always.clone())
        .execute(false)
        .await
        .unwrap();
    assert_eq!(done.executed, 3);
    let rows = read_rows(&output).unwrap().rows;
    assert!(
        rows.iter()
            .all(|r| r.constraint == "always" && r.ablation == "reforged"),
        "{rows:?}"
    );
    assert!(plan_with(output.clone(), 1, always)
        .pending()
        .unwrap()
        .0
        .is_empty());
    // The unconstrained twin is still entirely to do.
    let never = vec!["reforged".parse::<Configuration>().unwrap()];
    let (pending, summary) = plan_with(output, 1, never).pending().unwrap();
    assert_eq!((pending.len(), summary.resumed), (3, 0));
    assert!(pending
        .iter()
        .all(|p| p.configuration.constraint == ConstraintPolicy::Never));
}

#[test]
fn pending_runs_are_run_major_so_an_early_stop_stays_balanced() {
    let dir = tempfile::tempdir().unwrap();
    let (pending, _) = plan(dir.path().join("rows.jsonl"), 3).pending().unwrap();
    let runs: Vec<u32> = pending.iter().map(|p| p.run).collect();
    let mut sorted = runs.clone();
    sorted.sort_unstable();
    assert_eq!(runs, sorted, "every run 1 comes before any run 2");
    // Reforged 3 scenarios + bare 2 (P1 skipped) = 5 slots per run index.
    let first_five: Vec<String> = pending[..5]
        .iter()
        .map(|p| format!("{}/{}", p.configuration, p.scenario.name()))
        .collect();
    assert_eq!(
        first_five,
        [
            "reforged/basic_2step",
            "reforged/error_recovery_stateful",
            "reforged/compaction_chain_p1",
            "bare/basic_2step",
            "bare/error_recovery_stateful",
        ]
    );
    assert_eq!(pending[5].run, 2);
}
