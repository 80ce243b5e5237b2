//! `--forward-mode io`: a plain port-to-port burst forwarder (testpmd's io
//! mode). It proves the FFI path end to end and gives the baseline figure
//! the merge workers are compared with.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::dpdk::{pause, DpdkError, Port, RxBatch, TxBatch};

/// How many consecutive tx bursts may send nothing before the rest of the
/// batch is dropped (bounded, like testpmd's `--tx-retry`): a stuck output
/// must not stall the input.
pub const TX_RETRIES: u32 = 64;

/// Counters of one [`io_forward`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Packets received on the input port.
    pub rx: u64,
    /// Packets accepted by the output port.
    pub tx: u64,
    /// Packets the output refused after [`TX_RETRIES`]; freed.
    pub dropped: u64,
    /// Rx bursts that returned at least one packet.
    pub bursts: u64,
}

/// Forwards everything from `rx` (queue 0) to `tx` (queue 0), `burst`
/// packets at a time (1..=64), until `stop` is set. Both ports must be
/// started; queue 0 of each must not be claimed elsewhere (error otherwise).
/// Unsent packets are freed, so the pool drains back to idle when it returns.
pub fn io_forward(
    rx: &Port<'_>,
    tx: &Port<'_>,
    burst: usize,
    stop: &AtomicBool,
) -> Result<IoStats, DpdkError> {
    let mut rxq = rx.rx_queue(0)?;
    let mut txq = tx.tx_queue(0)?;
    let mut inb = RxBatch::new(burst);
    let mut out = TxBatch::new(burst);
    let mut st = IoStats::default();
    while !stop.load(Ordering::Relaxed) {
        let n = rxq.rx_burst(&mut inb);
        if n == 0 {
            pause();
            continue;
        }
        st.rx += n as u64;
        st.bursts += 1;
        // Same burst size on both sides and `out` is empty here: every push
        // fits; a refusal would only drop the packet (freed by its Drop).
        for m in &mut inb {
            if out.push(m).is_err() {
                st.dropped += 1;
            }
        }
        let mut idle = 0;
        while !out.is_empty() && idle < TX_RETRIES {
            let sent = txq.tx_burst(&mut out);
            if sent == 0 {
                idle += 1;
            }
            st.tx += sent as u64;
        }
        st.dropped += out.free_all() as u64;
    }
    Ok(st)
}
