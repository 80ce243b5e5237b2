//! Copies that disagree: two legs' good copies of one position whose
//! payloads differ (`payload_mismatch`).
//!
//! Why: a merger sends one copy and drops the others, so a pair of
//! encoders (or a path) that puts different bytes under one sequence
//! number goes unnoticed downstream until a decoder shows it. Each copy
//! carries a 16-bit digest of its payload ([`Digest`], read off its UDP
//! checksum field by the rx parse), so a comparison is two loads and a
//! compare, and it is made only where the engine already handles both
//! copies: a duplicate freed behind the cursor against the copy sent there,
//! and the copies still held at a position against the one the cursor
//! sends. Copies with no digest (no UDP checksum, several positions,
//! retransmissions) are not compared; neither are copies freed without
//! reaching either point (shed when the pool runs low, in-leg duplicates).
//! Nothing here holds a packet: the comparison adds no latency.

use super::{Store, StreamState};
use crate::slots::Digest;

impl StreamState {
    /// The digest of the copy sent at `pos` (NONE if none is known).
    #[inline(always)]
    pub(in crate::merge) fn sent_digest<H>(&self, store: &Store<H>, pos: u64) -> Digest {
        store.slots.sent_digest(&self.region, pos)
    }

    /// A good copy of `pos`, which was already sent, arrived with payload
    /// digest `digest`: counted if the sent copy's differs.
    #[inline(always)]
    pub(super) fn compare_with_sent<H>(&mut self, store: &Store<H>, pos: u64, digest: Digest) {
        if digest.disagrees(self.sent_digest(store, pos)) {
            self.books.payload_mismatch();
        }
    }

    /// The cursor is sending a copy of digest `sent` at `p`: every other
    /// good copy still held there whose digest differs is counted.
    #[inline]
    pub(super) fn compare_held<H>(&mut self, store: &Store<H>, p: u64, sent: Digest) {
        if sent == Digest::NONE {
            return;
        }
        for l in 0..self.rules.legs {
            if self.leg[l].held > 0
                && store.slots.get(&self.region, l, p).is_good()
                && store.slots.digest(&self.region, l, p).disagrees(sent)
            {
                self.books.payload_mismatch();
            }
        }
    }
}
