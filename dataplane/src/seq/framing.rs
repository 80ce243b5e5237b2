//! Market-data framings: the MoldUDP64, CME MDP 3.0 and Cboe PITCH headers,
//! read with every message block walked, so a count or a length that lies
//! about the packet is refused ([`SeqError::Malformed`]) instead of trusted.
//!
//! Why walk the messages: the merge sends a packet as covering
//! `[seq, seq + count)`; a packet whose count does not match its bytes would
//! make the output skip (or repeat) message numbers downstream.

use super::spec::{need, SeqError, SeqSample};
use crate::wire::field::{array, be16};

/// Message count of a MoldUDP64 End of Session packet.
pub const MOLD_END_OF_SESSION: u16 = 0xFFFF;
/// MoldUDP64 header: session (10), sequence (8), count (2).
pub const MOLD_HEADER: usize = 20;
/// CME MDP 3.0 binary packet header: MsgSeqNum (4), SendingTime (8).
pub const CME_HEADER: usize = 12;
/// Smallest CME MDP 3.0 message: its u16 size and the 8-byte SBE header.
pub const CME_MIN_MESSAGE: usize = 10;
/// Cboe PITCH Sequenced Unit Header: length (2), count (1), unit (1),
/// sequence (4).
pub const PITCH_HEADER: usize = 8;
/// Offset of Hdr Unit in the PITCH Sequenced Unit Header (what tells the
/// units sharing a group apart).
pub const PITCH_UNIT_AT: usize = 3;
/// Smallest PITCH message: its length and type bytes.
pub const PITCH_MIN_MESSAGE: usize = 2;

/// Whether a PITCH payload is the port-wide heartbeat: a Sequenced Unit
/// Header of unit 0 with count 0. Why its own test: it belongs to every
/// unit the port carries, so it is each unit stream's liveness (the rx
/// stage hands it to every PITCH stream sharing the group), never data.
#[inline]
pub fn pitch_port_wide(p: &[u8]) -> bool {
    p.get(2) == Some(&0) && p.get(PITCH_UNIT_AT) == Some(&0)
}

#[inline]
fn malformed(framing: &'static str, what: &'static str) -> SeqError {
    SeqError::Malformed { framing, what }
}

/// The error of a message walk that stopped at offset `at` of a `len`-byte
/// packet: past its end, a message length overran it; otherwise `short`
/// (the count or the bytes left do not match). Why one place: the walks
/// test only offsets, so each overrun is named here from where it ended.
#[cold]
fn walk_error(framing: &'static str, at: usize, len: usize, short: &'static str) -> SeqError {
    malformed(
        framing,
        if at > len {
            "message length overruns the packet"
        } else {
            short
        },
    )
}

#[inline(always)]
fn le16(p: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(array(p, at..at + 2))
}

#[inline(always)]
fn le32(p: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array(p, at..at + 4))
}

/// A stable 64-bit source id of the 10-byte MoldUDP64 session: its first 8
/// bytes through an odd multiply (a bijection) with the last 2 folded in.
/// Only equality matters (a new session is a restart), so the bytes are
/// read in the host's order (no byte swap); two sessions collide only if
/// their multiplied heads differ in nothing but the low 16 bits, by their
/// tails' XOR. Two words instead of a byte loop: this runs for every copy.
#[inline(always)]
fn session_id(session: &[u8; 10]) -> u64 {
    let head = u64::from_ne_bytes(array(session, 0..8));
    let tail = u64::from(u16::from_ne_bytes(array(session, 8..10)));
    head.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ tail
}

/// MoldUDP64: session[10], sequence u64 BE, count u16 BE, then `count`
/// blocks of (u16 BE length, message). Count 0 (heartbeat) and 0xFFFF (End
/// of Session) carry no blocks; the session hash is the source.
#[inline]
pub(super) fn moldudp64(p: &[u8]) -> Result<SeqSample, SeqError> {
    const M: &str = "MoldUDP64";
    need(p, MOLD_HEADER)?;
    let count = be16(p, 18..20);
    let sample = |heartbeat, end_of_session, span| SeqSample {
        value: u64::from_be_bytes(array(p, 10..18)),
        bits: 64,
        source: session_id(&array(p, 0..10)),
        timestamp: 0,
        heartbeat,
        end_of_session,
        span,
    };
    if count == 0 || count == MOLD_END_OF_SESSION {
        if p.len() != MOLD_HEADER {
            return Err(malformed(
                M,
                "bytes after a heartbeat or end-of-session header",
            ));
        }
        return Ok(sample(true, count == MOLD_END_OF_SESSION, 0));
    }
    // One test per block: that its length field fits (`at < last` is
    // `at + 2 <= len` without an overflow to rule out). A block that
    // overran the packet leaves `at` past its end, which the next test
    // (or the final comparison) finds and names. `count` is not 0 here,
    // so the loop tests its end after each block.
    let len = p.len();
    let last = len - 1;
    let mut at = MOLD_HEADER;
    let mut left = count;
    loop {
        if at >= last {
            return Err(walk_error(
                M,
                at,
                len,
                "message count beyond what the packet holds",
            ));
        }
        at += usize::from(u16::from_be_bytes([p[at], p[at + 1]])) + 2;
        left -= 1;
        if left == 0 {
            break;
        }
    }
    if at != len {
        return Err(walk_error(M, at, len, "bytes after the last message"));
    }
    Ok(sample(false, false, count))
}

/// CME MDP 3.0: MsgSeqNum u32 LE, SendingTime u64 LE, then one or more
/// messages, each starting with its u16 LE size (size included). MsgSeqNum
/// numbers packets, so a packet covers one sequence number whatever its
/// message count.
#[inline]
pub(super) fn cme_mdp3(p: &[u8]) -> Result<SeqSample, SeqError> {
    const C: &str = "CME MDP3";
    need(p, CME_HEADER)?;
    let mut at = CME_HEADER;
    if at == p.len() {
        return Err(malformed(C, "no message after the packet header"));
    }
    while at < p.len() {
        if at + 2 > p.len() {
            return Err(malformed(C, "message size cut by the packet end"));
        }
        let size = usize::from(le16(p, at));
        if size < CME_MIN_MESSAGE {
            return Err(malformed(C, "message size below its headers"));
        }
        at += size;
        if at > p.len() {
            return Err(malformed(C, "message size overruns the packet"));
        }
    }
    Ok(SeqSample::new(u64::from(le32(p, 0)), 32))
}

/// Cboe PITCH Sequenced Unit Header: length u16 LE (the whole packet),
/// count u8, unit u8, sequence u32 LE of the first message, then `count`
/// messages each starting with its u8 length (length included). Only
/// `unit`'s packets are the stream's; count 0 is a heartbeat and sequence
/// 0 an unsequenced packet (neither is merged; a unit-0 heartbeat keeps
/// every unit's legs alive).
#[inline]
pub(super) fn pitch(p: &[u8], unit: u8) -> Result<SeqSample, SeqError> {
    const P: &str = "PITCH";
    need(p, PITCH_HEADER)?;
    let len = p.len();
    if usize::from(le16(p, 0)) != len {
        return Err(malformed(P, "header length is not the packet's length"));
    }
    let count = p[2];
    let value = u64::from(le32(p, 4));
    let control = || SeqSample {
        value,
        bits: 32,
        source: u64::from(unit),
        timestamp: 0,
        heartbeat: true,
        end_of_session: false,
        span: 0,
    };
    if count == 0 {
        if len != PITCH_HEADER {
            return Err(malformed(P, "bytes after the last message"));
        }
        if p[PITCH_UNIT_AT] != unit && !pitch_port_wide(p) {
            return Err(SeqError::OtherUnit(p[PITCH_UNIT_AT]));
        }
        return Ok(control());
    }
    // One bounds test per message: that its length byte is in the packet.
    // A message that overran the packet leaves `at` past its end, which
    // the next test (or the final comparison) finds and names, as a test
    // after each message would have. `count` is not 0 here, so the loop
    // tests its end after each message.
    let mut at = PITCH_HEADER;
    let mut left = count;
    loop {
        if at >= len {
            return Err(walk_error(
                P,
                at,
                len,
                "message count beyond what the packet holds",
            ));
        }
        let m = usize::from(p[at]);
        if m < PITCH_MIN_MESSAGE {
            return Err(malformed(P, "message length below 2"));
        }
        at += m;
        left -= 1;
        if left == 0 {
            break;
        }
    }
    if at != len {
        return Err(walk_error(P, at, len, "bytes after the last message"));
    }
    // Messages (count > 0): not the port-wide heartbeat, only `unit`'s.
    let wire_unit = p[PITCH_UNIT_AT];
    if wire_unit != unit {
        return Err(SeqError::OtherUnit(wire_unit));
    }
    if value == 0 {
        return Ok(control());
    }
    Ok(SeqSample {
        value,
        bits: 32,
        source: u64::from(unit),
        timestamp: 0,
        heartbeat: false,
        end_of_session: false,
        span: u16::from(count),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seq::{Extract, SeqSpec};

    fn mold(session: &[u8; 10], seq: u64, msgs: &[&[u8]]) -> Vec<u8> {
        let mut p = session.to_vec();
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(msgs.len() as u16).to_be_bytes());
        for m in msgs {
            p.extend_from_slice(&(m.len() as u16).to_be_bytes());
            p.extend_from_slice(m);
        }
        p
    }

    fn mold_control(session: &[u8; 10], seq: u64, count: u16) -> Vec<u8> {
        let mut p = mold(session, seq, &[]);
        p[18..20].copy_from_slice(&count.to_be_bytes());
        p
    }

    fn is_malformed(r: Result<SeqSample, SeqError>) -> bool {
        matches!(r, Err(SeqError::Malformed { .. }))
    }

    #[test]
    fn moldudp64_data_heartbeat_end() {
        let s = SeqSpec::MoldUdp64;
        let d = s
            .extract(&mold(b"SESSION001", 1000, &[b"ab", b"", b"xyz"]))
            .unwrap();
        assert_eq!((d.value, d.bits, d.span, d.heartbeat), (1000, 64, 3, false));
        assert!(!d.end_of_session);
        let h = s.extract(&mold_control(b"SESSION001", 1003, 0)).unwrap();
        assert!(h.heartbeat && !h.end_of_session);
        assert_eq!(h.span, 0);
        assert_eq!(h.source, d.source);
        let end = s
            .extract(&mold_control(b"SESSION001", 1003, 0xFFFF))
            .unwrap();
        assert!(end.heartbeat && end.end_of_session);
        assert_eq!((end.value, end.span), (1003, 0));
        let other = s.extract(&mold(b"SESSION002", 1, &[b"a"])).unwrap();
        assert_ne!(other.source, d.source);
        let good = mold(b"SESSION001", 1, &[b"a"]);
        for n in 0..20 {
            assert!(matches!(
                s.extract(&good[..n]),
                Err(SeqError::Truncated { need: 20, .. })
            ));
        }
    }

    #[test]
    fn moldudp64_counts_and_lengths_that_lie_are_malformed() {
        let s = SeqSpec::MoldUdp64;
        let good = mold(b"SESSION001", 7, &[b"abc", b"de"]);
        assert!(s.extract(&good).is_ok());
        // Every cut inside the messages.
        for n in 20..good.len() {
            assert!(is_malformed(s.extract(&good[..n])), "cut at {n}");
        }
        // A count larger than the blocks present, or smaller (trailing bytes).
        for count in [3u16, 1, 100, 0xFFFE] {
            let mut p = good.clone();
            p[18..20].copy_from_slice(&count.to_be_bytes());
            assert!(is_malformed(s.extract(&p)), "count {count}");
        }
        // A length that runs past the end.
        let mut p = good.clone();
        p[20..22].copy_from_slice(&400u16.to_be_bytes());
        assert!(is_malformed(s.extract(&p)));
        // Heartbeat and end of session with bytes after the header.
        for count in [0u16, 0xFFFF] {
            let mut p = mold_control(b"SESSION001", 7, count);
            p.push(0);
            assert!(is_malformed(s.extract(&p)), "count {count}");
        }
        let e = s.extract(&good[..21]).unwrap_err();
        assert!(e.to_string().starts_with("malformed MoldUDP64: "), "{e}");
    }

    fn cme(seq: u32, sizes: &[u16]) -> Vec<u8> {
        let mut p = seq.to_le_bytes().to_vec();
        p.extend_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes());
        for &n in sizes {
            p.extend_from_slice(&n.to_le_bytes());
            p.extend(std::iter::repeat_n(0xA5, usize::from(n) - 2));
        }
        p
    }

    #[test]
    fn cme_mdp3_sequence_and_messages() {
        let s = SeqSpec::CmeMdp3;
        let d = s.extract(&cme(0xDEAD_BEEF, &[10, 40, 12])).unwrap();
        assert_eq!(
            (d.value, d.bits, d.span, d.heartbeat),
            (0xDEAD_BEEF, 32, 1, false)
        );
        assert_eq!(d.source, 0);
        let good = cme(5, &[20, 30]);
        for n in 0..12 {
            assert!(matches!(
                s.extract(&good[..n]),
                Err(SeqError::Truncated { need: 12, .. })
            ));
        }
        // Every cut but the one between the two messages (a valid packet).
        for n in (12..good.len()).filter(|&n| n != 32) {
            assert!(is_malformed(s.extract(&good[..n])), "cut at {n}");
        }
        assert!(s.extract(&good[..32]).is_ok());
        // A size below the SBE header, and a zero size (no endless walk).
        for bad in [9u16, 0, 1] {
            let mut p = good.clone();
            p[12..14].copy_from_slice(&bad.to_le_bytes());
            assert!(is_malformed(s.extract(&p)), "size {bad}");
        }
        let mut p = good.clone();
        p[12..14].copy_from_slice(&60000u16.to_le_bytes());
        assert!(is_malformed(s.extract(&p)));
    }

    fn pitch_packet(unit: u8, seq: u32, lens: &[u8]) -> Vec<u8> {
        let total = 8 + lens.iter().map(|&l| usize::from(l)).sum::<usize>();
        let mut p = (total as u16).to_le_bytes().to_vec();
        p.push(lens.len() as u8);
        p.push(unit);
        p.extend_from_slice(&seq.to_le_bytes());
        for &l in lens {
            p.push(l);
            p.extend(std::iter::repeat_n(0x3C, usize::from(l) - 1));
        }
        p
    }

    #[test]
    fn pitch_units_counts_heartbeats() {
        let s = SeqSpec::Pitch { unit: 3 };
        let d = s
            .extract(&pitch_packet(3, 0x0102_0304, &[2, 30, 5]))
            .unwrap();
        assert_eq!(
            (d.value, d.bits, d.span, d.heartbeat),
            (0x0102_0304, 32, 3, false)
        );
        assert_eq!(d.source, 3);
        assert_eq!(
            s.extract(&pitch_packet(4, 9, &[10])),
            Err(SeqError::OtherUnit(4))
        );
        // Heartbeats: count 0 of this unit or of unit 0.
        for u in [3, 0] {
            let h = s.extract(&pitch_packet(u, 77, &[])).unwrap();
            assert!(h.heartbeat, "unit {u}");
            assert_eq!(h.span, 0);
        }
        assert_eq!(
            s.extract(&pitch_packet(9, 77, &[])),
            Err(SeqError::OtherUnit(9))
        );
        // Unit 0 with messages is nobody's stream.
        assert_eq!(
            s.extract(&pitch_packet(0, 77, &[4])),
            Err(SeqError::OtherUnit(0))
        );
        // Sequence 0: unsequenced, not merged.
        assert!(s.extract(&pitch_packet(3, 0, &[4])).unwrap().heartbeat);
    }

    #[test]
    fn pitch_lengths_that_lie_are_malformed() {
        let s = SeqSpec::Pitch { unit: 1 };
        let good = pitch_packet(1, 100, &[6, 2, 9]);
        assert!(s.extract(&good).is_ok());
        for n in 0..8 {
            assert!(matches!(
                s.extract(&good[..n]),
                Err(SeqError::Truncated { need: 8, .. })
            ));
        }
        // Cut packets: the header length no longer matches.
        for n in 8..good.len() {
            assert!(is_malformed(s.extract(&good[..n])), "cut at {n}");
        }
        // Cut packets with the header length fixed up: the messages do not fit.
        for n in 9..good.len() {
            let mut p = good[..n].to_vec();
            p[0..2].copy_from_slice(&(n as u16).to_le_bytes());
            assert!(is_malformed(s.extract(&p)), "fixed cut at {n}");
        }
        for count in [2u8, 4, 255] {
            let mut p = good.clone();
            p[2] = count;
            assert!(is_malformed(s.extract(&p)), "count {count}");
        }
        for len in [0u8, 1, 200] {
            let mut p = good.clone();
            p[8] = len;
            assert!(is_malformed(s.extract(&p)), "length {len}");
        }
    }
}
