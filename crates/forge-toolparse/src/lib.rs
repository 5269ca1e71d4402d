//! Pure, synchronous tool-call parsing for forge.
//!
//! Models do not always call tools the way the API asks: they write the call as text (fenced
//! or bare JSON, Mistral's `[TOOL_CALLS]`, Qwen-coder XML, `name[ARGS]{…}` rehearsals), wrap
//! it in thinking, or — in prompt mode, where the backend has no native tool calling — are
//! asked to write JSON on purpose. This crate turns such text back into typed calls:
//!
//! - [`rescue_tool_calls`]: salvage calls written as text in a plain text answer;
//! - [`build_tool_prompt`] and [`extract_tool_calls`]: prompt-mode tool calling;
//! - [`extract_thinking`]: split `<think>`/`[THINK]` blocks from content;
//! - [`decode_arguments`]: the one policy for turning wire `arguments` into an object.
//!
//! Everything takes text or JSON in and gives typed outcomes out; nothing does I/O, and no
//! input, however malformed, makes a function here panic.
//!
//! ```
//! use forge_toolparse::{decode_arguments_str, rescue_tool_calls, ArgumentsOutcome, RescueFormat};
//! use forge_types::ToolSpec;
//! use serde_json::json;
//!
//! let read = ToolSpec::new("read", "Read a file", json!({"type": "object",
//!     "properties": {"file_path": {"type": "string"}}}));
//! let text = "Let me look.\n[TOOL_CALLS]read{\"file_path\": \"src/main.rs\"}";
//! let rescued = rescue_tool_calls(text, &[read]).expect("a Mistral-style call");
//! assert_eq!(rescued.format, RescueFormat::MistralToolCalls);
//! assert_eq!(rescued.calls[0].tool, "read");
//! assert_eq!(rescued.calls[0].args["file_path"], "src/main.rs");
//!
//! assert!(matches!(decode_arguments_str(r#"{"city": "Paris"}"#), ArgumentsOutcome::Object(_)));
//! assert!(matches!(decode_arguments_str(""), ArgumentsOutcome::Object(args) if args.is_empty()));
//! assert!(matches!(decode_arguments_str(r#"{"city": "Par"#), ArgumentsOutcome::Malformed { .. }));
//! ```
//!
//! # JSON parsing
//!
//! Candidate JSON is parsed with `serde_json`, where the reference used Python's `json.loads`.
//! The differences: `NaN`/`Infinity`/`-Infinity` are rejected, integers beyond 64 bits become
//! floats, and nesting deeper than 128 levels is rejected (Python raised a recursion error that
//! escaped the reference's parser). Duplicate keys keep the last value at the first key's
//! position, as in Python.

mod arguments;
mod constraint;
mod extract;
mod json_scan;
mod prompt;
mod py_text;
mod rescue;
mod search;
mod thinking;

pub use arguments::{decode_arguments, decode_arguments_str, ArgumentsOutcome, JsonKind};
pub use constraint::{
    build_tool_constraint, ConstrainedOutput, ConstraintDialect, ConstraintOutcome, EnvelopeKeys,
    TextAnswerTool, ToolConstraint, OPENAI_ENVELOPE_FIELD,
};
pub use extract::extract_tool_calls;
pub use prompt::build_tool_prompt;
pub use rescue::{rescue_tool_calls, RescueFormat, Rescued};
pub use thinking::{extract_thinking, Thinking};
