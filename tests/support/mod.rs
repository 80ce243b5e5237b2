//! Process, directory and memory helpers shared by every integration test binary (each
//! declares `mod support;` and uses what it needs), so that the tests wait, clean up and size
//! DPDK memory in one way.
#![allow(dead_code)]

pub mod live;
pub mod netns;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_mcast-failover");

/// The repository root: scripts and examples are found from it.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory for one case's artefacts (captures, logs, stats), named after the
/// test process and the case so that parallel runs never share one. Kept after the run, for
/// inspection.
pub fn workdir(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "mcast-failover-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create work dir");
    d
}

/// Waits for `child`. After `limit` (a hang guard, never a performance bound: give it ample
/// room) it is sent SIGINT, so a script can remove its namespaces, then killed if it is still
/// there 10 s later; that returns `None`.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("wait for child") {
            return Some(st);
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let grace = Instant::now();
            while grace.elapsed() < Duration::from_secs(10) {
                if child.try_wait().ok().flatten().is_some() {
                    return None;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a child's pipe to a string on a thread (so it never blocks the child).
pub fn drain_pipe(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = r.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    })
}

/// Free hugepages (of the default size), counted only when hugetlbfs is mounted at
/// /dev/hugepages: the one check for the tests that exercise the hugepage path on purpose.
pub fn free_hugepages() -> u64 {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .map(|m| m.contains(" /dev/hugepages hugetlbfs "))
        .unwrap_or(false);
    if !mounted {
        return 0;
    }
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("HugePages_Free:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The memory of a test that runs on hugepages on purpose (dpdk-dumpcap's shared memory, the
/// hugepage-file cleanup): 256 MiB, after checking that many are free. It fails, never skips,
/// when they are not: scripts/setup.sh reserves them.
pub fn hugepage_memory_args(why: &str) -> Vec<String> {
    const MIB: u64 = 256;
    let free = free_hugepages();
    assert!(
        free * 2 >= MIB,
        "{why}: needs {MIB} MiB of free 2 MiB hugepages (scripts/setup.sh or scripts/hugepages.sh); {free} free"
    );
    vec!["-m".into(), MIB.to_string()]
}

/// The memory every test run of the binary gets: 512 MiB of plain memory (`--no-huge`).
/// Hugepages are a machine-wide pool that parallel tests, other DPDK processes and the demo
/// draw on at the same time: a test that took them when "enough were free" failed when a
/// neighbour took them first. The product's hugepage path is exercised by scripts/demo.sh.
pub fn eal_memory_args() -> Vec<String> {
    ["--no-huge", "-m", "512"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// EAL options of a test run: two lcores, no PCI, warnings only, a file prefix of its own (the
/// tests run in parallel and must not share a runtime directory) and the tests' memory
/// ([`eal_memory_args`]).
pub fn eal_args(prefix: &str) -> Vec<String> {
    eal_args_with(prefix, &eal_memory_args())
}

/// EAL `--lcores` for `workers` merge workers on this 2-CPU machine: the main lcore on CPU 0,
/// worker i on CPU i % 2 (so one worker shares CPU 0 with the main lcore, which sleeps
/// between ticks).
pub fn shard_lcores(workers: usize) -> String {
    let mut l = vec!["0@0".to_string()];
    l.extend((1..=workers).map(|i| format!("{i}@{}", i % 2)));
    l.join(",")
}

/// [`eal_args`] with other memory options (a test of the hugepage path).
pub fn eal_args_with(prefix: &str, memory: &[String]) -> Vec<String> {
    let mut a: Vec<String> = ["-l", "0-1", "--no-pci", "--log-level=warn"]
        .map(String::from)
        .to_vec();
    a.push(format!("--file-prefix={prefix}"));
    a.extend_from_slice(memory);
    a
}

/// The port options of a run whose two legs arrive on one input port (0) and whose output is
/// port 1: one veth or one timeline pcap carries both legs.
pub const SHARED_INPUT_PORTS: [&str; 6] = [
    "--primary-port",
    "0",
    "--secondary-port",
    "0",
    "--output-port",
    "1",
];

/// The stream most tests merge: legs 239.1.0.1 and 239.2.0.1 (port 5000), output 239.10.0.1:5004.
pub const TEST_STREAM: &str = "239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004";

/// The RTP legs of [`TEST_STREAM`] as testkit generates them: sources 10.0.1.1 and 10.0.2.1.
pub fn test_stream_spec() -> testkit::scenario::StreamSpec {
    use testkit::frame::FrameSpec;
    testkit::scenario::StreamSpec::rtp(
        FrameSpec::multicast(
            "10.0.1.1".parse().unwrap(),
            "239.1.0.1".parse().unwrap(),
            5000,
        ),
        FrameSpec::multicast(
            "10.0.2.1".parse().unwrap(),
            "239.2.0.1".parse().unwrap(),
            5000,
        ),
    )
}

/// Runs `cmd` with `input` on its stdin (closed after it) and collects its output: how the
/// tests feed a real client (promtool, dpdk-telemetry.py) and read its answer.
pub fn run_with_stdin(cmd: &mut Command, input: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Sends `commands` to the binary's telemetry socket with dpdk-telemetry.py
/// and returns its replies, one JSON document each.
pub fn telemetry(prefix: &str, commands: &[&str]) -> Vec<serde_json::Value> {
    let mut input = commands.join("\n");
    input.push('\n');
    let out = run_with_stdin(
        Command::new("dpdk-telemetry.py").args(["-f", prefix]),
        &input,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("reply {l}: {e}")))
        .collect()
}

/// Asks the binary with EAL file prefix `prefix` for a live reload through the
/// `/mcast_failover/reload` telemetry command and checks that it was taken.
pub fn telemetry_reload(prefix: &str) {
    let reply = telemetry(prefix, &["/mcast_failover/reload"]);
    assert_eq!(
        reply
            .first()
            .map(|r| r["/mcast_failover/reload"]["reload"].clone()),
        Some(serde_json::json!("requested")),
        "telemetry reply {reply:?}"
    );
}

/// App options of a run that only a signal ends: the test stream, stats every 50 ms into
/// `stats_json`, and a `--duration` of ten hours as the backstop.
pub fn until_signalled(stats_json: &std::path::Path) -> Vec<String> {
    let mut a: Vec<String> = [
        "--stream",
        TEST_STREAM,
        "--stats-period",
        "0.05",
        "--duration",
        "36000",
        "--stats-json",
    ]
    .map(String::from)
    .to_vec();
    a.push(stats_json.display().to_string());
    a
}

/// Starts `cmd` (the binary, or a wrapper such as nsenter around it) with `info` logs, no
/// stdin and both output pipes open for the caller to drain.
pub fn start_piped(cmd: &mut Command) -> Child {
    use std::process::Stdio;
    cmd.env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"))
}
