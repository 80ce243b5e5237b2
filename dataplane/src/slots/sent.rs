//! One bit per window position: was the packet the cursor last passed here
//! sent, or skipped?
//!
//! Why: a copy arriving behind the output cursor is a `duplicate` if its
//! packet went out and `late` if the packet was declared lost; the slot
//! itself is already reused for the window ahead, so the answer lives here.

/// Per-stream bitmaps over `capacity` positions, all in one allocation.
#[derive(Clone, Debug, Default)]
pub struct SentMap {
    words: Vec<u64>,
}

impl SentMap {
    /// Bitmaps for streams of the given capacities; returns each stream's
    /// first word.
    pub fn with_capacities(capacities: &[usize]) -> (Self, Vec<usize>) {
        let mut bases = Vec::with_capacity(capacities.len());
        let mut total = 0;
        for &c in capacities {
            bases.push(total);
            total += c.div_ceil(64);
        }
        (
            Self {
                words: vec![0; total],
            },
            bases,
        )
    }

    /// Records whether the packet at `index` (already masked) was sent.
    #[inline]
    pub fn set(&mut self, base: usize, index: usize, sent: bool) {
        let w = &mut self.words[base + (index >> 6)];
        let bit = 1u64 << (index & 63);
        if sent {
            *w |= bit;
        } else {
            *w &= !bit;
        }
    }

    /// Whether the packet last passed at `index` (already masked) was sent.
    #[inline]
    pub fn get(&self, base: usize, index: usize) -> bool {
        self.words[base + (index >> 6)] & (1u64 << (index & 63)) != 0
    }

    /// Bytes used by one stream of capacity `capacity`.
    pub fn bytes_for(capacity: usize) -> usize {
        capacity.div_ceil(64) * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_do_not_overlap() {
        let (mut m, bases) = SentMap::with_capacities(&[16, 128, 64]);
        assert_eq!(bases, vec![0, 1, 3]);
        m.set(bases[1], 127, true);
        m.set(bases[0], 15, true);
        assert!(m.get(bases[1], 127));
        assert!(!m.get(bases[2], 0));
        assert!(m.get(bases[0], 15));
        m.set(bases[1], 127, false);
        assert!(!m.get(bases[1], 127));
        assert_eq!(SentMap::bytes_for(512), 64);
    }
}
