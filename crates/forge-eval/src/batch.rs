//! The batch runner: every (config, configuration, scenario) up to N runs, one JSONL row per
//! run, resumable (rows already in the output file are not run again), with a per-run timeout
//! and a progress line. A configuration is a preset plus a constrained-decoding policy; resume
//! counts rows per policy, so a `retry` row never stands in for a planned `never` run.

use std::path::PathBuf;
use std::sync::Arc;

use forge_client::LlmClient;

use crate::preset::Configuration;
use crate::progress::Progress;
use crate::row::{append_row, read_rows, ConfigKey, ResumeCounts, RowError, RunKey, RunRow};
use crate::run::{run_scenario, RowIdentity, RunSettings};
use crate::scenario::Scenario;

/// One model configuration of a batch: the client, what the rows call it, and how to run.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// The model client.
    pub client: Arc<dyn LlmClient>,
    /// Row identity.
    pub identity: RowIdentity,
    /// Settings; `settings.preset` and `settings.constraint` are replaced by each configuration
    /// of the batch.
    pub settings: RunSettings,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BatchPlan {
    /// Model configurations.
    pub configs: Vec<BatchConfig>,
    /// (preset, constraint policy) pairs, run for every config
    /// ([`Configuration::cross`] for a full matrix).
    pub configurations: Vec<Configuration>,
    /// Scenarios, in order.
    pub scenarios: Vec<Scenario>,
    /// Target runs per (config, configuration, scenario).
    pub runs: u32,
    /// The JSONL file (appended to; read first for resume).
    pub output: PathBuf,
}

/// One unit of work.
#[derive(Debug, Clone)]
pub struct PlannedRun {
    /// Index into [`BatchPlan::configs`].
    pub config: usize,
    /// The preset and policy.
    pub configuration: Configuration,
    /// The scenario.
    pub scenario: Scenario,
    /// The run number.
    pub run: u32,
}

/// A batch's outcome.
#[derive(Debug, Clone, Default)]
pub struct BatchSummary {
    /// Runs executed now.
    pub executed: u64,
    /// Runs skipped because their rows already existed.
    pub resumed: u64,
    /// Scenario slots skipped because the preset disables compaction.
    pub skipped_compaction: u64,
    /// Correct runs among the executed ones.
    pub correct: u64,
    /// The rows written now.
    pub rows: Vec<RunRow>,
}

/// The resume key of `configuration` of `config` on `scenario`.
pub fn run_key(config: &BatchConfig, configuration: Configuration, scenario: &Scenario) -> RunKey {
    RunKey {
        config: ConfigKey {
            model: config.identity.model.clone(),
            backend: config.identity.backend.clone(),
            mode: config.identity.mode.clone(),
            ablation: configuration.preset.as_str().to_owned(),
            constraint: configuration.constraint.as_str().to_owned(),
            tool_choice: config.identity.tool_choice.clone(),
        },
        scenario: scenario.name().to_owned(),
    }
}

impl BatchPlan {
    /// The runs still to do given the rows already in the output file (missing file = none),
    /// and how many were skipped (already done, compaction disabled).
    pub fn pending(&self) -> Result<(Vec<PlannedRun>, BatchSummary), RowError> {
        let existing = if self.output.exists() {
            read_rows(&self.output)?.rows
        } else {
            Vec::new()
        };
        let counts = ResumeCounts::from_rows(&existing);
        let mut summary = BatchSummary::default();
        let mut pending = Vec::new();
        for (index, config) in self.configs.iter().enumerate() {
            for &configuration in &self.configurations {
                for scenario in &self.scenarios {
                    if scenario.is_compaction_pressure() && !configuration.preset.knobs().compaction
                    {
                        summary.skipped_compaction += 1;
                        continue;
                    }
                    let key = run_key(config, configuration, scenario);
                    summary.resumed += u64::from(counts.done(&key).min(self.runs));
                    for run in counts.remaining(&key, self.runs) {
                        pending.push(PlannedRun {
                            config: index,
                            configuration,
                            scenario: scenario.clone(),
                            run,
                        });
                    }
                }
            }
        }
        // Run-major order: every (config, configuration, scenario) gets run 1 before any gets
        // run 2, so a batch stopped early (time budget, Ctrl-C) still compares configurations
        // on the same scenarios and run indices. The sort is stable, so within one run index
        // the order stays config, configuration, scenario.
        pending.sort_by_key(|planned| planned.run);
        Ok((pending, summary))
    }

    /// Runs everything pending, appending one row per run; draws progress when `show_progress`.
    pub async fn execute(&self, show_progress: bool) -> Result<BatchSummary, RowError> {
        let (pending, mut summary) = self.pending()?;
        let mut progress = Progress::new(pending.len() as u64);
        for planned in pending {
            let config = &self.configs[planned.config];
            let label = format!(
                "{} {}/{} [{}] {} #{}",
                config.identity.model,
                config.identity.backend,
                config.identity.mode,
                planned.configuration,
                planned.scenario.name(),
                planned.run
            );
            if show_progress {
                progress.draw(&label);
            }
            let mut settings = config.settings.clone();
            settings.preset = planned.configuration.preset;
            settings.constraint = planned.configuration.constraint;
            let result =
                run_scenario(Arc::clone(&config.client), &planned.scenario, &settings).await;
            let row = result.to_row(&config.identity, planned.configuration.preset, planned.run);
            append_row(&self.output, &row)?;
            tracing::info!(
                run = %label,
                complete = row.completeness,
                correct = row.is_correct(),
                error = row.error_type.as_deref().unwrap_or(""),
                iterations = row.iterations,
                seconds = row.elapsed_s,
                "run finished"
            );
            progress.record(row.is_correct(), result.elapsed);
            summary.executed += 1;
            summary.correct += u64::from(row.is_correct());
            summary.rows.push(row);
        }
        if show_progress {
            progress.draw("done");
            progress.finish();
        }
        Ok(summary)
    }
}
