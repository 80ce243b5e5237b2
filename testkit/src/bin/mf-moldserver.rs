//! `mf-moldserver`: a MoldUDP64 request server serving from a recorded
//! stream, for the gap-fill tests.
//!
//! It reads every MoldUDP64 data packet (UDP payload: 10-byte session, u64
//! BE sequence, u16 BE count, messages) from a pcap, then answers each
//! request packet (session, u64 BE sequence, u16 BE count) received on
//! `--listen` by sending back, unicast to the requester, every recorded
//! packet of that session whose messages overlap the asked range, in
//! sequence order, unchanged. Requests for another session or malformed
//! ones are counted and ignored. Stops after `--requests N` requests if
//! given (then prints its counts as one JSON line), else runs until killed.

#![forbid(unsafe_code)]

use std::net::{SocketAddr, UdpSocket};
use std::process::ExitCode;

use testkit::parse::parse_udp;
use testkit::pcap::read_frames;

const HELP: &str = "\
mf-moldserver: MoldUDP64 request server serving from a recorded stream

USAGE: mf-moldserver --pcap FILE --listen ADDR:PORT [--dst-port N] [--requests N]

  --pcap FILE        capture of the stream (one leg is enough)
  --listen ADDR:PORT where requests come (unicast UDP)
  --dst-port N       only packets to this UDP port count as the stream [all]
  --requests N       exit after N requests, printing the counts [run forever]
";

/// One recorded packet: its first sequence number, count, and payload.
struct Recorded {
    seq: u64,
    count: u64,
    payload: Vec<u8>,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("mf-moldserver: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut pcap = None;
    let mut listen: Option<SocketAddr> = None;
    let mut dst_port: Option<u16> = None;
    let mut requests: Option<u64> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let r = match a.as_str() {
            "--pcap" => val("--pcap").map(|v| pcap = Some(v)),
            "--listen" => val("--listen").and_then(|v| {
                v.parse()
                    .map(|x| listen = Some(x))
                    .map_err(|_| format!("bad --listen {v:?} (want ADDR:PORT)"))
            }),
            "--dst-port" => val("--dst-port").and_then(|v| {
                v.parse()
                    .map(|x| dst_port = Some(x))
                    .map_err(|_| format!("bad --dst-port {v:?}"))
            }),
            "--requests" => val("--requests").and_then(|v| {
                v.parse()
                    .map(|x| requests = Some(x))
                    .map_err(|_| format!("bad --requests {v:?}"))
            }),
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?} (see --help)")),
        };
        if let Err(e) = r {
            return fail(e);
        }
    }
    let (Some(pcap), Some(listen)) = (pcap, listen) else {
        return fail("--pcap and --listen are required (see --help)");
    };
    let frames = match read_frames(&pcap) {
        Ok(f) => f,
        Err(e) => return fail(format!("{pcap}: {e}")),
    };
    let mut recorded: Vec<Recorded> = Vec::new();
    let mut session: Option<[u8; 10]> = None;
    for f in &frames {
        let Ok(u) = parse_udp(f) else { continue };
        if dst_port.is_some_and(|p| p != u.dst_port) || u.payload.len() < 20 {
            continue;
        }
        let p = u.payload;
        let count = u64::from(u16::from_be_bytes([p[18], p[19]]));
        if count == 0 || count == 0xFFFF {
            continue; // heartbeat / end of session
        }
        let mut s = [0u8; 10];
        s.copy_from_slice(&p[..10]);
        if session.is_some_and(|x| x != s) {
            continue; // one session per server
        }
        session = Some(s);
        let mut b = [0u8; 8];
        b.copy_from_slice(&p[10..18]);
        recorded.push(Recorded {
            seq: u64::from_be_bytes(b),
            count,
            payload: p.to_vec(),
        });
    }
    let Some(session) = session else {
        return fail(format!("{pcap}: no MoldUDP64 data packet"));
    };
    recorded.sort_by_key(|r| r.seq);
    recorded.dedup_by_key(|r| r.seq);
    let sock = match UdpSocket::bind(listen) {
        Ok(s) => s,
        Err(e) => return fail(format!("--listen {listen}: {e}")),
    };
    eprintln!(
        "mf-moldserver: {} packets of session {:?} on {listen}",
        recorded.len(),
        String::from_utf8_lossy(&session)
    );
    let (mut served, mut ignored, mut sent) = (0u64, 0u64, 0u64);
    let mut buf = [0u8; 1500];
    while requests.is_none_or(|n| served + ignored < n) {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(x) => x,
            Err(e) => return fail(format!("recv: {e}")),
        };
        if n != 20 || buf[..10] != session {
            ignored += 1;
            continue;
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[10..18]);
        let seq = u64::from_be_bytes(b);
        let count = u64::from(u16::from_be_bytes([buf[18], buf[19]]));
        let end = seq.saturating_add(count);
        served += 1;
        for r in recorded
            .iter()
            .filter(|r| r.seq < end && r.seq.saturating_add(r.count) > seq)
        {
            if sock.send_to(&r.payload, from).is_ok() {
                sent += 1;
            }
        }
    }
    println!("{{\"served\":{served},\"ignored\":{ignored},\"sent\":{sent}}}");
    ExitCode::SUCCESS
}
