//! Typing Qwen-XML parameter values, which arrive as text, by the tool's schema.

use forge_types::{SchemaType, ToolSpec};
use serde_json::Value;

/// `raw` as the type the schema declares for parameter `key` of `tool`.
///
/// A parameter declared (possibly among others) as `string`, or with no usable type, keeps
/// the text. Otherwise the declared types are tried in order: `boolean` takes `true`/`false`
/// in any case, `null` takes `null`, and `integer`, `number`, `object` and `array` take JSON
/// text of that type (`integer` only integral JSON numbers). Surrounding whitespace is ignored.
/// When nothing fits the text is kept, and argument validation reports the mismatch to the
/// model — a value is never guessed.
pub(super) fn coerce_parameter(tool: &ToolSpec, key: &str, raw: String) -> Value {
    let types = tool.parameter_types(key);
    if types.is_empty() || types.contains(&SchemaType::String) {
        return Value::String(raw);
    }
    let trimmed = raw.trim();
    let parsed = serde_json::from_str::<Value>(trimmed).ok();
    let fits = |schema_type: &SchemaType| -> Option<Value> {
        match schema_type {
            SchemaType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            SchemaType::Null => parsed.clone().filter(Value::is_null),
            SchemaType::Integer => parsed
                .clone()
                .filter(|value| value.is_i64() || value.is_u64()),
            SchemaType::Number => parsed.clone().filter(Value::is_number),
            SchemaType::Object => parsed.clone().filter(Value::is_object),
            SchemaType::Array => parsed.clone().filter(Value::is_array),
            SchemaType::String => None,
        }
    };
    types.iter().find_map(fits).unwrap_or(Value::String(raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_take_the_declared_type_or_stay_text() {
        let tool = ToolSpec::new(
            "t",
            "",
            json!({"type": "object", "properties": {
                "limit": {"type": "integer"},
                "ratio": {"type": "number"},
                "flag": {"type": "boolean"},
                "filter": {"type": "object"},
                "tags": {"type": "array"},
                "maybe": {"type": ["integer", "null"]},
                "either": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "unit": {"enum": [1, 2]},
                "free": {}
            }}),
        );
        let cases = [
            ("limit", "10", json!(10)),
            ("limit", " 10\n", json!(10)),
            ("limit", "10.5", json!("10.5")),
            ("limit", "ten", json!("ten")),
            ("ratio", "0.25", json!(0.25)),
            ("ratio", "3", json!(3)),
            ("flag", "True", json!(true)),
            ("flag", "false", json!(false)),
            ("flag", "yes", json!("yes")),
            ("filter", r#"{"a": [1]}"#, json!({"a": [1]})),
            ("filter", "[1]", json!("[1]")),
            ("tags", r#"["x", "y"]"#, json!(["x", "y"])),
            ("maybe", "null", json!(null)),
            ("maybe", "7", json!(7)),
            ("either", "7", json!("7")),
            ("unit", "2", json!(2)),
            ("free", "7", json!("7")),
            ("undeclared", "7", json!("7")),
        ];
        for (key, raw, expected) in cases {
            assert_eq!(
                coerce_parameter(&tool, key, raw.to_owned()),
                expected,
                "{key} = {raw:?}"
            );
        }
    }
}
