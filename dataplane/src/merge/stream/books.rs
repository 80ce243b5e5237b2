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
use crate::slots::Verdict;

/// Counters of one stream and the calls that change them.
#[derive(Debug, Default)]
pub(in crate::merge) struct Books {
    /// Everything counted so far (read by `Engine::counters`).
    pub counters: StreamCounters,
}

impl Books {
    /// A data copy or heartbeat handed in on `leg`.
    #[inline(always)]
    pub fn received(&mut self, leg: usize) {
        self.counters.legs[leg].received += 1;
    }

    /// A good data copy handed in on `leg` (the fast paths: `received` and
    /// `judged` in one step).
    #[inline(always)]
    pub fn took_good(&mut self, leg: usize) {
        let c = &mut self.counters.legs[leg];
        c.received += 1;
        c.good += 1;
    }

    /// The receive checks' verdict on a data copy of `leg`.
    #[inline(always)]
    pub fn judged(&mut self, leg: usize, verdict: Verdict) {
        let c = &mut self.counters.legs[leg];
        match verdict {
            Verdict::Good => c.good += 1,
            Verdict::Corrupt => c.corrupt += 1,
        }
    }

    /// `leg` delivered a position lower than one it delivered before.
    #[inline]
    pub fn out_of_order(&mut self, leg: usize) {
        self.counters.legs[leg].out_of_order += 1;
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
        let c = &mut self.counters;
        c.sent += 1;
        c.messages_sent += u64::from(info.span);
        c.legs[info.leg].used += 1;
        if !preferred {
            c.substituted += 1;
        }
        sink.send(stream, handle, info);
    }

    /// Gives back a copy of `leg` that is not sent, counted by `why`.
    #[inline(always)]
    pub fn free<H>(&mut self, sink: &mut impl Sink<H>, leg: usize, handle: H, why: FreeReason) {
        let c = &mut self.counters.legs[leg];
        match why {
            FreeReason::Duplicate => c.duplicates += 1,
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
        self.counters.messages_duplicate += u64::from(n);
    }

    /// A good copy arrived for a position given up on evidence before
    /// `max_delay`: the loss a too-young estimate caused.
    #[inline]
    pub fn lost_early(&mut self) {
        self.counters.lost_early += 1;
    }

    /// A good copy's payload differs from the copy sent at its position.
    #[inline]
    pub fn payload_mismatch(&mut self) {
        self.counters.payload_mismatch += 1;
    }

    /// `n` positions passed without a copy to send.
    #[inline]
    pub fn unrecoverable(&mut self, n: u64) {
        self.counters.unrecoverable += n;
    }

    /// The end of a run of missing positions: one `Gap` event saying how
    /// it was resolved (the unrecoverable ones also count in `gaps`).
    #[inline]
    pub fn gap<H>(&mut self, sink: &mut impl Sink<H>, stream: usize, time: u64, gap: GapLine) {
        if gap.how != GapHow::Filled {
            self.counters.gaps += 1;
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
        self.counters.fill_requested += 1;
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
            self.counters.filled += 1;
        } else {
            self.counters.fill_timed_out += 1;
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
        self.counters.sent += 1;
        self.counters.messages_sent += u64::from(info.span);
        self.counters.fill_sent += 1;
        sink.send(stream, handle, info);
    }

    /// Gives back a retransmitted copy that is not sent: `late` (its range
    /// was given up or sent already) or stray (anything else).
    #[inline]
    pub fn free_fill<H>(&mut self, sink: &mut impl Sink<H>, handle: H, late: bool) {
        if late {
            self.counters.late_fill += 1;
            sink.free(handle, FreeReason::Late);
        } else {
            self.counters.fill_stray += 1;
            sink.free(handle, FreeReason::Duplicate);
        }
    }

    /// The preferred leg changed.
    #[inline]
    pub fn switched(&mut self) {
        self.counters.switches += 1;
    }

    /// A source restart was confirmed.
    #[inline]
    pub fn restarted(&mut self) {
        self.counters.restarts += 1;
    }

    /// A copy beyond the window pushed it forward.
    #[inline]
    pub fn overrun(&mut self) {
        self.counters.overruns += 1;
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
