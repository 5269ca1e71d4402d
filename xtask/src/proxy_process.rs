//! A `forge-proxy` child process in external mode on a free loopback port: built, started,
//! health-checked on `/forge/health`, and killed when dropped so no run leaves one behind.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::http;
use crate::process::{describe, run_inherited, stdout_if_success, tail_lines};

const HEALTH_TIMEOUT: Duration = Duration::from_secs(20);

/// Which build of the proxy binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Debug,
    Release,
}

/// Builds `forge-proxy` with cargo and returns the binary's path (under cargo's target folder, which
/// `cargo metadata` reports, so `CARGO_TARGET_DIR` and config overrides are honoured).
pub fn build_proxy(repo_root: &Path, profile: Profile) -> Result<PathBuf> {
    let mut build = Command::new(crate::cargo());
    build
        .current_dir(repo_root)
        .args(["build", "-p", "forge-proxy"]);
    if profile == Profile::Release {
        build.arg("--release");
    }
    println!("[proxy] building: {}", describe(&build));
    run_inherited(&mut build)?;
    built_proxy(repo_root, profile)
}

/// The `forge-proxy` binary cargo last built for `profile`, without building.
pub fn built_proxy(repo_root: &Path, profile: Profile) -> Result<PathBuf> {
    let metadata = stdout_if_success(Command::new(crate::cargo()).current_dir(repo_root).args([
        "metadata",
        "--no-deps",
        "--format-version",
        "1",
    ]))
    .context("`cargo metadata` failed while looking for the target folder")?;
    let metadata: serde_json::Value =
        serde_json::from_str(&metadata).context("cargo metadata printed invalid JSON")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("cargo metadata has no `target_directory`")?;
    let folder = match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    };
    let binary = Path::new(target).join(folder).join("forge-proxy");
    if !binary.is_file() {
        bail!(
            "cargo built forge-proxy but {} does not exist",
            binary.display()
        );
    }
    Ok(binary)
}

/// A running proxy.
pub struct ProxyProcess {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
}

impl ProxyProcess {
    /// Starts `binary --backend-url BACKEND --host 127.0.0.1 --port P EXTRA…` with its output in
    /// `log`, and waits until `/forge/health` answers 200 (failing at once if it exits).
    pub fn start(
        binary: &Path,
        backend_url: &str,
        extra_args: &[&str],
        log: &Path,
    ) -> Result<Self> {
        let address = free_loopback_address()?;
        let log_file =
            File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .args([
                "--backend-url",
                backend_url,
                "--host",
                "127.0.0.1",
                "--port",
            ])
            .arg(address.port().to_string())
            .args(extra_args);
        println!("[proxy] starting: {}", describe(&command));
        let child = command
            // The log is a file: no colour codes in it.
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().context("duplicating the log handle")?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut proxy = Self {
            child,
            address,
            log: log.to_path_buf(),
        };
        proxy.wait_until_healthy()?;
        println!("[proxy] ready at {} (log: {})", proxy.url(), log.display());
        Ok(proxy)
    }

    fn wait_until_healthy(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().context("polling forge-proxy")? {
                bail!(
                    "forge-proxy exited ({status}) before it was healthy; last lines of {}:\n{}",
                    self.log.display(),
                    tail_lines(&self.log, 30)
                );
            }
            if let Ok(200) = http::get_status(self.address, "/forge/health") {
                return Ok(());
            }
            if started.elapsed() > HEALTH_TIMEOUT {
                bail!(
                    "forge-proxy at {} not healthy after {} s; last lines of {}:\n{}",
                    self.url(),
                    HEALTH_TIMEOUT.as_secs(),
                    self.log.display(),
                    tail_lines(&self.log, 30)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The process id (for reading its memory use from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its log file.
    pub fn log(&self) -> &Path {
        &self.log
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        match self.child.try_wait() {
            Ok(None) => {
                if let Err(error) = self.child.kill() {
                    eprintln!("[proxy] cannot stop forge-proxy: {error}");
                }
                if self.child.wait().is_ok() {
                    println!("[proxy] stopped forge-proxy ({})", self.url());
                }
            }
            Ok(Some(status)) => eprintln!(
                "[proxy] forge-proxy had already exited ({status}); its log: {}",
                self.log.display()
            ),
            Err(error) => eprintln!("[proxy] cannot poll forge-proxy: {error}"),
        }
    }
}

/// Binding port 0 lets the kernel pick a free port; we release it for the proxy to take.
fn free_loopback_address() -> Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("cannot bind a loopback port to find a free one")?;
    listener
        .local_addr()
        .context("reading the bound loopback address")
}
