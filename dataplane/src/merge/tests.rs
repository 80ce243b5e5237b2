//! Unit tests of the engine: one scenario per rule.

use super::*;
use crate::seq::SeqSample;

type Rec = record::Recorder<u64>;

/// The unit tests' max-delay, in ticks.
pub(super) const MD: u64 = 1_000;
const LT: u64 = 10_000;

/// The unit tests' engine: 64 slots, max-delay MD, the fixed rules
/// (`Reorder::Off`, no margin), K = 4; the session and fill tests start
/// from it too.
pub(super) fn cfg(mode: Mode) -> MergeConfig {
    MergeConfig {
        mode,
        legs: 2,
        capacity: 64,
        max_delay: MD,
        leg_timeout: LT,
        restart_after: 4,
        seq_bits: 16,
        reorder: Reorder::Off,
        margin: 0,
        fill_timeout: 0,
        messages: false,
    }
}

fn engine(c: MergeConfig) -> Engine<u64> {
    Engine::new(&[c]).unwrap()
}

/// Handle encoding: leg * 1e9 + sequence index.
fn h(leg: usize, i: u64) -> u64 {
    leg as u64 * 1_000_000_000 + i
}

fn rtp(seq: u64, ssrc: u64) -> SeqSample {
    SeqSample {
        source: ssrc,
        ..SeqSample::new(seq & 0xFFFF, 16)
    }
}

fn put(e: &mut Engine<u64>, r: &mut Rec, leg: usize, seq: u64, t: u64) {
    e.poll(t, r);
    e.insert((0, leg), rtp(seq, 7), Verdict::Good, h(leg, seq), t, r);
}

fn put_bad(e: &mut Engine<u64>, r: &mut Rec, leg: usize, seq: u64, t: u64) {
    e.poll(t, r);
    e.insert((0, leg), rtp(seq, 7), Verdict::Corrupt, h(leg, seq), t, r);
}

/// Every handle given in came back exactly once (shared with the other
/// engine test modules).
pub(super) fn all_back(r: &Rec, given: usize) {
    let mut ids: Vec<u64> = r.returned().copied().collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "a handle came back twice");
    assert_eq!(n, given, "handles lost or invented");
}

#[test]
fn primary_clean_sends_each_packet_on_primary_arrival() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for i in 0..100u64 {
        let t = i * 100;
        put(&mut e, &mut r, 0, 1000 + i, t);
        // Sent the moment the primary's copy arrived.
        assert_eq!(r.sent.len() as u64, i + 1);
        assert_eq!(r.sent.last().unwrap().info.rx_time, t);
        put(&mut e, &mut r, 1, 1000 + i, t + 30);
    }
    assert_eq!(r.seqs(), (1000..1100).collect::<Vec<_>>());
    assert!(r.legs().iter().all(|&l| l == 0));
    assert_eq!(r.freed_as(FreeReason::Duplicate), 100);
    let c = e.counters(0);
    assert_eq!(
        (c.sent, c.legs[0].used, c.legs[1].duplicates),
        (100, 100, 100)
    );
    assert_eq!(c.unrecoverable, 0);
    assert_eq!(e.held(0), 0);
    all_back(&r, 200);
}

#[test]
fn secondary_leading_within_max_delay_still_uses_primary() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    // Both legs up first.
    put(&mut e, &mut r, 0, 0, 0);
    put(&mut e, &mut r, 1, 0, 1);
    for i in 1..200u64 {
        let t = i * 100;
        put(&mut e, &mut r, 1, i, t); // secondary 600 ticks ahead of primary
        if i >= 6 {
            put(&mut e, &mut r, 0, i - 5, t + 100 - 1);
        }
    }
    for i in 195..200 {
        put(&mut e, &mut r, 0, i, 20_000 + i);
    }
    assert_eq!(r.seqs(), (0..200).collect::<Vec<_>>());
    assert!(r.legs().iter().all(|&l| l == 0), "{:?}", r.legs());
    assert_eq!(e.counters(0).legs[1].duplicates, 200);
    all_back(&r, 400);
}

#[test]
fn primary_loss_waits_max_delay_then_sends_secondary() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for i in 0..10u64 {
        let t = i * 100;
        if i != 5 {
            put(&mut e, &mut r, 0, i, t);
        }
        put(&mut e, &mut r, 1, i, t + 200);
    }
    // Primary's 6.. arrived from t=600; the gap at 5 waits until 600 + MD.
    assert_eq!(r.seqs(), (0..5).collect::<Vec<_>>());
    e.poll(600 + MD - 1, &mut r);
    assert_eq!(r.sent.len(), 5);
    e.poll(600 + MD, &mut r);
    assert_eq!(r.seqs(), (0..10).collect::<Vec<_>>());
    assert_eq!(r.legs()[5], 1);
    assert_eq!(r.legs().iter().filter(|&&l| l == 1).count(), 1);
    assert_eq!(e.counters(0).substituted, 1);
    all_back(&r, 19);
}

#[test]
fn corrupt_primary_copy_is_replaced_at_once() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    put(&mut e, &mut r, 0, 0, 0);
    put(&mut e, &mut r, 1, 1, 10); // secondary first, primary up: waits
    assert_eq!(r.sent.len(), 1);
    put_bad(&mut e, &mut r, 0, 1, 20);
    assert_eq!(r.seqs(), vec![0, 1]);
    assert_eq!(r.legs(), vec![0, 1]);
    put_bad(&mut e, &mut r, 0, 2, 30); // corrupt first, then secondary: at once
    put(&mut e, &mut r, 1, 2, 40);
    assert_eq!(r.legs(), vec![0, 1, 1]);
    assert!(r.sent.iter().all(|x| x.handle != h_bad()));
    assert_eq!(e.counters(0).legs[0].corrupt_dropped, 2);
    all_back(&r, 5);
}

fn h_bad() -> u64 {
    u64::MAX
}

#[test]
fn silent_primary_goes_down_then_secondary_flows_at_once_and_switches_back() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    put(&mut e, &mut r, 0, 0, 0);
    put(&mut e, &mut r, 1, 0, 5);
    assert!(e.leg_is_up(0, 0) && e.leg_is_up(0, 1));
    // Primary goes silent; the secondary keeps coming (leading nothing).
    let mut t = 100;
    let mut seq = 1;
    while t < LT + 2000 {
        put(&mut e, &mut r, 1, seq, t);
        seq += 1;
        t += 100;
    }
    assert!(!e.leg_is_up(0, 0));
    assert!(r.event_kinds().contains(&EventKind::LegDown { leg: 0 }));
    assert!(r
        .event_kinds()
        .contains(&EventKind::Switch { from: 0, to: 1 }));
    // Once down, a secondary packet is sent the moment it arrives.
    let n = r.sent.len();
    put(&mut e, &mut r, 1, seq, t);
    assert_eq!(r.sent.len(), n + 1);
    assert_eq!(r.seqs(), (0..=seq).collect::<Vec<_>>());
    // Primary returns: up at its first good packet, preferred again.
    put(&mut e, &mut r, 0, seq + 1, t + 100);
    assert!(e.leg_is_up(0, 0));
    assert!(r
        .event_kinds()
        .contains(&EventKind::Switch { from: 1, to: 0 }));
    assert_eq!(r.sent.last().unwrap().info.leg, 0);
    assert_eq!(e.counters(0).switches, 2);
}

#[test]
fn hitless_takes_first_good_copy() {
    let mut e = engine(cfg(Mode::Hitless));
    let mut r = Rec::default();
    for i in 0..50u64 {
        let leg_first = (i % 3 == 0) as usize;
        put(&mut e, &mut r, leg_first, i, i * 100);
        put(&mut e, &mut r, 1 - leg_first, i, i * 100 + 50);
    }
    assert_eq!(r.seqs(), (0..50).collect::<Vec<_>>());
    for (i, l) in r.legs().iter().enumerate() {
        assert_eq!(*l, (i % 3 == 0) as usize);
    }
    all_back(&r, 100);
}

#[test]
fn loss_on_every_leg_is_skipped_as_gap_and_never_stalls() {
    for mode in [Mode::Primary, Mode::Hitless] {
        let mut e = engine(cfg(mode));
        let mut r = Rec::default();
        for i in 0..20u64 {
            if (7..10).contains(&i) {
                continue;
            }
            put(&mut e, &mut r, 0, i, i * 100);
            put(&mut e, &mut r, 1, i, i * 100 + 10);
        }
        assert_eq!(r.sent.len(), 7);
        e.poll(1000 + MD, &mut r);
        let want: Vec<u64> = (0..20).filter(|i| !(7..10).contains(i)).collect();
        assert_eq!(r.seqs(), want);
        assert_eq!(e.counters(0).unrecoverable, 3);
        assert_eq!(e.counters(0).gaps, 1);
        let kinds = r.event_kinds();
        let gap = kinds
            .iter()
            .find(|k| matches!(k, EventKind::Gap { .. }))
            .unwrap();
        assert!(
            matches!(gap, EventKind::Gap { count: 3, first_seq, .. } if first_seq & 0xFFFF == 7)
        );
        // Late copies of the skipped packets are freed as late.
        put(&mut e, &mut r, 1, 8, 5000);
        assert_eq!(r.freed.last().unwrap().1, FreeReason::Late);
    }
}

#[test]
fn rollover_is_seamless() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for i in 0..200u64 {
        let s = (65_470 + i) & 0xFFFF;
        put(&mut e, &mut r, 0, s, i * 10);
        put(&mut e, &mut r, 1, s, i * 10 + 3);
    }
    let want: Vec<u64> = (0..200).map(|i| (65_470 + i) & 0xFFFF).collect();
    assert_eq!(r.seqs(), want);
    let ext: Vec<u64> = r.sent.iter().map(|x| x.info.ext_seq).collect();
    assert!(ext.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(e.counters(0).restarts, 0);
}

#[test]
fn in_leg_reorder_and_duplicates() {
    let mut e = engine(cfg(Mode::Hitless));
    let mut r = Rec::default();
    let order = [0u64, 2, 1, 1, 3, 5, 4, 4, 6];
    for (k, &s) in order.iter().enumerate() {
        e.insert(
            (0, 0),
            rtp(s, 7),
            Verdict::Good,
            100 + k as u64,
            k as u64 * 10,
            &mut r,
        );
    }
    assert_eq!(r.seqs(), (0..=6).collect::<Vec<_>>());
    let c = e.counters(0).legs[0];
    assert_eq!(c.duplicates, 2);
    assert_eq!(c.out_of_order, 4);
    all_back(&r, order.len());
}

#[test]
fn window_overrun_moves_window_and_counts_what_it_passes() {
    let mut c = cfg(Mode::Primary);
    c.capacity = 16;
    let mut e = engine(c);
    let mut r = Rec::default();
    put(&mut e, &mut r, 0, 0, 0);
    // 1 is lost on both legs; 2..=40 arrive within max_delay on the primary.
    for i in 2..=40u64 {
        put(&mut e, &mut r, 0, i, 10 + i);
    }
    // Position 1 was pushed out of the 16-slot window by 17 (before its
    // max_delay): skipped and counted, and everything after it flowed.
    assert_eq!(r.seqs(), [0].into_iter().chain(2..=40).collect::<Vec<_>>());
    assert_eq!(e.counters(0).unrecoverable, 1);
    assert_eq!(e.counters(0).overruns, 1);
    assert_eq!(
        r.event_kinds()
            .iter()
            .filter(|k| matches!(k, EventKind::Gap { count: 1, .. }))
            .count(),
        1
    );
}

#[test]
fn lone_wild_packet_is_counted_and_dropped() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for i in 0..40u64 {
        put(&mut e, &mut r, 0, 100 + i, i * 10);
        if i == 10 {
            // Far outside the window on the secondary, and a foreign SSRC.
            e.insert((0, 1), rtp(30_000, 7), Verdict::Good, 77, i * 10, &mut r);
            e.insert((0, 1), rtp(5, 99), Verdict::Good, 78, i * 10, &mut r);
        }
    }
    assert_eq!(r.seqs(), (100..140).collect::<Vec<_>>());
    assert_eq!(e.counters(0).restarts, 0);
    e.drain(1000, &mut r);
    assert_eq!(e.counters(0).legs[1].wild, 2);
    all_back(&r, 42);
}

#[test]
fn ssrc_restart_on_legs_at_different_moments_neither_duplicates_nor_stalls() {
    for (mode, lag_leg) in [
        (Mode::Primary, 1),
        (Mode::Primary, 0),
        (Mode::Hitless, 1),
        (Mode::Hitless, 0),
    ] {
        let mut e = engine(cfg(mode));
        let mut r = Rec::default();
        let mut given = 0;
        // Source A sends 0..100 (seq 1000..), then source B 100..200 (seq 50..).
        let sample = |i: u64| {
            if i < 100 {
                rtp(1000 + i, 0xA)
            } else {
                rtp(50 + i - 100, 0xB)
            }
        };
        let lag = 300; // 3 packets
        let mut evs: Vec<(u64, usize, u64)> = Vec::new();
        for i in 0..200u64 {
            for leg in 0..2 {
                let t = i * 100 + if leg == lag_leg { lag } else { 0 } + leg as u64;
                evs.push((t, leg, i));
            }
        }
        evs.sort();
        for (t, leg, i) in evs {
            e.poll(t, &mut r);
            e.insert((0, leg), sample(i), Verdict::Good, h(leg, i), t, &mut r);
            given += 1;
        }
        e.poll(1_000_000, &mut r);
        let ids: Vec<u64> = r.sent.iter().map(|x| x.handle % 1_000_000_000).collect();
        assert_eq!(ids, (0..200).collect::<Vec<_>>(), "{mode:?} lag {lag_leg}");
        assert_eq!(e.counters(0).restarts, 1);
        assert_eq!(e.counters(0).unrecoverable, 0);
        let ep: Vec<u32> = r.sent.iter().map(|x| x.info.epoch).collect();
        assert!(ep[..100].iter().all(|&x| x == 0) && ep[100..].iter().all(|&x| x == 1));
        all_back(&r, given);
    }
}

/// `SendInfo::epoch` promise: in epoch 0 `ext_seq` is the wire sequence.
fn epoch_labels_hold(r: &Rec) {
    for x in &r.sent {
        if x.info.epoch == 0 {
            assert_eq!(
                x.info.ext_seq & 0xFFFF,
                x.handle % 1_000_000_000,
                "epoch 0 ext_seq is not the wire sequence: {x:?}"
            );
        }
    }
}

#[test]
fn restart_joining_leg_held_below_the_run_is_labelled_new_epoch() {
    // fuzz/corpus/merge_engine/epoch-label: leg 1 starts source 1 at 17;
    // source 2 then comes as 46 (leg 0), 5 (leg 1), 6, 55 (leg 0). Leg 0's
    // run confirms the restart; leg 1's held 5 joins below leg 0's lowest
    // (6), i.e. in the boundary, and was labelled epoch 0 at position 25.
    let mut c = cfg(Mode::Hitless);
    c.legs = 3;
    c.restart_after = 3;
    let mut e = engine(c);
    let mut r = Rec::default();
    let steps = [
        (1, 17, 1, 1),
        (0, 46, 2, 20),
        (1, 5, 2, 21),
        (0, 6, 2, 22),
        (0, 55, 2, 48),
    ];
    for (leg, seq, src, t) in steps {
        e.insert(
            (0, leg),
            rtp(seq, src),
            Verdict::Good,
            h(leg, seq),
            t,
            &mut r,
        );
        e.poll(t, &mut r);
    }
    e.drain(100, &mut r);
    all_back(&r, steps.len());
    assert_eq!(e.counters(0).restarts, 1);
    epoch_labels_hold(&r);
    let sent: Vec<(u64, u32)> = r
        .sent
        .iter()
        .map(|x| (x.handle % 1_000_000_000, x.info.epoch))
        .collect();
    assert_eq!(sent, [(17, 0), (5, 1), (6, 1), (46, 1), (55, 1)]);
}

#[test]
fn restart_head_lost_on_the_first_leg_comes_from_the_other_labelled_new_epoch() {
    // Source A 1000.. for 50 packets, then source B 50..; leg 0 loses B's
    // first two packets, leg 1 lags 3 packets: its 50 and 51 arrive after
    // leg 0 confirmed the restart, in the boundary below the new epoch's
    // start. They go out in order, labelled epoch 1.
    for mode in [Mode::Primary, Mode::Hitless] {
        let mut e = engine(cfg(mode));
        let mut r = Rec::default();
        let wire = |i: u64| if i < 50 { (1000 + i, 0xA) } else { (i, 0xB) };
        let mut evs = Vec::new();
        for i in 0..100u64 {
            for leg in 0..2usize {
                if leg == 0 && (50..52).contains(&i) {
                    continue;
                }
                evs.push((
                    i * 100 + if leg == 1 { 300 } else { 0 } + leg as u64,
                    leg,
                    i,
                ));
            }
        }
        evs.sort();
        let given = evs.len();
        for (t, leg, i) in evs {
            e.poll(t, &mut r);
            let (seq, src) = wire(i);
            e.insert(
                (0, leg),
                rtp(seq, src),
                Verdict::Good,
                h(leg, seq),
                t,
                &mut r,
            );
        }
        e.poll(1_000_000, &mut r);
        e.drain(1_000_000, &mut r);
        all_back(&r, given);
        assert_eq!(e.counters(0).restarts, 1, "{mode:?}");
        epoch_labels_hold(&r);
        let got: Vec<(u64, u32)> = r
            .sent
            .iter()
            .map(|x| (x.handle % 1_000_000_000, x.info.epoch))
            .collect();
        let want: Vec<(u64, u32)> = (0..100u64)
            .map(|i| (wire(i).0, u32::from(i >= 50)))
            .collect();
        assert_eq!(got, want, "{mode:?}");
    }
}

#[test]
fn sequence_step_back_held_for_k_packets_resynchronises() {
    // Same SSRC, sequence jumps back by 20000 (a restarted encoder).
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    let seq = |i: u64| if i < 50 { 30_000 + i } else { 10_000 + i };
    for i in 0..120u64 {
        e.poll(i * 100, &mut r);
        e.insert(
            (0, 0),
            rtp(seq(i), 7),
            Verdict::Good,
            h(0, i),
            i * 100,
            &mut r,
        );
        e.poll(i * 100 + 40, &mut r);
        e.insert(
            (0, 1),
            rtp(seq(i), 7),
            Verdict::Good,
            h(1, i),
            i * 100 + 40,
            &mut r,
        );
    }
    e.poll(1_000_000, &mut r);
    let ids: Vec<u64> = r.sent.iter().map(|x| x.handle).collect();
    assert_eq!(ids, (0..120).collect::<Vec<_>>());
    assert_eq!(e.counters(0).restarts, 1);
    assert_eq!(e.counters(0).unrecoverable, 0);
    // The merged sequence jumps by the epoch margin (max(4, 64 / 8)).
    assert_eq!(r.sent[50].info.ext_seq, r.sent[49].info.ext_seq + 1 + 8);
    all_back(&r, 240);
}

/// An engine of 64-bit message numbers (MoldUDP64-like framings).
fn mold_engine(mode: Mode) -> Engine<u64> {
    let mut c = cfg(mode);
    c.seq_bits = 64;
    engine(c)
}

/// A MoldUDP64-like packet of one session: `count` messages from `seq`
/// (a count of 0 is a heartbeat).
fn mold(seq: u64, count: u16) -> SeqSample {
    SeqSample {
        source: 42,
        heartbeat: count == 0,
        span: count,
        ..SeqSample::new(seq, 64)
    }
}

/// A MoldUDP64 End of Session of `session` announcing `next` as the next
/// sequence number (shared with the message and session tests).
pub(super) fn end_of_session(session: u64, next: u64) -> SeqSample {
    SeqSample {
        source: session,
        heartbeat: true,
        end_of_session: true,
        span: 0,
        ..SeqSample::new(next, 64)
    }
}

#[test]
fn heartbeats_refresh_liveness_and_are_freed() {
    let mut e = mold_engine(Mode::Primary);
    let mut r = Rec::default();
    e.insert((0, 0), mold(100, 3), Verdict::Good, 1, 0, &mut r);
    e.insert((0, 1), mold(100, 3), Verdict::Good, 2, 1, &mut r);
    // Packets of 3 messages each: next starts at 103.
    e.insert((0, 0), mold(103, 2), Verdict::Good, 3, 10, &mut r);
    e.insert((0, 1), mold(103, 2), Verdict::Good, 4, 11, &mut r);
    assert_eq!(
        r.sent.iter().map(|x| x.info.ext_seq).collect::<Vec<_>>(),
        vec![100, 103]
    );
    // Only heartbeats for a long time: legs stay up, nothing is sent.
    for k in 1..50u64 {
        e.poll(k * 1000, &mut r);
        e.insert(
            (0, 0),
            mold(105, 0),
            Verdict::Good,
            100 + k,
            k * 1000,
            &mut r,
        );
        e.insert(
            (0, 1),
            mold(105, 0),
            Verdict::Good,
            200 + k,
            k * 1000,
            &mut r,
        );
    }
    assert!(e.leg_is_up(0, 0) && e.leg_is_up(0, 1));
    assert_eq!(r.sent.len(), 2);
    assert_eq!(r.freed_as(FreeReason::Heartbeat), 98);
    e.insert((0, 0), mold(105, 1), Verdict::Good, 9, 50_000, &mut r);
    assert_eq!(r.sent.last().unwrap().info.ext_seq, 105);
    assert_eq!(e.counters(0).unrecoverable, 0);
}

#[test]
fn moldudp64_lost_packet_counts_its_messages() {
    let mut e = mold_engine(Mode::Hitless);
    let mut r = Rec::default();
    let m = |seq: u64| mold(seq, 4);
    for (k, s) in [0u64, 4, 12, 16].iter().enumerate() {
        e.insert((0, 0), m(*s), Verdict::Good, k as u64, k as u64, &mut r);
    }
    e.poll(10 + MD, &mut r);
    assert_eq!(
        r.sent.iter().map(|x| x.info.ext_seq).collect::<Vec<_>>(),
        vec![0, 4, 12, 16]
    );
    assert_eq!(e.counters(0).unrecoverable, 4);
}

/// Packets of 3 messages in step on both legs go out on the fast path
/// (nothing held) exactly as the full path sends them: at their first
/// number, the cursor past the other two. A copy starting inside a sent
/// packet's numbers is `late` even laps of the 64-slot ring later (the
/// passed numbers are marked skipped, clearing the previous lap's "sent"),
/// the other leg's copies are duplicates, and a loss still counts its
/// messages.
#[test]
fn multi_message_packets_on_the_fast_path() {
    let mut e = mold_engine(Mode::Primary);
    let mut r = Rec::default();
    let m = |seq: u64| mold(seq, 3);
    let mut h = 0;
    let mut t = 0;
    // 100 packets: 300 numbers, almost 5 laps of the ring.
    for k in 0..100u64 {
        for leg in 0..2 {
            h += 1;
            t += 1;
            e.insert((0, leg), m(1 + 3 * k), Verdict::Good, h, t, &mut r);
        }
        assert_eq!(e.held(0), 0, "packet {k} was held");
    }
    let want: Vec<u64> = (0..100).map(|k| 1 + 3 * k).collect();
    assert_eq!(
        r.sent.iter().map(|x| x.info.ext_seq).collect::<Vec<_>>(),
        want
    );
    assert!(r.sent.iter().all(|x| x.info.span == 3 && x.info.leg == 0));
    assert_eq!(r.freed_as(FreeReason::Duplicate), 100);
    // A copy of leg 1 starting at a passed number inside the last packets.
    for q in [296u64, 293, 290] {
        h += 1;
        e.insert((0, 1), m(q), Verdict::Good, h, t, &mut r);
    }
    assert_eq!(r.freed_as(FreeReason::Late), 3);
    // Packet 301 lost on both legs: 304 is held, then skipped past 3
    // numbers at max_delay.
    for leg in 0..2 {
        h += 1;
        e.insert((0, leg), m(304), Verdict::Good, h, t + 1, &mut r);
    }
    e.poll(t + 1 + MD, &mut r);
    assert_eq!(r.sent.last().map(|x| x.info.ext_seq), Some(304));
    let c = e.counters(0);
    assert_eq!((c.unrecoverable, c.sent), (3, 101));
    all_back(&r, h as usize);
}

#[test]
fn drain_returns_every_handle() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    put(&mut e, &mut r, 0, 0, 0);
    for i in 2..10 {
        put(&mut e, &mut r, 1, i, 10 + i);
        put_bad(&mut e, &mut r, 0, i + 20, 10 + i);
    }
    e.insert((0, 1), rtp(40_000, 7), Verdict::Good, 999, 30, &mut r);
    assert!(e.held(0) > 0);
    e.drain(40, &mut r);
    assert_eq!(e.held(0), 0);
    assert_eq!(r.seqs(), (0..1).chain(2..10).collect::<Vec<_>>());
    all_back(&r, 18);
}

#[test]
fn bad_indices_and_widths_are_freed_not_panics() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    e.insert((5, 0), rtp(1, 7), Verdict::Good, 1, 0, &mut r);
    e.insert((0, 3), rtp(1, 7), Verdict::Good, 2, 0, &mut r);
    e.insert((0, 0), SeqSample::new(1, 32), Verdict::Good, 3, 0, &mut r);
    assert_eq!(r.freed_as(FreeReason::Invalid), 3);
    assert!(!e.leg_is_up(9, 9));
    assert!(Engine::<u64>::new(&[MergeConfig {
        legs: 9,
        ..cfg(Mode::Primary)
    }])
    .unwrap_err()
    .starts_with("stream 0: legs 9"));
}

#[test]
fn slot_bytes_for_a_512_window() {
    let e: Engine<std::ptr::NonNull<u8>> = Engine::new(&[MergeConfig::default()]).unwrap();
    // 512 slots x 2 legs x (16 B slot + 2 B payload digest).
    assert_eq!(e.slot_bytes_per_stream(0), 18 * 1024);
}

#[test]
fn deadlines_touch_only_streams_with_news() {
    let configs = vec![cfg(Mode::Primary); 1000];
    let mut e: Engine<u64> = Engine::new(&configs).unwrap();
    let mut r = Rec::default();
    for s in 0..1000 {
        e.insert((s, 0), rtp(0, 7), Verdict::Good, s as u64, 0, &mut r);
        e.insert((s, 1), rtp(0, 7), Verdict::Good, 5000 + s as u64, 0, &mut r);
    }
    // Only stream 500 has a gap.
    e.insert((500, 1), rtp(2, 7), Verdict::Good, 9999, 10, &mut r);
    assert_eq!(e.next_deadline(500), 10 + MD);
    e.poll(10 + MD + MD / 64, &mut r);
    assert_eq!(r.sent.last().unwrap().handle, 9999);
    assert_eq!(e.counters(500).unrecoverable, 1);
    assert_eq!(e.counters(499).unrecoverable, 0);
}

#[test]
fn state_sizes() {
    use std::mem::size_of;
    // Printed for the report (cargo test -- --nocapture state_sizes).
    println!(
        "StreamState {} B, Held<ptr> {} B, Slot<ptr> {} B",
        size_of::<super::stream::StreamState>(),
        size_of::<super::stream::Held<std::ptr::NonNull<u8>>>(),
        size_of::<crate::slots::Slot<std::ptr::NonNull<u8>>>()
    );
    assert_eq!(size_of::<crate::slots::Slot<std::ptr::NonNull<u8>>>(), 16);
}

/// Copies that arrive after their packet went out (the usual state of the
/// secondary) still count reordering on their leg: the per-leg position
/// must advance on that fast path too.
#[test]
fn out_of_order_counted_behind_the_cursor() {
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for q in 0..=5u64 {
        e.insert(
            (0, 0),
            SeqSample::new(q, 16),
            Verdict::Good,
            h(0, q),
            10 + q,
            &mut r,
        );
    }
    for q in [0u64, 1, 3, 2, 4, 5] {
        e.insert(
            (0, 1),
            SeqSample::new(q, 16),
            Verdict::Good,
            h(1, q),
            20 + q,
            &mut r,
        );
    }
    assert_eq!(e.counters(0).legs[1].out_of_order, 1);
    assert_eq!(e.counters(0).legs[0].out_of_order, 0);
    assert_eq!(r.seqs(), vec![0, 1, 2, 3, 4, 5]);
}

/// `primary_reorder = Some(r)`: a missing primary copy is given up as soon
/// as the primary has delivered a packet more than `r` positions later; the
/// secondary's copy goes at once instead of after `max_delay`.
#[test]
fn primary_reorder_gives_up_on_a_missing_primary_copy_early() {
    for r in [0u32, 2] {
        let mut e = engine(MergeConfig {
            reorder: Reorder::Fixed(r),
            ..cfg(Mode::Primary)
        });
        let mut rec = Rec::default();
        let mut t = 0;
        let both = |e: &mut Engine<u64>, rec: &mut Rec, q: u64, primary: bool, t: u64| {
            e.insert(
                (0, 1),
                SeqSample::new(q, 16),
                Verdict::Good,
                h(1, q),
                t,
                rec,
            );
            if primary {
                e.insert(
                    (0, 0),
                    SeqSample::new(q, 16),
                    Verdict::Good,
                    h(0, q),
                    t,
                    rec,
                );
            }
        };
        both(&mut e, &mut rec, 0, true, t);
        // Primary loses 1; the secondary's copy waits while the primary has
        // not yet moved more than r past it.
        both(&mut e, &mut rec, 1, false, t);
        for q in 2..2 + u64::from(r) {
            t += 1;
            both(&mut e, &mut rec, q, true, t);
            assert_eq!(
                rec.seqs(),
                vec![0],
                "r={r}: waited for the primary at q={q}"
            );
        }
        // The primary delivers 2 + r: more than r past 1, so 1 is missing.
        t += 1;
        both(&mut e, &mut rec, 2 + u64::from(r), true, t);
        assert!(t < MD, "well before max_delay");
        let expected: Vec<u64> = (0..=2 + u64::from(r)).collect();
        assert_eq!(rec.seqs(), expected, "r={r}");
        assert_eq!(rec.legs()[1], 1, "r={r}: 1 from the secondary");
        assert!(
            rec.legs().iter().skip(2).all(|&l| l == 0),
            "r={r}: the rest from the primary"
        );
    }
    // Off (the default): the same schedule waits for max_delay.
    let mut e = engine(cfg(Mode::Primary));
    let mut rec = Rec::default();
    for (q, primary) in [(0u64, true), (1, false), (2, true), (3, true)] {
        e.insert(
            (0, 1),
            SeqSample::new(q, 16),
            Verdict::Good,
            h(1, q),
            1,
            &mut rec,
        );
        if primary {
            e.insert(
                (0, 0),
                SeqSample::new(q, 16),
                Verdict::Good,
                h(0, q),
                1,
                &mut rec,
            );
        }
    }
    assert_eq!(rec.seqs(), vec![0]);
    e.poll(1 + MD, &mut rec);
    assert_eq!(rec.seqs(), vec![0, 1, 2, 3]);
}

// ------------------------------------------------------- learned evidence

/// Learned evidence (`Reorder::Auto`) with a 10-tick margin; packets every
/// `P` ticks.
fn cfg_auto(mode: Mode) -> MergeConfig {
    MergeConfig {
        reorder: Reorder::Auto,
        margin: 10,
        fill_timeout: 0,
        ..cfg(mode)
    }
}
const P: u64 = 20;

/// Both legs deliver `from..to` in order, leg 1 `lag` ticks after leg 0.
fn both(e: &mut Engine<u64>, r: &mut Rec, from: u64, to: u64, lag: u64) {
    for s in from..to {
        put(e, r, 0, s, s * P);
        put(e, r, 1, s, s * P + lag);
    }
}

#[test]
fn auto_primary_loss_sends_the_secondary_after_the_learned_lag_not_max_delay() {
    let mut e = engine(cfg_auto(Mode::Primary));
    let mut r = Rec::default();
    // One position in 32 is sampled: 320 packets give 10 lag samples.
    both(&mut e, &mut r, 0, 320, 3);
    // The primary loses 320; the secondary's copy comes 3 ticks after the
    // primary's would have.
    put(&mut e, &mut r, 1, 320, 320 * P + 3);
    assert_eq!(r.sent.len(), 320, "not yet: the primary may still come");
    // Learned: the primary is never behind the first copy; margin 10.
    e.poll(320 * P + 3 + 9, &mut r);
    assert_eq!(r.sent.len(), 320);
    e.poll(320 * P + 3 + 10, &mut r);
    assert_eq!(r.sent.len(), 321);
    assert_eq!(r.sent[320].info.leg, 1);
    // The primary's copy itself still wins whenever it comes in time (352
    // is a sampled position: the lag is learned from it).
    both(&mut e, &mut r, 321, 352, 3);
    put(&mut e, &mut r, 1, 352, 352 * P);
    put(&mut e, &mut r, 0, 352, 352 * P + 5);
    assert_eq!(r.sent[352].info.leg, 0);
    let ev = e.evidence(0);
    assert_eq!(ev.lag[0], 5, "primary once 5 ticks behind the secondary");
    assert_eq!(ev.lag[1], 3);
    assert_eq!(ev.depth, [0; MAX_LEGS]);
    assert_eq!(ev.skew_max, 5);
    assert_eq!(e.counters(0).lost_early, 0);
}

#[test]
fn auto_common_loss_is_skipped_once_both_legs_moved_past_it() {
    for mode in [Mode::Primary, Mode::Hitless] {
        let mut e = engine(cfg_auto(mode));
        let mut r = Rec::default();
        both(&mut e, &mut r, 0, 64, 1);
        // 64 lost on both legs; the legs move on. Far from max_delay, the
        // position rule (moved past by depth 0 + 1) or the time rule
        // (later than lag + margin) gives it up.
        put(&mut e, &mut r, 0, 65, 65 * P);
        put(&mut e, &mut r, 1, 65, 65 * P + 1);
        put(&mut e, &mut r, 0, 66, 66 * P);
        put(&mut e, &mut r, 1, 66, 66 * P + 1);
        const { assert!(66 * P + 1 < 65 * P + MD) };
        assert_eq!(r.seqs().last(), Some(&66), "{mode:?}");
        let c = e.counters(0);
        assert_eq!((c.unrecoverable, c.gaps, c.lost_early), (1, 1, 0));
        assert!(r
            .event_kinds()
            .iter()
            .any(|k| matches!(k, EventKind::Gap { count: 1, .. })));
    }
}

#[test]
fn auto_reorder_deeper_than_learned_is_a_counted_early_loss_then_learned() {
    let mut e = engine(cfg_auto(Mode::Hitless));
    let mut r = Rec::default();
    both(&mut e, &mut r, 0, 64, 1);
    // 64 lost on leg 1 and reordered by 3 on leg 0: given up when leg 0
    // delivers 66 (depth 0 + 1 exceeded) and leg 1 has moved past too.
    for s in 65..68 {
        put(&mut e, &mut r, 1, s, s * P);
    }
    put(&mut e, &mut r, 0, 65, 65 * P);
    put(&mut e, &mut r, 0, 66, 66 * P);
    put(&mut e, &mut r, 0, 67, 67 * P);
    put(&mut e, &mut r, 0, 64, 67 * P + 1);
    assert!(!r.seqs().contains(&64));
    let c = e.counters(0);
    assert_eq!((c.unrecoverable, c.lost_early, c.legs[0].late), (1, 1, 1));
    assert_eq!(e.evidence(0).depth[0], 3);
    // The same pattern again is now within the learned depth: no loss.
    both(&mut e, &mut r, 68, 100, 1);
    for s in 101..104 {
        put(&mut e, &mut r, 1, s, s * P);
    }
    for s in 101..104 {
        put(&mut e, &mut r, 0, s, s * P);
    }
    put(&mut e, &mut r, 0, 100, 103 * P + 1);
    assert!(r.seqs().contains(&100));
    assert_eq!(e.counters(0).lost_early, 1);
    assert_eq!(r.seqs(), (0..104).filter(|&s| s != 64).collect::<Vec<_>>());
}

#[test]
fn auto_waits_max_delay_while_evidence_is_silent() {
    // Fresh stream: no evidence yet, so a primary loss waits max_delay as
    // with Reorder::Off.
    let mut e = engine(cfg_auto(Mode::Primary));
    let mut r = Rec::default();
    put(&mut e, &mut r, 0, 0, 0);
    put(&mut e, &mut r, 1, 0, 1);
    put(&mut e, &mut r, 1, 1, P);
    put(&mut e, &mut r, 0, 2, 2 * P);
    put(&mut e, &mut r, 1, 2, 2 * P);
    e.poll(P + MD - 1, &mut r);
    assert_eq!(r.sent.len(), 1);
    e.poll(P + MD, &mut r);
    assert_eq!(r.seqs(), vec![0, 1, 2]);
}

/// Issue 17: with every leg down (no leg preferred) the primary's copy is
/// not a substitute: `substituted` counted every such send.
#[test]
fn primary_copies_sent_while_every_leg_is_down_are_not_substituted() {
    let mut c = cfg(Mode::Primary);
    c.leg_timeout = MD / 10;
    let mut e = engine(c);
    let mut r = Rec::default();
    put(&mut e, &mut r, 0, 0, 0);
    // 1 is lost; 2 waits for it while the primary times out.
    put(&mut e, &mut r, 0, 2, 10);
    e.poll(10 + c.leg_timeout + 1, &mut r);
    assert!(!e.leg_is_up(0, 0) && !e.leg_is_up(0, 1));
    e.poll(10 + MD + 1, &mut r);
    e.drain(10 * MD, &mut r);
    assert_eq!(r.seqs(), [0, 2]);
    assert_eq!(r.legs(), [0, 0]);
    assert_eq!(e.counters(0).substituted, 0);
    all_back(&r, 2);
}

#[test]
fn pool_low_sheds_duplicates_first_then_furthest_from_the_cursor() {
    // Primary mode, leg 0 lost 10: the cursor waits at 10 while both legs
    // deliver 11..15. Held: 10 (leg 1), 11..15 on both legs = 11 copies.
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for i in 0..10 {
        put(&mut e, &mut r, 0, i, i * 10);
        put(&mut e, &mut r, 1, i, i * 10 + 1);
    }
    put(&mut e, &mut r, 1, 10, 101);
    for i in 11..16 {
        put(&mut e, &mut r, 0, i, i * 10);
        put(&mut e, &mut r, 1, i, i * 10 + 1);
    }
    assert_eq!(e.held(0), 11);
    let before = r.freed.len();
    // Duplicates first: the five leg-1 copies of 11..15 (the preferred
    // leg 0 keeps its copies), lowest position first.
    assert_eq!(e.shed(5, 200, &mut r), 5);
    let shed: Vec<u64> = r.freed[before..].iter().map(|&(h, _)| h).collect();
    assert_eq!(shed, (11..16).map(|i| h(1, i)).collect::<Vec<_>>());
    assert!(r.freed[before..]
        .iter()
        .all(|&(_, w)| w == FreeReason::PoolLow));
    // Then whole positions, furthest first: 15, 14.
    assert_eq!(e.shed(2, 200, &mut r), 2);
    let shed: Vec<u64> = r.freed[before + 5..].iter().map(|&(h, _)| h).collect();
    assert_eq!(shed, [h(0, 15), h(0, 14)]);
    assert_eq!(e.held(0), 4);
    let c = e.counters(0);
    assert_eq!((c.legs[0].shed_pool_low, c.legs[1].shed_pool_low), (2, 5));
    let pool_events = r
        .event_kinds()
        .iter()
        .filter(|k| matches!(k, EventKind::PoolLow { .. }))
        .count();
    assert_eq!(pool_events, 2, "one per call and pass that shed any");
    // Recovers as soon as traffic allows: 10 goes (secondary, after
    // max_delay), 11..13 from leg 0, 14 and 15 come again and go in order.
    put(&mut e, &mut r, 0, 16, 200);
    e.poll(101 + MD, &mut r);
    for (i, t) in [(14, 101 + MD + 1), (15, 101 + MD + 2)] {
        // New handles: leg 1's first copies of 14 and 15 were shed.
        e.insert((0, 1), rtp(i, 7), Verdict::Good, h(2, i), t, &mut r);
    }
    e.poll(10 * MD, &mut r);
    e.drain(10 * MD, &mut r);
    assert_eq!(r.seqs(), (0..17).collect::<Vec<_>>());
    assert_eq!(e.counters(0).unrecoverable, 0);
    all_back(&r, 20 + 1 + 10 + 1 + 2);
}

#[test]
fn pool_low_shed_of_an_empty_engine_is_zero_and_silent() {
    let mut e = engine(cfg(Mode::Hitless));
    let mut r = Rec::default();
    assert_eq!(e.shed(100, 0, &mut r), 0);
    put(&mut e, &mut r, 0, 5, 1);
    assert_eq!(e.shed(100, 2, &mut r), 0, "nothing held after a send");
    assert!(r
        .events
        .iter()
        .all(|(_, ev)| !matches!(ev.kind, EventKind::PoolLow { .. })));
}

#[test]
fn pool_low_sheds_restart_candidates_before_whole_positions() {
    // Both legs send 0..9; then leg 1 switches to a new source (two
    // candidate copies held, K = 4) while leg 0 lost 10 and holds 11..13
    // waiting for it: 5 copies held, none a duplicate.
    let mut e = engine(cfg(Mode::Primary));
    let mut r = Rec::default();
    for i in 0..10 {
        put(&mut e, &mut r, 0, i, i * 10);
        put(&mut e, &mut r, 1, i, i * 10 + 1);
    }
    for (j, seq) in [500u64, 501].into_iter().enumerate() {
        e.insert(
            (0, 1),
            rtp(seq, 9),
            Verdict::Good,
            h(1, seq),
            101 + j as u64,
            &mut r,
        );
    }
    for i in 11..14 {
        put(&mut e, &mut r, 0, i, i * 10);
    }
    assert_eq!(e.held(0), 5);
    let before = r.freed.len();
    // The candidates would go out after the whole window: they go first.
    assert_eq!(e.shed(2, 200, &mut r), 2);
    let shed: Vec<u64> = r.freed[before..].iter().map(|&(h, _)| h).collect();
    assert_eq!(shed, [h(1, 500), h(1, 501)]);
    assert_eq!(e.counters(0).legs[1].shed_pool_low, 2);
    assert_eq!(e.counters(0).legs[1].wild, 0, "shed, not counted wild");
    // Then the furthest whole position.
    assert_eq!(e.shed(1, 200, &mut r), 1);
    assert_eq!(r.freed.last().map(|&(h, _)| h), Some(h(0, 13)));
    assert_eq!(e.held(0), 2);
    e.drain(10 * MD, &mut r);
    assert_eq!(r.seqs(), (0..10).chain(11..13).collect::<Vec<_>>());
    all_back(&r, 20 + 2 + 3);
}

#[test]
fn pool_low_shares_whole_position_losses_between_streams() {
    // Two streams, each waiting for a lost 10 while leg 0 holds 11..16:
    // asked for 4, each stream gives its two furthest positions, not one
    // stream four.
    let mut e: Engine<u64> = Engine::new(&[cfg(Mode::Primary), cfg(Mode::Primary)]).unwrap();
    let mut r = Rec::default();
    for s in 0..2 {
        for i in (0..10).chain(11..17) {
            let t = i * 10;
            e.poll(t, &mut r);
            let id = s as u64 * 100 + i;
            e.insert((s, 0), rtp(i, 7), Verdict::Good, id, t, &mut r);
        }
    }
    assert_eq!((e.held(0), e.held(1)), (6, 6));
    assert_eq!(e.shed(4, 200, &mut r), 4);
    let mut shed: Vec<u64> = r.freed.iter().map(|&(h, _)| h).collect();
    shed.sort_unstable();
    assert_eq!(shed, [15, 16, 115, 116]);
    assert_eq!((e.held(0), e.held(1)), (4, 4));
    let pool_events = r
        .event_kinds()
        .iter()
        .filter(|k| matches!(k, EventKind::PoolLow { .. }))
        .count();
    assert_eq!(pool_events, 2, "one per stream that shed");
    e.drain(10 * MD, &mut r);
    all_back(&r, 32);
}

mod shed_props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]
        /// Arbitrary 2-3 leg arrivals (loss, reorder, duplicates) with
        /// shed calls between them: each call sheds min(asked, held),
        /// output strictly in order and never twice, every handle back
        /// once, every shed copy counted and in an event, the buckets add up.
        #[test]
        fn shedding_keeps_order_and_accounting(
            hitless in any::<bool>(),
            legs in 2usize..=3,
            ops in proptest::collection::vec((0usize..3, 0u64..48, any::<bool>(), 0u32..6), 1..300),
        ) {
            let mut c = cfg(if hitless { Mode::Hitless } else { Mode::Primary });
            c.legs = legs;
            let mut e = engine(c);
            let mut r = Rec::default();
            let mut t = 0;
            let mut given = 0;
            for (n, &(leg, seq, lossy, shed)) in ops.iter().enumerate() {
                t += 7;
                let seq = seq + n as u64 / 4;
                if !lossy {
                    e.poll(t, &mut r);
                    e.insert((0, leg % legs), rtp(seq, 7), Verdict::Good, n as u64, t, &mut r);
                    given += 1;
                }
                if shed > 0 {
                    let held = e.held(0);
                    let got = e.shed(shed, t, &mut r);
                    prop_assert_eq!(got as usize, (shed as usize).min(held));
                    prop_assert_eq!(e.held(0), held - got as usize);
                }
            }
            e.poll(t + 100 * MD, &mut r);
            e.drain(t + 100 * MD, &mut r);
            let ext = r.ext_seqs();
            prop_assert!(ext.windows(2).all(|w| w[0] < w[1]), "order {:?}", ext);
            let mut back: Vec<u64> = r.returned().copied().collect();
            back.sort_unstable();
            prop_assert_eq!(back, (0..ops.len() as u64).filter(|&i| !ops[i as usize].2).collect::<Vec<_>>());
            prop_assert_eq!(given, r.sent.len() + r.freed.len());
            let shed_events: u64 = r.events.iter().filter_map(|(_, ev)| match ev.kind {
                EventKind::PoolLow { shed } => Some(shed),
                _ => None,
            }).sum();
            let c = e.counters(0);
            let shed_counted: u64 = c.legs.iter().map(|l| l.shed_pool_low).sum();
            prop_assert_eq!(shed_events, shed_counted);
            prop_assert_eq!(shed_counted as usize, r.freed_as(FreeReason::PoolLow));
            for l in &c.legs[..legs] {
                let buckets = l.used + l.duplicates + l.late + l.corrupt_dropped + l.wild
                    + l.stale + l.invalid + l.heartbeats + l.shed_pool_low;
                prop_assert_eq!(buckets, l.received);
            }
        }
    }
}
