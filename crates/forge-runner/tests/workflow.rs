//! Workflow construction and validation, system prompt templates, tool definitions
//! (spec 01 §2, `test_workflow.py`).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;

use forge_runner::{
    PromptTemplate, TemplateError, ToolDef, ToolFailure, ToolOutput, Workflow, WorkflowError,
};
use forge_types::{json_object, Prerequisite, ToolResolutionError};
use serde_json::json;
use support::{no_arg_spec, tool};

/// The reference fixture: `fetch_data`, `submit_result`, `fetch_data` required.
fn build(
    tools: Vec<ToolDef>,
    required: &[&str],
    terminal: &[&str],
) -> Result<Workflow, WorkflowError> {
    Workflow::builder("test_workflow")
        .tools(tools)
        .required_steps(required.iter().copied())
        .terminal_tools(terminal.iter().copied())
        .system_prompt("You are a {role}. Do {task}.")
        .build()
}

fn fixture_tools() -> Vec<ToolDef> {
    vec![tool("fetch_data"), tool("submit_result")]
}

#[test]
fn construction_errors_name_the_offender() {
    let with_prereq = |p: Prerequisite| {
        vec![
            tool("fetch_data"),
            tool("submit_result").with_prerequisites([p]),
        ]
    };
    let cases: Vec<(&str, Result<Workflow, WorkflowError>, &str)> = vec![
        (
            "unknown required step",
            build(fixture_tools(), &["nonexistent"], &["submit_result"]),
            "Required step 'nonexistent' not in tools: ['fetch_data', 'submit_result']",
        ),
        (
            "unknown terminal tool",
            build(fixture_tools(), &["fetch_data"], &["nonexistent"]),
            "Terminal tool 'nonexistent' not in tools: ['fetch_data', 'submit_result']",
        ),
        (
            "one of several terminal tools unknown",
            build(fixture_tools(), &[], &["submit_result", "nonexistent"]),
            "Terminal tool 'nonexistent' not in tools",
        ),
        (
            "terminal tool also required",
            build(
                fixture_tools(),
                &["fetch_data", "submit_result"],
                &["submit_result"],
            ),
            "Terminal tool 'submit_result' cannot also be a required step",
        ),
        (
            "one of several terminal tools required",
            build(
                vec![tool("fetch_data"), tool("approve"), tool("reject")],
                &["fetch_data", "approve"],
                &["approve", "reject"],
            ),
            "cannot also be a required step",
        ),
        (
            "unknown name-only prerequisite",
            build(
                with_prereq(Prerequisite::Tool("nonexistent".into())),
                &[],
                &["submit_result"],
            ),
            "Prerequisite 'nonexistent' for tool 'submit_result' not in tools",
        ),
        (
            "unknown arg-matched prerequisite",
            build(
                with_prereq(Prerequisite::ArgMatched {
                    tool: "nonexistent".into(),
                    match_arg: "path".into(),
                }),
                &[],
                &["submit_result"],
            ),
            "Prerequisite 'nonexistent' for tool 'submit_result' not in tools",
        ),
        (
            "two tools with one name",
            build(vec![tool("x"), tool("x")], &[], &[]),
            "Tool 'x' is defined twice",
        ),
        (
            "stray brace in the template",
            Workflow::builder("t").system_prompt("a { b").build(),
            "invalid system prompt template: unclosed '{' at byte 2",
        ),
    ];
    for (name, result, fragment) in cases {
        let err = result.expect_err(name).to_string();
        assert!(err.contains(fragment), "{name}: {err}");
    }
}

#[test]
fn valid_workflows_keep_what_they_were_given() {
    let workflow = build(fixture_tools(), &["fetch_data"], &["submit_result"]).unwrap();
    assert_eq!(workflow.name(), "test_workflow");
    assert_eq!(workflow.tools().count(), 2);
    let names: Vec<String> = workflow.tool_specs().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["fetch_data", "submit_result"]);
    assert_eq!(
        workflow.terminal_tools().iter().collect::<Vec<_>>(),
        ["submit_result"]
    );

    let both = build(
        vec![tool("approve"), tool("reject")],
        &[],
        &["approve", "reject", "approve"],
    )
    .unwrap();
    assert_eq!(
        both.terminal_tools().iter().collect::<Vec<_>>(),
        ["approve", "reject"]
    );

    let none = build(fixture_tools(), &[], &[]).unwrap();
    assert!(none.terminal_tools().is_empty());

    for prereq in [
        Prerequisite::Tool("fetch_data".into()),
        Prerequisite::ArgMatched {
            tool: "fetch_data".into(),
            match_arg: "id".into(),
        },
    ] {
        let tools = vec![
            tool("fetch_data"),
            tool("submit_result").with_prerequisites([prereq.clone()]),
        ];
        let workflow = build(tools, &[], &["submit_result"]).unwrap();
        assert_eq!(
            workflow.prerequisites(),
            [("submit_result".to_owned(), vec![prereq])]
        );
        assert_eq!(
            workflow.tool("submit_result").unwrap().name(),
            "submit_result"
        );
        assert!(workflow.tool("nonexistent").is_none());
    }
}

#[test]
fn system_prompt_renders_named_variables() {
    let workflow = build(fixture_tools(), &[], &["submit_result"]).unwrap();
    let vars = HashMap::from([
        ("role".to_owned(), "analyst".to_owned()),
        ("task".to_owned(), "data analysis".to_owned()),
        ("unused".to_owned(), "ignored".to_owned()),
    ]);
    assert_eq!(
        workflow.build_system_prompt(&vars).unwrap(),
        "You are a analyst. Do data analysis."
    );
    let missing = workflow.build_system_prompt(&HashMap::new()).unwrap_err();
    assert_eq!(
        missing,
        TemplateError::MissingVariable {
            name: "role".into()
        }
    );
}

#[test]
fn template_grammar() {
    let vars = HashMap::from([("x".to_owned(), "1".to_owned())]);
    let ok = |source: &str| {
        PromptTemplate::parse(source)
            .unwrap()
            .render(&vars)
            .unwrap()
    };
    assert_eq!(ok("no placeholders"), "no placeholders");
    assert_eq!(ok("{{x}} is {x}"), "{x} is 1");
    assert_eq!(ok("{{{x}}}"), "{1}");
    assert_eq!(ok("{x}{x}"), "11");
    assert_eq!(ok("é {x} ü"), "é 1 ü");
    assert_eq!(ok(""), "");

    let err = |source: &str| PromptTemplate::parse(source).unwrap_err();
    assert_eq!(err("a { b"), TemplateError::UnclosedBrace { position: 2 });
    assert_eq!(err("a {"), TemplateError::UnclosedBrace { position: 2 });
    assert_eq!(
        err("a } b"),
        TemplateError::UnmatchedCloseBrace { position: 2 }
    );
    assert_eq!(
        err("{}"),
        TemplateError::PositionalField {
            field: String::new(),
            position: 0
        }
    );
    assert_eq!(
        err("{0}"),
        TemplateError::PositionalField {
            field: "0".into(),
            position: 0
        }
    );
    for unsupported in ["{x:>5}", "{x!r}", "{a.b}", "{a[0]}", "{1x}"] {
        assert!(
            matches!(err(unsupported), TemplateError::UnsupportedField { .. }),
            "{unsupported}"
        );
    }
    let placeholders: Vec<String> = PromptTemplate::parse("{a} {{b}} {c} {a}")
        .unwrap()
        .placeholders()
        .map(str::to_owned)
        .collect();
    assert_eq!(placeholders, ["a", "c", "a"]);
}

/// Arguments of a typed tool.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct LookupArgs {
    /// The part number to look up.
    part_number: String,
    /// How many results at most.
    limit: Option<u32>,
    /// The unit system.
    unit: Unit,
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum Unit {
    Metric,
    Imperial,
}

#[test]
fn typed_tool_schema_is_derived_from_the_argument_struct() {
    let tool = ToolDef::typed("lookup", "Look a part up.", |a: LookupArgs| async move {
        Ok::<_, ToolFailure>(a.part_number)
    });
    assert_eq!(tool.spec().description, "Look a part up.");
    insta::assert_json_snapshot!("typed_tool_schema", tool.spec().parameters);
}

#[tokio::test]
async fn typed_tool_deserializes_its_arguments() {
    let tool = ToolDef::typed("lookup", "", |a: LookupArgs| async move {
        Ok::<_, ToolFailure>(format!("{}:{:?}", a.part_number, a.limit))
    });
    let ok = tool
        .call(json_object(json!({"part_number": "X1", "unit": "metric"})).unwrap())
        .await;
    assert_eq!(ok, Ok(ToolOutput::Text("X1:None".into())));
    let bad = tool
        .call(json_object(json!({"part_number": 7, "unit": "metric"})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        bad.to_content(),
        "[ToolError] InvalidArguments: invalid type: integer `7`, expected a string"
    );
    assert!(!bad.is_resolution());
}

#[test]
fn failures_render_their_wire_prefix() {
    let resolution: ToolFailure = ToolResolutionError::new("No entry for 'x'.").into();
    assert!(resolution.is_resolution());
    assert_eq!(
        resolution.to_content(),
        "[ToolResolutionError] No entry for 'x'."
    );
    let parse = "five".parse::<u32>().unwrap_err();
    let failure = ToolFailure::from_error(parse);
    assert_eq!(
        failure.to_content(),
        "[ToolError] ParseIntError: invalid digit found in string"
    );
    assert_eq!(failure.message(), "invalid digit found in string");
}

#[test]
fn outputs_render_as_the_reference_writes_them() {
    let cases = [
        (ToolOutput::from("plain"), "plain"),
        (
            ToolOutput::from(json!({"n": 1, "s": "é"})),
            r#"{"n": 1, "s": "\u00e9"}"#,
        ),
        (ToolOutput::from(()), "null"),
        (ToolOutput::json(&vec![1, 2]).unwrap(), "[1, 2]"),
    ];
    for (output, content) in cases {
        assert_eq!(output.to_content(), content);
    }
}

#[tokio::test]
async fn raw_tools_receive_the_argument_object() {
    let tool = ToolDef::new(no_arg_spec("echo"), |args| async move {
        Ok::<_, ToolFailure>(serde_json::Value::Object(args))
    });
    let out = tool
        .call(json_object(json!({"k": [1, 2]})).unwrap())
        .await
        .unwrap();
    assert_eq!(out.as_json(), Some(&json!({"k": [1, 2]})));
}

#[tokio::test]
async fn respond_tool_returns_its_message() {
    let tool = forge_runner::respond_tool();
    assert_eq!(tool.spec(), &forge_guardrails::respond_spec());
    assert!(tool.prerequisites().is_empty());
    for message in ["hello world", ""] {
        let out = tool
            .call(json_object(json!({ "message": message })).unwrap())
            .await;
        assert_eq!(out, Ok(ToolOutput::Text(message.into())));
    }
    let missing = tool
        .call(json_object(json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        missing.to_content(),
        "[ToolError] InvalidArguments: respond needs a string argument 'message'"
    );
}
