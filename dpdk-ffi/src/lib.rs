//! Raw FFI to the system DPDK (found by pkg-config `libdpdk`, see build.rs).
//!
//! Two halves:
//! * bindgen output over `csrc/wrapper.h` (EAL, ethdev, rte_flow, mbuf,
//!   mempool, lcore, ring, cycles, telemetry, pdump, version), restricted by an allowlist;
//! * `shim_*` functions from `csrc/shim.c`: exported copies of DPDK's
//!   `static inline` fast path (rx/tx burst, mbuf alloc/free/mtod/prepend/adj,
//!   refcnt, head/tailroom, lcore id, rdtsc, prefetch, ring bursts, rte_errno),
//!   which otherwise have no symbol to link against.
//!
//! Everything here is `unsafe` to call; the safe API lives in
//! `dataplane::dpdk`.

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    improper_ctypes,
    unknown_lints,
    unnecessary_transmutes,
    clippy::all,
    clippy::pedantic
)]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

pub use bindings::*;

/// The DPDK version pkg-config reported at build time (e.g. "22.11.11").
pub const PKG_VERSION: &str = env!("DPDK_PKG_VERSION");

/// Directory the system's librte_eal autoloads PMD plugins from (empty if
/// none was found at build time). Used for messages and as an explicit `-d`
/// fallback.
pub const PMD_DIR: &str = env!("DPDK_PMD_DIR");

// Offload capability bits. DPDK defines them with the function-like macro
// RTE_BIT64(), which bindgen cannot evaluate; csrc/shim.c has a
// `_Static_assert` for each value so the build breaks if DPDK renumbers them.
/// `RTE_ETH_RX_OFFLOAD_IPV4_CKSUM`
pub const RTE_ETH_RX_OFFLOAD_IPV4_CKSUM: u64 = 1 << 1;
/// `RTE_ETH_RX_OFFLOAD_UDP_CKSUM`
pub const RTE_ETH_RX_OFFLOAD_UDP_CKSUM: u64 = 1 << 2;
/// `RTE_ETH_RX_OFFLOAD_TCP_CKSUM`
pub const RTE_ETH_RX_OFFLOAD_TCP_CKSUM: u64 = 1 << 3;
/// `RTE_ETH_TX_OFFLOAD_IPV4_CKSUM`
pub const RTE_ETH_TX_OFFLOAD_IPV4_CKSUM: u64 = 1 << 1;
/// `RTE_ETH_TX_OFFLOAD_UDP_CKSUM`
pub const RTE_ETH_TX_OFFLOAD_UDP_CKSUM: u64 = 1 << 2;
/// `RTE_ETH_TX_OFFLOAD_MULTI_SEGS`
pub const RTE_ETH_TX_OFFLOAD_MULTI_SEGS: u64 = 1 << 15;
/// `RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE`
pub const RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE: u64 = 1 << 16;
