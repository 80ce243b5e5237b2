//! Judges a client-side capture of one engine's output against what the
//! scenarios say a perfect merger emits: counts of expected, received,
//! lost, duplicate, reordered and foreign packets, the longest silence,
//! the delay each packet spent between its first copy on the wire and the
//! output, and (restart) how much of the restarted source got through.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use testkit::parse::parse_rtp;
use testkit::pcap::PcapPacket;

use crate::scenarios::{ts_payload, Built, Leg};

/// Horizon of [`Row::replay_dev_ms`]: longer than any timing relation a
/// scenario relies on (35 ms leg skew, a 50 ms merge window).
pub const DEV_WINDOW_NS: u64 = 100_000_000;

/// One row of the comparison table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    /// Distinct packets a perfect merger outputs.
    pub expected: usize,
    /// Packets captured on the scenario's output group and port.
    pub received: usize,
    /// Expected packets never captured.
    pub lost: usize,
    /// Captures of a packet already captured.
    pub dups: usize,
    /// Packets captured after a packet that comes later in source order.
    pub reordered: usize,
    /// Captures that match no expected packet, or whose payload changed.
    pub bad: usize,
    /// Longest interval between two consecutive output packets, ms.
    pub max_gap_ms: f64,
    /// Median delay from the first copy on the wire to the output, ms.
    pub delay_p50_ms: Option<f64>,
    /// 99th percentile of that delay, ms.
    pub delay_p99_ms: Option<f64>,
    /// Largest such delay, ms.
    pub delay_max_ms: Option<f64>,
    /// 99th percentile over the packets whose primary copy was on the wire.
    pub delay_p99_primary_ms: Option<f64>,
    /// 99th percentile over the packets only another leg carried (they
    /// needed the backup copy), measured like the others from their first
    /// copy on the wire.
    pub delay_p99_backup_ms: Option<f64>,
    /// (received, expected) distinct packets of the restarted source.
    pub after_restart: Option<(usize, usize)>,
    /// Frames of the scenario seen on the primary / secondary leg (input capture).
    pub input: Option<(usize, usize)>,
    /// How much the replay distorted the scenario's relative timing, ms. The
    /// wire times are fitted to `a + stretch * planned` (a replay tool that
    /// runs a few percent slow keeps the scenario's shape); this is the
    /// largest change of the residual between two frames planned within
    /// [`DEV_WINDOW_NS`] of each other. A replay that stalls for X ms makes a
    /// leg X ms later than planned relative to the other, or a gap X ms
    /// longer, and shows here as X.
    pub replay_dev_ms: Option<f64>,
    /// Wire time elapsed per planned time unit over the scenario (1.0 =
    /// played at the planned pace; 1.05 = 5 % slow, skews 5 % longer).
    pub replay_stretch: Option<f64>,
}

/// Output packets of `b` in `out` (captured on group `group`, port `port`),
/// judged against `b.expected`; `input` (a capture of both legs) adds the
/// delays and the per-leg frame counts.
pub fn judge(
    b: &Built,
    out: &[PcapPacket],
    group: Ipv4Addr,
    port: u16,
    input: Option<&[PcapPacket]>,
) -> Row {
    let key_of: HashMap<(u32, u16), usize> = b
        .source
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.ssrc, s.seq), i))
        .collect();
    let expected: std::collections::HashSet<usize> = b.expected.iter().copied().collect();
    // Source packets the primary leg carried (planned, i.e. not lost on it).
    let on_primary: std::collections::HashSet<usize> = b
        .frames
        .iter()
        .filter(|f| f.leg == Leg::Primary)
        .map(|f| f.index)
        .collect();

    // First time each source packet appeared on any leg.
    let mut first_seen: HashMap<usize, u64> = HashMap::new();
    let mut legs = (0usize, 0usize);
    let planned: HashMap<(bool, usize), u64> = b
        .frames
        .iter()
        .map(|f| ((f.leg == Leg::Primary, f.index), f.t_ns))
        .collect();
    // (planned time, wire time - planned time) of every frame seen.
    let mut offsets: Vec<(u64, i128)> = Vec::new();
    if let Some(frames) = input {
        for p in frames {
            let Ok(r) = parse_rtp(&p.data) else { continue };
            let leg = match (r.udp.dst_ip, r.udp.dst_port) {
                (IpAddr::V4(g), p) if g == b.primary_group && p == b.primary_port => Leg::Primary,
                (IpAddr::V4(g), p) if g == b.secondary_group && p == b.secondary_port => {
                    Leg::Secondary
                }
                _ => continue,
            };
            match leg {
                Leg::Primary => legs.0 += 1,
                Leg::Secondary => legs.1 += 1,
            }
            if let Some(&i) = key_of.get(&(r.ssrc, r.seq)) {
                let t = first_seen.entry(i).or_insert(p.ts_ns);
                *t = (*t).min(p.ts_ns);
                if let Some(&plan) = planned.get(&(leg == Leg::Primary, i)) {
                    offsets.push((plan, p.ts_ns as i128 - plan as i128));
                }
            }
        }
    }

    let replay = input.map(|_| distortion(&mut offsets));
    let mut row = Row {
        expected: b.expected.len(),
        input: input.map(|_| legs),
        replay_dev_ms: replay.map(|r| r.0 / 1e6),
        replay_stretch: replay.map(|r| r.1),
        ..Row::default()
    };
    let mut seen = vec![false; b.source.len()];
    let mut highest: Option<usize> = None;
    let mut prev_t: Option<u64> = None;
    let mut max_gap_ns = 0u64;
    // (delay, was the primary copy on the wire)
    let mut delays: Vec<(u64, bool)> = Vec::new();
    for p in out {
        let Ok(r) = parse_rtp(&p.data) else { continue };
        if r.udp.dst_ip != IpAddr::V4(group) || r.udp.dst_port != port {
            continue;
        }
        row.received += 1;
        if let Some(t) = prev_t {
            max_gap_ns = max_gap_ns.max(p.ts_ns.saturating_sub(t));
        }
        prev_t = Some(p.ts_ns);
        let Some(&i) = key_of.get(&(r.ssrc, r.seq)) else {
            row.bad += 1;
            continue;
        };
        if !expected.contains(&i) || r.payload != ts_payload(r.ssrc, r.seq).as_slice() {
            row.bad += 1;
            continue;
        }
        if seen[i] {
            row.dups += 1;
            continue;
        }
        seen[i] = true;
        if highest.is_some_and(|h| i < h) {
            row.reordered += 1;
        }
        highest = Some(highest.map_or(i, |h| h.max(i)));
        if let Some(&t0) = first_seen.get(&i) {
            delays.push((p.ts_ns.saturating_sub(t0), on_primary.contains(&i)));
        }
    }
    let unique = seen.iter().filter(|&&s| s).count();
    row.lost = row.expected - unique;
    row.max_gap_ms = max_gap_ns as f64 / 1e6;
    if input.is_some() && !delays.is_empty() {
        let all: Vec<u64> = delays.iter().map(|d| d.0).collect();
        let primary: Vec<u64> = delays.iter().filter(|d| d.1).map(|d| d.0).collect();
        let backup: Vec<u64> = delays.iter().filter(|d| !d.1).map(|d| d.0).collect();
        row.delay_p50_ms = quantile_ms(all.clone(), 0.5);
        row.delay_p99_ms = quantile_ms(all.clone(), 0.99);
        row.delay_max_ms = quantile_ms(all, 1.0);
        row.delay_p99_primary_ms = quantile_ms(primary, 0.99);
        row.delay_p99_backup_ms = quantile_ms(backup, 0.99);
    }
    if let Some(r) = b.restart_at {
        let want = b.expected.iter().filter(|&&i| i >= r).count();
        let got = (r..b.source.len()).filter(|&i| seen[i]).count();
        row.after_restart = Some((got, want));
    }
    row
}

/// The `q` quantile (nearest rank) of `v`, in ms; `None` when empty.
fn quantile_ms(mut v: Vec<u64>, q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1] as f64 / 1e6)
}

/// (distortion in ns, stretch) of a replay from its frames' (planned
/// time, wire time - planned time): the least-squares line through the
/// wire times gives the stretch; the distortion is the largest difference
/// of residuals between frames planned at most [`DEV_WINDOW_NS`] apart.
fn distortion(offsets: &mut [(u64, i128)]) -> (f64, f64) {
    if offsets.len() < 2 {
        return (0.0, 1.0);
    }
    offsets.sort_unstable_by_key(|x| x.0);
    let t0 = offsets[0].0;
    let o0 = offsets[0].1;
    // x = planned, y = wire - planned, both relative to the first frame.
    let pts: Vec<(f64, f64)> = offsets
        .iter()
        .map(|&(p, o)| ((p - t0) as f64, (o - o0) as f64))
        .collect();
    let n = pts.len() as f64;
    let (mx, my) = pts
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x / n, b + y / n));
    let (sxy, sxx) = pts.iter().fold((0.0, 0.0), |(a, b), &(x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let resid: Vec<f64> = pts.iter().map(|&(x, y)| y - slope * x).collect();
    let mut worst: f64 = 0.0;
    let mut from = 0;
    for b in 0..offsets.len() {
        while offsets[b].0 - offsets[from].0 > DEV_WINDOW_NS {
            from += 1;
        }
        for r in &resid[from..b] {
            worst = worst.max((resid[b] - r).abs());
        }
    }
    (worst, 1.0 + slope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::{build_all, Kind, Params};
    use testkit::frame::{build_udp_frame, FrameSpec};

    fn built(kind: Kind) -> (Params, Built) {
        let p = Params {
            rate_pps: 1000.0,
            packets: 200,
            kinds: vec![kind],
            seed: 3,
            primary_src: Ipv4Addr::new(192, 168, 201, 1),
            secondary_src: Ipv4Addr::new(192, 168, 202, 1),
        };
        let b = build_all(&p).remove(0);
        (p, b)
    }

    const OUT: Ipv4Addr = Ipv4Addr::new(239, 10, 10, 10);

    /// What an engine would send for source packet `i`, captured at `t_ns`.
    fn out_frame(b: &Built, i: usize, t_ns: u64, port: u16) -> PcapPacket {
        let spec = FrameSpec::multicast(Ipv4Addr::new(192, 168, 203, 1).into(), OUT.into(), port);
        PcapPacket::new(t_ns, build_udp_frame(&spec, 0, &b.udp_payload(i)))
    }

    #[test]
    fn perfect_output_scores_zero_everywhere() {
        let (p, b) = built(Kind::Skew);
        let out: Vec<PcapPacket> = b
            .expected
            .iter()
            .map(|&i| out_frame(&b, i, 1_000_000 * i as u64 + 2_000_000, 5101))
            .collect();
        let input: Vec<PcapPacket> = b
            .frames
            .iter()
            .map(|f| PcapPacket::new(f.t_ns, b.frame_bytes(f, &p)))
            .collect();
        let r = judge(&b, &out, OUT, 5101, Some(&input));
        assert_eq!(
            (r.expected, r.received, r.lost, r.dups, r.reordered, r.bad),
            (200, 200, 0, 0, 0, 0)
        );
        assert_eq!(r.max_gap_ms, 1.0);
        assert_eq!(r.delay_p50_ms, Some(2.0));
        assert_eq!(r.replay_dev_ms, Some(0.0));
        assert_eq!(r.replay_stretch, Some(1.0));
        assert_eq!(
            r.input,
            Some((b.leg_frames(Leg::Primary), b.leg_frames(Leg::Secondary)))
        );
        assert_eq!(r.after_restart, None);
        // A replay that fell 7 ms behind for one frame distorts by ~7 ms.
        let mut late = input.clone();
        late[100].ts_ns += 7_000_000;
        let r = judge(&b, &out, OUT, 5101, Some(&late));
        let d = r.replay_dev_ms.unwrap();
        assert!((d - 7.0).abs() < 0.1, "{d}");
        // One that runs uniformly 5 % slow keeps the scenario's shape.
        let t0 = input[0].ts_ns;
        let slow: Vec<PcapPacket> = input
            .iter()
            .map(|p| PcapPacket::new(p.ts_ns + (p.ts_ns - t0) / 20, p.data.clone()))
            .collect();
        let r = judge(&b, &out, OUT, 5101, Some(&slow));
        assert!(r.replay_dev_ms.unwrap() < 0.01, "{r:?}");
        assert!((r.replay_stretch.unwrap() - 1.05).abs() < 1e-6, "{r:?}");
    }

    #[test]
    fn counts_loss_duplicates_reordering_foreign_and_other_ports() {
        let (_, b) = built(Kind::Restart);
        let mut order: Vec<usize> = (0..200).filter(|i| !(50..60).contains(i)).collect();
        order.swap(3, 4); // one packet late
        order.insert(20, 19); // one duplicate
        order.extend([120, 121]); // two more duplicates
        let mut out: Vec<PcapPacket> = order
            .iter()
            .enumerate()
            .map(|(k, &i)| out_frame(&b, i, k as u64 * 1_000_000, 5103))
            .collect();
        // A stray on another port is not this engine's; a changed payload is bad.
        out.push(out_frame(&b, 55, 900_000_000, 5999));
        let mut corrupt = out_frame(&b, 50, 1_000_000_000, 5103);
        let last = corrupt.data.len() - 1;
        corrupt.data[last] ^= 1;
        out.push(corrupt);
        let r = judge(&b, &out, OUT, 5103, None);
        assert_eq!(r.received, 190 + 1 + 2 + 1);
        assert_eq!(r.lost, 10);
        assert_eq!(r.dups, 3);
        assert_eq!(r.reordered, 1);
        assert_eq!(r.bad, 1);
        assert_eq!(r.after_restart, Some((100, 100)));
        assert_eq!(r.delay_p50_ms, None);
        // The corrupt copy came 808 ms after the last good one.
        assert!((r.max_gap_ms - 808.0).abs() < 1e-6, "{}", r.max_gap_ms);
    }

    #[test]
    fn output_that_stops_at_the_restart_is_seen() {
        let (_, b) = built(Kind::Restart);
        let out: Vec<PcapPacket> = (0..100)
            .map(|i| out_frame(&b, i, i as u64 * 1_000_000, 5103))
            .collect();
        let r = judge(&b, &out, OUT, 5103, None);
        assert_eq!(r.after_restart, Some((0, 100)));
        assert_eq!(r.lost, 100);
    }
}
