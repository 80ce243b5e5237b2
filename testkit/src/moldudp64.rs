//! MoldUDP64 (Nasdaq) downstream packets: the market-data case of A/B line
//! arbitration, where the sequence number is a 64-bit big-endian field at
//! UDP payload offset 10 (`--seq u64be@10`).
//!
//! Layout: session (10 bytes, ASCII), sequence number of the first message
//! (u64 BE), message count (u16 BE; 0 = heartbeat, 0xFFFF = end of session),
//! then per message a u16 BE length and the message bytes.

use crate::frame::payload_pattern;
use crate::parse::ParseError;

/// Bytes before the first message block.
pub const MOLDUDP64_HEADER_LEN: usize = 20;
/// Offset of the sequence number inside the UDP payload.
pub const MOLDUDP64_SEQ_OFFSET: usize = 10;
/// Message count that marks the end of a session.
pub const MOLDUDP64_END_OF_SESSION: u16 = 0xffff;

/// The fixed header of a MoldUDP64 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoldHeader {
    /// Session name (10 ASCII bytes, space padded by convention).
    pub session: [u8; 10],
    /// Sequence number of the first message in the packet.
    pub seq: u64,
    /// Number of messages (0 heartbeat, 0xFFFF end of session).
    pub count: u16,
}

fn header(session: &[u8; 10], seq: u64, count: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(MOLDUDP64_HEADER_LEN);
    p.extend_from_slice(session);
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&count.to_be_bytes());
    p
}

/// A packet carrying `messages`, the first numbered `seq`.
///
/// # Panics
/// If there are 0xFFFF or more messages or one is longer than 65535 bytes.
pub fn moldudp64_payload(session: &[u8; 10], seq: u64, messages: &[&[u8]]) -> Vec<u8> {
    let count = u16::try_from(messages.len())
        .ok()
        .filter(|&c| c != MOLDUDP64_END_OF_SESSION)
        .expect("too many MoldUDP64 messages");
    let mut p = header(session, seq, count);
    for m in messages {
        let len = u16::try_from(m.len()).expect("MoldUDP64 message too long");
        p.extend_from_slice(&len.to_be_bytes());
        p.extend_from_slice(m);
    }
    p
}

/// A packet of `count` messages of `msg_len` bytes each, message `seq + k`
/// holding [`payload_pattern`]`(seq + k, msg_len)`.
pub fn moldudp64_pattern_payload(
    session: &[u8; 10],
    seq: u64,
    count: u16,
    msg_len: usize,
) -> Vec<u8> {
    let msgs: Vec<Vec<u8>> = (0..count as u64)
        .map(|k| payload_pattern(seq.wrapping_add(k), msg_len))
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    moldudp64_payload(session, seq, &refs)
}

/// A heartbeat: no messages, `next_seq` is the next expected sequence number.
pub fn moldudp64_heartbeat(session: &[u8; 10], next_seq: u64) -> Vec<u8> {
    header(session, next_seq, 0)
}

/// The end-of-session marker.
pub fn moldudp64_end_of_session(session: &[u8; 10], next_seq: u64) -> Vec<u8> {
    header(session, next_seq, MOLDUDP64_END_OF_SESSION)
}

/// One packing of a message stream: packet after packet, `counts[i %
/// counts.len()]` messages each (the last one gets what is left), never more
/// than `max_payload` bytes of UDP payload. Returns each packet's first
/// sequence number and payload; message `k` of `messages` is numbered
/// `first_seq + k`.
///
/// Why: A and B feeds packed by different packetisers carry the same
/// messages in packets of different boundaries, the case message-level
/// arbitration (`--arbitrate messages`) exists for; two calls with
/// different `counts` give the two legs.
///
/// # Panics
/// If `counts` is empty or holds a 0, or one message does not fit in
/// `max_payload` on its own.
pub fn repacketise(
    session: &[u8; 10],
    first_seq: u64,
    messages: &[Vec<u8>],
    counts: &[u16],
    max_payload: usize,
) -> Vec<(u64, Vec<u8>)> {
    assert!(!counts.is_empty() && !counts.contains(&0), "bad counts");
    let mut out = Vec::new();
    let mut k = 0usize;
    while k < messages.len() {
        let want = usize::from(counts[out.len() % counts.len()]);
        let mut bytes = MOLDUDP64_HEADER_LEN;
        let mut n = 0;
        while n < want && k + n < messages.len() {
            let add = 2 + messages[k + n].len();
            if bytes + add > max_payload {
                break;
            }
            bytes += add;
            n += 1;
        }
        assert!(n > 0, "message {k} does not fit in {max_payload} bytes");
        let refs: Vec<&[u8]> = messages[k..k + n].iter().map(Vec::as_slice).collect();
        let seq = first_seq + k as u64;
        out.push((seq, moldudp64_payload(session, seq, &refs)));
        k += n;
    }
    out
}

/// Splits a MoldUDP64 UDP payload into its header and messages.
pub fn parse_moldudp64(payload: &[u8]) -> Result<(MoldHeader, Vec<&[u8]>), ParseError> {
    if payload.len() < MOLDUDP64_HEADER_LEN {
        return Err(ParseError::Truncated("MoldUDP64 header"));
    }
    let mut session = [0u8; 10];
    session.copy_from_slice(&payload[..10]);
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&payload[10..18]);
    let h = MoldHeader {
        session,
        seq: u64::from_be_bytes(seq),
        count: u16::from_be_bytes([payload[18], payload[19]]),
    };
    let mut msgs = Vec::new();
    if h.count != MOLDUDP64_END_OF_SESSION {
        let mut rest = &payload[MOLDUDP64_HEADER_LEN..];
        for _ in 0..h.count {
            if rest.len() < 2 {
                return Err(ParseError::Truncated("MoldUDP64 message length"));
            }
            let len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            if rest.len() < 2 + len {
                return Err(ParseError::Truncated("MoldUDP64 message"));
            }
            msgs.push(&rest[2..2 + len]);
            rest = &rest[2 + len..];
        }
    }
    Ok((h, msgs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &[u8; 10] = b"SESSION001";

    #[test]
    fn layout_and_roundtrip() {
        let p = moldudp64_payload(S, 0x0102_0304_0506_0708, &[b"abc", b""]);
        assert_eq!(&p[..10], S);
        assert_eq!(&p[10..18], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&p[18..20], &[0, 2]);
        assert_eq!(&p[20..25], &[0, 3, b'a', b'b', b'c']);
        assert_eq!(&p[25..], &[0, 0]);
        let (h, m) = parse_moldudp64(&p).unwrap();
        assert_eq!(h.seq, 0x0102_0304_0506_0708);
        assert_eq!(h.count, 2);
        assert_eq!(m, vec![&b"abc"[..], &b""[..]]);
    }

    #[test]
    fn repacketised_streams_carry_the_same_messages() {
        let msgs: Vec<Vec<u8>> = (0..50u64)
            .map(|i| payload_pattern(i, i as usize % 7))
            .collect();
        let a = repacketise(S, 100, &msgs, &[3], 1500);
        let b = repacketise(S, 100, &msgs, &[1, 4, 2], 1500);
        let small = repacketise(S, 100, &msgs, &[50], 60);
        for packing in [&a, &b, &small] {
            let mut got = Vec::new();
            let mut next = 100;
            for (seq, p) in packing.iter() {
                assert!(p.len() <= 1500);
                let (h, m) = parse_moldudp64(p).unwrap();
                assert_eq!((h.seq, *seq), (next, next));
                next += u64::from(h.count);
                got.extend(m.iter().map(|m| m.to_vec()));
            }
            assert_eq!(got, msgs);
        }
        assert_eq!(a.len(), 17);
        assert_eq!(parse_moldudp64(&b[1].1).unwrap().0.count, 4);
        assert!(small.iter().all(|(_, p)| p.len() <= 60));
    }

    #[test]
    fn pattern_heartbeat_and_end() {
        let p = moldudp64_pattern_payload(S, 41, 3, 16);
        let (h, m) = parse_moldudp64(&p).unwrap();
        assert_eq!((h.seq, h.count), (41, 3));
        assert_eq!(m[2], payload_pattern(43, 16).as_slice());
        let hb = moldudp64_heartbeat(S, 44);
        assert_eq!(hb.len(), 20);
        assert_eq!(parse_moldudp64(&hb).unwrap().0.count, 0);
        let end = moldudp64_end_of_session(S, 44);
        assert_eq!(parse_moldudp64(&end).unwrap().0.count, 0xffff);
        assert!(parse_moldudp64(&p[..p.len() - 1]).is_err());
        assert!(parse_moldudp64(&p[..19]).is_err());
    }
}
