//! The one policy for turning a tool call's `arguments` into an object.
//!
//! Every client, streaming or not, and every rescue path decodes arguments here, so a given wire
//! value means the same thing everywhere:
//!
//! | wire value | outcome |
//! |---|---|
//! | absent | `Object({})` — a call without arguments |
//! | `""` (or only whitespace) | `Object({})` — a call without arguments |
//! | a JSON object | `Object(it)` |
//! | a string holding a JSON object | `Object(parsed)` |
//! | a string that is not JSON | `Malformed` — the retry path |
//! | `null`, array, number, bool, or a string holding one | `NotAnObject` — the retry path |
//!
//! Nothing is ever coerced to `{}` except the two "no arguments" spellings.

use forge_types::JsonObject;
use serde_json::Value;

/// The JSON type of a value, for messages about what was found instead of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonKind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool,
    /// a number
    Number,
    /// a string
    String,
    /// an array
    Array,
    /// an object
    Object,
}

impl JsonKind {
    /// The kind of `value`.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }

    /// A lowercase name: `"null"`, `"array"`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool => "boolean",
            Self::Number => "number",
            Self::String => "string",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

/// What a tool call's arguments decoded to.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgumentsOutcome {
    /// A usable arguments object.
    Object(JsonObject),
    /// A string that is not valid JSON (truncated, single quotes, …).
    Malformed {
        /// The raw text as received.
        raw: String,
        /// The JSON parser's message.
        error: String,
    },
    /// Valid JSON, but not an object.
    NotAnObject {
        /// The raw text (a string value as received, any other value serialized).
        raw: String,
        /// What was found.
        found: JsonKind,
    },
}

impl ArgumentsOutcome {
    /// The object, if decoding succeeded.
    pub fn into_object(self) -> Option<JsonObject> {
        match self {
            Self::Object(args) => Some(args),
            _ => None,
        }
    }

    /// The raw text of a failed decode (what the retry path shows the model).
    pub fn raw(&self) -> Option<&str> {
        match self {
            Self::Object(_) => None,
            Self::Malformed { raw, .. } | Self::NotAnObject { raw, .. } => Some(raw),
        }
    }

    /// A one-line description of a failed decode, for logs and nudges.
    pub fn problem(&self) -> Option<String> {
        match self {
            Self::Object(_) => None,
            Self::Malformed { error, .. } => {
                Some(format!("arguments are not valid JSON ({error})"))
            }
            Self::NotAnObject { found, .. } => Some(format!(
                "arguments must be a JSON object, got {}",
                found.as_str()
            )),
        }
    }
}

/// Decodes an `arguments` field as it arrived on the wire (`None` = key absent).
pub fn decode_arguments(value: Option<&Value>) -> ArgumentsOutcome {
    match value {
        None => ArgumentsOutcome::Object(JsonObject::new()),
        Some(Value::String(raw)) => decode_arguments_str(raw),
        Some(Value::Object(args)) => ArgumentsOutcome::Object(args.clone()),
        Some(other) => ArgumentsOutcome::NotAnObject {
            raw: other.to_string(),
            found: JsonKind::of(other),
        },
    }
}

/// Decodes an `arguments` string (OpenAI style, or a streamed buffer).
pub fn decode_arguments_str(raw: &str) -> ArgumentsOutcome {
    if raw.trim().is_empty() {
        return ArgumentsOutcome::Object(JsonObject::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(args)) => ArgumentsOutcome::Object(args),
        Ok(other) => ArgumentsOutcome::NotAnObject {
            raw: raw.to_owned(),
            found: JsonKind::of(&other),
        },
        Err(error) => ArgumentsOutcome::Malformed {
            raw: raw.to_owned(),
            error: error.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(outcome: &ArgumentsOutcome) -> &'static str {
        match outcome {
            ArgumentsOutcome::Object(_) => "object",
            ArgumentsOutcome::Malformed { .. } => "malformed",
            ArgumentsOutcome::NotAnObject { found, .. } => found.as_str(),
        }
    }

    #[test]
    fn wire_values_map_to_one_outcome_each() {
        let cases: &[(Option<Value>, &str)] = &[
            (None, "object"),
            (Some(json!("")), "object"),
            (Some(json!("  \n")), "object"),
            (Some(json!({"a": 1})), "object"),
            (Some(json!("{\"a\": 1}")), "object"),
            (Some(json!("{\"a\": 1")), "malformed"),
            (Some(json!("{'a': 1}")), "malformed"),
            (Some(json!(null)), "null"),
            (Some(json!("null")), "null"),
            (Some(json!([1, 2])), "array"),
            (Some(json!("[1, 2]")), "array"),
            (Some(json!(3)), "number"),
            (Some(json!("\"text\"")), "string"),
            (Some(json!(true)), "boolean"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                kind(&decode_arguments(input.as_ref())),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn failed_decodes_keep_the_raw_text() {
        let outcome = decode_arguments_str("{\"city\": \"Par");
        assert_eq!(outcome.raw(), Some("{\"city\": \"Par"));
        assert!(outcome
            .problem()
            .unwrap()
            .starts_with("arguments are not valid JSON"));
        let outcome = decode_arguments(Some(&json!([1])));
        assert_eq!(outcome.raw(), Some("[1]"));
        assert_eq!(
            outcome.problem().unwrap(),
            "arguments must be a JSON object, got array"
        );
    }
}
