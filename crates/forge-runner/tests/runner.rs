//! WorkflowRunner behaviours pinned by the reference tests (spec 03 §18.9), driven by a scripted
//! fake client, plus the regression tests for the reference defects the runner fixes.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use forge_guardrails::{FnSink, ReasoningReplay};
use forge_runner::{RunOutcome, RunRequest, ToolDef, ToolFailure, ToolOutput, WorkflowRunner};
use forge_types::{
    CallId, ChunkKind, ForgeError, LlmResponse, Message, MessageType, Prerequisite, StreamChunk,
    ToolCallInfo,
};
use serde_json::{json, Value};
use support::*;
use tokio_util::sync::CancellationToken;

/// How a scripted run should end.
#[derive(Debug)]
enum Expect {
    /// `Ok` with this text output.
    Output(&'static str),
    /// `MaxIterations` with this `iterations`.
    MaxIterations(u32),
    /// `RetriesExhausted`.
    RetriesExhausted,
}

struct Case {
    name: &'static str,
    script: Vec<LlmResponse>,
    max_iterations: u32,
    max_retries: u32,
    expect: Expect,
    sends: Option<usize>,
}

fn case(name: &'static str, script: Vec<LlmResponse>, expect: Expect) -> Case {
    Case {
        name,
        script,
        max_iterations: 10,
        max_retries: 3,
        expect,
        sends: None,
    }
}

/// Runs the default workflow over each case's script and checks how it ended.
async fn check(cases: Vec<Case>) {
    for case in cases {
        let client = ScriptedClient::replies(case.script);
        let mut runner = runner(&client)
            .with_max_iterations(case.max_iterations)
            .with_max_retries_per_step(case.max_retries);
        let result = runner.run(&default_workflow(), go()).await;
        match (&case.expect, &result) {
            (Expect::Output(want), Ok(outcome)) => {
                assert_eq!(outcome.output.as_text(), Some(*want), "{}", case.name);
                assert_calls_answered(&outcome.history);
            }
            (Expect::MaxIterations(want), Err(ForgeError::MaxIterations { iterations, .. })) => {
                assert_eq!(iterations, want, "{}", case.name)
            }
            (Expect::RetriesExhausted, Err(ForgeError::RetriesExhausted { reason, .. })) => {
                assert!(reason.contains("Retries exhausted"), "{}", case.name)
            }
            (expect, got) => panic!("{}: expected {expect:?}, got {got:?}", case.name),
        }
        if let Some(sends) = case.sends {
            assert_eq!(client.sends(), sends, "{}: sends", case.name);
        }
    }
}

#[tokio::test]
async fn scripted_runs_end_as_the_reference_pins() {
    let t = text;
    check(vec![
        case(
            "happy path",
            vec![c("fetch"), c("submit")],
            Expect::Output("submit_result"),
        ),
        case(
            "bare text then the steps",
            vec![t("I don't know"), c("fetch"), c("submit")],
            Expect::Output("submit_result"),
        ),
        case(
            "four bare texts exhaust three retries",
            vec![t("a"), t("b"), t("c"), t("final_nope")],
            Expect::RetriesExhausted,
        ),
        Case {
            max_iterations: 3,
            ..case(
                "iterations run out before submit",
                vec![t("a"), t("b"), c("fetch"), c("submit")],
                Expect::MaxIterations(3),
            )
        },
        Case {
            max_iterations: 3,
            max_retries: 5,
            sends: Some(3),
            ..case(
                "iteration limit beats a larger retry budget",
                vec![t("a"), t("b"), t("c"), t("d")],
                Expect::MaxIterations(3),
            )
        },
        case(
            "unknown tool then the steps",
            vec![c("get_pricing"), c("fetch"), c("submit")],
            Expect::Output("submit_result"),
        ),
        Case {
            max_iterations: 2,
            ..case(
                "unknown tool eats an iteration",
                vec![c("bad_name"), c("fetch"), c("submit")],
                Expect::MaxIterations(2),
            )
        },
        case(
            "four unknown tools exhaust retries",
            vec![c("bad1"), c("bad2"), c("bad3"), c("bad4")],
            Expect::RetriesExhausted,
        ),
        case(
            "text and unknown tools share one retry counter",
            vec![t("x"), c("nonexistent"), t("y"), c("still_wrong")],
            Expect::RetriesExhausted,
        ),
        case(
            "premature submit resets retries",
            vec![
                t("a"),
                t("b"),
                c("submit"),
                t("c"),
                t("d"),
                c("fetch"),
                c("submit"),
            ],
            Expect::Output("submit_result"),
        ),
        case(
            "three premature submits then the steps",
            vec![
                c("submit"),
                c("submit"),
                c("submit"),
                c("fetch"),
                c("submit"),
            ],
            Expect::Output("submit_result"),
        ),
        Case {
            sends: Some(2),
            ..case(
                "rescued JSON call",
                vec![
                    t(r#"{"tool": "fetch", "args": {"key": "val"}}"#),
                    c("submit"),
                ],
                Expect::Output("submit_result"),
            )
        },
        Case {
            sends: Some(2),
            ..case(
                "rescued [ARGS] call",
                vec![t(r#"fetch[ARGS]{"key": "val"}"#), c("submit")],
                Expect::Output("submit_result"),
            )
        },
        case(
            "rescued unknown tool goes to the retry path",
            vec![
                t(r#"{"tool": "nonexistent", "args": {}}"#),
                c("fetch"),
                c("submit"),
            ],
            Expect::Output("submit_result"),
        ),
        Case {
            sends: Some(3),
            ..case(
                "thinking aloud is retried",
                vec![t("Let me think about this..."), c("fetch"), c("submit")],
                Expect::Output("submit_result"),
            )
        },
    ])
    .await;
}

#[tokio::test]
async fn four_bare_texts_report_the_last_text() {
    let client = ScriptedClient::replies(vec![text("a"), text("b"), text("c"), text("final_nope")]);
    let err = runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap_err();
    let ForgeError::RetriesExhausted {
        last_response,
        attempts,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(last_response.as_deref(), Some("final_nope"));
    assert_eq!(attempts, 4);
}

#[tokio::test]
async fn three_required_steps_run_in_order() {
    let client = ScriptedClient::replies(vec![c("step_a"), c("step_b"), c("submit")]);
    let workflow = workflow_with(
        vec![tool("step_a"), tool("step_b"), tool("submit")],
        &["step_a", "step_b"],
        &["submit"],
    );
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output, ToolOutput::Text("submit_result".into()));
    assert_eq!(outcome.iterations, 3);
}

#[tokio::test]
async fn retry_counter_resets_on_each_valid_call() {
    let t = text;
    let client = ScriptedClient::replies(vec![
        t("a"),
        t("b"),
        c("step_a"),
        t("c"),
        t("d"),
        c("step_b"),
        c("submit"),
    ]);
    let workflow = workflow_with(
        vec![tool("step_a"), tool("step_b"), tool("submit")],
        &["step_a", "step_b"],
        &["submit"],
    );
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
}

#[tokio::test]
async fn tool_receives_exactly_the_model_arguments() {
    let probe = Probe::new();
    let workflow = workflow_with(
        vec![probe.tool("fetch", |_, _| Ok("ok".into())), tool("submit")],
        &["fetch"],
        &["submit"],
    );
    let client = ScriptedClient::replies(vec![
        ca("fetch", json!({"key": "value", "count": 42})),
        c("submit"),
    ]);
    runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(
        probe.args(),
        vec![args(json!({"key": "value", "count": 42}))]
    );

    // a rescued call carries its arguments through unchanged
    let probe = Probe::new();
    let workflow = workflow_with(
        vec![probe.tool("fetch", |_, _| Ok("ok".into())), tool("submit")],
        &["fetch"],
        &["submit"],
    );
    let client = ScriptedClient::replies(vec![
        text(r#"{"tool": "fetch", "args": {"count": 42}}"#),
        c("submit"),
    ]);
    runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(probe.args(), vec![args(json!({"count": 42}))]);
}

#[tokio::test]
async fn premature_submit_does_not_run_the_terminal_tool() {
    let probe = Probe::new();
    let workflow = workflow_with(
        vec![
            tool("fetch"),
            probe.tool("submit", |_, _| Ok("submitted".into())),
        ],
        &["fetch"],
        &["submit"],
    );
    let client = ScriptedClient::replies(vec![c("submit"), c("fetch"), c("submit")]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submitted"));
    assert_eq!(probe.count(), 1);
}

#[tokio::test]
async fn step_nudges_escalate_through_three_tiers() {
    let spy = SpyCompact::default();
    let client = ScriptedClient::replies(vec![
        c("submit"),
        c("submit"),
        c("submit"),
        c("fetch"),
        c("submit"),
    ]);
    spy.runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let last = spy.calls().pop().unwrap();
    let nudges: Vec<&str> = last
        .iter()
        .filter(|m| m.metadata.kind() == MessageType::StepNudge)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(nudges.len(), 3);
    assert!(nudges[0].contains("cannot call submit yet"));
    assert!(nudges[1].contains("must call one of these tools now"));
    assert!(nudges[2].contains("STOP"));
}

#[tokio::test]
async fn fourth_premature_submit_fails_the_run() {
    let client = ScriptedClient::replies(vec![c("submit"); 4]);
    let err = runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap_err();
    let ForgeError::StepEnforcement {
        terminal_tool,
        attempts,
        pending_steps,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (terminal_tool.as_str(), attempts, pending_steps),
        ("submit", 4, vec!["fetch".to_owned()])
    );
}

#[tokio::test]
async fn a_clean_batch_resets_premature_attempts() {
    let mut script = vec![c("submit"), c("submit"), c("submit"), c("fetch")];
    script.extend(vec![c("submit"); 4]);
    let client = ScriptedClient::replies(script);
    let outcome = runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(client.sends(), 5);
    assert_eq!(client.remaining(), 3);
}

#[tokio::test]
async fn unknown_tool_nudge_names_the_tool_and_the_available_ones() {
    let client = ScriptedClient::replies(vec![c("nonexistent"), c("fetch"), c("submit")]);
    runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let last = client.payloads()[1].last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    for fragment in ["nonexistent", "fetch", "submit", "does not exist"] {
        assert!(last.contains(fragment), "{last}");
    }
}

fn failing(kind: &'static str, message: &'static str) -> ToolFailure {
    ToolFailure::error(kind, message)
}

#[tokio::test]
async fn tool_error_then_success_recovers() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n == 1 {
            Err(failing(
                "TypeError",
                "expected int, got str for argument 'count'",
            ))
        } else {
            Ok("fetched".into())
        }
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![
        ca("fetch", json!({"count": "five"})),
        ca("fetch", json!({"count": 5})),
        c("submit"),
    ]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(probe.count(), 2);
}

#[tokio::test]
async fn third_failing_batch_raises_tool_execution_error() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |_, _| {
        Err(failing("ValueError", "something went wrong"))
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"); 3]);
    let reported = Reported::default();
    let mut runner = reported.attach(runner(&client).with_max_tool_errors(2));
    let err = runner.run(&workflow, go()).await.unwrap_err();
    let ForgeError::ToolExecution { tool_name, cause } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (tool_name.as_str(), cause.as_str()),
        ("fetch", "something went wrong")
    );
    assert_eq!(err.to_string(), "Tool 'fetch' raised: something went wrong");
    let last = client.payloads()[1].last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(last, "[ToolError] ValueError: something went wrong");
    let tool_errors = reported
        .messages()
        .iter()
        .filter(|m| m.content.contains("[ToolError]"))
        .count();
    assert_eq!(tool_errors, 3);
}

#[tokio::test]
async fn each_success_resets_the_tool_error_counter() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n % 2 == 1 {
            Err(failing("ValueError", "odd call"))
        } else {
            Ok("ok".into())
        }
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![
        c("fetch"),
        c("fetch"),
        c("fetch"),
        c("fetch"),
        c("submit"),
    ]);
    let outcome = runner(&client)
        .with_max_tool_errors(1)
        .run(&workflow, go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
}

#[tokio::test]
async fn failing_terminal_tool_can_be_retried() {
    let probe = Probe::new();
    let submit = probe.tool("submit", |n, _| {
        if n == 1 {
            Err(failing("TypeError", "bad args"))
        } else {
            Ok("submitted".into())
        }
    });
    let workflow = workflow_with(vec![tool("fetch"), submit], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![
        c("fetch"),
        ca("submit", json!({"bad": true})),
        c("submit"),
    ]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submitted"));
}

#[tokio::test]
async fn a_failed_required_step_is_not_recorded() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n == 1 {
            Err(failing("ValueError", "once"))
        } else {
            Ok("ok".into())
        }
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(probe.count(), 2);
    let kinds: Vec<_> = outcome.history.iter().map(|m| m.metadata.kind()).collect();
    assert!(kinds.contains(&MessageType::StepNudge));
}

#[tokio::test]
async fn iterations_run_out_while_tools_fail() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |_, _| Err(failing("ValueError", "always")));
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"); 3]);
    let err = runner(&client)
        .with_max_iterations(2)
        .with_max_tool_errors(5)
        .run(&workflow, go())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::MaxIterations { iterations: 2, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn max_iterations_lists_completed_steps() {
    let client = ScriptedClient::replies(vec![c("fetch"); 5]);
    let err = runner(&client)
        .with_max_iterations(3)
        .run(&default_workflow(), go())
        .await
        .unwrap_err();
    let ForgeError::MaxIterations {
        iterations,
        completed_steps,
        pending_steps,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(iterations, 3);
    assert_eq!(completed_steps, ["fetch"]);
    assert!(pending_steps.is_empty());
}

#[tokio::test]
async fn zero_max_iterations_fails_without_calling_the_model() {
    let client = ScriptedClient::replies(vec![c("fetch")]);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = runner(&client)
        .with_max_iterations(0)
        .run(&default_workflow(), go().with_cancellation(cancel))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::MaxIterations { iterations: 0, .. }),
        "{err:?}"
    );
    assert_eq!(client.sends(), 0);
}

#[tokio::test]
async fn clean_run_compacts_once_per_model_call() {
    let spy = SpyCompact::default();
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    spy.runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let calls = spy.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].len(), 2);
    let roles: Vec<_> = client.payloads()[1]
        .iter()
        .map(|m| m["role"].clone())
        .collect();
    assert_eq!(
        roles,
        [
            json!("system"),
            json!("user"),
            json!("assistant"),
            json!("tool")
        ]
    );
}

#[tokio::test]
async fn streaming_uses_send_stream_and_reports_every_chunk() {
    let client = ScriptedClient::replies(vec![ca("fetch", json!({"x": 1})), c("submit")]);
    let chunks = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&chunks);
    let reported = Reported::default();
    let mut runner = reported.attach(runner(&client).with_stream(true).with_on_chunk(FnSink(
        move |chunk: StreamChunk| seen.lock().unwrap().push(chunk.kind()),
    )));
    let outcome = runner.run(&default_workflow(), go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(client.streamed(), [true, true]);
    assert_eq!(
        *chunks.lock().unwrap(),
        [
            ChunkKind::TextDelta,
            ChunkKind::Final,
            ChunkKind::TextDelta,
            ChunkKind::Final
        ]
    );
    assert_eq!(
        reported.types(),
        [
            "system_prompt",
            "user_input",
            "tool_call",
            "tool_result",
            "tool_call",
            "tool_result"
        ]
    );
}

#[tokio::test]
async fn streaming_without_a_sink_still_streams() {
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let outcome = runner(&client)
        .with_stream(true)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(client.streamed(), [true, true]);
}

#[tokio::test]
async fn stream_without_final_chunk_is_a_stream_error() {
    let client = ScriptedClient::new(
        forge_types::ApiFormat::Ollama,
        vec![Scripted::Chunks(vec![Ok(StreamChunk::text("partial"))])],
    );
    let err = runner(&client)
        .with_stream(true)
        .run(&default_workflow(), go())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::StreamEndedWithoutFinal),
        "{err:?}"
    );
    assert!(err.to_string().contains("FINAL chunk"));
}

#[tokio::test]
async fn streamed_retry_is_signalled_to_the_consumer() {
    let client = ScriptedClient::replies(vec![text("hmm"), c("fetch"), c("submit")]);
    let chunks = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&chunks);
    runner(&client)
        .with_stream(true)
        .with_on_chunk(FnSink(move |chunk: StreamChunk| {
            seen.lock().unwrap().push(chunk)
        }))
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let kinds: Vec<ChunkKind> = chunks
        .lock()
        .unwrap()
        .iter()
        .map(StreamChunk::kind)
        .collect();
    assert_eq!(
        kinds,
        [
            ChunkKind::TextDelta,
            ChunkKind::Final,
            ChunkKind::Retry,
            ChunkKind::TextDelta,
            ChunkKind::Final,
            ChunkKind::TextDelta,
            ChunkKind::Final
        ]
    );
}

#[tokio::test]
async fn async_and_sync_tools_both_run() {
    let async_fetch = ToolDef::new(no_arg_spec("fetch"), |_| async {
        tokio::task::yield_now().await;
        Ok::<_, ToolFailure>("fetched")
    });
    for fetch in [async_fetch, tool("fetch")] {
        let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
        let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
        let outcome = runner(&client).run(&workflow, go()).await.unwrap();
        assert_eq!(outcome.output.as_text(), Some("submit_result"));
    }
}

#[tokio::test]
async fn first_payload_is_the_system_prompt_and_the_user_message() {
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let request = RunRequest::new("do something").with_prompt_var("role", "tester");
    runner(&client)
        .run(&default_workflow(), request)
        .await
        .unwrap();
    assert_eq!(
        client.payloads()[0],
        [
            json!({"role": "system", "content": "You are a tester."}),
            json!({"role": "user", "content": "do something"})
        ]
    );
}

/// The second payload after one scripted first response (Ollama format).
async fn second_payload(first: LlmResponse) -> Vec<Value> {
    let client = ScriptedClient::replies(vec![first, c("fetch"), c("fetch"), c("submit")]);
    runner(&client)
        .with_reasoning_replay(ReasoningReplay::Full)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    client.payloads().swap_remove(1)
}

#[tokio::test]
async fn second_payload_shapes() {
    let after_fetch = second_payload(ca("fetch", json!({"key": "val"}))).await;
    assert_eq!(after_fetch.len(), 4);
    assert_eq!(after_fetch[2]["tool_calls"][0]["function"]["name"], "fetch");
    assert_eq!(
        after_fetch[2]["tool_calls"][0]["function"]["arguments"],
        json!({"key": "val"})
    );
    assert_eq!(after_fetch[3]["content"], "fetch_result");

    let after_text = second_payload(text("I'm not sure what to do")).await;
    assert_eq!(after_text.len(), 4);
    assert_eq!(
        after_text[2],
        json!({"role": "assistant", "content": "I'm not sure what to do"})
    );
    assert_eq!(after_text[3]["role"], "user");
    assert!(after_text[3]["content"]
        .as_str()
        .unwrap()
        .contains("not a valid tool call"));

    let after_unknown = second_payload(ca("nonexistent", json!({"x": 1}))).await;
    assert_eq!(after_unknown.len(), 4);
    assert_eq!(
        after_unknown[2]["tool_calls"][0]["function"]["name"],
        "nonexistent"
    );
    assert_eq!(after_unknown[3]["role"], "tool");
    let content = after_unknown[3]["content"].as_str().unwrap();
    assert!(content.starts_with("[UnknownTool]") && content.contains("does not exist"));

    let after_premature = second_payload(c("submit")).await;
    assert_eq!(after_premature.len(), 4);
    assert_eq!(
        after_premature[2]["tool_calls"][0]["function"]["name"],
        "submit"
    );
    assert_eq!(after_premature[3]["role"], "tool");
    let content = after_premature[3]["content"].as_str().unwrap();
    assert!(
        content.starts_with("[StepEnforcementError]") && content.contains("cannot call submit yet")
    );

    let folded = second_payload(with_reasoning("fetch", "Thinking about this...")).await;
    assert_eq!(folded.len(), 4);
    assert_eq!(folded[2]["content"], "Thinking about this...");
    assert!(folded[2].get("tool_calls").is_some());
}

#[tokio::test]
async fn history_at_second_compaction_holds_exactly_one_nudge() {
    for (first, kind, fragment) in [
        (
            text("prose"),
            MessageType::RetryNudge,
            "not a valid tool call",
        ),
        (
            c("submit"),
            MessageType::StepNudge,
            "cannot call submit yet",
        ),
    ] {
        let spy = SpyCompact::default();
        let client = ScriptedClient::replies(vec![first, c("fetch"), c("submit")]);
        spy.runner(&client)
            .run(&default_workflow(), go())
            .await
            .unwrap();
        let second = &spy.calls()[1];
        let nudges: Vec<&Message> = second
            .iter()
            .filter(|m| m.metadata.kind() == kind)
            .collect();
        assert_eq!(nudges.len(), 1, "{kind:?}");
        assert!(nudges[0].content.contains(fragment));
    }
}

#[tokio::test]
async fn rescue_resets_retries() {
    let rescued = || text(r#"{"tool": "fetch", "args": {}}"#);
    let client = ScriptedClient::replies(vec![
        text("a"),
        text("b"),
        rescued(),
        text("c"),
        text("d"),
        rescued(),
        c("submit"),
    ]);
    let workflow = workflow_with(vec![tool("fetch"), tool("submit")], &[], &["submit"]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
}

#[tokio::test]
async fn reasoning_is_kept_before_its_tool_call() {
    let spy = SpyCompact::default();
    let client = ScriptedClient::replies(vec![
        with_reasoning("fetch", "I need to fetch the data first."),
        c("submit"),
    ]);
    spy.runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let second = &spy.calls()[1];
    let reasoning: Vec<&Message> = second
        .iter()
        .filter(|m| m.metadata.kind() == MessageType::Reasoning)
        .collect();
    assert_eq!(reasoning.len(), 1);
    assert_eq!(reasoning[0].content, "I need to fetch the data first.");
    assert_eq!(second[2].metadata.kind(), MessageType::Reasoning);
    assert_eq!(second[3].metadata.kind(), MessageType::ToolCall);

    let spy = SpyCompact::default();
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    spy.runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    assert!(spy
        .calls()
        .iter()
        .flatten()
        .all(|m| m.metadata.kind() != MessageType::Reasoning));
}

#[tokio::test]
async fn reasoning_of_a_failing_call_precedes_its_tool_call() {
    for (failing_tool, script, at_call) in [
        (
            "fetch",
            vec![
                with_reasoning("fetch", "Let me try fetching."),
                c("fetch"),
                c("submit"),
            ],
            1,
        ),
        (
            "submit",
            vec![
                c("fetch"),
                with_reasoning("submit", "Time to submit the result."),
                c("submit"),
            ],
            2,
        ),
    ] {
        let probe = Probe::new();
        let flaky = probe.tool(failing_tool, |n, _| {
            if n == 1 {
                Err(failing("ValueError", "first call fails"))
            } else {
                Ok("ok".into())
            }
        });
        let tools = if failing_tool == "fetch" {
            vec![flaky, tool("submit")]
        } else {
            vec![tool("fetch"), flaky]
        };
        let spy = SpyCompact::default();
        let client = ScriptedClient::replies(script);
        spy.runner(&client)
            .run(&workflow_with(tools, &["fetch"], &["submit"]), go())
            .await
            .unwrap();
        let history = &spy.calls()[at_call];
        let at = history
            .iter()
            .position(|m| m.metadata.kind() == MessageType::Reasoning)
            .unwrap();
        assert_eq!(history[at + 1].metadata.kind(), MessageType::ToolCall);
    }
}

#[tokio::test]
async fn text_responses_are_never_folded() {
    let client = ScriptedClient::replies(vec![
        text("Let me think about this..."),
        with_reasoning("fetch", "Now I know what to do"),
        c("submit"),
    ]);
    runner(&client)
        .with_reasoning_replay(ReasoningReplay::Full)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let third = &client.payloads()[2];
    let with_calls: Vec<&Value> = third
        .iter()
        .filter(|m| m.get("tool_calls").is_some())
        .collect();
    assert_eq!(with_calls.len(), 1);
    assert_eq!(with_calls[0]["content"], "Now I know what to do");
}

#[tokio::test]
async fn on_message_reports_every_history_message() {
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let reported = Reported::default();
    let outcome = reported
        .attach(runner(&client))
        .run(&default_workflow(), go())
        .await
        .unwrap();
    assert_eq!(
        reported.types(),
        [
            "system_prompt",
            "user_input",
            "tool_call",
            "tool_result",
            "tool_call",
            "tool_result"
        ]
    );
    assert_eq!(reported.messages(), outcome.history);

    for (script, kind) in [
        (vec![text("x"), c("fetch"), c("submit")], "retry_nudge"),
        (vec![c("submit"), c("fetch"), c("submit")], "step_nudge"),
        (
            vec![with_reasoning("fetch", "Thinking..."), c("submit")],
            "reasoning",
        ),
    ] {
        let client = ScriptedClient::replies(script);
        let reported = Reported::default();
        reported
            .attach(runner(&client))
            .run(&default_workflow(), go())
            .await
            .unwrap();
        assert!(reported.types().contains(&kind), "{kind}");
    }
    let reasoning = Reported::default();
    let client = ScriptedClient::replies(vec![with_reasoning("fetch", "Thinking..."), c("submit")]);
    reasoning
        .attach(runner(&client))
        .run(&default_workflow(), go())
        .await
        .unwrap();
    assert_eq!(reasoning.of_type("reasoning")[0].content, "Thinking...");

    let rescued = Reported::default();
    let client =
        ScriptedClient::replies(vec![text(r#"{"tool": "fetch", "args": {}}"#), c("submit")]);
    rescued
        .attach(runner(&client))
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let types = rescued.types();
    assert!(types.contains(&"tool_call") && types.contains(&"tool_result"));
    assert!(!types.contains(&"retry_nudge") && !types.contains(&"text_response"));
}

fn seed(user: &str) -> Vec<Message> {
    vec![
        Message::system("You are a tester.", MessageType::SystemPrompt.meta()),
        Message::user(user, MessageType::UserInput.meta()),
    ]
}

#[tokio::test]
async fn seeded_run_reports_nothing_for_the_seed() {
    let client = ScriptedClient::replies(vec![c("submit")]);
    let workflow = workflow_with(vec![tool("fetch"), tool("submit")], &[], &["submit"]);
    let reported = Reported::default();
    let outcome = reported
        .attach(runner(&client))
        .run(&workflow, RunRequest::seeded(seed("do something")))
        .await
        .unwrap();
    assert_eq!(reported.types(), ["tool_call", "tool_result"]);
    assert_eq!(outcome.history.len(), 4);
}

#[tokio::test]
async fn seeded_history_is_sent_as_given() {
    let mut history = seed("first question");
    let id = CallId::new("c0");
    history.push(Message::tool_calls(
        vec![ToolCallInfo::new("fetch", args(json!({})), id.clone())],
        MessageType::ToolCall.at_step(1),
    ));
    history.push(Message::tool_result(
        "fetch",
        id,
        "fetch_result",
        MessageType::ToolResult.at_step(1),
    ));
    history.push(Message::user("follow-up", MessageType::UserInput.meta()));
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    runner(&client)
        .run(&default_workflow(), RunRequest::seeded(history))
        .await
        .unwrap();
    let first = &client.payloads()[0];
    assert_eq!(
        first[0],
        json!({"role": "system", "content": "You are a tester."})
    );
    assert_eq!(
        first[1],
        json!({"role": "user", "content": "first question"})
    );
    assert_eq!(first.len(), 5);
}

#[tokio::test]
async fn resolution_errors_are_fed_back_but_not_counted() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n == 1 {
            Err(ToolFailure::resolution("No entry for 'capital of France'."))
        } else {
            Ok("Paris".into())
        }
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![
        ca("fetch", json!({"query": "capital of France"})),
        ca("fetch", json!({"query": "france"})),
        c("submit"),
    ]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(probe.count(), 2);
    assert_eq!(
        outcome.history[3].content,
        "[ToolResolutionError] No entry for 'capital of France'."
    );
    assert_eq!(outcome.history[3].metadata.kind(), MessageType::ToolResult);
}

fn always_unresolved() -> (Probe, forge_runner::Workflow) {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |_, _| {
        Err(ToolFailure::resolution(
            "No entry found for 'bad key'. Try another key.",
        ))
    });
    (
        probe,
        workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]),
    )
}

#[tokio::test]
async fn persistent_resolution_errors_end_in_max_iterations() {
    let (_, workflow) = always_unresolved();
    let client = ScriptedClient::replies(vec![c("fetch"); 5]);
    let reported = Reported::default();
    let err = reported
        .attach(runner(&client).with_max_iterations(3))
        .run(&workflow, go())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::MaxIterations { iterations: 3, .. }),
        "{err:?}"
    );
    let last = client.payloads()[1].last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(last.contains("[ToolResolutionError]") && last.contains("No entry found"));

    // never a ToolExecution error, however low the tool-error budget
    let (_, workflow) = always_unresolved();
    let client = ScriptedClient::replies(vec![c("fetch"); 5]);
    let err = runner(&client)
        .with_max_iterations(5)
        .with_max_tool_errors(1)
        .run(&workflow, go())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::MaxIterations { .. }), "{err:?}");

    let (_, workflow) = always_unresolved();
    let client = ScriptedClient::replies(vec![c("fetch"); 2]);
    let reported = Reported::default();
    reported
        .attach(runner(&client).with_max_iterations(2))
        .run(&workflow, go())
        .await
        .unwrap_err();
    let unresolved: Vec<Message> = reported
        .messages()
        .into_iter()
        .filter(|m| m.content.contains("[ToolResolutionError]"))
        .collect();
    assert_eq!(unresolved.len(), 2);
    assert!(unresolved
        .iter()
        .all(|m| m.metadata.kind() == MessageType::ToolResult));
}

#[tokio::test]
async fn unresolved_required_step_keeps_the_terminal_blocked() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n == 1 {
            Err(ToolFailure::resolution("try again"))
        } else {
            Ok("ok".into())
        }
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(probe.count(), 2);
}

#[tokio::test]
async fn resolution_error_does_not_reset_nor_count_toward_tool_errors() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| match n {
        1 => Err(ToolFailure::resolution("unknown key")),
        2 => Err(failing("ValueError", "boom")),
        _ => Ok("ok".into()),
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("fetch"), c("fetch"), c("submit")]);
    let outcome = runner(&client)
        .with_max_tool_errors(1)
        .run(&workflow, go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
}

#[tokio::test]
async fn prerequisites_block_until_satisfied() {
    let arg = Prerequisite::ArgMatched {
        tool: "read_file".into(),
        match_arg: "path".into(),
    };
    let foo = || json!({"path": "foo.py"});
    let client = ScriptedClient::replies(vec![
        ca("edit_file", foo()),
        ca("read_file", foo()),
        ca("edit_file", foo()),
        c("submit"),
    ]);
    let outcome = runner(&client)
        .run(&prereq_workflow(arg.clone()), go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));

    let client = ScriptedClient::replies(vec![
        c("edit_file"),
        c("read_file"),
        c("edit_file"),
        c("submit"),
    ]);
    let reported = Reported::default();
    reported
        .attach(runner(&client))
        .run(
            &prereq_workflow(Prerequisite::Tool("read_file".into())),
            go(),
        )
        .await
        .unwrap();
    let nudges = reported.of_type("prerequisite_nudge");
    assert_eq!(nudges.len(), 1);
    assert!(nudges[0].content.contains("read_file"));

    let path = |p: &str| json!({"path": p});
    let client = ScriptedClient::replies(vec![
        ca("read_file", path("a.py")),
        ca("edit_file", path("b.py")),
        ca("read_file", path("b.py")),
        ca("edit_file", path("b.py")),
        c("submit"),
    ]);
    let reported = Reported::default();
    let outcome = reported
        .attach(runner(&client))
        .run(&prereq_workflow(arg), go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    assert_eq!(reported.of_type("prerequisite_nudge").len(), 1);
}

#[tokio::test]
async fn third_prerequisite_violation_fails_the_run() {
    let client = ScriptedClient::replies(vec![c("edit_file"); 4]);
    let err = runner(&client)
        .run(
            &prereq_workflow(Prerequisite::Tool("read_file".into())),
            go(),
        )
        .await
        .unwrap_err();
    let ForgeError::Prerequisite {
        tool_name,
        violations,
        missing_prereqs,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!((tool_name.as_str(), *violations), ("edit_file", 3));
    assert_eq!(missing_prereqs, &["read_file"]);
    assert!(err.to_string().contains("read_file"));
    assert_eq!(client.sends(), 3);
}

#[tokio::test]
async fn workflow_without_prerequisites_is_unaffected() {
    let client = ScriptedClient::replies(vec![c("edit_file"), c("submit")]);
    let workflow = workflow_with(
        vec![tool("read_file"), tool("edit_file"), tool("submit")],
        &[],
        &["submit"],
    );
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
}

fn ac_workflow() -> forge_runner::Workflow {
    let fixed =
        |name: &str, out: &'static str| ToolDef::new_sync(no_arg_spec(name), move |_| Ok(out));
    workflow_with(
        vec![
            tool("gather"),
            fixed("set_ac", "ac_on"),
            fixed("no_action", "skipped"),
        ],
        &["gather"],
        &["set_ac", "no_action"],
    )
}

#[tokio::test]
async fn any_terminal_tool_ends_the_run() {
    for (terminal, want) in [("set_ac", "ac_on"), ("no_action", "skipped")] {
        let client = ScriptedClient::replies(vec![c("gather"), c(terminal)]);
        let outcome = runner(&client).run(&ac_workflow(), go()).await.unwrap();
        assert_eq!(outcome.output.as_text(), Some(want));
        assert_eq!(outcome.terminal_tool, terminal);
    }
    let client =
        ScriptedClient::replies(vec![c("set_ac"), c("no_action"), c("gather"), c("set_ac")]);
    let reported = Reported::default();
    reported
        .attach(runner(&client))
        .run(&ac_workflow(), go())
        .await
        .unwrap();
    assert_eq!(reported.of_type("step_nudge").len(), 2);
}

#[tokio::test]
async fn cancelled_before_the_run_makes_no_model_call() {
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let err = runner(&client)
        .run(&default_workflow(), go().with_cancellation(cancel))
        .await
        .unwrap_err();
    let ForgeError::WorkflowCancelled {
        iteration,
        completed_steps,
        messages,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (iteration, completed_steps.len(), messages.len()),
        (0, 0, 2)
    );
    assert_eq!(client.sends(), 0);
}

#[tokio::test]
async fn cancellation_from_a_tool_stops_at_the_next_turn() {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let fetch = ToolDef::new_sync(no_arg_spec("fetch"), move |_| {
        trigger.cancel();
        Ok("fetched")
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let err = runner(&client)
        .run(&workflow, go().with_cancellation(cancel))
        .await
        .unwrap_err();
    let ForgeError::WorkflowCancelled {
        iteration,
        completed_steps,
        messages,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((iteration, completed_steps), (1, vec!["fetch".to_owned()]));
    let kinds: Vec<_> = messages.iter().map(|m| m.metadata.kind()).collect();
    for kind in [
        MessageType::SystemPrompt,
        MessageType::UserInput,
        MessageType::ToolResult,
    ] {
        assert!(kinds.contains(&kind));
    }
    assert_calls_answered(&messages);
}

#[tokio::test]
async fn an_unfired_token_changes_nothing() {
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let outcome = runner(&client)
        .run(
            &default_workflow(),
            go().with_cancellation(CancellationToken::new()),
        )
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
}

#[tokio::test]
async fn cancellation_abandons_a_model_call_in_flight() {
    let client = ScriptedClient::new(
        forge_types::ApiFormat::Ollama,
        vec![Scripted::Reply(c("fetch")), Scripted::Hang],
    );
    let cancel = CancellationToken::new();
    let mut runner = runner(&client);
    let workflow = default_workflow();
    let run = runner.run(&workflow, go().with_cancellation(cancel.clone()));
    let canceller = async {
        while client.sends() < 2 {
            tokio::task::yield_now().await;
        }
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(run, canceller);
    let err = result.unwrap_err();
    let ForgeError::WorkflowCancelled {
        iteration,
        completed_steps,
        messages,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!((iteration, completed_steps), (2, vec!["fetch".to_owned()]));
    assert_calls_answered(&messages);
}

#[tokio::test]
async fn custom_retry_nudges() {
    let check_nudge = |runner: WorkflowRunner, reported: Reported, client: Arc<ScriptedClient>| async move {
        let mut runner = reported.attach(runner);
        runner.run(&default_workflow(), go()).await.unwrap();
        drop(client);
        let nudges = reported.of_type("retry_nudge");
        assert_eq!(nudges.len(), 1);
        nudges[0].content.clone()
    };
    let script = || vec![text("my response"), c("fetch"), c("submit")];

    let client = ScriptedClient::replies(script());
    let fixed = runner(&client).with_retry_text("Wrap in respond tool.");
    assert_eq!(
        check_nudge(fixed, Reported::default(), client).await,
        "Wrap in respond tool."
    );

    let client = ScriptedClient::replies(script());
    let built = runner(&client).with_retry_nudge(Arc::new(|raw: &str| {
        format!("Please use a tool. You said: {}", &raw[..10])
    }));
    assert!(check_nudge(built, Reported::default(), client)
        .await
        .contains("Please use a tool. You said: my respons"));

    let client = ScriptedClient::replies(script());
    let default = runner(&client);
    assert!(check_nudge(default, Reported::default(), client)
        .await
        .contains("tool call"));
}

#[tokio::test]
async fn missing_prompt_variable_is_an_invalid_input_error() {
    let client = ScriptedClient::replies(vec![]);
    let err = runner(&client)
        .run(&default_workflow(), RunRequest::new("go"))
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("'{role}'"), "{err}");
    assert_eq!(client.sends(), 0);
}

#[tokio::test]
async fn parallel_batch_answers_each_call_in_order() {
    let a = ToolDef::new_sync(no_arg_spec("a"), |_| Ok(json!({"n": 1, "s": "é"})));
    let workflow = workflow_with(vec![a, tool("b"), tool("submit")], &[], &["submit"]);
    let client = ScriptedClient::replies(vec![
        batch(vec![call("a", json!({})), call("b", json!({}))]),
        c("submit"),
    ]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    let results: Vec<(&str, Option<u32>)> = outcome.history[3..5]
        .iter()
        .map(|m| (m.content.as_str(), m.metadata.step_index()))
        .collect();
    assert_eq!(
        results,
        [
            (r#"{"n": 1, "s": "\u00e9"}"#, Some(1)),
            ("b_result", Some(1))
        ]
    );
    assert_eq!(outcome.history[2].tool_calls.as_ref().unwrap().len(), 2);
}

#[tokio::test]
async fn terminal_success_with_a_failing_sibling_returns_the_terminal_value() {
    let t = ToolDef::new_sync(no_arg_spec("t"), |_| Ok("T"));
    let a = ToolDef::new_sync(no_arg_spec("a"), |_| -> Result<&str, _> {
        Err(failing("ValueError", "sibling"))
    });
    let workflow = workflow_with(vec![t, a], &[], &["t"]);
    let client = ScriptedClient::replies(vec![batch(vec![
        call("t", json!({})),
        call("a", json!({})),
    ])]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output.as_text(), Some("T"));
    assert_eq!(
        outcome.history.last().unwrap().content,
        "[ToolError] ValueError: sibling"
    );

    let t2 = ToolDef::new_sync(no_arg_spec("t2"), |_| Ok("T2"));
    let t = ToolDef::new_sync(no_arg_spec("t"), |_| Ok("T"));
    let workflow = workflow_with(vec![t, t2], &[], &["t", "t2"]);
    let client = ScriptedClient::replies(vec![batch(vec![
        call("t", json!({})),
        call("t2", json!({})),
    ])]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(
        (outcome.output.as_text(), outcome.terminal_tool.as_str()),
        (Some("T2"), "t2")
    );
}

#[tokio::test]
async fn typed_tool_arguments_that_do_not_fit_are_a_counted_tool_error() {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Args {
        count: u32,
    }
    let fetch = ToolDef::typed("fetch", "Fetch n things.", |a: Args| async move {
        Ok::<_, ToolFailure>(format!("fetched {}", a.count))
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![
        ca("fetch", json!({"count": "five"})),
        ca("fetch", json!({"count": 5})),
        c("submit"),
    ]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert!(outcome.history[3]
        .content
        .starts_with("[ToolError] InvalidArguments: invalid type: string \"five\""));
    assert_eq!(outcome.history[5].content, "fetched 5");
}

// Regressions: reference defects the runner must not copy (spec 00, "Engine and runner").

#[tokio::test]
async fn regression_terminal_tool_returning_nothing_still_ends_the_run() {
    let submit = ToolDef::new_sync(no_arg_spec("submit"), |_| Ok(()));
    let workflow = workflow_with(vec![tool("fetch"), submit], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit"), c("submit")]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(outcome.output, ToolOutput::Json(Value::Null));
    assert_eq!(outcome.history.last().unwrap().content, "null");
    assert_eq!(client.sends(), 2);
}

#[tokio::test]
async fn regression_empty_tool_call_batch_goes_to_the_retry_path() {
    let client = ScriptedClient::replies(vec![batch(vec![]), c("fetch"), c("submit")]);
    let outcome = runner(&client)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    assert_eq!(outcome.output.as_text(), Some("submit_result"));
    let kinds: Vec<_> = outcome.history[2..4]
        .iter()
        .map(|m| m.metadata.kind())
        .collect();
    assert_eq!(kinds, [MessageType::TextResponse, MessageType::RetryNudge]);
    assert_calls_answered(&outcome.history);
}

#[tokio::test]
async fn regression_unserializable_tool_result_becomes_a_tool_error_reply() {
    struct Unserializable;
    impl serde::Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("a handle cannot be serialized"))
        }
    }
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n == 1 {
            ToolOutput::json(&Unserializable)
        } else {
            Ok("ok".into())
        }
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("fetch"), c("submit")]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(
        outcome.history[3].content,
        "[ToolError] SerializationError: a handle cannot be serialized"
    );
    assert_calls_answered(&outcome.history);
}

#[tokio::test]
async fn regression_panicking_tool_still_answers_its_call() {
    let probe = Probe::new();
    let fetch = probe.tool("fetch", |n, _| {
        if n == 1 {
            panic!("index out of range")
        }
        Ok("ok".into())
    });
    let workflow = workflow_with(vec![fetch, tool("submit")], &["fetch"], &["submit"]);
    let client = ScriptedClient::replies(vec![c("fetch"), c("fetch"), c("submit")]);
    let outcome = runner(&client).run(&workflow, go()).await.unwrap();
    assert_eq!(
        outcome.history[3].content,
        "[ToolError] Panic: index out of range"
    );
    assert_calls_answered(&outcome.history);
}

#[tokio::test]
async fn regression_call_ids_stay_unique_across_seeded_turns() {
    let workflow = workflow_with(vec![tool("fetch"), tool("submit")], &[], &["submit"]);
    let client = ScriptedClient::openai(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let mut runner = runner(&client);
    let first: RunOutcome = runner.run(&workflow, go()).await.unwrap();
    let mut history = first.history;
    history.push(Message::user("and again", MessageType::UserInput.meta()));
    let second = runner
        .run(&workflow, RunRequest::seeded(history))
        .await
        .unwrap();
    assert_calls_answered(&second.history);
    let ids: Vec<String> = second
        .history
        .iter()
        .flat_map(|m| m.tool_calls.iter().flatten().map(|c| c.call_id.to_string()))
        .collect();
    assert_eq!(
        ids,
        [
            "call_000000000",
            "call_000000001",
            "call_000000002",
            "call_000000003"
        ]
    );
}

#[tokio::test]
async fn regression_on_message_reports_failed_attempts_when_the_engine_gives_up() {
    let client = ScriptedClient::replies(vec![text("nope1"), c("bad"), text("nope3"), c("bad2")]);
    let reported = Reported::default();
    let err = reported
        .attach(runner(&client))
        .run(&default_workflow(), go())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::RetriesExhausted { .. }),
        "{err:?}"
    );
    assert_eq!(
        reported.types(),
        [
            "system_prompt",
            "user_input",
            "text_response",
            "retry_nudge",
            "tool_call",
            "retry_nudge",
            "text_response",
            "retry_nudge"
        ]
    );

    // the same when the iteration budget, not the retry budget, runs out
    let client = ScriptedClient::replies(vec![text("a"), text("b")]);
    let reported = Reported::default();
    let err = reported
        .attach(runner(&client).with_max_iterations(2))
        .run(&default_workflow(), go())
        .await
        .unwrap_err();
    assert!(matches!(err, ForgeError::MaxIterations { .. }), "{err:?}");
    assert_eq!(reported.of_type("text_response").len(), 2);
}

#[tokio::test]
async fn sampling_and_passthrough_ride_every_model_call() {
    let client = ScriptedClient::replies(vec![text("x"), c("fetch"), c("submit")]);
    let sampling = forge_types::SamplingParams {
        temperature: Some(0.0),
        seed: Some(7),
        ..Default::default()
    };
    runner(&client)
        .with_sampling(sampling.clone())
        .with_passthrough(args(json!({"max_tokens": 64})))
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let requests = client.requests();
    assert_eq!(requests.len(), 3);
    for request in requests {
        assert_eq!(request.sampling, sampling);
        assert_eq!(request.passthrough, args(json!({"max_tokens": 64})));
        let names: Vec<&str> = request.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["fetch", "submit"]);
    }
}

#[tokio::test]
async fn context_warnings_are_reported_and_sent_but_never_kept() {
    let client = ScriptedClient::replies(vec![c("fetch"), c("submit")]);
    let context = forge_context::ContextManager::new(forge_context::NoCompact, 100)
        .with_default_context_warnings(&[0.01])
        .unwrap();
    let reported = Reported::default();
    let outcome = reported
        .attach(WorkflowRunner::new(client.clone(), context))
        .run(&default_workflow(), go())
        .await
        .unwrap();
    let warnings = reported.of_type("context_warning");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].metadata.step_index(), Some(0));
    assert!(warnings[0].content.starts_with("[Context usage:"));
    assert!(outcome
        .history
        .iter()
        .all(|m| m.metadata.kind() != MessageType::ContextWarning));
    let first = &client.payloads()[0];
    assert_eq!(first.len(), 3);
    assert_eq!(
        first[2],
        json!({"role": "user", "content": warnings[0].content})
    );
    assert_eq!(
        client.payloads()[1].len(),
        4,
        "the warning rode one attempt only"
    );
}

/// A strategy that "changes" the history on every call (it bumps a token-estimate cache on the
/// last message, which never reaches the wire), so the manager reports each call's step index.
#[derive(Debug)]
struct StepProbe;

impl forge_context::CompactStrategy for StepProbe {
    fn compact_from(
        &self,
        messages: &[Message],
        _: u64,
        _: u64,
        _: &str,
    ) -> forge_context::Compaction {
        let mut messages = messages.to_vec();
        let last = messages.last_mut().unwrap();
        let bumped = last.metadata.token_estimate().unwrap_or(0) + 1;
        last.metadata = last.metadata.with_token_estimate(bumped);
        forge_context::Compaction::Compacted {
            messages,
            phase_reached: 1,
            changes: forge_context::CompactionChanges::default(),
        }
    }
}

#[tokio::test]
async fn compaction_runs_before_each_model_call_with_its_step_index() {
    let steps = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&steps);
    let context = forge_context::ContextManager::new(StepProbe, 100_000)
        .with_on_compact(move |event| seen.lock().unwrap().push(event.step_index));
    let client = ScriptedClient::replies(vec![text("x"), c("fetch"), c("submit")]);
    WorkflowRunner::new(client.clone(), context)
        .run(&default_workflow(), go())
        .await
        .unwrap();
    // a retry compacts again at the same step; the next call starts at the post-retry iteration
    assert_eq!(*steps.lock().unwrap(), [0, 0, 2]);
}
