//! JSON text written the way Python's `json.dumps` writes it.
//!
//! forge writes OpenAI-format tool-call `arguments` strings, and the example lines of the
//! prompt-mode tool prompt, in this exact format:
//!
//! - `", "` between items and `": "` between a key and its value: `{"key": "val", "n": 1}`;
//! - keys in insertion order;
//! - every non-ASCII character escaped as `\uXXXX` (astral characters as a surrogate pair), and
//!   DEL and control characters escaped too;
//! - floats as Python's `repr` prints them: `1.0`, `0.0001`, `1e-05`, `1e+16`.
//!
//! Why not `serde_json::to_string`: the history a model sees on a retry must be byte-identical to
//! what the reference (and the caller, who mostly runs Python SDKs) produced, so llama.cpp's prompt
//! cache keeps hitting across attempts and snapshots stay comparable with the reference's own
//! captures. The output is deterministic: the same value always gives the same bytes.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Serializes `value` in Python `json.dumps` default style (see the module docs).
pub fn py_json_dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    // Writing to a String cannot fail.
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&python_float_repr(f));
    }
}

/// `repr(f)` as Python prints it: shortest round-trip digits, fixed notation for decimal
/// exponents in `-4..16`, otherwise `d.ddde±XX`.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.5e16", "-1e-5".
    let scientific = format!("{:e}", f.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output always contains an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let body = if exponent >= 0 {
            let point = exponent as usize + 1;
            if digits.len() > point {
                format!("{}.{}", &digits[..point], &digits[point..])
            } else {
                format!("{}{}.0", digits, "0".repeat(point - digits.len()))
            }
        } else {
            format!("0.{}{}", "0".repeat((-exponent - 1) as usize), digits)
        };
        format!("{sign}{body}")
    } else {
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn separators_and_key_order() {
        assert_eq!(
            py_json_dumps(&json!({"key": "val", "n": 1})),
            r#"{"key": "val", "n": 1}"#
        );
        assert_eq!(
            py_json_dumps(&json!({"b": 1, "a": [1, 2]})),
            r#"{"b": 1, "a": [1, 2]}"#
        );
        assert_eq!(py_json_dumps(&json!({})), "{}");
        assert_eq!(py_json_dumps(&json!([])), "[]");
        assert_eq!(
            py_json_dumps(&json!([true, false, null])),
            "[true, false, null]"
        );
    }

    #[test]
    fn non_ascii_is_escaped() {
        assert_eq!(py_json_dumps(&json!("Zürich")), r#""Z\u00fcrich""#);
        assert_eq!(py_json_dumps(&json!("😀")), r#""\ud83d\ude00""#);
        assert_eq!(
            py_json_dumps(&json!("a\"b\\c\n\t\u{1}\u{7f}")),
            r#""a\"b\\c\n\t\u0001\u007f""#
        );
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123.456, "123.456"),
            (-2.5, "-2.5"),
            (1e15, "1000000000000000.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1.2345e-7, "1.2345e-07"),
            (1e100, "1e+100"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float_repr(value), expected, "repr of {value}");
        }
        assert_eq!(
            py_json_dumps(&json!({"city": "Zürich", "n": 1.0})),
            r#"{"city": "Z\u00fcrich", "n": 1.0}"#
        );
    }

    #[test]
    fn integers_are_exact() {
        assert_eq!(py_json_dumps(&json!(u64::MAX)), u64::MAX.to_string());
        assert_eq!(py_json_dumps(&json!(-42)), "-42");
    }
}
