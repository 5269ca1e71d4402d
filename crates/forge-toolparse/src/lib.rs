//! Pure, synchronous tool-call parsing for forge.
//!
//! Everything here takes text or JSON in and gives typed outcomes out; nothing does I/O.
//!
//! ```
//! use forge_toolparse::{decode_arguments_str, ArgumentsOutcome};
//!
//! assert!(matches!(decode_arguments_str(r#"{"city": "Paris"}"#), ArgumentsOutcome::Object(_)));
//! assert!(matches!(decode_arguments_str(""), ArgumentsOutcome::Object(args) if args.is_empty()));
//! assert!(matches!(decode_arguments_str(r#"{"city": "Par"#), ArgumentsOutcome::Malformed { .. }));
//! ```

mod arguments;

pub use arguments::{decode_arguments, decode_arguments_str, ArgumentsOutcome, JsonKind};
