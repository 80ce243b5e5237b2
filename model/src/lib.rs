//! What the configuration and the dataplane of `mcast-failover` both speak:
//! where a stream's sequence number is ([`SeqSpec`]), how copies are chosen
//! ([`MergeMode`]) and how long a missing copy is waited for ([`Reorder`]), what the output does with an 802.1Q tag
//! ([`VlanAction`]), how the output headers are rewritten ([`OutputSpec`]),
//! Ethernet addresses ([`MacAddr`]) and the limits both sides enforce
//! ([`limits`]).
//!
//! Why a crate of its own: the configuration must not depend on DPDK and
//! the engine must not depend on the configuration, yet both must agree on
//! these types. Each concept has one type, one text parser (used for the
//! command line and TOML alike) and one limit here, so the two sides cannot
//! drift apart. The crate has no dependencies and no `unsafe`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod arbitrate;
pub mod limits;
mod mac;
mod merge_mode;
mod output;
mod port_addr;
mod quote;
mod reorder;
mod seq;
mod vlan;

pub use arbitrate::Arbitrate;
pub use mac::MacAddr;
pub use merge_mode::MergeMode;
pub use output::OutputSpec;
pub use port_addr::PortAddr;
pub use quote::{clip, quoted, MAX_QUOTED_CHARS};
pub use reorder::Reorder;
pub use seq::{Endian, FieldWidth, SeqSpec};
pub use vlan::VlanAction;
