use serde::{Deserialize, Serialize};

use crate::Completion;

/// One piece of a streamed model response.
///
/// A stream from a client yields deltas and ends with exactly one [`StreamChunk::Final`], or
/// with an error. The retry engine adds [`StreamChunk::Retry`] when it discards an attempt whose
/// deltas were already shown, so a UI knows to drop them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamChunk {
    /// A piece of assistant text.
    TextDelta {
        /// The text piece.
        content: String,
    },
    /// A piece of reasoning (thinking) text.
    ReasoningDelta {
        /// The reasoning piece.
        content: String,
    },
    /// A raw fragment of a tool call.
    ToolCallDelta {
        /// Which call of the batch (provider's index).
        index: usize,
        /// The tool name, on the fragment that carried it.
        name: Option<String>,
        /// A raw argument fragment (possibly empty).
        arguments: String,
    },
    /// The attempt whose deltas were streamed so far was discarded; a new one follows.
    Retry {
        /// The attempt number that failed (1-based).
        attempt: u32,
    },
    /// The resolved response: the same shape a non-streaming call returns.
    Final(Completion),
}

/// The kind of a [`StreamChunk`], without payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkKind {
    /// [`StreamChunk::TextDelta`]
    TextDelta,
    /// [`StreamChunk::ReasoningDelta`]
    ReasoningDelta,
    /// [`StreamChunk::ToolCallDelta`]
    ToolCallDelta,
    /// [`StreamChunk::Retry`]
    Retry,
    /// [`StreamChunk::Final`]
    Final,
}

impl StreamChunk {
    /// A text delta.
    pub fn text(content: impl Into<String>) -> Self {
        Self::TextDelta {
            content: content.into(),
        }
    }

    /// This chunk's kind.
    pub fn kind(&self) -> ChunkKind {
        match self {
            Self::TextDelta { .. } => ChunkKind::TextDelta,
            Self::ReasoningDelta { .. } => ChunkKind::ReasoningDelta,
            Self::ToolCallDelta { .. } => ChunkKind::ToolCallDelta,
            Self::Retry { .. } => ChunkKind::Retry,
            Self::Final(_) => ChunkKind::Final,
        }
    }
}
