//! Packet capture by a secondary process (`dpdk-dumpcap`, `dpdk-pdump`).
//!
//! `rte_pdump_init` registers the multi-process handler that lets a
//! capture tool, started with the same `--file-prefix`, ask this primary
//! to copy every packet its ports receive and send into a ring the tool
//! reads. The copying is done by the rx/tx callbacks DPDK installs on the
//! ports only while a capture runs, so an idle capture costs nothing.

use super::eal::Eal;
use super::error::DpdkError;

/// Capture support for the life of this value (uninitialised on drop).
pub struct Pdump<'e> {
    _eal: &'e Eal,
}

impl<'e> Pdump<'e> {
    /// Initialises the capture framework. Fails in a process without
    /// shared memory (`--in-memory`, or `--no-huge`, which imply no
    /// multi-process): capture needs hugepages and a file prefix.
    pub fn init(eal: &'e Eal) -> Result<Pdump<'e>, DpdkError> {
        // SAFETY: EAL is initialised (borrowed); the call registers an IPC
        // action and allocates its memzone, nothing else.
        let ret = unsafe { dpdk_sys::rte_pdump_init() };
        if ret < 0 {
            return Err(DpdkError::from_rte_errno("rte_pdump_init"));
        }
        Ok(Pdump { _eal: eal })
    }
}

impl Drop for Pdump<'_> {
    fn drop(&mut self) {
        // SAFETY: paired with the successful rte_pdump_init of `init`; EAL
        // is still alive (borrowed).
        let ret = unsafe { dpdk_sys::rte_pdump_uninit() };
        if ret < 0 {
            log::warn!("{}", DpdkError::from_ret("rte_pdump_uninit", ret));
        }
    }
}
