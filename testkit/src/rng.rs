//! A tiny seeded PRNG (xorshift64*), so loss patterns in tests and bench
//! inputs are reproducible from a seed without pulling in a crate.

/// xorshift64* (Vigna 2014): fast, 64-bit state, good enough for picking
/// which packets to drop. Not for cryptography.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator seeded with `seed` (any value; 0 is remapped, since an
    /// all-zero state would stay zero).
    pub fn new(seed: u64) -> Self {
        // Mix the seed so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        XorShift64 {
            state: if z == 0 { 0x2545_f491_4f6c_dd1d } else { z },
        }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `percent / 100` (clamped to 0..=100).
    pub fn chance(&mut self, percent: f64) -> bool {
        self.next_f64() * 100.0 < percent
    }

    /// Uniform in `0..n` (`n > 0`; slight modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_roughly_uniform() {
        let a: Vec<u64> = (0..5)
            .scan(XorShift64::new(1), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..5)
            .scan(XorShift64::new(1), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], XorShift64::new(2).next_u64());
        let mut r = XorShift64::new(0);
        let hits = (0..100_000).filter(|_| r.chance(1.0)).count();
        assert!((800..1200).contains(&hits), "{hits} hits for 1 %");
        assert!(!XorShift64::new(3).chance(0.0));
        assert!(XorShift64::new(3).chance(100.0));
    }
}
