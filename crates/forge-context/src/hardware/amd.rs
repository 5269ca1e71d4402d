//! AMD GPUs, through the kernel's DRM sysfs tree.

use std::fs;
use std::io;
use std::path::Path;

use forge_types::ForgeError;

use super::{detection_error, GpuVendor, HardwareProfile, MemoryKind};

/// Where Linux lists display devices.
pub const DRM_ROOT: &str = "/sys/class/drm";

/// AMD's PCI vendor id, as `device/vendor` spells it.
const PCI_VENDOR_AMD: &str = "0x1002";

/// True when a `device/vendor` file's text names AMD.
pub fn is_amd_vendor(vendor_file: &str) -> bool {
    vendor_file.trim() == PCI_VENDOR_AMD
}

/// The profile of AMD card `card_name` (`card1`) from its `device/mem_info_vram_total` text
/// (bytes) and, when readable, its `device/uevent` text.
///
/// The name is `AMD GPU [<PCI_ID>]` from the first `PCI_ID=` line of the uevent, else
/// `AMD GPU (<card_name>)`. The memory is reported as unified, as the reference does for every
/// AMD card: the probe targets APUs whose "VRAM" is carved out of system RAM. An unparsable
/// byte count is a [`ForgeError::HardwareDetection`] error.
pub fn parse_amd_card(
    card_name: &str,
    vram_total: &str,
    uevent: Option<&str>,
) -> Result<HardwareProfile, ForgeError> {
    let vram_bytes = vram_total.trim().parse::<u64>().map_err(|err| {
        detection_error(format!(
            "amd-sysfs: {card_name}/device/mem_info_vram_total {:?} is not a byte count: {err}",
            vram_total.trim()
        ))
    })?;
    let pci_id = uevent.and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("PCI_ID="))
            .map(str::to_owned)
    });
    let gpu_name = match pci_id {
        Some(pci_id) => format!("AMD GPU [{pci_id}]"),
        None => format!("AMD GPU ({card_name})"),
    };
    Ok(HardwareProfile {
        gpu_name,
        vram_total_mb: vram_bytes / (1024 * 1024),
        gpu_vendor: GpuVendor::Amd,
        memory_kind: MemoryKind::Unified,
    })
}

/// Walks `drm_root` for the first AMD card with a VRAM size, noting why it found none.
pub(super) fn probe_amd_sysfs(
    drm_root: &Path,
    attempted: &mut Vec<String>,
) -> Result<Option<HardwareProfile>, ForgeError> {
    if !drm_root.exists() {
        attempted.push(format!("amd-sysfs: {} missing", drm_root.display()));
        return Ok(None);
    }
    let io_error = |what: &Path, err: io::Error| {
        detection_error(format!("amd-sysfs: reading {}: {err}", what.display()))
    };
    let mut cards = Vec::new();
    for entry in fs::read_dir(drm_root).map_err(|err| io_error(drm_root, err))? {
        let entry = entry.map_err(|err| io_error(drm_root, err))?;
        if entry.file_name().to_str().is_some_and(is_card_name) {
            cards.push(entry.path());
        }
    }
    if cards.is_empty() {
        attempted.push("amd-sysfs: no card* entries".to_owned());
        return Ok(None);
    }
    // Lexicographic like the reference (card10 before card2); first match wins.
    cards.sort();
    for card in &cards {
        let device = card.join("device");
        let vendor_file = device.join("vendor");
        let vram_file = device.join("mem_info_vram_total");
        if !vendor_file.exists() || !vram_file.exists() {
            continue;
        }
        let vendor = fs::read_to_string(&vendor_file).map_err(|err| io_error(&vendor_file, err))?;
        if !is_amd_vendor(&vendor) {
            continue;
        }
        let vram = fs::read_to_string(&vram_file).map_err(|err| io_error(&vram_file, err))?;
        // The name is cosmetic: an unreadable uevent only costs the PCI id.
        let uevent = fs::read_to_string(device.join("uevent")).ok();
        let card_name = card
            .file_name()
            .and_then(|name| name.to_str())
            .expect("card entries were selected by their UTF-8 name");
        return parse_amd_card(card_name, &vram, uevent.as_deref()).map(Some);
    }
    attempted.push("amd-sysfs: no AMD card with mem_info_vram_total".to_owned());
    Ok(None)
}

/// `card<digits>`: a card, not a connector (`card0-DP-1`) or a render node (`renderD128`).
fn is_card_name(name: &str) -> bool {
    name.strip_prefix("card")
        .is_some_and(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::is_card_name;

    #[test]
    fn only_numbered_cards_count() {
        for (name, expected) in [
            ("card0", true),
            ("card12", true),
            ("card", false),
            ("card0-DP-1", false),
            ("renderD128", false),
            ("cardx", false),
        ] {
            assert_eq!(is_card_name(name), expected, "{name}");
        }
    }
}
