//! Properties over arbitrary text: nothing panics, and rescued arguments survive the
//! history's serialization.

use forge_toolparse::{
    decode_arguments_str, extract_thinking, extract_tool_calls, rescue_tool_calls,
};
use forge_types::py_json::py_json_dumps;
use forge_types::ToolSpec;
use proptest::prelude::*;
use serde_json::{json, Value};

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new("fetch", "", json!({"type": "object"})),
        ToolSpec::new(
            "get_weather",
            "",
            json!({"type": "object", "properties": {
                "city": {"type": "string"}, "days": {"type": "integer"},
                "opts": {"type": "object"}, "ids": {"type": ["array", "null"]}}}),
        ),
    ]
}

/// Text built from the pieces the parsers react to, so random inputs reach deep paths.
fn parser_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\n".to_owned()),
        Just(" ".to_owned()),
        Just(":".to_owned()),
        Just(",".to_owned()),
        Just("```json".to_owned()),
        Just("\"tool\": \"fetch\"".to_owned()),
        Just("\"name\": \"get_weather\"".to_owned()),
        Just("\"args\": ".to_owned()),
        Just("\"arguments\": ".to_owned()),
        Just("\"function\": ".to_owned()),
        Just("[TOOL_CALLS]".to_owned()),
        Just("fetch".to_owned()),
        Just("[ARGS]".to_owned()),
        Just("<function=get_weather>".to_owned()),
        Just("<function=fetch>".to_owned()),
        Just("</function>".to_owned()),
        Just("<parameter=days>".to_owned()),
        Just("<parameter=opts>".to_owned()),
        Just("</parameter>".to_owned()),
        Just("<think>".to_owned()),
        Just("</think>".to_owned()),
        Just("[THINK]".to_owned()),
        Just("[/THINK]".to_owned()),
        Just("<tool_call>".to_owned()),
        Just("12".to_owned()),
        Just("ü😀".to_owned()),
        "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), parser_soup()]
}

fn assert_round_trips(args: &forge_types::JsonObject) {
    let written = py_json_dumps(&Value::Object(args.clone()));
    let read: Value = serde_json::from_str(&written).expect("py-json is JSON");
    assert_eq!(
        read,
        Value::Object(args.clone()),
        "args written as {written}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsers_never_panic_on_arbitrary_text(text in any_text()) {
        let tools = tools();
        let _ = rescue_tool_calls(&text, &tools);
        let _ = extract_tool_calls(&text, &tools);
        let split = extract_thinking(&text);
        prop_assert!(split.remaining.len() <= text.len());
    }

    #[test]
    fn argument_decoding_never_panics(text in any_text()) {
        let _ = decode_arguments_str(&text);
    }

    #[test]
    fn rescued_calls_name_known_tools_and_round_trip(text in parser_soup()) {
        let tools = tools();
        if let Some(rescued) = rescue_tool_calls(&text, &tools) {
            prop_assert!(!rescued.calls.is_empty());
            for call in &rescued.calls {
                prop_assert!(tools.iter().any(|tool| tool.name == call.tool));
                assert_round_trips(&call.args);
            }
        }
        for call in extract_tool_calls(&text, &tools) {
            assert_round_trips(&call.args);
        }
    }

    #[test]
    fn a_well_formed_call_in_any_surroundings_is_rescued(
        before in "[a-zA-Z .,\n]{0,60}",
        after in "[a-zA-Z .,\n]{0,60}",
        value in any::<String>(),
        number in any::<i64>(),
    ) {
        let args = json!({"q": value, "n": number});
        let text = format!("{before}{}{after}", py_json_dumps(&json!({"tool": "fetch", "args": args})));
        let rescued = rescue_tool_calls(&text, &tools()).expect("a call");
        prop_assert_eq!(rescued.calls.len(), 1);
        prop_assert_eq!(Value::Object(rescued.calls[0].args.clone()), args);
    }
}
