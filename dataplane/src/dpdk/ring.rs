//! Single-producer/single-consumer mbuf rings (`rte_ring`, SP/SC): the
//! lock-free handoff of packets between an rx lcore and a tx lcore.

use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use super::burst::{RxBatch, TxBatch};
use super::eal::Eal;
use super::error::DpdkError;
use super::mbuf::Mbuf;

/// A ring of owned mbufs. One [`RingProducer`] and one [`RingConsumer`] can
/// be taken from it (each once at a time), since SP/SC rings allow exactly
/// one thread per side. Mbufs still inside are freed when the ring drops.
pub struct MbufRing<'eal> {
    r: NonNull<dpdk_sys::rte_ring>,
    producer_taken: AtomicBool,
    consumer_taken: AtomicBool,
    _eal: PhantomData<&'eal Eal>,
}

// SAFETY: rte_ring is shared memory designed for cross-lcore use; the SP/SC
// discipline is enforced by the one-handle-per-side claims.
unsafe impl Send for MbufRing<'_> {}
// SAFETY: as above; `&self` methods are the thread-safe count queries and
// the atomic claims.
unsafe impl Sync for MbufRing<'_> {}

impl<'eal> MbufRing<'eal> {
    /// Creates a ring holding up to `capacity` mbufs on NUMA `socket`
    /// (`SOCKET_ANY` for any). `name` must be unique in the EAL.
    pub fn new(
        _eal: &'eal Eal,
        name: &str,
        capacity: u32,
        socket: i32,
    ) -> Result<MbufRing<'eal>, DpdkError> {
        let cname = CString::new(name)
            .map_err(|_| DpdkError::InvalidArgument(format!("ring name {name:?}")))?;
        let flags = dpdk_sys::RING_F_SP_ENQ | dpdk_sys::RING_F_SC_DEQ | dpdk_sys::RING_F_EXACT_SZ;
        // SAFETY: EAL is live; DPDK copies the name and validates capacity.
        let r = unsafe { dpdk_sys::rte_ring_create(cname.as_ptr(), capacity, socket, flags) };
        let r = NonNull::new(r).ok_or_else(|| {
            DpdkError::from_rte_errno(format!("rte_ring_create({name}, capacity={capacity})"))
        })?;
        Ok(MbufRing {
            r,
            producer_taken: AtomicBool::new(false),
            consumer_taken: AtomicBool::new(false),
            _eal: PhantomData,
        })
    }

    /// The enqueue side (error if already taken).
    pub fn producer(&self) -> Result<RingProducer<'_, 'eal>, DpdkError> {
        if self.producer_taken.swap(true, Ordering::AcqRel) {
            return Err(DpdkError::InvalidArgument(
                "ring producer already taken".into(),
            ));
        }
        Ok(RingProducer { ring: self })
    }

    /// The dequeue side (error if already taken).
    pub fn consumer(&self) -> Result<RingConsumer<'_, 'eal>, DpdkError> {
        if self.consumer_taken.swap(true, Ordering::AcqRel) {
            return Err(DpdkError::InvalidArgument(
                "ring consumer already taken".into(),
            ));
        }
        Ok(RingConsumer { ring: self })
    }

    /// Mbufs waiting in the ring.
    pub fn count(&self) -> u32 {
        // SAFETY: live ring; reads two indices.
        unsafe { dpdk_sys::shim_rte_ring_count(self.r.as_ptr()) }
    }

    /// Free slots.
    pub fn free_count(&self) -> u32 {
        // SAFETY: live ring; reads two indices.
        unsafe { dpdk_sys::shim_rte_ring_free_count(self.r.as_ptr()) }
    }
}

impl Drop for MbufRing<'_> {
    fn drop(&mut self) {
        // No handle is alive (they borrow self): drain, then free.
        let mut rest = RxBatch::new(super::burst::MAX_BURST);
        loop {
            let slot = rest.fill_slot();
            // SAFETY: exclusive access (&mut self); slot has room for
            // slot.len() pointers, all of which were owned mbufs.
            let n = unsafe {
                dpdk_sys::shim_rte_ring_dequeue_burst(
                    self.r.as_ptr(),
                    slot.as_mut_ptr() as *mut *mut c_void,
                    slot.len() as u32,
                )
            } as usize;
            if n == 0 {
                break;
            }
            rest.filled(n);
            rest.free_all();
        }
        // SAFETY: live ring, now empty and unused.
        unsafe { dpdk_sys::rte_ring_free(self.r.as_ptr()) };
    }
}

/// The single producer of an [`MbufRing`].
pub struct RingProducer<'r, 'eal> {
    ring: &'r MbufRing<'eal>,
}

// SAFETY: the only enqueuer of its ring; may move to another lcore.
unsafe impl Send for RingProducer<'_, '_> {}

impl RingProducer<'_, '_> {
    /// Moves as many packets from the front of `batch` into the ring as fit;
    /// the rest stay in the batch. Returns how many moved.
    #[inline(always)]
    pub fn enqueue_burst(&mut self, batch: &mut TxBatch) -> usize {
        let pending = batch.pending();
        if pending.is_empty() {
            return 0;
        }
        // SAFETY: sole producer; pending holds owned mbufs; the ring takes
        // ownership of the first n, which `consumed` forgets.
        let n = unsafe {
            dpdk_sys::shim_rte_ring_enqueue_burst(
                self.ring.r.as_ptr(),
                pending.as_ptr() as *const *mut c_void,
                pending.len() as u32,
            )
        } as usize;
        batch.consumed(n);
        n
    }

    /// Enqueues one packet; gives it back if the ring is full.
    #[inline(always)]
    pub fn enqueue(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        let p = m.as_ptr() as *mut c_void;
        // SAFETY: sole producer; on success the ring owns the mbuf.
        let n = unsafe { dpdk_sys::shim_rte_ring_enqueue_burst(self.ring.r.as_ptr(), &p, 1) };
        if n == 1 {
            let _ = m.into_raw();
            Ok(())
        } else {
            Err(m)
        }
    }
}

impl Drop for RingProducer<'_, '_> {
    fn drop(&mut self) {
        self.ring.producer_taken.store(false, Ordering::Release);
    }
}

/// The single consumer of an [`MbufRing`].
pub struct RingConsumer<'r, 'eal> {
    ring: &'r MbufRing<'eal>,
}

// SAFETY: the only dequeuer of its ring; may move to another lcore.
unsafe impl Send for RingConsumer<'_, '_> {}

impl RingConsumer<'_, '_> {
    /// Dequeues into the batch's free burst space; returns how many.
    #[inline(always)]
    pub fn dequeue_burst(&mut self, batch: &mut RxBatch) -> usize {
        let slot = batch.fill_slot();
        if slot.is_empty() {
            return 0;
        }
        // SAFETY: sole consumer; slot has room for slot.len() pointers; the
        // dequeued mbufs become owned by the batch.
        let n = unsafe {
            dpdk_sys::shim_rte_ring_dequeue_burst(
                self.ring.r.as_ptr(),
                slot.as_mut_ptr() as *mut *mut c_void,
                slot.len() as u32,
            )
        } as usize;
        batch.filled(n);
        n
    }
}

impl Drop for RingConsumer<'_, '_> {
    fn drop(&mut self) {
        self.ring.consumer_taken.store(false, Ordering::Release);
    }
}
