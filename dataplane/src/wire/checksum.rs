//! The Internet checksum (RFC 1071): a full computation fast enough to run
//! over every ~1400-byte payload at millions of packets per second, and the
//! RFC 1624 incremental update the rewriter uses so it never re-reads the
//! payload when it changes a few header words.
//!
//! Arithmetic is ones'-complement: sums are folded with end-around carry and
//! any value is only meaningful modulo 0xffff.

/// A running ones'-complement sum of big-endian 16-bit words.
///
/// Kept as a 64-bit ones'-complement sum (end-around carry on every add) of
/// the machine's native-order words, so pieces (pseudo-header, header,
/// payload) add with one instruction pair each and are folded to 16 bits
/// only once, at the end. This is exact: 2^16 - 1 divides 2^64 - 1, so a
/// sum modulo the latter folds to the sum modulo the former, and summing
/// native-order words yields the byte-swapped sum on a little-endian machine
/// (RFC 1071 "byte order independence"), which [`Accum::fold`] swaps back.
/// Only the LAST piece added with [`Accum::add_bytes`] may have an odd length
/// (its final byte is padded with a zero, as RFC 768 prescribes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Accum(u64);

impl Accum {
    /// An empty sum.
    pub const fn new() -> Self {
        Accum(0)
    }

    /// Adds `data` as a sequence of big-endian 16-bit words.
    #[inline]
    pub fn add_bytes(self, data: &[u8]) -> Self {
        Accum(add_oc(self.0, sum_native(data)))
    }

    /// Adds one 16-bit word (numeric value).
    #[inline]
    pub const fn add_u16(self, word: u16) -> Self {
        Accum(add_oc(self.0, native16(word)))
    }

    /// Adds a 32-bit value as its two 16-bit words.
    #[inline]
    pub const fn add_u32(self, value: u32) -> Self {
        // The native-order load of the value's 4 big-endian bytes: two
        // native words, which is what the sum is kept in.
        let native = if cfg!(target_endian = "little") {
            value.swap_bytes()
        } else {
            value
        };
        Accum(add_oc(self.0, native as u64))
    }

    /// Subtracts one 16-bit word (adds its ones'-complement negation).
    #[inline]
    pub const fn sub_u16(self, word: u16) -> Self {
        self.add_u16(!word)
    }

    /// Subtracts a 32-bit value's two 16-bit words.
    #[inline]
    pub const fn sub_u32(self, value: u32) -> Self {
        self.add_u32(!value)
    }

    /// Subtracts `data` taken as big-endian 16-bit words (even length).
    #[inline]
    pub fn sub_bytes(self, data: &[u8]) -> Self {
        // `!x` is the ones'-complement negation of x modulo 2^64 - 1.
        Accum(add_oc(self.0, !sum_native(data)))
    }

    /// Adds another running sum.
    #[inline]
    pub const fn add_accum(self, other: Accum) -> Self {
        Accum(add_oc(self.0, other.0))
    }

    /// The running sum a stored checksum stands for (`!check`): the start
    /// of an RFC 1624 incremental update.
    #[inline]
    pub const fn from_checksum(check: u16) -> Self {
        Accum::new().add_u16(!check)
    }

    /// Folds the sum to 16 bits with end-around carry. Never returns 0 for a
    /// non-zero sum (ones'-complement "negative zero" is 0xffff).
    #[inline]
    pub const fn fold(self) -> u16 {
        let native = fold64(self.0);
        if cfg!(target_endian = "little") {
            native.swap_bytes()
        } else {
            native
        }
    }

    /// The checksum to store in a header: the complement of the folded sum.
    #[inline]
    pub const fn checksum(self) -> u16 {
        !self.fold()
    }
}

/// `a + b` modulo 2^64 - 1 (ones'-complement addition): the carry out of
/// bit 63 comes back in at bit 0. Compiles to `add` + `adc 0`.
#[inline(always)]
const fn add_oc(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    // With a carry, s <= 2^64 - 2: adding it back cannot overflow.
    s + carry as u64
}

/// A big-endian word's value as the native-order load of its two bytes.
#[inline(always)]
const fn native16(word: u16) -> u64 {
    if cfg!(target_endian = "little") {
        word.swap_bytes() as u64
    } else {
        word as u64
    }
}

/// Folds a 64-bit ones'-complement accumulator to 16 bits.
#[inline]
const fn fold64(mut s: u64) -> u16 {
    s = (s & 0xffff_ffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The native-order 64-bit word at `at` (unaligned load).
#[inline(always)]
fn load64(c: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&c[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// Sums `data` as native-order 64-bit words, modulo 2^64 - 1.
///
/// 64-byte blocks go to four independent accumulators (two loads each), so
/// the end-around carries of one chain do not wait for another's: two
/// instructions (`add`, `adc`) per 8 bytes, where eight zero-extended
/// 32-bit lanes took about five per 16 bytes plus their reduction. The
/// remaining 0-63 bytes take at most three straight-line steps (32, 16, 8
/// bytes) and one zero-padded word for the last 0-7 bytes (RFC 768 padding
/// for an odd end), so short inputs such as a 20-byte IPv4 header cost a
/// handful of instructions and no loop. Any start address works: the loads
/// are unaligned, and the sum only depends on each byte's position
/// relative to `data[0]`.
///
/// No SIMD path: AVX2 with runtime detection needs `unsafe` (calling a
/// `#[target_feature]` function), which this module forbids; it was not
/// built or measured. This loop is at the scalar floor (two instructions per
/// 8 bytes), and since `admit` only one copy per packet is summed.
#[inline]
fn sum_native(data: &[u8]) -> u64 {
    let mut acc = [0u64; 4];
    let mut blocks = data.chunks_exact(64);
    for b in &mut blocks {
        for (i, a) in acc.iter_mut().enumerate() {
            *a = add_oc(*a, load64(b, 8 * i));
            *a = add_oc(*a, load64(b, 32 + 8 * i));
        }
    }
    let mut rest = blocks.remainder();
    if rest.len() >= 32 {
        for (i, a) in acc.iter_mut().enumerate() {
            *a = add_oc(*a, load64(rest, 8 * i));
        }
        rest = &rest[32..];
    }
    if rest.len() >= 16 {
        acc[0] = add_oc(acc[0], load64(rest, 0));
        acc[1] = add_oc(acc[1], load64(rest, 8));
        rest = &rest[16..];
    }
    if rest.len() >= 8 {
        acc[2] = add_oc(acc[2], load64(rest, 0));
        rest = &rest[8..];
    }
    acc[3] = add_oc(acc[3], tail_word(rest));
    add_oc(add_oc(acc[0], acc[1]), add_oc(acc[2], acc[3]))
}

/// The last `t.len() < 8` bytes as a native-order word padded with zeros
/// after them, built from at most three loads (no byte loop, no memcpy).
#[inline(always)]
fn tail_word(t: &[u8]) -> u64 {
    // Little-endian positions first: byte j at bits 8j.
    let mut le = 0u64;
    let mut at = 0;
    if t.len() >= 4 {
        le = u64::from(u32::from_le_bytes([t[0], t[1], t[2], t[3]]));
        at = 4;
    }
    if t.len() - at >= 2 {
        le |= u64::from(u16::from_le_bytes([t[at], t[at + 1]])) << (8 * at);
        at += 2;
    }
    if t.len() > at {
        le |= u64::from(t[at]) << (8 * at);
    }
    if cfg!(target_endian = "little") {
        le
    } else {
        le.swap_bytes()
    }
}

/// The Internet checksum of `data` (the value to store in a zeroed field).
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    Accum::new().add_bytes(data).checksum()
}

/// True when `data`, checksum field included, sums to ones'-complement zero.
#[inline]
pub fn verify(data: &[u8]) -> bool {
    Accum::new().add_bytes(data).fold() == 0xffff
}

/// RFC 1624 eqn. 3: the checksum after one 16-bit word of the covered data
/// changes from `old` to `new`: `HC' = ~(~HC + ~m + m')`.
#[inline]
pub const fn update_word(check: u16, old: u16, new: u16) -> u16 {
    Accum::from_checksum(check)
        .sub_u16(old)
        .add_u16(new)
        .checksum()
}

/// RFC 1624 update for a 32-bit field (e.g. an RTP SSRC) at an even offset.
#[inline]
pub const fn update_u32(check: u16, old: u32, new: u32) -> u16 {
    Accum::from_checksum(check)
        .sub_u32(old)
        .add_u32(new)
        .checksum()
}

/// RFC 1624 update for replacing an IPv4 address (4 bytes at an even offset).
#[inline]
pub fn update_addr4(check: u16, old: [u8; 4], new: [u8; 4]) -> u16 {
    update_u32(check, u32::from_be_bytes(old), u32::from_be_bytes(new))
}

/// RFC 1624 update for replacing an IPv6 address (16 bytes at an even offset).
#[inline]
pub fn update_addr16(check: u16, old: &[u8; 16], new: &[u8; 16]) -> u16 {
    Accum::from_checksum(check)
        .sub_bytes(old)
        .add_bytes(new)
        .checksum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The independent reference (testkit's plain 16-bit-word loop).
    fn reference_sum(data: &[u8]) -> u16 {
        testkit::checksum::ones_complement_sum(data, 0)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Accum::new().add_bytes(&data).fold(), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn known_ipv4_header() {
        // A captured IPv4 header with checksum 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(verify(&h));
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(&h), 0xb861);
    }

    #[test]
    fn odd_length_pads_with_zero_at_the_end() {
        assert_eq!(Accum::new().add_bytes(&[0xab]).fold(), 0xab00);
        assert_eq!(Accum::new().add_bytes(&[1, 2, 3]).fold(), 0x0102 + 0x0300);
    }

    #[test]
    fn all_tail_lengths_match_reference() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for n in 0..data.len() {
            assert_eq!(
                Accum::new().add_bytes(&data[..n]).fold() % 0xffff,
                reference_sum(&data[..n]) % 0xffff,
                "len {n}"
            );
        }
    }

    #[test]
    fn large_input_does_not_lose_carries() {
        let data = vec![0xffu8; 70_000];
        assert_eq!(reference_sum(&data), Accum::new().add_bytes(&data).fold());
    }

    /// A 9000-byte jumbo frame: every block, word and tail path at once,
    /// and far more words than a 16-bit accumulator could hold.
    #[test]
    fn jumbo_frame_matches_testkit() {
        use crate::wire::{parse_frame, Integrity, L4Check};
        use testkit::frame::{build_rtp_frame_with_pattern, FrameSpec, RtpFields};
        for (src, group) in [("10.0.0.1", "239.1.2.3"), ("2001:db8::1", "ff3e::1:2")] {
            let spec = FrameSpec::multicast(src.parse().unwrap(), group.parse().unwrap(), 5000);
            let rtp = RtpFields {
                seq: 7,
                timestamp: 9,
                ssrc: 0xdead_beef,
                pt: 96,
                marker: false,
            };
            let payload = spec.rtp_payload_len_for(9000).unwrap();
            let mut f = build_rtp_frame_with_pattern(&spec, &rtp, payload);
            assert_eq!(f.len(), 9000);
            testkit::checksum::verify_checksums(&f).unwrap();
            assert_eq!(reference_sum(&f), Accum::new().add_bytes(&f).fold());
            let info = parse_frame(&f, L4Check::Software).unwrap();
            assert_eq!(info.integrity, Integrity::Ok, "{src}");
            let last = f.len() - 1;
            f[last] ^= 0x40;
            let info = parse_frame(&f, L4Check::Software).unwrap();
            assert_eq!(info.integrity, Integrity::BadUdpChecksum, "{src}");
        }
    }

    proptest! {
        #[test]
        fn fast_sum_equals_reference(data in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let fast = Accum::new().add_bytes(&data).fold();
            let slow = reference_sum(&data);
            prop_assert_eq!(fast, slow);
            prop_assert_eq!(fast == 0, data.iter().all(|&b| b == 0));
        }

        /// Random lengths (odd ones included) at every start alignment:
        /// the fast sum equals testkit's exactly (both end-around folds
        /// give 0 only for all-zero data).
        #[test]
        fn any_length_any_alignment_equals_testkit(
            data in proptest::collection::vec(any::<u8>(), 0..9100),
            start in 0usize..16,
            cut in any::<prop::sample::Index>(),
        ) {
            let start = start.min(data.len());
            let end = start + cut.index(data.len() - start + 1);
            let piece = &data[start..end];
            prop_assert_eq!(Accum::new().add_bytes(piece).fold(), reference_sum(piece));
            prop_assert_eq!(checksum(piece), testkit::checksum::internet_checksum(piece));
        }

        /// Words of all ones stress the end-around carries of every lane.
        #[test]
        fn saturated_words_equal_testkit(len in 0usize..9100, start in 0usize..8) {
            let data = vec![0xffu8; len + start];
            let piece = &data[start..];
            prop_assert_eq!(Accum::new().add_bytes(piece).fold(), reference_sum(piece));
        }

        #[test]
        fn pieces_add_up(data in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..300) {
            let cut = (cut * 2).min(data.len() & !1);
            let whole = Accum::new().add_bytes(&data).fold();
            let parts = Accum::new().add_bytes(&data[..cut]).add_bytes(&data[cut..]).fold();
            prop_assert_eq!(whole, parts);
        }

        #[test]
        fn word_update_equals_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 2..400),
            idx in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            data[0] |= 0x40; // a real header is never all zero
            let words = data.len() / 2;
            let w = idx.index(words) * 2;
            let before = checksum(&data);
            let old = u16::from_be_bytes([data[w], data[w + 1]]);
            data[w..w + 2].copy_from_slice(&new.to_be_bytes());
            data[0] |= 0x40;
            let after = checksum(&data);
            let new_word = u16::from_be_bytes([data[w], data[w + 1]]);
            prop_assert_eq!(update_word(before, old, new_word), after);
        }

        #[test]
        fn u32_update_equals_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 8..400),
            idx in any::<prop::sample::Index>(),
            new in any::<u32>(),
        ) {
            data[0] = 0x45;
            let w = 2 + idx.index(data.len() / 2 - 2) * 2;
            let before = checksum(&data);
            let old = u32::from_be_bytes([data[w], data[w + 1], data[w + 2], data[w + 3]]);
            data[w..w + 4].copy_from_slice(&new.to_be_bytes());
            prop_assert_eq!(update_u32(before, old, new), checksum(&data));
        }

        #[test]
        fn addr_updates_equal_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 40..200),
            new4 in any::<[u8; 4]>(),
            new16 in any::<[u8; 16]>(),
        ) {
            data[0] = 0x45;
            let c0 = checksum(&data);
            let old4: [u8; 4] = data[12..16].try_into().unwrap();
            data[12..16].copy_from_slice(&new4);
            let c1 = checksum(&data);
            prop_assert_eq!(update_addr4(c0, old4, new4), c1);
            let old16: [u8; 16] = data[20..36].try_into().unwrap();
            data[20..36].copy_from_slice(&new16);
            prop_assert_eq!(update_addr16(c1, &old16, &new16), checksum(&data));
        }
    }
}
