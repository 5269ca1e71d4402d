//! Formats × failure modes: every syntax a model writes a call in, crossed with the ways the
//! text goes wrong (taxonomy after ai-dynamo/dynamo's `PARSER_CASES.md`). One row per case,
//! one check helper.
//!
//! Positions pinned here where the taxonomy asks for one: a truncated call yields nothing
//! (the retry path asks again; no half call is executed); a call only inside a closed think
//! block yields nothing; duplicate calls are both kept; XML entities are not decoded.

mod common;

use common::check_rescue;
use forge_types::ToolSpec;
use serde_json::json;

fn tools() -> Vec<ToolSpec> {
    let untyped = |name: &str| ToolSpec::new(name, "", json!({"type": "object"}));
    vec![
        untyped("fetch"),
        untyped("read"),
        untyped("edit"),
        untyped("search"),
        untyped("météo"),
        ToolSpec::new(
            "get_weather",
            "Weather for a city",
            json!({"type": "object", "properties": {
                "city": {"type": "string"}, "days": {"type": "integer"},
                "metric": {"type": "boolean"}}, "required": ["city"]}),
        ),
    ]
}

/// (case, input, expected calls as `name {json}`, expected format; "" when nothing is found).
type Case = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
);

const FENCED: &[Case] = &[
    ("fenced json", "```json\n{\"tool\": \"fetch\", \"args\": {\"q\": 1}}\n```", &[r#"fetch {"q":1}"#], "fenced_json"),
    ("fenced bare", "```\n{\"tool\": \"fetch\", \"args\": {\"q\": 1}}\n```", &[r#"fetch {"q":1}"#], "fenced_json"),
    ("fenced uppercase JSON tag", "```JSON\n{\"tool\": \"fetch\", \"args\": {}}\n```", &["fetch {}"], "fenced_json"),
    ("fenced with prose around", "Here you go:\n```json\n{\"tool\": \"read\", \"args\": {\"file_path\": \"a.py\"}}\n```\nDone.", &[r#"read {"file_path":"a.py"}"#], "fenced_json"),
    ("fenced two calls", "```json\n{\"tool\": \"read\", \"args\": {\"file_path\": \"a\"}}\n{\"tool\": \"read\", \"args\": {\"file_path\": \"b\"}}\n```", &[r#"read {"file_path":"a"}"#, r#"read {"file_path":"b"}"#], "fenced_json"),
    ("fenced truncated", "```json\n{\"tool\": \"fetch\", \"args\": {\"q\": \"abc", &[], ""),
    ("fenced code that is not a call", "```js\nfunction f() { return {a: 1}; }\n```", &[], ""),
    ("fenced json that is not a call", "```json\n{\"status\": \"ok\", \"items\": [1, 2]}\n```", &[], ""),
    ("fence inside an argument value", "```json\n{\"tool\": \"edit\", \"args\": {\"new\": \"```rust\\nfn x() {}\\n```\"}}\n```", &[r#"edit {"new":"```rust\nfn x() {}\n```"}"#], "fenced_json"),
];

const BARE_JSON: &[Case] = &[
    ("bare forge object", r#"{"tool": "fetch", "args": {"q": "x"}}"#, &[r#"fetch {"q":"x"}"#], "bare_json"),
    ("bare with text before and after", r#"Calling now {"tool": "fetch", "args": {}} — hope that helps."#, &["fetch {}"], "bare_json"),
    ("bare nested braces in strings", r#"{"tool": "edit", "args": {"old": "fn a() {", "new": "fn a() { b(); }"}}"#, &[r#"edit {"old":"fn a() {","new":"fn a() { b(); }"}"#], "bare_json"),
    ("bare escaped quotes", r#"{"tool": "edit", "args": {"new": "say \"hi\" {"}}"#, &[r#"edit {"new":"say \"hi\" {"}"#], "bare_json"),
    ("bare escaped backslash before quote", r#"{"tool": "edit", "args": {"path": "C:\\dir\\"}}"#, &[r#"edit {"path":"C:\\dir\\"}"#], "bare_json"),
    ("bare unicode values", r#"{"tool": "fetch", "args": {"q": "Zürich 東京 😀"}}"#, &[r#"fetch {"q":"Zürich 東京 😀"}"#], "bare_json"),
    ("bare unicode escapes", r#"{"tool": "fetch", "args": {"q": "Z\u00fcrich \ud83d\ude00"}}"#, &[r#"fetch {"q":"Zürich 😀"}"#], "bare_json"),
    ("bare unicode tool name", r#"{"tool": "météo", "args": {"ville": "Lyon"}}"#, &[r#"météo {"ville":"Lyon"}"#], "bare_json"),
    ("bare two calls", r#"{"tool": "read", "args": {"file_path": "a"}} then {"tool": "fetch", "args": {}}"#, &[r#"read {"file_path":"a"}"#, "fetch {}"], "bare_json"),
    ("bare duplicate calls are both kept", r#"{"tool": "fetch", "args": {}} {"tool": "fetch", "args": {}}"#, &["fetch {}", "fetch {}"], "bare_json"),
    ("bare truncated", r#"{"tool": "fetch", "args": {"q": "x"}"#, &[], ""),
    ("bare truncated then a complete retry", "{\"tool\": \"edit\", \"args\": {\"old\": \"abc\n\nSorry, again: {\"tool\": \"fetch\", \"args\": {}}", &["fetch {}"], "bare_json"),
    ("bare single quotes are not JSON", "{'tool': 'fetch', 'args': {}}", &[], ""),
    ("bare trailing comma is not JSON", r#"{"tool": "fetch", "args": {"q": 1,}}"#, &[], ""),
    ("bare unknown tool", r#"{"tool": "rm_rf", "args": {}}"#, &[], ""),
    ("bare wrong-case tool", r#"{"tool": "Fetch", "args": {}}"#, &[], ""),
    ("bare json that is not a call", r#"The result was {"temperature": 21, "unit": "C"}."#, &[], ""),
    ("bare call nested in a non-call object", r#"{"result": {"tool": "fetch", "args": {}}}"#, &[], ""),
    ("code with braces then a call", "fn main() { let x = vec![1]; if x.len() > 0 { println!(\"{}\", \"}\"); } }\n{\"tool\": \"fetch\", \"args\": {}}", &["fetch {}"], "bare_json"),
    ("empty arguments", r#"{"tool": "fetch", "args": {}}"#, &["fetch {}"], "bare_json"),
    ("no arguments key", r#"{"tool": "fetch"}"#, &["fetch {}"], "bare_json"),
    ("complex argument types", r#"{"tool": "search", "args": {"n": 1.5, "ok": false, "tags": ["a", {"b": null}], "text": "line1\nline2"}}"#, &[r#"search {"n":1.5,"ok":false,"tags":["a",{"b":null}],"text":"line1\nline2"}"#], "bare_json"),
    ("arguments not an object", r#"{"tool": "fetch", "args": ["q"]}"#, &[], ""),
    ("array of calls", r#"[{"tool": "fetch", "args": {}}, {"tool": "read", "args": {"file_path": "x"}}]"#, &["fetch {}", r#"read {"file_path":"x"}"#], "bare_json"),
];

const OPENAI_JSON: &[Case] = &[
    (
        "openai name/arguments object",
        r#"{"name": "fetch", "arguments": {"q": "x"}}"#,
        &[r#"fetch {"q":"x"}"#],
        "bare_json",
    ),
    (
        "openai arguments as a JSON string",
        r#"{"name": "fetch", "arguments": "{\"q\": \"x\"}"}"#,
        &[r#"fetch {"q":"x"}"#],
        "bare_json",
    ),
    (
        "openai arguments string empty",
        r#"{"name": "fetch", "arguments": ""}"#,
        &["fetch {}"],
        "bare_json",
    ),
    (
        "openai arguments string malformed",
        r#"{"name": "fetch", "arguments": "{\"q\": "}"#,
        &[],
        "",
    ),
    (
        "openai function wrapper",
        r#"{"type": "function", "function": {"name": "fetch", "arguments": "{\"q\": 1}"}}"#,
        &[r#"fetch {"q":1}"#],
        "bare_json",
    ),
    (
        "openai function wrapper with id",
        r#"{"id": "call_1", "type": "function", "function": {"name": "read", "arguments": {"file_path": "a"}}}"#,
        &[r#"read {"file_path":"a"}"#],
        "bare_json",
    ),
    (
        "openai function wrapper unknown tool",
        r#"{"type": "function", "function": {"name": "nope", "arguments": "{}"}}"#,
        &[],
        "",
    ),
    (
        "openai tool definition echo is not a call",
        r#"{"type": "function", "function": {"name": "nope", "description": "x"}}"#,
        &[],
        "",
    ),
    (
        "llama parameters key",
        r#"{"name": "fetch", "parameters": {"q": "x"}}"#,
        &[r#"fetch {"q":"x"}"#],
        "bare_json",
    ),
];

const MISTRAL: &[Case] = &[
    (
        "mistral named call",
        r#"[TOOL_CALLS]read{"file_path": "a.py"}"#,
        &[r#"read {"file_path":"a.py"}"#],
        "mistral_tool_calls",
    ),
    (
        "mistral named call after prose",
        "Let me check.\n[TOOL_CALLS]read {\"file_path\": \"a.py\"}\n",
        &[r#"read {"file_path":"a.py"}"#],
        "mistral_tool_calls",
    ),
    (
        "mistral nested braces and escapes",
        r#"[TOOL_CALLS]edit{"old": "if x { y(\"}\") }", "new": "z"}"#,
        &[r#"edit {"old":"if x { y(\"}\") }","new":"z"}"#],
        "mistral_tool_calls",
    ),
    (
        "mistral unicode",
        r#"[TOOL_CALLS]météo{"ville": "Zürich"}"#,
        &[r#"météo {"ville":"Zürich"}"#],
        "mistral_tool_calls",
    ),
    (
        "mistral two named calls",
        r#"[TOOL_CALLS]read{"file_path": "a"}[TOOL_CALLS]fetch{"q": 1}"#,
        &[r#"read {"file_path":"a"}"#, r#"fetch {"q":1}"#],
        "mistral_tool_calls",
    ),
    (
        "mistral truncated",
        r#"[TOOL_CALLS]read{"file_path": "a"#,
        &[],
        "",
    ),
    (
        "mistral unknown tool",
        r#"[TOOL_CALLS]delete{"all": true}"#,
        &[],
        "",
    ),
    (
        "mistral tag inside an unknown call's string",
        r#"[TOOL_CALLS]delete{"note": "[TOOL_CALLS]read{}"}"#,
        &[],
        "",
    ),
    (
        "mistral array form",
        r#"[TOOL_CALLS][{"name": "read", "arguments": {"file_path": "a"}}, {"name": "fetch", "arguments": {}}]"#,
        &[r#"read {"file_path":"a"}"#, "fetch {}"],
        "mistral_tool_calls",
    ),
    (
        "mistral array form truncated",
        r#"[TOOL_CALLS][{"name": "read", "arguments": {"file_path": "a"}}, {"name": "fetch", "argu"#,
        &[r#"read {"file_path":"a"}"#],
        "mistral_tool_calls",
    ),
    (
        "mistral array with arguments strings",
        r#"[TOOL_CALLS][{"name": "fetch", "arguments": "{\"q\": 2}"}]"#,
        &[r#"fetch {"q":2}"#],
        "mistral_tool_calls",
    ),
    (
        "prose mentioning the tag",
        "Models like Mistral emit [TOOL_CALLS] before a call; I will not.",
        &[],
        "",
    ),
    (
        "prose mentioning the tag with a brace later",
        "The [TOOL_CALLS] marker, then {braces} in prose.",
        &[],
        "",
    ),
    (
        "mistral empty arguments",
        "[TOOL_CALLS]fetch{}",
        &["fetch {}"],
        "mistral_tool_calls",
    ),
];

const TOOL_CALL_TAGS: &[Case] = &[
    ("tool_call tags one call", "<tool_call>\n{\"name\": \"fetch\", \"arguments\": {\"q\": \"x\"}}\n</tool_call>", &[r#"fetch {"q":"x"}"#], "tool_call_tags"),
    ("tool_call tags several calls", "<tool_call>{\"name\": \"read\", \"arguments\": {\"file_path\": \"a\"}}</tool_call>\n<tool_call>{\"name\": \"read\", \"arguments\": {\"file_path\": \"b\"}}</tool_call>", &[r#"read {"file_path":"a"}"#, r#"read {"file_path":"b"}"#], "tool_call_tags"),
    ("tool_call tags with prose", "I'll look it up.\n<tool_call>\n{\"name\": \"fetch\", \"arguments\": {}}\n</tool_call>", &["fetch {}"], "tool_call_tags"),
    ("tool_call tags missing end tag", "<tool_call>\n{\"name\": \"fetch\", \"arguments\": {}}", &["fetch {}"], "tool_call_tags"),
    ("tool_call tags truncated json", "<tool_call>\n{\"name\": \"fetch\", \"arguments\": {\"q\":", &[], ""),
    ("tool_call tags empty", "<tool_call></tool_call>", &[], ""),
    ("tool_call tags unknown tool", "<tool_call>{\"name\": \"nope\", \"arguments\": {}}</tool_call>", &[], ""),
];

const QWEN_XML: &[Case] = &[
    ("qwen one call typed", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>", &[r#"get_weather {"city":"Paris","days":3}"#], "qwen_xml"),
    ("qwen boolean and bad integer", "<function=get_weather><parameter=city>Oslo</parameter><parameter=days>three</parameter><parameter=metric>True</parameter></function>", &[r#"get_weather {"city":"Oslo","days":"three","metric":true}"#], "qwen_xml"),
    ("qwen two calls", "<function=fetch><parameter=q>a</parameter></function><function=read><parameter=file_path>b</parameter></function>", &[r#"fetch {"q":"a"}"#, r#"read {"file_path":"b"}"#], "qwen_xml"),
    ("qwen braces and quotes in a value", "<function=edit><parameter=new>if x { print(\"}\") }</parameter></function>", &[r#"edit {"new":"if x { print(\"}\") }"}"#], "qwen_xml"),
    ("qwen unicode", "<function=météo><parameter=ville>Zürich</parameter></function>", &[r#"météo {"ville":"Zürich"}"#], "qwen_xml"),
    ("qwen entities are kept raw", "<function=fetch><parameter=q>a &lt; b</parameter></function>", &[r#"fetch {"q":"a &lt; b"}"#], "qwen_xml"),
    ("qwen no parameters", "<function=fetch></function>", &["fetch {}"], "qwen_xml"),
    ("qwen truncated", "<function=fetch><parameter=q>abc", &[], ""),
    ("qwen unknown tool", "<function=nope><parameter=q>a</parameter></function>", &[], ""),
    ("qwen text around", "Sure.\n<function=fetch>\n<parameter=q>x</parameter>\n</function>\nThat should do it.", &[r#"fetch {"q":"x"}"#], "qwen_xml"),
    ("html that is not a call", "<div class=\"x\"><p>function=fetch</p></div>", &[], ""),
];

const REHEARSAL: &[Case] = &[
    (
        "rehearsal one call",
        r#"fetch[ARGS]{"q": "x"}"#,
        &[r#"fetch {"q":"x"}"#],
        "args_rehearsal",
    ),
    (
        "rehearsal two calls",
        "read[ARGS]{\"file_path\": \"a\"}\nread[ARGS]{\"file_path\": \"b\"}",
        &[r#"read {"file_path":"a"}"#, r#"read {"file_path":"b"}"#],
        "args_rehearsal",
    ),
    (
        "rehearsal nested braces in strings",
        r#"edit[ARGS]{"old": "}", "new": "{"}"#,
        &[r#"edit {"old":"}","new":"{"}"#],
        "args_rehearsal",
    ),
    (
        "rehearsal escaped quotes",
        r#"edit[ARGS]{"new": "a \"quoted\" word"}"#,
        &[r#"edit {"new":"a \"quoted\" word"}"#],
        "args_rehearsal",
    ),
    (
        "rehearsal unicode",
        r#"météo[ARGS]{"ville": "東京"}"#,
        &[r#"météo {"ville":"東京"}"#],
        "args_rehearsal",
    ),
    (
        "rehearsal with text around",
        r#"I'll run fetch[ARGS]{"q": 1} now. {not json}"#,
        &[r#"fetch {"q":1}"#],
        "args_rehearsal",
    ),
    ("rehearsal truncated", r#"fetch[ARGS]{"q": "#, &[], ""),
    (
        "rehearsal unknown tool",
        r#"wipe[ARGS]{"all": true}"#,
        &[],
        "",
    ),
    (
        "rehearsal quoted inside another rehearsal",
        r#"read[ARGS]{"note": "fetch[ARGS]{}"}"#,
        &[r#"read {"note":"fetch[ARGS]{}"}"#],
        "args_rehearsal",
    ),
    (
        "rehearsal prose mention",
        "the syntax is name[ARGS] followed by JSON",
        &[],
        "",
    ),
];

const THINK: &[Case] = &[
    (
        "json call inside closed think",
        r#"<think>{"tool": "fetch", "args": {}}</think>Nothing to do."#,
        &[],
        "",
    ),
    (
        "json call after think",
        "<think>plan: call fetch</think>\n{\"tool\": \"fetch\", \"args\": {}}",
        &["fetch {}"],
        "bare_json",
    ),
    (
        "json call inside unclosed think",
        r#"<think>maybe {"tool": "fetch", "args": {}}"#,
        &["fetch {}"],
        "bare_json",
    ),
    (
        "mistral call inside closed THINK",
        r#"[THINK][TOOL_CALLS]read{"file_path": "a"}[/THINK]"#,
        &[],
        "",
    ),
    (
        "mistral call after THINK",
        r#"[THINK]hmm[/THINK][TOOL_CALLS]read{"file_path": "a"}"#,
        &[r#"read {"file_path":"a"}"#],
        "mistral_tool_calls",
    ),
    (
        "qwen call inside closed think",
        "<think><function=fetch><parameter=q>x</parameter></function></think>",
        &[],
        "",
    ),
    (
        "rehearsal inside think, real call after",
        "<think>fetch[ARGS]{\"q\": 1}</think>\nfetch[ARGS]{\"q\": 2}",
        &[r#"fetch {"q":2}"#],
        "args_rehearsal",
    ),
    (
        "lone closing think tag",
        "reasoning without opener</think>\n{\"tool\": \"fetch\", \"args\": {}}",
        &["fetch {}"],
        "bare_json",
    ),
];

#[test]
fn every_format_against_every_failure_mode() {
    let tools = tools();
    let tables = [
        FENCED,
        BARE_JSON,
        OPENAI_JSON,
        MISTRAL,
        TOOL_CALL_TAGS,
        QWEN_XML,
        REHEARSAL,
        THINK,
    ];
    for (case, input, expected, format) in tables.into_iter().flatten() {
        let format = (!format.is_empty()).then_some(*format);
        eprintln!("case: {case}");
        check_rescue(input, &tools, expected, format);
    }
}
