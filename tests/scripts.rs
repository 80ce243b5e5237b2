//! The shell scripts as a user runs them: `--help`, bad arguments, and the
//! paths that are safe to exercise on any machine (hugepage status, vfio-bind
//! dry runs and its "no vfio module" refusal). Nothing here binds a device:
//! vfio-bind.sh only ever runs with `--dry-run` or on a machine where it must
//! stop before changing anything.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `bash script args...` from the repo root with `env`, failing the test
/// if it does not finish within 60 s (a bad-flag run must not start work).
fn run(script: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new("bash")
        .arg(script)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(ROOT)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn bash {}: {e}", script.display()));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("{} {args:?} still running after 60 s", script.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

fn script(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

/// Every script users may run: scripts/*.sh and the CI entry point.
fn all_scripts() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(script("scripts"))
        .expect("scripts/ directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .collect();
    v.sort();
    v.push(script(".ci/run"));
    v
}

#[test]
fn every_script_answers_help_with_usage() {
    let scripts = all_scripts();
    for must in ["setup.sh", "hugepages.sh", "vfio-bind.sh", "test.sh"] {
        assert!(
            scripts.iter().any(|p| p.ends_with(must)),
            "scripts/{must} missing"
        );
    }
    for s in &scripts {
        let r = run(s, &["--help"], &[]);
        assert_eq!(r.code, Some(0), "{} --help: {}", s.display(), r.stderr);
        assert!(
            r.stdout.to_lowercase().contains("usage"),
            "{} --help prints no usage:\n{}",
            s.display(),
            r.stdout
        );
    }
}

#[test]
fn every_script_rejects_an_unknown_flag_with_status_2() {
    for s in all_scripts() {
        let r = run(&s, &["--no-such-flag-xyz"], &[]);
        assert_eq!(
            r.code,
            Some(2),
            "{} --no-such-flag-xyz: stdout {} stderr {}",
            s.display(),
            r.stdout,
            r.stderr
        );
        assert!(
            r.stderr.contains("--no-such-flag-xyz"),
            "{}: error does not name the flag: {}",
            s.display(),
            r.stderr
        );
    }
}

#[test]
fn own_scripts_are_strict_bash() {
    for s in [
        "scripts/setup.sh",
        "scripts/hugepages.sh",
        "scripts/vfio-bind.sh",
        "scripts/test.sh",
        ".ci/run",
    ] {
        let text = std::fs::read_to_string(script(s)).unwrap();
        assert!(text.starts_with("#!/usr/bin/env bash\n"), "{s}: shebang");
        assert!(
            text.contains("\nset -euo pipefail\n"),
            "{s}: set -euo pipefail"
        );
    }
}

#[test]
fn bad_values_exit_2_with_the_value_named() {
    for (s, args, value) in [
        ("scripts/hugepages.sh", &["--pages", "many"][..], "many"),
        ("scripts/hugepages.sh", &["--size", "3M"], "3M"),
        ("scripts/hugepages.sh", &["--pages"], "--pages"),
        ("scripts/setup.sh", &["--pages", "-1"], "-1"),
        ("scripts/test.sh", &["extra"], "extra"),
        ("scripts/vfio-bind.sh", &[], "no device"),
        (
            "scripts/vfio-bind.sh",
            &["--unbind", "--noiommu"],
            "--noiommu",
        ),
    ] {
        let r = run(&script(s), args, &[]);
        assert_eq!(r.code, Some(2), "{s} {args:?}: {}", r.stderr);
        assert!(r.stderr.contains(value), "{s} {args:?}: {}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "{s} {args:?}: {}", r.stderr);
    }
}

#[test]
fn hugepages_status_reports_each_page_size() {
    let r = run(&script("scripts/hugepages.sh"), &["--status"], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    if Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists() {
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with("2M"))
            .unwrap_or_else(|| panic!("no 2M line in:\n{}", r.stdout));
        let reserved: u64 =
            std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages")
                .unwrap()
                .trim()
                .parse()
                .unwrap();
        assert!(
            line.contains(&format!(" {reserved} reserved")),
            "{line} vs {reserved}"
        );
    } else {
        assert!(r.stdout.contains("not supported"), "{}", r.stdout);
    }
}

/// Same test as vfio-bind.sh makes: is vfio-pci loaded, built in, or shipped?
fn vfio_pci_available() -> bool {
    if Path::new("/sys/bus/pci/drivers/vfio-pci").exists()
        || Path::new("/sys/module/vfio_pci").exists()
    {
        return true;
    }
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = Path::new("/lib/modules").join(rel.trim());
    if std::fs::read_to_string(dir.join("modules.builtin"))
        .is_ok_and(|b| b.contains("/vfio-pci.ko"))
    {
        return true;
    }
    Command::new("find")
        .arg(&dir)
        .args(["-name", "vfio-pci.ko*", "-print", "-quit"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

fn first_pci_device() -> Option<String> {
    let mut v: Vec<String> = std::fs::read_dir("/sys/bus/pci/devices")
        .ok()?
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v.into_iter().next()
}

fn state_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("vfio-state-{name}-{}", std::process::id()))
}

#[test]
fn vfio_bind_refuses_without_the_vfio_module_and_dry_run_shows_plan() {
    let state = state_dir("refuse");
    let st = state.to_str().unwrap();
    let env = [("VFIO_BIND_STATE_DIR", st)];
    let vfio = script("scripts/vfio-bind.sh");
    let dev = first_pci_device().unwrap_or_else(|| "0000:00:00.0".into());

    let dry = run(&vfio, &["--dry-run", &dev], &env);
    assert!(dry.stdout.contains("plan:"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("would run: modprobe vfio-pci"),
        "{}",
        dry.stdout
    );
    if Path::new("/sys/bus/pci/devices").join(&dev).exists() {
        assert!(
            dry.stdout.contains(&format!("--bind=vfio-pci {dev}")),
            "{}",
            dry.stdout
        );
    }
    assert!(!state.exists(), "a dry run wrote the state file");

    if vfio_pci_available() {
        // A machine with vfio: the dry run stops only for a missing IOMMU.
        let iommu =
            std::fs::read_dir("/sys/kernel/iommu_groups").is_ok_and(|mut d| d.next().is_some());
        if iommu {
            assert_eq!(dry.code, Some(0), "{}", dry.stderr);
        } else {
            assert_eq!(dry.code, Some(1));
            assert!(dry.stderr.contains("IOMMU"), "{}", dry.stderr);
        }
        return;
    }
    // This machine (no vfio-pci module): dry run prints the plan, then the
    // one-line reason, and fails like the real run would.
    assert_eq!(dry.code, Some(1), "{}", dry.stderr);
    assert_eq!(dry.stderr.lines().count(), 1, "{}", dry.stderr);
    assert!(
        dry.stderr.contains("vfio-pci kernel module not available"),
        "{}",
        dry.stderr
    );
    // The real run: same one line, exit 1, nothing changed. (A nonexistent
    // address, so that even a wrong module check could not bind anything.)
    let real = run(&vfio, &["0000:ff:1f.7"], &env);
    assert_eq!(real.code, Some(1), "{}", real.stderr);
    assert_eq!(real.stderr.lines().count(), 1, "{}", real.stderr);
    assert!(
        real.stderr.contains("vfio-pci kernel module not available"),
        "{}",
        real.stderr
    );
    assert!(real.stdout.is_empty(), "{}", real.stdout);
    assert!(!state.exists());
}

#[test]
fn vfio_bind_dry_run_resolves_interfaces_to_pci_addresses() {
    let state = state_dir("resolve");
    let env = [("VFIO_BIND_STATE_DIR", state.to_str().unwrap())];
    let vfio = script("scripts/vfio-bind.sh");
    // A virtual interface and a missing address are reported in the plan.
    let r = run(&vfio, &["--dry-run", "lo", "0000:ff:1f.7"], &env);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stdout
            .contains("lo: interface 'lo' is not backed by a PCI device"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("no PCI device 0000:ff:1f.7"),
        "{}",
        r.stdout
    );
    // Every PCI-backed interface resolves to the PCI function above it.
    for e in std::fs::read_dir("/sys/class/net").unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let Ok(dev) = std::fs::canonicalize(format!("/sys/class/net/{name}/device")) else {
            continue;
        };
        let Some(pci) = dev.ancestors().find_map(|a| {
            let n = a.file_name()?.to_str()?;
            let b = n.as_bytes();
            (n.len() == 12 && b[4] == b':' && b[7] == b':' && b[10] == b'.').then(|| n.to_string())
        }) else {
            continue;
        };
        let r = run(&vfio, &["--dry-run", &name], &env);
        assert!(
            r.stdout.contains(&format!("{name} -> {pci} (driver ")),
            "{name}: {}",
            r.stdout
        );
        assert!(
            r.stdout
                .contains(&format!("would run: ip link set {name} down")),
            "{}",
            r.stdout
        );
    }
    assert!(!state.exists());
}

#[test]
fn vfio_unbind_without_saved_state_names_the_device() {
    let state = state_dir("unbind");
    std::fs::create_dir_all(&state).unwrap();
    let env = [("VFIO_BIND_STATE_DIR", state.to_str().unwrap())];
    let vfio = script("scripts/vfio-bind.sh");
    let r = run(&vfio, &["--unbind", "--dry-run"], &env);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("nothing to unbind"), "{}", r.stdout);
    if let Some(dev) = first_pci_device() {
        let r = run(&vfio, &["--unbind", "--dry-run", &dev], &env);
        assert_eq!(r.code, Some(1));
        assert!(
            r.stderr
                .contains(&format!("no saved kernel driver for {dev}")),
            "{}",
            r.stderr
        );
    }
    std::fs::remove_dir_all(&state).unwrap();
}
