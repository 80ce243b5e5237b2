//! Per-stream merge settings.

use model::limits::{max_restart_after, MAX_SLOTS, MIN_SLOTS};

/// Largest number of legs (copies) per stream.
pub use model::limits::MAX_LEGS;

/// The engine's name for the selection rule (the shared
/// [`model::MergeMode`], which the configuration parses).
pub use model::MergeMode as Mode;

/// When a missing copy is given up before `max_delay` (the shared
/// [`model::Reorder`], which the configuration parses).
pub use model::Reorder;

/// Settings of one stream. Times are in caller ticks (the worker passes TSC
/// cycles, tests pass nanoseconds); the engine never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergeConfig {
    /// Selection rule.
    pub mode: Mode,
    /// Copies of the stream (2..=4); leg 0 is the primary, then priority order.
    pub legs: usize,
    /// Slots per leg, a power of two: the window, in sequence numbers.
    pub capacity: usize,
    /// How long a packet waits for a better (or any) copy, measured from
    /// when it, or a later packet, was first seen.
    pub max_delay: u64,
    /// A leg silent (no good packet) this long is Down and not waited for.
    pub leg_timeout: u64,
    /// K: packets a new source (SSRC/session change, or a jump / step back
    /// outside the window) must persist on a leg before the stream
    /// resynchronises to it.
    pub restart_after: u32,
    /// Width of the wire sequence (16 for RTP, 32, 64): bounds the window,
    /// since a 16-bit counter can only be extended within half its space.
    pub seq_bits: u32,
    /// When a missing copy stops being waited for before `max_delay`.
    /// `Auto` learns each leg's reorder depth and lag behind the first copy
    /// and decides on that evidence (docs/ARCHITECTURE.md "The merge"
    /// states each rule's bound); `Fixed(r)` (primary mode) counts a
    /// preferred leg's copy of `n` missing once that leg has delivered a
    /// packet more than `r` positions after `n`; `Off` waits `max_delay`.
    pub reorder: Reorder,
    /// Slack added to a leg's learned lag before a copy is given up on
    /// time evidence (`Auto` only), in ticks.
    pub margin: u64,
    /// Gap fill by re-request (MoldUDP64): how long a range missing on
    /// every leg is held, once it would be given up, for the retransmission
    /// the stream asked for ([`EventKind::FillRequest`](super::EventKind)).
    /// 0 = no gap fill (the range is skipped at once, as without a request
    /// server). In ticks.
    pub fill_timeout: u64,
    /// Message-level arbitration (MoldUDP64, `--arbitrate messages`): the
    /// legs may pack the same messages into packets of different
    /// boundaries. A copy whose `[seq, seq + count)` starts behind the
    /// cursor but ends after it is trimmed to the messages not yet sent
    /// (never freed as a duplicate), and a held copy the sent packet
    /// overlaps is carried to the new cursor. False: packet by packet.
    pub messages: bool,
}

impl Default for MergeConfig {
    /// Primary mode, 2 legs, 512 slots, 50 ms / 500 ms in nanoseconds,
    /// K = 20, 16-bit (RTP) sequence numbers, learned evidence with a
    /// 250 us margin.
    fn default() -> Self {
        Self {
            mode: Mode::Primary,
            legs: 2,
            capacity: 512,
            max_delay: 50_000_000,
            leg_timeout: 500_000_000,
            restart_after: 20,
            seq_bits: 16,
            reorder: Reorder::Auto,
            margin: model::limits::EVIDENCE_MARGIN_US * 1_000,
            fill_timeout: 0,
            messages: false,
        }
    }
}

impl MergeConfig {
    /// Checks the settings; the error is one line naming the bad value.
    ///
    /// Why: `Engine::new` must never panic on operator input, and a window
    /// larger than half a 16-bit counter would make sequence extension
    /// ambiguous (ST 2022-7 Annex A uses the RTP timestamp there; this
    /// engine refuses such a window instead).
    pub fn validate(&self) -> Result<(), String> {
        // One leg is allowed here (a single-leg SDP: a re-addressed relay
        // with nothing to fail over to); the configuration asks for
        // MIN_LEGS from --stream and TOML.
        if !(1..=MAX_LEGS).contains(&self.legs) {
            return Err(format!("legs {} out of range (1..={MAX_LEGS})", self.legs));
        }
        if !self.capacity.is_power_of_two() || self.capacity < MIN_SLOTS as usize {
            return Err(format!(
                "slots {} must be a power of two >= {MIN_SLOTS}",
                self.capacity
            ));
        }
        if self.capacity > MAX_SLOTS as usize {
            return Err(format!("slots {} larger than {MAX_SLOTS}", self.capacity));
        }
        match self.seq_bits {
            16 | 32 | 64 => {}
            b => return Err(format!("sequence width {b} bits (expected 16, 32 or 64)")),
        }
        if self.seq_bits < 64 && self.capacity as u64 > 1u64 << (self.seq_bits - 1) {
            return Err(format!(
                "slots {} exceed half of the {}-bit sequence space ({}); use a smaller window",
                self.capacity,
                self.seq_bits,
                1u64 << (self.seq_bits - 1)
            ));
        }
        if self.leg_timeout == 0 {
            return Err("leg timeout 0 (must be > 0)".to_string());
        }
        if self.max_delay > u64::MAX / 8
            || self.leg_timeout > u64::MAX / 8
            || self.margin > u64::MAX / 8
            || self.fill_timeout > u64::MAX / 8
        {
            return Err(format!(
                "max delay {} / leg timeout {} too large",
                self.max_delay, self.leg_timeout
            ));
        }
        // capacity <= MAX_SLOTS was checked above, so it fits a u32.
        let most = max_restart_after(self.capacity as u32);
        if self.restart_after == 0 || self.restart_after > most {
            return Err(format!(
                "restart-after {} out of range (1..={most})",
                self.restart_after
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        MergeConfig::default().validate().unwrap();
    }

    #[test]
    fn refusals_name_the_value() {
        let d = MergeConfig::default();
        let cases = [
            (MergeConfig { legs: 0, ..d }, "legs 0"),
            (MergeConfig { legs: 5, ..d }, "legs 5"),
            (MergeConfig { capacity: 500, ..d }, "slots 500"),
            (
                MergeConfig {
                    capacity: 65536,
                    ..d
                },
                "slots 65536",
            ),
            (MergeConfig { seq_bits: 8, ..d }, "width 8"),
            (
                MergeConfig {
                    leg_timeout: 0,
                    ..d
                },
                "timeout 0",
            ),
            (
                MergeConfig {
                    restart_after: 0,
                    ..d
                },
                "restart-after 0",
            ),
            (
                MergeConfig {
                    restart_after: 200,
                    ..d
                },
                "restart-after 200",
            ),
        ];
        for (c, needle) in cases {
            let e = c.validate().unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains('\n'));
        }
        // Large windows are fine with wider counters.
        MergeConfig {
            capacity: 1 << 20,
            seq_bits: 64,
            ..d
        }
        .validate()
        .unwrap();
        MergeConfig {
            capacity: 32768,
            ..d
        }
        .validate()
        .unwrap();
    }
}
