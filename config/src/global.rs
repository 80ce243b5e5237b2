//! The global options, declared once each: flag `--NAME` (with `_` written
//! `-`), top-level TOML key `NAME`, and (for `public` ones) field `NAME` of
//! [`AppConfig`].
//!
//! To add a global option, add one line to `public` below (and a row to
//! the README's options table); read it as `AppConfig::NAME`. Checks that
//! involve other options go in `resolve.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::clock::ClockSource;
use crate::forward_mode::ForwardMode;
use crate::limits::*;
use crate::option::{options, FilePath, Float, Int, Parsed, Switch};
use crate::stream::{FileStream, StreamConfig, StreamSettings};
use crate::text::Text;
use crate::values::{
    file_opt, int_opt, int_or, parsed_opt, parsed_or, seconds_or, seconds_or_off, switch,
};
use crate::worker_layout::{Steer, WorkerLayout};
use model::{PortAddr, Reorder};

options! {
    /// The global options as given on the command line.
    flags GlobalFlags;
    /// The global options as the file's top level gives them.
    settings GlobalSettings;
    /// The whole TOML file: global options at top level, per-stream
    /// defaults in `[defaults]`, streams in `[[stream]]` tables.
    #[derive(Default)]
    file FileConfig {
        #[serde(default)]
        defaults: StreamSettings,
        #[serde(default, rename = "stream")]
        streams: Vec<FileStream>,
        #[serde(default)]
        port_ip: Vec<Text<PortAddr>>,
    }
    /// Everything the binary needs to run, validated and with defaults applied.
    output AppConfig {
        /// Arguments for `rte_eal_init`, program name first, exactly as given
        /// before `--`.
        eal_args: Vec<String>,
        /// The streams to merge, in configuration order (file first, then
        /// `--stream` flags). Empty only in `io` mode.
        streams: Vec<StreamConfig>,
        /// Verify UDP checksums in software on input (false with
        /// `--no-udp-csum-check`, for sources known good or NICs that already did).
        verify_udp_checksum: bool,
        /// The TOML file the configuration came from, if any (for the startup log).
        config_file: Option<PathBuf>,
        /// `--port-ip` (then the file's `port_ip` list): the address each
        /// input port's membership host sends IGMP/MLD from, at most one per
        /// port and family. A port with one runs a membership host (unless
        /// `no_membership`); a source-specific leg requires one.
        port_ips: Vec<PortAddr>,
        /// Things to tell the operator at start (e.g. a single-leg SDP).
        warnings: Vec<String>,
    }
    public {
        /// DPDK port id receiving the primary leg(s).
        primary_port: u16 as Int = int_or(0, 65_535, DEFAULT_PRIMARY_PORT);
            "ID", format!("DPDK port id receiving the primary leg [default: {DEFAULT_PRIMARY_PORT}]");
        /// DPDK port id receiving the secondary leg(s); may equal `primary_port`
        /// when both legs arrive on one NIC (legs are told apart by group).
        secondary_port: u16 as Int = int_or(0, 65_535, DEFAULT_SECONDARY_PORT);
            "ID", format!("DPDK port id receiving the secondary leg [default: {DEFAULT_SECONDARY_PORT}]");
        /// DPDK port id the merged streams are sent on (may equal an input port).
        output_port: u16 as Int = int_or(0, 65_535, DEFAULT_OUTPUT_PORT);
            "ID", format!("DPDK port id the merged streams are sent on [default: {DEFAULT_OUTPUT_PORT}]");
        /// Merge (primary/hitless) or plain io forwarding.
        forward_mode: ForwardMode as Parsed<ForwardMode> = parsed_or(ForwardMode::Primary);
            "primary|hitless|io", "primary: prefer the first leg; hitless: first good copy wins (ST 2022-7); io: forward the primary port to the output port unchanged [default: primary]";
        /// Where the workers take time from.
        clock: ClockSource as Parsed<ClockSource> = parsed_or(ClockSource::Tsc);
            "tsc|capture", "tsc: the CPU's time stamp counter (a live device); capture: each packet's rx timestamp (net_pcap: the capture's own timeline, microseconds), so a recorded A/B capture replays exactly, whatever the machine's speed [default: tsc]";
        /// Worker lcores (1 = rx and tx on one lcore).
        nb_cores: u32 as Int = int_or(1, MAX_NB_CORES.into(), DEFAULT_NB_CORES);
            "N", format!("Worker lcores: 1 = rx, merge and tx on one lcore; more = as --layout says, 1..={MAX_NB_CORES} [default: {DEFAULT_NB_CORES}]");
        /// How more than one worker lcore share the work.
        layout: WorkerLayout as Parsed<WorkerLayout> = parsed_or(WorkerLayout::Shard);
            "shard|split", "With --nb-cores N > 1. shard: N merge workers, stream i owned by worker i % N (its own engine and output tx queue; inputs reach the owner as --steer says); split: N-1 rx lcores feed one merge-and-tx lcore [default: shard]";
        /// How the shard layout's inputs reach each stream's owner.
        steer: Steer as Parsed<Steer> = parsed_or(Steer::Auto);
            "auto|flow|software", "Shard layout: flow = one rx queue per worker and an rte_flow rule per leg (destination group and UDP port -> the owner's queue), exit 2 if a port refuses; software = one rx queue per input, dispatched to the owners over rings; auto = flow if every input port takes every rule, else software with one line saying why [default: auto]";
        /// Packets per rx/tx burst, 1..=`MAX_BURST`.
        burst: u16 as Int = int_or(1, MAX_BURST as i64, DEFAULT_BURST);
            "N", format!("Packets per rx/tx burst, 1..={MAX_BURST} [default: {DEFAULT_BURST}]");
        /// Packets ahead whose data the rx loop prefetches (0 = off).
        rx_prefetch: u16 as Int = int_or(0, MAX_RX_PREFETCH.into(), DEFAULT_RX_PREFETCH);
            "N", format!("Prefetch the packet data this many packets ahead in the rx loop, 0 = off, 0..={MAX_RX_PREFETCH} [default: {DEFAULT_RX_PREFETCH}]");
        /// rx descriptors per queue.
        rxd: u16 as Int = int_or(MIN_DESC.into(), MAX_DESC.into(), DEFAULT_RXD);
            "N", format!("rx descriptors per queue, {MIN_DESC}..={MAX_DESC}, >= burst [default: {DEFAULT_RXD}]");
        /// tx descriptors per queue.
        txd: u16 as Int = int_or(MIN_DESC.into(), MAX_DESC.into(), DEFAULT_TXD);
            "N", format!("tx descriptors per queue, {MIN_DESC}..={MAX_DESC}, >= burst [default: {DEFAULT_TXD}]");
        /// Size of the mbuf pool; `None` = let the binary size it.
        total_num_mbufs: Option<u32> as Int = int_opt(MIN_TOTAL_NUM_MBUFS.into(), MAX_TOTAL_NUM_MBUFS.into());
            "N", format!("Mbufs in the pool, {MIN_TOTAL_NUM_MBUFS}..={MAX_TOTAL_NUM_MBUFS} [default: auto, from descriptors, slots and streams]");
        /// Interval of the stats print and JSON write; `None` = no periodic stats.
        stats_period: Option<Duration> as Float = seconds_or_off(MIN_STATS_PERIOD_S, MAX_STATS_PERIOD_S);
            "S", format!("Print stats every S seconds (fractions allowed), at least {MIN_STATS_PERIOD_S}; 0 = off [default: 0]");
        /// File the stats are written to as JSON (each period and at exit).
        stats_json: Option<PathBuf> as FilePath = file_opt();
            "FILE", "Write stats as JSON to FILE each period and at exit [default: none]";
        /// Send no IGMP/MLD at all, even with `--port-ip` (a network without
        /// snooping, a replay, or the negative control of the membership test).
        no_membership: bool as Switch = switch();
            "", "Join nothing: no IGMP/MLD membership host on any port, even with --port-ip (networks without snooping, pcap replays) [default: a host on every port given a --port-ip]";
        /// Where the Prometheus/OpenMetrics endpoint listens; `None` = no endpoint.
        metrics_listen: Option<SocketAddr> as Parsed<SocketAddr> = parsed_opt();
            "ADDR:PORT", "Serve Prometheus metrics on http://ADDR:PORT/metrics (port 0: any free port, printed at start) [default: off]";
        /// How long a stream's health must hold before it is reported, so a
        /// flapping leg does not spam events and alerts.
        health_hold: Duration as Float = seconds_or(0.0, MAX_HEALTH_HOLD_S, DEFAULT_HEALTH_HOLD_S);
            "S", format!("Report a stream's health (healthy, partially_healthy, unhealthy) only once it held S seconds, 0..={MAX_HEALTH_HOLD_S} [default: {DEFAULT_HEALTH_HOLD_S}]");
        /// File the event log is appended to as JSON lines, for log shippers.
        events_json: Option<PathBuf> as FilePath = file_opt();
            "FILE", "Append every event (leg up/down, switch, gap, restart, health) to FILE as one JSON object a line [default: none]";
        /// Print each stream's output SDP and exit, to configure the next receiver.
        print_sdp: bool as Switch = switch();
            "", "Print the SDP of each stream's output (one leg: the output group and port, source --out-src-ip, the first leg's media attributes) to stdout and exit [default: off]";
        /// Print each stream as a `--stream` value and exit (what an SDP resolved to).
        print_streams: bool as Switch = switch();
            "", "Print each stream as NAME LEG,LEG=OUT in --stream syntax (legs with @SRC when source-specific) and exit: what --sdp and --config resolved to [default: off]";
        /// Stop after this long; `None` = run until SIGINT/SIGTERM.
        duration: Option<Duration> as Float = seconds_or_off(0.0, MAX_DURATION_S);
            "S", "Stop after S seconds; 0 = run until SIGINT/SIGTERM [default: 0]";
    }
    internal {
        primary_reorder: Reorder as Parsed<Reorder> = parsed_or(Reorder::Auto);
            "auto|N|off", format!("When a missing copy stops being waited for. auto: learned per leg (reorder depth and lag behind the first copy): a copy is given up once its leg delivered a packet more than its depth + 1 later, or is later than its lag + {EVIDENCE_MARGIN_US} us behind another leg's copy of that packet; a packet missing on every live leg is skipped once all of them moved past it; --max-delay stays the cap and the only wait while evidence is silent. N (0..={MAX_PRIMARY_REORDER}): primary mode only, the primary's copy counts as missing once the primary delivered more than N later packets. off: always wait --max-delay [default: auto]");
        no_udp_csum_check: bool as Switch = switch();
            "", "Trust input UDP checksums instead of verifying them in software [default: verify]";
    }
}
