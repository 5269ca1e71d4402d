//! `SlotWorker`: one inference slot shared by many callers, in priority order, with cooperative
//! preemption.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use forge_types::ForgeError;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::runner::{RunOutcome, RunRequest, WorkflowRunner};
use crate::workflow::Workflow;

type Reply = oneshot::Sender<Result<RunOutcome, ForgeError>>;

struct Job {
    priority: i64,
    workflow: Arc<Workflow>,
    request: RunRequest,
    reply: Reply,
}

struct Running {
    seq: u64,
    priority: i64,
    cancel: CancellationToken,
    reply: Option<Reply>,
}

#[derive(Default)]
struct State {
    /// `(priority, seq)`, smallest first; entries whose job is gone are skipped when popped.
    order: BinaryHeap<Reverse<(i64, u64)>>,
    jobs: HashMap<u64, Job>,
    next_seq: u64,
    running: Option<Running>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every critical section (no await, no user code).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Serializes workflow runs on one [`WorkflowRunner`] (one inference slot).
///
/// Callers [`submit`](SlotWorker::submit) a workflow with a priority (lower runs first; equal
/// priorities run in submission order) and wait for its result. A submission with a strictly
/// lower priority number than the running one asks the running run to stop: the runner notices
/// at its next checkpoint (the top of a loop turn, or during a model call) and that run fails
/// with [`ForgeError::WorkflowCancelled`]; it is not re-queued. Tools are never interrupted.
///
/// A caller that stops waiting (its `submit` future is dropped) leaves the queue at once; if its
/// run had started, the run is cancelled. [`stop`](SlotWorker::stop) fails every running and
/// queued caller with [`ForgeError::Cancelled`].
pub struct SlotWorker {
    shared: Arc<Shared>,
    runner: Arc<tokio::sync::Mutex<WorkflowRunner>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for SlotWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotWorker")
            .field("running_priority", &self.running_priority())
            .field("pending", &self.pending())
            .field("started", &self.is_started())
            .finish()
    }
}

impl SlotWorker {
    /// A worker over `runner`, not yet started.
    pub fn new(runner: WorkflowRunner) -> Self {
        Self {
            shared: Arc::new(Shared::default()),
            runner: Arc::new(tokio::sync::Mutex::new(runner)),
            task: Mutex::new(None),
        }
    }

    /// Starts the worker loop on the current tokio runtime. Returns false (and does nothing)
    /// when it is already running.
    pub fn start(&self) -> bool {
        let mut task = self.task.lock().unwrap_or_else(PoisonError::into_inner);
        if task.is_some() {
            return false;
        }
        let shared = Arc::clone(&self.shared);
        let runner = Arc::clone(&self.runner);
        *task = Some(tokio::spawn(work(shared, runner)));
        tracing::debug!("slot worker started");
        true
    }

    /// True between [`start`](SlotWorker::start) and [`stop`](SlotWorker::stop).
    pub fn is_started(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Stops the worker loop (abandoning the running run) and fails the running and every
    /// queued caller with [`ForgeError::Cancelled`]. Submissions made afterwards wait for the
    /// next [`start`](SlotWorker::start).
    pub async fn stop(&self) {
        let task = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let released = {
            let mut state = self.shared.lock();
            let mut replies: Vec<Reply> = state.jobs.drain().map(|(_, job)| job.reply).collect();
            state.order.clear();
            if let Some(running) = state.running.as_mut() {
                running.cancel.cancel();
                replies.extend(running.reply.take());
            }
            replies
        };
        let count = released.len();
        for reply in released {
            // A caller that already went away needs no answer.
            let _ = reply.send(Err(ForgeError::Cancelled {
                reason: "the slot worker was stopped".to_owned(),
            }));
        }
        if let Some(task) = task {
            task.abort();
            if let Err(err) = task.await {
                if !err.is_cancelled() {
                    tracing::error!(error = %err, "slot worker loop ended abnormally");
                }
            }
        }
        self.shared.lock().running = None;
        tracing::debug!(released = count, "slot worker stopped");
    }

    /// Queues `workflow` at `priority` (lower runs first) and waits for its result.
    ///
    /// Preempts the running run when `priority` is strictly lower than its priority. Fails with
    /// [`ForgeError::WorkflowCancelled`] when this run is itself preempted or cancelled, with
    /// [`ForgeError::Cancelled`] when the worker is stopped or dropped, and with whatever the run
    /// fails with otherwise.
    pub async fn submit(
        &self,
        workflow: Arc<Workflow>,
        request: impl Into<RunRequest>,
        priority: i64,
    ) -> Result<RunOutcome, ForgeError> {
        let (reply, result) = oneshot::channel();
        let seq = {
            let mut state = self.shared.lock();
            let seq = state.next_seq;
            state.next_seq += 1;
            state.order.push(Reverse((priority, seq)));
            state.jobs.insert(
                seq,
                Job {
                    priority,
                    workflow,
                    request: request.into(),
                    reply,
                },
            );
            if let Some(running) = &state.running {
                if priority < running.priority {
                    tracing::info!(
                        running = running.priority,
                        incoming = priority,
                        "preempting the running workflow"
                    );
                    running.cancel.cancel();
                }
            }
            seq
        };
        self.shared.wake.notify_one();
        // Dropped with this future: a caller that stops waiting leaves the queue (or cancels its
        // run); after an answer it finds nothing left to withdraw.
        let _withdraw = Withdraw {
            shared: &self.shared,
            seq,
        };
        result.await.unwrap_or_else(|_| {
            Err(ForgeError::Cancelled {
                reason: "the slot worker was dropped".to_owned(),
            })
        })
    }

    /// Asks the running run to stop (it fails with [`ForgeError::WorkflowCancelled`]); queued
    /// runs are unaffected. Does nothing when idle.
    pub fn cancel_current(&self) {
        if let Some(running) = &self.shared.lock().running {
            running.cancel.cancel();
        }
    }

    /// The priority of the running run, `None` when idle.
    pub fn running_priority(&self) -> Option<i64> {
        self.shared.lock().running.as_ref().map(|r| r.priority)
    }

    /// How many submissions wait in the queue.
    pub fn pending(&self) -> usize {
        self.shared.lock().jobs.len()
    }
}

impl Drop for SlotWorker {
    fn drop(&mut self) {
        // Dropping the loop drops every reply sender, so waiting callers get `Cancelled`.
        if let Some(task) = self
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }
}

/// Removes a submission whose caller stopped waiting; cancels it if it is running.
struct Withdraw<'a> {
    shared: &'a Shared,
    seq: u64,
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.jobs.remove(&self.seq).is_some() {
            tracing::debug!(
                seq = self.seq,
                "queued caller went away; dropped from the queue"
            );
        } else if let Some(running) = state.running.as_ref().filter(|r| r.seq == self.seq) {
            tracing::info!(
                seq = self.seq,
                "running caller went away; cancelling its run"
            );
            running.cancel.cancel();
        }
    }
}

async fn work(shared: Arc<Shared>, runner: Arc<tokio::sync::Mutex<WorkflowRunner>>) {
    loop {
        let (seq, workflow, request) = next_job(&shared).await;
        let result = {
            let mut runner = runner.lock().await;
            runner.run(&workflow, request).await
        };
        let reply = {
            let mut state = shared.lock();
            match state.running.take() {
                Some(running) if running.seq == seq => running.reply,
                other => {
                    state.running = other;
                    None
                }
            }
        };
        if let Some(reply) = reply {
            // The caller may have gone away meanwhile; nothing to deliver then.
            let _ = reply.send(result);
        }
    }
}

/// Waits for the best queued job and marks it running, in one critical section so a
/// concurrent submission sees either the old or the new running priority, never neither.
async fn next_job(shared: &Shared) -> (u64, Arc<Workflow>, RunRequest) {
    loop {
        {
            let mut state = shared.lock();
            while let Some(Reverse((_, seq))) = state.order.pop() {
                let Some(job) = state.jobs.remove(&seq) else {
                    continue;
                };
                if job.reply.is_closed() {
                    continue;
                }
                let Job {
                    priority,
                    workflow,
                    mut request,
                    reply,
                } = job;
                let cancel = match request.cancellation() {
                    Some(caller) => caller.child_token(),
                    None => CancellationToken::new(),
                };
                request = request.with_cancellation(cancel.clone());
                state.running = Some(Running {
                    seq,
                    priority,
                    cancel,
                    reply: Some(reply),
                });
                return (seq, workflow, request);
            }
        }
        shared.wake.notified().await;
    }
}
