//! A vLLM model's two names: the wire id sent as `model`, and the key used to look up
//! recommended sampling.

/// The model a [`VllmClient`](crate::VllmClient) talks to.
///
/// vLLM validates the request's `model` against its served names (an unknown name is a 404), so
/// the wire id is sent exactly as given or discovered. The sampling key is derived from it: a
/// path or a Hugging Face repo id contributes its last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    wire: String,
    sampling_key: String,
}

impl ModelIdentity {
    /// The identity of `model` (a served name, a model directory, or a repo id).
    pub fn new(model: impl Into<String>) -> Self {
        let wire = model.into();
        let sampling_key = derive_sampling_key(&wire);
        Self { wire, sampling_key }
    }

    /// The value sent as the request's `model`, verbatim.
    pub fn wire(&self) -> &str {
        &self.wire
    }

    /// The key for the recommended-sampling map.
    pub fn sampling_key(&self) -> &str {
        &self.sampling_key
    }
}

/// The last non-empty `/`-separated segment of `model`, or `model` itself when it has none.
///
/// Only path separators are considered: a dot is part of a name (`mimo-v2.5`, `Qwen3-8B.Q4_K_M`
/// keep their suffixes), unlike a filesystem "stem". The reference also consulted the local
/// filesystem; the result for every name vLLM accepts is the same without that I/O.
fn derive_sampling_key(model: &str) -> String {
    model
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|segment| !segment.is_empty())
        .unwrap_or(model)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_key_is_the_last_path_segment_and_wire_is_verbatim() {
        let cases = [
            (
                "/models/gemma-4-26B-A4B-it-AWQ-4bit",
                "gemma-4-26B-A4B-it-AWQ-4bit",
            ),
            ("google/gemma-4-26B-A4B-it", "gemma-4-26B-A4B-it"),
            ("some-local-name", "some-local-name"),
            ("/models/Qwen3-8B/", "Qwen3-8B"),
            ("XiaomiMiMo/mimo-v2.5", "mimo-v2.5"),
            ("/", "/"),
        ];
        for (model, key) in cases {
            let identity = ModelIdentity::new(model);
            assert_eq!(identity.wire(), model);
            assert_eq!(identity.sampling_key(), key, "{model}");
        }
    }
}
