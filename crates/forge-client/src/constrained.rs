//! What a client does with a constrained answer: decode the JSON the model wrote back into a
//! call, and keep that JSON out of a stream's text deltas.

use forge_toolparse::{ConstrainedOutput, ToolConstraint};
use forge_types::{Completion, LlmResponse, StreamChunk, TextResponse};
use futures_util::StreamExt;

use crate::ChunkStream;

/// The response for visible `text` written under `constraint`: one call, the synthetic text
/// tool's answer as text, or — when the text is not the constrained shape — the text itself, so
/// the engine's rescue and retry path sees what the model wrote.
pub fn resolve_constrained_text(
    constraint: &ToolConstraint,
    text: String,
    reasoning: Option<String>,
) -> LlmResponse {
    match constraint.decode_output(&text) {
        ConstrainedOutput::Call(mut call) => {
            tracing::debug!(tool = %call.tool, "decoded the constrained call");
            call.reasoning = reasoning;
            LlmResponse::ToolCalls(vec![call])
        }
        ConstrainedOutput::Text(content) => {
            tracing::debug!("the constrained answer chose the text tool");
            LlmResponse::Text(TextResponse { content, reasoning })
        }
        ConstrainedOutput::Malformed { problem } => {
            tracing::warn!(
                %problem,
                dialect = constraint.dialect().as_str(),
                "the answer to a constrained request is not the constrained shape; treating it as text"
            );
            LlmResponse::Text(TextResponse {
                content: text,
                reasoning,
            })
        }
    }
}

/// `stream` without its text deltas: under a JSON-schema constraint the text is the call's JSON
/// envelope, delivered decoded in the final chunk.
pub fn hide_constrained_text(stream: ChunkStream) -> ChunkStream {
    stream
        .filter(|item| {
            let keep = !matches!(item, Ok(StreamChunk::TextDelta { .. }));
            std::future::ready(keep)
        })
        .boxed()
}

/// The request's constraint when it was built for `dialect`; a constraint for another dialect
/// is ignored with a warning (the engine builds it from this client's own
/// [`LlmClient::constraint_dialect`](crate::LlmClient::constraint_dialect), so this means a
/// caller mixed clients up).
pub fn constraint_in(
    request: &crate::InferenceRequest,
    dialect: forge_toolparse::ConstraintDialect,
) -> Option<&ToolConstraint> {
    let constraint = request.constraint.as_ref()?;
    if constraint.dialect() == dialect {
        return Some(constraint);
    }
    tracing::warn!(
        wanted = dialect.as_str(),
        got = constraint.dialect().as_str(),
        "ignoring a constraint built for another backend; sending unconstrained"
    );
    None
}

/// `completion` as answered under `constraint`: a text answer is the constrained JSON and
/// decodes into one call (see [`resolve_constrained_text`]); a native call of the synthetic text
/// tool (a backend that constrains through its tool list) becomes its answer text.
pub fn decode_constrained_completion(
    constraint: &ToolConstraint,
    completion: Completion,
) -> Completion {
    let response = match completion.response {
        LlmResponse::Text(text) => {
            resolve_constrained_text(constraint, text.content, text.reasoning)
        }
        LlmResponse::ToolCalls(calls) => match calls.as_slice() {
            [only] => match constraint.text_answer(only) {
                Some(content) => LlmResponse::Text(TextResponse {
                    content,
                    reasoning: only.reasoning.clone(),
                }),
                None => LlmResponse::ToolCalls(calls),
            },
            _ => LlmResponse::ToolCalls(calls),
        },
    };
    Completion {
        response,
        usage: completion.usage,
    }
}

/// `stream` as answered under a JSON-schema `constraint`: no text deltas (the text is the
/// call's JSON envelope), and the final chunk decoded with [`decode_constrained_completion`].
pub fn constrained_stream(constraint: ToolConstraint, stream: ChunkStream) -> ChunkStream {
    hide_constrained_text(stream)
        .map(move |item| match item {
            Ok(StreamChunk::Final(completion)) => Ok(StreamChunk::Final(
                decode_constrained_completion(&constraint, completion),
            )),
            other => other,
        })
        .boxed()
}
