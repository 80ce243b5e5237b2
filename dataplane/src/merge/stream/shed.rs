//! Shedding held copies when the packet pool runs low: which copies go
//! first, so that the mbufs come back with the least harm to the output.
//!
//! Order (each pass runs only while more are wanted; [`Engine::shed`]
//! runs each pass over every stream before the next pass starts):
//! 1. [`ShedPass::Duplicates`]: at a position held on several legs, every
//!    copy but the one the cursor would send (the preferred leg's good
//!    copy, else the lowest leg's good copy, else the lowest leg's) —
//!    nothing is lost;
//! 2. [`ShedPass::Candidates`]: copies held as a leg's restart candidate
//!    (a new source not yet confirmed by K packets). If the restart is real
//!    they would go out after everything in the window, so they are the
//!    furthest from the cursor of all; the leg starts counting its
//!    candidate again from the next copy;
//! 3. [`ShedPass::Furthest`]: whole positions, furthest from the cursor
//!    first: those packets are lost unless a copy arrives again, and they
//!    are the ones the output needed last (the cursor still has time for a
//!    copy on another leg to come). Across streams this pass is shared out
//!    evenly (each stream holding copies gives up to its share per round),
//!    so one stream is not emptied while its neighbours keep everything.
//!
//! Every shed copy is counted `shed_pool_low` on its leg and freed with
//! [`FreeReason::PoolLow`]; one `PoolLow` event per stream and pass (per
//! round in pass 3) that shed any.
//!
//! [`Engine::shed`]: crate::merge::Engine::shed

use super::{Store, StreamState};
use crate::merge::output::{Event, EventKind, FreeReason, Sink};

/// One pass of the shedding order (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::merge) enum ShedPass {
    /// Extra copies of positions held on several legs.
    Duplicates,
    /// Restart candidates' held copies.
    Candidates,
    /// Whole positions, furthest from the cursor first.
    Furthest,
}

impl StreamState {
    /// Frees up to `want` held copies in `pass`; returns how many (and
    /// raises one `PoolLow` event if any).
    pub(in crate::merge) fn shed<H>(
        &mut self,
        store: &mut Store<H>,
        (want, pass): (u32, ShedPass),
        now: u64,
        sink: &mut impl Sink<H>,
    ) -> u32 {
        if self.held() == 0 || want == 0 {
            return 0;
        }
        let shed = match pass {
            ShedPass::Candidates => self.shed_candidates(store, want, sink),
            ShedPass::Duplicates | ShedPass::Furthest => {
                self.shed_window(store, want, pass == ShedPass::Furthest, sink)
            }
        };
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

    /// Passes 1 (`whole` false) and 3 (`whole` true) over the window.
    fn shed_window<H>(
        &mut self,
        store: &mut Store<H>,
        want: u32,
        whole: bool,
        sink: &mut impl Sink<H>,
    ) -> u32 {
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
        if !whole {
            for k in 0..span {
                if shed >= want || self.held == 0 {
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
            return shed;
        }
        for k in (0..span).rev() {
            if shed >= want || self.held == 0 {
                break;
            }
            let p = self.cursor.wrapping_add(k);
            for l in 0..self.rules.legs {
                if shed < want && self.shed_one(store, l, p, sink) {
                    shed += 1;
                }
            }
        }
        shed
    }

    /// Pass 2: frees restart candidates' copies, leg by leg.
    fn shed_candidates<H>(
        &mut self,
        store: &mut Store<H>,
        want: u32,
        sink: &mut impl Sink<H>,
    ) -> u32 {
        let k = self.limits.k as usize;
        let mut shed = 0;
        for leg in 0..self.rules.legs {
            let n = self.leg[leg]
                .cand_count
                .min(self.limits.k.saturating_sub(1)) as usize;
            if n == 0 || shed >= want {
                continue;
            }
            for j in 0..n {
                let i = self.ep.held_base + leg * k + j;
                if let Some((_, p)) = store.held[i].take() {
                    self.books.free(sink, leg, p.handle, FreeReason::PoolLow);
                    shed += 1;
                }
            }
            // What is left of the candidate is its count of copies seen,
            // and none of them is held any more: start it again.
            self.clear_candidate(leg);
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
        match self.preferred() {
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
