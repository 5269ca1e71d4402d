//! A chat-completions body read straight into [`ResponseParts`], without building a JSON tree
//! first: the common case, taken only when the body has the usual shape.
//!
//! Anything this reader does not accept (a field of an unexpected type, an object written as
//! an array, a duplicated field, an empty `choices`, a usage the checks reject) returns `None`,
//! and the caller decodes the tree instead, which gives the same parts or names the problem. So
//! for every body this reader accepts, the parts are exactly those of
//! [`crate::openai_shape::decode_chat_completion`].

use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::openai_shape::{usage, RawCall, ResponseParts};

/// `T`, read only from a JSON object. (serde's derived struct readers also take an array of
/// the fields in order, which the tree decoder rejects.)
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Object<T>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Object)
    }
}

/// A present field as its value, `null` included (absent stays `None` through `default`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

#[derive(serde::Deserialize)]
struct Body {
    choices: Vec<Object<Choice>>,
    #[serde(default, deserialize_with = "present")]
    usage: Option<Value>,
}

#[derive(serde::Deserialize)]
struct Choice {
    message: Object<Message>,
}

/// `null` and absent are the same for every field here, as in the tree decoder.
#[derive(serde::Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    reasoning_text: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<Object<Call>>>,
}

#[derive(serde::Deserialize)]
struct Call {
    function: Object<Function>,
}

#[derive(serde::Deserialize)]
struct Function {
    name: String,
    #[serde(default, deserialize_with = "present")]
    arguments: Option<Value>,
}

/// The parts of `body`, or `None` when the tree decoder must decide.
pub(crate) fn decode(body: &str) -> Option<ResponseParts> {
    let Object(body) = serde_json::from_str::<Object<Body>>(body).ok()?;
    let Object(choice) = body.choices.into_iter().next()?;
    let Object(message) = choice.message;
    // The first non-empty reasoning field, in `REASONING_FIELDS` order.
    let reasoning = [
        message.reasoning_content,
        message.reasoning,
        message.reasoning_text,
    ]
    .into_iter()
    .flatten()
    .find(|text| !text.is_empty())
    .unwrap_or_default();
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|Object(call)| {
            let Object(function) = call.function;
            RawCall {
                name: function.name,
                arguments: function.arguments,
            }
        })
        .collect();
    Some(ResponseParts {
        content: message.content.unwrap_or_default(),
        reasoning,
        tool_calls,
        usage: usage(body.usage.as_ref()).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai_shape::{decode_chat_completion, REASONING_FIELDS};

    /// Every body either reads to the tree decoder's parts or is left to it.
    #[test]
    fn accepted_bodies_give_the_tree_decoders_parts_and_the_rest_are_left_to_it() {
        let cases: &[(&str, bool)] = &[
            (
                r#"{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}}"#,
                true,
            ),
            (r#"{"choices":[{"message":{"content":"hi"}}]}"#, true),
            (r#"{"choices":[{"message":{}}],"usage":null}"#, true),
            (r#"{"choices":[{"message":{}}],"usage":{}}"#, true),
            (
                r#"{"choices":[{"message":{"content":"a","reasoning":"","reasoning_text":"why"}}]}"#,
                true,
            ),
            (
                r#"{"choices":[{"message":{"reasoning_content":"r1","reasoning":"r2"}}]}"#,
                true,
            ),
            (
                r#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"f","arguments":null}},{"function":{"name":"g"}},{"function":{"name":"h","arguments":{"x":1}}}]}}]}"#,
                true,
            ),
            (r#"{"choices":[{"message":{"tool_calls":null}}]}"#, true),
            (
                r#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":3}}"#,
                true,
            ),
            (r#"{"choices":[]}"#, false),
            (r#"{"nothing":1}"#, false),
            (r#"[[{"message":{"content":"x"}}]]"#, false),
            (r#"{"choices":[[{"content":"x"}]]}"#, false),
            (
                r#"{"choices":[{"message":["x",null,null,null,null]}]}"#,
                false,
            ),
            (r#"{"choices":[{"message":{"content":5}}]}"#, false),
            (r#"{"choices":[{"message":{"reasoning":7}}]}"#, false),
            (r#"{"choices":[{"message":{"tool_calls":{}}}]}"#, false),
            (
                r#"{"choices":[{"message":{"tool_calls":[{"function":{}}]}}]}"#,
                false,
            ),
            (
                r#"{"choices":[{"message":{"tool_calls":[{"function":[["f",null]]}]}}]}"#,
                false,
            ),
            (
                r#"{"choices":[{"message":{"content":"a","content":"b"}}]}"#,
                false,
            ),
            (
                r#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":-1}}"#,
                false,
            ),
            (
                r#"{"choices":[{"message":{"content":"x"}}],"usage":[]}"#,
                false,
            ),
            (
                r#"{"choices":[{"message":{"content":"ok"}},{"message":"bad"}]}"#,
                false,
            ),
            ("not json", false),
        ];
        for (body, accepted) in cases {
            let fast = decode(body);
            assert_eq!(fast.is_some(), *accepted, "{body}");
            if let Some(parts) = fast {
                let tree: Value = serde_json::from_str(body).unwrap();
                assert_eq!(Ok(parts), decode_chat_completion(&tree), "{body}");
            }
        }
        assert_eq!(
            REASONING_FIELDS,
            ["reasoning_content", "reasoning", "reasoning_text"],
            "the reader's reasoning fields follow this order"
        );
    }
}
