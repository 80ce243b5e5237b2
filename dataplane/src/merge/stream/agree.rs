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
//! sends.
//!
//! Sampled: only positions the evidence samples
//! ([`Evidence::sampled`], one in [`SAMPLE_EVERY`]) are compared, so the
//! clean path keeps a sent digest and compares a duplicate inside the
//! branch it already takes there for the lag sample, and pays nothing at
//! the other positions. A pair of encoders that disagree does so on every
//! packet, so it is counted at one in `SAMPLE_EVERY` of its positions
//! (the counter is the disagreeing copies at sampled positions, not all of
//! them). Copies with no digest (no UDP checksum, several positions,
//! retransmissions) are not compared; neither are copies freed without
//! reaching either point (shed when the pool runs low, in-leg duplicates).
//! Nothing here holds a packet: the comparison adds no latency.

use super::evidence::Evidence;
#[cfg(doc)]
use super::evidence::SAMPLE_EVERY;
use super::{Store, StreamState};
use crate::slots::Digest;

impl StreamState {
    /// The digest of the copy sent at `pos` (NONE if none is known, or
    /// `pos` is not a compared position).
    #[inline(always)]
    pub(in crate::merge) fn sent_digest<H>(&self, store: &Store<H>, pos: u64) -> Digest {
        if Evidence::sampled(pos) {
            store.slots.sent_digest(&self.region, pos)
        } else {
            Digest::NONE
        }
    }

    /// The cursor sent a copy of digest `digest` at `pos`: kept for the
    /// copies that come after it where they are compared.
    #[inline(always)]
    pub(super) fn keep_sent_digest<H>(&self, store: &mut Store<H>, pos: u64, digest: Digest) {
        if Evidence::sampled(pos) {
            store.slots.keep_sent_digest(&self.region, pos, digest);
        }
    }

    /// A good copy of `pos` (of `span` positions), which was already sent,
    /// arrived with payload digest `digest`: counted if `pos` is compared,
    /// the copy is of one position and the sent copy's digest differs.
    #[inline(always)]
    pub(super) fn compare_with_sent<H>(
        &mut self,
        store: &Store<H>,
        (pos, span): (u64, u16),
        digest: Digest,
    ) {
        if Evidence::sampled(pos) && span <= 1 && digest.disagrees(self.sent_digest(store, pos)) {
            self.books.payload_mismatch();
        }
    }

    /// The cursor is sending a copy of digest `sent` at `p`: every other
    /// good copy still held there whose digest differs is counted.
    #[inline]
    pub(super) fn compare_held<H>(&mut self, store: &Store<H>, p: u64, sent: Digest) {
        if sent == Digest::NONE || !Evidence::sampled(p) {
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
