//! Assembling an OpenAI-shaped chat-completions stream (OpenAI, llama-server, vLLM, hosted
//! compatible APIs).

use std::collections::BTreeMap;

use forge_types::wire::openai::{ChunkChoice, ChunkToolCall, Usage};
use forge_types::{BackendError, Completion, StreamChunk};
use serde::Deserialize;
use serde_json::Value;

use super::{AssembledResponse, RawToolCall, ReasoningFallback};
use crate::sse::error_from_member;
use crate::{in_stream_error, SseEvent, SseFrame};

/// Turns the SSE frames of a `chat.completion.chunk` stream into [`StreamChunk`]s and one final
/// [`Completion`].
///
/// - Only the first choice is read.
/// - Text (`delta.content`) and reasoning (`delta.reasoning_content`, else `delta.reasoning`) are
///   concatenated and forwarded as deltas.
/// - Tool-call fragments are grouped by their `index`, so calls spread over many chunks, and
///   several calls, are all kept. Name fragments are concatenated, except that a fragment
///   repeating the whole name so far is ignored (some servers resend the name on every fragment).
///   Argument fragments are concatenated; a non-string fragment (a server sending the arguments
///   as an object) is written into the buffer as JSON text. Provider call ids are discarded.
/// - `usage` is taken from any chunk that carries it, the usage-only last chunk (empty
///   `choices`) included; the last one wins.
/// - An `event: error`, or a payload with a top-level `error` member, is
///   [`BackendError::InStream`]; a payload that is not a chunk is
///   [`BackendError::InvalidResponse`].
/// - Frames after `data: [DONE]` are ignored.
///
/// **Completeness.** The reference accepts any end of body. Here a stream is complete when it
/// sent `data: [DONE]`, or when a choice reported a `finish_reason` (the model finished; only
/// the terminator is missing, as with some gateways). A body that ends before either is
/// [`BackendError::Truncated`]: a connection cut mid-answer is not an answer.
///
/// ```
/// use forge_sse::{OpenAiStreamAssembler, SseDecoder};
/// use forge_types::LlmResponse;
///
/// let body = concat!(
///     "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"get_pricing\",\"arguments\":\"{\\\"part\\\": \"}}]}}]}\n\n",
///     "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"X\\\"}\"}}]}}]}\n\n",
///     "data: [DONE]\n\n",
/// );
/// let mut decoder = SseDecoder::new();
/// let mut assembler = OpenAiStreamAssembler::new();
/// for frame in decoder.push(body.as_bytes()).iter().chain(&decoder.finish()) {
///     assembler.push(frame).expect("no error frame");
/// }
/// let completion = assembler.finish().expect("complete stream");
/// let calls = completion.response.as_tool_calls().expect("a tool call");
/// assert_eq!(calls[0].tool, "get_pricing");
/// assert_eq!(calls[0].args["part"], "X");
/// ```
#[derive(Debug, Default)]
pub struct OpenAiStreamAssembler {
    content: String,
    reasoning: String,
    calls: BTreeMap<u32, CallBuffer>,
    usage: Option<forge_types::TokenUsage>,
    finish_reason: Option<String>,
    done: bool,
    fallback: ReasoningFallback,
}

/// The members of a `chat.completion.chunk` the assembler reads; the rest (id, model, timings, …)
/// is skipped without being allocated, which is most of a llama-server chunk's bytes.
#[derive(Deserialize)]
struct ChunkPayload {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Debug, Default)]
struct CallBuffer {
    name: String,
    arguments: String,
}

impl OpenAiStreamAssembler {
    /// An assembler with no reasoning fallback (text next to a call is not reasoning).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where the first call's reasoning comes from when the stream carried none.
    pub fn with_reasoning_fallback(mut self, fallback: ReasoningFallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// Takes one decoded frame; returns the deltas it carried.
    pub fn push(&mut self, frame: &SseFrame) -> Result<Vec<StreamChunk>, BackendError> {
        if self.done {
            tracing::trace!(?frame, "frame after [DONE] ignored");
            return Ok(Vec::new());
        }
        match frame {
            SseFrame::Done => {
                self.done = true;
                Ok(Vec::new())
            }
            SseFrame::Event(event) => self.push_event(event),
        }
    }

    /// Ends the stream: the final response, or why there is none.
    pub fn finish(self) -> Result<Completion, BackendError> {
        let fallback = self.fallback;
        Ok(self.finish_raw()?.into_completion(fallback))
    }

    /// Ends the stream without decoding arguments, for a caller with its own resolution rules.
    pub fn finish_raw(self) -> Result<AssembledResponse, BackendError> {
        if !self.done && self.finish_reason.is_none() {
            return Err(BackendError::Truncated {
                detail: "the SSE stream ended without `data: [DONE]` and without a finish_reason"
                    .to_owned(),
            });
        }
        let tool_calls = self
            .calls
            .into_values()
            .map(|call| RawToolCall {
                name: call.name,
                arguments: Some(Value::String(call.arguments)),
            })
            .collect();
        Ok(AssembledResponse {
            content: self.content,
            reasoning: self.reasoning,
            tool_calls,
            usage: self.usage,
        })
    }

    fn push_event(&mut self, event: &SseEvent) -> Result<Vec<StreamChunk>, BackendError> {
        if event.event.as_deref() == Some("error") {
            return Err(
                in_stream_error(event).unwrap_or_else(|| BackendError::InStream {
                    error_type: None,
                    message: event.data.clone(),
                }),
            );
        }
        let chunk: ChunkPayload =
            serde_json::from_str(&event.data).map_err(|err| BackendError::InvalidResponse {
                problem: format!("stream payload is not a chat.completion.chunk ({err})"),
                body_excerpt: BackendError::excerpt(&event.data),
            })?;
        if let Some(error) = chunk.error.as_ref().filter(|error| !error.is_null()) {
            return Err(error_from_member(error));
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.to_token_usage());
        }
        let mut chunks = Vec::new();
        let Some(choice) = chunk.choices.into_iter().next() else {
            return Ok(chunks);
        };
        if choice.finish_reason.is_some() {
            self.finish_reason = choice.finish_reason;
        }
        let delta = choice.delta;
        let reasoning = delta
            .reasoning_content
            .filter(|text| !text.is_empty())
            .or(delta.reasoning.filter(|text| !text.is_empty()));
        if let Some(reasoning) = reasoning {
            self.reasoning.push_str(&reasoning);
            chunks.push(StreamChunk::ReasoningDelta { content: reasoning });
        }
        if let Some(content) = delta.content.filter(|text| !text.is_empty()) {
            self.content.push_str(&content);
            chunks.push(StreamChunk::TextDelta { content });
        }
        for fragment in delta.tool_calls.into_iter().flatten() {
            chunks.push(self.push_tool_fragment(fragment));
        }
        Ok(chunks)
    }

    fn push_tool_fragment(&mut self, fragment: ChunkToolCall) -> StreamChunk {
        let buffer = self.calls.entry(fragment.index).or_default();
        let function = fragment.function.unwrap_or_default();
        let name = function.name.filter(|name| !name.is_empty());
        if let Some(name) = &name {
            if *name != buffer.name {
                buffer.name.push_str(name);
            }
        }
        let arguments = match function.arguments {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(text)) => text,
            Some(other) => other.to_string(),
        };
        buffer.arguments.push_str(&arguments);
        StreamChunk::ToolCallDelta {
            index: fragment.index as usize,
            name,
            arguments,
        }
    }
}
