//! Checks that streams do not collide: each input packet must belong to
//! exactly one (stream, leg), each output to one stream, and a stream's own
//! addresses must be sane (leg count, duplicates, one IP family).

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::addr::family;
use crate::error::ConfigError;
use crate::limits::{MAX_LEGS, MAX_NAME_LEN, MIN_LEGS};
use crate::stream::StreamConfig;
use model::SeqSpec;

/// A stream name is printable, without spaces, and short enough for logs.
pub(crate) fn check_name(name: &str, label: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_LEN
        && !name.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(format!(
            "{label}: bad stream name {name:?}: 1..={MAX_NAME_LEN} characters without spaces"
        )))
    }
}

/// Which input a leg arrives on: leg 0 on the primary port, the others on
/// the secondary port. When the two ports differ, the same group:port may
/// be used on both (ST 2022-7 networks often carry both legs on one group
/// over physically separate networks): the port tells the legs apart.
pub(crate) fn leg_side(leg: usize, split_ports: bool) -> u8 {
    u8::from(!(split_ports && leg == 0))
}

/// Checks one stream's own addresses: leg count (at least `min_legs`: 1
/// for a stream from a single-leg SDP, else [`MIN_LEGS`]), duplicates, one
/// family.
pub(crate) fn check_addresses(
    legs: &[SocketAddr],
    output: SocketAddr,
    label: &str,
    split_ports: bool,
    min_legs: usize,
) -> Result<(), ConfigError> {
    let min = min_legs.min(MIN_LEGS);
    if legs.len() < min || legs.len() > MAX_LEGS {
        return Err(ConfigError::new(format!(
            "{label}: {} legs, a stream needs {MIN_LEGS}..={MAX_LEGS}",
            legs.len()
        )));
    }
    for (i, leg) in legs.iter().enumerate() {
        let side = leg_side(i, split_ports);
        if legs[..i]
            .iter()
            .enumerate()
            .any(|(j, l)| l == leg && leg_side(j, split_ports) == side)
        {
            return Err(ConfigError::new(format!(
                "{label}: leg {leg} is listed twice"
            )));
        }
        if leg.is_ipv4() != legs[0].is_ipv4() {
            return Err(ConfigError::new(format!(
                "{label}: leg {leg} is {} but leg {} is {}; a stream's addresses must be of one family",
                family(leg.ip()),
                legs[0],
                family(legs[0].ip())
            )));
        }
    }
    if output.is_ipv4() != legs[0].is_ipv4() {
        return Err(ConfigError::new(format!(
            "{label}: output {output} is {} but leg {} is {}; a stream's addresses must be of one family",
            family(output.ip()),
            legs[0],
            family(legs[0].ip())
        )));
    }
    if legs.contains(&output) {
        return Err(ConfigError::new(format!(
            "{label}: output {output} is also one of its legs"
        )));
    }
    Ok(())
}

/// Two streams whose packets a shared leg still tells apart: `--seq
/// pitch:UNIT` streams of different units (Cboe sends several units, each
/// its own sequence space, on one group; the unit picks the stream).
fn units_apart(a: &StreamConfig, b: &StreamConfig) -> bool {
    matches!((a.seq, b.seq), (SeqSpec::Pitch { unit: x }, SeqSpec::Pitch { unit: y }) if x != y)
}

/// No two streams share a name, a leg or an output (but PITCH streams of
/// different units may share legs), and no output is another stream's
/// leg: each input packet must belong to exactly one (stream, leg) and
/// each output to one stream.
pub(crate) fn check_overlaps(
    streams: &[StreamConfig],
    labels: &[String],
    split_ports: bool,
) -> Result<(), ConfigError> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut legs: HashMap<(u8, SocketAddr), Vec<usize>> = HashMap::new();
    let mut any_leg: HashMap<SocketAddr, usize> = HashMap::new();
    let mut outputs: HashMap<SocketAddr, usize> = HashMap::new();
    for (i, s) in streams.iter().enumerate() {
        let label = &labels[i];
        if let Some(&j) = names.get(s.name.as_str()) {
            return Err(ConfigError::new(format!(
                "{label}: stream name {:?} is already used by {}",
                s.name, labels[j]
            )));
        }
        names.insert(&s.name, i);
        for (l, leg) in s.legs.iter().enumerate() {
            let key = (leg_side(l, split_ports), *leg);
            let sharers = legs.entry(key).or_default();
            if let Some(&j) = sharers
                .iter()
                .find(|&&j| j != i && !units_apart(&streams[j], s))
            {
                let why = match (streams[j].seq, s.seq) {
                    (SeqSpec::Pitch { unit }, SeqSpec::Pitch { .. }) => {
                        format!(" with the same PITCH unit {unit}")
                    }
                    _ => String::new(),
                };
                return Err(ConfigError::new(format!(
                    "{label}: leg {leg} is already a leg of stream {:?}{why} (streams share a group only as --seq pitch:UNIT streams of different units)",
                    streams[j].name
                )));
            }
            if let Some(&j) = outputs.get(leg) {
                return Err(ConfigError::new(format!(
                    "{label}: leg {leg} is the output of stream {:?}",
                    streams[j].name
                )));
            }
            if !sharers.contains(&i) {
                sharers.push(i);
            }
            any_leg.insert(*leg, i);
        }
        let output = s.out.dst();
        if let Some(&j) = outputs.get(&output) {
            return Err(ConfigError::new(format!(
                "{label}: output {output} is already the output of stream {:?}",
                streams[j].name
            )));
        }
        if let Some(&j) = any_leg.get(&output) {
            return Err(ConfigError::new(format!(
                "{label}: output {output} is a leg of stream {:?}",
                streams[j].name
            )));
        }
        outputs.insert(output, i);
    }
    Ok(())
}
