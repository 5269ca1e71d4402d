//! Reports rendered from fixed rows: the ASCII and markdown views, and the HTML dashboard loaded
//! in headless Chromium (Debian package `chromium`).
//!
//! The browser test fails when Chromium is missing, unless `FORGE_SKIP_BROWSER=1`, in which case
//! it prints why it skipped.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use forge_eval::metrics::{config_metrics, scenario_order};
use forge_eval::report::{ascii_table, html_dashboard, write_markdown};
use forge_eval::row::RunRow;

const TIMESTAMP: &str = "2026-01-01 00:00 UTC";

/// 5 runs of 6 scenarios under 3 presets of one model, plus a reforged-only second model;
/// outcomes follow a fixed pattern so every bar differs.
fn fixed_rows() -> Vec<RunRow> {
    let scenarios = [
        "basic_2step",
        "sequential_3step",
        "error_recovery",
        "tool_selection",
        "relevance_detection",
        "compaction_chain_p1",
    ];
    let mut rows = Vec::new();
    for (model, presets) in [
        ("SmolLM2-135M", &["reforged", "bare", "no_steps"][..]),
        ("Qwen3-8B-Q4_K_M", &["reforged"][..]),
    ] {
        for (pi, preset) in presets.iter().enumerate() {
            for (si, scenario) in scenarios.iter().enumerate() {
                for run in 1..=5u32 {
                    let complete = (run as usize + si + pi) % 4 != 0;
                    let correct = complete && (run as usize) <= 5 - pi - si % 3;
                    rows.push(RunRow {
                        model: model.into(),
                        backend: "llamaserver".into(),
                        mode: "native".into(),
                        ablation: (*preset).into(),
                        constraint: "never".into(),
                        tool_choice: "auto".into(),
                        scenario: (*scenario).into(),
                        run,
                        completeness: complete,
                        iterations: 3 + pi as u32,
                        elapsed_s: 1.25 + si as f64,
                        error_type: (!complete).then(|| "MaxIterations".into()),
                        error_message: (!complete).then(|| "Max iterations reached".into()),
                        compaction_events: 0,
                        budget_tokens: Some(4096),
                        stream_retries: 0,
                        retry_nudges: Some(pi as u32),
                        step_nudges: Some(0),
                        tool_errors: Some(0),
                        reasoning_msgs: Some(0),
                        accuracy: complete.then_some(correct),
                        validate_error: None,
                        ideal_iterations: 2,
                        wasted_calls: complete.then_some(1 + pi as u32),
                        input_tokens: None,
                        output_tokens: None,
                        cost_usd: None,
                        sampling: None,
                        forge_rs: None,
                    });
                }
            }
        }
    }
    rows
}

#[test]
fn ascii_table_lists_every_config_and_scenario_column() {
    let rows = fixed_rows();
    let scenarios = scenario_order(&rows);
    let table = ascii_table(&config_metrics(&rows), &scenarios);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.len(),
        4 + 4,
        "rule, header, rule, 4 configs, rule:\n{table}"
    );
    assert!(
        lines[1].contains("b2s") && lines[1].contains("cc1"),
        "{table}"
    );
    assert!(table.contains("SmolLM2-135M LS/N [bare]"), "{table}");
    insta::assert_snapshot!("fixed_rows_ascii_table", table);
    // Columns line up: every line has the same width.
    let width = lines[0].chars().count();
    assert!(lines.iter().all(|l| l.chars().count() == width), "{table}");
}

#[test]
fn markdown_views_are_written_for_the_cuts_that_have_data() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_markdown(dir.path(), &fixed_rows(), TIMESTAMP).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "index.md",
            "raw/reforged/all.md",
            "raw/reforged-vs-bare.md",
            "raw/ablation.md",
            "raw/outcomes.md",
            "raw/significance.md"
        ]
    );
    let index = std::fs::read_to_string(dir.path().join("index.md")).unwrap();
    assert!(
        index.contains("[Reforged vs bare](raw/reforged-vs-bare.md)"),
        "{index}"
    );
    let versus = std::fs::read_to_string(dir.path().join("raw/reforged-vs-bare.md")).unwrap();
    assert!(
        versus.contains("[reforged]") && versus.contains("[bare]"),
        "{versus}"
    );
    assert!(!versus.contains("[no_steps]"), "{versus}");
    assert!(versus.ends_with(&format!("*Generated {TIMESTAMP}*\n")));
}

#[test]
fn dashboard_is_self_contained() {
    let html = html_dashboard(&fixed_rows(), TIMESTAMP).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "no scripts");
    assert!(!html.contains("src="), "no external resources");
    assert!(!html.contains("href="), "no links to stylesheets");
    let external = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!external.contains("http://") && !external.contains("https://"));
    // One overall chart plus one per (model, backend, mode).
    assert_eq!(html.matches("<svg").count(), 3);
    assert!(html.contains("Wilson 95% interval"));
}

fn find_chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|candidate| candidate.is_file())
            })
        })
}

fn screenshot(chromium: &Path, html: &Path, png: &Path, profile: &Path) {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,900")
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hung browser must not hang the suite; this is a deadline, not a performance assertion.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn dashboard_renders_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        if std::env::var("FORGE_SKIP_BROWSER").as_deref() == Ok("1") {
            println!("skipped: chromium is not installed and FORGE_SKIP_BROWSER=1");
            return;
        }
        panic!(
            "chromium is not installed: install it (Debian: `apt-get install -y chromium`) \
             or set FORGE_SKIP_BROWSER=1 to skip this test"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let html_path = dir.path().join("dashboard.html");
    let png_path = dir.path().join("dashboard.png");
    std::fs::write(
        &html_path,
        html_dashboard(&fixed_rows(), TIMESTAMP).unwrap(),
    )
    .unwrap();
    screenshot(
        &chromium,
        &html_path,
        &png_path,
        &dir.path().join("profile"),
    );
    if let Ok(keep) = std::env::var("FORGE_KEEP_SCREENSHOT") {
        std::fs::copy(&png_path, keep).unwrap();
    }

    let decoder = png::Decoder::new(std::fs::File::open(&png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let channels = info.line_size / info.width as usize;
    let pixels = &pixels[..info.buffer_size()];
    let colours: std::collections::HashSet<&[u8]> = pixels.chunks(channels).collect();
    assert!(
        colours.len() > 16,
        "the screenshot is (nearly) one flat colour: {} colours",
        colours.len()
    );
    // The header band is the dashboard's navy, so the inline CSS was applied.
    let at = |x: usize, y: usize| &pixels[(y * info.width as usize + x) * channels..][..3];
    assert_eq!(at(5, 5), [0x1a, 0x36, 0x5d], "header colour");
    // Reforged bars (blue) and bare bars (red) are both on screen.
    let has = |rgb: [u8; 3]| pixels.chunks(channels).any(|p| p[..3] == rgb);
    assert!(has([0x2b, 0x6c, 0xb0]), "no reforged bar rendered");
    assert!(has([0xc5, 0x30, 0x30]), "no bare bar rendered");
}
