//! `cargo xtask bench-proxy`: what the proxy adds on top of a backend that answers at once.
//!
//! A canned backend (valid native tool calls, OpenAI shape) runs in this process; a load generator
//! drives it directly and through a release `forge-proxy` (external mode, `--no-serialize`) at
//! concurrency 1 and 32, with a bounded request count and time, on loopback only. It prints the
//! added latency (proxy percentile minus direct percentile), the throughput through the proxy, and
//! the proxy's memory under load. A benchmark, not a test: nothing here runs in `cargo xtask test`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::json;
use tokio::net::TcpStream;

use crate::canned_backend::{CannedBackend, ToolAnswer, CANNED_TOOL};
use crate::proxy_process::{build_proxy, built_proxy, Profile, ProxyProcess};
use crate::setup::Cache;

/// The targets on the project's 2-core machine.
const TARGET_P99_ADDED_AT_1: Duration = Duration::from_millis(1);
const TARGET_RPS_AT_32: f64 = 5_000.0;
const TARGET_RSS_KIB: u64 = 50 * 1024;

/// Command-line options.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Requests per measured run (each concurrency, direct and through the proxy).
    pub requests: u64,
    /// Upper bound on one measured run's time.
    pub max_seconds: u64,
    /// Use the release binary already built instead of building it first.
    pub no_build: bool,
    /// Measure this proxy binary instead of the workspace's release build (to compare builds
    /// under the same machine load).
    pub binary: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            requests: 20_000,
            max_seconds: 20,
            no_build: false,
            binary: None,
        }
    }
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> Result<u64> {
                let value = args
                    .next()
                    .with_context(|| format!("`{name}` needs a number"))?;
                let number: u64 = value
                    .parse()
                    .with_context(|| format!("`{name} {value}`: not a whole number"))?;
                if number == 0 {
                    bail!("`{name}` must be at least 1");
                }
                Ok(number)
            };
            match arg.as_str() {
                "--requests" => options.requests = value("--requests")?,
                "--max-seconds" => options.max_seconds = value("--max-seconds")?,
                "--no-build" => options.no_build = true,
                "--binary" => {
                    let path = args.next().context("`--binary` needs a path")?;
                    options.binary = Some(PathBuf::from(path));
                }
                other => bail!(
                    "`bench-proxy` does not know `{other}` \
                     (options: --requests N, --max-seconds S, --no-build, --binary PATH)"
                ),
            }
        }
        Ok(options)
    }
}

/// The value at quantile `q` (0..=1) of `sorted` by the nearest-rank method: the smallest sample
/// with at least `q` of all samples at or below it. `None` for no samples.
pub fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `a - b` in signed microseconds (the proxy can be faster than direct within noise).
fn signed_micros(a: Duration, b: Duration) -> f64 {
    (a.as_secs_f64() - b.as_secs_f64()) * 1e6
}

/// What one measured run saw.
#[derive(Debug, Clone)]
struct RunResult {
    /// Latencies of the successful requests, sorted.
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: u64,
    first_error: Option<String>,
}

impl RunResult {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn p(&self, q: f64) -> Duration {
        percentile(&self.latencies, q).unwrap_or_default()
    }
}

/// One concurrency level: both runs, the proxy's memory peak and its CPU time in the proxied run.
struct Row {
    concurrency: u64,
    direct: RunResult,
    proxied: RunResult,
    peak_kib: u64,
    proxy_cpu: Duration,
}

impl Row {
    /// Added latency at quantile `q`, in µs: the proxy's percentile minus the direct one.
    fn added(&self, q: f64) -> f64 {
        signed_micros(self.proxied.p(q), self.direct.p(q))
    }
}

/// Drives `target` with `concurrency` workers, one keep-alive connection each, until
/// `requests` are done or `max_time` passed.
async fn drive(target: &Target, concurrency: u64, requests: u64, max_time: Duration) -> RunResult {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + max_time;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let target = target.clone();
        let issued = issued.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            let mut connection: Option<Connection> = None;
            while issued.fetch_add(1, Ordering::Relaxed) < requests && Instant::now() < deadline {
                let sent = Instant::now();
                match exchange(&mut connection, &target).await {
                    Ok(()) => latencies.push(sent.elapsed()),
                    Err(error) => {
                        // The connection's state is unknown after a failure: the next request
                        // opens a fresh one.
                        connection = None;
                        errors += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            (latencies, errors, first_error)
        });
    }
    let mut result = RunResult {
        latencies: Vec::new(),
        elapsed: Duration::ZERO,
        errors: 0,
        first_error: None,
    };
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((latencies, errors, first_error)) => {
                result.latencies.extend(latencies);
                result.errors += errors;
                if result.first_error.is_none() {
                    result.first_error = first_error;
                }
            }
            Err(error) => {
                result.errors += 1;
                result
                    .first_error
                    .get_or_insert(format!("a load worker failed: {error}"));
            }
        }
    }
    result.elapsed = started.elapsed();
    result.latencies.sort_unstable();
    result
}

/// Where a run sends its requests, and the whole request (head and body) as sent.
#[derive(Debug, Clone)]
struct Target {
    address: SocketAddr,
    request: Arc<[u8]>,
}

impl Target {
    /// The chat-completion POST of `body` to the server at `root` (`http://IP:PORT`).
    fn chat_completions(root: &str, body: &[u8]) -> Result<Self> {
        let authority = root
            .strip_prefix("http://")
            .with_context(|| format!("{root}: the load generator speaks plain http only"))?;
        let address: SocketAddr = authority
            .parse()
            .with_context(|| format!("{root}: not an http://IP:PORT root"))?;
        let mut request = format!(
            "POST /v1/chat/completions HTTP/1.1\r\nhost: {authority}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        Ok(Self {
            address,
            request: request.into(),
        })
    }
}

/// One keep-alive HTTP/1.1 connection of the load generator.
///
/// The load generator shares the machine's two cores with the proxy and the backend it
/// measures, so it does the least an HTTP client can: the request is one prepared buffer
/// written as is, and the answer is read into a reused buffer, framed by its `Content-Length`
/// (both servers send one for a JSON answer) and checked; no URL parsing, header maps or pool
/// bookkeeping per request.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// One chat completion over `connection` (opened first if there is none); only a 200 carrying
/// the tool call counts (a fast error is no result).
async fn exchange(
    connection: &mut Option<Connection>,
    target: &Target,
) -> std::result::Result<(), String> {
    let connection = match connection {
        Some(connection) => connection,
        None => {
            let stream = TcpStream::connect(target.address)
                .await
                .map_err(|error| format!("cannot connect to {}: {error}", target.address))?;
            stream
                .set_nodelay(true)
                .map_err(|error| format!("cannot set TCP_NODELAY: {error}"))?;
            connection.insert(Connection {
                stream,
                buffer: Vec::with_capacity(4096),
            })
        }
    };
    connection.send(&target.request).await?;
    let (status_ok, body) = connection.receive().await?;
    if !status_ok {
        return Err(format!(
            "not a 200: {}",
            String::from_utf8_lossy(&connection.buffer[..connection.buffer.len().min(300)])
        ));
    }
    if !contains(body, CANNED_TOOL.as_bytes()) {
        return Err(format!(
            "200 without the tool call: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        ));
    }
    Ok(())
}

impl Connection {
    async fn send(&mut self, mut request: &[u8]) -> std::result::Result<(), String> {
        while !request.is_empty() {
            self.stream
                .writable()
                .await
                .map_err(|error| format!("waiting to write: {error}"))?;
            match self.stream.try_write(request) {
                Ok(0) => return Err("the server closed the connection".to_owned()),
                Ok(written) => request = &request[written..],
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(format!("writing the request: {error}")),
            }
        }
        Ok(())
    }

    /// Reads one response: whether its status is 200, and its body.
    async fn receive(&mut self) -> std::result::Result<(bool, &[u8]), String> {
        self.buffer.clear();
        let head_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.read_more().await?;
        };
        let head = &self.buffer[..head_end];
        let status_ok = head.starts_with(b"HTTP/1.1 200 ");
        let length = content_length(head).ok_or_else(|| {
            format!(
                "a response without Content-Length: {}",
                String::from_utf8_lossy(head)
            )
        })?;
        let end = head_end + length;
        while self.buffer.len() < end {
            self.read_more().await?;
        }
        if self.buffer.len() > end {
            return Err("bytes after the response (nothing was pipelined)".to_owned());
        }
        Ok((status_ok, &self.buffer[head_end..end]))
    }

    async fn read_more(&mut self) -> std::result::Result<(), String> {
        let mut chunk = [0u8; 4096];
        loop {
            self.stream
                .readable()
                .await
                .map_err(|error| format!("waiting to read: {error}"))?;
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return Err("the server closed the connection".to_owned()),
                Ok(read) => {
                    self.buffer.extend_from_slice(&chunk[..read]);
                    return Ok(());
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(format!("reading the response: {error}")),
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// The `Content-Length` of a response head (header names are case-insensitive).
fn content_length(head: &[u8]) -> Option<usize> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

/// The proxy's resident memory (VmRSS) and its high-water mark (VmHWM), in KiB, from
/// `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Memory {
    rss_kib: u64,
    peak_kib: u64,
}

fn read_memory(pid: u32) -> Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_memory(&status).with_context(|| format!("{path} has no VmRSS/VmHWM lines"))
}

fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|number| number.trim().parse::<u64>().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// User plus system CPU time of `pid` so far, in clock ticks (`/proc/PID/stat` fields 14 and 15).
fn read_cpu_ticks(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_cpu_ticks(&stat).with_context(|| format!("cannot read the CPU times in {path}"))
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: count after its `)`.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3 (state), so fields 14 and 15 are at 11 and 12.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

fn clock_ticks_per_second() -> Result<u64> {
    let output = crate::process::stdout_if_success(Command::new("getconf").arg("CLK_TCK"))
        .context("`getconf CLK_TCK` failed; it gives the unit of /proc CPU times")?;
    output
        .trim()
        .parse()
        .with_context(|| format!("`getconf CLK_TCK` printed {output:?}"))
}

/// `/proc/loadavg`'s three averages: the benchmark shares the machine, and says how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|error| format!("(cannot read /proc/loadavg: {error})"))
}

/// The request every run sends: one user turn and two tools, not streamed.
fn request_body() -> Vec<u8> {
    let body = json!({
        "model": "bench",
        "messages": [
            {"role": "system", "content": "You are a weather assistant. Use the tools."},
            {"role": "user", "content": "What is the weather in Paris?"}
        ],
        "tools": [
            {"type": "function", "function": {
                "name": CANNED_TOOL,
                "description": "Current weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
            }},
            {"type": "function", "function": {
                "name": "get_time",
                "description": "Current time in a time zone.",
                "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}
            }}
        ],
        "max_tokens": 64
    });
    body.to_string().into_bytes()
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// Runs the benchmark and prints the table; returns whether every target was met.
pub fn run(repo_root: &Path, options: &Options) -> Result<bool> {
    let binary = match &options.binary {
        Some(binary) if binary.is_file() => binary.clone(),
        Some(binary) => bail!("--binary {}: no such file", binary.display()),
        None if options.no_build => built_proxy(repo_root, Profile::Release)?,
        None => build_proxy(repo_root, Profile::Release)?,
    };
    let backend = CannedBackend::start(ToolAnswer::Native)?;
    let log = Cache::locate()?
        .dir("logs")?
        .join(format!("bench-proxy-{}.log", std::process::id()));
    let proxy = ProxyProcess::start(&binary, &backend.url(), &["--no-serialize"], &log)?;
    let idle = read_memory(proxy.pid())?;

    // One thread for all the load: the proxy and the backend get the rest of the machine, and
    // both paths pay the same client cost, which the subtraction removes.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot build the load generator's runtime")?;
    let body = request_body();
    let direct_target = Target::chat_completions(&backend.url(), &body)?;
    let proxy_target = Target::chat_completions(&proxy.url(), &body)?;
    let max_time = Duration::from_secs(options.max_seconds);
    println!(
        "[bench] {} requests per run (at most {} s), canned backend {}, proxy {} (pid {})",
        options.requests,
        options.max_seconds,
        backend.url(),
        proxy.url(),
        proxy.pid()
    );

    let pid = proxy.pid();
    let ticks_per_second = clock_ticks_per_second()?;
    let outcome: Result<Vec<Row>> = runtime.block_on(async {
        let mut rows = Vec::new();
        for concurrency in [1u64, 32] {
            let warm_up = (options.requests / 10).clamp(1, 2_000);
            for (target, url) in [
                (&direct_target, backend.url()),
                (&proxy_target, proxy.url()),
            ] {
                let warmed = drive(target, concurrency, warm_up, max_time).await;
                if warmed.errors > 0 {
                    bail!(
                        "warm-up against {url} failed: {}",
                        warmed.first_error.unwrap_or_default()
                    );
                }
            }
            let direct = drive(&direct_target, concurrency, options.requests, max_time).await;
            let stop_sampling = Arc::new(AtomicBool::new(false));
            let sampler = tokio::spawn(sample_peak_rss(pid, stop_sampling.clone()));
            let cpu_before = read_cpu_ticks(pid)?;
            let proxied = drive(&proxy_target, concurrency, options.requests, max_time).await;
            let cpu_ticks = read_cpu_ticks(pid)?.saturating_sub(cpu_before);
            stop_sampling.store(true, Ordering::Relaxed);
            let sampled_rss = sampler.await.context("the RSS sampler failed")?;
            let high_water = read_memory(pid)?.peak_kib;
            for (path, run) in [("direct", &direct), ("proxy", &proxied)] {
                if run.errors > 0 {
                    bail!(
                        "{path} run at concurrency {concurrency}: {} failed requests, first: {}",
                        run.errors,
                        run.first_error.clone().unwrap_or_default()
                    );
                }
            }
            let proxy_cpu = Duration::from_secs_f64(cpu_ticks as f64 / ticks_per_second as f64);
            rows.push(Row {
                concurrency,
                direct,
                proxied,
                // VmHWM is folded from per-thread counters lazily; a sample can be a little above.
                peak_kib: high_water.max(sampled_rss),
                proxy_cpu,
            });
        }
        Ok(rows)
    });
    let rows = outcome?;
    let answered = backend.requests_answered();
    drop(proxy);
    drop(backend);

    println!("\n==> bench-proxy (latencies in µs; added = proxy percentile − direct percentile)");
    println!(
        "{:>5}  {:>8}  {:>10} {:>10}  {:>10} {:>10}  {:>9} {:>9}  {:>10} {:>10}  {:>12}",
        "conc",
        "requests",
        "direct p50",
        "direct p99",
        "proxy p50",
        "proxy p99",
        "added p50",
        "added p99",
        "direct r/s",
        "proxy r/s",
        "proxy CPU/req"
    );
    for row in &rows {
        println!(
            "{:>5}  {:>8}  {:>10.0} {:>10.0}  {:>10.0} {:>10.0}  {:>9.0} {:>9.0}  {:>10.0} {:>10.0}  {:>10.0}µs",
            row.concurrency,
            row.proxied.latencies.len(),
            micros(row.direct.p(0.50)),
            micros(row.direct.p(0.99)),
            micros(row.proxied.p(0.50)),
            micros(row.proxied.p(0.99)),
            row.added(0.50),
            row.added(0.99),
            row.direct.throughput(),
            row.proxied.throughput(),
            micros(row.proxy_cpu) / row.proxied.latencies.len().max(1) as f64,
        );
    }
    let peak = rows.iter().map(|row| row.peak_kib).max().unwrap_or(0);
    println!(
        "proxy memory: {:.1} MiB idle, peak under load {:.1} MiB (VmHWM and VmRSS sampled every 20 ms)",
        idle.rss_kib as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    println!(
        "the canned backend answered {answered} requests; load on this machine now: {}",
        load_average()
    );

    let at = |concurrency: u64| rows.iter().find(|row| row.concurrency == concurrency);
    let added_p99_at_1 = at(1)
        .map(|row| row.added(0.99))
        .context("no concurrency-1 run")?;
    let rps_at_32 = at(32)
        .map(|row| row.proxied.throughput())
        .context("no concurrency-32 run")?;
    let checks = [
        (
            format!(
                "p99 added at concurrency 1: {added_p99_at_1:.0} µs (target ≤ {} µs)",
                TARGET_P99_ADDED_AT_1.as_micros()
            ),
            added_p99_at_1 <= micros(TARGET_P99_ADDED_AT_1),
        ),
        (
            format!(
                "throughput through the proxy at concurrency 32: {rps_at_32:.0} req/s \
                 (target ≥ {TARGET_RPS_AT_32:.0})"
            ),
            rps_at_32 >= TARGET_RPS_AT_32,
        ),
        (
            format!(
                "proxy peak RSS: {:.1} MiB (target ≤ {} MiB)",
                peak as f64 / 1024.0,
                TARGET_RSS_KIB / 1024
            ),
            peak <= TARGET_RSS_KIB,
        ),
    ];
    println!();
    for (line, met) in &checks {
        println!("{:<7} {line}", verdict(*met));
    }
    Ok(checks.iter().all(|(_, met)| *met))
}

/// The largest VmRSS seen while a run is going, polled every 20 ms until `stop`.
async fn sample_peak_rss(pid: u32, stop: Arc<AtomicBool>) -> u64 {
    let mut peak = 0;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(memory) = read_memory(pid) {
            peak = peak.max(memory.rss_kib);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros_list(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_micros(*v)).collect()
    }

    #[test]
    fn percentile_is_the_nearest_rank() {
        let hundred: Vec<u64> = (1..=100).collect();
        let cases: &[(&[u64], f64, Option<u64>)] = &[
            (&hundred, 0.50, Some(50)),
            (&hundred, 0.99, Some(99)),
            (&hundred, 1.0, Some(100)),
            (&hundred, 0.0, Some(1)),
            (&hundred, 0.991, Some(100)),
            (&[7], 0.5, Some(7)),
            (&[7], 0.99, Some(7)),
            (&[10, 20], 0.5, Some(10)),
            (&[10, 20], 0.51, Some(20)),
            (&[10, 20, 30, 40], 0.75, Some(30)),
            (&[], 0.5, None),
        ];
        for (values, q, expected) in cases {
            assert_eq!(
                percentile(&micros_list(values), *q),
                expected.map(Duration::from_micros),
                "q={q} of {} samples",
                values.len()
            );
        }
    }

    #[test]
    fn added_latency_is_signed() {
        let cases = [(1_250, 1_000, 250.0), (1_000, 1_250, -250.0), (5, 5, 0.0)];
        for (proxy, direct, expected) in cases {
            let added = signed_micros(Duration::from_micros(proxy), Duration::from_micros(direct));
            assert!(
                (added - expected).abs() < 1e-6,
                "{proxy} - {direct} = {added}"
            );
        }
    }

    #[test]
    fn memory_is_read_from_proc_status_lines() {
        let status = "Name:\tforge-proxy\nVmHWM:\t   20480 kB\nVmRSS:\t   18432 kB\nThreads:\t3\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kib: 18_432,
                peak_kib: 20_480
            })
        );
        assert_eq!(parse_memory("Name:\tx\nVmRSS:\t12 kB\n"), None);
    }

    #[test]
    fn cpu_ticks_are_user_plus_system_counted_after_the_command_name() {
        let stat = "4242 (forge proxy) S 1 4242 4242 0 -1 4194560 900 0 0 0 137 25 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(162));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1 2"), None);
        assert_eq!(parse_cpu_ticks("no parenthesis"), None);
    }

    #[test]
    fn options_take_bounds_and_reject_zero_and_unknown_flags() {
        let parse = |args: &[&str]| {
            Options::parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()).ok()
        };
        assert_eq!(parse(&[]), Some(Options::default()));
        assert_eq!(
            parse(&["--no-build"]).map(|options| options.no_build),
            Some(true)
        );
        assert_eq!(
            parse(&["--requests", "500", "--max-seconds", "3"]),
            Some(Options {
                requests: 500,
                max_seconds: 3,
                no_build: false,
                binary: None,
            })
        );
        assert_eq!(
            parse(&["--binary", "/tmp/forge-proxy"]).and_then(|options| options.binary),
            Some(PathBuf::from("/tmp/forge-proxy"))
        );
        for bad in [
            &["--requests"][..],
            &["--requests", "0"],
            &["--requests", "x"],
            &["--fast"],
            &["--binary"],
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn content_length_is_read_case_insensitively_from_the_head_only() {
        let cases: &[(&str, Option<usize>)] = &[
            ("HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n", Some(42)),
            (
                "HTTP/1.1 200 OK\r\nContent-Length:7\r\nx: y\r\n\r\n",
                Some(7),
            ),
            (
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                None,
            ),
            ("HTTP/1.1 200 OK\r\ncontent-length: many\r\n\r\n", None),
            ("content-length: 3\r\n\r\n", None),
        ];
        for (head, expected) in cases {
            assert_eq!(content_length(head.as_bytes()), *expected, "{head:?}");
        }
    }

    #[test]
    fn the_prepared_request_is_a_post_with_the_body_length() {
        let target = Target::chat_completions("http://127.0.0.1:8080", b"{}").unwrap();
        assert_eq!(target.address, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            std::str::from_utf8(&target.request).unwrap(),
            "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\
             content-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        );
        assert!(Target::chat_completions("https://127.0.0.1:8080", b"{}").is_err());
        assert!(Target::chat_completions("http://localhost:8080", b"{}").is_err());
    }
}
