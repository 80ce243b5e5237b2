//! The binary itself, as an operator meets it: help and version, bad input
//! (exit 2 and a one-line error naming the value), io forwarding through
//! real DPDK pcap vdevs byte for byte, and SIGINT during traffic.
//!
//! DPDK tests need root. They run with `--no-huge -m 512` (see
//! `support::eal_memory_args`); if EAL cannot start they fail, never skip.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use testkit::{paced, FrameSpec, Scenario, StreamSpec};

mod support;
use support::{
    eal_args, test_stream_spec, until_signalled, wait_bounded, workdir, BIN, TEST_STREAM,
};

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run mcast-failover")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The EAL file prefix of test `tag`.
fn prefix(tag: &str) -> String {
    format!("mfbin{tag}{}", std::process::id())
}

/// Removes the runtime directory EAL leaves behind for `tag`.
fn forget_prefix(tag: &str) {
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{}", prefix(tag)));
}

/// EAL options: two lcores, no PCI, the tests' memory, a prefix of our own
/// so tests run in parallel.
fn eal(tag: &str) -> Vec<String> {
    eal_args(&prefix(tag))
}

fn rtp_pcaps(dir: &Path, n: u64) -> (PathBuf, PathBuf) {
    let mut sc = Scenario::new(test_stream_spec());
    sc.primary = paced(0..n, 0, 100_000);
    sc.secondary = paced(0..n, 0, 100_000);
    sc.write_to_dir(dir).unwrap()
}

#[test]
fn help_is_the_documented_help_and_exits_0() {
    // config/tests/cli.rs checks that the help documents every option; here the binary must
    // print exactly that text (on stdout, exit 0), before any EAL set-up.
    let out = run(&["--", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert_eq!(help.trim_end(), config::help_text().trim_end());
    assert!(help.contains("[default:"), "help shows defaults");
}

#[test]
fn version_names_dpdk() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let v = text(&out.stdout);
    assert!(v.starts_with("mcast-failover "), "{v}");
    assert!(v.contains("DPDK 22."), "{v}");
}

/// Bad input before EAL starts: exit 2, one line on stderr naming the value.
#[test]
fn bad_input_exits_2_naming_the_value() {
    let dir = workdir("bad");
    let bad_toml = dir.join("bad.toml");
    std::fs::write(&bad_toml, "primary_port = 0\n[[stream]\nname = \"x\"\n").unwrap();
    let missing = dir.join("missing.toml");
    let missing_s = missing.to_str().unwrap().to_string();
    let bad_toml_s = bad_toml.to_str().unwrap().to_string();
    let s = "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--", "--bogus-flag"], "--bogus-flag"),
        (
            vec![
                "--",
                "--stream",
                "239.1.1:5000,239.2.1.1:5000=239.10.1.1:5000",
            ],
            "239.1.1",
        ),
        (
            vec![
                "--",
                "--stream",
                "10.0.0.1:5000,239.2.1.1:5000=239.10.1.1:5000",
            ],
            "10.0.0.1",
        ),
        (
            vec![
                "--",
                "--stream",
                "239.1.1.1:5000,239.2.1.1:5000=192.168.1.1:5000",
            ],
            "192.168.1.1",
        ),
        (
            vec![
                "--",
                "--stream",
                "239.1.1.1:99999,239.2.1.1:5000=239.10.1.1:5000",
            ],
            "99999",
        ),
        (vec!["--", "--config", &missing_s], "missing.toml"),
        (vec!["--", "--config", &bad_toml_s], ":2"),
        (
            vec![
                "--",
                "--stream",
                s,
                "--stream",
                "239.1.1.1:5000,239.3.1.1:5000=239.11.1.1:5000",
            ],
            "239.1.1.1:5000",
        ),
        (vec!["--", "--stream", s, "--burst", "0"], "0"),
        (vec!["--", "--stream", s, "--burst", "100000"], "100000"),
        (vec!["--", "--stream", s, "--max-delay", "0"], "0"),
        (vec!["--", "--stream", s, "--slots", "1000"], "1000"),
        (
            vec!["--", "--stream", s, "--max-delay", "2000", "--slots", "64"],
            "64",
        ),
        (vec!["--", "--stream", s, "--seq", "u48be@3"], "u48be@3"),
        (
            vec!["--", "--stream", s, "--forward-mode", "fastest"],
            "fastest",
        ),
        (vec!["--", "--stream", s, "--clock", "wall"], "wall"),
        // Issue 17: a window that rounds to nothing names max-delay, not
        // the restart-after check it used to trip.
        (
            vec!["--", "--stream", s, "--max-delay", "1e-300"],
            "--max-delay 1e-300",
        ),
        // Issue 17: a stats period the main loop cannot keep up with.
        (
            vec!["--", "--stream", s, "--stats-period", "1e-8"],
            "--stats-period 1e-8",
        ),
        // Issue 17: --config reads at most 16 MiB.
        (vec!["--", "--config", "/dev/zero"], "larger than 16 MiB"),
    ];
    for (args, needle) in cases {
        let out = run(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: not one line: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: message does not name {needle:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Issue 17: an error line quotes at most about 200 characters of a bad
/// value, whatever the value's size or where it appears.
#[test]
fn huge_bad_values_are_quoted_clipped() {
    let huge = "9".repeat(100_000);
    let s = "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000";
    let seq = format!("u32be@{huge}");
    let stream = format!("239.1.1.1:5000,{huge}=239.10.1.1:5000");
    let flag = format!("--x{huge}");
    let dir = workdir("huge");
    let toml = dir.join("huge.toml");
    std::fs::write(&toml, format!("[defaults]\nseq = \"{seq}\"\n")).unwrap();
    let toml = toml.to_str().unwrap().to_string();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--", "--stream", s, "--seq", &seq],
        vec!["--", "--stream", s, "--burst", &huge],
        vec!["--", "--stream", &stream],
        vec!["--", &flag],
        vec!["--", "--config", &toml],
        vec!["--", "--config", &huge],
    ];
    for args in cases {
        let out = run(&args);
        let err = text(&out.stderr);
        let shown = &args[args.len() - 1][..20];
        assert_eq!(out.status.code(), Some(2), "{shown}: {err:.300}");
        assert_eq!(err.trim_end().lines().count(), 1, "{shown}: {err:.300}");
        assert!(err.len() < 700, "{shown}: {} bytes: {err:.300}", err.len());
        assert!(err.contains('…'), "{shown}: {err}");
    }
}

/// Issue 17: `--stats-period 1e-8` on net_null vdevs used to spin the main
/// thread forever, deaf to --duration and SIGTERM. Now it is refused, and
/// the shortest accepted period still honours both.
#[test]
fn the_shortest_stats_period_still_stops() {
    let nulls: Vec<String> = (0..3).map(|i| format!("net_null{i}")).collect();
    let stream = ["--stream", TEST_STREAM];
    let dir = workdir("statsperiod");
    let spawn = |tag: &str, extra: &[&str], log: &Path| {
        let mut args = eal(tag);
        args.extend(nulls.iter().map(|v| format!("--vdev={v}")));
        args.push("--".into());
        args.extend(stream.iter().chain(extra).map(|a| a.to_string()));
        // Output to files: a pipe nobody reads would block the stats print.
        Command::new(BIN)
            .args(&args)
            .stdout(std::fs::File::create(log).unwrap())
            .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
            .spawn()
            .unwrap()
    };
    // Runs to the end (bounded), returns the exit code, stdout and stderr.
    let finish = |tag: &str, mut child: Child, log: &Path| {
        let status = wait_bounded(&mut child, Duration::from_secs(60));
        forget_prefix(tag);
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap();
        let (out, err) = (read(log.to_path_buf()), read(log.with_extension("err")));
        (status.and_then(|s| s.code()), out, err)
    };
    // Refused before EAL starts (bounded: the old binary never returned).
    let log = dir.join("refused.log");
    let args = ["--duration", "0.3", "--stats-period", "1e-8"];
    let (code, _, err) = finish("spf", spawn("spf", &args, &log), &log);
    assert_eq!(code, Some(2), "{err:.2000}");
    assert!(err.contains("--stats-period 1e-8"), "{err}");

    // --duration ends the run.
    let log = dir.join("duration.log");
    let args = ["--duration", "0.3", "--stats-period", "0.01"];
    let (code, out, err) = finish("spd", spawn("spd", &args, &log), &log);
    assert_eq!(code, Some(0), "{out:.2000} {err:.2000}");
    assert!(out.contains("Final statistics"), "{out:.2000}");

    // SIGTERM ends the run, once it is printing stats.
    let log = dir.join("term.log");
    let json = dir.join("term.json");
    let args = [
        "--stats-period",
        "0.01",
        "--stats-json",
        json.to_str().unwrap(),
    ];
    let mut child = spawn("spt", &args, &log);
    let start = Instant::now();
    while !json.exists() && child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(60), "no stats JSON");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(kill.success());
    let (code, out, err) = finish("spt", child, &log);
    assert_eq!(code, Some(0), "{out:.2000} {err:.2000}");
    assert!(out.contains("Final statistics"), "{out:.2000}");
}

/// Runs the binary with EAL options for `tag`, the given vdevs and app
/// arguments after `--`, and expects exit 2 with an error line containing
/// `needle`.
fn expect_usage_error(tag: &str, vdevs: &[String], app: &[&str], needle: &str) {
    let mut args = eal(tag);
    args.extend(vdevs.iter().map(|v| format!("--vdev={v}")));
    args.push("--".into());
    args.extend(app.iter().map(|a| a.to_string()));
    let out = Command::new(BIN).args(&args).output().unwrap();
    forget_prefix(tag);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("mcast-failover:"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(line.contains(needle), "{line}");
}

/// A port id EAL did not enumerate is bad input too (checked after EAL).
#[test]
fn port_that_does_not_exist_exits_2() {
    let dir = workdir("noport");
    let (p, _) = rtp_pcaps(&dir, 10);
    expect_usage_error(
        "np",
        &[
            format!("net_pcap0,rx_pcap={}", p.display()),
            "net_null0".into(),
        ],
        &[
            "--stream",
            TEST_STREAM,
            "--secondary-port",
            "7",
            "--output-port",
            "1",
        ],
        "7",
    );
}

/// `--clock capture` needs packets stamped with their capture time: only
/// net_pcap does that, so a net_null input is refused (exit 2, naming the
/// port and its driver) rather than a run whose clock never moves.
#[test]
fn capture_clock_on_a_port_that_stamps_nothing_exits_2() {
    let dir = workdir("clk");
    let (p, _) = rtp_pcaps(&dir, 10);
    expect_usage_error(
        "clk",
        &[
            format!("net_pcap0,rx_pcap={}", p.display()),
            "net_null0".into(),
            "net_null1".into(),
        ],
        &["--stream", TEST_STREAM, "--clock", "capture"],
        "input port 1 is net_null",
    );
}

/// Issue 3's end-to-end proof of the FFI path: io forwarding from a pcap
/// vdev to a pcap vdev gives back exactly the input, byte for byte, in
/// order, and every mbuf returns to the pool.
#[test]
fn io_forwarding_is_byte_exact() {
    let dir = workdir("io");
    let (p, _) = rtp_pcaps(&dir, 3000);
    let out_pcap = dir.join("out.pcap");
    let mut args = eal("io");
    args.push(format!("--vdev=net_pcap0,rx_pcap={}", p.display()));
    args.push(format!("--vdev=net_pcap1,tx_pcap={}", out_pcap.display()));
    args.extend(
        [
            "--",
            "--forward-mode",
            "io",
            "--output-port",
            "1",
            "--duration",
            "1",
        ]
        .map(String::from),
    );
    let out = Command::new(BIN).args(&args).output().unwrap();
    forget_prefix("io");
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout {stdout} stderr {}",
        text(&out.stderr)
    );
    let input = testkit::read_frames(&p).unwrap();
    let output = testkit::read_frames(&out_pcap).unwrap();
    assert_eq!(input.len(), 3000);
    assert_eq!(output.len(), input.len(), "frame count");
    for (i, (a, b)) in input.iter().zip(&output).enumerate() {
        assert_eq!(a, b, "frame {i} differs");
    }
    assert!(
        stdout.contains("io forwarding done: rx 3000 tx 3000 dropped 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 of ") && stdout.contains("in use after shutdown (no leak)"),
        "{stdout}"
    );
}

/// SIGINT while traffic flows: the run stops (long before its --duration), exits 0,
/// prints the final stats and every mbuf is back in the pool. How fast it stops is
/// printed, not asserted: the bounds below only keep a broken build from hanging the
/// suite, and hold however slow the machine is.
#[test]
fn sigint_during_traffic_exits_0_with_final_stats_and_no_leak() {
    let dir = workdir("sigint");
    let (p, s) = rtp_pcaps(&dir, 2000);
    let json = dir.join("stats.json");
    let mut args = eal("sig");
    args.push(format!(
        "--vdev=net_pcap0,rx_pcap={},infinite_rx=1",
        p.display()
    ));
    args.push(format!(
        "--vdev=net_pcap1,rx_pcap={},infinite_rx=1",
        s.display()
    ));
    args.push("--vdev=net_null0".into());
    args.extend(
        [
            "--",
            "--stream",
            TEST_STREAM,
            "--stats-period",
            "0.2",
            // Far beyond the hang guard below: exiting at all proves SIGINT stopped it.
            "--duration",
            "3600",
        ]
        .map(String::from),
    );
    args.push("--stats-json".into());
    args.push(json.to_str().unwrap().into());
    let mut child = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the stats show traffic flowing.
    let start = Instant::now();
    let flowing = loop {
        if let Ok(t) = std::fs::read_to_string(&json) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) {
                if v["output"]["tx"]["packets"].as_u64().unwrap_or(0) > 1000 {
                    break true;
                }
            }
        }
        if start.elapsed() > Duration::from_secs(300) || child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(flowing, "traffic never showed in {}", json.display());
    let sent = Instant::now();
    let pid = child.id() as i32;
    // Through kill(1), so the test needs no unsafe code.
    let st = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status =
        wait_bounded(&mut child, Duration::from_secs(600)).expect("did not stop after SIGINT");
    forget_prefix("sig");
    let stop_time = sent.elapsed();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "stdout {stdout}\nstderr {stderr}");
    eprintln!("stopped {stop_time:?} after SIGINT");
    assert!(stdout.contains("Final statistics"), "{stdout}");
    assert!(
        stdout.contains("in use after shutdown (no leak)"),
        "{stdout}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["final"], true);
    // Issue 17: infinite_rx keeps its ring of mbufs until the port closes;
    // the final JSON and the final text block both count after the close.
    assert_eq!(v["mempool"]["in_use"], 0, "{}", v["mempool"]);
    let fin = &stdout[stdout.find("Final statistics").unwrap()..];
    assert!(fin.contains(": 0 in use of "), "{fin}");
    let sent_pkts = v["totals"]["sent"].as_u64().unwrap();
    assert!(sent_pkts > 1000, "sent {sent_pkts}");
    assert_eq!(v["output"]["tx"]["packets"].as_u64().unwrap(), sent_pkts);
}

/// Runs the merge on pcap vdevs with extra EAL and app arguments; returns
/// the output frames and the final stats JSON.
fn merge_pcaps(
    tag: &str,
    dir: &Path,
    p: &Path,
    s: &Path,
    eal_extra: &[&str],
    app_extra: &[&str],
) -> (Vec<Vec<u8>>, serde_json::Value) {
    let out_pcap = dir.join(format!("out-{tag}.pcap"));
    let json = dir.join(format!("stats-{tag}.json"));
    let mut args = eal(tag);
    if !eal_extra.is_empty() {
        // Replace "-l 0-1" with the caller's lcore layout.
        args.drain(0..2);
        args.extend(eal_extra.iter().map(|a| a.to_string()));
    }
    args.push(format!("--vdev=net_pcap0,rx_pcap={}", p.display()));
    args.push(format!("--vdev=net_pcap1,rx_pcap={}", s.display()));
    args.push(format!("--vdev=net_pcap2,tx_pcap={}", out_pcap.display()));
    args.push("--".into());
    if !app_extra.contains(&"--stream") {
        args.extend(["--stream", TEST_STREAM].map(String::from));
    }
    // The capture clock: the files' timestamps are the merge's time, so
    // the answer does not depend on how fast this machine reads them.
    args.extend(["--duration", "1", "--clock", "capture", "--stats-json"].map(String::from));
    args.push(json.to_str().unwrap().into());
    args.extend(app_extra.iter().map(|a| a.to_string()));
    let out = Command::new(BIN).args(&args).output().unwrap();
    forget_prefix(tag);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{tag}: stdout {} stderr {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let v = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (testkit::read_frames(&out_pcap).unwrap(), v)
}

/// `--nb-cores 2 --layout split` (rx lcore + tx lcore, lock-free handoff) gives exactly
/// the output of the one-lcore layout: every sequence number that
/// survived on either leg, once, in order, byte-identical frames. The
/// three lcores share this machine's two CPUs through `--lcores`.
#[test]
fn split_layout_matches_one_lcore() {
    let dir = workdir("split");
    let n = 4000u64;
    let (lp, ls) = testkit::scenario::random_loss(n as usize, 3.0, 7, false);
    let mut sc = Scenario::new(test_stream_spec());
    sc.primary = paced((0..n).filter(|&i| !lp[i as usize]), 0, 100_000);
    sc.secondary = paced((0..n).filter(|&i| !ls[i as usize]), 0, 100_000);
    assert!(lp.iter().any(|&l| l) && ls.iter().any(|&l| l));
    let (p, s) = sc.write_to_dir(&dir).unwrap();
    let (one, v1) = merge_pcaps("one", &dir, &p, &s, &[], &[]);
    let (split, v2) = merge_pcaps(
        "split",
        &dir,
        &p,
        &s,
        &["--lcores", "0@0,1@1,2@1"],
        &["--nb-cores", "2", "--layout", "split"],
    );
    let seqs = |frames: &[Vec<u8>]| -> Vec<u16> {
        frames
            .iter()
            .map(|f| testkit::parse_rtp(f).unwrap().seq)
            .collect()
    };
    let expected: Vec<u16> = (0..n as u16).collect();
    assert_eq!(seqs(&one), expected, "one lcore");
    assert_eq!(seqs(&split), expected, "split");
    assert_eq!(one, split, "frames differ between layouts");
    for v in [&v1, &v2] {
        assert_eq!(v["totals"]["unrecoverable"], 0);
        assert_eq!(v["totals"]["sent"], n);
        assert_eq!(v["mempool"]["in_use"], 0);
    }
    assert_eq!(v2["inputs"][0]["rx"]["handoff_full"], 0);
}

/// Sharding needs one tx queue per worker on the output port: an output
/// that offers one (a `net_pcap` with one `tx_pcap`) is refused with exit 2
/// and one line saying how to give more, or to use the split layout.
#[test]
fn shard_layout_needs_a_tx_queue_per_worker() {
    let dir = workdir("shardq");
    let (p, s) = rtp_pcaps(&dir, 10);
    let tag = "shardq";
    let mut args = eal(tag);
    args.drain(0..2);
    args.extend(["--lcores", "0@0,1@1,2@1"].map(String::from));
    args.push(format!("--vdev=net_pcap0,rx_pcap={}", p.display()));
    args.push(format!("--vdev=net_pcap1,rx_pcap={}", s.display()));
    args.push(format!(
        "--vdev=net_pcap2,tx_pcap={}",
        dir.join("out.pcap").display()
    ));
    args.extend(
        [
            "--",
            "--stream",
            "239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004",
            "--nb-cores",
            "2",
            "--duration",
            "1",
        ]
        .map(String::from),
    );
    let out = Command::new(BIN).args(&args).output().unwrap();
    forget_prefix(tag);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("mcast-failover:"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(
        line.contains("tx queue") && line.contains("--layout split"),
        "{line}"
    );
}

/// IPv6 legs merged onto an IPv6 virtual group: every sequence number that
/// survived somewhere goes out once, in order, to the 33:33 multicast MAC
/// and the configured source, with a valid (mandatory) UDP checksum.
#[test]
fn ipv6_streams_merge_and_rewrite() {
    let dir = workdir("v6");
    let n = 3000u64;
    let (lp, ls) = testkit::scenario::random_loss(n as usize, 3.0, 11, false);
    let mut sc = Scenario::new(StreamSpec::rtp(
        FrameSpec::multicast(
            "fd00::1:1".parse().unwrap(),
            "ff3e::1:1".parse().unwrap(),
            5000,
        ),
        FrameSpec::multicast(
            "fd00::2:1".parse().unwrap(),
            "ff3e::2:1".parse().unwrap(),
            5000,
        ),
    ));
    sc.primary = paced((0..n).filter(|&i| !lp[i as usize]), 0, 100_000);
    sc.secondary = paced((0..n).filter(|&i| !ls[i as usize]), 0, 100_000);
    let (p, s) = sc.write_to_dir(&dir).unwrap();
    let (out, v) = merge_pcaps(
        "v6",
        &dir,
        &p,
        &s,
        &[],
        &[
            "--stream",
            "[ff3e::1:1]:5000,[ff3e::2:1]:5000=[ff3e::10:1]:5004",
            "--out-src-ip",
            "fd00::99",
        ],
    );
    let group: IpAddr = "ff3e::10:1".parse().unwrap();
    let seqs: Vec<u16> = out
        .iter()
        .map(|f| {
            let r = testkit::parse_rtp(f).unwrap();
            assert_eq!(r.udp.dst_ip, group);
            assert_eq!(r.udp.dst_port, 5004);
            assert_eq!(r.udp.src_ip, "fd00::99".parse::<IpAddr>().unwrap());
            assert_eq!(r.udp.dst_mac, [0x33, 0x33, 0x00, 0x10, 0x00, 0x01]);
            assert!(testkit::payload_matches(r.seq as u64, r.payload));
            testkit::verify_checksums(f).unwrap();
            r.seq
        })
        .collect();
    assert_eq!(seqs, (0..n as u16).collect::<Vec<_>>());
    assert_eq!(v["totals"]["unrecoverable"], 0);
    assert!(v["totals"]["substituted"].as_u64().unwrap() > 0);
}

/// A pcap vdev with infinite_rx=1 needs an mbuf per packet of its file; too
/// small a pool is an operator error: exit 2 naming the option, never a
/// crash (DPDK 22.11's pcap driver cannot close such a half set-up port).
#[test]
fn too_few_mbufs_for_an_infinite_pcap_exits_2() {
    let dir = workdir("fewmbufs");
    let (p, s) = rtp_pcaps(&dir, 3000);
    expect_usage_error(
        "few",
        &[
            format!("net_pcap0,rx_pcap={},infinite_rx=1", p.display()),
            format!("net_pcap1,rx_pcap={},infinite_rx=1", s.display()),
            "net_null0".into(),
        ],
        &[
            "--stream",
            TEST_STREAM,
            "--total-num-mbufs",
            "1024",
            "--duration",
            "1",
        ],
        "--total-num-mbufs",
    );
}

/// Issue 17: net_pcap's infinite_rx refuses a frame larger than one mbuf
/// only after taking mbufs it never returns, and the half set-up port then
/// made the binary skip EAL cleanup. Such a file is now refused before EAL
/// starts: exit 2, one line naming the frame, no runtime directory left.
#[test]
fn a_jumbo_frame_in_an_infinite_pcap_exits_2_before_eal() {
    let dir = workdir("jumbo");
    let (p, _) = rtp_pcaps(&dir, 10);
    let jumbo = dir.join("jumbo.pcap");
    let mut w = testkit::PcapWriter::create(&jumbo, testkit::TsResolution::Micro).unwrap();
    let frames = testkit::read_pcap(&p).unwrap().packets;
    for (i, f) in frames.iter().enumerate() {
        let mut data = f.data.clone();
        if i == 3 {
            data.resize(9000, 0);
        }
        w.write_frame(f.ts_ns, &data).unwrap();
    }
    w.finish().unwrap();
    let tag = "jumbo";
    let mut args = eal(tag);
    args.push(format!(
        "--vdev=net_pcap0,rx_pcap={},infinite_rx=1",
        jumbo.display()
    ));
    args.extend(["--vdev=net_null0", "--vdev=net_null1"].map(String::from));
    args.extend(["--", "--stream", TEST_STREAM, "--duration", "1"].map(String::from));
    let out = Command::new(BIN).args(&args).output().unwrap();
    let err = text(&out.stderr);
    let runtime = Path::new("/var/run/dpdk").join(prefix(tag));
    let left = runtime.exists();
    forget_prefix(tag);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("frame 4") && err.contains("9000"), "{err}");
    assert!(!left, "EAL runtime directory {} left", runtime.display());
}

/// Issue 17: a second instance with the same `--file-prefix` used to fail
/// with "rte_eal_init failed: Success (errno 0)". It now says which process
/// holds the runtime directory and what to do (exit 2), and the first run
/// goes on undisturbed.
#[test]
fn a_second_instance_with_the_same_prefix_names_the_first() {
    let dir = workdir("dup");
    let json = dir.join("first.json");
    let mut args = eal("dup");
    args.extend((0..3).map(|i| format!("--vdev=net_null{i}")));
    args.push("--".into());
    args.extend(until_signalled(&json));
    let mut first = Command::new(BIN)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !json.exists() {
        assert!(first.try_wait().unwrap().is_none(), "first instance exited");
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "first instance never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = Command::new(BIN).args(&args).output().unwrap();
    let still_running = first.try_wait().unwrap().is_none();
    let kill = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    let status = wait_bounded(&mut first, Duration::from_secs(300));
    forget_prefix("dup");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("mcast-failover:"))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(
        line.contains(&format!("process {}", first.id())) && line.contains("--file-prefix"),
        "{line}"
    );
    assert!(!line.contains("Success"), "{line}");
    assert!(still_running && kill.success());
    assert_eq!(status.and_then(|s| s.code()), Some(0), "first instance");
}

/// `--print-sdp` from an SDP-configured stream: the SDP a downstream receiver is configured
/// from is one leg on the virtual group, sourced from `--out-src-ip`, with the first leg's
/// media; `--print-streams` shows what the SDP resolved to. Both exit 0 before any EAL set-up.
#[test]
fn print_sdp_and_print_streams_describe_an_sdp_configured_stream() {
    let sdp = support::repo().join("examples/demo-dup.sdp");
    let spec = format!("{}=239.10.10.10:5004", sdp.display());
    let base = [
        "--",
        "--sdp",
        &spec,
        "--no-membership",
        "--out-src-ip",
        "192.168.203.1",
    ];
    let mut args = base.to_vec();
    args.push("--print-sdp");
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let parsed = config::sdp::parse(&printed).unwrap_or_else(|e| panic!("{e:?}\n{printed}"));
    assert_eq!(parsed.legs.len(), 1, "{printed}");
    assert_eq!(parsed.legs[0].group, "239.10.10.10:5004".parse().unwrap());
    assert_eq!(
        parsed.legs[0].source,
        Some("192.168.203.1".parse().unwrap()),
        "{printed}"
    );
    assert!(printed.contains("a=rtpmap:33 MP2T/90000"), "{printed}");

    let mut args = base.to_vec();
    args.push("--print-streams");
    let out = run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(
        line.contains(
            "239.1.1.1:5000@192.168.201.1,239.2.2.2:5000@192.168.202.1=239.10.10.10:5004"
        ),
        "{line}"
    );
}
