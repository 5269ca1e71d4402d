//! Spec 04 §10.1 and §10.5: budget modes and the budget arithmetic.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use forge_context::hardware::{GpuVendor, HardwareProfile, MemoryKind};
use forge_context::{
    forge_fast_budget, launch_context_override, manual_budget, ollama_budget, total_server_context,
    vram_tier_budget, BudgetMode,
};
use forge_types::ForgeError;

#[test]
fn budget_mode_names_round_trip_exactly() {
    let names = [
        (BudgetMode::Backend, "backend"),
        (BudgetMode::Manual, "manual"),
        (BudgetMode::ForgeFull, "forge-full"),
        (BudgetMode::ForgeFast, "forge-fast"),
    ];
    for (mode, name) in names {
        assert_eq!(mode.to_string(), name);
        assert_eq!(name.parse::<BudgetMode>().unwrap(), mode);
    }
    for bad in ["Backend", "forge_fast", "forge-full ", "", "auto"] {
        let err = bad.parse::<BudgetMode>().unwrap_err();
        assert!(
            matches!(
                err,
                ForgeError::InvalidInput {
                    what: "budget mode",
                    ..
                }
            ),
            "{bad:?}"
        );
    }
    assert_eq!(BudgetMode::default(), BudgetMode::Backend);
}

#[test]
fn vram_tiers() {
    let gpu = |mib| HardwareProfile::new("gpu", mib);
    let unified = |mib| HardwareProfile {
        gpu_vendor: GpuVendor::Amd,
        memory_kind: MemoryKind::Unified,
        ..HardwareProfile::new("apu", mib)
    };
    let cases = [
        ("no GPU", None, 4096),
        ("8 GiB", Some(gpu(8192)), 4096),
        ("12 GiB", Some(gpu(12288)), 4096),
        ("just under 24 GiB", Some(gpu(24575)), 4096),
        ("24 GiB", Some(gpu(24576)), 32768),
        (
            "RTX 4090 (24564 MiB is under 24 GiB)",
            Some(gpu(24564)),
            4096,
        ),
        ("just under 48 GiB", Some(gpu(49151)), 32768),
        ("48 GiB", Some(gpu(49152)), 262144),
        ("64 GiB unified APU", Some(unified(65536)), 262144),
    ];
    for (name, profile, expected) in cases {
        assert_eq!(vram_tier_budget(profile.as_ref()), expected, "{name}");
    }
}

#[test]
fn ollama_budget_by_mode() {
    let big = HardwareProfile::new("RTX A6000", 49152);
    let mid = HardwareProfile::new("RTX 3090", 24576);
    let cases: [(BudgetMode, Option<u64>, Option<&HardwareProfile>, u64); 8] = [
        (BudgetMode::Backend, None, Some(&mid), 32768),
        (BudgetMode::ForgeFull, None, Some(&mid), 32768),
        (BudgetMode::ForgeFast, None, Some(&mid), 16384),
        (BudgetMode::ForgeFull, None, Some(&big), 262144),
        (BudgetMode::ForgeFast, None, Some(&big), 131072),
        (BudgetMode::ForgeFast, None, None, 2048),
        (BudgetMode::Manual, Some(12000), None, 12000),
        (BudgetMode::Manual, Some(12000), Some(&big), 12000),
    ];
    for (mode, manual, profile, expected) in cases {
        assert_eq!(
            ollama_budget(mode, manual, profile).unwrap(),
            expected,
            "{mode} {manual:?}"
        );
    }
}

#[test]
fn manual_mode_needs_a_positive_count() {
    assert_eq!(manual_budget(Some(8192)).unwrap(), 8192);
    for (manual, message) in [
        (
            None,
            "Budget resolution failed: manual mode requires manual_tokens",
        ),
        (
            Some(0),
            "Budget resolution failed: manual mode requires a positive manual_tokens",
        ),
    ] {
        let err = manual_budget(manual).unwrap_err();
        assert!(matches!(err, ForgeError::BudgetResolution { .. }));
        assert_eq!(err.to_string(), message);
        assert!(ollama_budget(BudgetMode::Manual, manual, None).is_err());
        assert!(launch_context_override(BudgetMode::Manual, manual).is_err());
    }
}

#[test]
fn forge_fast_halves_the_whole_server_context() {
    let cases = [
        ("one slot", 32768, None, false, 16384),
        ("slots = 1", 32768, Some(1), false, 16384),
        (
            "4 slots report per-slot context",
            8192,
            Some(4),
            false,
            16384,
        ),
        (
            "unified KV reports the whole pool",
            32768,
            Some(4),
            true,
            16384,
        ),
        ("odd totals round down", 4097, None, false, 2048),
    ];
    for (name, reported, slots, unified, expected) in cases {
        assert_eq!(
            forge_fast_budget(total_server_context(reported, slots, unified)),
            expected,
            "{name}"
        );
    }
}

#[test]
fn launch_override_is_the_manual_count_only() {
    let cases = [
        (BudgetMode::Backend, None, None),
        (BudgetMode::ForgeFull, None, None),
        (BudgetMode::ForgeFast, None, None),
        (BudgetMode::Backend, Some(4096), None),
        (BudgetMode::Manual, Some(4096), Some(4096)),
    ];
    for (mode, manual, expected) in cases {
        assert_eq!(
            launch_context_override(mode, manual).unwrap(),
            expected,
            "{mode} {manual:?}"
        );
    }
}
