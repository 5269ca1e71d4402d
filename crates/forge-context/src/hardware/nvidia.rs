//! NVIDIA GPUs, through `nvidia-smi`.

use forge_types::ForgeError;

use super::{detection_error, GpuVendor, HardwareProfile, MemoryKind};

/// The program the NVIDIA probe runs.
pub const NVIDIA_SMI: &str = "nvidia-smi";

/// Its arguments: name and total memory (MiB) of every GPU, one CSV line each, no header.
pub const NVIDIA_SMI_ARGS: [&str; 2] = [
    "--query-gpu=name,memory.total",
    "--format=csv,noheader,nounits",
];

/// The first GPU listed in `nvidia-smi` output (see [`NVIDIA_SMI_ARGS`]).
///
/// The first line must hold exactly two comma-separated fields, a name and an integer MiB
/// count; anything else (an empty output, a name containing a comma, `[N/A]` memory) is a
/// [`ForgeError::HardwareDetection`] error, since `nvidia-smi` ran but said something we do
/// not understand.
///
/// ```
/// use forge_context::hardware::parse_nvidia_smi;
///
/// let gpu = parse_nvidia_smi("NVIDIA GeForce RTX 5070, 12288\n").unwrap();
/// assert_eq!((gpu.gpu_name.as_str(), gpu.vram_total_mb), ("NVIDIA GeForce RTX 5070", 12288));
/// assert!(parse_nvidia_smi("garbage").is_err());
/// ```
pub fn parse_nvidia_smi(stdout: &str) -> Result<HardwareProfile, ForgeError> {
    let line = stdout.trim().lines().next().unwrap_or_default();
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [name, memory] = fields.as_slice() else {
        return Err(detection_error(format!(
            "nvidia-smi: expected 2 CSV fields (name, memory.total), got {}: {line:?}",
            fields.len()
        )));
    };
    let vram_total_mb = memory.parse::<u64>().map_err(|err| {
        detection_error(format!(
            "nvidia-smi: memory.total {memory:?} is not a MiB count: {err}"
        ))
    })?;
    Ok(HardwareProfile {
        gpu_name: (*name).to_owned(),
        vram_total_mb,
        gpu_vendor: GpuVendor::Nvidia,
        memory_kind: MemoryKind::Discrete,
    })
}
