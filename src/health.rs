//! Stream health as NMOS BCP-008-01 receiver monitoring defines it, judged
//! on the main lcore from successive board snapshots (never on a worker).
//!
//! Each refresh judges every stream from what changed since the previous
//! one; a judgement different from the reported state becomes the reported
//! state only once it has held `--health-hold` (so a flapping leg neither
//! spams events nor flips alerts).

use std::time::{Duration, Instant};

/// A stream's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Every configured leg up and in step, nothing substituted or lost.
    Healthy,
    /// Running on fewer legs than configured, a leg out of step (see
    /// [`out_of_step`]), or substituting another leg's copy for the
    /// preferred one: the output is whole but less protected.
    PartiallyHealthy,
    /// Unrecoverable loss (a position missing on every leg) in the last
    /// interval, or no leg up at all.
    Unhealthy,
}

impl Health {
    /// Every state, in the order exporters list them.
    pub const ALL: [Health; 3] = [Health::Healthy, Health::PartiallyHealthy, Health::Unhealthy];

    /// The BCP-008-01 style name.
    pub fn name(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::PartiallyHealthy => "partially_healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// The counters one judgement looks at, as read from the board.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
    /// Legs configured.
    pub legs: usize,
    /// Legs up.
    pub up: usize,
    /// Copies sent from a leg other than the preferred one (cumulative).
    pub substituted: u64,
    /// Positions missing on every leg (cumulative).
    pub unrecoverable: u64,
    /// Legs out of step (see [`out_of_step`]).
    pub lagging: usize,
}

/// Whether a leg whose learned lag (how long after a packet's first copy
/// its own copy comes) is `lag_ns` is out of step with a stream whose
/// `max-delay` is `max_delay_ns`: its lag is more than half of max-delay.
///
/// Why half: the merge waits for a missing copy at most max-delay from the
/// first copy of its position; a leg that already comes more than half of
/// that late leaves less than half of the window as margin, so its copy
/// would miss the window after a modest further delay, and the stream is
/// less protected than its configuration says.
pub fn out_of_step(lag_ns: u64, max_delay_ns: u64) -> bool {
    lag_ns.saturating_mul(2) > max_delay_ns
}

/// The health `now` shows, given the previous sample (`None`: the first).
pub fn judge(prev: Option<&Sample>, now: &Sample) -> Health {
    let grew = |f: fn(&Sample) -> u64| prev.is_some_and(|p| f(now) > f(p));
    if now.up == 0 || grew(|s| s.unrecoverable) {
        Health::Unhealthy
    } else if now.up < now.legs || now.lagging > 0 || grew(|s| s.substituted) {
        Health::PartiallyHealthy
    } else {
        Health::Healthy
    }
}

/// A reported change of one stream's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// Stream index.
    pub stream: usize,
    /// The state reported before (`None`: none yet).
    pub from: Option<Health>,
    /// The state reported from now on.
    pub to: Health,
}

#[derive(Clone, Debug, Default)]
struct StreamHealth {
    prev: Option<Sample>,
    reported: Option<Health>,
    pending: Option<(Health, Instant)>,
}

/// Health of every stream, with the hold applied.
#[derive(Clone, Debug)]
pub struct HealthTracker {
    hold: Duration,
    streams: Vec<StreamHealth>,
}

impl HealthTracker {
    /// A tracker for `streams` streams reporting after `hold`.
    pub fn new(streams: usize, hold: Duration) -> Self {
        HealthTracker {
            hold,
            streams: vec![StreamHealth::default(); streams],
        }
    }

    /// Takes stream `s`'s sample at `now`; returns the change to report,
    /// if the judgement differing from the reported state has now held
    /// for the hold time.
    pub fn observe(&mut self, s: usize, sample: Sample, now: Instant) -> Option<Change> {
        let hold = self.hold;
        let st = self.streams.get_mut(s)?;
        let judged = judge(st.prev.as_ref(), &sample);
        st.prev = Some(sample);
        if st.reported == Some(judged) {
            st.pending = None;
            return None;
        }
        let since = match st.pending {
            Some((h, t)) if h == judged => t,
            _ => {
                st.pending = Some((judged, now));
                now
            }
        };
        if now.saturating_duration_since(since) < hold {
            return None;
        }
        let from = st.reported.replace(judged);
        st.pending = None;
        Some(Change {
            stream: s,
            from,
            to: judged,
        })
    }

    /// Live reload: stream id `s` starts afresh (a new stream there).
    pub fn reset(&mut self, s: usize) {
        if self.streams.len() <= s {
            self.streams.resize(s + 1, StreamHealth::default());
        }
        self.streams[s] = StreamHealth::default();
    }

    /// Stream `s`'s reported health (`None` until the first report).
    pub fn reported(&self, s: usize) -> Option<Health> {
        self.streams.get(s).and_then(|st| st.reported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(up: usize, substituted: u64, unrecoverable: u64) -> Sample {
        Sample {
            legs: 2,
            up,
            substituted,
            unrecoverable,
            lagging: 0,
        }
    }

    #[test]
    fn a_lagging_leg_is_partially_healthy() {
        let base = sample(2, 5, 1);
        let lagging = Sample { lagging: 1, ..base };
        assert_eq!(judge(Some(&base), &lagging), Health::PartiallyHealthy);
        // Loss still outranks it.
        let lost = Sample {
            unrecoverable: 2,
            ..lagging
        };
        assert_eq!(judge(Some(&base), &lost), Health::Unhealthy);
        // The bound: more than half of max-delay.
        assert!(!out_of_step(50_000_000, 100_000_000));
        assert!(out_of_step(50_000_001, 100_000_000));
        assert!(!out_of_step(0, 0));
    }

    #[test]
    fn judgement_follows_bcp_008_01() {
        let base = sample(2, 5, 1);
        assert_eq!(judge(None, &base), Health::Healthy);
        assert_eq!(judge(Some(&base), &base), Health::Healthy);
        assert_eq!(
            judge(Some(&base), &sample(1, 5, 1)),
            Health::PartiallyHealthy
        );
        assert_eq!(
            judge(Some(&base), &sample(2, 6, 1)),
            Health::PartiallyHealthy
        );
        assert_eq!(judge(Some(&base), &sample(2, 6, 2)), Health::Unhealthy);
        assert_eq!(judge(Some(&base), &sample(0, 5, 1)), Health::Unhealthy);
    }

    #[test]
    fn a_change_is_reported_only_after_the_hold() {
        let t0 = Instant::now();
        let s = |secs: f64| t0 + Duration::from_secs_f64(secs);
        let mut h = HealthTracker::new(1, Duration::from_secs(3));
        assert_eq!(h.observe(0, sample(2, 0, 0), s(0.0)), None);
        assert_eq!(h.reported(0), None);
        assert_eq!(h.observe(0, sample(2, 0, 0), s(2.9)), None);
        let c = h.observe(0, sample(2, 0, 0), s(3.0)).expect("held 3 s");
        assert_eq!((c.from, c.to), (None, Health::Healthy));
        // A leg flaps down for 2 s: never reported.
        assert_eq!(h.observe(0, sample(1, 0, 0), s(4.0)), None);
        assert_eq!(h.observe(0, sample(1, 0, 0), s(5.9)), None);
        assert_eq!(h.observe(0, sample(2, 0, 0), s(6.0)), None);
        assert_eq!(h.reported(0), Some(Health::Healthy));
        // Down for good: reported 3 s after it was first seen.
        assert_eq!(h.observe(0, sample(1, 0, 0), s(7.0)), None);
        assert_eq!(h.observe(0, sample(1, 0, 0), s(9.0)), None);
        let c = h.observe(0, sample(1, 0, 0), s(10.0)).expect("held");
        assert_eq!(
            (c.from, c.to),
            (Some(Health::Healthy), Health::PartiallyHealthy)
        );
        assert_eq!(h.reported(0), Some(Health::PartiallyHealthy));
    }

    #[test]
    fn a_different_judgement_restarts_the_hold() {
        let t0 = Instant::now();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let mut h = HealthTracker::new(1, Duration::from_secs(3));
        h.observe(0, sample(2, 0, 0), s(0));
        assert!(h.observe(0, sample(2, 0, 0), s(3)).is_some());
        // Partially healthy for 2 s, then unhealthy: the hold starts again.
        assert_eq!(h.observe(0, sample(1, 0, 0), s(4)), None);
        assert_eq!(h.observe(0, sample(1, 0, 1), s(6)), None);
        assert_eq!(h.observe(0, sample(1, 0, 2), s(8)), None);
        let c = h.observe(0, sample(1, 0, 3), s(9)).expect("held");
        assert_eq!(c.to, Health::Unhealthy);
    }

    #[test]
    fn zero_hold_reports_at_once() {
        let mut h = HealthTracker::new(2, Duration::ZERO);
        let t = Instant::now();
        let c = h.observe(1, sample(1, 0, 0), t).expect("at once");
        assert_eq!((c.stream, c.to), (1, Health::PartiallyHealthy));
        assert_eq!(h.observe(5, sample(1, 0, 0), t), None, "no such stream");
    }
}
