//! Gap fill by re-request: the range at the cursor that is missing on every
//! leg is asked for once, held for at most `fill_timeout`, and the
//! retransmitted copies are put in their place.
//!
//! The state machine per stream (at most one open range, always the one at
//! the cursor, so the output stays in order and a range is never asked
//! twice):
//!
//! ```text
//! Closed --(the cursor's gap would be skipped)--> Open{first, end, deadline}
//!   (FillRequest event, `fill_requested`)
//! Open --(every position of the range sent)--> Closed (`filled`, Gap Filled)
//! Open --(deadline passed / window forced on)--> the rest skipped ->
//!   Closed (`fill_timed_out`, Gap TimedOut lines for what was skipped)
//! ```
//!
//! A retransmitted copy is accepted only inside the open range and at or
//! after the cursor; one behind the cursor is `late_fill`, anything else
//! `fill_stray`. Accepted copies wait in the stream's [`FILL_SLOTS`]
//! entries of `Store::fills` (counted in `held`, so every path that moves
//! the cursor sees them) until the cursor reaches them.

use super::books::GapLine;
use super::{after, Store, StreamState};
use crate::merge::config::MergeConfig;
use crate::merge::output::{GapHow, SendInfo, Sink};
use crate::seq::{extend, SeqSample};
use crate::slots::{Packet, Passed};

/// Retransmitted packets one stream can hold while the cursor waits for
/// them (a request's range spans at most this many packets; more are
/// counted `fill_stray` and the range times out).
pub const FILL_SLOTS: usize = 256;

/// Entries of `Store::fills` a stream with this configuration takes.
pub fn slots_for(c: &MergeConfig) -> usize {
    if c.fill_timeout > 0 {
        FILL_SLOTS
    } else {
        0
    }
}

/// The range asked for, while open.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FillRange {
    pub open: bool,
    pub first: u64,
    pub end: u64,
    pub deadline: u64,
    /// When it was asked for.
    pub asked: u64,
    /// Positions of the range skipped (not retransmitted in time).
    pub skipped: u64,
}

impl FillRange {
    /// Whether `p` is in the open range.
    #[inline]
    pub fn covers(&self, p: u64) -> bool {
        self.open && !after(self.first, p) && after(self.end, p)
    }
}

impl StreamState {
    /// Whether the gap at the cursor `p` may be asked for instead of being
    /// skipped (gap fill on, not between two epochs).
    #[inline]
    pub(super) fn may_request(&self, p: u64) -> bool {
        self.limits.fill_timeout > 0 && !self.in_boundary(p) && !self.fill.open
    }

    /// The wire sequence number of position `p` (its epoch's offset
    /// removed; extended for short formats).
    pub(super) fn wire_seq(&self, p: u64) -> u64 {
        match self.ep.prev {
            Some(pe) if after(self.ep.epoch_start, p) => p.wrapping_sub(pe.offset),
            _ => p.wrapping_sub(self.ep.cur.offset),
        }
    }

    /// Opens the range `cursor..end` and reports the request.
    pub(super) fn open_fill<H>(&mut self, end: u64, now: u64, sink: &mut impl Sink<H>) {
        let first = self.cursor;
        let deadline = now.saturating_add(self.limits.fill_timeout);
        self.fill = FillRange {
            open: true,
            first,
            end,
            deadline,
            asked: now,
            skipped: 0,
        };
        let line = GapLine {
            first,
            count: end.wrapping_sub(first),
            wire: self.wire_seq(first),
            how: GapHow::Lost,
            waited: 0,
        };
        self.books.fill_requested(sink, self.index, now, line);
        self.request(deadline);
    }

    /// Closes the open range once the cursor has left it: `filled` with
    /// one `Gap` (Filled) line if nothing of it was skipped, else
    /// `fill_timed_out` (the skipped runs were reported as they went).
    pub(super) fn close_fill_if_passed<H>(
        &mut self,
        store: &mut Store<H>,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let f = self.fill;
        if !f.open || after(f.end, self.cursor) {
            return;
        }
        // Whatever retransmission is still held lies behind the cursor now.
        for i in 0..self.fill_slots {
            if let Some((_, c)) = self.fill_entries(store)[i].take() {
                self.held -= 1;
                self.books.free_fill(sink, c.handle, true);
            }
        }
        self.fill.open = false;
        let complete = f.skipped == 0;
        self.books.fill_closed(complete);
        if complete {
            let line = GapLine {
                first: f.first,
                count: f.end.wrapping_sub(f.first),
                wire: self.wire_seq(f.first),
                how: GapHow::Filled,
                waited: now.saturating_sub(f.asked),
            };
            self.books.gap(sink, self.index, now, line);
        }
    }

    /// The stream's fill entries.
    #[inline]
    fn fill_entries<'s, H>(&self, store: &'s mut Store<H>) -> &'s mut [super::Held<H>] {
        &mut store.fills[self.fill_base..self.fill_base + self.fill_slots]
    }

    /// Index of the retransmitted copy held for `p`, if any.
    pub(super) fn fill_at<H>(&self, store: &Store<H>, p: u64) -> Option<usize> {
        if !self.fill.open {
            return None;
        }
        store.fills[self.fill_base..self.fill_base + self.fill_slots]
            .iter()
            .position(|e| matches!(e, Some((q, _)) if *q == p))
    }

    /// Lowest position after `p` with a retransmitted copy held (so a skip
    /// inside the range stops there).
    pub(super) fn next_fill_after<H>(&self, store: &Store<H>, p: u64) -> Option<u64> {
        if !self.fill.open {
            return None;
        }
        store.fills[self.fill_base..self.fill_base + self.fill_slots]
            .iter()
            .filter_map(|e| e.as_ref().map(|(q, _)| *q))
            .filter(|&q| after(q, p))
            .min_by_key(|&q| q.wrapping_sub(p))
    }

    /// Frees the retransmitted copy held for `p` (the cursor passes it
    /// without sending it: a leg's copy went, or its position was skipped).
    pub(super) fn free_fill_at<H>(
        &mut self,
        store: &mut Store<H>,
        p: u64,
        late: bool,
        sink: &mut impl Sink<H>,
    ) {
        if let Some(i) = self.fill_at(store, p) {
            if let Some((_, c)) = self.fill_entries(store)[i].take() {
                self.held -= 1;
                self.books.free_fill(sink, c.handle, late);
            }
        }
    }

    /// Sends the retransmitted copy at entry `i` (at the cursor) in place.
    pub(super) fn send_fill<H>(
        &mut self,
        store: &mut Store<H>,
        i: usize,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let Some((p, t)) = self.fill_entries(store)[i].take() else {
            return;
        };
        self.held -= 1;
        if self.held > 0 && !self.rules.messages {
            self.free_position(store, p, sink);
        }
        self.cursor = p.wrapping_add(1);
        if self.rotates_at(p) {
            self.rotate(p, now, sink);
        }
        store.slots.set_passed(&self.region, p, Passed::Sent);
        let info = SendInfo {
            leg: self.preferred().unwrap_or(0),
            ext_seq: p,
            rx_time: store.clock.time(now, t.stamp),
            epoch: self.epoch_of(p),
            span: t.span.max(1),
        };
        self.books.send_fill(sink, self.index, t.handle, info);
        if self.rules.messages {
            // As `send_messages` passes over the messages a copy covers.
            let end = p.wrapping_add(u64::from(info.span));
            self.cursor = end;
            let visit = u64::from(info.span).min(self.rules.cap);
            self.pass_over(store, (p, end, visit), sink);
            return;
        }
        // The copy covers `span` sequence numbers (MoldUDP64 count).
        let extra = u64::from(t.span.max(1)) - 1;
        for k in 0..extra.min(self.rules.cap) {
            let q = self.cursor.wrapping_add(k);
            store.slots.set_passed(&self.region, q, Passed::Sent);
            if self.held > 0 {
                self.free_position(store, q, sink);
                self.free_fill_at(store, q, false, sink);
            }
        }
        self.cursor = self.cursor.wrapping_add(extra);
    }

    /// Takes one retransmitted copy (a MoldUDP64 packet from the request
    /// server): held for its place in the open range, or freed.
    pub(in crate::merge) fn take_fill<H>(
        &mut self,
        store: &mut Store<H>,
        sample: SeqSample,
        copy: Packet<H>,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let cur = self.ep.cur;
        if sample.bits != self.rules.bits
            || sample.heartbeat
            || !self.ep.started
            || sample.source != cur.source
        {
            self.books.free_fill(sink, copy.handle, false);
            return;
        }
        let raw = extend(sample.value, self.rules.bits, cur.raw_high);
        let mut pos = raw.wrapping_add(cur.offset);
        let mut copy = copy;
        if after(self.cursor, pos)
            && self.fill.covers(self.cursor)
            && self.straddles(pos, copy.span)
        {
            // Message-level arbitration asks for messages, and the server
            // answers with its own packets: one that begins with messages
            // already sent is cut to the rest, as a leg's copy would be.
            pos = self.trim_to_cursor(store, pos, &mut copy);
        }
        let span = u64::from(copy.span.max(1));
        if after(self.cursor, pos) {
            // Behind the cursor: its range was given up (or a leg's copy
            // went out): never sent out of order.
            let late = pos.wrapping_sub(self.cursor) as i64 >= -(self.rules.cap as i64);
            self.books.free_fill(sink, copy.handle, late);
            return;
        }
        let last = pos.wrapping_add(span - 1);
        let occupied =
            (0..self.rules.legs).any(|l| !store.slots.get(&self.region, l, pos).is_empty());
        // Packet by packet a retransmission lies inside the range; by
        // messages its tail may reach past it (sending it passes over the
        // legs' copies there, as any copy's does).
        if !self.fill.covers(pos)
            || !(self.rules.messages || self.fill.covers(last))
            || occupied
            || self.fill_at(store, pos).is_some()
        {
            self.books.free_fill(sink, copy.handle, false);
            return;
        }
        copy.stamp = store.clock.stamp(now);
        let entries = self.fill_entries(store);
        match entries.iter().position(Option::is_none) {
            Some(i) => {
                entries[i] = Some((pos, copy));
                self.held += 1;
            }
            None => {
                self.books.free_fill(sink, copy.handle, false);
                return;
            }
        }
        if pos == self.cursor {
            self.advance(store, now, None, sink);
        }
    }

    /// Shutdown: frees whatever retransmitted copy is still held.
    pub(super) fn drop_fills<H>(&mut self, store: &mut Store<H>, sink: &mut impl Sink<H>) {
        for i in 0..self.fill_slots {
            if let Some((_, c)) = self.fill_entries(store)[i].take() {
                self.held -= 1;
                self.books.free_fill(sink, c.handle, true);
            }
        }
        self.fill.open = false;
    }
}
