//! JSONL rows, resume counts, metrics and paired comparisons on fixed inputs with known answers.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use forge_eval::metrics::{abbreviation, config_metrics, scenario_order};
use forge_eval::report::outcomes_table;
use forge_eval::row::{
    append_row, read_rows, read_rows_from_files, ResumeCounts, RowError, RunRow,
};
use forge_eval::significance::compare_presets;
use serde_json::{json, Value};

/// A row with the given identity and outcome; everything else plausible.
pub fn row(ablation: &str, scenario: &str, run: u32, correct: Option<bool>) -> RunRow {
    constrained_row(ablation, "never", scenario, run, correct)
}

/// A row run under constraint policy `constraint`.
pub fn constrained_row(
    ablation: &str,
    constraint: &str,
    scenario: &str,
    run: u32,
    correct: Option<bool>,
) -> RunRow {
    let complete = correct.is_some();
    RunRow {
        model: "SmolLM2-135M".into(),
        backend: "llamaserver".into(),
        mode: "native".into(),
        ablation: ablation.into(),
        constraint: constraint.into(),
        tool_choice: "auto".into(),
        scenario: scenario.into(),
        run,
        completeness: complete,
        iterations: if complete { 3 } else { 5 },
        elapsed_s: 1.5,
        error_type: (!complete).then(|| "MaxIterations".into()),
        error_message: (!complete).then(|| "Max iterations (5) reached".into()),
        compaction_events: 0,
        budget_tokens: Some(4096),
        stream_retries: 0,
        retry_nudges: Some(0),
        step_nudges: Some(0),
        tool_errors: Some(0),
        reasoning_msgs: Some(0),
        accuracy: correct,
        validate_error: None,
        ideal_iterations: 2,
        wasted_calls: complete.then_some(1),
        input_tokens: None,
        output_tokens: None,
        cost_usd: None,
        sampling: None,
        forge_rs: None,
    }
}

#[test]
fn row_serializes_with_reference_key_order_and_null_versus_absent() {
    let value: Value = serde_json::to_value(row("reforged", "basic_2step", 1, Some(true))).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "model",
            "backend",
            "mode",
            "ablation",
            "constraint",
            "tool_choice",
            "scenario",
            "run",
            "completeness",
            "iterations",
            "elapsed_s",
            "error_type",
            "error_message",
            "compaction_events",
            "budget_tokens",
            "retry_nudges",
            "step_nudges",
            "tool_errors",
            "reasoning_msgs",
            "accuracy",
            "ideal_iterations",
            "wasted_calls"
        ]
    );
    assert_eq!(value["error_type"], Value::Null);
    let failed: Value = serde_json::to_value(row("bare", "basic_2step", 2, None)).unwrap();
    assert_eq!(failed["accuracy"], Value::Null);
    assert_eq!(failed["wasted_calls"], Value::Null);
    assert!(failed.get("validate_error").is_none());
}

#[test]
fn reference_rows_without_ablation_or_tool_choice_read_as_reforged_auto() {
    let reference_row = json!({"model": "Qwen3-8B-Q4_K_M", "backend": "llamaserver", "mode": "native",
        "scenario": "basic_2step", "run": 1, "completeness": true, "iterations": 2,
        "elapsed_s": 3.41, "error_type": null, "error_message": null, "compaction_events": 0,
        "budget_tokens": 32768, "retry_nudges": 0, "step_nudges": 0, "tool_errors": 0,
        "reasoning_msgs": 1, "accuracy": true, "ideal_iterations": 2, "wasted_calls": 0});
    let parsed: RunRow = serde_json::from_value(reference_row).unwrap();
    assert_eq!(parsed.ablation, "reforged");
    assert_eq!(parsed.tool_choice, "auto");
    assert_eq!(parsed.constraint, "never", "rows before the policy existed");
    assert!(parsed.is_correct());
}

#[test]
fn the_constraint_policy_is_always_written_and_round_trips() {
    for policy in ["never", "retry", "always"] {
        let original = constrained_row("reforged", policy, "basic_2step", 1, Some(true));
        let value = serde_json::to_value(&original).unwrap();
        assert_eq!(value["constraint"], json!(policy));
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let position = |k: &str| keys.iter().position(|key| *key == k).unwrap();
        assert_eq!(position("constraint"), position("ablation") + 1, "{keys:?}");
        let back: RunRow = serde_json::from_value(value).unwrap();
        assert_eq!(back, original);
    }
}

#[test]
fn resume_keys_keep_constraint_policies_apart() {
    let rows = vec![
        constrained_row("reforged", "retry", "basic_2step", 1, Some(true)),
        constrained_row("reforged", "retry", "basic_2step", 2, Some(true)),
        constrained_row("reforged", "always", "basic_2step", 1, None),
    ];
    let counts = ResumeCounts::from_rows(&rows);
    let never = row("reforged", "basic_2step", 1, None).key();
    let retry = rows[0].key();
    let always = rows[2].key();
    assert_ne!(never, retry);
    assert_eq!(
        counts.remaining(&never, 2),
        1..=2,
        "retry rows do not count"
    );
    assert_eq!(counts.remaining(&retry, 2).count(), 0);
    assert_eq!(counts.remaining(&always, 2), 2..=2);
}

#[test]
fn reports_name_each_preset_and_policy_as_its_own_configuration() {
    let mut rows = Vec::new();
    for (ablation, constraint) in [
        ("bare", "always"),
        ("reforged", "always"),
        ("reforged", "never"),
        ("reforged", "retry"),
        ("bare", "never"),
    ] {
        rows.push(constrained_row(
            ablation,
            constraint,
            "basic_2step",
            1,
            Some(true),
        ));
    }
    let metrics = config_metrics(&rows);
    assert_eq!(metrics.len(), 5, "one config per (preset, policy)");
    let mut labels: Vec<(_, String)> = metrics
        .iter()
        .map(|m| (m.config.configuration_rank(), m.config.label()))
        .collect();
    labels.sort();
    let labels: Vec<String> = labels.into_iter().map(|(_, l)| l).collect();
    assert_eq!(
        labels,
        [
            "SmolLM2-135M (llamaserver/native) [reforged]",
            "SmolLM2-135M (llamaserver/native) [reforged+retry]",
            "SmolLM2-135M (llamaserver/native) [reforged+always]",
            "SmolLM2-135M (llamaserver/native) [bare]",
            "SmolLM2-135M (llamaserver/native) [bare+always]",
        ]
    );
    let table = forge_eval::report::ascii_table(&metrics, &scenario_order(&rows));
    for label in ["[reforged]", "[reforged+retry]", "[bare+always]"] {
        assert_eq!(table.matches(label).count(), 1, "{label} in\n{table}");
    }
}

#[test]
fn every_configuration_is_paired_with_unconstrained_reforged() {
    let mut rows = Vec::new();
    // 6 runs: reforged/never right on runs 1-3; reforged+always right on all 6;
    // bare+always right on runs 1 and 4.
    for run in 1..=6 {
        rows.push(row("reforged", "basic_2step", run, Some(run <= 3)));
        rows.push(constrained_row(
            "reforged",
            "always",
            "basic_2step",
            run,
            Some(true),
        ));
        rows.push(constrained_row(
            "bare",
            "always",
            "basic_2step",
            run,
            Some(run == 1 || run == 4),
        ));
    }
    // Another mode with only a constrained configuration has no baseline: left out.
    let mut prompt = constrained_row("reforged", "retry", "basic_2step", 1, Some(true));
    prompt.mode = "prompt".into();
    rows.push(prompt);
    let comparisons = compare_presets(&rows).unwrap();
    assert_eq!(comparisons.len(), 1);
    let names: Vec<&str> = comparisons[0]
        .presets
        .iter()
        .map(|p| p.configuration.as_str())
        .collect();
    assert_eq!(names, ["reforged", "reforged+always", "bare+always"]);
    let [baseline, always, bare_always] = &comparisons[0].presets[..] else {
        unreachable!("three configurations")
    };
    assert!(baseline.test.is_none() && baseline.delta.is_none());
    assert_eq!((always.constraint.as_str(), always.pairs), ("always", 6));
    let test = always.test.unwrap();
    assert_eq!((test.b, test.c), (0, 3));
    assert!((always.delta.unwrap() - 0.5).abs() < 1e-12);
    let test = bare_always.test.unwrap();
    // Baseline right & bare+always wrong: runs 2, 3; the reverse: run 4.
    assert_eq!((test.b, test.c), (2, 1));
    let table = forge_eval::report::significance_table(&comparisons);
    assert!(table.contains("reforged+always"), "{table}");
}

#[test]
fn jsonl_round_trip_skips_blank_lines_and_reports_torn_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.jsonl");
    let rows = vec![
        row("reforged", "basic_2step", 1, Some(true)),
        row("reforged", "basic_2step", 2, Some(false)),
        row("bare", "error_recovery", 1, None),
    ];
    for r in &rows {
        append_row(&path, r).unwrap();
    }
    // An interrupted writer leaves a torn last line; a blank line is harmless.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n{\"model\": \"torn");
    std::fs::write(&path, text).unwrap();
    let loaded = read_rows(&path).unwrap();
    assert_eq!(loaded.rows, rows);
    assert_eq!(loaded.bad_lines, vec![5]);
    assert!(read_rows(&dir.path().join("missing.jsonl")).is_err());
}

#[test]
fn separate_batches_read_as_one_and_a_run_in_two_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.jsonl");
    let constrained = dir.path().join("constrained.jsonl");
    append_row(&baseline, &row("reforged", "basic_2step", 1, Some(false))).unwrap();
    // Same scenario and run, other policy: a different run, not a duplicate.
    let retry = constrained_row("reforged", "retry", "basic_2step", 1, Some(true));
    append_row(&constrained, &retry).unwrap();
    let files = read_rows_from_files(&[&baseline, &constrained]).unwrap();
    let counts: Vec<usize> = files.iter().map(|(_, loaded)| loaded.rows.len()).collect();
    assert_eq!(counts, [1, 1]);
    assert_eq!(files[1].1.rows, vec![retry]);

    append_row(&constrained, &row("reforged", "basic_2step", 1, Some(true))).unwrap();
    let error = read_rows_from_files(&[&baseline, &constrained]).unwrap_err();
    assert!(
        matches!(&error, RowError::DuplicateRun { run, .. } if run == "basic_2step run 1 (native reforged)"),
        "{error}"
    );
}

#[test]
fn resume_runs_only_what_is_missing_and_numbers_after_existing_rows() {
    let rows = vec![
        row("reforged", "basic_2step", 1, Some(true)),
        row("reforged", "basic_2step", 2, None),
        row("bare", "basic_2step", 1, Some(false)),
    ];
    let mut counts = ResumeCounts::from_rows(&rows);
    let reforged = rows[0].key();
    let bare = rows[2].key();
    assert_eq!(counts.remaining(&reforged, 3), 3..=3);
    assert_eq!(counts.remaining(&reforged, 2).count(), 0);
    assert_eq!(counts.remaining(&reforged, 1).count(), 0);
    assert_eq!(counts.remaining(&bare, 3), 2..=3);
    counts.record(bare.clone());
    assert_eq!(counts.remaining(&bare, 3), 3..=3);
    let other = row("reforged", "tool_selection", 1, None).key();
    assert_eq!(counts.remaining(&other, 2), 1..=2);
}

#[test]
fn config_metrics_use_the_reference_denominators() {
    let mut rows = vec![
        row("reforged", "basic_2step", 1, Some(true)),
        row("reforged", "basic_2step", 2, Some(true)),
        row("reforged", "basic_2step", 3, Some(false)),
        row("reforged", "error_recovery", 1, None),
    ];
    // A run whose check raised: complete, verdict set, but neither validated nor correct.
    let mut raised = row("reforged", "error_recovery", 2, Some(true));
    raised.validate_error = Some("AttributeError".into());
    rows.push(raised);
    let metrics = config_metrics(&rows);
    assert_eq!(metrics.len(), 1);
    let m = &metrics[0];
    assert_eq!(
        (m.total_runs, m.completed, m.validated, m.correct),
        (5, 4, 3, 2)
    );
    assert!((m.score - 0.4).abs() < 1e-12);
    assert!((m.accuracy.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert!((m.completeness - 0.8).abs() < 1e-12);
    // Efficiency over complete and correct runs: ideal 2+2 over iterations 3+3.
    assert!((m.efficiency - 4.0 / 6.0).abs() < 1e-12);
    assert_eq!(m.avg_wasted, Some(1.0));
    assert_eq!(m.validate_errors, 1);
    assert_eq!(m.errors.get("MaxIterations"), Some(&1));
    let cell = &m.scenarios["basic_2step"];
    assert_eq!((cell.runs, cell.correct), (3, 2));
    assert_eq!(m.runs_per_scenario, 3);
    // Wilson 95 % for 2/5.
    assert!(
        (m.score_interval.low - 0.117_62).abs() < 5e-5,
        "{:?}",
        m.score_interval
    );
    assert!(
        (m.score_interval.high - 0.769_28).abs() < 5e-5,
        "{:?}",
        m.score_interval
    );
}

#[test]
fn configs_sort_best_first_and_scenarios_keep_registry_order() {
    let rows = vec![
        row("bare", "tool_selection", 1, Some(false)),
        row("reforged", "tool_selection", 1, Some(true)),
        row("reforged", "my_custom_scenario", 1, Some(true)),
        row("reforged", "basic_2step", 1, Some(true)),
    ];
    let labels: Vec<String> = config_metrics(&rows)
        .iter()
        .map(|m| m.config.ablation.clone())
        .collect();
    assert_eq!(labels, ["reforged", "bare"]);
    assert_eq!(
        scenario_order(&rows),
        ["basic_2step", "tool_selection", "my_custom_scenario"]
    );
    assert_eq!(abbreviation("error_recovery_stateful"), "err_s");
    assert_eq!(abbreviation("compaction_chain_p2"), "cc2");
    assert_eq!(abbreviation("my_custom_scenario"), "my_");
}

#[test]
fn presets_are_paired_with_reforged_by_scenario_and_run() {
    let mut rows = Vec::new();
    // 10 paired runs: reforged right on all; bare right only on runs 1 and 2.
    for run in 1..=10 {
        rows.push(row("reforged", "basic_2step", run, Some(true)));
        rows.push(row("bare", "basic_2step", run, Some(run <= 2)));
    }
    // An unmatched bare row (no reforged twin) counts for the score but not the test.
    rows.push(row("bare", "tool_selection", 1, Some(true)));
    let comparisons = compare_presets(&rows).unwrap();
    assert_eq!(comparisons.len(), 1);
    let presets = &comparisons[0].presets;
    assert_eq!(presets[0].ablation, "reforged");
    assert!(presets[0].test.is_none());
    let bare = &presets[1];
    assert_eq!(bare.ablation, "bare");
    assert_eq!((bare.runs, bare.correct, bare.pairs), (11, 3, 10));
    let test = bare.test.unwrap();
    assert_eq!((test.b, test.c), (8, 0));
    // Exact two-sided p for 8 discordant pairs all one way: 2 / 2^8.
    assert!((test.p_value - 0.007_812_5).abs() < 1e-12);
    assert!((bare.delta.unwrap() - (3.0 / 11.0 - 1.0)).abs() < 1e-12);
}

#[test]
fn duplicate_runs_are_rejected_instead_of_silently_overwritten() {
    let rows = vec![
        row("reforged", "basic_2step", 1, Some(true)),
        row("reforged", "basic_2step", 1, Some(false)),
    ];
    let err = compare_presets(&rows).unwrap_err();
    assert_eq!(err.run, 1);
}

#[test]
fn outcomes_count_correct_wrong_and_each_error_per_configuration() {
    let mut bare_text_answer = row("bare", "basic_2step", 1, None);
    bare_text_answer.error_type = Some("ToolCallError".into());
    let rows = vec![
        row("reforged", "basic_2step", 1, Some(true)),
        row("reforged", "basic_2step", 2, Some(false)),
        row("reforged", "error_recovery", 1, None),
        bare_text_answer,
        constrained_row("reforged", "retry", "basic_2step", 1, None),
    ];
    assert_eq!(
        outcomes_table(&rows),
        "| config | runs | calls/run | correct | wrong answer | MaxIterations | ToolCallError |\n\
         |---|---:|---:|---:|---:|---:|---:|\n\
         | SmolLM2-135M (llamaserver/native) [reforged] | 3 | 3.7 | 1 | 1 | 1 | 0 |\n\
         | SmolLM2-135M (llamaserver/native) [reforged+retry] | 1 | 5.0 | 0 | 0 | 1 | 0 |\n\
         | SmolLM2-135M (llamaserver/native) [bare] | 1 | 5.0 | 0 | 0 | 0 | 1 |\n"
    );
}
