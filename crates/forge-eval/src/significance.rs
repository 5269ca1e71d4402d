//! Paired comparisons of each preset against `reforged` on the same scenarios and run indices.

use std::collections::{BTreeMap, HashMap};

use crate::preset::Preset;
use crate::row::RunRow;
use crate::stats::{mcnemar_exact, wilson, Interval, McNemar, Z_95};

/// One preset of one base config, compared with that config's `reforged` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetComparison {
    /// The preset.
    pub ablation: String,
    /// Its runs.
    pub runs: u64,
    /// Its correct runs.
    pub correct: u64,
    /// correct / runs.
    pub score: f64,
    /// Wilson 95 % interval.
    pub interval: Interval,
    /// score − reforged score (None for reforged itself).
    pub delta: Option<f64>,
    /// The paired test against reforged over matched (scenario, run) pairs (None for reforged).
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
    /// One entry per preset present, in preset order (reforged first).
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

/// Rows per preset rank: (preset name, rows).
type PresetRows<'a> = BTreeMap<usize, (String, Vec<&'a RunRow>)>;

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

/// Compares every preset with `reforged` within each base config that has reforged rows.
pub fn compare_presets(rows: &[RunRow]) -> Result<Vec<BaseComparison>, DuplicateRun> {
    let mut bases: BTreeMap<BaseKey, PresetRows<'_>> = BTreeMap::new();
    for row in rows {
        let rank = row
            .ablation
            .parse::<Preset>()
            .map_or(Preset::ALL.len(), Preset::rank);
        bases
            .entry(row.config().base())
            .or_default()
            .entry(rank)
            .or_insert_with(|| (row.ablation.clone(), Vec::new()))
            .1
            .push(row);
    }
    let mut out = Vec::new();
    for ((model, backend, mode, tool_choice), presets) in bases {
        let Some((_, reforged_rows)) = presets.get(&Preset::Reforged.rank()) else {
            continue;
        };
        let reforged = outcomes(reforged_rows)?;
        let reforged_score = ratio(
            reforged.values().filter(|ok| **ok).count() as u64,
            reforged.len() as u64,
        );
        let mut comparisons = Vec::new();
        for (rank, (name, preset_rows)) in &presets {
            let mine = outcomes(preset_rows)?;
            let runs = mine.len() as u64;
            let correct = mine.values().filter(|ok| **ok).count() as u64;
            let score = ratio(correct, runs);
            let is_reforged = *rank == Preset::Reforged.rank();
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
                ablation: name.clone(),
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
