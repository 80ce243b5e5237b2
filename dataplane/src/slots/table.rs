//! The slot rings of every stream, in one allocation.

/// What the receive side concluded about a copy before handing it in.
///
/// Why: a corrupt copy (bad checksum, bad length) must never be sent, but
/// its arrival still tells the merge that this leg's copy will not come.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Passed every check: may be sent.
    Good,
    /// Failed a check: never sent, freed when its position is passed.
    Corrupt,
}

impl Verdict {
    /// The verdict of a check that passed (`intact`) or failed: the one
    /// spelling of that rule for the rx side, the slot store (which keeps
    /// the verdict as one bit) and the tests.
    #[inline(always)]
    pub fn of(intact: bool) -> Verdict {
        if intact {
            Verdict::Good
        } else {
            Verdict::Corrupt
        }
    }
}

/// A 16-bit digest of a copy's payload (the UDP payload's ones'-complement
/// sum, see [`crate::wire::UdpDatagram::payload_sum`]), or none.
///
/// Why: two legs' copies of one position must carry the same bytes; a
/// pair of encoders or a faulty path that makes them differ is invisible
/// at the output (one copy is sent, the other dropped as a duplicate)
/// unless the copies are compared. Comparing their digests costs a 2-byte
/// compare per duplicate, not a payload read. Payloads that differ are
/// told apart unless their sums agree (a chance of about 2^-16 for an
/// arbitrary difference; 16-bit words that only trade places are never
/// seen, as the checksum never sees them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(u16);

impl Digest {
    /// No digest: the copy is not compared (no checksum on the wire, a
    /// retransmission, a copy cut to its unsent messages).
    pub const NONE: Digest = Digest(u16::MAX);

    /// The digest of a payload whose ones'-complement sum is `sum` (`None`:
    /// unknown), as [`crate::wire::UdpDatagram::payload_sum`] gives it:
    /// with both zeros of that arithmetic already read as 0, so a sum is
    /// never 0xffff (one that is reads as no digest). Why not merge the
    /// zeros here: it is done once where the sum is made, and this runs
    /// for every copy.
    #[inline(always)]
    pub const fn of(sum: Option<u16>) -> Digest {
        match sum {
            Some(s) => Digest(s),
            None => Digest::NONE,
        }
    }

    /// True when both digests are known and differ: the two copies'
    /// payloads are not the same.
    #[inline(always)]
    pub fn disagrees(self, other: Digest) -> bool {
        self != other && self != Digest::NONE && other != Digest::NONE
    }
}

/// What the receive side found about a copy: its verdict and the digest
/// its duplicates are compared with. `From<Verdict>` for a copy that has
/// no digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// May it be sent.
    pub verdict: Verdict,
    /// Its payload's digest.
    pub digest: Digest,
}

impl From<Verdict> for Checked {
    #[inline(always)]
    fn from(verdict: Verdict) -> Checked {
        Checked {
            verdict,
            digest: Digest::NONE,
        }
    }
}

/// What the output cursor did with the packet at an index when it last
/// passed it: a copy arriving behind the cursor is then a `duplicate`
/// (sent), `late` (skipped), or `late` and a premature loss (given up on
/// evidence before `max_delay`, which is what a too-young estimate costs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Passed {
    /// Skipped: missing everywhere past `max_delay`, forced out, or never
    /// reached.
    #[default]
    Skipped,
    /// One copy of it went out.
    Sent,
    /// Skipped early on evidence (every live leg had moved past it); a
    /// good copy arriving later is counted as a premature loss once.
    GivenUp,
}

/// One packet copy: the handle and what the engine keeps about it. The one
/// shape a copy has wherever it is held (a ring slot, a restart candidate's
/// store, an arrival being placed).
#[derive(Debug)]
pub struct Packet<H> {
    /// The packet handle.
    pub handle: H,
    /// Arrival stamp (see [`super::SlotClock`]).
    pub stamp: u32,
    /// Sequence numbers covered (MoldUDP64 message count; 1 otherwise).
    pub span: u16,
    /// Verdict given at insert.
    pub verdict: Verdict,
    /// Its payload's digest (compared with the other legs' copies).
    pub digest: Digest,
}

impl<H> Packet<H> {
    /// A copy as it enters the engine: not stamped yet (the stamp is taken
    /// only where a copy is held or sampled; the fast paths mostly need
    /// none). `span` is as extracted: a path that holds the copy makes it
    /// at least 1 (the clean fast path never needs to). The digest is kept
    /// as given; a copy of several positions (MoldUDP64 / PITCH messages)
    /// is never compared (legs may pack the same messages differently):
    /// the engine drops its digest where it takes such a copy, off the
    /// clean path.
    #[inline(always)]
    pub fn arriving(handle: H, span: u16, checked: Checked) -> Packet<H> {
        Packet {
            handle,
            stamp: 0,
            span,
            verdict: checked.verdict,
            digest: checked.digest,
        }
    }
}

/// One slot of a leg's ring: 16 bytes for an 8-byte handle.
#[derive(Clone, Debug)]
pub struct Slot<H> {
    handle: Option<H>,
    /// Arrival stamp of the copy held here or, once empty, of the last copy
    /// that was (the skew evidence reads it behind the cursor).
    stamp: u32,
    span: u16,
    corrupt: bool,
    /// Leg 0's ring only: what the output cursor did with the packet it
    /// last passed at this index. It lives in the slot's spare byte,
    /// untouched by `put`/`take`, because the slot itself is reused for the
    /// window ahead while late copies of the old position may still come:
    /// no separate bitmap, so a stream's slot memory is exactly
    /// `legs x capacity x 16` bytes.
    passed: Passed,
}

impl<H> Slot<H> {
    const EMPTY: fn() -> Slot<H> = || Slot {
        handle: None,
        stamp: 0,
        span: 0,
        corrupt: false,
        passed: Passed::Skipped,
    };

    /// No copy held here.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.handle.is_none()
    }

    /// A copy that may be sent is held here.
    #[inline]
    pub fn is_good(&self) -> bool {
        self.handle.is_some() && !self.corrupt
    }

    /// The verdict of the held copy, `None` if empty.
    #[inline]
    pub fn verdict(&self) -> Option<Verdict> {
        self.handle.as_ref().map(|_| Verdict::of(!self.corrupt))
    }

    /// Arrival stamp (see [`super::SlotClock`]) of the held copy, or of the
    /// last one held or stamped here.
    #[inline]
    pub fn stamp(&self) -> u32 {
        self.stamp
    }

    /// Sequence numbers covered by the held copy.
    #[inline]
    pub fn span(&self) -> u16 {
        self.span
    }
}

/// Where one stream's rings sit in the [`SlotTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    base: usize,
    capacity: usize,
    mask: u64,
    legs: usize,
}

impl Region {
    /// Index of `position`'s slot in `leg`'s ring.
    #[inline]
    pub fn index(&self, leg: usize, position: u64) -> usize {
        self.base + leg * self.capacity + (position & self.mask) as usize
    }

    /// Slots per ring (a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of legs (rings).
    #[inline]
    pub fn legs(&self) -> usize {
        self.legs
    }
}

/// The rings of all streams.
///
/// Why one allocation: `Engine::new` sizes everything once; the hot path
/// only indexes.
///
/// The copies' [`Digest`]s sit beside the slots (same index), not in
/// them, so a slot stays 16 bytes: the digest of the copy held there, or,
/// in leg 0's entry of a position the cursor sent, the sent copy's
/// ([`SlotTable::keep_sent_digest`]) for the copies that come after it.
#[derive(Debug)]
pub struct SlotTable<H> {
    slots: Vec<Slot<H>>,
    digests: Vec<Digest>,
}

impl<H> SlotTable<H> {
    /// Rings for streams of shape `(legs, capacity)`; capacities must be
    /// powers of two.
    pub fn new(shapes: &[(usize, usize)]) -> Result<(Self, Vec<Region>), String> {
        let mut regions = Vec::with_capacity(shapes.len());
        let mut total = 0usize;
        for (i, &(legs, capacity)) in shapes.iter().enumerate() {
            if !capacity.is_power_of_two() {
                return Err(format!(
                    "stream {i}: slot capacity {capacity} is not a power of two"
                ));
            }
            regions.push(Region {
                base: total,
                capacity,
                mask: capacity as u64 - 1,
                legs,
            });
            total = legs
                .checked_mul(capacity)
                .and_then(|n| n.checked_add(total))
                .ok_or_else(|| format!("stream {i}: slot table too large"))?;
        }
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(total)
            .map_err(|_| format!("cannot allocate {total} slots"))?;
        slots.resize_with(total, Slot::EMPTY);
        let mut digests = Vec::new();
        digests
            .try_reserve_exact(total)
            .map_err(|_| format!("cannot allocate {total} digests"))?;
        digests.resize(total, Digest::NONE);
        Ok((Self { slots, digests }, regions))
    }

    /// The slot of `position` in `leg`'s ring.
    #[inline]
    pub fn get(&self, r: &Region, leg: usize, position: u64) -> &Slot<H> {
        &self.slots[r.index(leg, position)]
    }

    /// Hands `fetch` the addresses of `position`'s slot and digest in
    /// `leg`'s ring (nothing for an index out of range), for a prefetch.
    #[inline(always)]
    pub fn lines(&self, r: &Region, leg: usize, position: u64, fetch: &mut impl FnMut(*const u8)) {
        let i = r.index(leg, position);
        if let (Some(s), Some(d)) = (self.slots.get(i), self.digests.get(i)) {
            fetch((s as *const Slot<H>).cast());
            fetch((d as *const Digest).cast());
        }
    }

    /// Stores a copy in an empty slot; gives the copy back if the slot is
    /// taken (the caller decides which copy to keep).
    #[inline]
    pub fn put(
        &mut self,
        r: &Region,
        leg: usize,
        position: u64,
        p: Packet<H>,
    ) -> Result<(), Packet<H>> {
        let i = r.index(leg, position);
        let s = &mut self.slots[i];
        if s.handle.is_some() {
            return Err(p);
        }
        s.handle = Some(p.handle);
        s.stamp = p.stamp;
        s.span = p.span;
        s.corrupt = p.verdict == Verdict::Corrupt;
        self.digests[i] = p.digest;
        Ok(())
    }

    /// The digest of the copy held at `position` on `leg` (meaningful only
    /// while one is held).
    #[inline]
    pub fn digest(&self, r: &Region, leg: usize, position: u64) -> Digest {
        self.digests[r.index(leg, position)]
    }

    /// The cursor sent a copy at `position`: marks it [`Passed::Sent`]
    /// (its digest, where one is kept, see
    /// [`SlotTable::keep_sent_digest`]).
    #[inline]
    pub fn mark_sent(&mut self, r: &Region, position: u64) {
        self.slots[r.index(0, position)].passed = Passed::Sent;
    }

    /// Keeps the digest of the copy sent at `position` in leg 0's entry,
    /// for the copies that come after it ([`SlotTable::sent_digest`]);
    /// nothing if that slot holds a copy (of the window ahead).
    #[inline]
    pub fn keep_sent_digest(&mut self, r: &Region, position: u64, digest: Digest) {
        let i = r.index(0, position);
        if self.slots[i].handle.is_none() {
            self.digests[i] = digest;
        }
    }

    /// The digest of the copy sent at `position`, for a copy of it that
    /// came after: [`Digest::NONE`] once leg 0's slot there holds a copy (of
    /// the window ahead, whose digest replaced it) or was emptied since
    /// (`take` forgets a digest). Only meaningful while
    /// `passed(position)` is [`Passed::Sent`].
    #[inline]
    pub fn sent_digest(&self, r: &Region, position: u64) -> Digest {
        let i = r.index(0, position);
        if self.slots[i].handle.is_some() {
            Digest::NONE
        } else {
            self.digests[i]
        }
    }

    /// Records the arrival stamp of a copy that is not held (sent at once)
    /// in its empty slot, for the skew evidence. Does nothing if the slot
    /// holds a copy.
    #[inline]
    pub fn stamp_empty(&mut self, r: &Region, leg: usize, position: u64, stamp: u32) {
        let s = &mut self.slots[r.index(leg, position)];
        if s.handle.is_none() {
            s.stamp = stamp;
        }
    }

    /// Records what the cursor did with the packet at `position` (kept in
    /// leg 0's slot, see [`Slot`]), with no digest to compare later copies
    /// with (see [`SlotTable::keep_sent_digest`]).
    #[inline]
    pub fn set_passed(&mut self, r: &Region, position: u64, how: Passed) {
        let i = r.index(0, position);
        self.slots[i].passed = how;
        if self.slots[i].handle.is_none() {
            self.digests[i] = Digest::NONE;
        }
    }

    /// What the cursor did with the packet it last passed at `position`.
    #[inline]
    pub fn passed(&self, r: &Region, position: u64) -> Passed {
        self.slots[r.index(0, position)].passed
    }

    /// Empties a slot, returning what it held.
    #[inline]
    pub fn take(&mut self, r: &Region, leg: usize, position: u64) -> Option<Packet<H>> {
        let i = r.index(leg, position);
        let s = &mut self.slots[i];
        let handle = s.handle.take()?;
        let digest = std::mem::replace(&mut self.digests[i], Digest::NONE);
        Some(Packet {
            handle,
            stamp: s.stamp,
            span: s.span,
            verdict: Verdict::of(!s.corrupt),
            digest,
        })
    }

    /// Bytes of slot storage (slots and their digests) for one stream of
    /// this shape.
    pub fn bytes_for(legs: usize, capacity: usize) -> usize {
        (std::mem::size_of::<Slot<H>>() + std::mem::size_of::<Digest>()) * legs * capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::NonNull;

    #[test]
    fn prefetch_lines_are_the_slot_and_digest_of_the_position() {
        let (t, r) = SlotTable::<u32>::new(&[(2, 8), (3, 4)]).unwrap();
        let mut got = Vec::new();
        t.lines(&r[1], 2, 13, &mut |p| got.push(p));
        let i = r[1].index(2, 13);
        let want: [*const u8; 2] = [
            (&t.slots[i] as *const Slot<u32>).cast(),
            (&t.digests[i] as *const Digest).cast(),
        ];
        assert_eq!(got, want);
        // A region that is not this table's (an index past its end):
        // nothing, rather than a wild address.
        let (_, far) = SlotTable::<u32>::new(&[(4, 64)]).unwrap();
        got.clear();
        t.lines(&far[0], 3, 63, &mut |p| got.push(p));
        assert!(got.is_empty());
    }

    #[test]
    fn legs_share_offsets_and_streams_do_not_overlap() {
        let (mut t, r) = SlotTable::<u32>::new(&[(2, 8), (3, 4)]).unwrap();
        assert_eq!(r[0].index(0, 5), r[0].index(0, 13));
        assert_eq!(r[0].index(1, 5) - r[0].index(0, 5), 8);
        assert_eq!(r[1].index(0, 0), 16);
        let pk = |handle, stamp, verdict| Packet {
            handle,
            stamp,
            span: 1,
            verdict,
            digest: Digest::NONE,
        };
        t.put(&r[0], 0, 21, pk(7, 100, Verdict::Good)).unwrap();
        t.put(&r[0], 1, 21, pk(8, 101, Verdict::Corrupt)).unwrap();
        assert!(t.get(&r[0], 0, 5).is_good());
        assert_eq!(t.get(&r[0], 1, 5).verdict(), Some(Verdict::Corrupt));
        assert!(t.get(&r[1], 0, 5).is_empty());
        assert_eq!(
            t.put(&r[0], 0, 13, pk(9, 0, Verdict::Good))
                .map_err(|p| p.handle),
            Err(9)
        );
        let x = t.take(&r[0], 0, 21).unwrap();
        assert_eq!(
            (x.handle, x.stamp, x.span, x.verdict),
            (7, 100, 1, Verdict::Good)
        );
        assert!(t.take(&r[0], 0, 21).is_none());
        // An emptied slot keeps the stamp; the passed mark is leg 0's.
        assert_eq!(t.get(&r[0], 0, 21).stamp(), 100);
        t.stamp_empty(&r[0], 0, 21, 300);
        assert_eq!(t.get(&r[0], 0, 21).stamp(), 300);
        t.stamp_empty(&r[0], 1, 21, 300);
        assert_eq!(t.get(&r[0], 1, 21).stamp(), 101, "held copy's stamp kept");
        assert_eq!(t.passed(&r[0], 21), Passed::Skipped);
        t.set_passed(&r[0], 21, Passed::GivenUp);
        assert_eq!(t.passed(&r[0], 5), Passed::GivenUp);
    }

    #[test]
    fn rejects_non_power_of_two() {
        let e = SlotTable::<u32>::new(&[(2, 8), (2, 100)]).unwrap_err();
        assert!(e.contains("100"), "{e}");
    }

    #[test]
    fn sixteen_bytes_for_pointer_handles() {
        assert_eq!(std::mem::size_of::<Slot<NonNull<u8>>>(), 16);
        assert_eq!(SlotTable::<NonNull<u8>>::bytes_for(2, 512), 18 * 1024);
    }
}
