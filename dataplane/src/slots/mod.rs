//! Sequence-aligned slot tables: every leg's copies buffered by sequence
//! position, so the copies of one packet line up across legs.
//!
//! Per stream and per leg, a ring of `capacity` slots (a power of two)
//! indexed by `position & (capacity - 1)`, where `position` is the packet's
//! extended sequence number. Both legs' copies of one packet therefore sit at
//! the same offset of their rings, and choosing between them is a matter of
//! looking at one index in each ring. A slot holds the packet handle, a
//! compact arrival time and the verdict: 16 bytes for an 8-byte handle.
//!
//! Every stream's rings live in one allocation made up front ([`SlotTable`]);
//! nothing is allocated per packet.

#![forbid(unsafe_code)]

mod clock;
mod table;

pub use clock::SlotClock;
pub use table::{Checked, Digest, Packet, Passed, Region, Slot, SlotTable, Verdict};
