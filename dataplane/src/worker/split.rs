//! More than one worker lcore: rx lcores judge packets and hand them to
//! one tx lcore that owns the merge engine.
//!
//! The handoff is one bounded lock-free queue (`crossbeam_queue::ArrayQueue`)
//! per rx lcore, so each queue has exactly one producer and one consumer.
//! Memory ordering: a push publishes the slot with a release store of its
//! stamp and a pop reads that stamp with acquire, so everything the rx
//! lcore wrote before the push (the `Arrival`, and the ownership of the
//! mbuf, which the rx lcore no longer touches) happens-before the tx
//! lcore's use of it. The packet bytes were written by the NIC before the
//! rx burst returned them, which DPDK orders for the polling lcore. Shutdown
//! uses `rx_done` (release on each rx lcore's exit, acquire on the tx side)
//! so the tx lcore drains the queues only after the last push.
//!
//! Live reload: the tx lcore merges with the reloadable shelves and
//! applies its swap between two rounds of the queues; each rx lcore takes
//! the released classifier at its next loop (see [`super::reload`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;

use super::layout::RxCounters;
use super::plan::Shared;
use super::poll::{RxStage, RxTarget};
use super::pool_watch::PoolWatch;
use super::publish::Requests;
use super::reload::{Generations, RxEnd, Shelves, WorkerEnd};
use super::rx::{Arrival, ControlRing};
use super::tx::TxState;
use crate::dpdk::{tsc, FreeBatch, Mbuf, Mempool, RxBatch, RxQueue, TxQueue};
use crate::stats::LatencyHistogram;

/// Capacity of each rx -> tx queue, in packets.
pub const HANDOFF_CAPACITY: usize = 8192;

/// The queues between the rx lcores and the tx lcore.
pub struct Handoff {
    /// One queue per rx lcore.
    pub queues: Vec<ArrayQueue<Arrival>>,
    /// rx lcores that have returned.
    pub rx_done: AtomicUsize,
    /// Per queue: packets the tx lcore has taken from it (stored once per
    /// round of the queues, not per packet).
    ///
    /// Why: live reload; an rx lcore that switched classifier reports it
    /// only once the tx lcore has taken what it queued before.
    taken: Vec<AtomicU64>,
}

impl Handoff {
    /// Queues for `rx_lcores` rx lcores.
    pub fn new(rx_lcores: usize) -> Self {
        Handoff {
            queues: (0..rx_lcores)
                .map(|_| ArrayQueue::new(HANDOFF_CAPACITY))
                .collect(),
            rx_done: AtomicUsize::new(0),
            taken: (0..rx_lcores).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Packets the tx lcore has taken from queue `lane` so far.
    fn taken(&self, lane: usize) -> u64 {
        self.taken
            .get(lane)
            .map_or(u64::MAX, |t| t.load(Ordering::Acquire))
    }
}

/// An rx lcore: polls `rxqs` (inputs `first..first + rxqs.len()` of the
/// plan) and pushes judged packets to queue `lane` until stopped; `ctl[i]`
/// is the ring to `rxqs[i]`'s membership host, if any; `pool` is the
/// packet pool (copies of a port-wide PITCH heartbeat come from it).
/// Between two polls it follows the generation a reload released.
pub fn rx_loop(
    plans: &Generations,
    shared: &Shared,
    (handoff, pool): (&Handoff, &Mempool<'_>),
    lane: usize,
    first: usize,
    mut rxqs: Vec<RxQueue<'_, '_>>,
    mut ctl: Vec<ControlRing<'_, '_>>,
) -> Result<(), String> {
    ctl.resize_with(rxqs.len(), || None);
    let queue = handoff
        .queues
        .get(lane)
        .ok_or_else(|| format!("no handoff queue {lane}"))?;
    let mut plan = plans.first();
    let mut rx = RxStage::new(plan, first, rxqs.len());
    let mut reload = RxEnd::new(plans, lane);
    let me = lane;
    // Live reload: packets queued under the previous classifier, to be
    // taken before the switch is acknowledged.
    let mut unacked: Option<u64> = None;
    let mut lane = Lane {
        queue,
        free: FreeBatch::new(),
        now: 0,
        pushed: 0,
    };
    let mut requests = Requests::default();
    // Poll only when the queue has room for a whole poll: judging packets
    // the full queue must drop is wasted work (an overloaded tx lcore makes
    // the inputs' rx rings fill instead, as with one lcore).
    let room = plan.burst * rxqs.len();
    while !shared.stopping() {
        if queue.len() + room <= queue.capacity() {
            rx.poll(plan, (&mut rxqs, pool), &mut ctl, &mut lane);
        }
        if requests.due(shared) {
            rx.publish(shared);
            shared.board.commit();
        }
        if let Some(next) = reload.switch(&mut rx) {
            plan = next;
            unacked = Some(lane.pushed);
        }
        if unacked.is_some_and(|before| handoff.taken(me) >= before) {
            reload.acknowledge();
            unacked = None;
        }
    }
    lane.free.flush();
    rx.publish(shared);
    shared.board.commit();
    handoff.rx_done.fetch_add(1, Ordering::Release);
    Ok(())
}

/// An rx lcore's target: judged packets go to its queue to the tx lcore.
struct Lane<'h> {
    queue: &'h ArrayQueue<Arrival>,
    free: FreeBatch,
    /// The latest time seen (never goes back).
    now: u64,
    /// Packets pushed to the queue so far.
    pushed: u64,
}

impl RxTarget for Lane<'_> {
    #[inline(always)]
    fn burst_arrived(&mut self) {
        self.now = tsc().max(self.now);
    }

    /// Only the tx lcore fires deadlines; here time just moves on.
    #[inline(always)]
    fn packet_time(&mut self, t: u64) {
        self.now = self.now.max(t);
    }

    #[inline(always)]
    fn now(&self) -> u64 {
        self.now
    }

    /// A full queue (the tx lcore is behind) costs the packet, counted.
    #[inline(always)]
    fn accept(&mut self, a: Arrival, c: &mut RxCounters) {
        match self.queue.push(a) {
            Ok(()) => self.pushed += 1,
            Err(a) => {
                c.handoff_full += 1;
                self.free.push(a.mbuf);
            }
        }
    }

    #[inline(always)]
    fn discard(&mut self, m: Mbuf) {
        self.free.push(m);
    }
}

/// The tx lcore: takes judged packets from every queue, merges, rewrites
/// and transmits; after stop, waits for the rx lcores, drains the queues
/// and the engine, and publishes its final counters. Between two rounds
/// of the queues it applies the swap a reload queued (merge worker 0).
pub fn tx_loop(
    plans: &Generations,
    shared: &Shared,
    handoff: &Handoff,
    txq: TxQueue<'_, '_>,
    mut out_rx: Option<RxQueue<'_, '_>>,
    pool: &Mempool<'_>,
) -> Result<(), String> {
    let plan = plans.first();
    let mut engine = Shelves::new(plan.engine()?, plan.shards.members(0), &shared.layout);
    let mut tx = TxState::new(plan, shared, txq, Some(PoolWatch::new(pool, plan)));
    tx.reloadable(plans.identity());
    let mut reload = WorkerEnd::new(plans, 0);
    let mut batch = RxBatch::new(plan.burst);
    let mut scratch = vec![0u64; LatencyHistogram::WORDS];
    let mut requests = Requests::default();
    let lanes = handoff.queues.len();
    loop {
        // Read before draining: if every rx lcore had finished, nothing
        // can be pushed after the drain below.
        let finished = shared.stopping() && handoff.rx_done.load(Ordering::Acquire) == lanes;
        let mut took = 0;
        for (q, taken) in handoff.queues.iter().zip(&handoff.taken) {
            let mut n = 0;
            for _ in 0..plan.burst {
                let Some(a) = q.pop() else { break };
                n += 1;
                // The engine wants time that never goes back; rx lcores'
                // stamps interleave, so keep the running maximum.
                tx.advance_to(&mut engine, a.rx_tsc);
                let now = tx.now();
                if let Some(m) = engine.accept(a, now, &mut tx) {
                    tx.unrouted(m);
                }
            }
            if n > 0 {
                // Merged above: what the rx lcore may count as taken.
                // (One writer: a plain store, no locked instruction.)
                taken.store(taken.load(Ordering::Relaxed) + n, Ordering::Release);
                took += n;
            }
        }
        tx.service(&mut engine, &mut out_rx, &mut batch);
        if requests.due(shared) {
            tx.publish(&engine, &mut scratch);
            shared.board.commit();
        }
        reload.apply((&mut engine, &mut tx), None, shared, &mut scratch);
        if finished && took == 0 {
            break;
        }
    }
    tx.finish(&mut engine, &mut scratch);
    shared.board.commit();
    Ok(())
}
