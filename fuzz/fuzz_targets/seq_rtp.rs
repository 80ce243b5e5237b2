//! The RTP sequence extractor on arbitrary UDP payloads: never a panic;
//! what it accepts is an RTP v2 header that fits, read back exactly.
#![no_main]

use dataplane::seq::{Extract, SeqSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|p: &[u8]| {
    if let Ok(s) = SeqSpec::Rtp.extract(p) {
        assert!(p.len() >= 12 && p[0] >> 6 == 2);
        assert_eq!(s.bits, 16);
        assert_eq!(s.value, u64::from(u16::from_be_bytes([p[2], p[3]])));
        assert_eq!(s.timestamp, u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
        assert_eq!(
            s.source,
            u64::from(u32::from_be_bytes([p[8], p[9], p[10], p[11]]))
        );
        assert!(12 + 4 * usize::from(p[0] & 0x0f) <= p.len());
        assert_eq!((s.span, s.heartbeat), (1, false));
    }
});
