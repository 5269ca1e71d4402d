//! Markdown views: an index and one file per cut of the data (files without data are skipped).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{ascii_table, legend, significance_table};
use crate::metrics::{config_metrics, scenario_order, ConfigMetrics};
use crate::row::{ConfigKey, RunRow};
use crate::significance::{compare_presets, DuplicateRun};

/// Why the markdown views could not be written.
#[derive(Debug, thiserror::Error)]
pub enum MarkdownError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The rows pair ambiguously.
    #[error(transparent)]
    Duplicate(#[from] DuplicateRun),
}

struct View {
    path: &'static str,
    heading: &'static str,
    title: &'static str,
    question: &'static str,
    body: String,
}

fn fenced(metrics: &[ConfigMetrics], scenarios: &[String]) -> String {
    format!("```\n{}```\n", ascii_table(metrics, scenarios))
}

/// How runs ended, per configuration: correct, complete with a wrong answer, or the error that
/// stopped them (one column per error kind present), with the mean number of model calls a run
/// made (retries included). When a model is too weak to pass, this is
/// where the guardrails still show: bare runs end at the first unusable answer, guarded runs
/// retry until a budget runs out, constrained runs make calls but do not finish.
pub fn outcomes_table(rows: &[RunRow]) -> String {
    let mut errors = BTreeSet::new();
    // Per config: model calls summed over its runs, and runs per outcome.
    let mut by_config: BTreeMap<ConfigKey, (u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for row in rows {
        let outcome = if row.is_correct() {
            "correct".to_owned()
        } else if row.completeness {
            "wrong answer".to_owned()
        } else {
            let error = row
                .error_type
                .clone()
                .unwrap_or_else(|| "unknown".to_owned());
            errors.insert(error.clone());
            error
        };
        let (calls, outcomes) = by_config.entry(row.config()).or_default();
        *calls += u64::from(row.iterations);
        *outcomes.entry(outcome).or_default() += 1;
    }
    let mut configs: Vec<_> = by_config.into_iter().collect();
    configs.sort_by_key(|(config, _)| (config.base(), config.configuration_rank()));
    let columns: Vec<String> = ["correct", "wrong answer"]
        .into_iter()
        .map(str::to_owned)
        .chain(errors)
        .collect();
    let mut table = format!("| config | runs | calls/run | {} |\n", columns.join(" | "));
    table.push_str(&format!(
        "|---|---:|---:|{}\n",
        "---:|".repeat(columns.len())
    ));
    for (config, (calls, outcomes)) in configs {
        let runs: u64 = outcomes.values().sum();
        let cells: Vec<String> = columns
            .iter()
            .map(|column| outcomes.get(column).copied().unwrap_or(0).to_string())
            .collect();
        let mean_calls = calls as f64 / runs as f64;
        table.push_str(&format!(
            "| {} | {runs} | {mean_calls:.1} | {} |\n",
            config.label(),
            cells.join(" | ")
        ));
    }
    table
}

fn ablation_order(metrics: &mut [ConfigMetrics]) {
    metrics.sort_by_key(|m| (m.config.base(), m.config.configuration_rank()));
}

/// Writes `dir/index.md` and the views under `dir/raw/`; returns the files written.
pub fn write_markdown(
    dir: &Path,
    rows: &[RunRow],
    timestamp: &str,
) -> Result<Vec<PathBuf>, MarkdownError> {
    let scenarios = scenario_order(rows);
    let all = config_metrics(rows);
    let mut views = Vec::new();

    let reforged: Vec<ConfigMetrics> = all
        .iter()
        .filter(|m| m.config.ablation == "reforged")
        .cloned()
        .collect();
    if !reforged.is_empty() {
        views.push(View {
            path: "raw/reforged/all.md",
            heading: "Reforged — which model should I run?",
            title: "Reforged leaderboard",
            question: "Every config with all guardrails on, best first.",
            body: fenced(&reforged, &scenarios),
        });
    }

    let bases_with = |preset: &str| -> BTreeSet<_> {
        all.iter()
            .filter(|m| m.config.ablation == preset)
            .map(|m| m.config.base())
            .collect()
    };
    let paired: BTreeSet<_> = bases_with("reforged")
        .intersection(&bases_with("bare"))
        .cloned()
        .collect();
    let mut versus: Vec<ConfigMetrics> = all
        .iter()
        .filter(|m| paired.contains(&m.config.base()))
        .filter(|m| m.config.ablation == "reforged" || m.config.ablation == "bare")
        .cloned()
        .collect();
    if !versus.is_empty() {
        ablation_order(&mut versus);
        views.push(View {
            path: "raw/reforged-vs-bare.md",
            heading: "Reforged vs Bare — how much does forge lift a model?",
            title: "Reforged vs bare",
            question: "The same model with all guardrails on and with none.",
            body: fenced(&versus, &scenarios),
        });
    }

    let ablated: BTreeSet<_> = all
        .iter()
        .filter(|m| m.config.ablation.starts_with("no_"))
        .map(|m| m.config.base())
        .collect();
    let mut ablation: Vec<ConfigMetrics> = all
        .iter()
        .filter(|m| ablated.contains(&m.config.base()))
        .cloned()
        .collect();
    if !ablation.is_empty() {
        ablation_order(&mut ablation);
        views.push(View {
            path: "raw/ablation.md",
            heading: "Full Ablation — which guardrails do the work?",
            title: "Ablation",
            question: "Each guardrail turned off on its own.",
            body: fenced(&ablation, &scenarios),
        });
    }

    let constrained: BTreeSet<_> = all
        .iter()
        .filter(|m| m.config.constraint != "never")
        .map(|m| (m.config.base(), m.config.ablation.clone()))
        .collect();
    let mut constraint_view: Vec<ConfigMetrics> = all
        .iter()
        .filter(|m| {
            constrained.contains(&(m.config.base(), m.config.ablation.clone()))
                || (m.config.ablation == "reforged"
                    && constrained.iter().any(|(base, _)| *base == m.config.base()))
        })
        .cloned()
        .collect();
    if !constraint_view.is_empty() {
        ablation_order(&mut constraint_view);
        views.push(View {
            path: "raw/constrained-decoding.md",
            heading: "Constrained decoding — does constraining the output help?",
            title: "Constrained decoding",
            question:
                "Each preset run with a constraint policy next to the same preset unconstrained \
                       (PRESET+retry: retries constrained; PRESET+always: every call constrained).",
            body: fenced(&constraint_view, &scenarios),
        });
    }

    let modes = |mode: &str| -> BTreeSet<(String, String)> {
        reforged
            .iter()
            .filter(|m| m.config.mode == mode)
            .map(|m| (m.config.model.clone(), m.config.backend.clone()))
            .collect()
    };
    let both: BTreeSet<_> = modes("native")
        .intersection(&modes("prompt"))
        .cloned()
        .collect();
    let mut native_prompt: Vec<ConfigMetrics> = reforged
        .iter()
        .filter(|m| both.contains(&(m.config.model.clone(), m.config.backend.clone())))
        .cloned()
        .collect();
    if !native_prompt.is_empty() {
        native_prompt.sort_by(|a, b| {
            (&a.config.model, &a.config.backend, &a.config.mode).cmp(&(
                &b.config.model,
                &b.config.backend,
                &b.config.mode,
            ))
        });
        views.push(View {
            path: "raw/native-vs-prompt.md",
            heading: "Other cross-cuts",
            title: "Native vs prompt tool calling",
            question: "Reforged configs of models run in both capability modes.",
            body: fenced(&native_prompt, &scenarios),
        });
    }

    views.push(View {
        path: "raw/outcomes.md",
        heading: "Other cross-cuts",
        title: "How runs ended",
        question: "Per configuration: correct, complete with a wrong answer, or the error that \
                   stopped the run.",
        body: outcomes_table(rows),
    });

    let comparisons = compare_presets(rows)?;
    if comparisons.iter().any(|c| c.presets.len() > 1) {
        views.push(View {
            path: "raw/significance.md",
            heading: "Other cross-cuts",
            title: "Paired significance against reforged",
            question: "Each configuration against reforged (constraint policy never) on the same \
                       scenarios and run indices.",
            body: format!("```\n{}```\n", significance_table(&comparisons)),
        });
    }

    let legend_block = format!("```\n{}```\n", legend(&scenarios));
    let mut written = Vec::new();
    for view in &views {
        let text = format!(
            "# {}\n\n{}\n\n{}\n{}\n*Generated {timestamp}*\n",
            view.title, view.question, view.body, legend_block
        );
        written.push(write_file(&dir.join(view.path), &text)?);
    }
    let mut index = format!(
        "# forge-rs eval results\n\n{} runs over {} configs.\n",
        rows.len(),
        all.len()
    );
    let mut last_heading = "";
    for view in &views {
        if view.heading != last_heading {
            index.push_str(&format!("\n## {}\n\n", view.heading));
            last_heading = view.heading;
        }
        index.push_str(&format!(
            "- [{}]({}) — {}\n",
            view.title, view.path, view.question
        ));
    }
    index.push_str(&format!("\n*Generated {timestamp}*\n"));
    written.insert(0, write_file(&dir.join("index.md"), &index)?);
    Ok(written)
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf, MarkdownError> {
    let io = |source| MarkdownError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)?;
    Ok(path.to_path_buf())
}
