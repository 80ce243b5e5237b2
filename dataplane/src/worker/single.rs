//! One worker lcore does everything: rx on every input, merge, tx.
//!
//! This is the layout of a 2-core machine (`--nb-cores 1`): the main lcore
//! keeps the stats and the signals, the worker runs this loop.

use super::layout::RxCounters;
use super::plan::Shared;
use super::poll::{RxStage, RxTarget};
use super::pool_watch::PoolWatch;
use super::publish::Requests;
use super::reload::{Generations, Shelves, WorkerEnd};
use super::rx::{Arrival, ControlRing};
use super::tx::TxState;
use crate::dpdk::{prefetch, Mbuf, Mempool, RxQueue, TxQueue};
use crate::stats::LatencyHistogram;

/// Runs the merge on this lcore until `shared.stop`, then drains: every
/// held packet is sent in order or freed, the tx batch flushed, and the
/// final counters published. `rxqs[i]` must be the queue of
/// `plan.inputs[i]` and `ctl[i]` the ring to its membership host, if any;
/// `out_rx`, when given, is drained and freed; `pool` is the packet pool,
/// watched so the merge sheds before it runs dry.
///
/// Live reload: between two polls it applies the [`super::reload::Swap`]
/// the main lcore queued in `plans`, if any (see [`super::reload`]).
pub fn run(
    plans: &Generations,
    shared: &Shared,
    mut rxqs: Vec<RxQueue<'_, '_>>,
    mut ctl: Vec<ControlRing<'_, '_>>,
    txq: TxQueue<'_, '_>,
    mut out_rx: Option<RxQueue<'_, '_>>,
    pool: &Mempool<'_>,
) -> Result<(), String> {
    ctl.resize_with(rxqs.len(), || None);
    let mut plan = plans.first();
    let mut inline = Inline {
        engine: Shelves::new(plan.engine()?, plan.shards.members(0), &shared.layout),
        tx: TxState::new(plan, shared, txq, Some(PoolWatch::new(pool, plan))),
    };
    inline.tx.reloadable(plans.identity());
    let mut rx = RxStage::new(plan, 0, rxqs.len());
    let mut scratch = vec![0u64; LatencyHistogram::WORDS];
    let mut requests = Requests::default();
    let mut reload = WorkerEnd::new(plans, 0);

    while !shared.stopping() {
        rx.poll(plan, (&mut rxqs, pool), &mut ctl, &mut inline);
        let Inline { engine, tx } = &mut inline;
        tx.service(engine, &mut out_rx, rx.scratch());
        if requests.due(shared) {
            rx.publish(shared);
            tx.publish(engine, &mut scratch);
            shared.board.commit();
        }
        if let Some(next) = reload.service((engine, tx), &mut rx, shared, &mut scratch) {
            plan = next;
        }
    }

    let Inline { engine, tx } = &mut inline;
    tx.finish(engine, &mut scratch);
    rx.publish(shared);
    shared.board.commit();
    Ok(())
}

/// The one-lcore target: each judged packet meets the engine at once.
struct Inline<'q, 'p, 'a> {
    engine: Shelves,
    tx: TxState<'q, 'p, 'a>,
}

impl RxTarget for Inline<'_, '_, '_> {
    #[inline(always)]
    fn burst_arrived(&mut self) {
        self.tx.tick();
    }

    /// Fires the deadlines due before `t` first, so the packet meets the
    /// engine in the state it had at `t`.
    #[inline(always)]
    fn packet_time(&mut self, t: u64) {
        self.tx.advance_to(&mut self.engine, t);
    }

    #[inline(always)]
    fn now(&self) -> u64 {
        self.tx.now()
    }

    #[inline(always)]
    fn accept(&mut self, a: Arrival, _c: &mut RxCounters) {
        let now = self.tx.now();
        if let Some(m) = self.engine.accept(a, now, &mut self.tx) {
            self.tx.unrouted(m);
        }
    }

    #[inline(always)]
    fn prefetch_state(&self, a: &Arrival) {
        self.engine.prefetch_state(a, prefetch);
        self.tx.prefetch(a.route.stream as usize);
    }

    #[inline(always)]
    fn prefetch_slots(&self, a: &Arrival) {
        self.engine.prefetch_slots(a, prefetch);
    }

    #[inline(always)]
    fn discard(&mut self, m: Mbuf) {
        self.tx.discard(m);
    }
}
