//! The OpenAI chat-completions response shape, shared by every backend that speaks it
//! (hosted OpenAI-compatible APIs, llama-server, llamafile, vLLM).
//!
//! Decoding is split in two so streaming and non-streaming resolve identically:
//! [`decode_chat_completion`] checks a complete response's envelope and yields its
//! [`ResponseParts`]; a stream assembler yields the same parts; [`ResponseParts::resolve`] turns
//! either into the final [`Completion`] under one policy.

use forge_toolparse::{decode_arguments, extract_thinking, ArgumentsOutcome, ToolConstraint};
use forge_types::{BackendError, Completion, LlmResponse, TextResponse, TokenUsage, ToolCall};
use serde_json::{Map, Value};

use crate::RawResponse;

/// The reasoning fields OpenAI-shaped servers use, in the order they are consulted.
pub const REASONING_FIELDS: [&str; 3] = ["reasoning_content", "reasoning", "reasoning_text"];

/// How a backend treats reasoning when resolving a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasoningPolicy {
    /// False discards every reasoning source (llama-server's `think = false`).
    pub capture: bool,
    /// When neither a reasoning field nor inline think tags gave reasoning, use the assistant
    /// text next to a tool call as its reasoning. True for self-hosted instruct models, which
    /// narrate before calling; false for hosted APIs, where that text is meant for the user.
    pub content_fallback: bool,
}

impl ReasoningPolicy {
    /// Hosted OpenAI-compatible APIs: reasoning fields and think tags, never the bare content.
    pub const HOSTED: Self = Self {
        capture: true,
        content_fallback: false,
    };
    /// Self-hosted models: reasoning fields, think tags, then the content.
    pub const LOCAL: Self = Self {
        capture: true,
        content_fallback: true,
    };
    /// Reasoning discarded.
    pub const DISCARD: Self = Self {
        capture: false,
        content_fallback: false,
    };
}

/// A tool call as the backend sent it, arguments not yet decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCall {
    /// The tool name.
    pub name: String,
    /// `function.arguments` as received (`None` when absent).
    pub arguments: Option<Value>,
}

/// Everything one response carried, before the argument and reasoning policies run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponseParts {
    /// The assistant text (think tags still in place).
    pub content: String,
    /// Structured reasoning from a reasoning field.
    pub reasoning: String,
    /// Native tool calls, in order.
    pub tool_calls: Vec<RawCall>,
    /// The usage the backend reported for this response.
    pub usage: Option<TokenUsage>,
}

impl ResponseParts {
    /// Splits inline think blocks out of the content and picks the reasoning under `policy`:
    /// the structured field, else the think blocks. Returns `(visible text, reasoning)`.
    pub fn split_reasoning(&self, policy: ReasoningPolicy) -> (String, Option<String>) {
        let thinking = extract_thinking(&self.content);
        let reasoning = if !policy.capture {
            None
        } else if !self.reasoning.is_empty() {
            Some(self.reasoning.clone())
        } else if !thinking.reasoning.is_empty() {
            Some(thinking.reasoning)
        } else {
            None
        };
        (thinking.remaining, reasoning)
    }

    /// The final response.
    ///
    /// - Tool calls whose arguments all decode to objects → [`LlmResponse::ToolCalls`], reasoning
    ///   on the first call only.
    /// - Any call with malformed or non-object arguments → the whole response is
    ///   [`LlmResponse::Text`] (the retry path): the visible assistant text if non-empty, else the
    ///   raw arguments of the first failing call. No sibling call is executed.
    /// - No tool calls → the visible text (think blocks removed), with its reasoning.
    pub fn resolve(self, policy: ReasoningPolicy) -> Completion {
        let (text, reasoning) = self.split_reasoning(policy);
        let response = resolve_calls(self.tool_calls, text, reasoning, policy);
        Completion {
            response,
            usage: self.usage,
        }
    }

    /// [`resolve`](Self::resolve), or under a constraint: when the backend returned no native
    /// call, the visible text is the constrained JSON and decodes into one call
    /// ([`resolve_constrained_text`](crate::resolve_constrained_text)). Native calls (a backend
    /// that answered natively despite the constraint) resolve as usual.
    pub fn resolve_with(
        self,
        policy: ReasoningPolicy,
        constraint: Option<&ToolConstraint>,
    ) -> Completion {
        match constraint {
            Some(constraint) if self.tool_calls.is_empty() => {
                let (text, reasoning) = self.split_reasoning(policy);
                Completion {
                    response: crate::resolve_constrained_text(constraint, text, reasoning),
                    usage: self.usage,
                }
            }
            _ => self.resolve(policy),
        }
    }
}

fn resolve_calls(
    raw_calls: Vec<RawCall>,
    text: String,
    reasoning: Option<String>,
    policy: ReasoningPolicy,
) -> LlmResponse {
    if raw_calls.is_empty() {
        return LlmResponse::Text(TextResponse {
            content: text,
            reasoning,
        });
    }
    let mut calls = Vec::with_capacity(raw_calls.len());
    for raw in raw_calls {
        match decode_arguments(raw.arguments.as_ref()) {
            ArgumentsOutcome::Object(args) => calls.push(ToolCall::new(raw.name, args)),
            failure => {
                tracing::info!(
                    tool = %raw.name,
                    problem = failure.problem().unwrap_or_default(),
                    "tool call with unusable arguments: the whole response goes to the retry path"
                );
                let content = if text.is_empty() {
                    failure.raw().unwrap_or_default().to_owned()
                } else {
                    text
                };
                return LlmResponse::Text(TextResponse { content, reasoning });
            }
        }
    }
    let reasoning = reasoning.or_else(|| {
        (policy.content_fallback && policy.capture && !text.is_empty()).then_some(text)
    });
    if let Some(first) = calls.first_mut() {
        first.reasoning = reasoning;
    }
    LlmResponse::ToolCalls(calls)
}

fn invalid(problem: impl Into<String>, body: &Value) -> BackendError {
    BackendError::InvalidResponse {
        problem: problem.into(),
        body_excerpt: BackendError::excerpt(&body.to_string()),
    }
}

/// Checks a complete chat-completions body and extracts its parts from `choices[0].message`.
///
/// A body without a non-empty `choices` array, a choice without a `message` object, or fields of
/// the wrong type (`content` not a string, `tool_calls` not a list of `{function: {name, …}}`,
/// a reasoning field not a string, malformed `usage`) is [`BackendError::InvalidResponse`].
pub fn decode_chat_completion(body: &Value) -> Result<ResponseParts, BackendError> {
    let choice = match body.get("choices") {
        Some(Value::Array(choices)) if !choices.is_empty() => &choices[0],
        _ => return Err(invalid("response has no choices", body)),
    };
    let message = choice
        .get("message")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("choices[0] has no message object", body))?;
    let content = match message.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(_) => return Err(invalid("message.content is not a string", body)),
    };
    let reasoning = reasoning_field(message).map_err(|problem| invalid(problem, body))?;
    let tool_calls = match message.get("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) => entries
            .iter()
            .map(raw_call)
            .collect::<Result<_, _>>()
            .map_err(|problem| invalid(problem, body))?,
        Some(_) => return Err(invalid("message.tool_calls is not a list", body)),
    };
    Ok(ResponseParts {
        content,
        reasoning,
        tool_calls,
        usage: usage(body.get("usage")).map_err(|problem| invalid(problem, body))?,
    })
}

/// The parts of a complete chat-completions response, as [`decode_chat_completion`] gives them
/// for its body (a non-2xx status or a body that is not JSON is the error
/// [`RawResponse::into_json`] gives). A body of the usual shape is read straight into its parts
/// without building a JSON tree first; any other goes through the tree.
pub fn decode_chat_completion_response(
    response: RawResponse,
) -> Result<ResponseParts, BackendError> {
    if response.is_success() {
        if let Some(parts) = crate::completion_body::decode(&response.body) {
            return Ok(parts);
        }
    }
    decode_chat_completion(&response.into_json()?)
}

/// The first non-empty reasoning field of a message or delta; a non-string value is an error.
pub fn reasoning_field(message: &Map<String, Value>) -> Result<String, String> {
    for key in REASONING_FIELDS {
        match message.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) if text.is_empty() => {}
            Some(Value::String(text)) => return Ok(text.clone()),
            Some(_) => return Err(format!("message.{key} is not a string")),
        }
    }
    Ok(String::new())
}

fn raw_call(entry: &Value) -> Result<RawCall, String> {
    let function = entry
        .get("function")
        .and_then(Value::as_object)
        .ok_or("a tool call has no function object")?;
    let name = function
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a tool call has no function name")?;
    Ok(RawCall {
        name: name.to_owned(),
        arguments: function.get("arguments").cloned(),
    })
}

/// Token usage from an OpenAI `usage` object. Absent, `null` or `{}` is `None`; a missing count
/// is 0; a missing total is the sum.
pub fn usage(value: Option<&Value>) -> Result<Option<TokenUsage>, String> {
    let usage = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(usage)) if usage.is_empty() => return Ok(None),
        Some(Value::Object(usage)) => usage,
        Some(_) => return Err("usage is not an object".into()),
    };
    let count = |key: &str| -> Result<Option<u64>, String> {
        match usage.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("usage.{key} is not a non-negative integer")),
        }
    };
    let prompt = count("prompt_tokens")?.unwrap_or(0);
    let completion = count("completion_tokens")?.unwrap_or(0);
    let mut usage = TokenUsage::new(prompt, completion);
    if let Some(total) = count("total_tokens")? {
        usage.total_tokens = total;
    }
    Ok(Some(usage))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(message: Value) -> Value {
        json!({"choices": [{"index": 0, "message": message}]})
    }

    fn call(name: &str, arguments: Value) -> Value {
        json!({"id": "c", "type": "function", "function": {"name": name, "arguments": arguments}})
    }

    fn with_reasoning(calls: &[(&str, Value)], reasoning: Option<&str>) -> LlmResponse {
        let mut calls: Vec<ToolCall> = calls
            .iter()
            .map(|(name, args)| {
                ToolCall::new(*name, forge_types::json_object(args.clone()).unwrap())
            })
            .collect();
        calls[0].reasoning = reasoning.map(str::to_owned);
        LlmResponse::ToolCalls(calls)
    }

    fn text(content: &str, reasoning: Option<&str>) -> LlmResponse {
        LlmResponse::Text(TextResponse {
            content: content.into(),
            reasoning: reasoning.map(str::to_owned),
        })
    }

    fn check(message: Value, policy: ReasoningPolicy, expected: LlmResponse) {
        let parts = decode_chat_completion(&body(message.clone())).unwrap();
        assert_eq!(
            parts.resolve(policy).response,
            expected,
            "message {message}"
        );
    }

    #[test]
    fn argument_policy() {
        let hosted = ReasoningPolicy::HOSTED;
        let cases = [
            (
                json!({"content": null, "tool_calls": [call("f", json!("{\"part\": \"X\"}"))]}),
                with_reasoning(&[("f", json!({"part": "X"}))], None),
            ),
            (
                json!({"tool_calls": [call("f", json!(""))]}),
                with_reasoning(&[("f", json!({}))], None),
            ),
            (
                json!({"tool_calls": [{"function": {"name": "f"}}]}),
                with_reasoning(&[("f", json!({}))], None),
            ),
            (
                json!({"tool_calls": [call("f", json!({"part": "X"}))]}),
                with_reasoning(&[("f", json!({"part": "X"}))], None),
            ),
            (
                json!({"content": null, "tool_calls": [call("f", json!("{not json"))]}),
                text("{not json", None),
            ),
            (
                json!({"content": "Let me look.", "tool_calls": [call("f", json!("{not json"))]}),
                text("Let me look.", None),
            ),
            (
                json!({"tool_calls": [call("f", json!("{\"part\": \"A\"}")), call("g", json!("{broken"))]}),
                text("{broken", None),
            ),
            (
                json!({"tool_calls": [call("f", json!("[1, 2]"))]}),
                text("[1, 2]", None),
            ),
            (
                json!({"tool_calls": [call("f", json!(5))]}),
                text("5", None),
            ),
            (
                json!({"tool_calls": [call("f", json!(null))]}),
                text("null", None),
            ),
            (json!({"content": "hi", "tool_calls": []}), text("hi", None)),
            (json!({"content": null}), text("", None)),
        ];
        for (message, expected) in cases {
            check(message, hosted, expected);
        }
    }

    #[test]
    fn reasoning_sources_in_order() {
        let tool = || call("f", json!("{}"));
        let one = |r: Option<&str>| with_reasoning(&[("f", json!({}))], r);
        let cases = [
            (
                json!({"content": "Final", "reasoning_content": "server", "tool_calls": [tool()]}),
                ReasoningPolicy::LOCAL,
                one(Some("server")),
            ),
            (
                json!({"reasoning": "vllm", "tool_calls": [tool()]}),
                ReasoningPolicy::HOSTED,
                one(Some("vllm")),
            ),
            (
                json!({"reasoning_text": "other", "tool_calls": [tool()]}),
                ReasoningPolicy::HOSTED,
                one(Some("other")),
            ),
            (
                json!({"content": "[THINK]tagged[/THINK]", "tool_calls": [tool()]}),
                ReasoningPolicy::LOCAL,
                one(Some("tagged")),
            ),
            (
                json!({"content": "<think>tagged</think>", "tool_calls": [tool()]}),
                ReasoningPolicy::HOSTED,
                one(Some("tagged")),
            ),
            (
                json!({"content": "Let me check.", "tool_calls": [tool()]}),
                ReasoningPolicy::LOCAL,
                one(Some("Let me check.")),
            ),
            (
                json!({"content": "Let me check.", "tool_calls": [tool()]}),
                ReasoningPolicy::HOSTED,
                one(None),
            ),
            (
                json!({"content": "", "tool_calls": [tool()]}),
                ReasoningPolicy::LOCAL,
                one(None),
            ),
            (
                json!({"content": null, "tool_calls": [tool()]}),
                ReasoningPolicy::LOCAL,
                one(None),
            ),
            (
                json!({"content": "[THINK]x[/THINK]", "reasoning_content": "y", "tool_calls": [tool()]}),
                ReasoningPolicy::DISCARD,
                one(None),
            ),
            (
                json!({"content": "[THINK]Some reasoning[/THINK]I don't know."}),
                ReasoningPolicy::LOCAL,
                text("I don't know.", Some("Some reasoning")),
            ),
            (
                json!({"content": "[THINK]Some reasoning[/THINK]I don't know."}),
                ReasoningPolicy::DISCARD,
                text("I don't know.", None),
            ),
        ];
        for (message, policy, expected) in cases {
            check(message, policy, expected);
        }
    }

    #[test]
    fn reasoning_goes_on_the_first_call_only() {
        let message = json!({"reasoning_content": "because",
            "tool_calls": [call("a", json!("{}")), call("b", json!("{}"))]});
        let parts = decode_chat_completion(&body(message)).unwrap();
        let response = parts.resolve(ReasoningPolicy::LOCAL).response;
        let calls = response.as_tool_calls().unwrap();
        assert_eq!(calls[0].reasoning.as_deref(), Some("because"));
        assert_eq!(calls[1].reasoning, None);
    }

    #[test]
    fn broken_envelopes_are_invalid_responses() {
        let cases = [
            (json!({"object": "error"}), "response has no choices"),
            (json!({"choices": []}), "response has no choices"),
            (json!({"choices": {}}), "response has no choices"),
            (json!({"choices": [{}]}), "choices[0] has no message object"),
            (
                body(json!({"content": 5})),
                "message.content is not a string",
            ),
            (
                body(json!({"tool_calls": {}})),
                "message.tool_calls is not a list",
            ),
            (
                body(json!({"tool_calls": [{}]})),
                "a tool call has no function object",
            ),
            (
                body(json!({"tool_calls": [{"function": {"arguments": "{}"}}]})),
                "a tool call has no function name",
            ),
            (
                body(json!({"reasoning_content": 3})),
                "message.reasoning_content is not a string",
            ),
            (
                json!({"choices": [{"message": {}}], "usage": "lots"}),
                "usage is not an object",
            ),
            (
                json!({"choices": [{"message": {}}], "usage": {"prompt_tokens": -1}}),
                "usage.prompt_tokens is not a non-negative integer",
            ),
        ];
        for (input, expected) in cases {
            match decode_chat_completion(&input) {
                Err(BackendError::InvalidResponse { problem, .. }) => {
                    assert_eq!(problem, expected, "{input}")
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }

    #[test]
    fn usage_counts() {
        let cases = [
            (json!(null), None),
            (json!({}), None),
            (
                json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}),
                Some((10, 5, 15)),
            ),
            (
                json!({"prompt_tokens": 10, "completion_tokens": 5}),
                Some((10, 5, 15)),
            ),
            (json!({"completion_tokens": 3}), Some((0, 3, 3))),
        ];
        for (input, expected) in cases {
            let got = usage(Some(&input))
                .unwrap()
                .map(|u| (u.prompt_tokens, u.completion_tokens, u.total_tokens));
            assert_eq!(got, expected, "{input}");
        }
    }
}
