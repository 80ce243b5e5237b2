//! Built-in defaults and accepted ranges, kept in one place so that `--help`,
//! validation and the documentation cannot drift apart. The limits the
//! dataplane enforces too come from `model::limits` and are re-exported
//! here, so there is one constant per limit.

pub use model::limits::{
    max_restart_after, EVIDENCE_MARGIN_US, MAX_BURST, MAX_DSCP, MAX_LEGS, MAX_PRIMARY_REORDER,
    MAX_RESTART_AFTER, MAX_RTP_SLOTS, MAX_SEQ_OFFSET, MAX_SLOTS, MAX_VLAN_ID, MIN_LEGS, MIN_SLOTS,
};

/// Default DPDK port id of the primary input.
pub const DEFAULT_PRIMARY_PORT: u16 = 0;
/// Default DPDK port id of the secondary input.
pub const DEFAULT_SECONDARY_PORT: u16 = 1;
/// Default DPDK port id of the output.
pub const DEFAULT_OUTPUT_PORT: u16 = 2;

/// Default merge window: how long a packet seen on one leg waits for the
/// preferred leg's copy, and how long a gap is waited for before it is skipped.
pub const DEFAULT_MAX_DELAY_MS: f64 = 50.0;
/// Shortest time any millisecond option accepts (1 µs): finer times cannot
/// be told apart by the dataplane's clock and round to nothing.
pub const MIN_TIME_MS: f64 = 0.001;
/// Largest accepted window (10 s); ST 2022-7 class C needs about 450 ms.
pub const MAX_MAX_DELAY_MS: f64 = 10_000.0;
/// Default silence after which a leg is declared down.
pub const DEFAULT_LEG_TIMEOUT_MS: f64 = 200.0;
/// Largest accepted leg timeout (60 s).
pub const MAX_LEG_TIMEOUT_MS: f64 = 60_000.0;
/// Default hold of a re-requested range (gap fill): a request server on
/// the same site answers within a few ms.
pub const DEFAULT_GAP_FILL_TIMEOUT_MS: f64 = 20.0;
/// Largest accepted gap-fill hold (1 s): the whole stream waits meanwhile.
pub const MAX_GAP_FILL_TIMEOUT_MS: f64 = 1_000.0;
/// Default number of consecutive out-of-window packets that prove a source restart.
pub const DEFAULT_RESTART_AFTER: u32 = 20;

/// Default highest packet rate of one leg, used only to size the slot table
/// when `--slots` is not given (for MoldUDP64 it counts messages, not packets).
pub const DEFAULT_MAX_RATE_PPS: u32 = 10_000;
/// Largest accepted `max-rate`.
pub const MAX_MAX_RATE_PPS: u32 = 100_000_000;

/// Longest stream name (it appears in logs and stats keys).
pub const MAX_NAME_LEN: usize = 64;

/// Default number of worker lcores.
pub const DEFAULT_NB_CORES: u32 = 1;
/// Most worker lcores (DPDK's default `RTE_MAX_LCORE`).
pub const MAX_NB_CORES: u32 = 128;
/// Default packets per rx/tx burst.
pub const DEFAULT_BURST: u16 = 32;
/// Default packets ahead whose data the rx loop prefetches: off, because on
/// the vdevs we can measure (pcap, af_packet) the PMD has just copied the
/// data, so it is already cached and A/B runs showed no gain.
pub const DEFAULT_RX_PREFETCH: u16 = 0;
/// Largest `--rx-prefetch`.
pub const MAX_RX_PREFETCH: u16 = 16;
/// Default rx descriptors per queue.
pub const DEFAULT_RXD: u16 = 1024;
/// Default tx descriptors per queue.
pub const DEFAULT_TXD: u16 = 1024;
/// Fewest descriptors per queue.
pub const MIN_DESC: u16 = 32;
/// Most descriptors per queue.
pub const MAX_DESC: u16 = 32_768;
/// Smallest explicit mbuf pool.
pub const MIN_TOTAL_NUM_MBUFS: u32 = 512;
/// Largest explicit mbuf pool.
pub const MAX_TOTAL_NUM_MBUFS: u32 = 1 << 26;
/// Shortest stats period (10 ms, two ticks of the main loop): the stats
/// block and JSON cannot usefully be written faster, and a period below
/// the loop's own cost could never catch up.
pub const MIN_STATS_PERIOD_S: f64 = 0.01;
/// Longest stats period (one day).
pub const MAX_STATS_PERIOD_S: f64 = 86_400.0;
/// Longest run duration (about 31 years; anything longer is a typo).
pub const MAX_DURATION_S: f64 = 1.0e9;
/// Largest `--config` file read (16 MiB; a 10 000-stream file is < 2 MiB):
/// reading stops there, so `--config /dev/zero` fails at once.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Longest `--health-hold`: an hour (longer would hide real trouble).
pub const MAX_HEALTH_HOLD_S: f64 = 3_600.0;
/// Default `--health-hold` (seconds).
pub const DEFAULT_HEALTH_HOLD_S: f64 = 3.0;
