//! Single-producer/single-consumer rings of owned values (`rte_ring` with
//! elements, SP/SC): the lock-free, bursted handoff of judged packets from
//! the lcore that polled them to the worker that owns their stream.
//!
//! Why values rather than mbuf pointers ([`super::MbufRing`]): what the rx
//! stage learnt about a packet (its stream, leg, sequence sample, checksum
//! verdict, rx time) travels with it, so the owner neither parses it again
//! nor needs room in the mbuf for it. A burst moves with one index update
//! on each side, not one atomic operation per packet.

use std::ffi::CString;
use std::marker::PhantomData;
use std::os::raw::c_void;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use super::eal::Eal;
use super::error::DpdkError;

/// A ring of owned `T`. One [`ElemProducer`] and one [`ElemConsumer`] can
/// be taken from it (each once at a time), as SP/SC rings allow exactly one
/// thread per side. Values still inside are dropped (their mbufs freed)
/// when the ring drops.
pub struct ElemRing<'eal, T> {
    r: NonNull<dpdk_sys::rte_ring>,
    producer_taken: AtomicBool,
    consumer_taken: AtomicBool,
    _values: PhantomData<T>,
    _eal: PhantomData<&'eal Eal>,
}

// SAFETY: rte_ring is shared memory designed for cross-lcore use; the
// values it holds are `Send`, and the SP/SC discipline is enforced by the
// one-handle-per-side claims.
unsafe impl<T: Send> Send for ElemRing<'_, T> {}
// SAFETY: as above; `&self` methods are the count query and the atomic
// claims.
unsafe impl<T: Send> Sync for ElemRing<'_, T> {}

/// DPDK's element size for `T` (it copies elements in 4-byte units).
const fn elem_size<T>() -> usize {
    std::mem::size_of::<T>()
}

impl<'eal, T: Send> ElemRing<'eal, T> {
    /// Creates a ring holding up to `capacity` values on NUMA `socket`
    /// (`SOCKET_ANY` for any). `name` must be unique in the EAL. `T`'s size
    /// must be a non-zero multiple of 4 bytes (DPDK's element unit).
    pub fn new(
        _eal: &'eal Eal,
        name: &str,
        capacity: u32,
        socket: i32,
    ) -> Result<ElemRing<'eal, T>, DpdkError> {
        let esize = elem_size::<T>();
        if esize == 0 || !esize.is_multiple_of(4) {
            return Err(DpdkError::InvalidArgument(format!(
                "ring {name}: element size {esize} is not a non-zero multiple of 4"
            )));
        }
        let cname = CString::new(name)
            .map_err(|_| DpdkError::InvalidArgument(format!("ring name {name:?}")))?;
        let flags = dpdk_sys::RING_F_SP_ENQ | dpdk_sys::RING_F_SC_DEQ | dpdk_sys::RING_F_EXACT_SZ;
        // SAFETY: EAL is live; DPDK copies the name and validates the
        // element size and capacity.
        let r = unsafe {
            dpdk_sys::rte_ring_create_elem(cname.as_ptr(), esize as u32, capacity, socket, flags)
        };
        let r = NonNull::new(r).ok_or_else(|| {
            DpdkError::from_rte_errno(format!(
                "rte_ring_create_elem({name}, esize={esize}, capacity={capacity})"
            ))
        })?;
        Ok(ElemRing {
            r,
            producer_taken: AtomicBool::new(false),
            consumer_taken: AtomicBool::new(false),
            _values: PhantomData,
            _eal: PhantomData,
        })
    }

    /// The enqueue side (error if already taken).
    pub fn producer(&self) -> Result<ElemProducer<'_, 'eal, T>, DpdkError> {
        if self.producer_taken.swap(true, Ordering::AcqRel) {
            return Err(DpdkError::InvalidArgument(
                "ring producer already taken".into(),
            ));
        }
        Ok(ElemProducer { ring: self })
    }

    /// The dequeue side (error if already taken).
    pub fn consumer(&self) -> Result<ElemConsumer<'_, 'eal, T>, DpdkError> {
        if self.consumer_taken.swap(true, Ordering::AcqRel) {
            return Err(DpdkError::InvalidArgument(
                "ring consumer already taken".into(),
            ));
        }
        Ok(ElemConsumer { ring: self })
    }

    /// Values waiting in the ring.
    pub fn count(&self) -> u32 {
        // SAFETY: live ring; reads two indices.
        unsafe { dpdk_sys::shim_rte_ring_count(self.r.as_ptr()) }
    }

    /// Moves up to `max` values (bounded by `out`'s spare capacity) from
    /// the ring to the end of `out`. Callers hold the consumer claim or
    /// `&mut self`.
    #[inline(always)]
    fn dequeue_into(&self, out: &mut Vec<T>, max: usize) -> usize {
        let room = (out.capacity() - out.len()).min(max);
        if room == 0 {
            return 0;
        }
        let len = out.len();
        // SAFETY: the caller is the only consumer; `out` has room for
        // `room` values after its `len` initialised ones; the ring holds
        // values written whole by `enqueue_burst` (each a valid `T` that was
        // forgotten there), and DPDK copies `esize` bytes per value, so each
        // copied value is a valid `T` now owned by `out` alone.
        unsafe {
            let n = dpdk_sys::shim_rte_ring_dequeue_burst_elem(
                self.r.as_ptr(),
                out.as_mut_ptr().add(len) as *mut c_void,
                elem_size::<T>() as u32,
                room as u32,
            ) as usize;
            out.set_len(len + n);
            n
        }
    }
}

impl<T> Drop for ElemRing<'_, T> {
    fn drop(&mut self) {
        // No handle is alive (they borrow self): drop what is left, then
        // free the ring.
        let mut rest: Vec<T> = Vec::with_capacity(64);
        loop {
            let len = rest.len();
            // SAFETY: exclusive access (&mut self); as in `dequeue_into`.
            let n = unsafe {
                dpdk_sys::shim_rte_ring_dequeue_burst_elem(
                    self.r.as_ptr(),
                    rest.as_mut_ptr().add(len) as *mut c_void,
                    elem_size::<T>() as u32,
                    (rest.capacity() - len) as u32,
                )
            } as usize;
            if n == 0 {
                break;
            }
            // SAFETY: DPDK wrote `n` whole values after `len`.
            unsafe { rest.set_len(len + n) };
            rest.clear();
        }
        // SAFETY: live ring, now empty and unused.
        unsafe { dpdk_sys::rte_ring_free(self.r.as_ptr()) };
    }
}

/// The single producer of an [`ElemRing`].
pub struct ElemProducer<'r, 'eal, T> {
    ring: &'r ElemRing<'eal, T>,
}

// SAFETY: the only enqueuer of its ring; may move to another lcore with
// the values it hands over (`T: Send`).
unsafe impl<T: Send> Send for ElemProducer<'_, '_, T> {}

impl<T: Send> ElemProducer<'_, '_, T> {
    /// Moves as many values from the front of `items` into the ring as fit
    /// (one burst); the rest stay in `items`, in order. Returns how many
    /// moved.
    #[inline(always)]
    pub fn enqueue_burst(&mut self, items: &mut Vec<T>) -> usize {
        let len = items.len();
        if len == 0 {
            return 0;
        }
        // SAFETY: sole producer; DPDK copies the first `n` values whole into
        // the ring, which from then on owns them: they are removed from
        // `items` without being dropped (the length is cut first, then the
        // `len - n` values left are moved to the front).
        unsafe {
            let n = dpdk_sys::shim_rte_ring_enqueue_burst_elem(
                self.ring.r.as_ptr(),
                items.as_ptr() as *const c_void,
                elem_size::<T>() as u32,
                len as u32,
            ) as usize;
            items.set_len(0);
            std::ptr::copy(items.as_ptr().add(n), items.as_mut_ptr(), len - n);
            items.set_len(len - n);
            n
        }
    }
}

impl<T> ElemProducer<'_, '_, T> {
    /// Free slots: a burst of at most this many values fits whole.
    #[inline(always)]
    pub fn free_count(&self) -> u32 {
        // SAFETY: live ring; reads two indices.
        unsafe { dpdk_sys::shim_rte_ring_free_count(self.ring.r.as_ptr()) }
    }
}

impl<T> Drop for ElemProducer<'_, '_, T> {
    fn drop(&mut self) {
        self.ring.producer_taken.store(false, Ordering::Release);
    }
}

/// The single consumer of an [`ElemRing`].
pub struct ElemConsumer<'r, 'eal, T> {
    ring: &'r ElemRing<'eal, T>,
}

// SAFETY: the only dequeuer of its ring; may move to another lcore.
unsafe impl<T: Send> Send for ElemConsumer<'_, '_, T> {}

impl<T: Send> ElemConsumer<'_, '_, T> {
    /// Moves up to `max` values (bounded by `out`'s spare capacity, so
    /// this never allocates) to the end of `out`; returns how many.
    #[inline(always)]
    pub fn dequeue_burst(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        self.ring.dequeue_into(out, max)
    }
}

impl<T> Drop for ElemConsumer<'_, '_, T> {
    fn drop(&mut self) {
        self.ring.consumer_taken.store(false, Ordering::Release);
    }
}
