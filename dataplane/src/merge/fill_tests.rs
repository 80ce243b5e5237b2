//! Unit tests of gap fill by re-request: one scenario per rule of the
//! state machine in `stream/fill.rs`.

use super::tests::all_back;
use super::*;
use crate::seq::SeqSample;

type Rec = record::Recorder<u64>;

use super::tests::MD;
const FT: u64 = 5_000;
const SESSION: u64 = 0x5e55;

fn cfg(fill_timeout: u64) -> MergeConfig {
    MergeConfig {
        leg_timeout: 100_000,
        seq_bits: 64,
        fill_timeout,
        ..super::tests::cfg(Mode::Primary)
    }
}

/// A MoldUDP64 data packet at `seq` with `count` messages.
fn mold(seq: u64, count: u16, session: u64) -> SeqSample {
    SeqSample {
        source: session,
        span: count,
        ..SeqSample::new(seq, 64)
    }
}

/// Handle encoding: leg * 1e6 + sequence (leg 9 = the request server).
fn h(leg: u64, seq: u64) -> u64 {
    leg * 1_000_000 + seq
}

const SERVER: u64 = 9;

fn both(e: &mut Engine<u64>, r: &mut Rec, seq: u64, count: u16, t: u64) {
    for leg in 0..2 {
        e.poll(t, r);
        e.insert(
            (0, leg),
            mold(seq, count, SESSION),
            Verdict::Good,
            h(leg as u64, seq),
            t + leg as u64,
            r,
        );
    }
}

fn fill(e: &mut Engine<u64>, r: &mut Rec, seq: u64, count: u16, t: u64) {
    e.poll(t, r);
    e.fill(0, mold(seq, count, SESSION), h(SERVER, seq), t, r);
}

fn requests(r: &Rec) -> Vec<(u64, u64)> {
    r.event_kinds()
        .into_iter()
        .filter_map(|k| match k {
            EventKind::FillRequest {
                wire_seq, count, ..
            } => Some((wire_seq, count)),
            _ => None,
        })
        .collect()
}

fn gaps(r: &Rec) -> Vec<(u64, u64, GapHow)> {
    r.event_kinds()
        .into_iter()
        .filter_map(|k| match k {
            EventKind::Gap {
                wire_seq,
                count,
                how,
                ..
            } => Some((wire_seq, count, how)),
            _ => None,
        })
        .collect()
}

/// Packets 10..=19 of one message each, 20 covering 20..23, then 23..=29;
/// `lost` are missing on both legs. Returns the handles handed in.
fn feed(e: &mut Engine<u64>, r: &mut Rec, lost: &[u64], t0: u64) -> usize {
    let mut given = 0;
    let mut seq = 10;
    let mut t = t0;
    while seq < 30 {
        let count = if seq == 20 { 3 } else { 1 };
        if !lost.contains(&seq) {
            both(e, r, seq, count, t);
            given += 2;
        }
        seq += u64::from(count);
        t += 10;
    }
    given
}

#[test]
fn loss_on_both_legs_is_requested_once_and_filled_in_place() {
    let mut e = Engine::new(&[cfg(FT)]).unwrap();
    let mut r = Rec::default();
    let mut given = feed(&mut e, &mut r, &[14, 20], 0);
    // Nothing after 13 goes out while 14 is missing.
    assert_eq!(r.ext_seqs(), (10..14).collect::<Vec<_>>());
    // Once 14 would be given up (max_delay), it is asked for, once, and held.
    for t in (200..MD + 2_000).step_by(100) {
        e.poll(t, &mut r);
    }
    assert_eq!(requests(&r), vec![(14, 1)]);
    assert_eq!(r.ext_seqs().last(), Some(&13));
    fill(&mut e, &mut r, 14, 1, MD + 2_000);
    given += 1;
    // 14 went, then 15..19 and the cursor stops at 20 (missing too).
    assert_eq!(r.ext_seqs(), (10..20).collect::<Vec<_>>());
    for t in (MD + 2_000..MD + 4_000).step_by(100) {
        e.poll(t, &mut r);
    }
    assert_eq!(requests(&r), vec![(14, 1), (20, 3)]);
    fill(&mut e, &mut r, 20, 3, MD + 4_000);
    given += 1;
    // The complete feed, in order: 20 covers 20..23.
    let want: Vec<u64> = (10..21).chain(23..30).collect();
    assert_eq!(r.ext_seqs(), want);
    let c = e.counters(0);
    assert_eq!(
        (c.fill_requested, c.filled, c.fill_timed_out, c.fill_sent),
        (2, 2, 0, 2)
    );
    assert_eq!((c.unrecoverable, c.gaps, c.late_fill), (0, 0, 0));
    assert_eq!(
        gaps(&r),
        vec![(14, 1, GapHow::Filled), (20, 3, GapHow::Filled)]
    );
    e.drain(100_000, &mut r);
    all_back(&r, given);
}

#[test]
fn a_range_not_filled_in_time_is_skipped_and_a_late_fill_dropped() {
    let mut e = Engine::new(&[cfg(FT)]).unwrap();
    let mut r = Rec::default();
    let mut given = feed(&mut e, &mut r, &[14], 0);
    let mut t = 200;
    while t < MD + FT + 1_000 {
        e.poll(t, &mut r);
        t += 50;
    }
    // Asked once, waited at most max_delay + fill_timeout, then skipped.
    assert_eq!(requests(&r), vec![(14, 1)]);
    let want: Vec<u64> = (10..14).chain(15..21).chain(23..30).collect();
    assert_eq!(r.ext_seqs(), want);
    let c = e.counters(0);
    assert_eq!(
        (
            c.fill_requested,
            c.filled,
            c.fill_timed_out,
            c.unrecoverable
        ),
        (1, 0, 1, 1)
    );
    assert_eq!(gaps(&r), vec![(14, 1, GapHow::TimedOut)]);
    // The retransmission after the verdict: counted, freed, never sent.
    let sent = r.sent.len();
    fill(&mut e, &mut r, 14, 1, t);
    given += 1;
    assert_eq!(r.sent.len(), sent);
    assert_eq!(e.counters(0).late_fill, 1);
    assert_eq!(r.freed.last(), Some(&(h(SERVER, 14), FreeReason::Late)));
    e.drain(t + 1, &mut r);
    all_back(&r, given);
}

#[test]
fn a_partial_fill_waits_for_the_rest_without_asking_again() {
    let mut e = Engine::new(&[cfg(FT)]).unwrap();
    let mut r = Rec::default();
    let mut given = feed(&mut e, &mut r, &[14, 15, 16], 0);
    for t in (200..MD + 1_000).step_by(100) {
        e.poll(t, &mut r);
    }
    assert_eq!(requests(&r), vec![(14, 3)]);
    // Only 15 comes back: 14 is still awaited, so nothing moves.
    fill(&mut e, &mut r, 15, 1, MD + 1_000);
    given += 1;
    assert_eq!(r.ext_seqs().last(), Some(&13));
    // 14 comes: 14 and 15 go, the cursor waits at 16 (same request).
    fill(&mut e, &mut r, 14, 1, MD + 1_100);
    given += 1;
    assert_eq!(r.ext_seqs().last(), Some(&15));
    let mut t = MD + 1_200;
    while t < MD + FT + 2_000 {
        e.poll(t, &mut r);
        t += 100;
    }
    assert_eq!(requests(&r), vec![(14, 3)], "asked again");
    let want: Vec<u64> = (10..16).chain(17..21).chain(23..30).collect();
    assert_eq!(r.ext_seqs(), want);
    let c = e.counters(0);
    assert_eq!(
        (c.filled, c.fill_timed_out, c.fill_sent, c.unrecoverable),
        (0, 1, 2, 1)
    );
    assert_eq!(gaps(&r), vec![(16, 1, GapHow::TimedOut)]);
    e.drain(t, &mut r);
    all_back(&r, given);
}

#[test]
fn retransmissions_for_nothing_asked_are_strays() {
    let mut e = Engine::new(&[cfg(FT)]).unwrap();
    let mut r = Rec::default();
    let mut given = feed(&mut e, &mut r, &[14], 0);
    // Not asked yet (max_delay has not passed): stray.
    fill(&mut e, &mut r, 14, 1, 300);
    // Beyond any range, another session, a heartbeat: strays.
    fill(&mut e, &mut r, 40, 1, 301);
    e.fill(0, mold(14, 1, 0xbad), h(SERVER, 1), 302, &mut r);
    e.fill(
        0,
        SeqSample {
            heartbeat: true,
            span: 0,
            ..mold(14, 0, SESSION)
        },
        h(SERVER, 2),
        303,
        &mut r,
    );
    // Out-of-range stream index: handed back.
    e.fill(5, mold(14, 1, SESSION), h(SERVER, 3), 304, &mut r);
    given += 5;
    assert_eq!(e.counters(0).fill_stray, 4);
    for t in (400..MD + 1_000).step_by(100) {
        e.poll(t, &mut r);
    }
    assert_eq!(requests(&r), vec![(14, 1)]);
    // A copy overrunning the range (14..16 when 14 was asked) is a stray.
    e.fill(0, mold(14, 2, SESSION), h(SERVER, 4), MD + 1_000, &mut r);
    given += 1;
    assert_eq!(e.counters(0).fill_stray, 5);
    assert_eq!(r.ext_seqs().last(), Some(&13));
    e.drain(MD + 1_001, &mut r);
    all_back(&r, given);
}

#[test]
fn without_a_fill_timeout_gaps_are_lost_as_before() {
    let mut e = Engine::new(&[cfg(0)]).unwrap();
    let mut r = Rec::default();
    let given = feed(&mut e, &mut r, &[14], 0);
    for t in (200..MD + 1_000).step_by(100) {
        e.poll(t, &mut r);
    }
    assert!(requests(&r).is_empty());
    assert_eq!(gaps(&r), vec![(14, 1, GapHow::Lost)]);
    let c = e.counters(0);
    assert_eq!((c.fill_requested, c.unrecoverable, c.gaps), (0, 1, 1));
    e.drain(MD + 1_001, &mut r);
    all_back(&r, given);
}

#[test]
fn evidence_verdict_requests_before_max_delay() {
    // With learned evidence the request goes as soon as both legs moved
    // past the gap by more than their depth + 1, not after max_delay.
    let mut e = Engine::new(&[MergeConfig {
        reorder: Reorder::Auto,
        max_delay: 1_000_000,
        ..cfg(FT)
    }])
    .unwrap();
    let mut r = Rec::default();
    let mut t = 0;
    let mut given = 0;
    for seq in 0..40u64 {
        if seq != 30 {
            both(&mut e, &mut r, seq, 1, t);
            given += 2;
        }
        t += 10;
    }
    assert_eq!(requests(&r), vec![(30, 1)]);
    assert!(t < 1_000_000);
    fill(&mut e, &mut r, 30, 1, t);
    given += 1;
    assert_eq!(r.ext_seqs(), (0..40).collect::<Vec<_>>());
    e.drain(t + 1, &mut r);
    all_back(&r, given);
}

/// Message-level arbitration asks for messages, and the request server
/// answers with its recording's own packets, whose boundaries need not be
/// the range's: one beginning with messages already sent is cut to the
/// rest, one reaching past the range is taken whole (sending it passes
/// over the legs' copies there). Leg 0 packs 4 messages a packet from 1,
/// leg 1 packs 4 from 3 (after a first packet of 2); messages 17..=20 are
/// lost on both legs, and the server answers with leg 1's packets
/// [15, 19) and [19, 23).
#[test]
fn message_mode_fills_message_ranges_from_packets_of_other_boundaries() {
    let mut config = cfg(FT);
    config.messages = true;
    let mut e = Engine::new(&[config]).unwrap();
    let mut r = Rec::default();
    let leg0: Vec<(u64, u16)> = (0..10).map(|i| (1 + 4 * i, 4)).collect();
    let leg1: Vec<(u64, u16)> = std::iter::once((1, 2))
        .chain((0..9).map(|i| (3 + 4 * i, 4)))
        .collect();
    let lost = |(s, c): (u64, u16)| s < 21 && s + u64::from(c) > 17;
    let mut handed = 0;
    let mut t = 0;
    for i in 0..10 {
        for (leg, p) in [(0usize, leg0.get(i)), (1, leg1.get(i))] {
            let Some(&(seq, count)) = p else { continue };
            if lost((seq, count)) {
                continue;
            }
            e.poll(t, &mut r);
            e.insert(
                (0, leg),
                mold(seq, count, SESSION),
                Verdict::Good,
                h(leg as u64, seq),
                t + leg as u64,
                &mut r,
            );
            handed += 1;
        }
        t += 10;
    }
    for t in (t..MD + 2_000).step_by(100) {
        e.poll(t, &mut r);
    }
    assert_eq!(requests(&r), vec![(17, 4)], "one request, of messages");
    fill(&mut e, &mut r, 15, 4, MD + 2_000);
    fill(&mut e, &mut r, 19, 4, MD + 2_001);
    handed += 2;
    e.drain(MD + 3_000, &mut r);
    // The messages sent: each send is its packet's last `span` messages.
    let mut sent = Vec::new();
    for s in &r.sent {
        let (leg, first) = (s.handle / 1_000_000, s.handle % 1_000_000);
        let count = match leg {
            SERVER => 4,
            0 => 4,
            _ => leg1.iter().find(|p| p.0 == first).map_or(0, |p| p.1),
        };
        let end = first + u64::from(count);
        assert_eq!(end - u64::from(s.info.span), s.info.ext_seq, "{s:?}");
        sent.extend(s.info.ext_seq..end);
    }
    assert_eq!(
        sent,
        (1..41).collect::<Vec<_>>(),
        "every message once, in order"
    );
    let c = e.counters(0);
    assert_eq!(
        (c.fill_requested, c.filled, c.fill_timed_out, c.fill_sent),
        (1, 1, 0, 2)
    );
    assert_eq!((c.unrecoverable, c.fill_stray, c.late_fill), (0, 0, 0));
    assert_eq!(gaps(&r), vec![(17, 4, GapHow::Filled)]);
    all_back(&r, handed);
}
