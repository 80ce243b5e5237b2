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

/// The same facts as labels, for the metrics' build info.
pub fn labels() -> Vec<(&'static str, String)> {
    vec![
        ("version", env!("CARGO_PKG_VERSION").to_string()),
        ("git", env!("MF_GIT_REV").to_string()),
        ("dpdk_built", env!("MF_DPDK_VERSION").to_string()),
        ("dpdk_running", dataplane::dpdk::version()),
    ]
}
