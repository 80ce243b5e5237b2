//! The receive stage: validate, classify and read the sequence number of
//! each packet of a burst. Shared by the one-lcore and split layouts.

use super::classify::{Route, RouteCache};
use super::layout::RxCounters;
use super::plan::Plan;
use crate::admit::{admit, Checksum, Judged};
use crate::dpdk::{HwCksum, Mbuf, Mempool, RingProducer};
use crate::merge::{Engine, Sink};
use crate::seq::{pitch_port_wide, Extract, SeqError, SeqSample, SeqSpec};
use crate::slots::Digest;
use crate::wire::{parse_frame, verify_udp, DropReason, FrameOffsets, Integrity, L4Check};

/// A packet ready for the merge engine.
#[derive(Debug)]
pub struct Arrival {
    /// Stream and leg.
    pub route: Route,
    /// Its sequence number (not yet extended).
    pub sample: SeqSample,
    /// Whether its checksums held ([`Integrity::Pending`]: the software UDP
    /// checksum is left to [`merge`], for copies that may be sent).
    pub integrity: Integrity,
    /// Its payload's digest (see [`crate::slots::Digest`]).
    pub digest: Digest,
    /// Where its headers are (also stored in the mbuf for the tx side).
    pub offsets: FrameOffsets,
    /// The packet.
    pub mbuf: Mbuf,
    /// TSC when its burst was received.
    pub rx_tsc: u64,
}

/// A packet the merge does not take.
#[derive(Debug)]
pub enum Rejected {
    /// Counted; the caller frees it.
    Drop(Mbuf),
    /// IGMP, or IPv6 with an extension header (MLD rides behind a
    /// Hop-by-Hop header), on an input with a membership host: for the
    /// main lcore ([`hand_over`]); not yet counted.
    Control(Mbuf),
}

/// The worker's end of the ring to an input's membership host (`None`: the
/// input has none).
pub type ControlRing<'r, 'eal> = Option<RingProducer<'r, 'eal>>;

/// Hands a [`Rejected::Control`] frame to the membership host: one ring
/// enqueue, no lock, no system call. A full ring (the main lcore is behind)
/// costs the frame, counted `control_full`; the frame comes back to be freed.
#[inline]
pub fn hand_over(ring: &mut ControlRing<'_, '_>, m: Mbuf, c: &mut RxCounters) -> Option<Mbuf> {
    match ring {
        Some(r) => match r.enqueue(m) {
            Ok(()) => {
                c.to_control += 1;
                None
            }
            Err(m) => {
                c.control_full += 1;
                Some(m)
            }
        },
        None => {
            c.drops[DropReason::Igmp.index()] += 1;
            Some(m)
        }
    }
}

/// Hands a judged packet to the engine at `now` (see [`crate::admit`]):
/// its UDP checksum, if still pending, is verified only when the engine
/// may send it. Used by every layout, so the rule is in one place.
#[inline(always)]
pub fn merge(
    engine: &mut Engine<Mbuf>,
    a: Arrival,
    now: u64,
    sink: &mut impl Sink<Mbuf>,
) -> Checksum {
    let at = a.offsets;
    let copy = Judged {
        stream: a.route.stream as usize,
        leg: a.route.leg as usize,
        sample: a.sample,
        integrity: a.integrity,
        digest: a.digest,
        handle: a.mbuf,
    };
    admit(engine, copy, now, sink, |m| verify_udp(m.data(), at))
}

/// Judges one packet from input `input` of `plan`: an [`Arrival`] for the
/// merge engine, or the packet back in `Err` (counted and to be freed, or
/// for the membership host).
#[inline]
pub fn judge(
    plan: &Plan,
    input: usize,
    mut m: Mbuf,
    rx_tsc: u64,
    c: &mut RxCounters,
    cache: &mut RouteCache,
) -> Result<Arrival, Rejected> {
    let inp = plan.inputs[input];
    c.packets += 1;
    // The whole frame: a chained mbuf's first segment holds only part.
    c.bytes += u64::from(m.pkt_len());
    if !m.is_contiguous() {
        c.multi_segment += 1;
        return Err(Rejected::Drop(m));
    }
    let l4 = if !plan.verify_udp {
        L4Check::Skip
    } else if inp.hw_l4_check {
        match m.l4_cksum() {
            HwCksum::Good => L4Check::Hardware { good: true },
            HwCksum::Bad => L4Check::Hardware { good: false },
            _ => L4Check::Deferred,
        }
    } else {
        L4Check::Deferred
    };
    let data = m.data();
    let info = match parse_frame(data, l4) {
        Ok(i) => i,
        Err(DropReason::Igmp | DropReason::Ipv6ExtHeader) if inp.membership => {
            return Err(Rejected::Control(m));
        }
        Err(reason) => {
            c.drops[reason.index()] += 1;
            return Err(Rejected::Drop(m));
        }
    };
    let payload = data.get(info.offsets.payload());
    let Some(route) = plan.classifier.lookup_cached(
        cache,
        inp.port,
        info.dst_ip,
        info.dst_port,
        payload.unwrap_or_default(),
    ) else {
        c.unknown_flow += 1;
        return Err(Rejected::Drop(m));
    };
    let stream = &plan.streams[route.stream as usize];
    if let Some(Some(src)) = stream.sources.get(route.leg as usize) {
        if *src != info.src_ip {
            c.wrong_source += 1;
            return Err(Rejected::Drop(m));
        }
    }
    let spec = stream.seq;
    let sample = match payload.map(|p| spec.extract(p)) {
        Some(Ok(s)) => s,
        // An RTP header that does not parse is a bad header, not a bad
        // sequence field: it has its own drop reason.
        Some(Err(_)) if spec == SeqSpec::Rtp => {
            c.drops[DropReason::RtpBadHeader.index()] += 1;
            return Err(Rejected::Drop(m));
        }
        Some(Err(SeqError::Malformed { .. })) => {
            c.drops[DropReason::FramingMalformed.index()] += 1;
            return Err(Rejected::Drop(m));
        }
        Some(Err(SeqError::OtherUnit(_))) => {
            c.drops[DropReason::OtherUnit.index()] += 1;
            return Err(Rejected::Drop(m));
        }
        _ => {
            c.bad_seq += 1;
            return Err(Rejected::Drop(m));
        }
    };
    // The one header walk: the renumberer and rewriter start from it.
    m.set_frame_offsets(info.offsets);
    Ok(Arrival {
        route,
        sample,
        integrity: info.integrity,
        digest: Digest::of(info.payload_sum),
        offsets: info.offsets,
        mbuf: m,
        rx_tsc,
    })
}

/// Whether judged packet `a` is a port-wide PITCH heartbeat (unit 0,
/// count 0), which [`unit_copies`] hands to every PITCH stream sharing its
/// group. One flag read for any other packet.
#[inline(always)]
pub fn is_port_wide(plan: &Plan, a: &Arrival) -> bool {
    a.sample.heartbeat
        && matches!(
            plan.streams[a.route.stream as usize].seq,
            SeqSpec::Pitch { .. }
        )
        && a.mbuf
            .data()
            .get(a.offsets.payload())
            .is_some_and(pitch_port_wide)
}

/// For a port-wide PITCH heartbeat `a` from input `input` (judged for the
/// first stream of its group's unit set, see [`is_port_wide`]): a copy of
/// it for each other `--seq pitch:UNIT` stream sharing that group on this
/// input, judged as that stream's heartbeat on its own leg, pushed to
/// `out`.
///
/// Why copies: the heartbeat is the liveness of every unit the port
/// carries, and each stream's engine (possibly on another merge worker)
/// takes and frees the packet it is handed. A copy is one mbuf from `pool`
/// and a frame-sized copy, made only for these heartbeats (about one a
/// second per port), never for data. A copy that cannot be made (the pool
/// is empty, or the stream filters the leg's source address) is not made:
/// that stream does not see this heartbeat, as if it had been lost.
/// `out` is filled up to its capacity (reserved once: 255 units).
#[inline(never)]
pub fn unit_copies(
    plan: &Plan,
    input: usize,
    a: &Arrival,
    pool: &Mempool<'_>,
    out: &mut Vec<Arrival>,
) {
    let inp = plan.inputs[input];
    let data = a.mbuf.data();
    // The rare path reads the addresses again rather than carry them in
    // every `Arrival`.
    let Ok(info) = parse_frame(data, L4Check::Skip) else {
        return;
    };
    let Some(payload) = data.get(a.offsets.payload()) else {
        return;
    };
    for &peer in plan
        .classifier
        .unit_peers(inp.port, info.dst_ip, info.dst_port)
    {
        if peer == a.route || out.len() == out.capacity() {
            continue;
        }
        let stream = &plan.streams[peer.stream as usize];
        if let Some(Some(src)) = stream.sources.get(peer.leg as usize) {
            if *src != info.src_ip {
                continue;
            }
        }
        let Ok(sample) = stream.seq.extract(payload) else {
            continue;
        };
        let Some(mut m) = pool.alloc() else {
            return;
        };
        let Some(buf) = m.append(data.len()) else {
            continue;
        };
        buf.copy_from_slice(data);
        m.set_frame_offsets(a.offsets);
        out.push(Arrival {
            route: peer,
            sample,
            integrity: a.integrity,
            digest: a.digest,
            offsets: a.offsets,
            mbuf: m,
            rx_tsc: a.rx_tsc,
        });
    }
}
