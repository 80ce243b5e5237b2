//! Thread-per-core sharding (`--nb-cores N`, `--layout shard`) gives, per
//! stream, exactly the output of one worker (issue 12 item 5).
//!
//! One order-defined pcap scenario (see `tests/pcap_scenarios.rs`) carries
//! several RTP streams interleaved on both legs, each with its own random
//! loss (some of it common to both legs: unrecoverable gaps), corrupt
//! primary copies and, on one stream, reordering within the primary leg.
//! It runs with `--nb-cores 1`, 2 and 3 under `--clock capture`. Output
//! order across streams may differ between layouts (each worker has its own
//! tx queue, written to its own file by the output vdev); per stream the
//! frames must be byte-identical, in the same order, and the per-stream
//! counters equal. Each queue must carry exactly the streams its worker
//! owns (stream i on queue i % N), and the software dispatch must have
//! moved packets between workers without losing any.

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod support;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use common::*;
use testkit::frame::FrameSpec;
use testkit::scenario::{random_loss, Corruption, LegPacket, PayloadKind, Scenario, StreamSpec};

/// Streams in the scenario (not a multiple of 2 or 3, so the workers own
/// different numbers of them).
const STREAMS: usize = 5;
/// Sequence numbers per stream.
const PER_STREAM: u64 = 1200;
/// File-order spacing of the frames: the capture clock's pace.
const GAP_NS: u64 = 200_000;

fn group(leg: u8, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(239, leg, 0, i as u8 + 1)
}

fn out_group(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(239, 10, 0, i as u8 + 1)
}

/// The scenario and, per stream, the sequence numbers that survived on
/// some leg intact.
fn scenario() -> (Scenario, Vec<Vec<u64>>) {
    let specs = (0..STREAMS)
        .map(|i| {
            let mut pri = FrameSpec::multicast(PRI_SRC.into(), group(1, i).into(), LEG_PORT);
            pri.src_port = PRI_SPORT;
            pri.ttl = PRI_TTL;
            let mut sec = FrameSpec::multicast(SEC_SRC.into(), group(2, i).into(), LEG_PORT);
            sec.src_port = SEC_SPORT;
            sec.ttl = SEC_TTL;
            StreamSpec::rtp(pri, sec).with_payload(PayloadKind::Rtp {
                pt: 33,
                ssrc: 0x5000 + i as u32,
                payload_len: 200,
                ts_step: 90,
            })
        })
        .collect();
    let mut sc = Scenario::with_streams(specs);
    let mut pri: Vec<LegPacket> = Vec::new();
    let mut sec: Vec<LegPacket> = Vec::new();
    let mut survivors = vec![Vec::new(); STREAMS];
    let mut per_stream_pri: Vec<Vec<LegPacket>> = vec![Vec::new(); STREAMS];
    let mut per_stream_sec: Vec<Vec<LegPacket>> = vec![Vec::new(); STREAMS];
    for i in 0..STREAMS {
        let (mut lp, mut ls) = random_loss(PER_STREAM as usize, 4.0, 100 + i as u64, true);
        // The output starts at the first packet seen: keep packet 0.
        lp[0] = false;
        ls[0] = false;
        for s in 0..PER_STREAM {
            let (p_lost, s_lost) = (lp[s as usize], ls[s as usize]);
            // Every 97th primary copy corrupt: the secondary's goes out.
            let corrupt = !p_lost && s % 97 == 13;
            if !p_lost {
                let mut p = LegPacket::new(s, 0).stream(i);
                if corrupt {
                    p = p.corrupt(Corruption::UdpChecksum);
                }
                per_stream_pri[i].push(p);
            }
            if !s_lost {
                per_stream_sec[i].push(LegPacket::new(s, 0).stream(i));
            }
            if (!p_lost && !corrupt) || !s_lost {
                survivors[i].push(s);
            }
        }
    }
    // Stream 1's primary leg swaps neighbours now and then (reorder 1).
    let v = &mut per_stream_pri[1];
    for k in (10..v.len() - 1).step_by(50) {
        v.swap(k, k + 1);
    }
    // Interleave the streams on each leg, round-robin, in file order.
    let longest = PER_STREAM as usize;
    for k in 0..longest {
        for i in 0..STREAMS {
            if let Some(p) = per_stream_pri[i].get(k) {
                pri.push(p.clone());
            }
            if let Some(p) = per_stream_sec[i].get(k) {
                sec.push(p.clone());
            }
        }
    }
    sc.primary = in_file_order(pri, 0, GAP_NS);
    sc.secondary = in_file_order(sec, 0, GAP_NS);
    (sc, survivors)
}

/// The `--stream` arguments of the scenario's streams.
fn stream_args() -> Vec<String> {
    (0..STREAMS)
        .flat_map(|i| {
            [
                "--stream".to_string(),
                format!(
                    "{}:{LEG_PORT},{}:{LEG_PORT}={}:{OUT_PORT}",
                    group(1, i),
                    group(2, i),
                    out_group(i)
                ),
            ]
        })
        .collect()
}

/// Output frames per stream (by destination group), in transmit order.
fn per_stream(frames: &[Vec<u8>]) -> BTreeMap<usize, Vec<Vec<u8>>> {
    let mut m: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for f in frames {
        let r = testkit::parse_rtp(f).expect("an RTP output frame");
        let i = (0..STREAMS)
            .find(|&i| r.udp.dst_ip == IpAddr::from(out_group(i)))
            .unwrap_or_else(|| panic!("output to unknown group {}", r.udp.dst_ip));
        m.entry(i).or_default().push(f.clone());
    }
    m
}

/// The counters a stream's outcome is judged by (everything but times).
const STREAM_KEYS: &[&str] = &[
    "sent",
    "unrecoverable",
    "substituted",
    "switches",
    "restarts",
    "held",
];
const LEG_KEYS: &[&str] = &[
    "received",
    "used",
    "duplicates",
    "corrupt",
    "late",
    "out_of_order",
];

fn stream_counters(o: &Outcome, i: usize) -> Vec<(String, u64)> {
    let st = &o.stats["streams"][i];
    let mut v: Vec<(String, u64)> = STREAM_KEYS
        .iter()
        .map(|k| {
            let n = st[*k]
                .as_u64()
                .unwrap_or_else(|| panic!("stream {i} has no {k}\n{}", o.context()));
            (k.to_string(), n)
        })
        .collect();
    for (l, leg) in st["legs"].as_array().expect("legs").iter().enumerate() {
        for k in LEG_KEYS {
            let n = leg[*k]
                .as_u64()
                .unwrap_or_else(|| panic!("stream {i} leg {l} has no {k}\n{}", o.context()));
            v.push((format!("leg{l}.{k}"), n));
        }
    }
    v
}

fn rx_sum(o: &Outcome, key: &str) -> u64 {
    (0..2).map(|i| o.rx_counter(i, key)).sum()
}

fn run(sc: &Scenario, workers: usize) -> Outcome {
    let name = format!("shard{workers}");
    let dir = workdir(&name);
    let (p, s) = sc.write_to_dir(&dir).expect("write scenario pcaps");
    let mut extra: Vec<String> = stream_args();
    extra.extend(
        ["--max-delay", "500", "--max-rate", "2000", "--nb-cores"]
            .iter()
            .map(|a| a.to_string()),
    );
    extra.push(workers.to_string());
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    run_rig(
        &name,
        &dir,
        &[p, s],
        (&[], &extra),
        10.0,
        &Rig::workers(workers),
    )
}

#[test]
fn sharded_output_per_stream_is_the_one_worker_output() {
    let (sc, survivors) = scenario();
    let frames_in = (sc.primary.len() as u64, sc.secondary.len() as u64);
    let one = run(&sc, 1);
    assert_clean_end_all(&one);
    // The reference itself: every stream complete where it can be, in
    // order, each sequence number once.
    let ref_streams = per_stream(&one.frames);
    assert_eq!(ref_streams.len(), STREAMS, "{}", one.context());
    for (i, frames) in &ref_streams {
        let seqs: Vec<u64> = frames
            .iter()
            .map(|f| u64::from(testkit::parse_rtp(f).unwrap().seq))
            .collect();
        assert_eq!(seqs, survivors[*i], "stream {i} (one worker)");
    }
    let unrec: u64 = (0..STREAMS)
        .map(|i| one.stats["streams"][i]["unrecoverable"].as_u64().unwrap())
        .sum();
    assert!(unrec > 0, "the scenario has common loss");

    for workers in [2, 3] {
        let o = run(&sc, workers);
        assert_clean_end_all(&o);
        assert!(
            o.stdout
                .contains(&format!("Shards: {workers} merge workers")),
            "no shard assignment printed\n{}",
            o.context()
        );
        assert_eq!(o.queues.len(), workers);
        // Each tx queue carries exactly its worker's streams, and each
        // worker's own board slot counts what its queue sent.
        for (q, frames) in o.queues.iter().enumerate() {
            assert_eq!(
                o.stats["output"]["workers"][q]["tx"]["packets"].as_u64(),
                Some(frames.len() as u64),
                "worker {q} tx packets\n{}",
                o.context()
            );
            let mine: Vec<usize> = per_stream(frames).into_keys().collect();
            let want: Vec<usize> = (0..STREAMS).filter(|i| i % workers == q).collect();
            assert_eq!(mine, want, "streams on tx queue {q} of {workers}");
        }
        let got = per_stream(&o.frames);
        for i in 0..STREAMS {
            assert!(
                got.get(&i) == ref_streams.get(&i),
                "stream {i}: {workers} workers sent {} frames, one worker {}; first difference at {:?}\n{}",
                got.get(&i).map_or(0, Vec::len),
                ref_streams[&i].len(),
                got.get(&i)
                    .and_then(|g| g.iter().zip(&ref_streams[&i]).position(|(a, b)| a != b)),
                o.context()
            );
            assert_eq!(
                stream_counters(&o, i),
                stream_counters(&one, i),
                "stream {i} counters, {workers} workers vs one"
            );
        }
        assert_eq!(o.rx_counter(0, "packets"), frames_in.0);
        assert_eq!(o.rx_counter(1, "packets"), frames_in.1);
        assert!(rx_sum(&o, "dispatched") > 0, "{}", o.context());
        assert_eq!(rx_sum(&o, "handoff_full"), 0, "{}", o.context());
    }
}

/// [`assert_clean_end`] for a run with several streams: no leak, final
/// stats, nothing held, every packet the workers sent in the captures.
fn assert_clean_end_all(o: &Outcome) {
    assert!(
        o.stdout.contains("mbufs in use after shutdown (no leak)"),
        "no leak-check line\n{}",
        o.context()
    );
    assert_eq!(o.stats["final"], serde_json::Value::Bool(true));
    assert_eq!(o.stats["mempool"]["in_use"].as_u64(), Some(0));
    assert_eq!(
        o.stats["output"]["tx"]["packets"].as_u64(),
        Some(o.frames.len() as u64),
        "tx packets vs captured frames\n{}",
        o.context()
    );
    assert_eq!(o.stats["output"]["tx"]["nic_refused"].as_u64(), Some(0));
    let sent: u64 = (0..STREAMS)
        .map(|i| o.stats["streams"][i]["sent"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, o.frames.len() as u64, "{}", o.context());
    for i in 0..STREAMS {
        assert_eq!(o.stats["streams"][i]["held"].as_u64(), Some(0));
    }
}
