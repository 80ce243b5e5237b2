//! The MoldUDP64 extractor on arbitrary UDP payloads: never a panic; a
//! header that fits gives its sequence and count, heartbeats span nothing.
#![no_main]

use dataplane::seq::{Extract, SeqSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|p: &[u8]| {
    if let Ok(s) = SeqSpec::MoldUdp64.extract(p) {
        assert!(p.len() >= 20);
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&p[10..18]);
        assert_eq!(s.value, u64::from_be_bytes(seq));
        assert_eq!(s.bits, 64);
        if s.heartbeat {
            assert_eq!(s.span, 0);
        } else {
            assert_eq!(s.span, u16::from_be_bytes([p[18], p[19]]));
            assert!(s.span > 0);
        }
    }
});
