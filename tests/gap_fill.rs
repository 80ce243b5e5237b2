//! Gap fill by re-request through the real binary (issue 16, item 2): a
//! MoldUDP64 stream loses the same messages on both legs; the binary asks
//! `testkit`'s `mf-moldserver` (a real request server, serving from the
//! recorded stream over UDP, in its own network namespace behind a veth
//! pair this test creates) for them and puts the
//! retransmissions in place. Asserted: the output carries the complete
//! feed, each message once and in order; `filled` > 0, nothing
//! unrecoverable; the gap line says `filled` with the session and the
//! sequence range. The request round trip the binary measured, and the
//! loss -> filled output latency read off the output capture, are printed
//! (`--nocapture`; figures, not pass/fail bounds). The same case sharded
//! (`--nb-cores 2`, the MoldUDP64 stream owned by worker 1) gives the same
//! output: the retransmissions reach the owning worker's queue.
//!
//! The legs are `net_pcap` files under `--clock capture`: the loss sits a
//! few packets before the end of the files, so the request is decided
//! (max-delay in capture time) while the files still play, and the capture
//! clock stops with the last packet: the 1 s gap-fill hold can only end by
//! the retransmission, whatever the machine's speed (the run's
//! `--duration` is the hang guard).

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod prereq;
mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use support::netns::{ip, Netns};
use testkit::moldudp64::parse_moldudp64;
use testkit::parse_udp;
use testkit::pcap::{PcapWriter, TsResolution};
use testkit::scenario::{Leg, LegPacket, PayloadKind};

const SESSION: [u8; 10] = *b"TESTSESS01";

/// Builds `mf-moldserver` (testkit) next to the binary under test; its path.
fn moldserver() -> std::path::PathBuf {
    let dir = Path::new(BIN).parent().expect("target dir");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "testkit", "--bin", "mf-moldserver"])
        .status()
        .expect("cargo build mf-moldserver");
    assert!(status.success(), "cannot build mf-moldserver");
    dir.join("mf-moldserver")
}

/// A network namespace joined to this one by a veth pair: `host` here,
/// `peer` inside; deleted (with the pair) on drop.
struct Link {
    ns: Netns,
    host: String,
    peer: String,
}

impl Link {
    fn up() -> Link {
        let id = std::process::id() % 200 + 20;
        let (h, p) = (format!("gfh{id}"), format!("gfs{id}"));
        let _ = Command::new("ip").args(["link", "del", &h]).status();
        let l = Link {
            ns: Netns::new(&format!("mfgf{}", std::process::id())),
            host: format!("10.201.{id}.1"),
            peer: format!("10.201.{id}.2"),
        };
        ip(&[
            "link", "add", &h, "type", "veth", "peer", "name", &p, "netns", &l.ns.name,
        ]);
        ip(&["addr", "add", &format!("{}/30", l.host), "dev", &h]);
        ip(&["link", "set", &h, "up"]);
        let peer_addr = format!("{}/30", l.peer);
        l.ns.sh(&["ip", "addr", "add", &peer_addr, "dev", &p]);
        l.ns.sh(&["ip", "link", "set", &p, "up"]);
        l
    }
}

/// Kills the server we started when the test ends (pass or panic).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn loss_on_both_legs_is_filled_from_the_request_server() {
    let mut sc = scenario();
    sc.streams[0].payload = PayloadKind::MoldUdp64 {
        session: SESSION,
        msg_len: 32,
        per_packet: 1,
    };
    let all: Vec<u64> = (1..=200).collect();
    let lost = [150u64, 190, 191, 192];
    let t = |seq: u64| seq * 1_000_000; // 1 ms apart
    let kept: Vec<LegPacket> = all
        .iter()
        .filter(|s| !lost.contains(s))
        .map(|&s| LegPacket::new(s, t(s)))
        .collect();
    sc.primary = kept.clone();
    sc.secondary = kept;

    let dir = support::workdir("gap-fill-rec");
    // The server's recording: the complete feed, as the primary sent it.
    let rec = dir.join("recorded.pcap");
    let mut w = PcapWriter::create(&rec, TsResolution::Micro).expect("create recording");
    for &s in &all {
        w.write_frame(t(s), &sc.frame(Leg::Primary, &LegPacket::new(s, t(s))))
            .expect("write recording");
    }
    w.finish().expect("finish recording");
    prereq::require(&prereq::GAP_FILL);
    let server_bin = moldserver();
    let link = Link::up();
    let listen = format!("{}:7001", link.peer);
    let server = Server(
        link.ns
            .cmd(&[server_bin.to_str().expect("utf-8 path")])
            .args([
                "--pcap",
                rec.to_str().expect("utf-8 path"),
                "--listen",
                &listen,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mf-moldserver"),
    );
    // The server says it is listening (after its bind) before the binary
    // starts, so no request can meet a closed port.
    let mut server = server;
    let err = server.0.stderr.take().expect("server stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(err), &mut line);
        let _ = tx.send(line);
    });
    let ready = rx
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("mf-moldserver did not start (hang guard)");
    assert!(
        ready.contains("packets of session"),
        "mf-moldserver: {ready}"
    );
    eprint!("{ready}");

    let extra = [
        "--seq",
        "moldudp64",
        "--max-delay",
        "5",
        "--primary-reorder",
        "off",
        "--mold-request",
        &listen,
        "--gap-fill-timeout",
        "1000",
    ];
    let o = run_pcap("gap-fill", &sc, &extra, 3.0);

    // Sharded (--nb-cores 2): a stream without traffic first takes worker
    // 0, so the MoldUDP64 stream is worker 1's and its retransmissions must
    // reach worker 1's queue: the same output, all on tx queue 1.
    let dir2 = support::workdir("gap-fill-shard");
    let (p2, s2) = sc.write_to_dir(&dir2).expect("write scenario pcaps");
    let test_stream = stream_arg();
    let mut sharded: Vec<&str> = vec![
        "--stream",
        "239.99.9.1:5000,239.99.9.2:5000=239.10.9.1:5004",
        "--stream",
        &test_stream,
        "--nb-cores",
        "2",
        // Two streams' windows would size the pool past the tests' memory;
        // 200 packets need few mbufs.
        "--total-num-mbufs",
        "16383",
    ];
    sharded.extend(extra);
    let o2 = run_rig(
        "gap-fill-shard",
        &dir2,
        &[p2, s2],
        (&[], &sharded),
        3.0,
        &Rig::workers(2),
    );
    drop(server);
    drop(link);
    assert_eq!(o2.frames, o.frames, "sharded output\n{}", o2.context());
    assert_eq!(
        (o2.queues[0].len(), o2.queues[1].len()),
        (0, o.frames.len())
    );
    let mold = &o2.stats["streams"][1];
    for (k, v) in [
        ("fill_requested", 2),
        ("filled", 2),
        ("fill_sent", 4),
        ("unrecoverable", 0),
    ] {
        assert_eq!(mold[k].as_u64(), Some(v), "sharded {k}\n{}", o2.context());
    }

    // The complete feed: every message once, in order.
    let seqs: Vec<u64> = o
        .frames
        .iter()
        .map(|f| {
            let u = parse_udp(f).expect("output frame");
            let (h, _) = parse_moldudp64(u.payload).expect("output MoldUDP64");
            assert_eq!(h.session, SESSION);
            h.seq
        })
        .collect();
    assert_eq!(
        seqs,
        all,
        "output is not the complete feed\n{}",
        o.context()
    );
    assert!(o.stream_counter("filled") > 0, "{}", o.context());
    assert_eq!(o.stream_counter("fill_requested"), 2, "{}", o.context());
    assert_eq!(o.stream_counter("filled"), 2, "{}", o.context());
    assert_eq!(o.stream_counter("fill_sent"), 4, "{}", o.context());
    assert_eq!(o.stream_counter("unrecoverable"), 0, "{}", o.context());
    let gaps: Vec<_> = o
        .events()
        .into_iter()
        .filter(|(k, _, _)| k == "gap")
        .map(|(_, d, _)| d)
        .collect();
    assert_eq!(gaps.len(), 2, "{gaps:?}");
    for (g, (first, last)) in gaps.iter().zip([(150, 150), (190, 192)]) {
        assert_eq!(g["resolved"], "filled", "{g}");
        assert_eq!(g["session"], "TESTSESS01", "{g}");
        assert_eq!(g["wire_first"], first, "{g}");
        assert_eq!(g["wire_last"], last, "{g}");
    }
    let gf = &o.stats["gap_fill"];
    println!(
        "gap-fill round trip (request sent -> first retransmission received, main lcore, over the veth): mean {} ms, max {} ms over {} requests",
        gf["rtt_ms_mean"], gf["rtt_ms_max"], gf["answered"]
    );
    // Loss -> filled output: the output time of each range's retransmitted
    // packets minus that of the packet just before the range, which went
    // out the moment it arrived (the primary's copy, next in sequence), so
    // it stands for when the lost position was due (the files are read
    // back to back: the packet after the range arrives microseconds
    // later). Wall clock (the pcap PMD stamps transmits from the TSC).
    // Under --clock capture the verdict wait (max-delay, capture time)
    // passes as fast as the files are read, so this is the request path:
    // verdict -> request -> retransmission -> in place -> out; a live feed
    // adds its verdict wait (the evidence rule, at most --max-delay).
    let out_ns = |seq: u64| {
        let i = seqs.iter().position(|&s| s == seq).expect("in the output");
        o.times_ns[i]
    };
    for (first, last) in [(150u64, 150u64), (190, 192)] {
        let due = out_ns(first - 1);
        println!(
            "gap-fill loss -> filled output, seq {first}..={last}: first filled packet out {:.3} ms, last {:.3} ms after the packet before the gap",
            out_ns(first).saturating_sub(due) as f64 / 1e6,
            out_ns(last).saturating_sub(due) as f64 / 1e6
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
