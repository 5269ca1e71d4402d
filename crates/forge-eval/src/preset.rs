//! Ablation presets: which guardrails a run keeps.
//!
//! `reforged` is forge with everything on; `bare` turns every guardrail off; each `no_*` preset
//! turns exactly one off, so the difference to `reforged` measures that guardrail's share.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An ablation preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// Everything on.
    Reforged,
    /// Everything off: no rescue parsing, no retries, no step enforcement, no tool-error
    /// recovery, no compaction.
    Bare,
    /// Tool calls written as text are not rescued.
    NoRescue,
    /// No retry nudges (and so no rescue either): the first bad response ends the run.
    NoNudge,
    /// No required-step enforcement.
    NoSteps,
    /// The first tool exception ends the run.
    NoRecovery,
    /// No context compaction (the compaction-pressure scenarios are skipped).
    NoCompact,
}

/// The runner knobs a preset sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knobs {
    /// Rescue tool calls written as text.
    pub rescue: bool,
    /// Consecutive malformed / unknown-tool responses tolerated.
    pub max_retries_per_step: u32,
    /// Enforce the scenario's required steps before the terminal tool.
    pub step_enforcement: bool,
    /// Consecutive failing tool batches tolerated.
    pub max_tool_errors: u32,
    /// Compact the context under budget pressure.
    pub compaction: bool,
}

impl Preset {
    /// Every preset, in report order.
    pub const ALL: [Preset; 7] = [
        Self::Reforged,
        Self::Bare,
        Self::NoRescue,
        Self::NoNudge,
        Self::NoSteps,
        Self::NoRecovery,
        Self::NoCompact,
    ];

    /// The name used in JSONL rows and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reforged => "reforged",
            Self::Bare => "bare",
            Self::NoRescue => "no_rescue",
            Self::NoNudge => "no_nudge",
            Self::NoSteps => "no_steps",
            Self::NoRecovery => "no_recovery",
            Self::NoCompact => "no_compact",
        }
    }

    /// What the preset turns off, for help texts and report legends.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Reforged => "all guardrails on",
            Self::Bare => {
                "no rescue, no retries, no step enforcement, no tool-error recovery, no compaction"
            }
            Self::NoRescue => "tool calls written as text are not rescued",
            Self::NoNudge => "no retry nudges and no rescue (first bad response ends the run)",
            Self::NoSteps => "required steps are not enforced",
            Self::NoRecovery => "the first tool exception ends the run",
            Self::NoCompact => "no context compaction (compaction-pressure scenarios skipped)",
        }
    }

    /// The runner settings.
    pub fn knobs(self) -> Knobs {
        let reforged = Knobs {
            rescue: true,
            max_retries_per_step: 5,
            step_enforcement: true,
            max_tool_errors: 2,
            compaction: true,
        };
        match self {
            Self::Reforged => reforged,
            Self::Bare => Knobs {
                rescue: false,
                max_retries_per_step: 0,
                step_enforcement: false,
                max_tool_errors: 0,
                compaction: false,
            },
            Self::NoRescue => Knobs {
                rescue: false,
                ..reforged
            },
            Self::NoNudge => Knobs {
                rescue: false,
                max_retries_per_step: 0,
                ..reforged
            },
            Self::NoSteps => Knobs {
                step_enforcement: false,
                ..reforged
            },
            Self::NoRecovery => Knobs {
                max_tool_errors: 0,
                ..reforged
            },
            Self::NoCompact => Knobs {
                compaction: false,
                ..reforged
            },
        }
    }

    /// Position in report order.
    pub fn rank(self) -> usize {
        Self::ALL
            .iter()
            .position(|p| *p == self)
            .unwrap_or(Self::ALL.len())
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A preset name that is not one of [`Preset::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ablation preset '{0}' (expected one of: reforged, bare, no_rescue, no_nudge, no_steps, no_recovery, no_compact)")]
pub struct UnknownPreset(pub String);

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_turn_off_exactly_what_they_name() {
        let reforged = Preset::Reforged.knobs();
        let diffs: Vec<(Preset, usize)> = Preset::ALL
            .iter()
            .map(|p| {
                let k = p.knobs();
                let changed = [
                    k.rescue != reforged.rescue,
                    k.max_retries_per_step != reforged.max_retries_per_step,
                    k.step_enforcement != reforged.step_enforcement,
                    k.max_tool_errors != reforged.max_tool_errors,
                    k.compaction != reforged.compaction,
                ];
                (*p, changed.iter().filter(|c| **c).count())
            })
            .collect();
        assert_eq!(
            diffs,
            [
                (Preset::Reforged, 0),
                (Preset::Bare, 5),
                (Preset::NoRescue, 1),
                (Preset::NoNudge, 2),
                (Preset::NoSteps, 1),
                (Preset::NoRecovery, 1),
                (Preset::NoCompact, 1),
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for preset in Preset::ALL {
            assert_eq!(preset.as_str().parse::<Preset>(), Ok(preset));
        }
        assert!("full".parse::<Preset>().is_err());
    }
}
