//! Turns the validated configuration into the workers' [`Plan`]. The
//! configuration already speaks the dataplane's types (crate `model`), so
//! what is left is converting times to TSC ticks and building the
//! classifier and rewriters.

use config::{AppConfig, StreamConfig};
use dataplane::merge::MergeConfig;
use dataplane::rewrite::Rewriter;
use dataplane::seq::SeqSpec;
use dataplane::worker::{Classifier, Clock, InputPlan, Plan, Route, Shards, StreamPlan};
use std::time::Duration;

fn ticks(d: Duration, hz: u64) -> u64 {
    ((d.as_nanos() * hz as u128) / 1_000_000_000).min(u64::MAX as u128) as u64
}

/// Merge settings of one stream, times in TSC ticks.
pub fn merge_config(s: &StreamConfig, hz: u64) -> MergeConfig {
    MergeConfig {
        mode: s.mode,
        legs: s.legs.len(),
        capacity: s.slots as usize,
        max_delay: ticks(s.max_delay, hz),
        leg_timeout: ticks(s.leg_timeout, hz),
        restart_after: s.restart_after,
        seq_bits: s.seq.bits(),
        reorder: s.primary_reorder,
        fill_timeout: match s.mold_request {
            Some(_) => ticks(s.gap_fill_timeout, hz).max(1),
            None => 0,
        },
        margin: ticks(
            Duration::from_micros(config::limits::EVIDENCE_MARGIN_US),
            hz,
        ),
        messages: s.arbitrate == model::Arbitrate::Messages,
    }
}

/// The input port a leg arrives on: leg 0 on the primary port, every other
/// leg on the secondary port (legs 2.. share it, told apart by group).
pub fn leg_port(cfg: &AppConfig, leg: usize) -> u16 {
    if leg == 0 {
        cfg.primary_port
    } else {
        cfg.secondary_port
    }
}

/// Builds the plan for the workers' `clock`, which ticks `hz` times a
/// second, with `rx_lanes` rx queues polled per input (see
/// [`Plan::rx_lanes`]); an error is one line naming the stream and the
/// value.
pub fn build(
    cfg: &AppConfig,
    out_mac: [u8; 6],
    hw_l4: impl Fn(u16) -> bool,
    (clock, hz): (Clock, u64),
    rx_lanes: usize,
) -> Result<Plan, String> {
    let inputs: Vec<InputPlan> = cfg
        .input_ports()
        .into_iter()
        .map(|port| InputPlan {
            port,
            hw_l4_check: hw_l4(port),
            membership: crate::membership::enabled(cfg, port),
        })
        .collect();
    let mut classifier = Classifier::new();
    let mut streams = Vec::with_capacity(cfg.streams.len());
    for (i, s) in cfg.streams.iter().enumerate() {
        add_routes(&mut classifier, cfg, s, i)?;
        streams.push(stream_plan(s, out_mac, hz)?);
    }
    Ok(Plan {
        streams,
        classifier,
        inputs,
        burst: cfg.burst as usize,
        rx_prefetch: cfg.rx_prefetch as usize,
        verify_udp: cfg.verify_udp_checksum,
        tsc_hz: hz,
        clock,
        shards: Shards::by_index(cfg.streams.len(), cfg.merge_workers() as usize),
        rx_lanes: rx_lanes.max(1),
        // Board room for the streams a live reload adds (every layout but
        // flow steering, which keeps its set).
        reload_slots: if rx_lanes <= 1 {
            cfg.streams.len().clamp(RELOAD_SLOTS_MIN, RELOAD_SLOTS_MAX)
        } else {
            0
        },
    })
}

/// Stats board slots kept for streams a reload adds: as many as the
/// start's streams, within these bounds.
const RELOAD_SLOTS_MIN: usize = 8;
/// See [`RELOAD_SLOTS_MIN`].
const RELOAD_SLOTS_MAX: usize = 1024;

/// The worker's plan of stream `s`; an error is one line naming it.
pub fn stream_plan(s: &StreamConfig, out_mac: [u8; 6], hz: u64) -> Result<StreamPlan, String> {
    let merge = merge_config(s, hz);
    merge
        .validate()
        .map_err(|e| format!("stream {}: {e}", s.name))?;
    let rewriter = Rewriter::new(&s.out, out_mac)
        .map_err(|e| format!("stream {}: output {}: {e}", s.name, s.out.dst()))?;
    Ok(StreamPlan {
        name: s.name.clone(),
        seq: s.seq,
        merge,
        rewriter,
        renumber: s.renumber,
        sources: s.sources.clone(),
    })
}

/// Routes stream `s`'s legs to stream id `id`.
pub fn add_routes(
    classifier: &mut Classifier,
    cfg: &AppConfig,
    s: &StreamConfig,
    id: usize,
) -> Result<(), String> {
    for (leg, addr) in s.legs.iter().enumerate() {
        let route = Route {
            stream: id as u32,
            leg: leg as u8,
        };
        let (port, group, udp_port) = (leg_port(cfg, leg), addr.ip(), addr.port());
        match s.seq {
            // Cboe sends several units on one group: the unit picks the stream.
            SeqSpec::Pitch { unit } => classifier.add_unit(port, group, udp_port, unit, route),
            _ => classifier.add(port, group, udp_port, route),
        }
        .map_err(|e| format!("stream {}: {e}", s.name))?;
    }
    Ok(())
}
