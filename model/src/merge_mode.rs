//! How one stream chooses among the copies of a packet.

use std::fmt;
use std::str::FromStr;

use crate::quote::quoted;

/// The selection rule of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MergeMode {
    /// The first leg's copy unless it is adverse (corrupt, missing past
    /// `max_delay`, or the leg is down); then the next leg's in priority
    /// order (A/B line arbitration).
    #[default]
    Primary,
    /// The first good copy from any leg (SMPTE ST 2022-7).
    Hitless,
}

impl FromStr for MergeMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "primary" => Ok(MergeMode::Primary),
            "hitless" => Ok(MergeMode::Hitless),
            _ => Err(format!(
                "bad merge mode {}: expected primary or hitless",
                quoted(text)
            )),
        }
    }
}

impl fmt::Display for MergeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MergeMode::Primary => "primary",
            MergeMode::Hitless => "hitless",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for mode in [MergeMode::Primary, MergeMode::Hitless] {
            assert_eq!(mode.to_string().parse::<MergeMode>(), Ok(mode));
        }
        for bad in ["io", "Hitless", ""] {
            let err = bad.parse::<MergeMode>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }
}
