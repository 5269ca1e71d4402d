//! The 30 reference scenarios: data (from [`crate::reference`]) plus behaviour (this module).
//!
//! A [`Scenario`] gives the model a system prompt, a user message and tools; a fresh
//! [`ScenarioBackend`] per run answers the tool calls deterministically; after a complete run the
//! [`Scenario::validate`] check looks at the terminal tool's arguments and, for stateful
//! scenarios, [`ScenarioBackend::state_ok`] at the backend's end state.

mod audit;
mod chain;
mod golden;
mod hiring;
mod hr;
mod lambda;
mod legacy_api;
mod stateful;
mod validators;

use std::fmt;

use forge_types::{JsonObject, ToolSpec};
use serde_json::Value;

pub use golden::{golden_path, GoldenCall};

use crate::reference::{reference, ScenarioSpec};

/// A tool call that raised, as the reference's Python tool would have: fed back to the model as
/// `[ToolError] <type_name>: <message>` and counted against the tool-error budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    /// The Python exception type name (`KeyError`, `TypeError`, `ValueError`, …).
    pub type_name: String,
    /// The exception message.
    pub message: String,
}

impl ToolError {
    /// An error of `type_name` with `message`.
    pub fn new(type_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            type_name: type_name.into(),
            message: message.into(),
        }
    }

    /// The `KeyError` Python raises for a missing required argument (`'country'`).
    pub fn missing(key: &str) -> Self {
        Self::new("KeyError", format!("'{key}'"))
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)
    }
}

impl std::error::Error for ToolError {}

/// A success check that raised (the reference records the exception type name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateError {
    /// The Python exception type name.
    pub type_name: String,
}

/// The per-run tool implementations of one scenario, with whatever state they keep.
pub trait ScenarioBackend: Send {
    /// Runs `tool` with the model's raw arguments.
    fn call(&mut self, tool: &str, args: &JsonObject) -> Result<String, ToolError>;

    /// The end-state check of a stateful scenario (`None` for lambda scenarios, which have none).
    fn state_ok(&self) -> Option<bool> {
        None
    }
}

/// Which suite a scenario belongs to in the published results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// The 9 original lambda scenarios and their stateful twins.
    Og18,
    /// The 4 hard lambda scenarios and their twins.
    AdvancedReasoning,
    /// The 10-step compaction chain at four budgets.
    CompactionChain,
}

impl Suite {
    /// The suite's report name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Og18 => "og18",
            Self::AdvancedReasoning => "advanced_reasoning",
            Self::CompactionChain => "compaction_chain",
        }
    }
}

/// The tag vocabulary of the CLI filters.
pub const TAGS: [&str; 7] = [
    "plumbing",
    "model_quality",
    "reasoning",
    "advanced_reasoning",
    "error_recovery",
    "stateful",
    "compaction",
];

/// One reference scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    spec: &'static ScenarioSpec,
}

/// All 30 scenarios in registry order (the order batch runs use).
pub fn all_scenarios() -> Vec<Scenario> {
    reference()
        .scenarios
        .iter()
        .map(|spec| Scenario { spec })
        .collect()
}

/// The scenario called `name`.
pub fn scenario(name: &str) -> Option<Scenario> {
    reference()
        .scenarios
        .iter()
        .find(|spec| spec.name == name)
        .map(|spec| Scenario { spec })
}

impl Scenario {
    /// The static description.
    pub fn spec(&self) -> &'static ScenarioSpec {
        self.spec
    }

    /// The scenario's name.
    pub fn name(&self) -> &'static str {
        &self.spec.name
    }

    /// True when the scenario has `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.spec.tags.iter().any(|t| t == tag)
    }

    /// True for scenarios with a per-run backend and an end-state check.
    pub fn is_stateful(&self) -> bool {
        self.has_tag("stateful")
    }

    /// True for the three compaction-pressure scenarios (P1–P3), which use their own budget and
    /// are skipped when an ablation turns compaction off.
    pub fn is_compaction_pressure(&self) -> bool {
        self.has_tag("compaction")
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        if self.name().starts_with("compaction_chain") {
            Suite::CompactionChain
        } else if self.has_tag("advanced_reasoning") {
            Suite::AdvancedReasoning
        } else {
            Suite::Og18
        }
    }

    /// The ideal number of LLM calls: declared, else one per required step plus the terminal call.
    pub fn ideal_iterations(&self) -> u32 {
        self.spec.ideal_iterations.unwrap_or_else(|| {
            u32::try_from(self.spec.required_steps.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1)
        })
    }

    /// The tools as the model sees them, in order.
    pub fn tool_specs(&self) -> Vec<ToolSpec> {
        self.spec
            .tools
            .iter()
            .map(|tool| ToolSpec::new(&tool.name, &tool.description, tool.parameters.clone()))
            .collect()
    }

    /// A fresh backend for one run.
    pub fn new_backend(&self) -> Box<dyn ScenarioBackend> {
        let name = self.name();
        if let Some(backend) = stateful::backend(name) {
            return backend;
        }
        if let Some(backend) = hr::backend(name) {
            return backend;
        }
        if let Some(backend) = audit::backend(name) {
            return backend;
        }
        if let Some(backend) = legacy_api::backend(name) {
            return backend;
        }
        if let Some(backend) = hiring::backend(name) {
            return backend;
        }
        if let Some(backend) = chain::backend(name) {
            return backend;
        }
        Box::new(lambda::LambdaBackend::new(self.spec))
    }

    /// The success check over the terminal call's arguments.
    pub fn validate(&self, args: &JsonObject) -> Result<bool, ValidateError> {
        validators::validate(self.name(), args)
    }
}

/// `kw[key]`: the argument, or the `KeyError` Python raises when it is missing.
pub(crate) fn required<'a>(args: &'a JsonObject, key: &str) -> Result<&'a Value, ToolError> {
    args.get(key).ok_or_else(|| ToolError::missing(key))
}

/// `kw[key].strip()` and friends: a required argument a string method is called on.
pub(crate) fn required_str<'a>(args: &'a JsonObject, key: &str) -> Result<&'a str, ToolError> {
    crate::py::as_py_str(required(args, key)?, "strip")
}

/// `str(kw.get(key, default))`.
pub(crate) fn str_or(args: &JsonObject, key: &str, default: &str) -> String {
    args.get(key)
        .map_or_else(|| default.to_owned(), crate::py::py_str)
}
