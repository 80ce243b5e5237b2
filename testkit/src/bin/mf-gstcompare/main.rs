//! `mf-gstcompare`: the scenarios and the judge of the head-to-head between
//! mcast-failover and a GStreamer `udpsrc x2 -> funnel -> rtpjitterbuffer ->
//! udpsink` merger (scripts/compare-gstreamer.sh). One binary does both so
//! the generator and the judge can never disagree on what was sent.

#![forbid(unsafe_code)]

mod judge;
mod scenarios;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use scenarios::{build_all, Built, Kind, Leg, Params};
use testkit::pcap::{read_pcap, PcapWriter, TsResolution};
use testkit::scenario::DEFAULT_BASE_TIME_NS;

const HELP: &str = "\
mf-gstcompare: scenarios and judge for scripts/compare-gstreamer.sh

USAGE:
  mf-gstcompare gen   --out-dir DIR [COMMON]
  mf-gstcompare judge --capture FILE --engine NAME --port-base P [--input FILE]
                      [--out-group IP] [COMMON]

gen writes DIR/replay.pcap: every scenario's two legs merged in time order
(primary frames from --primary-src, secondary from --secondary-src, so
`tcpprep --cidr=PRIMARY_SRC/32` splits them for `tcpreplay -i A -I B`), then
prints one `SCENARIO key=value ...` line per scenario and a `REPLAY` line.
Scenario s (by its position in baseline,skew,reorder,restart) sends its
primary leg to 239.1.0.(s+1):(5000+2s), its secondary to 239.2.0.(s+1):(5001+2s).

judge reads a capture (pcap or pcapng) of the merged output, where scenario s
went to OUT_GROUP:(P + s), and prints one `ROW key=value ...` line per
scenario: expected, received, lost, dups, reordered, bad, max_gap_ms and,
with --input (a capture of both legs), delay_p50_ms, delay_max_ms, the
frames seen per leg, replay_stretch (wire time per planned time) and
replay_dev_ms (the largest local distortion of the scenario's timing once
that stretch is taken out: how faithfully the replay played it).

COMMON (must be the same for gen and judge; default in brackets):
  --scenarios LIST     comma-separated subset of baseline,skew,reorder,restart,loss2,common,
                       burst40,reorder5,lag35 [all]
  --rate PPS           source packet rate per leg, 100..=20000 [2000]
  --packets N          packets per scenario, 100..=100000 [2000]
  --seed N             loss / reorder pattern seed [1]
  --primary-src IP     [192.168.201.1]
  --secondary-src IP   [192.168.202.1]

Exit status: 0 ok, 1 I/O error, 2 bad arguments.";

struct Opts {
    cmd: String,
    params: Params,
    out_dir: Option<PathBuf>,
    capture: Option<PathBuf>,
    input: Option<PathBuf>,
    engine: Option<String>,
    port_base: Option<u16>,
    out_group: Ipv4Addr,
}

fn value<T: FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("bad value '{v}' for {flag} (see --help)"))
}

fn parse_args(args: &[String]) -> Result<Option<Opts>, String> {
    let Some(cmd) = args.first() else {
        return Err("missing command: gen or judge (see --help)".into());
    };
    if cmd == "--help" || cmd == "-h" {
        return Ok(None);
    }
    if cmd != "gen" && cmd != "judge" {
        return Err(format!(
            "unknown command '{cmd}': expected gen or judge (see --help)"
        ));
    }
    let mut o = Opts {
        cmd: cmd.clone(),
        params: Params::default(),
        out_dir: None,
        capture: None,
        input: None,
        engine: None,
        port_base: None,
        out_group: Ipv4Addr::new(239, 10, 10, 10),
    };
    let mut i = 1;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        let v = args
            .get(i + 1)
            .ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
        i += 2;
        match flag {
            "--scenarios" => {
                let mut kinds = Vec::new();
                for name in v.split(',') {
                    let k = Kind::parse(name).ok_or_else(|| {
                        format!(
                            "bad value '{name}' for --scenarios: expected one of {}",
                            Kind::names()
                        )
                    })?;
                    if kinds.contains(&k) {
                        return Err(format!("--scenarios names '{name}' twice"));
                    }
                    kinds.push(k);
                }
                o.params.kinds = kinds;
            }
            "--rate" => o.params.rate_pps = value(flag, v)?,
            "--packets" => o.params.packets = value(flag, v)?,
            "--seed" => o.params.seed = value(flag, v)?,
            "--primary-src" => o.params.primary_src = value(flag, v)?,
            "--secondary-src" => o.params.secondary_src = value(flag, v)?,
            "--out-dir" if o.cmd == "gen" => o.out_dir = Some(v.into()),
            "--capture" if o.cmd == "judge" => o.capture = Some(v.into()),
            "--input" if o.cmd == "judge" => o.input = Some(v.into()),
            "--engine" if o.cmd == "judge" => o.engine = Some(v.clone()),
            "--port-base" if o.cmd == "judge" => o.port_base = Some(value(flag, v)?),
            "--out-group" if o.cmd == "judge" => o.out_group = value(flag, v)?,
            _ => return Err(format!("unknown argument '{flag}' for {cmd} (see --help)")),
        }
    }
    let p = &o.params;
    if !(100.0..=20_000.0).contains(&p.rate_pps) {
        return Err(format!(
            "bad value '{}' for --rate: need 100..=20000",
            p.rate_pps
        ));
    }
    if !(100..=100_000).contains(&p.packets) {
        return Err(format!(
            "bad value '{}' for --packets: need 100..=100000",
            p.packets
        ));
    }
    if !o.out_group.is_multicast() {
        return Err(format!(
            "bad value '{}' for --out-group: not multicast",
            o.out_group
        ));
    }
    match o.cmd.as_str() {
        "gen" if o.out_dir.is_none() => return Err("gen needs --out-dir".into()),
        "judge" if o.capture.is_none() || o.engine.is_none() || o.port_base.is_none() => {
            return Err("judge needs --capture, --engine and --port-base".into())
        }
        "judge" => {
            let base = o.port_base.unwrap_or(0) as usize;
            if base == 0 || base + Kind::ALL.len() > 65536 {
                return Err(format!(
                    "bad value '{base}' for --port-base: need 1..=65532"
                ));
            }
        }
        _ => {}
    }
    Ok(Some(o))
}

fn gen(o: &Opts) -> std::io::Result<()> {
    let dir = o.out_dir.as_ref().expect("checked in parse_args");
    std::fs::create_dir_all(dir)?;
    let all = build_all(&o.params);
    // Both legs of every scenario on one timeline; primary first on equal
    // times (stable sort over a primary-first list).
    let mut frames: Vec<(u64, &Built, &scenarios::WireFrame)> = Vec::new();
    for b in &all {
        for leg in [Leg::Primary, Leg::Secondary] {
            frames.extend(
                b.frames
                    .iter()
                    .filter(|f| f.leg == leg)
                    .map(|f| (f.t_ns, b, f)),
            );
        }
    }
    frames.sort_by_key(|x| x.0);
    let path = dir.join("replay.pcap");
    let mut w = PcapWriter::create(&path, TsResolution::Micro)?;
    for (t, b, f) in &frames {
        w.write_frame(DEFAULT_BASE_TIME_NS + t, &b.frame_bytes(f, &o.params))?;
    }
    w.finish()?;
    for b in &all {
        println!(
            "SCENARIO name={} slot={} primary={}:{} secondary={}:{} start_s={:.3} \
             span_s={:.3} primary_frames={} secondary_frames={} expected={}",
            b.kind.name(),
            b.kind.slot(),
            b.primary_group,
            b.primary_port,
            b.secondary_group,
            b.secondary_port,
            b.start_ns as f64 / 1e9,
            (b.end_ns - b.start_ns) as f64 / 1e9,
            b.leg_frames(Leg::Primary),
            b.leg_frames(Leg::Secondary),
            b.expected.len()
        );
    }
    let span = frames.last().map_or(0, |x| x.0) - frames.first().map_or(0, |x| x.0);
    println!(
        "REPLAY file={} frames={} span_s={:.3}",
        path.display(),
        frames.len(),
        span as f64 / 1e9
    );
    Ok(())
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.1}"))
}

fn judge_cmd(o: &Opts) -> Result<(), String> {
    let cap = o.capture.as_ref().expect("checked in parse_args");
    let out = read_pcap(cap).map_err(|e| format!("{}: {e}", cap.display()))?;
    let input = match &o.input {
        Some(p) => Some(read_pcap(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let engine = o.engine.as_deref().unwrap_or("?");
    let base = o.port_base.unwrap_or(0);
    for b in build_all(&o.params) {
        let port = base + b.kind.slot() as u16;
        let r = judge::judge(
            &b,
            &out.packets,
            o.out_group,
            port,
            input.as_ref().map(|c| c.packets.as_slice()),
        );
        let restart = r
            .after_restart
            .map_or("-".into(), |(g, w)| format!("{g}/{w}"));
        let (ip, is) = r.input.map_or(("-".into(), "-".into()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        println!(
            "ROW scenario={} engine={engine} expected={} received={} lost={} dups={} reordered={} \
             bad={} max_gap_ms={:.1} delay_p50_ms={} delay_p99_ms={} delay_max_ms={} \
             delay_p99_primary_ms={} delay_p99_backup_ms={} after_restart={restart} \
             in_primary={ip} in_secondary={is} planned_primary={} planned_secondary={} \
             replay_dev_ms={} replay_stretch={}",
            b.kind.name(),
            r.expected,
            r.received,
            r.lost,
            r.dups,
            r.reordered,
            r.bad,
            r.max_gap_ms,
            fmt_opt(r.delay_p50_ms),
            fmt_opt(r.delay_p99_ms),
            fmt_opt(r.delay_max_ms),
            fmt_opt(r.delay_p99_primary_ms),
            fmt_opt(r.delay_p99_backup_ms),
            b.leg_frames(Leg::Primary),
            b.leg_frames(Leg::Secondary),
            fmt_opt(r.replay_dev_ms),
            r.replay_stretch.map_or("-".into(), |x| format!("{x:.3}")),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let o = match testkit::cli::args_or_exit("mf-gstcompare", HELP, parse_args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let res = if o.cmd == "gen" {
        gen(&o).map_err(|e| e.to_string())
    } else {
        judge_cmd(&o)
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mf-gstcompare: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn bad_arguments_are_one_line_errors() {
        for (a, want) in [
            ("", "missing command"),
            ("frob", "unknown command 'frob'"),
            ("gen", "gen needs --out-dir"),
            ("gen --out-dir x --rate 5", "bad value '5' for --rate"),
            ("gen --out-dir x --scenarios skew,nope", "bad value 'nope'"),
            ("gen --out-dir x --scenarios skew,skew", "twice"),
            (
                "gen --out-dir x --capture y",
                "unknown argument '--capture'",
            ),
            ("judge --capture c --engine e", "judge needs"),
            (
                "judge --capture c --engine e --port-base 65534",
                "bad value '65534' for --port-base",
            ),
            (
                "judge --capture c --engine e --port-base x",
                "bad value 'x'",
            ),
            ("gen --out-dir", "--out-dir needs a value"),
        ] {
            let e = parse_args(&args(a)).err().unwrap_or_default();
            assert!(e.contains(want), "{a:?}: {e}");
        }
        assert!(parse_args(&args("gen --help")).unwrap().is_none());
        let o = parse_args(&args(
            "gen --out-dir d --scenarios restart,skew --rate 1000",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(o.params.kinds, vec![Kind::Restart, Kind::Skew]);
    }
}
