//! Message-level arbitration (`--arbitrate messages`, MoldUDP64): the legs
//! carry the same messages in packets of different boundaries.
//!
//! Positions are messages, and a copy covers `[pos, pos + span)`. The rule
//! that keeps the rest of the engine unchanged: **no held copy ever starts
//! behind the cursor**. Two places could break it, and both trim instead:
//!
//! * a copy arriving with `pos < cursor < pos + span` (its first messages
//!   already went out in another leg's packet) is trimmed to
//!   `[cursor, pos + span)` and placed at the cursor, like a copy of the
//!   next position;
//! * sending a copy `[p, end)` passes over the positions inside it; a
//!   copy held there that ends by `end` is a duplicate, one that reaches
//!   beyond `end` is trimmed to `[end, its end)` and put back at `end` on
//!   its leg (per leg only the one reaching furthest: it holds the
//!   others' remaining messages too).
//!
//! So every position at the cursor is decided by the packet-mode rules
//! (`decide`): the same waits, the same early verdicts on evidence, the same
//! `max_delay` cap (measured from the copy's own arrival, which trimming
//! keeps). A trimmed copy is one slot (its span shrinks; the slot keeps no
//! offset): the sink learns from [`SendInfo::span`] how many of the
//! packet's last message blocks to send. Nothing is allocated: a trim is a
//! subtraction, a carry is a take and a put in the same ring.

use super::evidence::Evidence;
use super::{after, Store, StreamState};
use crate::merge::config::{Mode, MAX_LEGS};
use crate::merge::output::{FreeReason, SendInfo, Sink};
use crate::seq::SeqSample;
use crate::slots::{Digest, Packet, Passed, Verdict};

impl StreamState {
    /// What `insert` does, for a stream with message-level arbitration, with
    /// a copy its packet fast paths did not take: the same preconditions
    /// (a good copy of the current source on a healthy leg), then a copy at
    /// or straddling the cursor goes out at once or is held at the cursor,
    /// one entirely behind it is freed as a duplicate, anything else takes
    /// the slow path. Called from the slow path's entry, so the packet
    /// path stays as small as without it.
    #[inline(always)]
    pub(super) fn insert_messages<H>(
        &mut self,
        store: &mut Store<H>,
        sample: SeqSample,
        (leg, now): (usize, u64),
        copy: Packet<H>,
        sink: &mut impl Sink<H>,
    ) {
        let fast = match copy.verdict {
            Verdict::Good => self.on_fast_path(leg, &sample),
            _ => None,
        };
        if let Some((raw, pos)) = fast {
            let d = pos.wrapping_sub(self.cursor) as i64;
            let in_window = d < 0 && d >= -(self.rules.cap as i64);
            if d == 0 || (in_window && self.straddles(pos, copy.span)) {
                if (self.preferred() == Some(leg) || self.rules.mode == Mode::Hitless)
                    && self.may_send_at_once(leg)
                {
                    self.send_at_once(store, (raw, pos), (leg, now), copy, sink);
                    return;
                }
                if self.may_hold_at_cursor(pos) {
                    self.hold_at_cursor(store, (raw, pos), (leg, now), copy, sink);
                    return;
                }
            } else if in_window {
                // Entirely behind the cursor: what the packet path does.
                self.books.took_good(leg);
                self.refresh(leg, now);
                self.note_position(leg, pos);
                if Evidence::sampled(pos) {
                    self.sample_lag(store, leg, pos, now, true);
                }
                self.behind_messages(store, pos, leg, copy, sink);
                return;
            }
        }
        self.place_slow(store, sample, super::Arrival { leg, now, copy }, sink);
    }

    /// A copy entirely behind the cursor: a duplicate only if every message
    /// it carries went out; if the cursor passed any of them unsent it is
    /// `late` (and a `lost_early` if one was given up on evidence), as a
    /// one-message copy of that message would be.
    pub(super) fn behind_messages<H>(
        &mut self,
        store: &mut Store<H>,
        pos: u64,
        leg: usize,
        copy: Packet<H>,
        sink: &mut impl Sink<H>,
    ) {
        let span = u64::from(copy.span.max(1));
        if copy.verdict == Verdict::Good && self.passed_unsent(store, pos, span) > 0 {
            self.books.free(sink, leg, copy.handle, FreeReason::Late);
        } else {
            self.behind(store, pos, leg, copy, sink);
        }
    }

    /// How many of the `n` messages from `pos` (all behind the cursor) the
    /// cursor passed without sending them, as a good copy carrying them
    /// finds them: each one given up on evidence is a premature loss
    /// (`lost_early`, once: its mark becomes a plain skip). Only the
    /// positions within the window behind the cursor keep their marks; the
    /// older ones of `n` are not looked at.
    fn passed_unsent<H>(&mut self, store: &mut Store<H>, pos: u64, n: u64) -> u64 {
        let oldest = self.cursor.wrapping_sub(self.rules.cap);
        let from = if after(oldest, pos) { oldest } else { pos };
        let end = pos.wrapping_add(n);
        let count = if after(end, from) {
            end.wrapping_sub(from)
        } else {
            0
        };
        let mut unsent = 0;
        for k in 0..count {
            let q = from.wrapping_add(k);
            match store.slots.passed(&self.region, q) {
                Passed::Sent => {}
                Passed::Skipped => unsent += 1,
                Passed::GivenUp => {
                    self.books.lost_early();
                    store.slots.set_passed(&self.region, q, Passed::Skipped);
                    unsent += 1;
                }
            }
        }
        unsent
    }

    /// Whether a copy at `pos` (behind the cursor) still carries messages
    /// at or after the cursor that message-level arbitration must not drop.
    /// Always false packet by packet.
    #[inline(always)]
    pub(super) fn straddles(&self, pos: u64, span: u16) -> bool {
        self.rules.messages && after(pos.wrapping_add(u64::from(span.max(1))), self.cursor)
    }

    /// Trims a good copy at `pos` that [`straddles`](Self::straddles) the
    /// cursor to the messages from the cursor on; returns its new position,
    /// the cursor. The prefix cut off is judged as a copy entirely behind
    /// the cursor would be, message by message: the ones sent are counted
    /// `messages_duplicate`; the ones the cursor passed unsent came late
    /// (their gap was declared before this copy arrived, by `max_delay`
    /// or on evidence, and a given-up one is a `lost_early`). The copy's
    /// own fate (sent, or freed as a duplicate of a copy that sends its
    /// tail) is then that of the messages it still carries.
    #[inline]
    pub(super) fn trim_to_cursor<H>(
        &mut self,
        store: &mut Store<H>,
        pos: u64,
        copy: &mut Packet<H>,
    ) -> u64 {
        // pos < cursor < pos + span: 0 < cut < span <= u16::MAX.
        let cut = self.cursor.wrapping_sub(pos) as u16;
        let unsent = self.passed_unsent(store, pos, u64::from(cut)) as u16;
        copy.span -= cut;
        self.books.duplicate_messages(cut - unsent);
        self.cursor
    }

    /// The fast path's test (message mode): a good copy of the preferred
    /// leg (any leg in hitless mode) that starts at or straddles the cursor
    /// goes out at once when whatever else is held sits at the cursor on a
    /// leg of lower priority (so `decide` would choose this copy too), no
    /// requested range is open, no End of Session is pending and the cursor
    /// is not between two epochs.
    #[inline(always)]
    pub(super) fn may_send_at_once(&self, leg: usize) -> bool {
        if self.fill.open
            || self.ep.end_at.is_some()
            || self.ep.joined
            || self.in_boundary(self.cursor)
        {
            return false;
        }
        if self.held == 0 {
            return true;
        }
        let hitless = self.rules.mode == Mode::Hitless;
        (0..self.rules.legs).all(|l| {
            let ls = &self.leg[l];
            ls.held == 0
                || (ls.held == 1 && self.leg_slow[l].top == self.cursor && (hitless || l >= leg))
        })
    }

    /// Sends a copy at `pos` (the cursor, or behind it and straddling it:
    /// then trimmed first) that [`may_send_at_once`](Self::may_send_at_once)
    /// allows, with the bookkeeping the slow path would do; then lets the
    /// cursor go on if copies are still held.
    #[inline]
    pub(super) fn send_at_once<H>(
        &mut self,
        store: &mut Store<H>,
        (raw, pos): (u64, u64),
        (leg, now): (usize, u64),
        mut copy: Packet<H>,
        sink: &mut impl Sink<H>,
    ) {
        self.took_copy(leg, pos, raw, now);
        let behind = after(self.cursor, pos);
        if Evidence::sampled(pos) {
            if behind {
                // As the slow path does for a copy behind the cursor.
                self.sample_lag(store, leg, pos, now, true);
            } else {
                // Not held: the slot keeps this copy's arrival for the
                // other legs' lag samples.
                let stamp = store.clock.stamp(now);
                store.slots.stamp_empty(&self.region, leg, pos, stamp);
            }
        }
        let at = if behind {
            self.trim_to_cursor(store, pos, &mut copy)
        } else {
            pos
        };
        let info = self.on_arrival(leg, at, now, copy.span.max(1));
        self.send_messages(store, info, copy.handle, now, sink);
        if self.held > 0 {
            self.advance(store, now, None, sink);
        }
    }

    /// The second fast path's test (message mode): a good copy at or
    /// straddling the cursor that cannot go at once (another leg is
    /// preferred, or copies are held) may skip the slow path's preamble
    /// when it belongs to the current epoch away from any boundary and no
    /// End of Session is pending: it is placed at the cursor and judged by
    /// the cursor's rules exactly as the slow path would.
    #[inline(always)]
    pub(super) fn may_hold_at_cursor(&self, pos: u64) -> bool {
        self.ep.end_at.is_none()
            && !self.ep.joined
            && (self.ep.prev.is_none() || !after(self.ep.head_lo, pos))
            && !self.in_boundary(self.cursor)
    }

    /// Places a copy [`may_hold_at_cursor`](Self::may_hold_at_cursor)
    /// allows (trimmed to the cursor if it straddles it) and moves the
    /// cursor as far as the rules allow: `decide` sends it, or holds it
    /// until the preferred leg is known missing (evidence, at most
    /// `max_delay` from its arrival), or frees it when the preferred leg's
    /// packet covers it.
    #[inline]
    pub(super) fn hold_at_cursor<H>(
        &mut self,
        store: &mut Store<H>,
        (raw, pos): (u64, u64),
        (leg, now): (usize, u64),
        mut copy: Packet<H>,
        sink: &mut impl Sink<H>,
    ) {
        if after(raw, self.ep.cur.raw_high) {
            self.ep.cur.raw_high = raw;
        }
        copy.stamp = store.clock.stamp(now);
        copy.span = copy.span.max(1);
        self.books.took_good(leg);
        self.refresh(leg, now);
        let a = super::Arrival { leg, now, copy };
        let _at_cursor = self.place(store, pos, a, sink);
        self.advance(store, now, None, sink);
    }

    /// Sends the copy at the cursor (`info`: its position and span) and
    /// passes over the positions it covers: copies held there are freed
    /// when they end inside it, else trimmed and carried to the position
    /// after it.
    #[inline(always)]
    pub(super) fn send_messages<H>(
        &mut self,
        store: &mut Store<H>,
        info: SendInfo,
        handle: H,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let p = info.ext_seq;
        let end = p.wrapping_add(u64::from(info.span));
        self.cursor = end;
        // Not kept for the copies after it (message-level arbitration
        // sends copies of differently packed legs).
        self.emit(store, p, (handle, Digest::NONE), info, now, sink);
        self.note_end_sent(p);
        let visit = u64::from(info.span).min(self.rules.cap);
        if self.held == 0 && !self.fill.open {
            // Nothing to pass over but the positions' sent marks.
            for k in 1..visit {
                store
                    .slots
                    .set_passed(&self.region, p.wrapping_add(k), Passed::Sent);
            }
            return;
        }
        self.pass_over(store, (p, end, visit), sink);
    }

    /// [`send_messages`](Self::send_messages) with copies held or a range
    /// requested: `p..end` (`visit` of its positions within the window)
    /// just went out; frees or carries what is held there.
    #[inline(never)]
    pub(super) fn pass_over<H>(
        &mut self,
        store: &mut Store<H>,
        (p, end, visit): (u64, u64, u64),
        sink: &mut impl Sink<H>,
    ) {
        // Held copies lie in [p, their leg's top]: past the furthest top
        // (and with no requested range open) only the sent marks are left.
        let mut held_to = 0;
        if self.fill.open {
            held_to = visit;
        } else {
            for l in 0..self.rules.legs {
                if self.leg[l].held > 0 {
                    let top = self.leg_slow[l].top;
                    held_to = held_to.max(top.wrapping_sub(p).saturating_add(1).min(visit));
                }
            }
        }
        let mut carry: [Option<(u64, Packet<H>)>; MAX_LEGS] = [const { None }; MAX_LEGS];
        let mut carried = false;
        for k in 0..held_to {
            let q = p.wrapping_add(k);
            if k > 0 {
                store.slots.set_passed(&self.region, q, Passed::Sent);
            }
            if self.held == 0 {
                continue;
            }
            for (l, slot) in carry.iter_mut().enumerate().take(self.rules.legs) {
                if self.leg[l].held == 0 || after(q, self.leg_slow[l].top) {
                    continue;
                }
                let Some(t) = store.slots.take(&self.region, l, q) else {
                    continue;
                };
                self.held -= 1;
                self.leg[l].held -= 1;
                let t_end = q.wrapping_add(u64::from(t.span.max(1)));
                if t.verdict == Verdict::Good && after(t_end, end) {
                    let keep = match slot.take() {
                        Some((c_end, c)) if !after(t_end, c_end) => {
                            self.books.duplicate_messages(t.span);
                            self.books.free(sink, l, t.handle, FreeReason::Duplicate);
                            (c_end, c)
                        }
                        Some((_, c)) => {
                            self.books.duplicate_messages(c.span);
                            self.books.free(sink, l, c.handle, FreeReason::Duplicate);
                            (t_end, t)
                        }
                        None => (t_end, t),
                    };
                    *slot = Some(keep);
                    carried = true;
                } else if t.verdict == Verdict::Good {
                    self.books.duplicate_messages(t.span);
                    self.books.free(sink, l, t.handle, FreeReason::Duplicate);
                } else {
                    self.books.free(sink, l, t.handle, FreeReason::Corrupt);
                }
            }
            if k > 0 && self.fill.open {
                self.free_fill_at(store, q, false, sink);
            }
        }
        for k in held_to.max(1)..visit {
            store
                .slots
                .set_passed(&self.region, p.wrapping_add(k), Passed::Sent);
        }
        if !carried {
            return;
        }
        for (l, c) in carry.iter_mut().enumerate() {
            if let Some((c_end, mut c)) = c.take() {
                // end < c_end <= end + u16::MAX.
                let keep = c_end.wrapping_sub(end) as u16;
                self.books.duplicate_messages(c.span - keep);
                c.span = keep;
                self.put_carried(store, l, c, sink);
            }
        }
    }

    /// Puts a trimmed copy of `leg` back at the cursor. If the leg already
    /// holds a copy there, the one with more messages stays (it holds all
    /// of the other's) and the other is a duplicate.
    fn put_carried<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        c: Packet<H>,
        sink: &mut impl Sink<H>,
    ) {
        let at = self.cursor;
        let c = match store.slots.put(&self.region, leg, at, c) {
            Ok(()) => {
                self.held += 1;
                let held = &mut self.leg[leg].held;
                *held += 1;
                let top = &mut self.leg_slow[leg].top;
                if after(at, *top) || *held == 1 {
                    *top = at;
                }
                if after(at, self.high) {
                    self.high = at;
                }
                return;
            }
            Err(c) => c,
        };
        let there = store.slots.get(&self.region, leg, at);
        if there.is_good() && there.span() >= c.span {
            self.books.duplicate_messages(c.span);
            self.books.free(sink, leg, c.handle, FreeReason::Duplicate);
            return;
        }
        if let Some(old) = store.slots.take(&self.region, leg, at) {
            let why = if old.verdict == Verdict::Good {
                self.books.duplicate_messages(old.span);
                FreeReason::Duplicate
            } else {
                FreeReason::Corrupt
            };
            self.books.free(sink, leg, old.handle, why);
        }
        if let Err(c) = store.slots.put(&self.region, leg, at, c) {
            self.books.free(sink, leg, c.handle, FreeReason::Duplicate);
        }
    }
}
