//! Thread-per-core sharding (`--layout shard`, `--nb-cores N > 1`): N merge
//! workers, each owning a disjoint set of streams with its own engine (slot
//! tables, timers), its own output state, its own tx queue on the output
//! port and its own transmit slot on the stats board. No stream state is
//! shared between workers and nothing is locked.
//!
//! Ownership is by stream index: stream `i` (configuration order) belongs
//! to worker `i % N` ([`Shards::by_index`]), printed at start-up.
//!
//! Input steering by the NIC (`--steer flow`, or `auto` where every input
//! port takes the rules): each input port has one rx queue per worker and
//! an `rte_flow` rule per leg sending its destination group and UDP port
//! to queue `owner` (installed at bring-up, `Port::steer`). Worker
//! `w` then polls queue `w` of every input itself ([`WorkerIo::lane`]):
//! no dispatch ring, nothing crosses lcores. What no rule matches lands on
//! queue 0 (worker 0: membership frames, unknown flows); a packet of
//! another worker's stream there is counted `rx.steer_miss` and freed.
//!
//! Software dispatch. A port that cannot steer each stream to its owner's
//! queue (every vdev) has one rx queue, polled by one worker ([`pollers`]).
//! That worker judges
//! each packet as every layout does ([`RxStage`]); a packet of a stream it
//! owns goes to its engine at once, any other is staged for the owner and,
//! at the end of the burst, moved into the SP/SC ring from this poller to
//! that owner ([`ElemRing`], one index update per burst), counted
//! `rx.dispatched`. A poller polls only while every ring from it has room
//! for a whole poll (backpressure: an overloaded owner makes the input's
//! own rx ring fill, as with one worker, instead of costing packets judged
//! for nothing). A full ring would cost the packets that did not fit,
//! counted `rx.handoff_full` and freed; under `--clock capture` (a replay,
//! where no input is lost by waiting) the poller waits for room instead, so
//! a replay gives the same answer however the lcores are scheduled. Each
//! worker takes what the pollers sent it, a burst per ring per loop.
//!
//! Which worker polls which input: under the TSC clock the inputs are
//! spread over the workers in contiguous blocks (as the split layout does),
//! so rx work runs in parallel; under `--clock capture` worker 0 polls
//! every input, so each stream's copies reach its owner in exactly the
//! order the one-lcore layout merges them (one poller, one FIFO ring per
//! owner) and its output is the one-lcore output.
//!
//! Memory ordering: the ring's producer publishes its tail with a release
//! store after copying the values in, the consumer reads it with acquire
//! before copying them out, so an `Arrival` (and the ownership of its
//! mbuf) happens-before the owner's use. Shutdown: each poller, after its
//! last burst was handed on, increments [`Dispatch::done`] (release); an
//! owner reads it (acquire) before a last empty take, so nothing can be
//! enqueued after that take.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::layout::RxCounters;
use super::plan::{Plan, Shared};
use super::poll::{RxStage, RxTarget};
use super::pool_watch::PoolWatch;
use super::publish::Requests;
use super::reload::{Generations, Shelves, WorkerEnd};
use super::rx::{Arrival, ControlRing};
use super::tx::TxState;
use crate::dpdk::{
    pause, prefetch, DpdkError, Eal, ElemConsumer, ElemProducer, ElemRing, Mbuf, Mempool, RxQueue,
    TxQueue, SOCKET_ANY,
};
use crate::stats::LatencyHistogram;

/// Which merge worker owns each stream, and where the stream sits in that
/// worker's engine.
///
/// Why by index: the assignment is known before any packet arrives, is
/// the same on every run of a configuration (so a stream's counters and
/// logs always come from the same lcore), and spreads any number of
/// streams evenly; streams of very different rates can be balanced by
/// their order in the configuration.
#[derive(Clone, Debug)]
pub struct Shards {
    /// Owner of each stream.
    owner: Vec<u32>,
    /// Engine index of each stream in its owner's engine.
    local: Vec<u32>,
    /// Streams of each worker, ascending (engine index -> stream).
    members: Vec<Vec<u32>>,
}

impl Shards {
    /// `streams` streams over `workers` workers (at least one): stream `i`
    /// to worker `i % workers`.
    pub fn by_index(streams: usize, workers: usize) -> Shards {
        let workers = workers.max(1);
        let mut members = vec![Vec::new(); workers];
        let mut owner = Vec::with_capacity(streams);
        let mut local = Vec::with_capacity(streams);
        for s in 0..streams {
            let w = Self::worker_for(s, workers);
            owner.push(w as u32);
            local.push(members[w].len() as u32);
            members[w].push(s as u32);
        }
        Shards {
            owner,
            local,
            members,
        }
    }

    /// The rule: the worker of stream (board id) `stream` among `workers`;
    /// a live reload places an added stream's id by it too.
    #[inline]
    pub fn worker_for(stream: usize, workers: usize) -> usize {
        stream % workers.max(1)
    }

    /// Every stream on one worker (the single and split layouts).
    pub fn one(streams: usize) -> Shards {
        Self::by_index(streams, 1)
    }

    /// Number of merge workers.
    pub fn workers(&self) -> usize {
        self.members.len()
    }

    /// The worker owning `stream` (0 for an unknown stream).
    #[inline(always)]
    pub fn owner(&self, stream: u32) -> usize {
        self.owner.get(stream as usize).map_or(0, |&w| w as usize)
    }

    /// `stream`'s index in its owner's engine.
    #[inline(always)]
    pub fn local(&self, stream: u32) -> u32 {
        self.local.get(stream as usize).copied().unwrap_or(stream)
    }

    /// Worker `w`'s streams in engine order (ascending; empty for a worker
    /// that does not exist).
    pub fn members(&self, w: usize) -> &[u32] {
        self.members.get(w).map_or(&[], Vec::as_slice)
    }
}

/// The inputs (indices into `Plan::inputs`) each of `workers` workers
/// polls: under the capture clock (`capture`) all of them on worker 0,
/// else contiguous blocks of `ceil(inputs / workers)` (trailing workers may
/// poll nothing).
pub fn pollers(inputs: usize, workers: usize, capture: bool) -> Vec<Range<usize>> {
    let workers = workers.max(1);
    if capture {
        return (0..workers)
            .map(|w| if w == 0 { 0..inputs } else { inputs..inputs })
            .collect();
    }
    let per = inputs.div_ceil(workers).max(1);
    (0..workers)
        .map(|w| (w * per).min(inputs)..((w + 1) * per).min(inputs))
        .collect()
}

/// Capacity of each poller -> owner ring, in packets (4096 slots).
pub const DISPATCH_CAPACITY: u32 = 4095;

/// The rings of the software dispatch: one from each polling worker to
/// each other worker.
pub struct Dispatch<'e> {
    workers: usize,
    /// Index `from * workers + to`; `None` where `from` polls nothing or
    /// `from == to`.
    rings: Vec<Option<ElemRing<'e, Arrival>>>,
    /// Workers that poll at least one input and dispatch (have rings).
    pollers: usize,
    /// Pollers that handed on their last burst.
    done: AtomicUsize,
}

impl<'e> Dispatch<'e> {
    /// The rings for workers polling `polls[w]` (see [`pollers`]).
    pub fn new(eal: &'e Eal, polls: &[Range<usize>]) -> Result<Dispatch<'e>, DpdkError> {
        let workers = polls.len();
        let mut rings = Vec::with_capacity(workers * workers);
        for (from, p) in polls.iter().enumerate() {
            for to in 0..workers {
                rings.push(if p.is_empty() || from == to {
                    None
                } else {
                    Some(ElemRing::new(
                        eal,
                        &format!("mf_sd{from}_{to}"),
                        DISPATCH_CAPACITY,
                        SOCKET_ANY,
                    )?)
                });
            }
        }
        // The workers `run` counts in `done`: those with a ring out.
        let pollers = rings
            .chunks(workers.max(1))
            .filter(|out| out.iter().any(Option::is_some))
            .count();
        Ok(Dispatch {
            workers,
            rings,
            pollers,
            done: AtomicUsize::new(0),
        })
    }

    /// Worker `w`'s ends: a producer to every other worker (if `w` polls)
    /// and a consumer from every other polling worker.
    pub fn links(&self, w: usize) -> Result<Links<'_, 'e>, DpdkError> {
        let n = self.workers;
        let mut to = Vec::with_capacity(n);
        for ring in &self.rings[w * n..(w + 1) * n] {
            to.push(ring.as_ref().map(ElemRing::producer).transpose()?);
        }
        let mut from = Vec::new();
        for p in 0..n {
            if let Some(ring) = &self.rings[p * n + w] {
                from.push(ring.consumer()?);
            }
        }
        Ok(Links { to, from })
    }
}

/// One worker's ends of the dispatch rings.
pub struct Links<'r, 'e> {
    /// To each worker (index = owner; `None` for itself, or when this
    /// worker polls nothing).
    to: Vec<Option<ElemProducer<'r, 'e, Arrival>>>,
    /// From each other polling worker.
    from: Vec<ElemConsumer<'r, 'e, Arrival>>,
}

/// The queues one sharded worker owns.
pub struct WorkerIo<'w, 'e> {
    /// Plan index of the first input of `rxqs`.
    pub first: usize,
    /// The rx queue it polls on each of its inputs: its own index under
    /// flow steering, 0 under software dispatch.
    pub lane: usize,
    /// The input queues it polls (inputs `first..first + rxqs.len()`).
    pub rxqs: Vec<RxQueue<'w, 'e>>,
    /// `ctl[i]`: the ring to `rxqs[i]`'s membership host, if any.
    pub ctl: Vec<ControlRing<'w, 'e>>,
    /// Its dispatch ring ends.
    pub links: Links<'w, 'e>,
    /// Its own tx queue on the output port.
    pub txq: TxQueue<'w, 'e>,
    /// The output port's rx queue, drained and freed (one worker).
    pub out_rx: Option<RxQueue<'w, 'e>>,
}

/// Runs merge worker `me` until `shared.stop`, then drains: the last
/// bursts are handed on, everything the pollers sent is merged, every held
/// packet is sent in order or freed, the tx batch flushed and the final
/// counters published.
///
/// Live reload: between two polls it applies the swap the main lcore
/// queued for it in `plans`, and its rx side moves to a generation once
/// the main lcore released it (see [`super::reload`]).
pub fn run(
    plans: &Generations,
    shared: &Shared,
    dispatch: &Dispatch<'_>,
    me: usize,
    io: WorkerIo<'_, '_>,
    pool: &Mempool<'_>,
) -> Result<(), String> {
    let WorkerIo {
        first,
        lane,
        mut rxqs,
        mut ctl,
        links,
        txq,
        mut out_rx,
    } = io;
    ctl.resize_with(rxqs.len(), || None);
    let Links { to, mut from } = links;
    let polls = !rxqs.is_empty();
    // A poller with rings out (software dispatch) is one `Dispatch::done`
    // waits for; under flow steering every worker polls and none has any.
    let dispatches = to.iter().any(Option::is_some);
    let plan = plans.first();
    let mut w = Owner {
        me,
        plan,
        engine: Shelves::new(plan.engine_of(me)?, plan.shards.members(me), &shared.layout),
        tx: TxState::of_worker(plan, shared, me, txq, Some(PoolWatch::new(pool, plan))),
        to: to
            .into_iter()
            .map(|r| {
                r.map(|ring| Outbox {
                    ring,
                    staged: Vec::with_capacity(plan.burst),
                })
            })
            .collect(),
        wait: plan.clock.is_capture() && dispatch.pollers == 1,
        shared,
    };
    let mut rx = RxStage::new(plan, first, rxqs.len()).on_lane(lane);
    let mut inbound: Vec<Arrival> = Vec::with_capacity(plan.burst);
    let mut scratch = vec![0u64; LatencyHistogram::WORDS];
    let mut requests = Requests::default();
    w.tx.reloadable(plans.identity());
    let mut reload = WorkerEnd::new(plans, me);

    // A poll may send every packet of a burst per input to one owner.
    let room = (plan.burst * rxqs.len()) as u32;
    while !shared.stopping() {
        if polls && w.rings_have_room(room) {
            // The rx side's generation (a reload moves it).
            let plan = w.plan;
            rx.poll(plan, (&mut rxqs, pool), &mut ctl, &mut w);
        }
        w.take(&mut from, &mut inbound);
        let Owner { engine, tx, .. } = &mut w;
        tx.service(engine, &mut out_rx, rx.scratch());
        if requests.due(shared) {
            rx.publish(shared);
            w.tx.publish(&w.engine, &mut scratch);
            shared.board.commit();
        }
        let Owner { engine, tx, .. } = &mut w;
        if let Some(next) = reload.service((engine, tx), &mut rx, shared, &mut scratch) {
            w.plan = next;
        }
    }
    // Every burst this worker polled was handed on in `burst_done`.
    if dispatches {
        dispatch.done.fetch_add(1, Ordering::Release);
    }
    loop {
        // Read before taking: once every poller is done, nothing can be
        // enqueued after the take below.
        let finished = dispatch.done.load(Ordering::Acquire) == dispatch.pollers;
        let took = w.take(&mut from, &mut inbound);
        let Owner { engine, tx, .. } = &mut w;
        tx.service(engine, &mut out_rx, rx.scratch());
        if finished && took == 0 {
            break;
        }
    }
    let Owner { engine, tx, .. } = &mut w;
    tx.finish(engine, &mut scratch);
    rx.publish(shared);
    shared.board.commit();
    Ok(())
}

/// Packets staged for one other worker during a burst.
struct Outbox<'r, 'e> {
    ring: ElemProducer<'r, 'e, Arrival>,
    /// Capacity one burst, allocated once.
    staged: Vec<Arrival>,
}

/// A sharded worker: its engine and tx side, and its way to the others.
struct Owner<'q, 'p, 'a, 'r, 'e> {
    me: usize,
    /// The plan its rx side routes and dispatches by.
    plan: &'q Plan,
    engine: Shelves,
    tx: TxState<'q, 'p, 'a>,
    /// Index = owner.
    to: Vec<Option<Outbox<'r, 'e>>>,
    /// Wait for room in a full ring instead of dropping (the capture
    /// clock with one poller: nobody waits on this worker, so no cycle).
    wait: bool,
    shared: &'q Shared,
}

impl Owner<'_, '_, '_, '_, '_> {
    /// Merges one judged packet of a stream this worker owns.
    #[inline(always)]
    fn merge_own(&mut self, a: Arrival) {
        let now = self.tx.now();
        if let Some(m) = self.engine.accept(a, now, &mut self.tx) {
            self.tx.unrouted(m);
        }
    }

    /// Moves `owner`'s staged packets into its ring; what does not fit is
    /// counted in `c` and freed (or, with `wait`, waited for).
    #[inline]
    fn flush(&mut self, owner: usize, c: &mut RxCounters) {
        let Some(Some(o)) = self.to.get_mut(owner) else {
            return;
        };
        let n = o.staged.len();
        if n == 0 {
            return;
        }
        loop {
            o.ring.enqueue_burst(&mut o.staged);
            if o.staged.is_empty() || !self.wait || self.shared.stopping() {
                break;
            }
            pause();
        }
        c.dispatched += (n - o.staged.len()) as u64;
        for a in o.staged.drain(..) {
            c.handoff_full += 1;
            self.tx.discard(a.mbuf);
        }
    }

    /// Whether every ring from this worker has room for `n` packets.
    ///
    /// Why: a poller judges packets much faster than an owner merges them;
    /// polling while an owner's ring is full would judge packets only to
    /// drop them at the ring. Not polling leaves them in the input's rx
    /// ring (a NIC drops at its ring when that fills, counted `imissed`,
    /// as with one worker) while this worker merges its own inbound work,
    /// so pollers wait for the slowest owner and never on each other.
    #[inline(always)]
    fn rings_have_room(&self, n: u32) -> bool {
        self.to.iter().flatten().all(|o| o.ring.free_count() >= n)
    }

    /// Takes up to a burst from each poller's ring and merges it; returns
    /// how many packets came.
    #[inline]
    fn take(
        &mut self,
        from: &mut [ElemConsumer<'_, '_, Arrival>],
        inbound: &mut Vec<Arrival>,
    ) -> usize {
        let mut took = 0;
        for q in from.iter_mut() {
            took += q.dequeue_burst(inbound, self.plan.burst);
            for a in inbound.drain(..) {
                // Pollers' stamps interleave; the engine's time never goes
                // back (under the capture clock, deadlines due first fire).
                self.tx.advance_to(&mut self.engine, a.rx_tsc);
                self.merge_own(a);
            }
        }
        took
    }
}

impl RxTarget for Owner<'_, '_, '_, '_, '_> {
    #[inline(always)]
    fn burst_arrived(&mut self) {
        self.tx.tick();
    }

    /// Every packet this worker polls moves its clock, as on one lcore.
    #[inline(always)]
    fn packet_time(&mut self, t: u64) {
        self.tx.advance_to(&mut self.engine, t);
    }

    #[inline(always)]
    fn now(&self) -> u64 {
        self.tx.now()
    }

    /// Its own stream's packet meets the engine at once; another's is
    /// staged for its owner.
    #[inline(always)]
    fn accept(&mut self, a: Arrival, c: &mut RxCounters) {
        let owner = self.plan.shards.owner(a.route.stream);
        if owner == self.me {
            self.merge_own(a);
            return;
        }
        let full = match self.to.get(owner) {
            Some(Some(o)) => o.staged.len() == o.staged.capacity(),
            _ => {
                // No ring to that worker: flow steering put another
                // worker's packet on this worker's queue (a software
                // poller has a ring to every other worker).
                c.steer_miss += 1;
                self.tx.discard(a.mbuf);
                return;
            }
        };
        if full {
            self.flush(owner, c);
        }
        if let Some(Some(o)) = self.to.get_mut(owner) {
            o.staged.push(a);
        }
    }

    /// Only its own streams: another's state is its owner's to fetch.
    #[inline(always)]
    fn prefetch_state(&self, a: &Arrival) {
        if self.plan.shards.owner(a.route.stream) == self.me {
            self.engine.prefetch_state(a, prefetch);
            self.tx.prefetch(a.route.stream as usize);
        }
    }

    #[inline(always)]
    fn prefetch_slots(&self, a: &Arrival) {
        if self.plan.shards.owner(a.route.stream) == self.me {
            self.engine.prefetch_slots(a, prefetch);
        }
    }

    #[inline(always)]
    fn discard(&mut self, m: Mbuf) {
        self.tx.discard(m);
    }

    #[inline]
    fn burst_done(&mut self, c: &mut RxCounters) {
        for owner in 0..self.to.len() {
            self.flush(owner, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_go_round_robin_and_engine_indices_follow() {
        let s = Shards::by_index(7, 3);
        assert_eq!(s.workers(), 3);
        assert_eq!(s.members(0), &[0, 3, 6]);
        assert_eq!(s.members(1), &[1, 4]);
        assert_eq!(s.members(2), &[2, 5]);
        assert_eq!(s.members(3), &[] as &[u32]);
        for stream in 0..7u32 {
            let w = s.owner(stream);
            assert_eq!(w, stream as usize % 3);
            assert_eq!(s.members(w)[s.local(stream) as usize], stream);
        }
        let one = Shards::one(4);
        assert_eq!(one.members(0), &[0, 1, 2, 3]);
        assert_eq!(one.local(3), 3);
    }

    #[test]
    fn a_worker_without_streams_still_gets_an_engine() {
        // --nb-cores 3 with 2 streams: worker 2 owns nothing.
        let s = Shards::by_index(2, 3);
        assert!(s.members(2).is_empty());
        let e = crate::merge::Engine::<u32>::new(&[]).expect("empty engine");
        assert_eq!(e.streams(), 0);
    }

    #[test]
    fn every_input_is_polled_by_exactly_one_worker() {
        for (inputs, workers) in [(2, 2), (2, 3), (3, 2), (1, 4), (4, 2)] {
            for capture in [false, true] {
                let p = pollers(inputs, workers, capture);
                assert_eq!(p.len(), workers);
                let mut seen = vec![0; inputs];
                for r in &p {
                    for i in r.clone() {
                        seen[i] += 1;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1), "{inputs} {workers} {p:?}");
                if capture {
                    assert_eq!(p[0], 0..inputs);
                }
            }
        }
        assert_eq!(pollers(2, 2, false), vec![0..1, 1..2]);
        assert_eq!(pollers(2, 3, false), vec![0..1, 1..2, 2..2]);
    }
}
