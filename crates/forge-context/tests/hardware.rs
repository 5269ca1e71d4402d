//! Spec 01 §8 / spec 04 §10.7: GPU detection through scripted commands and a fake sysfs tree.
#![allow(clippy::unwrap_used)] // tests may unwrap; helpers outside #[test] fns need this too

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forge_context::detect_hardware;
use forge_context::hardware::{
    parse_amd_card, parse_apple_sysctl, parse_nvidia_smi, CommandOutcome, CommandRunner, Detection,
    GpuVendor, HardwareProbe, HardwareProfile, MemoryKind, SystemCommandRunner,
};
use forge_types::ForgeError;

/// One recorded command: program, arguments, timeout.
type Invocation = (String, Vec<String>, Duration);

/// Answers each program with a fixed outcome and records what was run.
#[derive(Debug, Default, Clone)]
struct ScriptedRunner {
    outcomes: HashMap<&'static str, Result<CommandOutcome, io::ErrorKind>>,
    calls: Arc<Mutex<Vec<Invocation>>>,
}

impl ScriptedRunner {
    fn with(mut self, program: &'static str, outcome: CommandOutcome) -> Self {
        self.outcomes.insert(program, Ok(outcome));
        self
    }

    fn failing(mut self, program: &'static str, kind: io::ErrorKind) -> Self {
        self.outcomes.insert(program, Err(kind));
        self
    }
}

impl CommandRunner for ScriptedRunner {
    fn run(&self, program: &str, args: &[&str], timeout: Duration) -> io::Result<CommandOutcome> {
        let args = args.iter().map(|a| (*a).to_owned()).collect();
        self.calls
            .lock()
            .unwrap()
            .push((program.to_owned(), args, timeout));
        match self.outcomes.get(program) {
            Some(Ok(outcome)) => Ok(outcome.clone()),
            Some(Err(kind)) => Err(io::Error::new(*kind, "scripted failure")),
            None => Ok(CommandOutcome::NotFound),
        }
    }
}

fn exited(code: i32, stdout: &str) -> CommandOutcome {
    CommandOutcome::Exited {
        code: Some(code),
        stdout: stdout.to_owned(),
    }
}

fn nvidia_says(stdout: &str) -> ScriptedRunner {
    ScriptedRunner::default().with("nvidia-smi", exited(0, stdout))
}

/// A fake `/sys/class/drm` card: `(name, vendor, vram bytes, uevent)`.
fn add_card(root: &Path, name: &str, vendor: &str, vram: Option<&str>, uevent: Option<&str>) {
    let device = root.join(name).join("device");
    fs::create_dir_all(&device).unwrap();
    fs::write(device.join("vendor"), format!("{vendor}\n")).unwrap();
    if let Some(vram) = vram {
        fs::write(device.join("mem_info_vram_total"), format!("{vram}\n")).unwrap();
    }
    if let Some(uevent) = uevent {
        fs::write(device.join("uevent"), uevent).unwrap();
    }
}

fn probe(runner: ScriptedRunner, drm_root: &Path) -> Result<Detection, ForgeError> {
    HardwareProbe::new(runner, drm_root).probe()
}

fn cause(result: Result<impl std::fmt::Debug, ForgeError>) -> String {
    match result {
        Err(ForgeError::HardwareDetection { cause }) => cause,
        other => panic!("expected a hardware-detection error, got {other:?}"),
    }
}

#[test]
fn profile_reports_gib_and_defaults_to_discrete_nvidia() {
    let profile = HardwareProfile::new("RTX 5070", 12288);
    assert_eq!(profile.vram_total_gb(), 12.0);
    assert_eq!(
        HardwareProfile::new("RTX 5070", 12000).vram_total_gb(),
        12000.0 / 1024.0
    );
    assert_eq!(
        (profile.gpu_vendor, profile.memory_kind),
        (GpuVendor::Nvidia, MemoryKind::Discrete)
    );
    assert_eq!(
        (GpuVendor::Amd.to_string(), MemoryKind::Unified.to_string()),
        ("amd".into(), "unified".into())
    );
}

#[test]
fn nvidia_smi_output_parsing() {
    let good = [
        (
            "NVIDIA GeForce RTX 5070, 12288\n",
            "NVIDIA GeForce RTX 5070",
            12288,
        ),
        (
            "NVIDIA GeForce RTX 3090, 24576\nNVIDIA GeForce RTX 3060, 12288\n",
            "NVIDIA GeForce RTX 3090",
            24576,
        ),
        ("  RTX 4090 ,  24564  \n", "RTX 4090", 24564),
    ];
    for (stdout, name, mib) in good {
        let profile = parse_nvidia_smi(stdout).unwrap();
        assert_eq!(profile, HardwareProfile::new(name, mib), "{stdout:?}");
    }
    let malformed = [
        ("garbage", "expected 2 CSV fields"),
        ("", "expected 2 CSV fields"),
        ("NVIDIA, Inc. RTX, 8192", "got 3"),
        ("RTX 4090, [N/A]", "not a MiB count"),
        ("RTX 4090, -5", "not a MiB count"),
        ("RTX 4090, 24.5", "not a MiB count"),
    ];
    for (stdout, expected) in malformed {
        let cause = cause(parse_nvidia_smi(stdout));
        assert!(cause.contains(expected), "{stdout:?}: {cause}");
    }
}

#[test]
fn nvidia_probe_runs_the_query_with_a_ten_second_timeout() {
    let runner = nvidia_says("NVIDIA GeForce RTX 5070, 12288\n");
    let calls = Arc::clone(&runner.calls);
    let detection = probe(runner, Path::new("/nonexistent")).unwrap();
    assert_eq!(
        detection.profile,
        Some(HardwareProfile::new("NVIDIA GeForce RTX 5070", 12288))
    );
    assert!(detection.attempted.is_empty());
    let expected_args = vec![
        "--query-gpu=name,memory.total".to_owned(),
        "--format=csv,noheader,nounits".to_owned(),
    ];
    assert_eq!(
        *calls.lock().unwrap(),
        vec![(
            "nvidia-smi".to_owned(),
            expected_args,
            Duration::from_secs(10)
        )]
    );
}

#[test]
fn malformed_nvidia_output_stops_the_ladder() {
    let sysfs = tempfile::tempdir().unwrap();
    add_card(sysfs.path(), "card0", "0x1002", Some("68719476736"), None);
    let cause = cause(probe(nvidia_says("garbage"), sysfs.path()));
    assert!(
        cause.starts_with("nvidia-smi: expected 2 CSV fields"),
        "{cause}"
    );
}

#[test]
fn nvidia_failures_fall_through_with_a_note() {
    let sysfs = tempfile::tempdir().unwrap();
    let cases = [
        (ScriptedRunner::default(), "nvidia-smi: not installed"),
        (
            ScriptedRunner::default().with("nvidia-smi", exited(1, "")),
            "nvidia-smi: exit 1",
        ),
        (
            ScriptedRunner::default().with("nvidia-smi", CommandOutcome::TimedOut),
            "nvidia-smi: timeout",
        ),
        (
            ScriptedRunner::default().with(
                "nvidia-smi",
                CommandOutcome::Exited {
                    code: None,
                    stdout: String::new(),
                },
            ),
            "nvidia-smi: killed by a signal",
        ),
    ];
    for (runner, note) in cases {
        let detection = probe(runner, sysfs.path()).unwrap();
        assert_eq!(detection.profile, None, "{note}");
        assert_eq!(
            detection.attempted,
            vec![note.to_owned(), "amd-sysfs: no card* entries".to_owned()]
        );
    }
}

#[test]
fn a_probe_that_cannot_be_launched_is_an_error() {
    let runner = ScriptedRunner::default().failing("nvidia-smi", io::ErrorKind::PermissionDenied);
    let cause = cause(probe(runner, Path::new("/nonexistent")));
    assert!(cause.starts_with("nvidia-smi: could not run"), "{cause}");
}

#[test]
fn amd_sysfs_finds_the_first_amd_card() {
    let sysfs = tempfile::tempdir().unwrap();
    let root = sysfs.path();
    add_card(root, "card0", "0x8086", Some("2147483648"), None);
    add_card(
        root,
        "card1",
        "0x1002",
        Some("68719476736"),
        Some("DRIVER=amdgpu\nPCI_ID=1002:150E\nPCI_SUBSYS_ID=1002:0123\n"),
    );
    add_card(root, "card1-DP-1", "0x1002", Some("1"), None);
    fs::create_dir_all(root.join("renderD128")).unwrap();
    let detection = probe(ScriptedRunner::default(), root).unwrap();
    let profile = detection.profile.unwrap();
    assert_eq!(profile.gpu_name, "AMD GPU [1002:150E]");
    assert_eq!(
        (profile.vram_total_mb, profile.vram_total_gb()),
        (65536, 64.0)
    );
    assert_eq!(
        (profile.gpu_vendor, profile.memory_kind),
        (GpuVendor::Amd, MemoryKind::Unified)
    );
    assert_eq!(
        detection.attempted,
        vec!["nvidia-smi: not installed".to_owned()]
    );
}

#[test]
fn amd_card_parsing() {
    let profile = parse_amd_card("card3", " 17163091968\n", None).unwrap();
    assert_eq!(
        (profile.gpu_name.as_str(), profile.vram_total_mb),
        ("AMD GPU (card3)", 16368)
    );
    let without_pci_id = parse_amd_card("card3", "1073741824", Some("DRIVER=amdgpu\n")).unwrap();
    assert_eq!(without_pci_id.gpu_name, "AMD GPU (card3)");
    let cause = cause(parse_amd_card("card3", "lots", None));
    assert!(
        cause.contains("card3/device/mem_info_vram_total") && cause.contains("\"lots\""),
        "{cause}"
    );
    assert!(forge_context::hardware::is_amd_vendor("0x1002\n"));
    assert!(!forge_context::hardware::is_amd_vendor("0x10de"));
}

#[test]
fn amd_card_with_unreadable_vram_size_is_an_error() {
    let sysfs = tempfile::tempdir().unwrap();
    add_card(sysfs.path(), "card0", "0x1002", Some("n/a"), None);
    let cause = cause(probe(ScriptedRunner::default(), sysfs.path()));
    assert!(cause.contains("not a byte count"), "{cause}");
}

#[test]
fn amd_sysfs_without_an_amd_card_notes_why() {
    let with_intel = tempfile::tempdir().unwrap();
    add_card(
        with_intel.path(),
        "card0",
        "0x8086",
        Some("2147483648"),
        None,
    );
    let amd_without_vram = tempfile::tempdir().unwrap();
    add_card(amd_without_vram.path(), "card0", "0x1002", None, None);
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("drm");
    let cases = [
        (
            with_intel.path().to_owned(),
            "amd-sysfs: no AMD card with mem_info_vram_total".to_owned(),
        ),
        (
            amd_without_vram.path().to_owned(),
            "amd-sysfs: no AMD card with mem_info_vram_total".to_owned(),
        ),
        (
            empty.path().to_owned(),
            "amd-sysfs: no card* entries".to_owned(),
        ),
        (
            missing.clone(),
            format!("amd-sysfs: {} missing", missing.display()),
        ),
    ];
    for (root, note) in cases {
        let detection = probe(ScriptedRunner::default(), &root).unwrap();
        assert_eq!(detection.profile, None);
        assert_eq!(
            detection.attempted,
            vec!["nvidia-smi: not installed".to_owned(), note]
        );
    }
}

#[test]
fn apple_sysctl_parsing() {
    let m2 = parse_apple_sysctl("Apple M2 Max\n68719476736\n")
        .unwrap()
        .unwrap();
    assert_eq!(m2.gpu_name, "Apple M2 Max");
    assert_eq!(
        (m2.vram_total_mb, m2.gpu_vendor, m2.memory_kind),
        (65536, GpuVendor::Apple, MemoryKind::Unified)
    );
    assert_eq!(
        parse_apple_sysctl("Intel(R) Core(TM) i9-9980HK CPU @ 2.40GHz\n34359738368\n").unwrap(),
        None
    );
    for malformed in ["Apple M1\n", "Apple M1\nlots\n", ""] {
        assert!(parse_apple_sysctl(malformed).is_err(), "{malformed:?}");
    }
}

#[test]
fn apple_probe_runs_last_and_only_when_enabled() {
    let root = Path::new("/nonexistent/drm");
    let runner = ScriptedRunner::default().with("sysctl", exited(0, "Apple M3 Pro\n38654705664\n"));
    let off = HardwareProbe::new(runner.clone(), root).probe().unwrap();
    assert_eq!(off.profile, None);
    let on = HardwareProbe::new(runner.clone(), root)
        .with_apple_probe(true)
        .probe()
        .unwrap();
    assert_eq!(
        on.profile.map(|p| (p.gpu_vendor, p.vram_total_mb)),
        Some((GpuVendor::Apple, 36864))
    );
    let intel_mac =
        ScriptedRunner::default().with("sysctl", exited(0, "Intel(R) Core(TM) i7\n17179869184\n"));
    let detection = HardwareProbe::new(intel_mac, root)
        .with_apple_probe(true)
        .probe()
        .unwrap();
    assert_eq!(
        detection.attempted.last().map(String::as_str),
        Some("sysctl: not Apple silicon")
    );
}

#[test]
fn command_timeout_is_configurable() {
    let runner = nvidia_says("RTX 4090, 24564");
    let calls = Arc::clone(&runner.calls);
    HardwareProbe::new(runner, "/nonexistent")
        .with_command_timeout(Duration::from_millis(250))
        .probe()
        .unwrap();
    assert_eq!(calls.lock().unwrap()[0].2, Duration::from_millis(250));
}

/// Log lines written while `f` runs, without colours.
fn logged<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let value = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (value, text.lines().map(str::to_owned).collect())
}

#[test]
fn no_gpu_logs_exactly_one_warning_listing_the_attempts() {
    let sysfs = tempfile::tempdir().unwrap();
    let (result, lines) =
        logged(|| HardwareProbe::new(ScriptedRunner::default(), sysfs.path()).detect());
    assert_eq!(result.unwrap(), None);
    let warnings: Vec<&String> = lines.iter().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    assert!(warnings[0].ends_with(
        "GPU detection failed; all probes returned no result. Attempted: nvidia-smi: not installed; \
         amd-sysfs: no card* entries. Downstream Ollama tier budget will fall back to 4096 tokens."
    ), "{}", warnings[0]);
}

#[test]
fn a_detected_gpu_is_logged_at_info() {
    let (result, lines) =
        logged(|| HardwareProbe::new(nvidia_says("RTX 4090, 24564"), "/nonexistent").detect());
    assert!(result.unwrap().is_some());
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(" INFO ")
            && lines[0].contains("GPU detected")
            && lines[0].contains("vram_total_mb=24564")
    );
}

#[test]
fn detect_hardware_on_this_machine_answers_and_logs() {
    let (result, lines) = logged(detect_hardware);
    match result.unwrap() {
        // The CI machines have no GPU: the one warning line is the whole report.
        None => {
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains(" WARN ") && lines[0].contains("GPU detection failed"));
        }
        Some(profile) => assert!(lines.iter().any(|l| l.contains(&profile.gpu_name))),
    }
}

#[test]
fn system_runner_reports_exit_output_missing_programs_and_timeouts() {
    let runner = SystemCommandRunner;
    let second = Duration::from_secs(5);
    assert_eq!(
        runner
            .run("sh", &["-c", "echo 'RTX 4090, 24564'; exit 3"], second)
            .unwrap(),
        exited(3, "RTX 4090, 24564\n")
    );
    assert_eq!(
        runner
            .run("forge-context-no-such-program", &[], second)
            .unwrap(),
        CommandOutcome::NotFound
    );
    assert_eq!(
        runner
            .run("sh", &["-c", "sleep 30"], Duration::from_millis(200))
            .unwrap(),
        CommandOutcome::TimedOut
    );
}
