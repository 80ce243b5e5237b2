//! One worker lcore does everything: rx on every input, merge, tx.
//!
//! This is the layout of a 2-core machine (`--nb-cores 1`): the main lcore
//! keeps the stats and the signals, the worker runs this loop.

use super::classify::RouteCache;
use super::layout::RxCounters;
use super::plan::{Plan, Shared};
use super::publish;
use super::rx::{hand_over, judge, merge, ControlRing, Rejected};
use super::tx::{self, publish_requested, TxState};
use crate::dpdk::{tsc, RxBatch, RxQueue, TxQueue};
use crate::stats::LatencyHistogram;

/// Runs the merge on this lcore until `shared.stop`, then drains: every
/// held packet is sent in order or freed, the tx batch flushed, and the
/// final counters published. `rxqs[i]` must be the queue of
/// `plan.inputs[i]` and `ctl[i]` the ring to its membership host, if any;
/// `out_rx`, when given, is drained and freed.
pub fn run(
    plan: &Plan,
    shared: &Shared,
    mut rxqs: Vec<RxQueue<'_, '_>>,
    mut ctl: Vec<ControlRing<'_, '_>>,
    txq: TxQueue<'_, '_>,
    mut out_rx: Option<RxQueue<'_, '_>>,
) -> Result<(), String> {
    ctl.resize_with(rxqs.len(), || None);
    let mut engine = tx::engine_for(plan)?;
    let mut tx = TxState::new(plan, shared, txq);
    let mut rxc = vec![RxCounters::default(); rxqs.len()];
    let mut batch = RxBatch::new(plan.burst);
    let mut cache = RouteCache::default();
    let mut scratch = vec![0u64; LatencyHistogram::WORDS];
    let mut served = 0u64;

    while !shared.stopping() {
        for (i, q) in rxqs.iter_mut().enumerate() {
            if q.rx_burst(&mut batch) == 0 {
                continue;
            }
            if !plan.clock.is_capture() {
                tx.now = tsc().max(tx.now);
            }
            rxc[i].bursts += 1;
            let ahead = plan.rx_prefetch;
            for k in 0..ahead {
                batch.prefetch_data(k);
            }
            while let Some(m) = batch.pop() {
                if ahead > 0 {
                    batch.prefetch_data(ahead - 1);
                }
                if let Some(t) = plan.clock.capture_time(&m) {
                    tx.advance_to(&mut engine, t);
                }
                let now = tx.now;
                match judge(plan, i, m, now, &mut rxc[i], &mut cache) {
                    Ok(a) => {
                        merge(&mut engine, a, now, &mut tx);
                    }
                    Err(Rejected::Drop(m)) => tx.free.push(m),
                    Err(Rejected::Control(m)) => {
                        if let Some(m) = hand_over(&mut ctl[i], m, &mut rxc[i]) {
                            tx.free.push(m);
                        }
                    }
                }
            }
        }
        tx.service(&mut engine, &mut out_rx, &mut batch);
        if let Some(req) = publish_requested(shared, served) {
            served = req;
            publish::rx(shared, 0, &rxc);
            tx.publish(&engine, &mut scratch);
            shared.board.commit();
        }
    }

    tx.finish(&mut engine, &mut scratch);
    publish::rx(shared, 0, &rxc);
    shared.board.commit();
    Ok(())
}
