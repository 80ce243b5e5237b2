//! Message-level arbitration over random repacketisations.
//!
//! One random sequence of MoldUDP64 messages (random lengths) is packed
//! twice, independently (random message counts per packet), one packing
//! per leg. Each leg loses random packets, sends each once its last
//! message exists, delays it by the leg's skew plus random jitter (so a
//! leg's packets reorder), and the engine, in message
//! mode, merges them. Every sent handle is then cut down by the worker's
//! own output step ([`trim_mold_front`]) to the messages the engine said to
//! send, and the frames on the "wire" are parsed back. With `max_delay`
//! larger than every leg's packing delay + skew + jitter (so "arrived"
//! means "arrived in time"), the properties are exact:
//!
//! * the messages sent are the union of those that arrived on some leg
//!   (from the first packet the engine saw), each once, in order (with
//!   loss never on both legs: all of them);
//! * every output frame is a valid MoldUDP64 packet (IP/UDP lengths and
//!   checksums right, the header's sequence and count those of its blocks),
//!   no longer than its input frame and so within the MTU;
//! * every handle handed in comes back exactly once (sent or freed), and
//!   `messages_sent` counts the messages sent.

use std::net::SocketAddr;

use dataplane::merge::record::Recorder;
use dataplane::merge::{Engine, MergeConfig, Mode, Reorder, Verdict};
use dataplane::rewrite::trim_mold_front;
use dataplane::seq::{Extract, SeqSpec, MOLD_HEADER};
use dataplane::wire::build::udp_frame;
use dataplane::wire::{parse_frame, Integrity, L4Check};
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Ticks between two messages of the feed.
const PERIOD: u64 = 1_000;
/// Largest leg skew and per-packet jitter, in ticks.
const SKEW: u64 = 20 * PERIOD;
const JITTER: u64 = 6 * PERIOD;
/// Frame size limit the packers keep to (Ethernet payload 1500).
const MTU_FRAME: usize = 1514;
const SESSION: &[u8; 10] = b"SESSION042";

/// A message's bytes: its sequence number, then filler.
fn message(seq: u64, len: usize) -> Vec<u8> {
    let mut m = seq.to_be_bytes().to_vec();
    m.extend((0..len).map(|i| (seq as u8).wrapping_add(i as u8)));
    m
}

/// One packet of a leg: the messages `[first, first + count)`.
#[derive(Clone, Copy, Debug)]
struct Pkt {
    first: u64,
    count: u16,
}

fn payload(p: Pkt, msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut b = SESSION.to_vec();
    b.extend_from_slice(&p.first.to_be_bytes());
    b.extend_from_slice(&p.count.to_be_bytes());
    for s in p.first..p.first + u64::from(p.count) {
        let m = &msgs[(s - 1) as usize];
        b.extend_from_slice(&(m.len() as u16).to_be_bytes());
        b.extend_from_slice(m);
    }
    b
}

/// Packs messages 1..=n with random counts (1..=max) per packet, never
/// over the MTU.
fn pack(rng: &mut SmallRng, msgs: &[Vec<u8>], max: u16) -> Vec<Pkt> {
    let mut out = Vec::new();
    let mut s = 1u64;
    let n = msgs.len() as u64;
    while s <= n {
        let want = rng.gen_range(1..=max);
        let mut count = 0u16;
        // Ethernet, IPv6 (the larger header), UDP, MoldUDP64.
        let mut bytes = 14 + 40 + 8 + MOLD_HEADER;
        while count < want && s + u64::from(count) <= n {
            let m = msgs[(s + u64::from(count) - 1) as usize].len() + 2;
            if bytes + m > MTU_FRAME {
                break;
            }
            bytes += m;
            count += 1;
        }
        out.push(Pkt { first: s, count });
        s += u64::from(count);
    }
    out
}

struct Arrival {
    t: u64,
    leg: usize,
    first: u64,
    frame: Vec<u8>,
}

#[derive(Debug)]
struct Outcome {
    sent_messages: Vec<u64>,
    arrived: Vec<u64>,
    messages_sent: u64,
}

/// Runs one scenario; panics (through prop_assert-free asserts) on any
/// violated frame property; returns the messages for the caller to
/// compare.
fn run(seed: u64, mode: Mode, common_loss: bool, v6: bool) -> Outcome {
    let mut rng = SmallRng::seed_from_u64(seed);
    let n = rng.gen_range(20..400usize);
    let msgs: Vec<Vec<u8>> = (1..=n as u64)
        .map(|s| message(s, rng.gen_range(0..60)))
        .collect();
    let max = [2u16, 5, 12, 40][rng.gen_range(0..4)];
    let packs = [pack(&mut rng, &msgs, max), pack(&mut rng, &msgs, max)];
    let loss = rng.gen_range(0.0..0.3);
    // Which packets each leg loses. Without common loss a leg-1 packet is
    // lost only if leg 0 delivers each of its messages.
    let lost0: Vec<bool> = packs[0].iter().map(|_| rng.gen_bool(loss)).collect();
    let mut on0 = vec![false; n + 1];
    for (p, &l) in packs[0].iter().zip(&lost0) {
        if !l {
            for s in p.first..p.first + u64::from(p.count) {
                on0[s as usize] = true;
            }
        }
    }
    let lost1: Vec<bool> = packs[1]
        .iter()
        .map(|p| {
            rng.gen_bool(loss)
                && (common_loss || (p.first..p.first + u64::from(p.count)).all(|s| on0[s as usize]))
        })
        .collect();
    let (src, dst): (SocketAddr, SocketAddr) = if v6 {
        (
            "[fd00::9]:5000".parse().unwrap(),
            "[ff3e::1:1]:6000".parse().unwrap(),
        )
    } else {
        (
            "10.0.0.9:5000".parse().unwrap(),
            "239.1.1.1:6000".parse().unwrap(),
        )
    };
    let mut arrivals = Vec::new();
    let mut arrived = vec![false; n + 1];
    for (leg, lost) in [lost0, lost1].iter().enumerate() {
        let skew = rng.gen_range(0..SKEW);
        for (p, &l) in packs[leg].iter().zip(lost) {
            if l {
                continue;
            }
            for s in p.first..p.first + u64::from(p.count) {
                arrived[s as usize] = true;
            }
            // Sent once its last message exists.
            let last = p.first + u64::from(p.count) - 1;
            let t = last * PERIOD + skew + rng.gen_range(0..JITTER);
            let frame = udp_frame(src, dst, &payload(*p, &msgs)).unwrap();
            assert!(frame.len() <= MTU_FRAME);
            arrivals.push(Arrival {
                t,
                leg,
                first: p.first,
                frame,
            });
        }
    }
    arrivals.sort_by_key(|a| a.t);
    // The stream starts at the first packet the engine sees (messages
    // before it that come later are behind its cursor).
    let start = arrivals.first().map_or(1, |a| a.first);
    let cfg = MergeConfig {
        mode,
        legs: 2,
        capacity: 1024,
        // A message waits in its packer until the packet is full (up to
        // `max` periods), then the leg's skew and jitter.
        max_delay: SKEW + JITTER + (u64::from(max) + 2) * PERIOD,
        leg_timeout: 1_000 * PERIOD,
        restart_after: 8,
        seq_bits: 64,
        reorder: Reorder::Off,
        margin: 0,
        fill_timeout: 0,
        messages: true,
    };
    let mut e: Engine<usize> = Engine::new(&[cfg]).unwrap();
    let mut r = Recorder::default();
    let mut last_t = 0;
    for (id, a) in arrivals.iter().enumerate() {
        let info = parse_frame(&a.frame, L4Check::Software).unwrap();
        let sample = SeqSpec::MoldUdp64
            .extract(&a.frame[info.offsets.payload()])
            .unwrap();
        e.poll(a.t, &mut r);
        e.insert((0, a.leg), sample, Verdict::Good, id, a.t, &mut r);
        last_t = a.t;
    }
    let end = last_t + 10 * cfg.max_delay;
    e.poll(end, &mut r);
    e.drain(end, &mut r);

    // Every handle back once.
    let mut back: Vec<usize> = r.returned().copied().collect();
    back.sort_unstable();
    assert_eq!(back, (0..arrivals.len()).collect::<Vec<_>>(), "handles");

    // The wire: each sent frame cut down as the worker does, then parsed.
    let mut sent_messages = Vec::new();
    for s in &r.sent {
        let mut f = arrivals[s.handle].frame.clone();
        let at = parse_frame(&f, L4Check::Software).unwrap().offsets;
        let before = f.len();
        let out = trim_mold_front(&mut f, at, s.info.span).unwrap();
        assert!(f.len() <= before && f.len() <= MTU_FRAME);
        let info = parse_frame(&f, L4Check::Software).unwrap();
        assert_eq!(info.integrity, Integrity::Ok, "checksums");
        assert_eq!(info.offsets, out);
        let p = &f[out.payload()];
        let sample = SeqSpec::MoldUdp64.extract(p).expect("valid MoldUDP64");
        assert_eq!(&p[..10], SESSION);
        assert_eq!((sample.value, sample.span), (s.info.ext_seq, s.info.span));
        let mut at = MOLD_HEADER;
        for k in 0..u64::from(sample.span) {
            let len = usize::from(u16::from_be_bytes([p[at], p[at + 1]]));
            let m = &p[at + 2..at + 2 + len];
            let seq = sample.value + k;
            assert_eq!(m, &msgs[(seq - 1) as usize][..], "message {seq} bytes");
            sent_messages.push(seq);
            at += 2 + len;
        }
    }
    Outcome {
        sent_messages,
        arrived: (start..=n as u64)
            .filter(|&s| arrived[s as usize])
            .collect(),
        messages_sent: e.counters(0).messages_sent,
    }
}

/// Where two message lists first differ, for a readable failure.
fn first_difference(got: &[u64], want: &[u64]) -> Option<String> {
    let i = got.iter().zip(want).position(|(a, b)| a != b);
    let i = match i {
        Some(i) => i,
        None if got.len() == want.len() => return None,
        None => got.len().min(want.len()),
    };
    let lo = i.saturating_sub(3);
    Some(format!(
        "at {i}: sent {:?} want {:?} (lengths {} / {})",
        &got[lo..(i + 4).min(got.len())],
        &want[lo..(i + 4).min(want.len())],
        got.len(),
        want.len()
    ))
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Primary), Just(Mode::Hitless)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Loss never on both legs: the complete feed, each message once.
    #[test]
    fn the_complete_feed_once_in_order(seed in any::<u64>(), mode in mode(), v6 in any::<bool>()) {
        let o = run(seed, mode, false, v6);
        let n = o.arrived.len() as u64;
        let first = o.arrived.first().copied().unwrap_or(1);
        prop_assert_eq!(&o.arrived, &(first..first + n).collect::<Vec<_>>());
        prop_assert_eq!(first_difference(&o.sent_messages, &o.arrived), None);
        prop_assert_eq!(o.messages_sent, n);
    }

    /// Loss on both legs too: the union of what arrived, once, in order.
    #[test]
    fn the_union_once_in_order(seed in any::<u64>(), mode in mode(), v6 in any::<bool>()) {
        let o = run(seed, mode, true, v6);
        prop_assert_eq!(first_difference(&o.sent_messages, &o.arrived), None);
        prop_assert_eq!(o.messages_sent, o.arrived.len() as u64);
    }
}

/// One step of an adversarial schedule: a copy (leg, offset from the
/// running base, count, intact, heartbeat) or a time step, a shed.
#[derive(Clone, Debug)]
enum Op {
    Copy {
        leg: usize,
        offset: i8,
        count: u16,
        good: bool,
        heartbeat: bool,
    },
    Wait(u16),
    Shed(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..3, -24i8..40, 1u16..10, proptest::bool::weighted(0.9), proptest::bool::weighted(0.03))
            .prop_map(|(leg, offset, count, good, heartbeat)| Op::Copy { leg, offset, count, good, heartbeat }),
        1 => any::<u16>().prop_map(Op::Wait),
        1 => (1u8..8).prop_map(Op::Shed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any arrivals, overlapping anyhow (on one leg too), corrupt copies,
    /// heartbeats, an invalid leg, time steps and pool shedding: every
    /// handle back once; each send a suffix of its packet; the messages
    /// sent strictly increasing (none twice, never out of order); the
    /// counters agree with the sink.
    #[test]
    fn any_arrivals_keep_the_invariants(
        ops in proptest::collection::vec(op(), 1..300),
        mode in mode(),
        reorder in prop_oneof![Just(Reorder::Off), Just(Reorder::Auto)],
    ) {
        let cfg = MergeConfig {
            mode,
            legs: 2,
            capacity: 64,
            max_delay: 5_000,
            leg_timeout: 40_000,
            restart_after: 8,
            seq_bits: 64,
            reorder,
            margin: 0,
            fill_timeout: 0,
            messages: true,
        };
        let mut e: Engine<usize> = Engine::new(&[cfg]).unwrap();
        let mut r = Recorder::default();
        let mut packets: Vec<(u64, u16)> = Vec::new();
        let mut base = 1_000u64;
        let mut now = 0u64;
        for o in &ops {
            match *o {
                Op::Wait(t) => {
                    now += u64::from(t);
                    e.poll(now, &mut r);
                }
                Op::Shed(n) => {
                    e.shed(u32::from(n), now, &mut r);
                }
                Op::Copy { leg, offset, count, good, heartbeat } => {
                    let seq = base.wrapping_add_signed(i64::from(offset));
                    let sample = dataplane::seq::SeqSample {
                        source: 0x5e55,
                        span: if heartbeat { 0 } else { count },
                        heartbeat,
                        ..dataplane::seq::SeqSample::new(seq, 64)
                    };
                    let id = packets.len();
                    packets.push((seq, if heartbeat { 0 } else { count }));
                    now += 50;
                    e.poll(now, &mut r);
                    let verdict = if good { Verdict::Good } else { Verdict::Corrupt };
                    e.insert((0, leg), sample, verdict, id, now, &mut r);
                    if offset > 0 && offset % 3 == 0 {
                        base += u64::from(count);
                    }
                }
            }
        }
        now += 100_000;
        e.poll(now, &mut r);
        e.drain(now, &mut r);
        let mut back: Vec<usize> = r.returned().copied().collect();
        back.sort_unstable();
        prop_assert_eq!(back, (0..packets.len()).collect::<Vec<_>>());
        let mut next: Option<u64> = None;
        let mut messages = 0u64;
        for s in &r.sent {
            let (seq, count) = packets[s.handle];
            prop_assert!(s.info.span >= 1 && s.info.span <= count, "{:?} of ({}, {})", s.info, seq, count);
            if s.info.epoch == 0 {
                prop_assert_eq!(s.info.ext_seq + u64::from(s.info.span), seq + u64::from(count),
                    "not a suffix: {:?} of ({}, {})", s.info, seq, count);
            }
            if let Some(n) = next {
                prop_assert!(s.info.ext_seq >= n, "message {} sent again or out of order (next {})", s.info.ext_seq, n);
            }
            next = Some(s.info.ext_seq + u64::from(s.info.span));
            messages += u64::from(s.info.span);
        }
        let c = e.counters(0);
        prop_assert_eq!(c.messages_sent, messages);
        prop_assert_eq!(c.sent, r.sent.len() as u64);
        prop_assert_eq!(e.held(0), 0);
        for l in &c.legs {
            let buckets = l.used + l.duplicates + l.late + l.corrupt_dropped + l.wild
                + l.stale + l.invalid + l.heartbeats + l.shed_pool_low;
            prop_assert_eq!(buckets, l.received, "leg buckets {:?}", l);
        }
    }
}
