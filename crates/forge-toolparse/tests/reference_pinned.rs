//! The behaviours the reference's own tests pin (spec 01 §9), and the spec's example tables,
//! as data. Where forge-rs deliberately differs from v0.7.3 the row says so.

mod common;

use common::{check_extract, check_rescue, extract_tools, rescue_tools, untyped_tools};
use forge_toolparse::build_tool_prompt;
use forge_types::ToolSpec;
use serde_json::json;

fn pricing_tool() -> ToolSpec {
    ToolSpec::new(
        "get_pricing",
        "Get pricing for a part",
        json!({"type": "object",
               "properties": {"part_number": {"type": "string", "description": "The part number"}},
               "required": ["part_number"]}),
    )
}

#[test]
fn prompt_names_tools_parameters_and_answer_shape() {
    let history = ToolSpec::new("get_history", "Get history", json!({"type": "object"}));
    let search = ToolSpec::new(
        "search",
        "Search",
        json!({"type": "object", "properties": {
            "query": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null},
            "sort": {"type": "string", "enum": ["asc", "desc"]}}, "required": ["sort"]}),
    );
    let prompt = build_tool_prompt(&[pricing_tool(), history, search]);
    for needle in [
        "get_pricing",
        "Get pricing for a part",
        "part_number",
        "string",
        "The part number",
        "get_history",
        "\"tool\"",
        "\"args\"",
        "optional",
        "asc",
        "desc",
    ] {
        assert!(
            prompt.contains(needle),
            "prompt lacks {needle:?}:\n{prompt}"
        );
    }
    assert!(prompt.to_lowercase().contains("required"));
}

#[test]
fn prompt_matches_the_reference_text_exactly() {
    let search = ToolSpec::new(
        "search",
        "Search",
        json!({"type": "object", "properties": {
            "query": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null,
                      "description": "Search query"},
            "sort": {"type": "string", "enum": ["asc", "desc"], "description": "Sort order"},
            "n": {"type": "integer", "default": 5}}, "required": ["sort"]}),
    );
    let noop = ToolSpec::new(
        "noop",
        "Nothing",
        json!({"type": "object", "properties": {}}),
    );
    let expected = "You have access to the following tools:

## get_pricing
Description: Get pricing for a part
Parameters:
  - part_number (string (required)): The part number

## search
Description: Search
Parameters:
  - query (any (optional)): Search query
  - sort (string (required)): Sort order
    Allowed values: asc, desc
  - n (integer (optional)): 

## noop
Description: Nothing

To call a tool, respond with ONLY a JSON object in this exact format:
{\"tool\": \"<tool_name>\", \"args\": {<arguments>}}

Example:
{\"tool\": \"get_pricing\", \"args\": {\"part_number\": \"<part_number>\"}}

Respond with ONLY the JSON tool call. Do not include any other text.";
    assert_eq!(build_tool_prompt(&[pricing_tool(), search, noop]), expected);
}

#[test]
fn extraction_matches_of_the_reference() {
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{"tool": "get_pricing", "args": {"part": "X123"}}"#,
            &[r#"get_pricing {"part":"X123"}"#],
        ),
        (
            "```json\n{\"tool\": \"get_pricing\", \"args\": {\"part\": \"X\"}}\n```",
            &[r#"get_pricing {"part":"X"}"#],
        ),
        (
            "```\n{\"tool\": \"get_pricing\", \"args\": {\"part\": \"X\"}}\n```",
            &[r#"get_pricing {"part":"X"}"#],
        ),
        (
            r#"Sure, I will call the tool: {"tool": "get_pricing", "args": {"part": "X"}} Hope that helps!"#,
            &[r#"get_pricing {"part":"X"}"#],
        ),
        (r#"{"tool": "get_pricing"}"#, &["get_pricing {}"]),
        (
            r#"{"tool": "search", "args": {"filter": {"type": "active"}}}"#,
            &[r#"search {"filter":{"type":"active"}}"#],
        ),
        (
            r#"{"name": "get_pricing", "arguments": {"part": "X123"}}"#,
            &[r#"get_pricing {"part":"X123"}"#],
        ),
        (
            r#"<tool_call>{"name": "get_pricing", "arguments": {"part": "X123"}}</tool_call>"#,
            &[r#"get_pricing {"part":"X123"}"#],
        ),
        (
            r#"{"tool": "get_pricing", "args": {"part": "A"}} {"tool": "search", "args": {"q": "B"}}"#,
            &[r#"get_pricing {"part":"A"}"#, r#"search {"q":"B"}"#],
        ),
        (
            r#"[{"tool": "get_pricing", "args": {}}]"#,
            &["get_pricing {}"],
        ),
        (
            r#"{ {"tool": "get_pricing", "args": {}}"#,
            &["get_pricing {}"],
        ),
        (
            r#"{"tool": "", "name": "get_pricing", "arguments": {"x": 1}}"#,
            &[r#"get_pricing {"x":1}"#],
        ),
        (r#"{"tool": "bogus", "name": "get_pricing"}"#, &[]),
        (
            r#"{"tool": "get_pricing", "args": {}, "arguments": {"x": 1}}"#,
            &["get_pricing {}"],
        ),
        (
            r#"{"tool": "get_pricing", "args": null, "arguments": {"x": 1}}"#,
            &[r#"get_pricing {"x":1}"#],
        ),
        (r#"{"result": {"tool": "get_pricing", "args": {}}}"#, &[]),
        (r#"{"note": {"tool": "get_pricing", "args": {}}}"#, &[]),
        (
            r#"{"s": "{x}", "tool": "get_pricing"}"#,
            &["get_pricing {}"],
        ),
    ];
    let tools = extract_tools();
    for (input, expected) in cases {
        check_extract(input, &tools, expected);
    }
}

#[test]
fn extraction_non_matches_of_the_reference() {
    let cases = [
        r#"{"tool": "delete_everything", "args": {}}"#,
        "I think we should look at the pricing data first.",
        r#"{"tool": "get_pricing", "args": {bad json}"#,
        r#"{"function": "get_pricing", "params": {}}"#,
        r#"{"tool": "GET_PRICING", "args": {}}"#,
    ];
    let tools = extract_tools();
    for input in cases {
        check_extract(input, &tools, &[]);
    }
}

#[test]
fn unbalanced_brace_in_a_string_no_longer_hides_the_call() {
    // v0.7.3 counted the `}` inside the string and found nothing (spec §9.2, last non-match).
    check_extract(
        r#"{"tool": "get_pricing", "args": {"s": "}"}}"#,
        &extract_tools(),
        &[r#"get_pricing {"s":"}"}"#],
    );
}

#[test]
fn fence_markers_inside_argument_values_are_kept() {
    // v0.7.3 deleted every fence marker first, editing the value to "py\nx\n".
    check_extract(
        r#"{"tool": "get_pricing", "args": {"code": "```py\nx\n```"}}"#,
        &extract_tools(),
        &[r#"get_pricing {"code":"```py\nx\n```"}"#],
    );
}

#[test]
fn non_object_arguments_skip_the_candidate_instead_of_raising() {
    let cases = [
        r#"{"tool": "get_pricing", "args": "not json"}"#,
        r#"{"tool": "get_pricing", "args": [1, 2]}"#,
        r#"{"tool": "get_pricing", "args": 3}"#,
        r#"{"tool": "get_pricing", "args": true}"#,
        r#"{"name": "get_pricing", "arguments": null}"#,
        r#"{"name": "get_pricing", "arguments": "[1]"}"#,
    ];
    for input in cases {
        check_extract(input, &extract_tools(), &[]);
        check_rescue(input, &extract_tools(), &[], None);
    }
    check_extract(
        r#"{"name": "get_pricing", "arguments": "{\"part\": \"X\"}"}"#,
        &extract_tools(),
        &[r#"get_pricing {"part":"X"}"#],
    );
}

/// The spec's rescue table (§9.3); rows that v0.7.3 got wrong carry the fixed result.
#[test]
fn rescue_table_of_the_reference() {
    let cases: &[(&str, &[&str], &str)] = &[
        (r#"I will call the tool now: {"tool": "fetch", "args": {"key": "val"}}"#, &[r#"fetch {"key":"val"}"#], "bare_json"),
        ("```json\n{\"tool\": \"fetch\", \"args\": {\"q\": \"test\"}}\n```", &[r#"fetch {"q":"test"}"#], "fenced_json"),
        (r#"fetch[ARGS]{"key": "value"}"#, &[r#"fetch {"key":"value"}"#], "args_rehearsal"),
        (r#"[THINK]reasoning here[/THINK] report[ARGS]{"findings": "data"}"#, &[r#"report {"findings":"data"}"#], "args_rehearsal"),
        (r#"<think>reasoning here</think> fetch[ARGS]{"id": 42}"#, &[r#"fetch {"id":42}"#], "args_rehearsal"),
        (r#"call:fetch[ARGS]{"a": 1}"#, &[r#"fetch {"a":1}"#], "args_rehearsal"),
        (r#"fetch[ARGS]{"a": 1} done."#, &[r#"fetch {"a":1}"#], "args_rehearsal"),
        (r#"[TOOL_CALLS]fetch[ARGS]{"a": 1}"#, &[r#"fetch {"a":1}"#], "args_rehearsal"),
        ("<function=fetch>\n<parameter=query>hello world</parameter>\n</function>", &[r#"fetch {"query":"hello world"}"#], "qwen_xml"),
        ("<function=fetch>\n<parameter=query>hello</parameter>\n<parameter=limit>10</parameter>\n</function>", &[r#"fetch {"query":"hello","limit":"10"}"#], "qwen_xml"),
        (
            "<function=bash>\n<parameter=command>\nfind . -name \"*.py\" -exec grep -l \"percentage\" {} \\;\n</parameter>\n</function>",
            &[r#"bash {"command":"find . -name \"*.py\" -exec grep -l \"percentage\" {} \\;"}"#],
            "qwen_xml",
        ),
        (
            "<function=fetch><parameter=q>one</parameter></function>\n<function=submit><parameter=data>two</parameter></function>",
            &[r#"fetch {"q":"one"}"#, r#"submit {"data":"two"}"#],
            "qwen_xml",
        ),
        ("<think>I should call fetch here</think>\n<function=fetch><parameter=query>weather</parameter></function>", &[r#"fetch {"query":"weather"}"#], "qwen_xml"),
        ("<function=fetch><parameter=q>value</function>", &[r#"fetch {"q":"value"}"#], "qwen_xml"),
        ("<function=fetch><parameter=a>1<parameter=b>2</function>", &[r#"fetch {"a":"1","b":"2"}"#], "qwen_xml"),
        ("<tool_call>\n<function=fetch>\n<parameter=a>1</parameter>\n</function>\n</tool_call>", &[r#"fetch {"a":"1"}"#], "qwen_xml"),
        (r#"[TOOL_CALLS]read{"file_path": "transformer.py"}"#, &[r#"read {"file_path":"transformer.py"}"#], "mistral_tool_calls"),
        (r#"[TOOL_CALLS]read {"file_path": "transformer.py"}"#, &[r#"read {"file_path":"transformer.py"}"#], "mistral_tool_calls"),
        ("[TOOL_CALLS]read\n{\"file_path\": \"transformer.py\"}", &[r#"read {"file_path":"transformer.py"}"#], "mistral_tool_calls"),
        (
            r#"[TOOL_CALLS]edit{"file_path": "x.py", "old_string": "if x: { print(1) }", "new_string": "if x: { print(2) }"}"#,
            &[r#"edit {"file_path":"x.py","old_string":"if x: { print(1) }","new_string":"if x: { print(2) }"}"#],
            "mistral_tool_calls",
        ),
        (r#"[TOOL_CALLS]edit{"file_path": "x.py", "old_string": "say \"hi\""}"#, &[r#"edit {"file_path":"x.py","old_string":"say \"hi\""}"#], "mistral_tool_calls"),
        ("[TOOL_CALLS]read{\"file_path\": \"a.py\"}\n[TOOL_CALLS]read{\"file_path\": \"b.py\"}", &[r#"read {"file_path":"a.py"}"#, r#"read {"file_path":"b.py"}"#], "mistral_tool_calls"),
        ("I apologize for the confusion earlier. Let me try again.\n[TOOL_CALLS]read{\"file_path\": \"transformer.py\"}", &[r#"read {"file_path":"transformer.py"}"#], "mistral_tool_calls"),
        (r#"[TOOL_CALLS]fetch{bad} [TOOL_CALLS]read{"a": 1}"#, &[r#"read {"a":1}"#], "mistral_tool_calls"),
        (r#"[TOOL_CALLS][{"name": "read", "arguments": {"a": 1}}]"#, &[r#"read {"a":1}"#], "mistral_tool_calls"),
        (r#"<think>{"tool": "fetch", "args": {}}</think>"#, &[], ""),
        (r#"<think>{"tool": "fetch", "args": {}}"#, &["fetch {}"], "bare_json"),
        ("<think>x</think>\n[TOOL_CALLS]read{\"a\": 1}", &[r#"read {"a":1}"#], "mistral_tool_calls"),
    ];
    let tools = rescue_tools();
    for (input, expected, format) in cases {
        check_rescue(
            input,
            &tools,
            expected,
            (!format.is_empty()).then_some(*format),
        );
    }
}

#[test]
fn rescue_non_matches_of_the_reference() {
    let cases = [
        r#"delete_everything[ARGS]{"force": true}"#,
        "fetch[ARGS]{bad json here}",
        "",
        "   \n\t",
        "[THINK]just thinking, no tool call[/THINK]",
        "I think we should analyze the data first and then report.",
        r#"fetch[ARGS] {"a": 1}"#,
        r#"xfetch[ARGS]{"a": 1}"#,
        "<function=unknown_tool><parameter=x>1</parameter></function>",
        "<function=fetch><parameter=q>never closed",
        "<function= fetch><parameter=q>x</parameter></function>",
        r#"[TOOL_CALLS]not_a_real_tool{"x": 1}"#,
        r#"[TOOL_CALLS]read{"file_path": "never closed"#,
        r#"[TOOL_CALLS] read{"file_path": "a.py"}"#,
        "[TOOL_CALLS]fetch[1,2]",
    ];
    let tools = rescue_tools();
    for input in cases {
        check_rescue(input, &tools, &[], None);
    }
    // The name is the word run before `[ARGS]`, so `my-fetch` reads as `fetch`.
    check_rescue(
        r#"my-fetch[ARGS]{"a": 1}"#,
        &untyped_tools(&["my-fetch"]),
        &[],
        None,
    );
}

#[test]
fn two_rehearsed_calls_yield_two_calls() {
    // v0.7.3's greedy match spanned both and lost them (defect list, "Parsing and context").
    check_rescue(
        r#"fetch[ARGS]{"a": 1} submit[ARGS]{"b": 2}"#,
        &rescue_tools(),
        &[r#"fetch {"a":1}"#, r#"submit {"b":2}"#],
        Some("args_rehearsal"),
    );
}

#[test]
fn a_stray_brace_after_a_rehearsal_does_not_lose_it() {
    check_rescue(
        r#"fetch[ARGS]{"a": 1} and then }"#,
        &rescue_tools(),
        &[r#"fetch {"a":1}"#],
        Some("args_rehearsal"),
    );
}

#[test]
fn mistral_tag_inside_a_string_argument_is_not_a_phantom_call() {
    // v0.7.3 also returned a phantom `edit {}` from inside the string.
    check_rescue(
        r#"[TOOL_CALLS]read{"x": "[TOOL_CALLS]edit{}"}"#,
        &rescue_tools(),
        &[r#"read {"x":"[TOOL_CALLS]edit{}"}"#],
        Some("mistral_tool_calls"),
    );
}

#[test]
fn json_wins_over_every_other_strategy() {
    let cases: &[(&str, &[&str])] = &[
        (r#"{"tool": "fetch", "args": {"a": 1}} submit[ARGS]{"b": 2}"#, &[r#"fetch {"a":1}"#]),
        (
            "{\"tool\": \"fetch\", \"args\": {\"q\": \"json\"}}\n<function=submit><parameter=data>xml</parameter></function>",
            &[r#"fetch {"q":"json"}"#],
        ),
        (
            "{\"tool\": \"read\", \"args\": {\"file_path\": \"from_json.py\"}}\n[TOOL_CALLS]read{\"file_path\": \"from_bracket.py\"}",
            &[r#"read {"file_path":"from_json.py"}"#],
        ),
        (
            r#"<function=fetch><parameter=a>{"tool": "submit", "args": {}}</parameter></function>"#,
            &["submit {}"],
        ),
        (
            r#"{"x": 1} <function=submit><parameter=a>1</parameter></function>"#,
            &[r#"submit {"a":"1"}"#],
        ),
    ];
    let tools = rescue_tools();
    for (input, expected) in cases {
        check_rescue(input, &tools, expected, None);
    }
}

#[test]
fn qwen_values_take_the_declared_schema_types() {
    let tool = ToolSpec::new(
        "fetch",
        "Fetch",
        json!({"type": "object", "properties": {
            "query": {"type": "string"}, "limit": {"type": "integer"},
            "exact": {"type": "boolean"}, "ids": {"type": "array"}}}),
    );
    check_rescue(
        "<function=fetch>\n<parameter=query>10</parameter>\n<parameter=limit>10</parameter>\n\
         <parameter=exact>true</parameter>\n<parameter=ids>[1, 2]</parameter>\n</function>",
        &[tool],
        &[r#"fetch {"query":"10","limit":10,"exact":true,"ids":[1,2]}"#],
        Some("qwen_xml"),
    );
}
