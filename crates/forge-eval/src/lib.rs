//! The forge evaluation harness: does forge lift a model's tool-calling reliability, and by how
//! much?
//!
//! - [`scenario`]: the 30 reference scenarios (13 single-shot, 13 stateful twins, 4 compaction
//!   chains) with their tools' deterministic behaviour, exact success checks and golden paths;
//! - [`preset`]: the ablation presets (`reforged`, `bare`, one per guardrail turned off), and
//!   [`preset::Configuration`]: a preset plus a constrained-decoding policy (`never`, `retry`,
//!   `always`), reported as `reforged`, `reforged+retry`, `bare+always`, …;
//! - [`run`]: one run through `forge_runner::WorkflowRunner` (fresh backend, terminal-argument
//!   capture, verdict, whole-run retry after a broken stream, timeout, `max_tokens` cap);
//! - [`batch`]: many runs into an append-only JSONL file ([`row`]), resumable, with a
//!   [`progress`] line;
//! - [`metrics`], [`stats`] (Wilson intervals, exact McNemar) and [`significance`] (every
//!   configuration paired with `reforged` under policy `never` by scenario and run);
//! - [`report`]: ASCII table, markdown views and a self-contained HTML dashboard;
//! - [`scripted`]: model stand-ins replaying golden paths, for tests and model-free smoke runs.
//!
//! The `forge-eval` binary wraps all of this (`forge-eval --help`).
//!
//! The scenario texts are carried byte for byte from the reference (forge v0.7.3, MIT) in
//! `data/reference.json`, because they are what the model reads.
//!
//! ```
//! use forge_eval::scenario::{all_scenarios, golden_path};
//! use serde_json::Value;
//!
//! let scenarios = all_scenarios();
//! assert_eq!(scenarios.len(), 30);
//! let basic = &scenarios[0];
//! assert_eq!(basic.name(), "basic_2step");
//! let mut backend = basic.new_backend();
//! let mut last_args = None;
//! for call in golden_path(basic.name()).expect("every scenario has a golden path") {
//!     let Value::Object(args) = call.args else { unreachable!("golden args are objects") };
//!     backend.call(call.tool, &args).expect("the golden path never raises here");
//!     last_args = Some(args);
//! }
//! assert_eq!(basic.validate(&last_args.expect("at least one call")), Ok(true));
//! ```

pub mod batch;
pub mod metrics;
pub mod preset;
pub mod progress;
pub mod py;
pub mod reference;
pub mod report;
pub mod row;
pub mod run;
pub mod scenario;
pub mod scripted;
pub mod significance;
pub mod stats;
