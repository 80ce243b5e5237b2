//! Merge events, moved from the workers' queue to the log and the JSON.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use dataplane::merge::EventKind;
use dataplane::worker::Shared;
use serde_json::{json, Value};

use crate::health::Change;

/// Events kept for `--stats-json`.
const KEEP: usize = 1000;
/// Event lines logged per second at most; the rest are counted and
/// summarised once a second, so a storm (10000 streams restarting) cannot
/// flood the log or slow the main lcore.
const LOG_PER_SECOND: u32 = 200;

/// Turns worker events into log lines with seconds since start.
pub struct EventLog {
    names: Vec<String>,
    hz: f64,
    start_tsc: u64,
    recent: VecDeque<Value>,
    /// Events seen, by kind (for the summary).
    pub total: u64,
    window_start: std::time::Instant,
    logged_in_window: u32,
    suppressed: u64,
    lines: Option<BufWriter<File>>,
    /// Per stream: `payload_mismatch` as last reported, and when.
    mismatch: Vec<(u64, f64)>,
}

/// Seconds between two `payload_mismatch` events of one stream at least:
/// a faulty source pair disagrees on every packet, and one event a second
/// with the count is what an operator can read.
const MISMATCH_EVERY_S: f64 = 1.0;

/// Opens `--events-json FILE` for appending: created if missing (mode
/// 0644), never through a symbolic link, and refused unless it is a regular
/// file (a FIFO or device would block or misbehave).
pub fn open_lines(path: &Path) -> Result<File, String> {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| format!("--events-json {}: {e}", path.display()))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("--events-json {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "--events-json {}: not a regular file",
            path.display()
        ));
    }
    Ok(f)
}

/// The event's tag and details; times in ticks of a clock at `hz`.
fn kind_tag(k: &EventKind, hz: f64) -> (&'static str, Value) {
    match *k {
        EventKind::Evidence { leg, depth, lag } => (
            "evidence",
            json!({ "leg": leg, "reorder_depth": depth, "lag_ms": lag as f64 * 1e3 / hz }),
        ),
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
        EventKind::Gap {
            first_seq,
            count,
            wire_seq,
            how,
            waited,
        } => (
            "gap",
            json!({
                "first_seq": first_seq,
                "count": count,
                "wire_first": wire_seq,
                "wire_last": wire_seq.wrapping_add(count.saturating_sub(1)),
                "resolved": how.name(),
                "fill_wait_ms": waited as f64 * 1e3 / hz,
            }),
        ),
        EventKind::FillRequest {
            first_seq,
            count,
            wire_seq,
        } => (
            "fill_request",
            json!({ "first_seq": first_seq, "count": count, "wire_first": wire_seq }),
        ),
        EventKind::PoolLow { shed } => ("pool_low", json!({ "shed": shed })),
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
            window_start: std::time::Instant::now(),
            logged_in_window: 0,
            suppressed: 0,
            lines: None,
            mismatch: Vec::new(),
        }
    }

    /// Also appends every event to `file` as one JSON object a line.
    pub fn with_lines(mut self, file: File) -> Self {
        self.lines = Some(BufWriter::new(file));
        self
    }

    /// Pushes buffered JSON lines to the file; on a write error the file
    /// is given up with one warning (the log and the stats go on).
    pub fn flush_lines(&mut self) {
        if let Some(w) = &mut self.lines {
            if let Err(e) = w.flush() {
                log::warn!("--events-json: {e}: no more events written to it");
                self.lines = None;
            }
        }
    }

    /// Whether one more event line may be logged now; on entering a new
    /// one-second window, reports what the last one suppressed.
    fn may_log(&mut self) -> bool {
        if self.window_start.elapsed() >= std::time::Duration::from_secs(1) {
            if self.suppressed > 0 {
                log::warn!(
                    target: "mcast_failover::event",
                    "{} more events in the last second not logged (see --stats-json for the latest)",
                    self.suppressed
                );
            }
            self.window_start = std::time::Instant::now();
            self.logged_in_window = 0;
            self.suppressed = 0;
        }
        if self.logged_in_window < LOG_PER_SECOND {
            self.logged_in_window += 1;
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// Logs every queued event.
    pub fn drain(&mut self, shared: &Shared) {
        while let Some(ev) = shared.events.pop() {
            self.total += 1;
            let t = ev.event.time.saturating_sub(self.start_tsc) as f64 / self.hz;
            let log_it = self.may_log();
            let name = self
                .names
                .get(ev.stream)
                .cloned()
                .unwrap_or_else(|| "?".into());
            let text = match ev.event.kind {
                EventKind::Evidence { leg, depth, lag } => format!(
                    "leg {leg} evidence: reorder depth {depth}, lag {:.3} ms behind the first copy",
                    lag as f64 * 1e3 / self.hz
                ),
                k => k.to_string(),
            };
            if log_it {
                log::info!(target: "mcast_failover::event", "t={t:.3}s stream {name}: {text}");
            }
            let (tag, mut detail) = kind_tag(&ev.event.kind, self.hz);
            if let (Some(id), EventKind::Gap { .. } | EventKind::FillRequest { .. }) =
                (ev.session, ev.event.kind)
            {
                // The MoldUDP64 session, as text (it is ASCII on the wire).
                detail["session"] = json!(String::from_utf8_lossy(&id).trim_end().to_string());
            }
            self.keep(json!({
                "t_s": (t * 1e6).round() / 1e6,
                "stream": name,
                "event": tag,
                "detail": detail,
                "text": text,
            }));
        }
        self.flush_lines();
    }

    /// Logs a reported health change of a stream at event time `t_s`.
    pub fn health(&mut self, c: Change, t_s: f64) {
        self.total += 1;
        let name = self
            .names
            .get(c.stream)
            .cloned()
            .unwrap_or_else(|| "?".into());
        let from = c.from.map_or("unknown", |h| h.name());
        let text = format!("health {} (was {from})", c.to.name());
        if self.may_log() {
            log::info!(target: "mcast_failover::event", "t={t_s:.3}s stream {name}: {text}");
        }
        self.keep(json!({
            "t_s": (t_s * 1e6).round() / 1e6,
            "stream": name,
            "event": "health",
            "detail": { "from": from, "to": c.to.name() },
            "text": text,
        }));
        self.flush_lines();
    }

    /// Stream `stream`'s `payload_mismatch` counter reads `total` at event
    /// time `t_s`: one `payload_mismatch` event with the copies that
    /// disagreed since the last one, at most once a second per stream.
    pub fn payload_mismatch(&mut self, stream: usize, total: u64, t_s: f64) {
        self.report_mismatch(stream, total, t_s, true);
    }

    /// [`EventLog::payload_mismatch`] at exit: the copies that disagreed
    /// since the last event are reported whatever the rate limit, so a
    /// run (or its last second) shorter than it still shows them.
    pub fn payload_mismatch_at_exit(&mut self, stream: usize, total: u64, t_s: f64) {
        self.report_mismatch(stream, total, t_s, false);
    }

    fn report_mismatch(&mut self, stream: usize, total: u64, t_s: f64, limited: bool) {
        if self.mismatch.len() <= stream {
            self.mismatch.resize(stream + 1, (0, f64::NEG_INFINITY));
        }
        let (seen, last) = self.mismatch[stream];
        if total < seen {
            // A new stream in this id (live reload): start over.
            self.mismatch[stream] = (0, f64::NEG_INFINITY);
        }
        let (seen, _) = self.mismatch[stream];
        if total == seen || (limited && t_s - last < MISMATCH_EVERY_S) {
            return;
        }
        self.mismatch[stream] = (total, t_s);
        self.total += 1;
        let name = self
            .names
            .get(stream)
            .cloned()
            .unwrap_or_else(|| "?".into());
        let new = total - seen;
        let text = format!(
            "{new} copies differed from the copy sent at their position ({total} in all): the legs carry different payloads"
        );
        if self.may_log() {
            log::warn!(target: "mcast_failover::event", "t={t_s:.3}s stream {name}: {text}");
        }
        self.keep(json!({
            "t_s": (t_s * 1e6).round() / 1e6,
            "stream": name,
            "event": "payload_mismatch",
            "detail": { "count": new, "total": total },
            "text": text,
        }));
        self.flush_lines();
    }

    /// Live reload: stream id `id` is named `name` from now on.
    pub fn set_name(&mut self, id: usize, name: &str) {
        if self.names.len() <= id {
            self.names.resize(id + 1, String::new());
        }
        self.names[id] = name.to_string();
    }

    /// A run-level event of stream `stream` (a live reload's): logged
    /// (always: there is one per reload and stream) and kept.
    pub fn note(&mut self, t_s: f64, stream: &str, tag: &str, detail: Value, text: String) {
        self.total += 1;
        log::info!(target: "mcast_failover::event", "t={t_s:.3}s stream {stream}: {text}");
        self.keep(json!({
            "t_s": (t_s * 1e6).round() / 1e6,
            "stream": stream,
            "event": tag,
            "detail": detail,
            "text": text,
        }));
        self.flush_lines();
    }

    fn keep(&mut self, record: Value) {
        if let Some(w) = &mut self.lines {
            let line = record.to_string() + "\n";
            if let Err(e) = w.write_all(line.as_bytes()) {
                log::warn!("--events-json: {e}: no more events written to it");
                self.lines = None;
            }
        }
        if self.recent.len() == KEEP {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
    }

    /// Reports events suppressed since the last summary (call at exit).
    pub fn finish(&mut self) {
        self.flush_lines();
        if self.suppressed > 0 {
            log::warn!(
                target: "mcast_failover::event",
                "{} more events not logged (see --stats-json for the latest)",
                self.suppressed
            );
            self.suppressed = 0;
        }
    }

    /// The most recent events, oldest first.
    pub fn json(&self) -> Value {
        Value::Array(self.recent.iter().cloned().collect())
    }
}
