/// Sub-buckets per power of two: 32 gives <= 3.2 % relative error.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values below `2 * SUB` are counted exactly.
const LINEAR: u64 = 2 * SUB;
/// Largest exponent tracked; values above `2^MAX_EXP` land in the last bucket.
const MAX_EXP: u32 = 40;
/// Total bucket count: the exact range plus `SUB` buckets per power of two.
pub(crate) const BUCKETS: usize = (LINEAR + (MAX_EXP as u64 - SUB_BITS as u64) * SUB) as usize;

/// A fixed-size log-linear histogram of durations (any unit, the worker
/// uses nanoseconds).
///
/// Why: residence time is recorded for every packet sent, so recording must
/// be a few instructions with no allocation; percentiles are only read by
/// the stats reporter. Values up to 63 are exact; above, each power of two
/// is split in 32 buckets (relative error <= 1/32). Values beyond 2^40 are
/// clamped into the last bucket.
#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    buckets: Box<[u64; BUCKETS]>,
    count: u64,
    sum: u64,
    max: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// Number of buckets, for laying out a stats board.
    pub const BUCKETS: usize = BUCKETS;

    /// An empty histogram (allocates once, here).
    pub fn new() -> Self {
        LatencyHistogram {
            buckets: Box::new([0; BUCKETS]),
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    #[inline]
    fn index(v: u64) -> usize {
        if v < LINEAR {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros(); // >= SUB_BITS + 1
        if exp >= MAX_EXP {
            return BUCKETS - 1;
        }
        let shift = exp - SUB_BITS;
        let sub = (v >> shift) & (SUB - 1);
        (LINEAR + (exp as u64 - SUB_BITS as u64 - 1) * SUB + sub) as usize
    }

    /// Lowest value that maps to bucket `i`.
    fn lower_bound(i: usize) -> u64 {
        let i = i as u64;
        if i < LINEAR {
            return i;
        }
        let k = i - LINEAR;
        let exp = k / SUB + SUB_BITS as u64 + 1;
        let sub = k % SUB;
        (1u64 << exp) | (sub << (exp - SUB_BITS as u64))
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        let i = Self::index(v);
        self.buckets[i] += 1;
        self.count += 1;
        self.sum = self.sum.wrapping_add(v);
        if v > self.max {
            self.max = v;
        }
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Largest value recorded (exact).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Mean of the values recorded (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` in [0, 1]: the lower bound of the bucket
    /// holding that rank, never above the exact maximum (0 when empty).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::lower_bound(i).min(self.max);
            }
        }
        self.max
    }

    /// Sum of the values recorded (wrapping; exact below 2^64).
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// Cumulative counts at real bucket edges: `(edge, values < edge)` for
    /// `per_octave` edges per power of two (a divisor of 32; from 16 up,
    /// the exact range contributes its powers of two), ascending, up to
    /// 2^40 (everything above shares the last, open-ended bucket).
    ///
    /// Why: an exporter (Prometheus `le` buckets) must report counts that
    /// are exact, never interpolated inside a bucket; every edge given here
    /// is a lower bound of one of the histogram's own buckets, so the count
    /// below it is a plain sum. Fewer edges than buckets keep a scrape small.
    pub fn counts_below_edges(&self, per_octave: u32) -> Vec<(u64, u64)> {
        let per = per_octave.clamp(1, SUB as u32) as usize;
        let stride = (SUB as usize / per).max(1);
        let mut out = Vec::new();
        let mut below = 0u64;
        for (i, n) in self.buckets.iter().enumerate() {
            let edge_here = if (i as u64) < LINEAR {
                i >= 16 && (i as u64).is_power_of_two()
            } else {
                (i - LINEAR as usize).is_multiple_of(stride)
            };
            // Values from 2^MAX_EXP up all share the last bucket: no edge
            // above that one is exact.
            if edge_here && Self::lower_bound(i) <= 1 << MAX_EXP {
                out.push((Self::lower_bound(i), below));
            }
            below += n;
        }
        out
    }

    /// Adds another histogram's values into this one.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.max = self.max.max(other.max);
    }

    /// Words for a stats board: count, sum, max, then the buckets.
    pub const WORDS: usize = 3 + BUCKETS;

    /// Writes the histogram as [`Self::WORDS`] words.
    pub fn to_words(&self, out: &mut [u64]) {
        if out.len() < Self::WORDS {
            return;
        }
        out[0] = self.count;
        out[1] = self.sum;
        out[2] = self.max;
        out[3..Self::WORDS].copy_from_slice(&self.buckets[..]);
    }

    /// Rebuilds a histogram from [`Self::to_words`] output.
    pub fn from_words(words: &[u64]) -> Self {
        let mut h = Self::new();
        if words.len() >= Self::WORDS {
            h.count = words[0];
            h.sum = words[1];
            h.max = words[2];
            h.buckets.copy_from_slice(&words[3..Self::WORDS]);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_bounds() {
        let mut last = 0;
        for v in (0..200_000u64).chain([1 << 20, (1 << 39) + 12345, u64::MAX]) {
            let i = LatencyHistogram::index(v);
            assert!(i < BUCKETS);
            assert!(i >= last || v > 200_000, "index not monotonic at {v}");
            if v < 200_000 {
                last = i;
            }
            if i < BUCKETS - 1 {
                let lo = LatencyHistogram::lower_bound(i);
                assert!(lo <= v, "lower bound {lo} above {v}");
                assert!(v - lo <= v / 32, "bucket too wide at {v}: {lo}");
            }
        }
    }

    #[test]
    fn exact_small_values_and_quantiles() {
        let mut h = LatencyHistogram::new();
        for v in 1..=100u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.max(), 100);
        assert_eq!(h.quantile(0.5), 50);
        assert_eq!(h.quantile(0.0), 1);
        // From 64 up buckets are 2 wide: 99 shares the bucket [98, 100).
        assert_eq!(h.quantile(0.99), 98);
        assert_eq!(h.quantile(1.0), 100);
        assert!((h.mean() - 50.5).abs() < 1e-9);
    }

    #[test]
    fn large_values_within_relative_error() {
        let mut h = LatencyHistogram::new();
        for _ in 0..999 {
            h.record(1_500);
        }
        h.record(2_000_000);
        let p50 = h.quantile(0.5);
        assert!(p50 <= 1_500 && 1_500 - p50 <= 1_500 / 32, "p50 {p50}");
        let p999 = h.quantile(0.999);
        assert!(p999 <= 1_500 && 1_500 - p999 <= 1_500 / 32, "p999 {p999}");
        assert!(h.quantile(1.0) > 1_900_000);
    }

    #[test]
    fn words_roundtrip_and_merge() {
        let mut a = LatencyHistogram::new();
        let mut b = LatencyHistogram::new();
        a.record(10);
        b.record(10_000);
        let mut w = vec![0; LatencyHistogram::WORDS];
        b.to_words(&mut w);
        let b2 = LatencyHistogram::from_words(&w);
        assert_eq!(b2.count(), 1);
        assert_eq!(b2.max(), 10_000);
        a.merge(&b2);
        assert_eq!(a.count(), 2);
        assert_eq!(a.quantile(0.5), 10);
        assert!(a.quantile(1.0) > 9_600);
    }

    #[test]
    fn counts_below_edges_are_exact_at_bucket_edges() {
        let mut h = LatencyHistogram::new();
        let values = [5u64, 16, 31, 32, 63, 64, 95, 96, 1_000, 1_024, 1 << 41];
        for v in values {
            h.record(v);
        }
        let edges = h.counts_below_edges(2);
        assert_eq!(edges[0], (16, 1));
        assert_eq!(edges[1], (32, 3));
        assert!(edges
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        for (e, below) in &edges {
            let want = values.iter().filter(|v| **v < *e).count() as u64;
            assert_eq!(*below, want, "edge {e}");
            if *e < 1 << MAX_EXP {
                let i = LatencyHistogram::index(*e);
                assert_eq!(LatencyHistogram::lower_bound(i), *e);
            }
        }
        // 64, 96, 128, 192, ...: two edges per power of two.
        assert!(edges.iter().any(|(e, _)| *e == 96));
        assert!(!edges.iter().any(|(e, _)| *e == 80));
        assert_eq!(edges.last().map(|x| x.0), Some(1 << MAX_EXP));
        assert_eq!(h.sum(), values.iter().sum::<u64>());
    }

    #[test]
    fn empty_histogram_reads_zero() {
        let h = LatencyHistogram::default();
        assert_eq!(h.quantile(0.99), 0);
        assert_eq!(h.mean(), 0.0);
    }
}
