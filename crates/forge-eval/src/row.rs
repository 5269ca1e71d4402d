//! One JSONL row per attempted run: the schema, appending, reading back, and resume counts.
//!
//! The key order and the null-versus-absent rules follow the reference's rows, so files from
//! both harnesses can be read by either: `accuracy`, `error_type`, `wasted_calls` and the history
//! counters are always present (null when unknown); `stream_retries`, `validate_error`, token
//! counts and cost appear only when set. `forge_rs` (the harness version) is our addition so that
//! shifts caused by fixes the port applies stay attributable. `constraint` (the
//! constrained-decoding policy: `never`, `retry`, `always`) is also ours: always written, and
//! read as `never` from rows that predate it (the reference never constrains).
//!
//! A *configuration* within one (model, backend, mode, tool choice) is the preset plus the
//! policy; reports name it [`configuration_label`]: `reforged` under `never`, `reforged+retry`
//! and `reforged+always` otherwise.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use forge_guardrails::ConstraintPolicy;

use crate::preset::Preset;

fn default_ablation() -> String {
    Preset::Reforged.as_str().to_owned()
}

fn default_constraint() -> String {
    ConstraintPolicy::Never.as_str().to_owned()
}

fn default_tool_choice() -> String {
    "auto".to_owned()
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One attempted run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Canonical model identity (GGUF stem, Ollama tag, API model id).
    pub model: String,
    /// `llamaserver`, `ollama`, `vllm`, `openai`, `anthropic`, `scripted`, …
    pub backend: String,
    /// Tool-calling capability: `native` (the server's function calling) or `prompt` (tools
    /// described in the prompt, calls parsed from text).
    pub mode: String,
    /// Ablation preset name (rows without one are `reforged`).
    #[serde(default = "default_ablation")]
    pub ablation: String,
    /// Constrained-decoding policy: `never`, `retry` or `always` (rows without one are `never`).
    #[serde(default = "default_constraint")]
    pub constraint: String,
    /// Anthropic `tool_choice` (rows without one are `auto`).
    #[serde(default = "default_tool_choice")]
    pub tool_choice: String,
    /// Scenario name.
    pub scenario: String,
    /// 1-based run index within (config, ablation, tool_choice, scenario).
    pub run: u32,
    /// The terminal tool executed successfully and the loop returned normally.
    pub completeness: bool,
    /// LLM calls used (retries included).
    pub iterations: u32,
    /// Wall-clock seconds, rounded to 2 decimals.
    pub elapsed_s: f64,
    /// Error kind of an incomplete run (`MaxIterations`, `ToolCall`, `Timeout`, …).
    pub error_type: Option<String>,
    /// Error text of an incomplete run.
    pub error_message: Option<String>,
    /// Number of compaction events.
    pub compaction_events: u32,
    /// Context budget used for this scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<u32>,
    /// Whole-run retries after stream errors.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stream_retries: u32,
    /// Retry nudges in the history (null without history).
    pub retry_nudges: Option<u32>,
    /// Step-enforcement nudges in the history.
    pub step_nudges: Option<u32>,
    /// Tool results carrying `[ToolError]`.
    pub tool_errors: Option<u32>,
    /// Reasoning messages.
    pub reasoning_msgs: Option<u32>,
    /// The verdict (null for incomplete runs).
    pub accuracy: Option<bool>,
    /// The check raised (its exception type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_error: Option<String>,
    /// The scenario's ideal number of LLM calls.
    pub ideal_iterations: u32,
    /// `max(0, iterations − ideal)` for complete runs, else null.
    pub wasted_calls: Option<u32>,
    /// Prompt tokens over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Completion tokens over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// Cost in USD (priced models only), rounded to 6 decimals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    /// Sampling used: `recommended` (the per-model map) or `backend_defaults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<String>,
    /// The forge-rs version that produced the row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge_rs: Option<String>,
}

impl RunRow {
    /// Correct: a verdict of true with no validation error (what reports count as a success).
    pub fn is_correct(&self) -> bool {
        self.accuracy == Some(true) && self.validate_error.is_none()
    }

    /// Validated: a verdict exists and the check did not raise.
    pub fn is_validated(&self) -> bool {
        self.accuracy.is_some() && self.validate_error.is_none()
    }

    /// The resume key of this row.
    pub fn key(&self) -> RunKey {
        RunKey {
            config: ConfigKey {
                model: self.model.clone(),
                backend: self.backend.clone(),
                mode: self.mode.clone(),
                ablation: self.ablation.clone(),
                constraint: self.constraint.clone(),
                tool_choice: self.tool_choice.clone(),
            },
            scenario: self.scenario.clone(),
        }
    }

    /// The config this row belongs to.
    pub fn config(&self) -> ConfigKey {
        self.key().config
    }
}

/// The name reports give a (preset, constraint policy) pair: the preset alone under `never`,
/// else `{preset}+{policy}` (`reforged+retry`, `bare+always`).
pub fn configuration_label(ablation: &str, constraint: &str) -> String {
    if constraint == ConstraintPolicy::Never.as_str() {
        ablation.to_owned()
    } else {
        format!("{ablation}+{constraint}")
    }
}

/// Report order of a (preset, policy) pair: preset order first, then never, retry, always;
/// unknown names last.
pub fn configuration_rank(ablation: &str, constraint: &str) -> (usize, usize) {
    let preset = ablation
        .parse::<Preset>()
        .map_or(Preset::ALL.len(), Preset::rank);
    let policy = match constraint.parse::<ConstraintPolicy>() {
        Ok(ConstraintPolicy::Never) => 0,
        Ok(ConstraintPolicy::Retry) => 1,
        Ok(ConstraintPolicy::Always) => 2,
        Err(_) => 3,
    };
    (preset, policy)
}

/// A configuration: model, backend, mode, ablation, constraint policy and tool choice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ConfigKey {
    /// Model identity.
    pub model: String,
    /// Backend name.
    pub backend: String,
    /// `native` or `prompt`.
    pub mode: String,
    /// Ablation preset.
    pub ablation: String,
    /// Constrained-decoding policy (`never`, `retry`, `always`).
    pub constraint: String,
    /// Anthropic tool choice.
    pub tool_choice: String,
}

impl ConfigKey {
    /// `"{model} ({backend}/{mode}) [{configuration}]"`, with `+{tool_choice}` when not `auto`.
    pub fn label(&self) -> String {
        let choice = if self.tool_choice == "auto" {
            String::new()
        } else {
            format!("+{}", self.tool_choice)
        };
        format!(
            "{} ({}/{}) [{}{choice}]",
            self.model,
            self.backend,
            self.mode,
            self.configuration()
        )
    }

    /// The preset and policy as reports name them ([`configuration_label`]).
    pub fn configuration(&self) -> String {
        configuration_label(&self.ablation, &self.constraint)
    }

    /// Report order within a base config ([`configuration_rank`]).
    pub fn configuration_rank(&self) -> (usize, usize) {
        configuration_rank(&self.ablation, &self.constraint)
    }

    /// The same config without the preset and policy, for pairing configurations.
    pub fn base(&self) -> (String, String, String, String) {
        (
            self.model.clone(),
            self.backend.clone(),
            self.mode.clone(),
            self.tool_choice.clone(),
        )
    }
}

/// What resume counts by: a config (constraint policy included) and a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunKey {
    /// The config.
    pub config: ConfigKey,
    /// The scenario.
    pub scenario: String,
}

/// Why rows could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    /// The file could not be opened, read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A row could not be encoded.
    #[error("cannot encode a row: {0}")]
    Encode(#[from] serde_json::Error),
    /// The same run is in two of the files read together (it would be counted twice).
    #[error("{run} is in both {first} and {second}")]
    DuplicateRun {
        /// Scenario, run index, mode and configuration of the run.
        run: String,
        /// The file it was first read from.
        first: String,
        /// The file that has it again.
        second: String,
    },
}

/// Appends one row (open, append, close: an interrupted batch loses at most the run in flight).
pub fn append_row(path: &Path, row: &RunRow) -> Result<(), RowError> {
    let line = serde_json::to_string(row)?;
    let io = |action, source| RowError::Io {
        action,
        path: path.display().to_string(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io("cannot open", e))?;
    writeln!(file, "{line}").map_err(|e| io("cannot append to", e))
}

/// Rows read back from a file, and the lines that were not rows.
#[derive(Debug, Default)]
pub struct LoadedRows {
    /// The rows, in file order.
    pub rows: Vec<RunRow>,
    /// 1-based numbers of non-blank lines that did not parse (an interrupted write leaves one).
    pub bad_lines: Vec<usize>,
}

/// Reads a JSONL file; a missing file is an error, blank lines are skipped, unparseable lines
/// are reported in [`LoadedRows::bad_lines`].
pub fn read_rows(path: &Path) -> Result<LoadedRows, RowError> {
    let file = std::fs::File::open(path).map_err(|source| RowError::Io {
        action: "cannot open",
        path: path.display().to_string(),
        source,
    })?;
    let mut loaded = LoadedRows::default();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| RowError::Io {
            action: "cannot read",
            path: path.display().to_string(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<RunRow>(&line) {
            Ok(row) => loaded.rows.push(row),
            Err(_) => loaded.bad_lines.push(index + 1),
        }
    }
    Ok(loaded)
}

/// Reads several JSONL files as one set of rows (e.g. a baseline batch and a constrained batch
/// run into separate folders), in file order. The same run — model, backend, mode,
/// configuration, tool choice, scenario and run index — in two files is refused with
/// [`RowError::DuplicateRun`]; unparseable lines are reported per file.
pub fn read_rows_from_files(
    paths: &[impl AsRef<Path>],
) -> Result<Vec<(String, LoadedRows)>, RowError> {
    let mut seen: HashMap<(RunKey, u32), String> = HashMap::new();
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let name = path.display().to_string();
        let loaded = read_rows(path)?;
        for row in &loaded.rows {
            let key = (row.key(), row.run);
            if let Some(first) = seen.insert(key, name.clone()) {
                return Err(RowError::DuplicateRun {
                    run: format!(
                        "{} run {} ({} {})",
                        row.scenario,
                        row.run,
                        row.mode,
                        configuration_label(&row.ablation, &row.constraint)
                    ),
                    first,
                    second: name,
                });
            }
        }
        files.push((name, loaded));
    }
    Ok(files)
}

/// Rows already present per (config, scenario): what a resumed batch skips.
#[derive(Debug, Default, Clone)]
pub struct ResumeCounts {
    counts: HashMap<RunKey, u32>,
}

impl ResumeCounts {
    /// Counts every row (any outcome).
    pub fn from_rows(rows: &[RunRow]) -> Self {
        let mut counts = HashMap::new();
        for row in rows {
            *counts.entry(row.key()).or_insert(0) += 1;
        }
        Self { counts }
    }

    /// Rows present for `key`.
    pub fn done(&self, key: &RunKey) -> u32 {
        self.counts.get(key).copied().unwrap_or(0)
    }

    /// Records one more row for `key`.
    pub fn record(&mut self, key: RunKey) {
        *self.counts.entry(key).or_insert(0) += 1;
    }

    /// The run indices still to do for `key` to reach `target` runs (numbered after existing rows).
    pub fn remaining(&self, key: &RunKey, target: u32) -> std::ops::RangeInclusive<u32> {
        let done = self.done(key);
        (done + 1)..=target.max(done)
    }
}

/// Rounds to `decimals` places for the row's float fields.
pub fn round_to(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}
