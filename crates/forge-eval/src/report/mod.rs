//! Reports over JSONL rows: an ASCII table, markdown views and a self-contained HTML dashboard.
//!
//! Every view reads rows only (no model, no backend) and is deterministic for given rows and
//! timestamp, so reports can be regenerated from committed results.

mod ascii;
mod html;
mod markdown;

pub use ascii::{ascii_table, legend, significance_table};
pub use html::html_dashboard;
pub use markdown::{outcomes_table, write_markdown};

use crate::row::ConfigKey;

/// `"{model} {B}/{M} [{configuration}]"` with short backend and mode codes; the configuration
/// is the preset, with `+retry` / `+always` for a constraint policy other than `never`.
pub fn short_label(config: &ConfigKey) -> String {
    let backend = match config.backend.as_str() {
        "llamaserver" => "LS",
        "llamafile" => "LF",
        "anthropic" => "AN",
        "ollama" => "OL",
        "vllm" => "VL",
        "openai" => "OA",
        "scripted" => "SC",
        _ => "??",
    };
    let mode = match config.mode.as_str() {
        "native" => "N",
        "prompt" => "P",
        _ => "?",
    };
    let choice = if config.tool_choice == "auto" {
        String::new()
    } else {
        format!("+{}", config.tool_choice)
    };
    format!(
        "{} {backend}/{mode} [{}{choice}]",
        config.model,
        config.configuration()
    )
}

/// A fraction as a percentage with one decimal (`84.5`).
pub(crate) fn pct1(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// A fraction as a whole percentage (`85`).
pub(crate) fn pct0(x: f64) -> String {
    format!("{:.0}", x * 100.0)
}
