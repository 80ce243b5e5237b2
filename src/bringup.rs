//! Mempool sizing and port bring-up, printed the way testpmd does.

use config::{AppConfig, ForwardMode};
use dataplane::dpdk::{DpdkError, Eal, Mempool, Port, PortSetup, DEFAULT_DATA_ROOM, SOCKET_ANY};

use crate::steer::{self, Steering};

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

/// Most mbufs the automatic size gives the merge's windows, so the default
/// stays within a small hugepage reservation (`--total-num-mbufs` goes
/// beyond it).
const AUTO_HELD_CAP: u64 = 65_536;

/// Where a run's mbufs can be at once, by holder: what the pool must hold
/// so that a full merge window never leaves the rx rings without buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolNeed {
    /// Every rx and tx ring full.
    pub rings: u64,
    /// Bursts in flight and the per-lcore caches.
    pub inflight: u64,
    /// What the merge can hold: every leg's window of every stream
    /// (legs x slots, summed over the streams).
    pub held: u64,
}

impl PoolNeed {
    /// The need of `cfg`'s run.
    pub fn of(cfg: &AppConfig) -> PoolNeed {
        let ports = used_ports(cfg).len() as u64;
        let lcores = cfg.nb_cores as u64 + 1;
        // Beyond one queue each way per port: a tx queue per further merge
        // worker on the output, and with flow steering an rx queue per
        // further worker on each input.
        let more = cfg.merge_workers() as u64 - 1;
        let steered = if steer::wanted(cfg) {
            cfg.input_ports().len() as u64
        } else {
            0
        };
        PoolNeed {
            rings: ports * (cfg.rxd as u64 + cfg.txd as u64)
                + more * (cfg.txd as u64 + steered * cfg.rxd as u64),
            inflight: 4 * cfg.burst as u64 * lcores + POOL_CACHE as u64 * lcores,
            held: cfg
                .streams
                .iter()
                .map(|s| s.legs.len() as u64 * s.slots as u64)
                .sum(),
        }
    }

    /// All of it.
    pub fn total(&self) -> u64 {
        self.rings + self.inflight + self.held
    }
}

/// Mbufs in the pool: [`PoolNeed`] plus a margin, the merge's share capped
/// at [`AUTO_HELD_CAP`], as `2^k - 1`; `--total-num-mbufs` overrides it.
pub fn pool_size(cfg: &AppConfig) -> u32 {
    if let Some(n) = cfg.total_num_mbufs {
        return n;
    }
    let need = PoolNeed::of(cfg);
    let n =
        (need.rings + need.inflight + need.held.min(AUTO_HELD_CAP) + 1024).clamp(8_191, 262_143);
    // Best size for a mempool is 2^k - 1.
    ((n + 1).next_power_of_two() - 1) as u32
}

/// A warning when a pool of `size` mbufs cannot hold what the run may
/// need at once: under loss the merge's windows fill, the rx rings find no
/// buffer, and the NIC drops packets (counted as `rx_nombuf`/`imissed`),
/// the good copies included.
pub fn pool_warning(cfg: &AppConfig, size: u32) -> Option<String> {
    let need = PoolNeed::of(cfg);
    (u64::from(size) < need.total()).then(|| {
        format!(
            "mempool of {size} mbufs is smaller than the run may hold at once: {} \
             ({} in rx/tx rings, {} in flight and lcore caches, {} in the merge windows = \
             legs x slots over {} streams); under loss the pool can run dry and the NIC \
             then drops input (rx_nombuf, imissed): give --total-num-mbufs {} or more, \
             or a smaller --max-delay/--max-rate",
            need.total(),
            need.rings,
            need.inflight,
            need.held,
            cfg.streams.len(),
            need.total()
        )
    })
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

/// The started ports and how their inputs reach the workers.
pub struct Opened<'a> {
    /// Every port the run uses, inputs first.
    pub ports: Vec<OpenPort<'a>>,
    /// Flow rules or software dispatch.
    pub steering: Steering,
}

/// Configures and starts every port the run uses, inputs in promiscuous +
/// all-multicast mode, and prints one line per port. An input port gets
/// one rx queue, or one per merge worker when it steers by flow rules
/// (see [`crate::steer`]); the output port one tx queue per merge worker.
pub fn open_ports<'a>(
    eal: &'a Eal,
    cfg: &AppConfig,
    pool: &'a Mempool<'a>,
) -> Result<Opened<'a>, PortError> {
    let inputs = cfg.input_ports();
    let workers = cfg.merge_workers() as u16;
    let mut ports = Vec::new();
    for id in used_ports(cfg) {
        ports.push(Port::new(eal, id).map_err(|e| PortError::Failed(format!("port {id}: {e}")))?);
    }
    // Flow steering is tried only when every input can have a queue per
    // worker and no group needs two owners.
    let mut why = None;
    let mut rules = Vec::new();
    if steer::wanted(cfg) {
        match steer::rules(cfg) {
            Ok(r) => rules = r,
            Err(e) => why = Some(e),
        }
        for p in ports.iter().filter(|p| inputs.contains(&p.id())) {
            if why.is_some() {
                break;
            }
            match p.max_rx_queues() {
                Ok(n) if n >= workers => {}
                Ok(n) => {
                    why = Some(format!(
                        "port {} ({}) has {n} rx queue(s), {workers} workers need one each",
                        p.id(),
                        p.driver_name()
                    ))
                }
                Err(e) => why = Some(format!("port {}: {e}", p.id())),
            }
        }
    }
    let mut flow = steer::wanted(cfg) && why.is_none();
    let rxqs = |id: u16, flow: bool| {
        if flow && inputs.contains(&id) {
            workers
        } else {
            1
        }
    };
    let mut setups = Vec::with_capacity(ports.len());
    for port in &mut ports {
        let id = port.id();
        setups.push(bring_up(port, cfg, pool, rxqs(id, flow))?);
    }
    let mut installed = 0;
    if flow {
        for (id, r) in &rules {
            let Some(port) = ports.iter_mut().find(|p| p.id() == *id) else {
                continue;
            };
            match port.steer(r) {
                Ok(()) => installed += r.len(),
                Err(e) => {
                    why = Some(e.to_string());
                    flow = false;
                    break;
                }
            }
        }
        if !flow {
            // Back to one rx queue per input: with several and no rules
            // a driver may spread a stream over queues nobody polls.
            for (port, setup) in ports.iter_mut().zip(setups.iter_mut()) {
                if inputs.contains(&port.id()) {
                    port.unsteer();
                    let id = port.id();
                    port.stop()
                        .map_err(|e| PortError::Failed(format!("port {id}: {e}")))?;
                    *setup = bring_up(port, cfg, pool, 1)?;
                }
            }
        }
    }
    let steering = if flow {
        Steering::Flow { rules: installed }
    } else {
        Steering::Software { why }
    };
    if let Steering::Software { why: Some(w) } = &steering {
        if cfg.steer == config::Steer::Flow {
            return Err(PortError::Refused(format!(
                "--steer flow: the ports cannot steer the streams to their workers: {w}"
            )));
        }
        log::warn!("--steer auto: software dispatch, the ports cannot steer: {w}");
    }
    let mut out = Vec::with_capacity(ports.len());
    for (port, setup) in ports.into_iter().zip(setups) {
        print_port(cfg, &port, &setup, rxqs(port.id(), flow));
        out.push(OpenPort { port, setup });
    }
    if workers > 1 {
        println!("Steering: {}", steering.describe());
    }
    Ok(Opened {
        ports: out,
        steering,
    })
}

/// Configures `port` with `rxqs` rx queues (tx queues as the run needs)
/// and starts it; an input is put in promiscuous + all-multicast mode.
fn bring_up<'a>(
    port: &mut Port<'a>,
    cfg: &AppConfig,
    pool: &'a Mempool<'_>,
    rxqs: u16,
) -> Result<PortSetup, PortError> {
    let id = port.id();
    let inputs = cfg.input_ports();
    // The main lcore's membership host sends on its own tx queue: queue
    // 0 of an input port, queue 1 when the port is also the output.
    let own_txq =
        id == cfg.output_port && inputs.contains(&id) && crate::membership::enabled(cfg, id);
    // The output port has one tx queue per merge worker (sharding).
    let worker_txqs = if id == cfg.output_port {
        cfg.merge_workers() as u16
    } else {
        1
    };
    let sharded_out = id == cfg.output_port && worker_txqs > 1;
    // Some drivers (net_tap, queue-pair vdevs) take only as many tx
    // queues as rx queues: a steered input gets idle tx queues to match.
    let txqs = (worker_txqs + u16::from(own_txq)).max(rxqs);
    let setup = port
        .configure(rxqs, txqs, cfg.rxd, cfg.txd, pool)
        .map_err(|e| match e {
            // The driver refused our sizes: bad input, not a fault.
            DpdkError::Call { errno, .. } if errno == libc::EINVAL => {
                PortError::Refused(format!(
                "port {id}: {e} (descriptor counts --rxd/--txd, or the mempool: a pcap vdev \
                 with infinite_rx=1 needs at least as many mbufs as its file has packets, \
                 see --total-num-mbufs)"
            ))
            }
            DpdkError::InvalidArgument(m) if sharded_out => PortError::Refused(format!(
                "{m}: --nb-cores {} shards the streams over {worker_txqs} workers, each with its own tx queue on output port {id} (net_pcap: one tx_pcap= per queue; net_af_packet: qpairs={worker_txqs}), or use --layout split",
                cfg.nb_cores
            )),
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
    Ok(setup)
}

/// The start-up line of one port, testpmd style.
fn print_port(cfg: &AppConfig, port: &Port<'_>, setup: &PortSetup, rxqs: u16) {
    let id = port.id();
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
        "Port {id} ({}): driver {}, MAC {mac}, link {link}, rxq {rxqs} rxd {} txd {}, rx offloads {:#x}",
        roles.join("+"),
        port.driver_name(),
        setup.rxd,
        setup.txd,
        setup.rx_offloads,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &[&str]) -> AppConfig {
        let mut args: Vec<String> = [
            "prog",
            "--",
            "--stream",
            "239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004",
        ]
        .map(String::from)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        match config::parse_args(args) {
            Ok(config::Parsed::Run(c)) => *c,
            _ => panic!("bad test config {extra:?}"),
        }
    }

    #[test]
    fn a_pool_smaller_than_the_window_is_warned_about() {
        // Issue 17's case: 512 mbufs, a 1 s window.
        let c = cfg(&["--total-num-mbufs", "512", "--max-delay", "1000"]);
        let need = PoolNeed::of(&c);
        assert_eq!(need.held, 2 * u64::from(c.streams[0].slots));
        let w = pool_warning(&c, pool_size(&c)).expect("a warning");
        assert!(w.starts_with("mempool of 512 mbufs"), "{w}");
        assert!(
            w.contains(&format!("--total-num-mbufs {}", need.total())),
            "{w}"
        );
        assert_eq!(w.lines().count(), 1);
    }

    #[test]
    fn the_automatic_size_holds_what_it_must() {
        for extra in [&[][..], &["--max-delay", "1000"], &["--nb-cores", "3"]] {
            let c = cfg(extra);
            assert_eq!(pool_warning(&c, pool_size(&c)), None, "{extra:?}");
        }
    }
}
