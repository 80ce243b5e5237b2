//! The engine: many streams, their slot tables and one deadline wheel.

use super::config::MergeConfig;
use super::counters::StreamCounters;
use super::output::{FreeReason, Sink};
use super::stream::{fill_slots_for, EvidenceFigures, ShedPass, Store, StreamState};
use super::wheel::{TimerWheel, NEVER};
use crate::seq::SeqSample;
use crate::slots::{Checked, Digest, Packet, SlotClock, SlotTable, Verdict};

/// The merge of every stream handled by one lcore.
///
/// Why this shape: `insert` sends at once whatever a copy makes ready (in
/// primary mode with healthy legs, packet n leaves the moment the primary's
/// copy arrives), so there is no per-poll scan of streams; `poll` only fires
/// the deadlines that are due (gaps turning overdue, legs falling silent).
/// All memory is allocated by [`Engine::new`]; nothing per packet.
pub struct Engine<H> {
    streams: Vec<StreamState>,
    store: Store<H>,
    wheel: TimerWheel,
    due: Vec<u32>,
    slot_bytes: Vec<usize>,
}

impl<H> Engine<H> {
    /// Allocates the state of every stream; `configs[i]` is stream `i`.
    pub fn new(configs: &[MergeConfig]) -> Result<Self, String> {
        if configs.len() >= u32::MAX as usize {
            return Err(format!("{} streams is too many", configs.len()));
        }
        for (i, c) in configs.iter().enumerate() {
            c.validate().map_err(|e| format!("stream {i}: {e}"))?;
        }
        let shapes: Vec<(usize, usize)> = configs.iter().map(|c| (c.legs, c.capacity)).collect();
        let (slots, regions) = SlotTable::new(&shapes)?;
        let mut held_total = 0usize;
        let mut fill_total = 0usize;
        let mut streams = Vec::with_capacity(configs.len());
        for (i, c) in configs.iter().enumerate() {
            streams.push(StreamState::new(i, c, regions[i], (held_total, fill_total)));
            held_total += c.legs * c.restart_after as usize;
            fill_total += fill_slots_for(c);
        }
        let mut held = Vec::with_capacity(held_total);
        held.resize_with(held_total, || None);
        let mut fills = Vec::with_capacity(fill_total);
        fills.resize_with(fill_total, || None);
        // The slot clock must tell ages of held copies apart: a few
        // max_delays in the rings, up to 4 x max(leg_timeout, max_delay)
        // for restart candidates.
        let horizon = configs
            .iter()
            .map(|c| {
                (c.max_delay + c.fill_timeout)
                    .max(c.leg_timeout)
                    .saturating_mul(8)
            })
            .max()
            .unwrap_or(1)
            .max(1);
        // Wheel: 1/16 to 1/32 of the shortest delay per bucket (firing is exact
        // regardless), one revolution covering the longest one.
        let shortest = configs
            .iter()
            .flat_map(|c| [c.max_delay, c.leg_timeout])
            .filter(|&t| t > 0)
            .min()
            .unwrap_or(64);
        // (A power of two, so the wheel shifts instead of dividing.)
        let granularity = 1u64 << (shortest / 16).max(1).ilog2();
        let longest = configs
            .iter()
            .map(|c| (c.max_delay + c.fill_timeout).max(c.leg_timeout))
            .max()
            .unwrap_or(0);
        let buckets = ((longest / granularity).saturating_add(2)).clamp(16, 1 << 16) as usize;
        let slot_bytes = configs
            .iter()
            .map(|c| SlotTable::<H>::bytes_for(c.legs, c.capacity))
            .collect();
        Ok(Self {
            wheel: TimerWheel::new(configs.len(), granularity, buckets),
            due: Vec::with_capacity(configs.len()),
            streams,
            store: Store {
                slots,
                held,
                fills,
                clock: SlotClock::for_horizon(horizon),
            },
            slot_bytes,
        })
    }

    /// Number of streams.
    pub fn streams(&self) -> usize {
        self.streams.len()
    }

    /// Hands in one copy of a packet received on leg `leg` of stream
    /// `stream` (the pair says where it came from) at `now`, with what the
    /// receive side found (a [`Verdict`], or [`Checked`] with the payload's
    /// digest). Sends and frees through `sink` whatever this makes ready;
    /// never panics (bad indices free the handle as `Invalid`).
    #[inline(always)]
    pub fn insert(
        &mut self,
        (stream, leg): (usize, usize),
        sample: SeqSample,
        checked: impl Into<Checked>,
        handle: H,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let Some(st) = self.streams.get_mut(stream) else {
            sink.free(handle, FreeReason::Invalid);
            return;
        };
        if leg >= st.legs() {
            st.invalid_leg(handle, sink);
            return;
        }
        // The span is made at least 1 by the slow path (the fast paths
        // take only single-position copies).
        let copy = Packet::arriving(handle, sample.span, checked.into());
        // Only the slow path asks for a deadline: the fast paths skip the
        // wheel altogether.
        if st.insert(&mut self.store, sample, (leg, now), copy, sink) {
            arm_wake(&mut self.wheel, stream, &mut st.wake);
        }
    }

    /// Hands `fetch` the addresses of the state lines a copy on `leg` of
    /// `stream` meets first in [`Engine::insert`] (nothing for bad
    /// indices). Reads only the stream table, not the stream's state.
    ///
    /// Why: with thousands of streams each copy meets a stream whose state
    /// is in no cache, and `insert` stalls on one miss after another. The
    /// rx stage judges a whole burst before merging it and passes each
    /// copy's addresses to a prefetch hint (`fetch`: the engine only gives
    /// addresses, it never reads through them for this), so a burst's
    /// misses overlap. Then [`Engine::prefetch_slots`].
    #[inline(always)]
    pub fn prefetch_state(&self, stream: usize, leg: usize, mut fetch: impl FnMut(*const u8)) {
        if let Some(st) = self.streams.get(stream) {
            st.hot_lines(leg, &mut fetch);
        }
    }

    /// The second stage of [`Engine::prefetch_state`]: the slot lines a
    /// copy of `sample` on `leg` of `stream` meets. Reads the stream's
    /// state (its epoch gives the position), so call it a little after
    /// that state was prefetched, e.g. one copy ahead of the merge.
    #[inline(always)]
    pub fn prefetch_slots(
        &self,
        (stream, leg): (usize, usize),
        sample: &SeqSample,
        mut fetch: impl FnMut(*const u8),
    ) {
        if let Some(st) = self.streams.get(stream) {
            if leg < st.legs() {
                st.slot_lines(&self.store, (leg, sample), &mut fetch);
            }
        }
    }

    /// Hands in a retransmitted packet of `stream` (gap fill: a MoldUDP64
    /// packet from the request server, already judged intact) at `now`.
    /// It is held for its place in the stream's open requested range and
    /// sent there; one behind the cursor is freed as `late_fill`, anything
    /// else (no range asked, beyond it, another session) as `fill_stray`.
    /// Never panics; never sends out of order.
    pub fn fill(
        &mut self,
        stream: usize,
        sample: SeqSample,
        handle: H,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let Some(st) = self.streams.get_mut(stream) else {
            sink.free(handle, FreeReason::Invalid);
            return;
        };
        let copy = Packet::arriving(handle, sample.span.max(1), Verdict::Good.into());
        st.take_fill(&mut self.store, sample, copy, now, sink);
        arm_wake(&mut self.wheel, stream, &mut st.wake);
    }

    /// Whether a copy of `sample` on `leg` may still be sent. False only
    /// when it cannot be, whatever its integrity: it is behind the output
    /// cursor (its position was sent or given up) on a healthy leg of the
    /// current epoch. Such a copy need not be verified: handed in as
    /// [`Verdict::Good`] it is freed and counted as a duplicate (or a late
    /// copy) and refreshes its leg, like any intact copy there; handed in
    /// as corrupt it is freed too. Why: on a clean pair half the copies are
    /// duplicates, and the UDP checksum over each was most of the rx cost.
    #[inline(always)]
    pub fn wants(&self, stream: usize, leg: usize, sample: &SeqSample) -> bool {
        self.sent_before(stream, leg, sample).is_none()
    }

    /// For a copy [`Engine::wants`] does not want (`None` if it does): the
    /// [`Digest`] of the copy sent at its position ([`Digest::NONE`] if
    /// none is known). Why: such a copy is handed in unverified, and one
    /// whose digest disagrees would count `payload_mismatch`; verifying
    /// just those (rare) copies first keeps a copy damaged in transit
    /// (its checksum field) from counting as one.
    #[inline(always)]
    pub fn sent_before(&self, stream: usize, leg: usize, sample: &SeqSample) -> Option<Digest> {
        let st = self.streams.get(stream)?;
        st.behind_at(leg, sample)
            .map(|pos| st.sent_digest(&self.store, pos))
    }

    /// Fires the deadlines due at `now`: overdue gaps are skipped (or the
    /// waiting secondary copy sent), silent legs declared down. Cost grows
    /// with what is due, not with the number of streams.
    pub fn poll(&mut self, now: u64, sink: &mut impl Sink<H>) {
        self.due.clear();
        self.wheel.expire(now, &mut self.due);
        for i in 0..self.due.len() {
            let s = self.due[i] as usize;
            let st = &mut self.streams[s];
            st.service(&mut self.store, now, sink);
            arm_wake(&mut self.wheel, s, &mut st.wake);
        }
    }

    /// The packet pool is running low: frees up to `want` held copies,
    /// duplicates first (nothing lost), then restart candidates' copies,
    /// then whole positions furthest from each stream's cursor, shared out
    /// evenly over the streams (see `stream/shed.rs`); returns how many. Called by the worker once per
    /// burst at most, when the pool's free count is below its floor; not
    /// per packet.
    pub fn shed(&mut self, want: u32, now: u64, sink: &mut impl Sink<H>) -> u32 {
        let mut shed = 0;
        for pass in [ShedPass::Duplicates, ShedPass::Candidates] {
            for st in &mut self.streams {
                if shed >= want {
                    return shed;
                }
                shed += st.shed(&mut self.store, (want - shed, pass), now, sink);
            }
        }
        // Whole positions: shared out over the streams that hold copies, a
        // round at a time (a stream that holds fewer than its share leaves
        // the rest to the next round).
        while shed < want {
            let holding = self.streams.iter().filter(|st| st.held() > 0).count() as u32;
            if holding == 0 {
                break;
            }
            let share = (want - shed).div_ceil(holding);
            let before = shed;
            for st in &mut self.streams {
                if shed >= want {
                    break;
                }
                let ask = share.min(want - shed);
                shed += st.shed(&mut self.store, (ask, ShedPass::Furthest), now, sink);
            }
            if shed == before {
                break;
            }
        }
        shed
    }

    /// Shutdown: sends every held copy that can go out in order and frees
    /// the rest, so every handle handed in has been handed back.
    pub fn drain(&mut self, now: u64, sink: &mut impl Sink<H>) {
        for st in &mut self.streams {
            st.drain(&mut self.store, now, sink);
        }
        self.wheel.clear();
    }

    /// Live reload: `stream` stops. Every copy it holds goes out in order
    /// (or is freed) as at shutdown, and its timer is disarmed so it never
    /// fires again; its counters stay readable. The caller hands it no
    /// more copies (its routes are gone). Out-of-range indices do nothing.
    pub fn retire(&mut self, stream: usize, now: u64, sink: &mut impl Sink<H>) {
        if let Some(st) = self.streams.get_mut(stream) {
            st.drain(&mut self.store, now, sink);
            st.wake = NEVER;
            self.wheel.disarm(stream);
        }
    }

    /// Counters of `stream` (panics if out of range, like slice indexing):
    /// a copy put together when read, since the stream keeps the counters
    /// its fast paths bump apart from the rest.
    pub fn counters(&self, stream: usize) -> StreamCounters {
        self.streams[stream].counters()
    }

    /// What `stream` has learned about its legs (skew percentiles, reorder
    /// depth and lag per leg); all zero for an out-of-range index.
    pub fn evidence(&self, stream: usize) -> EvidenceFigures {
        self.streams
            .get(stream)
            .map_or_else(EvidenceFigures::default, |s| s.evidence_figures())
    }

    /// Whether `leg` of `stream` is up (false for out-of-range indices).
    pub fn leg_is_up(&self, stream: usize, leg: usize) -> bool {
        self.streams.get(stream).is_some_and(|s| s.leg_is_up(leg))
    }

    /// Handles currently held by `stream` (in slots or restart candidates).
    pub fn held(&self, stream: usize) -> usize {
        self.streams.get(stream).map_or(0, |s| s.held() as usize)
    }

    /// Bytes of slot storage (the rings) of `stream`.
    pub fn slot_bytes_per_stream(&self, stream: usize) -> usize {
        self.slot_bytes.get(stream).copied().unwrap_or(0)
    }

    /// When `stream` next needs `poll` (NEVER = `u64::MAX` if idle).
    pub fn next_deadline(&self, stream: usize) -> u64 {
        if stream < self.streams.len() {
            self.wheel.armed_at(stream)
        } else {
            NEVER
        }
    }
}

impl<H> std::fmt::Debug for Engine<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("streams", &self.streams.len())
            .field("clock", &self.store.clock)
            .finish_non_exhaustive()
    }
}

/// Arms `stream`'s timer for the deadline its last call asked for (in
/// `wake`), if any, and clears the request: every entry point that hands
/// the stream work (insert, fill, poll) ends with this.
#[inline(always)]
fn arm_wake(wheel: &mut TimerWheel, stream: usize, wake: &mut u64) {
    if *wake != NEVER {
        wheel.arm(stream, *wake);
        *wake = NEVER;
    }
}
