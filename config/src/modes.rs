//! Small enumerations chosen by name on the command line and in TOML:
//! forwarding mode, per-stream merge mode, output VLAN handling.

use std::fmt;
use std::str::FromStr;

/// What the binary does with the input ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForwardMode {
    /// Merge streams; prefer the primary (first) leg's copy of each packet.
    #[default]
    Primary,
    /// Merge streams; send whichever leg's good copy arrives first (ST 2022-7).
    Hitless,
    /// No merge: forward every packet of the primary port to the output port
    /// as is (proves the DPDK path end to end; streams are not needed).
    Io,
}

impl ForwardMode {
    /// The merge mode streams get from this forwarding mode, if it merges.
    pub fn merge_mode(&self) -> Option<MergeMode> {
        match self {
            ForwardMode::Primary => Some(MergeMode::Primary),
            ForwardMode::Hitless => Some(MergeMode::Hitless),
            ForwardMode::Io => None,
        }
    }
}

impl FromStr for ForwardMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "primary" => Ok(ForwardMode::Primary),
            "hitless" => Ok(ForwardMode::Hitless),
            "io" => Ok(ForwardMode::Io),
            _ => Err(format!(
                "bad forward mode '{text}': expected primary, hitless or io"
            )),
        }
    }
}

impl fmt::Display for ForwardMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ForwardMode::Primary => "primary",
            ForwardMode::Hitless => "hitless",
            ForwardMode::Io => "io",
        })
    }
}

/// How one stream chooses among the copies of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MergeMode {
    /// The first leg's copy whenever it is good and in time; the next leg's
    /// otherwise (A/B line arbitration, the patent's primary/secondary).
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
                "bad merge mode '{text}': expected primary or hitless"
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

/// What the output does with an 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VlanMode {
    /// Leave the chosen copy's tagging as it is.
    #[default]
    Keep,
    /// Remove any tag.
    Strip,
    /// Send tagged with this VLAN id (1..=4094), replacing any tag.
    Set(u16),
}

impl FromStr for VlanMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "keep" => Ok(VlanMode::Keep),
            "strip" => Ok(VlanMode::Strip),
            _ => match text.parse::<u16>() {
                Ok(id) if (1..=4094).contains(&id) && !text.starts_with('+') => {
                    Ok(VlanMode::Set(id))
                }
                _ => Err(format!(
                    "bad VLAN '{text}': expected an id in 1..=4094, strip or keep"
                )),
            },
        }
    }
}

impl fmt::Display for VlanMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VlanMode::Keep => f.write_str("keep"),
            VlanMode::Strip => f.write_str("strip"),
            VlanMode::Set(id) => write!(f, "{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_modes() {
        for text in ["primary", "hitless", "io"] {
            assert_eq!(text.parse::<ForwardMode>().unwrap().to_string(), text);
        }
        let err = "fast".parse::<ForwardMode>().unwrap_err();
        assert!(err.contains("'fast'"), "{err}");
        assert_eq!(ForwardMode::Io.merge_mode(), None);
        assert_eq!(ForwardMode::Hitless.merge_mode(), Some(MergeMode::Hitless));
    }

    #[test]
    fn merge_modes() {
        assert_eq!("hitless".parse::<MergeMode>().unwrap(), MergeMode::Hitless);
        let err = "io".parse::<MergeMode>().unwrap_err();
        assert!(err.contains("'io'"), "{err}");
    }

    #[test]
    fn vlan_modes() {
        assert_eq!("keep".parse::<VlanMode>().unwrap(), VlanMode::Keep);
        assert_eq!("strip".parse::<VlanMode>().unwrap(), VlanMode::Strip);
        assert_eq!("4094".parse::<VlanMode>().unwrap(), VlanMode::Set(4094));
        assert_eq!(VlanMode::Set(100).to_string(), "100");
        for bad in ["0", "4095", "-1", "+5", "tag", ""] {
            let err = bad.parse::<VlanMode>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
    }
}
