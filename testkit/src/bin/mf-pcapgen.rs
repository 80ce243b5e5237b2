//! `mf-pcapgen`: writes the primary/secondary pcap pair the benchmarks replay
//! with `net_pcap,infinite_rx=1`: N interleaved RTP streams in fixed-size
//! frames, RTP sequence numbers covering a full 0..65535 cycle by default so
//! that when the vdev loops the file every stream rolls over naturally, and
//! optional independent random loss per leg.

#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use testkit::frame::{
    build_udp_frame, fill_payload_pattern, push_rtp_header, FrameSpec, RtpFields, Vlan,
    RTP_HEADER_LEN,
};
use testkit::pcap::{PcapWriter, TsResolution};
use testkit::rng::XorShift64;

const HELP: &str = "\
mf-pcapgen: generate primary/secondary RTP pcaps for mcast-failover benchmarks

USAGE: mf-pcapgen [OPTIONS]

Frame k of a file belongs to stream (k mod N) and carries that stream's
next RTP sequence number, so the N streams are interleaved round-robin.
Stream i is sent to group (base group + i), the same UDP port on both legs.
Both legs carry identical RTP headers and payloads; only addresses differ.

OPTIONS (default in brackets):
  --streams N               number of interleaved streams [1]
  --packets-per-stream N    frames per stream per file [65536]; 65536 makes
                            every stream cover seq 0..65535, so a looping
                            replay (infinite_rx=1) rolls over naturally
  --seq-start N             first RTP sequence number of every stream [0]
  --frame-len BYTES         Ethernet frame length without FCS [1370]
  --loss PCT                independent random loss per leg, percent [0]
  --no-common-loss          keep on the secondary any frame lost on both legs
  --seed N                  seed of the loss pattern [1]
  --primary FILE            primary output [primary.pcap]
  --secondary FILE          secondary output [secondary.pcap]
  --primary-group IP        group of stream 0 on the primary [239.1.0.1]
  --secondary-group IP      group of stream 0 on the secondary [239.2.0.1]
                            (IPv6 groups give IPv6 frames; both legs alike)
  --port N                  UDP destination port [5000]
  --primary-src IP          source address on the primary [10.0.1.1 / fd00::1:1]
  --secondary-src IP        source address on the secondary [10.0.2.1 / fd00::2:1]
  --vlan ID                 add an 802.1Q tag with this VLAN id [none]
  --ssrc-base N             SSRC of stream i is base + i [0x10000000]
  --pt N                    RTP payload type [33]
  --rate PPS                aggregate packet rate used for timestamps [1000000]
  --micro                   write microsecond pcaps [nanosecond]
  --max-bytes N             refuse to write files larger than this [4294967296]
  --help                    print this help

Exit status: 0 on success, 1 on I/O error, 2 on bad arguments.";

struct Opts {
    streams: u32,
    packets_per_stream: u64,
    seq_start: u16,
    frame_len: usize,
    loss: f64,
    no_common_loss: bool,
    seed: u64,
    primary: PathBuf,
    secondary: PathBuf,
    primary_group: IpAddr,
    secondary_group: IpAddr,
    port: u16,
    primary_src: Option<IpAddr>,
    secondary_src: Option<IpAddr>,
    vlan: Option<u16>,
    ssrc_base: u32,
    pt: u8,
    rate: f64,
    resolution: TsResolution,
    max_bytes: u64,
}

fn parse_num<T: FromStr>(flag: &str, v: &str) -> Result<T, String> {
    let parsed = if let Some(hex) = v.strip_prefix("0x") {
        u64::from_str_radix(hex, 16)
            .ok()
            .and_then(|n| n.to_string().parse().ok())
    } else {
        v.parse().ok()
    };
    parsed.ok_or_else(|| format!("bad value '{v}' for {flag}"))
}

fn parse_args(args: &[String]) -> Result<Option<Opts>, String> {
    let mut o = Opts {
        streams: 1,
        packets_per_stream: 65536,
        seq_start: 0,
        frame_len: 1370,
        loss: 0.0,
        no_common_loss: false,
        seed: 1,
        primary: "primary.pcap".into(),
        secondary: "secondary.pcap".into(),
        primary_group: Ipv4Addr::new(239, 1, 0, 1).into(),
        secondary_group: Ipv4Addr::new(239, 2, 0, 1).into(),
        port: 5000,
        primary_src: None,
        secondary_src: None,
        vlan: None,
        ssrc_base: 0x1000_0000,
        pt: 33,
        rate: 1_000_000.0,
        resolution: TsResolution::Nano,
        max_bytes: 4 << 30,
    };
    let mut i = 0;
    while i < args.len() {
        let (flag, inline) = match args[i].split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (args[i].clone(), None),
        };
        i += 1;
        match flag.as_str() {
            "--help" | "-h" => return Ok(None),
            "--no-common-loss" => o.no_common_loss = true,
            "--micro" => o.resolution = TsResolution::Micro,
            _ => {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        if !known_value_flag(&flag) {
                            return Err(format!("unknown argument '{flag}' (see --help)"));
                        }
                        let v = args
                            .get(i)
                            .ok_or_else(|| format!("{flag} needs a value"))?
                            .clone();
                        i += 1;
                        v
                    }
                };
                match flag.as_str() {
                    "--streams" => o.streams = parse_num(&flag, &v)?,
                    "--packets-per-stream" => o.packets_per_stream = parse_num(&flag, &v)?,
                    "--seq-start" => o.seq_start = parse_num(&flag, &v)?,
                    "--frame-len" => o.frame_len = parse_num(&flag, &v)?,
                    "--loss" => o.loss = parse_num(&flag, &v)?,
                    "--seed" => o.seed = parse_num(&flag, &v)?,
                    "--primary" => o.primary = v.into(),
                    "--secondary" => o.secondary = v.into(),
                    "--primary-group" => o.primary_group = parse_num(&flag, &v)?,
                    "--secondary-group" => o.secondary_group = parse_num(&flag, &v)?,
                    "--port" => o.port = parse_num(&flag, &v)?,
                    "--primary-src" => o.primary_src = Some(parse_num(&flag, &v)?),
                    "--secondary-src" => o.secondary_src = Some(parse_num(&flag, &v)?),
                    "--vlan" => o.vlan = Some(parse_num(&flag, &v)?),
                    "--ssrc-base" => o.ssrc_base = parse_num(&flag, &v)?,
                    "--pt" => o.pt = parse_num(&flag, &v)?,
                    "--rate" => o.rate = parse_num(&flag, &v)?,
                    "--max-bytes" => o.max_bytes = parse_num(&flag, &v)?,
                    _ => return Err(format!("unknown argument '{flag}' (see --help)")),
                }
            }
        }
    }
    validate(&o)?;
    Ok(Some(o))
}

/// Flags that take a value (the others are switches).
const VALUE_FLAGS: &[&str] = &[
    "--streams",
    "--packets-per-stream",
    "--seq-start",
    "--frame-len",
    "--loss",
    "--seed",
    "--primary",
    "--secondary",
    "--primary-group",
    "--secondary-group",
    "--port",
    "--primary-src",
    "--secondary-src",
    "--vlan",
    "--ssrc-base",
    "--pt",
    "--rate",
    "--max-bytes",
];

fn known_value_flag(flag: &str) -> bool {
    VALUE_FLAGS.contains(&flag)
}

fn validate(o: &Opts) -> Result<(), String> {
    if o.streams == 0 {
        return Err("bad value '0' for --streams: need at least 1".into());
    }
    if o.packets_per_stream == 0 {
        return Err("bad value '0' for --packets-per-stream: need at least 1".into());
    }
    if !(0.0..=100.0).contains(&o.loss) {
        return Err(format!("bad value '{}' for --loss: need 0..100", o.loss));
    }
    if !(o.rate > 0.0 && o.rate.is_finite()) {
        return Err(format!("bad value '{}' for --rate: need > 0", o.rate));
    }
    if o.pt > 127 {
        return Err(format!("bad value '{}' for --pt: need 0..127", o.pt));
    }
    if let Some(v) = o.vlan {
        if v > 4095 {
            return Err(format!("bad value '{v}' for --vlan: need 0..4095"));
        }
    }
    if o.primary_group.is_ipv4() != o.secondary_group.is_ipv4() {
        return Err("--primary-group and --secondary-group must be the same IP version".into());
    }
    for (flag, g) in [
        ("--primary-group", o.primary_group),
        ("--secondary-group", o.secondary_group),
    ] {
        let last = nth_group(g, o.streams - 1).ok_or_else(|| {
            format!(
                "bad value '{g}' for {flag}: {} streams overflow the address",
                o.streams
            )
        })?;
        if !g.is_multicast() || !last.is_multicast() {
            return Err(format!(
                "bad value '{g}' for {flag}: groups {g}..{last} are not all multicast"
            ));
        }
    }
    for (flag, s) in [
        ("--primary-src", o.primary_src),
        ("--secondary-src", o.secondary_src),
    ] {
        if let Some(s) = s {
            if s.is_ipv4() != o.primary_group.is_ipv4() {
                return Err(format!(
                    "bad value '{s}' for {flag}: IP version differs from the groups"
                ));
            }
        }
    }
    let probe = spec(o, true, 0);
    let min = probe.header_len() + RTP_HEADER_LEN;
    if o.frame_len < min || o.frame_len > 9216 {
        return Err(format!(
            "bad value '{}' for --frame-len: need {min}..9216 for these headers",
            o.frame_len
        ));
    }
    let total = o.packets_per_stream.saturating_mul(o.streams as u64);
    let bytes = total
        .saturating_mul(o.frame_len as u64 + 16)
        .saturating_add(24);
    if bytes > o.max_bytes {
        return Err(format!(
            "{} streams x {} packets x {} B = {bytes} bytes per file exceeds --max-bytes {} \
             (lower --packets-per-stream or raise --max-bytes)",
            o.streams, o.packets_per_stream, o.frame_len, o.max_bytes
        ));
    }
    Ok(())
}

/// Group of stream `i`: base address + i.
fn nth_group(base: IpAddr, i: u32) -> Option<IpAddr> {
    match base {
        IpAddr::V4(a) => u32::from(a)
            .checked_add(i)
            .map(|n| Ipv4Addr::from(n).into()),
        IpAddr::V6(a) => u128::from(a)
            .checked_add(i as u128)
            .map(|n| Ipv6Addr::from(n).into()),
    }
}

fn spec(o: &Opts, primary: bool, stream: u32) -> FrameSpec {
    let (group, src) = if primary {
        (o.primary_group, o.primary_src)
    } else {
        (o.secondary_group, o.secondary_src)
    };
    let leg_byte = if primary { 1 } else { 2 };
    let src = src.unwrap_or(match group {
        IpAddr::V4(_) => Ipv4Addr::new(10, 0, leg_byte, 1).into(),
        IpAddr::V6(_) => Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, leg_byte as u16, 1).into(),
    });
    let group = nth_group(group, stream).unwrap_or(group);
    let mut s = FrameSpec::multicast(src, group, o.port);
    s.src_mac = [0x02, 0, 0, 0, leg_byte, 0x01];
    s.vlan = o.vlan.map(|id| Vlan { id, pcp: 0 });
    s
}

struct LegStats {
    written: u64,
    lost: u64,
}

fn run(o: &Opts) -> std::io::Result<(LegStats, LegStats, u64)> {
    let open = |p: &PathBuf| {
        PcapWriter::create(p, o.resolution)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
    };
    let mut wp = open(&o.primary)?;
    let mut ws = open(&o.secondary)?;
    let specs: Vec<(FrameSpec, FrameSpec)> = (0..o.streams)
        .map(|i| (spec(o, true, i), spec(o, false, i)))
        .collect();
    let payload_len = specs[0].0.rtp_payload_len_for(o.frame_len).unwrap_or(0);
    let mut rp = XorShift64::new(o.seed);
    let mut rs = XorShift64::new(o.seed ^ 0x5eed_0000_0000_5eed);
    let (mut sp, mut ss) = (
        LegStats {
            written: 0,
            lost: 0,
        },
        LegStats {
            written: 0,
            lost: 0,
        },
    );
    let mut common = 0u64;
    let mut udp_payload = Vec::with_capacity(RTP_HEADER_LEN + payload_len);
    let gap_ns = 1e9 / o.rate;
    let start_ns: u64 = testkit::scenario::DEFAULT_BASE_TIME_NS;
    let total = o.packets_per_stream * o.streams as u64;
    for k in 0..total {
        let stream = (k % o.streams as u64) as u32;
        let n = k / o.streams as u64;
        let seq = o.seq_start.wrapping_add(n as u16);
        let lost_p = o.loss > 0.0 && rp.chance(o.loss);
        let mut lost_s = o.loss > 0.0 && rs.chance(o.loss);
        if lost_p && lost_s {
            if o.no_common_loss {
                lost_s = false;
            } else {
                common += 1;
            }
        }
        if lost_p && lost_s {
            sp.lost += 1;
            ss.lost += 1;
            continue;
        }
        udp_payload.clear();
        push_rtp_header(
            &mut udp_payload,
            &RtpFields {
                seq,
                timestamp: (n as u32).wrapping_mul(90),
                ssrc: o.ssrc_base.wrapping_add(stream),
                pt: o.pt,
                marker: false,
            },
        );
        udp_payload.resize(RTP_HEADER_LEN + payload_len, 0);
        fill_payload_pattern(seq as u64, &mut udp_payload[RTP_HEADER_LEN..]);
        let ts = start_ns + (k as f64 * gap_ns) as u64;
        let (pspec, sspec) = &specs[stream as usize];
        for (lost, spec, w, st) in [
            (lost_p, pspec, &mut wp, &mut sp),
            (lost_s, sspec, &mut ws, &mut ss),
        ] {
            if lost {
                st.lost += 1;
            } else {
                w.write_frame(ts, &build_udp_frame(spec, seq, &udp_payload))?;
                st.written += 1;
            }
        }
    }
    wp.finish()?;
    ws.finish()?;
    Ok((sp, ss, common))
}

fn main() -> ExitCode {
    let o = match testkit::cli::args_or_exit("mf-pcapgen", HELP, parse_args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if o.packets_per_stream != 65536 {
        eprintln!(
            "mf-pcapgen: note: {} packets per stream is not a full RTP cycle: a looping replay \
             jumps each stream's sequence back by {} instead of rolling over",
            o.packets_per_stream,
            o.packets_per_stream.saturating_sub(1)
        );
    }
    match run(&o) {
        Ok((p, s, common)) => {
            println!(
                "{}: {} frames ({} lost)\n{}: {} frames ({} lost)\n\
                 streams {} x {} packets, {} B frames, common loss {}",
                o.primary.display(),
                p.written,
                p.lost,
                o.secondary.display(),
                s.written,
                s.lost,
                o.streams,
                o.packets_per_stream,
                o.frame_len,
                common
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mf-pcapgen: {e}");
            ExitCode::from(1)
        }
    }
}
