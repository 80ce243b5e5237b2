//! The SDP parser (`--sdp`, `sdp = "FILE"`): arbitrary text. Never a panic;
//! a refusal names a line of the text (or 0 for the whole) and a one-line
//! reason; an accepted description has legs on multicast groups, each
//! `m=` line inside the text, and its output SDP parses back to one leg.
#![no_main]

use config::sdp::{output_sdp, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    match parse(&text) {
        Ok(sdp) => {
            assert!(!sdp.legs.is_empty());
            for leg in &sdp.legs {
                assert!(leg.group.ip().is_multicast(), "{leg:?}");
                assert!(leg.line >= 1 && leg.line <= lines, "{leg:?}");
            }
            let out = output_sdp(
                &sdp.name,
                sdp.legs[0].group,
                None,
                None,
                Some((&sdp.media, sdp.attributes.as_slice())),
            );
            let back = parse(&out).unwrap_or_else(|e| panic!("own output refused: {e:?}\n{out}"));
            assert_eq!(back.legs.len(), 1);
            assert_eq!(back.legs[0].group, sdp.legs[0].group);
        }
        Err(e) => {
            assert!(e.line <= lines.max(1), "{e:?}");
            assert!(!e.reason.contains('\n'), "{e:?}");
        }
    }
});
