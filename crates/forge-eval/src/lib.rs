//! The forge evaluation harness: does forge lift a model's tool-calling reliability, and by how
//! much?
//!
//! - [`scenario`]: the 30 reference scenarios (13 single-shot, 13 stateful twins, 4 compaction
//!   chains) with their tools' deterministic behaviour and exact success checks;
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
