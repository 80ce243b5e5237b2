//! The CME MDP 3.0 extractor on arbitrary UDP payloads: never a panic; it
//! accepts exactly the packets whose binary packet header fits and whose
//! message sizes (each at least its own u16 and the SBE header) fill the
//! rest exactly, with at least one message; an accepted packet numbers one
//! sequence position, its MsgSeqNum.
#![no_main]

use dataplane::seq::{Extract, SeqError, SeqSpec, CME_HEADER, CME_MIN_MESSAGE};
use libfuzzer_sys::fuzz_target;

/// The message walk, written again from the specification.
fn well_formed(p: &[u8]) -> bool {
    let mut at = CME_HEADER;
    let mut messages = 0;
    while at < p.len() {
        let Some(b) = p.get(at..at + 2) else {
            return false;
        };
        let size = usize::from(u16::from_le_bytes([b[0], b[1]]));
        if size < CME_MIN_MESSAGE || at + size > p.len() {
            return false;
        }
        at += size;
        messages += 1;
    }
    messages > 0
}

fuzz_target!(|p: &[u8]| {
    match SeqSpec::CmeMdp3.extract(p) {
        Ok(s) => {
            assert!(well_formed(p), "accepted a malformed packet");
            assert_eq!(s.value, u64::from(u32::from_le_bytes([p[0], p[1], p[2], p[3]])));
            assert_eq!((s.bits, s.span, s.source), (32, 1, 0));
            assert!(!s.heartbeat && !s.end_of_session);
        }
        Err(SeqError::Truncated { need, have }) => {
            assert_eq!((need, have), (CME_HEADER, p.len()));
        }
        Err(SeqError::Malformed { framing, .. }) => {
            assert_eq!(framing, "CME MDP3");
            assert!(p.len() >= CME_HEADER && !well_formed(p), "refused a good packet");
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
