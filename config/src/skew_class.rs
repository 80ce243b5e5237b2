//! SMPTE ST 2022-7 receiver classes: presets for `--max-delay`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A receiver class of SMPTE ST 2022-7 (2019), named by the largest path
/// differential (skew between the two copies) a receiver of the class must
/// absorb.
///
/// Why a preset: an operator knows the class of the plant (intra-facility,
/// short haul, long haul, LAN redundancy) rather than a millisecond
/// figure; the class gives `--max-delay` its value, and an explicit
/// `--max-delay` still wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkewClass {
    /// Class A, low skew (intra-facility): 10 ms.
    A,
    /// Class B, moderate skew (short haul): 50 ms.
    B,
    /// Class C, high skew (long haul): 450 ms (the standard allows only
    /// 150 ms for streams of 270 Mb/s and more; give `--max-delay 150`).
    C,
    /// Class D, ultra-low skew (physical-layer LAN redundancy): 150 us.
    D,
}

impl SkewClass {
    /// The class's largest path differential: the `--max-delay` it sets.
    pub fn max_delay(self) -> Duration {
        match self {
            SkewClass::A => Duration::from_millis(10),
            SkewClass::B => Duration::from_millis(50),
            SkewClass::C => Duration::from_millis(450),
            SkewClass::D => Duration::from_micros(150),
        }
    }
}

impl FromStr for SkewClass {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "a" | "A" => Ok(SkewClass::A),
            "b" | "B" => Ok(SkewClass::B),
            "c" | "C" => Ok(SkewClass::C),
            "d" | "D" => Ok(SkewClass::D),
            _ => Err(format!(
                "bad class {}: expected a, b, c or d (SMPTE ST 2022-7 receiver classes)",
                model::quoted(text)
            )),
        }
    }
}

impl fmt::Display for SkewClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkewClass::A => "a",
            SkewClass::B => "b",
            SkewClass::C => "c",
            SkewClass::D => "d",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_and_set_the_standard_path_differentials() {
        let ms = |c: &str| c.parse::<SkewClass>().unwrap().max_delay().as_secs_f64() * 1e3;
        assert_eq!(ms("a"), 10.0);
        assert_eq!(ms("B"), 50.0);
        assert_eq!(ms("c"), 450.0);
        assert!((ms("d") - 0.15).abs() < 1e-9);
        let e = "e".parse::<SkewClass>().unwrap_err();
        assert!(e.contains("'e'"), "{e}");
    }
}
