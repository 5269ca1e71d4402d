//! What a stream assembled to, before arguments are decoded, and the one resolution into a
//! [`Completion`].

use forge_toolparse::{decode_arguments, ArgumentsOutcome};
use forge_types::{Completion, LlmResponse, TextResponse, TokenUsage, ToolCall};
use serde_json::Value;

/// Where the first tool call's reasoning comes from when the stream carried no reasoning of its
/// own (no `reasoning_content` / `reasoning` / `thinking`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReasoningFallback {
    /// No reasoning: text next to a tool call is user-facing (hosted OpenAI-compatible APIs,
    /// Anthropic).
    #[default]
    None,
    /// The streamed text, as the local-model clients do (llama-server, vLLM, Ollama): an instruct
    /// model narrating before its call is reasoning.
    Content,
}

/// A tool call as streamed: its name and its raw arguments, not yet decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct RawToolCall {
    /// The tool name (fragments joined).
    pub name: String,
    /// The arguments as received: the joined argument text of an SSE stream, or the object of an
    /// Ollama line. `None` when the provider sent no arguments at all.
    pub arguments: Option<Value>,
}

/// Everything a complete stream carried, before the argument decoding policy runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AssembledResponse {
    /// The assistant text, concatenated.
    pub content: String,
    /// Structured reasoning, concatenated.
    pub reasoning: String,
    /// Tool calls in the provider's order (by index).
    pub tool_calls: Vec<RawToolCall>,
    /// Usage the stream reported, if any.
    pub usage: Option<TokenUsage>,
}

impl AssembledResponse {
    /// The final response under the given reasoning fallback.
    ///
    /// Tool calls whose arguments all decode to objects become [`LlmResponse::ToolCalls`], with
    /// the reasoning on the first call only. If any call's arguments are malformed or not an
    /// object, the whole response goes to the retry path as [`LlmResponse::Text`]: the assistant
    /// text if there was any, else the raw arguments of the first failing call. Without tool
    /// calls the response is the text, with the structured reasoning attached.
    pub fn into_completion(self, fallback: ReasoningFallback) -> Completion {
        let Self {
            content,
            reasoning,
            tool_calls,
            usage,
        } = self;
        let reasoning = (!reasoning.is_empty()).then_some(reasoning);
        let response = if tool_calls.is_empty() {
            LlmResponse::Text(TextResponse { content, reasoning })
        } else {
            resolve_tool_calls(tool_calls, content, reasoning, fallback)
        };
        Completion { response, usage }
    }
}

fn resolve_tool_calls(
    tool_calls: Vec<RawToolCall>,
    content: String,
    reasoning: Option<String>,
    fallback: ReasoningFallback,
) -> LlmResponse {
    let mut calls = Vec::with_capacity(tool_calls.len());
    for raw in tool_calls {
        let failure = match decode_arguments(raw.arguments.as_ref()) {
            ArgumentsOutcome::Object(args) => {
                calls.push(ToolCall::new(raw.name, args));
                continue;
            }
            failure => failure,
        };
        tracing::debug!(
            tool = %raw.name,
            problem = failure.problem().unwrap_or_default(),
            "streamed tool call has unusable arguments; the response goes to the retry path as text"
        );
        let content = if content.is_empty() {
            failure.raw().unwrap_or_default().to_owned()
        } else {
            content
        };
        return LlmResponse::Text(TextResponse { content, reasoning });
    }
    let reasoning = match (reasoning, fallback) {
        (Some(reasoning), _) => Some(reasoning),
        (None, ReasoningFallback::Content) if !content.is_empty() => Some(content),
        (None, _) => None,
    };
    if let Some(first) = calls.first_mut() {
        first.reasoning = reasoning;
    }
    LlmResponse::ToolCalls(calls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(name: &str, arguments: Option<Value>) -> RawToolCall {
        RawToolCall {
            name: name.to_owned(),
            arguments,
        }
    }

    fn assembled(content: &str, reasoning: &str, calls: Vec<RawToolCall>) -> AssembledResponse {
        AssembledResponse {
            content: content.to_owned(),
            reasoning: reasoning.to_owned(),
            tool_calls: calls,
            usage: None,
        }
    }

    #[test]
    fn argument_policy_table() {
        // (content, calls, fallback, expected response)
        let cases: Vec<(&str, &str, Vec<RawToolCall>, ReasoningFallback, LlmResponse)> = vec![
            (
                "",
                "",
                vec![raw("f", Some(json!("")))],
                ReasoningFallback::None,
                LlmResponse::ToolCalls(vec![ToolCall::new("f", Default::default())]),
            ),
            (
                "",
                "",
                vec![raw("f", None)],
                ReasoningFallback::None,
                LlmResponse::ToolCalls(vec![ToolCall::new("f", Default::default())]),
            ),
            (
                "",
                "",
                vec![raw("f", Some(json!("{\"a\": 1")))],
                ReasoningFallback::None,
                LlmResponse::text("{\"a\": 1"),
            ),
            (
                "Let me check.",
                "",
                vec![raw("f", Some(json!("{}"))), raw("g", Some(json!("[1]")))],
                ReasoningFallback::None,
                LlmResponse::text("Let me check."),
            ),
            (
                "",
                "",
                vec![raw("f", Some(json!("null"))), raw("g", Some(json!("{bad")))],
                ReasoningFallback::None,
                LlmResponse::text("null"),
            ),
            (
                "",
                "",
                vec![raw("f", Some(json!({"a": 1}))), raw("g", Some(json!(5)))],
                ReasoningFallback::None,
                LlmResponse::text("5"),
            ),
        ];
        for (content, reasoning, calls, fallback, expected) in cases {
            let completion = assembled(content, reasoning, calls.clone()).into_completion(fallback);
            assert_eq!(completion.response, expected, "calls {calls:?}");
        }
    }

    #[test]
    fn reasoning_goes_on_the_first_call_only_and_falls_back_to_content_when_asked() {
        let calls = vec![raw("f", Some(json!("{}"))), raw("g", Some(json!("{}")))];
        let with_reasoning = assembled("narration", "thought", calls.clone())
            .into_completion(ReasoningFallback::None);
        let tool_calls = with_reasoning.response.as_tool_calls().unwrap();
        assert_eq!(tool_calls[0].reasoning.as_deref(), Some("thought"));
        assert_eq!(tool_calls[1].reasoning, None);

        let hosted =
            assembled("narration", "", calls.clone()).into_completion(ReasoningFallback::None);
        assert_eq!(hosted.response.as_tool_calls().unwrap()[0].reasoning, None);

        let local = assembled("narration", "", calls).into_completion(ReasoningFallback::Content);
        assert_eq!(
            local.response.as_tool_calls().unwrap()[0]
                .reasoning
                .as_deref(),
            Some("narration")
        );
    }

    #[test]
    fn text_keeps_structured_reasoning() {
        let completion =
            assembled("answer", "thought", vec![]).into_completion(ReasoningFallback::None);
        assert_eq!(
            completion.response,
            LlmResponse::Text(TextResponse {
                content: "answer".into(),
                reasoning: Some("thought".into()),
            })
        );
    }
}
