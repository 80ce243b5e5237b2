//! The Prometheus text exposition (format 0.0.4) of one [`Snapshot`].
//!
//! Every figure comes from the snapshot the main loop built from the
//! published board; names follow Prometheus conventions (`_total` for
//! counters, base units), and each family is written once with its HELP
//! and TYPE so `promtool check metrics` accepts the page as is.

use std::fmt::Write;

use dataplane::worker::{RxCounters, TxCounters, LEG_NAMES, STREAM_NAMES};
use serde_json::Value;

use crate::health::Health;
use crate::view::Snapshot;

/// Prefix of every metric name.
const NS: &str = "mcast_failover";

/// Residence buckets per power of two (real edges of the histogram).
const EDGES_PER_OCTAVE: u32 = 2;

/// What a stream counter means, for its HELP line.
fn stream_help(name: &str) -> &'static str {
    match name {
        "sent" => "Packets of the merged stream sent",
        "substituted" => "Packets sent from a leg other than the preferred one",
        "unrecoverable" => "Positions missing on every leg, skipped",
        "gaps" => "Runs of unrecoverable positions",
        "switches" => "Changes of the leg the output is taken from",
        "restarts" => "Source restarts (SSRC change or sequence jump) resynchronised",
        "overruns" => "Packets that did not fit in the slot window",
        "messages_sent" => "Sequence numbers sent (MoldUDP64 messages; 1 a packet otherwise)",
        "messages_duplicate" => "Messages of good copies not sent because they already had been",
        "payload_mismatch" => {
            "Good copies whose payload differs from the copy sent at their position"
        }
        "residence_p50_ns" => {
            "Median time from the stream's packets' arrival to their transmission (its own histogram, 4 buckets per octave)"
        }
        "residence_p99_ns" => {
            "99th percentile of the time from the stream's packets' arrival to their transmission (its own histogram, 4 buckets per octave)"
        }
        _ => "Stream counter",
    }
}

/// Whether a stream word gets its own per-stream family: not `held` (a
/// family of its own below), and of the stream's residence only p50 and
/// p99 as gauges.
///
/// Why: a per-stream residence histogram family would be streams x
/// buckets series (10 000 streams, a million series); two gauges a
/// stream keep a scrape small, the process-wide histogram keeps the
/// buckets, and the other figures are in telemetry and the stats JSON.
fn exported(name: &str) -> bool {
    name != "held"
        && (!name.starts_with("residence_")
            || matches!(name, "residence_p50_ns" | "residence_p99_ns"))
}

/// Escapes a label value (backslash, double quote, newline).
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '"' => o.push_str("\\\""),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o
}

/// `{k="v",...}` from pairs.
fn labels(pairs: &[(&str, String)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// One metric family: HELP, TYPE and its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn head(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {NS}_{name} {help}");
        let _ = writeln!(self.out, "# TYPE {NS}_{name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &str, v: impl std::fmt::Display) {
        let _ = writeln!(self.out, "{NS}_{name}{labels} {v}");
    }
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

fn s<'v>(v: &'v Value, k: &str) -> &'v str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or(&[])
}

/// The labels of a stream: name, output and its legs' groups.
fn stream_labels(st: &Value) -> Vec<(&'static str, String)> {
    let groups: Vec<&str> = arr(&st["legs"]).iter().map(|l| s(l, "group")).collect();
    vec![
        ("stream", s(st, "name").to_string()),
        ("output", s(st, "output").to_string()),
        ("groups", groups.join(",")),
    ]
}

/// The labels of one leg: its stream, index, group and input port.
fn leg_labels(st: &Value, leg: &Value) -> String {
    labels(&[
        ("stream", s(st, "name").to_string()),
        ("leg", u(leg, "leg").to_string()),
        ("group", s(leg, "group").to_string()),
        ("port", u(leg, "port").to_string()),
    ])
}

/// Seconds from nanoseconds, exactly as decimal text.
fn ns_as_seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// How a board word is exported: counters are cumulative (`_total`);
/// words that are a state now (a skew, a depth, a lag) are gauges, and
/// nanoseconds are exported in seconds.
struct Word {
    metric: String,
    kind: &'static str,
    nanos: bool,
}

impl Word {
    fn of(group: &str, name: &str) -> Word {
        if let Some(base) = name.strip_suffix("_ns") {
            return Word {
                metric: format!("{group}_{base}_seconds"),
                kind: "gauge",
                nanos: true,
            };
        }
        let gauge = name.contains("depth") || name.starts_with("skew") || name.starts_with("lag");
        Word {
            metric: if gauge {
                format!("{group}_{name}")
            } else {
                format!("{group}_{name}_total")
            },
            kind: if gauge { "gauge" } else { "counter" },
            nanos: false,
        }
    }

    /// The sample value of `name` in `obj`, as text.
    fn value(&self, obj: &Value, name: &str) -> String {
        let x = &obj[name];
        match (self.nanos, x.as_u64(), x.as_i64()) {
            (true, Some(n), _) => ns_as_seconds(n),
            (true, None, Some(n)) => format!("-{}", ns_as_seconds(n.unsigned_abs())),
            (false, Some(n), _) => n.to_string(),
            (false, None, Some(n)) => n.to_string(),
            _ => "0".to_string(),
        }
    }
}

/// Renders the whole page.
pub fn render(snap: &Snapshot, build: &[(&str, String)]) -> String {
    let v = &snap.json;
    let mut out = String::new();
    let mut f = Family { out: &mut out };

    f.head(
        "build_info",
        "gauge",
        "Version of the running binary and of DPDK (value 1)",
    );
    f.sample("build_info", &labels(build), 1);
    f.head(
        "uptime_seconds",
        "gauge",
        "Seconds since the monitor started",
    );
    f.sample("uptime_seconds", "", v["uptime_s"].as_f64().unwrap_or(0.0));

    let streams = arr(&v["streams"]);
    for name in STREAM_NAMES.iter().filter(|n| exported(n)) {
        let w = Word::of("stream", name);
        f.head(&w.metric, w.kind, stream_help(name));
        for st in streams {
            f.sample(&w.metric, &labels(&stream_labels(st)), w.value(st, name));
        }
    }
    f.head(
        "stream_held",
        "gauge",
        "Packets the merge holds for the stream now",
    );
    for st in streams {
        f.sample("stream_held", &labels(&stream_labels(st)), u(st, "held"));
    }
    f.head("stream_legs", "gauge", "Legs configured for the stream");
    for st in streams {
        f.sample(
            "stream_legs",
            &labels(&stream_labels(st)),
            arr(&st["legs"]).len(),
        );
    }
    f.head("stream_legs_up", "gauge", "Legs of the stream up now");
    for st in streams {
        let up = arr(&st["legs"])
            .iter()
            .filter(|l| l["up"].as_bool() == Some(true))
            .count();
        f.sample("stream_legs_up", &labels(&stream_labels(st)), up);
    }
    f.head(
        "stream_health",
        "gauge",
        "Reported health (NMOS BCP-008-01 style): 1 for the state in force, after --health-hold",
    );
    for st in streams {
        let now = s(st, "health");
        for h in Health::ALL {
            let mut l = stream_labels(st);
            l.push(("state", h.name().to_string()));
            f.sample("stream_health", &labels(&l), u64::from(now == h.name()));
        }
    }

    f.head(
        "leg_up",
        "gauge",
        "1 while the leg delivers good packets within leg-timeout",
    );
    for st in streams {
        for leg in arr(&st["legs"]) {
            let up = leg["up"].as_bool() == Some(true);
            f.sample("leg_up", &leg_labels(st, leg), u64::from(up));
        }
    }
    for name in LEG_NAMES.iter().filter(|n| **n != "up") {
        let w = Word::of("leg", name);
        let help = if w.kind == "counter" {
            format!("Packets of the leg counted {name}")
        } else {
            format!("The leg's {name} now")
        };
        f.head(&w.metric, w.kind, &help);
        for st in streams {
            for leg in arr(&st["legs"]) {
                f.sample(&w.metric, &leg_labels(st, leg), w.value(leg, name));
            }
        }
    }

    let inputs = arr(&v["inputs"]);
    let in_labels = |i: &Value| {
        labels(&[
            ("port", u(i, "port").to_string()),
            ("role", s(i, "role").to_string()),
        ])
    };
    for name in RxCounters::NAMES {
        let metric = format!("input_{name}_total");
        f.head(
            &metric,
            "counter",
            &format!("Input port {name} as the rx stage counted"),
        );
        for i in inputs {
            f.sample(&metric, &in_labels(i), u(&i["rx"], name));
        }
    }
    f.head(
        "input_dropped_total",
        "counter",
        "Input packets the frame parser dropped, by reason",
    );
    for i in inputs {
        for (reason, n) in i["rx"]["drops"].as_object().into_iter().flatten() {
            let l = labels(&[
                ("port", u(i, "port").to_string()),
                ("role", s(i, "role").to_string()),
                ("reason", reason.clone()),
            ]);
            f.sample("input_dropped_total", &l, n.as_u64().unwrap_or(0));
        }
    }
    let output = &v["output"];
    let out_labels = labels(&[("port", u(output, "port").to_string())]);
    for name in TxCounters::NAMES {
        let metric = format!("output_{name}_total");
        f.head(
            &metric,
            "counter",
            &format!("Output port {name} as the tx stage counted"),
        );
        f.sample(&metric, &out_labels, u(&output["tx"], name));
    }
    let nic_names: Vec<String> = output["nic"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for name in &nic_names {
        let metric = format!("nic_{name}_total");
        f.head(&metric, "counter", &format!("The NIC's own {name} counter"));
        for p in inputs.iter().chain(std::iter::once(output)) {
            let l = labels(&[("port", u(p, "port").to_string())]);
            f.sample(&metric, &l, u(&p["nic"], name));
        }
    }

    let m = &v["mempool"];
    let pool = labels(&[("pool", s(m, "name").to_string())]);
    f.head("mempool_in_use", "gauge", "Mbufs of the packet pool in use");
    f.sample("mempool_in_use", &pool, u(m, "in_use"));
    f.head("mempool_size", "gauge", "Mbufs in the packet pool");
    f.sample("mempool_size", &pool, u(m, "size"));
    f.head("events_total", "counter", "Events the workers raised");
    f.sample("events_total", "", u(v, "events_total"));
    f.head(
        "events_lost_total",
        "counter",
        "Events lost because the event queue was full",
    );
    f.sample("events_lost_total", "", u(v, "events_lost"));

    let h = &snap.residence;
    f.head(
        "residence_seconds",
        "histogram",
        "Time from a packet's arrival to its transmission (bucket edges are the histogram's own)",
    );
    for (edge, below) in h.counts_below_edges(EDGES_PER_OCTAVE) {
        // Values are whole nanoseconds: `< edge` is `<= edge - 1`.
        let le = ns_as_seconds(edge.saturating_sub(1));
        f.sample("residence_seconds_bucket", &labels(&[("le", le)]), below);
    }
    f.sample(
        "residence_seconds_bucket",
        &labels(&[("le", "+Inf".to_string())]),
        h.count(),
    );
    f.sample("residence_seconds_sum", "", ns_as_seconds(h.sum()));
    f.sample("residence_seconds_count", "", h.count());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dataplane::stats::LatencyHistogram;
    use serde_json::json;

    #[test]
    fn seconds_text_is_exact() {
        assert_eq!(ns_as_seconds(0), "0");
        assert_eq!(ns_as_seconds(63), "0.000000063");
        assert_eq!(ns_as_seconds(1_500_000_000), "1.5");
        assert_eq!(ns_as_seconds(2_000_000_000), "2");
    }

    #[test]
    fn counters_gauges_and_nanoseconds() {
        let c = Word::of("stream", "sent");
        assert_eq!(
            (c.metric.as_str(), c.kind),
            ("stream_sent_total", "counter")
        );
        let g = Word::of("stream", "reorder_depth");
        assert_eq!(
            (g.metric.as_str(), g.kind),
            ("stream_reorder_depth", "gauge")
        );
        let ns = Word::of("leg", "skew_p99_ns");
        assert_eq!(
            (ns.metric.as_str(), ns.kind),
            ("leg_skew_p99_seconds", "gauge")
        );
        let v = json!({"skew_p99_ns": 1_500_000, "lag_ns": -2_000});
        assert_eq!(ns.value(&v, "skew_p99_ns"), "0.0015");
        assert_eq!(Word::of("leg", "lag_ns").value(&v, "lag_ns"), "-0.000002");
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(
            labels(&[("a", "x\"y\\z\n".into())]),
            "{a=\"x\\\"y\\\\z\\n\"}"
        );
    }

    #[test]
    fn page_has_streams_legs_and_a_cumulative_histogram() {
        let mut h = LatencyHistogram::new();
        for v in [100, 1_000, 10_000] {
            h.record(v);
        }
        let json = json!({
            "uptime_s": 1.0,
            "streams": [{
                "name": "cam1", "output": "239.10.0.1:5004", "sent": 7, "held": 1,
                "residence_count": 7, "residence_p50_ns": 12_288, "residence_p99_ns": 40_960,
                "residence_max_ns": 41_000,
                "health": "partially_healthy",
                "legs": [
                    {"leg": 0, "up": true, "group": "239.1.0.1:5000", "port": 0, "received": 4},
                    {"leg": 1, "up": false, "group": "239.2.0.1:5000", "port": 1, "received": 3}
                ]
            }],
            "inputs": [], "output": {"port": 2, "tx": {"packets": 7}},
            "mempool": {"name": "mf_pool", "in_use": 3, "size": 8191},
        });
        let page = render(&Snapshot { json, residence: h }, &[("version", "x".into())]);
        let labels =
            "{stream=\"cam1\",output=\"239.10.0.1:5004\",groups=\"239.1.0.1:5000,239.2.0.1:5000\"}";
        assert!(page.contains(&format!("mcast_failover_stream_sent_total{labels} 7")));
        assert!(page.contains(&format!("mcast_failover_stream_legs_up{labels} 1")));
        assert!(page.contains(&format!(
            "mcast_failover_stream_residence_p50_seconds{labels} 0.000012288\n"
        )));
        assert!(page.contains(&format!(
            "mcast_failover_stream_residence_p99_seconds{labels} 0.00004096\n"
        )));
        assert!(page.contains("# TYPE mcast_failover_stream_residence_p99_seconds gauge\n"));
        assert!(!page.contains("stream_residence_max"), "only p50 and p99");
        assert!(!page.contains("stream_residence_count"), "only p50 and p99");
        assert!(page.contains(
            "mcast_failover_leg_up{stream=\"cam1\",leg=\"1\",group=\"239.2.0.1:5000\",port=\"1\"} 0"
        ));
        assert!(page.contains("state=\"partially_healthy\"} 1"));
        assert!(page.contains("state=\"healthy\"} 0"));
        assert!(page.contains("mcast_failover_residence_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(page.contains("mcast_failover_residence_seconds_count 3"));
        assert!(page.contains("mcast_failover_residence_seconds_sum 0.0000111"));
        // Buckets never decrease.
        let counts: Vec<u64> = page
            .lines()
            .filter(|l| l.starts_with("mcast_failover_residence_seconds_bucket"))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]));
        // Below 128 ns: the 100 ns value; below 1024 ns: 100 and 1000.
        assert!(page.contains("_bucket{le=\"0.000000127\"} 1\n"), "{page}");
        assert!(page.contains("_bucket{le=\"0.000001023\"} 2\n"), "{page}");
        assert_eq!(counts.last(), Some(&3));
    }
}
