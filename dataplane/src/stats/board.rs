use std::sync::atomic::{AtomicU64, Ordering};

/// A flat array of counters written by one lcore and read by another.
///
/// Why: the worker must publish its counters without a lock and without a
/// `lock`-prefixed instruction per packet. It keeps plain integers and copies
/// them here periodically with relaxed stores; a reader may see a copy that
/// is in progress (each word is whole, the set may mix two publications),
/// which is acceptable for monitoring and is resolved by the final copy made
/// after the worker has stopped. `generation` counts completed publications
/// so readers can tell whether anything new arrived.
#[derive(Debug)]
pub struct Board {
    words: Box<[AtomicU64]>,
    generation: AtomicU64,
}

impl Board {
    /// A board of `len` words, all zero.
    pub fn new(len: usize) -> Self {
        Board {
            words: (0..len).map(|_| AtomicU64::new(0)).collect(),
            generation: AtomicU64::new(0),
        }
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the board holds no words.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Publishes `values` starting at word `offset` (extra values are ignored
    /// rather than panicking: the layout is fixed at start-up).
    pub fn publish(&self, offset: usize, values: &[u64]) {
        let end = offset.saturating_add(values.len()).min(self.words.len());
        if offset >= end {
            return;
        }
        for (w, v) in self.words[offset..end].iter().zip(values) {
            w.store(*v, Ordering::Relaxed);
        }
    }

    /// Sets one word.
    pub fn set(&self, index: usize, value: u64) {
        if let Some(w) = self.words.get(index) {
            w.store(value, Ordering::Relaxed);
        }
    }

    /// Marks the end of one publication; pairs with [`Board::generation`].
    pub fn commit(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// How many publications have completed.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Reads one word (0 when out of range).
    pub fn get(&self, index: usize) -> u64 {
        self.words
            .get(index)
            .map_or(0, |w| w.load(Ordering::Relaxed))
    }

    /// Copies `out.len()` words starting at `offset` into `out`.
    pub fn read(&self, offset: usize, out: &mut [u64]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.get(offset + i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_read_roundtrip_and_bounds() {
        let b = Board::new(4);
        b.publish(1, &[7, 8, 9, 10]); // last value falls off the end
        let mut out = [0u64; 4];
        b.read(0, &mut out);
        assert_eq!(out, [0, 7, 8, 9]);
        assert_eq!(b.get(99), 0);
        b.set(99, 1); // ignored, no panic
        assert_eq!(b.generation(), 0);
        b.commit();
        assert_eq!(b.generation(), 1);
    }

    #[test]
    fn visible_across_threads() {
        let b = std::sync::Arc::new(Board::new(2));
        let w = b.clone();
        std::thread::spawn(move || {
            w.publish(0, &[3, 4]);
            w.commit();
        })
        .join()
        .unwrap();
        assert_eq!(b.generation(), 1);
        assert_eq!((b.get(0), b.get(1)), (3, 4));
    }
}
