//! Where a stream's packets carry their sequence number: `rtp`, a generic
//! 32/64-bit field at a UDP-payload offset, or MoldUDP64.

use std::fmt;
use std::str::FromStr;

use crate::limits::{MAX_RTP_SLOTS, MAX_SEQ_OFFSET, MAX_SLOTS};

/// How to read the sequence number that aligns the legs of a stream.
///
/// Text forms (`--seq`, TOML `seq`): `rtp`, `moldudp64`, `u32be@OFF`,
/// `u32le@OFF`, `u64be@OFF`, `u64le@OFF` with OFF a byte offset into the UDP
/// payload (e.g. CME MDP3: `u32le@0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SeqFormat {
    /// The 16-bit RTP sequence number, extended to 64 bits across rollover.
    #[default]
    Rtp,
    /// An unsigned integer field of the UDP payload.
    Field {
        /// Width in bits: 32 or 64.
        width: u8,
        /// Network (big-endian) byte order when true, little-endian otherwise.
        big_endian: bool,
        /// Byte offset from the start of the UDP payload.
        offset: usize,
    },
    /// MoldUDP64: u64 BE sequence at offset 10, u16 BE message count at 18
    /// (count 0 is a heartbeat and carries no data).
    MoldUdp64,
}

impl SeqFormat {
    /// Largest slot table this format can index unambiguously.
    pub fn max_slots(&self) -> u32 {
        match self {
            SeqFormat::Rtp => MAX_RTP_SLOTS,
            SeqFormat::Field { .. } | SeqFormat::MoldUdp64 => MAX_SLOTS,
        }
    }
}

impl FromStr for SeqFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "bad sequence format '{text}': expected rtp, moldudp64, u32be@OFF, u32le@OFF, u64be@OFF or u64le@OFF"
            )
        };
        match text {
            "rtp" => return Ok(SeqFormat::Rtp),
            "moldudp64" => return Ok(SeqFormat::MoldUdp64),
            _ => {}
        }
        let (kind, offset) = text.split_once('@').ok_or_else(bad)?;
        let (width, big_endian) = match kind {
            "u32be" => (32, true),
            "u32le" => (32, false),
            "u64be" => (64, true),
            "u64le" => (64, false),
            _ => return Err(bad()),
        };
        if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let offset: usize = offset.parse().map_err(|_| bad())?;
        if offset > MAX_SEQ_OFFSET {
            return Err(format!(
                "bad sequence format '{text}': offset {offset} is beyond {MAX_SEQ_OFFSET} bytes"
            ));
        }
        Ok(SeqFormat::Field {
            width,
            big_endian,
            offset,
        })
    }
}

impl fmt::Display for SeqFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqFormat::Rtp => f.write_str("rtp"),
            SeqFormat::MoldUdp64 => f.write_str("moldudp64"),
            SeqFormat::Field {
                width,
                big_endian,
                offset,
            } => {
                let order = if *big_endian { "be" } else { "le" };
                write!(f, "u{width}{order}@{offset}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_round_trips() {
        let cases = [
            ("rtp", SeqFormat::Rtp),
            ("moldudp64", SeqFormat::MoldUdp64),
            (
                "u32le@0",
                SeqFormat::Field {
                    width: 32,
                    big_endian: false,
                    offset: 0,
                },
            ),
            (
                "u32be@4",
                SeqFormat::Field {
                    width: 32,
                    big_endian: true,
                    offset: 4,
                },
            ),
            (
                "u64be@10",
                SeqFormat::Field {
                    width: 64,
                    big_endian: true,
                    offset: 10,
                },
            ),
            (
                "u64le@9000",
                SeqFormat::Field {
                    width: 64,
                    big_endian: false,
                    offset: 9000,
                },
            ),
        ];
        for (text, want) in cases {
            let got: SeqFormat = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_specs_naming_them() {
        for bad in [
            "",
            "RTP",
            "u16be@0",
            "u32be",
            "u32be@",
            "u32be@-1",
            "u32be@+1",
            "u64le@x",
            "u32be@4@5",
            "mold",
        ] {
            let err = bad.parse::<SeqFormat>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
        let err = "u32be@9001".parse::<SeqFormat>().unwrap_err();
        assert!(
            err.contains("'u32be@9001'") && err.contains("9001"),
            "{err}"
        );
        let err = "u64be@99999999999999999999999"
            .parse::<SeqFormat>()
            .unwrap_err();
        assert!(err.contains("'u64be@99999999999999999999999'"), "{err}");
    }

    #[test]
    fn rtp_window_is_capped() {
        assert_eq!(SeqFormat::Rtp.max_slots(), 32768);
        assert_eq!(SeqFormat::MoldUdp64.max_slots(), 1 << 20);
    }
}
