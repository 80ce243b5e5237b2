//! Limits that both the configuration (which refuses bad input with a
//! one-line error) and the dataplane (which must never be handed a value it
//! cannot honour) enforce. Each is defined once, here.

/// Fewest legs (copies) per stream: a failover needs two.
pub const MIN_LEGS: usize = 2;
/// Most legs per stream (the merge engine keeps per-leg state inline for 4).
pub const MAX_LEGS: usize = 4;

/// Largest rx/tx burst (the burst buffers are arrays of this size; DPDK
/// PMDs commonly cap a burst well below it).
pub const MAX_BURST: usize = 512;

/// Largest UDP-payload offset of a sequence field: the payload of a
/// 9000-byte jumbo frame ends before it, and fragmented datagrams are not
/// merged, so a larger offset can never be read.
pub const MAX_SEQ_OFFSET: usize = 9_000;

/// Smallest slot table (slots per leg).
pub const MIN_SLOTS: u32 = 16;
/// Largest slot table for 32/64-bit sequence fields.
pub const MAX_SLOTS: u32 = 1 << 20;
/// Largest slot table for RTP: a 16-bit sequence number can only place
/// packets unambiguously within half its space.
pub const MAX_RTP_SLOTS: u32 = max_slots(16);

/// Largest slot table for a sequence field of `bits` bits (16, 32 or 64):
/// half the counter's space (so extension to 64 bits is unambiguous), and
/// never more than [`MAX_SLOTS`].
pub const fn max_slots(bits: u32) -> u32 {
    if bits >= 1 && bits < 22 {
        let half = 1u32 << (bits - 1);
        if half < MAX_SLOTS {
            return half;
        }
    }
    MAX_SLOTS
}

/// Most consecutive out-of-window packets that may be required to prove a
/// source restart (`restart-after`).
pub const MAX_RESTART_AFTER: u32 = 1024;

/// Largest `restart-after` a slot table of `slots` supports: the engine
/// holds the candidate packets of a restart within a quarter of the table,
/// and never more than [`MAX_RESTART_AFTER`].
pub const fn max_restart_after(slots: u32) -> u32 {
    let quarter = slots / 4;
    if quarter < MAX_RESTART_AFTER {
        quarter
    } else {
        MAX_RESTART_AFTER
    }
}

/// Largest 802.1Q VLAN id (4095 is reserved).
pub const MAX_VLAN_ID: u16 = 4094;

/// Largest DSCP value (6 bits).
pub const MAX_DSCP: u8 = 63;

/// Largest `--primary-reorder N` (positions; half the RTP window).
pub const MAX_PRIMARY_REORDER: u32 = 16384;

/// Slack, in microseconds, added to a leg's learned lag before its missing
/// copy is given up on time evidence: covers the clock's resolution and a
/// copy a little later than any seen so far.
pub const EVIDENCE_MARGIN_US: u64 = 250;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_limits_follow_the_sequence_width() {
        assert_eq!(MAX_RTP_SLOTS, 32_768);
        assert_eq!(max_slots(32), MAX_SLOTS);
        assert_eq!(max_slots(64), MAX_SLOTS);
    }

    #[test]
    fn restart_after_fits_a_quarter_of_the_table() {
        assert_eq!(max_restart_after(16), 4);
        assert_eq!(max_restart_after(512), 128);
        assert_eq!(max_restart_after(MAX_SLOTS), MAX_RESTART_AFTER);
    }
}
