//! Merge events, moved from the workers' queue to the log and the JSON.

use std::collections::VecDeque;

use dataplane::merge::EventKind;
use dataplane::worker::Shared;
use serde_json::{json, Value};

/// Events kept for `--stats-json`.
const KEEP: usize = 1000;

/// Turns worker events into log lines with seconds since start.
pub struct EventLog {
    names: Vec<String>,
    hz: f64,
    start_tsc: u64,
    recent: VecDeque<Value>,
    /// Events seen, by kind (for the summary).
    pub total: u64,
}

fn kind_tag(k: &EventKind) -> (&'static str, Value) {
    match *k {
        EventKind::LegDown { leg } => ("leg_down", json!({ "leg": leg })),
        EventKind::LegUp { leg } => ("leg_up", json!({ "leg": leg })),
        EventKind::Switch { from, to } => ("switch", json!({ "from": from, "to": to })),
        EventKind::SourceRestart {
            leg,
            epoch,
            source,
            first_seq,
        } => (
            "source_restart",
            json!({ "leg": leg, "epoch": epoch, "source": source, "first_seq": first_seq }),
        ),
        EventKind::Gap { first_seq, count } => {
            ("gap", json!({ "first_seq": first_seq, "count": count }))
        }
    }
}

impl EventLog {
    /// A log for streams named `names`, with TSC at `hz` started at `start_tsc`.
    pub fn new(names: Vec<String>, hz: u64, start_tsc: u64) -> Self {
        EventLog {
            names,
            hz: hz.max(1) as f64,
            start_tsc,
            recent: VecDeque::new(),
            total: 0,
        }
    }

    /// Logs every queued event.
    pub fn drain(&mut self, shared: &Shared) {
        while let Some(ev) = shared.events.pop() {
            self.total += 1;
            let t = ev.event.time.saturating_sub(self.start_tsc) as f64 / self.hz;
            let name = self.names.get(ev.stream).map(String::as_str).unwrap_or("?");
            log::info!(target: "mcast_failover::event", "t={t:.3}s stream {name}: {}", ev.event.kind);
            let (tag, detail) = kind_tag(&ev.event.kind);
            if self.recent.len() == KEEP {
                self.recent.pop_front();
            }
            self.recent.push_back(json!({
                "t_s": (t * 1e6).round() / 1e6,
                "stream": name,
                "event": tag,
                "detail": detail,
                "text": ev.event.kind.to_string(),
            }));
        }
    }

    /// The most recent events, oldest first.
    pub fn json(&self) -> Value {
        Value::Array(self.recent.iter().cloned().collect())
    }
}
