//! The chat-completion body as a view over the request: serialized straight from what the
//! request already holds, so the caller's verbatim tools, the pass-through fields and the
//! messages that need no merging are written without being copied first.
//!
//! The key order is exactly that of a JSON object built by copying the pass-through fields and
//! then inserting forge's fields one by one: a forge field whose key the pass-through already
//! has takes that key's place, every other forge field follows in insertion order.

use std::borrow::Cow;

use forge_types::JsonObject;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// One value forge writes into the body.
#[derive(Debug)]
pub(crate) enum FieldValue<'a> {
    /// Built for this body.
    Owned(Value),
    /// An array held by the request (the caller's verbatim tools).
    Array(&'a [Value]),
    /// Messages, borrowed unless merging changed them.
    Messages(Vec<Cow<'a, Value>>),
}

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Owned(value) => value.serialize(serializer),
            Self::Array(values) => values.serialize(serializer),
            Self::Messages(messages) => messages.serialize(serializer),
        }
    }
}

/// The pass-through fields with forge's fields set over them.
#[derive(Debug)]
pub(crate) struct RequestBody<'a> {
    passthrough: &'a JsonObject,
    fields: Vec<(&'static str, FieldValue<'a>)>,
}

impl<'a> RequestBody<'a> {
    /// A body holding just the pass-through fields.
    pub(crate) fn over(passthrough: &'a JsonObject) -> Self {
        Self {
            passthrough,
            fields: Vec::new(),
        }
    }

    /// Sets `key`, replacing an earlier value of forge's or the pass-through's in its place.
    pub(crate) fn set(&mut self, key: &'static str, value: FieldValue<'a>) {
        match self
            .fields
            .iter_mut()
            .find(|(existing, _)| *existing == key)
        {
            Some((_, slot)) => *slot = value,
            None => self.fields.push((key, value)),
        }
    }

    /// Sets `key` only when the body has no value for it yet.
    pub(crate) fn set_if_absent(
        &mut self,
        key: &'static str,
        value: impl FnOnce() -> FieldValue<'a>,
    ) {
        if !self.passthrough.contains_key(key) && !self.fields.iter().any(|(k, _)| *k == key) {
            self.fields.push((key, value()));
        }
    }

    fn field(&self, key: &str) -> Option<&FieldValue<'a>> {
        self.fields
            .iter()
            .find(|(existing, _)| *existing == key)
            .map(|(_, value)| value)
    }
}

impl Serialize for RequestBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, value) in self.passthrough {
            match self.field(key) {
                Some(forge_value) => map.serialize_entry(key, forge_value)?,
                None => map.serialize_entry(key, value)?,
            }
        }
        for (key, value) in &self.fields {
            if !self.passthrough.contains_key(*key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The reference: copy the pass-through, then insert each field into the JSON object.
    fn built_by_insertion(
        passthrough: &JsonObject,
        fields: &[(&'static str, Value)],
        model: Option<Value>,
    ) -> Value {
        let mut body = passthrough.clone();
        for (key, value) in fields {
            body.insert((*key).to_owned(), value.clone());
        }
        if let Some(model) = model {
            body.entry("model").or_insert(model);
        }
        Value::Object(body)
    }

    #[test]
    fn the_view_serializes_like_an_object_built_by_insertion() {
        let cases: Vec<(Value, Vec<(&'static str, Value)>)> = vec![
            (
                json!({}),
                vec![("messages", json!([])), ("stream", json!(false))],
            ),
            (
                json!({"model": "m", "max_tokens": 5, "temperature": 0.1}),
                vec![
                    ("messages", json!([{"role": "user", "content": "hi"}])),
                    ("stream", json!(false)),
                    ("temperature", json!(0.7)),
                    ("tools", json!([{"type": "function"}])),
                ],
            ),
            (
                json!({"stream": true, "zeta": 1, "alpha": 2}),
                vec![
                    ("cache_prompt", json!(true)),
                    ("stream", json!(false)),
                    ("cache_prompt", json!(false)),
                ],
            ),
        ];
        for (passthrough, fields) in cases {
            let passthrough = passthrough.as_object().unwrap().clone();
            for model in [None, Some(json!("derived"))] {
                let mut view = RequestBody::over(&passthrough);
                for (key, value) in &fields {
                    view.set(key, FieldValue::Owned(value.clone()));
                }
                if let Some(model) = &model {
                    view.set_if_absent("model", || FieldValue::Owned(model.clone()));
                }
                let expected = built_by_insertion(&passthrough, &fields, model.clone());
                assert_eq!(
                    serde_json::to_string(&view).unwrap(),
                    expected.to_string(),
                    "pass-through {passthrough:?}, fields {fields:?}, model {model:?}"
                );
            }
        }
    }

    #[test]
    fn every_kind_of_value_serializes_as_its_json() {
        let array = [json!(1), json!("two")];
        let message = json!({"role": "user"});
        let cases = [
            (FieldValue::Owned(json!(null)), "null"),
            (FieldValue::Owned(json!({"a": 1})), r#"{"a":1}"#),
            (FieldValue::Array(&array), r#"[1,"two"]"#),
            (
                FieldValue::Messages(vec![
                    Cow::Borrowed(&message),
                    Cow::Owned(json!({"role": "assistant"})),
                ]),
                r#"[{"role":"user"},{"role":"assistant"}]"#,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), expected);
        }
    }
}
