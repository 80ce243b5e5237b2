//! The latest snapshot of the published stats board, for the readers that
//! are not the main loop: the metrics endpoint and the telemetry commands.
//!
//! Why a snapshot and not the board itself: the board holds raw words; the
//! main loop already turns them (plus the NICs' counters, the mempool and
//! the event log) into one JSON document each refresh, and health is
//! judged there. Readers take an `Arc` of the last one under a lock held
//! only for the pointer copy, so a slow scrape never delays the main loop
//! and no reader ever touches a worker lcore's state.

use std::sync::{Arc, Mutex};

use dataplane::stats::LatencyHistogram;
use serde_json::Value;

/// One refresh of everything the readers show.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The stats document (the `--stats-json` format, health included).
    pub json: Value,
    /// The residence-time histogram as published.
    pub residence: LatencyHistogram,
}

/// Where the main loop leaves the latest [`Snapshot`].
#[derive(Debug, Default)]
pub struct View {
    latest: Mutex<Arc<Snapshot>>,
}

impl View {
    /// An empty view (readers see an empty document until the first refresh).
    pub fn new() -> Self {
        View::default()
    }

    /// Replaces the latest snapshot.
    pub fn publish(&self, s: Snapshot) {
        let s = Arc::new(s);
        *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = s;
    }

    /// The latest snapshot.
    pub fn latest(&self) -> Arc<Snapshot> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
