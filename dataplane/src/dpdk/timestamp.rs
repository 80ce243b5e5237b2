//! The rx timestamp a driver stamps on each mbuf (DPDK's `rte_dynfield_timestamp`).
//!
//! Why: with `--clock capture` the workers take time from the packets instead of the TSC.
//! `net_pcap` stamps every packet it reads with its capture timestamp (microseconds:
//! `tv_sec * 10^6 + tv_usec`), so a recorded A/B capture replays on its own timeline:
//! every timer (max-delay, leg-timeout) fires at the same packet however fast or loaded
//! the machine is. That makes offline analysis of a capture, and time-defined tests,
//! exact.

use super::error::DpdkError;
use super::mbuf::Mbuf;

/// Where the timestamp lives in an mbuf, and the flag that says it is set.
#[derive(Clone, Copy, Debug)]
pub struct RxTimestamp {
    offset: usize,
    flag: u64,
}

impl RxTimestamp {
    /// Registers (or finds, if a driver already did) the rx timestamp field. Call after
    /// EAL init and before any port starts.
    pub fn register() -> Result<Self, DpdkError> {
        let mut offset: i32 = -1;
        let mut flag: u64 = 0;
        // SAFETY: both out-pointers are valid for the call; the function only registers
        // (or looks up) a dynamic field and flag and writes their offset and mask.
        let rc = unsafe { dpdk_sys::rte_mbuf_dyn_rx_timestamp_register(&mut offset, &mut flag) };
        if rc != 0 || offset < 0 || flag == 0 {
            return Err(DpdkError::from_rte_errno(
                "rte_mbuf_dyn_rx_timestamp_register",
            ));
        }
        let offset = offset as usize;
        if offset + 8 > std::mem::size_of::<dpdk_sys::rte_mbuf>() {
            return Err(DpdkError::InvalidArgument(format!(
                "rx timestamp field at offset {offset} lies outside the mbuf"
            )));
        }
        Ok(RxTimestamp { offset, flag })
    }

    /// The driver's rx timestamp of `m`, if it stamped one.
    #[inline(always)]
    pub fn read(&self, m: &Mbuf) -> Option<u64> {
        if m.ol_flags() & self.flag == 0 {
            return None;
        }
        // SAFETY: `offset` was returned by DPDK for a registered 8-byte dynamic field and
        // checked to lie inside `struct rte_mbuf`; `m` is a valid owned mbuf. Dynamic
        // fields are naturally aligned, but read_unaligned does not rely on it.
        Some(unsafe {
            std::ptr::read_unaligned(m.as_ptr().cast::<u8>().add(self.offset).cast::<u64>())
        })
    }
}
