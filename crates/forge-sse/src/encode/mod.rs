//! Encoders: the SSE bytes the proxy writes to its own clients.
//!
//! Ids and timestamps are inputs, so the output for a given response is fully determined and can
//! be snapshot-tested byte for byte. Tool arguments are written as Python's `json.dumps` writes
//! them ([`forge_types::py_json`]), like every OpenAI-format arguments string forge produces.

mod anthropic;
mod openai;

pub use anthropic::AnthropicEventEncoder;
pub use openai::OpenAiChunkEncoder;
