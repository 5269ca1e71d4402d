//! The fixed-width table of config metrics, and the significance table.

use std::fmt::Write;

use super::{pct0, pct1, short_label};
use crate::metrics::{abbreviation, ConfigMetrics};
use crate::significance::BaseComparison;
use crate::stats::stars;

/// One line per config: score (with its 95 % interval), accuracy, completeness, efficiency,
/// wasted calls, speed, runs per scenario, then each scenario's score as a whole percent
/// (`I` = no runs for that scenario).
pub fn ascii_table(metrics: &[ConfigMetrics], scenarios: &[String]) -> String {
    let label_width = metrics
        .iter()
        .map(|m| short_label(&m.config).chars().count())
        .max()
        .unwrap_or(0)
        .max("Model/Backend".len());
    let mut header = format!(
        "{:<label_width$}  {:>5} {:>13} {:>5} {:>5} {:>4} {:>4} {:>6} {:>3}",
        "Model/Backend", "Scr", "95% CI", "Acc", "Cmp", "Eff", "Wst", "Spd", "N"
    );
    for scenario in scenarios {
        let _ = write!(header, " {:>5}", abbreviation(scenario));
    }
    let rule = "-".repeat(header.chars().count());
    let mut out = format!("{rule}\n{header}\n{rule}\n");
    for m in metrics {
        let ci = format!(
            "{}-{}",
            pct1(m.score_interval.low),
            pct1(m.score_interval.high)
        );
        let _ = write!(
            out,
            "{:<label_width$}  {:>5} {:>13} {:>5} {:>5} {:>4} {:>4} {:>6} {:>3}",
            short_label(&m.config),
            pct1(m.score),
            ci,
            m.accuracy.map_or_else(|| "—".to_owned(), pct1),
            pct1(m.completeness),
            pct0(m.efficiency),
            m.avg_wasted
                .map_or_else(|| "—".to_owned(), |w| format!("{w:.1}")),
            m.speed
                .map_or_else(|| "—".to_owned(), |s| format!("{s:.1}s")),
            m.runs_per_scenario,
        );
        for scenario in scenarios {
            let cell = m
                .scenarios
                .get(scenario)
                .map_or_else(|| "I".to_owned(), |c| pct0(c.score));
            let _ = write!(out, " {cell:>5}");
        }
        out.push('\n');
    }
    out.push_str(&rule);
    out.push('\n');
    out
}

/// What the columns and abbreviations mean.
pub fn legend(scenarios: &[String]) -> String {
    let mut out = String::from(
        "Scr = correct / all runs (incomplete runs count as failures), with its Wilson 95% interval\n\
         Acc = correct / validated runs   Cmp = completed / all runs\n\
         Eff = ideal calls / actual calls over correct runs   Wst = avg extra calls (completed runs)\n\
         Spd = avg seconds per completed run   N = runs per scenario   I = scenario not run\n\
         Backends: LS llama-server, LF llamafile, OL Ollama, VL vLLM, OA OpenAI-compatible, AN Anthropic, SC scripted; modes: N native, P prompt\n\
         Presets: reforged = all guardrails; bare = none; no_X = reforged without X\n\
         Constrained decoding: PRESET = policy never; PRESET+retry = retries constrained; PRESET+always = every call constrained\n",
    );
    let abbreviations: Vec<String> = scenarios
        .iter()
        .map(|s| format!("{} {s}", abbreviation(s)))
        .collect();
    for chunk in abbreviations.chunks(4) {
        out.push_str("  ");
        out.push_str(&chunk.join("   "));
        out.push('\n');
    }
    out
}

/// Per base config: every configuration's score and interval, and for all but the baseline
/// (`reforged` under policy `never`) the delta, discordant pairs `b/c` (b = baseline right and
/// configuration wrong) and the exact McNemar p-value.
pub fn significance_table(comparisons: &[BaseComparison]) -> String {
    let mut out = String::new();
    for base in comparisons {
        let _ = writeln!(
            out,
            "{} ({}/{}){}",
            base.model,
            base.backend,
            base.mode,
            if base.tool_choice == "auto" {
                String::new()
            } else {
                format!(" tool_choice={}", base.tool_choice)
            }
        );
        let _ = writeln!(
            out,
            "  {:<16} {:>5} {:>7} {:>13} {:>8} {:>7} {:>10} {:>5}",
            "configuration", "runs", "score%", "95% CI", "delta", "b/c", "p (exact)", ""
        );
        for p in &base.presets {
            let ci = format!("{}-{}", pct1(p.interval.low), pct1(p.interval.high));
            let delta = p
                .delta
                .map_or_else(String::new, |d| format!("{:+.1}", d * 100.0));
            let (bc, pv, star) = p.test.map_or_else(
                || (String::new(), String::new(), ""),
                |t| {
                    (
                        format!("{}/{}", t.b, t.c),
                        format!("{:.2e}", t.p_value),
                        stars(t.p_value),
                    )
                },
            );
            let _ = writeln!(
                out,
                "  {:<16} {:>5} {:>7} {:>13} {:>8} {:>7} {:>10} {:>5}",
                p.configuration,
                p.runs,
                pct1(p.score),
                ci,
                delta,
                bc,
                pv,
                star
            );
        }
        out.push('\n');
    }
    out.push_str(
        "b = reforged correct & configuration wrong; c = reforged wrong & configuration correct, \
         over runs paired by (scenario, run); the baseline is reforged with constraint policy never.\n*** p < .001, ** p < .01, * p < .05 (exact two-sided McNemar test).\n",
    );
    out
}
