//! Every shipped `examples/*.toml` loads, and says what its comments claim.

mod common;

use std::path::PathBuf;

use common::ok;
use config::{Endian, FieldWidth, ForwardMode, MergeMode, SeqSpec, VlanAction};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn load(name: &str) -> config::AppConfig {
    let path = examples_dir().join(name);
    ok(&[
        "-l",
        "0-1",
        "--",
        "--config",
        path.to_str().expect("utf-8 path"),
    ])
}

#[test]
fn every_example_loads() {
    let mut names: Vec<String> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    for name in &names {
        let cfg = load(name);
        assert!(!cfg.streams.is_empty(), "{name} has no stream");
        cfg.check_ports(&[0, 1, 2])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn two_legs_example() {
    let cfg = load("two-legs.toml");
    assert_eq!(cfg.streams.len(), 1);
    let s = &cfg.streams[0];
    assert_eq!(s.name, "channel1");
    assert_eq!(
        (s.seq, s.mode, s.slots),
        (SeqSpec::Rtp, MergeMode::Primary, 512)
    );
    assert_eq!(cfg.forward_mode, ForwardMode::Primary);
}

#[test]
fn many_streams_example() {
    let cfg = load("many-streams.toml");
    assert_eq!(cfg.streams.len(), 33);
    assert_eq!(cfg.input_ports(), [0, 1]);
    assert!(cfg.streams[..32]
        .iter()
        .all(|s| s.mode == MergeMode::Hitless && s.slots == 512));
    let v6 = &cfg.streams[32];
    assert_eq!(v6.name, "uhd-v6");
    assert_eq!(
        (v6.legs.len(), v6.mode, v6.slots),
        (3, MergeMode::Primary, 32768)
    );
    assert_eq!(v6.out.vlan, VlanAction::Set(100));
    assert_eq!(v6.out.dscp, Some(34));
}

#[test]
fn moldudp64_example() {
    let cfg = load("moldudp64.toml");
    let seqs: Vec<SeqSpec> = cfg.streams.iter().map(|s| s.seq).collect();
    assert_eq!(
        seqs,
        [
            SeqSpec::MoldUdp64,
            SeqSpec::MoldUdp64,
            SeqSpec::Field {
                width: FieldWidth::U32,
                endian: Endian::Little,
                offset: 0
            }
        ]
    );
    assert_eq!(cfg.streams[0].slots, 2048);
    assert!(cfg.streams[2].renumber);
}

/// Issue 17: no example writes to a fixed name in a directory every user
/// can write (one could plant a file or link there before root runs it).
#[test]
fn no_example_writes_into_a_shared_directory() {
    let shared = ["/tmp", "/var/tmp", "/dev/shm"];
    for e in std::fs::read_dir(examples_dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let cfg = load(&name);
        if let Some(out) = &cfg.stats_json {
            assert!(
                !shared.iter().any(|d| out.starts_with(d)),
                "{name}: stats_json {}",
                out.display()
            );
        }
    }
}
