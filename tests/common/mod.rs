//! Harness for the scenario tests: builds a [`Scenario`], runs the real
//! `mcast-failover` binary on it, and checks what came out.
//!
//! * [`run_pcap`]: `net_pcap` vdevs (rx from the scenario's files, tx to a
//!   file). The vdev reads as fast as it can, so only the ORDER of frames in
//!   each file defines a case; see `tests/pcap_scenarios.rs` for how each
//!   case is made order-defined.
//! * [`run_timeline`]: both legs in one file, in the order of their
//!   timestamps, on one `net_pcap` port, for the cases that time defines
//!   (leg timeouts, waits that end by the clock).
//!
//! Both run the binary with `--clock capture`: its clock is the packets'
//! own timestamps, so every timer fires at the same packet however slow or
//! loaded the machine is, and each case has exactly one right answer.
//! Runs still take [`serial`] turns: the binary busy-polls a worker lcore.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

pub use crate::support::{drain_pipe, workdir, BIN};
use crate::support::{eal_args, start_piped, wait_bounded, SHARED_INPUT_PORTS};
use testkit::checksum::{ipv4_header_checksum, udp_checksum};
use testkit::cme::parse_cme_mdp3;
use testkit::frame::FrameSpec;
use testkit::moldudp64::{parse_moldudp64, MOLDUDP64_END_OF_SESSION};
use testkit::pcap::{PcapWriter, TsResolution};
use testkit::pitch::parse_pitch;
use testkit::scenario::{Leg, LegPacket, PayloadKind, Scenario, StreamSpec, DEFAULT_BASE_TIME_NS};
use testkit::{
    multicast_mac, parse_rtp, parse_udp, payload_matches, payload_pattern, verify_checksums,
};

/// Primary leg: group, UDP port, sender address and UDP source port.
pub const PRI_GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 0, 1);
/// Secondary leg group.
pub const SEC_GROUP: Ipv4Addr = Ipv4Addr::new(239, 2, 0, 1);
/// Both legs use this destination port.
pub const LEG_PORT: u16 = 5000;
/// Primary sender (tcpprep splits the merged replay file on it).
pub const PRI_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
/// Secondary sender.
pub const SEC_SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
/// UDP source port of the primary's copies. Without `--out-src-port` the
/// output keeps the source port of the stream's first output packet for
/// every packet (a stable source for receivers), so the two legs use
/// different ports to make that visible.
pub const PRI_SPORT: u16 = 10000;
/// UDP source port of the secondary's copies.
pub const SEC_SPORT: u16 = 10002;
/// IPv4 TTL of the primary's copies. The output keeps the chosen copy's TTL
/// (no `--out-ttl`), so the two paths' different hop counts tell which leg
/// each output packet came from: the check of the choice packet by packet.
pub const PRI_TTL: u8 = 64;
/// IPv4 TTL of the secondary's copies.
pub const SEC_TTL: u8 = 60;
/// The virtual group the output goes to.
pub const OUT_GROUP: Ipv4Addr = Ipv4Addr::new(239, 10, 0, 1);
/// Output UDP destination port.
pub const OUT_PORT: u16 = 5004;
/// `--out-src-ip`.
pub const OUT_SRC: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 9);
/// A group the binary is not configured for: filler frames that shift one
/// file against the other (counted `unknown_flow` and dropped).
pub const FILLER_GROUP: Ipv4Addr = Ipv4Addr::new(239, 99, 0, 1);
/// Index of the filler stream in [`scenario`].
pub const FILLER: usize = 1;

/// Runs of the binary take turns (see the module doc).
pub static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the run lock (a panicking test must not block the others).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A scenario with the test stream (index 0) and the filler stream.
pub fn scenario() -> Scenario {
    let mut pri = FrameSpec::multicast(PRI_SRC.into(), PRI_GROUP.into(), LEG_PORT);
    pri.src_port = PRI_SPORT;
    pri.ttl = PRI_TTL;
    let mut sec = FrameSpec::multicast(SEC_SRC.into(), SEC_GROUP.into(), LEG_PORT);
    sec.src_port = SEC_SPORT;
    sec.ttl = SEC_TTL;
    sec.src_mac = [0x02, 0, 0, 0, 0, 0x02];
    let fill = FrameSpec::multicast(Ipv4Addr::new(10, 0, 3, 1).into(), FILLER_GROUP.into(), 5000);
    Scenario::with_streams(vec![
        StreamSpec::rtp(pri, sec),
        StreamSpec::rtp(fill.clone(), fill),
    ])
}

/// `n` frames of the unconfigured filler group.
pub fn fillers(n: u64) -> Vec<LegPacket> {
    (0..n)
        .map(|i| LegPacket::new(i, 0).stream(FILLER))
        .collect()
}

/// Packets `seqs` of the test stream, in that order.
pub fn seqs(s: impl IntoIterator<Item = u64>) -> Vec<LegPacket> {
    s.into_iter().map(|q| LegPacket::new(q, 0)).collect()
}

/// Gives `list` timestamps `start_ns + i * interval_ns` in list order, so
/// the written file keeps exactly this order.
pub fn in_file_order(list: Vec<LegPacket>, start_ns: u64, interval_ns: u64) -> Vec<LegPacket> {
    list.into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p.t_ns = start_ns + i as u64 * interval_ns;
            p
        })
        .collect()
}

/// One expected output packet: the input copy it must be, byte for byte
/// apart from the rewritten headers.
#[derive(Clone, Debug)]
pub struct Expect {
    /// The leg whose copy goes out.
    pub leg: Leg,
    /// The packet (sequence number, SSRC override).
    pub packet: LegPacket,
}

/// Expected output: `packets` in this order, each from `leg_of(seq)`.
pub fn expect(packets: &[LegPacket], leg_of: impl Fn(u64) -> Leg) -> Vec<Expect> {
    packets
        .iter()
        .map(|p| Expect {
            leg: leg_of(p.seq),
            packet: p.clone(),
        })
        .collect()
}

/// What one run of the binary left behind.
#[derive(Debug)]
pub struct Outcome {
    /// Case name (for messages).
    pub name: String,
    /// Exit status code.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error (EAL and event log).
    pub stderr: String,
    /// The final `--stats-json` document.
    pub stats: Value,
    /// Frames of the output port, in transmit order (with several tx
    /// queues: queue 0's, then queue 1's, ...).
    pub frames: Vec<Vec<u8>>,
    /// The output frames of each tx queue, in its transmit order.
    pub queues: Vec<Vec<Vec<u8>>>,
    /// Their pcap timestamps (ns; the pcap PMD stamps them from the TSC at
    /// transmit, the clock of the events' `t_s`).
    pub times_ns: Vec<u64>,
    /// MAC of the output port, from the binary's "Port N ... MAC" line.
    pub out_mac: [u8; 6],
    /// The case's work directory: removed when the test passes, kept for a
    /// look when it fails.
    pub dir: PathBuf,
}

impl Drop for Outcome {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Outcome {
    /// Context for a failed assertion: the tail of both outputs.
    pub fn context(&self) -> String {
        let tail = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "case {}: exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.code,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }

    /// The JSON of leg `leg` of stream 0.
    pub fn leg(&self, leg: usize) -> &Value {
        &self.stats["streams"][0]["legs"][leg]
    }

    /// Counter `key` of leg `leg` of stream 0.
    pub fn leg_counter(&self, leg: usize, key: &str) -> u64 {
        self.leg(leg)[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no leg counter {key}\n{}", self.context()))
    }

    /// Counter `key` of stream 0.
    pub fn stream_counter(&self, key: &str) -> u64 {
        self.stats["streams"][0][key]
            .as_u64()
            .unwrap_or_else(|| panic!("no stream counter {key}\n{}", self.context()))
    }

    /// rx counter `key` of input `i` (0 = primary port).
    pub fn rx_counter(&self, i: usize, key: &str) -> u64 {
        self.stats["inputs"][i]["rx"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("no rx counter {key}\n{}", self.context()))
    }

    /// The events of the run as (tag, detail), oldest first.
    pub fn events(&self) -> Vec<(String, Value, f64)> {
        self.stats["events"]
            .as_array()
            .unwrap_or_else(|| panic!("no events array\n{}", self.context()))
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap_or("").to_string(),
                    e["detail"].clone(),
                    e["t_s"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect()
    }

    /// An event time (`t_s`, seconds of the capture clock) as microseconds
    /// since the scenario's time zero (testkit writes packet time `t` at
    /// `DEFAULT_BASE_TIME_NS + t`).
    pub fn scenario_us(t_s: f64) -> i64 {
        (t_s * 1e6).round() as i64 - (DEFAULT_BASE_TIME_NS / 1000) as i64
    }

    /// Asserts the counters of leg `leg` named in `want` (others unchecked).
    pub fn assert_leg(&self, leg: usize, want: &[(&str, u64)]) {
        for (k, v) in want {
            assert_eq!(
                self.leg_counter(leg, k),
                *v,
                "leg {leg} counter {k}\n{}",
                self.context()
            );
        }
    }
}

/// The `--stream` of the test stream.
pub fn stream_arg() -> String {
    format!("{PRI_GROUP}:{LEG_PORT},{SEC_GROUP}:{LEG_PORT}={OUT_GROUP}:{OUT_PORT}")
}

/// App arguments shared by every run: the one stream (unless `extra` gives
/// its own `--stream` or a `--config` with its streams), the rewrite, stats.
pub fn app_args(stats: &Path, duration_s: f64, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if !extra.contains(&"--stream") && !extra.contains(&"--config") {
        v.extend(["--stream".to_string(), stream_arg()]);
    }
    v.extend(
        [
            "--out-src-ip",
            &OUT_SRC.to_string(),
            "--burst",
            "32",
            "--stats-json",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    v.push(stats.display().to_string());
    v.push("--duration".into());
    v.push(format!("{duration_s}"));
    v
}

/// Collects a finished run: stats JSON, output frames (one file per
/// output tx queue), output MAC.
pub fn collect(
    name: &str,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    stats: &Path,
    out_pcaps: &[PathBuf],
    out_port: u16,
) -> Outcome {
    // EAL leaves its runtime directory behind; one per run adds up.
    let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/mfpt{}{name}", std::process::id()));
    let mut o = Outcome {
        name: name.to_string(),
        code,
        stdout,
        stderr,
        stats: Value::Null,
        frames: Vec::new(),
        queues: Vec::new(),
        times_ns: Vec::new(),
        out_mac: [0; 6],
        dir: stats.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    assert_eq!(o.code, Some(0), "binary failed\n{}", o.context());
    let text = std::fs::read_to_string(stats)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", stats.display(), o.context()));
    o.stats =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stats JSON: {e}\n{}", o.context()));
    for out_pcap in out_pcaps {
        let cap = testkit::read_pcap(out_pcap)
            .unwrap_or_else(|e| panic!("output pcap: {e}\n{}", o.context()));
        o.times_ns.extend(cap.packets.iter().map(|p| p.ts_ns));
        let frames: Vec<Vec<u8>> = cap.packets.into_iter().map(|p| p.data).collect();
        o.frames.extend(frames.iter().cloned());
        o.queues.push(frames);
    }
    let prefix = format!("Port {out_port} (");
    let mac = o
        .stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.split("MAC ").nth(1))
        .and_then(|r| r.split(',').next())
        .map(|m| {
            m.split(':')
                .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad MAC {m}")))
                .collect::<Vec<u8>>()
        })
        .unwrap_or_else(|| panic!("no `{prefix}... MAC` line\n{}", o.context()));
    o.out_mac = mac.try_into().expect("MAC of 6 bytes");
    o
}

/// Runs the binary on `net_pcap` vdevs: port 0 reads the scenario's
/// primary file, port 1 its secondary file, port 2 writes the output.
/// `extra` goes after the common app arguments.
pub fn run_pcap(name: &str, sc: &Scenario, extra: &[&str], duration_s: f64) -> Outcome {
    let dir = workdir(name);
    let (pri, sec) = sc.write_to_dir(&dir).expect("write scenario pcaps");
    run_files(name, &dir, &[pri, sec], &[], extra, duration_s)
}

/// Runs the binary on one `net_pcap` port carrying both legs in the order
/// of their timestamps (primary first on equal times): the port reads in
/// file order, so arrival order is time order, and under the capture clock
/// a leg silent for 1 s in the file is silent for 1 s to the merge. Port 0
/// is both the primary and the secondary port; port 1 writes the output.
pub fn run_timeline(name: &str, sc: &Scenario, extra: &[&str], duration_s: f64) -> Outcome {
    run_timeline_rig(name, sc, extra, duration_s, &Rig::one())
}

/// [`run_timeline`] on the lcores and output queues of `rig` (several
/// merge workers: pass `--nb-cores` in `extra`).
pub fn run_timeline_rig(
    name: &str,
    sc: &Scenario,
    extra: &[&str],
    duration_s: f64,
    rig: &Rig,
) -> Outcome {
    let mut all: Vec<(u64, usize, Vec<u8>)> = Vec::new();
    for (rank, leg) in [(0, Leg::Primary), (1, Leg::Secondary)] {
        for p in sc.leg_packets(leg) {
            all.push((p.ts_ns, rank, p.data));
        }
    }
    run_frames_rig(name, all, extra, duration_s, rig)
}

/// [`run_timeline`] for frames built by the caller: `(pcap time in ns,
/// rank, frame)`, written in time order (lower rank first on equal times)
/// to one file that one `net_pcap` port reads for both legs.
pub fn run_frames(
    name: &str,
    all: Vec<(u64, usize, Vec<u8>)>,
    extra: &[&str],
    duration_s: f64,
) -> Outcome {
    run_frames_rig(name, all, extra, duration_s, &Rig::one())
}

/// [`run_frames`] on the lcores and output queues of `rig`.
pub fn run_frames_rig(
    name: &str,
    mut all: Vec<(u64, usize, Vec<u8>)>,
    extra: &[&str],
    duration_s: f64,
    rig: &Rig,
) -> Outcome {
    let dir = workdir(name);
    all.sort_by_key(|(t, rank, _)| (*t, *rank));
    let file = dir.join("timeline.pcap");
    let mut w = PcapWriter::create(&file, TsResolution::Micro).expect("create timeline.pcap");
    for (t, _, f) in &all {
        w.write_frame(*t, f).expect("write timeline.pcap");
    }
    w.finish().expect("finish timeline.pcap");
    run_rig(
        name,
        &dir,
        &[file],
        (&SHARED_INPUT_PORTS[..], extra),
        duration_s,
        rig,
    )
}

/// The lcores and output queues of a run.
#[derive(Clone, Debug)]
pub struct Rig {
    /// EAL `--lcores` (main lcore first).
    pub lcores: String,
    /// tx queues of the output vdev (one `tx_pcap` file each).
    pub out_queues: usize,
}

impl Rig {
    /// One worker lcore: the main lcore on CPU 0, the worker on CPU 1.
    pub fn one() -> Rig {
        Rig::workers(1)
    }

    /// `n` worker lcores (lcores 1..=n, alternately on CPUs 1 and 0: a
    /// 2-CPU machine runs more lcores than CPUs) and, for `--nb-cores n`
    /// sharding, `n` output tx queues.
    pub fn workers(n: usize) -> Rig {
        Rig {
            lcores: crate::support::shard_lcores(n),
            out_queues: n,
        }
    }
}

/// Runs the binary with `--clock capture` on one rx `net_pcap` vdev per
/// file of `inputs` (ports 0..) and an output vdev after them; `ports` and
/// `extra` go after the common app arguments. `duration_s` only bounds the
/// run: the answer never depends on it.
pub fn run_files(
    name: &str,
    dir: &Path,
    inputs: &[PathBuf],
    ports: &[&str],
    extra: &[&str],
    duration_s: f64,
) -> Outcome {
    run_rig(name, dir, inputs, (ports, extra), duration_s, &Rig::one())
}

/// [`run_files`] on the lcores and output queues of `rig`; `args` are the
/// port arguments and the extra ones.
pub fn run_rig(
    name: &str,
    dir: &Path,
    inputs: &[PathBuf],
    (ports, extra): (&[&str], &[&str]),
    duration_s: f64,
    rig: &Rig,
) -> Outcome {
    let outs: Vec<PathBuf> = (0..rig.out_queues.max(1))
        .map(|q| match q {
            0 => dir.join("output.pcap"),
            q => dir.join(format!("output{q}.pcap")),
        })
        .collect();
    let stats = dir.join("stats.json");
    let mut args = eal_args(&format!("mfpt{}{name}", std::process::id()));
    // The rig's lcores instead of "-l 0-1".
    args.splice(0..2, ["--lcores".to_string(), rig.lcores.clone()]);
    for (i, f) in inputs.iter().enumerate() {
        args.push("--vdev".into());
        args.push(format!("net_pcap{i},rx_pcap={}", f.display()));
    }
    let out_port = inputs.len();
    let tx: Vec<String> = outs
        .iter()
        .map(|f| format!("tx_pcap={}", f.display()))
        .collect();
    args.push("--vdev".into());
    args.push(format!("net_pcap{out_port},{}", tx.join(",")));
    args.push("--".into());
    args.extend(app_args(&stats, duration_s, extra));
    args.extend(["--clock".to_string(), "capture".to_string()]);
    args.extend(ports.iter().map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));

    let _turn = serial();
    let mut child = start_piped(Command::new(BIN).args(&args));
    let so = drain_pipe(child.stdout.take().expect("stdout"));
    let se = drain_pipe(child.stderr.take().expect("stderr"));
    // A hang guard only: with --clock capture nothing here depends on how fast the run is.
    let limit = Duration::from_secs_f64(duration_s + 600.0);
    let code = wait_bounded(&mut child, limit)
        .unwrap_or_else(|| panic!("{name} did not finish within {limit:?}: killed"))
        .code();
    let stdout = so.join().unwrap_or_default();
    let stderr = se.join().unwrap_or_default();
    collect(name, code, stdout, stderr, &stats, &outs, out_port as u16)
}

/// UDP source port of `leg`'s copies.
pub fn sport(leg: Leg) -> u16 {
    match leg {
        Leg::Primary => PRI_SPORT,
        Leg::Secondary => SEC_SPORT,
    }
}

/// Where a stream's output goes: its virtual group and UDP port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutAddr {
    /// Destination group.
    pub group: Ipv4Addr,
    /// Destination UDP port.
    pub port: u16,
}

/// The test stream's output, [`OUT_GROUP`]:[`OUT_PORT`].
pub const OUT: OutAddr = OutAddr {
    group: OUT_GROUP,
    port: OUT_PORT,
};

/// The frame the binary must send for `e` to `out`: the chosen input copy
/// with the destination MAC/IP/port, source MAC, source IP and source port
/// (`out_sport`) rewritten and both checksums recomputed from scratch
/// (testkit's reference code).
pub fn expected_frame(
    sc: &Scenario,
    e: &Expect,
    out: OutAddr,
    out_mac: [u8; 6],
    out_sport: u16,
) -> Vec<u8> {
    let mut f = sc.frame(e.leg, &e.packet);
    f[0..6].copy_from_slice(&multicast_mac(out.group.into()));
    f[6..12].copy_from_slice(&out_mac);
    f[26..30].copy_from_slice(&OUT_SRC.octets());
    f[30..34].copy_from_slice(&out.group.octets());
    f[34..36].copy_from_slice(&out_sport.to_be_bytes());
    f[36..38].copy_from_slice(&out.port.to_be_bytes());
    let ip = ipv4_header_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&ip.to_be_bytes());
    let udp = udp_checksum(OUT_SRC.into(), out.group.into(), &f[34..]);
    f[40..42].copy_from_slice(&udp.to_be_bytes());
    f
}

/// Name of the header field at byte `off` of an untagged IPv4/UDP frame.
fn field_at(off: usize, rtp: bool) -> &'static str {
    match off {
        0..=5 => "destination MAC",
        6..=11 => "source MAC",
        12..=13 => "EtherType",
        14..=23 => "IPv4 header (version..protocol)",
        24..=25 => "IPv4 header checksum",
        26..=29 => "source IP",
        30..=33 => "destination IP",
        34..=35 => "UDP source port",
        36..=37 => "UDP destination port",
        38..=39 => "UDP length",
        40..=41 => "UDP checksum",
        42..=53 if rtp => "RTP header",
        _ if rtp => "RTP payload",
        _ => "market-data header or messages",
    }
}

/// What an output packet is, as the order check compares it: its wire
/// sequence number, its sequence space, what it carries, and the leg whose
/// copy it is (read from the TTL each leg's path leaves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// Wire sequence number (RTP: 16 bits; CME, PITCH: 32; MoldUDP64: 64)
    /// of the packet (of its first message for MoldUDP64 and PITCH).
    pub seq: u64,
    /// Its sequence space: RTP SSRC, MoldUDP64 session, PITCH unit; `-`
    /// for CME MDP3 (one space per channel: the stream).
    pub space: String,
    /// `data×N` (N messages), `heartbeat` or `end-of-session`.
    pub what: String,
    /// The leg whose copy it is.
    pub leg: Leg,
}

impl std::fmt::Display for Ident {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{:?}",
            self.seq, self.space, self.what, self.leg
        )
    }
}

/// Messages `msgs` hold the testkit pattern of their numbers `first + k`
/// (`first + k` for MoldUDP64 and PITCH, `seq << 8 | k` for CME MDP3).
fn messages_match(msgs: &[&[u8]], number: impl Fn(u64) -> u64) -> bool {
    msgs.iter()
        .enumerate()
        .all(|(k, m)| *m == payload_pattern(number(k as u64), m.len()).as_slice())
}

/// [`Ident`] of frame `f` of a stream framed as `kind` (only the framing
/// is taken from `kind`; every field is read from the wire with testkit's
/// parsers), and whether its payload is the testkit pattern of its
/// sequence numbers.
pub fn identify(kind: &PayloadKind, f: &[u8]) -> Result<(Ident, bool), String> {
    let u = parse_udp(f).map_err(|e| e.to_string())?;
    let leg = match u.ttl {
        PRI_TTL => Leg::Primary,
        SEC_TTL => Leg::Secondary,
        t => return Err(format!("TTL {t} is neither leg's")),
    };
    let data = |n: usize| format!("data×{n}");
    let (seq, space, what, pattern) = match kind {
        PayloadKind::Rtp { .. } => {
            let r = parse_rtp(f).map_err(|e| e.to_string())?;
            let ok = payload_matches(u64::from(r.seq), r.payload);
            (u64::from(r.seq), format!("{:x}", r.ssrc), data(1), ok)
        }
        PayloadKind::MoldUdp64 { .. } => {
            let (h, m) = parse_moldudp64(u.payload).map_err(|e| e.to_string())?;
            let what = match h.count {
                0 => "heartbeat".to_string(),
                MOLDUDP64_END_OF_SESSION => "end-of-session".to_string(),
                n => data(usize::from(n)),
            };
            let ok = messages_match(&m, |k| h.seq.wrapping_add(k));
            let space = String::from_utf8_lossy(&h.session).into_owned();
            (h.seq, space, what, ok)
        }
        PayloadKind::CmeMdp3 { .. } => {
            let (h, m) = parse_cme_mdp3(u.payload).map_err(|e| e.to_string())?;
            let ok = messages_match(&m, |k| (u64::from(h.seq) << 8) + k);
            (u64::from(h.seq), "-".to_string(), data(m.len()), ok)
        }
        PayloadKind::Pitch { .. } => {
            let (h, m) = parse_pitch(u.payload).map_err(|e| e.to_string())?;
            let what = if h.count == 0 {
                "heartbeat".to_string()
            } else {
                data(m.len())
            };
            let ok = messages_match(&m, |k| u64::from(h.seq) + k);
            (u64::from(h.seq), format!("unit{}", h.unit), what, ok)
        }
    };
    Ok((
        Ident {
            seq,
            space,
            what,
            leg,
        },
        pattern,
    ))
}

/// Asserts the output capture is exactly `want` (see [`assert_output_to`]),
/// all of it to the test stream's output [`OUT`].
pub fn assert_output(o: &Outcome, sc: &Scenario, want: &[Expect]) {
    assert_output_to(o, sc, OUT, &o.frames, want);
}

/// The output frames sent to `out`, in transmit order.
pub fn frames_to(o: &Outcome, out: OutAddr) -> Vec<Vec<u8>> {
    o.frames
        .iter()
        .filter(|f| {
            parse_udp(f)
                .is_ok_and(|u| u.dst_ip == IpAddr::from(out.group) && u.dst_port == out.port)
        })
        .cloned()
        .collect()
}

/// Asserts the output `frames` sent to `out` are exactly `want`, for every
/// framing (RTP, MoldUDP64, CME MDP3, PITCH: the framing of the expected
/// packets' stream): the list of [`Ident`]s in order with no duplicate
/// first, for a readable message, then every frame byte for byte against
/// its chosen input copy rewritten, then the checksums, rewritten fields and
/// payload pattern independently.
pub fn assert_output_to(
    o: &Outcome,
    sc: &Scenario,
    out: OutAddr,
    frames: &[Vec<u8>],
    want: &[Expect],
) {
    let kind = &sc.streams[want.first().map_or(0, |e| e.packet.stream)].payload;
    let rtp = matches!(kind, PayloadKind::Rtp { .. });
    let got: Vec<(Ident, bool)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            identify(kind, f).unwrap_or_else(|e| panic!("output frame {i}: {e}\n{}", o.context()))
        })
        .collect();
    // The expected identities come from the input copies, read back with
    // the same parser (so every framing has one check, not one per framing).
    let exp: Vec<Ident> = want
        .iter()
        .map(|e| {
            let kind = &sc.streams[e.packet.stream].payload;
            identify(kind, &sc.frame(e.leg, &e.packet))
                .unwrap_or_else(|err| panic!("expected packet {e:?}: {err}"))
                .0
        })
        .collect();
    let mut seen = HashSet::new();
    for (i, (id, _)) in got.iter().enumerate() {
        assert!(
            seen.insert((id.seq, id.space.clone(), id.what.clone())),
            "duplicate output: {id} again at frame {i}\n{}",
            o.context()
        );
    }
    let ids: Vec<&Ident> = got.iter().map(|(id, _)| id).collect();
    let exp_ids: Vec<&Ident> = exp.iter().collect();
    if ids != exp_ids {
        let first = ids
            .iter()
            .zip(&exp_ids)
            .position(|(a, b)| a != b)
            .unwrap_or(ids.len().min(exp_ids.len()));
        let show = |v: &[&Ident]| -> String {
            v.iter()
                .skip(first.saturating_sub(3))
                .take(10)
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        panic!(
            "output to {}:{} differs: got {} packets, expected {}; first difference at index {first}\n  got:      {}\n  expected: {}\n{}",
            out.group,
            out.port,
            ids.len(),
            exp_ids.len(),
            show(&ids),
            show(&exp_ids),
            o.context()
        );
    }
    // The output's source port is the stream's first output packet's.
    let out_sport = want.first().map_or(PRI_SPORT, |e| sport(e.leg));
    for (i, ((f, e), (id, pattern))) in frames.iter().zip(want).zip(&got).enumerate() {
        let x = expected_frame(sc, e, out, o.out_mac, out_sport);
        if *f != x {
            let at = f
                .iter()
                .zip(&x)
                .position(|(a, b)| a != b)
                .unwrap_or(f.len().min(x.len()));
            panic!(
                "output frame {i} ({id}) differs from its {:?} input copy rewritten: length {} vs {}, first difference at byte {at} ({}): {:02x?} vs {:02x?}\n{}",
                e.leg,
                f.len(),
                x.len(),
                field_at(at, rtp),
                &f[at..(at + 4).min(f.len())],
                &x[at..(at + 4).min(x.len())],
                o.context()
            );
        }
        verify_checksums(f)
            .unwrap_or_else(|err| panic!("output frame {i}: {err}\n{}", o.context()));
        let u = parse_udp(f).expect("parsed above");
        assert_eq!(u.dst_ip, IpAddr::from(out.group), "frame {i} dst IP");
        assert_eq!(u.dst_port, out.port, "frame {i} dst port");
        assert_eq!(u.src_ip, IpAddr::from(OUT_SRC), "frame {i} src IP");
        assert_eq!(u.src_port, out_sport, "frame {i} src port");
        assert_eq!(
            u.dst_mac,
            multicast_mac(out.group.into()),
            "frame {i} dst MAC"
        );
        assert_eq!(u.src_mac, o.out_mac, "frame {i} src MAC");
        assert!(
            pattern,
            "frame {i} ({id}): payload is not the testkit pattern of its sequence numbers"
        );
    }
}

/// Asserts a clean end: exit 0 (checked in [`collect`]), the binary's own
/// leak check passed, the final JSON shows the pool idle and every frame
/// the worker sent is in the capture.
pub fn assert_clean_end(o: &Outcome) {
    assert!(
        o.stdout.contains("mbufs in use after shutdown (no leak)"),
        "no leak-check line\n{}",
        o.context()
    );
    assert_eq!(
        o.stats["final"],
        Value::Bool(true),
        "stats not final\n{}",
        o.context()
    );
    assert_eq!(
        o.stats["mempool"]["in_use"].as_u64(),
        Some(0),
        "mempool in use\n{}",
        o.context()
    );
    let streams = o.stats["streams"]
        .as_array()
        .unwrap_or_else(|| panic!("no streams array\n{}", o.context()));
    let sum = |key: &str| -> u64 {
        streams
            .iter()
            .map(|st| {
                st[key]
                    .as_u64()
                    .unwrap_or_else(|| panic!("no stream counter {key}\n{}", o.context()))
            })
            .sum()
    };
    assert_eq!(sum("held"), 0, "held after drain\n{}", o.context());
    assert_eq!(
        o.stats["output"]["tx"]["packets"].as_u64(),
        Some(o.frames.len() as u64),
        "tx packets vs captured frames\n{}",
        o.context()
    );
    assert_eq!(
        o.stats["output"]["tx"]["nic_refused"].as_u64(),
        Some(0),
        "NIC refused packets\n{}",
        o.context()
    );
    assert_eq!(
        sum("sent"),
        o.frames.len() as u64,
        "streams' sent vs frames\n{}",
        o.context()
    );
}

/// Asserts what each input port received: `frames` packets, of which
/// `unknown` belonged to no stream, and nothing else was dropped.
pub fn assert_input(o: &Outcome, input: usize, frames: u64, unknown: u64) {
    assert_eq!(
        o.rx_counter(input, "packets"),
        frames,
        "input {input} packets\n{}",
        o.context()
    );
    assert_eq!(
        o.rx_counter(input, "unknown_flow"),
        unknown,
        "input {input} unknown_flow\n{}",
        o.context()
    );
    assert_eq!(
        o.rx_counter(input, "not_merged"),
        unknown,
        "input {input}: frames not merged other than unknown_flow\n{}",
        o.context()
    );
}

/// The scenario of [`scenario`] with the test stream framed as `payload`
/// instead of RTP (same groups, ports, senders and TTLs; the filler stays).
pub fn framed(payload: PayloadKind) -> Scenario {
    let mut sc = scenario();
    sc.streams[0].payload = payload;
    sc
}

/// `n` data packets of stream `stream` of `sc` from sequence `first`, each
/// starting where the previous one's messages end (MoldUDP64 and PITCH
/// cover `span` numbers a packet, RTP and CME MDP3 one).
pub fn numbered(sc: &Scenario, stream: usize, first: u64, n: u64) -> Vec<LegPacket> {
    let span = sc.streams[stream].span();
    (0..n)
        .map(|i| LegPacket::new(first + i * span, 0).stream(stream))
        .collect()
}

/// Packets a leg delivers behind one it delivered before (what the engine
/// counts `out_of_order`), for a leg carrying `order` (sequence numbers or
/// indexes into the packet list: only their order matters).
pub fn out_of_order<T: Ord + Copy>(order: &[T]) -> u64 {
    let mut high = None;
    let mut n = 0;
    for &s in order {
        match high {
            Some(h) if s < h => n += 1,
            _ => high = Some(s),
        }
    }
    n
}

/// `0..n` with the first 6 in order and each later block of 6 reversed: a
/// leg reordered by up to 5 positions whose first packet is still first
/// (the output starts at the first packet seen).
pub fn reversed_blocks_of_6(n: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..6.min(n)).collect();
    for block in (6..n).collect::<Vec<_>>().chunks(6) {
        order.extend(block.iter().rev());
    }
    order
}

/// The legs' counters after a run of `n` packets in which both legs
/// reorder (`p_order`, `s_order`) and the primary fills each of its holes
/// itself, within its reorder depth: the primary's `n` copies are all
/// used, the secondary's are all duplicates, neither has a late copy, and
/// each leg's `out_of_order` is what its file order makes it.
pub fn assert_primary_fills_its_own_reorder<T: Ord + Copy>(
    o: &Outcome,
    n: u64,
    p_order: &[T],
    s_order: &[T],
) {
    o.assert_leg(
        0,
        &[
            ("used", n),
            ("out_of_order", out_of_order(p_order)),
            ("late", 0),
        ],
    );
    o.assert_leg(
        1,
        &[
            ("used", 0),
            ("duplicates", n),
            ("late", 0),
            ("out_of_order", out_of_order(s_order)),
        ],
    );
}
