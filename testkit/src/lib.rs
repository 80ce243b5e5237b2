//! Test and benchmark support for mcast-failover, deliberately independent of
//! the code under test (it does not use the `dataplane` crate), so a bug in
//! the dataplane's parsers or checksums cannot confirm itself.
//!
//! * [`pcap`]: read/write classic libpcap files (µs and ns), read pcapng.
//! * [`frame`]: build Ethernet/802.1Q/IPv4|IPv6/UDP/RTP frames with correct
//!   checksums and sequence-derived payloads.
//! * [`parse`]: parse captured frames back for assertions.
//! * [`checksum`]: RFC 1071 checksums and a full-recompute validator.
//! * [`moldudp64`]: MoldUDP64 payloads (64-bit sequence numbers).
//! * [`cme`]: CME MDP 3.0 payloads (32-bit LE packet sequence numbers).
//! * [`pitch`]: Cboe PITCH payloads (Sequenced Unit Header, per-unit
//!   32-bit LE sequence numbers).
//! * [`scenario`]: per-leg packet lists -> `primary.pcap` / `secondary.pcap`.
//! * [`rng`]: a seeded PRNG for reproducible loss patterns.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checksum;
pub mod cli;
pub mod cme;
pub mod frame;
pub mod moldudp64;
pub mod parse;
pub mod pcap;
pub mod pitch;
pub mod rng;
pub mod scenario;

pub use checksum::{verify_checksums, ChecksumError};
pub use frame::{
    build_rtp_frame, build_rtp_frame_with_pattern, build_udp_frame, multicast_mac, payload_matches,
    payload_pattern, FrameSpec, RtpFields, Vlan,
};
pub use parse::{parse_rtp, parse_udp, ParseError, RtpFrame, UdpFrame};
pub use pcap::{
    read_frames, read_pcap, write_pcap, PcapPacket, PcapReader, PcapWriter, TsResolution,
};
pub use scenario::{paced, Control, Corruption, Leg, LegPacket, Scenario, StreamSpec};
