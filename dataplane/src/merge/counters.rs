//! Per-stream and per-leg counters kept by the engine.

use super::config::MAX_LEGS;

/// What one leg of one stream delivered.
///
/// Every data packet handed in is counted in `received` and in exactly one
/// of `used`, `duplicates`, `late`, `wild`, `stale`, `invalid`, or (corrupt
/// copies that never had a good alternative) `corrupt_dropped`;
/// `heartbeats` are counted in `received` too.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegCounters {
    /// Packets handed in for this leg.
    pub received: u64,
    /// Data packets (not heartbeats) that passed the receive checks.
    pub good: u64,
    /// Data packets that failed them (never sent).
    pub corrupt: u64,
    /// Sent from this leg.
    pub used: u64,
    /// Good copies freed because another copy was or will be sent
    /// (including in-leg duplicates).
    pub duplicates: u64,
    /// Arrived behind the output cursor after the packet was given up.
    pub late: u64,
    /// Corrupt copies freed (with or without a good copy elsewhere).
    pub corrupt_dropped: u64,
    /// Arrived with a lower sequence number than an earlier packet of the
    /// same leg.
    pub out_of_order: u64,
    /// Outside the window or from another source and not (yet) confirmed
    /// as a restart.
    pub wild: u64,
    /// From an ended source epoch, beyond where it ended.
    pub stale: u64,
    /// MoldUDP64 heartbeats (liveness only).
    pub heartbeats: u64,
    /// Wrong sequence width or leg index.
    pub invalid: u64,
}

/// What one stream did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamCounters {
    /// Per leg.
    pub legs: [LegCounters; MAX_LEGS],
    /// Packets sent.
    pub sent: u64,
    /// Sent from a leg other than the preferred one: a missing, late or
    /// corrupt preferred copy replaced by another leg's copy of that packet.
    pub substituted: u64,
    /// Sequence numbers missing on every leg, skipped.
    pub unrecoverable: u64,
    /// Gap events (runs of unrecoverable sequence numbers).
    pub gaps: u64,
    /// Changes of preferred leg.
    pub switches: u64,
    /// Source restarts (resynchronisations).
    pub restarts: u64,
    /// Times the window was pushed forward by a packet beyond it.
    pub overruns: u64,
    /// Positions given up on evidence (every live leg had moved past them)
    /// before `max_delay` whose good copy then arrived within the window:
    /// what an estimate that had not yet caught up cost. Also counted
    /// `unrecoverable` and the copy `late`.
    pub lost_early: u64,
}
