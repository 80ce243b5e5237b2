//! Where each counter lives on the stats [`Board`], and its name.
//!
//! The worker lcores write plain counters into the board at the offsets
//! computed here; the main lcore reads them back by the same layout and
//! names them for the text block and `--stats-json`. One place defines both
//! sides so they cannot drift apart.

use crate::merge::{EvidenceFigures, LegCounters, StreamCounters};
use crate::stats::{concat_names, Board, LatencyHistogram, StreamResidence};
use crate::wire::DropReason;

crate::counter_group! {
    /// Per input port: what arrived and why some of it was not merged.
    pub struct RxCounters {
        /// Packets taken from the port.
        packets,
        /// Their bytes.
        bytes,
        /// Bursts that returned at least one packet.
        bursts,
        /// Valid UDP that belongs to no configured stream and leg.
        unknown_flow,
        /// Belongs to a stream but its sequence field could not be read.
        bad_seq,
        /// To a source-filtered leg's group from another sender (SSM):
        /// dropped before the merge.
        wrong_source,
        /// Chained (multi-segment) mbufs, which the merge does not handle.
        multi_segment,
        /// Judged packets the handoff to the lcore that merges them had no
        /// room for (split layout: the queue to the tx lcore; shard layout:
        /// the dispatch ring to the stream's owner); freed.
        handoff_full,
        /// Shard layout: judged packets passed to another worker, the
        /// owner of their stream (software dispatch).
        dispatched,
        /// Flow steering: judged packets of a stream another worker owns
        /// that reached this worker's rx queue (no rule matched them, e.g.
        /// a VLAN-tagged copy); freed.
        steer_miss,
        /// IGMP/MLD frames handed to the port's membership host.
        to_control,
        /// IGMP/MLD frames the ring to the membership host had no room
        /// for; freed.
        control_full,
    }
    extra {
        /// Dropped by the frame parser, per [`DropReason`] (board words
        /// after the counters, named by `DropReason::name`).
        drops: [u64; DropReason::COUNT],
    }
}

/// Board words of one input port: its counters, then its drops.
const RX_WORDS: usize = RxCounters::WORDS + DropReason::COUNT;

impl RxCounters {
    /// Every packet not handed to the merge engine.
    pub fn not_merged(&self) -> u64 {
        self.unknown_flow
            + self.bad_seq
            + self.wrong_source
            + self.multi_segment
            + self.handoff_full
            + self.steer_miss
            + self.to_control
            + self.control_full
            + self.drops.iter().sum::<u64>()
    }
}

crate::counter_group! {
    /// The transmit side.
    pub struct TxCounters {
        /// Packets the output port accepted.
        packets,
        /// Their bytes.
        bytes,
        /// Bursts handed to the port.
        bursts,
        /// Packets the port refused after the bounded retries; freed.
        nic_refused,
        /// Packets the header rewrite could not handle; freed.
        rewrite_errors,
        /// Packets received on the output port (drained and freed).
        output_rx_drained,
        /// Live reload: packets judged under the previous classifier for a
        /// stream the reload removed, reaching its worker after it stopped
        /// the stream; freed.
        unrouted,
    }
}

crate::counter_group! {
    /// A leg's board words besides the engine's [`LegCounters`]: its state
    /// and its learned evidence.
    pub struct LegStatus {
        /// 1 while the leg is up.
        up,
        /// Learned reorder depth (positions).
        reorder_depth,
        /// Learned lag behind the first copy (ns).
        lag_ns,
    }
}

crate::counter_group! {
    /// A stream's board words besides the engine's [`StreamCounters`]:
    /// what it holds and its learned inter-leg skew over the recent samples
    /// (how long after a packet's first copy another leg's copy came), in ns.
    pub struct StreamStatus {
        /// Copies held in the slot tables.
        held,
        /// Skew samples behind the figures (0: no evidence yet).
        skew_samples,
        /// Smallest recent skew.
        skew_min_ns,
        /// Median recent skew.
        skew_p50_ns,
        /// 99th percentile of the recent skew.
        skew_p99_ns,
        /// Largest recent skew.
        skew_max_ns,
        /// Smoothed change between consecutive skew samples.
        skew_jitter_ns,
    }
}

crate::counter_group! {
    /// A stream's residence time (rx burst of the copy sent to the tx
    /// burst that sent it) from its own [`StreamResidence`] histogram, in
    /// ns: the worker reads the quantiles as it publishes, so the board
    /// holds five words per stream rather than the buckets.
    pub struct ResidenceStatus {
        /// Packets behind the figures (sent since the stream started).
        residence_count,
        /// Median residence.
        residence_p50_ns,
        /// 99th percentile.
        residence_p99_ns,
        /// 99.9th percentile.
        residence_p999_ns,
        /// Largest residence (exact).
        residence_max_ns,
    }
}

impl ResidenceStatus {
    /// The figures of histogram `h`.
    pub fn of(h: &StreamResidence) -> Self {
        let [p50, p99, p999] = h.quantiles([0.5, 0.99, 0.999]);
        ResidenceStatus {
            residence_count: h.count(),
            residence_p50_ns: p50,
            residence_p99_ns: p99,
            residence_p999_ns: p999,
            residence_max_ns: h.max(),
        }
    }
}

/// Names of a leg's words, in board order.
pub const LEG_NAMES: [&str; LegStatus::WORDS + LegCounters::WORDS] =
    concat_names(&[&LegStatus::NAMES, &LegCounters::NAMES]);

/// Names of a stream's own words, in board order (legs follow).
pub const STREAM_NAMES: [&str;
    StreamCounters::WORDS + StreamStatus::WORDS + ResidenceStatus::WORDS] = concat_names(&[
    &StreamCounters::NAMES,
    &StreamStatus::NAMES,
    &ResidenceStatus::NAMES,
]);

/// Offsets of every counter group on the board.
///
/// Each merge worker has its own transmit counters and residence
/// histogram (one slot per worker: sharded workers never write the same
/// word); readers sum them ([`BoardLayout::get_tx`]) or take one worker's
/// ([`BoardLayout::get_tx_of`]).
#[derive(Clone, Debug)]
pub struct BoardLayout {
    inputs: usize,
    /// Rx counter slots per input: one per rx queue polled (flow
    /// steering: one per worker), each written by one lcore only.
    lanes: usize,
    legs: Vec<usize>,
    stream_at: Vec<usize>,
    rx_at: usize,
    tx_at: usize,
    hist_at: usize,
    workers: usize,
    len: usize,
}

/// Board words of one worker's transmit side: counters, then histogram.
const WORKER_WORDS: usize = TxCounters::WORDS + LatencyHistogram::WORDS;

/// One stream's figures as read back from the board.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamFigures {
    /// Words named by [`STREAM_NAMES`].
    pub stream: Vec<u64>,
    /// Per leg, words named by [`LEG_NAMES`].
    pub legs: Vec<Vec<u64>>,
}

impl StreamFigures {
    /// The engine's counters, legs included.
    pub fn counters(&self) -> StreamCounters {
        let mut c = StreamCounters::from_words(&self.stream);
        for (l, w) in self.legs.iter().enumerate().take(c.legs.len()) {
            c.legs[l] = LegCounters::from_words(w.get(LegStatus::WORDS..).unwrap_or(&[]));
        }
        c
    }

    /// What the stream holds and its learned skew.
    pub fn status(&self) -> StreamStatus {
        StreamStatus::from_words(self.stream.get(StreamCounters::WORDS..).unwrap_or(&[]))
    }

    /// Its residence figures.
    pub fn residence(&self) -> ResidenceStatus {
        ResidenceStatus::from_words(
            self.stream
                .get(StreamCounters::WORDS + StreamStatus::WORDS..)
                .unwrap_or(&[]),
        )
    }

    /// Leg `l`'s state and evidence (defaults for a leg it does not have).
    pub fn leg_status(&self, l: usize) -> LegStatus {
        self.legs
            .get(l)
            .map_or_else(LegStatus::default, |w| LegStatus::from_words(w))
    }
}

impl BoardLayout {
    /// A layout for `inputs` input ports, `workers` merge workers (at least
    /// one) and streams with `legs[i]` legs.
    pub fn new(inputs: usize, workers: usize, legs: &[usize]) -> Self {
        Self::with_lanes(inputs, 1, workers, legs)
    }

    /// As [`BoardLayout::new`], with `lanes` rx counter slots per input
    /// (at least one): one per rx queue when each worker polls its own
    /// queue of every input (flow steering).
    pub fn with_lanes(inputs: usize, lanes: usize, workers: usize, legs: &[usize]) -> Self {
        let workers = workers.max(1);
        let lanes = lanes.max(1);
        let rx_at = 0;
        let tx_at = rx_at + inputs * lanes * RX_WORDS;
        let hist_at = tx_at + TxCounters::WORDS;
        let mut at = tx_at + workers * WORKER_WORDS;
        let mut stream_at = Vec::with_capacity(legs.len());
        for &n in legs {
            stream_at.push(at);
            at += STREAM_NAMES.len() + n * LEG_NAMES.len();
        }
        BoardLayout {
            inputs,
            lanes,
            legs: legs.to_vec(),
            stream_at,
            rx_at,
            tx_at,
            hist_at,
            workers,
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

    /// Legs stream slot `s` holds (0 if out of range).
    pub fn legs(&self, s: usize) -> usize {
        self.legs.get(s).copied().unwrap_or(0)
    }

    /// Rx counter slots per input (rx queues polled per input).
    pub fn lanes(&self) -> usize {
        self.lanes
    }

    /// Publishes input port `i`'s counters as lane `lane` (the rx queue)
    /// counted them.
    pub fn put_rx(&self, board: &Board, (i, lane): (usize, usize), c: &RxCounters) {
        if i >= self.inputs || lane >= self.lanes {
            return;
        }
        let mut w = [0u64; RX_WORDS];
        w[..RxCounters::WORDS].copy_from_slice(&c.to_words());
        w[RxCounters::WORDS..].copy_from_slice(&c.drops);
        board.publish(self.rx_at + (i * self.lanes + lane) * RX_WORDS, &w);
    }

    /// Reads the counters of input port `i`'s rx queue `lane`.
    pub fn get_rx_lane(&self, board: &Board, i: usize, lane: usize) -> RxCounters {
        let mut w = [0u64; RX_WORDS];
        if i < self.inputs && lane < self.lanes {
            board.read(self.rx_at + (i * self.lanes + lane) * RX_WORDS, &mut w);
        }
        let mut c = RxCounters::from_words(&w);
        c.drops.copy_from_slice(&w[RxCounters::WORDS..]);
        c
    }

    /// Reads input port `i`'s counters, summed over its rx queues.
    pub fn get_rx(&self, board: &Board, i: usize) -> RxCounters {
        let mut sum = [0u64; RX_WORDS];
        for lane in 0..self.lanes {
            let c = self.get_rx_lane(board, i, lane);
            let words = c.to_words();
            for (s, v) in sum.iter_mut().zip(words.iter().chain(&c.drops)) {
                *s += v;
            }
        }
        let mut c = RxCounters::from_words(&sum);
        c.drops.copy_from_slice(&sum[RxCounters::WORDS..]);
        c
    }

    /// Number of merge workers (transmit slots).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Publishes worker `w`'s transmit counters.
    pub fn put_tx(&self, board: &Board, w: usize, c: &TxCounters) {
        if w < self.workers {
            board.publish(self.tx_at + w * WORKER_WORDS, &c.to_words());
        }
    }

    /// Reads worker `w`'s transmit counters.
    pub fn get_tx_of(&self, board: &Board, w: usize) -> TxCounters {
        let mut words = [0u64; TxCounters::WORDS];
        if w < self.workers {
            board.read(self.tx_at + w * WORKER_WORDS, &mut words);
        }
        TxCounters::from_words(&words)
    }

    /// Reads the transmit counters, summed over the workers.
    pub fn get_tx(&self, board: &Board) -> TxCounters {
        let mut sum = [0u64; TxCounters::WORDS];
        for w in 0..self.workers {
            for (s, v) in sum.iter_mut().zip(self.get_tx_of(board, w).to_words()) {
                *s += v;
            }
        }
        TxCounters::from_words(&sum)
    }

    /// Publishes worker `w`'s residence-time histogram (`scratch` must
    /// hold [`LatencyHistogram::WORDS`] words; passed in so publishing does
    /// not allocate).
    pub fn put_latency(&self, board: &Board, w: usize, h: &LatencyHistogram, scratch: &mut [u64]) {
        if w >= self.workers {
            return;
        }
        h.to_words(scratch);
        board.publish(
            self.hist_at + w * WORKER_WORDS,
            &scratch[..LatencyHistogram::WORDS.min(scratch.len())],
        );
    }

    /// Reads worker `w`'s residence-time histogram.
    pub fn get_latency_of(&self, board: &Board, w: usize) -> LatencyHistogram {
        let mut words = vec![0u64; LatencyHistogram::WORDS];
        if w < self.workers {
            board.read(self.hist_at + w * WORKER_WORDS, &mut words);
        }
        LatencyHistogram::from_words(&words)
    }

    /// Reads the residence-time histogram of every worker together.
    pub fn get_latency(&self, board: &Board) -> LatencyHistogram {
        let mut h = self.get_latency_of(board, 0);
        for w in 1..self.workers {
            h.merge(&self.get_latency_of(board, w));
        }
        h
    }

    /// Publishes stream `s`'s counters, evidence and residence; `up[l]`
    /// tells whether leg `l` is up, `ns` converts the engine's ticks to
    /// nanoseconds.
    pub fn put_stream(
        &self,
        board: &Board,
        s: usize,
        (c, ev, residence): (&StreamCounters, &EvidenceFigures, &StreamResidence),
        held: usize,
        up: impl Fn(usize) -> bool,
        ns: impl Fn(u64) -> u64,
    ) {
        let Some(&at) = self.stream_at.get(s) else {
            return;
        };
        let status = StreamStatus {
            held: held as u64,
            skew_samples: ev.skew_samples,
            skew_min_ns: ns(ev.skew_min),
            skew_p50_ns: ns(ev.skew_p50),
            skew_p99_ns: ns(ev.skew_p99),
            skew_max_ns: ns(ev.skew_max),
            skew_jitter_ns: ns(ev.jitter),
        };
        board.publish(at, &c.to_words());
        board.publish(at + StreamCounters::WORDS, &status.to_words());
        board.publish(
            at + StreamCounters::WORDS + StreamStatus::WORDS,
            &ResidenceStatus::of(residence).to_words(),
        );
        let mut at = at + STREAM_NAMES.len();
        for (l, leg) in c.legs.iter().enumerate().take(self.legs[s]) {
            let status = LegStatus {
                up: u64::from(up(l)),
                reorder_depth: ev.depth[l],
                lag_ns: ns(ev.lag[l]),
            };
            board.publish(at, &status.to_words());
            board.publish(at + LegStatus::WORDS, &leg.to_words());
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
    fn each_rx_queue_has_its_own_slot_and_an_input_reads_their_sum() {
        let layout = BoardLayout::with_lanes(2, 2, 2, &[2]);
        let board = layout.board();
        let mut a = RxCounters {
            packets: 5,
            steer_miss: 1,
            ..Default::default()
        };
        a.drops[0] = 2;
        let b = RxCounters {
            packets: 7,
            ..Default::default()
        };
        layout.put_rx(&board, (1, 0), &a);
        layout.put_rx(&board, (1, 1), &b);
        assert_eq!(layout.get_rx_lane(&board, 1, 0), a);
        assert_eq!(layout.get_rx_lane(&board, 1, 1), b);
        let sum = layout.get_rx(&board, 1);
        assert_eq!((sum.packets, sum.steer_miss, sum.drops[0]), (12, 1, 2));
        assert_eq!(layout.get_rx(&board, 0), RxCounters::default());
        // Out of range: ignored, reads zero.
        layout.put_rx(&board, (1, 2), &a);
        assert_eq!(layout.get_rx_lane(&board, 1, 2), RxCounters::default());
        assert_eq!(layout.get_rx(&board, 1).packets, 12);
    }

    #[test]
    fn roundtrip_every_group() {
        let layout = BoardLayout::new(2, 1, &[2, 3]);
        let board = layout.board();
        let mut rx = RxCounters {
            packets: 5,
            bytes: 500,
            unknown_flow: 1,
            wrong_source: 2,
            ..Default::default()
        };
        rx.drops[DropReason::COUNT - 1] = 7;
        layout.put_rx(&board, (1, 0), &rx);
        assert_eq!(layout.get_rx(&board, 1), rx);
        assert_eq!(layout.get_rx(&board, 0), RxCounters::default());
        assert_eq!(rx.not_merged(), 10);

        let tx = TxCounters {
            packets: 3,
            nic_refused: 2,
            output_rx_drained: 9,
            ..Default::default()
        };
        layout.put_tx(&board, 0, &tx);
        assert_eq!(layout.get_tx(&board), tx);

        let mut h = LatencyHistogram::new();
        h.record(1234);
        let mut scratch = vec![0; LatencyHistogram::WORDS];
        layout.put_latency(&board, 0, &h, &mut scratch);
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
        let mut res = StreamResidence::new();
        // Bucket edges (4 a power of two), so the quantiles are exact.
        for v in [1_024, 2_048, 3_072, 393_216] {
            res.record(v);
        }
        layout.put_stream(&board, 1, (&c, &ev, &res), 6, |l| l != 1, |t| t * 1000);
        let f = layout.get_stream(&board, 1);
        assert_eq!(f.counters(), c);
        assert_eq!(f.status().held, 6);
        let r = f.residence();
        assert_eq!((r.residence_count, r.residence_max_ns), (4, 393_216));
        assert_eq!(r.residence_p50_ns, 2_048);
        assert_eq!(r.residence_p99_ns, 393_216);
        assert_eq!(r, ResidenceStatus::of(&res));
        assert_eq!(f.legs.len(), 3);
        assert_eq!(f.leg_status(1).up, 0, "leg 1 down");
        assert_eq!(f.leg_status(2).up, 1, "leg 2 up");
        assert_eq!(f.counters().legs[2].used, 4, "leg 2 used");
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

    #[test]
    fn each_worker_has_its_own_tx_slot_and_readers_sum_them() {
        let layout = BoardLayout::new(1, 3, &[2]);
        let board = layout.board();
        let mut scratch = vec![0; LatencyHistogram::WORDS];
        for w in 0..3u64 {
            let tx = TxCounters {
                packets: 10 * (w + 1),
                bytes: 100,
                ..Default::default()
            };
            layout.put_tx(&board, w as usize, &tx);
            let mut h = LatencyHistogram::new();
            for _ in 0..=w {
                h.record(1000 * (w + 1));
            }
            layout.put_latency(&board, w as usize, &h, &mut scratch);
        }
        assert_eq!(layout.get_tx_of(&board, 1).packets, 20);
        assert_eq!(layout.get_tx(&board).packets, 60);
        assert_eq!(layout.get_tx(&board).bytes, 300);
        assert_eq!(layout.get_latency_of(&board, 2).count(), 3);
        assert_eq!(layout.get_latency(&board).count(), 6);
        // A worker beyond the layout writes nothing and reads zeros.
        layout.put_tx(
            &board,
            3,
            &TxCounters {
                packets: 7,
                ..Default::default()
            },
        );
        assert_eq!(layout.get_tx(&board).packets, 60);
        assert_eq!(layout.get_tx_of(&board, 3), TxCounters::default());
        // The stream after the worker slots is untouched by them.
        assert_eq!(
            layout.get_stream(&board, 0).stream,
            vec![0; STREAM_NAMES.len()]
        );
    }
}
