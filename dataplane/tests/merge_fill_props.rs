//! Property tests of gap fill by re-request: random loss on both legs of a
//! MoldUDP64 stream, a request server that answers some requests (late,
//! twice, or not at all), and the engine's promises checked on the output:
//! strictly increasing, each position once, every handle back once, every
//! requested range asked once, and every position either sent or counted
//! unrecoverable; a retransmission is never sent behind the cursor.

use std::collections::{BTreeSet, HashSet};

use dataplane::merge::record::Recorder;
use dataplane::merge::{Engine, EventKind, MergeConfig, Mode, Reorder, Verdict};
use dataplane::seq::SeqSample;
use proptest::prelude::*;

const SESSION: u64 = 0x5e55;
const MD: u64 = 1_000;
const FT: u64 = 3_000;
const STEP: u64 = 100;

fn mold(seq: u64) -> SeqSample {
    SeqSample {
        source: SESSION,
        ..SeqSample::new(seq, 64)
    }
}

/// How the server treats the k-th request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// Answers after this many steps (each STEP ticks).
    After(u64),
    /// Answers twice, after this many steps.
    Twice(u64),
    /// Never answers.
    Never,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        (0u64..60).prop_map(Answer::After),
        (0u64..60).prop_map(Answer::Twice),
        Just(Answer::Never),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fills_keep_the_output_in_order_and_complete(
        lost in proptest::collection::vec(any::<bool>(), 200),
        loss_pct in 0u32..30,
        answers in proptest::collection::vec(answer(), 64),
        reorder in prop_oneof![Just(Reorder::Off), Just(Reorder::Auto)],
    ) {
        let cfg = MergeConfig {
            mode: Mode::Primary,
            legs: 2,
            capacity: 256,
            max_delay: MD,
            leg_timeout: 1_000_000,
            restart_after: 4,
            seq_bits: 64,
            reorder,
            margin: 0,
            fill_timeout: FT,
            messages: false,
        };
        let mut e: Engine<u64> = Engine::new(&[cfg]).unwrap();
        let mut r: Recorder<u64> = Recorder::default();
        let n = lost.len() as u64;
        // Loss common to both legs: position i is missing when drawn.
        let missing: Vec<bool> = lost
            .iter()
            .enumerate()
            .map(|(i, &b)| b && (i as u32 * 7919) % 100 < loss_pct * 3 && i > 0)
            .collect();
        let mut given = 0usize;
        let mut next_handle = 10_000_000u64;
        // Pending answers: (due time, seq, count).
        let mut pending: Vec<(u64, u64, u64)> = Vec::new();
        let mut asked: HashSet<(u64, u64)> = HashSet::new();
        let mut seen_events = 0usize;
        let mut t = 0u64;
        let mut i = 0u64;
        let end = n * STEP + 200 * STEP;
        while t < end {
            if i < n {
                if !missing[i as usize] {
                    for leg in 0..2u64 {
                        e.insert((0, leg as usize), mold(i + 1), Verdict::Good, leg * 1_000_000 + i, t, &mut r);
                        given += 1;
                    }
                }
                i += 1;
            }
            e.poll(t, &mut r);
            // New requests -> schedule the answers.
            for (_, ev) in &r.events[seen_events..] {
                if let EventKind::FillRequest { wire_seq, count, .. } = ev.kind {
                    prop_assert!(asked.insert((wire_seq, count)), "range asked twice");
                    let k = asked.len() - 1;
                    match answers[k % answers.len()] {
                        Answer::After(d) => pending.push((t + d * STEP, wire_seq, count)),
                        Answer::Twice(d) => {
                            pending.push((t + d * STEP, wire_seq, count));
                            pending.push((t + d * STEP + STEP, wire_seq, count));
                        }
                        Answer::Never => {}
                    }
                }
            }
            seen_events = r.events.len();
            // Due answers: the server sends one packet per message.
            let (due, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.0 <= t);
            pending = later;
            for (_, seq, count) in due {
                for s in seq..seq + count {
                    e.fill(0, mold(s), next_handle, t, &mut r);
                    next_handle += 1;
                    given += 1;
                }
            }
            t += STEP;
        }
        e.drain(t, &mut r);
        // Strictly increasing, each position once.
        let sent = r.ext_seqs();
        prop_assert!(sent.windows(2).all(|w| w[0] < w[1]), "out of order: {sent:?}");
        // Every handle back exactly once.
        let mut ids: Vec<u64> = r.returned().copied().collect();
        let total = ids.len();
        ids.sort();
        ids.dedup();
        prop_assert_eq!(ids.len(), total, "a handle came back twice");
        prop_assert_eq!(total, given);
        // Every position sent or counted unrecoverable.
        let c = e.counters(0);
        let sent_set: BTreeSet<u64> = sent.iter().copied().collect();
        let last = sent.last().copied().unwrap_or(0);
        let unsent = (1..=last).filter(|p| !sent_set.contains(p)).count() as u64;
        prop_assert_eq!(unsent, c.unrecoverable);
        // Positions on some leg all went out.
        for (k, &m) in missing.iter().enumerate() {
            if !m && (k as u64 + 1) <= last {
                prop_assert!(sent_set.contains(&(k as u64 + 1)), "lost a delivered position {}", k + 1);
            }
        }
        // Requests decided after the last answer round (never answered).
        for (_, ev) in &r.events[seen_events..] {
            if let EventKind::FillRequest { wire_seq, count, .. } = ev.kind {
                prop_assert!(asked.insert((wire_seq, count)), "range asked twice");
            }
        }
        prop_assert_eq!(c.fill_requested as usize, asked.len());
        prop_assert_eq!(c.filled + c.fill_timed_out, c.fill_requested);
        prop_assert_eq!(e.held(0), 0);
    }
}
