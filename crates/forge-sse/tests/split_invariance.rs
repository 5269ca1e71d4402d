//! Property: however a captured body is cut into chunks, the decoded events and the assembled
//! final response are those of the uncut body.

mod common;

use common::{data, ndjson_split, run_anthropic, run_ollama, run_openai, sse_frames_split};
use forge_sse::{AnthropicStreamAssembler, OllamaStreamAssembler, OpenAiStreamAssembler};
use proptest::prelude::*;
use proptest::sample::Index;

const OPENAI_CAPTURES: &[&str] = &[
    "llama-server/plain.sse",
    "llama-server/tools-offered-long-text.sse",
    "llama-server/text-cut-by-max-tokens.sse",
    "llama-server/tools-template-01-paris.sse",
    "llama-server/tools-template-03-tokyo-implicit.sse",
    "llama-server/tools-template-08-non-ascii.sse",
    "llama-server/tools-template-C1-no-tool-needed.sse",
    "llama-server/tools-template-C2-after-tool-result.sse",
    "llama-server/prefill-template-02-berlin-terse.sse",
    "llama-server/prefill-template-05-pick-time-tool.sse",
    "llama-server/error-after-partial-tool-call.sse",
    "llama-server/error-before-any-content.sse",
    "llama-server/tool-call-cut-by-max-tokens.sse",
    "llama-server/named-tool-choice-answered-in-text.sse",
];
const ANTHROPIC_CAPTURES: &[&str] = &[
    "anthropic/text-then-tool-use.sse",
    "anthropic/thinking-then-text.sse",
    "anthropic/overloaded-mid-stream.sse",
];
const OLLAMA_CAPTURES: &[&str] = &[
    "ollama/two-calls-on-separate-lines.ndjson",
    "ollama/text.ndjson",
];

/// Sorted cut offsets into a body of `len` bytes.
fn cuts(len: usize, picks: &[Index]) -> Vec<usize> {
    let mut cuts: Vec<usize> = picks.iter().map(|pick| pick.index(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn openai_captures_are_split_invariant(file in 0..OPENAI_CAPTURES.len(), picks in prop::collection::vec(any::<Index>(), 0..16)) {
        let body = data(OPENAI_CAPTURES[file]);
        let whole = sse_frames_split(&body, &[]);
        let split = sse_frames_split(&body, &cuts(body.len(), &picks));
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(
            run_openai(&split, OpenAiStreamAssembler::new()),
            run_openai(&whole, OpenAiStreamAssembler::new())
        );
    }

    #[test]
    fn anthropic_captures_are_split_invariant(file in 0..ANTHROPIC_CAPTURES.len(), picks in prop::collection::vec(any::<Index>(), 0..16)) {
        let body = data(ANTHROPIC_CAPTURES[file]);
        let whole = sse_frames_split(&body, &[]);
        let split = sse_frames_split(&body, &cuts(body.len(), &picks));
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(
            run_anthropic(&split, AnthropicStreamAssembler::new()),
            run_anthropic(&whole, AnthropicStreamAssembler::new())
        );
    }

    #[test]
    fn ollama_captures_are_split_invariant(file in 0..OLLAMA_CAPTURES.len(), picks in prop::collection::vec(any::<Index>(), 0..16)) {
        let body = data(OLLAMA_CAPTURES[file]);
        let whole = ndjson_split(&body, &[]);
        let split = ndjson_split(&body, &cuts(body.len(), &picks));
        prop_assert_eq!(&split, &whole);
        prop_assert_eq!(
            run_ollama(split, OllamaStreamAssembler::new()),
            run_ollama(whole, OllamaStreamAssembler::new())
        );
    }

    #[test]
    fn arbitrary_bytes_decode_the_same_however_split(body in prop::collection::vec(prop_oneof![
        Just(b'\n'), Just(b'\r'), Just(b':'), Just(b' '), Just(b'd'), Just(b'a'), Just(b't'),
        Just(0xC3), Just(0xBC), Just(0xFF), Just(0xEF), Just(0xBB), Just(0xBF), any::<u8>(),
    ], 0..256), picks in prop::collection::vec(any::<Index>(), 0..8)) {
        prop_assert_eq!(
            sse_frames_split(&body, &cuts(body.len(), &picks)),
            sse_frames_split(&body, &[])
        );
        prop_assert_eq!(
            ndjson_split(&body, &cuts(body.len(), &picks)),
            ndjson_split(&body, &[])
        );
    }
}
