//! What the merge arbitrates: whole packets, or the messages inside them.

use std::fmt;
use std::str::FromStr;

use crate::quote::quoted;

/// The unit one stream's merge takes once from whichever leg has it.
///
/// Why a choice: A and B feeds of one market-data channel usually pack
/// messages identically, and packet-by-packet arbitration is the cheaper
/// one; feeds packed differently (another packetiser per line) carry the
/// same messages in packets whose `[seq, seq + count)` ranges overlap
/// without being equal, which only message-level arbitration merges without
/// losing or repeating messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Arbitrate {
    /// One copy of each packet (its sequence number, MoldUDP64: its range).
    #[default]
    Packets,
    /// One copy of each message (MoldUDP64): output packets carry exactly
    /// the messages not yet sent, in order.
    Messages,
}

impl FromStr for Arbitrate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "packets" => Ok(Arbitrate::Packets),
            "messages" => Ok(Arbitrate::Messages),
            _ => Err(format!(
                "bad arbitration unit {}: expected packets or messages",
                quoted(text)
            )),
        }
    }
}

impl fmt::Display for Arbitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arbitrate::Packets => "packets",
            Arbitrate::Messages => "messages",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for a in [Arbitrate::Packets, Arbitrate::Messages] {
            assert_eq!(a.to_string().parse::<Arbitrate>(), Ok(a));
        }
        for bad in ["message", "Packets", ""] {
            let err = bad.parse::<Arbitrate>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }
}
