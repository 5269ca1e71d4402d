//! When the engine asks the backend to constrain decoding to a tool call.

use std::fmt;
use std::str::FromStr;

use forge_client::LlmClient;
use forge_toolparse::{build_tool_constraint, ConstraintOutcome, TextAnswerTool, ToolConstraint};
use forge_types::{ForgeError, ToolSpec};

use crate::respond::{respond_spec, RESPOND_MESSAGE_FIELD};

/// When [`run_inference`](crate::run_inference) constrains the model's output to exactly one
/// call of one of the offered tools (or `respond`, so a text answer stays possible). Set once
/// at startup (the proxy's `--constrain`, the runner's option).
///
/// A constrained attempt yields exactly one call: a model that would have made parallel calls
/// makes one per attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConstraintPolicy {
    /// Never constrain: the reference behaviour.
    #[default]
    Never,
    /// The first attempt is free; every retry after a failed attempt is constrained ("retry
    /// tightening").
    Retry,
    /// Constrain every attempt.
    Always,
}

impl ConstraintPolicy {
    /// The flag value: `never`, `retry`, `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Never => "never",
            Self::Retry => "retry",
            Self::Always => "always",
        }
    }

    /// Whether the attempt with this 0-based index is constrained.
    pub fn constrains_attempt(self, attempt: u32) -> bool {
        match self {
            Self::Never => false,
            Self::Retry => attempt > 0,
            Self::Always => true,
        }
    }
}

impl fmt::Display for ConstraintPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConstraintPolicy {
    type Err = ForgeError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "never" => Ok(Self::Never),
            "retry" => Ok(Self::Retry),
            "always" => Ok(Self::Always),
            other => Err(ForgeError::InvalidInput {
                what: "constraint policy",
                message: format!("must be 'never', 'retry' or 'always', got '{other}'"),
            }),
        }
    }
}

/// The constraint for `tools` on `client`, or `None` (logged as a warning) when the backend
/// cannot constrain or the tools' schemas cannot be carried faithfully.
pub(crate) fn constraint_for(client: &dyn LlmClient, tools: &[ToolSpec]) -> Option<ToolConstraint> {
    let Some(dialect) = client.constraint_dialect() else {
        tracing::warn!(
            backend = client.backend_name(),
            "constrained decoding requested but this backend cannot constrain; sending unconstrained"
        );
        return None;
    };
    let respond = respond_spec();
    let text_answer = TextAnswerTool {
        spec: &respond,
        message_field: RESPOND_MESSAGE_FIELD,
    };
    match build_tool_constraint(tools, Some(text_answer), dialect) {
        ConstraintOutcome::Constrained(constraint) => {
            tracing::info!(
                dialect = dialect.as_str(),
                tools = tools.len(),
                "constraining decoding to one tool call"
            );
            Some(constraint)
        }
        ConstraintOutcome::Unconstrained { reason } => {
            tracing::warn!(
                backend = client.backend_name(),
                dialect = dialect.as_str(),
                %reason,
                "cannot constrain this request; sending unconstrained"
            );
            None
        }
    }
}
