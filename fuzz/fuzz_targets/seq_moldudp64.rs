//! The MoldUDP64 extractor on arbitrary UDP payloads: never a panic; a
//! packet it accepts has a header that fits and message blocks that fill
//! it exactly (`count` of them), heartbeats and End of Session span nothing;
//! a payload it calls malformed is one whose blocks do not fill it so.
#![no_main]

use dataplane::seq::{Extract, SeqError, SeqSpec, MOLD_END_OF_SESSION, MOLD_HEADER};
use libfuzzer_sys::fuzz_target;

/// Walks the `count` blocks independently (checked at every step): whether
/// they end exactly at the payload's end.
fn blocks_fill(p: &[u8], count: u16) -> bool {
    let mut at = MOLD_HEADER;
    for _ in 0..count {
        let Some(&[hi, lo]) = p.get(at..).and_then(|r| r.first_chunk::<2>()) else {
            return false;
        };
        at += 2 + usize::from(u16::from_be_bytes([hi, lo]));
    }
    at == p.len()
}

fuzz_target!(|p: &[u8]| {
    match SeqSpec::MoldUdp64.extract(p) {
        Ok(s) => {
            assert!(p.len() >= MOLD_HEADER);
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&p[10..18]);
            assert_eq!(s.value, u64::from_be_bytes(seq));
            assert_eq!(s.bits, 64);
            let count = u16::from_be_bytes([p[18], p[19]]);
            assert_eq!(s.end_of_session, count == MOLD_END_OF_SESSION);
            if s.heartbeat {
                assert_eq!(s.span, 0);
                assert_eq!(p.len(), MOLD_HEADER);
            } else {
                assert_eq!(s.span, count);
                assert!(blocks_fill(p, count));
            }
        }
        Err(SeqError::Truncated { need, have }) => {
            assert_eq!((need, have), (MOLD_HEADER, p.len()));
            assert!(p.len() < MOLD_HEADER);
        }
        Err(SeqError::Malformed { .. }) => {
            assert!(p.len() >= MOLD_HEADER);
            let count = u16::from_be_bytes([p[18], p[19]]);
            let control = count == 0 || count == MOLD_END_OF_SESSION;
            let fills = if control {
                p.len() == MOLD_HEADER
            } else {
                blocks_fill(p, count)
            };
            assert!(!fills);
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
