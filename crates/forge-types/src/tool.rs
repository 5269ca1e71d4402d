use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::JsonObject;

/// A tool as the model sees it: name, description and a JSON Schema for its arguments.
///
/// The schema is kept as given (no lossy round trip through a generated model, unlike the
/// reference): what the caller declared is what the backend receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// The tool's name.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Value,
}

/// A JSON Schema primitive type name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaType {
    /// `"string"`
    String,
    /// `"integer"`
    Integer,
    /// `"number"`
    Number,
    /// `"boolean"`
    Boolean,
    /// `"object"`
    Object,
    /// `"array"`
    Array,
    /// `"null"`
    Null,
}

impl SchemaType {
    /// Parses a JSON Schema `type` name; unknown names give `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "object" => Self::Object,
            "array" => Self::Array,
            "null" => Self::Null,
            _ => return None,
        })
    }

    /// The JSON Schema name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Object => "object",
            Self::Array => "array",
            Self::Null => "null",
        }
    }
}

impl ToolSpec {
    /// A tool spec from its parts.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            parameters,
        }
    }

    /// The OpenAI `tools[]` entry: `{"type": "function", "function": {name, description, parameters}}`.
    pub fn to_openai_tool(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            }
        })
    }

    /// The schema's `properties` object, if it has one.
    pub fn properties(&self) -> Option<&JsonObject> {
        self.parameters.get("properties")?.as_object()
    }

    /// Names listed in the schema's `required`, in order (non-strings skipped).
    pub fn required(&self) -> Vec<&str> {
        self.parameters
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The declared types of parameter `name`.
    ///
    /// Understands a single `type`, a list-valued `type` (`["string", "null"]`), `enum` values
    /// (their JSON types) and `anyOf`/`oneOf` alternatives. Empty when the parameter is unknown
    /// or unconstrained.
    pub fn parameter_types(&self, name: &str) -> Vec<SchemaType> {
        let mut types = Vec::new();
        if let Some(schema) = self.properties().and_then(|props| props.get(name)) {
            collect_schema_types(schema, &mut types);
        }
        types
    }
}

fn collect_schema_types(schema: &Value, out: &mut Vec<SchemaType>) {
    let mut push = |t: SchemaType| {
        if !out.contains(&t) {
            out.push(t);
        }
    };
    match schema.get("type") {
        Some(Value::String(name)) => SchemaType::from_name(name).into_iter().for_each(&mut push),
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .filter_map(SchemaType::from_name)
            .for_each(&mut push),
        _ => {}
    }
    if schema.get("type").is_none() {
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            for value in values {
                push(match value {
                    Value::Null => SchemaType::Null,
                    Value::Bool(_) => SchemaType::Boolean,
                    Value::Number(n) if n.is_f64() => SchemaType::Number,
                    Value::Number(_) => SchemaType::Integer,
                    Value::String(_) => SchemaType::String,
                    Value::Array(_) => SchemaType::Array,
                    Value::Object(_) => SchemaType::Object,
                });
            }
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alternatives) = schema.get(key).and_then(Value::as_array) {
            for alternative in alternatives {
                collect_schema_types(alternative, out);
            }
        }
    }
}

/// A condition on earlier successful calls that must hold before a tool may run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prerequisite {
    /// Any earlier successful call of this tool.
    Tool(String),
    /// An earlier successful call of `tool` whose `match_arg` argument equals this call's.
    ArgMatched {
        /// The tool that must have run.
        tool: String,
        /// The argument whose value must match.
        match_arg: String,
    },
}

impl Prerequisite {
    /// The tool this prerequisite refers to.
    pub fn tool(&self) -> &str {
        match self {
            Self::Tool(tool) | Self::ArgMatched { tool, .. } => tool,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ToolSpec {
        ToolSpec::new(
            "search",
            "Search things",
            json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": ["integer", "null"]},
                    "unit": {"enum": ["c", "f"]},
                    "when": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    "free": {}
                },
                "required": ["query"]
            }),
        )
    }

    #[test]
    fn list_valued_type_is_understood() {
        assert_eq!(
            spec().parameter_types("limit"),
            vec![SchemaType::Integer, SchemaType::Null]
        );
    }

    #[test]
    fn enum_any_of_and_unconstrained_parameters() {
        let spec = spec();
        assert_eq!(spec.parameter_types("query"), vec![SchemaType::String]);
        assert_eq!(spec.parameter_types("unit"), vec![SchemaType::String]);
        assert_eq!(
            spec.parameter_types("when"),
            vec![SchemaType::Number, SchemaType::Null]
        );
        assert!(spec.parameter_types("free").is_empty());
        assert!(spec.parameter_types("missing").is_empty());
        assert_eq!(spec.required(), vec!["query"]);
    }

    #[test]
    fn openai_tool_shape() {
        let tool = ToolSpec::new(
            "noop",
            "Nothing",
            json!({"type": "object", "properties": {}}),
        )
        .to_openai_tool();
        assert_eq!(
            tool,
            json!({"type": "function", "function": {"name": "noop", "description": "Nothing",
                   "parameters": {"type": "object", "properties": {}}}})
        );
    }

    #[test]
    fn prerequisites_deserialize_from_both_forms() {
        let parsed: Vec<Prerequisite> = serde_json::from_value(
            json!(["read_file", {"tool": "read_file", "match_arg": "path"}]),
        )
        .unwrap();
        assert_eq!(parsed[0], Prerequisite::Tool("read_file".into()));
        assert_eq!(parsed[1].tool(), "read_file");
    }
}
