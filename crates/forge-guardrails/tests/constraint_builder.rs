//! The tool-call constraint on the tool-schema shapes the eval scenarios use (spec 05 §2.2:
//! required `string` / `integer` / `number` parameters with generated titles, and tools without
//! parameters), plus `respond`: snapshots of the schema sent, and a JSON-Schema validator proving
//! it accepts each tool's valid calls and rejects the invalid ones.
#![allow(clippy::unwrap_used)]

use forge_guardrails::{respond_spec, RESPOND_MESSAGE_FIELD};
use forge_toolparse::{
    build_tool_constraint, ConstrainedOutput, ConstraintDialect, ConstraintOutcome, TextAnswerTool,
    ToolConstraint,
};
use forge_types::ToolSpec;
use serde_json::{json, Value};

/// Shaped like the scenario tools: a pydantic-style object with titles, every field required.
fn scenario_tool(name: &str, title: &str, fields: &[(&str, &str, &str)]) -> ToolSpec {
    let mut properties = serde_json::Map::new();
    for (field, kind, description) in fields {
        properties.insert(
            (*field).to_owned(),
            json!({"description": description, "title": title_case(field), "type": kind}),
        );
    }
    let required: Vec<&str> = fields.iter().map(|(field, _, _)| *field).collect();
    let mut parameters = json!({"properties": properties, "title": title, "type": "object"});
    if !required.is_empty() {
        parameters["required"] = json!(required);
    }
    ToolSpec::new(name, format!("{name} tool"), parameters)
}

fn title_case(field: &str) -> String {
    field
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One tool per shape the scenarios use.
fn scenario_tools() -> Vec<ToolSpec> {
    vec![
        scenario_tool(
            "get_country_info",
            "GetCountryInfoParams",
            &[("country", "string", "Country name")],
        ),
        scenario_tool(
            "fetch_sales_data",
            "FetchSalesDataParams",
            &[
                ("quarter", "integer", "Quarter number (1-4)"),
                ("year", "integer", "Four-digit year"),
            ],
        ),
        scenario_tool(
            "currency_convert",
            "CurrencyConvertParams",
            &[
                ("amount", "number", "Amount to convert"),
                (
                    "from_currency",
                    "string",
                    "Source currency code, e.g. 'EUR'",
                ),
                ("to_currency", "string", "Target currency code"),
            ],
        ),
        scenario_tool("get_approved_vendors", "GetApprovedVendorsParams", &[]),
    ]
}

fn respond_answer(spec: &ToolSpec) -> TextAnswerTool<'_> {
    TextAnswerTool {
        spec,
        message_field: RESPOND_MESSAGE_FIELD,
    }
}

fn constrained(tools: &[ToolSpec], dialect: ConstraintDialect) -> ToolConstraint {
    let respond = respond_spec();
    match build_tool_constraint(tools, Some(respond_answer(&respond)), dialect) {
        ConstraintOutcome::Constrained(constraint) => constraint,
        ConstraintOutcome::Unconstrained { reason } => {
            panic!("unexpectedly unconstrained: {reason}")
        }
    }
}

fn wrap(dialect: ConstraintDialect, call: Value) -> Value {
    match dialect {
        ConstraintDialect::OpenAiStrict => json!({"tool_call": call}),
        _ => call,
    }
}

#[test]
fn scenario_shapes_snapshot_per_dialect() {
    let tools = scenario_tools();
    insta::assert_json_snapshot!(
        "llamacpp_scenario_tools",
        constrained(&tools, ConstraintDialect::LlamaCppGrammar).schema()
    );
    insta::assert_json_snapshot!(
        "openai_strict_scenario_tools",
        constrained(&tools, ConstraintDialect::OpenAiStrict).schema()
    );
}

#[test]
fn the_schema_accepts_valid_calls_and_rejects_invalid_ones() {
    // (call, valid?)
    let cases = [
        (
            json!({"name": "get_country_info", "arguments": {"country": "France"}}),
            true,
        ),
        (
            json!({"name": "fetch_sales_data", "arguments": {"quarter": 4, "year": 2024}}),
            true,
        ),
        (
            json!({"name": "currency_convert", "arguments": {"amount": 12.5, "from_currency": "EUR", "to_currency": "USD"}}),
            true,
        ),
        (
            json!({"name": "currency_convert", "arguments": {"amount": 12, "from_currency": "EUR", "to_currency": "USD"}}),
            true,
        ),
        (
            json!({"name": "get_approved_vendors", "arguments": {}}),
            true,
        ),
        (
            json!({"name": "respond", "arguments": {"message": "Hello!"}}),
            true,
        ),
        // integer parameter given as a string (the mistake fetch_sales_data is sensitive to)
        (
            json!({"name": "fetch_sales_data", "arguments": {"quarter": "4", "year": 2024}}),
            false,
        ),
        (
            json!({"name": "fetch_sales_data", "arguments": {"quarter": 4.5, "year": 2024}}),
            false,
        ),
        // a required parameter missing
        (
            json!({"name": "fetch_sales_data", "arguments": {"quarter": 4}}),
            false,
        ),
        (json!({"name": "respond", "arguments": {}}), false),
        // a number parameter given as a string
        (
            json!({"name": "currency_convert", "arguments": {"amount": "12", "from_currency": "EUR", "to_currency": "USD"}}),
            false,
        ),
        // arguments of another tool
        (
            json!({"name": "get_country_info", "arguments": {"quarter": 4, "year": 2024}}),
            false,
        ),
        // an unknown tool
        (
            json!({"name": "get_weather", "arguments": {"city": "Paris"}}),
            false,
        ),
        // not the envelope
        (json!({"country": "France"}), false),
        (json!({"name": "get_country_info"}), false),
        (
            json!({"name": "get_country_info", "arguments": {"country": "France"}, "extra": 1}),
            false,
        ),
        (
            json!([{"name": "get_country_info", "arguments": {"country": "France"}}]),
            false,
        ),
    ];
    let tools = scenario_tools();
    for dialect in [
        ConstraintDialect::LlamaCppGrammar,
        ConstraintDialect::OllamaFormat,
        ConstraintDialect::VllmStructuredOutputs,
        ConstraintDialect::OpenAiStrict,
    ] {
        let constraint = constrained(&tools, dialect);
        let validator = jsonschema::validator_for(constraint.schema()).unwrap();
        for (call, valid) in &cases {
            let instance = wrap(dialect, call.clone());
            assert_eq!(
                validator.is_valid(&instance),
                *valid,
                "{dialect:?}: {instance}"
            );
        }
    }
}

#[test]
fn unsupported_schemas_degrade_loudly_with_the_reason() {
    let tool = |parameters: Value| ToolSpec::new("lookup", "", parameters);
    // (dialect, parameters, expected words in the reason)
    let cases = [
        (
            ConstraintDialect::LlamaCppGrammar,
            json!({"type": "object", "patternProperties": {"^x_": {"type": "string"}}}),
            "'patternProperties' at arguments",
        ),
        (
            ConstraintDialect::OllamaFormat,
            json!({"type": "object", "properties": {"ids": {"type": "array", "uniqueItems": true}}}),
            "'uniqueItems' at arguments.ids",
        ),
        (
            ConstraintDialect::LlamaCppGrammar,
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "anyOf": [{"required": ["a"]}]}),
            "'properties' mixed with 'anyOf'/'oneOf'",
        ),
        (
            ConstraintDialect::VllmStructuredOutputs,
            json!({"type": "object", "properties": {"p": {"$ref": "https://example.com/p.json"}}}),
            "is not local",
        ),
        (
            ConstraintDialect::LlamaCppGrammar,
            json!({"type": "object", "properties": {"p": {"$ref": "#/properties/q"}}}),
            "points outside '$defs'",
        ),
        (
            ConstraintDialect::OpenAiStrict,
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a"]}),
            "arguments.b is optional",
        ),
        (
            ConstraintDialect::OpenAiStrict,
            json!({"type": "object", "properties": {}, "additionalProperties": true}),
            "needs 'additionalProperties: false'",
        ),
        (
            ConstraintDialect::LlamaCppGrammar,
            json!("not a schema"),
            "parameters schema is not an object",
        ),
    ];
    for (dialect, parameters, expected) in cases {
        let outcome = build_tool_constraint(&[tool(parameters.clone())], None, dialect);
        let ConstraintOutcome::Unconstrained { reason } = outcome else {
            panic!("{dialect:?} should refuse {parameters}");
        };
        assert!(
            reason.contains("tool 'lookup'") && reason.contains(expected),
            "{dialect:?}: {reason}"
        );
    }
    assert!(matches!(
        build_tool_constraint(&[], None, ConstraintDialect::LlamaCppGrammar),
        ConstraintOutcome::Unconstrained { .. }
    ));
}

#[test]
fn anthropic_tool_choice_takes_any_schema() {
    let tool = ToolSpec::new(
        "lookup",
        "",
        json!({"type": "object", "patternProperties": {"^x_": {"type": "string"}}}),
    );
    let constraint = constrained(&[tool], ConstraintDialect::AnthropicToolChoice);
    assert_eq!(constraint.synthetic_text_tool().unwrap().name, "respond");
}

#[test]
fn local_definitions_are_hoisted_per_tool_and_still_resolve() {
    let tool = |name: &str| {
        ToolSpec::new(
            name,
            "",
            json!({"type": "object",
                   "properties": {"where": {"$ref": "#/$defs/Place"}},
                   "required": ["where"],
                   "$defs": {"Place": {"type": "object",
                                        "properties": {"city": {"type": "string"}},
                                        "required": ["city"]}}}),
        )
    };
    let constraint = constrained(
        &[tool("go"), tool("stay")],
        ConstraintDialect::LlamaCppGrammar,
    );
    insta::assert_json_snapshot!("hoisted_definitions", constraint.schema());
    let validator = jsonschema::validator_for(constraint.schema()).unwrap();
    assert!(validator.is_valid(&json!({"name": "stay", "arguments": {"where": {"city": "Oslo"}}})));
    assert!(!validator.is_valid(&json!({"name": "go", "arguments": {"where": {"town": "Oslo"}}})));
}

#[test]
fn a_caller_offered_respond_stays_a_call() {
    let tools = vec![scenario_tools().remove(0), respond_spec()];
    let constraint = constrained(&tools, ConstraintDialect::LlamaCppGrammar);
    assert!(constraint.synthetic_text_tool().is_none());
    assert_eq!(
        constraint.schema()["oneOf"].as_array().unwrap().len(),
        2,
        "respond is not added twice"
    );
    let decoded =
        constraint.decode_output(r#"{"name": "respond", "arguments": {"message": "hi"}}"#);
    assert!(matches!(decoded, ConstrainedOutput::Call(call) if call.tool == "respond"));
}

/// `Ok((tool, args))` = a call; `Ok(("", message))` = text; `Err(words)` = malformed.
type Decoded = Result<(&'static str, Value), &'static str>;

#[test]
fn constrained_output_decodes_to_a_call_text_or_malformed() {
    let tools = scenario_tools();
    let llama = constrained(&tools, ConstraintDialect::LlamaCppGrammar);
    let openai = constrained(&tools, ConstraintDialect::OpenAiStrict);
    // (constraint, model output, expected)
    let cases: Vec<(&ToolConstraint, &str, Decoded)> = vec![
        (
            &llama,
            "{\n  \"name\": \"get_country_info\",\n  \"arguments\": {\"country\": \"France\"}\n}\n",
            Ok(("get_country_info", json!({"country": "France"}))),
        ),
        (
            &llama,
            r#"{"name": "respond", "arguments": {"message": "Hello there"}}"#,
            Ok(("", json!("Hello there"))),
        ),
        (
            &openai,
            r#"{"tool_call": {"name": "fetch_sales_data", "arguments": {"quarter": 4, "year": 2024}}}"#,
            Ok(("fetch_sales_data", json!({"quarter": 4, "year": 2024}))),
        ),
        (
            &openai,
            r#"{"name": "fetch_sales_data", "arguments": {}}"#,
            Err("no 'tool_call' field"),
        ),
        (&llama, "I will look that up.", Err("not JSON")),
        (
            &llama,
            r#"{"name": "get_country_info", "arguments": "France"}"#,
            Err("no 'arguments' object"),
        ),
        (&llama, r#"{"arguments": {}}"#, Err("no string 'name'")),
        (
            &llama,
            r#"{"name": "get_country_info", "arguments": {"country": "Fr"#,
            Err("not JSON"),
        ),
    ];
    for (constraint, output, expected) in cases {
        let decoded = constraint.decode_output(output);
        match (&decoded, &expected) {
            (ConstrainedOutput::Call(call), Ok((tool, args))) => {
                assert_eq!(call.tool, *tool, "{output}");
                assert_eq!(&Value::Object(call.args.clone()), args, "{output}");
            }
            (ConstrainedOutput::Text(text), Ok(("", message))) => {
                assert_eq!(&json!(text), message, "{output}");
            }
            (ConstrainedOutput::Malformed { problem }, Err(words)) => {
                assert!(problem.contains(words), "{output}: {problem}");
            }
            _ => panic!("{output}: got {decoded:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn prompt_mode_envelope_keys_rename_the_schema_and_the_decoding() {
    use forge_toolparse::EnvelopeKeys;
    for dialect in [
        ConstraintDialect::LlamaCppGrammar,
        ConstraintDialect::OpenAiStrict,
    ] {
        let constraint =
            constrained(&scenario_tools(), dialect).with_envelope_keys(EnvelopeKeys::PROMPT_MODE);
        assert_eq!(constraint.envelope_keys(), EnvelopeKeys::PROMPT_MODE);
        let validator = jsonschema::validator_for(constraint.schema()).unwrap();
        let renamed = json!({"tool": "get_country_info", "args": {"country": "France"}});
        let original = json!({"name": "get_country_info", "arguments": {"country": "France"}});
        assert!(
            validator.is_valid(&wrap(dialect, renamed.clone())),
            "{dialect:?}"
        );
        assert!(!validator.is_valid(&wrap(dialect, original)), "{dialect:?}");
        let ConstrainedOutput::Call(call) =
            constraint.decode_output(&wrap(dialect, renamed).to_string())
        else {
            panic!("{dialect:?}: the renamed envelope decodes");
        };
        assert_eq!(call.tool, "get_country_info");
        let respond = wrap(
            dialect,
            json!({"tool": "respond", "args": {"message": "hi"}}),
        );
        assert_eq!(
            constraint.decode_output(&respond.to_string()),
            ConstrainedOutput::Text("hi".to_owned())
        );
    }
}
