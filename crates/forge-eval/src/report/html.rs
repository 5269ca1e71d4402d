//! A self-contained HTML dashboard: one file, inline CSS and SVG charts, no scripts, no external
//! resources, so it opens from disk or as a CI artifact anywhere.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{pct0, pct1, short_label};
use crate::metrics::{abbreviation, config_metrics, scenario_order, ConfigMetrics};
use crate::row::RunRow;
use crate::significance::{compare_presets, DuplicateRun};
use crate::stats::stars;

const MIN_LABEL_WIDTH: f64 = 230.0;
/// Approximate advance of one 11 px label character, to size the label column.
const LABEL_CHAR_WIDTH: f64 = 6.4;
const PLOT_WIDTH: f64 = 700.0;
const BAR_HEIGHT: f64 = 12.0;
const BAR_GAP: f64 = 3.0;
const GROUP_GAP: f64 = 12.0;
const AXIS_TOP: f64 = 28.0;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The colour of a configuration (`reforged`, `reforged+retry`, …): constrained variants of
/// reforged and bare get lighter shades of their preset's colour.
fn preset_colour(configuration: &str) -> &'static str {
    match configuration {
        "reforged+retry" => "#4299e1",
        "reforged+always" => "#90cdf4",
        "bare+retry" => "#f56565",
        "bare+always" => "#feb2b2",
        other => base_colour(other.split('+').next().unwrap_or(other)),
    }
}

fn base_colour(ablation: &str) -> &'static str {
    match ablation {
        "reforged" => "#2b6cb0",
        "bare" => "#c53030",
        "no_rescue" => "#d69e2e",
        "no_nudge" => "#805ad5",
        "no_steps" => "#38a169",
        "no_recovery" => "#dd6b20",
        "no_compact" => "#718096",
        _ => "#4a5568",
    }
}

fn heat_class(score: f64) -> &'static str {
    match score {
        s if s >= 0.95 => "h5",
        s if s >= 0.90 => "h4",
        s if s >= 0.70 => "h3",
        s if s >= 0.50 => "h2",
        _ => "h1",
    }
}

/// A bar with its interval whisker and a tooltip.
struct Bar {
    score: f64,
    low: f64,
    high: f64,
    colour: &'static str,
    tooltip: String,
    value: String,
}

/// Where the plot starts: after the widest label.
fn plot_left<'a>(labels: impl Iterator<Item = &'a str>) -> f64 {
    let widest = labels.map(|l| l.chars().count()).max().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)] // label lengths are tiny
    let width = widest as f64 * LABEL_CHAR_WIDTH + 16.0;
    width.max(MIN_LABEL_WIDTH)
}

fn x_of(left: f64, fraction: f64) -> f64 {
    left + fraction.clamp(0.0, 1.0) * PLOT_WIDTH
}

fn axis(svg: &mut String, left: f64, height: f64) {
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = x_of(left, tick);
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="{AXIS_TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e2e8f0"/><text x="{x:.1}" y="{:.1}" class="tick">{}%</text>"##,
            height - 4.0,
            AXIS_TOP - 8.0,
            pct0(tick)
        );
    }
}

fn bar(svg: &mut String, left: f64, y: f64, b: &Bar) {
    let width = (x_of(left, b.score) - left).max(0.0);
    let mid = y + BAR_HEIGHT / 2.0;
    let (lx, hx) = (x_of(left, b.low), x_of(left, b.high));
    let _ = write!(
        svg,
        r##"<g><title>{tip}</title><rect x="{left:.1}" y="{y:.1}" width="{width:.1}" height="{BAR_HEIGHT}" fill="{c}" rx="2"/><line x1="{lx:.1}" y1="{mid:.1}" x2="{hx:.1}" y2="{mid:.1}" stroke="#1a202c" stroke-width="1.5"/><line x1="{lx:.1}" y1="{t:.1}" x2="{lx:.1}" y2="{bt:.1}" stroke="#1a202c" stroke-width="1.5"/><line x1="{hx:.1}" y1="{t:.1}" x2="{hx:.1}" y2="{bt:.1}" stroke="#1a202c" stroke-width="1.5"/><text x="{vx:.1}" y="{ty:.1}" class="val">{v}</text></g>"##,
        tip = escape(&b.tooltip),
        c = b.colour,
        t = y + 2.0,
        bt = y + BAR_HEIGHT - 2.0,
        vx = left + PLOT_WIDTH + 8.0,
        ty = y + BAR_HEIGHT - 2.0,
        v = escape(&b.value),
    );
}

fn cell_bar(
    label: &str,
    runs: u64,
    correct: u64,
    score: f64,
    low: f64,
    high: f64,
    configuration: &str,
) -> Bar {
    Bar {
        score,
        low,
        high,
        colour: preset_colour(configuration),
        tooltip: format!(
            "{label} · {configuration}: {correct}/{runs} = {}% (95% CI {}–{}%)",
            pct1(score),
            pct1(low),
            pct1(high)
        ),
        value: format!("{}%", pct0(score)),
    }
}

/// Overall score per config, one bar each.
fn config_chart(metrics: &[ConfigMetrics]) -> String {
    let labels: Vec<String> = metrics.iter().map(|m| short_label(&m.config)).collect();
    let left = plot_left(labels.iter().map(String::as_str));
    let height = AXIS_TOP + metrics.len() as f64 * (BAR_HEIGHT + 8.0) + 10.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height:.0}" viewBox="0 0 {w} {height:.0}" role="img" aria-label="Score by config">"#,
        w = left + PLOT_WIDTH + 60.0
    );
    axis(&mut svg, left, height);
    for (i, m) in metrics.iter().enumerate() {
        let y = AXIS_TOP + i as f64 * (BAR_HEIGHT + 8.0) + 4.0;
        let label = short_label(&m.config);
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="lab">{}</text>"#,
            left - 8.0,
            y + BAR_HEIGHT - 2.0,
            escape(&label)
        );
        bar(
            &mut svg,
            left,
            y,
            &cell_bar(
                &label,
                m.total_runs,
                m.correct,
                m.score,
                m.score_interval.low,
                m.score_interval.high,
                &m.config.configuration(),
            ),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Success by scenario (groups) and preset (bars) for one base config.
fn scenario_chart(presets: &[&ConfigMetrics], scenarios: &[String]) -> String {
    let left = plot_left(scenarios.iter().map(String::as_str));
    let group = presets.len() as f64 * (BAR_HEIGHT + BAR_GAP) + GROUP_GAP;
    let height = AXIS_TOP + scenarios.len() as f64 * group + 6.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height:.0}" viewBox="0 0 {w} {height:.0}" role="img" aria-label="Success by scenario and preset">"#,
        w = left + PLOT_WIDTH + 60.0
    );
    axis(&mut svg, left, height);
    for (si, scenario) in scenarios.iter().enumerate() {
        let top = AXIS_TOP + si as f64 * group + 4.0;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="lab">{}</text>"#,
            left - 8.0,
            top + (group - GROUP_GAP) / 2.0 + 4.0,
            escape(scenario)
        );
        for (pi, m) in presets.iter().enumerate() {
            let y = top + pi as f64 * (BAR_HEIGHT + BAR_GAP);
            match m.scenarios.get(scenario) {
                Some(cell) => bar(
                    &mut svg,
                    left,
                    y,
                    &cell_bar(
                        scenario,
                        cell.runs,
                        cell.correct,
                        cell.score,
                        cell.interval.low,
                        cell.interval.high,
                        &m.config.configuration(),
                    ),
                ),
                None => {
                    let _ = write!(
                        svg,
                        r#"<text x="{:.1}" y="{:.1}" class="na">not run ({})</text>"#,
                        left + 4.0,
                        y + BAR_HEIGHT - 2.0,
                        escape(&m.config.configuration())
                    );
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

fn legend_html(ablations: &[String]) -> String {
    let mut out = String::from(r#"<div class="legend">"#);
    for a in ablations {
        let _ = write!(
            out,
            r#"<span><i style="background:{}"></i>{}</span>"#,
            preset_colour(a),
            escape(a)
        );
    }
    out.push_str(r#"<span><i class="whisker"></i>Wilson 95% interval</span></div>"#);
    out
}

fn config_table(metrics: &[ConfigMetrics], scenarios: &[String]) -> String {
    let mut out = String::from(
        "<table><thead><tr><th>Config</th><th>Score</th><th>95% CI</th><th>Acc</th><th>Cmp</th><th>Eff</th><th>Wst</th><th>Spd</th><th>N</th>",
    );
    for s in scenarios {
        let _ = write!(
            out,
            r#"<th title="{}">{}</th>"#,
            escape(s),
            escape(&abbreviation(s))
        );
    }
    out.push_str("</tr></thead><tbody>");
    for m in metrics {
        let _ = write!(
            out,
            r#"<tr><td class="cfg">{}</td><td class="{}">{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"#,
            escape(&short_label(&m.config)),
            heat_class(m.score),
            pct1(m.score),
            pct1(m.score_interval.low),
            pct1(m.score_interval.high),
            m.accuracy.map_or_else(|| "—".to_owned(), pct1),
            pct1(m.completeness),
            pct0(m.efficiency),
            m.avg_wasted
                .map_or_else(|| "—".to_owned(), |w| format!("{w:.1}")),
            m.speed
                .map_or_else(|| "—".to_owned(), |s| format!("{s:.1}s")),
            m.runs_per_scenario,
        );
        for s in scenarios {
            match m.scenarios.get(s) {
                Some(c) => {
                    let _ = write!(
                        out,
                        r#"<td class="{}" title="{}/{}">{}</td>"#,
                        heat_class(c.score),
                        c.correct,
                        c.runs,
                        pct0(c.score)
                    );
                }
                None => out.push_str(r#"<td class="na">I</td>"#),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

const STYLE: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1a202c;background:#f7fafc}\
header{background:#1a365d;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;opacity:.85}\
main{padding:8px 28px 28px}section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:14px 18px;margin:16px 0;overflow-x:auto}\
h2{font-size:16px;margin:0 0 10px}svg text{font:11px system-ui,sans-serif;fill:#2d3748}svg .lab{text-anchor:end}svg .tick{text-anchor:middle;fill:#718096}\
svg .na{fill:#a0aec0;font-style:italic}table{border-collapse:collapse;font-size:12px}th,td{border:1px solid #e2e8f0;padding:3px 6px;text-align:right;white-space:nowrap}\
th{background:#edf2f7}td.cfg{text-align:left;font-weight:600}.h5{background:#c6f6d5}.h4{background:#d9f99d}.h3{background:#fefcbf}.h2{background:#feebc8}.h1{background:#fed7d7}td.na{color:#a0aec0}\
.legend{margin:6px 0 10px}.legend span{margin-right:16px;display:inline-flex;align-items:center;gap:5px}.legend i{display:inline-block;width:14px;height:10px;border-radius:2px}\
.legend i.whisker{height:2px;background:#1a202c}pre{font-size:12px;background:#f7fafc;padding:10px;border-radius:6px}footer{color:#718096;padding:0 28px 24px;font-size:12px}";

/// The dashboard for `rows`: overall scores per config, success by scenario and preset for every
/// (model, backend, mode), a heat-coloured table, and the paired significance of each preset
/// against reforged. Every bar carries its Wilson 95 % interval.
pub fn html_dashboard(rows: &[RunRow], timestamp: &str) -> Result<String, DuplicateRun> {
    let scenarios = scenario_order(rows);
    let metrics = config_metrics(rows);
    let comparisons = compare_presets(rows)?;
    let mut ranked: Vec<((usize, usize), String)> = metrics
        .iter()
        .map(|m| (m.config.configuration_rank(), m.config.configuration()))
        .collect();
    ranked.sort();
    ranked.dedup();
    let ablations: Vec<String> = ranked.into_iter().map(|(_, name)| name).collect();

    let mut html = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>forge-rs eval dashboard</title><style>{STYLE}</style></head><body><header><h1>forge-rs eval dashboard</h1><p>{} runs · {} configs · {} scenarios · generated {}</p></header><main>"#,
        rows.len(),
        metrics.len(),
        scenarios.len(),
        escape(timestamp)
    );
    let _ = write!(
        html,
        "<section><h2>Score by config</h2>{}{}</section>",
        legend_html(&ablations),
        config_chart(&metrics)
    );
    let mut bases: BTreeMap<_, Vec<&ConfigMetrics>> = BTreeMap::new();
    for m in &metrics {
        bases.entry(m.config.base()).or_default().push(m);
    }
    for ((model, backend, mode, tool_choice), mut presets) in bases {
        presets.sort_by_key(|m| m.config.configuration_rank());
        let names: Vec<String> = presets.iter().map(|m| m.config.configuration()).collect();
        let choice = if tool_choice == "auto" {
            String::new()
        } else {
            format!(" tool_choice={tool_choice}")
        };
        let _ = write!(
            html,
            "<section><h2>Success by scenario and preset — {}</h2>{}{}</section>",
            escape(&format!("{model} ({backend}/{mode}){choice}")),
            legend_html(&names),
            scenario_chart(&presets, &scenarios)
        );
    }
    let _ = write!(
        html,
        "<section><h2>Configs</h2>{}</section>",
        config_table(&metrics, &scenarios)
    );
    let mut significance = String::from(
        "<table><thead><tr><th>Config</th><th>Configuration</th><th>Runs</th><th>Score</th><th>95% CI</th><th>Δ vs reforged</th><th>b/c</th><th>p (exact McNemar)</th><th></th></tr></thead><tbody>",
    );
    for base in &comparisons {
        for p in &base.presets {
            let (bc, pv, star) = p.test.map_or_else(
                || ("—".to_owned(), "—".to_owned(), ""),
                |t| {
                    (
                        format!("{}/{}", t.b, t.c),
                        format!("{:.2e}", t.p_value),
                        stars(t.p_value),
                    )
                },
            );
            let _ = write!(
                significance,
                r#"<tr><td class="cfg">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&format!("{} ({}/{})", base.model, base.backend, base.mode)),
                escape(&p.configuration),
                p.runs,
                pct1(p.score),
                pct1(p.interval.low),
                pct1(p.interval.high),
                p.delta
                    .map_or_else(|| "—".to_owned(), |d| format!("{:+.1}", d * 100.0)),
                bc,
                pv,
                star
            );
        }
    }
    significance.push_str("</tbody></table><p>b = reforged correct and configuration wrong, c = the reverse, over runs paired by (scenario, run index); the baseline is reforged with constraint policy never; PRESET+retry / PRESET+always are run with that constrained-decoding policy.</p>");
    let _ = write!(
        html,
        "<section><h2>Paired significance against reforged</h2>{significance}</section>"
    );
    let _ = writeln!(
        html,
        "</main><footer><pre>{}</pre></footer></body></html>",
        escape(&super::legend(&scenarios))
    );
    Ok(html)
}
