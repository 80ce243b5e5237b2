//! Copying a worker's counters onto the stats board.

use std::sync::atomic::Ordering;

use super::layout::{RxCounters, TxCounters};
use super::plan::Shared;
use super::reload::MergeSet;
use super::tx::{StreamOut, TicksToNs};
use crate::stats::LatencyHistogram;

/// Publishes input counters `rx` for inputs `first..first + rx.len()`,
/// as counted on rx queue `lane` of each.
pub fn rx(shared: &Shared, (first, lane): (usize, usize), rx: &[RxCounters]) {
    for (i, c) in rx.iter().enumerate() {
        shared.layout.put_rx(&shared.board, (first + i, lane), c);
    }
}

/// Publishes merge worker `worker`'s tx side: its counters and latency
/// histogram in its own slot, and every stream of its engine at the plan
/// index `ids[i]` of engine index `i`, with its residence from `outs`
/// (indexed as the engine's sink names streams). `scratch` holds
/// [`LatencyHistogram::WORDS`] words so this never allocates.
pub fn tx(
    shared: &Shared,
    (worker, ids): (usize, &[u32]),
    tx: &TxCounters,
    latency: &LatencyHistogram,
    (engine, outs): (&impl MergeSet, &[StreamOut]),
    to_ns: TicksToNs,
    scratch: &mut [u64],
) {
    let l = &shared.layout;
    l.put_tx(&shared.board, worker, tx);
    l.put_latency(&shared.board, worker, latency, scratch);
    engine.publish_streams(shared, ids, outs, to_ns);
}

/// Which of the main lcore's publish requests a worker last served.
///
/// Why: the main lcore asks for fresh figures by bumping
/// `Shared::publish_request`; each worker checks once per loop (one
/// relaxed load) and publishes only when the number moved, so publishing
/// costs nothing between requests and needs no lock.
#[derive(Debug, Default)]
pub struct Requests {
    served: u64,
}

impl Requests {
    /// True (once) when the main lcore asked for a publication since the
    /// last one this worker served.
    #[inline]
    pub fn due(&mut self, shared: &Shared) -> bool {
        let want = shared.publish_request.load(Ordering::Relaxed);
        if want == self.served {
            return false;
        }
        self.served = want;
        true
    }
}
