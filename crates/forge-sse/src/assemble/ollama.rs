//! Assembling an Ollama `/api/chat` NDJSON stream.

use forge_types::wire::ollama::ChatResponse;
use forge_types::{BackendError, Completion, StreamChunk, TokenUsage};
use serde::Deserialize;
use serde_json::Value;

use super::{AssembledResponse, RawToolCall, ReasoningFallback};
use crate::error_from_payload;

/// Turns the lines of an Ollama chat stream into [`StreamChunk`]s and one final [`Completion`].
///
/// - `message.content` and `message.thinking` are concatenated and forwarded as deltas, on every
///   line including the `done` one.
/// - Tool calls are collected from every line, so calls Ollama sends on separate lines are all
///   kept (the reference kept only the last line's list). Their `arguments` are decoded by the
///   parsing policy at the end like everyone else's.
/// - Usage comes from `prompt_eval_count` / `eval_count` of the `done` line.
/// - A line with an `error` member is [`BackendError::InStream`]; a line that is not a chat
///   response is [`BackendError::InvalidResponse`].
/// - The stream is complete at the line with `done: true`; a body that ends before it is
///   [`BackendError::Truncated`]. Lines after it are ignored.
///
/// The default reasoning fallback is [`ReasoningFallback::Content`], as the reference resolves
/// Ollama reasoning (`thinking`, else the text).
///
/// ```
/// use forge_sse::{NdjsonDecoder, OllamaStreamAssembler};
///
/// let body = concat!(
///     r#"{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_pricing","arguments":{"part":"X"}}}]},"done":false}"#, "\n",
///     r#"{"message":{"role":"assistant","content":""},"done":true,"prompt_eval_count":30,"eval_count":8}"#, "\n",
/// );
/// let mut decoder = NdjsonDecoder::new();
/// let mut assembler = OllamaStreamAssembler::new();
/// for line in decoder.push(body.as_bytes()) {
///     assembler.push(&line.expect("valid JSON")).expect("no error line");
/// }
/// let completion = assembler.finish().expect("done line seen");
/// assert_eq!(completion.response.as_tool_calls().expect("a call")[0].args["part"], "X");
/// assert_eq!(completion.usage.expect("usage").total_tokens, 38);
/// ```
#[derive(Debug)]
pub struct OllamaStreamAssembler {
    content: String,
    thinking: String,
    tool_calls: Vec<RawToolCall>,
    usage: Option<TokenUsage>,
    done: bool,
    fallback: ReasoningFallback,
}

impl Default for OllamaStreamAssembler {
    fn default() -> Self {
        Self {
            content: String::new(),
            thinking: String::new(),
            tool_calls: Vec::new(),
            usage: None,
            done: false,
            fallback: ReasoningFallback::Content,
        }
    }
}

impl OllamaStreamAssembler {
    /// An assembler whose calls take the text as reasoning when there is no thinking.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where the first call's reasoning comes from when the stream had no thinking.
    pub fn with_reasoning_fallback(mut self, fallback: ReasoningFallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// Takes one decoded line; returns the deltas it carried.
    pub fn push(&mut self, line: &Value) -> Result<Vec<StreamChunk>, BackendError> {
        if self.done {
            tracing::trace!(%line, "line after done ignored");
            return Ok(Vec::new());
        }
        if let Some(error) = error_from_payload(line) {
            return Err(error);
        }
        let response =
            ChatResponse::deserialize(line).map_err(|err| BackendError::InvalidResponse {
                problem: format!("stream line is not an Ollama chat response ({err})"),
                body_excerpt: BackendError::excerpt(&line.to_string()),
            })?;
        let mut chunks = Vec::new();
        let usage = response.token_usage();
        if let Some(message) = response.message {
            if let Some(thinking) = message.thinking.filter(|text| !text.is_empty()) {
                self.thinking.push_str(&thinking);
                chunks.push(StreamChunk::ReasoningDelta { content: thinking });
            }
            if !message.content.is_empty() {
                self.content.push_str(&message.content);
                chunks.push(StreamChunk::TextDelta {
                    content: message.content,
                });
            }
            for call in message.tool_calls.into_iter().flatten() {
                chunks.push(StreamChunk::ToolCallDelta {
                    index: self.tool_calls.len(),
                    name: Some(call.function.name.clone()),
                    arguments: call
                        .function
                        .arguments
                        .as_ref()
                        .map(Value::to_string)
                        .unwrap_or_default(),
                });
                self.tool_calls.push(RawToolCall {
                    name: call.function.name,
                    arguments: call.function.arguments,
                });
            }
        }
        if response.done {
            self.done = true;
            self.usage = usage;
        }
        Ok(chunks)
    }

    /// Ends the stream: the final response, or why there is none.
    pub fn finish(self) -> Result<Completion, BackendError> {
        let fallback = self.fallback;
        Ok(self.finish_raw()?.into_completion(fallback))
    }

    /// Ends the stream without decoding arguments, for a caller with its own resolution rules.
    pub fn finish_raw(self) -> Result<AssembledResponse, BackendError> {
        if !self.done {
            return Err(BackendError::Truncated {
                detail: "the Ollama stream ended without a `done: true` line".to_owned(),
            });
        }
        Ok(AssembledResponse {
            content: self.content,
            reasoning: self.thinking,
            tool_calls: self.tool_calls,
            usage: self.usage,
        })
    }
}
