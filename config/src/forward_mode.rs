//! What the binary does with the input ports (`--forward-mode`).

use std::fmt;
use std::str::FromStr;

use model::MergeMode;

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
                "bad forward mode {}: expected primary, hitless or io",
                model::quoted(text)
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
}
