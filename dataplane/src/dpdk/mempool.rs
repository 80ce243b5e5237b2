//! Packet-buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

use super::eal::{Eal, MEMORY_PINNED};
use super::error::DpdkError;
use super::mbuf::Mbuf;

/// "Any NUMA socket" for [`Mempool::pktmbuf`].
pub const SOCKET_ANY: i32 = dpdk_sys::SOCKET_ID_ANY;

/// Default mbuf data room: 2048 B of packet + the 128 B headroom.
pub const DEFAULT_DATA_ROOM: u16 = dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

/// A pool of packet buffers. Rx queues fill from it; every [`Mbuf`] goes
/// back to it when dropped.
///
/// Drop order: drop the ports using it first (their `Drop` stops and closes
/// them, which returns the mbufs parked in rx rings), then the pool, then the
/// EAL. If mbufs are still out when the pool is dropped, the pool is leaked
/// rather than freed under them (logged, and the EAL then skips
/// `rte_eal_cleanup`), so a late `Mbuf` drop stays memory-safe.
pub struct Mempool<'eal> {
    mp: NonNull<dpdk_sys::rte_mempool>,
    name: String,
    _eal: PhantomData<&'eal Eal>,
}

// SAFETY: DPDK mempools are multi-producer/multi-consumer safe (default ring
// ops); the handle is just a pointer to shared memory.
unsafe impl Send for Mempool<'_> {}
// SAFETY: as above; all `&self` methods are thread-safe DPDK calls.
unsafe impl Sync for Mempool<'_> {}

impl<'eal> Mempool<'eal> {
    /// Creates a pool of `n` mbufs (best `2^k - 1`), with a per-lcore cache
    /// of `cache` (0 or <= 512 and <= n / 1.5), each with `data_room` bytes
    /// (headroom included, e.g. [`DEFAULT_DATA_ROOM`]) on NUMA `socket`
    /// ([`SOCKET_ANY`] for any). `name` must be unique in the EAL.
    pub fn pktmbuf(
        _eal: &'eal Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool<'eal>, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::InvalidArgument(format!("mempool name {name:?}")))?;
        if n == 0 {
            return Err(DpdkError::InvalidArgument(format!(
                "mempool {name}: zero mbufs"
            )));
        }
        // SAFETY: EAL is live (borrowed); cname is a valid C string DPDK
        // copies; the numeric arguments are validated by DPDK.
        let mp = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket)
        };
        let mp = NonNull::new(mp).ok_or_else(|| {
            DpdkError::from_rte_errno(format!(
                "rte_pktmbuf_pool_create({name}, n={n}, cache={cache}, data_room={data_room})"
            ))
        })?;
        Ok(Mempool {
            mp,
            name: name.to_owned(),
            _eal: PhantomData,
        })
    }

    /// The name it was created with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Mbufs currently handed out (in rx rings, in flight, held by the app).
    /// Back to 0 when everything has been freed: the leak check.
    pub fn in_use(&self) -> u32 {
        // SAFETY: mp is a live mempool.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.mp.as_ptr()) }
    }

    /// Mbufs available (in the pool and in lcore caches).
    pub fn avail(&self) -> u32 {
        // SAFETY: mp is a live mempool.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.mp.as_ptr()) }
    }

    /// Total number of mbufs in the pool.
    pub fn size(&self) -> u32 {
        // SAFETY: mp is live; `size` is set at creation and never changes.
        unsafe { (*self.mp.as_ptr()).size }
    }

    /// Allocates one mbuf (empty, default headroom); `None` when exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: mp is a live pktmbuf pool.
        let m = unsafe { dpdk_sys::shim_rte_pktmbuf_alloc(self.mp.as_ptr()) };
        // SAFETY: a freshly allocated mbuf is exclusively ours.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m) })
    }

    /// Raw pointer, for `rte_eth_rx_queue_setup`.
    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.mp.as_ptr()
    }
}

impl Drop for Mempool<'_> {
    fn drop(&mut self) {
        let in_use = self.in_use();
        if in_use != 0 {
            log::warn!(
                "mempool {}: {in_use} mbufs still in use at drop; leaking the pool",
                self.name
            );
            MEMORY_PINNED.store(true, Ordering::Release);
            return;
        }
        // SAFETY: no mbuf of this pool is outstanding and no port references
        // it any more (ports borrowing it were dropped first).
        unsafe { dpdk_sys::rte_mempool_free(self.mp.as_ptr()) };
    }
}
