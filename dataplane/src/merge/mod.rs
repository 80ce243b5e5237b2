//! The selection engine: one continuous output from 2..=4 copies of a stream.
//!
//! Pure and DPDK-free: packets are opaque handles `H` (mbufs in the
//! dataplane, ids or byte vectors in tests). For each stream the engine
//! keeps one slot ring per leg ([`crate::slots`]), an output cursor (the
//! next sequence number to send) and the legs' health, and applies the
//! rules below (docs/ARCHITECTURE.md states them with their bounds):
//!
//! * `Primary`: the highest-priority leg's good copy; a lower leg's good
//!   copy when every higher leg's copy is corrupt, its leg is down, it is
//!   known missing on evidence (`Reorder::Auto`: the leg moved past it by
//!   more than its learned reorder depth + 1, or it is later than the leg's
//!   learned lag + margin behind the first copy), or the position is
//!   overdue (`max_delay` after it, or a later packet, was first seen on
//!   any leg). `Hitless`: the first good copy from any leg.
//! * A position with no good copy on any leg is skipped once every live
//!   leg is known missing on that evidence, or once overdue (counted
//!   `unrecoverable`, reported as a `Gap`); the stream never stalls.
//! * Copies behind the cursor are freed (`late`, or `duplicate` if that
//!   packet went out); a copy beyond the window pushes the window forward,
//!   resolving what it passes over; copies far outside it, or from another
//!   source, are `wild` until `restart_after` of them confirm a source
//!   restart, which opens a new epoch after everything seen so far.
//! * A leg with no good packet for `leg_timeout` is down (not waited for);
//!   its next good packet brings it up.

#![forbid(unsafe_code)]

mod config;
mod counters;
mod engine;
mod output;
pub mod record;
mod stream;
mod wheel;

pub use crate::slots::Verdict;
pub use config::{MergeConfig, Mode, Reorder, MAX_LEGS};
pub use counters::{LegCounters, StreamCounters};
pub use engine::Engine;
pub use output::{Event, EventKind, FreeReason, GapHow, SendInfo, Sink};
pub use stream::{EvidenceFigures, FILL_SLOTS, SAMPLE_EVERY};
pub use wheel::NEVER;

#[cfg(test)]
mod agree_tests;
#[cfg(test)]
mod fill_tests;
#[cfg(test)]
mod messages_tests;
#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;
