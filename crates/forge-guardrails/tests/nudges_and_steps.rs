//! Nudge texts, the `Nudge` value, `StepTracker`, `StepEnforcer`, `ErrorTracker` and the respond
//! tool: the behaviours pinned by the reference tests (spec 03 §18.1, §18.3–§18.6, §18.11).
#![allow(clippy::unwrap_used)]

use forge_guardrails::{
    partition_respond_calls, prerequisite_nudge, respond_message, respond_spec, retry_nudge,
    step_nudge, unknown_tool_nudge, ErrorTracker, Gate, Nudge, NudgeKind, StepEnforcer,
    StepTracker, RESPOND_TOOL_NAME,
};
use forge_types::{
    json_object, CallId, ForgeError, JsonObject, MessageRole, MessageType, Prerequisite, ToolCall,
    ToolCallInfo,
};
use serde_json::{json, Value};

fn args(value: Value) -> JsonObject {
    json_object(value).unwrap()
}

fn call(tool: &str) -> ToolCall {
    ToolCall::new(tool, JsonObject::new())
}

fn call_with(tool: &str, value: Value) -> ToolCall {
    ToolCall::new(tool, args(value))
}

fn batch(tools: &[&str]) -> Vec<ToolCall> {
    tools.iter().map(|t| call(t)).collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------- nudge texts (§2, §18.3)

#[test]
fn nudge_texts_are_the_reference_wire_strings() {
    let cases: Vec<(String, &str)> = vec![
        (
            retry_nudge("I think the answer is 42"),
            "Your previous response was not a valid tool call. You must respond with a tool call, not free text. Please try again with a valid tool call.",
        ),
        (
            unknown_tool_nudge("get_data", &["fetch", "submit"]),
            "Tool 'get_data' does not exist. Available tools: fetch, submit. Call one of them.",
        ),
        (
            unknown_tool_nudge::<&str>("x", &[]),
            "Tool 'x' does not exist. Available tools: . Call one of them.",
        ),
        (
            step_nudge("submit", &["fetch"], 1),
            "You cannot call submit yet. You must first complete these required steps: fetch. Call one of them now.",
        ),
        (
            step_nudge("submit", &["fetch"], 2),
            "You must call one of these tools now: fetch. Pick one.",
        ),
        (
            step_nudge("submit", &["fetch"], 3),
            "STOP. You MUST call one of: fetch. Do NOT call submit. Your next response MUST be a tool call to one of: fetch.",
        ),
        (
            prerequisite_nudge("edit_file", &["read_file"]),
            "You cannot call edit_file yet. You must first call: read_file. Call the prerequisite tool now.",
        ),
        (
            prerequisite_nudge("edit_file", &["read_file", "authenticate"]),
            "You cannot call edit_file yet. You must first call: read_file, authenticate. Call the prerequisite tool now.",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
}

#[test]
fn retry_nudge_never_echoes_the_raw_response() {
    let text = retry_nudge("I think the answer is 42");
    assert!(!text.contains("I think the answer is 42"));
    assert!(text.to_lowercase().contains("tool call"));
}

#[test]
fn step_nudge_tier_is_clamped_into_one_to_three() {
    let pending = ["get_data", "analyze"];
    assert_eq!(
        step_nudge("submit", &pending, 0),
        step_nudge("submit", &pending, 1)
    );
    assert_eq!(
        step_nudge("submit", &pending, -4),
        step_nudge("submit", &pending, 1)
    );
    assert_eq!(
        step_nudge("submit", &pending, 5),
        step_nudge("submit", &pending, 3)
    );
    let tier2 = step_nudge("submit", &pending, 2).to_lowercase();
    assert!(tier2.contains("must call one of these tools now"));
    assert!(tier2.contains("get_data") && tier2.contains("analyze"));
    let tier3 = step_nudge("submit", &pending, 3);
    assert!(tier3.contains("STOP") && tier3.contains("Do NOT call submit"));
}

// ------------------------------------------------------------------ Nudge value (§3, §18.1)

#[test]
fn nudge_defaults_to_tier_zero_and_keeps_an_explicit_tier() {
    let nudge = Nudge::new(NudgeKind::Retry, "x");
    assert_eq!(
        (nudge.kind(), nudge.content(), nudge.tier()),
        (NudgeKind::Retry, "x", 0)
    );
    assert_eq!(Nudge::new(NudgeKind::Step, "x").with_tier(2).tier(), 2);
}

#[test]
fn nudge_kinds_map_to_channel_type_and_prefix() {
    let table = [
        (
            NudgeKind::Retry,
            "retry",
            MessageRole::User,
            MessageType::RetryNudge,
            "",
        ),
        (
            NudgeKind::UnknownTool,
            "unknown_tool",
            MessageRole::Tool,
            MessageType::RetryNudge,
            "[UnknownTool] ",
        ),
        (
            NudgeKind::Step,
            "step",
            MessageRole::Tool,
            MessageType::StepNudge,
            "[StepEnforcementError] ",
        ),
        (
            NudgeKind::Prerequisite,
            "prerequisite",
            MessageRole::Tool,
            MessageType::PrerequisiteNudge,
            "[PrerequisiteError] ",
        ),
    ];
    for (kind, name, role, message_type, prefix) in table {
        assert_eq!(kind.as_str(), name);
        assert_eq!(kind.role(), role, "{name}");
        assert_eq!(kind.message_type(), message_type, "{name}");
        assert_eq!(kind.wire_prefix(), prefix, "{name}");
    }
}

#[test]
fn prerequisite_wire_prefix_is_prerequisite_error_not_prereq_error() {
    let nudge = Nudge::new(
        NudgeKind::Prerequisite,
        prerequisite_nudge("edit_file", &["read_file"]),
    );
    assert!(nudge
        .wire_content()
        .starts_with("[PrerequisiteError] You cannot call edit_file yet."));
    assert!(!nudge.wire_content().contains("[PrereqError]"));
}

#[test]
fn tool_channel_nudge_answers_every_call_of_the_batch() {
    let infos = vec![
        ToolCallInfo::new("fetch", JsonObject::new(), CallId::from_counter(0)),
        ToolCallInfo::new("submit", JsonObject::new(), CallId::from_counter(1)),
    ];
    let nudge = Nudge::new(NudgeKind::Step, step_nudge("submit", &["fetch"], 1)).with_tier(1);
    let replies = nudge.delivery(&infos, Some(1));
    assert_eq!(replies.len(), 2);
    for (reply, info) in replies.iter().zip(&infos) {
        assert_eq!(reply.role, MessageRole::Tool);
        assert_eq!(reply.tool_call_id.as_ref(), Some(&info.call_id));
        assert_eq!(reply.tool_name.as_deref(), Some(info.name.as_str()));
        assert_eq!(reply.metadata.kind(), MessageType::StepNudge);
        assert_eq!(reply.metadata.step_index(), Some(1));
        assert!(reply
            .content
            .starts_with("[StepEnforcementError] You cannot call submit yet"));
    }
    let retry = Nudge::new(NudgeKind::Retry, retry_nudge("")).delivery(&[], Some(0));
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].role, MessageRole::User);
    assert_eq!(retry[0].content, retry_nudge(""));
}

// ------------------------------------------------------------------- StepTracker (§5, §18.4)

#[test]
fn step_tracker_satisfaction_and_pending_order() {
    struct Case {
        required: &'static [&'static str],
        record: &'static [&'static str],
        satisfied: bool,
        pending: &'static [&'static str],
    }
    let cases = [
        Case {
            required: &[],
            record: &[],
            satisfied: true,
            pending: &[],
        },
        Case {
            required: &["get_pricing", "get_history"],
            record: &["get_pricing"],
            satisfied: false,
            pending: &["get_history"],
        },
        Case {
            required: &["get_pricing", "get_history"],
            record: &["get_pricing", "get_history"],
            satisfied: true,
            pending: &[],
        },
        Case {
            required: &["step_a", "step_b", "step_c"],
            record: &["step_b"],
            satisfied: false,
            pending: &["step_a", "step_c"],
        },
        Case {
            required: &["z_step", "a_step", "m_step"],
            record: &["a_step"],
            satisfied: false,
            pending: &["z_step", "m_step"],
        },
        Case {
            required: &["step_a"],
            record: &["step_a", "step_a"],
            satisfied: true,
            pending: &[],
        },
        Case {
            required: &["step_a"],
            record: &["unrelated_tool"],
            satisfied: false,
            pending: &["step_a"],
        },
    ];
    for case in cases {
        let mut tracker = StepTracker::new(names(case.required));
        for tool in case.record {
            tracker.record(tool, JsonObject::new());
        }
        assert_eq!(tracker.is_satisfied(), case.satisfied, "{:?}", case.record);
        assert_eq!(tracker.pending(), names(case.pending), "{:?}", case.record);
    }
}

#[test]
fn step_tracker_completed_set_is_first_success_order_without_duplicates() {
    let mut tracker = StepTracker::new(names(&["step_a"]));
    for tool in ["step_a", "step_a", "unrelated_tool"] {
        tracker.record(tool, JsonObject::new());
    }
    let completed: Vec<&String> = tracker.completed_steps().iter().collect();
    assert_eq!(completed, ["step_a", "unrelated_tool"]);
    assert_eq!(tracker.executions("step_a").len(), 2);
}

#[test]
fn summary_hint_lists_tools_in_first_completion_order() {
    let cases: [(&[&str], &str); 4] = [
        (&[], "[No steps completed yet]"),
        (
            &["get_pricing", "get_history"],
            "[Steps completed: get_pricing, get_history]",
        ),
        (&["z_tool", "a_tool"], "[Steps completed: z_tool, a_tool]"),
        (
            &["b_step", "c_step", "a_step", "b_step"],
            "[Steps completed: b_step, c_step, a_step]",
        ),
    ];
    for (record, hint) in cases {
        let mut tracker = StepTracker::new(Vec::new());
        for tool in record {
            tracker.record(tool, JsonObject::new());
        }
        assert_eq!(tracker.summary_hint(), hint);
    }
}

#[test]
fn prerequisite_checks_by_name_and_by_argument() {
    let read_path = || Prerequisite::ArgMatched {
        tool: "read_file".into(),
        match_arg: "path".into(),
    };
    struct Case {
        recorded: Vec<(&'static str, Value)>,
        prerequisites: Vec<Prerequisite>,
        args: Value,
        missing: &'static [&'static str],
    }
    let cases = vec![
        Case {
            recorded: vec![],
            prerequisites: vec![Prerequisite::Tool("read_file".into())],
            args: json!({}),
            missing: &["read_file"],
        },
        Case {
            recorded: vec![("read_file", json!({"path": "bar.py"}))],
            prerequisites: vec![Prerequisite::Tool("read_file".into())],
            args: json!({"path": "foo.py"}),
            missing: &[],
        },
        Case {
            recorded: vec![("read_file", json!({"path": "other.py"}))],
            prerequisites: vec![read_path()],
            args: json!({"path": "foo.py"}),
            missing: &["read_file"],
        },
        Case {
            recorded: vec![("read_file", json!({"path": "foo.py"}))],
            prerequisites: vec![read_path()],
            args: json!({"path": "foo.py"}),
            missing: &[],
        },
        Case {
            recorded: vec![],
            prerequisites: vec![read_path()],
            args: json!({"path": "foo.py"}),
            missing: &["read_file"],
        },
        // absent on both sides compares as null == null: satisfied (reference behaviour)
        Case {
            recorded: vec![("read_file", json!({}))],
            prerequisites: vec![read_path()],
            args: json!({}),
            missing: &[],
        },
        // numbers compare by value
        Case {
            recorded: vec![("open", json!({"id": 1}))],
            prerequisites: vec![Prerequisite::ArgMatched {
                tool: "open".into(),
                match_arg: "id".into(),
            }],
            args: json!({"id": 1.0}),
            missing: &[],
        },
        // a name entry and an arg entry for the same tool can both report it
        Case {
            recorded: vec![],
            prerequisites: vec![Prerequisite::Tool("read_file".into()), read_path()],
            args: json!({"path": "a"}),
            missing: &["read_file", "read_file"],
        },
        Case {
            recorded: vec![("authenticate", json!({}))],
            prerequisites: vec![Prerequisite::Tool("authenticate".into()), read_path()],
            args: json!({"path": "foo.py"}),
            missing: &["read_file"],
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let mut tracker = StepTracker::new(Vec::new());
        for (tool, value) in case.recorded {
            tracker.record(tool, args(value));
        }
        let check = tracker.check_prerequisites(&args(case.args), &case.prerequisites);
        assert_eq!(check.missing, names(case.missing), "case {i}");
        assert_eq!(check.is_satisfied(), case.missing.is_empty(), "case {i}");
    }
}

// ------------------------------------------------------------------ StepEnforcer (§6, §18.5)

fn default_enforcer() -> StepEnforcer {
    StepEnforcer::new(names(&["search", "lookup"]), ["answer"])
}

#[test]
fn premature_terminal_calls_escalate_through_three_tiers() {
    let mut enforcer = default_enforcer();
    let tiers: Vec<u8> = (0..5)
        .map(|_| enforcer.check(&batch(&["answer"])).unwrap().tier())
        .collect();
    assert_eq!(tiers, [1, 2, 3, 3, 3]);
    assert_eq!(enforcer.premature_attempts(), 5);
}

#[test]
fn step_check_table() {
    struct Case {
        recorded: &'static [&'static str],
        batch: &'static [&'static str],
        nudge_contains: Option<&'static str>,
    }
    let cases = [
        Case {
            recorded: &[],
            batch: &["search"],
            nudge_contains: None,
        },
        Case {
            recorded: &[],
            batch: &["answer"],
            nudge_contains: Some("You cannot call answer yet"),
        },
        Case {
            recorded: &["search", "lookup"],
            batch: &["answer"],
            nudge_contains: None,
        },
        Case {
            recorded: &["search"],
            batch: &["answer"],
            nudge_contains: Some("lookup"),
        },
        Case {
            recorded: &[],
            batch: &["search", "lookup"],
            nudge_contains: None,
        },
        // judged on the state before the batch: the sibling search does not count yet
        Case {
            recorded: &[],
            batch: &["search", "answer"],
            nudge_contains: Some("search, lookup"),
        },
    ];
    for case in cases {
        let mut enforcer = default_enforcer();
        for tool in case.recorded {
            enforcer.record(tool, JsonObject::new());
        }
        let nudge = enforcer.check(&batch(case.batch));
        match (nudge, case.nudge_contains) {
            (None, None) => {}
            (Some(nudge), Some(text)) => {
                assert_eq!(nudge.kind(), NudgeKind::Step);
                assert_eq!(nudge.role(), MessageRole::Tool);
                assert_eq!(nudge.tier(), 1);
                assert!(nudge.content().contains(text), "{}", nudge.content());
            }
            (got, want) => panic!("{:?}: got {got:?}, wanted {want:?}", case.batch),
        }
    }
}

#[test]
fn enforcer_delegates_step_state_to_the_tracker() {
    let mut enforcer = default_enforcer();
    assert!(!enforcer.is_satisfied());
    assert!(enforcer.tracker().completed_steps().is_empty());
    enforcer.record("search", JsonObject::new());
    assert_eq!(enforcer.pending(), ["lookup"]);
    enforcer.record("search", JsonObject::new());
    assert_eq!(enforcer.pending(), ["lookup"]);
    enforcer.record("other_tool", JsonObject::new());
    assert!(enforcer.tracker().completed_steps().contains("search"));
    assert!(!enforcer.tracker().completed_steps().contains("lookup"));
    enforcer.record("lookup", JsonObject::new());
    assert!(enforcer.is_satisfied());
    assert!(enforcer.pending().is_empty());
}

#[test]
fn terminal_reached_needs_a_terminal_call_and_satisfied_steps() {
    let mut enforcer = StepEnforcer::new(names(&["search"]), ["answer"]);
    assert!(!enforcer.terminal_reached(&batch(&["answer"])));
    enforcer.record("search", JsonObject::new());
    assert!(enforcer.terminal_reached(&batch(&["answer"])));
    assert!(!enforcer.terminal_reached(&batch(&["search"])));
}

#[test]
fn premature_budget_allows_n_and_the_next_one_exhausts() {
    let mut enforcer = default_enforcer().with_max_premature_attempts(2);
    assert_eq!(enforcer.premature_attempts(), 0);
    enforcer.check(&batch(&["answer"]));
    enforcer.check(&batch(&["answer"]));
    assert_eq!(enforcer.premature_attempts(), 2);
    assert!(!enforcer.premature_exhausted());
    enforcer.check(&batch(&["answer"]));
    assert!(enforcer.premature_exhausted());
    enforcer.reset_premature();
    assert_eq!(enforcer.premature_attempts(), 0);
    assert!(!enforcer.premature_exhausted());
    assert_eq!(enforcer.check(&batch(&["answer"])).unwrap().tier(), 1);
}

#[test]
fn no_required_steps_never_blocks_a_terminal() {
    let mut enforcer = StepEnforcer::new(Vec::new(), ["answer"]);
    assert!(enforcer.is_satisfied());
    assert!(enforcer.check(&batch(&["answer"])).is_none());
}

#[test]
fn several_terminal_tools_each_block_and_each_complete() {
    let fresh = || StepEnforcer::new(names(&["gather_data"]), ["set_ac", "no_action"]);
    for terminal in ["set_ac", "no_action"] {
        let nudge = fresh().check(&batch(&[terminal])).unwrap();
        assert!(nudge.content().contains(terminal), "{}", nudge.content());
    }
    let mut enforcer = fresh();
    enforcer.record("gather_data", JsonObject::new());
    assert!(enforcer.terminal_reached(&batch(&["set_ac"])));
    assert!(enforcer.terminal_reached(&batch(&["no_action"])));
    assert!(enforcer.check(&batch(&["gather_data"])).is_none());
    assert!(!enforcer.terminal_reached(&batch(&["gather_data"])));
}

fn prereq_enforcer(prerequisites: Vec<Prerequisite>) -> StepEnforcer {
    StepEnforcer::new(Vec::new(), ["respond"])
        .with_prerequisites([("edit_file".to_string(), prerequisites)])
}

#[test]
fn prerequisite_check_table() {
    let by_name = || vec![Prerequisite::Tool("read_file".into())];
    let by_path = || {
        vec![Prerequisite::ArgMatched {
            tool: "read_file".into(),
            match_arg: "path".into(),
        }]
    };
    let mixed = || {
        vec![
            Prerequisite::Tool("authenticate".into()),
            by_path().remove(0),
        ]
    };
    struct Case {
        prerequisites: Vec<Prerequisite>,
        recorded: Vec<(&'static str, Value)>,
        batch: Vec<ToolCall>,
        nudge_contains: Option<&'static str>,
    }
    let edit = |path: &str| call_with("edit_file", json!({"path": path}));
    let cases = vec![
        Case {
            prerequisites: by_name(),
            recorded: vec![],
            batch: vec![edit("foo.py")],
            nudge_contains: Some("read_file"),
        },
        Case {
            prerequisites: by_name(),
            recorded: vec![("read_file", json!({"path": "bar.py"}))],
            batch: vec![edit("foo.py")],
            nudge_contains: None,
        },
        Case {
            prerequisites: by_name(),
            recorded: vec![],
            batch: vec![call_with("read_file", json!({"path": "foo.py"}))],
            nudge_contains: None,
        },
        Case {
            prerequisites: by_path(),
            recorded: vec![("read_file", json!({"path": "other.py"}))],
            batch: vec![edit("foo.py")],
            nudge_contains: Some("read_file"),
        },
        Case {
            prerequisites: by_path(),
            recorded: vec![("read_file", json!({"path": "foo.py"}))],
            batch: vec![edit("foo.py")],
            nudge_contains: None,
        },
        Case {
            prerequisites: by_path(),
            recorded: vec![],
            batch: vec![edit("foo.py")],
            nudge_contains: Some("read_file"),
        },
        Case {
            prerequisites: by_path(),
            recorded: vec![
                ("read_file", json!({"path": "a.py"})),
                ("read_file", json!({"path": "b.py"})),
            ],
            batch: vec![edit("a.py")],
            nudge_contains: None,
        },
        Case {
            prerequisites: by_path(),
            recorded: vec![
                ("read_file", json!({"path": "a.py"})),
                ("read_file", json!({"path": "b.py"})),
            ],
            batch: vec![edit("b.py")],
            nudge_contains: None,
        },
        Case {
            prerequisites: by_path(),
            recorded: vec![
                ("read_file", json!({"path": "a.py"})),
                ("read_file", json!({"path": "b.py"})),
            ],
            batch: vec![edit("c.py")],
            nudge_contains: Some("read_file"),
        },
        Case {
            prerequisites: mixed(),
            recorded: vec![],
            batch: vec![edit("foo.py")],
            nudge_contains: Some("authenticate"),
        },
        Case {
            prerequisites: mixed(),
            recorded: vec![("authenticate", json!({}))],
            batch: vec![edit("foo.py")],
            nudge_contains: Some("You must first call: read_file."),
        },
        Case {
            prerequisites: mixed(),
            recorded: vec![
                ("authenticate", json!({})),
                ("read_file", json!({"path": "foo.py"})),
            ],
            batch: vec![edit("foo.py")],
            nudge_contains: None,
        },
        // whole-batch blocking: the read in the same batch does not count yet
        Case {
            prerequisites: by_path(),
            recorded: vec![],
            batch: vec![
                call_with("read_file", json!({"path": "foo.py"})),
                edit("foo.py"),
            ],
            nudge_contains: Some("edit_file"),
        },
        Case {
            prerequisites: vec![],
            recorded: vec![],
            batch: vec![edit("foo.py")],
            nudge_contains: None,
        },
    ];
    for (i, case) in cases.into_iter().enumerate() {
        let mut enforcer = prereq_enforcer(case.prerequisites);
        for (tool, value) in case.recorded {
            enforcer.record(tool, args(value));
        }
        match (
            enforcer.check_prerequisites(&case.batch),
            case.nudge_contains,
        ) {
            (None, None) => {}
            (Some(nudge), Some(text)) => {
                assert_eq!(nudge.kind(), NudgeKind::Prerequisite, "case {i}");
                assert!(
                    nudge.content().contains(text),
                    "case {i}: {}",
                    nudge.content()
                );
            }
            (got, want) => panic!("case {i}: got {got:?}, wanted {want:?}"),
        }
    }
}

#[test]
fn prerequisite_budget_allows_n_and_the_next_one_exhausts() {
    let violating = || vec![call_with("edit_file", json!({"path": "x"}))];
    let mut enforcer = prereq_enforcer(vec![Prerequisite::Tool("read_file".into())]);
    assert_eq!(enforcer.prereq_violations(), 0);
    enforcer.check_prerequisites(&violating());
    assert_eq!(enforcer.prereq_violations(), 1);
    enforcer.check_prerequisites(&violating());
    assert!(!enforcer.prereq_exhausted());
    enforcer.check_prerequisites(&violating());
    assert!(enforcer.prereq_exhausted());

    let mut enforcer =
        prereq_enforcer(vec![Prerequisite::Tool("read_file".into())]).with_max_prereq_violations(1);
    enforcer.check_prerequisites(&violating());
    enforcer.check_prerequisites(&violating());
    assert!(enforcer.prereq_exhausted());
    enforcer.reset_prereq_violations();
    assert_eq!(enforcer.prereq_violations(), 0);
    assert!(!enforcer.prereq_exhausted());
}

#[test]
fn gate_turns_exhaustion_into_typed_errors() {
    let mut enforcer = StepEnforcer::new(names(&["fetch"]), ["submit"]);
    for _ in 0..3 {
        assert!(matches!(
            enforcer.gate(&batch(&["submit"])),
            Gate::Blocked(_)
        ));
    }
    match enforcer.gate(&batch(&["submit"])) {
        Gate::Exhausted(error @ ForgeError::StepEnforcement { .. }) => assert_eq!(
            error.to_string(),
            r#"Model called 'submit' prematurely 4 times without completing required steps: ["fetch"]"#
        ),
        other => panic!("{other:?}"),
    }

    let mut enforcer = prereq_enforcer(vec![Prerequisite::ArgMatched {
        tool: "read_file".into(),
        match_arg: "path".into(),
    }]);
    let edit = || vec![call_with("edit_file", json!({"path": "a.py"}))];
    assert!(
        matches!(enforcer.gate(&edit()), Gate::Blocked(n) if n.kind() == NudgeKind::Prerequisite)
    );
    assert!(matches!(enforcer.gate(&edit()), Gate::Blocked(_)));
    match enforcer.gate(&edit()) {
        Gate::Exhausted(ForgeError::Prerequisite {
            tool_name,
            violations,
            missing_prereqs,
        }) => {
            assert_eq!((tool_name.as_str(), violations), ("edit_file", 3));
            assert_eq!(missing_prereqs, ["read_file"]);
        }
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------ ErrorTracker (§7, §18.6)

#[test]
fn retry_budget_allows_n_and_the_next_one_exhausts() {
    let tracker = ErrorTracker::new(3, 2);
    assert_eq!(tracker.consecutive_retries(), 0);
    assert!(!tracker.retries_exhausted());
    let mut tracker = ErrorTracker::new(2, 2);
    let exhausted: Vec<bool> = (0..3)
        .map(|_| {
            tracker.record_retry();
            tracker.retries_exhausted()
        })
        .collect();
    assert_eq!(exhausted, [false, false, true]);
    let mut tracker = ErrorTracker::new(1, 2);
    tracker.record_retry();
    tracker.record_retry();
    assert!(tracker.retries_exhausted());
    tracker.reset_retries();
    assert_eq!(tracker.consecutive_retries(), 0);
    assert!(!tracker.retries_exhausted());
}

#[test]
fn tool_error_budget_counts_hard_failures_only() {
    // (max_tool_errors, outcomes as (success, soft), expected count, exhausted)
    type Case = (u32, &'static [(bool, bool)], u32, bool);
    let cases: [Case; 5] = [
        (2, &[], 0, false),
        (1, &[(false, false)], 1, false),
        (1, &[(false, false), (false, false)], 2, true),
        (1, &[(false, true), (false, true), (false, true)], 0, false),
        (2, &[(false, false), (true, false)], 1, false),
    ];
    for (max, outcomes, count, exhausted) in cases {
        let mut tracker = ErrorTracker::new(3, max);
        for &(success, soft) in outcomes {
            tracker.record_result(success, soft);
        }
        assert_eq!(tracker.consecutive_tool_errors(), count, "{outcomes:?}");
        assert_eq!(tracker.tool_errors_exhausted(), exhausted, "{outcomes:?}");
    }
    let mut tracker = ErrorTracker::new(3, 1);
    tracker.record_result(false, false);
    tracker.record_result(false, false);
    tracker.reset_errors();
    assert_eq!(tracker.consecutive_tool_errors(), 0);
    assert!(!tracker.tool_errors_exhausted());
}

#[test]
fn retry_and_tool_error_budgets_are_independent() {
    let mut tracker = ErrorTracker::new(1, 1);
    tracker.record_retry();
    tracker.record_retry();
    assert!(tracker.retries_exhausted() && !tracker.tool_errors_exhausted());
    let mut tracker = ErrorTracker::new(1, 1);
    tracker.record_result(false, false);
    tracker.record_result(false, false);
    assert!(tracker.tool_errors_exhausted() && !tracker.retries_exhausted());
}

// ------------------------------------------------------------------- respond tool (§12, §18.11)

#[test]
fn respond_spec_has_the_reference_schema() {
    let spec = respond_spec();
    assert_eq!(spec.name, RESPOND_TOOL_NAME);
    assert_eq!(RESPOND_TOOL_NAME, "respond");
    assert!(spec.description.to_lowercase().contains("message"));
    assert_eq!(spec.parameters["properties"]["message"]["type"], "string");
    assert_eq!(spec.required(), ["message"]);
    insta::assert_json_snapshot!(spec.to_openai_tool());
}

#[test]
fn respond_message_and_partition() {
    let respond = call_with("respond", json!({"message": "Done!"}));
    assert_eq!(respond_message(&respond), Some("Done!"));
    assert_eq!(
        respond_message(&call_with("respond", json!({"message": ""}))),
        Some("")
    );
    assert_eq!(respond_message(&call("respond")), None);
    assert_eq!(
        respond_message(&call_with("edit", json!({"message": "x"}))),
        None
    );
    let (respond_calls, others) =
        partition_respond_calls(vec![call_with("edit", json!({"file": "test.py"})), respond]);
    assert_eq!(respond_calls.len(), 1);
    assert_eq!(others.len(), 1);
    assert_eq!(respond_message(&respond_calls[0]), Some("Done!"));
    assert_eq!(others[0].tool, "edit");
}
