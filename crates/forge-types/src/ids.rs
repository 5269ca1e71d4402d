use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// The id that pairs an assistant tool call with its `role: "tool"` reply.
///
/// forge assigns its own ids (`call_` + a 9-digit zero-padded counter) and discards the ids a
/// provider sent, so a conversation's ids never depend on which backend produced it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(String);

impl CallId {
    /// Wraps an id received from elsewhere (a client's history, a provider).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The forge-format id for counter value `n`: `call_000000001` for 1.
    pub fn from_counter(n: u64) -> Self {
        Self(format!("call_{n:09}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for CallId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Hands out [`CallId`]s that are unique within one conversation.
///
/// The reference restarted its counter at zero on every run, so a history seeded from an earlier
/// turn got duplicate ids. [`CallIdGenerator::continuing_after`] starts past every id already
/// present instead.
#[derive(Debug, Default)]
pub struct CallIdGenerator {
    next: AtomicU64,
}

impl CallIdGenerator {
    /// A generator whose first id is `call_000000000`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A generator whose first id is greater than every forge-format id in `existing`.
    pub fn continuing_after<'a>(existing: impl IntoIterator<Item = &'a CallId>) -> Self {
        let next = existing
            .into_iter()
            .filter_map(|id| id.as_str().strip_prefix("call_")?.parse::<u64>().ok())
            .map(|n| n.saturating_add(1))
            .max()
            .unwrap_or(0);
        Self {
            next: AtomicU64::new(next),
        }
    }

    /// The next id.
    pub fn next_id(&self) -> CallId {
        CallId::from_counter(self.next.fetch_add(1, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_ids_are_zero_padded_to_nine_digits() {
        assert_eq!(CallId::from_counter(1).as_str(), "call_000000001");
        assert_eq!(
            CallId::from_counter(1_234_567_890).as_str(),
            "call_1234567890"
        );
    }

    #[test]
    fn generator_continues_after_seeded_ids() {
        let seeded = [
            CallId::from_counter(0),
            CallId::from_counter(7),
            CallId::new("toolu_x"),
        ];
        let ids = CallIdGenerator::continuing_after(&seeded);
        assert_eq!(ids.next_id(), CallId::from_counter(8));
        assert_eq!(ids.next_id(), CallId::from_counter(9));
    }

    #[test]
    fn fresh_generator_starts_at_zero() {
        assert_eq!(CallIdGenerator::new().next_id().as_str(), "call_000000000");
    }
}
