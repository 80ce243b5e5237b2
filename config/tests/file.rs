//! The TOML file: schema, errors with file/line/key, and precedence
//! (command line > [[stream]] > [defaults] > built-in).

mod common;

use std::time::Duration;

use common::{err, ok, toml_file};
use config::{Endian, FieldWidth, ForwardMode, MacAddr, MergeMode, SeqSpec, VlanAction};

const TWO_STREAMS: &str = r#"
primary_port = 4
secondary_port = 5
output_port = 6
burst = 64
forward_mode = "hitless"
stats_period = 2
stats_json = "stats.json"
no_udp_csum_check = true

[defaults]
max_delay = 20
max_rate = 1000
restart_after = 8
out_ttl = 7
renumber = true

[[stream]]
name = "a"
legs = ["239.1.1.1:5000", "239.2.1.1:5000"]
output = "239.10.1.1:5000"
max_delay = 30.5
mode = "primary"
seq = "u32le@0"

[[stream]]
legs = ["239.1.1.2:5000", "239.2.1.2:5000"]
output = "239.10.1.2:5000"
out_vlan = 42
out_dst_mac = "02:00:00:00:00:09"
"#;

#[test]
fn file_values_are_used() {
    let (_dir, path) = toml_file(TWO_STREAMS);
    let cfg = ok(&["--", "--config", &path]);
    assert_eq!(
        cfg.config_file.as_deref(),
        Some(std::path::Path::new(&path))
    );
    assert_eq!(
        (cfg.primary_port, cfg.secondary_port, cfg.output_port),
        (4, 5, 6)
    );
    assert_eq!(cfg.burst, 64);
    assert_eq!(cfg.forward_mode, ForwardMode::Hitless);
    assert_eq!(cfg.stats_period, Some(Duration::from_secs(2)));
    assert_eq!(
        cfg.stats_json.as_deref(),
        Some(std::path::Path::new("stats.json"))
    );
    assert!(!cfg.verify_udp_checksum);
    let [a, b] = &cfg.streams[..] else {
        panic!("{:?}", cfg.streams)
    };
    assert_eq!((a.name.as_str(), b.name.as_str()), ("a", "stream2"));
    // [[stream]] beats [defaults]; [defaults] beats built-in.
    assert_eq!(a.max_delay, Duration::from_micros(30_500));
    assert_eq!(b.max_delay, Duration::from_millis(20));
    assert_eq!(
        a.mode,
        MergeMode::Primary,
        "stream mode beats file forward_mode"
    );
    assert_eq!(
        b.mode,
        MergeMode::Hitless,
        "file forward_mode is the default mode"
    );
    assert_eq!(
        a.seq,
        SeqSpec::Field {
            width: FieldWidth::U32,
            endian: Endian::Little,
            offset: 0
        }
    );
    assert_eq!(b.seq, SeqSpec::Rtp);
    assert_eq!((a.out.ttl, b.out.ttl), (Some(7), Some(7)));
    assert!(a.renumber && b.renumber);
    assert_eq!(b.out.vlan, VlanAction::Set(42));
    assert_eq!(b.out.dst_mac, Some(MacAddr([2, 0, 0, 0, 0, 9])));
    // 30.5 ms and 20 ms at 1000 pps need 31 and 20 slots, restart-after 8
    // needs 32 -> 32.
    assert_eq!((a.slots, b.slots), (32, 32));
    assert_eq!(a.leg_timeout, Duration::from_millis(200));
}

#[test]
fn command_line_overrides_the_file_everywhere() {
    let (_dir, path) = toml_file(TWO_STREAMS);
    let cfg = ok(&[
        "--",
        "--config",
        &path,
        "--burst",
        "16",
        "--primary-port",
        "0",
        "--max-delay",
        "40",
        "--forward-mode",
        "primary",
        "--seq",
        "rtp",
        "--out-ttl",
        "3",
        "--out-vlan",
        "keep",
        "--stats-period",
        "0",
        "--stream",
        "239.1.1.3:5000,239.2.1.3:5000=239.10.1.3:5000",
    ]);
    assert_eq!(cfg.burst, 16);
    assert_eq!((cfg.primary_port, cfg.secondary_port), (0, 5));
    assert_eq!(cfg.forward_mode, ForwardMode::Primary);
    assert_eq!(
        cfg.stats_period, None,
        "0 on the command line turns off the file's period"
    );
    assert_eq!(cfg.streams.len(), 3, "--stream adds to the file's streams");
    for s in &cfg.streams {
        assert_eq!(s.max_delay, Duration::from_millis(40), "{}", s.name);
        assert_eq!(s.mode, MergeMode::Primary, "{}", s.name);
        assert_eq!(s.seq, SeqSpec::Rtp, "{}", s.name);
        assert_eq!(s.out.ttl, Some(3), "{}", s.name);
        assert_eq!(s.out.vlan, VlanAction::Keep, "{}", s.name);
        assert!(s.renumber, "{}: [defaults] still applies", s.name);
    }
    assert_eq!(cfg.streams[2].name, "stream3");
}

#[test]
fn the_same_stream_from_file_or_command_line_is_identical() {
    let (_dir, path) = toml_file(
        r#"
[[stream]]
legs = ["[ff3e::1]:5000", "[ff3e::2]:5000"]
output = "[ff3e::9]:5000"
seq = "u64be@10"
max_delay = 7.5
leg_timeout = 90
restart_after = 3
slots = 4096
out_src_ip = "2001:db8::1"
out_src_port = 999
out_dscp = 10
out_vlan = "strip"
"#,
    );
    let from_file = ok(&["--", "--config", &path]);
    let from_cli = ok(&[
        "--",
        "--stream",
        "[ff3e::1]:5000,[ff3e::2]:5000=[ff3e::9]:5000",
        "--seq",
        "u64be@10",
        "--max-delay",
        "7.5",
        "--leg-timeout",
        "90",
        "--restart-after",
        "3",
        "--slots",
        "4096",
        "--out-src-ip",
        "2001:db8::1",
        "--out-src-port",
        "999",
        "--out-dscp",
        "10",
        "--out-vlan",
        "strip",
    ]);
    assert_eq!(from_file.streams, from_cli.streams);
}

#[test]
fn missing_or_unreadable_file() {
    err(
        &["--", "--config", "/nonexistent/x.toml"],
        &["--config /nonexistent/x.toml", "cannot read"],
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    err(
        &["--", "--config", d],
        &[&format!("--config {d}"), "cannot read"],
    );
    let (_dir, path) = toml_file("");
    std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    err(&["--", "--config", &path], &[&path]);
}

/// Each case: file text, then strings the error must contain; `{}` in a
/// needle stands for the file's path.
fn file_err(text: &str, needles: &[&str]) {
    let (_dir, path) = toml_file(text);
    let needles: Vec<String> = needles.iter().map(|n| n.replace("{}", &path)).collect();
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    err(&["--", "--config", &path], &needles);
}

const LEGS: &str =
    "legs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.1:5000\"\n";

#[test]
fn toml_syntax_and_type_errors_carry_line_and_column() {
    file_err("burst = 32\nnb_cores = = 2\n", &["{}:2:"]);
    file_err("[[stream]\n", &["{}:1:"]);
    file_err(
        "burst = \"many\"\n",
        &["{}:1:9", "invalid type", "\"many\""],
    );
    file_err("\n\nburst = 3.5\n", &["{}:3:9"]);
    file_err("stats_period = \"1s\"\n", &["{}:1:"]);
    file_err("no_udp_csum_check = 1\n", &["{}:1:"]);
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    file_err("burts = 32\n", &["{}:1:1", "unknown field `burts`"]);
    file_err(
        "[defaults]\nmax_dealy = 5\n",
        &["{}:2:1", "unknown field `max_dealy`"],
    );
    file_err(
        &format!("[[stream]]\n{LEGS}colour = \"red\"\n"),
        &["{}:4:1", "unknown field `colour`"],
    );
    file_err(
        "[ports]\nprimary = 0\n",
        &["{}:1:", "unknown field `ports`"],
    );
    file_err(
        "[[stream]]\nname = \"x\"\n",
        &["{}:1:", "missing field `output`"],
    );
    file_err(
        "[[stream]]\nname = \"x\"\noutput = \"239.10.0.1:5000\"\n",
        &["[[stream]] \"x\": no legs", "sdp = "],
    );
}

#[test]
fn bad_addresses_in_the_file_carry_line_and_value() {
    file_err(
        "[[stream]]\nlegs = [\"239.1.1.1:5000\", \"10.0.0.1:5000\"]\noutput = \"239.10.1.1:5000\"\n",
        &["{}:2:", "'10.0.0.1:5000' is not a multicast group"],
    );
    file_err(
        "[[stream]]\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.1\"\n",
        &["{}:3:", "bad address '239.10.1.1'"],
    );
    file_err(
        &format!("[[stream]]\n{LEGS}seq = \"u128be@0\"\n"),
        &["{}:4:", "'u128be@0'"],
    );
    file_err(
        &format!("[[stream]]\n{LEGS}out_src_ip = \"1.2.3\"\n"),
        &["{}:4:", "'1.2.3'"],
    );
    file_err(
        &format!("[[stream]]\n{LEGS}out_vlan = 5000\n"),
        &["{}:4:", "'5000'"],
    );
    file_err(
        &format!("[[stream]]\n{LEGS}mode = \"io\"\n"),
        &["{}:4:", "'io'"],
    );
    file_err("forward_mode = \"turbo\"\n", &["{}:1:", "'turbo'"]);
}

#[test]
fn out_of_range_file_values_name_file_place_and_key() {
    file_err(
        &format!("burst = 0\n[[stream]]\n{LEGS}"),
        &["{}: burst = 0", "1..=512"],
    );
    file_err(
        &format!("primary_port = -3\n[[stream]]\n{LEGS}"),
        &["{}: primary_port = -3"],
    );
    file_err(
        &format!("stats_json = \"\"\n[[stream]]\n{LEGS}"),
        &["{}: stats_json = ''", "empty"],
    );
    file_err(
        &format!("[defaults]\nmax_delay = 0\n[[stream]]\n{LEGS}"),
        &["{} [defaults]: max_delay = 0"],
    );
    file_err(
        &format!("[[stream]]\nname = \"cam\"\n{LEGS}slots = 100\n"),
        &["{} [[stream]] \"cam\": slots = 100", "power of two"],
    );
    file_err(
        &format!("[[stream]]\n{LEGS}out_dscp = 99\n"),
        &["{} [[stream]] #1: out_dscp = 99"],
    );
    // Values that are only bad for a given stream still name the stream.
    file_err(
        &format!("[defaults]\nout_src_ip = \"2001:db8::1\"\n[[stream]]\n{LEGS}"),
        &["{} [defaults]: out_src_ip = 2001:db8::1", "IPv6", "IPv4"],
    );
    // A bad [defaults] value is reported even when every stream overrides it.
    file_err(
        &format!("[defaults]\nout_ttl = 0\n[[stream]]\n{LEGS}out_ttl = 5\n"),
        &["{} [defaults]: out_ttl = 0"],
    );
}

#[test]
fn duplicate_and_overlapping_streams_in_the_file() {
    file_err(
        "[[stream]]\nname = \"a\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.1:5000\"\n\
         [[stream]]\nname = \"a\"\nlegs = [\"239.1.1.2:5000\", \"239.2.1.2:5000\"]\noutput = \"239.10.1.2:5000\"\n",
        &["stream name \"a\" is already used"],
    );
    file_err(
        "[[stream]]\nname = \"a\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.1:5000\"\n\
         [[stream]]\nname = \"b\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.2:5000\"]\noutput = \"239.10.1.2:5000\"\n",
        &["{} [[stream]] \"b\"", "leg 239.1.1.1:5000 is already a leg of stream \"a\""],
    );
    // PITCH streams of different units may share groups (the unit picks
    // the stream); of the same unit, or with a stream of another framing,
    // they may not.
    let pitch = |name: &str, unit: u8, out: u8| {
        format!(
            "[[stream]]\nname = \"{name}\"\nseq = \"pitch:{unit}\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.{out}:5000\"\n"
        )
    };
    let (_dir, path) = toml_file(&format!(
        "{}{}{}",
        pitch("u1", 1, 1),
        pitch("u2", 2, 2),
        pitch("u9", 9, 3)
    ));
    let cfg = ok(&["--", "--config", &path]);
    assert_eq!(cfg.streams.len(), 3);
    assert_eq!(cfg.streams[1].legs, cfg.streams[0].legs);
    file_err(
        &format!(
            "{}{}{}",
            pitch("u1", 1, 1),
            pitch("u2", 2, 2),
            pitch("again", 1, 3)
        ),
        &[
            "{} [[stream]] \"again\"",
            "leg 239.1.1.1:5000 is already a leg of stream \"u1\" with the same PITCH unit 1",
        ],
    );
    file_err(
        &format!(
            "{}[[stream]]\nname = \"mold\"\nseq = \"moldudp64\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.4:5000\"\n",
            pitch("u1", 1, 1)
        ),
        &["leg 239.1.1.1:5000 is already a leg of stream \"u1\" (streams share a group only as --seq pitch:UNIT streams of different units)"],
    );
    file_err(
        "[[stream]]\nname = \"a b\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.1.1:5000\"\n",
        &["bad stream name \"a b\""],
    );
    file_err(
        "[[stream]]\nlegs = [\"239.1.1.1:5000\"]\noutput = \"239.10.1.1:5000\"\n",
        &["{} [[stream]] #1", "1 legs"],
    );
    // A command-line stream overlapping a file stream.
    let (_dir, path) = toml_file(&format!("[[stream]]\nname = \"f\"\n{LEGS}"));
    err(
        &[
            "--",
            "--config",
            &path,
            "--stream",
            "239.1.1.1:5000,239.3.1.1:5000=239.10.1.5:5000",
        ],
        &[
            "--stream '239.1.1.1:5000,239.3.1.1:5000=239.10.1.5:5000'",
            "already a leg of stream \"f\"",
        ],
    );
    // A command-line stream taking a file stream's default name.
    let (_dir, path) = toml_file(&format!("[[stream]]\nname = \"stream2\"\n{LEGS}"));
    err(
        &[
            "--",
            "--config",
            &path,
            "--stream",
            "239.2.1.9:5000,239.3.1.1:5000=239.10.1.5:5000",
        ],
        &["stream name \"stream2\" is already used"],
    );
}

#[test]
fn empty_file_needs_streams_unless_io() {
    let (_dir, path) = toml_file("# nothing\n");
    err(&["--", "--config", &path], &["no stream configured"]);
    let cfg = ok(&["--", "--config", &path, "--forward-mode", "io"]);
    assert!(cfg.streams.is_empty());
    let (_dir, path) = toml_file("forward_mode = \"io\"\nprimary_port = 1\noutput_port = 0\n");
    let cfg = ok(&["--", "--config", &path]);
    assert_eq!(
        (cfg.forward_mode, cfg.primary_port, cfg.output_port),
        (ForwardMode::Io, 1, 0)
    );
}

#[test]
fn slots_too_small_for_the_window_in_the_file() {
    file_err(
        &format!("[[stream]]\nname = \"s\"\n{LEGS}slots = 64\nmax_delay = 100\n"),
        &["{} [[stream]] \"s\": slots = 64: too small: a 100 ms window at 10000 pps needs 1000 slots"],
    );
    file_err(
        &format!("[defaults]\nslots = 64\n[[stream]]\nname = \"s\"\n{LEGS}"),
        &["{} [defaults]: slots = 64: too small for {} [[stream]] \"s\": a 50 ms window"],
    );
}

#[test]
fn legs_may_name_their_source_in_either_form() {
    let (_dir, path) = toml_file(
        r#"
no_membership = true
[[stream]]
legs = [{ group = "232.1.1.1:5000", source = "192.0.2.1" }, "232.2.1.1:5000@198.51.100.1"]
output = "239.10.0.1:5004"
[[stream]]
legs = [{ group = "[ff3e::1]:5000", source = "2001:db8::1" }, { group = "[ff3e::2]:5000" }]
output = "[ff3e::10]:5004"
"#,
    );
    let cfg = ok(&["--", "--config", &path]);
    let ip = |s: &str| Some(s.parse().unwrap());
    assert_eq!(
        cfg.streams[0].sources,
        vec![ip("192.0.2.1"), ip("198.51.100.1")]
    );
    assert_eq!(cfg.streams[1].sources, vec![ip("2001:db8::1"), None]);
    assert_eq!(cfg.streams[1].legs[1], "[ff3e::2]:5000".parse().unwrap());
}

#[test]
fn bad_leg_sources_are_refused_with_their_place() {
    for (legs, needle) in [
        (
            r#"[{ group = "232.1.1.1:5000", source = "ff3e::1" }, "232.2.1.1:5000"]"#,
            "not a unicast",
        ),
        (
            r#"[{ group = "232.1.1.1:5000", source = "2001:db8::1" }, "232.2.1.1:5000"]"#,
            "is IPv6 but group",
        ),
        (
            r#"[{ source = "192.0.2.1" }, "232.2.1.1:5000"]"#,
            "a leg table needs group",
        ),
        (
            r#"[{ group = "232.1.1.1:5000", sauce = "192.0.2.1" }, "232.2.1.1:5000"]"#,
            "unknown key 'sauce'",
        ),
        (r#"["232.1.1.1:5000@x", "232.2.1.1:5000"]"#, "bad source"),
    ] {
        let (_dir, path) = toml_file(&format!(
            "[[stream]]\nlegs = {legs}\noutput = \"239.10.0.1:5004\"\n"
        ));
        err(&["--", "--config", &path], &[needle, ":2:"]);
    }
}

#[test]
fn port_ip_list_in_the_file() {
    let (_dir, path) = toml_file(
        r#"
port_ip = ["0=192.0.2.10/24", "1=192.0.2.11/24"]
[[stream]]
legs = ["232.1.1.1:5000@192.0.2.1", "232.2.1.1:5000@192.0.2.2"]
output = "239.10.0.1:5004"
"#,
    );
    let cfg = ok(&["--", "--config", &path]);
    assert_eq!(cfg.port_ips[0].to_string(), "0=192.0.2.10/24");
    // The command line replaces the file's list.
    err(
        &["--", "--config", &path, "--port-ip", "0=192.0.2.10"],
        &["input port 1"],
    );
}

#[test]
fn a_stream_table_may_take_its_legs_from_an_sdp() {
    let dir = tempdir_with_sdp();
    let toml = dir.join("c.toml");
    std::fs::write(
        &toml,
        "no_membership = true\n[[stream]]\nname = \"aes67\"\nsdp = \"a.sdp\"\noutput = \"239.10.0.9:5004\"\n",
    )
    .unwrap();
    let cfg = ok(&["--", "--config", toml.to_str().unwrap()]);
    assert_eq!(cfg.streams[0].legs.len(), 2);
    assert_eq!(cfg.streams[0].legs[1].port(), 5006);
    std::fs::write(
        &toml,
        "[[stream]]\nsdp = \"a.sdp\"\nlegs = [\"239.1.1.1:5000\", \"239.2.1.1:5000\"]\noutput = \"239.10.0.9:5004\"\n",
    )
    .unwrap();
    err(
        &["--", "--config", toml.to_str().unwrap()],
        &["legs or sdp, not both"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempdir_with_sdp() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mf-sdp-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.sdp"),
        include_str!("../../examples/aes67-dup-same-group.sdp"),
    )
    .unwrap();
    dir
}
