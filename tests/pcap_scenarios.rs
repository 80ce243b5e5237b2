//! Failover scenarios run through the real binary (issue 5, item 5).
//!
//! Each case crafts the primary and secondary copies of one RTP stream with
//! `testkit`, runs `mcast-failover`, and asserts on its output capture:
//! the exact list of (RTP sequence number, SSRC, leg chosen) in order with
//! no duplicates, every frame byte-identical to its chosen input copy apart
//! from the rewritten headers (virtual group, port, 01:00:5e MAC, output
//! port MAC, `--out-src-ip`), valid IPv4 and UDP checksums, the testkit
//! payload pattern; then the stats JSON counters and the mempool back to 0.
//! The two legs' copies carry different TTLs (kept by the rewrite), which
//! is how the chosen leg is read off each output packet.
//!
//! ORDER-DEFINED cases use `net_pcap` vdevs. The vdev reads each file as
//! fast as it can and the worker polls the primary port, then the secondary
//! port, a burst of 32 each, so the order of frames in each file defines
//! what meets what. "Leg X leads by N" is made by N filler frames of an
//! unconfigured group at the start of the other leg's file (counted
//! `unknown_flow`, dropped). The frames are `GAP_NS` apart in file order,
//! and under `--clock capture` those timestamps are the binary's clock, so
//! a wait for a copy a few bursts further on in the files lasts the same
//! capture time on any machine; `--max-delay` is 500 ms (`ORDER`), far
//! longer than such a wait.
//!
//! TIME-DEFINED cases (a leg silent longer than `--leg-timeout`) cannot be
//! expressed by order: both legs go into one file in timestamp order, read
//! by one `net_pcap` port (`common::run_timeline`).
//!
//! Every case runs with `--clock capture`: the binary's clock is the
//! packets' own timestamps, so a timer fires at the same packet whatever the
//! machine's speed, and times asserted below (event times) are exact.

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod support;

use common::*;
use dataplane::merge::SAMPLE_EVERY;
use testkit::scenario::{random_loss, Corruption, Leg, LegPacket};

/// Merge settings of the order-defined cases (see the module doc): a
/// 500 ms window, slot table sized for 2 kpps (1024 slots).
const ORDER: &[&str] = &["--max-delay", "500", "--max-rate", "2000"];

/// Spacing of the frames in the order-defined files, in file order: the
/// capture clock's pace.
const GAP_NS: u64 = 300_000;

fn all_primary(_: u64) -> Leg {
    Leg::Primary
}

fn totals(o: &Outcome, unrecoverable: u64, restarts: u64) {
    assert_eq!(
        o.stream_counter("unrecoverable"),
        unrecoverable,
        "unrecoverable\n{}",
        o.context()
    );
    assert_eq!(
        o.stream_counter("restarts"),
        restarts,
        "restarts\n{}",
        o.context()
    );
    assert_eq!(
        o.stats["totals"]["unrecoverable"].as_u64(),
        Some(unrecoverable),
        "totals.unrecoverable\n{}",
        o.context()
    );
}

/// Order-defined. Both legs carry 2000 identical packets in step: every
/// output packet is the primary's copy, every secondary copy arrives after
/// it (same burst round, secondary polled second) and is a duplicate.
#[test]
fn clean() {
    let mut sc = scenario();
    let all = seqs(1000..3000);
    sc.primary = in_file_order(all.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(all.clone(), 0, GAP_NS);
    let o = run_pcap("clean", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert_input(&o, 0, 2000, 0);
    assert_input(&o, 1, 2000, 0);
    o.assert_leg(
        0,
        &[
            ("received", 2000),
            ("used", 2000),
            ("corrupt", 0),
            ("out_of_order", 0),
        ],
    );
    o.assert_leg(
        1,
        &[
            ("received", 2000),
            ("used", 0),
            ("duplicates", 2000),
            ("late", 0),
        ],
    );
    totals(&o, 0, 0);
    // The legs' copies differ in addresses only: their payloads agree.
    assert_eq!(o.stream_counter("payload_mismatch"), 0, "{}", o.context());
}

/// A second sender on the legs' groups (same groups and port, another
/// source address, its own SSRC and sequence numbers).
const FOREIGN_SRC: std::net::Ipv4Addr = std::net::Ipv4Addr::new(10, 0, 7, 7);

/// The clean case with a foreign sender's packets interleaved on both legs
/// (one after every 10th packet of the stream), each leg's group filtered
/// to its own sender with `GROUP:PORT@SOURCE`.
fn with_foreign_sender() -> (testkit::scenario::Scenario, Vec<LegPacket>, u64) {
    use testkit::frame::FrameSpec;
    use testkit::scenario::StreamSpec;
    let mut sc = scenario();
    let pri = FrameSpec::multicast(FOREIGN_SRC.into(), PRI_GROUP.into(), LEG_PORT);
    let sec = FrameSpec::multicast(FOREIGN_SRC.into(), SEC_GROUP.into(), LEG_PORT);
    sc.streams.push(StreamSpec::rtp(pri, sec));
    let all = seqs(1000..3000);
    let mut file = Vec::new();
    let mut foreign = 0u64;
    for (i, p) in all.iter().enumerate() {
        file.push(p.clone());
        if i % 10 == 9 {
            file.push(LegPacket::new(40_000 + i as u64, 0).stream(2).ssrc(0xbad));
            foreign += 1;
        }
    }
    sc.primary = in_file_order(file.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(file, 0, GAP_NS);
    (sc, all, foreign)
}

/// Order-defined. Source-specific legs: the foreign sender's packets are
/// dropped before the merge and counted `wrong_source` on each input; the
/// output is exactly the clean case's.
#[test]
fn foreign_source_on_a_filtered_leg_is_dropped() {
    let (sc, all, foreign) = with_foreign_sender();
    let stream = format!(
        "{PRI_GROUP}:{LEG_PORT}@{PRI_SRC},{SEC_GROUP}:{LEG_PORT}@{SEC_SRC}={OUT_GROUP}:{OUT_PORT}"
    );
    let mut extra = vec!["--stream", stream.as_str(), "--no-membership"];
    extra.extend_from_slice(ORDER);
    let o = run_pcap("foreign-source", &sc, &extra, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert_eq!(foreign, 200);
    for input in [0, 1] {
        assert_eq!(
            o.rx_counter(input, "packets"),
            2000 + foreign,
            "input {input}\n{}",
            o.context()
        );
        assert_eq!(
            o.rx_counter(input, "wrong_source"),
            foreign,
            "input {input} wrong_source\n{}",
            o.context()
        );
        assert_eq!(
            o.rx_counter(input, "not_merged"),
            foreign,
            "input {input}: nothing but the foreign packets is dropped\n{}",
            o.context()
        );
    }
    o.assert_leg(0, &[("received", 2000), ("used", 2000), ("wild", 0)]);
    o.assert_leg(1, &[("received", 2000), ("duplicates", 2000), ("wild", 0)]);
    totals(&o, 0, 0);
}

/// Control for the case above: without the source filter the same files
/// put the foreign sender's packets into the merge (the check above could
/// fail).
#[test]
fn foreign_source_reaches_the_merge_without_a_filter() {
    let (sc, _all, foreign) = with_foreign_sender();
    let o = run_pcap("foreign-unfiltered", &sc, ORDER, 1.0);
    assert_eq!(o.rx_counter(0, "wrong_source"), 0, "{}", o.context());
    assert_eq!(
        o.leg_counter(0, "received"),
        2000 + foreign,
        "the foreign packets are merged as the leg's own\n{}",
        o.context()
    );
}

/// Order-defined. The primary file ends after packet 1199 of 2000 (the
/// primary stops mid-stream). Its last packets go out from the primary; the
/// secondary's 1200.. wait for a primary copy that never comes until the
/// primary is declared down (200 ms) or the 500 ms window ends, whichever
/// first (both long before --duration), then go out in order. No loss.
#[test]
fn primary_stops_mid_stream() {
    let mut sc = scenario();
    let all = seqs(0..2000);
    sc.primary = in_file_order(seqs(0..1200), 0, GAP_NS);
    sc.secondary = in_file_order(all.clone(), 0, GAP_NS);
    let o = run_pcap("primary-stops", &sc, ORDER, 1.0);
    let leg = |s: u64| {
        if s < 1200 {
            Leg::Primary
        } else {
            Leg::Secondary
        }
    };
    assert_output(&o, &sc, &expect(&all, leg));
    assert_clean_end(&o);
    assert_input(&o, 0, 1200, 0);
    assert_input(&o, 1, 2000, 0);
    o.assert_leg(0, &[("used", 1200)]);
    o.assert_leg(1, &[("used", 800), ("duplicates", 1200)]);
    totals(&o, 0, 0);
    let primary_down = o
        .events()
        .iter()
        .any(|(e, d, _)| e == "leg_down" && d["leg"] == 0);
    assert!(
        primary_down,
        "no leg_down event for the primary\n{}",
        o.context()
    );
}

/// Order-defined. 5 % random loss on each leg, independently drawn, with
/// no packet lost on both (seeded, reproducible). Each packet the primary
/// lost goes out from the secondary, all others from the primary; nothing
/// is unrecoverable. A hole waits for the secondary's copy, which is at most
/// a burst round away (far inside the 500 ms window).
#[test]
fn independent_random_loss_on_both_legs() {
    let n = 2000usize;
    let (mut lp, mut ls) = random_loss(n, 5.0, 7, false);
    // The output starts at the first packet seen: keep packet 0 on both.
    lp[0] = false;
    ls[0] = false;
    let mut sc = scenario();
    let all = seqs(0..n as u64);
    let keep = |lost: &[bool]| seqs((0..n as u64).filter(|&s| !lost[s as usize]));
    sc.primary = in_file_order(keep(&lp), 0, GAP_NS);
    sc.secondary = in_file_order(keep(&ls), 0, GAP_NS);
    let p_lost = lp.iter().filter(|&&x| x).count() as u64;
    let s_lost = ls.iter().filter(|&&x| x).count() as u64;
    assert!(
        p_lost > 50 && s_lost > 50,
        "loss pattern too thin: {p_lost} {s_lost}"
    );
    let o = run_pcap("independent-loss", &sc, ORDER, 1.0);
    let leg = |s: u64| {
        if lp[s as usize] {
            Leg::Secondary
        } else {
            Leg::Primary
        }
    };
    assert_output(&o, &sc, &expect(&all, leg));
    assert_clean_end(&o);
    assert_input(&o, 0, n as u64 - p_lost, 0);
    assert_input(&o, 1, n as u64 - s_lost, 0);
    o.assert_leg(0, &[("used", n as u64 - p_lost)]);
    o.assert_leg(1, &[("used", p_lost)]);
    totals(&o, 0, 0);
}

/// Order-defined. 5 % random loss on each leg drawn independently, so some
/// packets are lost on both, plus a burst of 10 lost on both. Those are
/// skipped and counted unrecoverable (the gap events name exactly them);
/// every other packet goes out, and the stream does not stall: every gap is
/// resolved within --max-delay of the first later packet on the capture's
/// clock (plus two bursts of read interleave), not by the shutdown drain;
/// only a gap in the last --max-delay of the input may wait for the drain.
#[test]
fn common_loss_is_unrecoverable_and_does_not_stall() {
    let n = 2000usize;
    let (mut lp, mut ls) = random_loss(n, 5.0, 11, true);
    for s in 700..710 {
        lp[s] = true;
        ls[s] = true;
    }
    for s in [0, n - 1] {
        lp[s] = false;
    }
    let common: Vec<u64> = (0..n as u64)
        .filter(|&s| lp[s as usize] && ls[s as usize])
        .collect();
    assert!(common.len() > 10, "no common loss drawn");
    let mut sc = scenario();
    let keep = |lost: &[bool]| seqs((0..n as u64).filter(|&s| !lost[s as usize]));
    // 2 ms apart: 4 s of input, so a 500 ms wait ends inside it.
    let interval_ns = 2_000_000;
    sc.primary = in_file_order(keep(&lp), 0, interval_ns);
    sc.secondary = in_file_order(keep(&ls), 0, interval_ns);
    let survivors = seqs((0..n as u64).filter(|&s| !(lp[s as usize] && ls[s as usize])));
    let duration = 2.0;
    let o = run_pcap("common-loss", &sc, ORDER, duration);
    let leg = |s: u64| {
        if lp[s as usize] {
            Leg::Secondary
        } else {
            Leg::Primary
        }
    };
    assert_output(&o, &sc, &expect(&survivors, leg));
    assert_clean_end(&o);
    let p_lost = lp.iter().filter(|&&x| x).count() as u64;
    o.assert_leg(0, &[("used", n as u64 - p_lost)]);
    o.assert_leg(1, &[("used", p_lost - common.len() as u64)]);
    totals(&o, common.len() as u64, 0);
    // The gap events cover exactly the packets lost on both legs, and each
    // was raised by the running stream within its wait bound: --max-delay
    // (500 ms) after the first later packet was seen on either leg, plus one
    // burst of the other port read ahead (capture time is the latest packet
    // seen) and one timer-wheel bucket (max-delay / 16). One in the input's
    // last 500 ms may be left to the drain.
    let first_after = |s: u64| {
        [&sc.primary, &sc.secondary]
            .iter()
            .filter_map(|leg| leg.iter().find(|p| p.seq > s).map(|p| p.t_ns / 1000))
            .min()
            .expect("a packet after every gap") as i64
    };
    let end_us = (sc
        .primary
        .iter()
        .chain(&sc.secondary)
        .map(|p| p.t_ns)
        .max()
        .unwrap()
        / 1000) as i64;
    let slack_us = 32 * interval_ns as i64 / 1000 + 500_000 / 16;
    let mut gapped: Vec<u64> = Vec::new();
    for (e, d, t) in o.events() {
        if e != "gap" {
            continue;
        }
        let first = d["first_seq"].as_u64().expect("first_seq");
        let count = d["count"].as_u64().expect("count");
        // Positions are the extended sequence (a 16-bit RTP sequence lives
        // above 2^16 so it may step back); the scenario's are 0..n.
        let due = first_after(first & 0xffff) + 500_000 + slack_us;
        let at = Outcome::scenario_us(t);
        assert!(
            at <= due || due > end_us,
            "gap from {first} resolved at {at} us, due by {due} us (input ends at {end_us} us): \
             the stream stalled\n{}",
            o.context()
        );
        gapped.extend((first..first + count).map(|p| p & 0xffff));
    }
    gapped.sort_unstable();
    assert_eq!(
        gapped,
        common,
        "gap events vs packets lost on both legs\n{}",
        o.context()
    );
}

/// Order-defined. 40 primary copies have a wrong UDP checksum and 3 a
/// flipped payload byte (stale checksum); the secondary is intact. Those 43
/// go out from the secondary (its copy arrives in the same burst round and
/// is taken at once: the primary's copy is there, just bad), all others from
/// the primary; a corrupt copy never goes out.
#[test]
fn corrupt_udp_checksum_on_primary_uses_secondary_copy() {
    let mut sc = scenario();
    let all = seqs(0..2000);
    let bad_csum: Vec<u64> = (25..2000).step_by(50).collect();
    let bad_payload = [1001u64, 1002, 1003];
    let primary: Vec<LegPacket> = all
        .iter()
        .map(|p| {
            if bad_csum.contains(&p.seq) {
                p.clone().corrupt(Corruption::UdpChecksum)
            } else if bad_payload.contains(&p.seq) {
                p.clone().corrupt(Corruption::Payload)
            } else {
                p.clone()
            }
        })
        .collect();
    sc.primary = in_file_order(primary, 0, GAP_NS);
    sc.secondary = in_file_order(all.clone(), 0, GAP_NS);
    let o = run_pcap("corrupt-primary", &sc, ORDER, 1.0);
    let n_bad = (bad_csum.len() + bad_payload.len()) as u64;
    assert_eq!(n_bad, 43);
    let leg = |s: u64| {
        if bad_csum.contains(&s) || bad_payload.contains(&s) {
            Leg::Secondary
        } else {
            Leg::Primary
        }
    };
    assert_output(&o, &sc, &expect(&all, leg));
    assert_clean_end(&o);
    o.assert_leg(
        0,
        &[
            ("used", 2000 - n_bad),
            ("corrupt", n_bad),
            ("corrupt_dropped", n_bad),
        ],
    );
    o.assert_leg(1, &[("used", n_bad), ("corrupt", 0)]);
    totals(&o, 0, 0);
}

/// Order-defined. The secondary's copies of 26 packets carry other bytes
/// than the primary's (last payload byte flipped, UDP checksum valid: a
/// faulty encoder pair), at sequence numbers 79 apart, so they fall on
/// every residue modulo `SAMPLE_EVERY`. The output is the primary's
/// copies, as in the clean case; copies are compared at the positions
/// that are multiples of `SAMPLE_EVERY` (here the sequence numbers), so
/// each secondary copy that differs there, a duplicate of a packet already
/// sent, counts `payload_mismatch` once and the others none, and a
/// `payload_mismatch` event reports them.
#[test]
fn copies_that_differ_count_payload_mismatch() {
    let mut sc = scenario();
    let all = seqs(0..2000);
    let differ: Vec<u64> = (10..2000).step_by(79).collect();
    let compared = differ
        .iter()
        .filter(|s| s.is_multiple_of(SAMPLE_EVERY))
        .count() as u64;
    assert_eq!((differ.len(), compared), (26, 3));
    let secondary: Vec<LegPacket> = all
        .iter()
        .map(|p| {
            if differ.contains(&p.seq) {
                p.clone().corrupt(Corruption::Differs)
            } else {
                p.clone()
            }
        })
        .collect();
    sc.primary = in_file_order(all.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(secondary, 0, GAP_NS);
    let o = run_pcap("payload-mismatch", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert_eq!(
        o.stream_counter("payload_mismatch"),
        compared,
        "{}",
        o.context()
    );
    o.assert_leg(1, &[("used", 0), ("duplicates", 2000), ("corrupt", 0)]);
    totals(&o, 0, 0);
    let reported: u64 = o
        .events()
        .into_iter()
        .filter(|(e, _, _)| e == "payload_mismatch")
        .map(|(_, d, _)| d["count"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        (1..=compared).contains(&reported),
        "payload_mismatch events report {reported}\n{}",
        o.context()
    );
    assert!(
        o.stdout.contains("payload mismatch: 3 copies differed"),
        "stats text block\n{}",
        o.context()
    );
}

/// Order-defined. The secondary leads by 100 packets (the "30 ms",
/// at ~3.3 kpps): the primary file has 100 filler frames after its first 10
/// packets, so from packet 10 on the secondary's copy is read at least 3
/// burst rounds before the primary's. Primary mode makes each secondary copy
/// wait (up to the 500 ms window) for the primary's: all 2000 go out from
/// the primary. The first 10 bring both legs up in step.
#[test]
fn secondary_leads() {
    let mut sc = scenario();
    let all = seqs(0..2000);
    let mut primary = seqs(0..10);
    primary.extend(fillers(100));
    primary.extend(seqs(10..2000));
    sc.primary = in_file_order(primary, 0, GAP_NS);
    sc.secondary = in_file_order(all.clone(), 0, GAP_NS);
    let o = run_pcap("secondary-leads", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert_input(&o, 0, 2100, 100);
    assert_input(&o, 1, 2000, 0);
    o.assert_leg(0, &[("used", 2000)]);
    o.assert_leg(1, &[("used", 0), ("duplicates", 2000), ("late", 0)]);
    totals(&o, 0, 0);
}

/// Order-defined. The primary leads by 100 packets (100 fillers in the
/// secondary file after its first 10): every primary copy goes out on
/// arrival, every secondary copy comes after and is a duplicate (not late:
/// the engine remembers it was sent).
#[test]
fn primary_leads() {
    let mut sc = scenario();
    let all = seqs(0..2000);
    let mut secondary = seqs(0..10);
    secondary.extend(fillers(100));
    secondary.extend(seqs(10..2000));
    sc.primary = in_file_order(all.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(secondary, 0, GAP_NS);
    let o = run_pcap("primary-leads", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert_input(&o, 0, 2000, 0);
    assert_input(&o, 1, 2100, 100);
    o.assert_leg(0, &[("used", 2000)]);
    o.assert_leg(1, &[("used", 0), ("duplicates", 2000), ("late", 0)]);
    totals(&o, 0, 0);
}

/// Order-defined. RTP sequence numbers 64800..65535 then 0..763 on both
/// legs; the primary lost 65534, 65535, 0, 1 (right across the rollover),
/// the secondary 65530, 2, 3. The output runs through the rollover without
/// a gap, a stall or a restart, the primary's four holes filled from the
/// secondary.
#[test]
fn rtp_sequence_rollover() {
    let mut sc = scenario();
    let range = 64_800u64..66_300;
    let all = seqs(range.clone());
    let p_lost = [65_534u64, 65_535, 65_536, 65_537];
    let s_lost = [65_530u64, 65_538, 65_539];
    sc.primary = in_file_order(
        seqs(range.clone().filter(|s| !p_lost.contains(s))),
        0,
        GAP_NS,
    );
    sc.secondary = in_file_order(seqs(range.filter(|s| !s_lost.contains(s))), 0, GAP_NS);
    let o = run_pcap("rollover", &sc, ORDER, 1.0);
    let leg = |s: u64| {
        if p_lost.contains(&s) {
            Leg::Secondary
        } else {
            Leg::Primary
        }
    };
    let want = expect(&all, leg);
    assert_eq!(want[735].packet.seq as u16, 65_535);
    assert_eq!(want[736].packet.seq as u16, 0);
    assert_output(&o, &sc, &want);
    assert_clean_end(&o);
    o.assert_leg(0, &[("used", 1496), ("wild", 0)]);
    o.assert_leg(1, &[("used", 4), ("wild", 0)]);
    totals(&o, 0, 0);
}

/// The SSRC-restart source: 1000 packets of SSRC 0x12345678 from sequence
/// 30000, then the restarted source, SSRC 0xB0B00002, from sequence 500 (a
/// jump back far outside the window, with a new SSRC).
fn restarted_source() -> (Vec<LegPacket>, Vec<LegPacket>) {
    let a = seqs(30_000..31_000);
    let b: Vec<LegPacket> = (500..1500u64)
        .map(|s| LegPacket::new(s, 0).ssrc(0xB0B0_0002))
        .collect();
    (a, b)
}

fn check_restart(o: &Outcome, restarting_leg: u64) {
    assert_clean_end(o);
    o.assert_leg(0, &[("used", 2000)]);
    o.assert_leg(1, &[("used", 0)]);
    totals(o, 0, 1);
    let restarts: Vec<_> = o
        .events()
        .into_iter()
        .filter(|(e, _, _)| e == "source_restart")
        .collect();
    assert_eq!(restarts.len(), 1, "source_restart events\n{}", o.context());
    assert_eq!(
        restarts[0].1["leg"].as_u64(),
        Some(restarting_leg),
        "leg that proved the restart\n{}",
        o.context()
    );
    assert_eq!(
        restarts[0].1["source"].as_u64(),
        Some(0xB0B0_0002),
        "new source\n{}",
        o.context()
    );
    assert!(
        !o.events().iter().any(|(e, _, _)| e == "gap"),
        "a restart is not a gap\n{}",
        o.context()
    );
}

/// Order-defined. The source restarts (new SSRC, sequence jumps back) and
/// the primary shows it first: the secondary lags by 100 packets (100
/// fillers at the start of its file), so it still carries the old source's
/// tail while the primary proves the restart. The output is the old source
/// to its last packet, then the new source from its first, all from the
/// primary, one restart, no duplicates, nothing unrecoverable.
#[test]
fn ssrc_restart_primary_first() {
    let (a, b) = restarted_source();
    let mut sc = scenario();
    let mut both = a.clone();
    both.extend(b.iter().cloned());
    let mut secondary = fillers(100);
    secondary.extend(both.iter().cloned());
    sc.primary = in_file_order(both.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(secondary, 0, GAP_NS);
    let o = run_pcap("restart-primary-first", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&both, all_primary));
    assert_input(&o, 1, 2100, 100);
    check_restart(&o, 0);
}

/// Order-defined. Same restart, shown first by the secondary, which leads
/// by 100 packets (fillers in the primary file after its first 10): the
/// secondary proves the restart while the primary still carries the old
/// source's tail; the primary then joins the new source. All 2000 packets
/// still go out from the primary, in order, one restart.
#[test]
fn ssrc_restart_secondary_first() {
    let (a, b) = restarted_source();
    let mut sc = scenario();
    let mut both = a.clone();
    both.extend(b.iter().cloned());
    let mut primary = a[..10].to_vec();
    primary.extend(fillers(100));
    primary.extend(a[10..].iter().cloned());
    primary.extend(b.iter().cloned());
    sc.primary = in_file_order(primary, 0, GAP_NS);
    sc.secondary = in_file_order(both.clone(), 0, GAP_NS);
    let o = run_pcap("restart-secondary-first", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&both, all_primary));
    assert_input(&o, 0, 2100, 100);
    check_restart(&o, 1);
}

/// Order-defined. Both legs reorder by up to 5 positions, differently: the
/// primary reverses blocks of 6, the secondary shuffles blocks of 6 that are
/// offset by 3 (seeded). The first 6 packets are in order on both (the
/// output starts at the first packet seen). Every packet still goes out once,
/// in order, from the primary: a hole in the primary is always filled by the
/// primary a few packets later, within the same or the next burst.
#[test]
fn reorder_up_to_5_within_a_leg() {
    let n = 2004u64;
    let all = seqs(0..n);
    let p_order = reversed_blocks_of_6(n);
    let mut rng = testkit::rng::XorShift64::new(5);
    let mut s_order: Vec<u64> = (0..9).collect();
    for block in (9..n).collect::<Vec<_>>().chunks(6) {
        let mut b = block.to_vec();
        for i in (1..b.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            b.swap(i, j);
        }
        s_order.extend(b);
    }
    for order in [&p_order, &s_order] {
        assert_eq!(order.len() as u64, n);
        for (i, &s) in order.iter().enumerate() {
            assert!((i as i64 - s as i64).abs() <= 5, "displacement > 5 at {i}");
        }
    }
    let mut sc = scenario();
    sc.primary = in_file_order(seqs(p_order.iter().copied()), 0, GAP_NS);
    sc.secondary = in_file_order(seqs(s_order.iter().copied()), 0, GAP_NS);
    let o = run_pcap("reorder", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert!(out_of_order(&p_order) > 1000 && out_of_order(&s_order) > 500);
    assert_primary_fills_its_own_reorder(&o, n, &p_order, &s_order);
    totals(&o, 0, 0);
}

/// Regression (found by this suite, fixed in the merge engine's fast path):
/// a good copy that arrives behind the output cursor must still advance its
/// leg's position, so `out_of_order` is counted for a leg whose copies all
/// arrive after the packet went out (the usual state of the secondary).
/// Order-defined: the primary carries 0..200 in
/// order and is polled first, so every secondary copy arrives behind the
/// cursor; the secondary swaps 10 pairs (11,10), (21,20), ... (101,100):
/// 10 packets out of order.
#[test]
fn out_of_order_counted_on_a_leg_that_is_always_behind() {
    let all = seqs(0..200);
    let mut s_order: Vec<u64> = (0..200).collect();
    for k in 1..=10 {
        s_order.swap(10 * k, 10 * k + 1);
    }
    let mut sc = scenario();
    sc.primary = in_file_order(all.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(seqs(s_order.iter().copied()), 0, GAP_NS);
    let o = run_pcap("bug-out-of-order", &sc, ORDER, 1.0);
    assert_output(&o, &sc, &expect(&all, all_primary));
    assert_clean_end(&o);
    assert_eq!(out_of_order(&s_order), 10);
    o.assert_leg(1, &[("duplicates", 200), ("out_of_order", 10)]);
}

/// Packet spacing of the time-defined cases: 400 pps.
const TICK_NS: u64 = 2_500_000;
/// The secondary's copy of each packet is sent this long after the
/// primary's (one tcpreplay, one time-ordered file: a fixed order).
const SEC_SKEW_NS: u64 = 500_000;

/// `seq` paced on the stream's clock: packet s at s * TICK (+ skew).
fn on_clock(s: impl IntoIterator<Item = u64>, skew: u64) -> Vec<LegPacket> {
    s.into_iter()
        .map(|q| LegPacket::new(q, q * TICK_NS + skew))
        .collect()
}

/// (tag, leg) of the events, in order.
fn event_tags(o: &Outcome) -> Vec<(String, Option<u64>)> {
    o.events()
        .into_iter()
        .map(|(e, d, _)| (e, d["leg"].as_u64()))
        .collect()
}

fn ev(tag: &str, leg: Option<u64>) -> (String, Option<u64>) {
    (tag.to_string(), leg)
}

/// Time of the first event matching (tag, leg) at or after index `from`.
fn event_time(o: &Outcome, from: usize, tag: &str, leg: u64) -> (usize, f64) {
    o.events()
        .into_iter()
        .enumerate()
        .skip(from)
        .find(|(_, (e, d, _))| e == tag && d["leg"].as_u64() == Some(leg))
        .map(|(i, (_, _, t))| (i, t))
        .unwrap_or_else(|| panic!("no {tag} leg {leg} event\n{}", o.context()))
}

/// Time-defined (one timeline file). Both legs go silent for 1 s: 120
/// packets at 400 pps, then the 400 packets of the next second are lost on
/// both paths, then 120 more. Both legs are declared down after
/// --leg-timeout (200 ms) and come back by themselves with the traffic;
/// the 400 lost packets are counted unrecoverable as one gap (they fit the
/// 512-slot window: the first packet back is held and the gap skipped once
/// --max-delay has passed) and the output carries on. A longer outage (more
/// than twice the window) would instead be taken as a source restart.
#[test]
fn both_legs_down_for_1s_then_back() {
    let kept: Vec<u64> = (0..120).chain(520..640).collect();
    let mut sc = scenario();
    sc.primary = on_clock(kept.iter().copied(), 0);
    sc.secondary = on_clock(kept.iter().copied(), SEC_SKEW_NS);
    let o = run_timeline(
        "both-down",
        &sc,
        &["--max-delay", "50", "--leg-timeout", "200"],
        3.5,
    );
    assert_output(&o, &sc, &expect(&seqs(kept.iter().copied()), all_primary));
    assert_clean_end(&o);
    assert_input(&o, 0, 480, 0);
    o.assert_leg(0, &[("received", 240), ("used", 240)]);
    o.assert_leg(1, &[("received", 240), ("used", 0), ("duplicates", 240)]);
    totals(&o, 400, 0);
    assert_eq!(o.stream_counter("gaps"), 1, "gaps\n{}", o.context());
    // Whether a switch to the secondary shows between the two leg_down
    // events depends on whether their timeouts (0.5 ms apart) are serviced
    // together: switches are left out of this check.
    let tags: Vec<_> = event_tags(&o)
        .into_iter()
        .filter(|(e, _)| e != "switch")
        .collect();
    let prefix = [
        ev("leg_up", Some(0)),
        ev("leg_up", Some(1)),
        ev("leg_down", Some(0)),
        ev("leg_down", Some(1)),
        ev("leg_up", Some(0)),
        ev("leg_up", Some(1)),
        ev("gap", None),
    ];
    assert!(
        tags.len() >= prefix.len() && tags[..prefix.len()] == prefix,
        "events {tags:?}\n{}",
        o.context()
    );
    // Each leg is declared down --leg-timeout after its last packet before
    // the outage (seq 119), on the capture's own clock: never before, and
    // at most one catch-up step of the clock (1/16 of the shortest delay,
    // 50 ms / 16) after.
    let step_us = 50_000 / 16;
    for (leg, skew) in [(0, 0), (1, SEC_SKEW_NS)] {
        let (_, down) = event_time(&o, 0, "leg_down", leg);
        let last_us = ((119 * TICK_NS + skew) / 1000) as i64;
        let silence_us = Outcome::scenario_us(down) - last_us;
        assert!(
            (200_000..=200_000 + step_us).contains(&silence_us),
            "leg {leg} declared down {silence_us} us after its last packet (--leg-timeout 200 ms)\n{}",
            o.context()
        );
    }
}

/// Time-defined (one timeline file). The primary goes silent for 500 ms
/// (packets 120..319 of 480 at 400 pps) while the secondary carries on.
/// For the first 200 ms (--leg-timeout) each secondary copy waits up to
/// --max-delay (50 ms) for the primary's, then the primary is declared down
/// and the stream switches to the secondary; when the primary comes back it
/// is up again at once and preferred again. Nothing is lost: 120..319 go
/// out from the secondary, the rest from the primary.
#[test]
fn primary_down_then_leg_timeout() {
    let mut sc = scenario();
    sc.primary = on_clock((0..120).chain(320..480), 0);
    sc.secondary = on_clock(0..480, SEC_SKEW_NS);
    let o = run_timeline(
        "primary-down",
        &sc,
        &["--max-delay", "50", "--leg-timeout", "200"],
        3.0,
    );
    let leg = |s: u64| {
        if (120..320).contains(&s) {
            Leg::Secondary
        } else {
            Leg::Primary
        }
    };
    assert_output(&o, &sc, &expect(&seqs(0..480), leg));
    assert_clean_end(&o);
    assert_input(&o, 0, 760, 0);
    o.assert_leg(0, &[("received", 280), ("used", 280)]);
    o.assert_leg(1, &[("received", 480), ("used", 200), ("duplicates", 280)]);
    totals(&o, 0, 0);
    let tags = event_tags(&o);
    let prefix = [
        ev("leg_up", Some(0)),
        ev("leg_up", Some(1)),
        ev("leg_down", Some(0)),
        ev("switch", None),
        ev("leg_up", Some(0)),
        ev("switch", None),
    ];
    assert!(
        tags.len() >= prefix.len() && tags[..prefix.len()] == prefix,
        "events {tags:?}\n{}",
        o.context()
    );
    let sw: Vec<(u64, u64)> = o
        .events()
        .iter()
        .filter(|(e, _, _)| e == "switch")
        .take(2)
        .map(|(_, d, _)| {
            (
                d["from"].as_u64().unwrap_or(9),
                d["to"].as_u64().unwrap_or(9),
            )
        })
        .collect();
    assert_eq!(sw, vec![(0, 1), (1, 0)], "switches\n{}", o.context());
    // Declared down --leg-timeout after its last packet (119), on the
    // capture's own clock (at most one catch-up step late), and up again at
    // its first packet back (320).
    let (i, down) = event_time(&o, 0, "leg_down", 0);
    let (_, up) = event_time(&o, i, "leg_up", 0);
    let silence_us = Outcome::scenario_us(down) - (119 * TICK_NS / 1000) as i64;
    assert!(
        (200_000..=200_000 + 50_000 / 16).contains(&silence_us),
        "primary declared down {silence_us} us after its last packet (--leg-timeout 200 ms)\n{}",
        o.context()
    );
    assert_eq!(
        Outcome::scenario_us(up),
        (320 * TICK_NS / 1000) as i64,
        "primary up again at its packet 320\n{}",
        o.context()
    );
}

/// Order-defined (issue 17, item 3). A pool far too small for the window
/// (`--total-num-mbufs 512` against a 1 s `--max-delay`): 6000 packets with
/// 30 % loss on each leg (none common), then 6000 clean ones. While the
/// merge holds copies the pool runs low and the worker has the engine shed
/// held copies (duplicates first, then those furthest from the cursor),
/// each counted `shed_pool_low`, instead of the ports running dry. Then the
/// stream recovers: the clean half comes out complete, the whole output is
/// in order without a duplicate, and every mbuf is back at exit. (What the
/// lossy half loses to shedding depends on the pool's size; only that it
/// is accounted for is asserted.)
#[test]
fn pool_starvation_sheds_counts_and_recovers() {
    let (half, n) = (6000u64, 12000u64);
    let (mut lp, mut ls) = random_loss(half as usize, 30.0, 11, false);
    lp[0] = false;
    ls[0] = false;
    let keep = |lost: &[bool]| seqs((0..n).filter(|&s| s >= half || !lost[s as usize]));
    let mut sc = scenario();
    sc.primary = in_file_order(keep(&lp), 0, 500_000);
    sc.secondary = in_file_order(keep(&ls), 0, 500_000);
    let o = run_pcap(
        "pool-starvation",
        &sc,
        &["--total-num-mbufs", "512", "--max-delay", "1000"],
        5.0,
    );
    let shed: u64 = (0..2).map(|l| o.leg_counter(l, "shed_pool_low")).sum();
    assert!(
        shed > 0,
        "no copy shed with a 512-mbuf pool\n{}",
        o.context()
    );
    eprintln!(
        "pool starvation: sent {} unrecoverable {} shed_pool_low {shed} of {n}",
        o.stream_counter("sent"),
        o.stream_counter("unrecoverable")
    );
    let out: Vec<u64> = o
        .frames
        .iter()
        .map(|f| u64::from(testkit::parse_rtp(f).expect("RTP out").seq))
        .collect();
    // Sequence numbers stay below 65536 here, so 16 bits are the whole seq.
    assert!(
        out.windows(2).all(|w| w[0] < w[1]),
        "output out of order or duplicated\n{}",
        o.context()
    );
    let tail = out.iter().filter(|&&s| s >= half).count() as u64;
    assert_eq!(tail, n - half, "clean half incomplete\n{}", o.context());
    assert_eq!(
        o.stream_counter("sent") + o.stream_counter("unrecoverable"),
        n,
        "every position sent or counted unrecoverable\n{}",
        o.context()
    );
    assert!(
        o.events().iter().any(|(k, _, _)| k == "pool_low"),
        "no pool_low event\n{}",
        o.context()
    );
    assert_clean_end(&o);
}

/// Time-defined (one timeline file) with `--health-hold 0`: 400 packets at
/// 400 pps on both legs, the secondary's copies `skew` behind the
/// primary's; --max-delay 100 ms. Returns the run and the health it
/// reports at the end.
fn health_with_skew(name: &str, skew_ns: u64) -> (Outcome, String) {
    let mut sc = scenario();
    sc.primary = on_clock(0..400, 0);
    sc.secondary = on_clock(0..400, skew_ns);
    let o = run_timeline(
        name,
        &sc,
        &[
            "--max-delay",
            "100",
            "--max-rate",
            "2000",
            "--health-hold",
            "0",
        ],
        1.5,
    );
    // Nothing is lost or substituted: only the skew differs.
    assert_output(&o, &sc, &expect(&seqs(0..400), all_primary));
    assert_clean_end(&o);
    totals(&o, 0, 0);
    // Every health event carries the capture clock's time: the time of a
    // packet of the capture (the one the tx stage had reached when the
    // judged figures were published), never 0.
    let times: std::collections::HashSet<i64> = (0..400u64)
        .flat_map(|q| [q * TICK_NS, q * TICK_NS + skew_ns])
        .map(|t| (t / 1000) as i64)
        .collect();
    let health: Vec<f64> = o
        .events()
        .into_iter()
        .filter(|(e, _, _)| e == "health")
        .map(|(_, _, t)| t)
        .collect();
    assert!(!health.is_empty(), "no health event\n{}", o.context());
    for t in &health {
        assert!(*t > 0.0, "health event at t=0\n{}", o.context());
        assert!(
            times.contains(&Outcome::scenario_us(*t)),
            "health event at {t} s ({} us into the capture) is no packet's capture time\n{}",
            Outcome::scenario_us(*t),
            o.context()
        );
    }
    let h = o.stats["streams"][0]["health"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (o, h)
}

/// A leg in step (secondary 10 ms behind, under half of --max-delay 100 ms)
/// leaves the stream healthy; one lagging 60 ms (over half) makes it
/// partially healthy although both legs are up and nothing was substituted.
#[test]
fn health_in_step_and_lagging_on_the_capture_clock() {
    let (o, h) = health_with_skew("health-in-step", 10_000_000);
    assert_eq!(h, "healthy", "\n{}", o.context());
    let (o, h) = health_with_skew("health-lagging", 60_000_000);
    assert!(
        o.leg(1)["lag_ns"].as_u64().unwrap_or(0) > 50_000_000,
        "secondary's learned lag\n{}",
        o.context()
    );
    assert_eq!(h, "partially_healthy", "\n{}", o.context());
}

/// Message-level arbitration (issue 16 item 3): the two legs pack the same
/// 600 MoldUDP64 messages into packets of different boundaries (3, 5, 2, 7
/// messages a packet on the primary, 4, 1, 6 on the secondary) and each
/// loses packets the other leg's (differently cut) packets cover. Both go
/// through one port in time order under the capture clock, merged in
/// primary and in hitless mode. The output's message stream, parsed back,
/// is the original feed: each message once, in order, in valid MoldUDP64
/// packets with correct checksums.
#[test]
fn differently_packed_legs_give_the_feed_once_with_arbitrate_messages() {
    use testkit::frame::{build_udp_frame, payload_pattern};
    use testkit::moldudp64::{parse_moldudp64, repacketise};
    use testkit::scenario::DEFAULT_BASE_TIME_NS;

    const SESSION: [u8; 10] = *b"ARBSESSION";
    const FIRST: u64 = 1_000;
    const N: u64 = 600;
    /// One message every 20 us; the secondary runs 150 us behind.
    const MSG_NS: u64 = 20_000;
    const SEC_LAG_NS: u64 = 150_000;
    let msgs: Vec<Vec<u8>> = (0..N)
        .map(|k| payload_pattern(FIRST + k, 8 + (k as usize * 7) % 40))
        .collect();
    let sc = scenario();
    let legs = [
        (
            &sc.streams[0].primary,
            repacketise(&SESSION, FIRST, &msgs, &[3, 5, 2, 7], 1400),
        ),
        (
            &sc.streams[0].secondary,
            repacketise(&SESSION, FIRST, &msgs, &[4, 1, 6], 1400),
        ),
    ];
    let count = |p: &[u8]| u64::from(parse_moldudp64(p).unwrap().0.count);
    // Primary loses every 9th packet; the secondary every 7th whose
    // messages the primary delivers.
    let lost_pri = |i: usize| i % 9 == 4;
    let mut on_pri = vec![false; N as usize];
    for (i, (seq, p)) in legs[0].1.iter().enumerate() {
        if !lost_pri(i) {
            for s in *seq..*seq + count(p) {
                on_pri[(s - FIRST) as usize] = true;
            }
        }
    }
    let mut frames = Vec::new();
    let mut inputs = std::collections::HashSet::new();
    let mut handed = 0;
    for (rank, (spec, packets)) in legs.iter().enumerate() {
        for (i, (seq, p)) in packets.iter().enumerate() {
            let n = count(p);
            let lost = if rank == 0 {
                lost_pri(i)
            } else {
                i % 7 == 3 && (*seq..*seq + n).all(|s| on_pri[(s - FIRST) as usize])
            };
            if lost {
                continue;
            }
            handed += n;
            inputs.insert((*seq, n));
            let last = seq + n - 1 - FIRST;
            let t = DEFAULT_BASE_TIME_NS + last * MSG_NS + rank as u64 * SEC_LAG_NS;
            frames.push((t, rank, build_udp_frame(spec, *seq as u16, p)));
        }
    }
    for (name, hitless) in [
        ("arbitrate-messages", false),
        ("arbitrate-messages-hitless", true),
    ] {
        let extra = [
            "--seq",
            "moldudp64",
            "--arbitrate",
            "messages",
            "--max-delay",
            "10",
            "--max-rate",
            "60000",
        ];
        let mut extra = extra.to_vec();
        if hitless {
            extra.extend(["--forward-mode", "hitless"]);
        }
        let o = run_frames(name, frames.clone(), &extra, 5.0);

        let mut got: Vec<Vec<u8>> = Vec::new();
        let mut next = FIRST;
        let mut cut = 0;
        for f in &o.frames {
            assert!(
                f.len() <= 1514,
                "frame of {} bytes\n{}",
                f.len(),
                o.context()
            );
            testkit::verify_checksums(f).unwrap_or_else(|e| panic!("{e:?}\n{}", o.context()));
            let u = testkit::parse_udp(f).expect("output frame");
            let (h, m) = parse_moldudp64(u.payload).expect("output MoldUDP64");
            assert_eq!(h.session, SESSION);
            assert_eq!(
                h.seq,
                next,
                "output packet out of sequence\n{}",
                o.context()
            );
            assert_eq!(usize::from(h.count), m.len());
            next += u64::from(h.count);
            if !inputs.contains(&(h.seq, u64::from(h.count))) {
                cut += 1;
            }
            got.extend(m.iter().map(|m| m.to_vec()));
        }
        assert_eq!(got.len() as u64, N, "messages out\n{}", o.context());
        assert!(
            got == msgs,
            "output messages differ from the feed\n{}",
            o.context()
        );
        assert!(cut > 0, "no packet was cut to its unsent messages");
        assert_eq!(o.stream_counter("messages_sent"), N, "{}", o.context());
        assert_eq!(
            o.stream_counter("messages_duplicate"),
            handed - N,
            "every handed-in message is sent or a duplicate\n{}",
            o.context()
        );
        assert_eq!(o.stream_counter("unrecoverable"), 0, "{}", o.context());
        assert!(
            o.stdout.contains("messages: sent 600 duplicate"),
            "{}",
            o.context()
        );
        assert_clean_end(&o);
    }
}
