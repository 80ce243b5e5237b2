//! Where the workers take time from (`--clock`).

use std::fmt;
use std::str::FromStr;

/// The workers' clock.
///
/// Why a choice: a live device runs on the CPU's time stamp counter. A
/// recorded A/B capture replayed through `net_pcap` carries its own timeline
/// in the packets' timestamps; following it makes every timer (max-delay,
/// leg-timeout) fire at the same packet however fast or loaded the machine
/// is, so an offline replay gives one exact answer (what the merge would
/// have done with that capture) and time-defined tests are deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ClockSource {
    /// The TSC, read once per rx burst.
    #[default]
    Tsc,
    /// Each packet's rx timestamp as the driver stamps it (net_pcap: its
    /// capture time, in microseconds); time moves only when packets arrive.
    Capture,
}

impl FromStr for ClockSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "tsc" => Ok(ClockSource::Tsc),
            "capture" => Ok(ClockSource::Capture),
            _ => Err(format!(
                "bad clock {}: expected tsc or capture",
                model::quoted(text)
            )),
        }
    }
}

impl fmt::Display for ClockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockSource::Tsc => "tsc",
            ClockSource::Capture => "capture",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for c in [ClockSource::Tsc, ClockSource::Capture] {
            assert_eq!(c.to_string().parse::<ClockSource>(), Ok(c));
        }
        let err = "wall".parse::<ClockSource>().unwrap_err();
        assert!(err.contains("'wall'"), "{err}");
    }
}
