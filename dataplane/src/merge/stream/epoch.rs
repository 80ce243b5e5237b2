//! Source epochs and restart detection: how a copy's wire sequence maps to
//! a position, which copies are strays from elsewhere (`wild`), and when a
//! run of them proves the source restarted (a new epoch after everything
//! seen so far).

use super::{after, Arrival, Held, Store, StreamState};
use crate::merge::output::{Event, EventKind, FreeReason, Sink};
use crate::merge::{Reorder, MAX_LEGS};
use crate::seq::{extend, first_extension, SeqSample};
use crate::slots::Verdict;

/// A source epoch: how wire sequence numbers map to positions.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Epoch {
    pub source: u64,
    pub raw_high: u64,
    pub offset: u64,
    pub id: u32,
}

/// A run of out-of-window packets on one leg that may be a restart (how
/// many is [`LegState::cand_count`](super::health::LegState), which the
/// fast paths test).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Candidate {
    pub normals: u32,
    pub source: u64,
    pub raw_high: u64,
    pub raw_low: u64,
    pub last: u64,
}

/// The stream's epochs: the current one, the one before (whose tail may
/// still arrive on a lagging leg) and the boundary between them.
/// `repr(C)`, the current epoch first: all the fast paths read (whether
/// it is live is [`StreamState`]'s `live`, in its first line).
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub(super) struct Epochs {
    pub cur: Epoch,
    pub started: bool,
    /// Position of the current epoch's End of Session (MoldUDP64), once
    /// one was placed: nothing of that source after it is merged.
    pub end_at: Option<u64>,
    /// That End of Session was sent: the stream is idle until a new
    /// source, which then restarts the stream at its first packet.
    pub ended: bool,
    pub prev: Option<Epoch>,
    /// Positions `boundary_lo..epoch_start` separate the two epochs.
    pub boundary_lo: u64,
    pub epoch_start: u64,
    /// Lowest boundary position a copy of the current epoch took (its
    /// head, lost on the first-restarting leg); `epoch_start` if none.
    /// Positions before it belong to the previous epoch: what labels a
    /// sent copy's epoch ([`SendInfo::epoch`](crate::merge::SendInfo)).
    pub head_lo: u64,
    /// Highest boundary position a copy of the previous epoch took (its
    /// tail); `boundary_lo - 1` if none. The head never goes below it.
    pub tail_hi: u64,
    /// A leg joined the current epoch during this insert.
    pub joined: bool,
    /// Where this stream's restart candidates are kept in `Store::held`.
    pub held_base: usize,
}

impl Epochs {
    pub fn new(held_base: usize) -> Self {
        Self {
            started: false,
            end_at: None,
            ended: false,
            cur: Epoch::default(),
            prev: None,
            boundary_lo: 0,
            epoch_start: 0,
            head_lo: 0,
            tail_hi: 0,
            joined: false,
            held_base,
        }
    }
}

/// Where a copy belongs.
pub(super) enum Class {
    /// At this position (behind, in or just beyond the window).
    At(u64),
    /// From the ended epoch, beyond where it ended.
    Stale,
    /// Out of the window / foreign source: restart candidate.
    Wild,
}

impl StreamState {
    pub(super) fn start(&mut self, s: &SeqSample) {
        let raw = first_extension(s.value, self.rules.bits);
        self.live = true;
        let ep = &mut self.ep;
        ep.started = true;
        ep.cur = Epoch {
            id: 0,
            source: s.source,
            raw_high: raw,
            offset: 0,
        };
        ep.boundary_lo = raw;
        ep.epoch_start = raw;
        ep.head_lo = raw;
        ep.tail_hi = raw.wrapping_sub(1);
        self.cursor = raw;
        self.high = raw.wrapping_sub(1);
        for (l, s) in self.leg.iter_mut().zip(&mut self.leg_slow) {
            l.epoch = 0;
            s.top = raw;
            l.last_pos = raw;
        }
    }

    /// -cap <= pos - cursor < 2 cap: behind (late/duplicate), in the window,
    /// or close enough that the window moves to it.
    #[inline]
    fn in_range(&self, pos: u64) -> bool {
        let d = pos.wrapping_sub(self.cursor) as i64;
        let cap = self.rules.cap as i64;
        d >= -cap && d < 2 * cap
    }

    #[inline]
    pub(super) fn classify(&mut self, leg: usize, s: &SeqSample) -> Class {
        let bits = self.rules.bits;
        let cur = self.ep.cur;
        let on_cur = self.leg[leg].epoch == cur.id;
        if on_cur && s.source == cur.source {
            let raw = extend(s.value, bits, cur.raw_high);
            let pos = raw.wrapping_add(cur.offset);
            if self.in_range(pos) {
                if !self.claim_head(pos) {
                    return Class::Stale;
                }
                if after(raw, cur.raw_high) {
                    self.ep.cur.raw_high = raw;
                }
                return Class::At(pos);
            }
        }
        // The previous epoch: reordered tail on a leg that moved on, or a
        // leg that has not restarted yet.
        let on_prev = self.ep.prev.is_some_and(|p| p.id == self.leg[leg].epoch);
        if let Some(p) = self.ep.prev {
            if s.source == p.source {
                let raw = extend(s.value, bits, p.raw_high);
                let pos = raw.wrapping_add(p.offset);
                if after(self.ep.head_lo, pos) {
                    if self.in_range(pos) {
                        if after(pos, self.ep.tail_hi) {
                            self.ep.tail_hi = pos;
                        }
                        return Class::At(pos);
                    }
                } else if on_prev && pos.wrapping_sub(self.ep.epoch_start) < 2 * self.rules.cap {
                    return Class::Stale;
                }
            }
        }
        if !on_cur && s.source == cur.source {
            let raw = extend(s.value, bits, cur.raw_high);
            let pos = raw.wrapping_add(cur.offset);
            if self.in_range(pos) && self.claim_head(pos) {
                // This leg has restarted too: it joins the current epoch.
                self.leg[leg].epoch = cur.id;
                self.ep.joined = true;
                if after(raw, cur.raw_high) {
                    self.ep.cur.raw_high = raw;
                }
                return Class::At(pos);
            }
        }
        Class::Wild
    }

    /// A copy outside the window or from another source: counted into its
    /// leg's restart candidate (held) until K of them confirm a restart.
    pub(super) fn wild<H>(
        &mut self,
        store: &mut Store<H>,
        s: &SeqSample,
        a: Arrival<H>,
        sink: &mut impl Sink<H>,
    ) {
        let leg = a.leg;
        let now = a.now;
        let (bits, cap, k) = (self.rules.bits, self.rules.cap, self.limits.k);
        let c = self.leg_slow[leg].cand;
        let mut raw = 0;
        let continues = self.leg[leg].cand_count > 0 && c.source == s.source && {
            raw = extend(s.value, bits, c.raw_high);
            raw.wrapping_sub(c.raw_high).wrapping_add(cap) < 2 * cap
        };
        if !continues {
            self.drop_candidate(store, leg, sink);
            raw = first_extension(s.value, bits);
            self.leg_slow[leg].cand = Candidate {
                normals: 0,
                source: s.source,
                raw_high: raw,
                raw_low: raw,
                last: now,
            };
            self.request(now.saturating_add(self.candidate_expiry()));
        }
        // After the current source's End of Session a new source is a
        // certain restart: it needs no run of K to prove it.
        let need = if self.ep.ended && s.source != self.ep.cur.source {
            1
        } else {
            k
        };
        let count = &mut self.leg[leg].cand_count;
        *count += 1;
        let count = *count;
        let c = &mut self.leg_slow[leg].cand;
        c.normals = 0;
        c.last = now;
        if after(raw, c.raw_high) {
            c.raw_high = raw;
        }
        if after(c.raw_low, raw) {
            c.raw_low = raw;
        }
        if count < need {
            let i = self.ep.held_base + leg * k as usize + count as usize - 1;
            store.held[i] = Some((raw, a.copy));
            return;
        }
        self.restart(store, raw, a, sink);
    }

    /// Positions left free between two epochs: room for the old epoch's
    /// tail (still arriving on a lagging leg) and the new epoch's first
    /// packets that the first-restarting leg lost, so they never collide.
    #[inline]
    pub(super) fn margin(&self) -> u64 {
        u64::from(self.limits.k).max((self.rules.cap / 8).min(64))
    }

    /// How long a restart candidate may stay without a new packet before
    /// its held copies are dropped as strays.
    #[inline]
    pub(super) fn candidate_expiry(&self) -> u64 {
        self.limits
            .leg_timeout
            .max(self.limits.max_delay)
            .saturating_mul(4)
    }

    pub(super) fn drop_candidate<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        sink: &mut impl Sink<H>,
    ) {
        let k = self.limits.k;
        let n = self.leg[leg].cand_count.min(k.saturating_sub(1));
        for j in 0..n as usize {
            let i = self.ep.held_base + leg * k as usize + j;
            if let Some((_, p)) = store.held[i].take() {
                self.books.free(sink, leg, p.handle, FreeReason::Wild);
            }
        }
        self.clear_candidate(leg);
    }

    /// `leg` has no restart candidate any more (its held copies are gone).
    pub(super) fn clear_candidate(&mut self, leg: usize) {
        self.leg[leg].cand_count = 0;
        self.leg_slow[leg].cand = Candidate::default();
    }

    /// `a.leg` held a new source for K packets: open a new epoch after
    /// everything seen so far and place the held run there.
    fn restart<H>(
        &mut self,
        store: &mut Store<H>,
        raw: u64,
        a: Arrival<H>,
        sink: &mut impl Sink<H>,
    ) {
        let leg = a.leg;
        let now = a.now;
        let (bits, cap, k) = (self.rules.bits, self.rules.cap, self.limits.k);
        let c = self.leg_slow[leg].cand;
        // After an End of Session nothing of the old source is merged any
        // more (everything up to it went out): the new epoch starts right
        // after it, with no boundary to wait for.
        let margin = if self.ep.ended { 0 } else { self.margin() };
        let start = self.high.wrapping_add(1).wrapping_add(margin);
        let ep = &mut self.ep;
        ep.prev = Some(ep.cur);
        self.live = true;
        ep.ended = false;
        ep.end_at = None;
        ep.boundary_lo = self.high.wrapping_add(1);
        ep.epoch_start = start;
        ep.head_lo = start;
        ep.tail_hi = self.high;
        ep.cur = Epoch {
            id: ep.cur.id.wrapping_add(1),
            source: c.source,
            raw_high: c.raw_high,
            offset: start.wrapping_sub(c.raw_low),
        };
        self.books.restarted();
        sink.event(
            self.index,
            Event {
                time: now,
                kind: EventKind::SourceRestart {
                    leg,
                    epoch: self.ep.cur.id,
                    source: c.source,
                    first_seq: start,
                },
            },
        );
        // Legs whose own candidate is the same new source join now, so
        // their held copies are used too.
        let mut joining = [false; MAX_LEGS];
        joining[leg] = true;
        for (other, j) in joining.iter_mut().enumerate().take(self.rules.legs) {
            let oc = self.leg_slow[other].cand;
            if other != leg && self.leg[other].cand_count > 0 && oc.source == c.source {
                let r = extend(oc.raw_high, bits, self.ep.cur.raw_high);
                if r.wrapping_sub(self.ep.cur.raw_high).wrapping_add(cap) < 2 * cap {
                    *j = true;
                }
            }
        }
        for (l, &j) in joining.iter().enumerate().take(self.rules.legs) {
            if !j {
                continue;
            }
            self.leg[l].epoch = self.ep.cur.id;
            let n = self.leg[l].cand_count.min(k - 1) as usize;
            self.clear_candidate(l);
            for i in 0..n {
                let slot: &mut Held<H> = &mut store.held[self.ep.held_base + l * k as usize + i];
                if let Some((raw, copy)) = slot.take() {
                    let held = Arrival { leg: l, now, copy };
                    self.place_raw(store, raw, held, sink);
                }
            }
        }
        self.place_raw(store, raw, a, sink);
        self.advance(store, now, None, sink);
    }

    /// Places a copy of the current epoch given by its raw sequence number.
    fn place_raw<H>(
        &mut self,
        store: &mut Store<H>,
        raw: u64,
        a: Arrival<H>,
        sink: &mut impl Sink<H>,
    ) {
        let raw = extend(raw, self.rules.bits, self.ep.cur.raw_high);
        if after(raw, self.ep.cur.raw_high) {
            self.ep.cur.raw_high = raw;
        }
        if a.copy.verdict == Verdict::Good {
            self.alive(a.leg, a.now, sink);
        }
        let pos = raw.wrapping_add(self.ep.cur.offset);
        if !self.claim_head(pos) {
            // Below the old epoch's tail: the two would share a position.
            self.books
                .free(sink, a.leg, a.copy.handle, FreeReason::Stale);
            return;
        }
        let _placed_at = self.place(store, pos, a, sink);
    }

    /// A copy of the current epoch at `pos`: in the boundary, it moves the
    /// head down to `pos` unless the previous epoch's tail has been placed
    /// there (false: the copy cannot be told apart from the old epoch's).
    #[inline]
    fn claim_head(&mut self, pos: u64) -> bool {
        if self.ep.prev.is_none() || !after(self.ep.head_lo, pos) {
            return true;
        }
        if !after(pos, self.ep.tail_hi) {
            return false;
        }
        self.ep.head_lo = pos;
        true
    }

    #[inline]
    pub(super) fn in_boundary(&self, p: u64) -> bool {
        p.wrapping_sub(self.ep.boundary_lo) < self.ep.epoch_start.wrapping_sub(self.ep.boundary_lo)
    }

    /// Every leg has joined the current epoch and delivered a packet at
    /// least `margin` positions into it (allowance for in-leg reorder), so
    /// none can still fill the boundary. Under `Reorder::Auto` a leg with
    /// evidence also settles it once it has delivered a packet more than
    /// its learned depth + 1 past the boundary's last position
    /// ([`moved_past`](Self::moved_past), the rule every gap uses): a copy
    /// of the old tail or of the new head still due on it would be
    /// displaced further than that leg ever reorders. A down leg may come
    /// back within max_delay like for any gap, so it counts too.
    #[inline]
    pub(super) fn boundary_settled(&self) -> bool {
        let mark = self.ep.epoch_start.wrapping_add(self.margin());
        let last = self.ep.epoch_start.wrapping_sub(1);
        let auto = self.limits.reorder == Reorder::Auto;
        (0..self.rules.legs).all(|l| {
            let ls = &self.leg[l];
            ls.epoch == self.ep.cur.id
                && ls.seen
                && (!after(mark, ls.last_pos) || (auto && self.moved_past(l, last)))
        })
    }

    /// How many of the positions between `lo` and `hi` (`lo` before
    /// `hi`) no packet can have: the part of the boundary between the two
    /// epochs that lies between them (from the old epoch's highest
    /// position, or `lo`, to the new epoch's start). Why: a leg's reorder
    /// depth counts the packets a late copy was displaced by, and a copy of
    /// the old tail arriving after the new head is displaced by the
    /// packets around the boundary, not by its `margin` of empty
    /// positions (which would make the learned depth, and every verdict
    /// that reads it, wait for a margin after each restart).
    #[inline]
    pub(super) fn unused_between(&self, lo: u64, hi: u64) -> u64 {
        if self.ep.prev.is_none()
            || after(self.ep.epoch_start, hi)
            || !after(self.ep.epoch_start, lo)
        {
            return 0;
        }
        let from = if after(self.ep.boundary_lo, lo) {
            self.ep.boundary_lo
        } else {
            lo.wrapping_add(1)
        };
        self.ep.epoch_start.wrapping_sub(from)
    }

    /// The epoch a sent position belongs to.
    #[inline]
    pub(super) fn epoch_of(&self, p: u64) -> u32 {
        match self.ep.prev {
            Some(pe) if after(self.ep.head_lo, p) => pe.id,
            _ => self.ep.cur.id,
        }
    }
}
