//! Message-level arbitration: legs that pack the same MoldUDP64 messages
//! into packets of different boundaries.

use super::record::Recorder;
use super::*;
use crate::seq::SeqSample;

use super::tests::{end_of_session, MD};

const SESSION: u64 = 0x5e55;

fn cfg(mode: Mode, messages: bool) -> MergeConfig {
    MergeConfig {
        leg_timeout: 100_000,
        seq_bits: 64,
        messages,
        ..super::tests::cfg(mode)
    }
}

fn mold(seq: u64, count: u16) -> SeqSample {
    SeqSample {
        source: SESSION,
        span: count,
        ..SeqSample::new(seq, 64)
    }
}

/// Handle: leg * 1e6 + first sequence of the packet.
fn h(leg: usize, seq: u64) -> u64 {
    leg as u64 * 1_000_000 + seq
}

struct Run {
    e: Engine<u64>,
    r: Recorder<u64>,
    /// Handles handed in.
    handed: usize,
}

impl Run {
    fn new(mode: Mode, messages: bool) -> Self {
        Run {
            e: Engine::new(&[cfg(mode, messages)]).unwrap(),
            r: Recorder::default(),
            handed: 0,
        }
    }

    fn put(&mut self, leg: usize, seq: u64, count: u16, t: u64) {
        self.e.poll(t, &mut self.r);
        self.handed += 1;
        self.e.insert(
            (0, leg),
            mold(seq, count),
            Verdict::Good,
            h(leg, seq),
            t,
            &mut self.r,
        );
    }

    /// The messages sent, in order: each send covers its last `span`
    /// messages, so its first one is `packet end - span`, which must be
    /// `ext_seq` (a suffix of the packet, never a middle).
    fn messages(&self, packets: &[(usize, u64, u16)]) -> Vec<u64> {
        let mut out = Vec::new();
        for s in &self.r.sent {
            let (leg, first) = ((s.handle / 1_000_000) as usize, s.handle % 1_000_000);
            let &(_, _, count) = packets
                .iter()
                .find(|&&(l, f, _)| l == leg && f == first)
                .expect("a handed-in packet");
            let end = first + u64::from(count);
            assert_eq!(end - u64::from(s.info.span), s.info.ext_seq, "{s:?}");
            out.extend(s.info.ext_seq..end);
        }
        out
    }

    fn finish(&mut self, t: u64) {
        self.e.drain(t, &mut self.r);
        super::tests::all_back(&self.r, self.handed);
    }
}

/// Leg 0: [1,4) [4,7) [7,10); leg 1: [1,3) [3,6) [6,10).
const A: [(usize, u64, u16); 3] = [(0, 1, 3), (0, 4, 3), (0, 7, 3)];
const B: [(usize, u64, u16); 3] = [(1, 1, 2), (1, 3, 3), (1, 6, 4)];

fn all() -> Vec<(usize, u64, u16)> {
    A.iter().chain(B.iter()).copied().collect()
}

#[test]
fn different_boundaries_give_each_message_once_in_order() {
    for mode in [Mode::Hitless, Mode::Primary] {
        let mut run = Run::new(mode, true);
        // B leads by a packet.
        let order = [B[0], B[1], A[0], B[2], A[1], A[2]];
        for (i, &(l, s, c)) in order.iter().enumerate() {
            run.put(l, s, c, 10 * i as u64);
        }
        run.finish(100);
        assert_eq!(
            run.messages(&all()),
            (1..10).collect::<Vec<_>>(),
            "{mode:?}"
        );
        let c = run.e.counters(0);
        assert_eq!(c.messages_sent, 9);
        // 18 messages handed in, 9 sent.
        assert_eq!(c.messages_duplicate, 9, "{mode:?}");
        assert_eq!(c.unrecoverable, 0);
    }
}

#[test]
fn a_packet_lost_on_one_leg_is_covered_by_the_other_legs_different_packets() {
    let mut run = Run::new(Mode::Primary, true);
    // Leg 0 loses [4,7): leg 1's [3,6) (trimmed to 4..6) and [6,10)
    // (trimmed to 7..10 once [7,10) of leg 0... whichever comes) cover it.
    let order = [A[0], B[0], B[1], B[2], A[2]];
    for (i, &(l, s, c)) in order.iter().enumerate() {
        run.put(l, s, c, 10 * i as u64);
    }
    run.finish(10_000);
    assert_eq!(run.messages(&all()), (1..10).collect::<Vec<_>>());
    assert_eq!(run.e.counters(0).unrecoverable, 0);
}

#[test]
fn an_arriving_copy_behind_the_cursor_is_trimmed_to_what_was_not_sent() {
    let mut run = Run::new(Mode::Hitless, true);
    run.put(0, 1, 4, 0); // [1,5) sent
    run.put(1, 3, 5, 1); // [3,8): 5..8 are new
    assert_eq!(run.r.sent.len(), 2);
    assert_eq!(run.r.sent[1].handle, h(1, 3));
    assert_eq!(
        (run.r.sent[1].info.ext_seq, run.r.sent[1].info.span),
        (5, 3)
    );
    assert_eq!(run.e.counters(0).messages_duplicate, 2);
    // Entirely behind: a duplicate.
    run.put(0, 5, 2, 2);
    assert_eq!(run.r.freed, vec![(h(0, 5), FreeReason::Duplicate)]);
    assert!(!run.e.wants(0, 0, &mold(6, 2)));
    assert!(run.e.wants(0, 0, &mold(6, 3)), "straddles the cursor (8)");
    run.finish(3);
}

#[test]
fn a_held_copy_the_sent_packet_overlaps_is_carried_to_its_end() {
    let mut run = Run::new(Mode::Hitless, true);
    run.put(0, 1, 1, 0); // [1,2) sent
    run.put(1, 3, 4, 1); // [3,7): held, 2 missing
    assert_eq!(run.r.sent.len(), 1);
    run.put(0, 2, 3, 2); // [2,5) sent; leg 1's copy carried to 5 and sent
    let got: Vec<_> = run
        .r
        .sent
        .iter()
        .map(|s| (s.handle, s.info.ext_seq, s.info.span))
        .collect();
    assert_eq!(got, vec![(h(0, 1), 1, 1), (h(0, 2), 2, 3), (h(1, 3), 5, 2)]);
    assert_eq!(run.e.held(0), 0);
    run.finish(3);
}

#[test]
fn of_two_carried_copies_on_a_leg_the_longer_one_stays() {
    let mut run = Run::new(Mode::Hitless, true);
    run.put(0, 1, 1, 0); // cursor 2
    run.put(1, 3, 3, 1); // [3,6) held
    run.put(1, 4, 5, 2); // [4,9) held (same leg, overlapping: odd input)
    run.put(0, 2, 5, 3); // [2,7): 3..6 covered, [4,9) carried to 7
    let last = run.r.sent.last().unwrap();
    assert_eq!(
        (last.handle, last.info.ext_seq, last.info.span),
        (h(1, 4), 7, 2)
    );
    assert!(run.r.freed.contains(&(h(1, 3), FreeReason::Duplicate)));
    run.finish(4);
}

#[test]
fn a_gap_on_every_leg_is_still_skipped_after_max_delay() {
    let mut run = Run::new(Mode::Hitless, true);
    run.put(0, 1, 2, 0); // [1,3)
    run.put(0, 6, 2, 1); // [6,8) held: 3..6 missing on both
    run.put(1, 7, 3, 2); // [7,10) held
    assert_eq!(run.r.sent.len(), 1);
    run.e.poll(MD + 1, &mut run.r);
    assert_eq!(run.e.counters(0).unrecoverable, 3);
    let got: Vec<_> = run
        .r
        .sent
        .iter()
        .map(|s| (s.info.ext_seq, s.info.span))
        .collect();
    assert_eq!(got, vec![(1, 2), (6, 2), (8, 2)]);
    run.finish(MD + 2);
}

#[test]
fn packet_mode_keeps_its_rule() {
    // The same overlap packet by packet: the straddling copy starts inside
    // a sent packet and is freed unsent (late), messages 5..8 with it
    // (what --arbitrate packets has always done).
    let mut run = Run::new(Mode::Hitless, false);
    run.put(0, 1, 4, 0);
    run.put(1, 3, 5, 1);
    assert_eq!(run.r.sent.len(), 1);
    assert_eq!(run.r.freed, vec![(h(1, 3), FreeReason::Late)]);
    assert_eq!(run.e.counters(0).messages_sent, 4);
    run.finish(2);
}

impl Run {
    fn put_sample(&mut self, leg: usize, s: SeqSample, handle: u64, t: u64) {
        self.e.poll(t, &mut self.r);
        self.handed += 1;
        self.e
            .insert((0, leg), s, Verdict::Good, handle, t, &mut self.r);
    }
}

#[test]
fn end_of_session_goes_once_after_every_message_then_a_new_session_restarts() {
    for mode in [Mode::Primary, Mode::Hitless] {
        let mut run = Run::new(mode, true);
        let order = [A[0], B[0], B[1], A[1], B[2], A[2]];
        for (i, &(l, s, c)) in order.iter().enumerate() {
            run.put(l, s, c, 10 * i as u64);
        }
        // Both legs end the session at 10; data of it after that is stale.
        run.put_sample(0, end_of_session(SESSION, 10), 900, 100);
        run.put_sample(1, end_of_session(SESSION, 10), 901, 101);
        run.put(1, 8, 2, 102); // behind: a duplicate
        run.put(0, 10, 2, 103); // beyond its End of Session: never sent
        let ends: Vec<_> = run
            .r
            .sent
            .iter()
            .filter(|s| s.handle == 900 || s.handle == 901)
            .collect();
        assert_eq!(ends.len(), 1, "{mode:?}: End of Session sent once");
        assert_eq!(run.r.sent.last().map(|s| s.handle), Some(900));
        let data: Vec<u64> = run.r.sent[..run.r.sent.len() - 1]
            .iter()
            .flat_map(|s| s.info.ext_seq..s.info.ext_seq + u64::from(s.info.span))
            .collect();
        assert_eq!(data, (1..10).collect::<Vec<_>>(), "{mode:?}");
        assert!(
            run.r.freed.contains(&(h(1, 8), FreeReason::Duplicate)),
            "{mode:?}"
        );
        assert!(run.r.freed.iter().any(|f| f.0 == h(0, 10)), "{mode:?}");
        // A new session, packed differently on each leg: a restart, and
        // its messages once each.
        let new = 0x0e3;
        let mold2 = |seq: u64, count: u16| SeqSample {
            source: new,
            span: count,
            ..SeqSample::new(seq, 64)
        };
        let before = run.r.sent.len();
        let pkts = [
            (0, 1, 3),
            (1, 1, 2),
            (1, 3, 4),
            (0, 4, 3),
            (0, 7, 3),
            (1, 7, 3),
        ];
        for (i, &(l, s, c)) in pkts.iter().enumerate() {
            run.put_sample(l, mold2(s, c), 2_000_000 + h(l, s), 200 + i as u64);
        }
        run.finish(10_000);
        assert_eq!(run.e.counters(0).restarts, 1, "{mode:?}");
        let sent = &run.r.sent[before..];
        let first = sent[0].info.ext_seq;
        let got: Vec<u64> = sent
            .iter()
            .flat_map(|s| {
                s.info.ext_seq - first + 1..s.info.ext_seq - first + 1 + u64::from(s.info.span)
            })
            .collect();
        assert_eq!(got, (1..10).collect::<Vec<_>>(), "{mode:?}: new session");
    }
}

/// Found by the merge_engine fuzz target's message-mode branch: after a
/// far-ahead first copy (a candidate restart that never proves one), copies
/// of one and several messages that overlap across the legs must all come
/// back by `drain`; none may stay held. Copy 11 (leg 1, 1011 + 3) straddles
/// the end of copy 8 (1010 + 2), so sending 8 carries its tail to the
/// cursor, past the `high` drain started from: drain used to stop there
/// with it held (an mbuf leak at shutdown or reload in message mode).
#[test]
fn drain_returns_every_copy_after_overlapping_ranges_behind_a_wild_first_copy() {
    let c = MergeConfig {
        capacity: 256,
        max_delay: 1_000,
        leg_timeout: 4_000,
        restart_after: 3,
        margin: 64,
        ..cfg(Mode::Primary, true)
    };
    let mut e: Engine<u64> = Engine::new(&[c]).unwrap();
    let mut r = Recorder::default();
    let copies: [(usize, u64, u16, u64); 13] = [
        (1, 3584, 1, 1),
        (1, 1006, 1, 2),
        (0, 1007, 1, 3),
        (1, 1007, 1, 4),
        (0, 1008, 1, 5),
        (1, 1008, 1, 6),
        (0, 1009, 1, 7),
        (1, 1009, 1, 8),
        (0, 1010, 2, 8),
        (1, 1010, 1, 9),
        (0, 1011, 1, 10),
        (1, 1011, 3, 11),
        (0, 994, 3, 11),
    ];
    for (k, &(leg, seq, count, t)) in copies.iter().enumerate() {
        e.insert(
            (0, leg),
            mold(seq, count),
            Verdict::Good,
            k as u64,
            t,
            &mut r,
        );
        e.poll(t, &mut r);
    }
    e.drain(11, &mut r);
    assert_eq!(e.held(0), 0, "copies left held after drain");
    super::tests::all_back(&r, copies.len());
}

/// A copy straddling the cursor whose first messages the cursor passed
/// unsent (their gap was declared lost by `max_delay` before it came):
/// trimming it counts `messages_duplicate` only for the messages that went
/// out, and a second copy of it is freed as a duplicate of its tail. The
/// merge_engine fuzz target's message branch found this (a good copy of
/// 1042+6 freed as duplicate with 1042 never sent); the counter used to
/// call the skipped messages duplicates too (10 here instead of 6).
#[test]
fn a_straddling_copy_counts_as_duplicates_only_the_messages_that_went_out() {
    let mut run = Run::new(Mode::Primary, true);
    run.put(0, 1, 2, 0); // [1,3) sent
    run.put(0, 6, 2, 1); // [6,8) held: 3..6 missing on both legs
    run.e.poll(MD + 1, &mut run.r); // 3..6 lost, [6,8) sent: cursor 8
    assert_eq!(run.e.counters(0).unrecoverable, 3);
    // Leg 1's [4,10) comes late: 4, 5 were skipped, 6, 7 sent. Held at
    // the cursor as [8,10) while the primary may still deliver 8.
    run.put(1, 4, 6, MD + 2);
    run.put_sample(1, mold(4, 6), 2_000_004, MD + 3); // the same copy again
    assert_eq!(run.r.freed, vec![(2_000_004, FreeReason::Duplicate)]);
    run.e.poll(2 * MD + 2, &mut run.r);
    run.finish(2 * MD + 3);
    let got: Vec<_> = run
        .r
        .sent
        .iter()
        .map(|s| (s.handle, s.info.ext_seq, s.info.span))
        .collect();
    assert_eq!(got, vec![(h(0, 1), 1, 2), (h(0, 6), 6, 2), (h(1, 4), 8, 2)]);
    let c = run.e.counters(0);
    assert_eq!(c.messages_sent, 6);
    // 6, 7 of each leg-1 copy and the second copy's 8, 9; never 4 and 5.
    assert_eq!(c.messages_duplicate, 6);
    assert_eq!((c.unrecoverable, c.lost_early), (3, 0));
}

/// A copy straddling the cursor whose first message was given up on
/// evidence (every leg had moved past it) is a premature loss, counted
/// `lost_early` as a one-message copy of it arriving then would be.
#[test]
fn a_straddling_copy_after_an_early_give_up_is_a_counted_early_loss() {
    const P: u64 = 20;
    let c = MergeConfig {
        reorder: Reorder::Auto,
        margin: 10,
        ..cfg(Mode::Hitless, true)
    };
    let mut run = Run {
        e: Engine::new(&[c]).unwrap(),
        r: Recorder::default(),
        handed: 0,
    };
    for s in (0..67).filter(|&s| s != 64) {
        run.put(0, s, 1, s * P);
        run.put(1, s, 1, s * P + 1);
    }
    // 64 lost on both legs and given up long before max_delay.
    const { assert!(66 * P + 1 < 65 * P + MD) };
    let c = run.e.counters(0);
    assert_eq!((c.unrecoverable, c.lost_early), (1, 0));
    let dup = c.messages_duplicate;
    // Leg 1's [64,68) then: 64 given up, 65, 66 sent, 67 new.
    run.put_sample(1, mold(64, 4), 2_000_064, 66 * P + 2);
    let last = run.r.sent.last().unwrap();
    assert_eq!(
        (last.handle, last.info.ext_seq, last.info.span),
        (2_000_064, 67, 1)
    );
    let c = run.e.counters(0);
    assert_eq!(c.lost_early, 1);
    assert_eq!(c.messages_duplicate - dup, 2);
    run.finish(66 * P + 3);
}
