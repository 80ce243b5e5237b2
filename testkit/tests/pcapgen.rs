//! The bench generator as a user runs it: exit codes, file contents.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

use testkit::{parse_rtp, payload_matches, read_pcap, verify_checksums};

fn gen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mf-pcapgen"))
        .args(args)
        .output()
        .expect("run mf-pcapgen")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pcapgen-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn help_and_bad_arguments() {
    let h = gen(&["--help"]);
    assert_eq!(h.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&h.stdout).contains("--packets-per-stream"));
    for bad in [
        &["--frobnicate"][..],
        &["--streams", "0"],
        &["--streams"],
        &["--loss", "101"],
        &["--frame-len", "40"],
        &["--primary-group", "10.1.2.3"],
        &["--primary-group", "239.255.255.255", "--streams", "2"],
        &["--streams", "10000"],
    ] {
        let o = gen(bad);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{bad:?}: one-line error, got {err}");
        assert!(err.starts_with("mf-pcapgen: "), "{err}");
    }
}

#[test]
fn interleaved_streams_full_cycle_rollover() {
    let d = tmp("cycle");
    let (p, s) = (d.join("p.pcap"), d.join("s.pcap"));
    let o = gen(&[
        "--streams",
        "3",
        "--packets-per-stream",
        "65536",
        "--seq-start",
        "65530",
        "--primary",
        p.to_str().unwrap(),
        "--secondary",
        s.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pc = read_pcap(&p).unwrap().packets;
    let sc = read_pcap(&s).unwrap().packets;
    assert_eq!(pc.len(), 3 * 65536);
    assert_eq!(sc.len(), 3 * 65536);
    for (k, (a, b)) in pc.iter().zip(&sc).enumerate().step_by(97).chain(
        // every stream across the wrap 65535 -> 0 (frames 15..21)
        pc.iter().zip(&sc).enumerate().skip(15).take(6),
    ) {
        assert_eq!(a.data.len(), 1370);
        verify_checksums(&a.data).unwrap();
        verify_checksums(&b.data).unwrap();
        let ra = parse_rtp(&a.data).unwrap();
        let rb = parse_rtp(&b.data).unwrap();
        let stream = (k % 3) as u8;
        let seq = 65530u16.wrapping_add((k / 3) as u16);
        assert_eq!(ra.seq, seq, "frame {k}");
        assert_eq!(ra.udp.dst_ip, Ipv4Addr::new(239, 1, 0, 1 + stream));
        assert_eq!(rb.udp.dst_ip, Ipv4Addr::new(239, 2, 0, 1 + stream));
        assert_eq!(ra.udp.payload, rb.udp.payload);
        assert!(payload_matches(seq as u64, ra.payload));
    }
    // Last frame of each stream is the one before its first: a looping replay rolls over.
    let first = parse_rtp(&pc[0].data).unwrap().seq;
    let last = parse_rtp(&pc[pc.len() - 3].data).unwrap().seq;
    assert_eq!(last.wrapping_add(1), first);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn independent_loss_is_reported_and_applied() {
    let d = tmp("loss");
    let (p, s) = (d.join("p.pcap"), d.join("s.pcap"));
    let o = gen(&[
        "--packets-per-stream",
        "20000",
        "--loss",
        "5",
        "--no-common-loss",
        "--seed",
        "7",
        "--primary",
        p.to_str().unwrap(),
        "--secondary",
        s.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let pc = read_pcap(&p).unwrap().packets;
    let sc = read_pcap(&s).unwrap().packets;
    let seqs = |v: &[testkit::PcapPacket]| -> Vec<u16> {
        v.iter().map(|x| parse_rtp(&x.data).unwrap().seq).collect()
    };
    let (sp, ss) = (seqs(&pc), seqs(&sc));
    let lost_p = 20000 - sp.len();
    let lost_s = 20000 - ss.len();
    assert!((800..1200).contains(&lost_p), "{lost_p}");
    assert!((700..1200).contains(&lost_s), "{lost_s}");
    assert!(
        out.contains(&format!("{} frames ({lost_p} lost)", pc.len())),
        "{out}"
    );
    // No common loss: the union covers every sequence number.
    let mut all: Vec<u16> = sp.iter().chain(&ss).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all, (0..20000).collect::<Vec<u16>>());
    std::fs::remove_dir_all(&d).unwrap();
}
