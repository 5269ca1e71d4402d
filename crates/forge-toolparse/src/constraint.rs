//! Constrained decoding of tool calls: the JSON schema meaning "exactly one call of one of these
//! tools, with arguments that fit its parameters", and the decoding of what a constrained model
//! writes back into a call.
//!
//! The schema is a `oneOf` with one branch per tool, each branch an object
//! `{"name": <that tool's name>, "arguments": <that tool's parameters schema>}`. A synthetic
//! text-answer tool (the engine passes forge's `respond`) is added when the caller did not offer
//! one, so the model can still answer in words; a call to it decodes back to text.
//!
//! Each backend turns a schema into a grammar with its own engine, and none supports all of JSON
//! Schema. [`build_tool_constraint`] checks the tools' schemas against the target
//! [`ConstraintDialect`] and, when one cannot be carried faithfully, answers
//! [`ConstraintOutcome::Unconstrained`] with the reason: the caller logs it and sends the request
//! unconstrained rather than a grammar that would forbid valid calls.

use forge_types::{JsonObject, ToolCall, ToolSpec};
use serde_json::{json, Map, Value};

/// How a backend constrains decoding, which decides the schema subset it can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConstraintDialect {
    /// llama.cpp's JSON-schema-to-grammar converter: llama-server's `json_schema` body field.
    LlamaCppGrammar,
    /// Ollama's `format` field, converted to a grammar by the llama.cpp converter Ollama embeds.
    OllamaFormat,
    /// vLLM structured outputs (xgrammar, falling back to guidance for what xgrammar lacks).
    VllmStructuredOutputs,
    /// OpenAI strict structured outputs (`response_format` of type `json_schema`, `strict: true`):
    /// the root must be an object, every object closed and every property required.
    OpenAiStrict,
    /// Anthropic's `tool_choice: {"type": "any"}`: the model must call one of the offered tools;
    /// there is no schema grammar, so every tool schema is acceptable.
    AnthropicToolChoice,
}

impl ConstraintDialect {
    /// A short stable name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LlamaCppGrammar => "llamacpp_json_schema",
            Self::OllamaFormat => "ollama_format",
            Self::VllmStructuredOutputs => "vllm_structured_outputs",
            Self::OpenAiStrict => "openai_strict_json_schema",
            Self::AnthropicToolChoice => "anthropic_tool_choice_any",
        }
    }
}

/// The property of the OpenAI envelope that holds the call (strict mode forbids a `oneOf` or
/// `anyOf` at the root).
pub const OPENAI_ENVELOPE_FIELD: &str = "tool_call";

/// The property names of the call envelope the model writes under a JSON-schema constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnvelopeKeys {
    /// The property holding the tool name.
    pub name: &'static str,
    /// The property holding the arguments object.
    pub arguments: &'static str,
}

impl EnvelopeKeys {
    /// `{"name": …, "arguments": …}`: the default, the shape of an OpenAI tool call.
    pub const NAME_ARGUMENTS: Self = Self {
        name: "name",
        arguments: "arguments",
    };
    /// `{"tool": …, "args": …}`: the shape forge's prompt-mode tool prompt shows the model
    /// ([`build_tool_prompt`](crate::build_tool_prompt)). A model that was shown that shape
    /// picks the right tool far more often when the grammar asks for the same keys.
    pub const PROMPT_MODE: Self = Self {
        name: "tool",
        arguments: "args",
    };
}

/// The tool the model may call to answer in words, and the string argument holding the answer.
#[derive(Debug, Clone, Copy)]
pub struct TextAnswerTool<'a> {
    /// The tool's spec (forge's `respond`).
    pub spec: &'a ToolSpec,
    /// The required string argument that carries the answer text (`message` for `respond`).
    pub message_field: &'a str,
}

/// A constraint ready to be written into a request by a backend of its dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolConstraint {
    dialect: ConstraintDialect,
    schema: Value,
    keys: EnvelopeKeys,
    // Boxed: a spec is large and most constraints carry one only here.
    synthetic_text_tool: Option<Box<SyntheticTextTool>>,
}

#[derive(Debug, Clone, PartialEq)]
struct SyntheticTextTool {
    spec: ToolSpec,
    message_field: String,
}

/// What [`build_tool_constraint`] decided.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintOutcome {
    /// The constraint to send.
    Constrained(ToolConstraint),
    /// No faithful constraint exists for this dialect: send the request unconstrained, and say
    /// why in the logs.
    Unconstrained {
        /// What could not be carried, naming the tool and the schema location.
        reason: String,
    },
}

/// What a constrained model wrote, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum ConstrainedOutput {
    /// One call of a tool (not the synthetic text tool). The name is not checked against the
    /// offered tools: that is the validator's job.
    Call(ToolCall),
    /// The synthetic text tool was called: its answer text.
    Text(String),
    /// The text is not the constrained shape (a backend that ignored the constraint, a cut
    /// generation): the caller treats it as plain text, which goes to the retry path.
    Malformed {
        /// What is wrong with it.
        problem: String,
    },
}

impl ToolConstraint {
    /// The dialect this constraint was built for.
    pub fn dialect(&self) -> ConstraintDialect {
        self.dialect
    }

    /// The response schema to send (unused by [`ConstraintDialect::AnthropicToolChoice`]).
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// The envelope's property names.
    pub fn envelope_keys(&self) -> EnvelopeKeys {
        self.keys
    }

    /// The same constraint asking for (and decoding) the envelope under `keys`.
    pub fn with_envelope_keys(mut self, keys: EnvelopeKeys) -> Self {
        let old = self.keys;
        let branches = match self.dialect {
            ConstraintDialect::OpenAiStrict => self
                .schema
                .pointer_mut(&format!("/properties/{OPENAI_ENVELOPE_FIELD}/anyOf")),
            _ => self.schema.pointer_mut("/oneOf"),
        };
        if let Some(Value::Array(branches)) = branches {
            for branch in branches {
                rename_envelope(branch, old, keys);
            }
        }
        self.keys = keys;
        self
    }

    /// The text-answer tool added by the constraint, when the caller did not offer one: a
    /// backend constraining through its tool list (Anthropic) must offer it too.
    pub fn synthetic_text_tool(&self) -> Option<&ToolSpec> {
        self.synthetic_text_tool.as_ref().map(|tool| &tool.spec)
    }

    /// The answer text when `call` is a call of the synthetic text-answer tool with a string
    /// answer; `None` for any other call (including a real, caller-offered tool of that name).
    pub fn text_answer(&self, call: &ToolCall) -> Option<String> {
        let tool = self.synthetic_text_tool.as_ref()?;
        if call.tool != tool.spec.name {
            return None;
        }
        call.args
            .get(&tool.message_field)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Decodes the text a model wrote under this constraint (surrounding whitespace allowed).
    pub fn decode_output(&self, text: &str) -> ConstrainedOutput {
        let malformed = |problem: String| ConstrainedOutput::Malformed { problem };
        let value: Value = match serde_json::from_str(text.trim()) {
            Ok(value) => value,
            Err(err) => return malformed(format!("constrained output is not JSON: {err}")),
        };
        let envelope = match (self.dialect, value) {
            (ConstraintDialect::OpenAiStrict, Value::Object(mut outer)) => {
                match outer.remove(OPENAI_ENVELOPE_FIELD) {
                    Some(inner) => inner,
                    None => {
                        return malformed(format!(
                            "constrained output has no '{OPENAI_ENVELOPE_FIELD}' field"
                        ))
                    }
                }
            }
            (_, value) => value,
        };
        let Value::Object(mut envelope) = envelope else {
            return malformed("constrained output is not a JSON object".to_owned());
        };
        let keys = self.keys;
        let Some(Value::String(name)) = envelope.remove(keys.name) else {
            return malformed(format!("constrained output has no string '{}'", keys.name));
        };
        let Some(Value::Object(args)) = envelope.remove(keys.arguments) else {
            return malformed(format!(
                "constrained call of '{name}' has no '{}' object",
                keys.arguments
            ));
        };
        let call = ToolCall::new(name, args);
        match self.text_answer(&call) {
            Some(text) => ConstrainedOutput::Text(text),
            None => ConstrainedOutput::Call(call),
        }
    }
}

/// Builds the constraint for "exactly one call of one of `tools`" in `dialect`.
///
/// `text_answer` is added as one more choice unless a tool of that name is already offered (then
/// the caller's tool stands and its calls stay calls). No tools at all → unconstrained: there is
/// nothing to call.
///
/// ```
/// use forge_toolparse::{build_tool_constraint, ConstraintDialect, ConstraintOutcome, ConstrainedOutput};
/// use forge_types::ToolSpec;
/// use serde_json::json;
///
/// let weather = ToolSpec::new("get_weather", "Weather for a city", json!({"type": "object",
///     "properties": {"city": {"type": "string"}}, "required": ["city"]}));
/// let ConstraintOutcome::Constrained(constraint) =
///     build_tool_constraint(&[weather], None, ConstraintDialect::LlamaCppGrammar)
/// else { panic!("a plain object schema is supported") };
/// assert_eq!(constraint.schema()["oneOf"][0]["properties"]["name"], json!({"const": "get_weather"}));
/// let ConstrainedOutput::Call(call) =
///     constraint.decode_output(r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#)
/// else { panic!("the constrained shape") };
/// assert_eq!(call.args["city"], "Paris");
/// ```
pub fn build_tool_constraint(
    tools: &[ToolSpec],
    text_answer: Option<TextAnswerTool<'_>>,
    dialect: ConstraintDialect,
) -> ConstraintOutcome {
    if tools.is_empty() {
        return unconstrained("no tools are offered, so there is no call to constrain".to_owned());
    }
    let synthetic_text_tool = text_answer
        .filter(|answer| !tools.iter().any(|tool| tool.name == answer.spec.name))
        .map(|answer| {
            Box::new(SyntheticTextTool {
                spec: answer.spec.clone(),
                message_field: answer.message_field.to_owned(),
            })
        });
    let choices: Vec<&ToolSpec> = tools
        .iter()
        .chain(synthetic_text_tool.as_ref().map(|tool| &tool.spec))
        .collect();

    let mut defs = Map::new();
    let mut branches = Vec::with_capacity(choices.len());
    for tool in choices {
        match branch(tool, dialect, &mut defs) {
            Ok(branch) => branches.push(branch),
            Err(reason) => {
                return unconstrained(format!(
                    "tool '{}' cannot be constrained for {}: {reason}",
                    tool.name,
                    dialect.as_str()
                ))
            }
        }
    }
    let mut schema = match dialect {
        ConstraintDialect::OpenAiStrict => json!({
            "type": "object",
            "properties": {OPENAI_ENVELOPE_FIELD: {"anyOf": branches}},
            "required": [OPENAI_ENVELOPE_FIELD],
            "additionalProperties": false
        }),
        _ => json!({"oneOf": branches}),
    };
    if !defs.is_empty() {
        if let Value::Object(root) = &mut schema {
            root.insert("$defs".to_owned(), Value::Object(defs));
        }
    }
    ConstraintOutcome::Constrained(ToolConstraint {
        dialect,
        schema,
        keys: EnvelopeKeys::NAME_ARGUMENTS,
        synthetic_text_tool,
    })
}

/// Renames a branch's envelope properties (and its `required` entries) from `old` to `new`.
fn rename_envelope(branch: &mut Value, old: EnvelopeKeys, new: EnvelopeKeys) {
    let renames = [(old.name, new.name), (old.arguments, new.arguments)];
    if let Some(Value::Object(properties)) = branch.get_mut("properties") {
        let mut renamed = Map::new();
        for (key, value) in std::mem::take(properties) {
            let key = renames
                .iter()
                .find(|(from, _)| *from == key)
                .map_or(key, |(_, to)| (*to).to_owned());
            renamed.insert(key, value);
        }
        *properties = renamed;
    }
    if let Some(Value::Array(required)) = branch.get_mut("required") {
        for entry in required.iter_mut() {
            if let Some((_, to)) = renames.iter().find(|(from, _)| entry == *from) {
                *entry = Value::String((*to).to_owned());
            }
        }
    }
}

fn unconstrained(reason: String) -> ConstraintOutcome {
    ConstraintOutcome::Unconstrained { reason }
}

/// One `oneOf` branch: `{"name": <const>, "arguments": <parameters>}`, closed and both required.
fn branch(
    tool: &ToolSpec,
    dialect: ConstraintDialect,
    defs: &mut Map<String, Value>,
) -> Result<Value, String> {
    let mut arguments = match &tool.parameters {
        Value::Null => json!({"type": "object", "properties": {}}),
        Value::Object(params) if params.is_empty() => json!({"type": "object", "properties": {}}),
        Value::Object(_) => tool.parameters.clone(),
        other => return Err(format!("its parameters schema is not an object: {other}")),
    };
    hoist_definitions(&tool.name, &mut arguments, defs)?;
    check_schema(&arguments, dialect, "arguments")?;
    for def in defs.values() {
        check_schema(def, dialect, "$defs")?;
    }
    if dialect == ConstraintDialect::OpenAiStrict {
        close_objects(&mut arguments);
        for def in defs.values_mut() {
            close_objects(def);
        }
    }
    let name = match dialect {
        ConstraintDialect::OpenAiStrict => json!({"type": "string", "enum": [tool.name]}),
        _ => json!({"const": tool.name}),
    };
    Ok(json!({
        "type": "object",
        "properties": {"name": name, "arguments": arguments},
        "required": ["name", "arguments"],
        "additionalProperties": false
    }))
}

const DEFINITION_KEYS: [&str; 2] = ["$defs", "definitions"];

/// Moves a tool's local definitions to the combined schema's root under tool-prefixed names and
/// rewrites its references to match: embedded under `arguments`, `#/$defs/X` would otherwise
/// point at the wrong root.
fn hoist_definitions(
    tool: &str,
    arguments: &mut Value,
    defs: &mut Map<String, Value>,
) -> Result<(), String> {
    let Value::Object(params) = arguments else {
        return Ok(());
    };
    for key in DEFINITION_KEYS {
        if let Some(found) = params.remove(key) {
            let Value::Object(found) = found else {
                return Err(format!("'{key}' is not an object"));
            };
            for (name, def) in found {
                defs.insert(format!("{tool}__{name}"), def);
            }
        }
    }
    rewrite_refs(tool, arguments)?;
    Ok(())
}

fn rewrite_refs(tool: &str, value: &mut Value) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                *reference = local_ref(tool, reference)?;
            }
            for (key, child) in map.iter_mut() {
                if key != "$ref" {
                    rewrite_refs(tool, child)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| rewrite_refs(tool, item)),
        _ => Ok(()),
    }
}

fn local_ref(tool: &str, reference: &str) -> Result<String, String> {
    if !reference.starts_with('#') {
        return Err(format!(
            "'$ref' {reference:?} is not local (remote references are not resolved)"
        ));
    }
    for key in DEFINITION_KEYS {
        if let Some(name) = reference.strip_prefix(&format!("#/{key}/")) {
            if !name.contains('/') {
                return Ok(format!("#/$defs/{tool}__{name}"));
            }
        }
    }
    Err(format!(
        "'$ref' {reference:?} points outside '$defs'/'definitions'"
    ))
}

/// Keywords a dialect's grammar engine ignores in a way that could forbid valid arguments or
/// mis-shape them.
fn unsupported_keywords(dialect: ConstraintDialect) -> &'static [&'static str] {
    match dialect {
        // grammars/README.md of llama.cpp: unsupported or broken in json-schema-to-grammar.
        ConstraintDialect::LlamaCppGrammar | ConstraintDialect::OllamaFormat => &[
            "patternProperties",
            "prefixItems",
            "contains",
            "minContains",
            "maxContains",
            "uniqueItems",
            "not",
            "if",
            "then",
            "else",
            "dependentSchemas",
            "dependentRequired",
            "unevaluatedProperties",
            "unevaluatedItems",
            "propertyNames",
            "$anchor",
            "$dynamicRef",
        ],
        ConstraintDialect::VllmStructuredOutputs => &["$dynamicRef", "$anchor"],
        // OpenAI structured outputs: the documented strict-mode subset.
        ConstraintDialect::OpenAiStrict => &[
            "patternProperties",
            "unevaluatedProperties",
            "unevaluatedItems",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "not",
            "if",
            "then",
            "else",
            "dependentSchemas",
            "dependentRequired",
            "allOf",
            "oneOf",
            "contains",
            "uniqueItems",
            "$anchor",
            "$dynamicRef",
        ],
        ConstraintDialect::AnthropicToolChoice => &[],
    }
}

/// Walks every subschema of `schema` and rejects what `dialect` cannot carry.
fn check_schema(schema: &Value, dialect: ConstraintDialect, at: &str) -> Result<(), String> {
    if dialect == ConstraintDialect::AnthropicToolChoice {
        return Ok(());
    }
    let Value::Object(map) = schema else {
        return Ok(());
    };
    for keyword in unsupported_keywords(dialect) {
        if map.contains_key(*keyword) {
            return Err(format!("'{keyword}' at {at} is not supported"));
        }
    }
    if let Some(Value::String(reference)) = map.get("$ref") {
        if !reference.starts_with('#') {
            return Err(format!(
                "'$ref' {reference:?} at {at} is not local (remote references are not resolved)"
            ));
        }
    }
    let has_properties = map.contains_key("properties");
    if matches!(
        dialect,
        ConstraintDialect::LlamaCppGrammar | ConstraintDialect::OllamaFormat
    ) && has_properties
        && (map.contains_key("anyOf") || map.contains_key("oneOf"))
    {
        // llama.cpp issue 7703: the converter drops one of the two.
        return Err(format!(
            "'properties' mixed with 'anyOf'/'oneOf' at {at} is not supported"
        ));
    }
    if dialect == ConstraintDialect::OpenAiStrict && is_object_schema(map) {
        check_strict_object(map, at)?;
    }
    for (key, child) in map {
        match (key.as_str(), child) {
            ("properties", Value::Object(props)) => {
                for (name, prop) in props {
                    check_schema(prop, dialect, &format!("{at}.{name}"))?;
                }
            }
            ("items" | "additionalProperties", child @ Value::Object(_)) => {
                check_schema(child, dialect, &format!("{at}.{key}"))?;
            }
            ("anyOf" | "oneOf" | "allOf" | "items", Value::Array(children)) => {
                for (index, child) in children.iter().enumerate() {
                    check_schema(child, dialect, &format!("{at}.{key}[{index}]"))?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_object_schema(map: &JsonObject) -> bool {
    map.get("type") == Some(&Value::String("object".to_owned())) || map.contains_key("properties")
}

/// OpenAI strict mode: every property required, no open objects.
fn check_strict_object(map: &JsonObject, at: &str) -> Result<(), String> {
    if let Some(additional) = map.get("additionalProperties") {
        if additional != &Value::Bool(false) {
            return Err(format!(
                "strict mode needs 'additionalProperties: false', {at} allows more"
            ));
        }
    }
    let required: Vec<&str> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(Value::Object(props)) = map.get("properties") {
        if let Some(optional) = props.keys().find(|name| !required.contains(&name.as_str())) {
            return Err(format!(
                "strict mode needs every property required, {at}.{optional} is optional"
            ));
        }
    }
    Ok(())
}

/// Writes the `additionalProperties: false` strict mode insists on into every object schema (an
/// open object was already refused by [`check_strict_object`], so this only makes the default
/// explicit) and an empty `required` where there are no properties.
fn close_objects(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    if is_object_schema(map) {
        map.entry("additionalProperties")
            .or_insert(Value::Bool(false));
        map.entry("properties").or_insert_with(|| json!({}));
        map.entry("required").or_insert_with(|| json!([]));
    }
    for (key, child) in map.iter_mut() {
        match (key.as_str(), child) {
            ("properties", Value::Object(props)) => props.values_mut().for_each(close_objects),
            ("items", child @ Value::Object(_)) => close_objects(child),
            ("anyOf" | "items", Value::Array(children)) => {
                children.iter_mut().for_each(close_objects);
            }
            _ => {}
        }
    }
}
