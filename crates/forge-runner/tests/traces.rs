//! The worked traces of spec 03 §14, run through the WorkflowRunner: snapshots of the full
//! message history (what `on_message` saw, which is the history) and of every wire payload the
//! fake client received, OpenAI format.
#![allow(clippy::unwrap_used)]

mod support;

use forge_runner::Workflow;
use forge_types::{ForgeError, LlmResponse, Prerequisite};
use serde_json::{json, Value};
use support::*;

struct Trace {
    history: Vec<Value>,
    payloads: Vec<Vec<Value>>,
    result: Result<String, String>,
}

async fn run_trace(workflow: Workflow, script: Vec<LlmResponse>) -> Trace {
    let client = ScriptedClient::openai(script);
    let reported = Reported::default();
    let result = reported.attach(runner(&client)).run(&workflow, go()).await;
    let history = reported.messages();
    assert_calls_answered(&history);
    let result = match result {
        Ok(outcome) => {
            assert_eq!(outcome.history, history, "on_message saw the whole history");
            Ok(outcome.output.to_content())
        }
        Err(err) => Err(err.to_string()),
    };
    Trace {
        history: rows(&history),
        payloads: client.payloads(),
        result,
    }
}

fn snapshot(name: &str, trace: &Trace) {
    insta::assert_json_snapshot!(format!("{name}_history"), trace.history);
    insta::assert_json_snapshot!(format!("{name}_payloads"), trace.payloads);
}

#[tokio::test]
async fn trace_clean_two_step() {
    let trace = run_trace(
        default_workflow(),
        vec![ca("fetch", json!({"q": "x"})), c("submit")],
    )
    .await;
    assert_eq!(trace.result, Ok("submit_result".to_owned()));
    assert_eq!(trace.payloads.len(), 2);
    snapshot("clean_two_step", &trace);
}

#[tokio::test]
async fn trace_bare_text_retry() {
    let trace = run_trace(
        default_workflow(),
        vec![text("I think the answer is 42."), c("fetch"), c("submit")],
    )
    .await;
    assert_eq!(trace.result, Ok("submit_result".to_owned()));
    assert_eq!(trace.payloads.len(), 3);
    snapshot("bare_text_retry", &trace);
}

#[tokio::test]
async fn trace_unknown_tool() {
    let trace = run_trace(
        default_workflow(),
        vec![ca("get_data", json!({"x": 1})), c("fetch"), c("submit")],
    )
    .await;
    assert_eq!(trace.result, Ok("submit_result".to_owned()));
    snapshot("unknown_tool", &trace);
}

#[tokio::test]
async fn trace_premature_terminal() {
    let trace = run_trace(
        default_workflow(),
        vec![c("submit"), c("fetch"), c("submit")],
    )
    .await;
    assert_eq!(trace.result, Ok("submit_result".to_owned()));
    snapshot("premature_terminal", &trace);
}

#[tokio::test]
async fn trace_premature_batch_answers_every_call() {
    let trace = run_trace(
        default_workflow(),
        vec![
            batch(vec![call("fetch", json!({})), call("submit", json!({}))]),
            c("fetch"),
            c("submit"),
        ],
    )
    .await;
    assert_eq!(trace.result, Ok("submit_result".to_owned()));
    snapshot("premature_batch", &trace);
}

#[tokio::test]
async fn trace_prerequisite_violation() {
    let path = || json!({"path": "a.py"});
    let trace = run_trace(
        prereq_workflow(Prerequisite::ArgMatched {
            tool: "read_file".into(),
            match_arg: "path".into(),
        }),
        vec![
            ca("edit_file", path()),
            ca("read_file", path()),
            ca("edit_file", path()),
            c("submit"),
        ],
    )
    .await;
    assert_eq!(trace.result, Ok("submit_result".to_owned()));
    snapshot("prerequisite_violation", &trace);
}

#[tokio::test]
async fn trace_retries_exhausted() {
    let trace = run_trace(
        default_workflow(),
        vec![
            text("nope1"),
            ca("bad", json!({"k": "v"})),
            text("nope3"),
            ca("bad2", json!({"k": [1, 2]})),
        ],
    )
    .await;
    let error = trace.result.clone().unwrap_err();
    assert!(
        error.contains("Retries exhausted after 3 consecutive failed attempts"),
        "{error}"
    );
    insta::assert_snapshot!("retries_exhausted_error", error);
    snapshot("retries_exhausted", &trace);
}

#[tokio::test]
async fn trace_premature_escalation_ends_in_step_enforcement_error() {
    let trace = run_trace(default_workflow(), vec![c("submit"); 4]).await;
    let error = trace.result.clone().unwrap_err();
    assert_eq!(
        error,
        ForgeError::StepEnforcement {
            terminal_tool: "submit".into(),
            attempts: 4,
            pending_steps: vec!["fetch".into()],
        }
        .to_string()
    );
    // three blocked pairs, nothing for the fourth batch
    assert_eq!(trace.history.len(), 2 + 3 * 2);
    snapshot("premature_escalation", &trace);
}
