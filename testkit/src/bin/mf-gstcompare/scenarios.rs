//! The head-to-head scenarios as data: what the source emits, what
//! each leg carries (delay, loss, order), and therefore which packets a
//! perfect merger must output, in which order.
//!
//! Model: a source emits packets `i = 0..N` every `1/rate` seconds; each
//! packet has an SSRC, an RTP sequence number and timestamp. A leg carries
//! a subset of them (its losses), in an order (its reordering: transmit
//! slot `j` carries packet `order[j]`), shifted by the leg's path delay
//! (its skew). The expected output is every packet present on at least one
//! leg, in source order.

use std::net::Ipv4Addr;

use testkit::frame::{build_udp_frame, payload_pattern, push_rtp_header, FrameSpec, RtpFields};
use testkit::rng::XorShift64;

/// UDP destination port of the primary leg of scenario slot 0; slot `s`
/// uses `LEG_PORT_BASE + 2s` (primary) and `LEG_PORT_BASE + 2s + 1`
/// (secondary). Every leg has its own port because GStreamer's `udpsrc`
/// binds the wildcard address: two udpsrc on one port would each receive
/// every group joined on that port, i.e. both legs.
pub const LEG_PORT_BASE: u16 = 5000;
/// RTP clock of MPEG-TS (RFC 2250 / RFC 3551 payload type 33).
pub const RTP_CLOCK_HZ: f64 = 90_000.0;
/// RTP payload type: MP2T.
pub const RTP_PT: u8 = 33;
/// 7 transport-stream packets of 188 bytes: the usual RTP/MPEG-TS payload.
pub const TS_PAYLOAD_LEN: usize = 7 * 188;
/// Quiet time between two scenarios on the shared replay timeline, so each
/// starts on an idle stream.
pub const GAP_NS: u64 = 300_000_000;

/// Which weakness a scenario exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Control: both legs complete, 1 ms apart. Both engines must be perfect.
    Baseline,
    /// Secondary 35 ms late; primary loses two bursts and 1 % at random.
    Skew,
    /// First half: primary reordered (<= 5 positions), secondary lossy;
    /// second half: the other way round. Never lost on both legs.
    Reorder,
    /// The source restarts mid-stream (new SSRC, sequence and timestamp
    /// base); the secondary runs 10 ms late, so it restarts 10 ms later.
    Restart,
    /// Independent random loss of 2 % on each leg (secondary 1 ms behind).
    Loss2,
    /// 0.5 % of the packets lost on both legs (plus nothing else).
    Common,
    /// One burst of 40 consecutive packets lost on the primary.
    Burst40,
    /// One leg (the primary) reordered by up to 5 positions, no loss.
    Reorder5,
    /// The secondary 35 ms behind; the primary loses 1 % at random, so
    /// those packets need the lagging copy.
    Lag35,
}

impl Kind {
    /// Every scenario, in the order the replay plays them.
    pub const ALL: [Kind; 9] = [
        Kind::Baseline,
        Kind::Skew,
        Kind::Reorder,
        Kind::Restart,
        Kind::Loss2,
        Kind::Common,
        Kind::Burst40,
        Kind::Reorder5,
        Kind::Lag35,
    ];

    /// Name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::Skew => "skew",
            Kind::Reorder => "reorder",
            Kind::Restart => "restart",
            Kind::Loss2 => "loss2",
            Kind::Common => "common",
            Kind::Burst40 => "burst40",
            Kind::Reorder5 => "reorder5",
            Kind::Lag35 => "lag35",
        }
    }

    /// Names of every scenario, for messages.
    pub fn names() -> String {
        Kind::ALL.map(Kind::name).join(", ")
    }

    /// Inverse of [`Kind::name`].
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Position in [`Kind::ALL`]: fixes the scenario's groups and output
    /// port whatever subset is played, so a run of one scenario and a run
    /// of all of them use the same addresses.
    pub fn slot(self) -> usize {
        Kind::ALL.iter().position(|&k| k == self).unwrap_or(0)
    }
}

/// Parameters shared by the generator and the judge: both must derive the
/// same scenarios from them.
#[derive(Debug, Clone)]
pub struct Params {
    /// Packets per second of the source (each leg).
    pub rate_pps: f64,
    /// Packets the source emits per scenario.
    pub packets: usize,
    /// Scenarios to play, in this order.
    pub kinds: Vec<Kind>,
    /// Seed of the loss and reorder patterns.
    pub seed: u64,
    /// Source address of the primary leg.
    pub primary_src: Ipv4Addr,
    /// Source address of the secondary leg.
    pub secondary_src: Ipv4Addr,
}

/// The defaults `mf-gstcompare --help` documents: 2000 pps, 2000 packets, every scenario,
/// seed 1, and the comparison topology's source addresses.
impl Default for Params {
    fn default() -> Self {
        Params {
            rate_pps: 2000.0,
            packets: 2000,
            kinds: Kind::ALL.to_vec(),
            seed: 1,
            primary_src: Ipv4Addr::new(192, 168, 201, 1),
            secondary_src: Ipv4Addr::new(192, 168, 202, 1),
        }
    }
}

/// Which copy a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The preferred copy (DPDK port 0 / srcA).
    Primary,
    /// The backup copy (DPDK port 1 / srcB).
    Secondary,
}

/// One packet as the source emitted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourcePacket {
    /// RTP SSRC.
    pub ssrc: u32,
    /// RTP sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub rtp_ts: u32,
}

/// One frame on one leg, at its replay time.
#[derive(Debug, Clone, Copy)]
pub struct WireFrame {
    /// Leg it travels on.
    pub leg: Leg,
    /// Time since the replay start, ns.
    pub t_ns: u64,
    /// Index of the source packet it carries.
    pub index: usize,
}

/// A scenario laid out on the replay timeline.
#[derive(Debug, Clone)]
pub struct Built {
    /// The scenario.
    pub kind: Kind,
    /// Multicast group of the primary leg.
    pub primary_group: Ipv4Addr,
    /// Multicast group of the secondary leg.
    pub secondary_group: Ipv4Addr,
    /// UDP destination port of the primary leg.
    pub primary_port: u16,
    /// UDP destination port of the secondary leg.
    pub secondary_port: u16,
    /// What the source emitted, in source order.
    pub source: Vec<SourcePacket>,
    /// Source indices present on at least one leg, ascending: the output
    /// a perfect merger produces.
    pub expected: Vec<usize>,
    /// First source index of the restarted source (Restart only).
    pub restart_at: Option<usize>,
    /// Frames of both legs.
    pub frames: Vec<WireFrame>,
    /// Replay time of the scenario's first frame, ns.
    pub start_ns: u64,
    /// Replay time just after its last frame, ns.
    pub end_ns: u64,
}

impl Built {
    /// Frames on `leg`.
    pub fn leg_frames(&self, leg: Leg) -> usize {
        self.frames.iter().filter(|f| f.leg == leg).count()
    }

    /// Header template of `leg`'s copies.
    pub fn spec(&self, leg: Leg, p: &Params) -> FrameSpec {
        let (src, group, port, byte) = match leg {
            Leg::Primary => (p.primary_src, self.primary_group, self.primary_port, 1),
            Leg::Secondary => (
                p.secondary_src,
                self.secondary_group,
                self.secondary_port,
                2,
            ),
        };
        let mut s = FrameSpec::multicast(src.into(), group.into(), port);
        s.src_mac = [0x02, 0, 0, 0, byte, 0x01];
        s
    }

    /// The UDP payload (RTP header + TS-like payload) of source packet `index`.
    pub fn udp_payload(&self, index: usize) -> Vec<u8> {
        let sp = self.source[index];
        let mut v = Vec::with_capacity(12 + TS_PAYLOAD_LEN);
        push_rtp_header(
            &mut v,
            &RtpFields {
                seq: sp.seq,
                timestamp: sp.rtp_ts,
                ssrc: sp.ssrc,
                pt: RTP_PT,
                marker: false,
            },
        );
        v.extend_from_slice(&ts_payload(sp.ssrc, sp.seq));
        v
    }

    /// The complete Ethernet frame of `f`.
    pub fn frame_bytes(&self, f: &WireFrame, p: &Params) -> Vec<u8> {
        let sp = self.source[f.index];
        build_udp_frame(&self.spec(f.leg, p), sp.seq, &self.udp_payload(f.index))
    }
}

/// MPEG-TS-like RTP payload of packet (`ssrc`, `seq`): 7 x 188-byte
/// packets, each with a sync byte 0x47, PID 0x100 and a continuity counter,
/// the rest a pattern keyed on (ssrc, seq), so a captured payload proves
/// which packet it is and that no byte changed.
pub fn ts_payload(ssrc: u32, seq: u16) -> Vec<u8> {
    let key = ((ssrc as u64) << 16) | seq as u64;
    let mut v = payload_pattern(key, TS_PAYLOAD_LEN);
    for j in 0..7 {
        let o = j * 188;
        let cc = (seq as usize * 7 + j) as u8 & 0x0f;
        v[o..o + 4].copy_from_slice(&[0x47, 0x01, 0x00, 0x10 | cc]);
    }
    v
}

/// Per-leg shape: path delay, lost source indices, transmit order.
struct LegShape {
    delay_ns: u64,
    lost: Vec<bool>,
    order: Vec<usize>,
}

impl LegShape {
    fn clean(n: usize, delay_ns: u64) -> Self {
        LegShape {
            delay_ns,
            lost: vec![false; n],
            order: (0..n).collect(),
        }
    }
}

/// Moves packets in `order[from..to]` later by 1..=5 positions (with
/// probability `percent` at each position); moves never overlap, so no
/// packet ends up more than 5 positions from its place.
fn reorder(order: &mut [usize], from: usize, to: usize, percent: f64, rng: &mut XorShift64) {
    let mut k = from;
    while k + 1 < to {
        if rng.chance(percent) {
            let d = 1 + rng.below(5) as usize;
            let end = (k + d).min(to - 1);
            order[k..=end].rotate_left(1);
            k = end + 1;
        } else {
            k += 1;
        }
    }
}

fn burst(lost: &mut [bool], at: usize, len: usize) {
    let end = (at + len).min(lost.len());
    for l in &mut lost[at.min(end)..end] {
        *l = true;
    }
}

fn random(lost: &mut [bool], from: usize, to: usize, percent: f64, rng: &mut XorShift64) {
    for l in &mut lost[from..to] {
        if rng.chance(percent) {
            *l = true;
        }
    }
}

/// Lays out `p.kinds` one after another on the replay timeline.
pub fn build_all(p: &Params) -> Vec<Built> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for &kind in &p.kinds {
        let b = build(kind, p, start);
        start = b.end_ns + GAP_NS;
        out.push(b);
    }
    out
}

fn build(kind: Kind, p: &Params, start_ns: u64) -> Built {
    let n = p.packets;
    let interval_ns = (1e9 / p.rate_pps).round() as u64;
    let ts_step = (RTP_CLOCK_HZ / p.rate_pps).round().max(1.0) as u32;
    let slot = kind.slot();
    let mut rng = XorShift64::new(p.seed ^ ((slot as u64 + 1) << 32));
    let ms = 1_000_000u64;

    // The source.
    let restart_at = (kind == Kind::Restart).then_some(n / 2);
    let ssrc = 0x5100_0000 + slot as u32;
    let seq0 = 1000u16.wrapping_add(10_000u16.wrapping_mul(slot as u16));
    let source: Vec<SourcePacket> = (0..n)
        .map(|i| match restart_at {
            Some(r) if i >= r => SourcePacket {
                ssrc: 0x5200_0000 + slot as u32,
                seq: 500u16.wrapping_add((i - r) as u16),
                rtp_ts: 0x0800_0000u32.wrapping_add(((i - r) as u32).wrapping_mul(ts_step)),
            },
            _ => SourcePacket {
                ssrc,
                seq: seq0.wrapping_add(i as u16),
                rtp_ts: (i as u32).wrapping_mul(ts_step),
            },
        })
        .collect();

    // The legs.
    let (pri, sec) = match kind {
        Kind::Baseline => (LegShape::clean(n, 0), LegShape::clean(n, ms)),
        Kind::Skew => {
            let mut pri = LegShape::clean(n, 0);
            burst(&mut pri.lost, n / 4, 20);
            burst(&mut pri.lost, n / 2, 60);
            random(&mut pri.lost, 0, n, 1.0, &mut rng);
            (pri, LegShape::clean(n, 35 * ms))
        }
        Kind::Reorder => {
            let mut pri = LegShape::clean(n, 0);
            let mut sec = LegShape::clean(n, ms / 4);
            let half = n / 2;
            reorder(&mut pri.order, 0, half, 5.0, &mut rng);
            random(&mut sec.lost, 0, half, 3.0, &mut rng);
            burst(&mut sec.lost, n / 4, 10);
            reorder(&mut sec.order, half, n, 5.0, &mut rng);
            random(&mut pri.lost, half, n, 3.0, &mut rng);
            burst(&mut pri.lost, 3 * n / 4, 10);
            (pri, sec)
        }
        Kind::Restart => (LegShape::clean(n, 0), LegShape::clean(n, 10 * ms)),
        Kind::Loss2 => {
            let mut pri = LegShape::clean(n, 0);
            let mut sec = LegShape::clean(n, ms);
            random(&mut pri.lost, 0, n, 2.0, &mut rng);
            random(&mut sec.lost, 0, n, 2.0, &mut rng);
            (pri, sec)
        }
        Kind::Common => {
            let mut pri = LegShape::clean(n, 0);
            random(&mut pri.lost, 0, n, 0.5, &mut rng);
            let mut sec = LegShape::clean(n, ms);
            sec.lost.clone_from(&pri.lost);
            (pri, sec)
        }
        Kind::Burst40 => {
            let mut pri = LegShape::clean(n, 0);
            burst(&mut pri.lost, n / 2, 40);
            (pri, LegShape::clean(n, ms))
        }
        Kind::Reorder5 => {
            let mut pri = LegShape::clean(n, 0);
            reorder(&mut pri.order, 0, n, 5.0, &mut rng);
            (pri, LegShape::clean(n, ms))
        }
        Kind::Lag35 => {
            let mut pri = LegShape::clean(n, 0);
            random(&mut pri.lost, 0, n, 1.0, &mut rng);
            (pri, LegShape::clean(n, 35 * ms))
        }
    };

    let mut frames = Vec::new();
    let mut end_ns = start_ns;
    for (leg, shape) in [(Leg::Primary, &pri), (Leg::Secondary, &sec)] {
        for (j, &index) in shape.order.iter().enumerate() {
            if shape.lost[index] {
                continue;
            }
            let t_ns = start_ns + shape.delay_ns + j as u64 * interval_ns;
            end_ns = end_ns.max(t_ns + interval_ns);
            frames.push(WireFrame { leg, t_ns, index });
        }
    }
    let expected = (0..n).filter(|&i| !(pri.lost[i] && sec.lost[i])).collect();
    Built {
        kind,
        primary_group: Ipv4Addr::new(239, 1, 0, slot as u8 + 1),
        secondary_group: Ipv4Addr::new(239, 2, 0, slot as u8 + 1),
        primary_port: LEG_PORT_BASE + 2 * slot as u16,
        secondary_port: LEG_PORT_BASE + 2 * slot as u16 + 1,
        source,
        expected,
        restart_at,
        frames,
        start_ns,
        end_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params::default()
    }

    fn by(b: &Built, leg: Leg) -> Vec<&WireFrame> {
        let mut v: Vec<&WireFrame> = b.frames.iter().filter(|f| f.leg == leg).collect();
        v.sort_by_key(|f| f.t_ns);
        v
    }

    #[test]
    fn every_packet_survives_somewhere_and_timeline_does_not_overlap() {
        let all = build_all(&params());
        assert_eq!(all.len(), Kind::ALL.len());
        for w in all.windows(2) {
            assert!(w[1].start_ns >= w[0].end_ns + GAP_NS);
        }
        // Independent or common loss may hit both legs; every other scenario loses nothing.
        for b in all
            .iter()
            .filter(|b| !matches!(b.kind, Kind::Common | Kind::Loss2))
        {
            assert_eq!(b.expected, (0..2000).collect::<Vec<_>>(), "{:?}", b.kind);
        }
        assert_eq!(all[0].leg_frames(Leg::Primary), 2000);
        assert_eq!(all[0].leg_frames(Leg::Secondary), 2000);
    }

    #[test]
    fn skew_scenario_loses_primary_bursts_and_delays_secondary() {
        let b = &build_all(&params())[1];
        let pri = by(b, Leg::Primary);
        let sec = by(b, Leg::Secondary);
        assert_eq!(sec.len(), 2000);
        assert!(pri.len() < 2000 - 80, "{}", pri.len());
        assert!(!pri.iter().any(|f| (1000..1060).contains(&f.index)));
        // Packet 0 on the secondary leaves 35 ms after the primary's.
        assert_eq!(sec[0].t_ns - pri[0].t_ns, 35_000_000);
    }

    #[test]
    fn reorder_scenario_displaces_at_most_five_and_never_loses_on_both() {
        let b = &build_all(&params())[2];
        for leg in [Leg::Primary, Leg::Secondary] {
            let f = by(b, leg);
            let mut moved = 0;
            let mut max_before = 0usize;
            for (j, x) in f.iter().enumerate() {
                if j > 0 && x.index < max_before {
                    moved += 1;
                    assert!(
                        max_before - x.index <= 5,
                        "{leg:?} displaced by more than 5"
                    );
                }
                max_before = max_before.max(x.index);
            }
            assert!(moved > 10, "{leg:?}: only {moved} reordered packets");
        }
        assert!(b.leg_frames(Leg::Primary) < 2000 && b.leg_frames(Leg::Secondary) < 2000);
    }

    #[test]
    fn restart_changes_ssrc_seq_and_timestamp_base() {
        let b = &build_all(&params())[3];
        let r = b.restart_at.unwrap();
        assert_ne!(b.source[r - 1].ssrc, b.source[r].ssrc);
        assert_eq!(b.source[r].seq, 500);
        assert_eq!(b.source[r - 1].seq, 31000 + 999);
        assert_eq!(b.source[r - 1].rtp_ts, 999 * 45);
        let pri = by(b, Leg::Primary);
        let sec = by(b, Leg::Secondary);
        let first_new = |v: &[&WireFrame]| v.iter().find(|f| f.index == r).unwrap().t_ns;
        assert_eq!(first_new(&sec) - first_new(&pri), 10_000_000);
    }

    #[test]
    fn latency_scenarios_have_their_shape() {
        let all = build_all(&params());
        let get = |k: Kind| all.iter().find(|b| b.kind == k).unwrap();
        // Common: the same ~0.5 % lost on both legs, nothing else.
        let c = get(Kind::Common);
        let lost = 2000 - c.expected.len();
        assert!((3..=25).contains(&lost), "{lost}");
        assert_eq!(c.leg_frames(Leg::Primary), c.expected.len());
        assert_eq!(c.leg_frames(Leg::Secondary), c.expected.len());
        // Burst40: exactly 40 consecutive primary losses.
        let b = get(Kind::Burst40);
        assert_eq!(b.leg_frames(Leg::Primary), 1960);
        assert!(!by(b, Leg::Primary)
            .iter()
            .any(|f| (1000..1040).contains(&f.index)));
        // Loss2: about 2 % on each leg, never the same packet on both.
        let l = get(Kind::Loss2);
        for leg in [Leg::Primary, Leg::Secondary] {
            let lost = 2000 - l.leg_frames(leg);
            assert!((15..=70).contains(&lost), "{leg:?} {lost}");
        }
        // Reorder5: primary displaced, both complete.
        let r = get(Kind::Reorder5);
        assert_eq!(r.leg_frames(Leg::Primary), 2000);
        let pri = by(r, Leg::Primary);
        assert!(pri.windows(2).any(|w| w[1].index < w[0].index));
        // Lag35: the secondary 35 ms behind, the primary lossy.
        let g = get(Kind::Lag35);
        assert_eq!(by(g, Leg::Secondary)[0].t_ns - g.start_ns, 35_000_000);
        assert!(g.leg_frames(Leg::Primary) < 2000);
    }

    #[test]
    fn payload_is_ts_like_and_keyed_on_ssrc_and_seq() {
        let a = ts_payload(1, 7);
        assert_eq!(a.len(), 1316);
        for j in 0..7 {
            assert_eq!(a[j * 188], 0x47);
        }
        assert_ne!(a, ts_payload(2, 7));
        assert_ne!(a, ts_payload(1, 8));
        assert_eq!(a, ts_payload(1, 7));
    }
}
