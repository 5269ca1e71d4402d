use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::JsonObject;

/// Sampling knobs forge owns. `None` means "not set": the field is not written and the
/// backend's (or an instance's) default applies. Zero values are real values and are sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SamplingParams {
    /// `temperature`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// `top_p`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// `top_k`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    /// `min_p`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    /// `repeat_penalty`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    /// `presence_penalty`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// `seed` (per call only)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// `chat_template_kwargs`, replaced as a whole (no deep merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<JsonObject>,
}

/// The wire names of the sampling fields, in the order they are written.
pub const SAMPLING_KEYS: [&str; 8] = [
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repeat_penalty",
    "presence_penalty",
    "seed",
    "chat_template_kwargs",
];

impl SamplingParams {
    /// The wire names of the sampling fields.
    pub const KEYS: [&'static str; 8] = SAMPLING_KEYS;

    /// Field-by-field: `self`'s value where set, else `fallback`'s.
    ///
    /// Used as `per_call.or(&instance)`: a per-call `None` never clears an instance value.
    pub fn or(&self, fallback: &SamplingParams) -> SamplingParams {
        SamplingParams {
            temperature: self.temperature.or(fallback.temperature),
            top_p: self.top_p.or(fallback.top_p),
            top_k: self.top_k.or(fallback.top_k),
            min_p: self.min_p.or(fallback.min_p),
            repeat_penalty: self.repeat_penalty.or(fallback.repeat_penalty),
            presence_penalty: self.presence_penalty.or(fallback.presence_penalty),
            seed: self.seed.or(fallback.seed),
            chat_template_kwargs: self
                .chat_template_kwargs
                .clone()
                .or_else(|| fallback.chat_template_kwargs.clone()),
        }
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == SamplingParams::default()
    }

    /// The set fields as `(wire name, value)` pairs, in [`SamplingParams::KEYS`] order.
    pub fn entries(&self) -> Vec<(&'static str, Value)> {
        let mut out = Vec::new();
        let mut put = |key: &'static str, value: Option<Value>| {
            if let Some(value) = value {
                out.push((key, value));
            }
        };
        put("temperature", self.temperature.map(Value::from));
        put("top_p", self.top_p.map(Value::from));
        put("top_k", self.top_k.map(Value::from));
        put("min_p", self.min_p.map(Value::from));
        put("repeat_penalty", self.repeat_penalty.map(Value::from));
        put("presence_penalty", self.presence_penalty.map(Value::from));
        put("seed", self.seed.map(Value::from));
        put(
            "chat_template_kwargs",
            self.chat_template_kwargs.clone().map(Value::Object),
        );
        out
    }

    /// Writes the set fields into a request body, overwriting same-named keys; unset fields leave
    /// whatever the body already had (e.g. a pass-through value).
    pub fn write_into(&self, body: &mut JsonObject) {
        for (key, value) in self.entries() {
            body.insert(key.to_owned(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn per_call_wins_and_none_does_not_clear() {
        let instance = SamplingParams {
            temperature: Some(0.7),
            top_k: Some(40),
            ..Default::default()
        };
        let per_call = SamplingParams {
            temperature: Some(0.0),
            ..Default::default()
        };
        let merged = per_call.or(&instance);
        assert_eq!(merged.temperature, Some(0.0));
        assert_eq!(merged.top_k, Some(40));
    }

    #[test]
    fn unset_fields_leave_body_untouched() {
        let mut body = serde_json::Map::new();
        body.insert("top_p".into(), json!(0.5));
        SamplingParams {
            temperature: Some(0.0),
            ..Default::default()
        }
        .write_into(&mut body);
        assert_eq!(
            serde_json::Value::Object(body),
            json!({"top_p": 0.5, "temperature": 0.0})
        );
    }
}
