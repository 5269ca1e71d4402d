//! Spec 01 §7: the context manager, compaction events and threshold warnings.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

mod common;

use std::sync::{Arc, Mutex};

use common::{build_messages, messages_at};
use forge_context::{
    default_context_warning, CompactEvent, ContextManager, NoCompact, SlidingWindowCompact,
    TieredCompact,
};
use forge_types::{Message, MessageRole, MessageType};

type Events = Arc<Mutex<Vec<CompactEvent>>>;

fn recording(manager: ContextManager) -> (ContextManager, Events) {
    let events: Events = Arc::default();
    let sink = Arc::clone(&events);
    let manager = manager.with_on_compact(move |event| sink.lock().unwrap().push(event.clone()));
    (manager, events)
}

fn window(keep_recent: usize) -> SlidingWindowCompact {
    SlidingWindowCompact::new(keep_recent, 0.75).unwrap()
}

#[test]
fn manager_estimate_is_the_character_heuristic_until_a_count_is_recorded() {
    let mut manager = ContextManager::new(NoCompact, 1000);
    let messages = build_messages(400, 4);
    assert_eq!(manager.estimate_tokens(&messages), 100);
    assert_eq!(manager.estimate_tokens(&[]), 0);
    manager.update_token_count(4242);
    assert_eq!(
        manager.estimate_tokens(&messages),
        4242,
        "the backend count wins"
    );
    assert_eq!(manager.estimate_tokens(&[]), 4242, "whatever the messages");
    manager.clear_token_count();
    assert_eq!(manager.estimate_tokens(&messages), 100);
}

#[test]
fn under_the_trigger_history_is_returned_as_is_without_event() {
    let cases: Vec<(&str, ContextManager, Vec<Message>)> = vec![
        (
            "no compaction",
            ContextManager::new(NoCompact, 10_000),
            build_messages(20, 2),
        ),
        (
            "tiered at 99 %",
            ContextManager::new(TieredCompact::new(2, 0.99).unwrap(), 10_000),
            build_messages(100, 4),
        ),
    ];
    for (name, manager, messages) in cases {
        let (mut manager, events) = recording(manager);
        let (result, event) = manager.maybe_compact(&messages, 0, "");
        assert_eq!(result, messages, "{name}");
        assert_eq!(event, None, "{name}");
        assert!(events.lock().unwrap().is_empty(), "{name}");
    }
}

#[test]
fn sliding_window_compaction_reports_one_accurate_event() {
    // 6 messages of 66 chars: 99 tokens against a trigger of 75.
    let messages = build_messages(400, 6);
    let (mut manager, events) = recording(ContextManager::new(window(1), 100));
    let tokens_before = manager.estimate_tokens(&messages);
    let (result, event) = manager.maybe_compact(&messages, 3, "hint");
    assert_eq!(result.len(), 3);
    let expected = CompactEvent {
        step_index: 3,
        tokens_before,
        tokens_after: 49,
        budget_tokens: 100,
        messages_before: 6,
        messages_after: 3,
        phase_reached: 1,
        changes: forge_context::CompactionChanges {
            dropped: 3,
            truncated: 0,
            placeholders: 0,
        },
    };
    assert_eq!(tokens_before, 99);
    assert_eq!(event.as_ref(), Some(&expected));
    assert_eq!(*events.lock().unwrap(), vec![expected]);
}

#[test]
fn compaction_works_without_a_callback() {
    let mut manager = ContextManager::new(window(1), 100);
    let (result, event) = manager.maybe_compact(&build_messages(400, 6), 0, "");
    assert_eq!(result.len(), 3);
    assert!(event.is_some());
}

#[test]
fn tiered_phases_through_the_manager() {
    let mut removable = build_messages(2400, 8); // 300-char messages: results get truncated
    for (index, message) in removable.iter_mut().enumerate().skip(2) {
        if index % 2 == 1 {
            message.metadata =
                MessageType::ToolResult.at_step(message.metadata.step_index().unwrap());
        }
    }
    let tokens = common::estimate(&removable);
    let cases = [
        (
            "phase 1 only",
            TieredCompact::with_phase_thresholds(2, [0.0, 1.0, 1.0]).unwrap(),
            tokens * 10,
            1,
        ),
        ("all phases", TieredCompact::new(2, 0.0).unwrap(), 100, 3),
    ];
    for (name, strategy, budget, phase) in cases {
        let (mut manager, events) = recording(ContextManager::new(strategy, budget));
        let (_, event) = manager.maybe_compact(&removable, 1, "[Steps completed: a]");
        assert_eq!(event.map(|e| e.phase_reached), Some(phase), "{name}");
        assert_eq!(events.lock().unwrap().len(), 1, "{name}");
    }
}

#[test]
fn compaction_discards_the_recorded_count_and_reports_a_fresh_estimate() {
    let messages = build_messages(400, 6);
    let mut manager = ContextManager::new(window(1), 100);
    manager.update_token_count(97);
    let (result, event) = manager.maybe_compact(&messages, 0, "");
    let event = event.unwrap();
    assert_eq!(
        event.tokens_before, 97,
        "the backend count is the starting point"
    );
    assert_eq!(event.tokens_after, common::estimate(&result));
    assert_eq!(manager.observed_tokens(), None);
}

#[test]
fn the_backend_count_drives_the_first_trigger() {
    // 100 heuristic tokens are under 75 % of 1000, but the backend says 800.
    let messages = build_messages(400, 6);
    let mut manager = ContextManager::new(window(1), 1000);
    assert_eq!(manager.maybe_compact(&messages, 0, "").1, None);
    manager.update_token_count(800);
    assert!(manager.maybe_compact(&messages, 0, "").1.is_some());
}

#[test]
fn compact_in_place_replaces_history_only_when_it_changed() {
    let mut manager = ContextManager::new(window(1), 100);
    let mut history = build_messages(400, 6);
    assert!(manager.compact_in_place(&mut history, 0, "").is_some());
    assert_eq!(history.len(), 3);
    let before = history.clone();
    assert!(manager.compact_in_place(&mut history, 0, "").is_none());
    assert_eq!(history, before);
}

#[test]
fn a_manager_without_budget_never_compacts_or_warns() {
    let mut manager = ContextManager::without_budget();
    assert_eq!(manager.budget_tokens(), None);
    let messages = build_messages(4000, 6);
    assert_eq!(
        manager.maybe_compact(&messages, 0, ""),
        (messages.clone(), None)
    );
    assert_eq!(manager.check_thresholds(&messages), None);
    manager.update_token_count(12);
    assert_eq!(
        manager.estimate_tokens(&messages),
        12,
        "usage is still tracked"
    );
    assert!(ContextManager::without_budget()
        .with_default_context_warnings(&[0.5])
        .is_err());
}

#[test]
fn default_warning_texts_are_verbatim() {
    let cases = [
        ((4000, 8000, 0.5), "[Context usage: 50% (4,000 / 8,000 tokens). Be mindful of context usage.]"),
        (
            (5200, 8000, 0.65),
            "[Context usage: 65% (5,200 / 8,000 tokens). Context is filling up. When compaction triggers, older tool results and reasoning will be condensed. Be concise in your responses and front-load important information.]",
        ),
        (
            (6400, 8000, 0.8),
            "[Context usage: 80% (6,400 / 8,000 tokens). Context is nearly full. Older tool results and reasoning will be compacted soon \u{2014} key information may be lost. Summarize critical findings now and prioritize completing the current task.]",
        ),
        ((5, 8, 0.625), "[Context usage: 62% (5 / 8 tokens). Be mindful of context usage.]"),
        ((1_234_567, 2_000_000, 0.6172835), "[Context usage: 62% (1,234,567 / 2,000,000 tokens). Be mindful of context usage.]"),
    ];
    for ((tokens, budget, fraction), expected) in cases {
        assert_eq!(default_context_warning(tokens, budget, fraction), expected);
    }
    let over = default_context_warning(9000, 8000, 1.125);
    assert!(
        over.starts_with("[Context usage: 112% (9,000 / 8,000 tokens). Context is nearly full.")
    );
}

fn with_thresholds(thresholds: &[f64], budget: u64) -> ContextManager {
    ContextManager::new(NoCompact, budget)
        .with_default_context_warnings(thresholds)
        .unwrap()
}

#[test]
fn thresholds_need_both_thresholds_and_a_callback() {
    let mut plain = ContextManager::new(NoCompact, 1000);
    assert_eq!(plain.check_thresholds(&messages_at(1000, 0.6)), None);
    let mut empty = with_thresholds(&[], 1000);
    assert_eq!(empty.check_thresholds(&messages_at(1000, 0.6)), None);
}

#[test]
fn a_threshold_fires_once_and_re_arms_below() {
    let mut manager = with_thresholds(&[0.5], 1000);
    let sequence = [
        (0.4, None),
        (0.6, Some("60%")),
        (0.6, None),
        (0.3, None),
        (0.6, Some("60%")),
    ];
    for (step, (fraction, expected)) in sequence.into_iter().enumerate() {
        let warning = manager.check_thresholds(&messages_at(1000, fraction));
        let text = warning.as_ref().map(|w| w.text.as_str());
        match expected {
            Some(pct) => assert!(
                text.is_some_and(|t| t.contains(pct)),
                "call {step}: {text:?}"
            ),
            None => assert_eq!(text, None, "call {step}"),
        }
    }
}

#[test]
fn warning_carries_usage_and_becomes_a_transient_user_message() {
    let mut manager = with_thresholds(&[0.5], 1000);
    let warning = manager.check_thresholds(&messages_at(1000, 0.6)).unwrap();
    assert_eq!((warning.tokens, warning.budget_tokens), (601, 1000));
    assert!((warning.fraction - 0.601).abs() < 1e-12);
    let message = warning.to_message(7);
    assert_eq!(message.role, MessageRole::User);
    assert_eq!(message.metadata, MessageType::ContextWarning.at_step(7));
    assert_eq!(message.content, warning.text);
}

#[test]
fn the_threshold_callback_decides_the_text() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&calls);
    let mut manager = ContextManager::new(NoCompact, 1000)
        .with_context_thresholds(&[0.3, 0.5, 0.7], move |tokens, budget, fraction| {
            sink.lock().unwrap().push((tokens, budget, fraction));
            Some(format!("{tokens}/{budget}"))
        })
        .unwrap();
    let warning = manager.check_thresholds(&messages_at(1000, 0.6)).unwrap();
    assert_eq!(warning.text, "601/1000");
    assert_eq!(calls.lock().unwrap().len(), 1);

    let mut silent = ContextManager::new(NoCompact, 1000)
        .with_context_thresholds(&[0.5], |_, _, _| None)
        .unwrap();
    assert_eq!(silent.check_thresholds(&messages_at(1000, 0.6)), None);
    let mut empty = ContextManager::new(NoCompact, 1000)
        .with_context_thresholds(&[0.5], |_, _, _| Some(String::new()))
        .unwrap();
    assert_eq!(
        empty.check_thresholds(&messages_at(1000, 0.6)),
        None,
        "empty text is no warning"
    );
}

#[test]
fn zero_budget_never_warns() {
    let mut manager = with_thresholds(&[0.5], 0);
    assert_eq!(manager.check_thresholds(&messages_at(1000, 0.6)), None);
}

#[test]
fn thresholds_use_the_backend_count_when_known() {
    let mut manager = with_thresholds(&[0.5], 1000);
    manager.update_token_count(900);
    let warning = manager.check_thresholds(&messages_at(1000, 0.1)).unwrap();
    assert!(
        warning.text.contains("90% (900 / 1,000 tokens)"),
        "{}",
        warning.text
    );
}

#[test]
fn invalid_thresholds_are_rejected() {
    for bad in [-0.5, f64::NAN, f64::INFINITY] {
        assert!(ContextManager::new(NoCompact, 1000)
            .with_default_context_warnings(&[0.5, bad])
            .is_err());
    }
}

#[test]
fn climbing_through_bands_warns_at_each_new_band() {
    let mut manager = with_thresholds(&[0.8, 0.5, 0.65], 1000);
    let sequence = [
        (0.55, true),
        (0.6, false),
        (0.7, true),
        (0.75, false),
        (0.85, true),
        (0.9, false),
    ];
    for (fraction, fires) in sequence {
        let warning = manager.check_thresholds(&messages_at(1000, fraction));
        assert_eq!(warning.is_some(), fires, "at {fraction}");
    }
}
