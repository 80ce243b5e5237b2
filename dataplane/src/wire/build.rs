//! Builds one UDP frame around a payload: how a retransmission received on
//! a kernel socket (gap fill) becomes a frame the rewriter can send like
//! any leg's copy.
//!
//! Why its own builder: the rewriter updates the IP and UDP checksums
//! incrementally, so the frame it is given must carry correct ones; the
//! parse (`parse_frame`) is then run over the result, as on rx.

use std::net::{IpAddr, SocketAddr};

use super::checksum::{checksum, Accum};
use super::ethernet::multicast_mac;

/// Ethernet + IPv4/IPv6 + UDP + `payload` from `src` to `dst` (same family;
/// `None` otherwise or when the datagram is too long), with the multicast
/// MAC of `dst` (any MAC for unicast: the rewriter writes the output's).
pub fn udp_frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Option<Vec<u8>> {
    let udp_len = 8 + payload.len();
    let mut f = Vec::with_capacity(14 + 40 + udp_len);
    // A unicast `dst` has no mapped MAC; the rewriter writes the output's.
    let mac = multicast_mac(dst.ip()).unwrap_or([0x02, 0, 0, 0, 0, 0x02]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    let pseudo = match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let total = u16::try_from(20 + udp_len).ok()?;
            f.extend_from_slice(&[0x08, 0x00]);
            let at = f.len();
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&total.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
            let c = checksum(&f[at..at + 20]);
            f[at + 10..at + 12].copy_from_slice(&c.to_be_bytes());
            Accum::new().add_bytes(&s.octets()).add_bytes(&d.octets())
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let plen = u16::try_from(udp_len).ok()?;
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&plen.to_be_bytes());
            f.extend_from_slice(&[17, 64]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
            Accum::new().add_bytes(&s.octets()).add_bytes(&d.octets())
        }
        _ => return None,
    };
    let len = u16::try_from(udp_len).ok()?;
    let at = f.len();
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    let mut c = pseudo
        .add_bytes(&[0, 17])
        .add_bytes(&len.to_be_bytes())
        .add_bytes(&f[at..])
        .checksum();
    if c == 0 {
        c = 0xffff;
    }
    f[at + 6..at + 8].copy_from_slice(&c.to_be_bytes());
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{parse_frame, Integrity, L4Check};

    #[test]
    fn frames_parse_with_good_checksums() {
        let cases = [
            ("10.0.0.9:5000", "239.1.1.1:6000"),
            ("[fd00::9]:5000", "[ff3e::1:1]:6000"),
        ];
        for (s, d) in cases {
            let (s, d): (SocketAddr, SocketAddr) = (s.parse().unwrap(), d.parse().unwrap());
            for n in [0usize, 1, 20, 1201] {
                let payload: Vec<u8> = (0..n).map(|i| i as u8).collect();
                let f = udp_frame(s, d, &payload).unwrap();
                let info = parse_frame(&f, L4Check::Software).unwrap();
                assert_eq!(info.integrity, Integrity::Ok, "{s} -> {d}, {n} bytes");
                assert_eq!((info.src_ip, info.dst_ip), (s.ip(), d.ip()));
                assert_eq!((info.src_port, info.dst_port), (s.port(), d.port()));
                assert_eq!(&f[info.offsets.payload()], &payload[..]);
            }
        }
        let (v4, v6): (SocketAddr, SocketAddr) =
            ("10.0.0.9:1".parse().unwrap(), "[::1]:1".parse().unwrap());
        assert!(udp_frame(v4, v6, b"x").is_none());
        assert!(udp_frame(v4, v4, &vec![0; 70_000]).is_none());
    }
}
