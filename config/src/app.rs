//! The resolved configuration handed to the binary: plain data, every
//! default already filled in, every value already validated.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::addr::MacAddr;
use crate::error::ConfigError;
use crate::modes::{ForwardMode, MergeMode, VlanMode};
use crate::seq_format::SeqFormat;

/// What `parse_args` decided the process should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run with this configuration.
    Run(AppConfig),
    /// Print this help text to stdout and exit 0.
    Help(String),
    /// Print this version line to stdout and exit 0.
    Version(String),
}

/// Everything the binary needs to run, validated and with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// Arguments for `rte_eal_init`, program name first, exactly as given
    /// before `--`.
    pub eal_args: Vec<String>,
    /// DPDK port id receiving the primary leg(s).
    pub primary_port: u16,
    /// DPDK port id receiving the secondary leg(s); may equal `primary_port`
    /// when both legs arrive on one NIC (legs are told apart by group).
    pub secondary_port: u16,
    /// DPDK port id the merged streams are sent on (may equal an input port).
    pub output_port: u16,
    /// Merge (primary/hitless) or plain io forwarding.
    pub forward_mode: ForwardMode,
    /// The streams to merge, in configuration order (file first, then
    /// `--stream` flags). Empty only in `io` mode.
    pub streams: Vec<StreamConfig>,
    /// Worker lcores (1 = rx and tx on one lcore).
    pub nb_cores: u32,
    /// Packets per rx/tx burst, 1..=512.
    pub burst: u16,
    /// Packets ahead whose data the rx loop prefetches (0 = off).
    pub rx_prefetch: u16,
    /// rx descriptors per queue.
    pub rxd: u16,
    /// tx descriptors per queue.
    pub txd: u16,
    /// Size of the mbuf pool; `None` = let the binary size it.
    pub total_num_mbufs: Option<u32>,
    /// Interval of the stats print and JSON write; `None` = no periodic stats.
    pub stats_period: Option<Duration>,
    /// File the stats are written to as JSON (each period and at exit).
    pub stats_json: Option<PathBuf>,
    /// Stop after this long; `None` = run until SIGINT/SIGTERM.
    pub duration: Option<Duration>,
    /// Verify UDP checksums in software on input (false with
    /// `--no-udp-csum-check`, for sources known good or NICs that already did).
    pub verify_udp_checksum: bool,
    /// The TOML file the configuration came from, if any (for the startup log).
    pub config_file: Option<PathBuf>,
}

/// One merged stream: its input legs in priority order and its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// Unique name, for logs and stats (`streamN` when not given).
    pub name: String,
    /// Destination group:port of each copy; `legs[0]` is the primary
    /// (preferred in primary mode), then the secondaries in priority order.
    /// A leg is recognised by this address on its input port (leg 0 on the primary port, others on the secondary port). 2..=4 legs,
    /// all of one IP family.
    pub legs: Vec<SocketAddr>,
    /// The virtual group:port the merged stream is sent to (same family).
    pub output: SocketAddr,
    /// Where the sequence number is read.
    pub seq: SeqFormat,
    /// Primary-preferred or first-wins selection.
    pub mode: MergeMode,
    /// Merge window: wait for a better copy or for a gap at most this long.
    pub max_delay: Duration,
    /// A leg silent this long is declared down and no longer waited for.
    pub leg_timeout: Duration,
    /// Consecutive out-of-window packets on a leg that mean the source restarted.
    pub restart_after: u32,
    /// Primary mode: packets the primary may run ahead of a missing copy
    /// before the secondary's copy goes at once (`None`: wait max-delay).
    pub primary_reorder: Option<u32>,
    /// Slot-table capacity per leg; a power of two that covers the window.
    pub slots: u32,
    /// How the output headers are rewritten.
    pub out: OutputOptions,
}

/// Output header rewrite of one stream (destination = `StreamConfig::output`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputOptions {
    /// Source IP to write; `None` keeps the chosen copy's (which then changes
    /// on failover — set it for source-filtering receivers, SSM/IGMPv3).
    pub src_ip: Option<IpAddr>,
    /// UDP source port to write; `None` keeps the chosen copy's.
    pub src_port: Option<u16>,
    /// Destination MAC: configured, or the group's multicast MAC.
    pub dst_mac: MacAddr,
    /// IPv4 TTL / IPv6 hop limit to write; `None` keeps the copy's.
    pub ttl: Option<u8>,
    /// DSCP (0..=63) to write; `None` keeps the copy's.
    pub dscp: Option<u8>,
    /// 802.1Q handling.
    pub vlan: VlanMode,
    /// Rewrite sequence numbers (and RTP SSRC) so the output stays continuous
    /// across gaps and source restarts.
    pub renumber: bool,
}

impl AppConfig {
    /// The distinct input ports to receive from (one entry when primary and
    /// secondary are the same port; only the primary in `io` mode).
    pub fn input_ports(&self) -> Vec<u16> {
        let mut ports = vec![self.primary_port];
        if self.forward_mode != ForwardMode::Io && self.secondary_port != self.primary_port {
            ports.push(self.secondary_port);
        }
        ports
    }

    /// Checks that every port the configuration uses is one EAL enumerated
    /// (`available` = the valid port ids). The secondary port is not used,
    /// hence not checked, in `io` mode.
    pub fn check_ports(&self, available: &[u16]) -> Result<(), ConfigError> {
        let mut used = vec![("primary-port", self.primary_port)];
        if self.forward_mode != ForwardMode::Io {
            used.push(("secondary-port", self.secondary_port));
        }
        used.push(("output-port", self.output_port));
        for (what, id) in used {
            if !available.contains(&id) {
                let found = if available.is_empty() {
                    "EAL found no ports".to_string()
                } else {
                    let ids: Vec<String> = available.iter().map(u16::to_string).collect();
                    format!("EAL found ports {}", ids.join(", "))
                };
                return Err(ConfigError::new(format!(
                    "--{what} {id}: no such port ({found}; add a -a PCI address or --vdev before `--`)"
                )));
            }
        }
        Ok(())
    }
}
