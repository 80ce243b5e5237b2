//! Ethernet ports (ethdev): setup, control, counters, and per-queue handles
//! for the burst calls.

use std::ffi::CStr;
use std::marker::PhantomData;
use std::os::raw::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

use super::burst::{RxBatch, TxBatch};
use super::eal::Eal;
use super::error::DpdkError;
use super::flow::{self, FlowRefused, SteerRule};
use super::mempool::Mempool;

const MAX_PORTS: usize = dpdk_sys::RTE_MAX_ETHPORTS as usize;

/// One `Port` per ethdev id at a time (two would both stop/close it).
static PORT_TAKEN: [AtomicBool; MAX_PORTS] = [PORT_FREE; MAX_PORTS];
#[allow(clippy::declare_interior_mutable_const)] // array initialiser only
const PORT_FREE: AtomicBool = AtomicBool::new(false);

/// Link state as the driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Carrier up.
    pub up: bool,
    /// Speed in Mbit/s (0 when unknown or down).
    pub speed_mbps: u32,
    /// Full duplex.
    pub full_duplex: bool,
    /// Autonegotiated.
    pub autoneg: bool,
}

/// The basic ethdev counters (`rte_eth_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Packets received.
    pub ipackets: u64,
    /// Packets sent.
    pub opackets: u64,
    /// Bytes received.
    pub ibytes: u64,
    /// Bytes sent.
    pub obytes: u64,
    /// Packets dropped by the NIC because rx queues were full.
    pub imissed: u64,
    /// Erroneous received packets.
    pub ierrors: u64,
    /// Failed transmissions.
    pub oerrors: u64,
    /// Rx mbuf allocation failures (pool exhausted).
    pub rx_nombuf: u64,
}

/// What `configure` actually set up (after the driver's adjustments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSetup {
    /// Rx descriptors per queue.
    pub rxd: u16,
    /// Tx descriptors per queue.
    pub txd: u16,
    /// Rx offloads enabled (`RTE_ETH_RX_OFFLOAD_*`): IPv4/UDP checksum
    /// verification when the device supports it.
    pub rx_offloads: u64,
    /// Tx offloads enabled (`RTE_ETH_TX_OFFLOAD_*`): none yet.
    pub tx_offloads: u64,
}

/// An ethdev port. Control methods take `&mut self`; the data path goes
/// through [`RxQueue`]/[`TxQueue`] handles, each queue claimable once at a
/// time, so two lcores can never burst on the same queue. Stopped and
/// closed on drop.
///
/// `'a` covers the EAL and the mempool its rx queues fill from.
pub struct Port<'a> {
    id: u16,
    started: bool,
    /// An rx queue setup failed half way: do not close the port (see Drop).
    setup_failed: bool,
    /// Steering rules installed (removed before the port stops).
    flows: usize,
    rxq: Box<[AtomicBool]>,
    txq: Box<[AtomicBool]>,
    _life: PhantomData<&'a Eal>,
}

impl<'a> Port<'a> {
    /// Takes port `id`; error if EAL did not enumerate it or it is already
    /// taken.
    pub fn new(_eal: &'a Eal, id: u16) -> Result<Port<'a>, DpdkError> {
        // SAFETY: EAL is live; the call only checks the port table.
        if usize::from(id) >= MAX_PORTS || unsafe { dpdk_sys::rte_eth_dev_is_valid_port(id) } == 0 {
            return Err(DpdkError::InvalidPort(id));
        }
        if PORT_TAKEN[usize::from(id)].swap(true, Ordering::AcqRel) {
            return Err(DpdkError::InvalidPort(id));
        }
        Ok(Port {
            id,
            started: false,
            setup_failed: false,
            flows: 0,
            rxq: Box::new([]),
            txq: Box::new([]),
            _life: PhantomData,
        })
    }

    /// The ethdev port id.
    pub fn id(&self) -> u16 {
        self.id
    }

    fn info(&self) -> Result<dpdk_sys::rte_eth_dev_info, DpdkError> {
        let mut info = dpdk_sys::rte_eth_dev_info::default();
        // SAFETY: valid port; `info` is a valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_dev_info_get(self.id, &mut info) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_dev_info_get(port {})", self.id),
                ret,
            ));
        }
        Ok(info)
    }

    /// PMD name, e.g. "net_pcap", "net_ice".
    pub fn driver_name(&self) -> String {
        match self.info() {
            // SAFETY: driver_name is a static string of the PMD (or null).
            Ok(i) if !i.driver_name.is_null() => unsafe { CStr::from_ptr(i.driver_name) }
                .to_string_lossy()
                .into_owned(),
            _ => String::from("?"),
        }
    }

    /// Device name, e.g. "net_pcap0" or a PCI address.
    pub fn name(&self) -> String {
        let mut buf = [0 as c_char; dpdk_sys::RTE_ETH_NAME_MAX_LEN as usize];
        // SAFETY: buf has RTE_ETH_NAME_MAX_LEN bytes, as the API requires.
        let ret = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(self.id, buf.as_mut_ptr()) };
        if ret != 0 {
            return String::from("?");
        }
        // SAFETY: DPDK wrote a NUL-terminated string into buf.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    /// NUMA socket of the device (-1 when unknown), for placing its mempool.
    pub fn socket_id(&self) -> i32 {
        // SAFETY: valid port.
        unsafe { dpdk_sys::rte_eth_dev_socket_id(self.id) }
    }

    /// The port's MAC address.
    pub fn mac(&self) -> Result<[u8; 6], DpdkError> {
        let mut a = dpdk_sys::rte_ether_addr::default();
        // SAFETY: valid port; `a` is a valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_macaddr_get(self.id, &mut a) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_macaddr_get(port {})", self.id),
                ret,
            ));
        }
        Ok(a.addr_bytes)
    }

    fn link_from(l: &dpdk_sys::rte_eth_link) -> Link {
        let up = u32::from(l.link_status()) == dpdk_sys::RTE_ETH_LINK_UP;
        Link {
            up,
            speed_mbps: if up && l.link_speed != u32::MAX {
                l.link_speed
            } else {
                0
            },
            full_duplex: u32::from(l.link_duplex()) == dpdk_sys::RTE_ETH_LINK_FULL_DUPLEX,
            autoneg: u32::from(l.link_autoneg()) == dpdk_sys::RTE_ETH_LINK_AUTONEG,
        }
    }

    /// Current link state without waiting (`rte_eth_link_get_nowait`).
    pub fn link(&self) -> Result<Link, DpdkError> {
        let mut l = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid port; `l` is a valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_link_get_nowait(self.id, &mut l) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_link_get_nowait(port {})", self.id),
                ret,
            ));
        }
        Ok(Self::link_from(&l))
    }

    /// Link state, letting the driver wait for autonegotiation (up to ~9 s
    /// on some NICs): only at startup.
    pub fn link_wait(&self) -> Result<Link, DpdkError> {
        let mut l = dpdk_sys::rte_eth_link::default();
        // SAFETY: valid port; `l` is a valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_link_get(self.id, &mut l) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_link_get(port {})", self.id),
                ret,
            ));
        }
        Ok(Self::link_from(&l))
    }

    /// Most rx queues the device offers (`rte_eth_dev_info.max_rx_queues`;
    /// a pcap or af_packet vdev has as many as it was given files or
    /// queue pairs).
    pub fn max_rx_queues(&self) -> Result<u16, DpdkError> {
        Ok(self.info()?.max_rx_queues)
    }

    /// Installs `rules` (each validated, then created): every one or, on
    /// the first the driver refuses, none (the refusal says why).
    /// Replaces any rules installed before. They are removed when the port
    /// stops.
    pub fn steer(&mut self, rules: &[SteerRule]) -> Result<(), FlowRefused> {
        self.unsteer();
        self.flows = flow::install(self.id, rules)?;
        Ok(())
    }

    /// Removes the steering rules (`rte_flow_flush`), if any.
    pub fn unsteer(&mut self) {
        flow::remove_all(self.id, self.flows);
        self.flows = 0;
    }

    /// Number of steering rules installed.
    pub fn steering_rules(&self) -> usize {
        self.flows
    }

    /// Configures `nb_rxq` rx and `nb_txq` tx queues with `rxd`/`txd`
    /// descriptors each (adjusted to the device's limits), rx queues filling
    /// from `pool`. Enables rx IPv4/UDP checksum offload where the device has
    /// it. The port must be stopped.
    pub fn configure(
        &mut self,
        nb_rxq: u16,
        nb_txq: u16,
        rxd: u16,
        txd: u16,
        pool: &'a Mempool<'_>,
    ) -> Result<PortSetup, DpdkError> {
        if self.started {
            return Err(DpdkError::InvalidArgument(format!(
                "port {}: configure while started",
                self.id
            )));
        }
        let info = self.info()?;
        if nb_rxq > info.max_rx_queues || nb_txq > info.max_tx_queues {
            return Err(DpdkError::InvalidArgument(format!(
                "port {}: {nb_rxq} rx / {nb_txq} tx queues requested, device has {} / {}",
                self.id, info.max_rx_queues, info.max_tx_queues
            )));
        }
        let want_rx =
            dpdk_sys::RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | dpdk_sys::RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
        let rx_offloads = info.rx_offload_capa & want_rx;
        let tx_offloads = 0;
        let mut conf = dpdk_sys::rte_eth_conf::default();
        conf.rxmode.offloads = rx_offloads;
        conf.txmode.offloads = tx_offloads;
        // SAFETY: valid, stopped port; conf is a valid, initialised config.
        let ret = unsafe { dpdk_sys::rte_eth_dev_configure(self.id, nb_rxq, nb_txq, &conf) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_dev_configure(port {})", self.id),
                ret,
            ));
        }
        let (mut rxd, mut txd) = (rxd, txd);
        // SAFETY: valid port; both are valid in/out pointers.
        let ret =
            unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(self.id, &mut rxd, &mut txd) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_dev_adjust_nb_rx_tx_desc(port {})", self.id),
                ret,
            ));
        }
        let socket = match self.socket_id() {
            s if s < 0 => 0,
            s => s as u32,
        };
        for q in 0..nb_rxq {
            // SAFETY: configured port, q < nb_rxq; NULL rxconf = driver
            // defaults; the pool outlives the port ('a).
            let ret = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    self.id,
                    q,
                    rxd,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            if ret != 0 {
                self.setup_failed = true;
                return Err(DpdkError::from_ret(
                    format!(
                        "rte_eth_rx_queue_setup(port {}, queue {q}, {rxd} descriptors)",
                        self.id
                    ),
                    ret,
                ));
            }
        }
        for q in 0..nb_txq {
            // SAFETY: configured port, q < nb_txq; NULL txconf = defaults.
            let ret = unsafe {
                dpdk_sys::rte_eth_tx_queue_setup(self.id, q, txd, socket, std::ptr::null())
            };
            if ret != 0 {
                return Err(DpdkError::from_ret(
                    format!(
                        "rte_eth_tx_queue_setup(port {}, queue {q}, {txd} descriptors)",
                        self.id
                    ),
                    ret,
                ));
            }
        }
        self.rxq = (0..nb_rxq).map(|_| AtomicBool::new(false)).collect();
        self.txq = (0..nb_txq).map(|_| AtomicBool::new(false)).collect();
        Ok(PortSetup {
            rxd,
            txd,
            rx_offloads,
            tx_offloads,
        })
    }

    /// Starts the port (after `configure`).
    pub fn start(&mut self) -> Result<(), DpdkError> {
        // SAFETY: valid port; DPDK checks it is configured.
        let ret = unsafe { dpdk_sys::rte_eth_dev_start(self.id) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_dev_start(port {})", self.id),
                ret,
            ));
        }
        self.started = true;
        Ok(())
    }

    /// Stops the port (no queue handle can be alive: they borrow `self`).
    /// For pcap vdevs this also flushes and closes the tx pcap file.
    pub fn stop(&mut self) -> Result<(), DpdkError> {
        if !self.started {
            return Ok(());
        }
        self.unsteer();
        // SAFETY: valid, started port; no burst can run (handles borrow self).
        let ret = unsafe { dpdk_sys::rte_eth_dev_stop(self.id) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_dev_stop(port {})", self.id),
                ret,
            ));
        }
        self.started = false;
        Ok(())
    }

    /// Whether `start` succeeded and `stop` has not run since.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// Receive every unicast destination, not only the port's MAC.
    pub fn set_promiscuous(&mut self, on: bool) -> Result<(), DpdkError> {
        // SAFETY: valid port.
        let ret = unsafe {
            if on {
                dpdk_sys::rte_eth_promiscuous_enable(self.id)
            } else {
                dpdk_sys::rte_eth_promiscuous_disable(self.id)
            }
        };
        // Some vdevs do not implement it (ENOTSUP): nothing to filter anyway.
        if ret != 0 && ret != -(libc_enotsup()) {
            return Err(DpdkError::from_ret(
                format!("promiscuous mode (port {})", self.id),
                ret,
            ));
        }
        Ok(())
    }

    /// Receive every multicast group (multicast input needs this or explicit
    /// MAC filters).
    pub fn set_allmulticast(&mut self, on: bool) -> Result<(), DpdkError> {
        // SAFETY: valid port.
        let ret = unsafe {
            if on {
                dpdk_sys::rte_eth_allmulticast_enable(self.id)
            } else {
                dpdk_sys::rte_eth_allmulticast_disable(self.id)
            }
        };
        if ret != 0 && ret != -(libc_enotsup()) {
            return Err(DpdkError::from_ret(
                format!("all-multicast mode (port {})", self.id),
                ret,
            ));
        }
        Ok(())
    }

    /// Basic counters. Safe to call while lcores burst on the port.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid port; `s` is a valid out-pointer.
        let ret = unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_stats_get(port {})", self.id),
                ret,
            ));
        }
        Ok(PortStats {
            ipackets: s.ipackets,
            opackets: s.opackets,
            ibytes: s.ibytes,
            obytes: s.obytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            oerrors: s.oerrors,
            rx_nombuf: s.rx_nombuf,
        })
    }

    /// Zeroes the counters.
    pub fn reset_stats(&mut self) -> Result<(), DpdkError> {
        // SAFETY: valid port.
        let ret = unsafe { dpdk_sys::rte_eth_stats_reset(self.id) };
        if ret != 0 {
            return Err(DpdkError::from_ret(
                format!("rte_eth_stats_reset(port {})", self.id),
                ret,
            ));
        }
        Ok(())
    }

    /// Extended driver counters, name and value (allocates: not for the
    /// hot path).
    pub fn xstats(&self) -> Result<Vec<(String, u64)>, DpdkError> {
        let what = || format!("rte_eth_xstats_get(port {})", self.id);
        // SAFETY: valid port; NULL/0 asks for the count.
        let n = unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, std::ptr::null_mut(), 0) };
        if n < 0 {
            return Err(DpdkError::from_ret(what(), n));
        }
        let n = n as usize;
        let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n];
        let mut vals = vec![dpdk_sys::rte_eth_xstat::default(); n];
        // SAFETY: both arrays hold n entries, as passed.
        let got_names =
            unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, names.as_mut_ptr(), n as u32) };
        // SAFETY: as above.
        let got_vals =
            unsafe { dpdk_sys::rte_eth_xstats_get(self.id, vals.as_mut_ptr(), n as u32) };
        if got_names < 0 || got_vals < 0 || got_names as usize > n || got_vals as usize > n {
            return Err(DpdkError::from_ret(what(), got_names.min(got_vals).min(-1)));
        }
        let mut out = Vec::with_capacity(got_vals as usize);
        for v in &vals[..got_vals as usize] {
            let Some(name) = names[..got_names as usize].get(v.id as usize) else {
                continue;
            };
            // SAFETY: DPDK NUL-terminates names within RTE_ETH_XSTATS_NAME_SIZE.
            let name = unsafe { CStr::from_ptr(name.name.as_ptr()) };
            out.push((name.to_string_lossy().into_owned(), v.value));
        }
        Ok(out)
    }

    /// Claims rx queue `queue` for the calling lcore's exclusive use.
    pub fn rx_queue(&self, queue: u16) -> Result<RxQueue<'_, 'a>, DpdkError> {
        claim(&self.rxq, self.id, queue, "rx")?;
        Ok(RxQueue { port: self, queue })
    }

    /// Claims tx queue `queue` for the calling lcore's exclusive use.
    pub fn tx_queue(&self, queue: u16) -> Result<TxQueue<'_, 'a>, DpdkError> {
        claim(&self.txq, self.id, queue, "tx")?;
        Ok(TxQueue { port: self, queue })
    }
}

fn claim(flags: &[AtomicBool], port: u16, queue: u16, dir: &str) -> Result<(), DpdkError> {
    match flags.get(usize::from(queue)) {
        None => Err(DpdkError::InvalidArgument(format!(
            "port {port}: {dir} queue {queue} not configured ({} queues)",
            flags.len()
        ))),
        Some(f) if f.swap(true, Ordering::AcqRel) => Err(DpdkError::InvalidArgument(format!(
            "port {port}: {dir} queue {queue} already in use"
        ))),
        Some(_) => Ok(()),
    }
}

fn libc_enotsup() -> i32 {
    // ENOTSUP == EOPNOTSUPP == 95 on Linux, what ethdev returns for
    // callbacks a PMD does not implement.
    95
}

impl Drop for Port<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            log::warn!("{e}");
        }
        if self.setup_failed {
            // DPDK 22.11's net_pcap crashes in close after a failed
            // `infinite_rx` queue setup (too few mbufs for the file): leave
            // such a port to process exit, which is what follows anyway,
            // and tell the EAL not to close it either.
            crate::dpdk::eal::PORT_HALF_SETUP.store(true, Ordering::Release);
            PORT_TAKEN[usize::from(self.id)].store(false, Ordering::Release);
            return;
        }
        // SAFETY: valid, stopped port; no queue handle is alive (they borrow
        // self). Closing returns the mbufs parked in its rx rings.
        let ret = unsafe { dpdk_sys::rte_eth_dev_close(self.id) };
        if ret != 0 {
            log::warn!(
                "{}",
                DpdkError::from_ret(format!("rte_eth_dev_close(port {})", self.id), ret)
            );
        }
        PORT_TAKEN[usize::from(self.id)].store(false, Ordering::Release);
    }
}

/// Exclusive handle on one rx queue: receive bursts from it.
pub struct RxQueue<'p, 'a> {
    port: &'p Port<'a>,
    queue: u16,
}

// SAFETY: the handle is the only user of its queue (claimed), and ethdev
// queues may be polled from any one lcore at a time.
unsafe impl Send for RxQueue<'_, '_> {}

impl RxQueue<'_, '_> {
    /// The port id.
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    /// The queue id.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Receives up to the batch's free burst space; returns how many arrived.
    #[inline(always)]
    pub fn rx_burst(&mut self, batch: &mut RxBatch) -> usize {
        let slot = batch.fill_slot();
        if slot.is_empty() {
            return 0;
        }
        // SAFETY: started port (or the PMD returns 0 for a stopped queue),
        // exclusive queue; slot has room for slot.len() pointers.
        let n = unsafe {
            dpdk_sys::shim_rte_eth_rx_burst(
                self.port.id,
                self.queue,
                slot.as_mut_ptr(),
                slot.len() as u16,
            )
        };
        let n = usize::from(n);
        batch.filled(n);
        n
    }
}

impl Drop for RxQueue<'_, '_> {
    fn drop(&mut self) {
        self.port.rxq[usize::from(self.queue)].store(false, Ordering::Release);
    }
}

/// Exclusive handle on one tx queue: send bursts on it.
pub struct TxQueue<'p, 'a> {
    port: &'p Port<'a>,
    queue: u16,
}

// SAFETY: as for RxQueue.
unsafe impl Send for TxQueue<'_, '_> {}

impl TxQueue<'_, '_> {
    /// The port id.
    pub fn port_id(&self) -> u16 {
        self.port.id
    }

    /// The queue id.
    pub fn queue_id(&self) -> u16 {
        self.queue
    }

    /// Sends what the batch holds; the sent packets leave the batch (the
    /// driver frees them after transmission), the refused ones stay in it,
    /// in order. Returns how many were sent.
    #[inline(always)]
    pub fn tx_burst(&mut self, batch: &mut TxBatch) -> usize {
        let pending = batch.pending();
        if pending.is_empty() {
            return 0;
        }
        // SAFETY: exclusive queue; pending holds owned mbufs; the driver
        // takes ownership of the first n returned, which `consumed` forgets.
        let n = unsafe {
            dpdk_sys::shim_rte_eth_tx_burst(
                self.port.id,
                self.queue,
                pending.as_mut_ptr(),
                pending.len() as u16,
            )
        };
        let n = usize::from(n);
        batch.consumed(n);
        n
    }
}

impl Drop for TxQueue<'_, '_> {
    fn drop(&mut self) {
        self.port.txq[usize::from(self.queue)].store(false, Ordering::Release);
    }
}
