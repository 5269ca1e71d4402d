//! Telling how a rescued JSON call was wrapped, from the text before it.

use memchr::memmem;

use super::RescueFormat;

/// The wrapper of the JSON object starting at byte `object_at`: `<tool_call>` or
/// `[TOOL_CALLS]` right before it (array brackets and whitespace between are allowed), else a
/// code fence when an odd number of fence markers precede it, else bare.
pub(super) fn classify(text: &str, object_at: usize) -> RescueFormat {
    let before = &text[..object_at];
    let lead_in = before.trim_end_matches(|c: char| c.is_whitespace() || c == '[');
    if lead_in.ends_with("<tool_call>") {
        RescueFormat::ToolCallTags
    } else if lead_in.ends_with("[TOOL_CALLS]") {
        RescueFormat::MistralToolCalls
    } else if memmem::find_iter(before.as_bytes(), b"```").count() % 2 == 1 {
        RescueFormat::FencedJson
    } else {
        RescueFormat::BareJson
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrappers_are_recognised_from_the_lead_in() {
        let cases = [
            ("{", RescueFormat::BareJson),
            ("Sure: {", RescueFormat::BareJson),
            ("```json\n{", RescueFormat::FencedJson),
            ("```\n{", RescueFormat::FencedJson),
            ("```py\nx\n```\n{", RescueFormat::BareJson),
            ("<tool_call>\n{", RescueFormat::ToolCallTags),
            ("[TOOL_CALLS][{", RescueFormat::MistralToolCalls),
            ("[TOOL_CALLS] {", RescueFormat::MistralToolCalls),
        ];
        for (text, expected) in cases {
            assert_eq!(classify(text, text.len() - 1), expected, "{text:?}");
        }
    }
}
