//! Negotiating Ollama's `think` flag with a model that may not support it.

use std::sync::Mutex;

/// How the client asks for thinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThinkMode {
    /// On when the model name mentions `reason` or `think`; if the model then rejects thinking,
    /// it is switched off once (one retry without `think`) and stays off.
    #[default]
    Auto,
    /// Always send `think: true`; a model that rejects it is an error
    /// ([`BackendError::ThinkingNotSupported`](forge_types::BackendError::ThinkingNotSupported)).
    On,
    /// Never send `think`, and keep no reasoning.
    Off,
}

/// The phrase Ollama's 400 answer carries when a model cannot think.
const UNSUPPORTED_PHRASE: &str = "does not support thinking";

/// The negotiated state: whether `think` is sent, and whether that is settled.
#[derive(Debug)]
pub(crate) struct ThinkState {
    inner: Mutex<Negotiated>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// Send `think: true` and capture reasoning.
    pub enabled: bool,
    /// Settled: a rejection is now an error instead of a fallback.
    pub resolved: bool,
}

/// What to do with a "does not support thinking" answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Thinking was settled: report the error.
    Fail,
    /// First contact in auto mode: thinking is now off for good; send again without it.
    RetryWithoutThink,
}

impl ThinkState {
    pub(crate) fn new(mode: ThinkMode, model: &str) -> Self {
        let negotiated = match mode {
            ThinkMode::On => Negotiated {
                enabled: true,
                resolved: true,
            },
            ThinkMode::Off => Negotiated {
                enabled: false,
                resolved: true,
            },
            ThinkMode::Auto => {
                let lower = model.to_lowercase();
                let enabled = lower.contains("reason") || lower.contains("think");
                tracing::info!(
                    model,
                    enabled,
                    "Ollama thinking auto-detected from the model name"
                );
                Negotiated {
                    enabled,
                    resolved: false,
                }
            }
        };
        Self {
            inner: Mutex::new(negotiated),
        }
    }

    pub(crate) fn current(&self) -> Negotiated {
        *self.lock()
    }

    /// A successful answer settles the negotiation.
    pub(crate) fn mark_resolved(&self) {
        self.lock().resolved = true;
    }

    /// Reacts to a rejection of thinking.
    pub(crate) fn on_rejection(&self, model: &str) -> Rejection {
        let mut state = self.lock();
        if state.resolved {
            return Rejection::Fail;
        }
        tracing::warn!(
            model,
            "model does not support thinking; switching it off for this client"
        );
        *state = Negotiated {
            enabled: false,
            resolved: true,
        };
        Rejection::RetryWithoutThink
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Negotiated> {
        // The guarded value is two booleans written atomically; a panic elsewhere cannot leave it
        // half-updated, so a poisoned lock is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// True for Ollama's 400 "… does not support thinking" answer.
pub(crate) fn is_thinking_unsupported(status: u16, body: &str) -> bool {
    status == 400
        && serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|value| {
                value
                    .get("error")?
                    .as_str()
                    .map(|error| error.contains(UNSUPPORTED_PHRASE))
            })
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_state_per_mode_and_model_name() {
        let cases = [
            (ThinkMode::On, "ministral-instruct-14b", true, true),
            (ThinkMode::Off, "ministral-reasoning-14b", false, true),
            (ThinkMode::Auto, "ministral-reasoning-14b", true, false),
            (ThinkMode::Auto, "QwQ-Thinking", true, false),
            (ThinkMode::Auto, "ministral-instruct-14b", false, false),
        ];
        for (mode, model, enabled, resolved) in cases {
            assert_eq!(
                ThinkState::new(mode, model).current(),
                Negotiated { enabled, resolved },
                "{mode:?} {model}"
            );
        }
    }

    #[test]
    fn auto_mode_falls_back_once_then_fails() {
        let state = ThinkState::new(ThinkMode::Auto, "x-reasoning");
        assert_eq!(
            state.on_rejection("x-reasoning"),
            Rejection::RetryWithoutThink
        );
        assert_eq!(
            state.current(),
            Negotiated {
                enabled: false,
                resolved: true
            }
        );
        assert_eq!(state.on_rejection("x-reasoning"), Rejection::Fail);
    }

    #[test]
    fn recognises_only_the_thinking_rejection() {
        let body = r#"{"error": "\"ministral-instruct-14b\" does not support thinking"}"#;
        assert!(is_thinking_unsupported(400, body));
        assert!(!is_thinking_unsupported(500, body));
        assert!(!is_thinking_unsupported(
            400,
            r#"{"error": "model not found"}"#
        ));
        assert!(!is_thinking_unsupported(400, "does not support thinking"));
    }
}
