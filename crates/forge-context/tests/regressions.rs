//! Reference defects (spec 00 "Parsing and context", spec 01 §13) that must stay fixed.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

mod common;

use std::sync::{Arc, Mutex};

use common::{assert_pairing_intact, build_messages, plain, realistic_history, BIG};
use forge_context::{
    find_eligible_end, CompactStrategy, Compaction, ContextManager, SlidingWindowCompact,
    TieredCompact,
};
use forge_types::{ApiFormat, CallId, Message, MessageType};
use serde_json::json;

#[test]
fn keep_recent_zero_protects_nothing() {
    let messages = plain(4);
    assert_eq!(find_eligible_end(&messages, 0), messages.len());
    let window = SlidingWindowCompact::new(0, 0.0).unwrap();
    let result = window.compact(&messages, BIG, "").into_messages(&messages);
    assert_eq!(
        result,
        messages[..2],
        "only the system prompt and user input stay"
    );
    let tiered = TieredCompact::new(0, 0.0).unwrap();
    let result = tiered.compact(&messages, BIG, "").into_messages(&messages);
    let kinds: Vec<MessageType> = result[2..].iter().map(|m| m.metadata.kind()).collect();
    assert_eq!(
        kinds,
        vec![MessageType::ToolCall; 4],
        "even the last iteration is compacted"
    );
}

/// A named strategy, history and budget.
type Case = (&'static str, Box<dyn CompactStrategy>, Vec<Message>, u64);

#[test]
fn no_event_when_nothing_changed() {
    // Over every trigger, but nothing outside the protected window can be removed: the
    // reference fired `on_compact` here with identical before/after counts.
    let cases: Vec<Case> = vec![
        (
            "tiered, only tool calls",
            Box::new(TieredCompact::new(2, 0.75).unwrap()),
            build_messages(800, 8),
            100,
        ),
        (
            "tiered, too few iterations",
            Box::new(TieredCompact::new(3, 0.0).unwrap()),
            plain(2),
            BIG,
        ),
        (
            "window, too few iterations",
            Box::new(SlidingWindowCompact::new(3, 0.0).unwrap()),
            plain(3),
            BIG,
        ),
        (
            "no step indices (a proxy transcript)",
            Box::new(TieredCompact::new(1, 0.0).unwrap()),
            {
                let mut messages = build_messages(2400, 8);
                for message in &mut messages[2..] {
                    message.metadata = MessageType::ToolResult.meta();
                }
                messages
            },
            BIG,
        ),
    ];
    for (name, strategy, messages, budget) in cases {
        let outcome = strategy.compact(&messages, budget, "");
        assert!(
            matches!(outcome, Compaction::NothingToRemove { .. }),
            "{name}: {outcome:?}"
        );
        let fired = Arc::new(Mutex::new(0));
        let counter = Arc::clone(&fired);
        let mut manager = ContextManager::new(BoxedStrategy(strategy), budget)
            .with_on_compact(move |_| *counter.lock().unwrap() += 1);
        manager.update_token_count(budget);
        let (result, event) = manager.maybe_compact(&messages, 0, "");
        assert_eq!((result, event), (messages, None), "{name}");
        assert_eq!(*fired.lock().unwrap(), 0, "{name}");
        assert_eq!(
            manager.observed_tokens(),
            Some(budget),
            "{name}: the count stays valid"
        );
    }
}

#[derive(Debug)]
struct BoxedStrategy(Box<dyn CompactStrategy>);

impl CompactStrategy for BoxedStrategy {
    fn compact_from(
        &self,
        messages: &[Message],
        budget: u64,
        initial: u64,
        hint: &str,
    ) -> Compaction {
        self.0.compact_from(messages, budget, initial, hint)
    }
}

#[test]
fn dropping_nudges_never_orphans_a_tool_call() {
    for (name, thresholds) in [
        ("phase 1", [0.0, 1.0, 1.0]),
        ("phase 2", [0.0, 0.0, 1.0]),
        ("phase 3", [0.0; 3]),
    ] {
        let strategy = TieredCompact::with_phase_thresholds(2, thresholds).unwrap();
        let result = strategy
            .compact(&realistic_history(), BIG, "")
            .into_messages(&[]);
        assert_pairing_intact(&result);
        let nudges = result.iter().filter(|m| {
            matches!(
                m.metadata.kind(),
                MessageType::StepNudge | MessageType::PrerequisiteNudge | MessageType::RetryNudge
            )
        });
        assert_eq!(
            nudges.count(),
            0,
            "{name}: no nudge stays in the eligible zone"
        );
        // On the wire every assistant tool call is followed by one reply per call.
        let wire: Vec<serde_json::Value> = result
            .iter()
            .map(|m| m.to_api_value(ApiFormat::OpenAi))
            .collect();
        for (index, message) in wire.iter().enumerate() {
            let Some(calls) = message["tool_calls"].as_array() else {
                continue;
            };
            let replies: Vec<&str> = wire[index + 1..index + 1 + calls.len()]
                .iter()
                .map(|reply| reply["tool_call_id"].as_str().unwrap())
                .collect();
            let ids: Vec<&str> = calls
                .iter()
                .map(|call| call["id"].as_str().unwrap())
                .collect();
            assert_eq!(replies, ids, "{name}: replies follow their calls");
        }
    }
}

#[test]
fn sliding_window_never_orphans_a_reply_or_a_call() {
    // Steps out of order put a reply after the boundary and its call before it.
    let id = CallId::from_counter(1);
    let call = common::call("lookup", 1, json!({}));
    let messages = vec![
        common::sys(),
        common::user_input(),
        Message::tool_calls(vec![call], MessageType::ToolCall.at_step(0)),
        Message::assistant("next", MessageType::Reasoning.at_step(1)),
        Message::tool_result(
            "lookup",
            id,
            "late reply",
            MessageType::ToolResult.at_step(2),
        ),
    ];
    let window = SlidingWindowCompact::new(2, 0.0).unwrap();
    let Compaction::Compacted {
        messages: result,
        changes,
        ..
    } = window.compact(&messages, BIG, "")
    else {
        panic!("the first iteration is eligible");
    };
    assert_pairing_intact(&result);
    assert_eq!(result.len(), 3, "the reply went with its call: {result:?}");
    assert_eq!(changes.dropped, 2);
}

#[test]
fn truncated_tool_result_keeps_name_and_call_id() {
    let history = realistic_history();
    let strategy = TieredCompact::with_phase_thresholds(2, [0.0, 1.0, 1.0]).unwrap();
    let result = strategy.compact(&history, BIG, "").into_messages(&history);
    let truncated: Vec<&Message> = result
        .iter()
        .filter(|m| m.content.contains("\n[Truncated — "))
        .collect();
    assert_eq!(truncated.len(), 1);
    let original = history
        .iter()
        .find(|m| m.tool_call_id == truncated[0].tool_call_id)
        .unwrap();
    assert_eq!(truncated[0].tool_name.as_deref(), Some("get_prices"));
    assert_eq!(truncated[0].tool_call_id, Some(CallId::from_counter(2)));
    assert_eq!(truncated[0].metadata, original.metadata);
    assert_eq!(truncated[0].role, original.role);
    let wire = truncated[0].to_api_value(ApiFormat::OpenAi);
    assert_eq!(wire["name"], "get_prices");
    assert_eq!(wire["tool_call_id"], "call_000000002");
}

#[test]
fn a_truncated_result_is_not_truncated_again() {
    let history = realistic_history();
    let strategy = TieredCompact::with_phase_thresholds(2, [0.0, 1.0, 1.0]).unwrap();
    let once = strategy.compact(&history, BIG, "").into_messages(&history);
    let mut longer = once.clone();
    longer.push(Message::assistant(
        "more",
        MessageType::Reasoning.at_step(7),
    ));
    let twice = strategy.compact(&longer, BIG, "").into_messages(&longer);
    let marker = |m: &[Message]| -> Vec<String> {
        m.iter()
            .filter(|m| m.content.contains("[Truncated"))
            .map(|m| m.content.clone())
            .collect()
    };
    assert_eq!(
        marker(&twice)[0],
        marker(&once)[0],
        "the original count survives"
    );
}

#[test]
fn crossing_several_thresholds_at_once_warns_once() {
    // The reference marked only the highest and repeated the same warning on the next calls.
    let mut manager = ContextManager::new(forge_context::NoCompact, 1000)
        .with_default_context_warnings(&[0.3, 0.5, 0.7])
        .unwrap();
    let at_60 = common::messages_at(1000, 0.6);
    assert!(manager.check_thresholds(&at_60).is_some());
    assert_eq!(manager.check_thresholds(&at_60), None);
    assert_eq!(manager.check_thresholds(&at_60), None);
}

#[test]
fn compaction_event_reports_fresh_tokens_after() {
    let mut manager = ContextManager::new(SlidingWindowCompact::new(1, 0.75).unwrap(), 100);
    manager.update_token_count(99);
    let (result, event) = manager.maybe_compact(&build_messages(400, 6), 0, "");
    let event = event.unwrap();
    assert_eq!(event.tokens_before, 99);
    assert_eq!(event.tokens_after, common::estimate(&result));
    assert!(event.tokens_after < event.tokens_before);
}
