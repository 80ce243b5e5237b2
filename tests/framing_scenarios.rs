//! The market-data framings (`--seq moldudp64`, `cme-mdp3`, `pitch:UNIT`)
//! through the real binary (issue 16, item 4): loss on one leg, reorder
//! within a leg, a restart (MoldUDP64: a new session; CME MDP3 and PITCH:
//! the sequence reset to 1), and MoldUDP64's End of Session.
//!
//! Each case writes the primary and secondary copies with testkit's own
//! framing builders, runs `mcast-failover` on `net_pcap` vdevs with
//! `--clock capture` (`common::run_pcap`) and checks, with testkit's
//! parsers, the exact output (sequence number, sequence space, message
//! count and leg of every packet, in order, no duplicate; every frame byte
//! for byte the chosen input copy rewritten; messages the pattern of their
//! numbers), then the stats JSON counters. The cases are order-defined, as
//! in `tests/pcap_scenarios.rs`: the frames are `GAP_NS` apart in file
//! order and the capture clock is the binary's clock, so what meets what
//! does not depend on the machine's speed.

// Each test crate uses only part of the shared harness.
#[allow(dead_code)]
mod common;
mod support;

use common::*;
use testkit::scenario::{Control, Leg, LegPacket, PayloadKind, Scenario};

/// A 500 ms window, a slot table sized for 2000 sequence numbers a second
/// (1024 slots; the streams below stay far inside it).
const ORDER: &[&str] = &["--max-delay", "500", "--max-rate", "2000"];

/// Spacing of the frames in file order (the capture clock's pace).
const GAP_NS: u64 = 300_000;

/// Data packets per leg in the loss and reorder cases.
const N: u64 = 1200;

/// A framing under test: its `--seq` and its testkit payload.
#[derive(Clone, Copy)]
enum Framing {
    Mold,
    Cme,
    Pitch,
}

const SESSION_A: [u8; 10] = *b"SESSION0A ";
const SESSION_B: [u8; 10] = *b"SESSION0B ";
/// The PITCH unit the stream arbitrates.
const UNIT: u8 = 5;

impl Framing {
    /// 3 messages a packet for MoldUDP64 and PITCH (a packet covers 3
    /// sequence numbers), 2 for CME MDP3 (which numbers packets).
    fn payload(self) -> PayloadKind {
        match self {
            Framing::Mold => PayloadKind::MoldUdp64 {
                session: SESSION_A,
                msg_len: 24,
                per_packet: 3,
            },
            Framing::Cme => PayloadKind::CmeMdp3 {
                msg_len: 24,
                per_packet: 2,
            },
            Framing::Pitch => PayloadKind::Pitch {
                unit: UNIT,
                msg_len: 20,
                per_packet: 3,
            },
        }
    }

    fn seq(self) -> String {
        match self {
            Framing::Mold => "moldudp64".into(),
            Framing::Cme => "cme-mdp3".into(),
            Framing::Pitch => format!("pitch:{UNIT}"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Framing::Mold => "mold",
            Framing::Cme => "cme",
            Framing::Pitch => "pitch",
        }
    }

    /// The order-defined settings and this framing's `--seq`.
    fn args(self) -> Vec<String> {
        let mut v: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
        v.extend(["--seq".to_string(), self.seq()]);
        v
    }
}

fn run(name: &str, f: Framing, sc: &Scenario) -> Outcome {
    let args = f.args();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run_pcap(&format!("{}-{name}", f.name()), sc, &a, 1.0)
}

fn totals(o: &Outcome, unrecoverable: u64, restarts: u64) {
    for (k, v) in [("unrecoverable", unrecoverable), ("restarts", restarts)] {
        assert_eq!(o.stream_counter(k), v, "{k}\n{}", o.context());
    }
}

/// Order-defined. The primary loses every 7th packet and a burst of 40
/// (packets 600..640); the secondary is complete. Every packet goes out
/// once, in order: those the primary lost from the secondary (its copy
/// comes in the same burst round, after the primary moved past the hole),
/// all others from the primary. Nothing unrecoverable.
fn loss_on_one_leg(f: Framing) {
    let mut sc = framed(f.payload());
    let all = numbered(&sc, 0, 1, N);
    let lost = |i: usize| i % 7 == 3 || (600..640).contains(&i);
    let pri: Vec<LegPacket> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| !lost(*i))
        .map(|(_, p)| p.clone())
        .collect();
    let n_lost = N - pri.len() as u64;
    sc.primary = in_file_order(pri, 0, GAP_NS);
    sc.secondary = in_file_order(all.clone(), 0, GAP_NS);
    let o = run("loss", f, &sc);
    let want: Vec<Expect> = all
        .iter()
        .enumerate()
        .map(|(i, p)| Expect {
            leg: if lost(i) {
                Leg::Secondary
            } else {
                Leg::Primary
            },
            packet: p.clone(),
        })
        .collect();
    assert_output(&o, &sc, &want);
    assert_clean_end(&o);
    assert_input(&o, 0, N - n_lost, 0);
    assert_input(&o, 1, N, 0);
    o.assert_leg(0, &[("used", N - n_lost), ("received", N - n_lost)]);
    o.assert_leg(1, &[("used", n_lost), ("duplicates", N - n_lost)]);
    assert_eq!(o.stream_counter("substituted"), n_lost, "{}", o.context());
    totals(&o, 0, 0);
}

#[test]
fn moldudp64_loss_on_one_leg() {
    loss_on_one_leg(Framing::Mold);
}

#[test]
fn cme_mdp3_loss_on_one_leg() {
    loss_on_one_leg(Framing::Cme);
}

#[test]
fn pitch_loss_on_one_leg() {
    loss_on_one_leg(Framing::Pitch);
}

/// Order-defined. The primary reverses blocks of 6 packets (after the first
/// 6, so the output starts at the first packet), the secondary swaps pairs;
/// every packet still goes out once, in order, from the primary: a hole in
/// the primary is filled by the primary a few packets later, within its
/// learned reorder depth. `out_of_order` counts each leg's reorders.
fn reorder(f: Framing) {
    let mut sc = framed(f.payload());
    let all = numbered(&sc, 0, 1, N);
    let n = N as usize;
    let p_order: Vec<usize> = reversed_blocks_of_6(N)
        .iter()
        .map(|&i| i as usize)
        .collect();
    let mut s_order: Vec<usize> = (0..n).collect();
    for k in (7..n - 1).step_by(5) {
        s_order.swap(k, k + 1);
    }
    let pick = |order: &[usize]| order.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
    sc.primary = in_file_order(pick(&p_order), 0, GAP_NS);
    sc.secondary = in_file_order(pick(&s_order), 0, GAP_NS);
    let o = run("reorder", f, &sc);
    assert_output(&o, &sc, &expect(&all, |_| Leg::Primary));
    assert_clean_end(&o);
    assert!(out_of_order(&p_order) > 900 && out_of_order(&s_order) > 200);
    assert_primary_fills_its_own_reorder(&o, N, &p_order, &s_order);
    totals(&o, 0, 0);
}

#[test]
fn moldudp64_reorder() {
    reorder(Framing::Mold);
}

#[test]
fn cme_mdp3_reorder() {
    reorder(Framing::Cme);
}

#[test]
fn pitch_reorder() {
    reorder(Framing::Pitch);
}

/// Order-defined. The feed restarts after 500 packets from sequence 30001:
/// MoldUDP64 with a new session from 1; CME MDP3 and PITCH with the
/// sequence reset to 1 (far outside the window, held: a restart, not a
/// wild packet). The secondary lags by 100 packets (fillers first in its
/// file), so it still carries the old tail while the primary proves the
/// restart. Output: the old feed to its last packet, then the new one from
/// its first, all from the primary, one restart, no gap.
fn restart(f: Framing) {
    let mut sc = framed(f.payload());
    let old = numbered(&sc, 0, 30_001, 500);
    let mut new = numbered(&sc, 0, 1, 500);
    if let Framing::Mold = f {
        new = new.into_iter().map(|p| p.session(SESSION_B)).collect();
    }
    let mut both = old;
    both.extend(new);
    let mut secondary = fillers(100);
    secondary.extend(both.iter().cloned());
    sc.primary = in_file_order(both.clone(), 0, GAP_NS);
    sc.secondary = in_file_order(secondary, 0, GAP_NS);
    let o = run("restart", f, &sc);
    assert_output(&o, &sc, &expect(&both, |_| Leg::Primary));
    assert_clean_end(&o);
    assert_input(&o, 1, 1100, 100);
    o.assert_leg(0, &[("used", 1000)]);
    o.assert_leg(1, &[("used", 0)]);
    totals(&o, 0, 1);
    let restarts: Vec<_> = o
        .events()
        .into_iter()
        .filter(|(e, _, _)| e == "source_restart")
        .collect();
    assert_eq!(restarts.len(), 1, "source_restart events\n{}", o.context());
    assert_eq!(restarts[0].1["leg"].as_u64(), Some(0), "{}", o.context());
    assert!(
        !o.events().iter().any(|(e, _, _)| e == "gap"),
        "a restart is not a gap\n{}",
        o.context()
    );
}

#[test]
fn moldudp64_new_session_is_a_restart() {
    restart(Framing::Mold);
}

#[test]
fn cme_mdp3_sequence_reset_is_a_restart() {
    restart(Framing::Cme);
}

#[test]
fn pitch_unit_sequence_reset_is_a_restart() {
    restart(Framing::Pitch);
}

/// Order-defined. Session A: 300 packets of 3 messages (1..=900), the
/// primary losing the last one, then End of Session (next sequence 901) on
/// both legs, then on both legs 5 heartbeats of A and, on the primary, 5
/// stray data packets of A beyond its end; then session B from 1. Output:
/// all of A (its last packet from the secondary), the End of Session once,
/// after it (from the primary), nothing of A after it (the strays are
/// `stale`, the heartbeats and the second End of Session copy liveness),
/// then all of B: one restart, nothing unrecoverable.
#[test]
fn moldudp64_end_of_session_once_after_every_message_then_idle() {
    let f = Framing::Mold;
    let mut sc = framed(f.payload());
    let a = numbered(&sc, 0, 1, 300);
    let end = LegPacket::new(901, 0).control(Control::EndOfSession);
    let beats: Vec<LegPacket> = (0..5)
        .map(|_| LegPacket::new(901, 0).control(Control::Heartbeat))
        .collect();
    let strays = numbered(&sc, 0, 901, 5);
    let b: Vec<LegPacket> = numbered(&sc, 0, 1, 300)
        .into_iter()
        .map(|p| p.session(SESSION_B))
        .collect();
    let mut pri = a[..299].to_vec();
    pri.push(end.clone());
    pri.extend(beats.iter().cloned());
    pri.extend(strays);
    pri.extend(b.iter().cloned());
    let mut sec = a.clone();
    sec.push(end.clone());
    sec.extend(beats.iter().cloned());
    sec.extend(b.iter().cloned());
    sc.primary = in_file_order(pri, 0, GAP_NS);
    sc.secondary = in_file_order(sec, 0, GAP_NS);
    let o = run("end-of-session", f, &sc);
    let mut want = expect(&a, |s| {
        if s == 898 {
            Leg::Secondary
        } else {
            Leg::Primary
        }
    });
    want.push(Expect {
        leg: Leg::Primary,
        packet: end,
    });
    want.extend(expect(&b, |_| Leg::Primary));
    assert_output(&o, &sc, &want);
    assert_clean_end(&o);
    assert_input(&o, 0, 299 + 1 + 5 + 5 + 300, 0);
    assert_input(&o, 1, 300 + 1 + 5 + 300, 0);
    o.assert_leg(
        0,
        &[("used", 299 + 1 + 300), ("stale", 5), ("heartbeats", 5)],
    );
    // The secondary's End of Session copy is liveness once the primary's
    // went out.
    o.assert_leg(1, &[("used", 1), ("stale", 0), ("heartbeats", 6)]);
    totals(&o, 0, 1);
}

/// Second PITCH unit of the shared-group case and its output.
const UNIT_B: u8 = 7;
/// Where unit [`UNIT_B`]'s stream goes.
const OUT_B: OutAddr = OutAddr {
    group: std::net::Ipv4Addr::new(239, 10, 0, 2),
    port: OUT_PORT,
};

/// Order-defined. One pair of groups carries two PITCH units (3 and 7),
/// each its own sequence space, interleaved packet by packet on both legs;
/// a `--config` has one stream per unit on the same legs (`seq =
/// "pitch:3"`, `"pitch:7"`). Each leg loses packets of each unit (never the
/// same packet on both). The primary also carries 10 packets of unit 9,
/// which no stream arbitrates (`drops.other_unit`), and 4 unit-0
/// heartbeats (port-wide: liveness of both unit streams, counted
/// `heartbeats` on each stream's primary leg). Each unit's output is
/// complete and in order, each packet the primary lost from the secondary.
#[test]
fn pitch_units_sharing_groups_are_independent_streams() {
    let mut sc = framed(Framing::Pitch.payload());
    sc.streams[0].payload = PayloadKind::Pitch {
        unit: UNIT,
        msg_len: 20,
        per_packet: 3,
    };
    let stream_b = sc.streams.len();
    let mut b = sc.streams[0].clone();
    b.payload = PayloadKind::Pitch {
        unit: UNIT_B,
        msg_len: 12,
        per_packet: 2,
    };
    let mut foreign = sc.streams[0].clone();
    foreign.payload = PayloadKind::Pitch {
        unit: 9,
        msg_len: 12,
        per_packet: 1,
    };
    let mut unit0 = sc.streams[0].clone();
    unit0.payload = PayloadKind::Pitch {
        unit: 0,
        msg_len: 2,
        per_packet: 0,
    };
    sc.streams.extend([b, foreign, unit0]);
    let (s_foreign, s_unit0) = (stream_b + 1, stream_b + 2);
    let n = 800u64;
    let a_all = numbered(&sc, 0, 1, n);
    let b_all = numbered(&sc, stream_b, 501, n);
    // (primary lost, secondary lost) of packet i of unit A, of unit B.
    // (never both: the secondary keeps what the primary lost).
    let lost_a = |i: u64| {
        let p = i % 9 == 4 || (300..320).contains(&i);
        (p, !p && i % 11 == 6)
    };
    let lost_b = |i: u64| {
        let p = i % 7 == 2;
        (p, !p && (i % 13 == 5 || (500..530).contains(&i)))
    };
    let mut pri = Vec::new();
    let mut sec = Vec::new();
    for i in 0..n {
        let (pa, sa) = lost_a(i);
        let (pb, sb) = lost_b(i);
        let (a, b) = (&a_all[i as usize], &b_all[i as usize]);
        for (leg, keep_a, keep_b) in [(&mut pri, !pa, !pb), (&mut sec, !sa, !sb)] {
            if keep_a {
                leg.push(a.clone());
            }
            if keep_b {
                leg.push(b.clone());
            }
        }
        if i % 80 == 40 {
            pri.push(LegPacket::new(1000 + i, 0).stream(s_foreign));
        }
        if i % 200 == 100 {
            pri.push(
                LegPacket::new(0, 0)
                    .stream(s_unit0)
                    .control(Control::Heartbeat),
            );
        }
    }
    let (pri_n, sec_n) = (pri.len() as u64, sec.len() as u64);
    sc.primary = in_file_order(pri, 0, GAP_NS);
    sc.secondary = in_file_order(sec, 0, GAP_NS);

    let (cfg_dir, cfg_s) = units_config("pitch-units-cfg");
    let mut args: Vec<&str> = ORDER.to_vec();
    args.extend(["--config", &cfg_s]);
    let o = run_pcap("pitch-units", &sc, &args, 1.0);
    let _ = std::fs::remove_dir_all(&cfg_dir);

    let want = |all: &[LegPacket], lost: &dyn Fn(u64) -> (bool, bool)| -> Vec<Expect> {
        all.iter()
            .enumerate()
            .map(|(i, p)| Expect {
                leg: if lost(i as u64).0 {
                    Leg::Secondary
                } else {
                    Leg::Primary
                },
                packet: p.clone(),
            })
            .collect()
    };
    let frames_a = frames_to(&o, OUT);
    let frames_b = frames_to(&o, OUT_B);
    assert_eq!(
        frames_a.len() + frames_b.len(),
        o.frames.len(),
        "frames to neither output\n{}",
        o.context()
    );
    assert_output_to(&o, &sc, OUT, &frames_a, &want(&a_all, &lost_a));
    assert_output_to(&o, &sc, OUT_B, &frames_b, &want(&b_all, &lost_b));
    assert_clean_end(&o);
    assert_eq!(o.rx_counter(0, "packets"), pri_n, "{}", o.context());
    assert_eq!(o.rx_counter(1, "packets"), sec_n, "{}", o.context());
    assert_eq!(
        o.stats["inputs"][0]["rx"]["drops"]["other_unit"].as_u64(),
        Some(10),
        "primary drops.other_unit\n{}",
        o.context()
    );
    assert_eq!(
        o.stats["inputs"][1]["rx"]["drops"]["other_unit"].as_u64(),
        Some(0),
        "secondary drops.other_unit\n{}",
        o.context()
    );
    let count = |lost: &dyn Fn(u64) -> (bool, bool), secondary: bool| {
        (0..n)
            .filter(|&i| {
                let (p, s) = lost(i);
                if secondary {
                    s
                } else {
                    p
                }
            })
            .count() as u64
    };
    for (k, lost) in [
        (0usize, &lost_a as &dyn Fn(u64) -> (bool, bool)),
        (1, &lost_b),
    ] {
        let st = &o.stats["streams"][k];
        let c = |key: &str| st[key].as_u64().unwrap_or(u64::MAX);
        let leg = |l: usize, key: &str| st["legs"][l][key].as_u64().unwrap_or(u64::MAX);
        let (p_lost, s_lost) = (count(lost, false), count(lost, true));
        assert_eq!(
            (c("sent"), c("unrecoverable"), c("restarts")),
            (n, 0, 0),
            "stream {k}\n{}",
            o.context()
        );
        assert_eq!(
            (leg(0, "used"), leg(1, "used")),
            (n - p_lost, p_lost),
            "stream {k} used\n{}",
            o.context()
        );
        assert_eq!(
            leg(1, "received"),
            n - s_lost,
            "stream {k}\n{}",
            o.context()
        );
        assert_eq!(
            leg(0, "heartbeats"),
            4,
            "stream {k} heartbeats (unit 0)\n{}",
            o.context()
        );
    }
}

/// A `--config` in a new directory `dir` with one stream per PITCH unit
/// ([`UNIT`] to [`OUT`], then [`UNIT_B`] to [`OUT_B`]) on the same two
/// legs: (the directory, the file's path).
fn units_config(dir: &str) -> (std::path::PathBuf, String) {
    let cfg_dir = workdir(dir);
    let cfg = cfg_dir.join("units.toml");
    let stream = |name: &str, unit: u8, out: OutAddr| {
        format!(
            "[[stream]]\nname = \"{name}\"\nseq = \"pitch:{unit}\"\n\
             legs = [\"{PRI_GROUP}:{LEG_PORT}\", \"{SEC_GROUP}:{LEG_PORT}\"]\n\
             output = \"{}:{}\"\n",
            out.group, out.port
        )
    };
    let toml = format!(
        "{}{}",
        stream("unit3", UNIT, OUT),
        stream("unit7", UNIT_B, OUT_B)
    );
    std::fs::write(&cfg, toml).expect("write units.toml");
    (cfg_dir, cfg.display().to_string())
}

/// Time-defined (one timeline file, `--leg-timeout 200`). Both legs carry
/// two PITCH units (one stream each, sharing the groups) at 400 packets a
/// second per unit; for 1 s in the middle the secondary carries no data,
/// only a port-wide heartbeat (unit 0, count 0) every 50 ms. That
/// heartbeat is the liveness of every unit on the leg: neither stream
/// declares the secondary down (no `leg_down` event, the leg `UP` at the
/// end), each counts the 20 heartbeats on its secondary leg, and each
/// sends its whole unit once. (Handed only to the first unit's stream, it
/// left the second unit's secondary leg to time out.)
#[test]
fn pitch_port_wide_heartbeat_keeps_every_unit_stream_alive() {
    let o = pitch_port_wide_run("pitch-port-wide", &Rig::one(), &[]);
    for out in [OUT, OUT_B] {
        assert_eq!(
            frames_to(&o, out).len() as u64,
            PORT_WIDE_N,
            "frames to {out:?}\n{}",
            o.context()
        );
    }
}

/// [`pitch_port_wide_heartbeat_keeps_every_unit_stream_alive`] with two
/// merge workers (`--nb-cores 2`, software dispatch: worker 0 polls the
/// one input and owns unit 3's stream, worker 1 owns unit 7's): the copy of
/// each port-wide heartbeat for unit 7's stream is made on worker 0 and
/// must reach worker 1 through its dispatch ring. The same counts as one
/// worker, and each stream's output, byte for byte, is the one-worker
/// output to it, on its owner's tx queue.
#[test]
fn pitch_port_wide_heartbeat_reaches_every_unit_owner_sharded() {
    let one = pitch_port_wide_run("pitch-port-wide-1w", &Rig::one(), &[]);
    let two = pitch_port_wide_run("pitch-port-wide-2w", &Rig::workers(2), &["--nb-cores", "2"]);
    assert_eq!(two.queues.len(), 2, "{}", two.context());
    for (q, out) in [OUT, OUT_B].into_iter().enumerate() {
        let want = frames_to(&one, out);
        assert_eq!(want.len() as u64, PORT_WIDE_N, "{}", one.context());
        assert!(
            two.queues[q] == want,
            "tx queue {q}: {} frames, the one-worker run sent {} to {out:?}\n{}",
            two.queues[q].len(),
            want.len(),
            two.context()
        );
    }
}

/// Data packets per unit in the port-wide heartbeat cases.
const PORT_WIDE_N: u64 = 1000;

/// The port-wide heartbeat scenario (see
/// [`pitch_port_wide_heartbeat_keeps_every_unit_stream_alive`]) run on
/// `rig` with `extra` after its options, its end and counters checked.
fn pitch_port_wide_run(name: &str, rig: &Rig, extra: &[&str]) -> Outcome {
    const TICK_NS: u64 = 2_500_000;
    const SKEW_NS: u64 = 400_000;
    let mut sc = framed(PayloadKind::Pitch {
        unit: UNIT,
        msg_len: 20,
        per_packet: 3,
    });
    let stream_b = sc.streams.len();
    let mut b = sc.streams[0].clone();
    b.payload = PayloadKind::Pitch {
        unit: UNIT_B,
        msg_len: 12,
        per_packet: 2,
    };
    let mut unit0 = sc.streams[0].clone();
    unit0.payload = PayloadKind::Pitch {
        unit: 0,
        msg_len: 2,
        per_packet: 0,
    };
    sc.streams.extend([b, unit0]);
    let s_unit0 = stream_b + 1;
    let n = PORT_WIDE_N;
    let a_all = numbered(&sc, 0, 1, n);
    let b_all = numbered(&sc, stream_b, 501, n);
    let quiet = 200..600u64;
    let mut pri = Vec::new();
    let mut sec = Vec::new();
    for i in 0..n {
        let t = i * TICK_NS;
        for p in [&a_all[i as usize], &b_all[i as usize]] {
            pri.push(LegPacket {
                t_ns: t,
                ..p.clone()
            });
            if !quiet.contains(&i) {
                sec.push(LegPacket {
                    t_ns: t + SKEW_NS,
                    ..p.clone()
                });
            }
        }
        if quiet.contains(&i) && i % 20 == 0 {
            sec.push(
                LegPacket::new(0, t + SKEW_NS)
                    .stream(s_unit0)
                    .control(Control::Heartbeat),
            );
        }
    }
    let beats = quiet.clone().filter(|i| i % 20 == 0).count() as u64;
    sc.primary = pri;
    sc.secondary = sec;
    let (cfg_dir, cfg_s) = units_config(&format!("{name}-cfg"));
    let mut args = vec![
        "--max-delay",
        "50",
        "--leg-timeout",
        "200",
        "--config",
        &cfg_s,
    ];
    args.extend_from_slice(extra);
    let o = run_timeline_rig(name, &sc, &args, 3.5, rig);
    let _ = std::fs::remove_dir_all(&cfg_dir);
    assert_clean_end(&o);
    let downs: Vec<_> = o.stats["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events array\n{}", o.context()))
        .iter()
        .filter(|e| e["event"] == "leg_down")
        .collect();
    assert!(
        downs.is_empty(),
        "legs declared down: {downs:?}\n{}",
        o.context()
    );
    for k in 0..2 {
        let st = &o.stats["streams"][k];
        let c = |key: &str| st[key].as_u64().unwrap_or(u64::MAX);
        let leg = |l: usize, key: &str| st["legs"][l][key].as_u64().unwrap_or(u64::MAX);
        assert_eq!(
            (c("sent"), c("unrecoverable"), c("restarts")),
            (n, 0, 0),
            "stream {k}\n{}",
            o.context()
        );
        assert_eq!(
            (leg(1, "heartbeats"), leg(1, "used"), leg(0, "used")),
            (beats, 0, n),
            "stream {k}: secondary heartbeats, used\n{}",
            o.context()
        );
        assert_eq!(
            st["legs"][1]["up"].as_bool(),
            Some(true),
            "stream {k} secondary\n{}",
            o.context()
        );
    }
    o
}
