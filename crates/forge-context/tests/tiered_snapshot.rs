//! The three phases of `TieredCompact` on a history shaped the way the runner writes one.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

mod common;

use common::{assert_pairing_intact, realistic_history, BIG};
use forge_context::{find_eligible_end, CompactStrategy, Compaction, TieredCompact};
use serde_json::json;

fn check(name: &str, thresholds: [f64; 3], expected_phase: u8) {
    let history = realistic_history();
    let strategy = TieredCompact::with_phase_thresholds(2, thresholds).unwrap();
    let Compaction::Compacted {
        messages,
        phase_reached,
        changes,
    } = strategy.compact(&history, BIG, "")
    else {
        panic!("{name}: the realistic history always has something to compact");
    };
    assert_eq!(phase_reached, expected_phase, "{name}");
    assert_pairing_intact(&messages);
    let protected_from = find_eligible_end(&history, 2);
    let kept_tail = &messages[messages.len() - (history.len() - protected_from)..];
    assert_eq!(
        kept_tail,
        &history[protected_from..],
        "{name}: protected window untouched"
    );
    insta::assert_json_snapshot!(
        name,
        json!({"phase_reached": phase_reached, "changes": changes, "messages": messages})
    );
}

#[test]
fn realistic_history_phase_one_truncates_results_and_replaces_nudges() {
    check("phase_1", [0.0, 1.0, 1.0], 1);
}

#[test]
fn realistic_history_phase_two_replaces_results() {
    check("phase_2", [0.0, 0.0, 1.0], 2);
}

#[test]
fn realistic_history_phase_three_keeps_the_tool_call_skeleton() {
    check("phase_3", [0.0, 0.0, 0.0], 3);
}

#[test]
fn compacting_a_compacted_history_changes_nothing() {
    for thresholds in [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]] {
        let strategy = TieredCompact::with_phase_thresholds(2, thresholds).unwrap();
        let once = strategy
            .compact(&realistic_history(), BIG, "")
            .into_messages(&[]);
        let twice = strategy.compact(&once, BIG, "");
        assert!(!twice.changed(), "{thresholds:?}: {twice:?}");
    }
}
