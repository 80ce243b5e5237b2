//! Feeds a clean 2-leg stream through the merge engine, for
//! `scripts/callgrind-merge.sh` (instructions per input packet).
//!
//! Usage: merge_callgrind MODE PACKETS [STREAMS], MODE one of
//! * `primary`, `hitless`: RTP, 16-bit sequence numbers;
//! * `mold-primary`, `mold-hitless`: MoldUDP64 (64-bit), 4 messages a
//!   packet packed alike on both legs, `--arbitrate packets`;
//! * `msg-primary`, `msg-hitless`: MoldUDP64, 4 messages a packet but the
//!   secondary's packets start 2 messages later (every one overlaps two of
//!   the primary's), `--arbitrate messages`, the engine alone;
//! * `msgcut-primary`, `msgcut-hitless`: the same, and each sent copy that
//!   the engine cut is also cut on a frame by `rewrite::trim_mold_front`,
//!   the tx stage's step (plus the copy that restores the frame: an upper
//!   bound).
//!
//! Prints the number of input packets and a checksum of what was sent.
//!
//! With STREAMS > 1 (default 1) packet `i` belongs to stream `i % STREAMS`
//! (its sequence number `i / STREAMS`), so every packet meets another
//! stream's state than the one before, as in the 10 000-stream benchmark;
//! each stream then has 16 slots per leg (that benchmark's sizing, with
//! restart-after 4, the most 16 slots allow) and the
//! clock steps `1000 / STREAMS` ticks per packet (at least 1), so every
//! stream still sees its legs well within `leg_timeout`.

use std::num::NonZeroU64;

use dataplane::merge::record::Tally;
use dataplane::merge::{Engine, Event, FreeReason, MergeConfig, Mode, SendInfo, Sink};
use dataplane::rewrite::trim_mold_front;
use dataplane::seq::SeqSample;
use dataplane::slots::{Checked, Digest, Verdict};
use dataplane::wire::build::udp_frame;
use dataplane::wire::{parse_frame, FrameOffsets, L4Check};

/// Messages a MoldUDP64 packet carries in the mold and msg modes.
const PER_PACKET: u64 = 4;
/// Where the secondary's packets start, in messages after the primary's
/// (msg modes).
const SHIFT: u64 = 2;

/// Which stream the run feeds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Feed {
    Rtp,
    Mold,
    Messages,
}

/// [`Tally`], plus the tx stage's cut of each copy sent short of its
/// packet's count (message mode): the cut runs on a 4-message frame, which
/// is then restored (a copy of the frame: counted too, so the figure is an
/// upper bound of the tx stage's extra cost).
struct CutSink {
    tally: Tally,
    frame: Vec<u8>,
    pristine: Vec<u8>,
    at: FrameOffsets,
    /// Message mode (else nothing is cut).
    messages: bool,
    /// Copies cut.
    cuts: u64,
}

impl Sink<NonZeroU64> for CutSink {
    #[inline]
    fn send(&mut self, stream: usize, handle: NonZeroU64, info: SendInfo) {
        if self.messages && u64::from(info.span) < PER_PACKET {
            let mut f = std::mem::take(&mut self.frame);
            if trim_mold_front(&mut f, self.at, info.span).is_ok() {
                self.cuts += 1;
            }
            // Back to the 4-message frame (not part of the measured step's
            // cost in the tx stage: there the mbuf is simply sent).
            f.clear();
            f.extend_from_slice(&self.pristine);
            self.frame = f;
        }
        self.tally.send(stream, handle, info);
    }
    #[inline]
    fn free(&mut self, handle: NonZeroU64, why: FreeReason) {
        self.tally.free(handle, why);
    }
    fn event(&mut self, stream: usize, event: Event) {
        Sink::<NonZeroU64>::event(&mut self.tally, stream, event);
    }
}

/// One RTP stream: the loop every figure of BENCHMARKS.md's clean-path
/// table was taken with, `Tally` as the sink (kept as it was, so its count
/// stays comparable; the MoldUDP64 feeds and their cutting sink cost more
/// per copy and run in [`run_mold`]).
#[inline(never)]
fn run_rtp(e: &mut Engine<NonZeroU64>, sink: &mut Tally, packets: u64) {
    let mut now = 1u64;
    let mut id = 0u64;
    for seq in 0..packets {
        let s = SeqSample {
            source: 0x1234_5678,
            ..SeqSample::new(seq & 0xFFFF, 16)
        };
        // Both copies carry the payload digest the rx parse reads off the
        // UDP checksum (equal: a clean pair), so the duplicate's compare
        // with the sent copy is part of the count.
        let checked = Checked {
            verdict: Verdict::Good,
            digest: Digest::of(Some((seq as u16) ^ 0x5a5a)),
        };
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert((0, 0), s, checked, h, now, sink);
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert((0, 1), s, checked, h, now + 10, sink);
        if seq & 15 == 0 {
            e.poll(now + 10, sink);
        }
        now += 1_000;
    }
}

/// The MoldUDP64 modes: the secondary's packets start `shift` messages
/// after the primary's.
#[inline(never)]
fn run_mold(e: &mut Engine<NonZeroU64>, sink: &mut CutSink, shift: u64, packets: u64) {
    let mut now = 1u64;
    let mut id = 0u64;
    let mold = |seq: u64| SeqSample {
        source: 0x5e55,
        span: PER_PACKET as u16,
        ..SeqSample::new(seq, 64)
    };
    for i in 0..packets {
        let (a, b) = (mold(1 + i * PER_PACKET), mold(1 + i * PER_PACKET + shift));
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert((0, 0), a, Verdict::Good, h, now, sink);
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert((0, 1), b, Verdict::Good, h, now + 10, sink);
        if i & 15 == 0 {
            e.poll(now + 10, sink);
        }
        now += 1_000;
    }
}

/// A 4-message MoldUDP64 frame (16-byte messages), what the cut works on.
fn mold_frame() -> (Vec<u8>, FrameOffsets) {
    let mut p = b"SESSION001".to_vec();
    p.extend_from_slice(&1u64.to_be_bytes());
    p.extend_from_slice(&(PER_PACKET as u16).to_be_bytes());
    for k in 0..PER_PACKET {
        p.extend_from_slice(&16u16.to_be_bytes());
        p.extend(std::iter::repeat_n(k as u8, 16));
    }
    let src = "10.0.0.9:5000".parse().unwrap_or_else(|_| unreachable!());
    let dst = "239.1.1.1:6000".parse().unwrap_or_else(|_| unreachable!());
    let f = udp_frame(src, dst, &p).unwrap_or_default();
    let at = parse_frame(&f, L4Check::Software)
        .map(|i| i.offsets)
        .unwrap_or_else(|_| unreachable!());
    (f, at)
}

/// `streams` streams, packet `i` on stream `i % streams`.
#[inline(never)]
fn run_many(
    e: &mut Engine<NonZeroU64>,
    sink: &mut impl Sink<NonZeroU64>,
    packets: u64,
    streams: u64,
) {
    let mut now = 1u64;
    let mut id = 0u64;
    let step = (1_000 / streams).max(1);
    let (mut stream, mut seq) = (0u64, 0u64);
    for i in 0..packets {
        let s = SeqSample {
            source: 0x1234_5678,
            ..SeqSample::new(seq & 0xFFFF, 16)
        };
        let st = stream as usize;
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert((st, 0), s, Verdict::Good, h, now, sink);
        id += 1;
        let h = NonZeroU64::new(id).unwrap_or(NonZeroU64::MIN);
        e.insert((st, 1), s, Verdict::Good, h, now + 10, sink);
        if i & 15 == 0 {
            e.poll(now + 10, sink);
        }
        now += step;
        stream += 1;
        if stream == streams {
            stream = 0;
            seq += 1;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: merge_callgrind primary|hitless|mold-primary|mold-hitless|msg-primary|msg-hitless|msgcut-primary|msgcut-hitless PACKETS [STREAMS]";
    let (Some(m), Some(Ok(packets))) = (args.get(1), args.get(2).map(|p| p.parse::<u64>())) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let streams = match args.get(3).map(|n| n.parse::<u64>()) {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("merge_callgrind: STREAMS must be a positive integer\n{usage}");
            std::process::exit(2);
        }
    };
    let (feed, cut, mode) = match m.split_once('-') {
        Some(("mold", mode)) => (Feed::Mold, false, mode),
        Some(("msg", mode)) => (Feed::Messages, false, mode),
        Some(("msgcut", mode)) => (Feed::Messages, true, mode),
        _ => (Feed::Rtp, false, m.as_str()),
    };
    if streams > 1 && feed != Feed::Rtp {
        eprintln!("merge_callgrind: STREAMS > 1 is for the RTP modes\n{usage}");
        std::process::exit(2);
    }
    let mode = match mode.parse::<Mode>() {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("merge_callgrind: {e}\n{usage}");
            std::process::exit(2);
        }
    };
    let config = MergeConfig {
        mode,
        legs: 2,
        capacity: match (feed, streams > 1) {
            (Feed::Rtp, false) => 512,
            (Feed::Rtp, true) => 16,
            _ => 2048,
        },
        max_delay: 50_000,
        leg_timeout: 1_000_000,
        restart_after: if streams > 1 { 4 } else { 20 },
        seq_bits: if feed == Feed::Rtp { 16 } else { 64 },
        messages: feed == Feed::Messages,
        ..MergeConfig::default()
    };
    let configs = vec![config; streams as usize];
    let mut e = match Engine::new(&configs) {
        Ok(e) => e,
        Err(err) => {
            eprintln!("merge_callgrind: {err}");
            std::process::exit(2);
        }
    };
    let (frame, at) = mold_frame();
    let mut sink = CutSink {
        tally: Tally::default(),
        pristine: frame.clone(),
        frame,
        at,
        messages: cut,
        cuts: 0,
    };
    if feed == Feed::Rtp && streams == 1 {
        run_rtp(&mut e, &mut sink.tally, packets);
    } else if feed == Feed::Rtp {
        run_many(&mut e, &mut sink.tally, packets, streams);
    } else {
        let shift = if feed == Feed::Messages { SHIFT } else { 0 };
        run_mold(&mut e, &mut sink, shift, packets);
    }
    let c = e.counters(0);
    println!(
        "inputs {} checksum {} sent {} messages {} cut {}",
        2 * packets,
        sink.tally.sum,
        c.sent,
        c.messages_sent,
        sink.cuts
    );
}
