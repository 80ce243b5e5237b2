//! Where each counter lives on the stats [`Board`], and its name.
//!
//! The worker lcores write plain counters into the board at the offsets
//! computed here; the main lcore reads them back by the same layout and
//! names them for the text block and `--stats-json`. One place defines both
//! sides so they cannot drift apart.

use crate::merge::{EvidenceFigures, LegCounters, StreamCounters};
use crate::stats::{Board, LatencyHistogram};
use crate::wire::DropReason;

/// Per input port: what arrived and why some of it was not merged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Packets taken from the port.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bursts that returned at least one packet.
    pub bursts: u64,
    /// Valid UDP that belongs to no configured stream and leg.
    pub unknown_flow: u64,
    /// Belongs to a stream but its sequence field could not be read.
    pub bad_seq: u64,
    /// To a source-filtered leg's group from another sender (SSM): dropped
    /// before the merge.
    pub wrong_source: u64,
    /// Chained (multi-segment) mbufs, which the merge does not handle.
    pub multi_segment: u64,
    /// Split layout only: judged packets the handoff queue to the tx lcore
    /// had no room for; freed.
    pub handoff_full: u64,
    /// IGMP/MLD frames handed to the port's membership host.
    pub to_control: u64,
    /// IGMP/MLD frames the ring to the membership host had no room for; freed.
    pub control_full: u64,
    /// Dropped by the frame parser, per [`DropReason`].
    pub drops: [u64; DropReason::COUNT],
}

impl RxCounters {
    /// Names of the scalar words, in board order (drops follow).
    pub const SCALARS: [&'static str; 10] = [
        "packets",
        "bytes",
        "bursts",
        "unknown_flow",
        "bad_seq",
        "wrong_source",
        "multi_segment",
        "handoff_full",
        "to_control",
        "control_full",
    ];
    /// Words on the board.
    pub const WORDS: usize = Self::SCALARS.len() + DropReason::COUNT;

    fn write(&self, out: &mut [u64]) {
        let s = [
            self.packets,
            self.bytes,
            self.bursts,
            self.unknown_flow,
            self.bad_seq,
            self.wrong_source,
            self.multi_segment,
            self.handoff_full,
            self.to_control,
            self.control_full,
        ];
        out[..s.len()].copy_from_slice(&s);
        out[s.len()..Self::WORDS].copy_from_slice(&self.drops);
    }

    /// Rebuilds counters from board words.
    pub fn read(words: &[u64]) -> Self {
        let mut c = RxCounters {
            packets: words[0],
            bytes: words[1],
            bursts: words[2],
            unknown_flow: words[3],
            bad_seq: words[4],
            wrong_source: words[5],
            multi_segment: words[6],
            handoff_full: words[7],
            to_control: words[8],
            control_full: words[9],
            ..Default::default()
        };
        c.drops
            .copy_from_slice(&words[Self::SCALARS.len()..Self::WORDS]);
        c
    }

    /// Every packet not handed to the merge engine.
    pub fn not_merged(&self) -> u64 {
        self.unknown_flow
            + self.bad_seq
            + self.wrong_source
            + self.multi_segment
            + self.handoff_full
            + self.to_control
            + self.control_full
            + self.drops.iter().sum::<u64>()
    }
}

/// The transmit side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxCounters {
    /// Packets the output port accepted.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bursts handed to the port.
    pub bursts: u64,
    /// Packets the port refused after the bounded retries; freed.
    pub nic_refused: u64,
    /// Packets the header rewrite could not handle; freed.
    pub rewrite_errors: u64,
    /// Packets received on the output port (drained and freed).
    pub output_rx_drained: u64,
}

impl TxCounters {
    /// Names of the words, in board order.
    pub const NAMES: [&'static str; 6] = [
        "packets",
        "bytes",
        "bursts",
        "nic_refused",
        "rewrite_errors",
        "output_rx_drained",
    ];
    /// Words on the board.
    pub const WORDS: usize = Self::NAMES.len();

    fn write(&self, out: &mut [u64]) {
        out[..Self::WORDS].copy_from_slice(&[
            self.packets,
            self.bytes,
            self.bursts,
            self.nic_refused,
            self.rewrite_errors,
            self.output_rx_drained,
        ]);
    }

    /// Rebuilds counters from board words.
    pub fn read(w: &[u64]) -> Self {
        TxCounters {
            packets: w[0],
            bytes: w[1],
            bursts: w[2],
            nic_refused: w[3],
            rewrite_errors: w[4],
            output_rx_drained: w[5],
        }
    }
}

/// Names of a leg's words, in board order (the last two are the learned
/// evidence: reorder depth in positions, lag behind the first copy in ns).
pub const LEG_NAMES: [&str; 15] = [
    "up",
    "received",
    "good",
    "corrupt",
    "used",
    "duplicates",
    "late",
    "corrupt_dropped",
    "out_of_order",
    "wild",
    "stale",
    "heartbeats",
    "invalid",
    "reorder_depth",
    "lag_ns",
];

/// Names of a stream's own words, in board order (legs follow). The
/// `skew_*` words are the learned inter-leg skew over the recent samples
/// (how long after a packet's first copy another leg's copy came), in ns.
pub const STREAM_NAMES: [&str; 15] = [
    "sent",
    "substituted",
    "unrecoverable",
    "gaps",
    "switches",
    "restarts",
    "overruns",
    "held",
    "lost_early",
    "skew_samples",
    "skew_min_ns",
    "skew_p50_ns",
    "skew_p99_ns",
    "skew_max_ns",
    "skew_jitter_ns",
];

fn leg_words(up: bool, c: &LegCounters, depth: u64, lag_ns: u64) -> [u64; LEG_NAMES.len()] {
    [
        up as u64,
        c.received,
        c.good,
        c.corrupt,
        c.used,
        c.duplicates,
        c.late,
        c.corrupt_dropped,
        c.out_of_order,
        c.wild,
        c.stale,
        c.heartbeats,
        c.invalid,
        depth,
        lag_ns,
    ]
}

/// Offsets of every counter group on the board.
#[derive(Clone, Debug)]
pub struct Layout {
    inputs: usize,
    legs: Vec<usize>,
    stream_at: Vec<usize>,
    rx_at: usize,
    tx_at: usize,
    hist_at: usize,
    len: usize,
}

/// One stream's figures as read back from the board.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamFigures {
    /// Words named by [`STREAM_NAMES`].
    pub stream: Vec<u64>,
    /// Per leg, words named by [`LEG_NAMES`].
    pub legs: Vec<Vec<u64>>,
}

impl Layout {
    /// A layout for `inputs` input ports and streams with `legs[i]` legs.
    pub fn new(inputs: usize, legs: &[usize]) -> Self {
        let rx_at = 0;
        let tx_at = rx_at + inputs * RxCounters::WORDS;
        let hist_at = tx_at + TxCounters::WORDS;
        let mut at = hist_at + LatencyHistogram::WORDS;
        let mut stream_at = Vec::with_capacity(legs.len());
        for &n in legs {
            stream_at.push(at);
            at += STREAM_NAMES.len() + n * LEG_NAMES.len();
        }
        Layout {
            inputs,
            legs: legs.to_vec(),
            stream_at,
            rx_at,
            tx_at,
            hist_at,
            len: at,
        }
    }

    /// Words the board needs.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a layout with nothing in it.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A board sized for this layout.
    pub fn board(&self) -> Board {
        Board::new(self.len)
    }

    /// Number of streams.
    pub fn streams(&self) -> usize {
        self.stream_at.len()
    }

    /// Publishes input port `i`'s counters.
    pub fn put_rx(&self, board: &Board, i: usize, c: &RxCounters) {
        if i >= self.inputs {
            return;
        }
        let mut w = [0u64; RxCounters::WORDS];
        c.write(&mut w);
        board.publish(self.rx_at + i * RxCounters::WORDS, &w);
    }

    /// Reads input port `i`'s counters.
    pub fn get_rx(&self, board: &Board, i: usize) -> RxCounters {
        let mut w = [0u64; RxCounters::WORDS];
        board.read(self.rx_at + i * RxCounters::WORDS, &mut w);
        RxCounters::read(&w)
    }

    /// Publishes the transmit counters.
    pub fn put_tx(&self, board: &Board, c: &TxCounters) {
        let mut w = [0u64; TxCounters::WORDS];
        c.write(&mut w);
        board.publish(self.tx_at, &w);
    }

    /// Reads the transmit counters.
    pub fn get_tx(&self, board: &Board) -> TxCounters {
        let mut w = [0u64; TxCounters::WORDS];
        board.read(self.tx_at, &mut w);
        TxCounters::read(&w)
    }

    /// Publishes the residence-time histogram (`scratch` must hold
    /// [`LatencyHistogram::WORDS`] words; passed in so publishing does not
    /// allocate).
    pub fn put_latency(&self, board: &Board, h: &LatencyHistogram, scratch: &mut [u64]) {
        h.to_words(scratch);
        board.publish(
            self.hist_at,
            &scratch[..LatencyHistogram::WORDS.min(scratch.len())],
        );
    }

    /// Reads the residence-time histogram.
    pub fn get_latency(&self, board: &Board) -> LatencyHistogram {
        let mut w = vec![0u64; LatencyHistogram::WORDS];
        board.read(self.hist_at, &mut w);
        LatencyHistogram::from_words(&w)
    }

    /// Publishes stream `s`'s counters and evidence; `up[l]` tells whether
    /// leg `l` is up, `ns` converts the engine's ticks to nanoseconds.
    pub fn put_stream(
        &self,
        board: &Board,
        s: usize,
        (c, ev): (&StreamCounters, &EvidenceFigures),
        held: usize,
        up: impl Fn(usize) -> bool,
        ns: impl Fn(u64) -> u64,
    ) {
        let Some(&at) = self.stream_at.get(s) else {
            return;
        };
        board.publish(
            at,
            &[
                c.sent,
                c.substituted,
                c.unrecoverable,
                c.gaps,
                c.switches,
                c.restarts,
                c.overruns,
                held as u64,
                c.lost_early,
                ev.skew_samples,
                ns(ev.skew_min),
                ns(ev.skew_p50),
                ns(ev.skew_p99),
                ns(ev.skew_max),
                ns(ev.jitter),
            ],
        );
        let mut at = at + STREAM_NAMES.len();
        for (l, leg) in c.legs.iter().enumerate().take(self.legs[s]) {
            board.publish(at, &leg_words(up(l), leg, ev.depth[l], ns(ev.lag[l])));
            at += LEG_NAMES.len();
        }
    }

    /// Reads stream `s`'s figures.
    pub fn get_stream(&self, board: &Board, s: usize) -> StreamFigures {
        let Some(&at) = self.stream_at.get(s) else {
            return StreamFigures::default();
        };
        let mut stream = vec![0; STREAM_NAMES.len()];
        board.read(at, &mut stream);
        let mut legs = Vec::with_capacity(self.legs[s]);
        let mut at = at + STREAM_NAMES.len();
        for _ in 0..self.legs[s] {
            let mut w = vec![0; LEG_NAMES.len()];
            board.read(at, &mut w);
            legs.push(w);
            at += LEG_NAMES.len();
        }
        StreamFigures { stream, legs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_every_group() {
        let layout = Layout::new(2, &[2, 3]);
        let board = layout.board();
        let mut rx = RxCounters {
            packets: 5,
            bytes: 500,
            unknown_flow: 1,
            wrong_source: 2,
            ..Default::default()
        };
        rx.drops[DropReason::COUNT - 1] = 7;
        layout.put_rx(&board, 1, &rx);
        assert_eq!(layout.get_rx(&board, 1), rx);
        assert_eq!(layout.get_rx(&board, 0), RxCounters::default());
        assert_eq!(rx.not_merged(), 10);

        let tx = TxCounters {
            packets: 3,
            nic_refused: 2,
            output_rx_drained: 9,
            ..Default::default()
        };
        layout.put_tx(&board, &tx);
        assert_eq!(layout.get_tx(&board), tx);

        let mut h = LatencyHistogram::new();
        h.record(1234);
        let mut scratch = vec![0; LatencyHistogram::WORDS];
        layout.put_latency(&board, &h, &mut scratch);
        assert_eq!(layout.get_latency(&board).count(), 1);

        let mut c = StreamCounters {
            sent: 10,
            ..Default::default()
        };
        c.legs[2].used = 4;
        let mut ev = EvidenceFigures {
            skew_p99: 21,
            ..Default::default()
        };
        ev.depth[2] = 3;
        ev.lag[1] = 5;
        layout.put_stream(&board, 1, (&c, &ev), 6, |l| l != 1, |t| t * 1000);
        let f = layout.get_stream(&board, 1);
        assert_eq!(f.stream[0], 10);
        assert_eq!(f.stream[7], 6);
        assert_eq!(f.legs.len(), 3);
        assert_eq!(f.legs[1][0], 0, "leg 1 down");
        assert_eq!(f.legs[2][0], 1, "leg 2 up");
        assert_eq!(f.legs[2][4], 4, "leg 2 used");
        let name = |n: &str| STREAM_NAMES.iter().position(|x| *x == n).unwrap();
        let leg = |n: &str| LEG_NAMES.iter().position(|x| *x == n).unwrap();
        assert_eq!(f.stream[name("skew_p99_ns")], 21_000);
        assert_eq!(f.legs[2][leg("reorder_depth")], 3);
        assert_eq!(f.legs[1][leg("lag_ns")], 5_000);
        // Stream 0 untouched by stream 1's publication.
        assert_eq!(
            layout.get_stream(&board, 0).stream,
            vec![0; STREAM_NAMES.len()]
        );
    }
}
