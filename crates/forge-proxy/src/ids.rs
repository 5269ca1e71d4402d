//! Fresh response and call ids (`chatcmpl-…`, `call_…`, `msg_…`, `toolu_…`).
//!
//! Unique within a process and unpredictable enough for correlation; not a security token.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `len` lowercase hex characters, different on every call.
pub fn random_hex(len: usize) -> String {
    static SEED: OnceLock<RandomState> = OnceLock::new();
    let seed = SEED.get_or_init(RandomState::new);
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        let mut hasher = seed.build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out.truncate(len);
    out
}

/// `chatcmpl-<12hex>`.
pub fn chat_completion_id() -> String {
    format!("chatcmpl-{}", random_hex(12))
}

/// `call_<8hex>`.
pub fn openai_call_id() -> String {
    format!("call_{}", random_hex(8))
}

/// `msg_<24hex>`.
pub fn anthropic_message_id() -> String {
    format!("msg_{}", random_hex(24))
}

/// `toolu_<24hex>`.
pub fn tool_use_id() -> String {
    format!("toolu_{}", random_hex(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_reference_prefixes_and_lengths_and_do_not_repeat() {
        let a = chat_completion_id();
        let b = chat_completion_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "chatcmpl-".len() + 12);
        assert!(openai_call_id().starts_with("call_"));
        assert_eq!(anthropic_message_id().len(), 4 + 24);
        assert_eq!(tool_use_id().len(), 6 + 24);
        assert!(random_hex(40).chars().all(|c| c.is_ascii_hexdigit()));
    }
}
