//! Where a stream's packets carry their sequence number: `rtp`, MoldUDP64,
//! CME MDP3, Cboe PITCH, or a 32/64-bit counter at a UDP-payload offset.

use std::fmt;
use std::str::FromStr;

use crate::limits::{max_slots, MAX_SEQ_OFFSET};
use crate::quote::quoted;

/// Width of a generic sequence field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldWidth {
    /// 32-bit counter (e.g. CME MDP3 `MsgSeqNum`).
    U32,
    /// 64-bit counter (never rolls over in practice).
    U64,
}

/// Byte order of a generic sequence field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Network order.
    Big,
    /// Little endian (e.g. CME MDP3).
    Little,
}

/// How to find a stream's sequence number in a UDP payload.
///
/// Why: the merge is format-agnostic; this says which format a stream uses
/// (the dataplane's `seq` module reads it from the wire).
///
/// Text forms (`--seq`, TOML `seq`): `rtp`, `moldudp64`, `cme-mdp3`,
/// `pitch:UNIT` (UNIT 1..=255), `u32be@OFF`, `u32le@OFF`, `u64be@OFF`,
/// `u64le@OFF` with OFF a byte offset into the UDP payload, at most
/// [`MAX_SEQ_OFFSET`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SeqSpec {
    /// RTP v2: 16-bit sequence, SSRC as source, RTP timestamp; extended to
    /// 64 bits across rollover.
    #[default]
    Rtp,
    /// A plain counter at a byte offset of the UDP payload.
    Field {
        /// 32 or 64 bits.
        width: FieldWidth,
        /// Byte order.
        endian: Endian,
        /// Offset from the start of the UDP payload.
        offset: usize,
    },
    /// MoldUDP64: session[10], sequence u64 BE at 10, message count u16 BE at
    /// 18. Count 0 is a heartbeat, 0xFFFF the end of the session; the
    /// session is the source (a new one is a restart).
    MoldUdp64,
    /// CME MDP 3.0 binary packet header: MsgSeqNum u32 LE at 0, SendingTime
    /// u64 LE at 4, then messages (u16 LE size each). One sequence space per
    /// channel (the stream's groups); MsgSeqNum numbers packets.
    CmeMdp3,
    /// Cboe PITCH Sequenced Unit Header: length u16 LE, count u8, unit u8,
    /// sequence u32 LE (of the first message), then `count` messages (u8
    /// length each). Each unit is its own sequence space: a stream carries
    /// one unit, the one named here; other units on its groups are not its
    /// packets.
    Pitch {
        /// The unit this stream arbitrates (1..=255).
        unit: u8,
    },
}

impl SeqSpec {
    /// Width in bits of the raw sequence this spec yields.
    pub fn bits(&self) -> u32 {
        match self {
            SeqSpec::Rtp => 16,
            SeqSpec::CmeMdp3 | SeqSpec::Pitch { .. } => 32,
            SeqSpec::Field {
                width: FieldWidth::U32,
                ..
            } => 32,
            SeqSpec::Field {
                width: FieldWidth::U64,
                ..
            }
            | SeqSpec::MoldUdp64 => 64,
        }
    }

    /// Largest slot table this format can index unambiguously.
    pub fn max_slots(&self) -> u32 {
        max_slots(self.bits())
    }
}

impl FromStr for SeqSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "bad sequence format {}: expected rtp, moldudp64, cme-mdp3, pitch:UNIT, u32be@OFF, u32le@OFF, u64be@OFF or u64le@OFF",
                quoted(text)
            )
        };
        match text {
            "rtp" => return Ok(SeqSpec::Rtp),
            "moldudp64" => return Ok(SeqSpec::MoldUdp64),
            "cme-mdp3" => return Ok(SeqSpec::CmeMdp3),
            "pitch" => {
                return Err(format!(
                "bad sequence format {}: pitch needs the unit it arbitrates: pitch:UNIT (1..=255)",
                quoted(text)
            ))
            }
            _ => {}
        }
        if let Some(unit) = text.strip_prefix("pitch:") {
            return match unit.parse::<u8>() {
                Ok(u) if u > 0 && unit.bytes().all(|b| b.is_ascii_digit()) => {
                    Ok(SeqSpec::Pitch { unit: u })
                }
                _ => Err(format!(
                    "bad sequence format {}: the PITCH unit is 1..=255",
                    quoted(text)
                )),
            };
        }
        let (kind, offset) = text.split_once('@').ok_or_else(bad)?;
        let (width, endian) = match kind {
            "u32be" => (FieldWidth::U32, Endian::Big),
            "u32le" => (FieldWidth::U32, Endian::Little),
            "u64be" => (FieldWidth::U64, Endian::Big),
            "u64le" => (FieldWidth::U64, Endian::Little),
            _ => return Err(bad()),
        };
        if offset.is_empty() || !offset.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let offset: usize = offset.parse().map_err(|_| bad())?;
        if offset > MAX_SEQ_OFFSET {
            return Err(format!(
                "bad sequence format {}: offset {offset} is beyond {MAX_SEQ_OFFSET} bytes",
                quoted(text)
            ));
        }
        Ok(SeqSpec::Field {
            width,
            endian,
            offset,
        })
    }
}

impl fmt::Display for SeqSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqSpec::Rtp => f.write_str("rtp"),
            SeqSpec::MoldUdp64 => f.write_str("moldudp64"),
            SeqSpec::CmeMdp3 => f.write_str("cme-mdp3"),
            SeqSpec::Pitch { unit } => write!(f, "pitch:{unit}"),
            SeqSpec::Field {
                width,
                endian,
                offset,
            } => {
                let w = match width {
                    FieldWidth::U32 => "u32",
                    FieldWidth::U64 => "u64",
                };
                let e = match endian {
                    Endian::Big => "be",
                    Endian::Little => "le",
                };
                write!(f, "{w}{e}@{offset}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(width: FieldWidth, endian: Endian, offset: usize) -> SeqSpec {
        SeqSpec::Field {
            width,
            endian,
            offset,
        }
    }

    #[test]
    fn parses_every_form_and_round_trips() {
        let cases = [
            ("rtp", SeqSpec::Rtp),
            ("moldudp64", SeqSpec::MoldUdp64),
            ("cme-mdp3", SeqSpec::CmeMdp3),
            ("pitch:1", SeqSpec::Pitch { unit: 1 }),
            ("pitch:255", SeqSpec::Pitch { unit: 255 }),
            ("u32le@0", field(FieldWidth::U32, Endian::Little, 0)),
            ("u32be@4", field(FieldWidth::U32, Endian::Big, 4)),
            ("u64be@10", field(FieldWidth::U64, Endian::Big, 10)),
            ("u64le@9000", field(FieldWidth::U64, Endian::Little, 9000)),
        ];
        for (text, want) in cases {
            let got: SeqSpec = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_specs_naming_them_on_one_line() {
        for bad in [
            "",
            "RTP",
            "rtpx",
            "mold",
            "u16be@0",
            "u32be",
            "u32be@",
            "u32be@-1",
            "u32be@+1",
            "u64le@x",
            "u32be@4@5",
            "u32le@70000",
            "pitch",
            "pitch:",
            "pitch:0",
            "pitch:256",
            "pitch:+1",
            "pitch:x",
            "cme",
            "CME-MDP3",
        ] {
            let err = bad.parse::<SeqSpec>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
            assert!(!err.contains('\n'));
        }
        let err = "u32be@9001".parse::<SeqSpec>().unwrap_err();
        assert!(
            err.contains("'u32be@9001'") && err.contains("9000"),
            "{err}"
        );
        let err = "u64be@99999999999999999999999"
            .parse::<SeqSpec>()
            .unwrap_err();
        assert!(err.contains("'u64be@99999999999999999999999'"), "{err}");
    }

    #[test]
    fn a_huge_value_is_quoted_clipped() {
        let huge = format!("u32be@{}", "9".repeat(100_000));
        let err = huge.parse::<SeqSpec>().unwrap_err();
        assert!(err.len() < 400, "{} bytes", err.len());
        assert!(err.contains("…'"), "{err}");
    }

    #[test]
    fn widths_and_windows() {
        assert_eq!(SeqSpec::Rtp.bits(), 16);
        assert_eq!(SeqSpec::MoldUdp64.bits(), 64);
        assert_eq!(field(FieldWidth::U32, Endian::Big, 0).bits(), 32);
        assert_eq!(SeqSpec::Rtp.max_slots(), 32768);
        assert_eq!(SeqSpec::MoldUdp64.max_slots(), 1 << 20);
        assert_eq!(SeqSpec::CmeMdp3.bits(), 32);
        assert_eq!(SeqSpec::Pitch { unit: 3 }.bits(), 32);
    }
}
