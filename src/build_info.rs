//! Version text: crate version, git revision and the DPDK it was built on.

/// The `--version` text.
pub fn version() -> String {
    format!(
        "mcast-failover {} (git {}, built against DPDK {}, running {})",
        env!("CARGO_PKG_VERSION"),
        env!("MF_GIT_REV"),
        env!("MF_DPDK_VERSION"),
        dataplane::dpdk::version()
    )
}
