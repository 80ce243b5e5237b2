//! The output cursor: placing copies in the rings, choosing what goes out
//! next, skipping what cannot, and the shutdown drain.

use super::books::GapLine;
use super::evidence::{Evidence, Expect};
use super::{after, Arrival, Store, StreamState};
use crate::merge::config::{Mode, Reorder};
use crate::merge::output::{FreeReason, GapHow, SendInfo, Sink};
use crate::slots::{Passed, Verdict};

/// What the cursor does next.
enum Step {
    Send(usize),
    Wait(u64),
    /// Skip positions up to (excluding) this one.
    SkipTo(u64),
    /// The same, on evidence before `max_delay` (a copy arriving later is
    /// a premature loss).
    GiveUp(u64),
    /// Gap fill: ask for the positions up to (excluding) this one and hold
    /// them for up to `fill_timeout`.
    Request(u64),
    /// Send the retransmitted copy held at this fill entry.
    SendFill(usize),
    Idle,
}

/// A run of unrecoverable positions being skipped (one `Gap` event).
struct GapRun {
    first: u64,
    count: u64,
    how: GapHow,
}

impl Default for GapRun {
    fn default() -> Self {
        GapRun {
            first: 0,
            count: 0,
            how: GapHow::Lost,
        }
    }
}

impl StreamState {
    /// Puts a classified copy at `pos`: frees it if behind the cursor, moves
    /// the window if beyond it, else stores it in the leg's ring. Returns
    /// where it went: `pos`, or the cursor for a copy that message-level
    /// arbitration trimmed to its messages not yet sent.
    #[inline]
    pub(super) fn place<H>(
        &mut self,
        store: &mut Store<H>,
        mut pos: u64,
        mut a: Arrival<H>,
        sink: &mut impl Sink<H>,
    ) -> u64 {
        let leg = a.leg;
        let cap = self.rules.cap;
        self.note_position(leg, pos);
        if pos.wrapping_sub(self.cursor) >= cap && !after(self.cursor, pos) {
            // Beyond the window: move it, resolving what it passes over.
            self.books.overrun();
            let floor = pos.wrapping_sub(cap - 1);
            self.advance(store, a.now, Some(floor), sink);
        }
        let sampled = Evidence::sampled(pos);
        if after(self.cursor, pos) {
            if sampled {
                self.sample_lag(store, leg, pos, a.now, true);
            }
            if a.copy.verdict == Verdict::Good && self.straddles(pos, a.copy.span) {
                pos = self.trim_to_cursor(store, pos, &mut a.copy);
            } else if self.rules.messages {
                self.behind_messages(store, pos, leg, a.copy, sink);
                return pos;
            } else {
                self.behind(store, pos, leg, a.copy, sink);
                return pos;
            }
        }
        let good = a.copy.verdict == Verdict::Good;
        let now = a.now;
        match store.slots.put(&self.region, leg, pos, a.copy) {
            Ok(()) => {
                if sampled {
                    self.sample_lag(store, leg, pos, now, false);
                }
                self.held += 1;
                let held = &mut self.leg[leg].held;
                *held += 1;
                let top = &mut self.leg_slow[leg].top;
                if after(pos, *top) || *held == 1 {
                    *top = pos;
                }
                if after(pos, self.high) {
                    self.high = pos;
                }
            }
            Err(copy) => {
                // In-leg duplicate: keep a good copy over a corrupt one (by
                // messages, the good copy that carries more of them).
                let there = store.slots.get(&self.region, leg, pos);
                let existing_good = there.is_good();
                let more = self.rules.messages && existing_good && there.span() < copy.span;
                if good && (!existing_good || more) {
                    if let Some(old) = store.slots.take(&self.region, leg, pos) {
                        let why = if more {
                            self.books.duplicate_messages(old.span);
                            FreeReason::Duplicate
                        } else {
                            FreeReason::Corrupt
                        };
                        self.books.free(sink, leg, old.handle, why);
                    }
                    if let Err(c) = store.slots.put(&self.region, leg, pos, copy) {
                        self.books.free(sink, leg, c.handle, FreeReason::Duplicate);
                    }
                } else if !good {
                    self.books.free(sink, leg, copy.handle, FreeReason::Corrupt);
                } else {
                    self.books.duplicate_messages(copy.span);
                    self.books
                        .free(sink, leg, copy.handle, FreeReason::Duplicate);
                }
            }
        }
        pos
    }

    /// Earliest-arrived first copy at or after `p` on each leg: (lowest such
    /// position, age of the oldest of them).
    fn first_seen_from<H>(&self, store: &Store<H>, p: u64, now: u64) -> Option<(u64, u64)> {
        let mut best: Option<(u64, u64)> = None;
        for l in 0..self.rules.legs {
            let top = self.leg_slow[l].top;
            if self.leg[l].held == 0 || after(p, top) {
                continue;
            }
            let span = top.wrapping_sub(p).min(self.rules.cap - 1);
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

    /// What to do at the cursor. `forced`: the position must be resolved now
    /// (window overrun, drain).
    ///
    /// How long each outcome may hold the packet: a preferred copy goes at
    /// once; a lower leg's copy waits while a higher leg may still deliver
    /// (until that leg is known missing: moved past by its depth + 1, or
    /// later than its lag + margin behind the first copy), at most
    /// `max_delay` from the first copy of this or a later position; a
    /// position with no good copy waits the same way for every live leg.
    #[inline]
    fn decide<H>(&self, store: &Store<H>, now: u64, forced: bool) -> Step {
        let p = self.cursor;
        if self.fill.covers(p) {
            // A retransmission of this position goes first: the legs' copies
            // (if any came since) are the same packet.
            if let Some(i) = self.fill_at(store, p) {
                return Step::SendFill(i);
            }
        }
        let mode = self.rules.mode;
        let mut best: Option<usize> = None;
        let mut any = false;
        let mut best_age = 0;
        let mut oldest = 0;
        // Whether a leg holds copies but none at `p` (only then can its
        // first copy from `p` on be older than the ones at `p`).
        let mut elsewhere = false;
        for l in 0..self.rules.legs {
            let s = store.slots.get(&self.region, l, p);
            if s.is_empty() {
                elsewhere |= self.leg[l].held > 0;
                continue;
            }
            let age = store.clock.age(now, s.stamp());
            oldest = oldest.max(age);
            any = true;
            if s.is_good() {
                match mode {
                    Mode::Primary => {
                        if best.is_none() {
                            best = Some(l);
                        }
                    }
                    Mode::Hitless => {
                        if best.is_none() || age > best_age {
                            best = Some(l);
                            best_age = age;
                        }
                    }
                }
            }
        }
        let first_at_p = now.saturating_sub(oldest);
        if let Some(b) = best {
            if forced || mode == Mode::Hitless {
                return Step::Send(b);
            }
            // Primary: the legs before `b` that may still deliver.
            let until = self.expected_by(store, p, 0..b, Some(first_at_p), now);
            if until == 0 {
                return Step::Send(b);
            }
            // The oldest first copy at or after `p` on any leg: `oldest`
            // unless a leg holds copies only beyond `p`.
            let first = if elsewhere {
                self.first_seen_from(store, p, now)
            } else {
                Some((p, oldest))
            };
            return match first {
                Some((_, age)) if age < self.limits.max_delay => {
                    let cap = now
                        .saturating_sub(age)
                        .saturating_add(self.limits.max_delay);
                    Step::Wait(until.min(cap))
                }
                _ => Step::Send(b),
            };
        }
        // Corrupt copies only: wait like a gap (an intact duplicate may
        // still come on some leg).
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
        if self.fill.covers(p) {
            // Asked for: wait for the retransmission until the deadline,
            // then skip what is still missing up to the next copy held.
            if now < self.fill.deadline {
                return Step::Wait(self.fill.deadline);
            }
            let mut to = self.fill.end;
            if let Some((q, _)) = self.first_seen_from(store, p, now) {
                if after(to, q) {
                    to = q;
                }
            }
            if let Some(q) = self.next_fill_after(store, p) {
                if after(to, q) {
                    to = q;
                }
            }
            if any || to == p {
                to = p.wrapping_add(1);
            }
            return Step::SkipTo(to);
        }
        if !any && self.in_boundary(p) && self.boundary_settled() {
            // Between two epochs and no leg can still fill it: skip at once
            // (silently). While a leg has not restarted yet, or has not yet
            // gone `margin` positions into the new epoch, its old tail or
            // the new epoch's first packets may still come: wait (at most
            // max_delay, then skip silently).
            let to = match self.first_seen_from(store, p, now) {
                Some((q, _)) if after(self.ep.epoch_start, q) => q,
                _ => self.ep.epoch_start,
            };
            return Step::SkipTo(to);
        }
        let Some((q, age)) = self.first_seen_from(store, p, now) else {
            return Step::Idle;
        };
        let to = if any { p.wrapping_add(1) } else { q };
        if age >= self.limits.max_delay {
            return if self.may_request(p) {
                Step::Request(to)
            } else {
                Step::SkipTo(to)
            };
        }
        let cap = now
            .saturating_sub(age)
            .saturating_add(self.limits.max_delay);
        if self.limits.reorder != Reorder::Auto || self.in_boundary(p) {
            return Step::Wait(cap);
        }
        // Missing on every leg so far: given up once every live leg has
        // moved past the run's last position by more than its depth + 1
        // (which implies every earlier one of the run). Only the position
        // rule: a leg that keeps its own order cannot be wrong about it,
        // whatever the skew does, while a time bound could be.
        let at = if any { p } else { q.wrapping_sub(1) };
        match self.expected_by(store, at, 0..self.rules.legs, None, now) {
            0 if self.may_request(p) => Step::Request(to),
            0 => Step::GiveUp(to),
            until => Step::Wait(until.min(cap)),
        }
    }

    /// The latest time any leg of `legs` without a copy at `p` may still
    /// deliver it (`u64::MAX` for one without evidence, 0 if all are known
    /// missing).
    #[inline]
    fn expected_by<H>(
        &self,
        store: &Store<H>,
        p: u64,
        legs: std::ops::Range<usize>,
        t_ref: Option<u64>,
        now: u64,
    ) -> u64 {
        let mut until = 0;
        for l in legs {
            if !store.slots.get(&self.region, l, p).is_empty() {
                continue;
            }
            match self.expect(l, p, t_ref, now) {
                Expect::Missing => {}
                Expect::Until(t) => until = until.max(t),
                Expect::Cap => return u64::MAX,
            }
        }
        until
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
        let mut gap = GapRun::default();
        loop {
            self.close_fill_if_passed(store, now, sink);
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
                    self.flush_gap(&mut gap, now, sink);
                    self.send(store, l, now, sink);
                }
                Step::SkipTo(q) => {
                    // A forced skip never passes positions that are not due.
                    let q = match force_below {
                        Some(f) if forced && after(q, f) => f,
                        _ => q,
                    };
                    self.skip_to(store, q, (Passed::Skipped, now), &mut gap, sink);
                }
                Step::GiveUp(q) => {
                    self.skip_to(store, q, (Passed::GivenUp, now), &mut gap, sink);
                }
                Step::SendFill(i) => {
                    self.flush_gap(&mut gap, now, sink);
                    self.send_fill(store, i, now, sink);
                }
                Step::Request(q) => {
                    self.flush_gap(&mut gap, now, sink);
                    self.open_fill(q, now, sink);
                    return;
                }
                Step::Wait(t) => {
                    self.flush_gap(&mut gap, now, sink);
                    self.request(t);
                    return;
                }
                Step::Idle => {
                    self.flush_gap(&mut gap, now, sink);
                    return;
                }
            }
        }
    }

    fn flush_gap<H>(&mut self, gap: &mut GapRun, now: u64, sink: &mut impl Sink<H>) {
        if gap.count > 0 {
            let line = GapLine {
                first: gap.first,
                count: gap.count,
                wire: self.wire_seq(gap.first),
                how: gap.how,
                waited: match gap.how {
                    GapHow::TimedOut => now.saturating_sub(self.fill.asked),
                    _ => 0,
                },
            };
            self.books.gap(sink, self.index, now, line);
            gap.count = 0;
        }
    }

    /// Passes over positions `cursor..q` without sending: frees their
    /// copies (corrupt only, or pushed out), counts the unrecoverable ones.
    fn skip_to<H>(
        &mut self,
        store: &mut Store<H>,
        q: u64,
        (how, now): (Passed, u64),
        gap: &mut GapRun,
        sink: &mut impl Sink<H>,
    ) {
        let n = q.wrapping_sub(self.cursor);
        let visit = n.min(self.rules.cap);
        let run_how = if self.fill.covers(self.cursor) {
            GapHow::TimedOut
        } else {
            GapHow::Lost
        };
        if gap.count > 0 && gap.how != run_how {
            self.flush_gap(gap, now, sink);
        }
        for k in 0..visit {
            let p = self.cursor.wrapping_add(k);
            store.slots.set_passed(&self.region, p, how);
            self.free_position(store, p, sink);
            if self.fill.covers(p) {
                // Retransmissions are only held inside the open range.
                self.fill.skipped += 1;
                self.free_fill_at(store, p, true, sink);
            }
        }
        // Unrecoverable: every skipped position outside an epoch boundary.
        let mut counted = n;
        let (lo, start) = (self.ep.boundary_lo, self.ep.epoch_start);
        if lo != start {
            let lo = lo.wrapping_sub(self.cursor);
            let hi = start.wrapping_sub(self.cursor);
            // Overlap of [0, n) with [lo, hi), all relative to the cursor.
            if (lo as i64) < n as i64 && (hi as i64) > 0 {
                let a = (lo as i64).max(0) as u64;
                let b = (hi as i64).min(n as i64) as u64;
                counted -= b - a;
            }
        }
        if counted > 0 {
            if gap.count == 0 {
                gap.first = self.cursor;
                gap.how = run_how;
            }
            gap.count += counted;
            self.books.unrecoverable(counted);
        }
        self.cursor = q;
    }

    /// Frees every copy held at `p` (the cursor is leaving it unsent).
    #[inline]
    pub(super) fn free_position<H>(
        &mut self,
        store: &mut Store<H>,
        p: u64,
        sink: &mut impl Sink<H>,
    ) {
        for l in 0..self.rules.legs {
            if self.leg[l].held == 0 {
                continue;
            }
            if let Some(t) = store.slots.take(&self.region, l, p) {
                self.held -= 1;
                self.leg[l].held -= 1;
                let why = if t.verdict == Verdict::Good {
                    self.books.duplicate_messages(t.span);
                    FreeReason::Duplicate
                } else {
                    FreeReason::Corrupt
                };
                self.books.free(sink, l, t.handle, why);
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
        let info = SendInfo {
            leg,
            ext_seq: p,
            rx_time: store.clock.time(now, t.stamp),
            epoch: self.epoch_of(p),
            span: t.span.max(1),
        };
        if self.rules.messages {
            self.send_messages(store, info, t.handle, now, sink);
            return;
        }
        if self.held > 0 {
            self.compare_held(store, p, t.digest);
            self.free_position(store, p, sink);
        }
        self.cursor = p.wrapping_add(1);
        self.emit(store, p, (t.handle, t.digest), info, now, sink);
        self.note_end_sent(p);
        if t.span > 1 {
            // MoldUDP64: the packet covers `span` sequence numbers.
            let extra = u64::from(t.span) - 1;
            for k in 0..extra.min(self.rules.cap) {
                let q = self.cursor.wrapping_add(k);
                store.slots.set_passed(&self.region, q, Passed::Skipped);
                if self.held > 0 {
                    self.free_position(store, q, sink);
                    if self.fill.open {
                        self.free_fill_at(store, q, false, sink);
                    }
                }
            }
            self.cursor = self.cursor.wrapping_add(extra);
        }
    }

    /// After the copy at `p` went out: if it was the End of Session, the
    /// stream idles until a new source.
    #[inline]
    pub(super) fn note_end_sent(&mut self, p: u64) {
        if self.ep.end_at == Some(p) {
            self.ep.ended = true;
            self.live = false;
        }
    }

    /// Shutdown: send what can be sent in order, free everything else.
    pub(in crate::merge) fn drain<H>(
        &mut self,
        store: &mut Store<H>,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        // Message-level arbitration may carry a held copy's unsent tail
        // to the cursor past `high` as it sends (`pass_over`): go again
        // until nothing is held. Each round moves the cursor past the
        // `high` it started from, and a carry only ever shortens a copy,
        // so the rounds end.
        while self.held > 0 {
            let before = self.cursor;
            let end = self.high.wrapping_add(1);
            self.advance(store, now, Some(end), sink);
            if self.cursor == before {
                break;
            }
        }
        for l in 0..self.rules.legs {
            self.drop_candidate(store, l, sink);
        }
        self.close_fill_if_passed(store, now, sink);
        self.drop_fills(store, sink);
        self.wake = super::NEVER;
    }
}
