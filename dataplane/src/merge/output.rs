//! What the engine hands back: packets to send, packets to free, events.

use std::fmt;

/// Facts about a packet being sent, for the rewrite and the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendInfo {
    /// Leg whose copy is sent.
    pub leg: usize,
    /// Position in the stream's merged sequence space: increases by one per
    /// sequence number (by the MoldUDP64 message count per packet), with a
    /// jump of max(restart_after, min(capacity / 8, 64)) at each source
    /// restart. Before any restart
    /// (`epoch` 0), `ext_seq & (2^bits - 1)` is the wire sequence number.
    pub ext_seq: u64,
    /// Arrival time of the sent copy (caller ticks; resolution of the slot
    /// clock).
    pub rx_time: u64,
    /// Source epoch: 0, then +1 at each source restart.
    pub epoch: u32,
    /// Sequence numbers (MoldUDP64: messages) the sent copy carries from
    /// `ext_seq` on: 1 for a packet-numbered framing, the message count
    /// for MoldUDP64. With message-level arbitration it is less than the
    /// packet's own count when its first messages were already sent: the
    /// sink then sends only the last `span` message blocks
    /// ([`crate::rewrite::trim_mold_front`]).
    pub span: u16,
}

/// Why a handle is given back without being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FreeReason {
    /// Another copy of the same packet was (or will be) sent.
    Duplicate,
    /// Arrived behind the output cursor after its packet was given up.
    Late,
    /// Failed the receive checks, or the only copies of a lost packet.
    Corrupt,
    /// Outside the window and not (yet) a confirmed source restart.
    Wild,
    /// From a source epoch that has ended, beyond where it ended.
    Stale,
    /// A MoldUDP64 heartbeat / end of session: liveness only.
    Heartbeat,
    /// Stream or leg index out of range, or a sequence width that does not
    /// match the stream's.
    Invalid,
    /// Held, and shed to give its buffer back to a packet pool running low
    /// ([`Engine::shed`](super::Engine::shed)).
    PoolLow,
}

/// Something worth a log line, with the tick it happened at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Caller ticks.
    pub time: u64,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of [`Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The leg had no good packet for `leg_timeout`; no longer waited for.
    LegDown {
        /// Leg index.
        leg: usize,
    },
    /// First good packet on a leg that was down (or never seen).
    LegUp {
        /// Leg index.
        leg: usize,
    },
    /// The preferred leg (highest priority leg that is up) changed: to the
    /// secondary on failure, back to the primary on recovery.
    Switch {
        /// Previous preferred leg.
        from: usize,
        /// New preferred leg.
        to: usize,
    },
    /// A new source (SSRC / session change, or a sequence jump held for
    /// `restart_after` packets) was confirmed on `leg`; the stream is
    /// resynchronised to it.
    SourceRestart {
        /// Leg that confirmed the new source.
        leg: usize,
        /// New epoch number.
        epoch: u32,
        /// New source id (SSRC, session hash, or 0).
        source: u64,
        /// Merged-sequence position of the new epoch's first packet.
        first_seq: u64,
    },
    /// A leg's learned evidence moved (reported at most once per evidence
    /// window): the reorder depth and lag the early verdicts now use.
    Evidence {
        /// Leg index.
        leg: usize,
        /// Learned reorder depth (positions).
        depth: u64,
        /// Learned lag behind the first copy of a packet (caller ticks).
        lag: u64,
    },
    /// A run of sequence numbers missing on every leg, resolved: skipped
    /// (past `max_delay`, on evidence, pushed out of the window, or its
    /// re-request timed out), or put in place from a retransmission.
    Gap {
        /// First missing merged-sequence position.
        first_seq: u64,
        /// How many sequence numbers (MoldUDP64: messages).
        count: u64,
        /// The first one's sequence number on the wire (the position minus
        /// its epoch's offset; for 16/32-bit formats, extended).
        wire_seq: u64,
        /// How it ended.
        how: GapHow,
        /// Ticks from the request to this resolution (0 when not
        /// requested): the gap-fill hold.
        waited: u64,
    },
    /// Gap fill: the stream asks the request server for `count` sequence
    /// numbers from `wire_seq` and holds them for up to `fill_timeout`.
    /// Reported once per range (never repeated for a range already asked).
    FillRequest {
        /// First missing merged-sequence position.
        first_seq: u64,
        /// How many.
        count: u64,
        /// The first one's sequence number on the wire.
        wire_seq: u64,
    },
    /// The packet pool ran low and held copies were shed (duplicates
    /// first, then the positions furthest from the cursor), each counted
    /// `shed_pool_low`.
    PoolLow {
        /// Copies shed.
        shed: u64,
    },
}

/// How a [`EventKind::Gap`] was resolved.
///
/// Why: the trading desk needs to tell a loss the device could not help
/// (`Lost`), one it tried to repair (`TimedOut`) and one it repaired
/// (`Filled`) apart, from one line per gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GapHow {
    /// Skipped without a re-request (none configured, a boundary, a forced
    /// window move).
    Lost,
    /// Re-requested, but not (completely) retransmitted within
    /// `fill_timeout`: these sequence numbers were skipped.
    TimedOut,
    /// Re-requested and every sequence number of it retransmitted and sent
    /// in place.
    Filled,
}

impl GapHow {
    /// The name used in logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            GapHow::Lost => "lost",
            GapHow::TimedOut => "timed_out",
            GapHow::Filled => "filled",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EventKind::LegDown { leg } => write!(f, "leg {leg} down"),
            EventKind::LegUp { leg } => write!(f, "leg {leg} up"),
            EventKind::Switch { from, to } => write!(f, "switch from leg {from} to leg {to}"),
            EventKind::SourceRestart {
                leg,
                epoch,
                source,
                first_seq,
            } => write!(
                f,
                "source restart seen on leg {leg}: epoch {epoch}, source {source:#x}, resync at seq {first_seq}"
            ),
            EventKind::Evidence { leg, depth, lag } => write!(
                f,
                "leg {leg} evidence: reorder depth {depth}, lag {lag} ticks behind the first copy"
            ),
            EventKind::Gap {
                first_seq,
                count,
                how: GapHow::Filled,
                ..
            } => write!(
                f,
                "gap: {count} from seq {first_seq} filled by retransmission"
            ),
            EventKind::Gap {
                first_seq,
                count,
                how,
                ..
            } => write!(
                f,
                "gap: {count} unrecoverable from seq {first_seq} (missing on every leg, {})",
                how.name()
            ),
            EventKind::FillRequest {
                first_seq,
                count,
                wire_seq,
            } => write!(
                f,
                "gap fill: requested {count} from seq {first_seq} (wire {wire_seq})"
            ),
            EventKind::PoolLow { shed } => write!(
                f,
                "packet pool low: {shed} held copies shed (duplicates first, then furthest ahead)"
            ),
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}: {}", self.time, self.kind)
    }
}

/// Receiver of the engine's output, called synchronously and in order.
///
/// Why a trait: the dataplane collects mbufs into a tx burst and a free
/// list, tests record everything; the engine stays free of DPDK types.
pub trait Sink<H> {
    /// Send `handle` as the next packet of `stream` (calls for one stream
    /// come in increasing `ext_seq` order).
    fn send(&mut self, stream: usize, handle: H, info: SendInfo);
    /// Give back a handle that is not sent.
    fn free(&mut self, handle: H, why: FreeReason);
    /// Report an event of `stream`.
    fn event(&mut self, stream: usize, event: Event);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines() {
        let e = Event {
            time: 42,
            kind: EventKind::Switch { from: 0, to: 1 },
        };
        assert_eq!(e.to_string(), "@42: switch from leg 0 to leg 1");
        let g = EventKind::Gap {
            first_seq: 7,
            count: 3,
            wire_seq: 7,
            how: GapHow::Lost,
            waited: 0,
        };
        assert_eq!(
            g.to_string(),
            "gap: 3 unrecoverable from seq 7 (missing on every leg, lost)"
        );
        let f = EventKind::Gap {
            first_seq: 7,
            count: 3,
            wire_seq: 7,
            how: GapHow::Filled,
            waited: 9,
        };
        assert_eq!(f.to_string(), "gap: 3 from seq 7 filled by retransmission");
        let r = EventKind::SourceRestart {
            leg: 1,
            epoch: 2,
            source: 255,
            first_seq: 9,
        };
        assert!(r.to_string().contains("epoch 2, source 0xff"));
        assert_eq!(EventKind::LegDown { leg: 1 }.to_string(), "leg 1 down");
        assert_eq!(EventKind::LegUp { leg: 0 }.to_string(), "leg 0 up");
    }
}
