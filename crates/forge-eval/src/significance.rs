//! Paired comparisons of each configuration (preset + constraint policy) against `reforged`
//! under policy `never` on the same (model, backend, mode, tool choice, scenario, run).

use std::collections::{BTreeMap, HashMap};

use crate::row::{configuration_label, configuration_rank, RunRow};
use crate::stats::{mcnemar_exact, wilson, Interval, McNemar, Z_95};

/// One configuration of one base config, compared with that config's `reforged` rows under
/// policy `never` (the baseline).
#[derive(Debug, Clone, PartialEq)]
pub struct PresetComparison {
    /// The preset.
    pub ablation: String,
    /// The constrained-decoding policy.
    pub constraint: String,
    /// The report name of preset and policy (`reforged`, `reforged+retry`, …).
    pub configuration: String,
    /// Its runs.
    pub runs: u64,
    /// Its correct runs.
    pub correct: u64,
    /// correct / runs.
    pub score: f64,
    /// Wilson 95 % interval.
    pub interval: Interval,
    /// score − baseline score (None for the baseline itself).
    pub delta: Option<f64>,
    /// The paired test against the baseline over matched (scenario, run) pairs (None for the
    /// baseline).
    pub test: Option<McNemar>,
    /// Matched pairs used by the test.
    pub pairs: u64,
}

/// All presets of one (model, backend, mode, tool choice).
#[derive(Debug, Clone, PartialEq)]
pub struct BaseComparison {
    /// Model.
    pub model: String,
    /// Backend.
    pub backend: String,
    /// Mode.
    pub mode: String,
    /// Tool choice.
    pub tool_choice: String,
    /// One entry per configuration present, in preset then policy order (the baseline,
    /// `reforged` under `never`, first).
    pub presets: Vec<PresetComparison>,
}

/// Two rows claim the same (config, scenario, run): pairing would be ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate row for {label} scenario {scenario} run {run}")]
pub struct DuplicateRun {
    /// The config label.
    pub label: String,
    /// The scenario.
    pub scenario: String,
    /// The run index.
    pub run: u32,
}

type Outcomes<'a> = HashMap<(&'a str, u32), bool>;

/// (model, backend, mode, tool choice).
type BaseKey = (String, String, String, String);

/// Rows per configuration, in report order: (preset rank, policy rank, preset, policy) → rows.
type ConfigurationRows<'a> = BTreeMap<(usize, usize, String, String), Vec<&'a RunRow>>;

/// The baseline's rank: `reforged` under `never`.
fn baseline_rank() -> (usize, usize) {
    configuration_rank("reforged", "never")
}

fn outcomes<'a>(rows: &[&'a RunRow]) -> Result<Outcomes<'a>, DuplicateRun> {
    let mut map = HashMap::new();
    for row in rows {
        if map
            .insert((row.scenario.as_str(), row.run), row.is_correct())
            .is_some()
        {
            return Err(DuplicateRun {
                label: row.config().label(),
                scenario: row.scenario.clone(),
                run: row.run,
            });
        }
    }
    Ok(map)
}

fn ratio(k: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        #[allow(clippy::cast_precision_loss)]
        let r = k as f64 / n as f64;
        r
    }
}

/// Compares every configuration with `reforged` under policy `never` within each base config
/// that has such rows (bases without the baseline are left out).
pub fn compare_presets(rows: &[RunRow]) -> Result<Vec<BaseComparison>, DuplicateRun> {
    let mut bases: BTreeMap<BaseKey, ConfigurationRows<'_>> = BTreeMap::new();
    for row in rows {
        let (preset_rank, policy_rank) = configuration_rank(&row.ablation, &row.constraint);
        bases
            .entry(row.config().base())
            .or_default()
            .entry((
                preset_rank,
                policy_rank,
                row.ablation.clone(),
                row.constraint.clone(),
            ))
            .or_default()
            .push(row);
    }
    let (baseline_preset, baseline_policy) = baseline_rank();
    let mut out = Vec::new();
    for ((model, backend, mode, tool_choice), presets) in bases {
        let Some(reforged_rows) = presets
            .iter()
            .find(|((p, c, _, _), _)| (*p, *c) == (baseline_preset, baseline_policy))
            .map(|(_, rows)| rows)
        else {
            continue;
        };
        let reforged = outcomes(reforged_rows)?;
        let reforged_score = ratio(
            reforged.values().filter(|ok| **ok).count() as u64,
            reforged.len() as u64,
        );
        let mut comparisons = Vec::new();
        for ((preset_rank, policy_rank, ablation, constraint), preset_rows) in &presets {
            let mine = outcomes(preset_rows)?;
            let runs = mine.len() as u64;
            let correct = mine.values().filter(|ok| **ok).count() as u64;
            let score = ratio(correct, runs);
            let is_reforged = (*preset_rank, *policy_rank) == (baseline_preset, baseline_policy);
            let (mut b, mut c, mut pairs) = (0, 0, 0);
            if !is_reforged {
                for (key, ok) in &mine {
                    if let Some(base_ok) = reforged.get(key) {
                        pairs += 1;
                        match (base_ok, ok) {
                            (true, false) => b += 1,
                            (false, true) => c += 1,
                            _ => {}
                        }
                    }
                }
            }
            comparisons.push(PresetComparison {
                ablation: ablation.clone(),
                constraint: constraint.clone(),
                configuration: configuration_label(ablation, constraint),
                runs,
                correct,
                score,
                interval: wilson(correct, runs, Z_95),
                delta: (!is_reforged).then_some(score - reforged_score),
                test: (!is_reforged).then(|| mcnemar_exact(b, c)),
                pairs,
            });
        }
        out.push(BaseComparison {
            model,
            backend,
            mode,
            tool_choice,
            presets: comparisons,
        });
    }
    Ok(out)
}
