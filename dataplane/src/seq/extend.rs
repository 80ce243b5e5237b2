//! Extension of 16/32-bit sequence numbers to 64 bits.
//!
//! A short counter is read as the value closest to a reference (the stream's
//! highest extended value so far): correct across rollover and for any
//! reorder of less than half the counter's space.

/// Extends `value`, a `bits`-wide counter (16, 32 or 64), to the `u64`
/// nearest to `reference`.
///
/// Why: RTP's 16-bit sequence rolls over every 6.5 s at 10 kpps; the merge
/// needs a number that keeps growing. For `bits < 64`, `reference` must be at
/// least `1 << bits` (see [`Extender`], which starts one cycle up) so values
/// slightly behind the first one do not wrap below zero. 64-bit values are
/// returned unchanged.
#[inline(always)]
pub fn extend(value: u64, bits: u32, reference: u64) -> u64 {
    // The distance from `reference` to `value` modulo 2^bits, read as a
    // signed `bits`-wide number (sign extension by the shift pair): the
    // nearest candidate, a distance of exactly half the space reading as
    // backwards. Branch-free; for `bits >= 64` the shift is 0 and the result
    // is `value` itself. (`bits` is 16, 32 or 64 wherever it comes from.)
    extend_shifted(value, shift_of(bits), reference)
}

/// The shift [`extend_shifted`] takes for a `bits`-wide counter.
#[inline(always)]
pub fn shift_of(bits: u32) -> u32 {
    64u32.saturating_sub(bits)
}

/// [`extend`] with the counter's width given as `shift_of(bits)`: for a
/// caller that extends many values of one width and keeps the shift.
#[inline(always)]
pub fn extend_shifted(value: u64, shift: u32, reference: u64) -> u64 {
    let distance = (value.wrapping_sub(reference).wrapping_shl(shift) as i64).wrapping_shr(shift);
    reference.wrapping_add(distance as u64)
}

/// The first extended value given to a fresh counter: one full cycle up, so
/// that packets reordered before it still extend to non-negative values and
/// `ext & (2^bits - 1)` is still the value on the wire.
#[inline]
pub fn first_extension(value: u64, bits: u32) -> u64 {
    if bits >= 64 {
        value
    } else {
        (1u64 << bits) | (value & ((1u64 << bits) - 1))
    }
}

/// Tracks the highest value of one counter and extends new values against it.
///
/// Why: the engine keeps one reference per source epoch; tools (pcap readers,
/// test generators) that need the same arithmetic outside the engine use this.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extender {
    highest: Option<u64>,
}

impl Extender {
    /// A counter that has seen nothing yet.
    pub fn new() -> Self {
        Self { highest: None }
    }

    /// Extends `value` (`bits` wide) and raises the reference if it is newer.
    pub fn extend(&mut self, value: u64, bits: u32) -> u64 {
        let ext = match self.highest {
            None => first_extension(value, bits),
            Some(high) => extend(value, bits, high),
        };
        let newer = match self.highest {
            None => true,
            Some(h) => (ext.wrapping_sub(h) as i64) > 0,
        };
        if newer {
            self.highest = Some(ext);
        }
        ext
    }

    /// Highest extended value seen, if any.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_rollover_forward_and_back() {
        let r = (1u64 << 16) + 65530;
        assert_eq!(extend(65535, 16, r), (1 << 16) + 65535);
        assert_eq!(extend(3, 16, r), (2 << 16) + 3);
        // Reordered packet from before the reference.
        assert_eq!(extend(65000, 16, r), (1 << 16) + 65000);
        // After rollover, a late packet from the previous cycle.
        let r2 = (2u64 << 16) + 4;
        assert_eq!(extend(65534, 16, r2), (1 << 16) + 65534);
        assert_eq!(extend(10, 16, r2), (2 << 16) + 10);
    }

    #[test]
    fn half_space_boundary() {
        let r = 1u64 << 16; // value 0
        assert_eq!(extend(32767, 16, r), r + 32767);
        assert_eq!(extend(32768, 16, r), r - 32768);
    }

    #[test]
    fn thirty_two_bit() {
        let r = (1u64 << 32) + 0xFFFF_FFF0;
        assert_eq!(extend(0x10, 32, r), (2u64 << 32) + 0x10);
        assert_eq!(extend(0xFFFF_FF00, 32, r), (1u64 << 32) + 0xFFFF_FF00);
    }

    #[test]
    fn matches_the_nearest_candidate_by_cases() {
        // The definition, written the long way: forward distance below half
        // the space goes forward, else back.
        let long_way = |value: u64, bits: u32, reference: u64| {
            let modulus = 1u64 << bits;
            let forward = value.wrapping_sub(reference) & (modulus - 1);
            if forward < modulus >> 1 {
                reference.wrapping_add(forward)
            } else {
                reference.wrapping_sub(modulus - forward)
            }
        };
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for bits in [16, 32] {
                let reference = (x >> 3) | (1 << bits);
                let value = x.rotate_left(29) & ((1 << bits) - 1);
                assert_eq!(
                    extend(value, bits, reference),
                    long_way(value, bits, reference)
                );
                let half = reference.wrapping_add(1 << (bits - 1)) & ((1 << bits) - 1);
                assert_eq!(
                    extend(half, bits, reference),
                    long_way(half, bits, reference)
                );
            }
        }
    }

    #[test]
    fn sixty_four_bit_is_identity() {
        assert_eq!(extend(5, 64, 1_000_000), 5);
        assert_eq!(first_extension(u64::MAX, 64), u64::MAX);
    }

    #[test]
    fn extender_follows_long_run_across_many_rollovers() {
        let mut e = Extender::new();
        let start = 65000u64;
        for i in 0..300_000u64 {
            let v = (start + i) & 0xFFFF;
            assert_eq!(e.extend(v, 16), (1 << 16) + start + i);
        }
        // A reordered packet 100 behind does not lower the reference.
        let high = e.highest().unwrap();
        let back = e.extend((high - 100) & 0xFFFF, 16);
        assert_eq!(back, high - 100);
        assert_eq!(e.highest(), Some(high));
    }

    #[test]
    fn first_value_keeps_wire_bits() {
        let mut e = Extender::new();
        let x = e.extend(1234, 16);
        assert_eq!(x & 0xFFFF, 1234);
        // A packet just before the first one stays positive.
        assert_eq!(e.extend(1230, 16), x - 4);
        let mut z = Extender::new();
        let y = z.extend(0, 16);
        assert_eq!(z.extend(65535, 16), y - 1);
    }
}
