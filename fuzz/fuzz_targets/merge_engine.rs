//! The merge engine under an arbitrary sequence of arrivals and time
//! steps (any leg, sequence, source, verdict; out-of-range indices and
//! widths too), checked against its invariants:
//!
//! * every handle handed in comes back exactly once (sent or freed), and
//!   none is left after `drain`;
//! * per stream, sends are in strictly increasing merged position: output
//!   order, and no packet sent twice;
//! * union: a good copy freed as `Duplicate` means its packet went out
//!   (checked while no source restart makes positions ambiguous);
//! * the counters agree with what the sink saw;
//! * shedding held copies (a pool running low) keeps all of the above.
//!
//! With `head >> 6 == 0` (reorder off) and bit 4 of `head` set the run is
//! message-level arbitration instead ([`run_messages`]): MoldUDP64-like
//! copies of 1 to 8 messages, each leg cutting the same messages at its own
//! boundaries, checked for the same invariants counted in messages.
#![no_main]

use dataplane::merge::{
    Engine, Event, EventKind, FreeReason, MergeConfig, Mode, Reorder, SendInfo, Sink, Verdict,
};
use dataplane::seq::SeqSample;
use libfuzzer_sys::fuzz_target;

const STREAMS: usize = 2;

/// What the sink saw. Handles are 0, 1, 2... in insertion order, so plain
/// vectors indexed by handle (hash maps cost most of an execution under
/// the coverage instrumentation).
#[derive(Default)]
struct Rec {
    /// Per handle: still with the engine.
    outstanding: Vec<bool>,
    /// Per handle: (stream, wire seq, good).
    what: Vec<(usize, u16, bool)>,
    last_sent: [Option<u64>; STREAMS],
    /// Wire sequence numbers sent, per stream.
    sent: [Vec<u16>; STREAMS],
    sends: [u64; STREAMS],
    duplicates_good: Vec<u64>,
    /// (stream, wire seq) of every copy shed for a pool running low: a
    /// copy freed as `Duplicate` of a held one that was then shed is lost
    /// with it (as documented), not a union violation.
    shed: Vec<(usize, u16)>,
    restarted: bool,
}

/// Marks handle `h` returned (`what`: how); it must be outstanding.
fn take_back(outstanding: &mut [bool], h: u64, what: &str) {
    let slot = outstanding.get_mut(h as usize);
    assert!(
        slot.as_deref() == Some(&true),
        "handle {h} {what} but not outstanding"
    );
    if let Some(s) = slot {
        *s = false;
    }
}

impl Sink<u64> for Rec {
    fn send(&mut self, stream: usize, h: u64, info: SendInfo) {
        take_back(&mut self.outstanding, h, "sent");
        let (s, seq, good) = self.what[h as usize];
        assert_eq!(s, stream, "handle of stream {s} sent on {stream}");
        assert!(good, "a corrupt copy was sent");
        if let Some(prev) = self.last_sent[stream] {
            assert!(
                info.ext_seq > prev,
                "stream {stream}: {} after {prev}",
                info.ext_seq
            );
        }
        self.last_sent[stream] = Some(info.ext_seq);
        // SendInfo's promise: before any restart (epoch 0) `ext_seq` is the
        // wire sequence (corpus/merge_engine/epoch-label once broke it).
        if info.epoch == 0 {
            assert_eq!(
                info.ext_seq as u16, seq,
                "stream {stream}: epoch 0 ext_seq is not the wire sequence"
            );
        }
        self.sent[stream].push(seq);
        self.sends[stream] += 1;
    }

    fn free(&mut self, h: u64, why: FreeReason) {
        take_back(&mut self.outstanding, h, "freed");
        if why == FreeReason::Duplicate && self.what[h as usize].2 {
            self.duplicates_good.push(h);
        }
        if why == FreeReason::PoolLow {
            let (s, seq, _) = self.what[h as usize];
            self.shed.push((s, seq));
        }
    }

    fn event(&mut self, _stream: usize, e: Event) {
        if matches!(e.kind, EventKind::SourceRestart { .. }) {
            self.restarted = true;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, ops)) = data.split_first() else {
        return;
    };
    if head >> 6 == 0 && head & 0x10 != 0 {
        run_messages(head, ops);
        return;
    }
    let legs = 2 + usize::from(head & 3) % 3;
    let cfg = MergeConfig {
        mode: if head & 4 == 0 {
            Mode::Primary
        } else {
            Mode::Hitless
        },
        legs,
        capacity: 64,
        max_delay: 1_000,
        leg_timeout: 4_000,
        restart_after: 3,
        seq_bits: 16,
        reorder: match head >> 6 {
            0 => Reorder::Off,
            1 => Reorder::Fixed(u32::from((head >> 3) & 7)),
            _ => Reorder::Auto,
        },
        margin: u64::from(head & 8) * 8,
        fill_timeout: 0,
        messages: false,
    };
    let mut e: Engine<u64> = Engine::new(&[cfg, cfg]).expect("valid config");
    let mut r = Rec::default();
    let mut now = 0u64;
    let mut next = 0u64;
    let mut base: [u16; STREAMS] = [0; STREAMS];
    let mut ssrc: [u64; STREAMS] = [1; STREAMS];
    for op in ops.chunks_exact(4) {
        let (a, b, c, d) = (op[0], op[1], op[2], op[3]);
        let stream = usize::from(a & 1);
        if a & 0x80 != 0 {
            // A time step only (up to ~4 leg timeouts).
            now += u64::from(b) * 64 + u64::from(c);
            e.poll(now, &mut r);
            if d & 0x80 != 0 {
                // The pool ran low: shed some held copies.
                e.shed(u32::from(d & 0x3f), now, &mut r);
            }
            continue;
        }
        // Mostly near the stream's running position, sometimes anywhere.
        let seq = if a & 0x40 != 0 {
            u16::from_be_bytes([b, c])
        } else {
            base[stream]
                .wrapping_add(u16::from(b & 0x3f))
                .wrapping_sub(8)
        };
        if c & 0x80 != 0 && a & 0x40 == 0 {
            base[stream] = base[stream].wrapping_add(u16::from(c & 0x0f));
        }
        if a & 0x20 != 0 && d & 0x80 != 0 {
            ssrc[stream] = ssrc[stream].wrapping_add(1);
        }
        // Out-of-range leg now and then (must be freed as invalid).
        let leg = usize::from((a >> 1) & 7) % (legs + 1);
        let good = d & 0x40 == 0;
        let mut sample = SeqSample::new(u64::from(seq), 16);
        sample.source = ssrc[stream];
        if d & 0x3f == 0x3f {
            sample.bits = 32; // wrong width for the stream
        }
        let stream_in = if d & 0x3f == 0x3e { 7 } else { stream };
        let h = next;
        next += 1;
        r.outstanding.push(true);
        r.what.push((stream_in, seq, good));
        now += u64::from(d & 0x1f);
        let verdict = if good {
            Verdict::Good
        } else {
            Verdict::Corrupt
        };
        e.insert((stream_in, leg), sample, verdict, h, now, &mut r);
        e.poll(now, &mut r);
    }
    e.drain(now, &mut r);
    let left = r.outstanding.iter().filter(|&&o| o).count();
    assert_eq!(left, 0, "{left} handles never returned");
    for s in 0..STREAMS {
        assert_eq!(e.held(s), 0);
        let c = e.counters(s);
        assert_eq!(c.sent, r.sends[s], "stream {s} sent counter");
        let used: u64 = c.legs.iter().map(|l| l.used).sum();
        assert_eq!(used, c.sent);
        for l in &c.legs {
            let buckets = l.used
                + l.duplicates
                + l.late
                + l.corrupt_dropped
                + l.wild
                + l.stale
                + l.invalid
                + l.heartbeats
                + l.shed_pool_low;
            assert_eq!(buckets, l.received, "leg buckets {l:?}");
        }
    }
    if !r.restarted {
        for s in &mut r.sent {
            s.sort_unstable();
        }
        for &h in &r.duplicates_good {
            let (s, seq, _) = r.what[h as usize];
            if r.shed.contains(&(s, seq)) {
                continue;
            }
            assert!(
                r.sent[s].binary_search(&seq).is_ok(),
                "good copy of {seq} freed as duplicate, never sent"
            );
        }
    }
});

/// What the sink saw in a message-mode run: per handle its stream, first
/// message, message count and whether it was good.
#[derive(Default)]
struct MsgRec {
    outstanding: Vec<bool>,
    what: Vec<(usize, u64, u16, bool)>,
    /// End of the last message range sent, per stream.
    sent_to: [Option<u64>; STREAMS],
    /// Messages sent, per stream (in order, each once: checked on send).
    sent: [Vec<u64>; STREAMS],
    sends: [u64; STREAMS],
    /// Messages sent, per stream, every epoch.
    messages: [u64; STREAMS],
    duplicates_good: Vec<u64>,
    /// Handles shed for a pool running low (their messages may be lost).
    shed: Vec<u64>,
    restarted: bool,
    /// Per stream, the output cursor as the sink can tell it: the first
    /// copy's first message (where the stream starts), then past every
    /// send and every gap reported.
    cursor: [Option<u64>; STREAMS],
    /// Per handle, `cursor` when it was handed in: the messages it carries
    /// below that had been sent or given up before it came.
    behind: Vec<u64>,
}

impl MsgRec {
    fn passed(&mut self, stream: usize, to: u64) {
        let c = &mut self.cursor[stream];
        *c = Some(c.map_or(to, |c| c.max(to)));
    }
}

impl Sink<u64> for MsgRec {
    fn send(&mut self, stream: usize, h: u64, info: SendInfo) {
        take_back(&mut self.outstanding, h, "sent");
        let (s, first, count, good) = self.what[h as usize];
        assert_eq!(s, stream, "handle of stream {s} sent on {stream}");
        assert!(good, "a corrupt copy was sent");
        assert!(
            info.span >= 1 && info.span <= count.max(1),
            "span {} of a copy of {count}",
            info.span
        );
        if let Some(prev) = self.sent_to[stream] {
            assert!(
                info.ext_seq >= prev,
                "stream {stream}: messages from {} after messages up to {prev}",
                info.ext_seq
            );
        }
        let end = info.ext_seq + u64::from(info.span);
        self.sent_to[stream] = Some(end);
        self.passed(stream, end);
        self.messages[stream] += u64::from(info.span);
        if info.epoch == 0 {
            // Before a restart positions are the wire's: what goes out is
            // the copy's last `span` messages.
            assert_eq!(
                end,
                first + u64::from(count.max(1)),
                "stream {stream}: a send that is not the copy's tail"
            );
            self.sent[stream].extend(info.ext_seq..end);
        }
        self.sends[stream] += 1;
    }

    fn free(&mut self, h: u64, why: FreeReason) {
        take_back(&mut self.outstanding, h, "freed");
        if why == FreeReason::Duplicate && self.what[h as usize].3 {
            self.duplicates_good.push(h);
        }
        if why == FreeReason::PoolLow {
            self.shed.push(h);
        }
    }

    fn event(&mut self, stream: usize, e: Event) {
        match e.kind {
            EventKind::SourceRestart { .. } => self.restarted = true,
            EventKind::Gap {
                first_seq, count, ..
            } => self.passed(stream, first_seq + count),
            _ => {}
        }
    }
}

/// The message-mode run: op (a, b, c, d) as in the packet run (bit 7 of
/// `a` a time step, bit 0 the stream), a copy on leg `(a >> 1) & 3` of
/// `1 + (c & 7)` messages from near the stream's running position (or, with
/// bit 6 of `a`, from anywhere below 2^16), `d & 0x40` corrupt. Invariants:
/// every handle back once; per stream the message ranges sent never go
/// back, so no message twice; every send is its copy's tail; a good copy
/// freed as a duplicate had all its messages sent (unless a restart made
/// positions ambiguous or a pool-low shed lost the copy that held them),
/// but for the ones behind the cursor when it came.
///
/// Why those are exempt: a copy whose first messages the cursor had
/// already passed, sent or skipped (their gap declared lost by
/// `max_delay` or on evidence, or before the stream's first copy), is
/// trimmed to the rest; the skipped ones cannot go out without breaking
/// the order, they are late (a given-up one counted `lost_early`). The
/// copy's fate, sent or freed as a duplicate of another copy carrying its
/// tail, is that of the messages it still carried. The first input this
/// target's message branch failed on was such a copy (1042+6 arriving
/// long after 1037..1046 were skipped), not a lost message.
fn run_messages(head: u8, ops: &[u8]) {
    let legs = 2 + usize::from(head & 3) % 3;
    let cfg = MergeConfig {
        mode: if head & 4 == 0 {
            Mode::Primary
        } else {
            Mode::Hitless
        },
        legs,
        capacity: 256,
        max_delay: 1_000,
        leg_timeout: 4_000,
        restart_after: 3,
        seq_bits: 64,
        reorder: if head & 0x20 == 0 {
            Reorder::Auto
        } else {
            Reorder::Off
        },
        margin: u64::from(head & 8) * 8,
        fill_timeout: 0,
        messages: true,
    };
    let mut e: Engine<u64> = Engine::new(&[cfg, cfg]).expect("valid config");
    let mut r = MsgRec::default();
    let mut now = 0u64;
    let mut next = 0u64;
    let mut base: [u64; STREAMS] = [1000; STREAMS];
    for op in ops.chunks_exact(4) {
        let (a, b, c, d) = (op[0], op[1], op[2], op[3]);
        let stream = usize::from(a & 1);
        if a & 0x80 != 0 {
            now += u64::from(b) * 64 + u64::from(c);
            e.poll(now, &mut r);
            if d & 0x80 != 0 {
                e.shed(u32::from(d & 0x3f), now, &mut r);
            }
            continue;
        }
        let first = if a & 0x40 != 0 {
            u64::from(u16::from_be_bytes([b, c]))
        } else {
            (base[stream] + u64::from(b & 0x3f)).saturating_sub(8)
        };
        if c & 0x80 != 0 && a & 0x40 == 0 {
            base[stream] += u64::from(c & 0x0f);
        }
        let count = 1 + u16::from(c & 7);
        let leg = usize::from((a >> 1) & 3) % legs;
        let good = d & 0x40 == 0;
        let sample = SeqSample {
            source: 0x5e55,
            span: count,
            ..SeqSample::new(first, 64)
        };
        let h = next;
        next += 1;
        r.outstanding.push(true);
        r.what.push((stream, first, count, good));
        // The stream starts at its first copy's first message.
        let cursor = *r.cursor[stream].get_or_insert(first);
        r.behind.push(cursor);
        now += u64::from(d & 0x1f);
        let verdict = if good {
            Verdict::Good
        } else {
            Verdict::Corrupt
        };
        e.insert((stream, leg), sample, verdict, h, now, &mut r);
        e.poll(now, &mut r);
    }
    e.drain(now, &mut r);
    let left = r.outstanding.iter().filter(|&&o| o).count();
    assert_eq!(left, 0, "{left} handles never returned");
    for s in 0..STREAMS {
        assert_eq!(e.held(s), 0);
        let c = e.counters(s);
        assert_eq!(c.sent, r.sends[s], "stream {s} sent counter");
        assert_eq!(c.messages_sent, r.messages[s], "stream {s} messages");
    }
    if !r.restarted && r.shed.is_empty() {
        for &h in &r.duplicates_good {
            let (s, first, count, _) = r.what[h as usize];
            for m in r.behind[h as usize].max(first)..first + u64::from(count) {
                assert!(
                    r.sent[s].binary_search(&m).is_ok(),
                    "good copy {h} of {first}+{count} freed as duplicate, message {m} never sent"
                );
            }
        }
    }
}
