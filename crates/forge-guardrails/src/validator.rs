//! Is a model response a usable tool-call batch? If not, what do we tell the model?

use std::fmt;
use std::sync::Arc;

use forge_types::{LlmResponse, ToolCall, ToolSpec};

use crate::nudge::{retry_nudge, unknown_tool_nudge, Nudge, NudgeKind};

/// Builds the retry text from the model's raw text (the default ignores it).
pub type RetryNudgeFn = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The verdict on one response.
#[derive(Debug, Clone, PartialEq)]
pub enum Validation {
    /// A non-empty batch whose every tool exists (possibly rescued from text).
    Valid(Vec<ToolCall>),
    /// Unusable: deliver the nudge and ask again.
    Retry(Nudge),
}

/// Turns model responses into validated batches or retry nudges. Stateless; reusable across
/// turns and conversations.
///
/// Decision order:
/// 1. text from which rescue (if enabled) recovers at least one call of a known tool → valid,
///    the rescued calls (without reasoning);
/// 2. other text → [`NudgeKind::Retry`] with the retry text;
/// 3. an empty batch → [`NudgeKind::Retry`] (the reference let it through and then crashed;
///    an empty batch answers nothing, so it is treated like a response with no tool call);
/// 4. a batch naming an unknown tool → [`NudgeKind::UnknownTool`] naming the **first** unknown
///    name and listing every tool in declaration order;
/// 5. otherwise → valid, the batch unchanged.
///
/// Rescue only returns calls of known tools, so text naming an unknown tool falls to row 2.
#[derive(Clone)]
pub struct ResponseValidator {
    tools: Vec<ToolSpec>,
    tool_names: Vec<String>,
    rescue_enabled: bool,
    retry_nudge: RetryNudgeFn,
}

impl fmt::Debug for ResponseValidator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseValidator")
            .field("tool_names", &self.tool_names)
            .field("rescue_enabled", &self.rescue_enabled)
            .finish_non_exhaustive()
    }
}

impl ResponseValidator {
    /// A validator for `tools` with rescue on and the default retry text.
    pub fn new(tools: Vec<ToolSpec>) -> Self {
        let tool_names = tools.iter().map(|tool| tool.name.clone()).collect();
        Self {
            tools,
            tool_names,
            rescue_enabled: true,
            retry_nudge: Arc::new(retry_nudge),
        }
    }

    /// The same validator with rescue of calls written as text switched on or off.
    pub fn with_rescue(mut self, enabled: bool) -> Self {
        self.rescue_enabled = enabled;
        self
    }

    /// The same validator with a custom retry text built from the model's raw text.
    pub fn with_retry_nudge(mut self, build: RetryNudgeFn) -> Self {
        self.retry_nudge = build;
        self
    }

    /// The same validator with a fixed retry text.
    pub fn with_retry_text(self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.with_retry_nudge(Arc::new(move |_| text.clone()))
    }

    /// The known tool names, in declaration order.
    pub fn tool_names(&self) -> &[String] {
        &self.tool_names
    }

    /// The known tools.
    pub fn tools(&self) -> &[ToolSpec] {
        &self.tools
    }

    /// True when rescue is on.
    pub fn rescue_enabled(&self) -> bool {
        self.rescue_enabled
    }

    /// Judges one response (see the type docs for the decision order).
    pub fn validate(&self, response: &LlmResponse) -> Validation {
        match response {
            LlmResponse::Text(text) => self.validate_text(&text.content),
            LlmResponse::ToolCalls(calls) => self.validate_batch(calls),
        }
    }

    fn validate_text(&self, text: &str) -> Validation {
        if self.rescue_enabled {
            if let Some(rescued) = forge_toolparse::rescue_tool_calls(text, &self.tools) {
                if !rescued.calls.is_empty() {
                    tracing::info!(
                        format = rescued.format.as_str(),
                        calls = rescued.calls.len(),
                        "rescued tool calls written as text"
                    );
                    let calls = rescued
                        .calls
                        .into_iter()
                        .map(|call| ToolCall {
                            reasoning: None,
                            ..call
                        })
                        .collect();
                    return Validation::Valid(calls);
                }
            }
        }
        tracing::debug!("text response is not a tool call; asking again");
        Validation::Retry(Nudge::new(NudgeKind::Retry, (self.retry_nudge)(text)))
    }

    fn validate_batch(&self, calls: &[ToolCall]) -> Validation {
        if calls.is_empty() {
            tracing::info!("empty tool-call batch; asking again");
            return Validation::Retry(Nudge::new(NudgeKind::Retry, (self.retry_nudge)("")));
        }
        if let Some(unknown) = calls
            .iter()
            .find(|call| !self.tool_names.contains(&call.tool))
        {
            tracing::info!(tool = %unknown.tool, "unknown tool called; asking again");
            return Validation::Retry(Nudge::new(
                NudgeKind::UnknownTool,
                unknown_tool_nudge(&unknown.tool, &self.tool_names),
            ));
        }
        Validation::Valid(calls.to_vec())
    }
}
