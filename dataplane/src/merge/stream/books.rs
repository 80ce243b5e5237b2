//! The stream's books: the one place every counter changes and every handle
//! leaves the engine (sent or freed).
//!
//! Why one path: the fast path (next packet, copy behind the cursor) and the
//! slow path used to count separately and drifted apart once (a counter
//! bug). Every send, free and counter update of a stream goes through
//! [`Books`], so "every handle handed in is counted in `received` and in
//! exactly one of the outcomes" holds by construction.

use super::super::counters::StreamCounters;
use super::super::output::{Event, EventKind, FreeReason, SendInfo, Sink};
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
        }
        sink.free(handle, why);
    }

    /// A good copy arrived for a position given up on evidence before
    /// `max_delay`: the loss a too-young estimate caused.
    #[inline]
    pub fn lost_early(&mut self) {
        self.counters.lost_early += 1;
    }

    /// `n` positions passed without a copy to send.
    #[inline]
    pub fn unrecoverable(&mut self, n: u64) {
        self.counters.unrecoverable += n;
    }

    /// The end of a run of unrecoverable positions: one `Gap` event.
    #[inline]
    pub fn gap<H>(
        &mut self,
        sink: &mut impl Sink<H>,
        stream: usize,
        time: u64,
        first_seq: u64,
        count: u64,
    ) {
        self.counters.gaps += 1;
        sink.event(
            stream,
            Event {
                time,
                kind: EventKind::Gap { first_seq, count },
            },
        );
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
