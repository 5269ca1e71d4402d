//! Apple silicon, through `sysctl`.
//!
//! Not in the reference (which only probes NVIDIA and AMD): Apple-silicon Macs share system
//! memory with the GPU, so the total memory is what bounds the context.

use forge_types::ForgeError;

use super::{detection_error, GpuVendor, HardwareProfile, MemoryKind};

/// The program the Apple probe runs.
pub const SYSCTL: &str = "sysctl";

/// Its arguments: the CPU brand line, then the total memory in bytes, one value per line.
pub const SYSCTL_ARGS: [&str; 3] = ["-n", "machdep.cpu.brand_string", "hw.memsize"];

/// The profile described by `sysctl` output (see [`SYSCTL_ARGS`]), or `None` for a Mac that
/// is not Apple silicon (its brand does not start with `Apple`).
///
/// Output that is not two lines, or a memory size that is not a byte count, is a
/// [`ForgeError::HardwareDetection`] error.
pub fn parse_apple_sysctl(stdout: &str) -> Result<Option<HardwareProfile>, ForgeError> {
    let lines: Vec<&str> = stdout.trim().lines().map(str::trim).collect();
    let [brand, memsize] = lines.as_slice() else {
        return Err(detection_error(format!(
            "sysctl: expected 2 lines (brand, hw.memsize), got {}: {stdout:?}",
            lines.len()
        )));
    };
    if !brand.starts_with("Apple") {
        return Ok(None);
    }
    let bytes = memsize.parse::<u64>().map_err(|err| {
        detection_error(format!(
            "sysctl: hw.memsize {memsize:?} is not a byte count: {err}"
        ))
    })?;
    Ok(Some(HardwareProfile {
        gpu_name: (*brand).to_owned(),
        vram_total_mb: bytes / (1024 * 1024),
        gpu_vendor: GpuVendor::Apple,
        memory_kind: MemoryKind::Unified,
    }))
}
