//! `forge-eval`: run the reference scenarios against a model and report how reliably it calls
//! tools, with and without forge's guardrails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use forge_client::sampling_defaults::sampling_defaults;
use forge_client::LlmClient;
use forge_eval::batch::{BatchConfig, BatchPlan};
use forge_eval::metrics::{config_metrics, scenario_order};
use forge_eval::preset::{Configuration, Preset};
use forge_eval::report::{ascii_table, html_dashboard, legend, significance_table, write_markdown};
use forge_eval::row::{append_row, read_rows, read_rows_from_files, RunRow};
use forge_eval::run::{run_scenario, RowIdentity, RunSettings};
use forge_eval::scenario::{all_scenarios, Scenario, TAGS};
use forge_eval::scripted::GoldenClient;
use forge_eval::significance::compare_presets;
use forge_guardrails::ConstraintPolicy;

const ABOUT: &str =
    "Run forge's reference tool-calling scenarios against a model and report how reliably it \
calls tools, with and without forge's guardrails.";

const LONG_ABOUT: &str = "\
Run forge's reference tool-calling scenarios against a model and report how reliably it calls \
tools, with and without forge's guardrails.

The suite has 30 deterministic scenarios (13 single-shot, 13 stateful twins, 4 compaction \
chains; see `forge-eval list`). Each run gives the model a system prompt, a user message and \
tools with fake deterministic behaviour; a run is correct when the terminal tool ran and its \
arguments (and, for stateful scenarios, the backend's end state) pass the scenario's check.

Ablation presets choose which guardrails are on:
  reforged     all guardrails (rescue parsing, 5 retries, step enforcement, 2 tool errors, compaction)
  bare         none of them
  no_rescue    tool calls written as text are not rescued
  no_nudge     no retry nudges and no rescue
  no_steps     required steps are not enforced
  no_recovery  the first tool exception ends the run
  no_compact   no compaction (the compaction-pressure scenarios P1-P3 are skipped)

Constrained decoding (--constraint / --constraints): `never` (default, the reference \
behaviour), `retry` (every retry after a failed attempt is constrained to one valid tool call) \
or `always` (every call is constrained). The policy is orthogonal to the presets: \
`reforged` + `always` is every guardrail plus constraint, `bare` + `always` is constraint alone. \
Reports name a configuration by its preset under `never` and `PRESET+POLICY` otherwise \
(`reforged+retry`, `bare+always`); significance pairs every configuration with `reforged` \
under `never`. `batch` and `llama-suite` run --presets × --constraints, or exactly the \
configurations given with repeatable `--config PRESET[:POLICY]` (e.g. `--config reforged \
--config reforged:always --config bare`). Constraint needs a backend that can constrain \
(llama-server, llamafile); others log a warning and run unconstrained.

Capability (--mode): `native` uses the server's function calling; `prompt` describes the tools \
in the prompt and parses calls out of the text (llama-server / llamafile only).

Sampling: `--sampling recommended` (default) applies the model's recommended sampling from \
forge's map when the model is in it; a model missing from the map runs on the backend's \
defaults unless `--strict-sampling` is given, which refuses it. `--sampling backend` never \
applies the map. Each row records which one was used.

Results are JSONL, one row per run (model, backend, mode, ablation, constraint, scenario, run, \
outcome, \
iterations, budget, counters). `batch` appends to its output file and resumes: rows already \
present (for the same model, mode, preset and constraint policy) are not run again. `report` prints the table and writes markdown views and a \
self-contained HTML dashboard; `significance` compares each configuration with reforged on the \
same scenario and run (Wilson 95% intervals, exact McNemar test).

Examples:
  forge-eval run --backend scripted --runs 1
  forge-eval batch --backend llamaserver --base-url http://127.0.0.1:8080/v1 \\
      --model SmolLM2-135M-Instruct.Q4_1 --presets reforged,bare --modes native,prompt \\
      --runs 3 --output results.jsonl
  forge-eval llama-suite --url http://127.0.0.1:8080 --model SmolLM2-135M-Instruct.Q4_1 \\
      --runs 3 --output results.jsonl --report-dir report/
  forge-eval llama-suite --url http://127.0.0.1:8080 --model SmolLM2-135M-Instruct.Q4_1 \\
      --config reforged --config reforged:retry --config reforged:always --config bare \\
      --modes native --runs 3 --output results.jsonl
  forge-eval report results.jsonl --html dashboard.html --markdown docs/results
  forge-eval report baseline/results.jsonl constrained/results.jsonl --markdown combined/";

#[derive(Debug, Parser)]
#[command(name = "forge-eval", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// Log level for diagnostics on stderr (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "error", env = "FORGE_EVAL_LOG")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the scenarios (name, suite, tags, iteration limit, ideal calls).
    List(SelectArgs),
    /// Run the selected scenarios N times for one model and one preset, print the report.
    Run(RunArgs),
    /// Run every (mode, preset, constraint policy, scenario) N times, appending JSONL rows;
    /// resumes an interrupted batch.
    Batch(BatchArgs),
    /// Run the suite against a running llama-server (default: reforged and bare, native and
    /// prompt, constraint never), then write the reports.
    LlamaSuite(LlamaSuiteArgs),
    /// Print the table for a JSONL file; optionally write markdown views and the HTML dashboard.
    Report(ReportArgs),
    /// Compare every configuration with reforged on paired runs (Wilson intervals, exact McNemar
    /// test).
    Significance(SignificanceArgs),
    /// Print, as JSON, the sampling a llama-server model runs with under `--sampling
    /// recommended` (the map's entry, or backend defaults when the model is not in it).
    Sampling(SamplingArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// llama.cpp's llama-server (OpenAI-compatible API, native or prompt tool calling).
    Llamaserver,
    /// A llamafile server (prompt tool calling).
    Llamafile,
    /// Any OpenAI-compatible chat-completions API (native tool calling).
    Openai,
    /// vLLM's OpenAI-compatible server (native tool calling).
    Vllm,
    /// Ollama's /api/chat (native tool calling).
    Ollama,
    /// Anthropic's Messages API (native tool calling; needs ANTHROPIC_API_KEY).
    Anthropic,
    /// No model: replays each scenario's golden path (checks the harness end to end).
    Scripted,
}

impl Backend {
    fn row_name(self) -> &'static str {
        match self {
            Self::Llamaserver => "llamaserver",
            Self::Llamafile => "llamafile",
            Self::Openai => "openai",
            Self::Vllm => "vllm",
            Self::Ollama => "ollama",
            Self::Anthropic => "anthropic",
            Self::Scripted => "scripted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// The server's function calling.
    Native,
    /// Tools in the prompt, calls parsed from text.
    Prompt,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Prompt => "prompt",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Sampling {
    /// The model's recommended sampling from forge's map, when the model is in it.
    Recommended,
    /// Never apply the map: the backend's defaults.
    Backend,
}

#[derive(Debug, Clone, Args)]
struct SelectArgs {
    /// Only these scenarios (repeatable; applied after --tags).
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Only scenarios having any of these tags (plumbing, model_quality, reasoning,
    /// advanced_reasoning, error_recovery, stateful, compaction).
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    tags: Vec<String>,
}

#[derive(Debug, Clone, Args)]
struct ClientArgs {
    /// The model server.
    #[arg(long, value_enum, default_value = "scripted")]
    backend: Backend,
    /// API root (e.g. http://127.0.0.1:8080/v1 for llama-server); the backend's default if unset.
    #[arg(long)]
    base_url: Option<String>,
    /// Model identity: GGUF file name or stem (llama-server/llamafile), Ollama tag, or API model id.
    #[arg(long, default_value = "golden")]
    model: String,
    /// API key (Anthropic: defaults to $ANTHROPIC_API_KEY; OpenAI-compatible: bearer token).
    #[arg(long, env = "FORGE_EVAL_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Sampling source.
    #[arg(long, value_enum, default_value = "recommended")]
    sampling: Sampling,
    /// With --sampling recommended: refuse a model missing from the map instead of running it
    /// on backend defaults.
    #[arg(long)]
    strict_sampling: bool,
    /// Context budget in tokens for scenarios without their own; default: the server's context
    /// length when it reports one (llama-server /props), else an error.
    #[arg(long)]
    budget: Option<u32>,
    /// Stream responses.
    #[arg(long)]
    stream: bool,
    /// Do not keep message histories (the nudge and error counters are then null).
    #[arg(long)]
    no_history: bool,
    /// Per-run wall-clock limit in seconds (a run over it is recorded as error type Timeout).
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Cap on generated tokens per model call (sent as max_tokens); the backend's default if unset.
    #[arg(long)]
    max_tokens: Option<u32>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Tool-calling capability.
    #[arg(long, value_enum, default_value = "native")]
    mode: Mode,
    /// Ablation preset.
    #[arg(long, default_value = "reforged")]
    preset: Preset,
    /// Constrained-decoding policy: never, retry (retries constrained) or always.
    #[arg(long, default_value = "never", value_name = "POLICY")]
    constraint: ConstraintPolicy,
    /// Runs per scenario.
    #[arg(long, default_value_t = 1)]
    runs: u32,
    /// Also append the rows to this JSONL file.
    #[arg(long)]
    output: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct BatchArgs {
    #[command(flatten)]
    client: ClientArgs,
    #[command(flatten)]
    select: SelectArgs,
    /// Capabilities to run (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "native")]
    modes: Vec<Mode>,
    #[command(flatten)]
    matrix: MatrixArgs,
    /// Target runs per (mode, configuration, scenario).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// JSONL output (appended; rows already present are not run again).
    #[arg(long)]
    output: PathBuf,
    /// Print what would run, then exit.
    #[arg(long)]
    dry_run: bool,
    /// No progress line.
    #[arg(long)]
    no_progress: bool,
}

/// Which (preset, constraint policy) configurations to run.
#[derive(Debug, Clone, Args)]
struct MatrixArgs {
    /// Presets to run (comma-separated); each under every --constraints policy.
    #[arg(long, value_delimiter = ',', default_value = "reforged,bare")]
    presets: Vec<Preset>,
    /// Constrained-decoding policies to run (comma-separated: never, retry, always); each with
    /// every --presets preset.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "never",
        value_name = "POLICY"
    )]
    constraints: Vec<ConstraintPolicy>,
    /// Run exactly these configurations instead of --presets × --constraints (repeatable;
    /// PRESET or PRESET:POLICY, e.g. reforged:retry; a bare PRESET means policy never).
    #[arg(
        long = "config",
        value_name = "PRESET[:POLICY]",
        conflicts_with_all = ["presets", "constraints"]
    )]
    configs: Vec<Configuration>,
}

impl MatrixArgs {
    fn configurations(&self) -> Vec<Configuration> {
        if self.configs.is_empty() {
            Configuration::cross(&self.presets, &self.constraints)
        } else {
            self.configs.clone()
        }
    }
}

#[derive(Debug, Args)]
struct LlamaSuiteArgs {
    /// llama-server root URL (e.g. http://127.0.0.1:8080); `/v1` is appended for the API.
    #[arg(long)]
    url: String,
    /// Model identity (GGUF file name or stem) recorded in the rows and used for sampling lookup.
    #[arg(long)]
    model: String,
    /// Runs per (mode, configuration, scenario).
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Capabilities to run (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "native,prompt"
    )]
    modes: Vec<Mode>,
    #[command(flatten)]
    matrix: MatrixArgs,
    /// Print what would run, then exit.
    #[arg(long)]
    dry_run: bool,
    /// JSONL output (appended; resumes).
    #[arg(long)]
    output: PathBuf,
    /// Write index.md, raw/*.md and dashboard.html here when done.
    #[arg(long)]
    report_dir: Option<PathBuf>,
    /// Context budget; default: the server's n_ctx.
    #[arg(long)]
    budget: Option<u32>,
    /// Per-run wall-clock limit in seconds.
    #[arg(long, default_value_t = 300)]
    timeout_secs: u64,
    /// Refuse a model missing from the sampling map (default: run it on backend defaults).
    #[arg(long)]
    strict_sampling: bool,
    /// Cap on generated tokens per model call (tiny CPU models otherwise ramble until the
    /// context is full).
    #[arg(long, default_value_t = 256)]
    max_tokens: u32,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Debug, Args)]
struct ReportArgs {
    /// The JSONL results; several files are reported as one (e.g. a baseline batch and a
    /// constrained batch run into separate folders).
    #[arg(required = true, num_args = 1..)]
    paths: Vec<PathBuf>,
    /// Write the self-contained HTML dashboard here.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write index.md and raw/*.md views into this directory.
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Only these presets (comma-separated).
    #[arg(long, value_delimiter = ',')]
    ablation: Vec<Preset>,
    /// Leave these scenarios out.
    #[arg(long = "exclude-scenario", value_name = "NAME")]
    exclude: Vec<String>,
    /// Timestamp written into the reports (default: now, UTC).
    #[arg(long)]
    timestamp: Option<String>,
}

#[derive(Debug, Args)]
struct SamplingArgs {
    /// Model identity or GGUF path, as given to `llama-suite --model`.
    model: String,
}

#[derive(Debug, Args)]
struct SignificanceArgs {
    /// The JSONL results (several files are compared as one).
    #[arg(required = true, num_args = 1..)]
    paths: Vec<PathBuf>,
    /// Only models whose identity contains this (repeatable).
    #[arg(long)]
    model: Vec<String>,
}

fn select_scenarios(select: &SelectArgs) -> Result<Vec<Scenario>> {
    for tag in &select.tags {
        if !TAGS.contains(&tag.as_str()) {
            bail!("unknown tag '{tag}' (known: {})", TAGS.join(", "));
        }
    }
    let all = all_scenarios();
    for name in &select.scenarios {
        if !all.iter().any(|s| s.name() == name) {
            bail!("unknown scenario '{name}' (see `forge-eval list`)");
        }
    }
    let chosen: Vec<Scenario> = all
        .into_iter()
        .filter(|s| select.tags.is_empty() || select.tags.iter().any(|t| s.has_tag(t)))
        .filter(|s| select.scenarios.is_empty() || select.scenarios.iter().any(|n| n == s.name()))
        .collect();
    if chosen.is_empty() {
        bail!("no scenario matches the selection");
    }
    Ok(chosen)
}

/// The model identity the rows record: a GGUF path or file name becomes its stem.
fn model_identity(backend: Backend, model: &str) -> String {
    match backend {
        Backend::Llamaserver | Backend::Llamafile => forge_llamacpp::model_name_from_path(model),
        _ => model.to_owned(),
    }
}

/// Whether to ask the client for recommended sampling, and what the rows record.
fn sampling_choice(args: &ClientArgs, identity: &str) -> Result<(bool, &'static str)> {
    if args.backend == Backend::Scripted || args.sampling == Sampling::Backend {
        return Ok((false, "backend_defaults"));
    }
    if sampling_defaults(identity).is_some() {
        return Ok((true, "recommended"));
    }
    if args.strict_sampling {
        bail!(
            "model '{identity}' is not in the sampling-defaults map and --strict-sampling is set \
             (drop --strict-sampling to run it on the backend's defaults, or use --sampling backend)"
        );
    }
    tracing::warn!(
        model = identity,
        "not in the sampling-defaults map: running on backend defaults"
    );
    Ok((false, "backend_defaults"))
}

fn build_client(args: &ClientArgs, mode: Mode) -> Result<(Arc<dyn LlmClient>, RowIdentity)> {
    let identity = model_identity(args.backend, &args.model);
    if mode == Mode::Prompt
        && !matches!(
            args.backend,
            Backend::Llamaserver | Backend::Llamafile | Backend::Scripted
        )
    {
        bail!("--mode prompt is only supported by the llamaserver and llamafile backends");
    }
    let (recommended, sampling) = sampling_choice(args, &identity)?;
    let client: Arc<dyn LlmClient> = match args.backend {
        Backend::Scripted => Arc::new(GoldenClient),
        Backend::Llamaserver | Backend::Llamafile => {
            let mut config = forge_llamacpp::LlamaServerConfig::new(&args.model)
                .mode(match mode {
                    Mode::Native => forge_llamacpp::ToolMode::Native,
                    Mode::Prompt => forge_llamacpp::ToolMode::Prompt,
                })
                .recommended_sampling(recommended);
            if args.backend == Backend::Llamafile {
                config = config.flavor(forge_llamacpp::ServerFlavor::Llamafile);
            }
            if let Some(url) = &args.base_url {
                config = config.base_url(url);
            }
            Arc::new(forge_llamacpp::LlamaServerClient::new(config)?)
        }
        Backend::Openai => {
            let url = args
                .base_url
                .clone()
                .context("--base-url is required for --backend openai")?;
            let mut config = forge_openai::OpenAiCompatConfig::new(&args.model, url)
                .recommended_sampling(recommended);
            if let Some(key) = &args.api_key {
                config = config.api_key(key);
            }
            Arc::new(forge_openai::OpenAiCompatClient::new(config)?)
        }
        Backend::Vllm => {
            let url = args
                .base_url
                .clone()
                .unwrap_or_else(|| forge_vllm::DEFAULT_BASE_URL.to_owned());
            let config = forge_vllm::VllmConfig::new(url)
                .model(&args.model)
                .recommended_sampling(recommended);
            Arc::new(forge_vllm::VllmClient::new(config)?)
        }
        Backend::Ollama => {
            let mut config =
                forge_ollama::OllamaConfig::new(&args.model).recommended_sampling(recommended);
            if let Some(url) = &args.base_url {
                config = config.base_url(url);
            }
            Arc::new(forge_ollama::OllamaClient::new(config)?)
        }
        Backend::Anthropic => {
            let key = match &args.api_key {
                Some(key) => key.clone(),
                None => std::env::var("ANTHROPIC_API_KEY")
                    .context("--backend anthropic needs --api-key or $ANTHROPIC_API_KEY")?,
            };
            let mut config = forge_anthropic::AnthropicConfig::new(key).model(&args.model);
            if let Some(url) = &args.base_url {
                config = config.base_url(url);
            }
            Arc::new(forge_anthropic::AnthropicClient::new(config)?)
        }
    };
    let identity = RowIdentity {
        model: identity,
        backend: args.backend.row_name().to_owned(),
        mode: mode.as_str().to_owned(),
        tool_choice: "auto".to_owned(),
        sampling: Some(sampling.to_owned()),
    };
    Ok((client, identity))
}

async fn resolve_budget(args: &ClientArgs, client: &Arc<dyn LlmClient>) -> Result<u32> {
    if let Some(budget) = args.budget {
        return Ok(budget);
    }
    if args.backend == Backend::Scripted {
        return Ok(8192);
    }
    if args.backend == Backend::Anthropic {
        return Ok(200_000);
    }
    match client.context_length().await {
        Ok(Some(n)) => {
            let budget = u32::try_from(n).unwrap_or(u32::MAX);
            tracing::info!(budget, "context budget read from the server");
            Ok(budget)
        }
        Ok(None) => bail!("the backend does not report its context length: pass --budget"),
        Err(err) => bail!("cannot read the backend's context length ({err}): pass --budget"),
    }
}

fn settings(
    args: &ClientArgs,
    preset: Preset,
    constraint: ConstraintPolicy,
    budget: u32,
) -> RunSettings {
    RunSettings {
        preset,
        constraint,
        budget_tokens: budget,
        stream: args.stream,
        keep_history: !args.no_history,
        timeout: Some(Duration::from_secs(args.timeout_secs)),
        max_tokens: args.max_tokens,
    }
}

fn list(select: &SelectArgs) -> Result<()> {
    println!(
        "{:<38} {:<19} {:>4} {:>5}  tags",
        "scenario", "suite", "max", "ideal"
    );
    for s in select_scenarios(select)? {
        println!(
            "{:<38} {:<19} {:>4} {:>5}  {}",
            s.name(),
            s.suite().as_str(),
            s.spec().max_iterations,
            s.ideal_iterations(),
            s.spec().tags.join(", ")
        );
    }
    Ok(())
}

fn print_table(rows: &[RunRow]) {
    let scenarios = scenario_order(rows);
    print!("{}", ascii_table(&config_metrics(rows), &scenarios));
    print!("{}", legend(&scenarios));
}

async fn run(args: RunArgs) -> Result<()> {
    let scenarios = select_scenarios(&args.select)?;
    let (client, identity) = build_client(&args.client, args.mode)?;
    let budget = resolve_budget(&args.client, &client).await?;
    let settings = settings(&args.client, args.preset, args.constraint, budget);
    println!(
        "backend {} · model {} · mode {} · preset {} · constraint {} · budget {budget} · runs {} · sampling {}",
        identity.backend,
        identity.model,
        identity.mode,
        args.preset,
        args.constraint,
        args.runs,
        identity.sampling.as_deref().unwrap_or("-")
    );
    let mut rows = Vec::new();
    for scenario in &scenarios {
        if scenario.is_compaction_pressure() && !args.preset.knobs().compaction {
            println!(
                "Skipping {} (compaction disabled by ablation={})",
                scenario.name(),
                args.preset
            );
            continue;
        }
        for run in 1..=args.runs {
            let result = run_scenario(Arc::clone(&client), scenario, &settings).await;
            let row = result.to_row(&identity, args.preset, run);
            let status = match (row.completeness, row.is_correct()) {
                (true, true) => "OK".to_owned(),
                (true, false) => "OK (incorrect)".to_owned(),
                (false, _) => format!("FAIL ({})", row.error_type.as_deref().unwrap_or("?")),
            };
            println!(
                "{} [{run}/{}] {status} — {} iterations, {:.1}s",
                scenario.name(),
                args.runs,
                row.iterations,
                row.elapsed_s
            );
            if let Some(path) = &args.output {
                append_row(path, &row)?;
            }
            rows.push(row);
        }
    }
    print_table(&rows);
    Ok(())
}

async fn batch_plan(
    client_args: &ClientArgs,
    modes: &[Mode],
    configurations: &[Configuration],
    select: &SelectArgs,
    runs: u32,
    output: &Path,
) -> Result<BatchPlan> {
    let mut configs = Vec::new();
    for &mode in modes {
        let (client, identity) = build_client(client_args, mode)?;
        let budget = resolve_budget(client_args, &client).await?;
        configs.push(BatchConfig {
            client,
            identity,
            settings: settings(
                client_args,
                Preset::Reforged,
                ConstraintPolicy::Never,
                budget,
            ),
        });
    }
    if configurations.is_empty() {
        bail!("no configuration to run (empty --presets, --constraints or --config)");
    }
    Ok(BatchPlan {
        configs,
        configurations: configurations.to_vec(),
        scenarios: select_scenarios(select)?,
        runs,
        output: output.to_path_buf(),
    })
}

async fn execute_batch(plan: &BatchPlan, dry_run: bool, progress: bool) -> Result<()> {
    let (pending, summary) = plan.pending()?;
    eprintln!(
        "modes {} × configurations {} ({}) × scenarios {} × runs {} → {} to run ({} already in {}, {} compaction slots skipped)",
        plan.configs.len(),
        plan.configurations.len(),
        plan.configurations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        plan.scenarios.len(),
        plan.runs,
        pending.len(),
        summary.resumed,
        plan.output.display(),
        summary.skipped_compaction
    );
    if dry_run {
        for p in &pending {
            let c = &plan.configs[p.config].identity;
            println!(
                "{} {}/{} [{}] {} run {}",
                c.model,
                c.backend,
                c.mode,
                p.configuration,
                p.scenario.name(),
                p.run
            );
        }
        return Ok(());
    }
    let started = Instant::now();
    let summary = plan.execute(progress).await?;
    eprintln!(
        "ran {} runs in {} ({} correct)",
        summary.executed,
        forge_eval::progress::format_duration(started.elapsed()),
        summary.correct
    );
    let rows = read_rows(&plan.output)?.rows;
    print_table(&rows);
    Ok(())
}

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs % 86_400 / 3600,
        secs % 3600 / 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn write_reports(
    rows: &[RunRow],
    html: Option<&Path>,
    markdown: Option<&Path>,
    timestamp: &str,
) -> Result<()> {
    if let Some(path) = html {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(path, html_dashboard(rows, timestamp)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(dir) = markdown {
        for path in write_markdown(dir, rows, timestamp)? {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The rows of every file, in order; unparseable lines are reported, duplicated runs refused.
fn read_all_rows(paths: &[PathBuf]) -> Result<Vec<RunRow>> {
    let mut rows = Vec::new();
    for (name, loaded) in read_rows_from_files(paths)? {
        if !loaded.bad_lines.is_empty() {
            eprintln!("{name}: skipped unparseable lines: {:?}", loaded.bad_lines);
        }
        rows.extend(loaded.rows);
    }
    Ok(rows)
}

fn report(args: &ReportArgs) -> Result<()> {
    let rows: Vec<RunRow> = read_all_rows(&args.paths)?
        .into_iter()
        .filter(|r| {
            args.ablation.is_empty() || args.ablation.iter().any(|p| p.as_str() == r.ablation)
        })
        .filter(|r| !args.exclude.contains(&r.scenario))
        .collect();
    if rows.is_empty() {
        bail!("no rows to report in {:?}", args.paths);
    }
    print_table(&rows);
    let timestamp = args.timestamp.clone().unwrap_or_else(now_utc);
    write_reports(
        &rows,
        args.html.as_deref(),
        args.markdown.as_deref(),
        &timestamp,
    )
}

fn significance(args: &SignificanceArgs) -> Result<()> {
    let rows: Vec<RunRow> = read_all_rows(&args.paths)?
        .into_iter()
        .filter(|r| {
            args.model.is_empty() || args.model.iter().any(|m| r.model.contains(m.as_str()))
        })
        .collect();
    print!("{}", significance_table(&compare_presets(&rows)?));
    Ok(())
}

fn sampling(args: &SamplingArgs) -> Result<()> {
    let identity = model_identity(Backend::Llamaserver, &args.model);
    let report = match sampling_defaults(&identity) {
        Some(params) => serde_json::json!({
            "model": identity,
            "sampling": "recommended",
            "params": params,
        }),
        None => serde_json::json!({
            "model": identity,
            "sampling": "backend_defaults",
            "params": null,
        }),
    };
    println!("{report}");
    Ok(())
}

async fn llama_suite(args: LlamaSuiteArgs) -> Result<()> {
    let client = ClientArgs {
        backend: Backend::Llamaserver,
        base_url: Some(format!("{}/v1", args.url.trim_end_matches('/'))),
        model: args.model.clone(),
        api_key: None,
        sampling: Sampling::Recommended,
        strict_sampling: args.strict_sampling,
        budget: args.budget,
        stream: false,
        no_history: false,
        timeout_secs: args.timeout_secs,
        max_tokens: Some(args.max_tokens),
    };
    let plan = batch_plan(
        &client,
        &args.modes,
        &args.matrix.configurations(),
        &args.select,
        args.runs,
        &args.output,
    )
    .await?;
    execute_batch(&plan, args.dry_run, true).await?;
    if args.dry_run {
        return Ok(());
    }
    if let Some(dir) = &args.report_dir {
        let rows = read_rows(&args.output)?.rows;
        write_reports(
            &rows,
            Some(&dir.join("dashboard.html")),
            Some(dir),
            &now_utc(),
        )?;
        print!("{}", significance_table(&compare_presets(&rows)?));
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).context("--log")?)
        .init();
    match cli.command {
        Command::List(select) => list(&select),
        Command::Run(args) => run(args).await,
        Command::Batch(args) => {
            let plan = batch_plan(
                &args.client,
                &args.modes,
                &args.matrix.configurations(),
                &args.select,
                args.runs,
                &args.output,
            )
            .await?;
            execute_batch(&plan, args.dry_run, !args.no_progress).await
        }
        Command::LlamaSuite(args) => llama_suite(args).await,
        Command::Report(args) => report(&args),
        Command::Significance(args) => significance(&args),
        Command::Sampling(args) => sampling(&args),
    }
}
