//! The stats block (testpmd style) and `--stats-json`, both built from one
//! JSON snapshot of the workers' board plus the NICs' own counters.

use std::time::Instant;

use dataplane::dpdk::{Mempool, Port, PortStats};
use dataplane::wire::DropReason;
use dataplane::worker::{RxCounters, Shared, TxCounters, LEG_NAMES, STREAM_NAMES};
use serde_json::{json, Map, Value};

use crate::events::EventLog;

/// Streams printed in the text block (all of them go to the JSON).
const TEXT_STREAMS: usize = 16;

/// Builds snapshots and remembers the previous one for rates.
#[derive(Clone)]
pub struct Reporter {
    inputs: Vec<(u16, String)>,
    output: u16,
    names: Vec<String>,
    outputs: Vec<String>,
    legs: Vec<Vec<(String, u16)>>,
    /// Board ids of the running streams, in the order they are listed.
    ids: Vec<usize>,
    /// How the inputs reach the workers (`Steering::describe`).
    steering: String,
    start: Instant,
    prev: Option<(Instant, u64, u64, u64, u64)>,
}

fn nic_json(s: &PortStats) -> Value {
    json!({
        "ipackets": s.ipackets, "opackets": s.opackets,
        "ibytes": s.ibytes, "obytes": s.obytes,
        "imissed": s.imissed, "ierrors": s.ierrors,
        "oerrors": s.oerrors, "rx_nombuf": s.rx_nombuf,
    })
}

fn named(names: &[&str], words: &[u64]) -> Map<String, Value> {
    names
        .iter()
        .zip(words)
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect()
}

fn rx_json(c: &RxCounters) -> Value {
    let mut m = named(&RxCounters::NAMES, &c.to_words());
    let drops: Map<String, Value> = DropReason::ALL
        .iter()
        .map(|r| (r.name().to_string(), json!(c.drops[r.index()])))
        .collect();
    m.insert("not_merged".into(), json!(c.not_merged()));
    m.insert("drops".into(), Value::Object(drops));
    Value::Object(m)
}

fn tx_json(c: &TxCounters) -> Value {
    Value::Object(named(&TxCounters::NAMES, &c.to_words()))
}

fn u(v: &Value, k: &str) -> u64 {
    v.get(k).and_then(Value::as_u64).unwrap_or(0)
}

impl Reporter {
    /// A reporter for input ports `inputs` (id, role) and `output`;
    /// stream `s` is named `names[s]`, goes to `outputs[s]` and has legs
    /// `legs[s]` (group:port, input port).
    pub fn new(
        inputs: Vec<(u16, String)>,
        output: u16,
        names: Vec<String>,
        outputs: Vec<String>,
        legs: Vec<Vec<(String, u16)>>,
    ) -> Self {
        Reporter {
            inputs,
            output,
            ids: (0..names.len()).collect(),
            steering: String::from("software"),
            names,
            outputs,
            legs,
            start: Instant::now(),
            prev: None,
        }
    }

    /// The reporter, saying the inputs are steered as `steering` says.
    pub fn steered(self, steering: String) -> Self {
        Reporter { steering, ..self }
    }

    /// Live reload: stream id `id` is now `name` to `output` with `legs`
    /// (listed from now on).
    pub fn set_stream(
        &mut self,
        id: usize,
        name: String,
        output: String,
        legs: Vec<(String, u16)>,
    ) {
        if self.names.len() <= id {
            self.names.resize(id + 1, String::new());
            self.outputs.resize(id + 1, String::new());
            self.legs.resize(id + 1, Vec::new());
        }
        self.names[id] = name;
        self.outputs[id] = output;
        self.legs[id] = legs;
        if !self.ids.contains(&id) {
            self.ids.push(id);
        }
    }

    /// Live reload: stream id `id` stopped (no longer listed).
    pub fn remove_stream(&mut self, id: usize) {
        self.ids.retain(|&i| i != id);
    }

    /// The JSON of stream `id` as the board shows it now.
    pub fn stream_json(&self, shared: &Shared, s: usize) -> Value {
        let f = shared.layout.get_stream(&shared.board, s);
        let mut m = named(&STREAM_NAMES, &f.stream);
        m.insert("id".into(), json!(s));
        m.insert("name".into(), json!(self.names.get(s)));
        m.insert("output".into(), json!(self.outputs.get(s)));
        let n = self.legs.get(s).map_or(f.legs.len(), Vec::len);
        let legs: Vec<Value> = f
            .legs
            .iter()
            .take(n)
            .enumerate()
            .map(|(l, w)| {
                let mut lm = named(&LEG_NAMES, w);
                lm.insert("up".into(), json!(f.leg_status(l).up != 0));
                lm.insert("leg".into(), json!(l));
                if let Some((group, port)) = self.legs.get(s).and_then(|v| v.get(l)) {
                    lm.insert("group".into(), json!(group));
                    lm.insert("port".into(), json!(port));
                }
                Value::Object(lm)
            })
            .collect();
        m.insert("legs".into(), Value::Array(legs));
        Value::Object(m)
    }

    /// A snapshot of everything, as JSON.
    pub fn snapshot(
        &mut self,
        shared: &Shared,
        ports: &[&Port<'_>],
        pool: &Mempool<'_>,
        events: &EventLog,
        final_: bool,
    ) -> Value {
        let layout = &shared.layout;
        let board = &shared.board;
        let now = Instant::now();
        let nic = |id: u16| {
            ports
                .iter()
                .find(|p| p.id() == id)
                .and_then(|p| p.stats().ok())
        };
        let mut in_pkts = 0;
        let mut in_bytes = 0;
        let inputs: Vec<Value> = self
            .inputs
            .iter()
            .enumerate()
            .map(|(i, (id, role))| {
                let c = layout.get_rx(board, i);
                in_pkts += c.packets;
                in_bytes += c.bytes;
                let mut v = json!({ "port": id, "role": role, "rx": rx_json(&c) });
                if layout.lanes() > 1 {
                    // Flow steering: what each worker's own queue got.
                    let queues: Vec<Value> = (0..layout.lanes())
                        .map(|q| json!({ "queue": q, "rx": rx_json(&layout.get_rx_lane(board, i, q)) }))
                        .collect();
                    v["rx_queues"] = Value::Array(queues);
                }
                if let Some(s) = nic(*id) {
                    v["nic"] = nic_json(&s);
                }
                v
            })
            .collect();
        let tx = layout.get_tx(board);
        let mut output = json!({ "port": self.output, "tx": tx_json(&tx) });
        if let Some(s) = nic(self.output) {
            output["nic"] = nic_json(&s);
        }
        if layout.workers() > 1 {
            // Sharded: each merge worker's own tx queue and residence time.
            let workers: Vec<Value> = (0..layout.workers())
                .map(|w| {
                    let h = layout.get_latency_of(board, w);
                    json!({
                        "worker": w,
                        "tx_queue": w,
                        "tx": tx_json(&layout.get_tx_of(board, w)),
                        "residence_p99_ns": h.quantile(0.99),
                    })
                })
                .collect();
            output["workers"] = Value::Array(workers);
        }
        let lat = layout.get_latency(board);
        let (mut sent, mut unrec, mut switches, mut restarts, mut subst) = (0, 0, 0, 0, 0);
        let streams: Vec<Value> = self
            .ids
            .iter()
            .map(|&s| {
                let c = layout.get_stream(board, s).counters();
                sent += c.sent;
                subst += c.substituted;
                unrec += c.unrecoverable;
                switches += c.switches;
                restarts += c.restarts;
                self.stream_json(shared, s)
            })
            .collect();
        let dt_rates = match self.prev {
            Some((t, ip, ib, op, ob)) => {
                let dt = now.duration_since(t).as_secs_f64().max(1e-9);
                json!({
                    "interval_s": dt,
                    "input_pps": ((in_pkts - ip.min(in_pkts)) as f64 / dt).round(),
                    "output_pps": ((tx.packets - op.min(tx.packets)) as f64 / dt).round(),
                    "input_mbps": ((in_bytes - ib.min(in_bytes)) as f64 * 8.0 / dt / 1e6),
                    "output_mbps": ((tx.bytes - ob.min(tx.bytes)) as f64 * 8.0 / dt / 1e6),
                })
            }
            None => Value::Null,
        };
        if !final_ {
            self.prev = Some((now, in_pkts, in_bytes, tx.packets, tx.bytes));
        }
        let uptime = now.duration_since(self.start).as_secs_f64();
        json!({
            "uptime_s": uptime,
            "final": final_,
            "mempool": { "name": pool.name(), "size": pool.size(), "in_use": pool.in_use(), "avail": pool.avail() },
            "steering": self.steering,
            "inputs": inputs,
            "output": output,
            "rates": dt_rates,
            "average": {
                "input_pps": (in_pkts as f64 / uptime.max(1e-9)).round(),
                "output_pps": (tx.packets as f64 / uptime.max(1e-9)).round(),
            },
            "latency_ns": {
                "count": lat.count(), "mean": lat.mean().round(),
                "p50": lat.quantile(0.5), "p99": lat.quantile(0.99),
                "p999": lat.quantile(0.999), "max": lat.max(),
            },
            "totals": {
                "input_packets": in_pkts, "sent": sent, "substituted": subst,
                "unrecoverable": unrec, "switches": switches, "restarts": restarts,
            },
            "streams": streams,
            "events": events.json(),
            "events_total": events.total,
            "events_lost": shared.events_lost.load(std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// Prints the testpmd-style block for a snapshot.
    pub fn print(v: &Value) {
        let title = if v["final"].as_bool() == Some(true) {
            "Final statistics".to_string()
        } else {
            format!(
                "Statistics at {:.1} s",
                v["uptime_s"].as_f64().unwrap_or(0.0)
            )
        };
        let mut o = String::new();
        o.push_str(&format!("\n  {:#^72}\n", format!(" {title} ")));
        for inp in v["inputs"].as_array().into_iter().flatten() {
            let rx = &inp["rx"];
            // Every part of not-merged that is not 0 (the first three always),
            // so the breakdown adds up to the total.
            let scalars = ["multi_segment", "handoff_full"]
                .into_iter()
                .map(|k| (k.to_string(), u(rx, k)));
            let reasons = rx["drops"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)));
            let drops: Vec<String> = scalars
                .chain(reasons)
                .filter(|(_, n)| *n != 0)
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            o.push_str(&format!(
                "  Input port {} ({}): RX-packets {} RX-bytes {} not-merged {} [unknown_flow {} bad_seq {} wrong_source {}{}{}] NIC-missed {} NIC-no-mbuf {} NIC-errors {}\n",
                inp["port"],
                inp["role"].as_str().unwrap_or(""),
                u(rx, "packets"),
                u(rx, "bytes"),
                u(rx, "not_merged"),
                u(rx, "unknown_flow"),
                u(rx, "bad_seq"),
                u(rx, "wrong_source"),
                if drops.is_empty() { "" } else { " " },
                drops.join(" "),
                u(&inp["nic"], "imissed"),
                u(&inp["nic"], "rx_nombuf"),
                u(&inp["nic"], "ierrors"),
            ));
        }
        for m in v["membership"].as_array().into_iter().flatten() {
            let fams: Vec<String> = m["families"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{} from {} mode {} querier {}",
                        f["protocol"].as_str().unwrap_or(""),
                        f["source"].as_str().unwrap_or(""),
                        f["compat"].as_str().unwrap_or(""),
                        f["querier"].as_str().unwrap_or("none"),
                    )
                })
                .collect();
            o.push_str(&format!(
                "  Membership port {}: reports {} leaves {} queries general {} group {} source {} [{}]\n",
                m["port"],
                u(m, "reports_sent"),
                u(m, "leaves_sent"),
                u(m, "general_queries"),
                u(m, "group_queries"),
                u(m, "source_queries"),
                fams.join("; "),
            ));
        }
        let tx = &v["output"]["tx"];
        o.push_str(&format!(
            "  Output port {}: TX-packets {} TX-bytes {} refused {} rewrite-errors {} NIC-errors {}\n",
            v["output"]["port"],
            u(tx, "packets"),
            u(tx, "bytes"),
            u(tx, "nic_refused"),
            u(tx, "rewrite_errors"),
            u(&v["output"]["nic"], "oerrors"),
        ));
        if let Some(r) = v["rates"].as_object() {
            let f = |k: &str| r.get(k).and_then(Value::as_f64).unwrap_or(0.0);
            o.push_str(&format!(
                "  Rates: in {:.0} pps ({:.1} Mbit/s), out {:.0} pps ({:.1} Mbit/s)\n",
                f("input_pps"),
                f("input_mbps"),
                f("output_pps"),
                f("output_mbps"),
            ));
        }
        let l = &v["latency_ns"];
        o.push_str(&format!(
            "  Residence (ns): p50 {} p99 {} p99.9 {} max {} over {} packets\n",
            l["p50"], l["p99"], l["p999"], l["max"], l["count"]
        ));
        let m = &v["mempool"];
        o.push_str(&format!(
            "  Mempool {}: {} in use of {}\n",
            m["name"].as_str().unwrap_or(""),
            m["in_use"],
            m["size"]
        ));
        let streams = v["streams"].as_array().cloned().unwrap_or_default();
        let ms = |v: &Value, k: &str| u(v, k) as f64 / 1e6;
        for s in streams.iter().take(TEXT_STREAMS) {
            o.push_str(&format!(
                "  Stream {} -> {}: {} sent {} substituted {} unrecoverable {} (given up early, then arrived: {}) switches {} restarts {} held {}\n",
                s["name"].as_str().unwrap_or(""),
                s["output"].as_str().unwrap_or(""),
                s["health"].as_str().unwrap_or("unknown"),
                u(s, "sent"),
                u(s, "substituted"),
                u(s, "unrecoverable"),
                u(s, "lost_early"),
                u(s, "switches"),
                u(s, "restarts"),
                u(s, "held"),
            ));
            o.push_str(&format!(
                "    skew (ms, {} recent samples): min {:.3} p50 {:.3} p99 {:.3} max {:.3} jitter {:.3}\n",
                u(s, "skew_samples"),
                ms(s, "skew_min_ns"),
                ms(s, "skew_p50_ns"),
                ms(s, "skew_p99_ns"),
                ms(s, "skew_max_ns"),
                ms(s, "skew_jitter_ns"),
            ));
            if u(s, "residence_count") > 0 {
                o.push_str(&format!(
                    "    residence (ms, {} packets): p50 {:.3} p99 {:.3} p999 {:.3} max {:.3}\n",
                    u(s, "residence_count"),
                    ms(s, "residence_p50_ns"),
                    ms(s, "residence_p99_ns"),
                    ms(s, "residence_p999_ns"),
                    ms(s, "residence_max_ns"),
                ));
            }
            if u(s, "payload_mismatch") > 0 {
                o.push_str(&format!(
                    "    payload mismatch: {} copies differed from the copy sent at their position\n",
                    u(s, "payload_mismatch"),
                ));
            }
            if u(s, "messages_sent") != u(s, "sent") || u(s, "messages_duplicate") > 0 {
                o.push_str(&format!(
                    "    messages: sent {} duplicate {}\n",
                    u(s, "messages_sent"),
                    u(s, "messages_duplicate"),
                ));
            }
            for leg in s["legs"].as_array().into_iter().flatten() {
                o.push_str(&format!(
                    "    leg {} {:4}: received {} used {} duplicates {} late {} corrupt {} out-of-order {} wild {} reorder-depth {} lag {:.3} ms\n",
                    leg["leg"],
                    if leg["up"].as_bool() == Some(true) { "UP" } else { "DOWN" },
                    u(leg, "received"),
                    u(leg, "used"),
                    u(leg, "duplicates"),
                    u(leg, "late"),
                    u(leg, "corrupt"),
                    u(leg, "out_of_order"),
                    u(leg, "wild"),
                    u(leg, "reorder_depth"),
                    ms(leg, "lag_ns"),
                ));
            }
        }
        if streams.len() > TEXT_STREAMS {
            let t = &v["totals"];
            o.push_str(&format!(
                "  ... {} more streams (see --stats-json); all streams: sent {} unrecoverable {} switches {} restarts {}\n",
                streams.len() - TEXT_STREAMS,
                t["sent"],
                t["unrecoverable"],
                t["switches"],
                t["restarts"]
            ));
        }
        o.push_str(&format!("  {:#^72}\n", ""));
        print!("{o}");
    }
}
