//! Helpers shared by the integration tests.
#![allow(dead_code)]

use config::{AppConfig, ConfigError, Parsed};

/// A valid stream for tests that are about something else.
pub const S1: &str = "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000";

/// Parses `mcast-failover ARGS...` and expects a run configuration or an error.
pub fn run(args: &[&str]) -> Result<AppConfig, ConfigError> {
    let argv = std::iter::once("mcast-failover")
        .chain(args.iter().copied())
        .map(String::from);
    match config::parse_args(argv) {
        Ok(Parsed::Run(cfg)) => Ok(*cfg),
        Ok(other) => panic!("{args:?}: expected a run configuration, got {other:?}"),
        Err(e) => Err(e),
    }
}

/// Parses and expects success.
pub fn ok(args: &[&str]) -> AppConfig {
    run(args).unwrap_or_else(|e| panic!("{args:?}: unexpected error: {e}"))
}

/// Parses, expects a one-line error containing every needle, returns it.
pub fn err(args: &[&str], needles: &[&str]) -> String {
    let e = match run(args) {
        Ok(cfg) => panic!("{args:?}: expected an error, got {cfg:?}"),
        Err(e) => e,
    };
    let msg = e.to_string();
    assert_eq!(e.exit_code(), 2);
    assert!(!msg.contains('\n'), "not one line: {msg:?}");
    for needle in needles {
        assert!(
            msg.contains(needle),
            "{args:?}: {msg:?} does not contain {needle:?}"
        );
    }
    msg
}

/// Writes a TOML file into a fresh temporary directory.
pub fn toml_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.toml");
    std::fs::write(&path, text).expect("write toml");
    let path = path.to_str().expect("utf-8 temp path").to_string();
    (dir, path)
}
