//! Message-level arbitration's output: a MoldUDP64 packet whose first
//! messages were already sent (in another leg's packet) is cut down in
//! place to its last messages, with a correct header and checksums.
//!
//! Why in place and not a new buffer: what is sent is always a suffix of
//! one input packet (the engine sends from the cursor to the packet's end),
//! so it fits in the input's buffer and under the input's MTU. Moving the
//! 62..82 header bytes forward over the dropped blocks and advancing the
//! buffer's start costs less than allocating an mbuf and copying every
//! kept block, and cannot fail for want of a buffer.

use crate::seq::{MOLD_END_OF_SESSION, MOLD_HEADER};
use crate::wire::checksum::Accum;
use crate::wire::field::{array, be16, set_be16};
use crate::wire::udp::{pseudo_header, UdpDatagram};
use crate::wire::{ipv4, ipv6, DropReason, FrameOffsets};

use super::{FrameBuf, RewriteError};

/// Offsets of the MoldUDP64 header fields in the UDP payload.
const SEQUENCE: std::ops::Range<usize> = 10..18;
const COUNT: std::ops::Range<usize> = 18..20;

/// Keeps only the last `keep` message blocks of the MoldUDP64 packet in
/// `buf` (headers at `at`): the header's sequence number moves up by the
/// messages dropped, its count becomes `keep`, the IP and UDP lengths
/// shrink, the IPv4 header checksum and the UDP checksum are updated (a
/// zero IPv4 UDP checksum, "none", stays zero). Returns the offsets of the
/// result (only the UDP length changes). A packet with `keep` messages or
/// fewer, a heartbeat and an End of Session are left as they are.
///
/// Errors when the payload is not a MoldUDP64 packet whose blocks fit it
/// (the rx check walked them, so only a changed buffer gets there) or
/// `keep` is 0.
pub fn trim_mold_front<B: FrameBuf>(
    buf: &mut B,
    at: FrameOffsets,
    keep: u16,
) -> Result<FrameOffsets, RewriteError> {
    let malformed = RewriteError::Malformed(DropReason::FramingMalformed);
    let f = buf.bytes();
    if !at.fits(f) {
        return Err(RewriteError::Malformed(DropReason::TooShort));
    }
    let (ps, pe) = (at.payload().start, at.udp().end);
    if pe - ps < MOLD_HEADER {
        return Err(malformed);
    }
    let count = be16(f, ps + COUNT.start..ps + COUNT.end);
    if count == 0 || count == MOLD_END_OF_SESSION || keep >= count {
        return Ok(at);
    }
    if keep == 0 {
        return Err(malformed);
    }
    let skip = count - keep;
    let first = ps + MOLD_HEADER;
    let mut end = first;
    for _ in 0..skip {
        if end + 2 > pe {
            return Err(malformed);
        }
        end += 2 + usize::from(be16(f, end..end + 2));
        if end > pe {
            return Err(malformed);
        }
    }
    // end <= pe: the cut is shorter than the datagram, so it fits in u16.
    let cut = end - first;
    let (old_len, new_len) = (at.udp_len() as u16, (at.udp_len() - cut) as u16);
    let old_seq: [u8; 8] = array(f, ps + SEQUENCE.start..ps + SEQUENCE.end);
    let new_seq = u64::from_be_bytes(old_seq)
        .wrapping_add(u64::from(skip))
        .to_be_bytes();
    let old_check = be16(f, at.l4() + 6..at.l4() + 8);
    // RFC 1624 when the kept bytes keep their 16-bit alignment (an even
    // cut): the sum loses the dropped bytes and the changed words, and the
    // cost is the dropped bytes, not the kept ones.
    let incremental = (old_check != 0 && cut.is_multiple_of(2)).then(|| {
        let c = Accum::from_checksum(old_check)
            .sub_bytes(&f[first..end])
            .sub_u16(old_len)
            .sub_u16(old_len)
            .add_u16(new_len)
            .add_u16(new_len)
            .sub_bytes(&old_seq)
            .add_bytes(&new_seq)
            .sub_u16(count)
            .add_u16(keep)
            .checksum();
        if c == 0 {
            0xffff
        } else {
            c
        }
    });
    buf.bytes_mut().copy_within(0..first, cut);
    if !buf.trim_front(cut) {
        return Err(RewriteError::TrimFailed);
    }
    let f = buf.bytes_mut();
    f[ps + SEQUENCE.start..ps + SEQUENCE.end].copy_from_slice(&new_seq);
    set_be16(f, ps + COUNT.start..ps + COUNT.end, keep);
    let l3 = at.l3();
    let l4 = at.l4();
    set_be16(f, l4 + 4..l4 + 6, new_len);
    let pseudo = if at.is_v6() {
        let len = l3 + ipv6::field::LENGTH.start..l3 + ipv6::field::LENGTH.end;
        let plen = be16(f, len.clone()).wrapping_sub(cut as u16);
        set_be16(f, len, plen);
        let (s, d) = (ipv6::field::SRC_ADDR, ipv6::field::DST_ADDR);
        pseudo_header(
            &f[l3 + s.start..l3 + s.end],
            &f[l3 + d.start..l3 + d.end],
            new_len,
        )
    } else {
        let len = l3 + ipv4::field::LENGTH.start..l3 + ipv4::field::LENGTH.end;
        let old_total = be16(f, len.clone());
        let total = old_total.wrapping_sub(cut as u16);
        set_be16(f, len, total);
        let ck = l3 + ipv4::field::CHECKSUM.start..l3 + ipv4::field::CHECKSUM.end;
        let c = crate::wire::checksum::update_word(be16(f, ck.clone()), old_total, total);
        set_be16(f, ck, c);
        let (s, d) = (ipv4::field::SRC_ADDR, ipv4::field::DST_ADDR);
        pseudo_header(
            &f[l3 + s.start..l3 + s.end],
            &f[l3 + d.start..l3 + d.end],
            new_len,
        )
    };
    match incremental {
        Some(c) => set_be16(f, l4 + 6..l4 + 8, c),
        None if old_check == 0 && !at.is_v6() => {}
        None => {
            let mut u = UdpDatagram::new_checked(&mut f[l4..]).map_err(RewriteError::Malformed)?;
            u.fill_checksum(pseudo);
        }
    }
    Ok(at.with_udp_len(new_len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::Headroom;
    use crate::seq::{Extract, SeqSpec};
    use crate::wire::build::udp_frame;
    use crate::wire::{parse_frame, Integrity, L4Check};
    use std::net::SocketAddr;

    /// A MoldUDP64 payload: session "SESSION001", `seq`, blocks of the
    /// given lengths (block i filled with byte i).
    fn mold(seq: u64, lens: &[usize]) -> Vec<u8> {
        let mut p = b"SESSION001".to_vec();
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&(lens.len() as u16).to_be_bytes());
        for (i, &n) in lens.iter().enumerate() {
            p.extend_from_slice(&(n as u16).to_be_bytes());
            p.extend(std::iter::repeat_n(i as u8, n));
        }
        p
    }

    fn frame(src: &str, dst: &str, payload: &[u8]) -> (Vec<u8>, FrameOffsets) {
        let (s, d): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
        let f = udp_frame(s, d, payload).unwrap();
        let at = parse_frame(&f, L4Check::Software).unwrap().offsets;
        (f, at)
    }

    #[test]
    fn keeps_the_last_blocks_with_a_correct_header_and_checksums() {
        let lens = [3usize, 4, 0, 7, 1, 12];
        for (src, dst) in [
            ("10.0.0.9:5000", "239.1.1.1:6000"),
            ("[fd00::9]:5000", "[ff3e::1:1]:6000"),
        ] {
            for keep in 1..lens.len() as u16 {
                let (f, at) = frame(src, dst, &mold(100, &lens));
                let mut b = Headroom::new(&f, 0);
                let out = trim_mold_front(&mut b, at, keep).unwrap();
                let info = parse_frame(b.bytes(), L4Check::Software).unwrap();
                assert_eq!(info.integrity, Integrity::Ok, "{src} keep {keep}");
                assert_eq!(info.offsets, out);
                let skip = lens.len() - keep as usize;
                let want = {
                    let mut m = mold(100 + skip as u64, &lens[skip..]);
                    // Block contents keep their original fill bytes.
                    m.truncate(MOLD_HEADER);
                    m[18..20].copy_from_slice(&keep.to_be_bytes());
                    for (i, &n) in lens.iter().enumerate().skip(skip) {
                        m.extend_from_slice(&(n as u16).to_be_bytes());
                        m.extend(std::iter::repeat_n(i as u8, n));
                    }
                    m
                };
                assert_eq!(&b.bytes()[out.payload()], &want[..], "{src} keep {keep}");
                let s = SeqSpec::MoldUdp64
                    .extract(&b.bytes()[out.payload()])
                    .unwrap();
                assert_eq!((s.value, s.span), (100 + skip as u64, keep));
                // Everything before the payload is as it was but the lengths
                // and checksums.
                assert_eq!(&b.bytes()[..12], &f[..12]);
            }
        }
    }

    #[test]
    fn a_zero_ipv4_checksum_stays_zero_and_nothing_to_cut_is_untouched() {
        let (mut f, at) = frame("10.0.0.9:5000", "239.1.1.1:6000", &mold(7, &[1, 2, 3]));
        f[at.l4() + 6..at.l4() + 8].fill(0);
        let mut b = f.clone();
        let out = trim_mold_front(&mut b, at, 1).unwrap();
        assert_eq!(be16(&b, out.l4() + 6..out.l4() + 8), 0);
        assert_eq!(
            parse_frame(&b, L4Check::Software).unwrap().integrity,
            Integrity::Ok
        );
        for keep in [3, 4] {
            let mut b = f.clone();
            assert_eq!(trim_mold_front(&mut b, at, keep).unwrap(), at);
            assert_eq!(b, f);
        }
        let mut b = f.clone();
        assert!(trim_mold_front(&mut b, at, 0).is_err());
        // A count the blocks do not back is refused, the frame unchanged.
        let mut bad = f.clone();
        let ps = at.payload().start;
        bad[ps + 18..ps + 20].copy_from_slice(&9u16.to_be_bytes());
        let before = bad.clone();
        assert!(trim_mold_front(&mut bad, at, 1).is_err());
        assert_eq!(bad, before);
    }
}
