//! Checked zero-copy views over the headers the dataplane reads and
//! rewrites, and the Internet checksum.
//!
//! Each view names its fields in its own `field` module (byte ranges, as
//! smoltcp's `wire` does) and reads and writes them through the one set of
//! big-endian helpers in [`field`]; the rewriter and the renumberer write
//! through the views' setters.
//!
//! Each view's `new_checked` validates every length before any field is
//! read, so accessors never go out of bounds and malformed input becomes a
//! [`DropReason`] (a counter), never a panic. [`parse_frame`] chains them
//! into the single classifier call of the rx hot path. No DPDK types: the
//! views work on any `AsRef<[u8]>`.

#![forbid(unsafe_code)]

pub mod build;
pub mod checksum;
pub mod ethernet;
pub mod field;
pub mod frame;
pub mod ipv4;
pub mod ipv6;
mod reason;
pub mod rtp;
pub mod udp;
pub mod vlan;

#[cfg(test)]
mod frame_tests;
#[cfg(test)]
pub(crate) mod testframe;

pub use ethernet::EthernetFrame;
pub use frame::{parse_frame, verify_udp, FrameInfo, FrameOffsets, Integrity, L4Check};
pub use ipv4::Ipv4Packet;
pub use ipv6::Ipv6Packet;
pub use reason::DropReason;
pub use rtp::RtpPacket;
pub use udp::UdpDatagram;
pub use vlan::VlanTag;
