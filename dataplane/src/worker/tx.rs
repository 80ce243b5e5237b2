//! The transmit stage: the merge engine's [`Sink`] on a real port.

use std::sync::atomic::Ordering;

use super::io::TX_RETRIES;
use super::layout::TxCounters;
use super::plan::{Shared, StreamEvent, StreamPlan};
use crate::dpdk::{FreeBatch, Mbuf, TxBatch, TxQueue};
use crate::merge::{Event, FreeReason, SendInfo, Sink};
use crate::rewrite::RtpRenumber;
use crate::stats::LatencyHistogram;

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

/// Per-stream output state that changes while running.
#[derive(Debug)]
pub struct StreamOut {
    /// Output RTP renumbering, when configured.
    pub renumber: Option<RtpRenumber>,
}

impl StreamOut {
    /// Output state for each stream of a plan.
    pub fn for_streams(streams: &[StreamPlan]) -> Vec<StreamOut> {
        streams
            .iter()
            .map(|s| StreamOut {
                renumber: s.renumber.then(|| RtpRenumber::new(None)),
            })
            .collect()
    }
}

/// Everything the tx side owns, apart from the engine itself.
pub struct TxState<'q, 'p, 'a> {
    /// Output queue.
    pub txq: TxQueue<'p, 'a>,
    /// Packets waiting for the next tx burst.
    pub batch: TxBatch,
    /// Packets waiting to be bulk-freed.
    pub free: FreeBatch,
    /// Per-stream output state.
    pub outs: Vec<StreamOut>,
    /// Residence time (rx TSC to tx), nanoseconds.
    pub latency: LatencyHistogram,
    /// Counters.
    pub counters: TxCounters,
    /// Conversion for the histogram.
    pub to_ns: TicksToNs,
    /// Stream plans (rewriters).
    pub streams: &'q [StreamPlan],
    /// Where events go.
    pub shared: &'q Shared,
    /// TSC of "now" for latency (set before each engine call).
    pub now: u64,
}

impl TxState<'_, '_, '_> {
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
    }
}

impl Sink<Mbuf> for TxState<'_, '_, '_> {
    #[inline]
    fn send(&mut self, stream: usize, mut m: Mbuf, info: SendInfo) {
        let (Some(plan), Some(out)) = (self.streams.get(stream), self.outs.get_mut(stream)) else {
            self.counters.rewrite_errors += 1;
            self.free.push(m);
            return;
        };
        if let Some(r) = out.renumber.as_mut() {
            if r.apply(&mut m, info.ext_seq, info.epoch).is_err() {
                self.counters.rewrite_errors += 1;
                self.free.push(m);
                return;
            }
        }
        if plan.rewriter.apply(&mut m).is_err() {
            self.counters.rewrite_errors += 1;
            self.free.push(m);
            return;
        }
        self.latency
            .record(self.to_ns.ns(self.now.saturating_sub(info.rx_time)));
        self.counters.bytes += m.len() as u64;
        if let Err(m) = self.batch.push(m) {
            self.flush();
            if let Err(m) = self.batch.push(m) {
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

    fn event(&mut self, stream: usize, event: Event) {
        self.shared.push_event(StreamEvent { stream, event });
    }
}

/// Publishes when the main lcore asked for it; returns the request served.
pub fn publish_requested(shared: &Shared, served: u64) -> Option<u64> {
    let want = shared.publish_request.load(Ordering::Relaxed);
    (want != served).then_some(want)
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
