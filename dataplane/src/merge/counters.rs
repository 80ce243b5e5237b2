//! Per-stream and per-leg counters kept by the engine.

use super::config::MAX_LEGS;

crate::counter_group! {
/// What one leg of one stream delivered.
///
/// Every data packet handed in is counted in `received` and in exactly one
/// of `used`, `duplicates`, `late`, `wild`, `stale`, `invalid`,
/// `shed_pool_low`, or (corrupt
/// copies that never had a good alternative) `corrupt_dropped`;
/// `heartbeats` are counted in `received` too.
pub struct LegCounters {
    /// Packets handed in for this leg.
    received,
    /// Data packets (not heartbeats) that passed the receive checks.
    good,
    /// Data packets that failed them (never sent).
    corrupt,
    /// Sent from this leg.
    used,
    /// Good copies freed because another copy was or will be sent
    /// (including in-leg duplicates).
    duplicates,
    /// Arrived behind the output cursor after the packet was given up.
    late,
    /// Corrupt copies freed (with or without a good copy elsewhere).
    corrupt_dropped,
    /// Arrived with a lower sequence number than an earlier packet of the
    /// same leg.
    out_of_order,
    /// Outside the window or from another source and not (yet) confirmed
    /// as a restart.
    wild,
    /// From an ended source epoch, beyond where it ended.
    stale,
    /// MoldUDP64 heartbeats (liveness only).
    heartbeats,
    /// Wrong sequence width or leg index.
    invalid,
    /// Held copies shed because the packet pool ran low (duplicates first,
    /// then the copies furthest from the output cursor).
    shed_pool_low,
}
}

crate::counter_group! {
/// What one stream did.
pub struct StreamCounters {
    /// Packets sent.
    sent,
    /// Sequence numbers sent: MoldUDP64 messages (1 a packet for the
    /// packet-numbered framings).
    messages_sent,
    /// Messages of good copies not sent because they already had been:
    /// duplicate copies, and with `--arbitrate messages` the already-sent
    /// prefix trimmed off a copy whose packet boundaries differ.
    messages_duplicate,
    /// Sent from a leg other than the preferred one: a missing, late or
    /// corrupt preferred copy replaced by another leg's copy of that packet.
    substituted,
    /// Sequence numbers missing on every leg, skipped.
    unrecoverable,
    /// Gap events (runs of unrecoverable sequence numbers).
    gaps,
    /// Changes of preferred leg.
    switches,
    /// Source restarts (resynchronisations).
    restarts,
    /// Times the window was pushed forward by a packet beyond it.
    overruns,
    /// Positions given up on evidence (every live leg had moved past them)
    /// before `max_delay` whose good copy then arrived within the window:
    /// what an estimate that had not yet caught up cost. Also counted
    /// `unrecoverable` and the copy `late`.
    lost_early,
    /// Gap fill: ranges missing on every leg asked of the request server
    /// (one per range, never repeated).
    fill_requested,
    /// Gap fill: requested ranges whose every sequence number was
    /// retransmitted in time and sent in place.
    filled,
    /// Gap fill: requested ranges not completely retransmitted within
    /// `fill_timeout` (what was missing is also counted `unrecoverable`).
    fill_timed_out,
    /// Gap fill: retransmitted packets sent in place (also in `sent`).
    fill_sent,
    /// Gap fill: retransmitted packets that arrived after their range was
    /// given up (or sent from a leg): freed, never sent out of order.
    late_fill,
    /// Gap fill: retransmitted packets for no requested range (another
    /// session, a heartbeat, beyond the range, a second copy): freed.
    fill_stray,
    /// Good copies of a position whose payload differs from the copy sent
    /// there (their UDP payload sums differ): two legs carry different
    /// bytes under one sequence number, a misconfigured or faulty source
    /// pair. Single-position copies with a UDP checksum only.
    payload_mismatch,
}
extra {
    /// Per leg.
    legs: [LegCounters; MAX_LEGS],
}
}
