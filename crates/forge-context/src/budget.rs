//! Budget modes and the arithmetic that turns them into a token budget.
//!
//! The I/O (starting a server, reading its reported context, detecting the GPU) belongs to the
//! caller; these functions only compute.

use std::fmt;
use std::str::FromStr;

use forge_types::ForgeError;
use serde::Serialize;

use crate::hardware::HardwareProfile;

/// How the context budget of a managed backend is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub enum BudgetMode {
    /// `backend`: no context override; the budget is what the server reports.
    #[default]
    #[serde(rename = "backend")]
    Backend,
    /// `manual`: the caller's token count.
    #[serde(rename = "manual")]
    Manual,
    /// `forge-full`: the server's full context (Ollama: the VRAM tier).
    #[serde(rename = "forge-full")]
    ForgeFull,
    /// `forge-fast`: half the full context, for faster attention (Ollama: half the VRAM tier).
    #[serde(rename = "forge-fast")]
    ForgeFast,
}

impl BudgetMode {
    /// Every mode, in documentation order.
    pub const ALL: [BudgetMode; 4] = [
        Self::Backend,
        Self::Manual,
        Self::ForgeFull,
        Self::ForgeFast,
    ];

    /// The mode's name: `backend`, `manual`, `forge-full` or `forge-fast`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Backend => "backend",
            Self::Manual => "manual",
            Self::ForgeFull => "forge-full",
            Self::ForgeFast => "forge-fast",
        }
    }
}

impl fmt::Display for BudgetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BudgetMode {
    type Err = ForgeError;

    /// Exactly one of the four names; anything else (other case, underscores) is an error.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == name)
            .ok_or_else(|| ForgeError::InvalidInput {
                what: "budget mode",
                message: format!(
                    "unknown budget mode {name:?}; expected one of backend, manual, forge-full, forge-fast"
                ),
            })
    }
}

/// The Ollama budget for no detected GPU, or one under 24 GiB.
pub const SMALL_TIER_TOKENS: u64 = 4_096;
/// The Ollama budget for 24 GiB up to 48 GiB.
pub const MEDIUM_TIER_TOKENS: u64 = 32_768;
/// The Ollama budget for 48 GiB and more.
pub const LARGE_TIER_TOKENS: u64 = 262_144;

/// Ollama's published default context for the GPU memory available.
///
/// ```
/// use forge_context::{hardware::HardwareProfile, vram_tier_budget};
///
/// assert_eq!(vram_tier_budget(None), 4096);
/// assert_eq!(vram_tier_budget(Some(&HardwareProfile::new("RTX 3090", 24576))), 32768);
/// ```
pub fn vram_tier_budget(profile: Option<&HardwareProfile>) -> u64 {
    let Some(profile) = profile else {
        return SMALL_TIER_TOKENS;
    };
    let gib = profile.vram_total_gb();
    if gib >= 48.0 {
        LARGE_TIER_TOKENS
    } else if gib >= 24.0 {
        MEDIUM_TIER_TOKENS
    } else {
        SMALL_TIER_TOKENS
    }
}

/// `forge-fast`: half of `full_tokens`, rounded down.
pub fn forge_fast_budget(full_tokens: u64) -> u64 {
    full_tokens / 2
}

/// The whole context a server holds, from the context it reports.
///
/// A llama-server with several slots and no unified KV cache reports the per-slot context, so
/// the total is that times the slots; otherwise the report is the total. `forge-fast`
/// restarts the server with [`forge_fast_budget`] of this.
pub fn total_server_context(reported_tokens: u64, n_slots: Option<u32>, kv_unified: bool) -> u64 {
    match n_slots {
        Some(slots) if slots > 1 && !kv_unified => reported_tokens.saturating_mul(u64::from(slots)),
        _ => reported_tokens,
    }
}

/// The token count of `manual` mode: it must be given, and positive.
pub fn manual_budget(manual_tokens: Option<u64>) -> Result<u64, ForgeError> {
    match manual_tokens {
        Some(tokens) if tokens > 0 => Ok(tokens),
        Some(_) => Err(budget_error(
            "manual mode requires a positive manual_tokens",
        )),
        None => Err(budget_error("manual mode requires manual_tokens")),
    }
}

/// The context override a spawned server starts with (`-c`): the manual count in `manual`
/// mode, none otherwise (`forge-fast` first starts without one to learn the full context).
pub fn launch_context_override(
    mode: BudgetMode,
    manual_tokens: Option<u64>,
) -> Result<Option<u64>, ForgeError> {
    match mode {
        BudgetMode::Manual => manual_budget(manual_tokens).map(Some),
        BudgetMode::Backend | BudgetMode::ForgeFull | BudgetMode::ForgeFast => Ok(None),
    }
}

/// The budget of an Ollama backend, which reports no context of its own: the manual count,
/// the VRAM tier (`backend`, `forge-full`), or half of it (`forge-fast`).
pub fn ollama_budget(
    mode: BudgetMode,
    manual_tokens: Option<u64>,
    profile: Option<&HardwareProfile>,
) -> Result<u64, ForgeError> {
    match mode {
        BudgetMode::Manual => manual_budget(manual_tokens),
        BudgetMode::Backend | BudgetMode::ForgeFull => Ok(vram_tier_budget(profile)),
        BudgetMode::ForgeFast => Ok(forge_fast_budget(vram_tier_budget(profile))),
    }
}

fn budget_error(cause: &str) -> ForgeError {
    ForgeError::BudgetResolution {
        cause: Some(cause.to_owned()),
    }
}
