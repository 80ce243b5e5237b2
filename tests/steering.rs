//! Input steering of the shard layout (`--steer`, issue 12 item 5): NIC
//! `rte_flow` rules that put each leg's group on its owner's rx queue, or
//! the software dispatch, and what happens when a port refuses the rules.
//!
//! * `net_null` has no flow support: `--steer flow` exits 2 with one line
//!   carrying `rte_flow_validate`'s reason; `--steer auto` says the same
//!   in one warning and runs on the software dispatch.
//! * `net_tap` implements rte_flow with the kernel's TC (multiq qdisc,
//!   flower classifier, skbedit action). Two RTP streams, both legs, are
//!   sent from the kernel side into two taps inside a namespace of this
//!   test (tcpreplay, bounded packet count). Where the kernel has those TC
//!   parts (probed with `tc` itself, independently of the binary), the run
//!   is `--steer flow`: each worker's own rx queue must have received
//!   exactly its stream's copies and nothing of the other's. Where it has
//!   not, the test says so, checks that `--steer flow` exits 2 naming
//!   `rte_flow_create`'s refusal, and runs `--steer auto`, which must fall
//!   back to one rx queue per input and the software dispatch. Either way
//!   the output is each stream complete, in order, once, on its owner's tx
//!   queue.

#[allow(dead_code)]
mod common;
mod prereq;
mod support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::serial;
use prereq::{require, STEERING as SUITE};
use support::live::{Run, HANG_GUARD};
use support::netns::Netns;
use support::{eal_args, workdir, BIN};
use testkit::frame::FrameSpec;
use testkit::scenario::{LegPacket, Scenario, StreamSpec};

/// Packets per stream and leg.
const N: u64 = 400;
/// tcpreplay's rate per tap.
const PPS: u32 = 2000;
/// The streams: leg groups and output group by index.
const STREAMS: usize = 2;

fn group(leg: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(239, leg, 0, i as u8 + 1)
}

fn stream_args() -> Vec<String> {
    (0..STREAMS)
        .flat_map(|i| {
            [
                "--stream".to_string(),
                format!(
                    "{}:5000,{}:5000=239.10.0.{}:5004",
                    group(1, i),
                    group(2, i),
                    i + 1
                ),
            ]
        })
        .collect()
}

/// `--lcores` for a main lcore and two workers on a 2-CPU machine.
const LCORES: &str = "0@0,1@1,2@0";

/// The binary's arguments: EAL (`vdevs` for ports 0, 1, 2), then the two
/// streams over two workers with `--steer steer`.
fn args(prefix: &str, vdevs: &[String], steer: &str, extra: &[&str]) -> Vec<String> {
    let mut a = eal_args(prefix);
    a.splice(0..2, ["--lcores".to_string(), LCORES.to_string()]);
    for v in vdevs {
        a.push("--vdev".into());
        a.push(v.clone());
    }
    a.push("--".into());
    a.extend(stream_args());
    a.extend(
        [
            "--nb-cores",
            "2",
            "--steer",
            steer,
            "--no-membership",
            "--out-src-ip",
            "10.9.9.9",
        ]
        .map(String::from),
    );
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn null_vdevs() -> Vec<String> {
    (0..3).map(|i| format!("net_null{i}")).collect()
}

/// Lines of `text` that mention `--steer`.
fn steer_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.contains("--steer")).collect()
}

#[test]
fn flow_on_a_port_without_rte_flow_exits_2_with_the_drivers_reason() {
    let _turn = serial();
    let out = Command::new(BIN)
        .args(args(
            &format!("mfsteer{}nf", std::process::id()),
            &null_vdevs(),
            "flow",
            &["--duration", "5"],
        ))
        .output()
        .expect("run mcast-failover");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let lines = steer_lines(&stderr);
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains(
            "--steer flow: the ports cannot steer the streams to their workers: port 0: \
             rte_flow_validate refused 239.1.0.1:5000 -> queue 0: "
        ),
        "{}",
        lines[0]
    );
    // The driver's reason follows: net_null has no flow operations.
    assert!(
        lines[0].ends_with("Function not implemented"),
        "{}",
        lines[0]
    );
}

#[test]
fn auto_on_a_port_without_rte_flow_falls_back_to_software_dispatch_in_one_line() {
    let _turn = serial();
    let dir = workdir("steer-auto-null");
    let stats = dir.join("stats.json");
    let out = Command::new(BIN)
        .args(args(
            &format!("mfsteer{}na", std::process::id()),
            &null_vdevs(),
            "auto",
            &["--duration", "0.5", "--stats-json", stats.to_str().unwrap()],
        ))
        .output()
        .expect("run mcast-failover");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines = steer_lines(&stderr);
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains(
            "--steer auto: software dispatch, the ports cannot steer: port 0: \
             rte_flow_validate refused 239.1.0.1:5000 -> queue 0: Function not implemented"
        ),
        "{}",
        lines[0]
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).expect("stats JSON")).unwrap();
    let steering = v["steering"].as_str().unwrap_or_default();
    assert!(
        steering.starts_with("software (port 0: rte_flow_validate"),
        "{steering}"
    );
    for input in v["inputs"].as_array().unwrap() {
        assert!(input.get("rx_queues").is_none(), "one rx queue: {input}");
    }
    // One rx queue per input again, polled by the worker printed.
    assert!(stdout.contains("polls [port 0 queue 0]"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether this kernel has what net_tap's rte_flow needs (multiq qdisc,
/// ingress qdisc, flower classifier, skbedit action), tried with `tc` on a
/// tap of `ns`; `Err` names the first part it refused.
fn kernel_flow_support(ns: &Netns) -> Result<(), String> {
    // Multi-queue, as net_tap makes its taps (multiq needs it).
    ns.sh(&[
        "ip",
        "tuntap",
        "add",
        "dev",
        "mfprobe",
        "mode",
        "tap",
        "multi_queue",
    ]);
    let steps: [(&str, &[&str]); 3] = [
        (
            "multiq qdisc (CONFIG_NET_SCH_MULTIQ)",
            &[
                "tc", "qdisc", "add", "dev", "mfprobe", "root", "handle", "1:", "multiq",
            ],
        ),
        (
            "ingress qdisc (CONFIG_NET_SCH_INGRESS)",
            &["tc", "qdisc", "add", "dev", "mfprobe", "ingress"],
        ),
        (
            "flower classifier with skbedit (CONFIG_NET_CLS_FLOWER, CONFIG_NET_ACT_SKBEDIT)",
            &[
                "tc",
                "filter",
                "add",
                "dev",
                "mfprobe",
                "parent",
                "ffff:",
                "protocol",
                "ip",
                "flower",
                "dst_ip",
                "239.1.0.1",
                "action",
                "skbedit",
                "queue_mapping",
                "1",
            ],
        ),
    ];
    let mut verdict = Ok(());
    for (what, cmd) in steps {
        let out = ns.cmd(cmd).output().expect("run tc");
        if !out.status.success() {
            verdict = Err(format!(
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
            break;
        }
    }
    ns.sh(&["ip", "link", "del", "mfprobe"]);
    verdict
}

/// Per tap (leg), a pcap of both streams' copies, interleaved.
fn traffic(dir: &Path) -> (PathBuf, PathBuf) {
    let specs = (0..STREAMS)
        .map(|i| {
            StreamSpec::rtp(
                FrameSpec::multicast("10.0.1.1".parse().unwrap(), group(1, i).into(), 5000),
                FrameSpec::multicast("10.0.2.1".parse().unwrap(), group(2, i).into(), 5000),
            )
        })
        .collect();
    let mut sc = Scenario::with_streams(specs);
    let gap = 1_000_000_000 / u64::from(PPS);
    let list: Vec<LegPacket> = (0..N)
        .flat_map(|q| {
            (0..STREAMS).map(move |i| LegPacket::new(q, (q * 2 + i as u64) * gap).stream(i))
        })
        .collect();
    sc.primary = list.clone();
    sc.secondary = list;
    sc.write_to_dir(dir).expect("write the legs' pcaps")
}

fn stats(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// RTP sequence numbers of an output capture, per output group's last
/// octet (1 = stream 0), in transmit order.
fn output(path: &Path) -> Vec<(u8, u16)> {
    testkit::read_pcap(path)
        .expect("output pcap")
        .packets
        .iter()
        .map(|p| {
            let r = testkit::parse_rtp(&p.data).expect("an RTP output frame");
            let std::net::IpAddr::V4(g) = r.udp.dst_ip else {
                panic!("IPv6 output")
            };
            (g.octets()[3], r.seq)
        })
        .collect()
}

fn rx(v: &serde_json::Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no rx counter {key}: {v}"))
}

#[test]
fn taps_steer_each_stream_to_its_owner_or_fall_back_in_one_line() {
    require(&SUITE);
    let _turn = serial();
    let dir = workdir("steer-tap");
    let ns = Netns::new(&format!("mfsteer{}", std::process::id() % 100_000));
    // No IPv6 on the taps: their router solicitations would be input too.
    ns.sh(&["sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1"]);
    let support = kernel_flow_support(&ns);
    if let Err(why) = &support {
        eprintln!(
            "NOTE: this kernel cannot run net_tap's rte_flow ({why}): checking the refusal and the fallback instead of flow-steered traffic"
        );
    }
    let (pri, sec) = traffic(&dir);
    let outs = [dir.join("out0.pcap"), dir.join("out1.pcap")];
    let stats_path = dir.join("stats.json");
    let vdevs = vec![
        "net_tap0,iface=mfst0".to_string(),
        "net_tap1,iface=mfst1".to_string(),
        format!(
            "net_pcap2,tx_pcap={},tx_pcap={}",
            outs[0].display(),
            outs[1].display()
        ),
    ];
    let prefix = format!("mfsteer{}tap", std::process::id());
    if support.is_err() {
        // The rules validate (net_tap only parses them) and the kernel
        // refuses to create them.
        let out = ns
            .cmd(&[BIN])
            .args(args(&prefix, &vdevs, "flow", &["--duration", "5"]))
            .output()
            .expect("run mcast-failover");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let lines = steer_lines(&stderr);
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].contains("port 0: rte_flow_create refused 239.1.0.1:5000 -> queue 0: "),
            "{}",
            lines[0]
        );
    }
    let steer = if support.is_ok() { "flow" } else { "auto" };
    let mut run = Run::start(ns.cmd(&[BIN]).args(args(
        &prefix,
        &vdevs,
        steer,
        &[
            "--stats-period",
            "0.2",
            "--stats-json",
            stats_path.to_str().unwrap(),
        ],
    )));
    run.until("the shard assignment", |l| {
        l.contains("worker 1 (lcore 2)").then_some(())
    });
    for (iface, file) in [("mfst0", &pri), ("mfst1", &sec)] {
        let st = ns
            .cmd(&["tcpreplay", "-q", "-i", iface, &format!("--pps={PPS}")])
            .arg(file)
            .stdout(Stdio::null())
            .status()
            .expect("run tcpreplay");
        assert!(st.success(), "tcpreplay on {iface}: {st}");
    }
    // Both legs of both streams arrived: every copy was judged.
    let want_in = N * STREAMS as u64;
    run.until("every copy judged", |_| {
        let v = stats(&stats_path)?;
        let judged = |i: usize| {
            let r = &v["inputs"][i]["rx"];
            r["packets"]
                .as_u64()
                .zip(r["not_merged"].as_u64())
                .map(|(p, n)| p - n)
        };
        (judged(0)? >= want_in && judged(1)? >= want_in).then_some(())
    });
    run.signal("-TERM");
    let code = support::wait_bounded(&mut run.child, HANG_GUARD)
        .expect("exit after SIGTERM")
        .code();
    let log = run.log();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("(no leak)"), "{log}");
    let v = stats(&stats_path).expect("final stats");
    assert_eq!(v["final"], serde_json::Value::Bool(true));
    let steering = v["steering"].as_str().unwrap_or_default().to_string();
    // What this run measured, for BENCHMARKS.md (counts, not times: the
    // taps' rate is tcpreplay's, not the device's).
    for (i, input) in v["inputs"].as_array().unwrap().iter().enumerate() {
        let r = &input["rx"];
        let queues: Vec<String> = input["rx_queues"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| (rx(&q["rx"], "packets") - rx(&q["rx"], "not_merged")).to_string())
            .collect();
        eprintln!(
            "STEER-ROW input={i} steering={steer} judged={} dispatched={} steer_miss={} per_queue_judged=[{}]",
            rx(r, "packets") - rx(r, "not_merged"),
            rx(r, "dispatched"),
            rx(r, "steer_miss"),
            queues.join(",")
        );
    }
    for (i, input) in v["inputs"].as_array().unwrap().iter().enumerate() {
        let r = &input["rx"];
        assert_eq!(
            rx(r, "packets") - rx(r, "not_merged"),
            want_in,
            "input {i}: {input}"
        );
        assert_eq!(
            rx(r, "handoff_full") + rx(r, "steer_miss"),
            0,
            "input {i}: {input}"
        );
        if support.is_ok() {
            // Queue w got exactly stream w's copies of this leg.
            let queues = input["rx_queues"].as_array().expect("per-queue counters");
            assert_eq!(queues.len(), 2, "{input}");
            for q in queues {
                let r = &q["rx"];
                assert_eq!(rx(r, "packets") - rx(r, "not_merged"), N, "input {i}: {q}");
                assert_eq!(
                    rx(r, "dispatched") + rx(r, "steer_miss"),
                    0,
                    "input {i}: {q}"
                );
            }
        } else {
            assert!(input.get("rx_queues").is_none(), "{input}");
            // Each input's poller passes the other worker's stream on.
            assert_eq!(rx(r, "dispatched"), N, "input {i}: {input}");
        }
    }
    if support.is_ok() {
        assert!(steering.starts_with("flow (4 rte_flow rules"), "{steering}");
        assert!(
            log.contains("polls [port 0 queue 1, port 1 queue 1]"),
            "{log}"
        );
    } else {
        assert!(
            steering.starts_with("software (port 0: rte_flow_create refused"),
            "{steering}"
        );
        let lines = steer_lines(&log);
        assert_eq!(lines.len(), 1, "one fallback line: {log}");
        assert!(
            lines[0].contains("--steer auto: software dispatch"),
            "{}",
            lines[0]
        );
    }
    // Each tx queue carries its worker's stream, complete, in order, once.
    let want: Vec<u16> = (0..N as u16).collect();
    for (w, out) in outs.iter().enumerate() {
        let frames = output(out);
        assert!(
            frames.iter().all(|(g, _)| usize::from(*g) == w + 1),
            "tx queue {w} carries another worker's stream"
        );
        let seqs: Vec<u16> = frames.iter().map(|f| f.1).collect();
        assert!(
            seqs == want,
            "stream {w}: {} packets, first difference at {:?}",
            seqs.len(),
            seqs.iter().zip(&want).position(|(a, b)| a != b)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
