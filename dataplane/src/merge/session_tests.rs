//! MoldUDP64 sessions in the engine: a new session is a restart (never a
//! mix of two sessions' numbers); End of Session goes out once, after every
//! earlier message, and then the stream is idle until a new session.

use super::*;
use crate::seq::SeqSample;

type Rec = record::Recorder<u64>;

use super::tests::{end_of_session, MD};
const LT: u64 = 100_000;
const A: u64 = 0xA;
const B: u64 = 0xB;

fn engine(mode: Mode) -> Engine<u64> {
    Engine::new(&[MergeConfig {
        leg_timeout: LT,
        seq_bits: 64,
        ..super::tests::cfg(mode)
    }])
    .unwrap()
}

fn data(session: u64, seq: u64) -> SeqSample {
    SeqSample {
        source: session,
        ..SeqSample::new(seq, 64)
    }
}

fn heartbeat(session: u64, next: u64) -> SeqSample {
    SeqSample {
        source: session,
        heartbeat: true,
        span: 0,
        ..SeqSample::new(next, 64)
    }
}

/// What each handle (its index) was: (session, sequence, End of Session).
struct Feed {
    e: Engine<u64>,
    r: Rec,
    given: Vec<(u64, u64, bool)>,
}

impl Feed {
    fn new(mode: Mode) -> Self {
        Self {
            e: engine(mode),
            r: Rec::default(),
            given: Vec::new(),
        }
    }

    fn put(&mut self, leg: usize, s: SeqSample, t: u64) {
        self.e.poll(t, &mut self.r);
        let h = self.given.len() as u64;
        self.given.push((s.source, s.value, s.end_of_session));
        self.e.insert((0, leg), s, Verdict::Good, h, t, &mut self.r);
    }

    /// (session, sequence, is-end) of every packet sent, in order.
    fn sent(&self) -> Vec<(u64, u64, bool)> {
        self.r
            .sent
            .iter()
            .map(|s| self.given[s.handle as usize])
            .collect()
    }

    fn all_back(&mut self) {
        self.e.drain(u64::MAX / 16, &mut self.r);
        super::tests::all_back(&self.r, self.given.len());
    }
}

fn run(session: u64, seqs: std::ops::Range<u64>) -> Vec<(u64, u64, bool)> {
    seqs.map(|s| (session, s, false)).collect()
}

/// Session A numbers 1..=40, then session B numbers 1..=40 again (the same
/// numbers), the secondary lagging 6 packets behind: the output is all of
/// A then all of B, each once, from positions that keep increasing, one
/// restart, one event; B's 1..=40 never land on A's positions.
#[test]
fn a_new_session_with_the_same_numbers_is_a_restart_not_a_mix() {
    let mut f = Feed::new(Mode::Primary);
    let mut both: Vec<SeqSample> = (1..=40).map(|s| data(A, s)).collect();
    both.extend((1..=40).map(|s| data(B, s)));
    for (i, s) in both.iter().enumerate() {
        let t = i as u64 * 10;
        f.put(0, *s, t);
        if i >= 6 {
            f.put(1, both[i - 6], t + 1);
        }
    }
    for (k, s) in both[both.len() - 6..].iter().enumerate() {
        f.put(1, *s, 1_000 + k as u64);
    }
    let mut want = run(A, 1..41);
    want.extend(run(B, 1..41));
    assert_eq!(f.sent(), want);
    let pos = f.r.ext_seqs();
    assert!(pos.windows(2).all(|w| w[1] > w[0]), "{pos:?}");
    let c = f.e.counters(0);
    assert_eq!((c.restarts, c.unrecoverable, c.sent), (1, 0, 80));
    let restarts: Vec<_> =
        f.r.event_kinds()
            .into_iter()
            .filter(|k| matches!(k, EventKind::SourceRestart { .. }))
            .collect();
    assert_eq!(restarts.len(), 1);
    assert!(matches!(
        restarts[0],
        EventKind::SourceRestart {
            leg: 0,
            source: B,
            ..
        }
    ));
    f.all_back();
}

/// End of Session after message 20: forwarded once, after message 20 (which
/// the primary lost and the secondary brings), never before; its other
/// copies and repeats are liveness only; data of the ended session is not
/// merged; the next session starts at its first packet (no run of K).
#[test]
fn end_of_session_goes_out_once_after_every_earlier_message() {
    let mut f = Feed::new(Mode::Primary);
    let mut t = 0;
    for s in 1..=20 {
        t += 10;
        if s != 20 {
            f.put(0, data(A, s), t);
        }
        if s < 20 {
            f.put(1, data(A, s), t + 1);
        }
    }
    // The primary's End of Session before the secondary's message 20.
    f.put(0, end_of_session(A, 21), t + 10);
    assert_eq!(f.sent().len(), 19, "End of Session sent before message 20");
    f.put(1, data(A, 20), t + 20);
    f.put(1, end_of_session(A, 21), t + 30);
    // The primary's message 20 is overdue max_delay after its End of
    // Session (a later packet) was seen: the secondary's goes, then the end.
    assert_eq!(f.sent().len(), 19, "the primary's 20 is still waited for");
    f.e.poll(t + 10 + MD, &mut f.r);
    let mut want = run(A, 1..21);
    want.push((A, 21, true));
    assert_eq!(f.sent(), want);
    // Repeats of the End of Session, heartbeats and stray data of session A
    // for a long time: liveness only, nothing more goes out.
    for k in 1..=30u64 {
        let at = t + 100 + k * (LT / 4);
        f.put(0, end_of_session(A, 21), at);
        f.put(1, heartbeat(A, 21), at + 1);
    }
    f.put(0, data(A, 21), t + 100 + 31 * (LT / 4));
    assert!(f.e.leg_is_up(0, 0) && f.e.leg_is_up(0, 1));
    assert_eq!(f.sent(), want);
    let c = f.e.counters(0);
    assert_eq!(c.legs[0].stale, 1);
    assert_eq!(c.legs[0].heartbeats + c.legs[1].heartbeats, 60);
    assert_eq!(c.unrecoverable, 0);
    // Session B: its first packet goes out at once, right after the End of
    // Session in the merged sequence (no margin, no boundary to wait for).
    let t2 = t + 200 + 31 * (LT / 4);
    f.put(0, data(B, 1), t2);
    want.push((B, 1, false));
    assert_eq!(f.sent(), want);
    let pos = f.r.ext_seqs();
    assert_eq!(pos[pos.len() - 1], pos[pos.len() - 2] + 1);
    f.put(1, data(B, 1), t2 + 1);
    for s in 2..=5 {
        f.put(0, data(B, s), t2 + 10 * s);
        f.put(1, data(B, s), t2 + 10 * s + 1);
    }
    want.extend(run(B, 2..6));
    assert_eq!(f.sent(), want);
    assert_eq!(f.e.counters(0).restarts, 1);
    f.all_back();
}

/// End of Session behind a message lost on both legs: it waits for that
/// message at most max_delay, then the gap is skipped and it goes out.
#[test]
fn end_of_session_behind_a_common_loss_waits_at_most_max_delay() {
    let mut f = Feed::new(Mode::Hitless);
    for s in 1..=10u64 {
        if s != 7 {
            f.put(0, data(A, s), s * 10);
            f.put(1, data(A, s), s * 10 + 1);
        }
    }
    f.put(0, end_of_session(A, 11), 200);
    f.put(1, end_of_session(A, 11), 201);
    let mut want = run(A, 1..7);
    assert_eq!(f.sent(), want);
    f.e.poll(80 + MD, &mut f.r);
    want.extend(run(A, 8..11));
    want.push((A, 11, true));
    assert_eq!(f.sent(), want);
    let c = f.e.counters(0);
    assert_eq!((c.unrecoverable, c.gaps), (1, 1));
    f.all_back();
}

/// A heartbeat or End of Session of a session the stream never carried is
/// liveness at most, never data, never a restart.
#[test]
fn a_foreign_end_of_session_is_not_merged() {
    let mut f = Feed::new(Mode::Primary);
    for s in 1..=5 {
        f.put(0, data(A, s), s * 10);
        f.put(1, data(A, s), s * 10 + 1);
    }
    for k in 0..10 {
        f.put(1, end_of_session(B, 99), 100 + k);
    }
    for s in 6..=8 {
        f.put(0, data(A, s), 200 + s);
    }
    assert_eq!(f.sent(), run(A, 1..9));
    assert_eq!(f.e.counters(0).restarts, 0);
    assert_eq!(f.e.counters(0).legs[1].heartbeats, 10);
    f.all_back();
}
