//! Counters and latency figures that leave the lcore.
//!
//! The worker owns every counter as a plain integer (no atomics, no locks on
//! the packet path) and publishes a copy to a [`Board`] of relaxed atomics a
//! few times a second; the main lcore reads the board to print the
//! testpmd-style block and write `--stats-json`. Residence time is kept in a
//! fixed-bucket [`LatencyHistogram`] so recording never allocates.

#![forbid(unsafe_code)]

mod board;
mod histogram;
mod words;

pub use board::Board;
pub use histogram::{Histogram, LatencyHistogram, StreamResidence};
pub use words::concat_names;
