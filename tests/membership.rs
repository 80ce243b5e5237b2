//! The membership host against a real switch: a Linux bridge with IGMP/MLD snooping and its
//! own querier (IGMPv3 / MLDv2, 1 s query interval, 3 s membership interval), `mcast_flood
//! off` on the device's bridge port so it gets only the groups it joined, a paced sender of
//! two source-specific legs behind the bridge, and the binary on `net_af_packet` on the
//! device's veth.
//!
//! What a network engineer would check, asserted here:
//! * `bridge mdb show` lists the device's port for each group, with the leg's source;
//! * the stream keeps flowing for the whole send (about five membership intervals): every
//!   packet the sender sent is merged and sent, so the queries were answered;
//! * after a clean exit the entries are gone (the leave), and the device sent leaves;
//! * tshark dissects every report and leave the device sent, checksums good, no
//!   malformed-packet or warning-level expert info;
//! * negative control: the same run with `--no-membership` and a temporary MDB entry made
//!   by hand, which the bridge ages out: the stream stops part way.
//!
//! Bounded by packet counts and state polling with hang guards, never by timing assertions.
//! Needs root and the tools of `prereq::MEMBERSHIP` (scripts/setup.sh installs them).

mod prereq;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use support::netns::{ip, Netns};
use support::BIN;

/// Runs take turns: each busy-polls a DPDK lcore.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The sender's rate, packets per second per leg.
const RATE: u64 = 200;
/// Four 3 s membership intervals at RATE: what must flow after the stream starts.
const INTERVALS_OF_PACKETS: u64 = 4 * 3 * RATE;
/// The sender stops by itself after this many packets (the test stops it much earlier).
const SENDER_MAX: u64 = 100 * RATE;

/// Hang guard for any wait on state (never an assertion on time).
const GUARD: Duration = Duration::from_secs(60);

/// The addresses of one address family's case.
struct Family {
    tag: &'static str,
    /// Legs as the binary's --stream takes them, and the sender's leg specs.
    legs: [(&'static str, &'static str); 2],
    output: &'static str,
    /// (address/prefix) of the sender's two sources on its veth.
    src_addrs: [&'static str; 2],
    port_ip: &'static str,
    /// tshark: the device's messages, and their checksum status field.
    from_device: &'static str,
    checksum_field: &'static str,
}

const IGMP: Family = Family {
    tag: "igmp",
    legs: [
        ("232.1.1.1:5000", "192.0.2.1"),
        ("232.2.1.1:5000", "198.51.100.1"),
    ],
    output: "239.10.0.1:5004",
    src_addrs: ["192.0.2.1/24", "198.51.100.1/24"],
    port_ip: "0=192.0.2.10/24",
    from_device: "ip.src == 192.0.2.10 && igmp",
    checksum_field: "igmp.checksum.status",
};

const MLD: Family = Family {
    tag: "mld",
    legs: [
        ("[ff3e::8000:1]:5000", "2001:db8::1"),
        ("[ff3e::8000:2]:5000", "2001:db8:1::1"),
    ],
    output: "[ff3e::10]:5004",
    src_addrs: ["2001:db8::1/64", "2001:db8:1::1/64"],
    port_ip: "0=fe80::10",
    from_device: "ipv6.src == fe80::10 && icmpv6",
    checksum_field: "icmpv6.checksum.status",
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bridge, device and source namespaces of one case; removed on drop.
struct Topo {
    br: Netns,
    dev: Netns,
    src: Netns,
}

impl Topo {
    fn up(tag: &str) -> Topo {
        let id = format!("{}{}", std::process::id() % 100_000, tag);
        let t = Topo {
            br: Netns::new(&format!("mfmbr-{id}")),
            dev: Netns::new(&format!("mfmdev-{id}")),
            src: Netns::new(&format!("mfmsrc-{id}")),
        };
        // The device's kernel must not join anything itself: no IPv6 there.
        t.dev
            .sh(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        t.br.sh(&[
            "ip",
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "1",
            "mcast_querier",
            "1",
            "mcast_igmp_version",
            "3",
            "mcast_mld_version",
            "2",
            "mcast_query_interval",
            "100",
            "mcast_query_response_interval",
            "50",
            "mcast_membership_interval",
            "300",
            "mcast_querier_interval",
            "300",
            "mcast_last_member_interval",
            "20",
            "mcast_startup_query_interval",
            "25",
        ]);
        ip(&[
            "link",
            "add",
            "bsrc",
            "netns",
            &t.br.name,
            "type",
            "veth",
            "peer",
            "name",
            "src0",
            "netns",
            &t.src.name,
        ]);
        ip(&[
            "link",
            "add",
            "bdev",
            "netns",
            &t.br.name,
            "type",
            "veth",
            "peer",
            "name",
            "dev0",
            "netns",
            &t.dev.name,
        ]);
        for p in ["bsrc", "bdev"] {
            t.br.sh(&["ip", "link", "set", p, "master", "br0"]);
        }
        // Unregistered multicast is not flooded to the device: it gets what it joined.
        t.br.sh(&["bridge", "link", "set", "dev", "bdev", "mcast_flood", "off"]);
        for p in ["br0", "bsrc", "bdev"] {
            t.br.sh(&["ip", "link", "set", p, "up"]);
        }
        t.dev.sh(&["ip", "link", "set", "dev0", "up"]);
        // A real sender puts full UDP checksums on the wire (veth would leave them partial).
        t.src.sh(&["ethtool", "-K", "src0", "tx", "off"]);
        t.src.sh(&["ip", "link", "set", "src0", "up"]);
        t
    }

    fn mdb(&self) -> Vec<Value> {
        let text = self.br.sh(&["bridge", "-j", "mdb", "show", "dev", "br0"]);
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        v.as_array()
            .into_iter()
            .flatten()
            .flat_map(|d| d["mdb"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The device port's MDB entries as (group, source or "").
    fn device_entries(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .mdb()
            .iter()
            .filter(|e| e["port"] == "bdev")
            .map(|e| {
                (
                    e["grp"].as_str().unwrap_or("").to_string(),
                    e["src"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    }
}

/// Polls `cond` until it holds; panics (with `what` and `detail`) after the hang guard.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool, detail: impl Fn() -> String) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < GUARD,
            "gave up waiting for {what}: {}",
            detail()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_json(p: &Path) -> Value {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

/// The control's stand-in for a member: (re)makes the temporary entries by hand (iproute2
/// 6.1 has no `mdb replace`: delete, then add).
fn refresh_by_hand(t: &Topo, fam: &Family) {
    for (g, _) in &fam.legs {
        let grp = g.rsplit_once(':').unwrap().0.trim_matches(['[', ']']);
        let entry = ["dev", "br0", "port", "bdev", "grp", grp];
        let _ =
            t.br.cmd(&["bridge", "mdb", "del"])
                .args(entry)
                .stderr(Stdio::null())
                .status();
        let mut add = vec!["bridge", "mdb", "add"];
        add.extend(entry);
        add.push("temp");
        t.br.sh(&add);
    }
}

fn sent(stats: &Value) -> u64 {
    stats["streams"][0]["sent"].as_u64().unwrap_or(0)
}

fn stop(child: &mut Child, what: &str) -> Option<i32> {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    support::wait_bounded(child, GUARD)
        .unwrap_or_else(|| panic!("{what} did not stop on SIGINT"))
        .code()
}

/// The device's output pipes, drained on threads.
type Pipes = (
    std::thread::JoinHandle<String>,
    std::thread::JoinHandle<String>,
);

/// Starts the binary with `args` in the device namespace of `t` and waits for its first
/// stats at `stats`.
fn start_device(t: &Topo, args: &[String], stats: &Path) -> (Child, Pipes) {
    let mut dev = support::start_piped(
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", t.dev.name))
            .arg("--")
            .arg(BIN)
            .args(args),
    );
    let so = support::drain_pipe(dev.stdout.take().unwrap());
    let se = support::drain_pipe(dev.stderr.take().unwrap());
    wait_for("the device's first stats", || stats.exists(), String::new);
    (dev, (so, se))
}

/// What one run saw.
struct Run {
    /// Output packets after the stream reached the device.
    flowed: u64,
    stats: Value,
    stdout: String,
    joined: Vec<(String, String)>,
    after_exit: Vec<(String, String)>,
    capture: PathBuf,
    dir: PathBuf,
}

/// Sets up the topology, runs the device (with or without its membership host) and the
/// sender, and collects what the bridge and the device said.
/// One case: `workers` merge lcores (`--nb-cores`; above 1 the shard layout, whose
/// membership host still runs on the main lcore and sends on the input port's own queue).
fn run(fam: &Family, membership: bool, workers: usize) -> Run {
    prereq::require(&prereq::MEMBERSHIP);
    let tag = format!(
        "{}{}{}",
        fam.tag,
        if membership { "" } else { "-ctl" },
        if workers > 1 { "-sh" } else { "" }
    );
    let t = Topo::up(&tag);
    let dir = std::env::temp_dir().join(format!("mf-membership-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for a in fam.src_addrs {
        t.src.sh(&["ip", "addr", "add", a, "dev", "src0", "nodad"]);
    }

    // tshark on the device's bridge port: IGMP, and IPv6 with a Hop-by-Hop header (MLD).
    let capture = dir.join("membership.pcapng");
    let mut tshark =
        t.br.cmd(&[
            "tshark",
            "-q",
            "-i",
            "bdev",
            "-f",
            "igmp or (ip6 and ip6[6] == 0)",
            "-w",
            capture.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tshark");
    let tshark_err = tshark.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(tshark_err);
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut r, &mut line).unwrap_or(0) > 0 {
            if line.contains("Capturing on") {
                let _ = tx.send(());
            }
            line.clear();
        }
    });
    rx.recv_timeout(GUARD)
        .expect("tshark never started capturing");

    let stream = format!(
        "{}@{},{}@{}={}",
        fam.legs[0].0, fam.legs[0].1, fam.legs[1].0, fam.legs[1].1, fam.output
    );
    let stats = dir.join("stats.json");
    let out = dir.join("out.pcap");
    let mut args = support::eal_args(&format!("mfm{}{tag}", std::process::id()));
    // Per worker: its lcore (the main lcore's CPU shared, as 2 CPUs allow) and its output
    // tx queue (one tx_pcap file each).
    let mut output = format!("net_pcap1,tx_pcap={}", out.display());
    if workers > 1 {
        let at = args.iter().position(|a| a == "-l").expect("EAL -l");
        args.splice(
            at..at + 2,
            ["--lcores".to_string(), support::shard_lcores(workers)],
        );
        for q in 1..workers {
            output.push_str(&format!(
                ",tx_pcap={}",
                dir.join(format!("out{q}.pcap")).display()
            ));
        }
    }
    args.extend(
        [
            "--vdev",
            "net_af_packet0,iface=dev0",
            "--vdev",
            &output,
            "--",
        ]
        .iter()
        .chain(&support::SHARED_INPUT_PORTS)
        .chain(&[
            "--stream",
            &stream,
            "--stats-period",
            "0.2",
            "--stats-json",
            stats.to_str().unwrap(),
        ])
        .map(|s| s.to_string()),
    );
    args.extend(["--nb-cores".to_string(), workers.to_string()]);
    if membership {
        args.extend(["--port-ip".into(), fam.port_ip.into()]);
    } else {
        args.push("--no-membership".into());
    }
    let (mut dev, (so, se)) = start_device(&t, &args, &stats);

    let want: Vec<(String, String)> = {
        let mut w: Vec<(String, String)> = fam
            .legs
            .iter()
            .flat_map(|(g, s)| {
                let grp = g.rsplit_once(':').unwrap().0.trim_matches(['[', ']']);
                [
                    (grp.to_string(), String::new()),
                    (grp.to_string(), s.to_string()),
                ]
            })
            .collect();
        w.sort();
        w
    };
    let joined = if membership {
        wait_for(
            "the bridge to list the device's port for each group and source",
            || want.iter().all(|e| t.device_entries().contains(e)),
            || format!("{:?}", t.mdb()),
        );
        t.device_entries()
    } else {
        refresh_by_hand(&t, fam);
        t.device_entries()
    };

    // The sender: paced, every leg from its own source, for longer than the test needs;
    // stopped at the end.
    let mut sender = t
        .src
        .cmd(&["python3"])
        .arg(repo().join("scripts/lib/mcast_send.py"))
        .args(["src0", &SENDER_MAX.to_string(), &RATE.to_string()])
        .args(fam.legs.iter().map(|(g, s)| format!("{g}@{s}")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sender");
    // The bridge forwards once its querier has settled in (some seconds after it comes
    // up): the stream starts when the first packet is out.
    let now_sent = || sent(&read_json(&stats));
    wait_for(
        "the stream to reach the device",
        || {
            if !membership {
                refresh_by_hand(&t, fam);
            }
            now_sent() > 0
        },
        || format!("{:?}", t.mdb()),
    );
    let first = now_sent();
    let flowed = if membership {
        // Four membership intervals' worth of packets: the entries outlive their interval
        // only if the queries are answered.
        let t0 = Instant::now();
        while now_sent() < first + INTERVALS_OF_PACKETS && t0.elapsed() < GUARD {
            std::thread::sleep(Duration::from_millis(50));
        }
        now_sent() - first
    } else {
        // Nobody refreshes the entry any more: wait until the output stops moving (state,
        // polled) while the sender keeps sending.
        let mut last = (now_sent(), Instant::now());
        let t0 = Instant::now();
        while t0.elapsed() < GUARD && now_sent() < first + INTERVALS_OF_PACKETS {
            let n = now_sent();
            if n != last.0 {
                last = (n, Instant::now());
            } else if last.1.elapsed() > Duration::from_secs(5) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            sender.try_wait().expect("sender").is_none(),
            "the sender ended: the stop proves nothing"
        );
        now_sent() - first
    };
    let _ = sender.kill();
    let _ = sender.wait();
    let code = stop(&mut dev, "mcast-failover");
    let stdout = so.join().unwrap_or_default();
    let stderr = se.join().unwrap_or_default();
    assert_eq!(code, Some(0), "device exit\n{stdout}\n{stderr}");
    let after_exit = if membership {
        wait_for(
            "the device's MDB entries to go after its leave",
            || t.device_entries().is_empty(),
            || format!("{:?}", t.mdb()),
        );
        t.device_entries()
    } else {
        t.device_entries()
    };
    let tc = stop(&mut tshark, "tshark");
    assert!(tc.is_some(), "tshark was killed");
    Run {
        flowed,
        stats: read_json(&stats),
        stdout: format!("{stdout}\n{stderr}"),
        joined,
        after_exit,
        capture,
        dir,
    }
}

/// tshark's view of the device's messages: (frames, frames with a good checksum,
/// malformed or warning/error expert items).
fn dissect(fam: &Family, capture: &Path) -> (u64, u64, u64, String) {
    let cap = capture.to_str().unwrap();
    let out = Command::new("tshark")
        .args([
            "-r",
            cap,
            "-o",
            "ip.check_checksum:TRUE",
            "-Y",
            fam.from_device,
            "-T",
            "fields",
            "-e",
            fam.checksum_field,
        ])
        .output()
        .expect("run tshark");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let frames = text.lines().count() as u64;
    let good = text.lines().filter(|l| l.trim() == "1").count() as u64;
    let bad_filter = format!(
        "({}) && (_ws.malformed || _ws.expert.severity >= 0x00600000)",
        fam.from_device
    );
    let out = Command::new("tshark")
        .args(["-r", cap, "-o", "ip.check_checksum:TRUE", "-Y", &bad_filter])
        .output()
        .expect("run tshark");
    let bad_text = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = Command::new("tshark")
        .args(["-r", cap, "-Y", fam.from_device])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    (frames, good, bad_text.lines().count() as u64, summary)
}

fn keeps_flowing(fam: &Family, workers: usize) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run(fam, true, workers);
    let ctx = || format!("{}\nstats: {}", r.stdout, r.stats);
    println!("bridge mdb (device port) while running: {:?}", r.joined);
    let m = &r.stats["membership"][0];
    let n = |k: &str| m[k].as_u64().unwrap_or_else(|| panic!("no {k}\n{}", ctx()));
    if workers > 1 {
        assert_eq!(
            r.stats["output"]["workers"].as_array().map(Vec::len),
            Some(workers),
            "one output queue per merge worker\n{}",
            ctx()
        );
    }
    // The stream went on for four membership intervals: the queries were answered.
    assert!(
        r.flowed >= INTERVALS_OF_PACKETS,
        "only {} packets after the start\n{}",
        r.flowed,
        ctx()
    );
    assert_eq!(
        r.stats["streams"][0]["unrecoverable"].as_u64(),
        Some(0),
        "{}",
        ctx()
    );
    let queries = n("general_queries");
    assert!(queries >= 3, "queries heard {queries}\n{}", ctx());
    assert!(
        n("reports_sent") > queries,
        "every general query is answered, besides the unsolicited reports\n{}",
        ctx()
    );
    assert_eq!(n("leaves_sent"), 2, "robustness 2 leaves\n{}", ctx());
    assert_eq!(
        n("tx_refused") + n("no_mbuf") + n("malformed"),
        0,
        "{}",
        ctx()
    );
    assert_eq!(
        m["families"][0]["compat"]
            .as_str()
            .map(|s| s.ends_with('2') || s.ends_with('3')),
        Some(true),
        "{}",
        ctx()
    );
    assert!(m["families"][0]["querier"].is_string(), "{}", ctx());
    assert!(r.after_exit.is_empty(), "entries left: {:?}", r.after_exit);
    let (frames, good, bad, summary) = dissect(fam, &r.capture);
    println!("tshark: {frames} device frames\n{summary}");
    assert_eq!(
        frames,
        n("reports_sent") + n("leaves_sent"),
        "tshark saw every message the device sent\n{summary}"
    );
    assert_eq!(good, frames, "checksums tshark calls good\n{summary}");
    assert_eq!(bad, 0, "malformed or expert warnings\n{summary}");
    let _ = std::fs::remove_dir_all(&r.dir);
}

#[test]
fn igmpv3_membership_keeps_a_snooped_stream_flowing() {
    keeps_flowing(&IGMP, 1);
}

/// The same with two merge workers (`--nb-cores 2`, shard layout): the membership host is
/// not a worker's business, and the stream it keeps alive is merged by its owner.
#[test]
fn igmpv3_membership_keeps_a_sharded_stream_flowing() {
    keeps_flowing(&IGMP, 2);
}

#[test]
fn mldv2_membership_keeps_a_snooped_stream_flowing() {
    keeps_flowing(&MLD, 1);
}

/// Negative control: without the membership host the bridge's entry (made by hand) ages out
/// and the stream stops part way; the device sent no report.
#[test]
fn without_membership_the_snooped_stream_stops() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run(&IGMP, false, 1);
    let ctx = || format!("{}\nstats: {}", r.stdout, r.stats);
    assert_eq!(r.joined.len(), 2, "hand-made entries {:?}", r.joined);
    assert!(
        sent(&r.stats) > 0,
        "the hand-made entry let the start through\n{}",
        ctx()
    );
    assert!(
        r.flowed < INTERVALS_OF_PACKETS / 2,
        "{} packets: the stream went on without anyone answering the queries\n{}",
        r.flowed,
        ctx()
    );
    assert!(r.after_exit.is_empty(), "entries left: {:?}", r.after_exit);
    assert!(r.stats["membership"].is_null(), "{}", ctx());
    let (frames, _, _, summary) = dissect(&IGMP, &r.capture);
    assert_eq!(frames, 0, "the device sent IGMP\n{summary}");
    let _ = std::fs::remove_dir_all(&r.dir);
}

/// The membership across a live reload asked through the `/mcast_failover/reload` telemetry
/// command (dpdk-telemetry.py), on two shard workers: the run starts with stream S1 (the IGMP
/// legs); the configuration then adds S2 (two more source-specific groups from the same
/// sender, which the bridge does not forward to the device until it joins them).
///
/// Asserted: the bridge lists S2's groups for the device after the reload and S2 flows; S1's
/// entries are listed at every poll from before the reload to the end, S1 flows on for four
/// membership intervals after it (so its queries went on being answered) and the device
/// sent no leave while running; a clean exit then leaves every group.
#[test]
fn telemetry_reload_joins_an_added_streams_groups_and_keeps_the_untouched_ones() {
    prereq::require(&prereq::MEMBERSHIP);
    prereq::require(&prereq::OPS_TELEMETRY);
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const S2: [(&str, &str); 2] = [
        ("232.1.1.2:5000", "192.0.2.1"),
        ("232.2.1.2:5000", "198.51.100.1"),
    ];
    let fam = &IGMP;
    let t = Topo::up("igmp-rl");
    let dir = std::env::temp_dir().join(format!("mf-membership-{}-reload", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for a in fam.src_addrs {
        t.src.sh(&["ip", "addr", "add", a, "dev", "src0", "nodad"]);
    }
    let table = |name: &str, legs: &[(&str, &str); 2], out: &str| {
        format!(
            "\n[[stream]]\nname = \"{name}\"\nlegs = [\"{}@{}\", \"{}@{}\"]\noutput = \"{out}\"\n",
            legs[0].0, legs[0].1, legs[1].0, legs[1].1
        )
    };
    let conf = dir.join("streams.toml");
    std::fs::write(&conf, table("S1", &fam.legs, fam.output)).unwrap();
    let stats = dir.join("stats.json");
    let prefix = format!("mfmrl{}", std::process::id());
    let mut args = support::eal_args(&prefix);
    let at = args.iter().position(|a| a == "-l").expect("EAL -l");
    args.splice(
        at..at + 2,
        ["--lcores".to_string(), support::shard_lcores(2)],
    );
    let outs = [dir.join("out0.pcap"), dir.join("out1.pcap")];
    args.extend(
        [
            "--vdev".to_string(),
            "net_af_packet0,iface=dev0".to_string(),
            "--vdev".to_string(),
            format!(
                "net_pcap1,tx_pcap={},tx_pcap={}",
                outs[0].display(),
                outs[1].display()
            ),
            "--".to_string(),
        ]
        .into_iter()
        .chain(support::SHARED_INPUT_PORTS.iter().map(|s| s.to_string()))
        .chain(
            [
                "--config",
                conf.to_str().unwrap(),
                "--nb-cores",
                "2",
                "--port-ip",
                fam.port_ip,
                "--stats-period",
                "0.2",
                "--stats-json",
                stats.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string()),
        ),
    );
    let (mut dev, (so, se)) = start_device(&t, &args, &stats);
    let entries = |legs: &[(&str, &str); 2]| -> Vec<(String, String)> {
        legs.iter()
            .flat_map(|(g, s)| {
                let grp = g.rsplit_once(':').unwrap().0;
                [
                    (grp.to_string(), String::new()),
                    (grp.to_string(), s.to_string()),
                ]
            })
            .collect()
    };
    let (s1, s2) = (entries(&fam.legs), entries(&S2));
    let has = |want: &[(String, String)]| {
        let now = t.device_entries();
        want.iter().all(|e| now.contains(e))
    };
    wait_for(
        "S1's groups joined",
        || has(&s1),
        || format!("{:?}", t.mdb()),
    );

    // One sender, the same RTP stream on S1's and S2's legs.
    let mut sender = t
        .src
        .cmd(&["python3"])
        .arg(repo().join("scripts/lib/mcast_send.py"))
        .args(["src0", &SENDER_MAX.to_string(), &RATE.to_string()])
        .args(fam.legs.iter().chain(&S2).map(|(g, s)| format!("{g}@{s}")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sender");
    let of = |name: &str| -> u64 {
        read_json(&stats)["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .and_then(|s| s["sent"].as_u64())
            .unwrap_or(0)
    };
    wait_for(
        "S1 to flow",
        || of("S1") >= RATE,
        || format!("{:?}", t.mdb()),
    );
    assert!(
        !has(&s2),
        "S2's groups listed before the reload: {:?}",
        t.mdb()
    );

    std::fs::write(
        &conf,
        table("S1", &fam.legs, fam.output) + &table("S2", &S2, "239.10.0.2:5004"),
    )
    .unwrap();
    support::telemetry_reload(&prefix);
    let s1_at_reload = of("S1");
    // From here on S1's entries must be there at every poll.
    let mut s1_missing = Vec::new();
    let mut poll = |cond: &dyn Fn() -> bool| {
        if !has(&s1) {
            s1_missing.push(t.mdb());
        }
        cond()
    };
    wait_for(
        "S2's groups joined and S2 flowing",
        || poll(&|| has(&s2) && of("S2") > 0),
        || format!("{:?}", t.mdb()),
    );
    wait_for(
        "S1 flowing four membership intervals past the reload",
        || poll(&|| of("S1") >= s1_at_reload + INTERVALS_OF_PACKETS),
        || format!("{:?}", t.mdb()),
    );
    let running = read_json(&stats);
    let _ = sender.kill();
    let _ = sender.wait();
    let code = stop(&mut dev, "mcast-failover");
    let stdout = format!(
        "{}\n{}",
        so.join().unwrap_or_default(),
        se.join().unwrap_or_default()
    );
    assert_eq!(code, Some(0), "device exit\n{stdout}");
    assert!(
        s1_missing.is_empty(),
        "S1's entries missing after the reload: {s1_missing:?}"
    );
    assert!(
        stdout.contains("reload applied: 1 added, 0 removed, 1 kept"),
        "{stdout}"
    );
    assert_eq!(
        running["membership"][0]["leaves_sent"].as_u64(),
        Some(0),
        "no leave while both streams run\n{stdout}"
    );
    wait_for(
        "every entry gone after the exit's leaves",
        || t.device_entries().is_empty(),
        || format!("{:?}", t.mdb()),
    );
    let last = read_json(&stats);
    println!(
        "S1 sent {} (at the reload {s1_at_reload}), S2 sent {}, reports sent {}, leaves at exit {}",
        of("S1"),
        of("S2"),
        last["membership"][0]["reports_sent"],
        last["membership"][0]["leaves_sent"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
