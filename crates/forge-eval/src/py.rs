//! The few Python behaviours the scenario tools and checks depend on.
//!
//! The reference tools receive the model's raw arguments and work on them with Python's `str()`,
//! `int()`, `float()`, `.strip()`, `.title()` and format specs. What the model reads back (and
//! whether a call raises) follows from those semantics, so they are reproduced here, including
//! the Python exception type names that end up in `[ToolError] <Type>: <message>` results.

use forge_types::py_json::python_float_repr;
use serde_json::Value;

use crate::scenario::ToolError;

/// Python's `str(value)` for a JSON value (`None`, `True`, `4.0`, `['a', 1]`, `{'k': 'v'}`).
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr(value)` for a JSON value.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(number) => match number.as_i64() {
            Some(int) => int.to_string(),
            None => match number.as_u64() {
                Some(int) => int.to_string(),
                None => python_float_repr(number.as_f64().unwrap_or(f64::NAN)),
            },
        },
        Value::String(text) => py_string_repr(text),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(key, value)| format!("{}: {}", py_string_repr(key), py_repr(value)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn py_string_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
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
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's name for the type of a JSON value (`str`, `int`, `float`, `NoneType`, …).
pub fn py_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `str.strip()` (Unicode whitespace on both ends).
pub fn py_strip(text: &str) -> &str {
    text.trim_matches(char::is_whitespace)
}

/// Python's `str.isdigit()` for the ASCII and Unicode decimal digits a model would send.
pub fn py_isdigit(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_numeric())
}

/// Python's `str.title()`: upper-case the first letter of every run of letters.
pub fn py_title(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous_cased = false;
    for c in text.chars() {
        if c.is_alphabetic() {
            if previous_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            previous_cased = true;
        } else {
            out.push(c);
            previous_cased = false;
        }
    }
    out
}

/// Python's `int(value)`: integers as-is, floats truncated, booleans as 0/1, strings of digits
/// (surrounding whitespace and one sign allowed); anything else raises like Python does.
pub fn py_int(value: &Value) -> Result<i64, ToolError> {
    match value {
        Value::Bool(flag) => Ok(i64::from(*flag)),
        Value::Number(number) => match number.as_i64() {
            Some(int) => Ok(int),
            None => {
                let float = number.as_f64().unwrap_or(f64::NAN);
                if float.is_finite() {
                    // Python truncates toward zero; the cast saturates on overflow.
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(float.trunc() as i64)
                } else {
                    Err(ToolError::new(
                        "OverflowError",
                        "cannot convert float infinity to integer",
                    ))
                }
            }
        },
        Value::String(text) => {
            let trimmed = py_strip(text).replace('_', "");
            trimmed.parse::<i64>().map_err(|_| {
                ToolError::new(
                    "ValueError",
                    format!(
                        "invalid literal for int() with base 10: {}",
                        py_string_repr(text)
                    ),
                )
            })
        }
        other => Err(ToolError::new(
            "TypeError",
            format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                py_type_name(other)
            ),
        )),
    }
}

/// Python's `float(value)`.
pub fn py_float(value: &Value) -> Result<f64, ToolError> {
    match value {
        Value::Bool(flag) => Ok(if *flag { 1.0 } else { 0.0 }),
        Value::Number(number) => Ok(number.as_f64().unwrap_or(f64::NAN)),
        Value::String(text) => py_strip(text).replace('_', "").parse::<f64>().map_err(|_| {
            ToolError::new(
                "ValueError",
                format!(
                    "could not convert string to float: {}",
                    py_string_repr(text)
                ),
            )
        }),
        other => Err(ToolError::new(
            "TypeError",
            format!(
                "float() argument must be a string or a real number, not '{}'",
                py_type_name(other)
            ),
        )),
    }
}

/// Python's `f"{x:,.2f}"`: thousands separators and two decimals.
pub fn fmt_thousands_2(x: f64) -> String {
    let fixed = format!("{:.2}", x.abs());
    let (int_part, frac_part) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let mut grouped = String::with_capacity(int_part.len() + int_part.len() / 3);
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if x.is_sign_negative() && x != 0.0 {
        "-"
    } else {
        ""
    };
    format!("{sign}{grouped}.{frac_part}")
}

/// `Ok(text)` when `value` is a string, else the `AttributeError` Python raises when a tool calls
/// a string method (`.strip()`, `.upper()`) on it.
pub fn as_py_str<'a>(value: &'a Value, method: &str) -> Result<&'a str, ToolError> {
    value.as_str().ok_or_else(|| {
        ToolError::new(
            "AttributeError",
            format!(
                "'{}' object has no attribute '{method}'",
                py_type_name(value)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn str_of_values_matches_python() {
        let cases = [
            (json!("a"), "a"),
            (json!(null), "None"),
            (json!(true), "True"),
            (json!(4), "4"),
            (json!(4.0), "4.0"),
            (json!(28980.5), "28980.5"),
            (json!(["a", 1]), "['a', 1]"),
            (json!({"k": "it's"}), "{'k': \"it's\"}"),
        ];
        for (value, expected) in cases {
            assert_eq!(py_str(&value), expected, "{value}");
        }
    }

    #[test]
    fn int_and_float_conversions_match_python() {
        assert_eq!(py_int(&json!("2024")).unwrap(), 2024);
        assert_eq!(py_int(&json!(" 42 ")).unwrap(), 42);
        assert_eq!(py_int(&json!(1.9)).unwrap(), 1);
        assert_eq!(py_int(&json!("4.0")).unwrap_err().type_name, "ValueError");
        assert_eq!(py_int(&json!(null)).unwrap_err().type_name, "TypeError");
        assert!((py_float(&json!("4800")).unwrap() - 4800.0).abs() < f64::EPSILON);
        assert_eq!(py_float(&json!("abc")).unwrap_err().type_name, "ValueError");
    }

    #[test]
    fn thousands_format_matches_python() {
        assert_eq!(fmt_thousands_2(7500.0), "7,500.00");
        assert_eq!(fmt_thousands_2(5280.000000000001), "5,280.00");
        assert_eq!(fmt_thousands_2(999.999), "1,000.00");
        assert_eq!(fmt_thousands_2(12.5), "12.50");
        assert_eq!(fmt_thousands_2(1_234_567.0), "1,234,567.00");
    }

    #[test]
    fn title_case_matches_python() {
        assert_eq!(py_title("alice"), "Alice");
        assert_eq!(py_title("sarah chen"), "Sarah Chen");
        assert_eq!(py_title("JOHN o'doe"), "John O'Doe");
    }
}
