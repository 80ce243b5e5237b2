//! Network namespaces and veth pairs for the tests that need a real network path (the
//! membership host against a snooping bridge, the gap-fill request server, live traffic for
//! metrics, capture and reload): one way to make, enter and remove them. Entered with `nsenter --net=`, never `ip netns exec`/`ip -n`, which also remount /sys
//! and fail in a chroot or a container (scripts/lib/common.sh `in_netns` follows the same rule).

use std::process::{Command, Stdio};

/// Runs `ip ARGS` in this namespace; panics with its stderr if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace of this test, removed on drop (with the veth ends inside it).
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
}

impl Netns {
    /// Creates namespace `name` (removing a stale one of that name first) with its loopback up.
    pub fn new(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).status();
        ip(&["netns", "add", name]);
        let ns = Netns { name: name.into() };
        ns.sh(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// `ARGS` as a command run inside the namespace.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name))
            .arg("--")
            .args(args);
        c
    }

    /// Runs `ARGS` inside the namespace and returns its stdout; panics with its stderr if it
    /// fails.
    pub fn sh(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run nsenter");
        assert!(
            out.status.success(),
            "in {}: {args:?} failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A veth pair in this namespace for one test: the binary's af_packet port on `dut`, the
/// traffic source (tcpreplay) on `feed`. No IPv6 on it (its router solicitations would be
/// noise in the capture). Deleted on drop.
pub struct Veth {
    /// The device-under-test end.
    pub dut: String,
    /// The end the test sends into.
    pub feed: String,
}

impl Veth {
    /// Makes the pair `mf<tag><pid>d` / `mf<tag><pid>f` (a stale one of that name is removed
    /// first) and brings both ends up.
    pub fn new(tag: &str) -> Veth {
        let id = std::process::id() % 100_000;
        let v = Veth {
            dut: format!("mf{tag}{id}d"),
            feed: format!("mf{tag}{id}f"),
        };
        let _ = Command::new("ip")
            .args(["link", "del", &v.dut])
            .stderr(Stdio::null())
            .status();
        ip(&[
            "link", "add", &v.dut, "type", "veth", "peer", "name", &v.feed,
        ]);
        for name in [&v.dut, &v.feed] {
            let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
            ip(&["link", "set", name, "up"]);
        }
        v
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.dut]).status();
    }
}
