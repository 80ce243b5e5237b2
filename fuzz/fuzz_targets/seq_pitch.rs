//! The Cboe PITCH extractor on arbitrary input: the first byte is the
//! stream's unit, the rest the UDP payload. Never a panic; it accepts or
//! names another unit exactly for the packets whose Hdr Length is the
//! packet's length and whose `count` messages (each at least 2 bytes) fill
//! it exactly; an accepted packet is the stream's unit (or a unit-0
//! heartbeat) and covers `count` positions from its sequence, none for a
//! heartbeat (count 0) or an unsequenced packet (sequence 0).
#![no_main]

use dataplane::seq::{Extract, SeqError, SeqSpec, PITCH_HEADER, PITCH_MIN_MESSAGE};
use libfuzzer_sys::fuzz_target;

/// The header and message walk, written again from the specification.
fn well_formed(p: &[u8]) -> bool {
    if usize::from(u16::from_le_bytes([p[0], p[1]])) != p.len() {
        return false;
    }
    let mut at = PITCH_HEADER;
    for _ in 0..p[2] {
        let Some(&len) = p.get(at) else {
            return false;
        };
        if usize::from(len) < PITCH_MIN_MESSAGE {
            return false;
        }
        at += usize::from(len);
    }
    at == p.len()
}

fuzz_target!(|input: &[u8]| {
    let Some((&unit, p)) = input.split_first() else {
        return;
    };
    match (SeqSpec::Pitch { unit }).extract(p) {
        Ok(s) => {
            assert!(well_formed(p), "accepted a malformed packet");
            let (count, wire_unit) = (p[2], p[3]);
            let seq = u32::from_le_bytes([p[4], p[5], p[6], p[7]]);
            assert!(wire_unit == unit || (wire_unit == 0 && count == 0));
            assert_eq!((s.value, s.bits, s.source), (u64::from(seq), 32, u64::from(unit)));
            let control = count == 0 || seq == 0;
            assert_eq!(s.heartbeat, control);
            assert!(!s.end_of_session);
            assert_eq!(s.span, if control { 0 } else { u16::from(count) });
        }
        Err(SeqError::OtherUnit(u)) => {
            assert!(well_formed(p), "named the unit of a malformed packet");
            assert_eq!(u, p[3]);
            assert!(u != unit && !(u == 0 && p[2] == 0));
        }
        Err(SeqError::Truncated { need, have }) => {
            assert_eq!((need, have), (PITCH_HEADER, p.len()));
        }
        Err(SeqError::Malformed { framing, .. }) => {
            assert_eq!(framing, "PITCH");
            assert!(p.len() >= PITCH_HEADER && !well_formed(p), "refused a good packet");
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
