//! The think policy shared by the backends whose servers may put reasoning in a structured field,
//! in think tags, or both (vLLM, Ollama): which text of a response is reasoning and which is
//! visible. Pure: no I/O.

use forge_sse::{AssembledResponse, ReasoningFallback};
use forge_toolparse::extract_thinking;
use forge_types::Completion;

/// Resolves an assembled response (streamed or not) into the final [`Completion`].
///
/// Think tags (`<think>…</think>`, `[THINK]…[/THINK]`) are removed from the visible text in
/// every case, streaming or not. With `think` off all reasoning is dropped. With it on, the
/// reasoning is the first non-empty of: the server's structured field, the text inside think
/// tags, and — for tool calls only — the visible text itself (an instruct model narrating before
/// its call). Arguments are then decoded by the one policy of
/// [`AssembledResponse::into_completion`].
pub fn finish_with_think_policy(mut assembled: AssembledResponse, think: bool) -> Completion {
    let split = extract_thinking(&assembled.content);
    assembled.content = split.remaining;
    let fallback = if think {
        if assembled.reasoning.is_empty() {
            assembled.reasoning = split.reasoning;
        }
        ReasoningFallback::Content
    } else {
        assembled.reasoning.clear();
        ReasoningFallback::None
    };
    assembled.into_completion(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use forge_sse::RawToolCall;
    use forge_types::LlmResponse;
    use serde_json::json;

    fn check(
        content: &str,
        structured: &str,
        think: bool,
        with_call: bool,
    ) -> (Option<String>, String) {
        let tool_calls = if with_call {
            vec![RawToolCall {
                name: "get_weather".into(),
                arguments: Some(json!("{}")),
            }]
        } else {
            Vec::new()
        };
        let assembled = AssembledResponse {
            content: content.into(),
            reasoning: structured.into(),
            tool_calls,
            usage: None,
        };
        match finish_with_think_policy(assembled, think).response {
            LlmResponse::ToolCalls(calls) => (calls[0].reasoning.clone(), String::new()),
            LlmResponse::Text(text) => (text.reasoning, text.content),
        }
    }

    struct Case {
        content: &'static str,
        structured: &'static str,
        think: bool,
        with_call: bool,
        reasoning: Option<&'static str>,
        /// The text of a text answer (`""` for tool calls).
        visible: &'static str,
    }

    const fn case(
        content: &'static str,
        structured: &'static str,
        think: bool,
        with_call: bool,
        reasoning: Option<&'static str>,
        visible: &'static str,
    ) -> Case {
        Case {
            content,
            structured,
            think,
            with_call,
            reasoning,
            visible,
        }
    }

    #[test]
    fn reasoning_sources_in_priority_order() {
        let cases = [
            case(
                "",
                "I should check the weather first.",
                true,
                true,
                Some("I should check the weather first."),
                "",
            ),
            case("", "thought", false, true, None, ""),
            case(
                "<think>tags</think>Calling.",
                "server",
                true,
                true,
                Some("server"),
                "",
            ),
            case(
                "<think>tags</think>Calling.",
                "",
                true,
                true,
                Some("tags"),
                "",
            ),
            case(
                "Let me look that up.",
                "",
                true,
                true,
                Some("Let me look that up."),
                "",
            ),
            case("Let me look that up.", "", false, true, None, ""),
            case("Plain answer", "", true, false, None, "Plain answer"),
            case(
                "[THINK]hmm[/THINK]Answer",
                "",
                true,
                false,
                Some("hmm"),
                "Answer",
            ),
            case("[THINK]hmm[/THINK]Answer", "", false, false, None, "Answer"),
        ];
        for Case {
            content,
            structured,
            think,
            with_call,
            reasoning,
            visible,
        } in cases
        {
            let (got_reasoning, got_visible) = check(content, structured, think, with_call);
            assert_eq!(
                got_reasoning.as_deref(),
                reasoning,
                "{content:?}/{structured:?}/{think}"
            );
            assert_eq!(got_visible, visible, "{content:?}");
        }
    }
}
