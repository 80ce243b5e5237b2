//! Prerequisites of the integration tests that need root and outside tools (namespaces,
//! AF_PACKET, tcpreplay, ffmpeg, GStreamer), declared once per suite in [`ALL`].
//!
//! The checks fail loudly, naming what is missing; they never skip. `tests/setup_tools.rs`
//! reads [`ALL`] (and the scripts' `need`/`want` lines) to prove that `scripts/setup.sh`
//! installs every tool listed here, so a test cannot depend on something installed by hand.

// Each test crate includes this module and uses only its own suites.
#![allow(dead_code)]

use std::process::{Command, Stdio};

/// What one group of tests needs from the machine.
pub struct Suite {
    /// Test (or group) name, for the failure message.
    pub name: &'static str,
    /// Needs root (network namespaces, AF_PACKET, hugepages).
    pub root: bool,
    /// Commands that must be on PATH.
    pub tools: &'static [&'static str],
}

/// `tests/e2e_wire.rs`: scripts/demo.sh end to end, and its dpdk-testpmd negative control.
pub const E2E_WIRE: Suite = Suite {
    name: "e2e_wire",
    root: true,
    tools: &[
        "ip",
        "nsenter",
        "ethtool",
        "ffmpeg",
        "ffprobe",
        "tshark",
        "python3",
        "dpdk-testpmd",
    ],
};

/// `tests/ops.rs`: scraping the metrics page and checking it and the README's alert rules.
pub const OPS_METRICS: Suite = Suite {
    name: "ops metrics",
    root: true,
    tools: &["curl", "promtool"],
};

/// `tests/ops.rs`: the telemetry commands through DPDK's own client.
pub const OPS_TELEMETRY: Suite = Suite {
    name: "ops telemetry",
    root: true,
    tools: &["dpdk-telemetry.py", "python3"],
};

/// `tests/ops.rs`: live traffic on a veth pair (tcpreplay into an af_packet port), health
/// polled on the metrics page, the output captured with dpdk-dumpcap and read with tshark.
pub const OPS_LIVE: Suite = Suite {
    name: "ops live traffic",
    root: true,
    tools: &["ip", "tcpreplay", "curl", "dpdk-dumpcap", "tshark"],
};

/// `tests/reload.rs`: live reload with traffic on a veth pair (tcpreplay
/// into an af_packet port).
pub const RELOAD: Suite = Suite {
    name: "live reload",
    root: true,
    tools: &["ip", "tcpreplay", "dpdk-telemetry.py", "python3"],
};

/// `tests/ops.rs`: the systemd unit in packaging/ checked by systemd itself.
pub const OPS_SYSTEMD: Suite = Suite {
    name: "ops systemd unit",
    root: false,
    tools: &["systemd-analyze"],
};

/// Every suite, for tests/setup_tools.rs.
pub const ALL: &[Suite] = &[
    E2E_WIRE,
    MEMBERSHIP,
    OPS_METRICS,
    OPS_TELEMETRY,
    OPS_LIVE,
    OPS_SYSTEMD,
    RELOAD,
    GAP_FILL,
    STEERING,
];

/// `tests/steering.rs`: net_tap inputs in a namespace, fed by tcpreplay;
/// `tc` probes the kernel's flow support independently of the binary.
pub const STEERING: Suite = Suite {
    name: "steering",
    root: true,
    tools: &["ip", "nsenter", "tcpreplay", "tc"],
};

/// `tests/gap_fill.rs`: the request server in its own namespace behind a veth pair.
pub const GAP_FILL: Suite = Suite {
    name: "gap_fill",
    root: true,
    tools: &["ip", "nsenter"],
};

/// `tests/membership.rs`: the membership host against a Linux bridge with IGMP/MLD snooping
/// and a querier, a paced sender behind it, tshark dissecting the reports.
pub const MEMBERSHIP: Suite = Suite {
    name: "membership",
    root: true,
    tools: &["ip", "bridge", "nsenter", "ethtool", "tshark", "python3"],
};

/// Fails unless the machine has what `suite` needs.
pub fn require(suite: &Suite) {
    if suite.root {
        require_root(suite.name);
    }
    for tool in suite.tools {
        assert!(
            on_path(tool),
            "{} needs `{tool}` on PATH: run scripts/setup.sh to install it",
            suite.name
        );
    }
}

/// Fails unless running as root; `what` names the test and why.
pub fn require_root(what: &str) {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .expect("cannot run `id -u`");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "{what} needs root (network namespaces, AF_PACKET): run the tests as root"
    );
}

/// Whether `tool` is a command on PATH.
pub fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v '{tool}'")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
