//! Where a stream's sequence number lives in the UDP payload, and reading it.

use std::fmt;

pub use model::{Endian, FieldWidth, SeqSpec};

use super::framing;
use crate::wire::field::{array, be16, be32};
use crate::wire::rtp;

/// One packet's sequence information, as read from the wire.
///
/// Why: the engine extends `value` itself (against the stream's highest value
/// of the current source epoch) and uses `source` to notice a restarted
/// source; extraction stays stateless.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SeqSample {
    /// The raw counter as read (16, 32 or 64 significant bits).
    pub value: u64,
    /// Width of `value`: 16, 32 or 64.
    pub bits: u32,
    /// RTP SSRC, a hash of the MoldUDP64 session, 0 if the format has none.
    pub source: u64,
    /// RTP timestamp, 0 for other formats.
    pub timestamp: u32,
    /// MoldUDP64 heartbeat or end-of-session, PITCH heartbeat or
    /// unsequenced packet: refreshes leg liveness, is not merged as data.
    pub heartbeat: bool,
    /// MoldUDP64 End of Session (also `heartbeat`): forwarded once, after
    /// every earlier message of its session; then the stream is idle until
    /// a new session starts.
    pub end_of_session: bool,
    /// How many sequence numbers the packet covers: 1, or the MoldUDP64 /
    /// PITCH message count (the next packet starts at `value + span`); 0
    /// for a heartbeat.
    pub span: u16,
}

impl SeqSample {
    /// A data packet with sequence `value` of `bits` width, no source id.
    pub fn new(value: u64, bits: u32) -> Self {
        Self {
            value,
            bits,
            source: 0,
            timestamp: 0,
            heartbeat: false,
            end_of_session: false,
            span: 1,
        }
    }
}

/// Why a payload carries no usable sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqError {
    /// The payload ends before the field (or header) does.
    Truncated {
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// RTP version field is not 2.
    RtpVersion(u8),
    /// RTP padding count is zero or larger than the payload.
    RtpPadding(u8),
    /// A market-data header whose message count or message lengths do not
    /// match the packet's bytes (never trusted).
    Malformed {
        /// The framing (`MoldUDP64`, `CME MDP3`, `PITCH`).
        framing: &'static str,
        /// What does not add up.
        what: &'static str,
    },
    /// A PITCH packet of another unit than the stream's.
    OtherUnit(u8),
}

impl fmt::Display for SeqError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqError::Truncated { need, have } => {
                write!(
                    f,
                    "payload too short for sequence: need {need} bytes, have {have}"
                )
            }
            SeqError::RtpVersion(v) => write!(f, "RTP version {v}, expected 2"),
            SeqError::RtpPadding(p) => write!(f, "RTP padding count {p} is invalid"),
            SeqError::Malformed { framing, what } => write!(f, "malformed {framing}: {what}"),
            SeqError::OtherUnit(u) => write!(f, "PITCH unit {u} is not the stream's"),
        }
    }
}

impl std::error::Error for SeqError {}

/// The payload holds at least `n` bytes.
#[inline]
pub(super) fn need(payload: &[u8], n: usize) -> Result<(), SeqError> {
    if payload.len() < n {
        Err(SeqError::Truncated {
            need: n,
            have: payload.len(),
        })
    } else {
        Ok(())
    }
}

/// Reading a [`SeqSpec`]'s sequence information from a UDP payload.
///
/// Why a trait: the spec itself is a plain type shared with the
/// configuration (crate `model`); reading the wire is the dataplane's job.
pub trait Extract {
    /// Reads the sequence information of one UDP payload.
    ///
    /// Why: every length is checked before any field is read, so malformed
    /// input becomes an error (counted by the caller), never a panic.
    fn extract(&self, udp_payload: &[u8]) -> Result<SeqSample, SeqError>;
}

impl Extract for SeqSpec {
    fn extract(&self, udp_payload: &[u8]) -> Result<SeqSample, SeqError> {
        let p = udp_payload;
        match *self {
            SeqSpec::Rtp => {
                need(p, 12)?;
                let version = p[0] >> 6;
                if version != 2 {
                    return Err(SeqError::RtpVersion(version));
                }
                let csrc = usize::from(p[0] & 0x0f);
                let mut header = 12 + 4 * csrc;
                need(p, header)?;
                if p[0] & 0x10 != 0 {
                    need(p, header + 4)?;
                    header += 4 + 4 * usize::from(be16(p, header + 2..header + 4));
                    need(p, header)?;
                }
                if p[0] & 0x20 != 0 {
                    let pad = p[p.len() - 1];
                    if pad == 0 || header + usize::from(pad) > p.len() {
                        return Err(SeqError::RtpPadding(pad));
                    }
                }
                Ok(SeqSample {
                    value: u64::from(be16(p, rtp::field::SEQUENCE)),
                    bits: 16,
                    source: u64::from(be32(p, rtp::field::SSRC)),
                    timestamp: be32(p, rtp::field::TIMESTAMP),
                    heartbeat: false,
                    end_of_session: false,
                    span: 1,
                })
            }
            SeqSpec::Field {
                width,
                endian,
                offset,
            } => {
                let size = match width {
                    FieldWidth::U32 => 4,
                    FieldWidth::U64 => 8,
                };
                need(p, offset.saturating_add(size))?;
                let f = &p[offset..offset + size];
                let value = match (width, endian) {
                    (FieldWidth::U32, Endian::Big) => u64::from(be32(f, 0..4)),
                    (FieldWidth::U32, Endian::Little) => {
                        u64::from(u32::from_le_bytes(array(f, 0..4)))
                    }
                    (FieldWidth::U64, Endian::Big) => u64::from_be_bytes(array(f, 0..8)),
                    (FieldWidth::U64, Endian::Little) => u64::from_le_bytes(array(f, 0..8)),
                };
                Ok(SeqSample::new(value, (size * 8) as u32))
            }
            SeqSpec::MoldUdp64 => framing::moldudp64(p),
            SeqSpec::CmeMdp3 => framing::cme_mdp3(p),
            SeqSpec::Pitch { unit } => framing::pitch(p, unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut p = vec![0x80, 96];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ts.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&[1, 2, 3, 4]);
        p
    }

    #[test]
    fn rtp_fields() {
        let s = SeqSpec::Rtp
            .extract(&rtp(0xBEEF, 90_000, 0xDEAD_BEEF))
            .unwrap();
        assert_eq!(s.value, 0xBEEF);
        assert_eq!(s.bits, 16);
        assert_eq!(s.timestamp, 90_000);
        assert_eq!(s.source, 0xDEAD_BEEF);
        assert!(!s.heartbeat);
        assert_eq!(s.span, 1);
    }

    #[test]
    fn rtp_malformed_at_every_length() {
        let good = rtp(1, 2, 3);
        for n in 0..12 {
            assert!(matches!(
                SeqSpec::Rtp.extract(&good[..n]),
                Err(SeqError::Truncated { .. })
            ));
        }
        let mut v1 = good.clone();
        v1[0] = 0x40;
        assert_eq!(SeqSpec::Rtp.extract(&v1), Err(SeqError::RtpVersion(1)));
        // CSRC count larger than the packet.
        let mut cc = good.clone();
        cc[0] = 0x82;
        assert!(matches!(
            SeqSpec::Rtp.extract(&cc),
            Err(SeqError::Truncated { need: 20, .. })
        ));
        // Extension header whose length lies.
        let mut x = good[..12].to_vec();
        x[0] = 0x90;
        x.extend_from_slice(&[0xBE, 0xDE, 0, 2, 0, 0, 0, 0]);
        assert!(matches!(
            SeqSpec::Rtp.extract(&x),
            Err(SeqError::Truncated { need: 24, .. })
        ));
        x.extend_from_slice(&[0; 4]);
        assert!(SeqSpec::Rtp.extract(&x).is_ok());
        // Padding: zero count and count beyond the payload.
        let mut pz = good.clone();
        pz[0] |= 0x20;
        *pz.last_mut().unwrap() = 0;
        assert_eq!(SeqSpec::Rtp.extract(&pz), Err(SeqError::RtpPadding(0)));
        *pz.last_mut().unwrap() = 5;
        assert_eq!(SeqSpec::Rtp.extract(&pz), Err(SeqError::RtpPadding(5)));
        *pz.last_mut().unwrap() = 4;
        assert!(SeqSpec::Rtp.extract(&pz).is_ok());
    }

    #[test]
    fn generic_fields_both_orders() {
        let p: Vec<u8> = (0u8..16).collect();
        let get = |s: &str| s.parse::<SeqSpec>().unwrap().extract(&p).unwrap();
        assert_eq!(get("u32be@0").value, 0x0001_0203);
        assert_eq!(get("u32le@0").value, 0x0302_0100);
        assert_eq!(get("u64be@8").value, 0x0809_0a0b_0c0d_0e0f);
        assert_eq!(get("u64le@8").value, 0x0f0e_0d0c_0b0a_0908);
        assert_eq!(get("u32le@12").bits, 32);
        assert_eq!(get("u64be@8").bits, 64);
        for (s, n) in [("u32be@13", 17), ("u64be@9", 17), ("u64le@16", 24)] {
            let e = s.parse::<SeqSpec>().unwrap().extract(&p).unwrap_err();
            assert_eq!(e, SeqError::Truncated { need: n, have: 16 });
        }
        // An offset near usize::MAX cannot be parsed, and a huge one never overflows.
        let huge = SeqSpec::Field {
            width: FieldWidth::U64,
            endian: Endian::Big,
            offset: usize::MAX - 2,
        };
        assert!(huge.extract(&p).is_err());
    }
}
