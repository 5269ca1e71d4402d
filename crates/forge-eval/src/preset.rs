//! Ablation presets: which guardrails a run keeps.
//!
//! `reforged` is forge with everything on; `bare` turns every guardrail off; each `no_*` preset
//! turns exactly one off, so the difference to `reforged` measures that guardrail's share.
//!
//! A [`Configuration`] adds the constrained-decoding policy (`never`, `retry`, `always`), which
//! is orthogonal to the presets: `reforged+always` is every guardrail plus constraint on every
//! call, `bare+always` is constraint alone.

use std::fmt;
use std::str::FromStr;

use forge_guardrails::ConstraintPolicy;
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

/// A preset with a constrained-decoding policy: what one batch slot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Configuration {
    /// The ablation preset.
    pub preset: Preset,
    /// The constrained-decoding policy.
    pub constraint: ConstraintPolicy,
}

impl Configuration {
    /// `preset` under `constraint`.
    pub fn new(preset: Preset, constraint: ConstraintPolicy) -> Self {
        Self { preset, constraint }
    }

    /// Every preset under every policy, presets outermost, each list in the order given.
    pub fn cross(presets: &[Preset], constraints: &[ConstraintPolicy]) -> Vec<Self> {
        presets
            .iter()
            .flat_map(|&preset| constraints.iter().map(move |&c| Self::new(preset, c)))
            .collect()
    }
}

impl fmt::Display for Configuration {
    /// The report name: `reforged`, `reforged+retry`, `bare+always`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::row::configuration_label(
            self.preset.as_str(),
            self.constraint.as_str(),
        ))
    }
}

/// A `--config` value that is not `PRESET`, `PRESET:POLICY` or `PRESET+POLICY`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration '{value}': {reason} (expected PRESET or PRESET:POLICY, e.g. reforged:retry)")]
pub struct InvalidConfiguration {
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Configuration {
    type Err = InvalidConfiguration;

    /// `reforged` (policy `never`), `reforged:retry`, or the report name `reforged+retry`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| InvalidConfiguration {
            value: s.to_owned(),
            reason,
        };
        let (preset, policy) = match s.split_once([':', '+']) {
            Some((preset, policy)) => (preset, Some(policy)),
            None => (s, None),
        };
        let preset = preset
            .parse::<Preset>()
            .map_err(|e| invalid(e.to_string()))?;
        let constraint = match policy {
            None => ConstraintPolicy::Never,
            Some(policy) => policy
                .parse::<ConstraintPolicy>()
                .map_err(|e| invalid(e.to_string()))?,
        };
        Ok(Self::new(preset, constraint))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_parse_with_either_separator_and_default_to_never() {
        let cases = [
            ("reforged", Preset::Reforged, ConstraintPolicy::Never),
            ("reforged:retry", Preset::Reforged, ConstraintPolicy::Retry),
            ("bare+always", Preset::Bare, ConstraintPolicy::Always),
            ("no_steps:never", Preset::NoSteps, ConstraintPolicy::Never),
        ];
        for (text, preset, constraint) in cases {
            assert_eq!(
                text.parse::<Configuration>(),
                Ok(Configuration::new(preset, constraint)),
                "{text}"
            );
        }
        for bad in ["full", "reforged:sometimes", "reforged:", ":retry"] {
            assert!(bad.parse::<Configuration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn configurations_display_as_report_names() {
        let names: Vec<String> = Configuration::cross(
            &[Preset::Reforged, Preset::Bare],
            &[ConstraintPolicy::Never, ConstraintPolicy::Always],
        )
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(
            names,
            ["reforged", "reforged+always", "bare", "bare+always"]
        );
    }

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
