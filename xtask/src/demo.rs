//! `cargo xtask demo`: forge end to end on a real small model, narrated.
//!
//! Prepares the real tier (llama-server and the model, see [`crate::setup`]), builds `forge-proxy`
//! and the `weather` example, starts the proxy in managed mode (it spawns llama-server itself), sends
//! a two-turn tool-calling conversation through it in OpenAI shape and then in Anthropic shape, runs
//! the weather workflow with `WorkflowRunner` against the llama-server the proxy manages, and stops
//! everything, checking nothing is left running.
//!
//! What the guardrails did is read from the proxy's log (and the example's): rescues, discarded
//! attempts and the nudge sent on which channel, exhausted budgets. A small model answering badly is
//! part of the show, not a failure: the demo fails only when something is broken (the proxy does not
//! start, the backend dies, an answer is not well-formed HTTP/JSON).

mod proxy_log;
mod wire;

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::process::{describe, tail_lines};
use crate::setup::{self, RealSetup};

/// Tokens per model answer: a tool call fits; rambling is cut short so the demo stays quick.
const MAX_TOKENS: u64 = 64;
/// Retries after an unusable answer, in the proxy and in the runner (so at most 3 model calls).
const MAX_RETRIES: &str = "2";
/// Model calls the workflow may make in all, retries included.
const WORKFLOW_MAX_ITERATIONS: &str = "6";
const CONTEXT_TOKENS: &str = "4096";
const PROXY_READY_TIMEOUT: Duration = Duration::from_secs(240);
/// One proxy request: up to three model calls on a possibly busy machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const WORKFLOW_TIMEOUT: Duration = Duration::from_secs(400);
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const EXCERPT_CHARS: usize = 160;

/// The proxy's and the example's process ids, for the signal handler.
static PROXY_PID: AtomicU32 = AtomicU32::new(0);
static WORKFLOW_PID: AtomicU32 = AtomicU32::new(0);

/// The city the conversation and the workflow ask about.
const CITY: &str = "Paris";
const SYSTEM_PROMPT: &str = "You are a weather assistant. Call get_weather for the city the user \
                             asks about, then answer in one sentence.";

/// Runs the demo; an error means something is broken, never that the model answered badly.
pub fn run(repo_root: &Path) -> Result<()> {
    let started = Instant::now();
    stop_children_on_signal()?;
    println!("== forge-rs demo: the reliability layer on a 135M-parameter model ==\n");
    let setup = setup::prepare(repo_root)?;
    let binaries = build_binaries(repo_root)?;
    println!(
        "\n[demo] built in {:.0} s: {} and {}",
        started.elapsed().as_secs_f64(),
        binaries.proxy.display(),
        binaries.weather.display()
    );

    let mut proxy = ManagedProxy::start(&binaries.proxy, &setup)?;
    let outcome = run_scenarios(&mut proxy, &binaries.weather);
    let stopped = proxy.shutdown();
    match (outcome, stopped) {
        (Ok(()), Ok(())) => {}
        (Err(error), Ok(())) => return Err(error),
        (Ok(()), Err(error)) => return Err(error),
        (Err(error), Err(stop_error)) => {
            return Err(error.context(format!("and stopping failed too: {stop_error:#}")))
        }
    }
    println!(
        "\n[demo] done in {:.0} s (setup and build included)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_scenarios(proxy: &mut ManagedProxy, weather: &Path) -> Result<()> {
    let mut steps = StepCounter::default();
    openai_conversation(proxy, &mut steps)?;
    anthropic_conversation(proxy, &mut steps)?;
    weather_workflow(proxy, weather, &mut steps)
}

// ---------------------------------------------------------------------------------------------
// Build

struct Binaries {
    proxy: PathBuf,
    weather: PathBuf,
}

/// Builds the proxy binary and the weather example in one cargo run and reads their paths from
/// cargo's JSON messages (so a custom target folder works too).
fn build_binaries(repo_root: &Path) -> Result<Binaries> {
    let mut command = Command::new(crate::cargo());
    command.current_dir(repo_root).args([
        "build",
        "-p",
        "forge-proxy",
        "--bin",
        "forge-proxy",
        "-p",
        "forge",
        "--example",
        "weather",
        "--message-format=json-render-diagnostics",
    ]);
    println!("\n[demo] building: {}", describe(&command));
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot start `{}`", describe(&command)))?;
    if !output.status.success() {
        bail!("`{}` failed ({})", describe(&command), output.status);
    }
    let mut proxy = None;
    let mut weather = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let (Some(name), Some(executable)) = (
            message["target"]["name"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        match name {
            "forge-proxy" => proxy = Some(PathBuf::from(executable)),
            "weather" => weather = Some(PathBuf::from(executable)),
            _ => {}
        }
    }
    Ok(Binaries {
        proxy: proxy.context("cargo reported no forge-proxy executable")?,
        weather: weather.context("cargo reported no weather example executable")?,
    })
}

// ---------------------------------------------------------------------------------------------
// The managed proxy

/// `forge-proxy` in managed mode, its output collected line by line, stopped when dropped.
struct ManagedProxy {
    child: Child,
    address: SocketAddr,
    backend_address: SocketAddr,
    llama_server_pid: Option<u32>,
    lines: Receiver<String>,
    log: PathBuf,
}

impl ManagedProxy {
    fn start(binary: &Path, setup: &RealSetup) -> Result<Self> {
        let address = free_loopback_address()?;
        let backend_address = free_loopback_address()?;
        let log = setup
            .cache
            .dir("logs")?
            .join(format!("demo-proxy-{}.log", std::process::id()));
        println!(
            "\n[demo] step 0: start forge-proxy in managed mode (it spawns llama-server itself)"
        );
        let mut command = Command::new(binary);
        command
            .args(["--backend", "llamaserver", "--gguf"])
            .arg(&setup.model.path)
            .arg("--server-binary")
            .arg(&setup.llama_server.path)
            .args(["--host", "127.0.0.1", "--port"])
            .arg(address.port().to_string())
            .arg("--backend-port")
            .arg(backend_address.port().to_string())
            .args(["--budget-mode", "manual", "--budget-tokens", CONTEXT_TOKENS])
            .args(["--max-retries", MAX_RETRIES, "--backend-timeout", "240"])
            .arg("--inject-respond-tool")
            .arg("--extra-flags")
            .arg(extra_server_flags(setup)?)
            // Debug for the guardrails (why an answer was discarded), info elsewhere; the
            // llama-server's own output stays out of the transcript.
            .env(
                "RUST_LOG",
                "info,forge_guardrails=debug,forge_managed::server_output=off",
            )
            .env("NO_COLOR", "1");
        println!("    $ {}", describe(&command));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        PROXY_PID.store(child.id(), Ordering::SeqCst);
        let lines = collect_lines(&mut child, Some(&log))?;
        let mut proxy = Self {
            child,
            address,
            backend_address,
            llama_server_pid: None,
            lines,
            log,
        };
        proxy.wait_until_ready()?;
        Ok(proxy)
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn backend_url(&self) -> String {
        format!("http://{}", self.backend_address)
    }

    /// Waits for the proxy's "running at" banner, reading the managed server's pid on the way.
    fn wait_until_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(pid) = proxy_log::managed_backend_pid(&line) {
                        self.llama_server_pid = Some(pid);
                    }
                    if line.starts_with("forge proxy running at") {
                        let pid = self
                            .llama_server_pid
                            .map_or_else(|| "unknown".to_owned(), |pid| pid.to_string());
                        println!(
                            "    proxy ready after {:.1} s at {}; managed llama-server pid {pid} at {}",
                            started.elapsed().as_secs_f64(),
                            self.url(),
                            self.backend_url()
                        );
                        return Ok(());
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {}
            }
            if let Some(status) = self.child.try_wait().context("polling forge-proxy")? {
                bail!(
                    "forge-proxy exited ({status}) before it was ready; last lines of {}:\n{}",
                    self.log.display(),
                    tail_lines(&self.log, 30)
                );
            }
            if started.elapsed() > PROXY_READY_TIMEOUT {
                bail!(
                    "forge-proxy not ready after {} s; last lines of {}:\n{}",
                    PROXY_READY_TIMEOUT.as_secs(),
                    self.log.display(),
                    tail_lines(&self.log, 30)
                );
            }
        }
    }

    /// POSTs `body` to `route`, printing the guardrail events from the proxy's log as they happen.
    /// A non-200 answer or a body that is not JSON is an error: the proxy must always answer well.
    fn exchange(&mut self, route: &'static str, body: &Value) -> Result<Value> {
        let address = self.address;
        let body = body.clone();
        let request =
            thread::spawn(move || wire::post_json(address, route, &body, REQUEST_TIMEOUT));
        let started = Instant::now();
        while !request.is_finished() {
            self.print_events(Duration::from_millis(100));
        }
        // The proxy logs before it answers, but our readers may lag a little behind.
        self.print_events(Duration::from_millis(300));
        let answer = request
            .join()
            .map_err(|_| anyhow::anyhow!("the request thread panicked"))??;
        println!(
            "    <- HTTP {} after {:.1} s",
            answer.status,
            started.elapsed().as_secs_f64()
        );
        self.check_alive()?;
        if answer.status != 200 {
            bail!(
                "POST {route} answered HTTP {}: {}",
                answer.status,
                excerpt(&answer.body, 400)
            );
        }
        serde_json::from_str(&answer.body).with_context(|| {
            format!(
                "POST {route} answered 200 with a body that is not JSON: {}",
                excerpt(&answer.body, 400)
            )
        })
    }

    fn print_events(&self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(event) = proxy_log::guardrail_event(&line) {
                        println!("    guardrails: {event}");
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Fails if the proxy or its llama-server has died.
    fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait().context("polling forge-proxy")? {
            bail!(
                "forge-proxy exited ({status}); last lines of {}:\n{}",
                self.log.display(),
                tail_lines(&self.log, 30)
            );
        }
        if let Some(pid) = self.llama_server_pid {
            if !process_running(pid) {
                bail!(
                    "the managed llama-server (pid {pid}) is gone; last lines of {}:\n{}",
                    self.log.display(),
                    tail_lines(&self.log, 30)
                );
            }
        }
        Ok(())
    }

    /// SIGTERM to the proxy, which stops its llama-server; then checks both are gone and the
    /// backend port is closed.
    fn shutdown(mut self) -> Result<()> {
        println!("\n[demo] shutting down: SIGTERM to forge-proxy (it stops its llama-server)");
        let status = self.stop_child()?;
        self.print_shutdown_lines();
        if !status.success() {
            bail!(
                "forge-proxy exited with {status} on SIGTERM; see {}",
                self.log.display()
            );
        }
        let mut left = Vec::new();
        if let Some(pid) = self.llama_server_pid {
            if wait_until_gone(pid, STOP_TIMEOUT) {
                println!("    llama-server pid {pid}: gone");
            } else {
                left.push(format!("llama-server pid {pid} still runs"));
            }
        }
        if port_accepts(self.backend_address) {
            left.push(format!("something still listens on {}", self.backend_url()));
        } else {
            println!("    {}: closed", self.backend_url());
        }
        if port_accepts(self.address) {
            left.push(format!("something still listens on {}", self.url()));
        }
        if !left.is_empty() {
            bail!("shutdown left things running: {}", left.join("; "));
        }
        println!(
            "    forge-proxy exited ({status}); nothing left running. Proxy log: {}",
            self.log.display()
        );
        Ok(())
    }

    fn stop_child(&mut self) -> Result<std::process::ExitStatus> {
        signal(self.child.id(), "-TERM");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("polling forge-proxy")? {
                PROXY_PID.store(0, Ordering::SeqCst);
                return Ok(status);
            }
            if started.elapsed() > STOP_TIMEOUT {
                self.kill_everything();
                bail!(
                    "forge-proxy did not exit within {} s of SIGTERM; killed it",
                    STOP_TIMEOUT.as_secs()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn print_shutdown_lines(&self) {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(300)) {
            let Some(parsed) = proxy_log::parse_line(&line) else {
                continue;
            };
            if parsed.rest.starts_with("stopping backend")
                || parsed.rest.starts_with("backend stopped")
                || parsed.rest.starts_with("proxy stopped")
                || matches!(parsed.level, "WARN" | "ERROR")
            {
                println!("    proxy log: {}", parsed.rest);
            }
        }
    }

    /// Last resort: SIGKILL the proxy and the llama-server it spawned (which lives in a process
    /// group of its own, so it would survive its parent).
    fn kill_everything(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        PROXY_PID.store(0, Ordering::SeqCst);
        if let Some(pid) = self.llama_server_pid {
            if process_running(pid) {
                signal(pid, "-KILL");
            }
        }
    }
}

impl Drop for ManagedProxy {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            eprintln!("[demo] stopping forge-proxy after an error");
            if self.stop_child().is_err() {
                eprintln!("[demo] forge-proxy had to be killed");
            }
        }
        if let Some(pid) = self.llama_server_pid {
            if !wait_until_gone(pid, STOP_TIMEOUT) {
                eprintln!("[demo] killing the leftover llama-server pid {pid}");
                signal(pid, "-KILL");
            }
        }
    }
}

/// The chat template the demo gives the default model: ChatML with Hermes `<tool_call>` blocks whose
/// assistant turn opens with `<tool_call>` when tools are offered after a user message, so the
/// 135M model writes calls (often broken ones) rather than prose; see `assets/templates/README.md`.
const PREFILL_TEMPLATE: &str = "smollm2-tools-prefill.jinja";

/// Flags for the managed llama-server, as one shell-quoted string for `--extra-flags`: a cap on
/// tokens per answer; half the cores, because llama.cpp's workers spin-wait and on a busy machine
/// (a demo next to a build) all-core threads run an order of magnitude slower (measured: 1-2 vs 20
/// tokens/s on 2 loaded cores); and for the default model the prefill tools template.
fn extra_server_flags(setup: &RealSetup) -> Result<String> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / 2).max(1);
    let mut flags = format!("-n {MAX_TOKENS} -t {threads}");
    if setup.model.origin != "FORGE_MODEL" {
        let template = setup.templates_dir.join(PREFILL_TEMPLATE);
        if !template.is_file() {
            bail!(
                "{} is missing; the chat templates are part of the repository",
                template.display()
            );
        }
        let template = template
            .to_str()
            .context("the templates folder path is not UTF-8")?;
        flags.push_str(" --chat-template-file ");
        flags.push_str(&shell_quote(template));
        println!(
            "    the default model runs with {PREFILL_TEMPLATE}: its assistant turn opens with \
             <tool_call> when tools are offered, so the model attempts calls"
        );
    }
    Ok(flags)
}

fn shell_quote(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

// ---------------------------------------------------------------------------------------------
// The conversations through the proxy

#[derive(Default)]
struct StepCounter(u32);

impl StepCounter {
    fn next(&mut self, title: &str) {
        self.0 += 1;
        println!("\n[demo] step {}: {title}", self.0);
    }
}

fn weather_tool_openai() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "description": "The city, e.g. Paris"}},
                "required": ["city"]
            }
        }
    })
}

fn weather_tool_anthropic() -> Value {
    let openai = weather_tool_openai();
    json!({
        "name": "get_weather",
        "description": openai["function"]["description"],
        "input_schema": openai["function"]["parameters"],
    })
}

/// The demo's `get_weather`: the same small table as the weather example, no network.
fn lookup_weather(arguments: &Value) -> Value {
    let city = arguments["city"].as_str().unwrap_or_default();
    let found = match city.trim().to_lowercase().as_str() {
        "paris" => Some(("light rain", 14)),
        "tokyo" => Some(("clear", 22)),
        "lima" => Some(("overcast", 19)),
        "oslo" => Some(("snow", -3)),
        _ => None,
    };
    match found {
        Some((sky, celsius)) => json!({"city": city, "sky": sky, "celsius": celsius}),
        None => json!({"error": format!(
            "No weather station for '{city}'. Known cities: Paris, Tokyo, Lima, Oslo."
        )}),
    }
}

fn openai_conversation(proxy: &mut ManagedProxy, steps: &mut StepCounter) -> Result<()> {
    let question = format!("What's the weather in {CITY}?");
    steps.next("OpenAI shape, turn 1: POST /v1/chat/completions with the get_weather tool");
    println!("    user: {question}");
    let mut messages = vec![
        json!({"role": "system", "content": SYSTEM_PROMPT}),
        json!({"role": "user", "content": question}),
    ];
    let body = |messages: &[Value]| {
        json!({
            "model": "demo",
            "max_tokens": MAX_TOKENS,
            "messages": messages,
            "tools": [weather_tool_openai()],
        })
    };
    let answer = proxy.exchange("/v1/chat/completions", &body(&messages))?;
    let message = openai_message(&answer)?;
    let calls = message["tool_calls"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if calls.is_empty() {
        print_final_text(message["content"].as_str().unwrap_or_default());
        println!("    (no tool call, so the conversation ends here)");
        return Ok(());
    }
    messages.push(message.clone());
    for call in &calls {
        let name = call["function"]["name"].as_str().unwrap_or("?");
        let raw_arguments = call["function"]["arguments"].as_str().unwrap_or("{}");
        println!("    model called: {name}({raw_arguments})");
        let arguments: Value = serde_json::from_str(raw_arguments).with_context(|| {
            format!("the proxy returned tool-call arguments that are not JSON: {raw_arguments}")
        })?;
        let result = lookup_weather(&arguments);
        println!("    tool result (ours): {result}");
        messages.push(json!({
            "role": "tool",
            "tool_call_id": call["id"],
            "content": result.to_string(),
        }));
    }
    steps.next("OpenAI shape, turn 2: the tool result goes back; the model answers");
    let answer = proxy.exchange("/v1/chat/completions", &body(&messages))?;
    let message = openai_message(&answer)?;
    print_openai_message(message);
    Ok(())
}

fn openai_message(answer: &Value) -> Result<&Value> {
    let message = &answer["choices"][0]["message"];
    if !message.is_object() {
        bail!(
            "the OpenAI answer has no choices[0].message: {}",
            excerpt(&answer.to_string(), 400)
        );
    }
    println!(
        "    finish_reason: {}",
        answer["choices"][0]["finish_reason"]
    );
    Ok(message)
}

fn print_openai_message(message: &Value) {
    if let Some(calls) = message["tool_calls"].as_array() {
        for call in calls {
            println!(
                "    final answer is a tool call: {}({})",
                call["function"]["name"].as_str().unwrap_or("?"),
                call["function"]["arguments"].as_str().unwrap_or("")
            );
        }
    }
    if let Some(text) = message["content"].as_str() {
        print_final_text(text);
    }
}

fn print_final_text(text: &str) {
    println!(
        "    final answer (text): \"{}\"",
        excerpt(text, EXCERPT_CHARS)
    );
}

fn anthropic_conversation(proxy: &mut ManagedProxy, steps: &mut StepCounter) -> Result<()> {
    let question = format!("How warm is it in {CITY} right now?");
    steps.next("Anthropic shape, turn 1: POST /v1/messages with the get_weather tool");
    println!("    user: {question}");
    let mut messages = vec![json!({"role": "user", "content": question})];
    let body = |messages: &[Value]| {
        json!({
            "model": "demo",
            "max_tokens": MAX_TOKENS,
            "system": SYSTEM_PROMPT,
            "messages": messages,
            "tools": [weather_tool_anthropic()],
        })
    };
    let answer = proxy.exchange("/v1/messages", &body(&messages))?;
    let blocks = anthropic_blocks(&answer)?;
    let tool_uses: Vec<Value> = blocks
        .iter()
        .filter(|block| block["type"] == "tool_use")
        .cloned()
        .collect();
    print_anthropic_text(&blocks);
    if tool_uses.is_empty() {
        println!("    (no tool_use block, so the conversation ends here)");
        return Ok(());
    }
    messages.push(json!({"role": "assistant", "content": blocks}));
    let mut results = Vec::new();
    for tool_use in &tool_uses {
        println!(
            "    model called: {}({})",
            tool_use["name"].as_str().unwrap_or("?"),
            tool_use["input"]
        );
        let result = lookup_weather(&tool_use["input"]);
        println!("    tool result (ours): {result}");
        results.push(json!({
            "type": "tool_result",
            "tool_use_id": tool_use["id"],
            "content": result.to_string(),
        }));
    }
    messages.push(json!({"role": "user", "content": results}));
    steps.next("Anthropic shape, turn 2: the tool_result goes back; the model answers");
    let answer = proxy.exchange("/v1/messages", &body(&messages))?;
    let blocks = anthropic_blocks(&answer)?;
    for block in blocks.iter().filter(|block| block["type"] == "tool_use") {
        println!(
            "    final answer is a tool_use: {}({})",
            block["name"].as_str().unwrap_or("?"),
            block["input"]
        );
    }
    print_anthropic_text(&blocks);
    Ok(())
}

fn anthropic_blocks(answer: &Value) -> Result<Vec<Value>> {
    let Some(blocks) = answer["content"].as_array() else {
        bail!(
            "the Anthropic answer has no content array: {}",
            excerpt(&answer.to_string(), 400)
        );
    };
    println!("    stop_reason: {}", answer["stop_reason"]);
    Ok(blocks.clone())
}

fn print_anthropic_text(blocks: &[Value]) {
    for block in blocks.iter().filter(|block| block["type"] == "text") {
        print_final_text(block["text"].as_str().unwrap_or_default());
    }
}

// ---------------------------------------------------------------------------------------------
// The workflow

/// Errors of the runner that mean the model did not manage the task (reported, not fatal).
const MODEL_GAVE_UP: &[&str] = &[
    "no valid tool call after",
    "Max iterations (",
    "Model called '",
    "without satisfying prerequisites",
    "Context budget exceeded",
];

/// Runs the weather example (a two-step `WorkflowRunner` workflow: get_weather, then respond)
/// against the llama-server the proxy manages, narrating its `on_message` output.
fn weather_workflow(
    proxy: &mut ManagedProxy,
    weather: &Path,
    steps: &mut StepCounter,
) -> Result<()> {
    steps.next("WorkflowRunner: the weather workflow (get_weather, then respond)");
    let mut command = Command::new(weather);
    command
        .args(["--base-url", &proxy.backend_url(), "--city", CITY])
        .args(["--max-retries", MAX_RETRIES])
        .args(["--max-iterations", WORKFLOW_MAX_ITERATIONS])
        .args(["--context-tokens", CONTEXT_TOKENS])
        .env("RUST_LOG", "warn,forge_guardrails=debug")
        .env("NO_COLOR", "1");
    println!("    the runner owns the loop and talks to the managed llama-server directly");
    println!("    $ {}", describe(&command));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", weather.display()))?;
    WORKFLOW_PID.store(child.id(), Ordering::SeqCst);
    let lines = collect_lines(&mut child, None)?;
    let started = Instant::now();
    let mut narrator = WorkflowNarrator::default();
    let status = loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => narrator.line(&line),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                break child.wait().context("waiting for the weather example")?;
            }
        }
        if started.elapsed() > WORKFLOW_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            WORKFLOW_PID.store(0, Ordering::SeqCst);
            bail!(
                "the weather workflow did not end within {} s",
                WORKFLOW_TIMEOUT.as_secs()
            );
        }
    };
    WORKFLOW_PID.store(0, Ordering::SeqCst);
    narrator.flush();
    proxy.check_alive()?;
    println!(
        "    workflow ended after {:.1} s ({status})",
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        return Ok(());
    }
    match &narrator.failure {
        Some(reason) if MODEL_GAVE_UP.iter().any(|needle| reason.contains(needle)) => {
            println!(
                "    the model did not complete the workflow within its budgets; that is the \
                 guardrails doing their job (a fail-loud stop), not a demo failure"
            );
            Ok(())
        }
        Some(reason) => bail!("the weather workflow failed: {reason}"),
        None => bail!("the weather example exited with {status} without saying why"),
    }
}

/// Turns the example's output (`[kind] role: content` per message, tracing lines, the result)
/// into numbered, short transcript lines. A message's content may span lines, so each is printed
/// when the next line starts.
#[derive(Default)]
struct WorkflowNarrator {
    count: u32,
    pending: Option<String>,
    failure: Option<String>,
}

impl WorkflowNarrator {
    fn line(&mut self, line: &str) {
        let run_failed =
            proxy_log::parse_line(line).is_some_and(|parsed| parsed.rest.starts_with("run failed"));
        if run_failed {
            // The example says the same on its closing `did not finish` line, shown below.
            self.flush();
        } else if let Some(event) = proxy_log::guardrail_event(line) {
            self.flush();
            println!("      guardrails: {event}");
        } else if proxy_log::parse_line(line).is_some() {
            self.flush();
        } else if let Some(answer) = line.strip_prefix("answer after ") {
            self.flush();
            println!(
                "    result: answer after {}",
                excerpt(answer, EXCERPT_CHARS)
            );
        } else if let Some(reason) = line.strip_prefix("the workflow did not finish: ") {
            self.flush();
            println!("    result: the workflow did not finish: {reason}");
            self.failure = Some(reason.to_owned());
        } else if line.starts_with('[') && line.contains("] ") {
            self.flush();
            self.pending = Some(line.to_owned());
        } else if let Some(pending) = self.pending.as_mut() {
            pending.push(' ');
            pending.push_str(line);
        }
    }

    fn flush(&mut self) {
        let Some(message) = self.pending.take() else {
            return;
        };
        self.count += 1;
        println!(
            "    {:>2}. {}",
            self.count,
            describe_workflow_message(&message)
        );
    }
}

/// `[kind] role: content` or `[kind] name(args) id=…` as a short labelled line.
fn describe_workflow_message(line: &str) -> String {
    let Some((kind, body)) = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    else {
        return excerpt(line, EXCERPT_CHARS);
    };
    let (role, content) = body.split_once(": ").unwrap_or(("", body));
    let content = excerpt(content, EXCERPT_CHARS);
    match kind {
        "system_prompt" => format!("system prompt: \"{content}\""),
        "user_input" => format!("user: \"{content}\""),
        "tool_call" => format!("model called {}", excerpt(body, EXCERPT_CHARS)),
        "tool_result" => format!("tool result: {content}"),
        "text_response" => format!("model wrote text (raw output): \"{content}\""),
        "reasoning" => format!("model reasoning: \"{content}\""),
        "retry_nudge" | "step_nudge" | "prerequisite_nudge" => format!(
            "guardrail {} on the {role} channel: \"{content}\"",
            kind.replace('_', " ")
        ),
        other => format!("{other} ({role}): \"{content}\""),
    }
}

// ---------------------------------------------------------------------------------------------
// Processes and text

/// Reads the child's stdout and stderr line by line (ANSI colours removed) into one channel,
/// also appending them to `log` when given.
fn collect_lines(child: &mut Child, log: Option<&Path>) -> Result<Receiver<String>> {
    let (sender, receiver) = mpsc::channel();
    let log = match log {
        Some(path) => {
            Some(File::create(path).with_context(|| format!("cannot create {}", path.display()))?)
        }
        None => None,
    };
    let stdout = child.stdout.take().context("child stdout was piped")?;
    let stderr = child.stderr.take().context("child stderr was piped")?;
    let stdout_log = match &log {
        Some(file) => Some(file.try_clone().context("duplicating the log handle")?),
        None => None,
    };
    spawn_line_reader(stdout, sender.clone(), stdout_log);
    spawn_line_reader(stderr, sender, log);
    Ok(receiver)
}

fn spawn_line_reader(from: impl Read + Send + 'static, to: Sender<String>, mut log: Option<File>) {
    thread::spawn(move || {
        for line in BufReader::new(from).split(b'\n') {
            let Ok(line) = line else { return };
            let line = strip_ansi(&String::from_utf8_lossy(&line));
            let line = line.trim_end_matches('\r').to_owned();
            if let Some(file) = log.as_mut() {
                let _ = writeln!(file, "{line}");
            }
            if to.send(line).is_err() {
                return;
            }
        }
    });
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences: ESC [ parameters final-byte.
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` on one line (whitespace collapsed), cut to `max` characters with an ellipsis.
fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    format!("{cut}…")
}

fn free_loopback_address() -> Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot bind a loopback port to find a free one")?;
    listener
        .local_addr()
        .context("reading the bound loopback address")
}

fn port_accepts(address: SocketAddr) -> bool {
    TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
}

/// Sends `signal` (`-TERM`, `-KILL`) to `pid` with `kill(1)` (the xtask has no libc binding).
fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Whether `pid` runs (and is not a zombie). Without `/proc`, asks `kill -0`.
fn process_running(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    if proc_root.is_dir() {
        return match std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")) {
            Err(_) => false,
            // The state follows the parenthesised command name.
            Ok(stat) => !stat
                .rsplit(") ")
                .next()
                .is_some_and(|rest| rest.starts_with('Z')),
        };
    }
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn wait_until_gone(pid: u32, timeout: Duration) -> bool {
    let started = Instant::now();
    while process_running(pid) {
        if started.elapsed() > timeout {
            return false;
        }
        thread::sleep(Duration::from_millis(100));
    }
    true
}

/// On Ctrl-C, SIGTERM or SIGHUP: SIGTERM to the proxy (it stops its llama-server in order) and to
/// the workflow example, a short wait, then exit.
fn stop_children_on_signal() -> Result<()> {
    ctrlc::set_handler(|| {
        for pid in [&PROXY_PID, &WORKFLOW_PID].map(|pid| pid.load(Ordering::SeqCst)) {
            if pid != 0 {
                signal(pid, "-TERM");
                if wait_until_gone(pid, STOP_TIMEOUT) {
                    eprintln!("[demo] interrupted: stopped pid {pid}");
                } else {
                    eprintln!("[demo] interrupted: pid {pid} did not stop");
                }
            }
        }
        std::process::exit(130);
    })
    .context("cannot install the signal handler that stops the demo's processes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_messages_become_labelled_lines() {
        let cases: &[(&str, &str)] = &[
            (
                "[user_input] user: What's the weather in Paris?",
                "user: \"What's the weather in Paris?\"",
            ),
            (
                r#"[tool_call] get_weather({"city":"Paris"}) id=call_1"#,
                r#"model called get_weather({"city":"Paris"}) id=call_1"#,
            ),
            (
                "[retry_nudge] user: Your previous response was not a valid tool call.",
                "guardrail retry nudge on the user channel: \"Your previous response was not a valid tool call.\"",
            ),
            (
                "[step_nudge] tool: [StepEnforcementError] call get_weather first",
                "guardrail step nudge on the tool channel: \"[StepEnforcementError] call get_weather first\"",
            ),
            (
                "[text_response] assistant: La  Bastille\tis",
                "model wrote text (raw output): \"La Bastille is\"",
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(describe_workflow_message(line), *expected, "{line}");
        }
    }

    #[test]
    fn excerpts_flatten_whitespace_and_cut_long_text() {
        assert_eq!(excerpt("a\n b\t c", 10), "a b c");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("", 3), "");
    }

    #[test]
    fn ansi_colours_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m x"),
            "2026  INFO x"
        );
    }

    #[test]
    fn shell_quoting_keeps_plain_paths_and_quotes_the_rest() {
        assert_eq!(shell_quote("/a/b-c_d.jinja"), "/a/b-c_d.jinja");
        assert_eq!(shell_quote("/my dir/it's"), r"'/my dir/it'\''s'");
    }

    #[test]
    fn lookup_knows_four_cities_and_names_them_otherwise() {
        assert_eq!(
            lookup_weather(&json!({"city": "paris"})),
            json!({"city": "paris", "sky": "light rain", "celsius": 14})
        );
        let unknown = lookup_weather(&json!({"city": "Atlantis"}));
        assert!(unknown["error"]
            .as_str()
            .unwrap()
            .contains("Known cities: Paris, Tokyo, Lima, Oslo"));
    }
}
