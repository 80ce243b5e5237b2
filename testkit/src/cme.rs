//! CME MDP 3.0 packets (`--seq cme-mdp3`), built from the specification,
//! independently of the dataplane.
//!
//! Layout (little endian): the binary packet header, MsgSeqNum (u32) and
//! SendingTime (u64, ns since the epoch), then one or more messages, each a
//! u16 MsgSize (counting itself) and the SBE message (an 8-byte SBE header:
//! block length, template id, schema id, version; then the body).

use crate::frame::payload_pattern;
use crate::parse::ParseError;

/// Bytes of the binary packet header.
pub const CME_PACKET_HEADER_LEN: usize = 12;
/// Bytes of an SBE message header (after MsgSize).
pub const SBE_HEADER_LEN: usize = 8;

/// The binary packet header of an MDP 3.0 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmeHeader {
    /// Packet sequence number (one per packet, per channel).
    pub seq: u32,
    /// Sending time, ns since the Unix epoch.
    pub sending_time: u64,
}

/// A packet carrying `messages` (each an SBE message: header and body).
///
/// # Panics
/// If a message is shorter than an SBE header or longer than 65533 bytes.
pub fn cme_mdp3_payload(seq: u32, sending_time: u64, messages: &[&[u8]]) -> Vec<u8> {
    let mut p = Vec::with_capacity(CME_PACKET_HEADER_LEN + messages.len() * 32);
    p.extend_from_slice(&seq.to_le_bytes());
    p.extend_from_slice(&sending_time.to_le_bytes());
    for m in messages {
        assert!(
            m.len() >= SBE_HEADER_LEN,
            "MDP3 message without its SBE header"
        );
        let size = u16::try_from(m.len() + 2).expect("MDP3 message too long");
        p.extend_from_slice(&size.to_le_bytes());
        p.extend_from_slice(m);
    }
    p
}

/// Packet `seq` with `count` messages of `msg_len` bytes (SBE header
/// included), message k holding [`payload_pattern`]`(seq * 256 + k,
/// msg_len)`; sending time `1.7e18 + seq * 1000` ns.
pub fn cme_mdp3_pattern_payload(seq: u32, count: usize, msg_len: usize) -> Vec<u8> {
    let base = u64::from(seq) << 8;
    let msgs: Vec<Vec<u8>> = (0..count as u64)
        .map(|k| payload_pattern(base + k, msg_len))
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    cme_mdp3_payload(
        seq,
        1_700_000_000_000_000_000 + u64::from(seq) * 1000,
        &refs,
    )
}

/// Splits an MDP 3.0 UDP payload into its packet header and messages.
pub fn parse_cme_mdp3(payload: &[u8]) -> Result<(CmeHeader, Vec<&[u8]>), ParseError> {
    if payload.len() < CME_PACKET_HEADER_LEN {
        return Err(ParseError::Truncated("MDP3 packet header"));
    }
    let h = CmeHeader {
        seq: u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]),
        sending_time: u64::from_le_bytes(payload[4..12].try_into().expect("8 bytes")),
    };
    let mut msgs = Vec::new();
    let mut rest = &payload[CME_PACKET_HEADER_LEN..];
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err(ParseError::Truncated("MDP3 message size"));
        }
        let size = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        if size < 2 + SBE_HEADER_LEN || size > rest.len() {
            return Err(ParseError::Truncated("MDP3 message"));
        }
        msgs.push(&rest[2..size]);
        rest = &rest[size..];
    }
    if msgs.is_empty() {
        return Err(ParseError::Truncated("MDP3 packet without a message"));
    }
    Ok((h, msgs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_roundtrip() {
        let p = cme_mdp3_payload(
            0x0403_0201,
            0x0807_0605_0403_0201,
            &[b"HDRHDR01abc", b"HDRHDR02"],
        );
        assert_eq!(&p[..4], &[1, 2, 3, 4]);
        assert_eq!(&p[4..12], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&p[12..14], &[13, 0]);
        assert_eq!(&p[14..25], b"HDRHDR01abc");
        assert_eq!(&p[25..27], &[10, 0]);
        assert_eq!(p.len(), 35);
        let (h, m) = parse_cme_mdp3(&p).unwrap();
        assert_eq!(h.seq, 0x0403_0201);
        assert_eq!(h.sending_time, 0x0807_0605_0403_0201);
        assert_eq!(m, vec![&b"HDRHDR01abc"[..], &b"HDRHDR02"[..]]);
    }

    #[test]
    fn pattern_and_refusals() {
        let p = cme_mdp3_pattern_payload(77, 3, 20);
        let (h, m) = parse_cme_mdp3(&p).unwrap();
        assert_eq!(h.seq, 77);
        assert_eq!(m.len(), 3);
        assert_eq!(m[2], payload_pattern((77 << 8) + 2, 20).as_slice());
        assert!(parse_cme_mdp3(&p[..p.len() - 1]).is_err());
        assert!(parse_cme_mdp3(&p[..11]).is_err());
        assert!(parse_cme_mdp3(&p[..12]).is_err());
    }
}
