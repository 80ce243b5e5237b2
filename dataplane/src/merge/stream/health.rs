//! Leg health: liveness (up / down after `leg_timeout`), the preferred
//! leg, and the positions each leg has delivered (which the reorder and
//! epoch-boundary rules read).

use super::epoch::Candidate;
use super::{after, Store, StreamState};
use crate::merge::output::{Event, EventKind, Sink};

/// What the stream knows about one leg that the fast paths read
/// (`repr(C)`, 32 bytes, so two legs share a cache line); the rest is in
/// [`LegSlow`].
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
pub(super) struct LegState {
    pub up: bool,
    /// Has delivered a position of the current epoch (see `last_pos`).
    pub seen: bool,
    pub epoch: u32,
    /// Copies held in this leg's ring.
    pub held: u32,
    /// Copies in this leg's restart candidate ([`LegSlow::cand`]); 0: no
    /// candidate (the fast paths' test).
    pub cand_count: u32,
    pub last_good: u64,
    /// Highest position delivered (not lowered by reordered copies).
    pub last_pos: u64,
}

/// What the stream knows about one leg that only the slow paths read.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct LegSlow {
    /// Highest position held in this leg's ring.
    pub top: u64,
    /// The restart candidate (its count is [`LegState::cand_count`]).
    pub cand: Candidate,
}

impl StreamState {
    #[inline]
    fn event<H>(&self, sink: &mut impl Sink<H>, time: u64, kind: EventKind) {
        sink.event(self.index, Event { time, kind });
    }

    /// A good copy on a leg that is up: only its liveness moves.
    #[inline(always)]
    pub(super) fn refresh(&mut self, leg: usize, now: u64) {
        let l = &mut self.leg[leg];
        l.last_good = l.last_good.max(now);
    }

    /// Good packet (or heartbeat) on `leg`: refresh liveness, bring it up.
    #[inline]
    pub(super) fn alive<H>(&mut self, leg: usize, now: u64, sink: &mut impl Sink<H>) {
        self.refresh(leg, now);
        if !self.leg[leg].up {
            self.leg[leg].up = true;
            self.event(sink, now, EventKind::LegUp { leg });
            self.request(now.saturating_add(self.limits.leg_timeout));
            self.update_preferred(now, sink);
        }
    }

    /// The preferred leg: the first leg up (none if every leg is down).
    #[inline(always)]
    pub(super) fn preferred(&self) -> Option<usize> {
        self.preferred.map(usize::from)
    }

    fn update_preferred<H>(&mut self, now: u64, sink: &mut impl Sink<H>) {
        let new = (0..self.rules.legs).find(|&l| self.leg[l].up);
        if new != self.preferred() {
            if let (Some(from), Some(to)) = (self.preferred(), new) {
                self.books.switched();
                self.event(sink, now, EventKind::Switch { from, to });
            }
            // (A leg index is below MAX_LEGS, so it fits a byte.)
            self.preferred = new.map(|l| l as u8);
        }
    }

    /// Records that `leg` delivered `pos`: counts it out of order if the leg
    /// already delivered a later position, else advances the leg's position
    /// (which the reorder evidence and the epoch-boundary checks read). Every
    /// path that accepts a copy goes through here, so the fast paths cannot
    /// drift from the slow one.
    #[inline(always)]
    pub(super) fn note_position(&mut self, leg: usize, pos: u64) {
        let l = &mut self.leg[leg];
        if !l.seen {
            l.seen = true;
            l.last_pos = pos;
        } else if after(l.last_pos, pos) {
            self.late_position(leg, pos);
        } else {
            l.last_pos = pos;
        }
    }

    /// [`note_position`](Self::note_position) for a copy that came after
    /// a later one on its leg: counted, and its displacement (the
    /// positions between, less those of an epoch boundary no packet has)
    /// noted for the leg's reorder depth. Out of line: off the clean path.
    #[cold]
    #[inline(never)]
    fn late_position(&mut self, leg: usize, pos: u64) {
        self.books.out_of_order(leg);
        let last = self.leg[leg].last_pos;
        let d = last.wrapping_sub(pos) - self.unused_between(pos, last);
        self.ev.note_displacement(leg, d);
    }

    // --------------------------------------------------------------- service

    /// Timer fired: leg timeouts, overdue positions, stale candidates.
    pub(in crate::merge) fn service<H>(
        &mut self,
        store: &mut Store<H>,
        now: u64,
        sink: &mut impl Sink<H>,
    ) {
        let mut changed = false;
        for l in 0..self.rules.legs {
            let ls = &mut self.leg[l];
            if ls.up && now.saturating_sub(ls.last_good) >= self.limits.leg_timeout {
                ls.up = false;
                changed = true;
                self.event(sink, now, EventKind::LegDown { leg: l });
            }
            let last = self.leg_slow[l].cand.last;
            if self.leg[l].cand_count > 0 && now.saturating_sub(last) >= self.candidate_expiry() {
                self.drop_candidate(store, l, sink);
            }
        }
        if changed {
            self.update_preferred(now, sink);
        }
        self.advance(store, now, None, sink);
        for l in 0..self.rules.legs {
            let ls = self.leg[l];
            if ls.up {
                self.request(ls.last_good.saturating_add(self.limits.leg_timeout));
            }
            if ls.cand_count > 0 {
                let last = self.leg_slow[l].cand.last;
                self.request(last.saturating_add(self.candidate_expiry()));
            }
        }
    }
}
