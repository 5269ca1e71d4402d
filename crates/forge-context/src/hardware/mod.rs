//! GPU detection, for choosing a context budget from the memory available.
//!
//! A ladder of probes, first success wins: `nvidia-smi` (NVIDIA, discrete memory), the DRM
//! sysfs tree (AMD, reported as unified memory), and on macOS `sysctl` (Apple silicon, unified
//! memory). A probe that finds nothing adds a note and the next one runs; a probe that finds a
//! GPU but cannot make sense of what it reports fails the whole detection
//! ([`ForgeError::HardwareDetection`]), because a wrong budget is worse than a loud error.
//!
//! The output parsing is pure ([`parse_nvidia_smi`], [`parse_amd_card`],
//! [`parse_apple_sysctl`]); [`HardwareProbe`] does the I/O through an injectable
//! [`CommandRunner`] and sysfs root.

mod amd;
mod apple;
mod command;
mod nvidia;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use forge_types::ForgeError;
use serde::Serialize;

pub use amd::{is_amd_vendor, parse_amd_card, DRM_ROOT};
pub use apple::{parse_apple_sysctl, SYSCTL, SYSCTL_ARGS};
pub use command::{CommandOutcome, CommandRunner, SystemCommandRunner};
pub use nvidia::{parse_nvidia_smi, NVIDIA_SMI, NVIDIA_SMI_ARGS};

/// Who made the GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GpuVendor {
    /// `"nvidia"`
    Nvidia,
    /// `"amd"`
    Amd,
    /// `"apple"`
    Apple,
}

impl fmt::Display for GpuVendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nvidia => "nvidia",
            Self::Amd => "amd",
            Self::Apple => "apple",
        })
    }
}

/// Whether the GPU has memory of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryKind {
    /// Dedicated VRAM.
    Discrete,
    /// System RAM shared with, or carved out for, the GPU.
    Unified,
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discrete => "discrete",
            Self::Unified => "unified",
        })
    }
}

/// The GPU found, with its total memory (a stable figure, unlike free memory).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct HardwareProfile {
    /// The name the probe reported.
    pub gpu_name: String,
    /// Total memory in MiB.
    pub vram_total_mb: u64,
    /// Who made it.
    pub gpu_vendor: GpuVendor,
    /// Dedicated or shared memory.
    pub memory_kind: MemoryKind,
}

impl HardwareProfile {
    /// An NVIDIA GPU with discrete memory, the reference's defaults.
    pub fn new(gpu_name: impl Into<String>, vram_total_mb: u64) -> Self {
        Self {
            gpu_name: gpu_name.into(),
            vram_total_mb,
            gpu_vendor: GpuVendor::Nvidia,
            memory_kind: MemoryKind::Discrete,
        }
    }

    /// Total memory in GiB (`12288` MiB → `12.0`).
    pub fn vram_total_gb(&self) -> f64 {
        self.vram_total_mb as f64 / 1024.0
    }
}

/// What a probe run found, and what each probe that found nothing said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The GPU, if a probe found one.
    pub profile: Option<HardwareProfile>,
    /// One note per probe that found nothing, in order (`"nvidia-smi: not installed"`, …).
    pub attempted: Vec<String>,
}

/// The probe ladder with its I/O made explicit.
#[derive(Debug)]
pub struct HardwareProbe {
    runner: Box<dyn CommandRunner>,
    drm_root: PathBuf,
    command_timeout: Duration,
    probe_apple: bool,
}

impl HardwareProbe {
    /// How long a probe command may run before it is killed.
    pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

    /// The probes of this machine: real commands, [`DRM_ROOT`], the Apple probe on macOS only.
    pub fn system() -> Self {
        Self::new(SystemCommandRunner, DRM_ROOT).with_apple_probe(cfg!(target_os = "macos"))
    }

    /// Probes running commands through `runner` and reading sysfs under `drm_root`, with the
    /// Apple probe off.
    pub fn new(runner: impl CommandRunner + 'static, drm_root: impl Into<PathBuf>) -> Self {
        Self {
            runner: Box::new(runner),
            drm_root: drm_root.into(),
            command_timeout: Self::COMMAND_TIMEOUT,
            probe_apple: false,
        }
    }

    /// Kills probe commands after `timeout` instead of [`HardwareProbe::COMMAND_TIMEOUT`].
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Turns the Apple-silicon probe on or off.
    pub fn with_apple_probe(mut self, enabled: bool) -> Self {
        self.probe_apple = enabled;
        self
    }

    /// Runs the ladder without logging.
    pub fn probe(&self) -> Result<Detection, ForgeError> {
        let mut attempted = Vec::new();
        let mut profile = self.probe_nvidia(&mut attempted)?;
        if profile.is_none() {
            profile = amd::probe_amd_sysfs(&self.drm_root, &mut attempted)?;
        }
        if profile.is_none() && self.probe_apple {
            profile = self.probe_apple(&mut attempted)?;
        }
        Ok(Detection { profile, attempted })
    }

    /// Runs the ladder and logs the result: INFO with the GPU found, or one WARNING listing
    /// what was attempted.
    pub fn detect(&self) -> Result<Option<HardwareProfile>, ForgeError> {
        let Detection { profile, attempted } = self.probe()?;
        match &profile {
            Some(gpu) => tracing::info!(
                gpu_name = %gpu.gpu_name,
                vram_total_mb = gpu.vram_total_mb,
                gpu_vendor = %gpu.gpu_vendor,
                memory_kind = %gpu.memory_kind,
                "GPU detected"
            ),
            None => tracing::warn!(
                "GPU detection failed; all probes returned no result. Attempted: {}. \
                 Downstream Ollama tier budget will fall back to 4096 tokens.",
                attempted.join("; ")
            ),
        }
        Ok(profile)
    }

    fn probe_nvidia(
        &self,
        attempted: &mut Vec<String>,
    ) -> Result<Option<HardwareProfile>, ForgeError> {
        match self.run(NVIDIA_SMI, &NVIDIA_SMI_ARGS, attempted)? {
            Some(stdout) => parse_nvidia_smi(&stdout).map(Some),
            None => Ok(None),
        }
    }

    fn probe_apple(
        &self,
        attempted: &mut Vec<String>,
    ) -> Result<Option<HardwareProfile>, ForgeError> {
        let Some(stdout) = self.run(SYSCTL, &SYSCTL_ARGS, attempted)? else {
            return Ok(None);
        };
        let profile = parse_apple_sysctl(&stdout)?;
        if profile.is_none() {
            attempted.push("sysctl: not Apple silicon".to_owned());
        }
        Ok(profile)
    }

    /// The standard output of a successful run, or `None` with a note saying why not.
    fn run(
        &self,
        program: &str,
        args: &[&str],
        attempted: &mut Vec<String>,
    ) -> Result<Option<String>, ForgeError> {
        let outcome = self
            .runner
            .run(program, args, self.command_timeout)
            .map_err(|err| detection_error(format!("{program}: could not run: {err}")))?;
        let note = match outcome {
            CommandOutcome::Exited {
                code: Some(0),
                stdout,
            } => return Ok(Some(stdout)),
            CommandOutcome::NotFound => format!("{program}: not installed"),
            CommandOutcome::TimedOut => format!("{program}: timeout"),
            CommandOutcome::Exited {
                code: Some(code), ..
            } => format!("{program}: exit {code}"),
            CommandOutcome::Exited { code: None, .. } => format!("{program}: killed by a signal"),
        };
        attempted.push(note);
        Ok(None)
    }
}

/// Detects this machine's GPU with [`HardwareProbe::system`]: `Ok(None)` (and a WARNING log
/// line) when there is none, an error when a probe's output makes no sense.
pub fn detect_hardware() -> Result<Option<HardwareProfile>, ForgeError> {
    HardwareProbe::system().detect()
}

fn detection_error(cause: String) -> ForgeError {
    ForgeError::HardwareDetection { cause }
}
