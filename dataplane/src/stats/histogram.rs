/// A fixed-size log-linear histogram of durations (any unit, the worker
/// uses nanoseconds), with `2^SUB_BITS` buckets per power of two up to
/// `2^MAX_EXP`.
///
/// Why: residence time is recorded for every packet sent, so recording must
/// be a few instructions with no allocation; percentiles are only read by
/// the stats reporter. Values below `2^(SUB_BITS + 1)` are exact; above,
/// each power of two is split in `2^SUB_BITS` buckets (relative error <=
/// `2^-SUB_BITS`). Values beyond `2^MAX_EXP` are clamped into the last
/// bucket (the maximum stays exact). One type, two resolutions:
/// [`LatencyHistogram`] (fine, per worker) and [`StreamResidence`] (coarse
/// and small, one per stream).
#[derive(Clone, Debug)]
pub struct Histogram<const SUB_BITS: u32, const MAX_EXP: u32> {
    /// [`Self::BUCKETS`] counts (none for [`Self::placeholder`]).
    buckets: Box<[u64]>,
    count: u64,
    sum: u64,
    max: u64,
}

/// The process-wide residence histogram, one per merge worker: 32 buckets
/// per power of two (relative error <= 3.2 %), up to 2^40 ns.
pub type LatencyHistogram = Histogram<5, 40>;

/// One stream's residence histogram: 4 buckets per power of two (each
/// bucket 25 % wide; a quantile reads its lower edge), up to 2^32 ns
/// (4.3 s), so 128 buckets: 1 KiB per stream.
///
/// Why coarse: every stream of a worker has one (10 000 streams at the
/// fine resolution would take 90 MB); an operator reading a stream's p99
/// wants its order of magnitude and its trend, the process-wide
/// [`LatencyHistogram`] keeps the fine figure.
pub type StreamResidence = Histogram<2, 32>;

impl<const SUB_BITS: u32, const MAX_EXP: u32> Default for Histogram<SUB_BITS, MAX_EXP> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SUB_BITS: u32, const MAX_EXP: u32> Histogram<SUB_BITS, MAX_EXP> {
    /// Sub-buckets per power of two.
    const SUB: u64 = 1 << SUB_BITS;
    /// Values below this are counted exactly.
    const LINEAR: u64 = 2 * Self::SUB;
    /// Number of buckets: the exact range plus `SUB` per power of two.
    pub const BUCKETS: usize =
        (Self::LINEAR + (MAX_EXP as u64 - SUB_BITS as u64) * Self::SUB) as usize;

    /// An empty histogram (allocates once, here).
    pub fn new() -> Self {
        Histogram {
            buckets: vec![0; Self::BUCKETS].into_boxed_slice(),
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    /// A histogram with no buckets, which allocates nothing: it counts
    /// values (count, sum, max) but its quantiles read the maximum.
    ///
    /// Why: under live reload a worker's tx stage keeps output state for
    /// every board slot, most of them streams other workers own; those
    /// never record, and need no bucket memory.
    pub fn placeholder() -> Self {
        Histogram {
            buckets: Box::new([]),
            count: 0,
            sum: 0,
            max: 0,
        }
    }

    #[inline]
    fn index(v: u64) -> usize {
        if v < Self::LINEAR {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros(); // >= SUB_BITS + 1
        if exp >= MAX_EXP {
            return Self::BUCKETS - 1;
        }
        let shift = exp - SUB_BITS;
        let sub = (v >> shift) & (Self::SUB - 1);
        (Self::LINEAR + (exp as u64 - SUB_BITS as u64 - 1) * Self::SUB + sub) as usize
    }

    /// Lowest value that maps to bucket `i`.
    fn lower_bound(i: usize) -> u64 {
        let i = i as u64;
        if i < Self::LINEAR {
            return i;
        }
        let k = i - Self::LINEAR;
        let exp = k / Self::SUB + SUB_BITS as u64 + 1;
        let sub = k % Self::SUB;
        (1u64 << exp) | (sub << (exp - SUB_BITS as u64))
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        if let Some(b) = self.buckets.get_mut(Self::index(v)) {
            *b += 1;
        }
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
        self.quantiles([q])[0]
    }

    /// The values at quantiles `qs` (ascending), in one pass over the
    /// buckets: each as [`Self::quantile`] gives it.
    ///
    /// Why one pass: a worker reads three quantiles of every stream's
    /// histogram at each publication.
    pub fn quantiles<const K: usize>(&self, qs: [f64; K]) -> [u64; K] {
        let mut out = [0u64; K];
        if self.count == 0 {
            return out;
        }
        let rank = |q: f64| {
            let q = if q.is_nan() { 1.0 } else { q.clamp(0.0, 1.0) };
            ((q * self.count as f64).ceil() as u64).clamp(1, self.count)
        };
        let mut k = 0;
        let mut seen = 0u64;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            while k < K && seen >= rank(qs[k]) {
                out[k] = Self::lower_bound(i).min(self.max);
                k += 1;
            }
            if k == K {
                return out;
            }
        }
        for o in &mut out[k..] {
            *o = self.max;
        }
        out
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
        let per = per_octave.clamp(1, Self::SUB as u32) as usize;
        let stride = (Self::SUB as usize / per).max(1);
        let mut out = Vec::new();
        let mut below = 0u64;
        for (i, n) in self.buckets.iter().enumerate() {
            let edge_here = if (i as u64) < Self::LINEAR {
                i >= 16 && (i as u64).is_power_of_two()
            } else {
                (i - Self::LINEAR as usize).is_multiple_of(stride)
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
    pub fn merge(&mut self, other: &Self) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum = self.sum.wrapping_add(other.sum);
        self.max = self.max.max(other.max);
    }

    /// Words for a stats board: count, sum, max, then the buckets.
    pub const WORDS: usize = 3 + Self::BUCKETS;

    /// Writes the histogram as [`Self::WORDS`] words.
    pub fn to_words(&self, out: &mut [u64]) {
        if out.len() < Self::WORDS {
            return;
        }
        out[0] = self.count;
        out[1] = self.sum;
        out[2] = self.max;
        out[3..3 + self.buckets.len()].copy_from_slice(&self.buckets);
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

    const BUCKETS: usize = LatencyHistogram::BUCKETS;
    const MAX_EXP: u32 = 40;

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

    #[test]
    fn stream_residence_is_small_and_coarse_within_a_quarter() {
        // Bytes per stream: 40 inline (in the stream's output state) and
        // 128 x 8 of buckets; a placeholder has the 40 only.
        assert_eq!(StreamResidence::BUCKETS, 128);
        assert_eq!(size_of::<StreamResidence>(), 40);
        assert_eq!(LatencyHistogram::BUCKETS, 1_184);
        for v in (0..100_000u64).chain([1 << 31, (1 << 32) - 1]) {
            let i = StreamResidence::index(v);
            assert!(i < StreamResidence::BUCKETS - 1, "{v} clamped");
            let lo = StreamResidence::lower_bound(i);
            assert!(lo <= v && v - lo <= v / 4, "bucket of {v} starts at {lo}");
        }
        assert_eq!(
            StreamResidence::index(u64::MAX),
            StreamResidence::BUCKETS - 1
        );
        let mut h = StreamResidence::new();
        for v in [10u64, 20_000, 20_000, 20_000, 900_000] {
            h.record(v);
        }
        let [p50, p99, p999] = h.quantiles([0.5, 0.99, 0.999]);
        assert!((15_000..=20_000).contains(&p50), "p50 {p50}");
        assert_eq!(p99, p999);
        assert!((675_000..=900_000).contains(&p99), "p99 {p99}");
        assert_eq!((h.count(), h.max()), (5, 900_000));
        // One pass gives what one quantile at a time gives.
        assert_eq!(h.quantile(0.5), p50);
        assert_eq!(h.quantile(0.99), p99);
    }

    #[test]
    fn placeholder_counts_without_buckets() {
        let mut h = StreamResidence::placeholder();
        h.record(5_000);
        assert_eq!((h.count(), h.max()), (1, 5_000));
        assert_eq!(h.quantile(0.5), 5_000, "no buckets: the maximum");
    }
}
