//! What the workers need to know, built once before any lcore starts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;

use super::classify::Classifier;
use super::layout::BoardLayout;
use super::shard::Shards;
use crate::dpdk::{Mbuf, RxTimestamp};
use crate::merge::{Engine, Event, MergeConfig};
use crate::rewrite::Rewriter;
use crate::seq::SeqSample;
use crate::seq::SeqSpec;
use crate::stats::Board;

/// One output stream: how to read its sequence numbers, how to merge its
/// legs and how to rewrite what goes out.
#[derive(Clone, Debug)]
pub struct StreamPlan {
    /// Operator's name for the stream (logs, stats).
    pub name: String,
    /// Where the sequence number is in the UDP payload.
    pub seq: SeqSpec,
    /// Merge rules (times in TSC ticks).
    pub merge: MergeConfig,
    /// Output header template.
    pub rewriter: Rewriter,
    /// Keep output RTP SSRC and sequence continuous across source restarts.
    pub renumber: bool,
    /// Per leg, the only sender whose packets belong to it (SSM); `None`
    /// = any. Checked in the rx stage so a second sender on the group
    /// never reaches the merge (it would interleave two streams).
    pub sources: Vec<Option<std::net::IpAddr>>,
}

/// One input port as the rx stage sees it.
#[derive(Clone, Copy, Debug)]
pub struct InputPlan {
    /// DPDK port id.
    pub port: u16,
    /// The port verifies UDP checksums in hardware (mbuf flags are valid).
    pub hw_l4_check: bool,
    /// A membership host runs for this port: its IGMP/MLD frames go to the
    /// main lcore instead of being dropped.
    pub membership: bool,
}

/// Everything the lcores share read-only, fixed at start-up.
#[derive(Debug)]
pub struct Plan {
    /// Streams, indexed as the classifier routes to them.
    pub streams: Vec<StreamPlan>,
    /// (port, group, udp port) -> (stream, leg).
    pub classifier: Classifier,
    /// Input ports in leg order of first use (primary first).
    pub inputs: Vec<InputPlan>,
    /// Packets per rx/tx burst.
    pub burst: usize,
    /// Prefetch packet data this many packets ahead (0 = off).
    pub rx_prefetch: usize,
    /// Verify UDP checksums (in software when the NIC does not).
    pub verify_udp: bool,
    /// Ticks per second of the workers' clock: the TSC's rate, or 10^6 with
    /// [`Clock::Capture`] (net_pcap stamps microseconds).
    pub tsc_hz: u64,
    /// Where the workers take time from.
    pub clock: Clock,
    /// Which merge worker owns each stream (one worker but in the shard
    /// layout).
    pub shards: Shards,
    /// Rx queues polled per input: one, or (flow steering) one per merge
    /// worker, queue `w` polled by worker `w`.
    pub rx_lanes: usize,
    /// Stats board stream slots kept free for streams a live reload adds
    /// (each sized for the most legs); see [`super::reload`].
    pub reload_slots: usize,
}

/// Where the workers take "now" from.
///
/// Why two: the TSC is the wall clock of a live device. A replayed capture
/// has its own timeline in its packets' timestamps; following it makes every
/// timer fire at the same packet whatever the machine's speed, so an
/// offline replay (and a time-defined test) gives one exact answer.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// The CPU's time stamp counter, read once per rx burst.
    Tsc,
    /// The rx timestamp each packet carries (net_pcap: its capture time, in
    /// microseconds); time only moves when a later packet arrives, and the
    /// timers due before a packet fire before it is merged.
    Capture(RxTimestamp),
}

impl Clock {
    /// The packet's own time under [`Clock::Capture`]; `None` under the TSC
    /// or when the driver stamped nothing (the packet then takes the current
    /// time).
    #[inline(always)]
    pub fn capture_time(&self, m: &Mbuf) -> Option<u64> {
        match self {
            Clock::Tsc => None,
            Clock::Capture(ts) => ts.read(m),
        }
    }

    /// Whether time comes from the packets.
    #[inline(always)]
    pub fn is_capture(&self) -> bool {
        matches!(self, Clock::Capture(_))
    }
}

impl Plan {
    /// The stats layout matching this plan.
    pub fn layout(&self) -> BoardLayout {
        let mut legs: Vec<usize> = self.streams.iter().map(|s| s.merge.legs).collect();
        legs.extend(std::iter::repeat_n(
            crate::merge::MAX_LEGS,
            self.reload_slots,
        ));
        BoardLayout::with_lanes(
            self.inputs.len(),
            self.rx_lanes,
            self.shards.workers(),
            &legs,
        )
    }

    /// The merge engine for this plan's streams: every slot table is
    /// allocated here, before the loop starts, so the loop never allocates.
    /// With more than one merge worker, use [`Plan::engine_of`].
    pub fn engine(&self) -> Result<Engine<Mbuf>, String> {
        self.engine_of(0)
    }

    /// Merge worker `w`'s engine: its own streams only (engine index `i` is
    /// the stream `self.shards.members(w)[i]`), so no slot table is shared
    /// or duplicated between workers.
    pub fn engine_of(&self, w: usize) -> Result<Engine<Mbuf>, String> {
        let configs: Vec<MergeConfig> = self
            .shards
            .members(w)
            .iter()
            .map(|&s| self.streams[s as usize].merge)
            .collect();
        Engine::new(&configs)
    }
}

/// A merge event on its way to the main lcore's log.
#[derive(Clone, Copy, Debug)]
pub struct StreamEvent {
    /// Stream index.
    pub stream: usize,
    /// What happened (time in TSC ticks).
    pub event: Event,
    /// The stream's MoldUDP64 session as last sent (MoldUDP64 streams only),
    /// for the request and the gap lines.
    pub session: Option<[u8; 10]>,
}

/// Gap fill: a range the tx stage asks the request server for (the main
/// lcore sends the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillAsk {
    /// Stream index.
    pub stream: usize,
    /// MoldUDP64 session of the range.
    pub session: [u8; 10],
    /// First sequence number on the wire.
    pub seq: u64,
    /// Message count.
    pub count: u64,
    /// When the request was decided (TSC ticks), for the gap-fill latency.
    pub time: u64,
}

/// Gap fill: one retransmitted packet on its way to the tx stage, already
/// framed (headers and `FrameOffsets` set, checksums correct) and read.
#[derive(Debug)]
pub struct Refill {
    /// Stream index.
    pub stream: usize,
    /// Its sequence sample.
    pub sample: SeqSample,
    /// The frame.
    pub mbuf: Mbuf,
}

/// Capacity of each gap-fill queue.
pub const FILL_QUEUE: usize = 1024;

/// State shared between the main lcore and the workers at run time.
///
/// Why these and no more: the workers only ever read `stop` and
/// `publish_request` (relaxed loads, once per loop) and write the board and
/// the event queue (lock-free); nothing on the packet path waits for the
/// main lcore.
pub struct Shared {
    /// Set by the main lcore (signal, duration): workers drain and return.
    pub stop: AtomicBool,
    /// Bumped by the main lcore when it wants fresh counters; a worker
    /// publishes when this differs from what it last served.
    pub publish_request: AtomicU64,
    /// Counters published by the workers.
    pub board: Board,
    /// Where each counter is on `board`.
    pub layout: BoardLayout,
    /// Merge events for the log (bounded; overflow counted).
    pub events: ArrayQueue<StreamEvent>,
    /// Events that did not fit in `events`.
    pub events_lost: AtomicU64,
    /// Gap fill: ranges to ask for, tx stage -> main lcore (bounded; a
    /// request that does not fit is counted and its range times out).
    pub fill_asks: ArrayQueue<FillAsk>,
    /// Requests that did not fit in `fill_asks`.
    pub fill_asks_lost: AtomicU64,
    /// Gap fill: retransmissions, main lcore -> tx stage, one queue per
    /// merge worker (bounded; the main lcore frees what does not fit). Use
    /// [`Shared::push_refill`], which picks the stream's owner.
    pub refills: Vec<ArrayQueue<Refill>>,
    /// Which worker owns each stream (for [`Shared::push_refill`]).
    owner: Vec<u16>,
    /// Number of worker publications expected per request (1 with one
    /// lcore; rx lcores + tx lcore when split; the workers when sharded).
    pub publishers: usize,
    /// The tx stage's clock (ticks) at its last publication.
    ///
    /// Why: under `--clock capture` time is the packets' own, which only
    /// the worker sees; what the main lcore judges from a publication
    /// (stream health) happened at this time, not at the main lcore's.
    pub clock_now: AtomicU64,
}

impl Shared {
    /// Shared state for `plan` with `publishers` publishing lcores.
    pub fn new(plan: &Plan, publishers: usize) -> Self {
        let layout = plan.layout();
        Shared {
            stop: AtomicBool::new(false),
            publish_request: AtomicU64::new(0),
            board: layout.board(),
            layout,
            events: ArrayQueue::new(4096),
            events_lost: AtomicU64::new(0),
            fill_asks: ArrayQueue::new(FILL_QUEUE),
            fill_asks_lost: AtomicU64::new(0),
            refills: (0..plan.shards.workers())
                .map(|_| ArrayQueue::new(FILL_QUEUE))
                .collect(),
            owner: (0..plan.streams.len())
                .map(|s| plan.shards.owner(s as u32) as u16)
                .collect(),
            publishers: publishers.max(1),
            clock_now: AtomicU64::new(0),
        }
    }

    /// True once the main lcore asked the workers to stop.
    #[inline]
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Hands a gap-fill request to the main lcore (never blocks).
    pub fn push_fill_ask(&self, ask: FillAsk) {
        if self.fill_asks.push(ask).is_err() {
            self.fill_asks_lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hands a retransmission to the worker that owns its stream; gives it
    /// back when that queue is full (or the stream is unknown).
    pub fn push_refill(&self, r: Refill) -> Result<(), Refill> {
        let q = self
            .owner
            .get(r.stream)
            .and_then(|&w| self.refills.get(usize::from(w)));
        match q {
            Some(q) => q.push(r),
            None => Err(r),
        }
    }

    /// Frees every retransmission no worker took (after they stopped).
    pub fn drop_refills(&self) {
        for q in &self.refills {
            while q.pop().is_some() {}
        }
    }

    /// Hands an event to the main lcore (never blocks).
    pub fn push_event(&self, ev: StreamEvent) {
        if self.events.push(ev).is_err() {
            self.events_lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("stop", &self.stop)
            .field("board_words", &self.board.len())
            .finish()
    }
}
