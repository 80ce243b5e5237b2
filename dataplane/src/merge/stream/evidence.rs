//! Per-leg evidence, learned online on the lcore with no allocation: how
//! deep each leg reorders and how long after a packet's first copy each
//! leg's copy comes (its lag; the inter-leg skew). The early verdicts read
//! it: a missing copy is given up once its leg has moved past it by more
//! than its reorder depth, or once it is later than the leg's lag plus a
//! margin; `max_delay` stays the hard cap and the only wait while a leg's
//! evidence is silent.
//!
//! Estimates are windowed maxima over [`WINDOW`]-position halves: a depth
//! or lag seen at least once every window is never forgotten, one not seen
//! for two windows is. A larger value counts the moment it is seen.

use super::{after, Store, StreamState};
use crate::merge::config::Reorder;
use crate::merge::output::{Event, EventKind, Sink};
use crate::merge::MAX_LEGS;

/// Positions per estimate window (each estimate covers the last one to
/// two windows). Also at least twice the slot window.
pub(in crate::merge) const WINDOW: u64 = 1024;
/// One position in `SAMPLE_EVERY` has its copies' arrival times compared
/// across legs (cheap on the clean path; plenty for a running estimate),
/// and its copies' payload digests (`payload_mismatch` counts the copies
/// that disagree at those positions only: public so that whoever reads
/// that counter, a test or an operator's tool, can scale it).
pub const SAMPLE_EVERY: u64 = 8;
/// Delivered packets (for the depth) and lag samples (for the lag) a leg
/// needs before its evidence is used; before that only `max_delay` counts.
pub(in crate::merge) const MIN_EVIDENCE: u64 = 8;
/// Recent skew samples kept per stream for the published percentiles
/// (32 samples: the last 256 positions).
const RECENT: usize = 32;

/// The largest value seen in the current and the previous window.
#[derive(Clone, Copy, Debug, Default)]
struct WindowMax {
    cur: u64,
    prev: u64,
}

impl WindowMax {
    #[inline]
    fn note(&mut self, v: u64) {
        if v > self.cur {
            self.cur = v;
        }
    }
    #[inline]
    fn get(&self) -> u64 {
        self.cur.max(self.prev)
    }
    fn rotate(&mut self) {
        self.prev = self.cur;
        self.cur = 0;
    }
}

/// What one leg has shown.
#[derive(Clone, Copy, Debug, Default)]
struct LegEvidence {
    /// Largest displacement (positions a copy came after a later one).
    depth: WindowMax,
    /// Largest delay behind the first copy of the same position (ticks).
    lag: WindowMax,
    /// Lag samples taken (saturating).
    samples: u64,
    /// (depth, lag) last reported in an `Evidence` event.
    reported: Option<(u64, u64)>,
}

/// One stream's evidence (when its windows rotate next is kept in
/// [`StreamState`], with the fields every send reads).
#[derive(Clone, Debug)]
pub(super) struct Evidence {
    legs: [LegEvidence; MAX_LEGS],
    /// Most recent inter-leg differences (ticks, saturated to u32), a ring.
    recent: [u32; RECENT],
    recent_len: usize,
    recent_at: usize,
    /// Smoothed |change| between consecutive skew samples (1/16 gain).
    jitter: u64,
    last_skew: u64,
    window: u64,
}

/// A stream's evidence as published: skew percentiles over the recent
/// samples, jitter, and per leg the learned reorder depth and lag, all in
/// the engine's ticks (depth in positions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EvidenceFigures {
    /// Skew samples behind the percentiles (0: no evidence yet).
    pub skew_samples: u64,
    /// Smallest, median, 99th percentile and largest recent skew: how long
    /// after a packet's first copy another leg's copy came.
    pub skew_min: u64,
    /// Median recent skew.
    pub skew_p50: u64,
    /// 99th percentile of the recent skew.
    pub skew_p99: u64,
    /// Largest recent skew.
    pub skew_max: u64,
    /// Smoothed change between consecutive skew samples.
    pub jitter: u64,
    /// Per leg: learned reorder depth (positions).
    pub depth: [u64; MAX_LEGS],
    /// Per leg: learned lag behind the first copy (ticks; the bound the
    /// time verdict uses, before its margin).
    pub lag: [u64; MAX_LEGS],
}

/// Whether a leg can still deliver a copy it has not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// Known missing: leg down, moved past it, or later than its lag.
    Missing,
    /// Waited for until this time (learned lag + margin).
    Until(u64),
    /// No evidence: waited for until `max_delay`.
    Cap,
}

impl Evidence {
    pub fn new(capacity: u64) -> Self {
        Self {
            legs: [LegEvidence::default(); MAX_LEGS],
            recent: [0; RECENT],
            recent_len: 0,
            recent_at: 0,
            jitter: 0,
            last_skew: 0,
            window: WINDOW.max(2 * capacity),
        }
    }

    /// Whether copies of `pos` have their arrival times compared.
    #[inline(always)]
    pub fn sampled(pos: u64) -> bool {
        pos.is_multiple_of(SAMPLE_EVERY)
    }

    #[inline]
    pub fn depth(&self, leg: usize) -> u64 {
        self.legs[leg].depth.get()
    }

    /// A copy on `leg` came `d` positions after a later one.
    #[inline]
    pub fn note_displacement(&mut self, leg: usize, d: u64) {
        self.legs[leg].depth.note(d);
    }

    fn note_lag(&mut self, leg: usize, lag: u64) {
        let e = &mut self.legs[leg];
        e.lag.note(lag);
        e.samples = e.samples.saturating_add(1);
    }

    fn note_skew(&mut self, skew: u64) {
        self.recent[self.recent_at % RECENT] = skew.min(u64::from(u32::MAX)) as u32;
        self.recent_at = (self.recent_at + 1) % RECENT;
        self.recent_len = (self.recent_len + 1).min(RECENT);
        let change = skew.abs_diff(self.last_skew);
        self.last_skew = skew;
        // RFC 3550's estimator: J += (|D| - J) / 16.
        self.jitter = (self.jitter * 15 + change) / 16;
    }

    pub fn figures(&self) -> EvidenceFigures {
        let mut f = EvidenceFigures {
            jitter: self.jitter,
            ..Default::default()
        };
        for l in 0..MAX_LEGS {
            f.depth[l] = self.legs[l].depth.get();
            f.lag[l] = self.legs[l].lag.get();
        }
        let n = self.recent_len;
        if n > 0 {
            let mut v = self.recent;
            let v = &mut v[..n];
            v.sort_unstable();
            let q = |x: f64| u64::from(v[((n - 1) as f64 * x).round() as usize]);
            f.skew_samples = n as u64;
            f.skew_min = q(0.0);
            f.skew_p50 = q(0.5);
            f.skew_p99 = q(0.99);
            f.skew_max = q(1.0);
        }
        f
    }
}

impl StreamState {
    /// Whether the send of `pos` starts new estimate windows.
    #[inline]
    pub(super) fn rotates_at(&self, pos: u64) -> bool {
        !after(self.next_rotate, pos)
    }

    /// Copies of `pos` on other legs tell how late `leg`'s copy (arriving
    /// now) is behind the first one. `behind`: `pos` is behind the cursor,
    /// where a slot's stamp is that of the last copy it held (a copy of
    /// `pos` if the leg delivered it; an older one reads older than
    /// `max_delay` and is ignored); in the window only held copies count.
    #[inline(always)]
    pub(super) fn sample_lag<H>(
        &mut self,
        store: &Store<H>,
        leg: usize,
        pos: u64,
        now: u64,
        behind: bool,
    ) {
        if self.rules.legs != 2 {
            return self.sample_lag_any(store, leg, pos, now, behind);
        }
        // Two legs (the common case, inline): the one other leg's copy,
        // exactly as the loop of `sample_lag_any` would find it.
        let m = 1 - (leg & 1);
        let s = store.slots.get(&self.region, m, pos);
        if s.is_empty() != behind {
            return;
        }
        let age = store.clock.age(now, s.stamp());
        if age < self.limits.max_delay && leg < 2 {
            self.note_sample(leg, m, age);
        }
    }

    /// [`Self::sample_lag`] for any number of legs.
    #[inline(never)]
    fn sample_lag_any<H>(
        &mut self,
        store: &Store<H>,
        leg: usize,
        pos: u64,
        now: u64,
        behind: bool,
    ) {
        // The earliest other copy (the largest age under `max_delay`), as
        // a plain (age, leg) pair with `MAX_LEGS` for none.
        let (mut lag, mut first) = (0u64, MAX_LEGS);
        let max_delay = self.limits.max_delay;
        for m in 0..self.rules.legs.min(MAX_LEGS) {
            let s = store.slots.get(&self.region, m, pos);
            if m == leg || s.is_empty() != behind {
                continue;
            }
            let age = store.clock.age(now, s.stamp());
            if age < max_delay && (first == MAX_LEGS || age > lag) {
                (lag, first) = (age, m);
            }
        }
        if first < MAX_LEGS && leg < MAX_LEGS {
            self.note_sample(leg, first, lag);
        }
    }

    /// `leg`'s copy came `lag` after the first copy, on leg `first`.
    #[inline(never)]
    fn note_sample(&mut self, leg: usize, first: usize, lag: u64) {
        self.ev.note_lag(leg, lag);
        self.ev.note_lag(first, 0);
        self.ev.note_skew(lag);
    }

    /// Whether leg `l` can still deliver position `p` at `now`; `t_ref` is
    /// the arrival of the first copy of `p` on another leg, if any (the
    /// time rule needs one: a leg's lag is measured against the same
    /// packet's first copy; with none, only the position rule speaks).
    #[inline]
    pub(super) fn expect(&self, l: usize, p: u64, t_ref: Option<u64>, now: u64) -> Expect {
        let ls = &self.leg[l];
        if !ls.up {
            // Down (timed out) or never seen. A leg never seen may still be
            // on its way (a lagging leg at start): a skip waits for it; the
            // preference (t_ref given) does not, as without evidence.
            let silent = !ls.seen && t_ref.is_none() && self.limits.reorder == Reorder::Auto;
            return if silent { Expect::Cap } else { Expect::Missing };
        }
        match self.limits.reorder {
            Reorder::Off => Expect::Cap,
            Reorder::Fixed(_) => {
                if self.moved_past(l, p) {
                    Expect::Missing
                } else {
                    Expect::Cap
                }
            }
            Reorder::Auto => {
                if self.moved_past(l, p) {
                    return Expect::Missing;
                }
                let e = &self.ev.legs[l];
                let Some(t_ref) = t_ref else {
                    return Expect::Cap;
                };
                if e.samples < MIN_EVIDENCE {
                    return Expect::Cap;
                }
                let until = t_ref
                    .saturating_add(e.lag.get())
                    .saturating_add(self.slack());
                if now >= until {
                    Expect::Missing
                } else {
                    Expect::Until(until)
                }
            }
        }
    }

    /// Slack over the learned lag: the configured margin plus twice the
    /// skew jitter.
    #[inline]
    fn slack(&self) -> u64 {
        self.limits
            .margin
            .saturating_add(self.ev.jitter.saturating_mul(2))
    }

    /// Leg `l` has delivered a packet far enough after `p` that its copy
    /// of `p` is missing: more than `r` positions (`Fixed(r)`), or more
    /// than its learned depth + 1 once it has delivered enough packets
    /// (`Auto`).
    #[inline]
    pub(super) fn moved_past(&self, l: usize, p: u64) -> bool {
        let leg = &self.leg[l];
        let beyond = match self.limits.reorder {
            Reorder::Off => return false,
            Reorder::Fixed(r) => u64::from(r),
            Reorder::Auto => {
                if self.books.good(l) < MIN_EVIDENCE {
                    return false;
                }
                self.ev.depth(l) + 1
            }
        };
        leg.seen && after(leg.last_pos, p.wrapping_add(beyond))
    }

    /// The send at `pos` reached the rotation point: every estimate starts
    /// a new window; legs whose estimate moved are reported.
    #[cold]
    #[inline(never)]
    pub(super) fn rotate<H>(&mut self, pos: u64, now: u64, sink: &mut impl Sink<H>) {
        self.next_rotate = pos.wrapping_add(self.ev.window);
        if self.limits.reorder != Reorder::Auto {
            return;
        }
        for l in 0..self.rules.legs {
            let e = &mut self.ev.legs[l];
            let now_is = (e.depth.get(), e.lag.get());
            let moved = match e.reported {
                None => e.samples >= MIN_EVIDENCE,
                Some((d, lag)) => {
                    d != now_is.0 || lag.abs_diff(now_is.1) > (lag / 4).max(self.limits.margin)
                }
            };
            if moved {
                e.reported = Some(now_is);
                sink.event(
                    self.index,
                    Event {
                        time: now,
                        kind: EventKind::Evidence {
                            leg: l,
                            depth: now_is.0,
                            lag: now_is.1,
                        },
                    },
                );
            }
            let e = &mut self.ev.legs[l];
            e.depth.rotate();
            e.lag.rotate();
        }
    }

    /// The stream's evidence, for the stats.
    pub(in crate::merge) fn evidence(&self) -> EvidenceFigures {
        let mut f = self.ev.figures();
        for l in self.rules.legs..MAX_LEGS {
            f.depth[l] = 0;
            f.lag[l] = 0;
        }
        f
    }
}
