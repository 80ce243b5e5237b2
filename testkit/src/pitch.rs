//! Cboe PITCH packets (`--seq pitch:UNIT`), built from the specification,
//! independently of the dataplane.
//!
//! Layout (little endian), the Sequenced Unit Header: Hdr Length (u16, the
//! whole packet), Hdr Count (u8, messages), Hdr Unit (u8), Hdr Sequence
//! (u32, of the first message; 0 = unsequenced), then `count` messages, each
//! a u8 Length (counting itself), a u8 Message Type and the body. A count
//! of 0 is a heartbeat.

use crate::frame::payload_pattern;
use crate::parse::ParseError;

/// Bytes of the Sequenced Unit Header.
pub const PITCH_HEADER_LEN: usize = 8;

/// The Sequenced Unit Header of a PITCH packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PitchHeader {
    /// Hdr Length: bytes of the whole packet.
    pub length: u16,
    /// Messages in the packet (0: heartbeat).
    pub count: u8,
    /// The unit whose sequence space the packet is in.
    pub unit: u8,
    /// Sequence number of the first message.
    pub seq: u32,
}

/// A packet of `unit` carrying `messages` (each its type byte and body),
/// the first numbered `seq`.
///
/// # Panics
/// With more than 255 messages, an empty one or one over 254 bytes, or a
/// packet over 65535 bytes.
pub fn pitch_payload(unit: u8, seq: u32, messages: &[&[u8]]) -> Vec<u8> {
    let count = u8::try_from(messages.len()).expect("too many PITCH messages");
    let mut p = vec![0, 0, count, unit];
    p.extend_from_slice(&seq.to_le_bytes());
    for m in messages {
        assert!(!m.is_empty(), "PITCH message without its type byte");
        let len = u8::try_from(m.len() + 1).expect("PITCH message too long");
        p.push(len);
        p.extend_from_slice(m);
    }
    let total = u16::try_from(p.len()).expect("PITCH packet too long");
    p[0..2].copy_from_slice(&total.to_le_bytes());
    p
}

/// A heartbeat of `unit` (no messages; `next_seq` the next sequence).
pub fn pitch_heartbeat(unit: u8, next_seq: u32) -> Vec<u8> {
    pitch_payload(unit, next_seq, &[])
}

/// Packet `seq` of `unit` with `count` messages of `msg_len` bytes (type
/// byte included), message `seq + k` holding [`payload_pattern`]`(seq + k,
/// msg_len)`.
pub fn pitch_pattern_payload(unit: u8, seq: u32, count: u8, msg_len: usize) -> Vec<u8> {
    let msgs: Vec<Vec<u8>> = (0..u64::from(count))
        .map(|k| payload_pattern(u64::from(seq) + k, msg_len))
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    pitch_payload(unit, seq, &refs)
}

/// Splits a PITCH UDP payload into its header and messages (type byte and
/// body each).
pub fn parse_pitch(payload: &[u8]) -> Result<(PitchHeader, Vec<&[u8]>), ParseError> {
    if payload.len() < PITCH_HEADER_LEN {
        return Err(ParseError::Truncated("PITCH sequenced unit header"));
    }
    let h = PitchHeader {
        length: u16::from_le_bytes([payload[0], payload[1]]),
        count: payload[2],
        unit: payload[3],
        seq: u32::from_le_bytes([payload[4], payload[5], payload[6], payload[7]]),
    };
    if usize::from(h.length) != payload.len() {
        return Err(ParseError::Truncated("PITCH packet (header length)"));
    }
    let mut msgs = Vec::new();
    let mut rest = &payload[PITCH_HEADER_LEN..];
    for _ in 0..h.count {
        let len = usize::from(*rest.first().ok_or(ParseError::Truncated("PITCH message"))?);
        if len < 2 || len > rest.len() {
            return Err(ParseError::Truncated("PITCH message"));
        }
        msgs.push(&rest[1..len]);
        rest = &rest[len..];
    }
    if !rest.is_empty() {
        return Err(ParseError::Truncated(
            "PITCH packet (bytes after the messages)",
        ));
    }
    Ok((h, msgs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_roundtrip() {
        let p = pitch_payload(7, 0x0403_0201, &[b"Aab", b"E"]);
        assert_eq!(&p[..8], &[14, 0, 2, 7, 1, 2, 3, 4]);
        assert_eq!(&p[8..12], &[4, b'A', b'a', b'b']);
        assert_eq!(&p[12..14], &[2, b'E']);
        let (h, m) = parse_pitch(&p).unwrap();
        assert_eq!((h.length, h.count, h.unit, h.seq), (14, 2, 7, 0x0403_0201));
        assert_eq!(m, vec![&b"Aab"[..], &b"E"[..]]);
    }

    #[test]
    fn pattern_heartbeat_and_refusals() {
        let p = pitch_pattern_payload(2, 100, 3, 20);
        let (h, m) = parse_pitch(&p).unwrap();
        assert_eq!((h.unit, h.seq, h.count), (2, 100, 3));
        assert_eq!(m[2], payload_pattern(102, 20).as_slice());
        let hb = pitch_heartbeat(2, 103);
        assert_eq!(hb, vec![8, 0, 0, 2, 103, 0, 0, 0]);
        assert_eq!(parse_pitch(&hb).unwrap().0.count, 0);
        assert!(parse_pitch(&p[..p.len() - 1]).is_err());
        let mut bad = p.clone();
        bad[2] = 4;
        assert!(parse_pitch(&bad).is_err());
    }
}
