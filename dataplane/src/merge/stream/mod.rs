//! The per-stream state machine: classify a copy, place it in its leg's
//! ring, move the output cursor. Split by concern:
//!
//! * [`books`]: the one accounting path (every counter, send and free);
//! * [`epoch`]: source epochs, restart candidates and the boundary between
//!   two epochs;
//! * [`health`]: per-leg liveness, preferred leg, positions delivered;
//! * [`evidence`]: per-leg reorder depth and lag, learned online, and the
//!   early verdicts that read them;
//! * [`cursor`]: placing copies, choosing what goes out next, skipping;
//! * [`shed`]: which held copies go first when the packet pool runs low;
//! * [`agree`]: whether the copies of one position carry the same payload.
//!
//! Positions: every copy is mapped to a position in the stream's merged
//! sequence space, `raw + offset` of its source epoch, where `raw` is the
//! wire sequence extended against the epoch's highest value. Epoch 0 has
//! offset 0; a confirmed source restart opens a new epoch placed a margin
//! (max(K, min(capacity/8, 64)) positions) past the highest position seen,
//! so the old epoch's tail (still arriving on a lagging leg) and the new
//! epoch's head sort correctly and never collide.

mod agree;
mod books;
mod cursor;
mod epoch;
mod evidence;
mod fill;
mod health;
#[cfg(test)]
mod layout_tests;
mod messages;
mod shed;
pub(in crate::merge) use shed::ShedPass;

use super::config::{MergeConfig, Mode, Reorder, MAX_LEGS};
use super::counters::StreamCounters;
use super::output::{FreeReason, SendInfo, Sink};
use super::wheel::NEVER;
use crate::seq::{extend_shifted, shift_of, SeqSample};
use crate::slots::{Digest, Packet, Passed, Region, SlotClock, SlotTable, Verdict};
use books::Books;
use epoch::Epochs;
use evidence::Evidence;
pub use evidence::{EvidenceFigures, SAMPLE_EVERY};
use fill::FillRange;
pub use fill::{slots_for as fill_slots_for, FILL_SLOTS};
use health::{LegSlow, LegState};

/// One copy being handed in: which leg, when, and the copy itself.
///
/// Why one value: placing, holding for a restart and resolving a copy all
/// need the same facts; passing them as one value keeps every step's
/// signature short and the facts together.
#[derive(Debug)]
pub(super) struct Arrival<H> {
    /// Leg the copy came on.
    pub leg: usize,
    /// Caller ticks at arrival.
    pub now: u64,
    /// The copy (handle, stamp, span, verdict).
    pub copy: Packet<H>,
}

/// A copy held while its leg proves a new source (not yet in a ring): its
/// raw (epoch-less) sequence number and the copy.
pub(super) type Held<H> = Option<(u64, Packet<H>)>;

/// Storage shared by all streams (one allocation each, made up front).
pub(super) struct Store<H> {
    pub slots: SlotTable<H>,
    pub held: Vec<Held<H>>,
    /// Retransmitted copies waiting for the cursor ([`FILL_SLOTS`] per
    /// stream with gap fill): (position, copy).
    pub fills: Vec<Held<H>>,
    pub clock: SlotClock,
}

/// The stream's fixed settings, in the engine's units, that the fast paths
/// read (32 bytes, see [`StreamState`]'s layout; the rest are [`Limits`]).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
struct Rules {
    legs: usize,
    cap: u64,
    bits: u32,
    /// `shift_of(bits)`, for the fast paths' extension.
    shift: u32,
    mode: Mode,
    messages: bool,
}

/// The stream's fixed settings that only the slow paths read.
#[derive(Clone, Copy, Debug)]
struct Limits {
    max_delay: u64,
    leg_timeout: u64,
    k: u32,
    reorder: Reorder,
    margin: u64,
    fill_timeout: u64,
}

/// Hands `fetch` every cache line of `len` bytes from `p` (addresses only).
#[inline(always)]
fn lines(fetch: &mut impl FnMut(*const u8), p: *const u8, len: usize) {
    let mut off = 0;
    while off < len {
        fetch(p.wrapping_add(off));
        off += 64;
    }
    fetch(p.wrapping_add(len.saturating_sub(1)));
}

#[inline]
fn after(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// One stream.
///
/// Layout (`repr(C)`, hot fields first): with thousands of streams every
/// packet meets a stream state that is not in the L1 cache, so what the
/// fast paths read and write sits in few lines: line 0 the cursor, `high`,
/// `index`, `held`, `preferred`, `live` and the slot region; line 1 the
/// rules and the current epoch; then each leg's state (two legs a line)
/// and the books (whose first line holds the counters a clean pair
/// bumps). What only the slow paths, the evidence and gap fill read comes
/// after. Field order only: no behaviour depends on it (`layout_tests`
/// checks the lines).
#[repr(C)]
pub(super) struct StreamState {
    /// Next position to send.
    cursor: u64,
    /// Highest position placed.
    high: u64,
    index: usize,
    /// Copies held in the rings.
    held: u32,
    /// See [`preferred`](Self::preferred) (a leg index, below
    /// [`MAX_LEGS`], as a byte).
    preferred: Option<u8>,
    /// Started and the current epoch's End of Session not yet sent: the
    /// fast paths' one test for both.
    live: bool,
    region: Region,
    rules: Rules,
    ep: Epochs,
    leg: [LegState; MAX_LEGS],
    books: Books,
    /// Position at which the evidence windows rotate next (here, not in
    /// [`Evidence`], because every send of the slow path reads it; the
    /// send fast path only at sampled positions).
    next_rotate: u64,
    /// Earliest time this stream asked to be serviced (NEVER if none).
    pub wake: u64,
    limits: Limits,
    leg_slow: [LegSlow; MAX_LEGS],
    ev: Evidence,
    /// The range asked of the request server, if one is open.
    fill: FillRange,
    /// This stream's first entry in `Store::fills` and how many it has.
    fill_base: usize,
    fill_slots: usize,
}

const _: () = assert!(MAX_LEGS <= u8::MAX as usize, "a leg index fits a byte");

impl StreamState {
    pub(super) fn new(
        index: usize,
        c: &MergeConfig,
        region: Region,
        (held_base, fill_base): (usize, usize),
    ) -> Self {
        Self {
            index,
            rules: Rules {
                mode: c.mode,
                legs: c.legs,
                cap: c.capacity as u64,
                bits: c.seq_bits,
                shift: shift_of(c.seq_bits),
                messages: c.messages,
            },
            limits: Limits {
                max_delay: c.max_delay,
                leg_timeout: c.leg_timeout,
                k: c.restart_after,
                reorder: c.reorder,
                margin: c.margin,
                fill_timeout: c.fill_timeout,
            },
            region,
            cursor: 0,
            held: 0,
            high: 0,
            ep: Epochs::new(held_base),
            preferred: None,
            live: false,
            leg: [LegState::default(); MAX_LEGS],
            leg_slow: [LegSlow::default(); MAX_LEGS],
            ev: Evidence::new(c.capacity as u64),
            books: Books::default(),
            fill: FillRange::default(),
            fill_base,
            fill_slots: fill::slots_for(c),
            wake: NEVER,
            next_rotate: 0,
        }
    }

    pub(super) fn legs(&self) -> usize {
        self.rules.legs
    }

    pub(super) fn counters(&self) -> StreamCounters {
        self.books.counters()
    }

    pub(super) fn evidence_figures(&self) -> EvidenceFigures {
        self.evidence()
    }

    pub(super) fn leg_is_up(&self, leg: usize) -> bool {
        leg < self.rules.legs && self.leg[leg].up
    }

    pub(super) fn held(&self) -> u32 {
        self.held
            + (0..self.rules.legs)
                .map(|l| self.leg[l].cand_count)
                .sum::<u32>()
    }

    /// A copy for a leg index the stream does not have: counted on leg 0
    /// (`received` and `invalid`) and freed.
    pub(super) fn invalid_leg<H>(&mut self, handle: H, sink: &mut impl Sink<H>) {
        self.books.free(sink, 0, handle, FreeReason::Invalid);
    }

    #[inline]
    fn request(&mut self, t: u64) {
        if t < self.wake {
            self.wake = t;
        }
    }

    /// The position of a copy of `sample` on `leg` that can only be freed
    /// whatever its checksum says (`None`: it may be sent): the case
    /// `insert`'s behind-the-cursor fast path takes (a healthy leg of the
    /// current epoch, its position already sent or given up). See
    /// [`Engine::wants`](super::Engine::wants).
    #[inline(always)]
    pub(super) fn behind_at(&self, leg: usize, sample: &SeqSample) -> Option<u64> {
        if leg >= self.rules.legs {
            return None;
        }
        let (_, pos) = self.on_fast_path(leg, sample)?;
        let d = pos.wrapping_sub(self.cursor) as i64;
        (d < 0 && d >= -(self.rules.cap as i64) && !self.straddles(pos, sample.span)).then_some(pos)
    }

    /// The extended value and the position of a copy of `sample` on `leg`
    /// (`leg` < the stream's legs) if it meets what every fast path needs:
    /// the current source and sequence width, not a heartbeat, on a leg that
    /// is up in the current epoch with no restart candidate, in a live
    /// epoch. `None`: only the slow path may judge it. (The callers add the
    /// copy's own verdict, when they have one.)
    #[inline(always)]
    pub(super) fn on_fast_path(&self, leg: usize, sample: &SeqSample) -> Option<(u64, u64)> {
        let ls = &self.leg[leg];
        let cur = self.ep.cur;
        if sample.source == cur.source
            && ls.epoch == cur.id
            && ls.up
            && ls.cand_count == 0
            && sample.bits == self.rules.bits
            && !sample.heartbeat
            && self.live
        {
            Some(self.position_of(sample))
        } else {
            None
        }
    }

    /// The extended value of `sample` in the current epoch, and its
    /// position in the stream's sequence space.
    #[inline(always)]
    fn position_of(&self, sample: &SeqSample) -> (u64, u64) {
        let cur = self.ep.cur;
        let raw = extend_shifted(sample.value, self.rules.shift, cur.raw_high);
        (raw, raw.wrapping_add(cur.offset))
    }

    /// Hands `fetch` the addresses of the lines a copy on `leg` meets on
    /// the fast paths: the head of this state (cursor .. the current
    /// epoch), the leg's state and the counters those paths bump.
    /// See [`Engine::prefetch_state`](super::Engine::prefetch_state).
    #[inline(always)]
    pub(super) fn hot_lines(&self, leg: usize, fetch: &mut impl FnMut(*const u8)) {
        // Lines 0 and 1: up to the end of the current epoch.
        let head = std::mem::offset_of!(StreamState, ep) + size_of::<epoch::Epoch>();
        lines(fetch, (self as *const Self).cast(), head);
        if let Some(ls) = self.leg.get(leg) {
            lines(fetch, (ls as *const LegState).cast(), size_of::<LegState>());
        }
        self.books.hot_lines(leg, fetch);
    }

    /// Hands `fetch` the slot lines a copy of `sample` on `leg` meets: its
    /// position's slot and digest in its leg's ring and in leg 0's (where
    /// a send is marked). Reads this state (the position needs the epoch),
    /// so it pays once [`hot_lines`](Self::hot_lines) was fetched a while
    /// before.
    #[inline(always)]
    pub(super) fn slot_lines<H>(
        &self,
        store: &Store<H>,
        (leg, sample): (usize, &SeqSample),
        fetch: &mut impl FnMut(*const u8),
    ) {
        let (_, pos) = self.position_of(sample);
        store.slots.lines(&self.region, leg, pos, fetch);
        if leg != 0 {
            store.slots.lines(&self.region, 0, pos, fetch);
        }
    }

    // ---------------------------------------------------------------- insert

    /// Takes one copy, received on `leg` at `now`; sends / frees whatever
    /// that makes ready. (The fast paths use the parts; the slow path
    /// takes them as one [`Arrival`].) Returns whether the slow path ran:
    /// only it can ask for a deadline (`wake`); the fast paths never do.
    #[inline(always)]
    pub(super) fn insert<H>(
        &mut self,
        store: &mut Store<H>,
        sample: SeqSample,
        (leg, now): (usize, u64),
        copy: Packet<H>,
        sink: &mut impl Sink<H>,
    ) -> bool {
        debug_assert_eq!(
            self.wake, NEVER,
            "every entry point arms and clears its wake"
        );
        // Fast paths (the common cases on healthy legs): a good copy of the
        // next packet with nothing held is sent at once; a copy behind the
        // cursor is freed. Both need the leg up, on the current epoch and
        // with no restart candidate; anything else takes the full path.
        // They count and free through the same calls as the slow path.
        let fast = match copy.verdict {
            Verdict::Good => self.on_fast_path(leg, &sample),
            _ => None,
        };
        if let Some((raw, pos)) = fast {
            let d = pos.wrapping_sub(self.cursor) as i64;
            if d == 0 && self.held == 0 {
                // The preferred leg is the first leg up (`update_preferred`)
                // and this leg is up, so `preferred` is what `emit` finds.
                let preferred = self.preferred() == Some(leg);
                if preferred || self.rules.mode == Mode::Hitless {
                    if sample.span <= 1 {
                        self.send_next(
                            store,
                            (leg, pos, raw),
                            (copy.handle, copy.digest, now, preferred),
                            sink,
                        );
                        return false;
                    }
                    if !self.rules.messages {
                        let at = (leg, pos, raw, sample.span);
                        self.send_next_many(store, at, (copy.handle, now, preferred), sink);
                        return false;
                    }
                }
            }
            // (Message-level arbitration must not free a copy of several
            // messages here: it may straddle the cursor, and one behind it
            // is judged by all its messages, in `insert_messages`.)
            if d < 0 && d >= -(self.rules.cap as i64) && (sample.span <= 1 || !self.rules.messages)
            {
                self.books.took_good(leg);
                self.refresh(leg, now);
                self.note_position(leg, pos);
                if Evidence::sampled(pos) {
                    self.sample_lag(store, leg, pos, now, true);
                }
                self.behind(store, pos, leg, copy, sink);
                return false;
            }
        }
        self.insert_slow(store, sample, Arrival { leg, now, copy }, sink);
        true
    }

    /// The clean fast path: a good single-position copy of the next packet
    /// with nothing held, from a leg that may send it, goes out at once.
    /// (`raw` and `pos` are its extended sequence number and position.)
    #[inline(always)]
    fn send_next<H>(
        &mut self,
        store: &mut Store<H>,
        (leg, pos, raw): (usize, u64, u64),
        (handle, digest, now, preferred): (H, Digest, u64, bool),
        sink: &mut impl Sink<H>,
    ) {
        self.took_next(leg, pos, raw, now);
        if Evidence::sampled(pos) {
            // Not held, so the slot keeps this copy's arrival for the
            // other legs' lag samples, and leg 0's its digest for the
            // copies compared after it (`agree`).
            let stamp = store.clock.stamp(now);
            store.slots.stamp_empty(&self.region, leg, pos, stamp);
            store.slots.keep_sent_digest(&self.region, pos, digest);
            // Positions come one by one here, so testing the rotation
            // point only at sampled ones delays it by under
            // `SAMPLE_EVERY` positions (every other send tests it always).
            if self.rotates_at(pos) {
                self.rotate(pos, now, sink);
            }
        }
        let info = self.on_arrival(leg, pos, now, 1);
        self.hand_out(store, pos, handle, info, preferred, sink);
    }

    /// What a copy sent as it arrives goes out as: received now, of the
    /// current epoch, covering `span` positions from `pos`.
    #[inline(always)]
    pub(super) fn on_arrival(&self, leg: usize, pos: u64, now: u64, span: u16) -> SendInfo {
        SendInfo {
            leg,
            ext_seq: pos,
            rx_time: now,
            epoch: self.ep.cur.id,
            span,
        }
    }

    /// [`send_next`](Self::send_next) for a packet of several messages
    /// (MoldUDP64 / PITCH, not in message mode): the cursor passes the
    /// numbers it covers, as `send` does (nothing is held, so there is
    /// nothing to free). Such a copy keeps no digest (see `agree`).
    #[inline]
    fn send_next_many<H>(
        &mut self,
        store: &mut Store<H>,
        (leg, pos, raw, span): (usize, u64, u64, u16),
        (handle, now, preferred): (H, u64, bool),
        sink: &mut impl Sink<H>,
    ) {
        self.took_next(leg, pos, raw, now);
        if Evidence::sampled(pos) {
            let stamp = store.clock.stamp(now);
            store.slots.stamp_empty(&self.region, leg, pos, stamp);
            store
                .slots
                .keep_sent_digest(&self.region, pos, Digest::NONE);
        }
        // Such a packet can step over every sampled position: the rotation
        // point is tested at each send (as `emit` does).
        if self.rotates_at(pos) {
            self.rotate(pos, now, sink);
        }
        let info = self.on_arrival(leg, pos, now, span);
        self.hand_out(store, pos, handle, info, preferred, sink);
        let extra = u64::from(span) - 1;
        for k in 0..extra.min(self.rules.cap) {
            let q = self.cursor.wrapping_add(k);
            store.slots.set_passed(&self.region, q, Passed::Skipped);
        }
        self.cursor = self.cursor.wrapping_add(extra);
    }

    /// The bookkeeping of a copy the send fast paths take: that of
    /// [`took_copy`](Self::took_copy), then the cursor past it.
    #[inline(always)]
    fn took_next(&mut self, leg: usize, pos: u64, raw: u64, now: u64) {
        self.took_copy(leg, pos, raw, now);
        self.cursor = pos.wrapping_add(1);
    }

    /// A good copy taken at once (no slow path): the epoch's highest
    /// value, the stream's highest position, the leg's counters, liveness
    /// and position.
    #[inline(always)]
    pub(super) fn took_copy(&mut self, leg: usize, pos: u64, raw: u64, now: u64) {
        if after(raw, self.ep.cur.raw_high) {
            self.ep.cur.raw_high = raw;
        }
        if after(pos, self.high) {
            self.high = pos;
        }
        self.books.took_good(leg);
        self.refresh(leg, now);
        self.note_position(leg, pos);
    }

    /// Everything but the two fast paths: new legs, waiting copies, gaps,
    /// window moves, restarts, heartbeats, corrupt copies.
    ///
    /// With message-level arbitration the copies the packet fast paths
    /// left (several messages, or straddling the cursor) first try that
    /// mode's own fast paths ([`insert_messages`](Self::insert_messages)):
    /// tested here, off the packet path, so they cost it nothing.
    #[cold]
    #[inline(never)]
    fn insert_slow<H>(
        &mut self,
        store: &mut Store<H>,
        sample: SeqSample,
        mut a: Arrival<H>,
        sink: &mut impl Sink<H>,
    ) {
        if a.copy.span > 1 {
            // Several positions: never compared (see `agree`).
            a.copy.digest = Digest::NONE;
        }
        if self.rules.messages {
            self.insert_messages(store, sample, (a.leg, a.now), a.copy, sink);
        } else {
            self.place_slow(store, sample, a, sink);
        }
    }

    /// The slow path proper (see [`insert_slow`](Self::insert_slow)).
    #[inline(never)]
    pub(super) fn place_slow<H>(
        &mut self,
        store: &mut Store<H>,
        sample: SeqSample,
        mut a: Arrival<H>,
        sink: &mut impl Sink<H>,
    ) {
        let leg = a.leg;
        let now = a.now;
        a.copy.stamp = store.clock.stamp(now);
        a.copy.span = a.copy.span.max(1);
        // (Counted `received` by whichever of `invalid`, `heartbeats` or
        // the verdict it gets below.)
        if sample.bits != self.rules.bits {
            self.books
                .free(sink, leg, a.copy.handle, FreeReason::Invalid);
            return;
        }
        // The current source's End of Session, on a leg of its epoch, is
        // merged like a one-position packet at its sequence number (sent
        // after every earlier message); every other heartbeat, and every
        // later End of Session copy, is liveness only.
        let end = sample.end_of_session
            && self.live
            && sample.source == self.ep.cur.source
            && self.leg[leg].epoch == self.ep.cur.id;
        if sample.heartbeat && !end {
            if !self.ep.started
                || self.ep.ended
                || sample.source == self.ep.cur.source
                || self.ep.prev.is_some_and(|p| p.source == sample.source)
            {
                self.alive(leg, now, sink);
            }
            self.books
                .free(sink, leg, a.copy.handle, FreeReason::Heartbeat);
            return;
        }
        let good = a.copy.verdict == Verdict::Good;
        self.books.judged(leg, a.copy.verdict);
        if !self.ep.started {
            self.start(&sample);
        }
        match self.classify(leg, &sample) {
            epoch::Class::At(pos) => {
                if good {
                    self.alive(leg, now, sink);
                }
                if !end
                    && sample.source == self.ep.cur.source
                    && self.ep.end_at.is_some_and(|e| !after(e, pos))
                {
                    // At or after its source's End of Session (whose
                    // sequence is the next message's): not merged.
                    self.books.free(sink, leg, a.copy.handle, FreeReason::Stale);
                    return;
                }
                if end && self.ep.end_at.is_none_or(|e| after(e, pos)) {
                    self.ep.end_at = Some(pos);
                }
                if self.leg[leg].cand_count > 0 {
                    // A stray: dropped once the leg has carried on normally
                    // for a while (reordered old packets around a restart
                    // must not break a genuine run).
                    let normals = &mut self.leg_slow[leg].cand.normals;
                    *normals += 1;
                    if *normals >= (2 * self.limits.k).max(64) {
                        self.drop_candidate(store, leg, sink);
                    }
                }
                let pos = self.place(store, pos, a, sink);
                if self.cursor == pos
                    || self.ep.joined
                    || self.in_boundary(self.cursor)
                    || (self.held > 0 && self.moved_past(leg, self.cursor))
                {
                    self.ep.joined = false;
                    self.advance(store, now, None, sink);
                } else if self.held > 0 {
                    self.request(now.saturating_add(self.limits.max_delay));
                }
            }
            epoch::Class::Stale => {
                if good {
                    self.alive(leg, now, sink);
                }
                self.books.free(sink, leg, a.copy.handle, FreeReason::Stale);
            }
            epoch::Class::Wild => self.wild(store, &sample, a, sink),
        }
    }

    /// The cursor sends the packet at `pos` (already advanced past it):
    /// marks it sent (keeping its digest for the copies after it) and hands
    /// it out through the books; every window of positions the evidence
    /// starts a new window.
    #[inline(always)]
    fn emit<H>(
        &mut self,
        store: &mut Store<H>,
        pos: u64,
        (handle, digest): (H, Digest),
        info: SendInfo,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        if self.rotates_at(pos) {
            self.rotate(pos, now, sink);
        }
        // With every leg down no leg is preferred: the priority order
        // decides, so the primary's copy is never counted `substituted`.
        let preferred = self.preferred().unwrap_or(0) == info.leg;
        self.keep_sent_digest(store, pos, digest);
        self.hand_out(store, pos, handle, info, preferred, sink);
    }

    /// [`emit`](Self::emit) after the rotation test and the digest (the
    /// callers keep it where it is compared): marks `pos` sent and sends
    /// through the books (`preferred`: whether the copy's leg is the
    /// preferred one).
    #[inline(always)]
    fn hand_out<H>(
        &mut self,
        store: &mut Store<H>,
        pos: u64,
        handle: H,
        info: SendInfo,
        preferred: bool,
        sink: &mut impl Sink<H>,
    ) {
        store.slots.mark_sent(&self.region, pos);
        self.books.send(sink, self.index, handle, info, preferred);
    }

    /// A copy behind the cursor: freed as `duplicate` if its packet went
    /// out (compared with the copy sent, see `agree`), else `late` (a
    /// premature loss if it was given up on evidence).
    #[inline(always)]
    fn behind<H>(
        &mut self,
        store: &mut Store<H>,
        pos: u64,
        leg: usize,
        copy: Packet<H>,
        sink: &mut impl Sink<H>,
    ) {
        let why = if copy.verdict == Verdict::Corrupt {
            FreeReason::Corrupt
        } else {
            match store.slots.passed(&self.region, pos) {
                Passed::Sent => {
                    self.books.duplicate_messages(copy.span);
                    self.compare_with_sent(store, (pos, copy.span), copy.digest);
                    FreeReason::Duplicate
                }
                Passed::Skipped => FreeReason::Late,
                Passed::GivenUp => {
                    self.books.lost_early();
                    store.slots.set_passed(&self.region, pos, Passed::Skipped);
                    FreeReason::Late
                }
            }
        };
        self.books.free(sink, leg, copy.handle, why);
    }
}
