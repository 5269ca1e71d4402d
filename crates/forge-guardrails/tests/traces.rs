//! The worked traces of spec 03 §14 that the engine owns (bare-text retry, unknown tool,
//! retries exhausted), as snapshots of the full history and of every wire payload the fake
//! client received. A minimal caller loop stands in for the runner's back half (execute the
//! validated batch, tag it with the post-increment iteration), so the traces run end to end.
#![allow(clippy::unwrap_used)]

mod support;

use forge_context::{ContextManager, NoCompact};
use forge_guardrails::{
    run_inference, ErrorTracker, Gate, InferenceCall, InferenceFailure, InferenceOptions,
    InferenceOutcome, ResponseValidator, StepEnforcer,
};
use forge_types::{ApiFormat, CallIdGenerator, LlmResponse, Message, MessageType, ToolCallInfo};
use serde_json::{json, Value};
use support::{batch, call, fresh_history, rows, specs, text, ScriptedClient};

/// What the trace produced: the history, every payload sent, and the error if the run failed.
struct Trace {
    history: Vec<Message>,
    payloads: Vec<Vec<Value>>,
    error: Option<InferenceFailure>,
}

/// Runs the §14 default workflow (tools fetch/submit, fetch required, submit terminal) over
/// `script` until submit executes or the engine fails.
async fn run_trace(script: Vec<LlmResponse>) -> Trace {
    let client = ScriptedClient::replies(ApiFormat::OpenAi, script);
    let mut context = ContextManager::new(NoCompact, 100_000);
    let validator = ResponseValidator::new(specs(&["fetch", "submit"]));
    let mut errors = ErrorTracker::new(3, 2);
    let ids = CallIdGenerator::new();
    let mut enforcer = StepEnforcer::new(vec!["fetch".into()], ["submit"]);
    let mut history = fresh_history("You are a agent.", "go");
    let mut iteration = 0u32;
    let error = loop {
        let call = InferenceCall::new(&client, &mut context, &validator, &mut errors, &ids)
            .with_options(InferenceOptions {
                step_index: iteration,
                step_hint: enforcer.summary_hint(),
                max_attempts: Some(10 - iteration),
                ..Default::default()
            });
        let result = match run_inference(call, &mut history).await {
            Ok(InferenceOutcome::Response(result)) => result,
            Ok(InferenceOutcome::OutOfAttempts(_)) => panic!("the trace ran out of iterations"),
            Err(failure) => break Some(failure),
        };
        iteration += result.log.attempts;
        assert!(matches!(enforcer.gate(&result.calls), Gate::Proceed));
        let infos: Vec<ToolCallInfo> = result
            .calls
            .iter()
            .map(|c| ToolCallInfo::new(c.tool.clone(), c.args.clone(), ids.next_id()))
            .collect();
        history.push(Message::tool_calls(
            infos.clone(),
            MessageType::ToolCall.at_step(iteration),
        ));
        for info in &infos {
            history.push(Message::tool_result(
                &info.name,
                info.call_id.clone(),
                format!("{}_result", info.name),
                MessageType::ToolResult.at_step(iteration),
            ));
            enforcer.record(&info.name, info.args.clone());
        }
        if infos.iter().any(|i| enforcer.is_terminal(&i.name)) {
            break None;
        }
    };
    Trace {
        history,
        payloads: client.payloads(),
        error,
    }
}

#[tokio::test]
async fn trace_bare_text_retry() {
    let trace = run_trace(vec![
        text("I think the answer is 42."),
        batch(vec![call("fetch", json!({}))]),
        batch(vec![call("submit", json!({}))]),
    ])
    .await;
    assert!(trace.error.is_none());
    assert_eq!(trace.payloads.len(), 3);
    insta::assert_json_snapshot!("bare_text_retry_history", rows(&trace.history));
    insta::assert_json_snapshot!("bare_text_retry_payloads", trace.payloads);
}

#[tokio::test]
async fn trace_unknown_tool() {
    let trace = run_trace(vec![
        batch(vec![call("get_data", json!({"x": 1}))]),
        batch(vec![call("fetch", json!({}))]),
        batch(vec![call("submit", json!({}))]),
    ])
    .await;
    assert!(trace.error.is_none());
    insta::assert_json_snapshot!("unknown_tool_history", rows(&trace.history));
    insta::assert_json_snapshot!("unknown_tool_payloads", trace.payloads);
}

#[tokio::test]
async fn trace_retries_exhausted() {
    let trace = run_trace(vec![
        text("nope1"),
        batch(vec![call("bad", json!({"k": "v"}))]),
        text("nope3"),
        batch(vec![call("bad2", json!({"k": [1, 2]}))]),
    ])
    .await;
    let failure = trace.error.expect("retries run out");
    assert_eq!(failure.log.attempts, 4);
    assert_eq!(
        failure.last_response,
        Some(batch(vec![call("bad2", json!({"k": [1, 2]}))]))
    );
    insta::assert_snapshot!("retries_exhausted_error", failure.error.to_string());
    // everything the attempts produced is handed back, and it is what the history holds
    assert_eq!(&trace.history[2..], failure.log.new_messages.as_slice());
    insta::assert_json_snapshot!("retries_exhausted_history", rows(&trace.history));
    insta::assert_json_snapshot!("retries_exhausted_payloads", trace.payloads);
}
