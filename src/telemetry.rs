//! The application's commands on DPDK's telemetry socket, answered from the
//! latest [`View`] snapshot (built from the published board on the main
//! lcore), never from a worker's state:
//!
//! * `/mcast_failover/streams`: how many streams and their ids;
//! * `/mcast_failover/stream,<id or name>`: one stream's counters, legs,
//!   health, its own residence percentiles (`residence_*`) and the
//!   process-wide ones (`output_residence_*`);
//! * `/mcast_failover/ports`: the ports, their roles and counters;
//! * `/mcast_failover/events[,N]`: the last N events (default 32);
//! * `/mcast_failover/reload`: asks for a live reload (as SIGHUP does); the
//!   main lcore does it and logs the outcome in one line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dataplane::dpdk::{register_telemetry, DpdkError, TelReply, TelValue};
use dataplane::worker::{LEG_NAMES, STREAM_NAMES};
use serde_json::Value;

use crate::view::View;

/// Events `/mcast_failover/events` returns without a count.
const DEFAULT_EVENTS: usize = 32;
/// Most events it returns (each a string of at most 127 bytes; the reply
/// must fit DPDK's 16 KiB output buffer).
const MAX_EVENTS: usize = 100;
/// Most ids `/mcast_failover/streams` lists (the rest are counted).
const MAX_IDS: usize = 512;

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// `/mcast_failover/streams`.
pub fn streams(v: &Value) -> TelReply {
    let n = arr(&v["streams"]).len();
    TelReply::Dict(vec![
        ("count".into(), TelValue::U64(n as u64)),
        (
            "ids".into(),
            TelValue::U64s((0..n.min(MAX_IDS) as u64).collect()),
        ),
    ])
}

/// `/mcast_failover/stream,<id>`: by index, or by name.
pub fn stream(v: &Value, param: &str) -> Option<TelReply> {
    let list = arr(&v["streams"]);
    let p = param.trim();
    let id = match p.parse::<usize>() {
        Ok(i) => i,
        Err(_) => list.iter().position(|st| st["name"].as_str() == Some(p))?,
    };
    let st = list.get(id)?;
    let legs = arr(&st["legs"]);
    let mut d = vec![
        ("id".to_string(), TelValue::U64(id as u64)),
        ("name".into(), TelValue::Str(s(st, "name"))),
        ("output".into(), TelValue::Str(s(st, "output"))),
        ("health".into(), TelValue::Str(s(st, "health"))),
        ("legs".into(), TelValue::U64(legs.len() as u64)),
        (
            "groups".into(),
            TelValue::Strs(legs.iter().map(|l| s(l, "group")).collect()),
        ),
        (
            "leg_port".into(),
            TelValue::U64s(legs.iter().map(|l| u(l, "port")).collect()),
        ),
    ];
    for name in STREAM_NAMES {
        d.push((name.to_string(), TelValue::U64(u(st, name))));
    }
    for name in LEG_NAMES {
        let values = legs
            .iter()
            .map(|l| match l.get(name) {
                Some(Value::Bool(b)) => u64::from(*b),
                _ => u(l, name),
            })
            .collect();
        d.push((format!("leg_{name}"), TelValue::U64s(values)));
    }
    let lat = &v["latency_ns"];
    for (k, q) in [
        ("p50", "p50"),
        ("p99", "p99"),
        ("p999", "p999"),
        ("max", "max"),
    ] {
        d.push((format!("output_residence_{k}_ns"), TelValue::U64(u(lat, q))));
    }
    Some(TelReply::Dict(d))
}

/// `/mcast_failover/ports`.
pub fn ports(v: &Value) -> TelReply {
    let inputs = arr(&v["inputs"]);
    let output = &v["output"];
    let all: Vec<&Value> = inputs.iter().chain(std::iter::once(output)).collect();
    let col = |f: &dyn Fn(&Value) -> u64| TelValue::U64s(all.iter().map(|p| f(p)).collect());
    let mut roles: Vec<String> = inputs.iter().map(|p| s(p, "role")).collect();
    roles.push("output".into());
    let mut d = vec![
        ("port".to_string(), col(&|p| u(p, "port"))),
        ("role".into(), TelValue::Strs(roles)),
        ("rx_packets".into(), col(&|p| u(&p["rx"], "packets"))),
        ("rx_not_merged".into(), col(&|p| u(&p["rx"], "not_merged"))),
        ("tx_packets".into(), col(&|p| u(&p["tx"], "packets"))),
        (
            "tx_nic_refused".into(),
            col(&|p| u(&p["tx"], "nic_refused")),
        ),
    ];
    for k in [
        "ipackets",
        "opackets",
        "imissed",
        "ierrors",
        "oerrors",
        "rx_nombuf",
    ] {
        d.push((format!("nic_{k}"), col(&|p| u(&p["nic"], k))));
    }
    TelReply::Dict(d)
}

/// `/mcast_failover/events[,N]`: newest last, one line each.
pub fn events(v: &Value, param: &str) -> Option<TelReply> {
    let n = match param.trim() {
        "" => DEFAULT_EVENTS,
        p => p.parse::<usize>().ok()?.min(MAX_EVENTS),
    };
    let all = arr(&v["events"]);
    let lines = all[all.len().saturating_sub(n)..]
        .iter()
        .map(|e| {
            format!(
                "t={}s {}: {}",
                e["t_s"].as_f64().unwrap_or(0.0),
                s(e, "stream"),
                s(e, "text")
            )
        })
        .collect();
    Some(TelReply::Strs(lines))
}

/// Registers the commands; they answer from `view` for the rest of the
/// process (DPDK cannot unregister a command).
pub fn register(view: Arc<View>, reload: Arc<AtomicBool>) -> Result<(), DpdkError> {
    register_telemetry(
        "/mcast_failover/reload",
        "Re-reads --config and applies the stream changes (as SIGHUP). No parameters",
        Box::new(move |_| {
            reload.store(true, Ordering::Relaxed);
            Some(TelReply::Dict(vec![(
                "reload".into(),
                TelValue::Str("requested".into()),
            )]))
        }),
    )?;
    let v = view.clone();
    register_telemetry(
        "/mcast_failover/streams",
        "Returns the number of merged streams and their ids. No parameters",
        Box::new(move |_| Some(streams(&v.latest().json))),
    )?;
    let v = view.clone();
    register_telemetry(
        "/mcast_failover/stream",
        "Returns one stream's counters, legs and health. Parameter: stream id or name",
        Box::new(move |p| stream(&v.latest().json, p)),
    )?;
    let v = view.clone();
    register_telemetry(
        "/mcast_failover/ports",
        "Returns the ports, their roles and counters. No parameters",
        Box::new(move |_| Some(ports(&v.latest().json))),
    )?;
    register_telemetry(
        "/mcast_failover/events",
        "Returns the last events, newest last. Parameter: how many (default 32, at most 100)",
        Box::new(move |p| events(&view.latest().json, p)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "streams": [
                {"name": "a", "output": "239.10.0.1:5004", "health": "healthy", "sent": 9,
                 "residence_count": 9, "residence_p99_ns": 150,
                 "legs": [{"leg": 0, "up": true, "group": "239.1.0.1:5000", "port": 0, "received": 5},
                          {"leg": 1, "up": false, "group": "239.2.0.1:5000", "port": 1, "received": 4}]},
                {"name": "b", "legs": []}
            ],
            "inputs": [{"port": 0, "role": "primary", "rx": {"packets": 5}, "nic": {"ipackets": 6}}],
            "output": {"port": 2, "tx": {"packets": 9}},
            "latency_ns": {"p50": 100, "p99": 200, "p999": 300, "max": 400},
            "events": [{"t_s": 0.5, "stream": "a", "event": "leg_down", "text": "leg 1 down"},
                       {"t_s": 1.5, "stream": "a", "event": "leg_up", "text": "leg 1 up"}],
        })
    }

    fn get<'a>(r: &'a TelReply, k: &str) -> &'a TelValue {
        match r {
            TelReply::Dict(d) => &d.iter().find(|(n, _)| n == k).unwrap().1,
            _ => panic!("not a dict"),
        }
    }

    #[test]
    fn stream_by_id_or_name_with_leg_columns() {
        let v = doc();
        let r = stream(&v, "0").unwrap();
        assert_eq!(stream(&v, "a"), Some(r.clone()));
        assert_eq!(get(&r, "sent"), &TelValue::U64(9));
        assert_eq!(get(&r, "leg_up"), &TelValue::U64s(vec![1, 0]));
        assert_eq!(get(&r, "leg_received"), &TelValue::U64s(vec![5, 4]));
        assert_eq!(get(&r, "health"), &TelValue::Str("healthy".into()));
        assert_eq!(get(&r, "output_residence_p99_ns"), &TelValue::U64(200));
        // The stream's own residence beside the process-wide figure.
        assert_eq!(get(&r, "residence_p99_ns"), &TelValue::U64(150));
        assert_eq!(get(&r, "residence_count"), &TelValue::U64(9));
        assert_eq!(stream(&v, "7"), None);
        assert_eq!(stream(&v, "zz"), None);
    }

    #[test]
    fn lists_ports_streams_and_events() {
        let v = doc();
        assert_eq!(get(&streams(&v), "ids"), &TelValue::U64s(vec![0, 1]));
        let p = ports(&v);
        assert_eq!(get(&p, "port"), &TelValue::U64s(vec![0, 2]));
        assert_eq!(get(&p, "tx_packets"), &TelValue::U64s(vec![0, 9]));
        assert_eq!(get(&p, "nic_ipackets"), &TelValue::U64s(vec![6, 0]));
        assert_eq!(
            events(&v, "1"),
            Some(TelReply::Strs(vec!["t=1.5s a: leg 1 up".into()]))
        );
        assert_eq!(events(&v, "x"), None);
    }
}
