//! `ResponseValidator` (spec 03 §4, §18.2) and the `Guardrails` facade (§8, §18.7), plus the
//! regression tests for the facade defects of the reference.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use forge_guardrails::{
    CheckResult, Executed, Guardrails, NudgeKind, Progress, ResponseValidator, Validation,
    FATAL_BAD_RESPONSES, FATAL_PREREQUISITES, FATAL_SKIPPED_STEPS, FATAL_TOOL_ERRORS,
};
use forge_types::{
    json_object, JsonObject, LlmResponse, MessageRole, Prerequisite, ToolCall, ToolSpec,
};
use serde_json::{json, Value};

fn spec(name: &str) -> ToolSpec {
    ToolSpec::new(name, "", json!({"type": "object", "properties": {}}))
}

fn specs(names: &[&str]) -> Vec<ToolSpec> {
    names.iter().map(|n| spec(n)).collect()
}

fn args(value: Value) -> JsonObject {
    json_object(value).unwrap()
}

fn calls(names: &[&str]) -> LlmResponse {
    LlmResponse::ToolCalls(
        names
            .iter()
            .map(|n| ToolCall::new(*n, JsonObject::new()))
            .collect(),
    )
}

fn call_with(name: &str, value: Value) -> LlmResponse {
    LlmResponse::ToolCalls(vec![ToolCall::new(name, args(value))])
}

// ------------------------------------------------------------------- ResponseValidator

/// What a validation should come out as.
#[derive(Debug)]
enum Expect {
    Valid(&'static [&'static str]),
    Retry {
        kind: NudgeKind,
        contains: &'static str,
    },
}

fn check_validation(validator: &ResponseValidator, response: LlmResponse, expect: Expect) {
    match (validator.validate(&response), &expect) {
        (Validation::Valid(got), Expect::Valid(names)) => {
            let got: Vec<&str> = got.iter().map(|c| c.tool.as_str()).collect();
            assert_eq!(got, *names, "{response:?}");
        }
        (Validation::Retry(nudge), Expect::Retry { kind, contains }) => {
            assert_eq!(nudge.kind(), *kind, "{response:?}");
            assert!(
                nudge
                    .content()
                    .to_lowercase()
                    .contains(&contains.to_lowercase()),
                "{response:?}: {}",
                nudge.content()
            );
        }
        (got, _) => panic!("{response:?}: got {got:?}, expected {expect:?}"),
    }
}

#[test]
fn validator_decision_table() {
    let on = ResponseValidator::new(specs(&["search", "answer"]));
    let off = ResponseValidator::new(specs(&["search", "answer"])).with_rescue(false);
    let fenced = "```json\n{\"tool\": \"search\", \"args\": {\"q\": \"test\"}}\n```";
    let cases: Vec<(&ResponseValidator, LlmResponse, Expect)> = vec![
        (
            &on,
            LlmResponse::text("I don't know"),
            Expect::Retry {
                kind: NudgeKind::Retry,
                contains: "tool call",
            },
        ),
        (
            &on,
            LlmResponse::text(r#"{"tool": "search", "args": {"q": "hello"}}"#),
            Expect::Valid(&["search"]),
        ),
        (&on, LlmResponse::text(fenced), Expect::Valid(&["search"])),
        (
            &off,
            LlmResponse::text(fenced),
            Expect::Retry {
                kind: NudgeKind::Retry,
                contains: "not a valid tool call",
            },
        ),
        // rescue only returns known tools, so an unknown name written as text is a plain retry
        (
            &on,
            LlmResponse::text(r#"{"tool": "nonexistent", "args": {}}"#),
            Expect::Retry {
                kind: NudgeKind::Retry,
                contains: "tool call",
            },
        ),
        (
            &on,
            call_with("search", json!({"q": "hi"})),
            Expect::Valid(&["search"]),
        ),
        (
            &on,
            calls(&["nonexistent"]),
            Expect::Retry {
                kind: NudgeKind::UnknownTool,
                contains: "Tool 'nonexistent' does not exist. Available tools: search, answer.",
            },
        ),
        (
            &on,
            calls(&["search", "bad_tool"]),
            Expect::Retry {
                kind: NudgeKind::UnknownTool,
                contains: "bad_tool",
            },
        ),
        (
            &on,
            calls(&["bad1", "search", "bad2"]),
            Expect::Retry {
                kind: NudgeKind::UnknownTool,
                contains: "Tool 'bad1'",
            },
        ),
        (
            &on,
            calls(&["search", "answer"]),
            Expect::Valid(&["search", "answer"]),
        ),
    ];
    for (validator, response, expect) in cases {
        check_validation(validator, response, expect);
    }
}

#[test]
fn empty_batch_does_not_pass_validation_silently() {
    let validator = ResponseValidator::new(specs(&["search"]));
    check_validation(
        &validator,
        LlmResponse::ToolCalls(Vec::new()),
        Expect::Retry {
            kind: NudgeKind::Retry,
            contains: "not a valid tool call",
        },
    );
}

#[test]
fn valid_batch_is_returned_unchanged_with_reasoning() {
    let validator = ResponseValidator::new(specs(&["search", "answer"]));
    let mut first = ToolCall::new("search", args(json!({"q": "hi"})));
    first.reasoning = Some("look it up".into());
    let batch = vec![first, ToolCall::new("answer", JsonObject::new())];
    assert_eq!(
        validator.validate(&LlmResponse::ToolCalls(batch.clone())),
        Validation::Valid(batch)
    );
}

#[test]
fn rescued_calls_carry_the_written_arguments_and_no_reasoning() {
    let validator = ResponseValidator::new(specs(&["fetch"]));
    let Validation::Valid(rescued) = validator.validate(&LlmResponse::text(
        r#"{"tool": "fetch", "args": {"count": 42}}"#,
    )) else {
        panic!("not rescued")
    };
    assert_eq!(
        rescued,
        vec![ToolCall::new("fetch", args(json!({"count": 42})))]
    );
}

#[test]
fn nudge_channels_retry_on_user_unknown_tool_on_tool() {
    let validator = ResponseValidator::new(specs(&["search"]));
    let Validation::Retry(text) = validator.validate(&LlmResponse::text("hm")) else {
        panic!()
    };
    assert_eq!(text.role(), MessageRole::User);
    let Validation::Retry(unknown) = validator.validate(&calls(&["nope"])) else {
        panic!()
    };
    assert_eq!(unknown.role(), MessageRole::Tool);
    assert_eq!(
        unknown.wire_content(),
        "[UnknownTool] Tool 'nope' does not exist. Available tools: search. Call one of them."
    );
}

#[test]
fn custom_retry_nudge_receives_the_raw_text_once() {
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    let validator = ResponseValidator::new(specs(&["respond"]))
        .with_rescue(false)
        .with_retry_nudge(Arc::new(move |raw: &str| {
            counter.fetch_add(1, Ordering::SeqCst);
            format!("Wrap this in respond: {raw}")
        }));
    let Validation::Retry(nudge) = validator.validate(&LlmResponse::text("hello world")) else {
        panic!()
    };
    assert_eq!(nudge.content(), "Wrap this in respond: hello world");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    let fixed =
        ResponseValidator::new(specs(&["respond"])).with_retry_text("Use the respond tool.");
    for text in ["a", "something else"] {
        let Validation::Retry(nudge) = fixed.validate(&LlmResponse::text(text)) else {
            panic!()
        };
        assert_eq!(nudge.content(), "Use the respond tool.");
    }
}

// ------------------------------------------------------------------------ Guardrails facade

fn guardrails() -> Guardrails {
    Guardrails::new(specs(&["search", "lookup", "answer"]), ["answer"])
        .with_required_steps(vec!["search".into(), "lookup".into()])
}

/// The action a check should produce, without payload details.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Execute,
    Retry,
    StepBlocked,
    Fatal(&'static str),
}

fn action(result: &CheckResult) -> Action {
    match result {
        CheckResult::Execute(_) => Action::Execute,
        CheckResult::Retry(_) => Action::Retry,
        CheckResult::StepBlocked(_) => Action::StepBlocked,
        CheckResult::Fatal(reason) => Action::Fatal(match reason.as_str() {
            FATAL_BAD_RESPONSES => "bad responses",
            FATAL_SKIPPED_STEPS => "skipped steps",
            FATAL_PREREQUISITES => "prerequisites",
            other => panic!("unexpected reason {other}"),
        }),
    }
}

/// One step of a scripted facade session.
enum Step {
    Check(LlmResponse, Action),
    Record(Vec<Executed>, Progress),
}

fn ok(tool: &str) -> Executed {
    Executed::succeeded(tool, JsonObject::new())
}

fn run_session(mut guardrails: Guardrails, steps: Vec<Step>) {
    for (i, step) in steps.into_iter().enumerate() {
        match step {
            Step::Check(response, want) => {
                let got = guardrails.check(&response);
                assert_eq!(action(&got), want, "step {i}: {got:?}");
            }
            Step::Record(executed, want) => {
                assert_eq!(guardrails.record(&executed), want, "step {i}");
            }
        }
    }
}

#[test]
fn facade_sessions() {
    use Action::*;
    let fenced = "```json\n{\"tool\": \"search\", \"args\": {\"q\": \"x\"}}\n```";
    let sessions: Vec<(&str, Guardrails, Vec<Step>)> = vec![
        (
            "bare text retries",
            guardrails(),
            vec![Step::Check(LlmResponse::text("I think 42"), Retry)],
        ),
        (
            "unknown tool retries",
            guardrails(),
            vec![Step::Check(calls(&["nonexistent"]), Retry)],
        ),
        (
            "known tool executes",
            guardrails(),
            vec![Step::Check(
                call_with("search", json!({"q": "test"})),
                Execute,
            )],
        ),
        (
            "fenced json is rescued",
            guardrails(),
            vec![Step::Check(LlmResponse::text(fenced), Execute)],
        ),
        (
            "rescue off retries",
            guardrails().with_rescue(false),
            vec![Step::Check(LlmResponse::text(fenced), Retry)],
        ),
        (
            "retry budget",
            guardrails().with_max_retries(2),
            vec![
                Step::Check(LlmResponse::text("a"), Retry),
                Step::Check(LlmResponse::text("b"), Retry),
                Step::Check(LlmResponse::text("c"), Fatal("bad responses")),
                // stays fatal until a valid response resets the count
                Step::Check(LlmResponse::text("d"), Fatal("bad responses")),
            ],
        ),
        (
            "valid response resets retries",
            guardrails().with_max_retries(2),
            vec![
                Step::Check(LlmResponse::text("a"), Retry),
                Step::Check(LlmResponse::text("b"), Retry),
                Step::Check(calls(&["search"]), Execute),
                Step::Check(LlmResponse::text("c"), Retry),
            ],
        ),
        (
            "premature terminal is blocked",
            guardrails(),
            vec![Step::Check(calls(&["answer"]), StepBlocked)],
        ),
        (
            "steps then terminal",
            guardrails(),
            vec![
                Step::Check(calls(&["search"]), Execute),
                Step::Record(vec![ok("search")], Progress::Continue),
                Step::Check(calls(&["lookup"]), Execute),
                Step::Record(vec![ok("lookup")], Progress::Continue),
                Step::Check(calls(&["answer"]), Execute),
                Step::Record(vec![ok("answer")], Progress::Done),
            ],
        ),
        (
            "premature budget",
            guardrails().with_max_premature_attempts(2),
            vec![
                Step::Check(calls(&["answer"]), StepBlocked),
                Step::Check(calls(&["answer"]), StepBlocked),
                Step::Check(calls(&["answer"]), Fatal("skipped steps")),
            ],
        ),
        (
            "no required steps",
            Guardrails::new(specs(&["search", "answer"]), ["answer"]),
            vec![Step::Check(calls(&["answer"]), Execute)],
        ),
        (
            "terminal recorded too early is not done",
            guardrails(),
            vec![Step::Record(vec![ok("answer")], Progress::Continue)],
        ),
        (
            "parallel steps in one batch",
            guardrails(),
            vec![
                Step::Check(calls(&["search", "lookup"]), Execute),
                Step::Record(vec![ok("search"), ok("lookup")], Progress::Continue),
                Step::Check(calls(&["answer"]), Execute),
            ],
        ),
        (
            "empty record continues",
            guardrails(),
            vec![Step::Record(vec![], Progress::Continue)],
        ),
    ];
    for (name, guardrails, steps) in sessions {
        eprintln!("session: {name}");
        run_session(guardrails, steps);
    }
}

#[test]
fn facade_step_nudge_escalates_and_names_the_terminal() {
    let mut guardrails = guardrails();
    let CheckResult::StepBlocked(nudge) = guardrails.check(&calls(&["answer"])) else {
        panic!()
    };
    assert_eq!((nudge.kind(), nudge.tier()), (NudgeKind::Step, 1));
    assert!(nudge.content().starts_with("You cannot call answer yet."));
    let CheckResult::StepBlocked(nudge) = guardrails.check(&calls(&["answer"])) else {
        panic!()
    };
    assert_eq!(nudge.tier(), 2);
}

#[test]
fn facade_max_tool_errors_can_trigger() {
    let mut guardrails = guardrails().with_max_tool_errors(1);
    let failed = || vec![Executed::failed("search", JsonObject::new())];
    assert_eq!(guardrails.record(&failed()), Progress::Continue);
    assert_eq!(
        guardrails.record(&failed()),
        Progress::Fatal(FATAL_TOOL_ERRORS.into())
    );
}

#[test]
fn facade_tool_errors_reset_after_a_clean_batch_and_ignore_resolution_errors() {
    let mut guardrails = guardrails().with_max_tool_errors(1);
    let failed = || vec![Executed::failed("search", JsonObject::new())];
    assert_eq!(guardrails.record(&failed()), Progress::Continue);
    assert_eq!(
        guardrails.record(&[Executed::unresolved("search", JsonObject::new())]),
        Progress::Continue
    );
    assert_eq!(guardrails.errors().consecutive_tool_errors(), 0);
    assert_eq!(guardrails.record(&failed()), Progress::Continue);
    // a failed call does not complete its step
    assert_eq!(guardrails.enforcer().pending(), ["search", "lookup"]);
}

#[test]
fn facade_terminal_success_beside_a_failed_sibling_is_done_unless_the_budget_is_spent() {
    let mut guardrails = Guardrails::new(specs(&["t", "a"]), ["t"]);
    let batch = || vec![ok("t"), Executed::failed("a", JsonObject::new())];
    assert_eq!(guardrails.record(&batch()), Progress::Done);
    let mut guardrails = Guardrails::new(specs(&["t", "a"]), ["t"]).with_max_tool_errors(0);
    assert_eq!(
        guardrails.record(&batch()),
        Progress::Fatal(FATAL_TOOL_ERRORS.into())
    );
}

#[test]
fn facade_checks_prerequisites() {
    let guardrails = || {
        Guardrails::new(specs(&["read_file", "edit_file", "submit"]), ["submit"])
            .with_prerequisites([(
                "edit_file".to_string(),
                vec![Prerequisite::ArgMatched {
                    tool: "read_file".into(),
                    match_arg: "path".into(),
                }],
            )])
    };
    let edit = |path: &str| call_with("edit_file", json!({"path": path}));
    let mut session = guardrails();
    let CheckResult::StepBlocked(nudge) = session.check(&edit("a.py")) else {
        panic!()
    };
    assert_eq!(nudge.kind(), NudgeKind::Prerequisite);
    assert!(nudge
        .wire_content()
        .starts_with("[PrerequisiteError] You cannot call edit_file yet."));
    assert!(matches!(
        session.check(&call_with("read_file", json!({"path": "a.py"}))),
        CheckResult::Execute(_)
    ));
    assert_eq!(
        session.record(&[Executed::succeeded(
            "read_file",
            args(json!({"path": "a.py"}))
        )]),
        Progress::Continue
    );
    assert!(matches!(
        session.check(&edit("a.py")),
        CheckResult::Execute(_)
    ));
    assert!(matches!(
        session.check(&edit("b.py")),
        CheckResult::StepBlocked(_)
    ));

    run_session(
        guardrails(),
        vec![
            Step::Check(edit("x"), Action::StepBlocked),
            Step::Check(edit("x"), Action::StepBlocked),
            Step::Check(edit("x"), Action::Fatal("prerequisites")),
        ],
    );
}

#[test]
fn facade_retry_nudge_default_and_custom() {
    let mut default = guardrails();
    let CheckResult::Retry(nudge) = default.check(&LlmResponse::text("hello world")) else {
        panic!()
    };
    assert!(nudge.content().to_lowercase().contains("tool call"));

    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    let mut custom =
        guardrails()
            .with_rescue(false)
            .with_retry_nudge(Arc::new(move |raw: &str| {
                log.lock().unwrap().push(raw.to_owned());
                format!("Wrap this in respond: {raw}")
            }));
    let CheckResult::Retry(nudge) = custom.check(&LlmResponse::text("my bare text")) else {
        panic!()
    };
    assert_eq!(nudge.content(), "Wrap this in respond: my bare text");
    assert_eq!(*seen.lock().unwrap(), ["my bare text"]);
}
