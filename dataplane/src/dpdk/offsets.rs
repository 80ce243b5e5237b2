//! Where the rx parse found a packet's headers, stored in the packet's own
//! mbuf (a DPDK dynamic field) for the tx side.
//!
//! Why: the renumberer and the rewriter need the offsets of the IP and UDP
//! headers. Walking the headers again for each sent packet was the rx
//! parse written twice (and run up to three times per packet); the mbuf
//! travels through the merge anyway, and one 8-byte dynamic field next to
//! the fields the driver already wrote costs no extra cache line.

use std::os::raw::c_char;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::error::DpdkError;
use super::mbuf::Mbuf;
use crate::wire::FrameOffsets;

/// Offset of the field in `struct rte_mbuf`; `UNREGISTERED` until
/// [`register`] ran (at EAL init, before any lcore is launched, so the
/// relaxed loads on the lcores see it: thread launch orders them).
static FIELD: AtomicUsize = AtomicUsize::new(UNREGISTERED);
const UNREGISTERED: usize = usize::MAX;
const NAME: &[u8] = b"mcast_failover_frame_offsets\0";

/// Registers (or finds, in a process that already did) the field.
pub(super) fn register() -> Result<(), DpdkError> {
    let mut params = dpdk_sys::rte_mbuf_dynfield::default();
    for (d, &s) in params.name.iter_mut().zip(NAME) {
        *d = s as c_char;
    }
    params.size = std::mem::size_of::<u64>();
    params.align = std::mem::align_of::<u64>();
    // SAFETY: `params` is a valid description with a NUL-terminated name;
    // DPDK copies it and returns the field's offset or -1.
    let off = unsafe { dpdk_sys::rte_mbuf_dynfield_register(&params) };
    if off < 0 {
        return Err(DpdkError::from_rte_errno(
            "rte_mbuf_dynfield_register(frame offsets)",
        ));
    }
    let off = off as usize;
    if off + 8 > std::mem::size_of::<dpdk_sys::rte_mbuf>() {
        return Err(DpdkError::InvalidArgument(format!(
            "frame offsets field at offset {off} lies outside the mbuf"
        )));
    }
    FIELD.store(off, Ordering::Release);
    Ok(())
}

impl Mbuf {
    /// Stores where [`parse_frame`](crate::wire::parse_frame) found this
    /// packet's headers. A no-op before the EAL registered the field.
    #[inline(always)]
    pub fn set_frame_offsets(&mut self, at: FrameOffsets) {
        let off = FIELD.load(Ordering::Relaxed);
        if off == UNREGISTERED {
            return;
        }
        // SAFETY: `off` is DPDK's offset of a registered 8-byte dynamic
        // field, checked to lie inside `struct rte_mbuf`; `&mut self` owns
        // the mbuf exclusively. Unaligned write: no reliance on alignment.
        unsafe {
            std::ptr::write_unaligned(
                self.as_ptr().cast::<u8>().add(off).cast::<u64>(),
                at.to_bits(),
            );
        }
    }

    /// The offsets stored by [`Mbuf::set_frame_offsets`]; `None` when the
    /// field holds anything else (a buffer the rx stage never judged).
    #[inline(always)]
    pub fn frame_offsets(&self) -> Option<FrameOffsets> {
        let off = FIELD.load(Ordering::Relaxed);
        if off == UNREGISTERED {
            return None;
        }
        // SAFETY: as in `set_frame_offsets`; a read of 8 bytes inside the
        // mbuf we own.
        let bits =
            unsafe { std::ptr::read_unaligned(self.as_ptr().cast::<u8>().add(off).cast::<u64>()) };
        FrameOffsets::from_bits(bits)
    }
}
