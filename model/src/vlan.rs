//! What the output does with an 802.1Q tag.

use std::fmt;
use std::str::FromStr;

use crate::limits::MAX_VLAN_ID;
use crate::quote::quoted;

/// The output's 802.1Q handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VlanAction {
    /// Leave the chosen copy tagged or untagged as received.
    #[default]
    Keep,
    /// Remove the tag if there is one.
    Strip,
    /// Ensure a tag with this VLAN id: push one (PCP 0) on an untagged
    /// frame, replace the VID (keeping PCP/DEI) on a tagged one. The text
    /// form accepts 1..=4094.
    Set(u16),
}

impl FromStr for VlanAction {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "keep" => Ok(VlanAction::Keep),
            "strip" => Ok(VlanAction::Strip),
            _ => match text.parse::<u16>() {
                Ok(id) if (1..=MAX_VLAN_ID).contains(&id) && !text.starts_with('+') => {
                    Ok(VlanAction::Set(id))
                }
                _ => Err(format!(
                    "bad VLAN {}: expected an id in 1..={MAX_VLAN_ID}, strip or keep",
                    quoted(text)
                )),
            },
        }
    }
}

impl fmt::Display for VlanAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VlanAction::Keep => f.write_str("keep"),
            VlanAction::Strip => f.write_str("strip"),
            VlanAction::Set(id) => write!(f, "{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("keep".parse::<VlanAction>().unwrap(), VlanAction::Keep);
        assert_eq!("strip".parse::<VlanAction>().unwrap(), VlanAction::Strip);
        assert_eq!("4094".parse::<VlanAction>().unwrap(), VlanAction::Set(4094));
        assert_eq!(VlanAction::Set(100).to_string(), "100");
        for bad in ["0", "4095", "-1", "+5", "tag", ""] {
            let err = bad.parse::<VlanAction>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
    }
}
