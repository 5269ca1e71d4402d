use serde::{Deserialize, Serialize};

use crate::{JsonObject, TokenUsage};

/// One tool call the model made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The tool's name.
    pub tool: String,
    /// The decoded arguments. Always an object: anything else went to the retry path.
    pub args: JsonObject,
    /// Reasoning the model gave for this call (set on the first call of a batch only).
    pub reasoning: Option<String>,
}

impl ToolCall {
    /// A call without reasoning.
    pub fn new(tool: impl Into<String>, args: JsonObject) -> Self {
        Self {
            tool: tool.into(),
            args,
            reasoning: None,
        }
    }
}

/// Plain assistant text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TextResponse {
    /// The text.
    pub content: String,
    /// Reasoning the model emitted before the text, if the backend separated it.
    pub reasoning: Option<String>,
}

impl TextResponse {
    /// Text without reasoning.
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            reasoning: None,
        }
    }
}

/// What the model answered: a batch of tool calls, or text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LlmResponse {
    /// One or more tool calls, in the order the model made them.
    ToolCalls(Vec<ToolCall>),
    /// Text (an answer, or output that did not form a valid call).
    Text(TextResponse),
}

impl LlmResponse {
    /// A text response without reasoning.
    pub fn text(content: impl Into<String>) -> Self {
        Self::Text(TextResponse::new(content))
    }

    /// The calls, if this is a tool-call batch.
    pub fn as_tool_calls(&self) -> Option<&[ToolCall]> {
        match self {
            Self::ToolCalls(calls) => Some(calls),
            Self::Text(_) => None,
        }
    }

    /// The text, if this is a text response.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(&text.content),
            Self::ToolCalls(_) => None,
        }
    }
}

/// One model response together with the token usage the backend reported for it.
///
/// Usage travels with the response it belongs to (never on a shared client), so concurrent
/// requests each see their own numbers, and a response that carried no usage reports `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// What the model answered.
    pub response: LlmResponse,
    /// Usage reported for this response, if the backend reported any.
    pub usage: Option<TokenUsage>,
}

impl Completion {
    /// A completion without usage.
    pub fn new(response: LlmResponse) -> Self {
        Self {
            response,
            usage: None,
        }
    }
}
