//! Issue 17: the files the binary writes (`--stats-json`) never go through
//! a name someone else planted. A path that exists and is not a regular
//! file, or that cannot be written, is refused before the run (exit 2, one
//! line); a symlink at the old temporary names is left alone.

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod support;

use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::Path;
use std::process::Command;

use common::{run_files, scenario, seqs, workdir, BIN};

const STREAM: &str = support::TEST_STREAM;

/// Runs the binary with `--stats-json path` (no EAL is started: the check
/// comes first) and returns its exit code and stderr.
fn refused(path: &Path) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .args(["--", "--stream", STREAM, "--stats-json"])
        .arg(path)
        .output()
        .expect("run mcast-failover");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_refused(path: &Path, needle: &str) {
    let (code, err) = refused(path);
    assert_eq!(code, Some(2), "{}: {err}", path.display());
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains("--stats-json") && err.contains(needle),
        "{}: no {needle:?} in {err}",
        path.display()
    );
}

#[test]
fn a_device_node_is_refused_and_left_alone() {
    assert_refused(Path::new("/dev/full"), "character device");
    let t = std::fs::symlink_metadata("/dev/full").unwrap().file_type();
    assert!(t.is_char_device(), "/dev/full was replaced");
}

#[test]
fn a_fifo_is_refused_and_left_alone() {
    let d = workdir("of-fifo");
    let fifo = d.join("stats.json");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    assert_refused(&fifo, "a FIFO");
    let t = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(t.is_fifo(), "the FIFO was replaced");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_symlink_at_the_path_is_refused_and_its_target_untouched() {
    let d = workdir("of-link");
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = d.join("stats.json");
    symlink(&victim, &link).unwrap();
    assert_refused(&link, "symbolic link");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // A dangling link would have been followed to create its target.
    let dangling = d.join("dangling.json");
    symlink(d.join("created-through-link"), &dangling).unwrap();
    assert_refused(&dangling, "symbolic link");
    assert!(!d.join("created-through-link").exists());
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn paths_that_cannot_be_written_are_refused_before_the_run() {
    let d = workdir("of-bad");
    assert_refused(&d.join("no/such/dir/stats.json"), "No such file");
    assert_refused(&d.join("n".repeat(300)), "too long");
    assert_refused(&d, "a directory");
    std::fs::write(d.join("file"), "").unwrap();
    assert_refused(&d.join("file/stats.json"), "not a directory");
    // Root may write anywhere a mode allows; /proc takes no new file.
    assert_refused(
        Path::new("/proc/stats.json"),
        "cannot create a file in /proc",
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// The old writer put `PATH.json.tmp` (for PATH `stats.json`:
/// `stats.json.tmp`) next to PATH and followed a symlink there. A run with
/// links planted at both names writes PATH and leaves the links and their
/// target as they were, and no temporary file behind.
#[test]
fn symlinks_at_temporary_names_are_not_followed() {
    let name = "of-tmplink";
    let d = workdir(name);
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    for planted in ["stats.json.tmp", "stats.tmp"] {
        symlink(&victim, d.join(planted)).unwrap();
    }
    let mut sc = scenario();
    sc.primary = seqs(0..50);
    sc.secondary = seqs(0..50);
    let (p, s) = sc.write_to_dir(&d).unwrap();
    let o = run_files(name, &d, &[p, s], &[], &["--stats-period", "0.01"], 5.0);
    assert_eq!(o.stats["final"], true, "{}", o.context());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".pcap"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["stats.json", "stats.json.tmp", "stats.tmp", "victim"],
        "{}",
        o.context()
    );
    for planted in ["stats.json.tmp", "stats.tmp"] {
        let t = std::fs::symlink_metadata(d.join(planted)).unwrap();
        assert!(t.file_type().is_symlink(), "{planted} replaced");
    }
}
