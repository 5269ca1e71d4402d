//! The incremental NDJSON decoder (Ollama's streaming format).

use forge_types::BackendError;
use serde_json::Value;

use crate::lines::LineSplitter;

/// Decodes newline-delimited JSON chunk by chunk: one JSON value per line.
///
/// Lines end at LF, CRLF or CR; blank lines are skipped; a last line without terminator is
/// decoded at [`NdjsonDecoder::finish`]. A line that is not JSON is a
/// [`BackendError::InvalidResponse`] carrying the line. The output is the same for every way the
/// bytes are split into chunks.
///
/// ```
/// use forge_sse::NdjsonDecoder;
///
/// let mut decoder = NdjsonDecoder::default();
/// let mut values = decoder.push(b"{\"done\":false}\n\n{\"do");
/// values.extend(decoder.push(b"ne\":true}"));
/// values.extend(decoder.finish());
/// let values: Vec<_> = values.into_iter().map(|v| v.expect("valid JSON")).collect();
/// assert_eq!(values, vec![serde_json::json!({"done": false}), serde_json::json!({"done": true})]);
/// ```
#[derive(Debug, Default)]
pub struct NdjsonDecoder {
    lines: LineSplitter,
}

impl NdjsonDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of the body; returns the values of the lines it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Result<Value, BackendError>> {
        let mut values = Vec::new();
        self.lines
            .push(chunk, |line| decode_line(line, &mut values));
        values
    }

    /// Ends the body, decoding a last line that had no terminator. If that line is not valid
    /// JSON the body was cut inside it: [`BackendError::Truncated`].
    pub fn finish(self) -> Vec<Result<Value, BackendError>> {
        let mut values = Vec::new();
        self.lines.finish(|line| {
            decode_line(line, &mut values);
            if let Some(Err(BackendError::InvalidResponse { body_excerpt, .. })) = values.last() {
                let detail = format!("the NDJSON body ended inside a line: {body_excerpt}");
                values.pop();
                values.push(Err(BackendError::Truncated { detail }));
            }
        });
        values
    }
}

fn decode_line(line: &[u8], values: &mut Vec<Result<Value, BackendError>>) {
    if line.trim_ascii().is_empty() {
        return;
    }
    values.push(
        serde_json::from_slice(line).map_err(|err| BackendError::InvalidResponse {
            problem: format!("NDJSON line is not valid JSON ({err})"),
            body_excerpt: BackendError::excerpt(&String::from_utf8_lossy(line)),
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_line_is_an_invalid_response_carrying_the_line() {
        let mut decoder = NdjsonDecoder::new();
        let values = decoder.push(b"{\"a\":1}\r\nnot json\n");
        assert_eq!(values[0], Ok(json!({"a": 1})));
        match &values[1] {
            Err(BackendError::InvalidResponse { body_excerpt, .. }) => {
                assert_eq!(body_excerpt, "not json")
            }
            other => panic!("{other:?}"),
        }
    }
}
