//! The real-backend tier: two llama-servers on free loopback ports (the model's own chat template, and
//! the tools template), health-checked, exported to the `real_…` tests, and always stopped afterwards.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::http;
use crate::process::{describe, run_echoing, tail_lines};
use crate::setup::{self, RealSetup, TOOLS_TEMPLATE};

/// The context length the real servers run with; tests check `/props` reports it.
const CONTEXT_LENGTH: &str = "4096";
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);

/// Real-tier tests are ignored tests whose name (or last path segment) starts with `real_`.
pub const NEXTEST_FILTER: &str = "test(/(^|::)real_/)";
const LIBTEST_NAME_FILTER: &str = "real_";

/// Process ids of the running llama-servers, for the signal handler.
static RUNNING_SERVERS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// On Ctrl-C, SIGTERM or SIGHUP, stops the llama-servers we started before exiting: `Drop` does not
/// run when a signal ends the process, and SIGTERM (unlike a terminal's Ctrl-C) reaches only us.
pub fn stop_servers_on_signal() -> Result<()> {
    ctrlc::set_handler(|| {
        let pids = match RUNNING_SERVERS.lock() {
            Ok(pids) => pids.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for pid in pids {
            let stopped = Command::new("kill")
                .arg(pid.to_string())
                .stdin(Stdio::null())
                .status();
            match stopped {
                Ok(status) if status.success() => {
                    eprintln!("[real] interrupted: stopped llama-server pid {pid}")
                }
                _ => eprintln!("[real] interrupted: could not stop llama-server pid {pid}"),
            }
        }
        std::process::exit(130);
    })
    .context("cannot install the signal handler that stops llama-servers")
}

fn register_running(pid: u32) {
    let mut pids = RUNNING_SERVERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pids.push(pid);
}

fn unregister_running(pid: u32) {
    let mut pids = RUNNING_SERVERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    pids.retain(|running| *running != pid);
}

/// A llama-server child process, killed when dropped so no run leaves one behind, even on error.
pub struct LlamaServer {
    name: &'static str,
    child: Child,
    address: SocketAddr,
    log: PathBuf,
    /// How it was started, for reports.
    command_line: String,
    /// Whether the log shows something worth reading after the run (the server failed to come up).
    keep_log: bool,
}

impl LlamaServer {
    /// Starts llama-server on a free loopback port with its output in
    /// `<cache>/logs/real-tier-PID-NAME.log` (the xtask's pid, so concurrent runs keep apart).
    fn spawn(setup: &RealSetup, name: &'static str, extra_args: &[&str]) -> Result<Self> {
        Self::spawn_with_context(setup, name, CONTEXT_LENGTH, extra_args)
    }

    /// [`Self::spawn`] with a chosen context length (`-c`), for callers other than the real tier.
    pub fn spawn_with_context(
        setup: &RealSetup,
        name: &'static str,
        context_length: &str,
        extra_args: &[&str],
    ) -> Result<Self> {
        let address = free_loopback_address()?;
        let log = setup
            .cache
            .dir("logs")?
            .join(format!("real-tier-{}-{name}.log", std::process::id()));
        let log_file =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(&setup.llama_server.path);
        command
            .arg("-m")
            .arg(&setup.model.path)
            .args(["--host", "127.0.0.1", "--port"])
            .arg(address.port().to_string())
            .args(["--jinja", "-c", context_length, "-np", "1"])
            .args(extra_args);
        let command_line = describe(&command);
        println!("[real] starting {name} llama-server: {command_line}");
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("duplicating the log handle")?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", setup.llama_server.path.display()))?;
        register_running(child.id());
        Ok(Self {
            name,
            child,
            address,
            log,
            command_line,
            keep_log: false,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Waits until `GET /health` answers 200; fails at once if the process exits.
    pub fn wait_until_healthy(&mut self, timeout: Duration) -> Result<Duration> {
        let waited = self.poll_health(timeout);
        self.keep_log = waited.is_err();
        waited
    }

    fn poll_health(&mut self, timeout: Duration) -> Result<Duration> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("polling llama-server")? {
                bail!(
                    "{} llama-server exited ({status}) before it was healthy; last lines of {}:\n{}\n\
                     (a crash while loading usually means the binary does not suit this CPU: delete \
                     its .buildinfo to make `cargo xtask setup` rebuild it, or set FORGE_LLAMA_SERVER)",
                    self.name,
                    self.log.display(),
                    tail_lines(&self.log, 40)
                );
            }
            if let Ok(200) = http::get_status(self.address, "/health") {
                return Ok(started.elapsed());
            }
            if started.elapsed() > timeout {
                bail!(
                    "{} llama-server at {} not healthy after {} s; last lines of {}:\n{}",
                    self.name,
                    self.url(),
                    timeout.as_secs(),
                    self.log.display(),
                    tail_lines(&self.log, 40)
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The full command line the server was started with.
    pub fn command_line(&self) -> &str {
        &self.command_line
    }

    fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        self.child.try_wait().context("polling llama-server")
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        match self.child.try_wait() {
            Ok(None) => {
                // A test server holds no state worth a graceful shutdown.
                if let Err(error) = self.child.kill() {
                    eprintln!("[real] cannot stop {} llama-server: {error}", self.name);
                }
                if self.child.wait().is_ok() {
                    println!("[real] stopped {} llama-server ({})", self.name, self.url());
                }
            }
            Ok(Some(status)) => {
                eprintln!(
                    "[real] {} llama-server had already exited ({status}); its log: {}",
                    self.name,
                    self.log.display()
                );
                self.keep_log = true;
            }
            Err(error) => {
                eprintln!("[real] cannot poll {} llama-server: {error}", self.name);
                self.keep_log = true;
            }
        }
        unregister_running(self.child.id());
        if !self.keep_log {
            // The log of a server that ran and was stopped by us is noise; a failure keeps it.
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// Binding port 0 lets the kernel pick a free port; we release it for llama-server to take.
fn free_loopback_address() -> Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot bind a loopback port to find a free one")?;
    listener
        .local_addr()
        .context("reading the bound loopback address")
}

/// The two servers the tier runs against.
pub struct RealServers {
    pub plain: LlamaServer,
    pub tools: LlamaServer,
}

impl RealServers {
    /// Starts both servers (they load in parallel) and waits until both are healthy.
    pub fn start(setup: &RealSetup) -> Result<Self> {
        let tools_template = setup.templates_dir.join(TOOLS_TEMPLATE);
        let tools_template = tools_template
            .to_str()
            .context("the templates folder path is not UTF-8")?
            .to_owned();
        // One thread each: two servers plus the tests share the cores, and llama.cpp's thread
        // pool spins at its barriers, so oversubscribed it slows to a crawl (seen: 0.4 tokens/s
        // with the default two threads under a parallel build, 25+ with one).
        let mut servers = Self {
            plain: LlamaServer::spawn(setup, "plain", &["-t", "1"])?,
            tools: LlamaServer::spawn(
                setup,
                "tools",
                &["-t", "1", "--chat-template-file", &tools_template],
            )?,
        };
        for server in [&mut servers.plain, &mut servers.tools] {
            let waited = server.wait_until_healthy(HEALTH_TIMEOUT)?;
            println!(
                "[real] {} llama-server healthy at {} after {:.1} s",
                server.name,
                server.url(),
                waited.as_secs_f64()
            );
        }
        Ok(servers)
    }

    /// The variables the `real_…` tests read (see the `forge-tests` crate).
    pub fn test_environment(&self, setup: &RealSetup) -> Vec<(&'static str, String)> {
        vec![
            ("FORGE_REAL_LLAMA_URL", self.plain.url()),
            ("FORGE_REAL_LLAMA_TOOLS_URL", self.tools.url()),
            (
                "FORGE_REAL_MODEL_PATH",
                setup.model.path.display().to_string(),
            ),
            (
                "FORGE_REAL_LLAMA_SERVER",
                setup.llama_server.path.display().to_string(),
            ),
            (
                "FORGE_REAL_TEMPLATES_DIR",
                setup.templates_dir.display().to_string(),
            ),
        ]
    }
}

/// The command running only the real-tier tests, one at a time (they share one server slot).
pub fn real_tests_command(use_nextest: bool) -> Command {
    let mut command = Command::new(crate::cargo());
    if use_nextest {
        command.args([
            "nextest",
            "run",
            "--workspace",
            "--run-ignored",
            "only",
            "--test-threads",
            "1",
            "--no-fail-fast",
            "--no-tests=warn",
            "-E",
            NEXTEST_FILTER,
        ]);
    } else {
        command.args([
            "test",
            "--workspace",
            "--lib",
            "--bins",
            "--tests",
            "--no-fail-fast",
            "--",
            "--ignored",
            "--test-threads",
            "1",
            LIBTEST_NAME_FILTER,
        ]);
    }
    command
}

/// Runs the real-tier tests against running servers, echoing their output.
pub fn run_real_tests(
    repo_root: &Path,
    setup: &RealSetup,
    servers: &RealServers,
    use_nextest: bool,
) -> Result<(ExitStatus, String)> {
    let mut command = real_tests_command(use_nextest);
    command
        .current_dir(repo_root)
        .envs(servers.test_environment(setup));
    println!("==> real tier: {}", describe(&command));
    run_echoing(&mut command)
}

/// `cargo xtask real-server`: runs the servers in the foreground until Ctrl-C, for running real tests
/// by hand.
pub fn serve_until_interrupted(repo_root: &Path) -> Result<()> {
    stop_servers_on_signal()?;
    let setup = setup::prepare(repo_root)?;
    let mut servers = RealServers::start(&setup)?;
    println!("\n# real-tier environment; Ctrl-C stops the servers");
    for (name, value) in servers.test_environment(&setup) {
        println!("export {name}={value}");
    }
    println!(
        "# then: cargo nextest run --workspace --run-ignored only -E '{NEXTEST_FILTER}' --test-threads 1"
    );
    loop {
        for server in [&mut servers.plain, &mut servers.tools] {
            if let Some(status) = server.exit_status()? {
                bail!(
                    "{} llama-server exited ({status}); see {}",
                    server.name,
                    server.log.display()
                );
            }
        }
        thread::sleep(Duration::from_secs(1));
    }
}
