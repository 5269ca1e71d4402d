//! Metrics over runs: per-run history counters, and per-config aggregates over JSONL rows.
//!
//! Denominators follow the reference reports: **score** = correct / all attempted runs (an
//! incomplete run counts as a failure), **accuracy** = correct / validated runs, **completeness**
//! = completed / attempted. A row whose check raised is neither validated nor correct.

use std::collections::{BTreeMap, HashMap};

use forge_types::{Message, MessageType};

use crate::row::{ConfigKey, RunRow};
use crate::scenario::all_scenarios;
use crate::stats::{wilson, Interval, Z_95};

/// Counters read from one run's message history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryStats {
    /// Assistant tool-call messages (batches, not calls).
    pub tool_call_batches: u32,
    /// Retry nudges (after bare text, and `[UnknownTool]` replies).
    pub retry_nudges: u32,
    /// Step-enforcement nudges (premature terminal calls).
    pub step_nudges: u32,
    /// Tool results carrying `[ToolError]`.
    pub tool_errors: u32,
    /// Reasoning messages.
    pub reasoning_msgs: u32,
}

impl HistoryStats {
    /// Counts over `messages`.
    pub fn from_messages(messages: &[Message]) -> Self {
        let mut stats = Self::default();
        for message in messages {
            match message.metadata.kind() {
                MessageType::ToolCall => stats.tool_call_batches += 1,
                MessageType::RetryNudge => stats.retry_nudges += 1,
                MessageType::StepNudge => stats.step_nudges += 1,
                MessageType::Reasoning => stats.reasoning_msgs += 1,
                MessageType::ToolResult if message.content.contains("[ToolError]") => {
                    stats.tool_errors += 1;
                }
                _ => {}
            }
        }
        stats
    }
}

/// Aggregates of one scenario within one config.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioCell {
    /// Runs.
    pub runs: u64,
    /// Correct runs.
    pub correct: u64,
    /// Completed runs.
    pub completed: u64,
    /// correct / runs.
    pub score: f64,
    /// Wilson 95 % interval on the score.
    pub interval: Interval,
}

/// Aggregates of one config over the selected scenarios.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigMetrics {
    /// The config.
    pub config: ConfigKey,
    /// Attempted runs.
    pub total_runs: u64,
    /// Completed runs.
    pub completed: u64,
    /// Validated runs (verdict present, check did not raise).
    pub validated: u64,
    /// Correct runs.
    pub correct: u64,
    /// correct / total.
    pub score: f64,
    /// Wilson 95 % interval on the score.
    pub score_interval: Interval,
    /// correct / validated (None without validated runs).
    pub accuracy: Option<f64>,
    /// completed / total.
    pub completeness: f64,
    /// min(Σ ideal / Σ iterations, 1) over complete and correct runs (0 if none).
    pub efficiency: f64,
    /// Mean wasted calls over completed runs.
    pub avg_wasted: Option<f64>,
    /// Mean elapsed seconds over completed runs.
    pub speed: Option<f64>,
    /// Runs per scenario (the maximum over scenarios).
    pub runs_per_scenario: u64,
    /// Rows whose check raised.
    pub validate_errors: u64,
    /// Whole-run stream retries.
    pub stream_retries: u64,
    /// Error kinds of incomplete runs, with counts.
    pub errors: BTreeMap<String, u64>,
    /// Per-scenario cells, keyed by scenario name.
    pub scenarios: BTreeMap<String, ScenarioCell>,
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        #[allow(clippy::cast_precision_loss)]
        let r = numerator as f64 / denominator as f64;
        r
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0u32), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / f64::from(count))
}

impl ConfigMetrics {
    /// Aggregates `rows` (all of one config).
    pub fn compute(config: ConfigKey, rows: &[&RunRow]) -> Self {
        let total = rows.len() as u64;
        let completed = rows.iter().filter(|r| r.completeness).count() as u64;
        let validated = rows.iter().filter(|r| r.is_validated()).count() as u64;
        let correct = rows.iter().filter(|r| r.is_correct()).count() as u64;
        let (ideal_sum, iter_sum) = rows
            .iter()
            .filter(|r| r.completeness && r.is_correct())
            .fold((0u64, 0u64), |(i, n), r| {
                (
                    i + u64::from(r.ideal_iterations),
                    n + u64::from(r.iterations),
                )
            });
        let mut per_scenario: BTreeMap<String, Vec<&RunRow>> = BTreeMap::new();
        for row in rows {
            per_scenario
                .entry(row.scenario.clone())
                .or_default()
                .push(row);
        }
        let scenarios: BTreeMap<String, ScenarioCell> = per_scenario
            .iter()
            .map(|(name, rows)| {
                let runs = rows.len() as u64;
                let correct = rows.iter().filter(|r| r.is_correct()).count() as u64;
                let completed = rows.iter().filter(|r| r.completeness).count() as u64;
                let cell = ScenarioCell {
                    runs,
                    correct,
                    completed,
                    score: ratio(correct, runs),
                    interval: wilson(correct, runs, Z_95),
                };
                (name.clone(), cell)
            })
            .collect();
        let mut errors = BTreeMap::new();
        for row in rows.iter().filter(|r| !r.completeness) {
            let kind = row
                .error_type
                .clone()
                .unwrap_or_else(|| "unknown".to_owned());
            *errors.entry(kind).or_insert(0) += 1;
        }
        Self {
            config,
            total_runs: total,
            completed,
            validated,
            correct,
            score: ratio(correct, total),
            score_interval: wilson(correct, total, Z_95),
            accuracy: (validated > 0).then(|| ratio(correct, validated)),
            completeness: ratio(completed, total),
            efficiency: if iter_sum == 0 {
                0.0
            } else {
                ratio(ideal_sum, iter_sum).min(1.0)
            },
            avg_wasted: mean(
                rows.iter()
                    .filter(|r| r.completeness)
                    .filter_map(|r| r.wasted_calls)
                    .map(f64::from),
            ),
            speed: mean(rows.iter().filter(|r| r.completeness).map(|r| r.elapsed_s)),
            runs_per_scenario: scenarios.values().map(|c| c.runs).max().unwrap_or(0),
            validate_errors: rows.iter().filter(|r| r.validate_error.is_some()).count() as u64,
            stream_retries: rows.iter().map(|r| u64::from(r.stream_retries)).sum(),
            errors,
            scenarios,
        }
    }
}

/// Rows grouped by config (sorted by config key).
pub fn group_by_config(rows: &[RunRow]) -> BTreeMap<ConfigKey, Vec<&RunRow>> {
    let mut groups: BTreeMap<ConfigKey, Vec<&RunRow>> = BTreeMap::new();
    for row in rows {
        groups.entry(row.config()).or_default().push(row);
    }
    groups
}

/// Metrics for every config, best first (score, completeness, efficiency desc; speed asc).
pub fn config_metrics(rows: &[RunRow]) -> Vec<ConfigMetrics> {
    let mut metrics: Vec<ConfigMetrics> = group_by_config(rows)
        .into_iter()
        .map(|(config, rows)| ConfigMetrics::compute(config, &rows))
        .collect();
    let key = |m: &ConfigMetrics| {
        let r = |x: f64| (x * 100.0).round() as i64;
        (
            -r(m.score),
            -r(m.completeness),
            -r(m.efficiency),
            (m.speed.unwrap_or(f64::MAX) * 100.0) as i64,
        )
    };
    metrics.sort_by_key(key);
    metrics
}

/// Scenario names present in `rows`: registry order first, then unknown names as first seen.
pub fn scenario_order(rows: &[RunRow]) -> Vec<String> {
    let present: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .rev()
        .map(|(i, r)| (r.scenario.as_str(), i))
        .collect();
    let mut order: Vec<String> = all_scenarios()
        .iter()
        .map(|s| s.name())
        .filter(|name| present.contains_key(name))
        .map(str::to_owned)
        .collect();
    let mut unknown: Vec<(&str, usize)> = present
        .iter()
        .filter(|(name, _)| !order.iter().any(|o| o == *name))
        .map(|(name, i)| (*name, *i))
        .collect();
    unknown.sort_by_key(|(_, i)| *i);
    order.extend(unknown.into_iter().map(|(name, _)| name.to_owned()));
    order
}

/// The report abbreviation of a scenario (`b2s`, `err_s`, …; first three letters otherwise).
pub fn abbreviation(scenario: &str) -> String {
    let (base, twin) = match scenario.strip_suffix("_stateful") {
        Some(base) => (base, "_s"),
        None => (scenario, ""),
    };
    let short = match base {
        "relevance_detection" => "rel",
        "argument_fidelity" => "arg",
        "tool_selection" => "tsl",
        "basic_2step" => "b2s",
        "sequential_3step" => "s3s",
        "conditional_routing" => "crt",
        "sequential_reasoning" => "srn",
        "error_recovery" => "err",
        "data_gap_recovery" => "dgr",
        "data_gap_recovery_extended" => "dge",
        "argument_transformation" => "art",
        "grounded_synthesis" => "grs",
        "inconsistent_api_recovery" => "iar",
        "compaction_chain_baseline" => "cc0",
        "compaction_chain_p1" => "cc1",
        "compaction_chain_p2" => "cc2",
        "compaction_chain_p3" => "cc3",
        other => return format!("{}{twin}", other.chars().take(3).collect::<String>()),
    };
    format!("{short}{twin}")
}
