//! The mcast-failover dataplane: everything that runs on an lcore.
//!
//! The merge engine and its helpers (`wire`, `seq`, `slots`, `merge`,
//! `rewrite`, `stats`) are pure, DPDK-free Rust so they can be unit-,
//! property- and fuzz-tested and benchmarked without an EAL. The `dpdk`
//! module holds the only safe wrappers over `dpdk-sys`, and `worker` the
//! lcore loops that join the two; both need the `dpdk` feature (default).

pub mod admit;
pub mod membership;
pub mod merge;
pub mod rewrite;
pub mod seq;
pub mod slots;
pub mod stats;
pub mod wire;

#[cfg(feature = "dpdk")]
pub mod dpdk;
#[cfg(feature = "dpdk")]
pub mod worker;
