//! The command line: argument split, defaults, every flag's parsing, and a
//! one-line error naming the value for each kind of bad input.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{err, ok, run, S1};
use config::{
    limits, Endian, FieldWidth, ForwardMode, MacAddr, MergeMode, Parsed, SeqSpec, VlanAction,
};

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn eal_args_pass_through_untouched_before_the_separator() {
    let cfg = ok(&[
        "-l",
        "0-1",
        "--no-pci",
        "--vdev",
        "net_pcap0,rx_pcap=a.pcap",
        "--",
        "--stream",
        S1,
    ]);
    assert_eq!(
        cfg.eal_args,
        [
            "mcast-failover",
            "-l",
            "0-1",
            "--no-pci",
            "--vdev",
            "net_pcap0,rx_pcap=a.pcap"
        ]
    );
    // Only the first `--` splits; EAL may even see our flag names untouched.
    let cfg = ok(&["--burst", "--", "--stream", S1]);
    assert_eq!(cfg.eal_args, ["mcast-failover", "--burst"]);
    assert_eq!(cfg.burst, 32);
}

#[test]
fn program_name_is_kept_and_defaulted() {
    let argv = ["/usr/bin/mf", "-l", "1", "--", "--forward-mode", "io"].map(String::from);
    match config::parse_args(argv).unwrap() {
        Parsed::Run(cfg) => assert_eq!(cfg.eal_args, ["/usr/bin/mf", "-l", "1"]),
        other => panic!("{other:?}"),
    }
    match config::parse_args(Vec::<String>::new()) {
        Err(e) => assert!(e.to_string().contains("no stream configured"), "{e}"),
        Ok(other) => panic!("{other:?}"),
    }
}

#[test]
fn without_separator_everything_is_eal_except_help_and_version() {
    // All EAL; primary mode then lacks streams, and the error says how to add them.
    err(
        &["-l", "0-1", "--stream", S1],
        &["no stream configured", "after `--`"],
    );
    for args in [&["--help"][..], &["-l", "0", "-h"], &["--help", "-V"]] {
        let argv = std::iter::once("mf")
            .chain(args.iter().copied())
            .map(String::from);
        match config::parse_args(argv).unwrap() {
            Parsed::Help(text) => assert!(text.contains("--stream"), "{text}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
    let argv = ["mf", "-l", "0", "--version"].map(String::from);
    assert_eq!(
        config::parse_args(argv).unwrap(),
        Parsed::Version(format!("mcast-failover {}", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn help_and_version_after_separator() {
    for flag in ["--help", "-h"] {
        let argv = ["mf", "-l", "0", "--", flag].map(String::from);
        assert!(matches!(config::parse_args(argv).unwrap(), Parsed::Help(_)));
    }
    let argv = ["mf", "--", "--stream", S1, "-V"].map(String::from);
    assert!(matches!(
        config::parse_args(argv).unwrap(),
        Parsed::Version(_)
    ));
    // `--help` before `--` belongs to EAL.
    let cfg = ok(&["--help", "--", "--forward-mode", "io"]);
    assert_eq!(cfg.eal_args, ["mcast-failover", "--help"]);
}

#[test]
fn help_documents_every_option_with_its_default() {
    let help = config::help_text();
    assert!(help.contains("Usage: mcast-failover [EAL options] -- [options]"));
    let flags = [
        "--config",
        "--primary-port",
        "--secondary-port",
        "--output-port",
        "--stream",
        "--out-src-ip",
        "--out-src-port",
        "--out-dst-mac",
        "--out-ttl",
        "--out-dscp",
        "--out-vlan",
        "--renumber",
        "--forward-mode",
        "--max-delay",
        "--leg-timeout",
        "--restart-after",
        "--slots",
        "--max-rate",
        "--seq",
        "--nb-cores",
        "--burst",
        "--rxd",
        "--txd",
        "--total-num-mbufs",
        "--stats-period",
        "--stats-json",
        "--duration",
        "--no-udp-csum-check",
    ];
    // Each option's entry runs from its flag to the next blank line.
    for flag in flags {
        let start = help
            .find(&format!("      {flag} "))
            .or_else(|| help.find(&format!("      {flag}\n")))
            .unwrap_or_else(|| panic!("{flag} missing from help"));
        let entry = &help[start..];
        let entry = &entry[..entry.find("\n\n").unwrap_or(entry.len())];
        assert!(
            entry.contains("[default: "),
            "{flag} has no default in help: {entry}"
        );
    }
    for (flag, default) in [
        ("--burst", format!("[default: {}]", limits::DEFAULT_BURST)),
        ("--max-delay", "[default: 50]".to_string()),
        ("--leg-timeout", "[default: 200]".to_string()),
        ("--restart-after", "[default: 20]".to_string()),
        ("--rxd", "[default: 1024]".to_string()),
        ("--forward-mode", "[default: primary]".to_string()),
    ] {
        let entry = &help[help.find(&format!("      {flag} ")).unwrap()..];
        let entry = &entry[..entry.find("\n\n").unwrap()];
        assert!(entry.contains(&default), "{flag}: {entry}");
    }
}

#[test]
fn defaults_are_filled_in() {
    let cfg = ok(&["--", "--stream", S1]);
    assert_eq!(
        (cfg.primary_port, cfg.secondary_port, cfg.output_port),
        (0, 1, 2)
    );
    assert_eq!(cfg.forward_mode, ForwardMode::Primary);
    assert_eq!(
        (cfg.nb_cores, cfg.burst, cfg.rxd, cfg.txd),
        (1, 32, 1024, 1024)
    );
    assert_eq!(cfg.total_num_mbufs, None);
    assert_eq!(
        (cfg.stats_period, cfg.duration, cfg.stats_json.clone()),
        (None, None, None)
    );
    assert!(cfg.verify_udp_checksum);
    assert_eq!(cfg.config_file, None);
    let s = &cfg.streams[0];
    assert_eq!(s.name, "stream1");
    assert_eq!(s.legs, [sa("239.1.1.1:5000"), sa("239.2.1.1:5000")]);
    assert_eq!(s.out.dst(), sa("239.10.1.1:5000"));
    assert_eq!(s.seq, SeqSpec::Rtp);
    assert_eq!(s.mode, MergeMode::Primary);
    assert_eq!(s.max_delay, Duration::from_millis(50));
    assert_eq!(s.leg_timeout, Duration::from_millis(200));
    assert_eq!(s.restart_after, 20);
    // 50 ms at the default 10 kpps = 500 packets -> 512 slots (the next power of two; docs/ARCHITECTURE.md).
    assert_eq!(s.slots, 512);
    assert_eq!(
        s.out.dst_mac,
        Some(MacAddr([0x01, 0x00, 0x5e, 0x0a, 0x01, 0x01]))
    );
    assert_eq!(
        (s.out.src_ip, s.out.src_port, s.out.ttl, s.out.dscp),
        (None, None, None, None)
    );
    // Issue 17: a leg's tag says which network the copy came in on; the
    // output is one flow whichever leg is used, so it is untagged unless
    // --out-vlan says otherwise.
    assert_eq!(s.out.vlan, VlanAction::Strip);
    assert!(!s.renumber);
    assert_eq!(cfg.input_ports(), [0, 1]);
}

#[test]
fn every_flag_is_applied() {
    let cfg = ok(&[
        "-l",
        "0-1",
        "--",
        "--primary-port",
        "3",
        "--secondary-port",
        "3",
        "--output-port",
        "4",
        "--stream",
        "239.1.1.1:5000,239.2.1.1:5000,239.3.1.1:5000=239.10.1.1:6000",
        "--stream",
        "239.1.1.2:5000, 239.2.1.2:5000=239.10.1.2:6000",
        "--out-src-ip",
        "10.0.0.1",
        "--out-src-port",
        "4000",
        "--out-dst-mac",
        "02:00:00:00:00:01",
        "--out-ttl",
        "9",
        "--out-dscp",
        "46",
        "--out-vlan",
        "strip",
        "--renumber",
        "--forward-mode",
        "hitless",
        "--max-delay",
        "2.5",
        "--leg-timeout",
        "100",
        "--restart-after",
        "5",
        "--slots",
        "1024",
        "--max-rate",
        "100000",
        "--seq",
        "u64be@10",
        "--nb-cores",
        "2",
        "--burst",
        "64",
        "--rxd",
        "512",
        "--txd",
        "256",
        "--total-num-mbufs",
        "65536",
        "--stats-period",
        "0.5",
        "--stats-json",
        "/tmp/s.json",
        "--duration",
        "3",
        "--no-udp-csum-check",
    ]);
    assert_eq!(cfg.eal_args, ["mcast-failover", "-l", "0-1"]);
    assert_eq!(
        (cfg.primary_port, cfg.secondary_port, cfg.output_port),
        (3, 3, 4)
    );
    assert_eq!(
        cfg.input_ports(),
        [3],
        "one input port when both legs share it"
    );
    assert_eq!(cfg.forward_mode, ForwardMode::Hitless);
    assert_eq!(
        (cfg.nb_cores, cfg.burst, cfg.rxd, cfg.txd),
        (2, 64, 512, 256)
    );
    assert_eq!(cfg.total_num_mbufs, Some(65536));
    assert_eq!(cfg.stats_period, Some(Duration::from_millis(500)));
    assert_eq!(
        cfg.stats_json.as_deref(),
        Some(std::path::Path::new("/tmp/s.json"))
    );
    assert_eq!(cfg.duration, Some(Duration::from_secs(3)));
    assert!(!cfg.verify_udp_checksum);
    assert_eq!(cfg.streams.len(), 2);
    let s = &cfg.streams[0];
    assert_eq!(s.legs.len(), 3);
    assert_eq!(s.out.dst(), sa("239.10.1.1:6000"));
    assert_eq!(s.mode, MergeMode::Hitless);
    assert_eq!(
        s.seq,
        SeqSpec::Field {
            width: FieldWidth::U64,
            endian: Endian::Big,
            offset: 10
        }
    );
    assert_eq!(s.max_delay, Duration::from_micros(2500));
    assert_eq!(s.leg_timeout, Duration::from_millis(100));
    assert_eq!(s.restart_after, 5);
    assert_eq!(s.slots, 1024);
    assert_eq!(s.out.src_ip, Some("10.0.0.1".parse::<IpAddr>().unwrap()));
    assert_eq!(s.out.src_port, Some(4000));
    assert_eq!(s.out.dst_mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
    assert_eq!((s.out.ttl, s.out.dscp), (Some(9), Some(46)));
    assert_eq!(s.out.vlan, VlanAction::Strip);
    assert!(s.renumber);
    assert_eq!(cfg.streams[1].name, "stream2");
    assert_eq!(cfg.streams[1].legs[1], sa("239.2.1.2:5000"));
}

#[test]
fn ipv6_streams_and_dscp_zero() {
    let cfg = ok(&[
        "--",
        "--stream",
        "[ff3e::1]:5000,[ff3e::2]:5000=[ff3e::10:1]:5004",
        "--out-src-ip",
        "2001:db8::7",
        "--out-dscp",
        "0",
        "--out-vlan",
        "100",
        "--seq",
        "moldudp64",
    ]);
    let s = &cfg.streams[0];
    assert_eq!(s.legs, [sa("[ff3e::1]:5000"), sa("[ff3e::2]:5000")]);
    assert_eq!(s.out.dst_mac, Some(MacAddr([0x33, 0x33, 0, 0x10, 0, 1])));
    assert_eq!(s.out.dscp, Some(0), "an explicit 0 is not 'keep'");
    assert_eq!(s.out.vlan, VlanAction::Set(100));
    assert_eq!(s.seq, SeqSpec::MoldUdp64);
}

#[test]
fn io_mode_needs_no_stream_and_skips_the_secondary_port() {
    let cfg = ok(&[
        "--",
        "--forward-mode",
        "io",
        "--primary-port",
        "0",
        "--output-port",
        "1",
    ]);
    assert!(cfg.streams.is_empty());
    assert_eq!(cfg.input_ports(), [0]);
    cfg.check_ports(&[0, 1]).unwrap();
}

/// Issue 17: `--renumber` does not make the output continuous across gaps
/// (a skipped packet stays a gap); the help says what it does.
#[test]
fn help_describes_renumber_as_it_is() {
    let help = config::help_text();
    let at = help.find("      --renumber").expect("--renumber in help");
    let entry = &help[at..];
    let entry = &entry[..entry.find("\n\n").unwrap_or(entry.len())];
    assert!(!entry.contains("continuous across gaps"), "{entry}");
    assert!(entry.contains("RTP only"), "{entry}");
    assert!(entry.contains("stay gaps"), "{entry}");
    assert!(entry.contains("SSRC"), "{entry}");
}

#[test]
fn slots_are_sized_from_the_window() {
    let slots = |args: &[&str]| {
        let mut all = vec!["--", "--stream", S1];
        all.extend_from_slice(args);
        ok(&all).streams[0].slots
    };
    assert_eq!(
        slots(&["--max-delay", "1", "--restart-after", "4"]),
        16,
        "never below the minimum"
    );
    assert_eq!(slots(&["--max-delay", "450", "--max-rate", "50000"]), 32768);
    assert_eq!(
        slots(&["--max-delay", "100", "--max-rate", "10240"]),
        1024,
        "exact power of two"
    );
    assert_eq!(slots(&["--max-delay", "100", "--max-rate", "10241"]), 2048);
    assert_eq!(
        slots(&[
            "--seq",
            "u32be@0",
            "--max-delay",
            "10000",
            "--max-rate",
            "100000"
        ]),
        1 << 20
    );
    assert_eq!(
        slots(&["--slots", "16", "--max-delay", "1", "--restart-after", "4"]),
        16
    );
    // A restart is proved within a quarter of the table: 4 x the default
    // restart-after of 20 = 80 -> 128 slots, however short the window.
    assert_eq!(slots(&["--max-delay", "1"]), 128);
    assert_eq!(slots(&["--max-delay", "1e-3"]), 128);
    err(
        &["--", "--stream", S1, "--slots", "64", "--max-delay", "1"],
        &["--slots 64", "restart-after 20", "quarter"],
    );
    err(
        &["--", "--stream", S1, "--restart-after", "1025"],
        &["--restart-after 1025", "1..=1024"],
    );
}

#[test]
fn check_ports_names_the_missing_port() {
    let cfg = ok(&["--", "--stream", S1, "--output-port", "7"]);
    cfg.check_ports(&[0, 1, 7]).unwrap();
    let e = cfg.check_ports(&[0, 1, 2]).unwrap_err();
    assert!(
        e.to_string().contains("--output-port 7") && e.to_string().contains("0, 1, 2"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
    let e = cfg.check_ports(&[0]).unwrap_err();
    assert!(e.to_string().contains("--secondary-port 1"), "{e}");
    let e = cfg.check_ports(&[]).unwrap_err();
    assert!(
        e.to_string().contains("--primary-port 0") && e.to_string().contains("no ports"),
        "{e}"
    );
}

#[test]
fn unknown_or_misused_flags() {
    err(&["--", "--bogus"], &["'--bogus'"]);
    err(&["--", "--brust", "3"], &["'--brust'", "--burst"]);
    err(&["--", "--stream", S1, "--burst"], &["--burst"]);
    err(&["--", "--stream", S1, "extra"], &["'extra'"]);
    err(
        &["--", "--stream", S1, "--burst", "1", "--burst", "2"],
        &["--burst"],
    );
    err(&["--", "--stream", S1, "--", "x"], &["'x'"]);
    // A typo still gets clap's suggestion; a name far longer than any
    // option's is refused without that (quadratic) search, clipped.
    err(
        &["--", "--stream", S1, "--total-num-mbufss", "4096"],
        &["'--total-num-mbufss'", "--total-num-mbufs"],
    );
    let huge = format!("--{}=1", "b".repeat(5000));
    let e = err(
        &["--", "--stream", S1, &huge],
        &[
            "unexpected argument '--bbb",
            "no option has a name that long",
        ],
    );
    assert!(e.len() < 400, "{} chars", e.len());
}

#[test]
fn malformed_streams() {
    for (spec, needle) in [
        ("239.1.1.1:5000,239.2.1.1:5000", "expected PRI_GROUP:PORT"),
        (
            "239.1.1.1:5000,239.2.1.1:5000=239.3.1.1:5000=239.4.1.1:5000",
            "expected PRI_GROUP:PORT",
        ),
        (
            "239.1.1:5000,239.2.1.1:5000=239.10.1.1:5000",
            "bad address '239.1.1:5000'",
        ),
        (
            "239.1.1.1,239.2.1.1:5000=239.10.1.1:5000",
            "bad address '239.1.1.1'",
        ),
        (
            "239.1.1.1:5000,239.2.1.1:99999=239.10.1.1:5000",
            "bad address '239.2.1.1:99999'",
        ),
        (
            "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:0",
            "'239.10.1.1:0': UDP port 0",
        ),
        (
            "239.1.1.1:5000,,239.2.1.1:5000=239.10.1.1:5000",
            "bad address ''",
        ),
        (
            "10.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000",
            "'10.1.1.1:5000' is not a multicast group",
        ),
        (
            "239.1.1.1:5000,239.2.1.1:5000=192.168.1.1:5000",
            "'192.168.1.1:5000' is not a multicast group",
        ),
        (
            "[ff3e::1]:5000,[fe80::1]:5000=[ff3e::10]:5000",
            "'[fe80::1]:5000' is not a multicast group",
        ),
        (
            "239.1.1.1:5000=239.10.1.1:5000",
            "1 legs, a stream needs 2..=4",
        ),
        (
            "239.1.1.1:5000,[ff3e::1]:5000=239.10.1.1:5000",
            "leg [ff3e::1]:5000 is IPv6 but leg 239.1.1.1:5000 is IPv4",
        ),
        (
            "[ff3e::1]:5000,[ff3e::2]:5000=239.10.1.1:5000",
            "output 239.10.1.1:5000 is IPv4",
        ),
        (
            "239.1.1.1:5000,239.2.1.1:5000,239.2.1.1:5000=239.10.1.1:5000",
            "leg 239.2.1.1:5000 is listed twice",
        ),
        (
            "239.1.1.1:5000,239.2.1.1:5000=239.1.1.1:5000",
            "output 239.1.1.1:5000 is also one of its legs",
        ),
    ] {
        let msg = err(&["--", "--stream", spec], &[needle]);
        assert!(msg.contains(&format!("--stream '{spec}'")), "{msg}");
    }
    let five: Vec<String> = (1..=5).map(|i| format!("239.1.1.{i}:5000")).collect();
    let spec = format!("{}=239.10.1.1:5000", five.join(","));
    err(
        &["--", "--stream", &spec],
        &["5 legs, a stream needs 2..=4"],
    );
}

#[test]
fn overlapping_streams() {
    let a = "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000";
    err(
        &[
            "--",
            "--stream",
            a,
            "--stream",
            "239.3.1.1:5000,239.2.1.1:5000=239.10.1.2:5000",
        ],
        &[
            "leg 239.2.1.1:5000 is already a leg of stream \"stream1\"",
            "239.10.1.2:5000",
        ],
    );
    err(
        &[
            "--",
            "--stream",
            a,
            "--stream",
            "239.3.1.1:5000,239.4.1.1:5000=239.10.1.1:5000",
        ],
        &["output 239.10.1.1:5000 is already the output of stream \"stream1\""],
    );
    err(
        &[
            "--",
            "--stream",
            a,
            "--stream",
            "239.3.1.1:5000,239.4.1.1:5000=239.1.1.1:5000",
        ],
        &["output 239.1.1.1:5000 is a leg of stream \"stream1\""],
    );
    err(
        &[
            "--",
            "--stream",
            a,
            "--stream",
            "239.10.1.1:5000,239.4.1.1:5000=239.10.1.9:5000",
        ],
        &["leg 239.10.1.1:5000 is the output of stream \"stream1\""],
    );
    // Same group, other UDP port: a different stream, accepted.
    let cfg = ok(&[
        "--",
        "--stream",
        a,
        "--stream",
        "239.1.1.1:5001,239.2.1.1:5001=239.10.1.1:5001",
    ]);
    assert_eq!(cfg.streams.len(), 2);
}

#[test]
fn bad_values_name_the_flag_and_value() {
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--primary-port", "70000"],
            &["--primary-port 70000", "0..=65535"],
        ),
        (&["--secondary-port", "-1"], &["--secondary-port -1"]),
        (
            &["--output-port", "eth0"],
            &["--output-port eth0", "not an integer"],
        ),
        (&["--forward-mode", "fast"], &["--forward-mode", "'fast'"]),
        (&["--out-src-ip", "10.0.0"], &["--out-src-ip", "'10.0.0'"]),
        (
            &["--out-src-ip", "239.1.1.1"],
            &["--out-src-ip 239.1.1.1", "unicast"],
        ),
        (
            &["--out-src-ip", "0.0.0.0"],
            &["--out-src-ip 0.0.0.0", "unicast"],
        ),
        (
            &["--out-src-ip", "2001:db8::1"],
            &["--out-src-ip 2001:db8::1", "IPv6", "IPv4"],
        ),
        (&["--out-src-port", "0"], &["--out-src-port 0", "1..=65535"]),
        (
            &["--out-dst-mac", "01:00:5e"],
            &["--out-dst-mac", "'01:00:5e'"],
        ),
        (&["--out-ttl", "0"], &["--out-ttl 0", "1..=255"]),
        (&["--out-ttl", "256"], &["--out-ttl 256"]),
        (&["--out-dscp", "64"], &["--out-dscp 64", "0..=63"]),
        (&["--out-vlan", "4095"], &["--out-vlan", "'4095'"]),
        (&["--max-delay", "0"], &["--max-delay 0", "> 0"]),
        (&["--max-delay", "-5"], &["--max-delay -5"]),
        (
            &["--max-delay", "10000.5"],
            &["--max-delay 10000.5", "<= 10000"],
        ),
        (&["--max-delay", "NaN"], &["--max-delay NaN"]),
        (
            &["--max-delay", "50ms"],
            &["--max-delay 50ms", "not a number"],
        ),
        (&["--leg-timeout", "0"], &["--leg-timeout 0"]),
        (&["--leg-timeout", "inf"], &["--leg-timeout inf"]),
        (
            &["--restart-after", "0"],
            &["--restart-after 0", "1..=1024"],
        ),
        (&["--slots", "1000"], &["--slots 1000", "power of two"]),
        (&["--slots", "8"], &["--slots 8", "16..=1048576"]),
        (&["--slots", "2097152"], &["--slots 2097152"]),
        (&["--slots", "0"], &["--slots 0"]),
        (
            &["--slots", "65536"],
            &["--slots 65536", "rtp", "32768", "for --stream '239.1.1.1"],
        ),
        (
            &["--slots", "256"],
            &[
                "--slots 256",
                "too small",
                "50 ms window at 10000 pps needs 500 slots",
            ],
        ),
        (
            &["--slots", "1024", "--max-delay", "450"],
            &["--slots 1024", "450 ms window", "4500 slots"],
        ),
        (&["--max-rate", "0"], &["--max-rate 0"]),
        (
            &["--max-delay", "10000", "--max-rate", "10000"],
            &[
                "--stream '239.1.1.1",
                "10000 ms window at 10000 pps needs 100000 slots",
                "32768",
                "rtp",
            ],
        ),
        (
            &[
                "--seq",
                "moldudp64",
                "--max-delay",
                "10000",
                "--max-rate",
                "200000",
            ],
            &["2000000 slots", "moldudp64"],
        ),
        (&["--seq", "u16be@2"], &["--seq", "'u16be@2'"]),
        (&["--seq", "u32be@9001"], &["--seq", "'u32be@9001'"]),
        (&["--nb-cores", "0"], &["--nb-cores 0", "1..=128"]),
        (&["--burst", "0"], &["--burst 0", "1..=512"]),
        (&["--burst", "513"], &["--burst 513"]),
        (&["--burst", "many"], &["--burst many", "not an integer"]),
        (&["--rxd", "16"], &["--rxd 16", "32..=32768"]),
        (&["--txd", "40000"], &["--txd 40000"]),
        (
            &["--rxd", "32", "--burst", "64"],
            &["--rxd 32", "burst of 64"],
        ),
        (
            &["--burst", "41", "--txd", "40"],
            &["--txd 40", "burst of 41"],
        ),
        (
            &["--total-num-mbufs", "100"],
            &["--total-num-mbufs 100", "512..="],
        ),
        (&["--stats-period", "-1"], &["--stats-period -1"]),
        (&["--stats-period", "100000"], &["--stats-period 100000"]),
        (&["--duration", "abc"], &["--duration abc"]),
        (&["--stats-json", ""], &["'--stats-json <FILE>'"]),
    ];
    for (args, needles) in cases {
        let mut all = vec!["--", "--stream", S1];
        all.extend_from_slice(args);
        err(&all, needles);
    }
}

#[test]
fn bad_value_is_reported_even_without_streams() {
    err(
        &["--", "--forward-mode", "io", "--max-delay", "0"],
        &["--max-delay 0"],
    );
    err(
        &["--", "--forward-mode", "io", "--seq", "nope"],
        &["'nope'"],
    );
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "",
        "-",
        "--",
        "=",
        ",",
        "[",
        "]:",
        "[::]:1",
        "\u{0}",
        "\u{e9}",
        "--stream=",
        "--stream=,=",
        "--max-delay=1e308",
        "--max-delay=1e-300",
        "--duration=1e300",
        "--slots=-9223372036854775808",
        "--burst=99999999999999999999999",
        "--seq=u64be@18446744073709551616",
        "--out-vlan=",
    ];
    for a in odd {
        for b in odd {
            let _ = run(&["--", a, b]);
            let _ = run(&["--", "--stream", a, b]);
            let _ = run(&[a, "--", b]);
        }
    }
}

/// ST 2022-7 networks often carry both legs on the same group over two
/// physically separate networks: allowed when the legs arrive on different
/// ports, refused when both legs would arrive on one port.
#[test]
fn same_group_on_both_legs_needs_two_ports() {
    let s = "239.1.1.1:5000,239.1.1.1:5000=239.10.1.1:5000";
    let ok = config::parse_args(
        ["mcast-failover", "--", "--stream", s]
            .iter()
            .map(|a| a.to_string()),
    );
    assert!(matches!(ok, Ok(config::Parsed::Run(_))), "{ok:?}");
    let err = config::parse_args(
        [
            "mcast-failover",
            "--",
            "--stream",
            s,
            "--secondary-port",
            "0",
        ]
        .iter()
        .map(|a| a.to_string()),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("239.1.1.1:5000 is listed twice"),
        "{err}"
    );
    // Across streams the same rule holds: the primary group of one stream
    // may not be the primary group of another.
    let err = config::parse_args(
        [
            "mcast-failover",
            "--",
            "--stream",
            s,
            "--stream",
            "239.1.1.1:5000,239.3.1.1:5000=239.11.1.1:5000",
        ]
        .iter()
        .map(|a| a.to_string()),
    )
    .unwrap_err();
    assert!(err.to_string().contains("already a leg"), "{err}");
}

#[test]
fn a_leg_may_name_its_source() {
    let cfg = ok(&[
        "--",
        "--stream",
        "232.1.1.1:5000@192.0.2.1,232.2.1.1:5000@198.51.100.1=239.10.0.1:5004",
        "--no-membership",
    ]);
    let s = &cfg.streams[0];
    assert_eq!(s.legs, vec![sa("232.1.1.1:5000"), sa("232.2.1.1:5000")]);
    assert_eq!(
        s.sources,
        vec![
            Some("192.0.2.1".parse().unwrap()),
            Some("198.51.100.1".parse().unwrap())
        ]
    );
    err(
        &[
            "--",
            "--stream",
            "232.1.1.1:5000@239.1.1.1,232.2.1.1:5000=239.10.0.1:5004",
        ],
        &["--stream", "not a unicast"],
    );
}

#[test]
fn port_ips_and_the_membership_rules() {
    const SSM: &str = "232.1.1.1:5000@192.0.2.1,232.2.1.1:5000@198.51.100.1=239.10.0.1:5004";
    // A source-specific leg needs its port's address.
    let e = err(
        &["--", "--stream", SSM],
        &["source-specific", "--port-ip 0="],
    );
    assert!(e.contains("input port 0"), "{e}");
    err(
        &["--", "--stream", SSM, "--port-ip", "0=192.0.2.10/24"],
        &["input port 1", "--port-ip 1="],
    );
    let cfg = ok(&[
        "--",
        "--stream",
        SSM,
        "--port-ip",
        "0=192.0.2.10/24",
        "--port-ip",
        "1=198.51.100.10",
    ]);
    assert_eq!(cfg.port_ips.len(), 2);
    assert_eq!(cfg.port_ips[1].prefix, 32);
    assert!(!cfg.no_membership);
    // --no-membership lifts the requirement.
    let cfg = ok(&["--", "--stream", SSM, "--no-membership"]);
    assert!(cfg.no_membership && cfg.port_ips.is_empty());
    // A port with a host joins every leg it receives: IPv6 legs need an IPv6 address.
    err(
        &[
            "--",
            "--stream",
            "[ff3e::1]:5000,[ff3e::2]:5000=[ff3e::10]:5004",
            "--port-ip",
            "0=192.0.2.10",
        ],
        &["joined by port 0", "MLD", "IPv6"],
    );
    ok(&[
        "--",
        "--stream",
        "[ff3e::1]:5000,[ff3e::2]:5000=[ff3e::10]:5004",
        "--port-ip",
        "0=fe80::10",
        "--port-ip",
        "1=fe80::11",
    ]);
    err(
        &[
            "--",
            "--stream",
            S1,
            "--port-ip",
            "0=192.0.2.10",
            "--port-ip",
            "0=192.0.2.11",
        ],
        &[
            "--port-ip 0=192.0.2.11",
            "already has IPv4 address 192.0.2.10",
        ],
    );
    err(
        &["--", "--stream", S1, "--port-ip", "0=239.1.1.1"],
        &["--port-ip", "not a unicast"],
    );
    err(
        &["--", "--stream", S1, "--port-ip", "nope"],
        &["--port-ip", "expected PORT=ADDR"],
    );
}

#[test]
fn class_presets_set_max_delay_and_max_delay_overrides_them() {
    let delay = |extra: &[&str]| {
        let mut args = vec!["--", "--stream", S1];
        args.extend_from_slice(extra);
        let cfg = ok(&args);
        (cfg.streams[0].max_delay, cfg.streams[0].slots)
    };
    assert_eq!(delay(&["--class", "a"]).0, Duration::from_millis(10));
    assert_eq!(delay(&["--class", "b"]).0, Duration::from_millis(50));
    // 450 ms at the default 10 kpps: 4500 packets -> 8192 slots.
    assert_eq!(delay(&["--class", "c"]), (Duration::from_millis(450), 8192));
    assert_eq!(delay(&["--class", "d"]).0, Duration::from_micros(150));
    assert_eq!(
        delay(&["--class", "c", "--max-delay", "20"]).0,
        Duration::from_millis(20)
    );
    assert_eq!(
        delay(&["--max-delay", "20", "--class", "a"]).0,
        Duration::from_millis(20)
    );
    err(&["--", "--stream", S1, "--class", "e"], &["class", "'e'"]);
}

#[test]
fn primary_reorder_is_auto_by_default_and_takes_n_or_off() {
    let r = |extra: &[&str]| {
        let mut args = vec!["--", "--stream", S1];
        args.extend_from_slice(extra);
        ok(&args).streams[0].primary_reorder
    };
    assert_eq!(r(&[]), config::Reorder::Auto);
    assert_eq!(r(&["--primary-reorder", "3"]), config::Reorder::Fixed(3));
    assert_eq!(r(&["--primary-reorder", "off"]), config::Reorder::Off);
    err(
        &["--", "--stream", S1, "--primary-reorder", "16385"],
        &["primary-reorder", "'16385'"],
    );
}

#[test]
fn sdp_files_give_the_legs() {
    let ex = |f: &str| format!("{}/../examples/{f}", env!("CARGO_MANIFEST_DIR"));
    let spec = format!("{}=239.10.0.1:5004", ex("st2110-20-dup.sdp"));
    let cfg = ok(&["--", "--sdp", &spec, "--no-membership"]);
    let s = &cfg.streams[0];
    assert_eq!(
        s.legs,
        vec![sa("239.100.10.1:50000"), sa("239.200.10.1:50000")]
    );
    assert_eq!(s.sources[1], Some("192.168.2.10".parse().unwrap()));
    assert!(cfg.warnings.is_empty());
    let spec = format!("{}=[ff3e::10]:5004", ex("st2110-30-dup-ipv6.sdp"));
    let cfg = ok(&[
        "--",
        "--sdp",
        &spec,
        "--port-ip",
        "0=fe80::10",
        "--port-ip",
        "1=fe80::11",
    ]);
    assert_eq!(cfg.streams[0].legs[0], sa("[ff3e::8000:1]:5004"));
    // A single leg: one-leg stream, warned.
    let spec = format!("{}=239.10.0.1:5004", ex("single-leg.sdp"));
    let cfg = ok(&["--", "--sdp", &spec]);
    assert_eq!(cfg.streams[0].legs.len(), 1);
    assert_eq!(cfg.warnings.len(), 1);
    assert!(cfg.warnings[0].contains("one-leg"), "{:?}", cfg.warnings);
    // Errors: no output, unreadable file, FILE:LINE: reason.
    err(
        &["--", "--sdp", &ex("single-leg.sdp")],
        &["--sdp", "FILE=OUT_GROUP:PORT"],
    );
    err(
        &["--", "--sdp", "/nonexistent.sdp=239.10.0.1:5004"],
        &["/nonexistent.sdp: cannot read"],
    );
    let dir = std::env::temp_dir().join(format!("mf-sdp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.sdp");
    std::fs::write(
        &bad,
        "v=0\ns=x\nt=0 0\nm=video 5000 RTP/AVP 96\nc=IN IP4 10.1.1.1\n",
    )
    .unwrap();
    let e = err(
        &["--", "--sdp", &format!("{}=239.10.0.1:5004", bad.display())],
        &["bad.sdp:5:", "not a multicast group"],
    );
    assert!(e.starts_with(&bad.display().to_string()), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--stream S1 --seq moldudp64` followed by `extra`: the gap-fill
/// options need a MoldUDP64 stream.
fn mold(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = vec!["--", "--stream", S1, "--seq", "moldudp64"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn gap_fill_options_resolve_and_are_checked() {
    let c = ok(&mold(&[
        "--mold-request",
        "10.0.0.9:7000",
        "--gap-fill-timeout",
        "40",
    ]));
    let s = &c.streams[0];
    assert_eq!(s.mold_request, Some(sa("10.0.0.9:7000")));
    assert_eq!(s.gap_fill_timeout, Duration::from_millis(40));
    // The window holds max-delay + the fill hold: 90 ms at 10000 pps.
    assert!(s.slots >= 900, "{}", s.slots);
    let plain = ok(&mold(&[]));
    assert_eq!(plain.streams[0].mold_request, None);
    err(
        &["--", "--stream", S1, "--mold-request", "10.0.0.9:7000"],
        &["--mold-request", "needs seq moldudp64"],
    );
    for (extra, needles) in [
        (
            &["--mold-request", "239.1.1.9:7000"][..],
            &["--mold-request", "unicast"][..],
        ),
        (
            &["--mold-request", "[fd00::9]:7000"],
            &["--mold-request", "IP family"],
        ),
        (
            &[
                "--mold-request",
                "10.0.0.9:7000",
                "--gap-fill-timeout",
                "5000",
            ],
            &["--gap-fill-timeout"],
        ),
    ] {
        err(&mold(extra), needles);
    }
}

#[test]
fn arbitrate_messages_needs_moldudp64() {
    let c = ok(&mold(&["--arbitrate", "messages"]));
    assert_eq!(c.streams[0].arbitrate, model::Arbitrate::Messages);
    assert_eq!(
        ok(&mold(&[])).streams[0].arbitrate,
        model::Arbitrate::Packets
    );
    err(
        &["--", "--stream", S1, "--arbitrate", "messages"],
        &["--arbitrate", "needs seq moldudp64", "rtp"],
    );
    err(
        &[
            "--",
            "--stream",
            S1,
            "--seq",
            "cme-mdp3",
            "--arbitrate",
            "messages",
        ],
        &["--arbitrate", "needs seq moldudp64"],
    );
    err(
        &mold(&["--arbitrate", "bytes"]),
        &["--arbitrate", "'bytes'"],
    );
}
