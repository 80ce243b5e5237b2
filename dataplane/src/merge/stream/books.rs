//! The stream's books: the one place every counter changes and every handle
//! leaves the engine (sent or freed).
//!
//! Why one path: the fast path (next packet, copy behind the cursor) and the
//! slow path used to count separately and drifted apart once (a counter
//! bug). Every send, free and counter update of a stream goes through
//! [`Books`], so "every handle handed in is counted in `received` and in
//! exactly one of the outcomes" holds by construction.

use super::super::counters::StreamCounters;
use super::super::output::{Event, EventKind, FreeReason, GapHow, SendInfo, Sink};
use super::lines;
use crate::merge::MAX_LEGS;
use crate::slots::Verdict;

/// The counters of one leg that a clean copy bumps (`good`, then `used`
/// or `duplicates`): 24 bytes.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
struct LegHot {
    good: u64,
    used: u64,
    duplicates: u64,
}

/// Counters of one stream and the calls that change them.
///
/// Layout (`repr(C)`, line-aligned): the counters every clean copy bumps
/// (the stream's `messages_sent` and `messages_duplicate`, each leg's
/// [`LegHot`]) first, in one line for a two-leg stream, apart from the
/// rest (`rest`, whose copies of those fields stay 0). With thousands of
/// streams each copy meets counters in no cache; in the board's
/// [`StreamCounters`] order the same fields were spread over four lines.
/// Two counters are not kept but follow from others: a leg's `received`
/// is its `good + corrupt + heartbeats + invalid` (a copy handed in is
/// judged good or corrupt, or freed as a heartbeat or invalid without a
/// verdict, see `place_slow`), and the stream's `sent` is its legs' `used`
/// plus `fill_sent` (the only two sends). [`Books::counters`] puts them
/// all back together for readers.
#[derive(Debug, Default)]
#[repr(C, align(64))]
pub(in crate::merge) struct Books {
    messages_sent: u64,
    messages_duplicate: u64,
    legs: [LegHot; MAX_LEGS],
    /// Every other counter.
    rest: StreamCounters,
}

impl Books {
    /// Everything counted so far (what `Engine::counters` reads).
    pub fn counters(&self) -> StreamCounters {
        let mut c = self.rest;
        c.messages_sent = self.messages_sent;
        c.messages_duplicate = self.messages_duplicate;
        c.sent = c.fill_sent;
        for (l, h) in c.legs.iter_mut().zip(&self.legs) {
            l.good = h.good;
            l.used = h.used;
            l.duplicates = h.duplicates;
            l.received = l.good + l.corrupt + l.heartbeats + l.invalid;
            c.sent += l.used;
        }
        c
    }

    /// Good data copies handed in on `leg` so far.
    #[inline]
    pub fn good(&self, leg: usize) -> u64 {
        self.legs[leg].good
    }

    /// Hands `fetch` the lines a copy on `leg` bumps (the stream's line and
    /// the leg's; nothing for a leg the stream cannot have).
    #[inline(always)]
    pub fn hot_lines(&self, leg: usize, fetch: &mut impl FnMut(*const u8)) {
        fetch((self as *const Self).cast());
        if let Some(h) = self.legs.get(leg) {
            lines(fetch, (h as *const LegHot).cast(), size_of::<LegHot>());
        }
    }

    /// The byte ranges (from the start of [`Books`]) that a clean copy on
    /// `leg` bumps, for the layout test.
    #[cfg(test)]
    pub fn hot_ranges(leg: usize) -> [std::ops::Range<usize>; 2] {
        let leg_at = std::mem::offset_of!(Books, legs) + leg * size_of::<LegHot>();
        [
            0..std::mem::offset_of!(Books, legs),
            leg_at..leg_at + size_of::<LegHot>(),
        ]
    }

    /// A good data copy handed in on `leg` (the fast paths: `judged` with
    /// a good verdict; `received` follows from it).
    #[inline(always)]
    pub fn took_good(&mut self, leg: usize) {
        self.legs[leg].good += 1;
    }

    /// The receive checks' verdict on a data copy of `leg`.
    #[inline(always)]
    pub fn judged(&mut self, leg: usize, verdict: Verdict) {
        match verdict {
            Verdict::Good => self.legs[leg].good += 1,
            Verdict::Corrupt => self.rest.legs[leg].corrupt += 1,
        }
    }

    /// `leg` delivered a position lower than one it delivered before.
    #[inline]
    pub fn out_of_order(&mut self, leg: usize) {
        self.rest.legs[leg].out_of_order += 1;
    }

    /// Sends `handle` (leg `info.leg`'s copy) as the next packet of
    /// `stream`; `preferred` tells whether that leg was the preferred one.
    #[inline(always)]
    pub fn send<H>(
        &mut self,
        sink: &mut impl Sink<H>,
        stream: usize,
        handle: H,
        info: SendInfo,
        preferred: bool,
    ) {
        self.messages_sent += u64::from(info.span);
        self.legs[info.leg].used += 1;
        if !preferred {
            self.rest.substituted += 1;
        }
        sink.send(stream, handle, info);
    }

    /// Gives back a copy of `leg` that is not sent, counted by `why`.
    #[inline(always)]
    pub fn free<H>(&mut self, sink: &mut impl Sink<H>, leg: usize, handle: H, why: FreeReason) {
        let c = &mut self.rest.legs[leg];
        match why {
            FreeReason::Duplicate => self.legs[leg].duplicates += 1,
            FreeReason::Late => c.late += 1,
            FreeReason::Corrupt => c.corrupt_dropped += 1,
            FreeReason::Wild => c.wild += 1,
            FreeReason::Stale => c.stale += 1,
            FreeReason::Heartbeat => c.heartbeats += 1,
            FreeReason::Invalid => c.invalid += 1,
            FreeReason::PoolLow => c.shed_pool_low += 1,
        }
        sink.free(handle, why);
    }

    /// `n` messages of good copies were not sent because they already had
    /// been (a duplicate copy, or the prefix message-level arbitration
    /// trimmed off an overlapping one).
    #[inline(always)]
    pub fn duplicate_messages(&mut self, n: u16) {
        self.messages_duplicate += u64::from(n);
    }

    /// A good copy arrived for a position given up on evidence before
    /// `max_delay`: the loss a too-young estimate caused.
    #[inline]
    pub fn lost_early(&mut self) {
        self.rest.lost_early += 1;
    }

    /// A good copy's payload differs from the copy sent at its position.
    #[inline]
    pub fn payload_mismatch(&mut self) {
        self.rest.payload_mismatch += 1;
    }

    /// `n` positions passed without a copy to send.
    #[inline]
    pub fn unrecoverable(&mut self, n: u64) {
        self.rest.unrecoverable += n;
    }

    /// The end of a run of missing positions: one `Gap` event saying how
    /// it was resolved (the unrecoverable ones also count in `gaps`).
    #[inline]
    pub fn gap<H>(&mut self, sink: &mut impl Sink<H>, stream: usize, time: u64, gap: GapLine) {
        if gap.how != GapHow::Filled {
            self.rest.gaps += 1;
        }
        sink.event(
            stream,
            Event {
                time,
                kind: EventKind::Gap {
                    first_seq: gap.first,
                    count: gap.count,
                    wire_seq: gap.wire,
                    how: gap.how,
                    waited: gap.waited,
                },
            },
        );
    }

    /// A range missing on every leg is asked for (one `FillRequest`).
    #[inline]
    pub fn fill_requested<H>(
        &mut self,
        sink: &mut impl Sink<H>,
        stream: usize,
        time: u64,
        range: GapLine,
    ) {
        self.rest.fill_requested += 1;
        sink.event(
            stream,
            Event {
                time,
                kind: EventKind::FillRequest {
                    first_seq: range.first,
                    count: range.count,
                    wire_seq: range.wire,
                },
            },
        );
    }

    /// A requested range ended: completely filled or not.
    #[inline]
    pub fn fill_closed(&mut self, complete: bool) {
        if complete {
            self.rest.filled += 1;
        } else {
            self.rest.fill_timed_out += 1;
        }
    }

    /// Sends a retransmitted copy in its place (no leg's copy: counted
    /// `sent` and `fill_sent`, never on a leg).
    #[inline]
    pub fn send_fill<H>(
        &mut self,
        sink: &mut impl Sink<H>,
        stream: usize,
        handle: H,
        info: SendInfo,
    ) {
        self.messages_sent += u64::from(info.span);
        self.rest.fill_sent += 1;
        sink.send(stream, handle, info);
    }

    /// Gives back a retransmitted copy that is not sent: `late` (its range
    /// was given up or sent already) or stray (anything else).
    #[inline]
    pub fn free_fill<H>(&mut self, sink: &mut impl Sink<H>, handle: H, late: bool) {
        if late {
            self.rest.late_fill += 1;
            sink.free(handle, FreeReason::Late);
        } else {
            self.rest.fill_stray += 1;
            sink.free(handle, FreeReason::Duplicate);
        }
    }

    /// The preferred leg changed.
    #[inline]
    pub fn switched(&mut self) {
        self.rest.switches += 1;
    }

    /// A source restart was confirmed.
    #[inline]
    pub fn restarted(&mut self) {
        self.rest.restarts += 1;
    }

    /// A copy beyond the window pushed it forward.
    #[inline]
    pub fn overrun(&mut self) {
        self.rest.overruns += 1;
    }
}

/// A run of positions for a `Gap` or `FillRequest` event.
#[derive(Clone, Copy, Debug)]
pub(in crate::merge) struct GapLine {
    /// First position.
    pub first: u64,
    /// How many.
    pub count: u64,
    /// The first one's wire sequence number.
    pub wire: u64,
    /// How it ended (`Lost` for a request).
    pub how: GapHow,
    /// Ticks since the request (0 if none).
    pub waited: u64,
}
