//! How long the merge waits for a copy that has not arrived: the
//! `--primary-reorder` value.

use std::fmt;
use std::str::FromStr;

use crate::limits::MAX_PRIMARY_REORDER;
use crate::quoted;

/// When a missing copy is given up before `--max-delay`.
///
/// Why three: `Auto` (the default) learns each leg's reorder depth and lag
/// and gives up as soon as that evidence says the copy will not come;
/// `Fixed(n)` is the explicit override for the primary preference (the
/// primary's copy counts as missing once the primary delivered more than
/// `n` later packets); `Off` always waits `--max-delay` (the plain timeout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Reorder {
    /// Every missing copy waits `--max-delay`.
    Off,
    /// Primary preference given up `n` positions past a missing copy.
    Fixed(u32),
    /// Learned per leg: reorder depth and lag behind the first copy.
    #[default]
    Auto,
}

impl FromStr for Reorder {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Reorder::Auto),
            "off" => Ok(Reorder::Off),
            _ => match text.parse::<u32>() {
                Ok(n) if n <= MAX_PRIMARY_REORDER => Ok(Reorder::Fixed(n)),
                _ => Err(format!(
                    "bad primary-reorder {}: expected auto, off or 0..={MAX_PRIMARY_REORDER}",
                    quoted(text)
                )),
            },
        }
    }
}

impl fmt::Display for Reorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reorder::Off => f.write_str("off"),
            Reorder::Fixed(n) => write!(f, "{n}"),
            Reorder::Auto => f.write_str("auto"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for r in [
            Reorder::Off,
            Reorder::Auto,
            Reorder::Fixed(0),
            Reorder::Fixed(16384),
        ] {
            assert_eq!(r.to_string().parse::<Reorder>(), Ok(r));
        }
        for bad in ["16385", "-1", "Auto", "", "2.5"] {
            let err = bad.parse::<Reorder>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }
}
