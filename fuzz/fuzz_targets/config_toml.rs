//! The whole configuration resolver: an arbitrary TOML file plus a few
//! arbitrary command-line words. Never a panic; a refusal is one line of
//! bounded length (bad values are quoted clipped); an accepted config is
//! the checked kind (multicast legs, a window that fits its slots).
#![no_main]

use config::{parse_args_with_toml, Parsed};
use libfuzzer_sys::fuzz_target;

/// Longest refusal: the message around at most two clipped quotations.
const MAX_ERROR: usize = 1200;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The file is what precedes the first NUL; after it, NUL-separated
    // command-line words (after `--`).
    let mut parts = text.split('\0');
    let toml = parts.next().unwrap_or("");
    let mut argv = vec!["mcast-failover".to_string(), "--".to_string()];
    argv.extend(parts.take(8).map(str::to_string));
    match parse_args_with_toml(argv, toml, "fuzz.toml") {
        Ok(Parsed::Run(cfg)) => {
            for s in &cfg.streams {
                assert!(s.legs.len() >= 2 && s.legs.iter().all(|l| l.ip().is_multicast()));
                assert!(s.slots.is_power_of_two());
            }
        }
        Ok(_) => {}
        Err(e) => {
            let m = e.to_string();
            assert!(!m.contains('\n'), "{m}");
            assert!(
                m.chars().count() <= MAX_ERROR,
                "{} chars",
                m.chars().count()
            );
            assert_eq!(e.exit_code(), 2);
        }
    }
});
