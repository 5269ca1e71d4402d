//! Spec 01 §6: token estimate, iteration boundaries and the three built-in strategies.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

mod common;

use common::{build_history, plain, Flags, BIG};
use forge_context::{
    estimate_tokens, find_eligible_end, CompactStrategy, Compaction, NoCompact,
    SlidingWindowCompact, TieredCompact,
};
use forge_types::{Message, MessageRole, MessageType};

fn p1_only(keep_recent: usize) -> TieredCompact {
    TieredCompact::with_phase_thresholds(keep_recent, [0.0, 1.0, 1.0]).unwrap()
}

fn p1_p2(keep_recent: usize) -> TieredCompact {
    TieredCompact::with_phase_thresholds(keep_recent, [0.0, 0.0, 1.0]).unwrap()
}

fn all_phases(keep_recent: usize) -> TieredCompact {
    TieredCompact::new(keep_recent, 0.0).unwrap()
}

/// Runs `strategy` and returns the resulting history and phase (a copy when unchanged).
fn run(strategy: &dyn CompactStrategy, messages: &[Message], budget: u64) -> (Vec<Message>, u8) {
    let before = messages.to_vec();
    let outcome = strategy.compact(messages, budget, "");
    assert_eq!(messages, before.as_slice(), "the input is never mutated");
    let phase = outcome.phase_reached();
    (outcome.into_messages(messages), phase)
}

fn kinds(messages: &[Message]) -> Vec<MessageType> {
    messages.iter().map(|m| m.metadata.kind()).collect()
}

fn msg(content: &str, step: Option<u32>) -> Message {
    let meta = match step {
        Some(step) => MessageType::ToolResult.at_step(step),
        None => MessageType::StepNudge.meta(),
    };
    Message::new(MessageRole::User, content, meta)
}

#[test]
fn estimate_is_total_code_points_divided_by_four() {
    let check = |contents: &[&str], expected: u64| {
        let messages: Vec<Message> = contents.iter().map(|c| msg(c, Some(0))).collect();
        assert_eq!(estimate_tokens(&messages), expected, "{contents:?}");
    };
    check(&[], 0);
    check(&[&"a".repeat(41)], 10);
    check(&[&"a".repeat(100), &"b".repeat(200)], 75);
    // One division of the total: 3 + 3 chars is 1 token, not 0 + 0.
    check(&["abc", "def"], 1);
    // Code points, not bytes.
    check(&[&"ü".repeat(8)], 2);
    check(&["😀😀😀😀"], 1);
}

#[test]
fn tool_call_arguments_and_names_cost_nothing() {
    let history = common::realistic_history();
    let call_message = &history[5];
    assert!(call_message.tool_calls.is_some());
    assert_eq!(estimate_tokens(std::slice::from_ref(call_message)), 0);
}

#[test]
fn eligible_end_follows_iteration_boundaries() {
    // [sys, user, R0, C0, T0, N(none), C1, T1, C2, T2]
    let spec_example = {
        let at = |kind: MessageType, step: u32| Message::assistant("x", kind.at_step(step));
        vec![
            common::sys(),
            common::user_input(),
            at(MessageType::Reasoning, 0),
            at(MessageType::ToolCall, 0),
            at(MessageType::ToolResult, 0),
            msg("nudge", None),
            at(MessageType::ToolCall, 1),
            at(MessageType::ToolResult, 1),
            at(MessageType::ToolCall, 2),
            at(MessageType::ToolResult, 2),
        ]
    };
    let steps = |steps: &[Option<u32>]| -> Vec<Message> {
        let mut messages = vec![common::sys(), common::user_input()];
        messages.extend(steps.iter().map(|step| msg("m", *step)));
        messages
    };
    let cases: Vec<(&str, Vec<Message>, usize, usize)> = vec![
        ("spec example, keep 2", spec_example.clone(), 2, 6),
        ("spec example, keep 1", spec_example.clone(), 1, 8),
        ("spec example, keep 3", spec_example.clone(), 3, 2),
        ("reference fixture", plain(6), 2, 10),
        ("fewer iterations than keep_recent", plain(2), 3, 2),
        ("no step indices at all", steps(&[None, None, None]), 1, 2),
        (
            "only consecutive repeats collapse",
            steps(&[Some(0), Some(0), Some(1), Some(0)]),
            1,
            2,
        ),
        (
            "non-consecutive repeat counts again",
            steps(&[Some(0), Some(0), Some(1), Some(0)]),
            2,
            4,
        ),
        (
            "unstepped message before the boundary is eligible",
            steps(&[Some(0), None, Some(1)]),
            1,
            4,
        ),
        ("keep 0 protects nothing", plain(3), 0, 8),
        (
            "keep 0 with no step indices protects nothing",
            steps(&[None, None]),
            0,
            4,
        ),
        ("empty history", vec![], 2, 0),
        ("header only", vec![common::sys()], 0, 1),
    ];
    for (name, messages, keep_recent, expected) in cases {
        assert_eq!(
            find_eligible_end(&messages, keep_recent),
            expected,
            "{name}"
        );
    }
}

#[test]
fn no_compact_never_changes_anything() {
    for messages in [plain(3), vec![common::sys(), common::user_input()]] {
        let outcome = NoCompact.compact(&messages, BIG, "");
        assert_eq!(outcome, Compaction::NotNeeded);
        let (result, phase) = run(&NoCompact, &messages, 0);
        assert_eq!((result, phase), (messages, 0));
    }
}

#[test]
fn sliding_window_keeps_header_and_recent_iterations() {
    let messages = plain(6);
    assert_eq!(messages.len(), 14);
    let (result, phase) = run(&SlidingWindowCompact::new(2, 0.0).unwrap(), &messages, BIG);
    assert_eq!(phase, 1);
    assert_eq!(result.len(), 6);
    assert_eq!(result[0].metadata.kind(), MessageType::SystemPrompt);
    assert_eq!(result[1].metadata.kind(), MessageType::UserInput);
    assert_eq!(result[2], messages[messages.len() - 4]);
    assert_eq!(result.last(), messages.last());
}

#[test]
fn sliding_window_with_too_few_iterations_removes_nothing() {
    let window = SlidingWindowCompact::new(3, 0.0).unwrap();
    for pairs in [2, 3] {
        let messages = plain(pairs);
        let outcome = window.compact(&messages, BIG, "");
        assert_eq!(
            outcome,
            Compaction::NothingToRemove { phase_reached: 1 },
            "{pairs} pairs"
        );
    }
}

#[test]
fn under_the_trigger_nothing_is_needed() {
    let messages = plain(3);
    let strategies: [&dyn CompactStrategy; 2] = [
        &SlidingWindowCompact::new(1, 0.99).unwrap(),
        &TieredCompact::new(2, 0.99).unwrap(),
    ];
    for strategy in strategies {
        assert_eq!(
            strategy.compact(&messages, BIG, ""),
            Compaction::NotNeeded,
            "{strategy:?}"
        );
    }
}

#[test]
fn trigger_is_budget_times_fraction_truncated() {
    // Usage one token under trunc(budget × 0.75) does not compact; usage at it does.
    let mut messages = plain(3);
    let tokens = estimate_tokens(&messages);
    let budget = (tokens as f64 / 0.75).ceil() as u64 + 1;
    let tiered = TieredCompact::new(1, 0.75).unwrap();
    let trigger = (budget as f64 * 0.75) as u64;
    assert!(tokens < trigger, "{tokens} < {trigger}");
    assert_eq!(tiered.compact(&messages, budget, ""), Compaction::NotNeeded);
    messages[1]
        .content
        .push_str(&"y".repeat(((trigger - tokens) * 4) as usize));
    assert_eq!(estimate_tokens(&messages), trigger);
    assert!(
        tiered.compact(&messages, budget, "").phase_reached() >= 1,
        "at the trigger compacts"
    );
}

#[test]
fn phase_one_drops_nudges_before_the_protected_window() {
    let messages = build_history(
        6,
        Flags {
            nudges: true,
            ..Flags::default()
        },
    );
    let (result, phase) = run(&p1_only(2), &messages, BIG);
    assert_eq!(phase, 1);
    let end = find_eligible_end(&result, 2);
    assert!(!kinds(&result[2..end]).contains(&MessageType::StepNudge));
    let protected_from = find_eligible_end(&messages, 2);
    assert_eq!(
        result[end..],
        messages[protected_from..],
        "protected window untouched"
    );
}

#[test]
fn phase_one_truncates_long_results_to_200_chars() {
    let long = format!("Header line\n{}", "x".repeat(400));
    let mut messages = vec![common::sys(), common::user_input()];
    for step in 0..4 {
        messages.push(Message::assistant(
            format!("call {step}"),
            MessageType::ToolCall.at_step(step),
        ));
        messages.push(Message::user(
            long.clone(),
            MessageType::ToolResult.at_step(step),
        ));
    }
    let (result, phase) = run(&p1_only(1), &messages, BIG);
    assert_eq!(phase, 1);
    let end = find_eligible_end(&result, 1);
    let results: Vec<&Message> = result[2..end]
        .iter()
        .filter(|m| m.metadata.kind() == MessageType::ToolResult)
        .collect();
    assert_eq!(results.len(), 3);
    for message in results {
        let (kept, marker) = message.content.split_once("\n[Truncated —").unwrap();
        assert_eq!(kept.chars().count(), 200);
        assert_eq!(marker, " 212 chars removed]");
    }
    assert_eq!(
        result.last(),
        messages.last(),
        "the protected result is whole"
    );
}

#[test]
fn phase_one_keeps_short_results_text_and_header() {
    let messages = build_history(
        4,
        Flags {
            nudges: true,
            text_response: true,
            ..Flags::default()
        },
    );
    let (result, phase) = run(&p1_only(2), &messages, BIG);
    assert_eq!(phase, 1);
    assert_eq!(result[..2], messages[..2]);
    let text = |m: &[Message]| {
        m.iter()
            .filter(|m| m.metadata.kind() == MessageType::TextResponse)
            .count()
    };
    assert_eq!(text(&result), text(&messages));
    assert!(
        result.iter().all(|m| !m.content.contains("[Truncated")),
        "short results stay"
    );
}

#[test]
fn phase_two_drops_eligible_results_but_keeps_reasoning_text_and_calls() {
    let flags = Flags {
        long_results: true,
        reasoning: true,
        text_response: true,
        ..Flags::default()
    };
    let messages = build_history(6, flags);
    let (result, phase) = run(&p1_p2(2), &messages, BIG);
    assert_eq!(phase, 2);
    let end = find_eligible_end(&result, 2);
    let zone = kinds(&result[2..end]);
    assert!(!zone.contains(&MessageType::ToolResult));
    let count = |m: &[Message], kind| m.iter().filter(|m| m.metadata.kind() == kind).count();
    for kind in [
        MessageType::Reasoning,
        MessageType::TextResponse,
        MessageType::ToolCall,
    ] {
        assert_eq!(count(&result, kind), count(&messages, kind), "{kind:?}");
    }
    let reasoning = |m: &[Message]| -> Vec<String> {
        m.iter()
            .filter(|m| m.metadata.kind() == MessageType::Reasoning)
            .map(|m| m.content.clone())
            .collect()
    };
    assert_eq!(reasoning(&result), reasoning(&messages));
    let protected_from = find_eligible_end(&messages, 2);
    assert_eq!(result[end..], messages[protected_from..]);
}

#[test]
fn phase_three_leaves_only_the_tool_call_skeleton() {
    let flags = Flags {
        long_results: true,
        reasoning: true,
        text_response: true,
        ..Flags::default()
    };
    let messages = build_history(8, flags);
    let (result, phase) = run(&all_phases(2), &messages, BIG);
    assert_eq!(phase, 3);
    assert_eq!(result[0], messages[0]);
    assert_eq!(result[1], messages[1]);
    let end = find_eligible_end(&result, 2);
    assert_eq!(kinds(&result[2..end]), vec![MessageType::ToolCall; 6]);
    let protected_from = find_eligible_end(&messages, 2);
    assert_eq!(result[end..], messages[protected_from..]);
}

#[test]
fn all_phases_with_nothing_eligible_removes_nothing() {
    let messages = plain(2);
    let outcome = all_phases(3).compact(&messages, BIG, "");
    assert_eq!(outcome, Compaction::NothingToRemove { phase_reached: 3 });
}

#[test]
fn phase_reached_follows_the_triggers() {
    let messages = build_history(
        3,
        Flags {
            long_results: true,
            nudges: true,
            ..Flags::default()
        },
    );
    let cases: [(&str, TieredCompact, u8); 3] = [
        ("phase 1 only", p1_only(2), 1),
        ("phases 1 and 2", p1_p2(2), 2),
        ("all phases", all_phases(2), 3),
    ];
    for (name, strategy, expected) in cases {
        assert_eq!(run(&strategy, &messages, BIG).1, expected, "{name}");
    }
}

#[test]
fn escalation_matches_the_spec_worked_example() {
    // Budget 1000, triggers (0.6, 0.75, 0.9) → 600 / 750 / 900 tokens.
    let tiered = TieredCompact::with_phase_thresholds(0, [0.6, 0.75, 0.9]).unwrap();
    let history = |tokens_of_results: u64, tokens_of_text: u64| {
        vec![
            common::sys(),
            common::user_input(),
            Message::assistant(
                "t".repeat(tokens_of_text as usize * 4),
                MessageType::TextResponse.at_step(0),
            ),
            Message::user(
                "r".repeat(tokens_of_results as usize * 4),
                MessageType::ToolResult.at_step(0),
            ),
        ]
    };
    // The fixed header is 56 chars = 14 tokens.
    let cases = [
        ("590 → under the first trigger", history(300, 276), 0),
        (
            "950 → truncation leaves ~760 ≥ 750 → dropping results leaves ~700 < 900",
            history(240, 696),
            2,
        ),
        ("700 → truncation gets under 750", history(300, 386), 1),
        ("1000 of reasoning → only phase 3 helps", history(0, 986), 3),
    ];
    for (name, messages, expected) in cases {
        assert_eq!(
            tiered.compact(&messages, 1000, "").phase_reached(),
            expected,
            "{name}"
        );
    }
}

#[test]
fn the_first_trigger_uses_the_initial_count_given() {
    let messages = plain(4);
    let tiered = p1_only(2);
    let budget = estimate_tokens(&messages) * 100;
    let strict = TieredCompact::new(2, 0.5).unwrap();
    assert_eq!(strict.compact(&messages, budget, ""), Compaction::NotNeeded);
    // A backend-reported count over the trigger starts compaction although the heuristic would not.
    assert!(
        strict
            .compact_from(&messages, budget, budget, "")
            .phase_reached()
            >= 1
    );
    assert!(
        tiered
            .compact_from(&messages, budget, 0, "")
            .phase_reached()
            >= 1
    );
}

#[test]
fn thresholds_must_be_finite_and_non_negative() {
    for bad in [-0.1, f64::NAN, f64::INFINITY] {
        assert!(TieredCompact::new(2, bad).is_err(), "{bad}");
        assert!(
            TieredCompact::with_phase_thresholds(2, [0.5, bad, 0.9]).is_err(),
            "{bad}"
        );
        assert!(SlidingWindowCompact::new(2, bad).is_err(), "{bad}");
    }
    // Neither ascending nor ≤ 1 is required.
    assert!(TieredCompact::with_phase_thresholds(2, [0.9, 0.6, 1.5]).is_ok());
    assert_eq!(TieredCompact::default().phase_thresholds(), [0.75; 3]);
    assert_eq!(TieredCompact::default().keep_recent(), 2);
}

#[test]
fn step_hint_is_ignored_by_built_in_strategies() {
    let messages = build_history(
        4,
        Flags {
            long_results: true,
            ..Flags::default()
        },
    );
    for strategy in [p1_only(1), p1_p2(1), all_phases(1)] {
        assert_eq!(
            strategy.compact(&messages, BIG, ""),
            strategy.compact(&messages, BIG, "[Steps completed: tool_0]")
        );
    }
}
