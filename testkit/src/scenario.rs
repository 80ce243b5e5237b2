//! Failover scenarios as data: which sequence numbers each leg carries, when,
//! and which copies are damaged; written out as `primary.pcap` and
//! `secondary.pcap` for the `net_pcap` vdev.
//!
//! ```
//! use testkit::scenario::{paced, Corruption, LegPacket, Scenario, StreamSpec};
//! use testkit::frame::FrameSpec;
//! let pri = FrameSpec::multicast("10.0.0.1".parse().unwrap(), "239.1.1.1".parse().unwrap(), 5000);
//! let sec = FrameSpec::multicast("10.0.1.1".parse().unwrap(), "239.2.1.1".parse().unwrap(), 5000);
//! let mut sc = Scenario::new(StreamSpec::rtp(pri, sec));
//! // primary: 0..100 every 1 ms, but stops after 49; packet 10 has a bad UDP checksum
//! sc.primary = paced(0..50, 0, 1_000_000);
//! sc.primary[10] = sc.primary[10].clone().corrupt(Corruption::UdpChecksum);
//! // secondary: all 100, 30 ms late
//! sc.secondary = paced(0..100, 30_000_000, 1_000_000);
//! let dir = std::env::temp_dir().join(format!("doc-scenario-{}", std::process::id()));
//! let (p, s) = sc.write_to_dir(&dir).unwrap();
//! assert_eq!(testkit::pcap::read_frames(&p).unwrap().len(), 50);
//! assert_eq!(testkit::pcap::read_frames(&s).unwrap().len(), 100);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! Rules: a packet's sequence number is a `u64`; RTP carries its low 16 bits
//! (so `65530..65546` rolls over on the wire) and its payload is
//! [`payload_pattern`]`(seq as u16 as u64, len)`, so a captured packet can be
//! checked from its wire sequence number alone. For MoldUDP64 the full `u64`
//! goes on the wire, for CME MDP3 and PITCH its low 32 bits; a packet of
//! MoldUDP64 or PITCH covers `seq..seq + per_packet` message numbers. Both legs of a stream produce byte-identical UDP
//! payloads for the same sequence number (same SSRC, RTP timestamp, payload)
//! unless a packet overrides them. Each file is written in time order
//! (stable: packets with equal times keep list order).

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::cme::cme_mdp3_pattern_payload;
use crate::frame::{build_udp_frame, payload_pattern, FrameSpec, RtpFields};
use crate::moldudp64::{moldudp64_end_of_session, moldudp64_heartbeat, moldudp64_pattern_payload};
use crate::parse::parse_udp;
use crate::pcap::{PcapPacket, PcapWriter, TsResolution};
use crate::pitch::{pitch_heartbeat, pitch_pattern_payload};
use crate::rng::XorShift64;

/// Default pcap time of `t_ns == 0`: 2023-11-14T22:13:20Z, so timestamps
/// look like real captures.
pub const DEFAULT_BASE_TIME_NS: u64 = 1_700_000_000_000_000_000;

/// What the UDP payload of a stream is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadKind {
    /// RTP v2, payload of `payload_len` pattern bytes.
    Rtp {
        /// Payload type.
        pt: u8,
        /// SSRC (a packet may override it to model a restart).
        ssrc: u32,
        /// Media payload bytes after the 12-byte RTP header.
        payload_len: usize,
        /// RTP timestamp = `seq * ts_step` (wrapping) unless overridden.
        ts_step: u32,
    },
    /// MoldUDP64 with `per_packet` messages per packet, so a packet `seq`
    /// covers `seq..seq + per_packet` (message `n` holds
    /// `payload_pattern(n, msg_len)`).
    MoldUdp64 {
        /// Session name (a packet may override it to model a new session).
        session: [u8; 10],
        /// Message length.
        msg_len: usize,
        /// Messages per packet.
        per_packet: u16,
    },
    /// CME MDP 3.0: packet `seq` is MsgSeqNum `seq` (low 32 bits) with
    /// `per_packet` messages of `msg_len` bytes (see [`crate::cme`]).
    CmeMdp3 {
        /// Message length (SBE header included, >= 8).
        msg_len: usize,
        /// Messages per packet.
        per_packet: usize,
    },
    /// Cboe PITCH of `unit`, `per_packet` messages per packet: a packet
    /// `seq` covers `seq..seq + per_packet` (see [`crate::pitch`]).
    Pitch {
        /// Hdr Unit.
        unit: u8,
        /// Message length (type byte included).
        msg_len: usize,
        /// Messages per packet.
        per_packet: u8,
    },
}

/// A market-data control packet in place of a data packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// No messages (MoldUDP64 count 0, PITCH count 0); `seq` is the next
    /// sequence number.
    Heartbeat,
    /// MoldUDP64 End of Session (count 0xFFFF); `seq` is the next sequence
    /// number.
    EndOfSession,
}

/// One stream: its headers on each leg and its payload kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSpec {
    /// Headers of the primary copy.
    pub primary: FrameSpec,
    /// Headers of the secondary copy.
    pub secondary: FrameSpec,
    /// Payload format.
    pub payload: PayloadKind,
}

impl StreamSpec {
    /// An RTP stream: PT 33 (MP2T), SSRC 0x1234_5678, 1316-byte payload
    /// (7 TS packets: a 1370-byte IPv4 frame), timestamp step 90.
    pub fn rtp(primary: FrameSpec, secondary: FrameSpec) -> Self {
        StreamSpec {
            primary,
            secondary,
            payload: PayloadKind::Rtp {
                pt: 33,
                ssrc: 0x1234_5678,
                payload_len: 1316,
                ts_step: 90,
            },
        }
    }

    /// A MoldUDP64 stream with session `session` and 32-byte messages.
    pub fn moldudp64(primary: FrameSpec, secondary: FrameSpec, session: [u8; 10]) -> Self {
        StreamSpec {
            primary,
            secondary,
            payload: PayloadKind::MoldUdp64 {
                session,
                msg_len: 32,
                per_packet: 1,
            },
        }
    }

    /// The same stream with `payload` instead.
    pub fn with_payload(mut self, payload: PayloadKind) -> Self {
        self.payload = payload;
        self
    }

    /// Sequence numbers a data packet covers: the messages per packet of
    /// MoldUDP64 and PITCH, 1 for RTP and CME MDP3 (which number packets).
    pub fn span(&self) -> u64 {
        match self.payload {
            PayloadKind::MoldUdp64 { per_packet, .. } => u64::from(per_packet),
            PayloadKind::Pitch { per_packet, .. } => u64::from(per_packet),
            PayloadKind::Rtp { .. } | PayloadKind::CmeMdp3 { .. } => 1,
        }
    }
}

/// Ways to damage a copy so that validation must reject it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    /// UDP checksum field altered (never to 0, which would mean "none").
    UdpChecksum,
    /// IPv4 header checksum field altered (IPv4 only).
    Ipv4HeaderChecksum,
    /// Last payload byte flipped, checksums left stale (as bit rot would).
    Payload,
    /// Last 10 bytes cut off: IP/UDP lengths exceed the frame.
    Truncated,
    /// RTP version set to 1 with checksums recomputed: only an RTP-aware
    /// check catches it.
    RtpVersion,
    /// Last payload byte flipped with the UDP checksum recomputed: not
    /// damage validation can see, but a copy whose content differs from
    /// the other legs' (a faulty encoder pair), which the merge counts as
    /// `payload_mismatch`.
    Differs,
}

/// Damages `frame` in place as `c` says.
///
/// # Panics
/// If `frame` is not a UDP frame, or `Ipv4HeaderChecksum` is asked of IPv6.
pub fn apply_corruption(frame: &mut Vec<u8>, c: Corruption) {
    let (udp_off, ip_off, src, dst, is_v4) = {
        let u = parse_udp(frame).expect("apply_corruption: not a UDP frame");
        let base = frame.as_ptr() as usize;
        let udp_off = u.udp_datagram.as_ptr() as usize - base;
        let ip_off = u.ipv4_header.map(|h| h.as_ptr() as usize - base);
        (udp_off, ip_off, u.src_ip, u.dst_ip, u.ipv4_header.is_some())
    };
    match c {
        Corruption::UdpChecksum => {
            let at = udp_off + 6;
            let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
            let new = if old ^ 0x5a5a == 0 {
                0x1111
            } else {
                old ^ 0x5a5a
            };
            frame[at..at + 2].copy_from_slice(&new.to_be_bytes());
        }
        Corruption::Ipv4HeaderChecksum => {
            assert!(is_v4, "Ipv4HeaderChecksum corruption on an IPv6 frame");
            let at = ip_off.expect("IPv4 header") + 10;
            frame[at] ^= 0xa5;
        }
        Corruption::Payload => {
            let last = frame.len() - 1;
            frame[last] ^= 0xff;
        }
        Corruption::Truncated => {
            let keep = frame.len().saturating_sub(10);
            frame.truncate(keep);
        }
        Corruption::RtpVersion => {
            let at = udp_off + 8;
            assert!(frame.len() > at, "RtpVersion corruption without payload");
            frame[at] = (frame[at] & 0x3f) | 0x40;
            fix_udp_checksum(frame, udp_off, (src, dst));
        }
        Corruption::Differs => {
            let last = frame.len() - 1;
            frame[last] ^= 0xff;
            fix_udp_checksum(frame, udp_off, (src, dst));
        }
    }
}

/// Recomputes the UDP checksum of the datagram at `udp_off` of `frame`.
fn fix_udp_checksum(frame: &mut [u8], udp_off: usize, (src, dst): (IpAddr, IpAddr)) {
    frame[udp_off + 6..udp_off + 8].copy_from_slice(&[0, 0]);
    let c = crate::checksum::udp_checksum(src, dst, &frame[udp_off..]);
    frame[udp_off + 6..udp_off + 8].copy_from_slice(&c.to_be_bytes());
}

/// One packet on one leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegPacket {
    /// Index into [`Scenario::streams`].
    pub stream: usize,
    /// Sequence number (RTP: low 16 bits go on the wire).
    pub seq: u64,
    /// Time since the scenario start, in nanoseconds.
    pub t_ns: u64,
    /// RTP SSRC override (models a restarted source).
    pub ssrc: Option<u32>,
    /// RTP timestamp override.
    pub rtp_timestamp: Option<u32>,
    /// Damage applied after building.
    pub corruption: Option<Corruption>,
    /// MoldUDP64 session override (models a new session).
    pub session: Option<[u8; 10]>,
    /// A heartbeat / End of Session instead of data (MoldUDP64, PITCH).
    pub control: Option<Control>,
}

impl LegPacket {
    /// Packet `seq` of stream 0 at `t_ns`, intact.
    pub fn new(seq: u64, t_ns: u64) -> Self {
        LegPacket {
            stream: 0,
            seq,
            t_ns,
            ssrc: None,
            rtp_timestamp: None,
            corruption: None,
            session: None,
            control: None,
        }
    }

    /// Same packet in MoldUDP64 session `session`.
    pub fn session(mut self, session: [u8; 10]) -> Self {
        self.session = Some(session);
        self
    }

    /// A control packet instead, `seq` being the next sequence number.
    pub fn control(mut self, c: Control) -> Self {
        self.control = Some(c);
        self
    }

    /// Same packet on stream `stream`.
    pub fn stream(mut self, stream: usize) -> Self {
        self.stream = stream;
        self
    }

    /// Same packet with SSRC `ssrc`.
    pub fn ssrc(mut self, ssrc: u32) -> Self {
        self.ssrc = Some(ssrc);
        self
    }

    /// Same packet with RTP timestamp `ts`.
    pub fn rtp_timestamp(mut self, ts: u32) -> Self {
        self.rtp_timestamp = Some(ts);
        self
    }

    /// Same packet, damaged.
    pub fn corrupt(mut self, c: Corruption) -> Self {
        self.corruption = Some(c);
        self
    }
}

/// Packets `seqs` of stream 0, the first at `start_ns`, then every
/// `interval_ns` (in iteration order, so a reordered list stays paced).
pub fn paced(
    seqs: impl IntoIterator<Item = u64>,
    start_ns: u64,
    interval_ns: u64,
) -> Vec<LegPacket> {
    seqs.into_iter()
        .enumerate()
        .map(|(i, s)| LegPacket::new(s, start_ns + i as u64 * interval_ns))
        .collect()
}

/// Random loss for `count` packets on two legs, each packet lost with
/// probability `percent` % on each leg independently, from `seed`. With
/// `allow_common == false` a packet drawn lost on both legs is kept on the
/// secondary, so every packet survives somewhere. Returns (primary_lost,
/// secondary_lost) flags indexed like the packets.
pub fn random_loss(
    count: usize,
    percent: f64,
    seed: u64,
    allow_common: bool,
) -> (Vec<bool>, Vec<bool>) {
    let mut rp = XorShift64::new(seed);
    let mut rs = XorShift64::new(seed ^ 0x5eed_0000_0000_5eed);
    let mut p = Vec::with_capacity(count);
    let mut s = Vec::with_capacity(count);
    for _ in 0..count {
        let lp = rp.chance(percent);
        let mut ls = rs.chance(percent);
        if lp && ls && !allow_common {
            ls = false;
        }
        p.push(lp);
        s.push(ls);
    }
    (p, s)
}

/// Which copy of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// The preferred source.
    Primary,
    /// The backup source.
    Secondary,
}

/// A whole test case: streams and the packets of each leg.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The streams; [`LegPacket::stream`] indexes this.
    pub streams: Vec<StreamSpec>,
    /// Packets of the primary leg (any order; written sorted by time).
    pub primary: Vec<LegPacket>,
    /// Packets of the secondary leg.
    pub secondary: Vec<LegPacket>,
    /// pcap time of `t_ns == 0`.
    pub base_time_ns: u64,
    /// Timestamp resolution of the files written.
    pub resolution: TsResolution,
}

impl Scenario {
    /// A one-stream scenario with no packets yet, nanosecond pcaps.
    pub fn new(stream: StreamSpec) -> Self {
        Scenario::with_streams(vec![stream])
    }

    /// A scenario over several streams.
    pub fn with_streams(streams: Vec<StreamSpec>) -> Self {
        Scenario {
            streams,
            primary: Vec::new(),
            secondary: Vec::new(),
            base_time_ns: DEFAULT_BASE_TIME_NS,
            resolution: TsResolution::Nano,
        }
    }

    /// The UDP payload stream `p.stream` carries for `p` (identical on both legs).
    ///
    /// # Panics
    /// If `p.stream` is out of range.
    pub fn udp_payload(&self, p: &LegPacket) -> Vec<u8> {
        let st = self
            .streams
            .get(p.stream)
            .unwrap_or_else(|| panic!("LegPacket stream {} does not exist", p.stream));
        match &st.payload {
            PayloadKind::Rtp {
                pt,
                ssrc,
                payload_len,
                ts_step,
            } => {
                let seq16 = p.seq as u16;
                let rtp = RtpFields {
                    seq: seq16,
                    timestamp: p
                        .rtp_timestamp
                        .unwrap_or_else(|| (p.seq as u32).wrapping_mul(*ts_step)),
                    ssrc: p.ssrc.unwrap_or(*ssrc),
                    pt: *pt,
                    marker: false,
                };
                let mut v = Vec::new();
                crate::frame::push_rtp_header(&mut v, &rtp);
                v.extend_from_slice(&payload_pattern(seq16 as u64, *payload_len));
                v
            }
            PayloadKind::MoldUdp64 {
                session,
                msg_len,
                per_packet,
            } => {
                let session = p.session.as_ref().unwrap_or(session);
                match p.control {
                    None => moldudp64_pattern_payload(session, p.seq, *per_packet, *msg_len),
                    Some(Control::Heartbeat) => moldudp64_heartbeat(session, p.seq),
                    Some(Control::EndOfSession) => moldudp64_end_of_session(session, p.seq),
                }
            }
            PayloadKind::CmeMdp3 {
                msg_len,
                per_packet,
            } => cme_mdp3_pattern_payload(p.seq as u32, *per_packet, *msg_len),
            PayloadKind::Pitch {
                unit,
                msg_len,
                per_packet,
            } => match p.control {
                None => pitch_pattern_payload(*unit, p.seq as u32, *per_packet, *msg_len),
                Some(_) => pitch_heartbeat(*unit, p.seq as u32),
            },
        }
    }

    /// The complete frame of `p` on `leg`, corruption applied.
    pub fn frame(&self, leg: Leg, p: &LegPacket) -> Vec<u8> {
        let st = &self.streams[p.stream];
        let spec = match leg {
            Leg::Primary => &st.primary,
            Leg::Secondary => &st.secondary,
        };
        let payload = self.udp_payload(p);
        // IPv4 identification = low 16 bits of the sequence number (for
        // RTP that is what build_rtp_frame does too).
        let mut f = build_udp_frame(spec, p.seq as u16, &payload);
        if let Some(c) = p.corruption {
            apply_corruption(&mut f, c);
        }
        f
    }

    /// The frames of `leg` as pcap records, sorted by time (stable).
    pub fn leg_packets(&self, leg: Leg) -> Vec<PcapPacket> {
        let list = match leg {
            Leg::Primary => &self.primary,
            Leg::Secondary => &self.secondary,
        };
        let mut order: Vec<&LegPacket> = list.iter().collect();
        order.sort_by_key(|p| p.t_ns);
        order
            .into_iter()
            .map(|p| PcapPacket::new(self.base_time_ns + p.t_ns, self.frame(leg, p)))
            .collect()
    }

    /// Writes the two legs to `primary` and `secondary`.
    pub fn write(&self, primary: &Path, secondary: &Path) -> io::Result<()> {
        for (leg, path) in [(Leg::Primary, primary), (Leg::Secondary, secondary)] {
            let mut w = PcapWriter::create(path, self.resolution)?;
            for p in self.leg_packets(leg) {
                w.write_packet(&p)?;
            }
            w.finish()?;
        }
        Ok(())
    }

    /// Creates `dir` if needed and writes `dir/primary.pcap` and
    /// `dir/secondary.pcap`; returns their paths.
    pub fn write_to_dir(&self, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
        std::fs::create_dir_all(dir)?;
        let p = dir.join("primary.pcap");
        let s = dir.join("secondary.pcap");
        self.write(&p, &s)?;
        Ok((p, s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{verify_checksums, ChecksumError};
    use crate::moldudp64::parse_moldudp64;
    use crate::parse::{parse_rtp, ParseError};
    use crate::pcap::read_pcap;
    use std::net::Ipv4Addr;

    fn stream() -> StreamSpec {
        StreamSpec::rtp(
            FrameSpec::multicast(
                Ipv4Addr::new(10, 0, 0, 1).into(),
                Ipv4Addr::new(239, 1, 0, 1).into(),
                5000,
            ),
            FrameSpec::multicast(
                Ipv4Addr::new(10, 0, 1, 1).into(),
                Ipv4Addr::new(239, 2, 0, 1).into(),
                5002,
            ),
        )
    }

    fn tmpdir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("testkit-{name}-{}", std::process::id()))
    }

    #[test]
    fn legs_carry_identical_rtp_for_same_seq_and_roll_over() {
        let mut sc = Scenario::new(stream());
        sc.primary = paced(65534..65538, 0, 1000);
        sc.secondary = paced(65534..65538, 500, 1000);
        let dir = tmpdir("rollover");
        let (p, s) = sc.write_to_dir(&dir).unwrap();
        let pc = read_pcap(&p).unwrap().packets;
        let sc2 = read_pcap(&s).unwrap().packets;
        let seqs: Vec<u16> = pc.iter().map(|x| parse_rtp(&x.data).unwrap().seq).collect();
        assert_eq!(seqs, vec![65534, 65535, 0, 1]);
        for (a, b) in pc.iter().zip(&sc2) {
            let ra = parse_rtp(&a.data).unwrap();
            let rb = parse_rtp(&b.data).unwrap();
            assert_eq!(ra.udp.payload, rb.udp.payload);
            assert_eq!(ra.udp.dst_port, 5000);
            assert_eq!(rb.udp.dst_port, 5002);
            assert_eq!(rb.udp.dst_ip, Ipv4Addr::new(239, 2, 0, 1));
            assert_eq!(ra.payload, payload_pattern(ra.seq as u64, 1316).as_slice());
            assert_eq!(a.data.len(), 1370);
            verify_checksums(&a.data).unwrap();
            verify_checksums(&b.data).unwrap();
        }
        assert_eq!(pc[0].ts_ns, DEFAULT_BASE_TIME_NS);
        assert_eq!(sc2[1].ts_ns, DEFAULT_BASE_TIME_NS + 1500);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_are_time_ordered_and_overrides_apply() {
        let mut sc = Scenario::new(stream());
        sc.primary = vec![
            LegPacket::new(2, 300),
            LegPacket::new(0, 100),
            LegPacket::new(1, 100).ssrc(77).rtp_timestamp(5),
        ];
        let pk = sc.leg_packets(Leg::Primary);
        let got: Vec<(u16, u32, u32)> = pk
            .iter()
            .map(|p| {
                let r = parse_rtp(&p.data).unwrap();
                (r.seq, r.ssrc, r.timestamp)
            })
            .collect();
        assert_eq!(
            got,
            vec![(0, 0x1234_5678, 0), (1, 77, 5), (2, 0x1234_5678, 180)]
        );
    }

    #[test]
    fn every_corruption_is_detectable() {
        let mut sc = Scenario::new(stream());
        let f = |c| sc.frame(Leg::Primary, &LegPacket::new(9, 0).corrupt(c));
        assert!(matches!(
            verify_checksums(&f(Corruption::UdpChecksum)),
            Err(ChecksumError::Udp { .. })
        ));
        assert!(matches!(
            verify_checksums(&f(Corruption::Ipv4HeaderChecksum)),
            Err(ChecksumError::Ipv4Header { .. })
        ));
        assert!(matches!(
            verify_checksums(&f(Corruption::Payload)),
            Err(ChecksumError::Udp { .. })
        ));
        assert!(matches!(
            verify_checksums(&f(Corruption::Truncated)),
            Err(ChecksumError::Malformed(ParseError::BadIpLength(_)))
        ));
        let v1 = f(Corruption::RtpVersion);
        verify_checksums(&v1).unwrap();
        assert_eq!(parse_rtp(&v1), Err(ParseError::BadRtpVersion(1)));
        // An intact frame passes.
        verify_checksums(&sc.frame(Leg::Secondary, &LegPacket::new(9, 0))).unwrap();
        sc.streams[0].payload = PayloadKind::Rtp {
            pt: 96,
            ssrc: 1,
            payload_len: 0,
            ts_step: 0,
        };
        let empty = sc.frame(Leg::Primary, &LegPacket::new(1, 0));
        assert_eq!(parse_rtp(&empty).unwrap().payload.len(), 0);
    }

    #[test]
    fn moldudp64_streams_carry_u64_sequence() {
        let st = StreamSpec::moldudp64(stream().primary, stream().secondary, *b"TESTSESS01");
        let mut sc = Scenario::new(st);
        sc.secondary = paced([1u64 << 40, (1 << 40) + 1], 0, 10);
        let pk = sc.leg_packets(Leg::Secondary);
        let u = parse_udp(&pk[1].data).unwrap();
        let (h, m) = parse_moldudp64(u.payload).unwrap();
        assert_eq!((h.seq, h.count), ((1 << 40) + 1, 1));
        assert_eq!(m[0], payload_pattern((1 << 40) + 1, 32).as_slice());
        verify_checksums(&pk[1].data).unwrap();
    }

    #[test]
    fn random_loss_rates_and_no_common_loss() {
        let (p, s) = random_loss(100_000, 5.0, 42, false);
        let lp = p.iter().filter(|&&x| x).count();
        let ls = s.iter().filter(|&&x| x).count();
        assert!((4_500..5_500).contains(&lp), "{lp}");
        assert!((4_300..5_500).contains(&ls), "{ls}");
        assert!(!p.iter().zip(&s).any(|(a, b)| *a && *b));
        let (p, s) = random_loss(100_000, 5.0, 42, true);
        let common = p.iter().zip(&s).filter(|(a, b)| **a && **b).count();
        assert!((150..400).contains(&common), "{common}");
        assert_eq!(
            random_loss(10, 50.0, 1, true),
            random_loss(10, 50.0, 1, true)
        );
    }
}
