//! Python's notions of whitespace, word characters and `str()`, where the reference relies on them.

use forge_types::py_json::python_float_repr;
use serde_json::{Number, Value};

/// Python's `str.isspace`: Unicode White_Space plus the four ASCII separators `\x1c`..`\x1f`.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python's `str.strip()` without arguments.
pub(crate) fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

/// A character of Python's Unicode `\w` (letters, digits, underscore; Rust's Unicode
/// alphanumeric classes stand in for Python's `isalnum`).
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// What Python's `str(value)` prints for a decoded JSON value: strings bare, everything else
/// as `repr` (`True`, `None`, `1.5`, `['a', 'b']`).
pub(crate) fn py_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => {
            let mut out = String::new();
            write_repr(&mut out, other);
            out
        }
    }
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(number) => out.push_str(&number_repr(number)),
        Value::String(text) => write_str_repr(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(out, key);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

fn number_repr(number: &Number) -> String {
    match number.as_f64() {
        Some(float) if number.is_f64() => python_float_repr(float),
        _ => number.to_string(),
    }
}

/// Python's `repr(str)`: single quotes unless the text holds a `'` and no `"`; control
/// characters escaped. (Python also escapes non-printable non-ASCII characters such as
/// unassigned code points; only Unicode `Cc` characters are escaped here.)
fn write_str_repr(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{code:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn str_of_json_values_prints_like_python() {
        let cases = [
            (json!("asc"), "asc"),
            (json!(1), "1"),
            (json!(1.5), "1.5"),
            (json!(1e16), "1e+16"),
            (json!(true), "True"),
            (json!(null), "None"),
            (json!(["string", "null"]), "['string', 'null']"),
            (json!(["it's"]), "[\"it's\"]"),
            (json!(["a'b\"c"]), "['a\\'b\"c']"),
            (json!({"k": [1, false]}), "{'k': [1, False]}"),
            (json!(["tab\there\u{1}"]), "['tab\\there\\x01']"),
        ];
        for (value, expected) in cases {
            assert_eq!(py_str(&value), expected, "value {value}");
        }
    }

    #[test]
    fn strip_and_word_chars_follow_python() {
        assert_eq!(py_strip("\x1c\u{a0} x y \n"), "x y");
        assert!(is_word_char('é') && is_word_char('_') && is_word_char('7'));
        assert!(!is_word_char('-') && !is_word_char(']') && !is_word_char(' '));
    }
}
