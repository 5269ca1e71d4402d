//! SlotWorker: priority order, preemption, cancellation, stop (spec 03 §11, §18.10), plus the
//! regression for the reference's `stop()` leaving callers waiting forever.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};

use forge_runner::{RunOutcome, SlotWorker, ToolDef, Workflow};
use forge_types::{ForgeError, LlmResponse};
use support::*;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

type Order = Arc<Mutex<Vec<String>>>;

/// The default workflow whose terminal tool records `label` and returns `"{label}_result"`.
fn labelled(label: &str, order: &Order, fetch: ToolDef) -> Arc<Workflow> {
    let order = Arc::clone(order);
    let label = label.to_owned();
    let submit = ToolDef::new_sync(no_arg_spec("submit"), move |_| {
        order.lock().unwrap().push(label.clone());
        Ok(format!("{label}_result"))
    });
    Arc::new(workflow_with(vec![fetch, submit], &["fetch"], &["submit"]))
}

/// A fetch that blocks until the returned gate is opened, and the notification it sends when
/// it starts.
fn gate() -> (Arc<Notify>, Arc<Notify>) {
    (Arc::new(Notify::new()), Arc::new(Notify::new()))
}

fn started_worker(script: Vec<LlmResponse>) -> (Arc<SlotWorker>, Arc<ScriptedClient>) {
    let client = ScriptedClient::replies(script);
    let worker = Arc::new(SlotWorker::new(runner(&client)));
    assert!(worker.start());
    (worker, client)
}

fn spawn_submit(
    worker: &Arc<SlotWorker>,
    workflow: Arc<Workflow>,
    priority: i64,
) -> JoinHandle<Result<RunOutcome, ForgeError>> {
    let worker = Arc::clone(worker);
    tokio::spawn(async move { worker.submit(workflow, go(), priority).await })
}

async fn until(condition: impl Fn() -> bool) {
    while !condition() {
        tokio::task::yield_now().await;
    }
}

fn output(result: Result<RunOutcome, ForgeError>) -> String {
    result.unwrap().output.to_content()
}

#[tokio::test]
async fn submit_runs_the_workflow() {
    let (worker, _) = started_worker(vec![c("fetch"), c("submit")]);
    let result = worker.submit(Arc::new(default_workflow()), go(), 0).await;
    assert_eq!(output(result), "submit_result");
}

#[tokio::test]
async fn sequential_submissions_run_in_order() {
    let order = Order::default();
    let (worker, _) = started_worker(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let first = worker
        .submit(labelled("first", &order, tool("fetch")), go(), 0)
        .await;
    let second = worker
        .submit(labelled("second", &order, tool("fetch")), go(), 0)
        .await;
    assert_eq!(
        (output(first), output(second)),
        ("first_result".into(), "second_result".into())
    );
    assert_eq!(*order.lock().unwrap(), ["first", "second"]);
}

#[tokio::test]
async fn fresh_worker_is_idle_and_start_is_idempotent() {
    let client = ScriptedClient::replies(vec![]);
    let worker = SlotWorker::new(runner(&client));
    assert_eq!((worker.running_priority(), worker.pending()), (None, 0));
    assert!(!worker.is_started());
    assert!(worker.start());
    assert!(!worker.start(), "a second start spawns nothing");
    assert!(worker.is_started());
}

#[tokio::test]
async fn lower_priority_number_runs_first() {
    let order = Order::default();
    let (entered, open) = gate();
    let (worker, _) = started_worker(vec![
        c("fetch"),
        c("submit"),
        c("fetch"),
        c("submit"),
        c("fetch"),
        c("submit"),
    ]);
    let busy = spawn_submit(
        &worker,
        labelled(
            "busy",
            &order,
            gated_tool("fetch", entered.clone(), open.clone()),
        ),
        0,
    );
    entered.notified().await;
    assert_eq!(worker.running_priority(), Some(0));
    let low = spawn_submit(&worker, labelled("low", &order, tool("fetch")), 10);
    let high = spawn_submit(&worker, labelled("high", &order, tool("fetch")), 1);
    until(|| worker.pending() == 2).await;
    open.notify_one();
    assert_eq!(output(busy.await.unwrap()), "busy_result");
    assert_eq!(output(high.await.unwrap()), "high_result");
    assert_eq!(output(low.await.unwrap()), "low_result");
    assert_eq!(*order.lock().unwrap(), ["busy", "high", "low"]);
}

#[tokio::test]
async fn equal_priorities_do_not_preempt() {
    let (worker, _) = started_worker(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let a = worker.submit(Arc::new(default_workflow()), go(), 5).await;
    let b = worker.submit(Arc::new(default_workflow()), go(), 5).await;
    assert_eq!(
        (output(a), output(b)),
        ("submit_result".into(), "submit_result".into())
    );

    let order = Order::default();
    let (entered, open) = gate();
    let (worker, _) = started_worker(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let first = spawn_submit(
        &worker,
        labelled(
            "first",
            &order,
            gated_tool("fetch", entered.clone(), open.clone()),
        ),
        5,
    );
    entered.notified().await;
    let second = spawn_submit(&worker, labelled("second", &order, tool("fetch")), 5);
    until(|| worker.pending() == 1).await;
    open.notify_one();
    assert_eq!(output(first.await.unwrap()), "first_result");
    assert_eq!(output(second.await.unwrap()), "second_result");
}

#[tokio::test]
async fn cancel_current_fails_the_running_submission() {
    let (entered, open) = gate();
    let (worker, client) = started_worker(vec![c("fetch"), c("submit")]);
    let workflow = labelled(
        "x",
        &Order::default(),
        gated_tool("fetch", entered.clone(), open.clone()),
    );
    let running = spawn_submit(&worker, workflow, 0);
    entered.notified().await;
    worker.cancel_current();
    open.notify_one();
    let err = running.await.unwrap().unwrap_err();
    let ForgeError::WorkflowCancelled {
        completed_steps, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(completed_steps, ["fetch"]);
    assert_eq!(
        client.sends(),
        1,
        "the cancelled run asks the model nothing more"
    );
    assert_eq!(worker.running_priority(), None);
}

#[tokio::test]
async fn higher_priority_submission_preempts_the_running_one() {
    let (entered, open) = gate();
    let (worker, client) = started_worker(vec![c("fetch"), c("fetch"), c("submit")]);
    let slow = labelled(
        "slow",
        &Order::default(),
        gated_tool("fetch", entered.clone(), open.clone()),
    );
    let preempted = spawn_submit(&worker, slow, 10);
    entered.notified().await;
    let urgent = spawn_submit(&worker, Arc::new(default_workflow()), 1);
    until(|| worker.pending() == 1).await;
    open.notify_one();
    assert_eq!(output(urgent.await.unwrap()), "submit_result");
    let err = preempted.await.unwrap().unwrap_err();
    assert!(
        matches!(err, ForgeError::WorkflowCancelled { .. }),
        "{err:?}"
    );
    assert_eq!(client.sends(), 3);
}

#[tokio::test]
async fn worker_survives_a_failing_run() {
    let client = ScriptedClient::replies(vec![
        text("a"),
        text("b"),
        text("c"),
        text("d"),
        c("fetch"),
        c("submit"),
    ]);
    let worker = SlotWorker::new(runner(&client).with_max_iterations(3).with_rescue(false));
    worker.start();
    let err = worker
        .submit(Arc::new(default_workflow()), go(), 0)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ForgeError::MaxIterations { iterations: 3, .. }),
        "{err:?}"
    );
    // the leftover fourth text is consumed as a retry by the next run
    let ok = worker.submit(Arc::new(default_workflow()), go(), 0).await;
    assert_eq!(output(ok), "submit_result");
}

#[tokio::test]
async fn regression_stop_releases_running_and_queued_callers() {
    let (entered, open) = gate();
    let (worker, _) = started_worker(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let running = spawn_submit(
        &worker,
        labelled(
            "running",
            &Order::default(),
            gated_tool("fetch", entered.clone(), open),
        ),
        0,
    );
    entered.notified().await;
    let queued_a = spawn_submit(&worker, Arc::new(default_workflow()), 0);
    let queued_b = spawn_submit(&worker, Arc::new(default_workflow()), 3);
    until(|| worker.pending() == 2).await;
    worker.stop().await;
    for caller in [running, queued_a, queued_b] {
        let err = caller.await.unwrap().unwrap_err();
        assert!(matches!(err, ForgeError::Cancelled { .. }), "{err:?}");
    }
    assert_eq!((worker.pending(), worker.running_priority()), (0, None));
    assert!(!worker.is_started());

    // a stopped worker starts again and serves new submissions
    let later = spawn_submit(&worker, Arc::new(default_workflow()), 0);
    until(|| worker.pending() == 1).await;
    assert!(worker.start());
    assert_eq!(output(later.await.unwrap()), "submit_result");
}

#[tokio::test]
async fn a_queued_caller_that_goes_away_leaves_the_queue() {
    let (entered, open) = gate();
    let (worker, client) = started_worker(vec![c("fetch"), c("submit"), c("fetch"), c("submit")]);
    let running = spawn_submit(
        &worker,
        labelled(
            "running",
            &Order::default(),
            gated_tool("fetch", entered.clone(), open.clone()),
        ),
        0,
    );
    entered.notified().await;
    let abandoned = spawn_submit(&worker, Arc::new(default_workflow()), 0);
    until(|| worker.pending() == 1).await;
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    assert_eq!(worker.pending(), 0);
    open.notify_one();
    assert_eq!(output(running.await.unwrap()), "running_result");
    assert_eq!(client.sends(), 2, "the abandoned submission never ran");
}

#[tokio::test]
async fn a_running_caller_that_goes_away_cancels_its_run() {
    let (entered, open) = gate();
    let (worker, client) = started_worker(vec![c("fetch"), c("fetch"), c("submit")]);
    let abandoned = spawn_submit(
        &worker,
        labelled(
            "gone",
            &Order::default(),
            gated_tool("fetch", entered.clone(), open.clone()),
        ),
        0,
    );
    entered.notified().await;
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    open.notify_one();
    let next = worker.submit(Arc::new(default_workflow()), go(), 0).await;
    // the abandoned run stopped after its tool; the next run got the rest of the script
    assert_eq!(client.sends(), 1 + 2);
    assert_eq!(output(next), "submit_result");
}
