//! Time-defined runs: `tcpreplay` sends the scenario at the pace of its pcap
//! timestamps into veth pairs inside a network namespace made for the run;
//! the binary reads the other ends with `net_af_packet` vdevs and writes
//! its output to a `net_pcap` tx file.
//!
//! One `tcpreplay` process sends both legs from one merged, time-ordered
//! file (`tcpprep` splits it by sender address onto the two interfaces), so
//! the relative order of the legs is the file's, not a race between two
//! processes. Needs root, `ip`, `taskset`, `tcpreplay` and `tcpprep`; a missing one
//! fails the test with a message (it never skips silently).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::pcap::{PcapWriter, TsResolution};
use testkit::scenario::{Leg, Scenario};

use super::{app_args, collect, drain_pipe, eal_memory_args, serial, wait_bounded, workdir};
use super::{Outcome, BIN, PRI_SRC};

/// Fails with a clear message unless the machine can run a replay case.
fn require_prerequisites() {
    crate::prereq::require(&crate::prereq::VETH_REPLAY);
}

/// Runs a command, panicking with its output if it fails.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed: {text}");
    text
}

/// A network namespace with two veth pairs, deleted (with its links) on drop:
/// `pa`->`pb` carries the primary leg, `sa`->`sb` the secondary.
pub struct Netns {
    /// Namespace name (unique per process and case).
    pub name: String,
}

impl Netns {
    /// Creates the namespace, IPv6 off (no router solicitations or MLD
    /// reports on the links), and both veth pairs up.
    pub fn create(tag: &str) -> Netns {
        let ns = Netns {
            name: format!("mfpt-{}-{tag}", std::process::id()),
        };
        let _ = Command::new("ip").args(["netns", "del", &ns.name]).output();
        run(Command::new("ip").args(["netns", "add", &ns.name]));
        run(ns.exec("sysctl").args([
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]));
        for (a, b) in [("pa", "pb"), ("sa", "sb")] {
            run(ns
                .exec("ip")
                .args(["link", "add", a, "type", "veth", "peer", "name", b]));
        }
        for l in ["lo", "pa", "pb", "sa", "sb"] {
            run(ns.exec("ip").args(["link", "set", l, "up"]));
        }
        ns
    }

    /// `program` to be run inside the namespace. Through nsenter, which
    /// enters only the network namespace: `ip netns exec` (and `ip -n`) also
    /// remount / and /sys, which fails where / is not a mount point (a
    /// chroot, some containers).
    pub fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name))
            .arg("--")
            .arg(program);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Kills the binary if the test panics while it runs.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes both legs into one file in time order (primary first on equal
/// times) and the tcpprep cache that sends the primary's frames (by sender
/// address) out of `-i` and the rest out of `-I`. Returns (file, cache, last
/// timestamp relative to the first, in seconds).
fn merged_replay_files(sc: &Scenario, dir: &std::path::Path) -> (String, String, f64) {
    let mut all: Vec<(u64, usize, Vec<u8>)> = Vec::new();
    for (rank, leg) in [(0, Leg::Primary), (1, Leg::Secondary)] {
        for p in sc.leg_packets(leg) {
            all.push((p.ts_ns, rank, p.data));
        }
    }
    all.sort_by_key(|(t, rank, _)| (*t, *rank));
    let file = dir.join("replay.pcap");
    let mut w = PcapWriter::create(&file, TsResolution::Micro).expect("create replay.pcap");
    for (t, _, f) in &all {
        w.write_frame(*t, f).expect("write replay.pcap");
    }
    w.finish().expect("finish replay.pcap");
    let cache = dir.join("replay.cache");
    let file_s = file.display().to_string();
    let cache_s = cache.display().to_string();
    run(Command::new("tcpprep").args([
        &format!("--cidr={PRI_SRC}/32"),
        "-i",
        &file_s,
        "-o",
        &cache_s,
    ]));
    let span = match (all.first(), all.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) as f64 / 1e9,
        _ => 0.0,
    };
    (file_s, cache_s, span)
}

/// Runs the binary on af_packet ports fed by `tcpreplay` at the pace of the
/// scenario's timestamps. Once the replay has ended and the binary's stats
/// show every replayed packet received, it is stopped with SIGINT (so a slow
/// or loaded machine cannot cut the replay short); `duration_s` is only a
/// safety bound on the binary's run time.
pub fn run_replay(name: &str, sc: &Scenario, extra: &[&str], duration_s: f64) -> Outcome {
    require_prerequisites();
    let dir = workdir(name);
    let (replay, cache, span) = merged_replay_files(sc, &dir);
    assert!(
        span < duration_s,
        "case {name}: safety bound {duration_s} s is shorter than the {span:.2} s replay"
    );
    let out = dir.join("output.pcap");
    let stats = dir.join("stats.json");

    let _turn = serial();
    let ns = Netns::create(name);
    let mut args: Vec<String> = vec![
        "-l".into(),
        "0-1".into(),
        "--no-pci".into(),
        "--file-prefix".into(),
        format!("mfpt{}{name}", std::process::id()),
        "--log-level=warn".into(),
    ];
    args.extend(eal_memory_args());
    args.extend([
        "--vdev".into(),
        "net_af_packet0,iface=pb".into(),
        "--vdev".into(),
        "net_af_packet1,iface=sb".into(),
        "--vdev".into(),
        format!("net_pcap2,tx_pcap={}", out.display()),
        "--".into(),
    ]);
    // Safety bound only: the run is ended by SIGINT below.
    args.extend(app_args(&stats, duration_s + 30.0));
    args.extend(["--stats-period".to_string(), "0.05".to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = ns
        .exec(BIN)
        .args(&args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcast-failover in the namespace");
    let stdout = child.stdout.take().expect("stdout");
    let se = drain_pipe(child.stderr.take().expect("stderr"));
    let mut guard = KillOnDrop(Some(child));
    // The "Stream ..." line comes after the ports are started: from then on
    // the af_packet rings take what tcpreplay sends.
    let (tx, rx) = mpsc::channel::<String>();
    let so = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let t0 = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(l) if l.starts_with("Stream ") => break,
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) if t0.elapsed() < Duration::from_secs(30) => {}
            Err(e) => {
                let child = guard.0.as_mut().expect("child");
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "case {name}: binary not ready ({e:?})\nstdout:\n{}\nstderr:\n{}",
                    so.join().unwrap_or_default(),
                    se.join().unwrap_or_default()
                );
            }
        }
    }
    // Pinned to CPU 0 (EAL's main lcore, idle; the worker busy-polls CPU 1):
    // veth delivery runs in the sender's softirq context, so one CPU's
    // backlog keeps the file's order across both links, and the replay's
    // pacing does not compete with the worker.
    let mut replay_cmd = ns.exec("taskset");
    replay_cmd
        .args([
            "-c",
            "0",
            "tcpreplay",
            "-i",
            "pa",
            "-I",
            "sa",
            "-c",
            &cache,
            &replay,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut rp = replay_cmd.spawn().expect("start tcpreplay");
    let rpo = drain_pipe(rp.stdout.take().expect("tcpreplay stdout"));
    let rpe = drain_pipe(rp.stderr.take().expect("tcpreplay stderr"));
    let rcode = wait_bounded(&mut rp, Duration::from_secs_f64(span + 10.0), "tcpreplay");
    let rtext = format!(
        "{}{}",
        rpo.join().unwrap_or_default(),
        rpe.join().unwrap_or_default()
    );
    assert_eq!(rcode, Some(0), "case {name}: tcpreplay failed: {rtext}");
    let still_running = guard
        .0
        .as_mut()
        .expect("child")
        .try_wait()
        .expect("poll binary")
        .is_none();
    assert!(
        still_running,
        "case {name}: the binary stopped before tcpreplay finished\n{rtext}"
    );
    // Wait (bounded) until the binary has taken in every replayed packet,
    // as its own periodic stats report it, then stop it like an operator.
    let expected = (sc.primary.len() + sc.secondary.len()) as u64;
    let t1 = Instant::now();
    loop {
        let got = std::fs::read_to_string(&stats)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map(|v| {
                (0..2)
                    .map(|i| v["inputs"][i]["rx"]["packets"].as_u64().unwrap_or(0))
                    .sum::<u64>()
            })
            .unwrap_or(0);
        if got >= expected {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(15),
            "case {name}: only {got} of {expected} replayed packets reached the binary\n{rtext}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = guard.0.as_ref().expect("child").id().to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success(), "case {name}: kill -INT {pid} failed");
    let mut child = guard.0.take().expect("child");
    let code = wait_bounded(&mut child, Duration::from_secs_f64(duration_s + 20.0), name);
    let stdout = so.join().unwrap_or_default();
    let stderr = format!(
        "{}\n--- tcpreplay ---\n{rtext}",
        se.join().unwrap_or_default()
    );
    drop(ns);
    collect(name, code, stdout, stderr, &stats, &out, 2)
}
