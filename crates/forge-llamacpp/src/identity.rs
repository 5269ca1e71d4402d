//! The model name a llama-server client reports and looks sampling defaults up by.

/// The model name for a `.gguf` / `.llamafile` path (or a bare name).
///
/// The final path component, minus a trailing `.gguf` or `.llamafile`, minus a trailing shard
/// suffix `-NNNNN-of-NNNNN`. Only those two extensions are removed, so dotted names survive
/// (`mimo-v2.5` stays `mimo-v2.5`, `Mistral-Nemo-Instruct-2407.Q4_K_M.llamafile` gives
/// `Mistral-Nemo-Instruct-2407.Q4_K_M`); the reference dropped any last dot-suffix.
pub fn model_name_from_path(path: &str) -> String {
    let trimmed = path.trim_end_matches(['/', '\\']);
    let file = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
    let stem = file
        .strip_suffix(".gguf")
        .or_else(|| file.strip_suffix(".llamafile"))
        .unwrap_or(file);
    strip_shard_suffix(stem).to_owned()
}

/// Removes `-NNNNN-of-NNNNN` (five digits each) from the end of `stem`.
fn strip_shard_suffix(stem: &str) -> &str {
    const SHARD_LEN: usize = "-00001-of-00002".len();
    let Some(split) = stem.len().checked_sub(SHARD_LEN) else {
        return stem;
    };
    let Some(suffix) = stem.get(split..) else {
        return stem;
    };
    let bytes = suffix.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    if bytes[0] == b'-' && digits(1..6) && &bytes[6..10] == b"-of-" && digits(10..15) {
        &stem[..split]
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        let cases = [
            ("/m/Qwen3-8B-Q4_K_M.gguf", "Qwen3-8B-Q4_K_M"),
            ("/m/Qwen3-8B-Q4_K_M-00001-of-00002.gguf", "Qwen3-8B-Q4_K_M"),
            (
                "a/b/Mistral-Nemo-Instruct-2407.Q4_K_M.llamafile",
                "Mistral-Nemo-Instruct-2407.Q4_K_M",
            ),
            ("qwen3:8b-q4_K_M", "qwen3:8b-q4_K_M"),
            ("test-model", "test-model"),
            ("mimo-v2.5", "mimo-v2.5"),
            (
                "/models/granite-4.0-h-micro-Q4_K_M.gguf",
                "granite-4.0-h-micro-Q4_K_M",
            ),
            ("C:\\models\\Qwen3-8B-Q8_0.gguf", "Qwen3-8B-Q8_0"),
            ("/m/x-0001-of-00002.gguf", "x-0001-of-00002"),
            ("/m/dir/", "dir"),
            ("é-00001-of-00002", "é"),
            ("ééééééééé", "ééééééééé"),
        ];
        for (path, expected) in cases {
            assert_eq!(model_name_from_path(path), expected, "{path}");
        }
    }
}
