//! Which tools have run successfully, kept outside the message history so compaction cannot
//! erase it.

use std::collections::HashMap;

use forge_types::{JsonObject, Prerequisite};
use indexmap::IndexSet;
use serde_json::Value;

/// The outcome of a prerequisite check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrerequisiteCheck {
    /// The unmet prerequisites' tool names, in declaration order (a tool may repeat).
    pub missing: Vec<String>,
}

impl PrerequisiteCheck {
    /// True when nothing is missing.
    pub fn is_satisfied(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Step state of one conversation: required steps, successful tools, and their arguments.
#[derive(Debug, Clone, Default)]
pub struct StepTracker {
    required_steps: Vec<String>,
    completed_steps: IndexSet<String>,
    executed_tools: HashMap<String, Vec<JsonObject>>,
}

impl StepTracker {
    /// A tracker for `required_steps` (in declaration order), with nothing recorded.
    pub fn new(required_steps: Vec<String>) -> Self {
        Self {
            required_steps,
            ..Self::default()
        }
    }

    /// Records one successful execution of `tool` with `args`.
    ///
    /// `tool` joins the completed set on its first success (later successes keep that position);
    /// `args` are appended to the tool's call list.
    pub fn record(&mut self, tool: &str, args: JsonObject) {
        if !self.completed_steps.contains(tool) {
            self.completed_steps.insert(tool.to_owned());
        }
        self.executed_tools
            .entry(tool.to_owned())
            .or_default()
            .push(args);
    }

    /// The required steps, in declaration order.
    pub fn required_steps(&self) -> &[String] {
        &self.required_steps
    }

    /// Every tool that has succeeded at least once, in first-success order.
    pub fn completed_steps(&self) -> &IndexSet<String> {
        &self.completed_steps
    }

    /// The arguments of every successful call of `tool`, in call order.
    pub fn executions(&self, tool: &str) -> &[JsonObject] {
        self.executed_tools.get(tool).map_or(&[], Vec::as_slice)
    }

    /// True when every required step has succeeded (always true with none).
    pub fn is_satisfied(&self) -> bool {
        self.required_steps
            .iter()
            .all(|step| self.completed_steps.contains(step))
    }

    /// Required steps not yet done, in declaration order.
    pub fn pending(&self) -> Vec<String> {
        self.required_steps
            .iter()
            .filter(|step| !self.completed_steps.contains(*step))
            .cloned()
            .collect()
    }

    /// `[No steps completed yet]`, or `[Steps completed: a, b]` in first-success order.
    pub fn summary_hint(&self) -> String {
        if self.completed_steps.is_empty() {
            return "[No steps completed yet]".to_owned();
        }
        let names: Vec<&str> = self.completed_steps.iter().map(String::as_str).collect();
        format!("[Steps completed: {}]", names.join(", "))
    }

    /// Checks `prerequisites` for a call with `args` against what has succeeded so far.
    ///
    /// A [`Prerequisite::Tool`] is met by any earlier success of that tool. A
    /// [`Prerequisite::ArgMatched`] needs an earlier success whose `match_arg` value equals this
    /// call's; an absent key counts as null on both sides (so "both absent" matches, as in the
    /// reference), and numbers compare by value (`1 == 1.0`).
    pub fn check_prerequisites(
        &self,
        args: &JsonObject,
        prerequisites: &[Prerequisite],
    ) -> PrerequisiteCheck {
        let missing = prerequisites
            .iter()
            .filter(|prerequisite| !self.is_met(prerequisite, args))
            .map(|prerequisite| prerequisite.tool().to_owned())
            .collect();
        PrerequisiteCheck { missing }
    }

    fn is_met(&self, prerequisite: &Prerequisite, args: &JsonObject) -> bool {
        let Some(calls) = self.executed_tools.get(prerequisite.tool()) else {
            return false;
        };
        match prerequisite {
            Prerequisite::Tool(_) => !calls.is_empty(),
            Prerequisite::ArgMatched { match_arg, .. } => {
                let wanted = args.get(match_arg).unwrap_or(&Value::Null);
                calls
                    .iter()
                    .any(|call| loose_eq(call.get(match_arg).unwrap_or(&Value::Null), wanted))
            }
        }
    }
}

/// JSON equality where numbers compare by value, so `1` equals `1.0` (Python's `==` on decoded
/// JSON, which is what the reference compared with).
fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| loose_eq(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| loose_eq(x, y)))
        }
        _ => a == b,
    }
}
