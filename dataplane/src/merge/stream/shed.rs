//! Shedding held copies when the packet pool runs low: which copies go
//! first, so that the mbufs come back with the least harm to the output.
//!
//! Order (each pass runs only while more are wanted):
//! 1. duplicates: at a position held on several legs, every copy but the
//!    one the cursor would send (the preferred leg's good copy, else the
//!    lowest leg's good copy, else the lowest leg's) — nothing is lost;
//! 2. then whole positions, furthest from the cursor first: those packets
//!    are lost unless a copy arrives again, and they are the ones the
//!    output needed last (the cursor still has time for a copy on another
//!    leg to come).
//!
//! Every shed copy is counted `shed_pool_low` on its leg and freed with
//! [`FreeReason::PoolLow`]; one `PoolLow` event per call that shed any.

use super::{Store, StreamState};
use crate::merge::output::{Event, EventKind, FreeReason, Sink};

impl StreamState {
    /// Frees up to `want` held copies, pass 1 only (`whole` false) or
    /// pass 2 only (`whole` true); returns how many.
    pub(in crate::merge) fn shed<H>(
        &mut self,
        store: &mut Store<H>,
        (want, whole): (u32, bool),
        now: u64,
        sink: &mut impl Sink<H>,
    ) -> u32 {
        if self.held == 0 || want == 0 {
            return 0;
        }
        // Positions that may hold copies: cursor ..= min(high, cursor + cap - 1).
        let span = self
            .high
            .wrapping_sub(self.cursor)
            .wrapping_add(1)
            .min(self.rules.cap);
        if (span as i64) <= 0 {
            return 0;
        }
        let mut shed = 0;
        for k in 0..span {
            if whole || shed >= want || self.held == 0 {
                break;
            }
            let p = self.cursor.wrapping_add(k);
            if let Some(keep) = self.keeper(store, p) {
                for l in 0..self.rules.legs {
                    if l != keep && shed < want && self.shed_one(store, l, p, sink) {
                        shed += 1;
                    }
                }
            }
        }
        for k in (0..span).rev() {
            if !whole || shed >= want || self.held == 0 {
                break;
            }
            let p = self.cursor.wrapping_add(k);
            for l in 0..self.rules.legs {
                if shed < want && self.shed_one(store, l, p, sink) {
                    shed += 1;
                }
            }
        }
        if shed > 0 {
            sink.event(
                self.index,
                Event {
                    time: now,
                    kind: EventKind::PoolLow {
                        shed: u64::from(shed),
                    },
                },
            );
        }
        shed
    }

    /// At a position held on more than one leg, the leg whose copy stays.
    fn keeper<H>(&self, store: &Store<H>, p: u64) -> Option<usize> {
        let legs = self.rules.legs;
        let held = |l: usize| !store.slots.get(&self.region, l, p).is_empty();
        let good = |l: usize| store.slots.get(&self.region, l, p).is_good();
        if (0..legs).filter(|&l| held(l)).count() < 2 {
            return None;
        }
        match self.preferred {
            Some(l) if l < legs && good(l) => Some(l),
            _ => (0..legs)
                .find(|&l| good(l))
                .or_else(|| (0..legs).find(|&l| held(l))),
        }
    }

    /// Frees `leg`'s copy at `p` if there is one.
    fn shed_one<H>(
        &mut self,
        store: &mut Store<H>,
        leg: usize,
        p: u64,
        sink: &mut impl Sink<H>,
    ) -> bool {
        if self.leg[leg].held == 0 {
            return false;
        }
        let Some(t) = store.slots.take(&self.region, leg, p) else {
            return false;
        };
        self.held -= 1;
        self.leg[leg].held -= 1;
        self.books.free(sink, leg, t.handle, FreeReason::PoolLow);
        true
    }
}
