//! Prerequisite checks shared by the integration tests that need root and
//! outside tools (namespaces, AF_PACKET, tcpreplay, ffmpeg, GStreamer).
//! They fail loudly, naming what is missing; they never skip.

use std::process::{Command, Stdio};

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

/// Fails unless every tool is on PATH.
pub fn require_tools<'a>(what: &str, tools: impl IntoIterator<Item = &'a str>) {
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            found,
            "{what} needs `{tool}` on PATH: run scripts/setup.sh to install it"
        );
    }
}
