//! The default context-usage warning text.

/// The default escalating warning for a context that is `fraction` full (`tokens` of
/// `budget` tokens). This is wire text shown to the model; it is reproduced verbatim.
///
/// The percentage is `fraction × 100` rounded to a whole number (exact ties to even);
/// counts get comma thousands separators. At 80 % and above the text says the context is
/// nearly full, from 65 % that it is filling up, below that only to be mindful.
///
/// ```
/// use forge_context::default_context_warning;
///
/// assert_eq!(
///     default_context_warning(4000, 8000, 0.5),
///     "[Context usage: 50% (4,000 / 8,000 tokens). Be mindful of context usage.]"
/// );
/// ```
pub fn default_context_warning(tokens: u64, budget: u64, fraction: f64) -> String {
    let head = format!(
        "[Context usage: {:.0}% ({} / {} tokens). ",
        fraction * 100.0,
        group_thousands(tokens),
        group_thousands(budget)
    );
    let tail = if fraction >= 0.80 {
        "Context is nearly full. Older tool results and reasoning will be compacted soon \
         — key information may be lost. Summarize critical findings now and prioritize \
         completing the current task.]"
    } else if fraction >= 0.65 {
        "Context is filling up. When compaction triggers, older tool results and reasoning \
         will be condensed. Be concise in your responses and front-load important \
         information.]"
    } else {
        "Be mindful of context usage.]"
    };
    head + tail
}

/// `1234567` → `"1,234,567"`.
fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::group_thousands;

    #[test]
    fn thousands_are_grouped_with_commas() {
        for (value, expected) in [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (123456, "123,456"),
            (1234567, "1,234,567"),
            (u64::MAX, "18,446,744,073,709,551,615"),
        ] {
            assert_eq!(group_thousands(value), expected, "{value}");
        }
    }
}
