//! Assembling an Anthropic Messages event stream.

use std::collections::BTreeMap;

use forge_types::wire::anthropic::{BlockDelta, ContentBlock, StreamEvent, Usage};
use forge_types::{BackendError, Completion, StreamChunk};
use serde_json::Value;

use super::{AssembledResponse, RawToolCall, ReasoningFallback};
use crate::{in_stream_error, SseEvent, SseFrame};

/// Turns the SSE frames of a Messages stream into [`StreamChunk`]s and one final [`Completion`].
///
/// - `text` blocks are concatenated (no separator) and forwarded as text deltas; `thinking`
///   blocks are the structured reasoning, forwarded as reasoning deltas; signatures and block
///   types forge does not know are ignored.
/// - Each `tool_use` block is one call, its `input_json_delta` fragments concatenated; blocks need
///   no id (ids are discarded anyway). A block that streamed no fragments keeps the `input` of its
///   `content_block_start`.
/// - Usage: `message_start` gives the input (and cache) counts, `message_delta` updates the
///   output count.
/// - An `error` event is [`BackendError::InStream`] with the error's own type and message.
/// - The stream is complete at `message_stop`; a body that ends before it is
///   [`BackendError::Truncated`]. Events after `message_stop` are ignored.
///
/// The default reasoning fallback is [`ReasoningFallback::Content`]: with no thinking block, the
/// text before a tool call is that call's reasoning (as the reference client does).
#[derive(Debug)]
pub struct AnthropicStreamAssembler {
    text: String,
    thinking: String,
    blocks: BTreeMap<u32, BlockKind>,
    tool_calls: Vec<ToolBuffer>,
    usage: Option<Usage>,
    stopped: bool,
    fallback: ReasoningFallback,
}

#[derive(Debug, Clone, Copy)]
enum BlockKind {
    Text,
    Thinking,
    ToolUse(usize),
    Ignored,
}

#[derive(Debug)]
struct ToolBuffer {
    name: String,
    start_input: Value,
    partial_json: String,
    streamed: bool,
}

impl Default for AnthropicStreamAssembler {
    fn default() -> Self {
        Self {
            text: String::new(),
            thinking: String::new(),
            blocks: BTreeMap::new(),
            tool_calls: Vec::new(),
            usage: None,
            stopped: false,
            fallback: ReasoningFallback::Content,
        }
    }
}

impl AnthropicStreamAssembler {
    /// An assembler whose calls take the preceding text as reasoning when there is no thinking.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where the first call's reasoning comes from when the stream had no thinking block.
    pub fn with_reasoning_fallback(mut self, fallback: ReasoningFallback) -> Self {
        self.fallback = fallback;
        self
    }

    /// Takes one decoded frame; returns the deltas it carried.
    pub fn push(&mut self, frame: &SseFrame) -> Result<Vec<StreamChunk>, BackendError> {
        match frame {
            _ if self.stopped => {
                tracing::trace!(?frame, "frame after message_stop ignored");
                Ok(Vec::new())
            }
            SseFrame::Done => {
                tracing::debug!("`data: [DONE]` in an Anthropic stream ignored");
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
        if !self.stopped {
            return Err(BackendError::Truncated {
                detail: "the Anthropic event stream ended without message_stop".to_owned(),
            });
        }
        let tool_calls = self
            .tool_calls
            .into_iter()
            .map(|call| RawToolCall {
                name: call.name,
                arguments: Some(if call.streamed {
                    Value::String(call.partial_json)
                } else {
                    call.start_input
                }),
            })
            .collect();
        Ok(AssembledResponse {
            content: self.text,
            reasoning: self.thinking,
            tool_calls,
            usage: self.usage.map(|usage| usage.to_token_usage()),
        })
    }

    fn push_event(&mut self, event: &SseEvent) -> Result<Vec<StreamChunk>, BackendError> {
        if let Some(error) = in_stream_error(event) {
            return Err(error);
        }
        let parsed: StreamEvent =
            serde_json::from_str(&event.data).map_err(|err| BackendError::InvalidResponse {
                problem: format!("stream payload is not an Anthropic event ({err})"),
                body_excerpt: BackendError::excerpt(&event.data),
            })?;
        let mut chunks = Vec::new();
        match parsed {
            StreamEvent::MessageStart { message } => {
                self.update_usage(&message.usage);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => self.start_block(index, content_block, &mut chunks),
            StreamEvent::ContentBlockDelta { index, delta } => {
                self.push_delta(index, delta, &mut chunks)?
            }
            StreamEvent::MessageDelta { usage, .. } => {
                if let Some(usage) = usage {
                    self.update_usage(&usage);
                }
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Error { error } => {
                return Err(BackendError::InStream {
                    error_type: Some(error.kind),
                    message: error.message,
                })
            }
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping | StreamEvent::Unknown => {}
        }
        Ok(chunks)
    }

    fn update_usage(&mut self, usage: &Usage) {
        self.usage = Some(self.usage.unwrap_or_default().updated_with(usage));
    }

    fn start_block(&mut self, index: u32, block: ContentBlock, chunks: &mut Vec<StreamChunk>) {
        let kind = match block {
            ContentBlock::Text { text } => {
                self.push_text(text, chunks);
                BlockKind::Text
            }
            ContentBlock::Thinking { thinking, .. } => {
                self.push_thinking(thinking, chunks);
                BlockKind::Thinking
            }
            ContentBlock::ToolUse { name, input, .. } => {
                let position = self.tool_calls.len();
                chunks.push(StreamChunk::ToolCallDelta {
                    index: position,
                    name: Some(name.clone()),
                    arguments: String::new(),
                });
                self.tool_calls.push(ToolBuffer {
                    name,
                    start_input: input,
                    partial_json: String::new(),
                    streamed: false,
                });
                BlockKind::ToolUse(position)
            }
            ContentBlock::ToolResult { .. }
            | ContentBlock::RedactedThinking { .. }
            | ContentBlock::Unknown => BlockKind::Ignored,
        };
        self.blocks.insert(index, kind);
    }

    fn push_delta(
        &mut self,
        index: u32,
        delta: BlockDelta,
        chunks: &mut Vec<StreamChunk>,
    ) -> Result<(), BackendError> {
        let kind = self.blocks.get(&index).copied();
        match delta {
            BlockDelta::TextDelta { text } => self.push_text(text, chunks),
            BlockDelta::ThinkingDelta { thinking } => self.push_thinking(thinking, chunks),
            BlockDelta::InputJsonDelta { partial_json } => {
                let Some(BlockKind::ToolUse(position)) = kind else {
                    return Err(BackendError::InvalidResponse {
                        problem: format!(
                            "input_json_delta for content block {index}, which is not a tool_use block"
                        ),
                        body_excerpt: BackendError::excerpt(&partial_json),
                    });
                };
                let call = &mut self.tool_calls[position];
                call.streamed = true;
                call.partial_json.push_str(&partial_json);
                chunks.push(StreamChunk::ToolCallDelta {
                    index: position,
                    name: None,
                    arguments: partial_json,
                });
            }
            BlockDelta::SignatureDelta { .. } | BlockDelta::Unknown => {}
        }
        Ok(())
    }

    fn push_text(&mut self, text: String, chunks: &mut Vec<StreamChunk>) {
        if !text.is_empty() {
            self.text.push_str(&text);
            chunks.push(StreamChunk::TextDelta { content: text });
        }
    }

    fn push_thinking(&mut self, thinking: String, chunks: &mut Vec<StreamChunk>) {
        if !thinking.is_empty() {
            self.thinking.push_str(&thinking);
            chunks.push(StreamChunk::ReasoningDelta { content: thinking });
        }
    }
}
