//! `parse_frame` on arbitrary bytes, under each checksum policy: never a
//! panic, and whatever it accepts lies inside the buffer, in header order.
#![no_main]

use dataplane::wire::{parse_frame, Integrity, L4Check};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let policies = [
        L4Check::Software,
        L4Check::Skip,
        L4Check::Hardware { good: true },
        L4Check::Hardware { good: false },
    ];
    let mut parsed = None;
    for l4 in policies {
        let r = parse_frame(data, l4);
        if let Ok(info) = r {
            let o = info.offsets;
            let (l3, l4o, payload) = (o.l3(), o.l4(), o.payload());
            assert!(14 <= l3 && l3 < l4o && l4o + 8 == payload.start && payload.end <= data.len());
            assert!(o.fits(data));
            if l4 == (L4Check::Hardware { good: false }) && info.integrity == Integrity::Ok {
                // Only a zero (absent) IPv4 UDP checksum escapes the NIC's verdict.
                assert!(data[l4o + 6] == 0 && data[l4o + 7] == 0);
            }
        }
        // Whether a frame parses does not depend on the checksum policy;
        // only its integrity verdict does.
        let shape = r.map(|i| (i.dst_ip, i.dst_port, i.offsets));
        match &parsed {
            None => parsed = Some(shape),
            Some(first) => assert_eq!(*first, shape),
        }
    }
});
