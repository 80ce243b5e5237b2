//! Runs the rx classifier parse (`parse_frame`: Ethernet/IPv4/UDP views,
//! IPv4 header checksum and, in `software` mode, the UDP checksum over the
//! whole datagram) over 1370-byte RTP frames, for
//! `scripts/callgrind-merge.sh --mode parse` (instructions per input packet).
//!
//! Usage: parse_callgrind software|skip PACKETS
//! Prints the number of packets and a sum of what was parsed.

use std::hint::black_box;
use std::net::IpAddr;

use dataplane::wire::{parse_frame, Integrity, L4Check};
use testkit::frame::{build_rtp_frame_with_pattern, FrameSpec, RtpFields};

/// The frame size of `scripts/bench.sh` (mf-pcapgen's default).
const FRAME_LEN: usize = 1370;

#[inline(never)]
fn run(frames: &[Vec<u8>], l4: L4Check, packets: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..packets {
        let f = &frames[(i as usize) % frames.len()];
        match parse_frame(black_box(f), l4) {
            Ok(info) if info.integrity == Integrity::Ok => {
                sum = sum.wrapping_add(info.offsets.payload().len() as u64);
            }
            _ => sum = sum.wrapping_add(1 << 32),
        }
    }
    sum
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let l4 = match args.get(1).map(String::as_str) {
        Some("software") => L4Check::Software,
        Some("skip") => L4Check::Skip,
        _ => {
            eprintln!("usage: parse_callgrind software|skip PACKETS");
            std::process::exit(2);
        }
    };
    let Some(Ok(packets)) = args.get(2).map(|p| p.parse::<u64>()) else {
        eprintln!("usage: parse_callgrind software|skip PACKETS");
        std::process::exit(2);
    };
    let src: IpAddr = "10.0.1.1".parse().unwrap_or(IpAddr::from([10, 0, 1, 1]));
    let group: IpAddr = "239.1.0.1".parse().unwrap_or(IpAddr::from([239, 1, 0, 1]));
    let spec = FrameSpec::multicast(src, group, 5000);
    let payload = spec.rtp_payload_len_for(FRAME_LEN).unwrap_or(1000);
    let frames: Vec<Vec<u8>> = (0..64u16)
        .map(|seq| {
            let rtp = RtpFields {
                seq,
                timestamp: u32::from(seq) * 90,
                ssrc: 0x1234_5678,
                pt: 96,
                marker: false,
            };
            build_rtp_frame_with_pattern(&spec, &rtp, payload)
        })
        .collect();
    let sum = run(&frames, l4, packets);
    println!("packets {packets} sum {sum}");
}
