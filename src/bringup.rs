//! Mempool sizing and port bring-up, printed the way testpmd does.

use config::{AppConfig, ForwardMode};
use dataplane::dpdk::{DpdkError, Eal, Mempool, Port, PortSetup, DEFAULT_DATA_ROOM, SOCKET_ANY};

/// Per-lcore mempool cache.
pub const POOL_CACHE: u32 = 256;

/// The distinct port ids the run uses: inputs first, then the output.
pub fn used_ports(cfg: &AppConfig) -> Vec<u16> {
    let mut ids = cfg.input_ports();
    if !ids.contains(&cfg.output_port) {
        ids.push(cfg.output_port);
    }
    ids
}

/// Mbufs needed: every rx ring full, every tx ring full, bursts in flight,
/// the lcore caches, and what the merge can hold (each leg's window),
/// capped so the default stays within a small hugepage reservation.
/// `--total-num-mbufs` overrides it.
pub fn pool_size(cfg: &AppConfig) -> u32 {
    if let Some(n) = cfg.total_num_mbufs {
        return n;
    }
    let ports = used_ports(cfg).len() as u64;
    let rings = ports * (cfg.rxd as u64 + cfg.txd as u64);
    let lcores = cfg.nb_cores as u64 + 1;
    let inflight = 4 * cfg.burst as u64 * lcores + POOL_CACHE as u64 * lcores;
    let held: u64 = cfg
        .streams
        .iter()
        .map(|s| s.legs.len() as u64 * s.slots as u64)
        .sum::<u64>()
        .min(65_536);
    let n = (rings + inflight + held + 1024).clamp(8_191, 262_143);
    // Best size for a mempool is 2^k - 1.
    ((n + 1).next_power_of_two() - 1) as u32
}

/// Creates the packet mempool.
pub fn make_pool<'e>(eal: &'e Eal, cfg: &AppConfig) -> Result<Mempool<'e>, String> {
    let n = pool_size(cfg);
    let cache = POOL_CACHE.min(n * 2 / 3);
    Mempool::pktmbuf(eal, "mf_pool", n, cache, DEFAULT_DATA_ROOM, SOCKET_ANY)
        .map_err(|e| format!("mempool of {n} mbufs: {e} (give fewer with --total-num-mbufs, or reserve hugepages: scripts/hugepages.sh)"))
}

/// Why the ports could not be brought up.
pub enum PortError {
    /// The driver refused the requested sizes (exit 2: fix the options).
    Refused(String),
    /// Anything else (exit 1).
    Failed(String),
}

/// An open, started port and what was negotiated for it.
pub struct OpenPort<'a> {
    /// The port.
    pub port: Port<'a>,
    /// Descriptors and offloads in force.
    pub setup: PortSetup,
}

impl OpenPort<'_> {
    /// The NIC verifies UDP checksums (mbuf flags are meaningful).
    pub fn hw_l4(&self) -> bool {
        self.setup.rx_offloads & dpdk_sys::RTE_ETH_RX_OFFLOAD_UDP_CKSUM != 0
    }
}

fn mac_text(m: [u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Configures and starts every port the run uses (one rx and one tx queue
/// each), inputs in promiscuous + all-multicast mode, and prints one line
/// per port.
pub fn open_ports<'a>(
    eal: &'a Eal,
    cfg: &AppConfig,
    pool: &'a Mempool<'a>,
) -> Result<Vec<OpenPort<'a>>, PortError> {
    let inputs = cfg.input_ports();
    let mut out = Vec::new();
    for id in used_ports(cfg) {
        let mut port =
            Port::new(eal, id).map_err(|e| PortError::Failed(format!("port {id}: {e}")))?;
        // The main lcore's membership host sends on its own tx queue: queue
        // 0 of an input port, queue 1 when the port is also the output.
        let own_txq =
            id == cfg.output_port && inputs.contains(&id) && crate::membership::enabled(cfg, id);
        let setup = port
            .configure(1, 1 + u16::from(own_txq), cfg.rxd, cfg.txd, pool)
            .map_err(|e| match e {
                // The driver refused our sizes: bad input, not a fault.
                DpdkError::Call { errno, .. } if errno == libc::EINVAL => {
                    PortError::Refused(format!(
                    "port {id}: {e} (descriptor counts --rxd/--txd, or the mempool: a pcap vdev \
                     with infinite_rx=1 needs at least as many mbufs as its file has packets, \
                     see --total-num-mbufs)"
                ))
                }
                DpdkError::InvalidArgument(m) if own_txq => PortError::Refused(format!(
                    "{m}: port {id} is an input with --port-ip and the output, so its membership host needs a second tx queue (net_af_packet: qpairs=2), or use another output port"
                )),
                e => PortError::Failed(format!("port {id}: {e}")),
            })?;
        let failed = |e: DpdkError| PortError::Failed(format!("port {id}: {e}"));
        port.start().map_err(failed)?;
        if inputs.contains(&id) {
            port.set_promiscuous(true).map_err(failed)?;
            port.set_allmulticast(true).map_err(failed)?;
        }
        let mut roles = Vec::new();
        if id == cfg.primary_port {
            roles.push("primary");
        }
        if id == cfg.secondary_port && cfg.forward_mode != ForwardMode::Io {
            roles.push("secondary");
        }
        if id == cfg.output_port {
            roles.push("output");
        }
        let mac = port
            .mac()
            .map(mac_text)
            .unwrap_or_else(|e| format!("? ({e})"));
        let link = match port.link() {
            Ok(l) if l.up => format!("up {} Mbps", l.speed_mbps),
            Ok(_) => "down".to_string(),
            Err(e) => format!("? ({e})"),
        };
        println!(
            "Port {id} ({}): driver {}, MAC {mac}, link {link}, rxd {} txd {}, rx offloads {:#x}",
            roles.join("+"),
            port.driver_name(),
            setup.rxd,
            setup.txd,
            setup.rx_offloads,
        );
        out.push(OpenPort { port, setup });
    }
    Ok(out)
}
