//! Issue 17: signals against a running binary. SIGHUP (a live reload;
//! here of an unchanged configuration, refused in one line) and SIGUSR2
//! are logged and the run goes on, still printing stats; SIGQUIT,
//! like SIGTERM, ends the run with the final stats, every mbuf back, and
//! EAL's runtime directory removed (the tests run with --no-huge, see
//! tests/support, except one SIGQUIT run on hugepages whose files must be
//! seen during the run and gone after it).
//!
//! No assertion on time: each step waits for a state (a log line, a new
//! stats document, the exit) under a hang guard far beyond any machine.

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{scenario, seqs, workdir, BIN};
use support::wait_bounded;

/// How long any one step may take before the test calls it a hang.
const GUARD: Duration = Duration::from_secs(300);

/// A running binary and where its output goes.
struct Run {
    child: Child,
    dir: PathBuf,
    prefix: String,
}

impl Run {
    /// Starts the merge on two finite pcap inputs and a null output, with
    /// periodic stats, for far longer than the test: only a signal ends it.
    fn start(name: &str) -> Run {
        Run::start_with(name, &support::eal_memory_args())
    }

    /// [`Run::start`] with EAL memory options `memory`.
    fn start_with(name: &str, memory: &[String]) -> Run {
        let dir = workdir(name);
        let mut sc = scenario();
        sc.primary = seqs(0..200);
        sc.secondary = seqs(0..200);
        let (p, s) = sc.write_to_dir(&dir).unwrap();
        let prefix = format!("mfsig{}{name}", std::process::id());
        let mut args: Vec<String> = support::eal_args_with(&prefix, memory);
        args.push(format!("--vdev=net_pcap0,rx_pcap={}", p.display()));
        args.push(format!("--vdev=net_pcap1,rx_pcap={}", s.display()));
        args.push("--vdev=net_null0".into());
        args.push("--".into());
        args.extend(support::until_signalled(&dir.join("stats.json")));
        let child = Command::new(BIN)
            .args(&args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap();
        Run { child, dir, prefix }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    fn context(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.read("stdout"),
            self.read("stderr")
        )
    }

    /// Waits until `done` holds, failing if the binary exits first or the
    /// guard runs out.
    fn wait_for(&mut self, what: &str, done: impl Fn(&Run) -> bool) {
        let t0 = Instant::now();
        while !done(self) {
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("exited ({st}) while waiting for {what}\n{}", self.context());
            }
            assert!(t0.elapsed() < GUARD, "hang: {what}\n{}", self.context());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The number of stats blocks printed so far.
    fn blocks(&self) -> usize {
        self.read("stdout").matches("Statistics at").count()
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success(), "kill -{sig}");
    }

    fn runtime_dir(&self) -> PathBuf {
        Path::new("/var/run/dpdk").join(&self.prefix)
    }

    /// Hugepage files of this run's prefix.
    fn hugepage_files(&self) -> Vec<PathBuf> {
        let map = format!("{}map_", self.prefix);
        std::fs::read_dir("/dev/hugepages")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&map))
            .map(|e| e.path())
            .collect()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(self.runtime_dir());
        for f in self.hugepage_files() {
            let _ = std::fs::remove_file(f);
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends `sig` and checks the run stops as for SIGTERM: exit 0, final
/// stats in text and JSON, no mbuf leaked, nothing of EAL left behind.
fn assert_stops_cleanly(mut run: Run, sig: &str) {
    run.wait_for("the first stats block", |r| r.blocks() > 0);
    run.signal(sig);
    let code = wait_bounded(&mut run.child, GUARD).and_then(|s| s.code());
    let out = run.read("stdout");
    assert_eq!(code, Some(0), "after SIG{sig}\n{}", run.context());
    assert!(out.contains("Final statistics"), "{}", run.context());
    assert!(out.contains("(no leak)"), "{}", run.context());
    let v: serde_json::Value = serde_json::from_str(&run.read("stats.json")).unwrap();
    assert_eq!(v["final"], true, "{}", run.context());
    assert!(
        !run.runtime_dir().exists(),
        "EAL runtime directory {} left after SIG{sig}",
        run.runtime_dir().display()
    );
    assert_eq!(
        run.hugepage_files(),
        Vec::<PathBuf>::new(),
        "hugepage files left after SIG{sig}"
    );
}

#[test]
fn hup_and_usr2_are_logged_and_the_run_goes_on() {
    let _turn = common::serial();
    let mut run = Run::start("hup");
    run.wait_for("the first stats block", |r| r.blocks() > 0);
    for (sig, line) in [("HUP", "SIGHUP"), ("USR2", "SIGUSR2")] {
        run.signal(sig);
        run.wait_for(line, |r| r.read("stderr").contains(line));
        // Still running and still reporting: more blocks come.
        let n = run.blocks();
        run.wait_for("another stats block", |r| r.blocks() > n);
    }
    assert!(run.read("stderr").contains("ignored"), "{}", run.context());
    assert_stops_cleanly(run, "TERM");
}

#[test]
fn quit_stops_like_term() {
    let _turn = common::serial();
    assert_stops_cleanly(Run::start("quit"), "QUIT");
}

/// With hugepages (the product's normal memory), SIGQUIT must still remove the run's hugepage
/// files: they are seen while it runs, so the check after the exit can fail.
#[test]
fn quit_removes_the_hugepage_files() {
    let _turn = common::serial();
    let memory = support::hugepage_memory_args("the hugepage-file cleanup test");
    let mut run = Run::start_with("quithuge", &memory);
    run.wait_for("the run's hugepage files", |r| {
        !r.hugepage_files().is_empty()
    });
    assert_stops_cleanly(run, "QUIT");
}
