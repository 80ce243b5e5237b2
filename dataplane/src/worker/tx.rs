//! The transmit stage: the merge engine's [`Sink`] on a real port.

use super::io::TX_RETRIES;
use super::layout::TxCounters;
use super::plan::{FillAsk, Plan, Shared, StreamEvent, StreamPlan};
use super::pool_watch::PoolWatch;
use super::publish;
use super::reload::MergeSet;
use crate::dpdk::{prefetch, tsc, FreeBatch, Mbuf, RxBatch, RxQueue, TxBatch, TxQueue, MAX_BURST};
use crate::merge::{Event, EventKind, FreeReason, MergeConfig, SendInfo, Sink};
use crate::rewrite::{trim_mold_front, Rewriter, RtpRenumber};
use crate::seq::SeqSpec;
use crate::stats::{LatencyHistogram, StreamResidence};
use crate::wire::FrameOffsets;

/// Converts TSC ticks to nanoseconds with one multiply and shift.
#[derive(Clone, Copy, Debug)]
pub struct TicksToNs {
    mult: u64,
}

impl TicksToNs {
    /// For a TSC running at `hz`.
    pub fn new(hz: u64) -> Self {
        TicksToNs {
            mult: ((1_000_000_000u128 << 32) / hz.max(1) as u128) as u64,
        }
    }

    /// `ticks` in nanoseconds (saturating).
    #[inline]
    pub fn ns(&self, ticks: u64) -> u64 {
        ((ticks as u128 * self.mult as u128) >> 32).min(u64::MAX as u128) as u64
    }
}

/// A packet in the tx batch: what its residence is recorded with when
/// the port takes it.
#[derive(Clone, Copy, Debug)]
struct Queued {
    /// Rx burst TSC of the copy.
    rx: u64,
    /// Its stream, as [`Sink::send`] names it (the index of its
    /// [`StreamOut`]).
    stream: u32,
}

/// Per-stream output state that changes while running.
#[derive(Debug)]
pub struct StreamOut {
    /// Output RTP renumbering, when configured.
    pub renumber: Option<RtpRenumber>,
    /// The rewriter with the source address and port the operator left
    /// open fixed to those of the stream's first sent packet.
    ///
    /// Why: the legs usually come from different senders; keeping each
    /// copy's source would make the output flip between two flows at every
    /// substitution, which receivers (SSM filters, RTP source tracking per
    /// RFC 3550 §8.2) treat as another stream. Built once per stream.
    pub latched: Option<Rewriter>,
    /// MoldUDP64 streams: the session of the last epoch sent and
    /// that epoch (read from the first packet sent of each epoch).
    pub session: Option<([u8; 10], u32)>,
    /// This stream's residence times, ns (recorded when the tx burst that
    /// sent a packet returns; published with the stream's figures). Part
    /// of the output state so a reload gives a replaced or added stream a
    /// fresh one, allocated on the main lcore, and an untouched stream
    /// keeps its own.
    pub residence: StreamResidence,
}

impl StreamOut {
    /// Output state for each stream of `ids` (indices into `streams`).
    pub fn for_streams(streams: &[StreamPlan], ids: &[u32]) -> Vec<StreamOut> {
        ids.iter()
            .map(|&i| &streams[i as usize])
            .map(StreamOut::for_stream)
            .collect()
    }

    /// Fresh output state for stream `s` (nothing sent yet).
    pub fn for_stream(s: &StreamPlan) -> StreamOut {
        StreamOut {
            renumber: s.renumber.then(|| RtpRenumber::new(None)),
            latched: None,
            session: None,
            residence: StreamResidence::new(),
        }
    }

    /// The rewriter for this stream's packets; on the first packet, fixes
    /// the open source fields from `frame` (headers at `at`).
    #[inline]
    fn rewriter<'r>(
        &'r mut self,
        plan: &'r StreamPlan,
        frame: &[u8],
        at: FrameOffsets,
    ) -> &'r Rewriter {
        let spec = plan.rewriter.spec();
        if spec.src_ip.is_some() && spec.src_port.is_some() {
            return &plan.rewriter;
        }
        if self.latched.is_none() {
            let mut fixed = spec.clone();
            if let Some((ip, port)) = at.source(frame) {
                fixed.src_ip = fixed.src_ip.or(Some(ip));
                fixed.src_port = fixed.src_port.or(Some(port));
            }
            self.latched = Some(
                Rewriter::new(&fixed, plan.rewriter.src_mac())
                    .unwrap_or_else(|_| plan.rewriter.clone()),
            );
        }
        self.latched.as_ref().unwrap_or(&plan.rewriter)
    }
}

/// Everything the tx side owns, apart from the engine itself.
pub struct TxState<'q, 'p, 'a> {
    /// Output queue.
    txq: TxQueue<'p, 'a>,
    /// Packets waiting for the next tx burst.
    batch: TxBatch,
    /// Packets waiting to be bulk-freed.
    free: FreeBatch,
    /// Per-stream output state, by engine index.
    outs: Vec<StreamOut>,
    /// The plan's stream index of each engine index (this worker's
    /// streams, [`super::shard::Shards::members`]).
    ids: &'q [u32],
    /// This worker's index: its transmit slot on the board and its
    /// gap-fill queue.
    worker: usize,
    /// Residence time (rx burst TSC to the tx burst that sent it), ns.
    latency: LatencyHistogram,
    /// Rx TSC and stream of each packet in `batch`, in the same order
    /// (capacity allocated once: [`MAX_BURST`]).
    queued: Vec<Queued>,
    /// Counters.
    counters: TxCounters,
    /// Conversion for the histogram.
    to_ns: TicksToNs,
    /// Stream plans (rewriters).
    streams: &'q [StreamPlan],
    /// Where events go.
    shared: &'q Shared,
    /// "Now" in clock ticks (set before each engine call; never goes back).
    now: u64,
    /// Time comes from the packets ([`super::Clock::Capture`]): never read the TSC.
    capture: bool,
    /// Under the capture clock, how far time moves between two polls while
    /// it catches up with a later packet (1/16 of the shortest max-delay or
    /// leg-timeout), so a deadline fires within this of its due time.
    capture_step: u64,
    /// The packet pool, watched once per loop so the merge sheds before
    /// the ports run out of mbufs (`None`: not watched, as in benches).
    pool: Option<PoolWatch<'q>>,
}

/// Most polls one catch-up of the capture clock makes (a capture with an
/// hour of silence jumps the rest of the way at once: by then every
/// deadline has long fired).
const CAPTURE_CATCH_UP_POLLS: u64 = 4096;

impl<'q, 'p, 'a> TxState<'q, 'p, 'a> {
    /// Tx state for `plan`'s one merge worker (single and split layouts)
    /// sending on `txq`.
    pub fn new(
        plan: &'q Plan,
        shared: &'q Shared,
        txq: TxQueue<'p, 'a>,
        pool: Option<PoolWatch<'q>>,
    ) -> Self {
        Self::of_worker(plan, shared, 0, txq, pool)
    }

    /// Tx state of merge worker `worker` (its streams, its board slot, its
    /// gap-fill queue) sending on `txq`, its own tx queue.
    pub fn of_worker(
        plan: &'q Plan,
        shared: &'q Shared,
        worker: usize,
        txq: TxQueue<'p, 'a>,
        pool: Option<PoolWatch<'q>>,
    ) -> Self {
        let ids = plan.shards.members(worker);
        TxState {
            txq,
            batch: TxBatch::new(plan.burst),
            free: FreeBatch::new(),
            outs: StreamOut::for_streams(&plan.streams, ids),
            ids,
            worker,
            latency: LatencyHistogram::new(),
            queued: Vec::with_capacity(MAX_BURST),
            counters: Default::default(),
            to_ns: TicksToNs::new(plan.tsc_hz),
            streams: &plan.streams,
            shared,
            now: if plan.clock.is_capture() { 0 } else { tsc() },
            capture: plan.clock.is_capture(),
            capture_step: plan
                .streams
                .iter()
                .flat_map(|s| [s.merge.max_delay, s.merge.leg_timeout])
                .filter(|&t| t > 0)
                .min()
                .map_or(1, |t| (t / 16).max(1)),
            pool,
        }
    }

    /// "Now" in clock ticks: the time the next packet is stamped with.
    #[inline(always)]
    pub fn now(&self) -> u64 {
        self.now
    }

    /// A burst arrived under the TSC clock: "now" becomes the TSC (never
    /// going back).
    #[inline(always)]
    pub fn tick(&mut self) {
        self.now = tsc().max(self.now);
    }

    /// Prefetches the output state a packet of `stream` (an index as
    /// [`Sink::send`] gets it) will meet when sent: its [`StreamOut`] and
    /// the parts of its plan the send reads. See [`RxTarget::prefetch_state`].
    ///
    /// [`RxTarget::prefetch_state`]: super::poll::RxTarget::prefetch_state
    #[inline(always)]
    pub fn prefetch(&self, stream: usize) {
        if let Some(out) = self.outs.get(stream) {
            let p: *const u8 = (out as *const StreamOut).cast();
            for off in (0..size_of::<StreamOut>()).step_by(64) {
                prefetch(p.wrapping_add(off));
            }
            prefetch(p.wrapping_add(size_of::<StreamOut>() - 1));
        }
        let plan = self
            .ids
            .get(stream)
            .and_then(|&i| self.streams.get(i as usize));
        if let Some(plan) = plan {
            prefetch((&plan.merge as *const MergeConfig).cast());
            prefetch((&plan.rewriter as *const Rewriter).cast());
        }
    }

    /// Frees `m` with the next bulk free (a packet the merge never took).
    #[inline(always)]
    pub fn discard(&mut self, m: Mbuf) {
        self.free.push(m);
    }

    /// Moves "now" to `t` if that is later. Under the capture clock, the
    /// deadlines due by then fire first, each within `capture_step` of its
    /// due time, so a packet stamped `t` meets the engine in the state it
    /// would have had at `t`, and events carry the time they happened.
    #[inline(always)]
    pub fn advance_to(&mut self, engine: &mut impl MergeSet, t: u64) {
        if t <= self.now {
            return;
        }
        if self.capture && self.now > 0 {
            let mut polls = 0;
            while t - self.now > self.capture_step && polls < CAPTURE_CATCH_UP_POLLS {
                self.now += self.capture_step;
                engine.poll(self.now, self);
                polls += 1;
            }
            self.now = t;
            engine.poll(t, self);
        } else {
            self.now = t;
        }
    }

    /// The clock's current time: the TSC, or the latest packet time.
    #[inline(always)]
    fn clock_now(&self) -> u64 {
        if self.capture {
            self.now
        } else {
            tsc().max(self.now)
        }
    }

    /// The end of each loop: fire due deadlines, transmit, drain (and
    /// free) whatever arrived on the output port.
    #[inline]
    pub fn service(
        &mut self,
        engine: &mut impl MergeSet,
        out_rx: &mut Option<RxQueue<'_, '_>>,
        scratch: &mut RxBatch,
    ) {
        self.now = self.clock_now();
        engine.poll(self.now, self);
        if let Some(short) = self.pool.as_ref().map(PoolWatch::shortfall) {
            if short > 0 {
                engine.shed(short, self.now, self);
            }
        }
        // Gap fill: retransmissions the main lcore received for this
        // worker's streams (a burst at most).
        if let Some(q) = self.shared.refills.get(self.worker) {
            for _ in 0..MAX_BURST {
                let Some(r) = q.pop() else {
                    break;
                };
                match self.ids.binary_search(&(r.stream as u32)) {
                    Ok(local) => engine.fill(local, r.sample, r.mbuf, self.now, self),
                    Err(_) => self.free.push(r.mbuf),
                }
            }
        }
        self.flush();
        if let Some(q) = out_rx.as_mut() {
            let n = q.rx_burst(scratch);
            if n > 0 {
                self.counters.output_rx_drained += n as u64;
                scratch.free_all();
            }
        }
    }

    /// Publishes the tx side (counters, latency, every stream).
    pub fn publish(&self, engine: &impl MergeSet, scratch: &mut [u64]) {
        // Sharded workers' clocks differ a little: the latest one counts.
        self.shared
            .clock_now
            .fetch_max(self.now, std::sync::atomic::Ordering::Relaxed);
        publish::tx(
            self.shared,
            (self.worker, self.ids),
            &self.counters,
            &self.latency,
            (engine, &self.outs),
            self.to_ns,
            scratch,
        );
    }

    /// Shutdown: sends every held packet that can go out in order, frees
    /// the rest, flushes, and publishes the final figures.
    pub fn finish(&mut self, engine: &mut impl MergeSet, scratch: &mut [u64]) {
        self.now = self.clock_now();
        engine.drain(self.now, self);
        self.flush();
        self.free.flush();
        self.publish(engine, scratch);
    }

    /// Live reload: the merge hands this stage stream ids (the board's
    /// slots, see [`super::reload`]) instead of engine indices, so `ids`
    /// is the identity over every slot and the output state is kept by id,
    /// with room for each, allocated before the loop so a swap never
    /// allocates (a slot this worker does not merge holds a
    /// [`StreamResidence::placeholder`]: no bucket memory).
    pub fn reloadable(&mut self, ids: &'q [u32]) {
        let mut outs: Vec<StreamOut> = (0..ids.len())
            .map(|_| StreamOut {
                renumber: None,
                latched: None,
                session: None,
                residence: StreamResidence::placeholder(),
            })
            .collect();
        for (local, out) in std::mem::take(&mut self.outs).into_iter().enumerate() {
            if let Some(o) = self
                .ids
                .get(local)
                .and_then(|&id| outs.get_mut(id as usize))
            {
                *o = out;
            }
        }
        self.outs = outs;
        self.ids = ids;
    }

    /// Live reload: a packet judged for a stream this worker no longer
    /// merges (see [`super::reload`]); counted and freed.
    #[inline]
    pub fn unrouted(&mut self, m: Mbuf) {
        self.counters.unrouted += 1;
        self.free.push(m);
    }

    /// Live reload: from now on the streams are `plan`'s (ids index it).
    pub fn retarget(&mut self, plan: &'q Plan) {
        self.streams = &plan.streams;
    }

    /// Live reload: each `(id, out)` of `outs` becomes id's output state,
    /// and `outs` gets the state it replaced (moves only).
    pub fn swap_outs(&mut self, outs: &mut [(u32, StreamOut)]) {
        for (id, out) in outs.iter_mut() {
            if let Some(mine) = self.outs.get_mut(*id as usize) {
                std::mem::swap(mine, out);
            }
        }
    }

    /// Sends what is batched, retrying a bounded number of times when the
    /// port takes nothing; what it still refuses is counted and freed.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        self.counters.bursts += 1;
        let mut idle = 0;
        while !self.batch.is_empty() {
            let n = self.txq.tx_burst(&mut self.batch);
            self.counters.packets += n as u64;
            if n > 0 {
                let t = self.clock_now();
                for q in &self.queued[..n] {
                    let ns = self.to_ns.ns(t.saturating_sub(q.rx));
                    self.latency.record(ns);
                    if let Some(out) = self.outs.get_mut(q.stream as usize) {
                        out.residence.record(ns);
                    }
                }
                self.queued.drain(..n);
            }
            if n == 0 {
                idle += 1;
                if idle >= TX_RETRIES {
                    break;
                }
            }
        }
        if !self.batch.is_empty() {
            self.counters.nic_refused += self.batch.free_all() as u64;
        }
        self.queued.clear();
    }
}

impl Sink<Mbuf> for TxState<'_, '_, '_> {
    #[inline]
    fn send(&mut self, stream: usize, mut m: Mbuf, info: SendInfo) {
        let (Some(plan), Some(out), Some(at)) = (
            self.ids
                .get(stream)
                .and_then(|&i| self.streams.get(i as usize)),
            self.outs.get_mut(stream),
            m.frame_offsets(),
        ) else {
            self.counters.rewrite_errors += 1;
            self.free.push(m);
            return;
        };
        // Message-level arbitration: the engine may send only the packet's
        // last `span` messages (the others went out in another leg's
        // packet); cut it down in place before any rewrite.
        let at = if plan.merge.messages {
            match trim_mold_front(&mut m, at, info.span) {
                Ok(at) => at,
                Err(_) => {
                    self.counters.rewrite_errors += 1;
                    self.free.push(m);
                    return;
                }
            }
        } else {
            at
        };
        if plan.seq == SeqSpec::MoldUdp64 && out.session.is_none_or(|(_, e)| e != info.epoch) {
            // Once per epoch: the session a gap-fill request and the gap
            // lines name.
            if let Some(p) = m.data().get(at.payload()).and_then(|p| p.get(..10)) {
                let mut id = [0u8; 10];
                id.copy_from_slice(p);
                out.session = Some((id, info.epoch));
            }
        }
        // Renumbering keeps every offset; the rewriter (which may push or
        // strip a tag) goes last, so both use what the rx parse found.
        if let Some(r) = out.renumber.as_mut() {
            if r.apply(&mut m, at, info.ext_seq, info.epoch).is_err() {
                self.counters.rewrite_errors += 1;
                self.free.push(m);
                return;
            }
        }
        if out.rewriter(plan, m.data(), at).apply(&mut m, at).is_err() {
            self.counters.rewrite_errors += 1;
            self.free.push(m);
            return;
        }
        self.counters.bytes += m.len() as u64;
        if self.batch.is_full() {
            self.flush();
        }
        match self.batch.push(m) {
            Ok(()) => self.queued.push(Queued {
                rx: info.rx_time,
                stream: stream as u32,
            }),
            Err(m) => {
                self.counters.nic_refused += 1;
                self.free.push(m);
            }
        }
        if self.batch.is_full() {
            self.flush();
        }
    }

    #[inline]
    fn free(&mut self, m: Mbuf, _why: FreeReason) {
        self.free.push(m);
    }

    fn event(&mut self, local: usize, event: Event) {
        let session = self
            .outs
            .get(local)
            .and_then(|o| o.session)
            .map(|(id, _)| id);
        // The main lcore names streams by the plan's index.
        let stream = self.ids.get(local).map_or(local, |&i| i as usize);
        if let (
            EventKind::FillRequest {
                wire_seq, count, ..
            },
            Some(id),
        ) = (event.kind, session)
        {
            self.shared.push_fill_ask(FillAsk {
                stream,
                session: id,
                seq: wire_seq,
                count,
                time: event.time,
            });
        }
        self.shared.push_event(StreamEvent {
            stream,
            event,
            session,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::TicksToNs;

    #[test]
    fn ticks_to_ns() {
        let c = TicksToNs::new(2_000_000_000);
        assert_eq!(c.ns(2_000), 1_000);
        assert_eq!(c.ns(0), 0);
        let c = TicksToNs::new(3_000_000_000);
        assert!((c.ns(3_000_000_000) as i64 - 1_000_000_000).abs() <= 1);
    }
}
