//! Compact arrival times for slots.
//!
//! A slot keeps its arrival time in 32 bits so the slot stays 16 bytes. A
//! held packet is at most about `max_delay` old before it is sent or freed,
//! so the time is stored as the low 32 bits of `ticks >> shift`, with `shift`
//! chosen so that a few `max_delay`s fit in 2^31 units, and read back as an
//! age relative to "now".

/// Converts caller ticks (TSC cycles, nanoseconds, ...) to and from the
/// 32-bit stamps kept in slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotClock {
    shift: u32,
}

impl SlotClock {
    /// A clock that can tell ages up to at least `horizon` ticks apart
    /// (ages beyond 2^31 units read as zero, i.e. "just arrived").
    pub fn for_horizon(horizon: u64) -> Self {
        let mut shift = 0;
        while shift < 63 && (horizon >> shift) >= (1u64 << 30) {
            shift += 1;
        }
        Self { shift }
    }

    /// The stamp for time `now`.
    #[inline]
    pub fn stamp(&self, now: u64) -> u32 {
        (now >> self.shift) as u32
    }

    /// Age in ticks of a stamp, seen at `now` (resolution `2^shift` ticks).
    #[inline]
    pub fn age(&self, now: u64, stamp: u32) -> u64 {
        let units = self.stamp(now).wrapping_sub(stamp);
        if units >= 1 << 31 {
            0
        } else {
            u64::from(units) << self.shift
        }
    }

    /// The absolute time of a stamp, seen at `now`.
    #[inline]
    pub fn time(&self, now: u64, stamp: u32) -> u64 {
        now.saturating_sub(self.age(now, stamp))
    }

    /// Bits dropped from the tick count (0 = exact).
    pub fn shift(&self) -> u32 {
        self.shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_small_horizons() {
        let c = SlotClock::for_horizon(50_000_000);
        assert_eq!(c.shift(), 0);
        let t = 123_456_789_000u64;
        let s = c.stamp(t);
        assert_eq!(c.age(t + 49_000_000, s), 49_000_000);
        assert_eq!(c.time(t + 7, s), t);
    }

    #[test]
    fn coarse_for_tsc_horizons_and_wraps() {
        // 450 ms of a 3 GHz TSC, times four.
        let c = SlotClock::for_horizon(4 * 1_350_000_000);
        assert!(c.shift() > 0);
        let t = u64::MAX / 3;
        let s = c.stamp(t);
        let age = c.age(t + 1_350_000_000, s);
        assert!(age.abs_diff(1_350_000_000) < (1 << c.shift()) * 2);
        // Stamps from the future (clock skew between callers) read as age 0.
        assert_eq!(c.age(t, c.stamp(t + (1000 << c.shift()))), 0);
    }
}
