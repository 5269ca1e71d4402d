use std::fmt;
use std::time::Duration;

use thiserror::Error;

use crate::Message;

/// How many characters of a backend body an error keeps.
pub const BODY_EXCERPT_CHARS: usize = 512;

/// Which part of an HTTP exchange timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutPhase {
    /// Establishing the connection.
    Connect,
    /// Waiting for or reading the response (headers or body).
    Read,
    /// The whole request exceeded its deadline.
    Request,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Read => "read",
            Self::Request => "request",
        })
    }
}

/// A failure talking to a model server. Never model output: the engine does not retry these as if
/// the model had answered badly, and the proxy maps them to 5xx (or passes 401/403 through).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The backend answered with a non-success HTTP status.
    #[error("backend returned HTTP {status} for {url}: {body_excerpt}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The URL requested.
        url: String,
        /// The start of the response body (see [`BackendError::excerpt`]).
        body_excerpt: String,
    },
    /// The backend did not answer in time.
    #[error("backend {phase} timeout after {after:?} for {url}")]
    Timeout {
        /// Which phase timed out.
        phase: TimeoutPhase,
        /// The configured limit.
        after: Duration,
        /// The URL requested.
        url: String,
    },
    /// The backend could not be reached, or the connection broke.
    #[error("transport error for {url}: {message}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The backend answered 2xx with a body we cannot use (bad JSON, no choices, wrong types).
    #[error("backend response is invalid ({problem}): {body_excerpt}")]
    InvalidResponse {
        /// What is wrong with it.
        problem: String,
        /// The start of the offending body or frame.
        body_excerpt: String,
    },
    /// The backend reported an error inside an already-started stream.
    #[error("backend reported an error mid-stream{}: {message}", error_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    InStream {
        /// The provider's error type or code, if it gave one.
        error_type: Option<String>,
        /// The provider's message.
        message: String,
    },
    /// The stream ended without a final response (connection cut, no terminator).
    #[error("stream ended before the response was complete: {detail}")]
    Truncated {
        /// What was missing.
        detail: String,
    },
    /// Ollama: the model rejected thinking mode.
    #[error(
        "Model '{model}' does not support thinking. Use --think auto or --think false instead."
    )]
    ThinkingNotSupported {
        /// The model.
        model: String,
    },
    /// The request cannot be sent to this backend as given (no model to route to, history the
    /// backend's protocol cannot carry). The caller's input, not a backend failure: nothing was
    /// sent, and the proxy answers it with 400.
    #[error("request cannot be sent to the backend: {problem}")]
    InvalidRequest {
        /// What is wrong with it.
        problem: String,
    },
    /// The backend requires a credential and neither the request nor the client's configuration
    /// carries one. Nothing was sent; the proxy answers 401.
    #[error("the {backend} backend requires a credential in the {header} header and none was given; nothing was sent")]
    MissingCredential {
        /// The backend's short name (`anthropic`).
        backend: String,
        /// The header the credential belongs in (`x-api-key`).
        header: String,
    },
}

impl BackendError {
    /// The first [`BODY_EXCERPT_CHARS`] characters of `body`, marked when cut.
    pub fn excerpt(body: &str) -> String {
        let mut chars = body.chars();
        let head: String = chars.by_ref().take(BODY_EXCERPT_CHARS).collect();
        if chars.next().is_some() {
            format!("{head}… [truncated]")
        } else {
            head
        }
    }

    /// The HTTP status the backend sent, for [`BackendError::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for [`BackendError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}

/// Raised by a tool implementation when it cannot resolve its input (bad id, missing file).
///
/// Not a [`ForgeError`]: tool authors return it, and the runner feeds
/// `[ToolResolutionError] <message>` back to the model without counting a tool error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}")]
pub struct ToolResolutionError {
    /// What could not be resolved.
    pub message: String,
    /// The tool, when known.
    pub tool_name: Option<String>,
}

impl ToolResolutionError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            tool_name: None,
        }
    }
}

/// Every error forge reports to its callers.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ForgeError {
    /// `recommended_sampling` was asked for a model the sampling map does not know.
    #[error("No recommended sampling defaults registered for model '{model}'. Either add an entry to the sampling defaults map or drop recommended_sampling.")]
    UnsupportedModel {
        /// The model.
        model: String,
    },
    /// The model never produced a valid tool call within the retry budget.
    #[error("no valid tool call after {attempts} attempts: {reason}")]
    RetriesExhausted {
        /// Attempts made (first try + retries).
        attempts: u32,
        /// Why the last attempt failed.
        reason: String,
        /// The model's last raw output.
        last_response: Option<String>,
    },
    /// A tool kept failing.
    #[error("Tool '{tool_name}' raised: {cause}")]
    ToolExecution {
        /// The tool.
        tool_name: String,
        /// The last failure.
        cause: String,
    },
    /// The run was cancelled.
    #[error("Workflow cancelled at iteration {iteration}. Completed steps: {completed_steps:?}")]
    WorkflowCancelled {
        /// The history at the time of cancellation.
        messages: Vec<Message>,
        /// Tools completed so far.
        completed_steps: Vec<String>,
        /// The iteration that was running.
        iteration: u32,
    },
    /// The run used up its iterations.
    #[error("Max iterations ({iterations}) exceeded. Completed: {completed_steps:?}, Pending: {pending_steps:?}")]
    MaxIterations {
        /// The limit.
        iterations: u32,
        /// Tools completed.
        completed_steps: Vec<String>,
        /// Required steps still pending.
        pending_steps: Vec<String>,
    },
    /// The model kept calling a terminal tool before the required steps.
    #[error("Model called '{terminal_tool}' prematurely {attempts} times without completing required steps: {pending_steps:?}")]
    StepEnforcement {
        /// The terminal tool.
        terminal_tool: String,
        /// How many premature calls.
        attempts: u32,
        /// Required steps still pending.
        pending_steps: Vec<String>,
    },
    /// The model kept calling a tool without its prerequisites.
    #[error("Tool '{tool_name}' called {violations} times without satisfying prerequisites: {missing_prereqs:?}")]
    Prerequisite {
        /// The tool.
        tool_name: String,
        /// How many violations.
        violations: u32,
        /// The unmet prerequisites.
        missing_prereqs: Vec<String>,
    },
    /// The conversation does not fit the context budget.
    #[error(
        "Context budget exceeded: {estimated_tokens} tokens estimated, budget is {budget_tokens}"
    )]
    ContextBudgetExceeded {
        /// Estimated tokens.
        estimated_tokens: u64,
        /// The budget.
        budget_tokens: u64,
    },
    /// GPU detection failed.
    #[error("Hardware detection failed: {cause}")]
    HardwareDetection {
        /// The underlying failure.
        cause: String,
    },
    /// The backend's context length could not be discovered.
    #[error("Context discovery failed: {cause}")]
    ContextDiscovery {
        /// The underlying failure.
        cause: String,
    },
    /// No context budget could be determined.
    #[error("{}", match cause { Some(cause) => format!("Budget resolution failed: {cause}"), None => "No context budget could be determined: no GPU detected and no explicit budget_tokens provided".to_owned() })]
    BudgetResolution {
        /// The underlying failure, if any.
        cause: Option<String>,
    },
    /// The backend failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// A stream ended without its final response.
    #[error("Stream ended without FINAL chunk")]
    StreamEndedWithoutFinal,
    /// The caller cancelled the operation (a dropped client, a stopped worker).
    #[error("cancelled: {reason}")]
    Cancelled {
        /// Why.
        reason: String,
    },
    /// The caller's input violates a contract (bad workflow, bad template, bad schema).
    #[error("invalid {what}: {message}")]
    InvalidInput {
        /// What was invalid.
        what: &'static str,
        /// Why.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_on_char_boundaries() {
        let body = "ü".repeat(BODY_EXCERPT_CHARS + 3);
        let excerpt = BackendError::excerpt(&body);
        assert!(excerpt.ends_with("… [truncated]"));
        assert_eq!(
            excerpt.chars().filter(|c| *c == 'ü').count(),
            BODY_EXCERPT_CHARS
        );
        assert_eq!(BackendError::excerpt("short"), "short");
    }

    #[test]
    fn messages_carry_context() {
        let err = BackendError::Http {
            status: 500,
            url: "http://127.0.0.1:8080/v1/chat/completions".into(),
            body_excerpt: "boom".into(),
        };
        assert_eq!(err.status(), Some(500));
        assert!(err.to_string().contains("HTTP 500"));
        assert!(err.to_string().contains("boom"));
        let err = ForgeError::UnsupportedModel {
            model: "nonexistent-model:1b".into(),
        };
        assert!(err.to_string().contains("nonexistent-model:1b"));
        let err = ForgeError::BudgetResolution { cause: None };
        assert!(err
            .to_string()
            .starts_with("No context budget could be determined"));
    }
}
