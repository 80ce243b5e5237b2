//! The per-stream state machine: classify a copy, place it in its leg's
//! ring, move the output cursor.
//!
//! Positions: every copy is mapped to a position in the stream's merged
//! sequence space, `raw + offset` of its source epoch, where `raw` is the
//! wire sequence extended against the epoch's highest value. Epoch 0 has
//! offset 0; a confirmed source restart opens a new epoch placed a margin
//! (max(K, min(capacity/8, 64)) positions) past the highest position seen, so the old
//! epoch's tail (still arriving on a lagging leg) and the new epoch's head
//! sort correctly and never collide.

use super::config::{MergeConfig, Mode, MAX_LEGS};
use super::counters::StreamCounters;
use super::output::{Event, EventKind, FreeReason, SendInfo, Sink};
use super::wheel::NEVER;
use crate::seq::{extend, first_extension, SeqSample};
use crate::slots::{Region, SlotClock, SlotTable, Verdict};

/// A copy held while its leg proves a new source (not yet in a ring).
#[derive(Debug)]
pub(super) struct Held<H> {
    handle: Option<H>,
    raw: u64,
    stamp: u32,
    span: u16,
    verdict: Verdict,
}

impl<H> Held<H> {
    pub(super) fn empty() -> Self {
        Self {
            handle: None,
            raw: 0,
            stamp: 0,
            span: 0,
            verdict: Verdict::Good,
        }
    }
}

/// Storage shared by all streams (one allocation each, made up front).
pub(super) struct Store<H> {
    pub slots: SlotTable<H>,
    pub held: Vec<Held<H>>,
    pub clock: SlotClock,
}

/// A source epoch: how wire sequence numbers map to positions.
#[derive(Clone, Copy, Debug, Default)]
struct Epoch {
    id: u32,
    source: u64,
    raw_high: u64,
    offset: u64,
}

/// A run of out-of-window packets on one leg that may be a restart.
#[derive(Clone, Copy, Debug, Default)]
struct Candidate {
    count: u32,
    normals: u32,
    source: u64,
    raw_high: u64,
    raw_low: u64,
    last: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct LegState {
    up: bool,
    seen: bool,
    epoch: u32,
    held: u32,
    last_good: u64,
    top: u64,
    last_pos: u64,
    cand: Candidate,
}

/// Where a copy belongs.
enum Class {
    /// At this position (behind, in or just beyond the window).
    At(u64),
    /// From the ended epoch, beyond where it ended.
    Stale,
    /// Out of the window / foreign source: restart candidate.
    Wild,
}

/// What the cursor does next.
enum Step {
    Send(usize),
    Wait(u64),
    /// Skip positions up to (excluding) this one; `true` if they had copies
    /// (corrupt only) at the cursor.
    SkipTo(u64),
    Idle,
}

#[inline]
fn after(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// One stream.
pub(super) struct StreamState {
    index: usize,
    mode: Mode,
    legs: usize,
    cap: u64,
    max_delay: u64,
    leg_timeout: u64,
    k: u32,
    bits: u32,
    reorder: Option<u64>,
    region: Region,
    held_base: usize,
    started: bool,
    cursor: u64,
    held: u32,
    high: u64,
    cur: Epoch,
    prev: Option<Epoch>,
    boundary_lo: u64,
    epoch_start: u64,
    preferred: Option<usize>,
    /// A leg joined the current epoch during this insert.
    joined: bool,
    leg: [LegState; MAX_LEGS],
    /// Earliest time this stream asked to be serviced (NEVER if none).
    pub wake: u64,
    pub counters: StreamCounters,
}

impl StreamState {
    pub(super) fn new(index: usize, c: &MergeConfig, region: Region, held_base: usize) -> Self {
        Self {
            index,
            mode: c.mode,
            legs: c.legs,
            cap: c.capacity as u64,
            max_delay: c.max_delay,
            leg_timeout: c.leg_timeout,
            k: c.restart_after,
            bits: c.seq_bits,
            reorder: c.primary_reorder.map(u64::from),
            region,
            held_base,
            started: false,
            cursor: 0,
            held: 0,
            high: 0,
            cur: Epoch::default(),
            prev: None,
            boundary_lo: 0,
            epoch_start: 0,
            preferred: None,
            joined: false,
            leg: [LegState::default(); MAX_LEGS],
            wake: NEVER,
            counters: StreamCounters::default(),
        }
    }

    pub(super) fn legs(&self) -> usize {
        self.legs
    }

    pub(super) fn leg_is_up(&self, leg: usize) -> bool {
        leg < self.legs && self.leg[leg].up
    }

    pub(super) fn held(&self) -> u32 {
        self.held + (0..self.legs).map(|l| self.leg[l].cand.count).sum::<u32>()
    }

    #[inline]
    fn request(&mut self, t: u64) {
        if t < self.wake {
            self.wake = t;
        }
    }

    #[inline]
    fn event<H>(&self, sink: &mut impl Sink<H>, time: u64, kind: EventKind) {
        sink.event(self.index, Event { time, kind });
    }

    #[inline]
    fn free<H>(&mut self, leg: usize, handle: H, why: FreeReason, sink: &mut impl Sink<H>) {
        let c = &mut self.counters.legs[leg];
        match why {
            FreeReason::Duplicate => c.duplicates += 1,
            FreeReason::Late => c.late += 1,
            FreeReason::Corrupt => c.corrupt_dropped += 1,
            FreeReason::Wild => c.wild += 1,
            FreeReason::Stale => c.stale += 1,
            FreeReason::Heartbeat => c.heartbeats += 1,
            FreeReason::Invalid => c.invalid += 1,
        }
        sink.free(handle, why);
    }

    // ---------------------------------------------------------------- insert

    /// Takes one copy from `leg`; sends / frees whatever that makes ready.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(super) fn insert<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        sample: SeqSample,
        verdict: Verdict,
        handle: H,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        // Fast paths (the common cases on healthy legs): a good copy of the
        // next packet with nothing held is sent at once; a copy behind the
        // cursor is freed. Both need the leg up, on the current epoch and
        // with no restart candidate; anything else takes the full path.
        let ls = &self.leg[leg];
        if verdict == Verdict::Good
            && sample.source == self.cur.source
            && ls.epoch == self.cur.id
            && ls.up
            && ls.cand.count == 0
            && sample.bits == self.bits
            && !sample.heartbeat
            && self.started
        {
            let raw = extend(sample.value, self.bits, self.cur.raw_high);
            let pos = raw.wrapping_add(self.cur.offset);
            let d = pos.wrapping_sub(self.cursor) as i64;
            if d == 0
                && self.held == 0
                && sample.span <= 1
                && (self.preferred == Some(leg) || self.mode == Mode::Hitless)
            {
                if after(raw, self.cur.raw_high) {
                    self.cur.raw_high = raw;
                }
                if after(pos, self.high) {
                    self.high = pos;
                }
                let l = &mut self.leg[leg];
                l.last_good = l.last_good.max(now);
                l.last_pos = pos;
                l.seen = true;
                store.slots.set_sent(&self.region, pos, true);
                let c = &mut self.counters;
                c.sent += 1;
                if self.preferred != Some(leg) {
                    c.substituted += 1;
                }
                let lc = &mut c.legs[leg];
                lc.received += 1;
                lc.good += 1;
                lc.used += 1;
                let epoch = self.cur.id;
                self.cursor = pos.wrapping_add(1);
                sink.send(
                    self.index,
                    handle,
                    SendInfo {
                        leg,
                        ext_seq: pos,
                        rx_time: now,
                        epoch,
                    },
                );
                return;
            }
            if d < 0 && d >= -(self.cap as i64) {
                let l = &mut self.leg[leg];
                l.last_good = l.last_good.max(now);
                self.note_position(leg, pos);
                let lc = &mut self.counters.legs[leg];
                lc.received += 1;
                lc.good += 1;
                if store.slots.was_sent(&self.region, pos) {
                    lc.duplicates += 1;
                    sink.free(handle, FreeReason::Duplicate);
                } else {
                    lc.late += 1;
                    sink.free(handle, FreeReason::Late);
                }
                return;
            }
        }
        self.insert_slow(store, leg, sample, verdict, handle, now, sink);
    }

    /// Records that `leg` delivered `pos`: counts it out of order if the leg
    /// already delivered a later position, else advances the leg's position
    /// (which `primary_reorder` and the epoch-boundary checks read). Every
    /// path that accepts a copy goes through here, so the fast paths cannot
    /// drift from the slow one.
    #[inline(always)]
    fn note_position(&mut self, leg: usize, pos: u64) {
        let l = &mut self.leg[leg];
        if l.seen && after(l.last_pos, pos) {
            self.counters.legs[leg].out_of_order += 1;
        } else {
            l.last_pos = pos;
        }
        l.seen = true;
    }

    /// Everything but the two fast paths: new legs, waiting copies, gaps,
    /// window moves, restarts, heartbeats, corrupt copies.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    fn insert_slow<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        sample: SeqSample,
        verdict: Verdict,
        handle: H,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        self.counters.legs[leg].received += 1;
        if sample.bits != self.bits {
            self.free(leg, handle, FreeReason::Invalid, sink);
            return;
        }
        if sample.heartbeat {
            if !self.started
                || sample.source == self.cur.source
                || self.prev.is_some_and(|p| p.source == sample.source)
            {
                self.alive(leg, now, sink);
            }
            self.free(leg, handle, FreeReason::Heartbeat, sink);
            return;
        }
        let good = verdict == Verdict::Good;
        if good {
            self.counters.legs[leg].good += 1;
        } else {
            self.counters.legs[leg].corrupt += 1;
        }
        if !self.started {
            self.start(&sample);
        }
        let stamp = store.clock.stamp(now);
        let span = sample.span.max(1);
        match self.classify(leg, &sample) {
            Class::At(pos) => {
                if good {
                    self.alive(leg, now, sink);
                }
                if self.leg[leg].cand.count > 0 {
                    // A stray: dropped once the leg has carried on normally
                    // for a while (reordered old packets around a restart
                    // must not break a genuine run).
                    self.leg[leg].cand.normals += 1;
                    if self.leg[leg].cand.normals >= (2 * self.k).max(64) {
                        self.drop_candidate(store, leg, sink);
                    }
                }
                self.place(store, leg, pos, span, verdict, handle, stamp, now, sink);
                if self.cursor == pos
                    || self.joined
                    || self.in_boundary(self.cursor)
                    || (self.held > 0 && self.moved_past(leg, self.cursor))
                {
                    self.joined = false;
                    self.advance(store, now, None, sink);
                } else if self.held > 0 {
                    self.request(now.saturating_add(self.max_delay));
                }
            }
            Class::Stale => {
                if good {
                    self.alive(leg, now, sink);
                }
                self.free(leg, handle, FreeReason::Stale, sink);
            }
            Class::Wild => {
                self.wild(store, leg, &sample, verdict, handle, stamp, span, now, sink);
            }
        }
    }

    fn start(&mut self, s: &SeqSample) {
        let raw = first_extension(s.value, self.bits);
        self.started = true;
        self.cur = Epoch {
            id: 0,
            source: s.source,
            raw_high: raw,
            offset: 0,
        };
        self.cursor = raw;
        self.high = raw.wrapping_sub(1);
        self.boundary_lo = raw;
        self.epoch_start = raw;
        for l in &mut self.leg {
            l.epoch = 0;
            l.top = raw;
            l.last_pos = raw;
        }
    }

    /// Good packet (or heartbeat) on `leg`: refresh liveness, bring it up.
    #[inline]
    fn alive<H>(&mut self, leg: usize, now: u64, sink: &mut impl Sink<H>) {
        let l = &mut self.leg[leg];
        if now > l.last_good {
            l.last_good = now;
        }
        if !l.up {
            l.up = true;
            self.event(sink, now, EventKind::LegUp { leg });
            self.request(now.saturating_add(self.leg_timeout));
            self.update_preferred(now, sink);
        }
    }

    fn update_preferred<H>(&mut self, now: u64, sink: &mut impl Sink<H>) {
        let new = (0..self.legs).find(|&l| self.leg[l].up);
        if new != self.preferred {
            if let (Some(from), Some(to)) = (self.preferred, new) {
                self.counters.switches += 1;
                self.event(sink, now, EventKind::Switch { from, to });
            }
            self.preferred = new;
        }
    }

    /// -cap <= pos - cursor < 2 cap: behind (late/duplicate), in the window,
    /// or close enough that the window moves to it.
    #[inline]
    fn in_range(&self, pos: u64) -> bool {
        let d = pos.wrapping_sub(self.cursor) as i64;
        d >= -(self.cap as i64) && d < 2 * self.cap as i64
    }

    #[inline]
    fn classify(&mut self, leg: usize, s: &SeqSample) -> Class {
        let on_cur = self.leg[leg].epoch == self.cur.id;
        if on_cur && s.source == self.cur.source {
            let raw = extend(s.value, self.bits, self.cur.raw_high);
            let pos = raw.wrapping_add(self.cur.offset);
            if self.in_range(pos) {
                if after(raw, self.cur.raw_high) {
                    self.cur.raw_high = raw;
                }
                return Class::At(pos);
            }
        }
        // The previous epoch: reordered tail on a leg that moved on, or a
        // leg that has not restarted yet.
        let on_prev = self.prev.is_some_and(|p| p.id == self.leg[leg].epoch);
        if let Some(p) = self.prev {
            if s.source == p.source {
                let raw = extend(s.value, self.bits, p.raw_high);
                let pos = raw.wrapping_add(p.offset);
                if after(self.epoch_start, pos) {
                    if self.in_range(pos) {
                        return Class::At(pos);
                    }
                } else if on_prev && pos.wrapping_sub(self.epoch_start) < 2 * self.cap {
                    return Class::Stale;
                }
            }
        }
        if !on_cur && s.source == self.cur.source {
            let raw = extend(s.value, self.bits, self.cur.raw_high);
            let pos = raw.wrapping_add(self.cur.offset);
            if self.in_range(pos) {
                // This leg has restarted too: it joins the current epoch.
                self.leg[leg].epoch = self.cur.id;
                self.joined = true;
                if after(raw, self.cur.raw_high) {
                    self.cur.raw_high = raw;
                }
                return Class::At(pos);
            }
        }
        Class::Wild
    }

    /// Puts a classified copy at `pos`: frees it if behind the cursor, moves
    /// the window if beyond it, else stores it in the leg's ring.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn place<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        pos: u64,
        span: u16,
        verdict: Verdict,
        handle: H,
        stamp: u32,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        self.note_position(leg, pos);
        if pos.wrapping_sub(self.cursor) >= self.cap && !after(self.cursor, pos) {
            // Beyond the window: move it, resolving what it passes over.
            self.counters.overruns += 1;
            let floor = pos.wrapping_sub(self.cap - 1);
            self.advance(store, now, Some(floor), sink);
        }
        if after(self.cursor, pos) {
            let why = if verdict == Verdict::Corrupt {
                FreeReason::Corrupt
            } else if store.slots.was_sent(&self.region, pos) {
                FreeReason::Duplicate
            } else {
                FreeReason::Late
            };
            self.free(leg, handle, why, sink);
            return;
        }
        match store
            .slots
            .put(&self.region, leg, pos, handle, stamp, span, verdict)
        {
            Ok(()) => {
                self.held += 1;
                let l = &mut self.leg[leg];
                l.held += 1;
                if after(pos, l.top) || l.held == 1 {
                    l.top = pos;
                }
                if after(pos, self.high) {
                    self.high = pos;
                }
            }
            Err(handle) => {
                // In-leg duplicate: keep a good copy over a corrupt one.
                let existing_good = store.slots.get(&self.region, leg, pos).is_good();
                if verdict == Verdict::Good && !existing_good {
                    let old = store.slots.take(&self.region, leg, pos);
                    if let Some(old) = old {
                        self.free(leg, old.handle, FreeReason::Corrupt, sink);
                    }
                    let _ = store
                        .slots
                        .put(&self.region, leg, pos, handle, stamp, span, verdict)
                        .map_err(|h| self.free(leg, h, FreeReason::Duplicate, sink));
                } else if verdict == Verdict::Corrupt {
                    self.free(leg, handle, FreeReason::Corrupt, sink);
                } else {
                    self.free(leg, handle, FreeReason::Duplicate, sink);
                }
            }
        }
    }

    // --------------------------------------------------------------- restart

    #[allow(clippy::too_many_arguments)]
    fn wild<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        s: &SeqSample,
        verdict: Verdict,
        handle: H,
        stamp: u32,
        span: u16,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let c = self.leg[leg].cand;
        let mut raw = 0;
        let continues = c.count > 0 && c.source == s.source && {
            raw = extend(s.value, self.bits, c.raw_high);
            raw.wrapping_sub(c.raw_high).wrapping_add(self.cap) < 2 * self.cap
        };
        if !continues {
            self.drop_candidate(store, leg, sink);
            raw = first_extension(s.value, self.bits);
            self.leg[leg].cand = Candidate {
                count: 0,
                normals: 0,
                source: s.source,
                raw_high: raw,
                raw_low: raw,
                last: now,
            };
            self.request(now.saturating_add(self.candidate_expiry()));
        }
        let c = &mut self.leg[leg].cand;
        c.count += 1;
        c.normals = 0;
        c.last = now;
        if after(raw, c.raw_high) {
            c.raw_high = raw;
        }
        if after(c.raw_low, raw) {
            c.raw_low = raw;
        }
        if c.count < self.k {
            let slot =
                &mut store.held[self.held_base + leg * self.k as usize + c.count as usize - 1];
            *slot = Held {
                handle: Some(handle),
                raw,
                stamp,
                span,
                verdict,
            };
            return;
        }
        self.restart(store, leg, raw, verdict, handle, stamp, span, now, sink);
    }

    /// Positions left free between two epochs: room for the old epoch's
    /// tail (still arriving on a lagging leg) and the new epoch's first
    /// packets that the first-restarting leg lost, so they never collide.
    #[inline]
    fn margin(&self) -> u64 {
        u64::from(self.k).max((self.cap / 8).min(64))
    }

    /// How long a restart candidate may stay without a new packet before
    /// its held copies are dropped as strays.
    #[inline]
    fn candidate_expiry(&self) -> u64 {
        self.leg_timeout.max(self.max_delay).saturating_mul(4)
    }

    fn drop_candidate<H>(&mut self, store: &mut Store<H>, leg: usize, sink: &mut impl Sink<H>) {
        let n = self.leg[leg].cand.count.min(self.k.saturating_sub(1));
        for j in 0..n as usize {
            let i = self.held_base + leg * self.k as usize + j;
            if let Some(h) = store.held[i].handle.take() {
                self.free(leg, h, FreeReason::Wild, sink);
            }
        }
        self.leg[leg].cand = Candidate::default();
    }

    /// `leg` held a new source for K packets: open a new epoch after
    /// everything seen so far and place the held run there.
    #[allow(clippy::too_many_arguments)]
    fn restart<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        raw: u64,
        verdict: Verdict,
        handle: H,
        stamp: u32,
        span: u16,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let c = self.leg[leg].cand;
        let start = self.high.wrapping_add(1).wrapping_add(self.margin());
        self.prev = Some(self.cur);
        self.boundary_lo = self.high.wrapping_add(1);
        self.epoch_start = start;
        self.cur = Epoch {
            id: self.cur.id.wrapping_add(1),
            source: c.source,
            raw_high: c.raw_high,
            offset: start.wrapping_sub(c.raw_low),
        };
        self.counters.restarts += 1;
        self.event(
            sink,
            now,
            EventKind::SourceRestart {
                leg,
                epoch: self.cur.id,
                source: c.source,
                first_seq: start,
            },
        );
        // Legs whose own candidate is the same new source join now, so
        // their held copies are used too.
        let mut joining = [false; MAX_LEGS];
        joining[leg] = true;
        for (other, j) in joining.iter_mut().enumerate().take(self.legs) {
            let oc = self.leg[other].cand;
            if other != leg && oc.count > 0 && oc.source == c.source {
                let r = extend(oc.raw_high, self.bits, self.cur.raw_high);
                if r.wrapping_sub(self.cur.raw_high).wrapping_add(self.cap) < 2 * self.cap {
                    *j = true;
                }
            }
        }
        for (l, &j) in joining.iter().enumerate().take(self.legs) {
            if !j {
                continue;
            }
            self.leg[l].epoch = self.cur.id;
            let n = self.leg[l].cand.count.min(self.k - 1) as usize;
            self.leg[l].cand = Candidate::default();
            for i in 0..n {
                let h = std::mem::replace(
                    &mut store.held[self.held_base + l * self.k as usize + i],
                    Held::empty(),
                );
                if let Some(hd) = h.handle {
                    self.place_raw(store, l, hd, h.raw, h.span, h.verdict, h.stamp, now, sink);
                }
            }
        }
        self.place_raw(store, leg, handle, raw, span, verdict, stamp, now, sink);
        self.advance(store, now, None, sink);
    }

    #[allow(clippy::too_many_arguments)]
    fn place_raw<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        handle: H,
        raw: u64,
        span: u16,
        verdict: Verdict,
        stamp: u32,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let raw = extend(raw, self.bits, self.cur.raw_high);
        if after(raw, self.cur.raw_high) {
            self.cur.raw_high = raw;
        }
        if verdict == Verdict::Good {
            self.alive(leg, now, sink);
        }
        let pos = raw.wrapping_add(self.cur.offset);
        self.place(store, leg, pos, span, verdict, handle, stamp, now, sink);
    }

    // ---------------------------------------------------------------- cursor

    /// Earliest-arrived first copy at or after `p` on each leg: (lowest such
    /// position, age of the oldest of them).
    fn first_seen_from<H>(&self, store: &Store<H>, p: u64, now: u64) -> Option<(u64, u64)> {
        let mut best: Option<(u64, u64)> = None;
        for l in 0..self.legs {
            let ls = &self.leg[l];
            if ls.held == 0 || after(p, ls.top) {
                continue;
            }
            let span = ls.top.wrapping_sub(p).min(self.cap - 1);
            for k in 0..=span {
                let q = p.wrapping_add(k);
                let s = store.slots.get(&self.region, l, q);
                if !s.is_empty() {
                    let age = store.clock.age(now, s.stamp());
                    best = Some(match best {
                        None => (q, age),
                        Some((bq, ba)) => (if after(bq, q) { q } else { bq }, ba.max(age)),
                    });
                    break;
                }
            }
        }
        best
    }

    #[inline]
    fn in_boundary(&self, p: u64) -> bool {
        p.wrapping_sub(self.boundary_lo) < self.epoch_start.wrapping_sub(self.boundary_lo)
    }

    /// Every leg has joined the current epoch and delivered a packet at
    /// least `margin` positions into it (allowance for in-leg reorder), so
    /// none can still fill the boundary. A down leg may come back within
    /// max_delay like for any gap, so it counts too.
    #[inline]
    fn boundary_settled(&self) -> bool {
        let mark = self.epoch_start.wrapping_add(self.margin());
        (0..self.legs).all(|l| {
            let ls = &self.leg[l];
            ls.epoch == self.cur.id && ls.seen && !after(mark, ls.last_pos)
        })
    }

    /// With `primary_reorder = Some(r)`: leg `l` has delivered a packet
    /// more than `r` positions after `p`, so its copy of `p` is missing.
    #[inline]
    fn moved_past(&self, l: usize, p: u64) -> bool {
        match self.reorder {
            Some(r) => {
                let leg = &self.leg[l];
                leg.seen && after(leg.last_pos, p.wrapping_add(r))
            }
            None => false,
        }
    }

    /// What to do at the cursor. `forced`: the position must be resolved now
    /// (window overrun, drain).
    #[inline]
    fn decide<H>(&self, store: &Store<H>, now: u64, forced: bool) -> Step {
        let p = self.cursor;
        let mut best: Option<usize> = None;
        let mut pending_before_best = false;
        let mut pending = false;
        let mut any = false;
        let mut best_age = 0;
        for l in 0..self.legs {
            let s = store.slots.get(&self.region, l, p);
            if s.is_empty() {
                if self.leg[l].up && !self.moved_past(l, p) {
                    pending = true;
                }
                continue;
            }
            any = true;
            if s.is_good() {
                match self.mode {
                    Mode::Primary => {
                        if best.is_none() {
                            best = Some(l);
                            pending_before_best = pending;
                        }
                    }
                    Mode::Hitless => {
                        let age = store.clock.age(now, s.stamp());
                        if best.is_none() || age > best_age {
                            best = Some(l);
                            best_age = age;
                        }
                    }
                }
            }
        }
        // Corrupt copies only: wait like a gap (an intact duplicate may
        // still come on some leg).
        if let Some(b) = best {
            if !pending_before_best || forced || self.mode == Mode::Hitless {
                return Step::Send(b);
            }
        }
        if forced {
            return if any {
                Step::SkipTo(p.wrapping_add(1))
            } else {
                match self.first_seen_from(store, p, now) {
                    Some((q, _)) => Step::SkipTo(q),
                    None => Step::Idle,
                }
            };
        }
        if !any && self.in_boundary(p) && self.boundary_settled() {
            // Between two epochs and no leg can still fill it: skip at once
            // (silently). While a leg has not restarted yet, or has not yet
            // gone `margin` positions into the new epoch, its old tail or the new
            // epoch's first packets may still come: wait (at most
            // max_delay, then skip silently).
            let to = match self.first_seen_from(store, p, now) {
                Some((q, _)) if after(self.epoch_start, q) => q,
                _ => self.epoch_start,
            };
            return Step::SkipTo(to);
        }
        let Some((q, age)) = self.first_seen_from(store, p, now) else {
            return Step::Idle;
        };
        if age >= self.max_delay {
            return match best {
                Some(b) => Step::Send(b),
                None if any => Step::SkipTo(p.wrapping_add(1)),
                None => Step::SkipTo(q),
            };
        }
        Step::Wait(now.saturating_sub(age).saturating_add(self.max_delay))
    }

    /// Moves the cursor as far as the rules allow at `now`; with
    /// `force_below`, every position before it is resolved regardless.
    pub(super) fn advance<H>(
        &mut self,
        store: &mut Store<H>,
        now: u64,
        force_below: Option<u64>,
        sink: &mut impl Sink<H>,
    ) {
        let mut gap_first = 0u64;
        let mut gap_count = 0u64;
        loop {
            let forced = force_below.is_some_and(|f| after(f, self.cursor));
            let step = if self.held == 0 {
                if forced {
                    Step::SkipTo(force_below.unwrap_or(self.cursor))
                } else {
                    Step::Idle
                }
            } else {
                self.decide(store, now, forced)
            };
            match step {
                Step::Send(l) => {
                    self.flush_gap(&mut gap_first, &mut gap_count, now, sink);
                    self.send(store, l, now, sink);
                }
                Step::SkipTo(q) => {
                    // A forced skip never passes positions that are not due.
                    let q = match force_below {
                        Some(f) if forced && after(q, f) => f,
                        _ => q,
                    };
                    self.skip_to(store, q, &mut gap_first, &mut gap_count, now, sink);
                }
                Step::Wait(t) => {
                    self.flush_gap(&mut gap_first, &mut gap_count, now, sink);
                    self.request(t);
                    return;
                }
                Step::Idle => {
                    self.flush_gap(&mut gap_first, &mut gap_count, now, sink);
                    return;
                }
            }
        }
    }

    fn flush_gap<H>(
        &mut self,
        first: &mut u64,
        count: &mut u64,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        if *count > 0 {
            self.counters.gaps += 1;
            self.event(
                sink,
                now,
                EventKind::Gap {
                    first_seq: *first,
                    count: *count,
                },
            );
            *count = 0;
        }
    }

    /// Passes over positions `cursor..q` without sending: frees their
    /// copies (corrupt only, or pushed out), counts the unrecoverable ones.
    fn skip_to<H>(
        &mut self,
        store: &mut Store<H>,
        q: u64,
        gap_first: &mut u64,
        gap_count: &mut u64,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let n = q.wrapping_sub(self.cursor);
        let visit = n.min(self.cap);
        for k in 0..visit {
            let p = self.cursor.wrapping_add(k);
            store.slots.set_sent(&self.region, p, false);
            self.free_position(store, p, now, sink);
        }
        // Unrecoverable: every skipped position outside an epoch boundary.
        let mut counted = n;
        if self.boundary_lo != self.epoch_start {
            let lo = self.boundary_lo.wrapping_sub(self.cursor);
            let hi = self.epoch_start.wrapping_sub(self.cursor);
            // Overlap of [0, n) with [lo, hi), all relative to the cursor.
            if (lo as i64) < n as i64 && (hi as i64) > 0 {
                let a = (lo as i64).max(0) as u64;
                let b = (hi as i64).min(n as i64) as u64;
                counted -= b - a;
            }
        }
        if counted > 0 {
            if *gap_count == 0 {
                *gap_first = self.cursor;
            }
            *gap_count += counted;
            self.counters.unrecoverable += counted;
        }
        self.cursor = q;
    }

    /// Frees every copy held at `p` (the cursor is leaving it unsent).
    #[inline]
    fn free_position<H>(
        &mut self,
        store: &mut Store<H>,
        p: u64,
        _now: u64,
        sink: &mut impl Sink<H>,
    ) {
        for l in 0..self.legs {
            if self.leg[l].held == 0 {
                continue;
            }
            if let Some(t) = store.slots.take(&self.region, l, p) {
                self.held -= 1;
                self.leg[l].held -= 1;
                let why = if t.verdict == Verdict::Good {
                    FreeReason::Duplicate
                } else {
                    FreeReason::Corrupt
                };
                self.free(l, t.handle, why, sink);
            }
        }
    }

    /// Sends `leg`'s copy at the cursor, frees the other copies.
    #[inline]
    fn send<H>(&mut self, store: &mut Store<H>, leg: usize, now: u64, sink: &mut impl Sink<H>) {
        let p = self.cursor;
        let Some(t) = store.slots.take(&self.region, leg, p) else {
            return;
        };
        self.held -= 1;
        self.leg[leg].held -= 1;
        if self.held > 0 {
            self.free_position(store, p, now, sink);
        }
        store.slots.set_sent(&self.region, p, true);
        let epoch = match self.prev {
            Some(pe) if after(self.epoch_start, p) => pe.id,
            _ => self.cur.id,
        };
        let c = &mut self.counters;
        c.sent += 1;
        c.legs[leg].used += 1;
        if self.preferred != Some(leg) {
            c.substituted += 1;
        }
        sink.send(
            self.index,
            t.handle,
            SendInfo {
                leg,
                ext_seq: p,
                rx_time: store.clock.time(now, t.stamp),
                epoch,
            },
        );
        self.cursor = p.wrapping_add(1);
        if t.span > 1 {
            // MoldUDP64: the packet covers `span` sequence numbers.
            let extra = u64::from(t.span) - 1;
            for k in 0..extra.min(self.cap) {
                let q = self.cursor.wrapping_add(k);
                store.slots.set_sent(&self.region, q, false);
                if self.held > 0 {
                    self.free_position(store, q, now, sink);
                }
            }
            self.cursor = self.cursor.wrapping_add(extra);
        }
    }

    // --------------------------------------------------------------- service

    /// Timer fired: leg timeouts, overdue positions, stale candidates.
    pub(super) fn service<H>(&mut self, store: &mut Store<H>, now: u64, sink: &mut impl Sink<H>) {
        let mut changed = false;
        for l in 0..self.legs {
            let ls = &mut self.leg[l];
            if ls.up && now.saturating_sub(ls.last_good) >= self.leg_timeout {
                ls.up = false;
                changed = true;
                self.event(sink, now, EventKind::LegDown { leg: l });
            }
            let c = self.leg[l].cand;
            if c.count > 0 && now.saturating_sub(c.last) >= self.candidate_expiry() {
                self.drop_candidate(store, l, sink);
            }
        }
        if changed {
            self.update_preferred(now, sink);
        }
        self.advance(store, now, None, sink);
        for l in 0..self.legs {
            let ls = self.leg[l];
            if ls.up {
                self.request(ls.last_good.saturating_add(self.leg_timeout));
            }
            if ls.cand.count > 0 {
                self.request(ls.cand.last.saturating_add(self.candidate_expiry()));
            }
        }
    }

    /// Shutdown: send what can be sent in order, free everything else.
    pub(super) fn drain<H>(&mut self, store: &mut Store<H>, now: u64, sink: &mut impl Sink<H>) {
        if self.held > 0 {
            let end = self.high.wrapping_add(1);
            self.advance(store, now, Some(end), sink);
        }
        for l in 0..self.legs {
            self.drop_candidate(store, l, sink);
        }
        self.wake = NEVER;
    }
}
