//! The rx step every layout runs: poll each input, stamp the burst, judge
//! each packet and hand it on. Written once so the one-lcore, split and
//! shard layouts cannot drift apart; what differs (where a judged packet goes,
//! how time moves) is the [`RxTarget`] a layout passes in.

use super::classify::RouteCache;
use super::layout::RxCounters;
use super::plan::{Plan, Shared};
use super::publish;
use super::rx::{hand_over, is_port_wide, judge, unit_copies, Arrival, ControlRing, Rejected};
use crate::dpdk::{Mbuf, Mempool, RxBatch, RxQueue};

/// Where the rx step's results go, and whose clock it reads.
///
/// Why a trait: the one-lcore layout merges each packet at once (and,
/// under the capture clock, fires the deadlines due before it), while an
/// rx lcore of the split layout queues it for the tx lcore; the polling,
/// prefetching, judging and counting around them are the same.
pub trait RxTarget {
    /// A burst arrived under the TSC clock: read the TSC once for it.
    fn burst_arrived(&mut self);
    /// A packet carries capture time `t`: move the clock to it.
    fn packet_time(&mut self, t: u64);
    /// The time to stamp the next packet with.
    fn now(&self) -> u64;
    /// A judged packet, from the input counted in `c`.
    fn accept(&mut self, a: Arrival, c: &mut RxCounters);
    /// A packet that goes nowhere: freed in the next bulk free.
    fn discard(&mut self, m: Mbuf);
    /// The two-stage burst's first stage judged `a` (its merge comes after
    /// the rest of the burst is judged): a target that merges it here
    /// prefetches the stream state it will meet. Nothing by default.
    #[inline(always)]
    fn prefetch_state(&self, _a: &Arrival) {}
    /// The burst is judged and `a`'s state prefetched a while ago: a target
    /// that merges it here prefetches the slots it will meet (which needs
    /// that state to find). Nothing by default.
    #[inline(always)]
    fn prefetch_slots(&self, _a: &Arrival) {}
    /// Every packet of the burst from the input counted in `c` was handed
    /// on: a target that stages packets for another lcore passes them on
    /// here, one burst at a time (and counts what did not fit in `c`).
    #[inline(always)]
    fn burst_done(&mut self, _c: &mut RxCounters) {}
}

/// The rx side of a worker: its inputs' counters, its burst and its route
/// cache, allocated once.
pub struct RxStage {
    /// The plan index of this stage's first input.
    first: usize,
    /// The rx queue it polls on each input (its board lane).
    lane: usize,
    /// Counters of inputs `first..first + counters.len()`.
    counters: Vec<RxCounters>,
    /// The burst being judged.
    batch: RxBatch,
    /// Last classifier answer.
    cache: RouteCache,
    /// The copies of a port-wide PITCH heartbeat for the other unit
    /// streams of its group (see [`unit_copies`]; capacity reserved once).
    copies: Vec<Arrival>,
    /// The burst's judged packets waiting for their merge (TSC clock; see
    /// [`RxStage::poll`]); allocated once, empty between polls.
    judged: Vec<Arrival>,
}

impl RxStage {
    /// The rx side for `inputs` inputs of `plan` starting at `first`.
    pub fn new(plan: &Plan, first: usize, inputs: usize) -> Self {
        RxStage {
            first,
            lane: 0,
            counters: vec![RxCounters::default(); inputs],
            batch: RxBatch::new(plan.burst),
            cache: RouteCache::default(),
            copies: Vec::with_capacity(255),
            judged: Vec::with_capacity(plan.burst),
        }
    }

    /// The rx side polling rx queue `lane` of each input (flow steering:
    /// a worker's own queue), so its counters have their own board slot.
    pub fn on_lane(self, lane: usize) -> Self {
        RxStage { lane, ..self }
    }

    /// Polls each of `rxqs` once (`rxqs[i]` is input `first + i`, and
    /// `ctl[i]` the ring to its membership host) and hands every packet to
    /// `target`. Membership frames go to the host; everything else is
    /// judged, counted, and accepted or discarded. A port-wide PITCH
    /// heartbeat is accepted once per PITCH stream of its group (copies
    /// from `pool`, see [`unit_copies`]).
    ///
    /// Under the TSC clock a burst goes in stages: every packet is judged
    /// first and its stream state prefetched ([`RxTarget::prefetch_state`]),
    /// then the slots of each are prefetched, then each is accepted in
    /// arrival order. Why: with thousands of streams each packet meets
    /// state in no cache; one packet at a time, the misses come one after
    /// the other, while staged they overlap with the rest of the burst's
    /// work. Nothing else changes: "now" is one TSC reading per burst
    /// either way, and the packets meet the target in the same order.
    /// Under the capture clock each packet's time must move the clock (and
    /// fire the deadlines before it) before the next one is judged, so
    /// there each is judged and accepted in turn.
    #[inline]
    pub fn poll(
        &mut self,
        plan: &Plan,
        (rxqs, pool): (&mut [RxQueue<'_, '_>], &Mempool<'_>),
        ctl: &mut [ControlRing<'_, '_>],
        target: &mut impl RxTarget,
    ) {
        let capture = plan.clock.is_capture();
        let ahead = plan.rx_prefetch;
        for (i, (q, ring)) in rxqs.iter_mut().zip(ctl.iter_mut()).enumerate() {
            if q.rx_burst(&mut self.batch) == 0 {
                continue;
            }
            // TSC: one reading per burst. Capture clock: each packet's own
            // time (the last one seen if a packet carries none).
            if !capture {
                target.burst_arrived();
            }
            let c = &mut self.counters[i];
            c.bursts += 1;
            for k in 0..ahead {
                self.batch.prefetch_data(k);
            }
            while let Some(m) = self.batch.pop() {
                if ahead > 0 {
                    self.batch.prefetch_data(ahead - 1);
                }
                if let Some(t) = plan.clock.capture_time(&m) {
                    target.packet_time(t);
                }
                match judge(plan, self.first + i, m, target.now(), c, &mut self.cache) {
                    Ok(a) if is_port_wide(plan, &a) => {
                        // Rare: the burst's staged packets go first, so
                        // every packet still meets the target in order.
                        for a in self.judged.drain(..) {
                            target.accept(a, c);
                        }
                        unit_copies(plan, self.first + i, &a, pool, &mut self.copies);
                        target.accept(a, c);
                        for copy in self.copies.drain(..) {
                            target.accept(copy, c);
                        }
                    }
                    Ok(a) if capture => target.accept(a, c),
                    Ok(a) => {
                        target.prefetch_state(&a);
                        // Room for a whole burst, reserved at start-up.
                        self.judged.push(a);
                    }
                    Err(Rejected::Drop(m)) => target.discard(m),
                    Err(Rejected::Control(m)) => {
                        if let Some(m) = hand_over(ring, m, c) {
                            target.discard(m);
                        }
                    }
                }
            }
            for a in &self.judged {
                target.prefetch_slots(a);
            }
            for a in self.judged.drain(..) {
                target.accept(a, c);
            }
            target.burst_done(c);
        }
    }

    /// Copies this stage's input counters onto the board (the caller
    /// commits).
    pub fn publish(&self, shared: &Shared) {
        publish::rx(shared, (self.first, self.lane), &self.counters);
    }

    /// Live reload: the classifier changed, so the last route found may be
    /// stale (a removed or replaced stream's key).
    pub fn forget_routes(&mut self) {
        self.cache = RouteCache::default();
    }

    /// The burst buffer, empty between polls: scratch for draining the
    /// output port.
    pub fn scratch(&mut self) -> &mut RxBatch {
        &mut self.batch
    }
}
