//! llama.cpp's "Failed to parse input" HTTP 500: the server's tool-call parser rejected what the
//! model generated. Older builds echo the generation in the error message; that text is model
//! output and belongs on the retry path, not in an error.

use serde_json::Value;

const PARSE_FAILURE: &str = "Failed to parse input at pos ";

/// The model's raw generation carried by a 500 body, if the body is a tool-call parse rejection
/// that still holds it.
///
/// Recognised: a message `Failed to parse input at pos N: <generation>`, or (builds that word it
/// differently) a message containing generated tool-call markup (`<tool_call`, `<function=`).
/// The message is `error.message` of a JSON body, else the body itself.
pub fn rejected_generation(body: &str) -> Option<String> {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|json| json.get("error"))
        .and_then(|error| error.get("message").or(Some(error)))
        .and_then(Value::as_str)
        .unwrap_or(body);
    if let Some(start) = message.find(PARSE_FAILURE) {
        let after = &message[start + PARSE_FAILURE.len()..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let generation = after[digits..]
            .strip_prefix(':')
            .unwrap_or(&after[digits..]);
        let generation = generation.strip_prefix(' ').unwrap_or(generation);
        return (!generation.trim().is_empty()).then(|| generation.to_owned());
    }
    (message.contains("<tool_call") || message.contains("<function=")).then(|| message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognised_bodies() {
        let cases = [
            (r#"{"error":{"code":500,"message":"Failed to parse input at pos 12: <tool_call>\n<function=get_pricing>\n<parameter=part>\nX\n</parameter>\n</function>","type":"server_error"}}"#,
             Some("<tool_call>\n<function=get_pricing>\n<parameter=part>\nX\n</parameter>\n</function>")),
            ("Failed to parse input at pos 0: {\"tool\": \"get_pricing\"", Some("{\"tool\": \"get_pricing\"")),
            (r#"{"error":{"message":"parse error near <tool_call>{\"name\": \"f\""}}"#, Some("parse error near <tool_call>{\"name\": \"f\"")),
            (r#"{"error":{"code":500,"message":"The model produced output that does not match the expected peg-native format","type":"server_error"}}"#, None),
            (r#"{"error":{"code":500,"message":"Failed to parse input at pos 3: ","type":"server_error"}}"#, None),
            ("upstream crashed", None),
            ("", None),
        ];
        for (body, expected) in cases {
            assert_eq!(rejected_generation(body).as_deref(), expected, "{body}");
        }
    }
}
