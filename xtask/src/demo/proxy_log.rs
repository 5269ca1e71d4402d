//! Reading forge's log lines (the proxy's, and the runner's in the weather example) for what the
//! guardrails did: the lines are `tracing`'s plain format,
//! `2026-11-24T02:20:30.645385Z  INFO forge_guardrails::engine: message key=value …`.

/// One log line, split into its level, target, message and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine<'a> {
    pub level: &'a str,
    pub target: &'a str,
    /// The message followed by its `key=value` fields.
    pub rest: &'a str,
}

/// Splits a plain `tracing` line; `None` for anything else (a field's continuation line, the
/// proxy's banner).
pub fn parse_line(line: &str) -> Option<LogLine<'_>> {
    let mut words = line.trim_start().splitn(2, char::is_whitespace);
    let timestamp = words.next()?;
    if !(timestamp.ends_with('Z') && timestamp.contains('T')) {
        return None;
    }
    let after_timestamp = words.next()?.trim_start();
    let (level, after_level) = after_timestamp.split_once(char::is_whitespace)?;
    if !matches!(level, "TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR") {
        return None;
    }
    let (target, rest) = after_level.trim_start().split_once(": ")?;
    Some(LogLine {
        level,
        target,
        rest,
    })
}

/// The value of the field `key` in `rest`: a quoted value unquoted, else the text up to the next
/// ` name=` (Display-formatted errors contain spaces).
pub fn field(rest: &str, key: &str) -> Option<String> {
    let needle = format!(" {key}=");
    let start = rest.find(&needle)? + needle.len();
    let value = &rest[start..];
    if let Some(quoted) = value.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => out.push(' '),
                    Some(other) => out.push(other),
                    None => break,
                },
                '"' => break,
                other => out.push(other),
            }
        }
        return Some(out);
    }
    Some(value[..next_field_start(value)].trim_end().to_owned())
}

/// Where the next ` name=` begins in `value`, or its length.
fn next_field_start(value: &str) -> usize {
    let bytes = value.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte != b' ' {
            continue;
        }
        let name_len = bytes[index + 1..]
            .iter()
            .take_while(|b| b.is_ascii_lowercase() || **b == b'_')
            .count();
        if name_len > 0 && bytes.get(index + 1 + name_len) == Some(&b'=') {
            return index;
        }
    }
    value.len()
}

/// The channel a nudge of `kind` is delivered on (a plain retry has no call to answer, so it goes
/// to the user channel; the others answer the offending call on the tool channel).
pub fn nudge_channel(kind: &str) -> &'static str {
    if kind == "retry" {
        "user"
    } else {
        "tool"
    }
}

/// A person-readable sentence for a log line about the guardrails, or `None` for other lines.
/// Warnings and errors from anywhere are always reported.
pub fn guardrail_event(line: &str) -> Option<String> {
    let parsed = parse_line(line)?;
    let rest = parsed.rest;
    let get = |key: &str| field(rest, key).unwrap_or_else(|| "?".to_owned());
    let event = if rest.starts_with("rescued tool calls written as text") {
        format!(
            "rescued {} call(s) the model wrote as text (format: {})",
            get("calls"),
            get("format")
        )
    } else if rest.starts_with("text response is not a tool call") {
        "the answer was text, not a tool call".to_owned()
    } else if rest.starts_with("empty tool-call batch") {
        "the answer was an empty tool-call batch".to_owned()
    } else if rest.starts_with("unknown tool called") {
        format!("the model called an unknown tool `{}`", get("tool"))
    } else if rest.starts_with("arguments break the tool's schema") {
        format!(
            "the arguments of `{}` break its schema: {}",
            get("tool"),
            get("problems")
        )
    } else if rest.starts_with("discarding attempt and retrying") {
        let kind = get("kind");
        format!(
            "attempt {} discarded; retrying with a `{kind}` nudge on the {} channel",
            get("attempt"),
            nudge_channel(&kind)
        )
    } else if rest.starts_with("usable response") {
        format!(
            "usable answer on attempt {} ({} call(s))",
            get("attempts"),
            get("calls")
        )
    } else if rest.starts_with("retry budget spent") {
        format!("retry budget spent: {}", get("error"))
    } else if rest.starts_with("retries exhausted, passing the model's last text through") {
        "the proxy passes the model's last text through (a 200, as the reference does)".to_owned()
    } else if rest.starts_with("stripping respond() call") {
        "the model called the injected `respond` tool; its message goes back as plain text"
            .to_owned()
    } else if rest.starts_with("constraining decoding") {
        format!("constrained decoding: {rest}")
    } else if matches!(parsed.level, "WARN" | "ERROR") {
        format!("{} {}: {rest}", parsed.level, parsed.target)
    } else {
        return None;
    };
    Some(event)
}

/// The process id in the managed backend's "ready" line (`pid=Some(1234)`).
pub fn managed_backend_pid(line: &str) -> Option<u32> {
    let parsed = parse_line(line)?;
    if !parsed.rest.starts_with("managed backend ready") {
        return None;
    }
    let pid = field(parsed.rest, "pid")?;
    pid.strip_prefix("Some(")?.strip_suffix(')')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Option<&str>) {
        assert_eq!(guardrail_event(line).as_deref(), expected, "{line}");
    }

    #[test]
    fn guardrail_lines_become_sentences_and_other_lines_are_skipped() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                r#"2026-11-24T02:20:30.645385Z  INFO forge_guardrails::engine: discarding attempt and retrying attempt=1 kind="retry""#,
                Some("attempt 1 discarded; retrying with a `retry` nudge on the user channel"),
            ),
            (
                r#"2026-11-24T02:20:30.645385Z  INFO forge_guardrails::engine: discarding attempt and retrying attempt=2 kind="unknown_tool""#,
                Some("attempt 2 discarded; retrying with a `unknown_tool` nudge on the tool channel"),
            ),
            (
                r#"2026-11-24T02:20:30.645385Z  INFO forge_guardrails::validator: rescued tool calls written as text format="json_fence" calls=1"#,
                Some("rescued 1 call(s) the model wrote as text (format: json_fence)"),
            ),
            (
                "2026-11-24T02:21:23.593491Z  WARN forge_guardrails::engine: retry budget spent error=no valid tool call after 3 attempts: Retries exhausted (text)",
                Some("retry budget spent: no valid tool call after 3 attempts: Retries exhausted (text)"),
            ),
            (
                "2026-11-24T02:21:23.593491Z  WARN forge_managed::backend: backend exited status=signal: 11",
                Some("WARN forge_managed::backend: backend exited status=signal: 11"),
            ),
            (
                r#"2026-11-24T02:20:14.796043Z  INFO forge_proxy::server: request protocol="openai" stream=false"#,
                None,
            ),
            ("I'm designed to provide weather forecasts", None),
            ("forge proxy running at http://127.0.0.1:1", None),
        ];
        for (line, expected) in cases {
            check(line, *expected);
        }
    }

    #[test]
    fn fields_read_quoted_bare_and_spaced_values() {
        let rest = r#"msg tool="get_weather" problems=["city: missing"] error=a b: c attempts=3"#;
        assert_eq!(field(rest, "tool").as_deref(), Some("get_weather"));
        assert_eq!(
            field(rest, "problems").as_deref(),
            Some(r#"["city: missing"]"#)
        );
        assert_eq!(field(rest, "error").as_deref(), Some("a b: c"));
        assert_eq!(field(rest, "attempts").as_deref(), Some("3"));
        assert_eq!(field(rest, "absent"), None);
    }

    #[test]
    fn the_ready_line_gives_the_managed_server_pid() {
        let ready = "2026-11-24T02:20:02.074058Z  INFO forge_managed::backend: managed backend ready backend=llamaserver pid=Some(24770) url=http://127.0.0.1:18931";
        assert_eq!(managed_backend_pid(ready), Some(24770));
        let other =
            "2026-11-24T02:20:02.074058Z  INFO forge_managed::backend: spawned backend pid=24770";
        assert_eq!(managed_backend_pid(other), None);
    }
}
