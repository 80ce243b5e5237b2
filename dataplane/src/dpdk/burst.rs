//! Fixed-size burst containers for the hot path: no allocation, and no mbuf
//! leaks whichever way they are dropped.

use std::ptr::{self, NonNull};

use dpdk_sys::rte_mbuf;

use super::mbuf::Mbuf;

/// Largest burst a batch holds (testpmd's MAX_PKT_BURST is 512, but 32-64
/// is where rx/tx burst cost amortises); the same limit `--burst` enforces.
pub use model::limits::MAX_BURST;

/// Mbufs a [`FreeBatch`] collects before one `rte_pktmbuf_free_bulk`: the
/// mempool cache takes them in one go, and the batch stays small enough to
/// live in L1 next to the rx and tx batches.
pub const FREE_BULK: usize = 64;

/// Frees raw mbufs in one `rte_pktmbuf_free_bulk` call.
fn free_raw(ptrs: &mut [*mut rte_mbuf]) {
    if ptrs.is_empty() {
        return;
    }
    // SAFETY: every pointer is an owned, valid mbuf that is forgotten by its
    // container right after (callers reset their bounds).
    unsafe { dpdk_sys::rte_pktmbuf_free_bulk(ptrs.as_mut_ptr(), ptrs.len() as u32) };
}

fn check_burst(burst: usize) -> usize {
    burst.clamp(1, MAX_BURST)
}

/// Packets received by one rx burst (or dequeued from a ring), handed out
/// one by one as owned [`Mbuf`]s. Unconsumed ones are freed on drop.
pub struct RxBatch {
    ptrs: [*mut rte_mbuf; MAX_BURST],
    head: usize,
    len: usize,
    burst: usize,
}

// SAFETY: the batch owns the mbufs it points to (see `Mbuf: Send`).
unsafe impl Send for RxBatch {}

impl RxBatch {
    /// An empty batch that receives at most `burst` packets per call
    /// (clamped to 1..=[`MAX_BURST`]).
    pub fn new(burst: usize) -> RxBatch {
        RxBatch {
            ptrs: [ptr::null_mut(); MAX_BURST],
            head: 0,
            len: 0,
            burst: check_burst(burst),
        }
    }

    /// Packets not yet taken.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len - self.head
    }

    /// Whether every packet has been taken.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.head == self.len
    }

    /// The configured burst size.
    pub fn burst(&self) -> usize {
        self.burst
    }

    /// Prefetches the first cache line of the packet data `ahead` places
    /// after the next one to be taken (nothing if there is none).
    ///
    /// Why: parsing touches the headers right after the pop; on a NIC the
    /// DMA-written data is not yet in L1/L2, so asking for it a few packets
    /// early hides the miss (`--rx-prefetch`).
    #[inline(always)]
    pub fn prefetch_data(&self, ahead: usize) {
        let i = self.head + ahead;
        if i < self.len {
            // SAFETY: ptrs[head..len] are owned, valid mbufs from an rx
            // burst; mtod only computes an address and prefetch is a hint.
            unsafe {
                dpdk_sys::shim_rte_prefetch0(
                    dpdk_sys::shim_rte_pktmbuf_mtod(self.ptrs[i]) as *const _
                )
            };
        }
    }

    /// Takes the next packet (and prefetches the mbuf two places on).
    #[inline(always)]
    pub fn pop(&mut self) -> Option<Mbuf> {
        if self.head == self.len {
            return None;
        }
        let p = self.ptrs[self.head];
        self.head += 1;
        if self.head + 2 < self.len {
            // SAFETY: prefetch of an owned mbuf header; a pure hint.
            unsafe { dpdk_sys::shim_rte_prefetch0(self.ptrs[self.head + 2] as *const _) };
        }
        // SAFETY: pointers in head..len are owned, non-null mbufs put there by
        // a successful rx burst/dequeue; advancing `head` gives ownership away.
        Some(unsafe { Mbuf::from_raw(NonNull::new_unchecked(p)) })
    }

    /// Frees every packet not yet taken (one bulk call); returns how many.
    pub fn free_all(&mut self) -> usize {
        let n = self.len();
        free_raw(&mut self.ptrs[self.head..self.len]);
        self.head = 0;
        self.len = 0;
        n
    }

    /// Space for the next fill: moves untaken packets to the front and returns
    /// the free tail (up to `burst` entries in total).
    pub(crate) fn fill_slot(&mut self) -> &mut [*mut rte_mbuf] {
        if self.head > 0 {
            self.ptrs.copy_within(self.head..self.len, 0);
            self.len -= self.head;
            self.head = 0;
        }
        let end = self.burst.max(self.len);
        &mut self.ptrs[self.len..end]
    }

    /// Records `n` pointers written into the slot from `fill_slot`.
    pub(crate) fn filled(&mut self, n: usize) {
        debug_assert!(self.len + n <= MAX_BURST);
        self.len += n;
    }
}

impl Iterator for RxBatch {
    type Item = Mbuf;

    #[inline(always)]
    fn next(&mut self) -> Option<Mbuf> {
        self.pop()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl Drop for RxBatch {
    fn drop(&mut self) {
        self.free_all();
    }
}

/// Packets gathered for one tx burst (or ring enqueue). What the burst does
/// not take stays in the batch, in order, for a retry or [`TxBatch::free_all`];
/// dropping the batch frees it.
pub struct TxBatch {
    ptrs: [*mut rte_mbuf; MAX_BURST],
    len: usize,
    burst: usize,
}

// SAFETY: the batch owns the mbufs it points to.
unsafe impl Send for TxBatch {}

impl TxBatch {
    /// An empty batch holding at most `burst` packets (clamped to
    /// 1..=[`MAX_BURST`]).
    pub fn new(burst: usize) -> TxBatch {
        TxBatch {
            ptrs: [ptr::null_mut(); MAX_BURST],
            len: 0,
            burst: check_burst(burst),
        }
    }

    /// Adds a packet; gives it back when the batch is full.
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        if self.len == self.burst {
            return Err(m);
        }
        self.ptrs[self.len] = m.into_raw().as_ptr();
        self.len += 1;
        Ok(())
    }

    /// Packets waiting to be sent.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing waits.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `push` would refuse.
    #[inline(always)]
    pub fn is_full(&self) -> bool {
        self.len == self.burst
    }

    /// The configured burst size.
    pub fn burst(&self) -> usize {
        self.burst
    }

    /// Frees every waiting packet (one bulk call); returns how many.
    pub fn free_all(&mut self) -> usize {
        let n = self.len;
        free_raw(&mut self.ptrs[..n]);
        self.len = 0;
        n
    }

    /// The waiting packets, for a burst call that takes ownership of a prefix.
    pub(crate) fn pending(&mut self) -> &mut [*mut rte_mbuf] {
        &mut self.ptrs[..self.len]
    }

    /// Forgets the first `n` packets (now owned by whoever took them) and
    /// moves the rest to the front.
    pub(crate) fn consumed(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        self.ptrs.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

impl Drop for TxBatch {
    fn drop(&mut self) {
        self.free_all();
    }
}

/// Collects mbufs to free and returns them to their pools
/// [`FREE_BULK`] at a time with `rte_pktmbuf_free_bulk` (cheaper than one
/// `rte_pktmbuf_free` each). Flushes on drop.
pub struct FreeBatch {
    ptrs: [*mut rte_mbuf; FREE_BULK],
    len: usize,
}

// SAFETY: the batch owns the mbufs it points to.
unsafe impl Send for FreeBatch {}

impl Default for FreeBatch {
    fn default() -> Self {
        Self::new()
    }
}

impl FreeBatch {
    /// An empty batch.
    pub fn new() -> FreeBatch {
        FreeBatch {
            ptrs: [ptr::null_mut(); FREE_BULK],
            len: 0,
        }
    }

    /// Queues `m` for freeing; frees the lot when full.
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf) {
        if self.len == FREE_BULK {
            self.flush();
        }
        self.ptrs[self.len] = m.into_raw().as_ptr();
        self.len += 1;
    }

    /// Frees everything queued now.
    pub fn flush(&mut self) {
        free_raw(&mut self.ptrs[..self.len]);
        self.len = 0;
    }
}

impl Drop for FreeBatch {
    fn drop(&mut self) {
        self.flush();
    }
}
