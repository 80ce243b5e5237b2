//! Live reload on the one-lcore layout: the stream set changes while the
//! worker runs, without touching the streams that stay.
//!
//! Why this shape: an [`Engine`] allocates every stream's slots at once
//! and cannot grow, and moving a running stream's held copies between
//! engines would disturb exactly the streams a reload must leave alone. So
//! the worker merges with a set of engines, the *shelves*: the first holds
//! the streams of the start, and each reload that adds streams brings one
//! new engine holding only those (built on the main lcore). A stream keeps
//! its shelf for life; a removed one is retired in place (drained in order,
//! timer disarmed) and a shelf whose streams are all gone goes back to the
//! main lcore. Streams are known everywhere by their *id*, their slot on
//! the stats board, which never changes while the stream runs; a
//! [`Place`] table maps an id to its shelf and the shelf's own index.
//!
//! The main lcore hands a [`Swap`] over a bounded lock-free queue
//! ([`Generations::to_worker`]); the worker applies it at a burst boundary
//! and pushes the same box back ([`Generations::to_main`]) holding what it
//! replaced (the old place table, the shelves it let go, the old output
//! state), for the main lcore to drop: the worker frees and allocates
//! nothing but moves pointers. The plans of every generation live in
//! [`Generations`] for the whole run (set once each, never moved), so the
//! worker's references to them stay valid; their number is bounded by
//! [`MAX_GENERATIONS`].

use std::sync::OnceLock;

use crossbeam_queue::ArrayQueue;

use super::layout::BoardLayout;
use super::plan::{Plan, Shared};
use super::rx::{merge, Arrival};
use super::tx::{StreamOut, TicksToNs};
use crate::dpdk::Mbuf;
use crate::merge::{Engine, Event, FreeReason, SendInfo, Sink};
use crate::seq::SeqSample;

/// Plans a run may go through (the start plus reloads); a reload beyond
/// it is refused (restart to reset).
pub const MAX_GENERATIONS: usize = 64;
/// Engines the worker merges with at most at once.
pub const MAX_SHELVES: usize = 16;

/// The merge as the tx stage drives it: one [`Engine`] (split layout), or
/// the reloadable [`Shelves`] (one-lcore layout). Stream indices are the
/// plan's (the board's) ids.
pub trait MergeSet {
    /// Fires the deadlines due at `now` ([`Engine::poll`]).
    fn poll(&mut self, now: u64, sink: &mut impl Sink<Mbuf>);
    /// Sheds held copies when the pool runs low ([`Engine::shed`]).
    fn shed(&mut self, want: u32, now: u64, sink: &mut impl Sink<Mbuf>) -> u32;
    /// Takes a retransmission ([`Engine::fill`]).
    fn fill(&mut self, stream: usize, s: SeqSample, m: Mbuf, now: u64, sink: &mut impl Sink<Mbuf>);
    /// Shutdown: sends or frees every held copy ([`Engine::drain`]).
    fn drain(&mut self, now: u64, sink: &mut impl Sink<Mbuf>);
    /// Puts every live stream's figures on the board (the caller commits);
    /// `ids[i]` is the plan's index of the set's stream `i`.
    fn publish_streams(&self, shared: &Shared, ids: &[u32], to_ns: TicksToNs);
}

/// Puts stream `local` of `engine` on the board as stream `id`.
fn put(shared: &Shared, id: usize, engine: &Engine<Mbuf>, local: usize, to_ns: TicksToNs) {
    shared.layout.put_stream(
        &shared.board,
        id,
        (engine.counters(local), &engine.evidence(local)),
        engine.held(local),
        |leg| engine.leg_is_up(local, leg),
        |t| to_ns.ns(t),
    );
}

impl MergeSet for Engine<Mbuf> {
    #[inline]
    fn poll(&mut self, now: u64, sink: &mut impl Sink<Mbuf>) {
        Engine::poll(self, now, sink);
    }
    fn shed(&mut self, want: u32, now: u64, sink: &mut impl Sink<Mbuf>) -> u32 {
        Engine::shed(self, want, now, sink)
    }
    fn fill(&mut self, stream: usize, s: SeqSample, m: Mbuf, now: u64, sink: &mut impl Sink<Mbuf>) {
        Engine::fill(self, stream, s, m, now, sink);
    }
    fn drain(&mut self, now: u64, sink: &mut impl Sink<Mbuf>) {
        Engine::drain(self, now, sink);
    }
    fn publish_streams(&self, shared: &Shared, ids: &[u32], to_ns: TicksToNs) {
        for (s, &id) in ids.iter().enumerate().take(self.streams()) {
            put(shared, id as usize, self, s, to_ns);
        }
    }
}

/// One engine and the ids of its streams (`ids[i]` is engine stream `i`).
#[derive(Debug)]
pub struct Shelf {
    /// Its streams' merge state.
    pub engine: Engine<Mbuf>,
    /// Board id of each of its streams.
    pub ids: Vec<u32>,
    /// Per engine stream: still live (false once retired).
    pub live: Vec<bool>,
}

impl Shelf {
    /// A shelf of `engine` whose stream `i` is id `ids[i]`.
    pub fn new(engine: Engine<Mbuf>, ids: Vec<u32>) -> Self {
        let live = vec![true; ids.len()];
        Shelf { engine, ids, live }
    }
}

/// Where a stream id is merged: its shelf and the shelf's index of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// Shelf index ([`Place::NONE`]'s is `u16::MAX`).
    pub shelf: u16,
    /// Stream index in that shelf's engine.
    pub local: u32,
}

impl Place {
    /// An id no shelf merges (free, or retired).
    pub const NONE: Place = Place {
        shelf: u16::MAX,
        local: 0,
    };
}

/// A sink seen through a shelf: the engine's stream indices become ids.
struct Mapped<'s, S> {
    sink: &'s mut S,
    ids: &'s [u32],
}

impl<S> Mapped<'_, S> {
    /// The id of engine stream `s` (an impossible id if out of range: the
    /// tx stage counts and frees what it cannot place).
    #[inline(always)]
    fn id(&self, s: usize) -> usize {
        self.ids.get(s).map_or(usize::MAX, |&i| i as usize)
    }
}

impl<S: Sink<Mbuf>> Sink<Mbuf> for Mapped<'_, S> {
    #[inline(always)]
    fn send(&mut self, stream: usize, handle: Mbuf, info: SendInfo) {
        let id = self.id(stream);
        self.sink.send(id, handle, info);
    }
    #[inline(always)]
    fn free(&mut self, handle: Mbuf, why: FreeReason) {
        self.sink.free(handle, why);
    }
    fn event(&mut self, stream: usize, event: Event) {
        let id = self.id(stream);
        self.sink.event(id, event);
    }
}

/// The worker's reloadable merge: its shelves and where each id is.
#[derive(Debug)]
pub struct Shelves {
    shelves: Vec<Option<Box<Shelf>>>,
    at: Vec<Place>,
}

impl Shelves {
    /// The start: one shelf holding every stream of `engine` (id = index),
    /// a place table for every board stream slot of `layout`.
    pub fn new(engine: Engine<Mbuf>, layout: &BoardLayout) -> Self {
        let n = engine.streams();
        let mut at = vec![Place::NONE; layout.streams().max(n)];
        for (i, p) in at.iter_mut().enumerate().take(n) {
            *p = Place {
                shelf: 0,
                local: i as u32,
            };
        }
        let mut shelves: Vec<Option<Box<Shelf>>> = Vec::with_capacity(MAX_SHELVES);
        shelves.push(Some(Box::new(Shelf::new(engine, (0..n as u32).collect()))));
        shelves.resize_with(MAX_SHELVES, || None);
        Shelves { shelves, at }
    }

    /// Hands judged packet `a` (routed to an id) to its shelf's engine.
    #[inline(always)]
    pub fn accept(&mut self, mut a: Arrival, now: u64, sink: &mut impl Sink<Mbuf>) {
        let p = self
            .at
            .get(a.route.stream as usize)
            .copied()
            .unwrap_or(Place::NONE);
        let Some(Some(shelf)) = self.shelves.get_mut(usize::from(p.shelf)) else {
            // No route leads here (the classifier only names live ids).
            sink.free(a.mbuf, FreeReason::Invalid);
            return;
        };
        a.route.stream = p.local;
        let Shelf { engine, ids, .. } = &mut **shelf;
        merge(engine, a, now, &mut Mapped { sink, ids });
    }

    /// Applies `sw` (see [`Swap`]): first retires its removed ids (their
    /// held copies go out in order through `sink`, still with the old
    /// plan), then installs the new place table and shelf and lets go of
    /// the emptied shelves, leaving what it replaced in `sw`.
    pub fn retire(&mut self, sw: &Swap, now: u64, sink: &mut impl Sink<Mbuf>) {
        for &id in &sw.retire {
            let p = self.at.get(id as usize).copied().unwrap_or(Place::NONE);
            if let Some(Some(shelf)) = self.shelves.get_mut(usize::from(p.shelf)) {
                let Shelf { engine, ids, live } = &mut **shelf;
                engine.retire(p.local as usize, now, &mut Mapped { sink, ids });
                if let Some(l) = live.get_mut(p.local as usize) {
                    *l = false;
                }
            }
        }
    }

    /// The second half of a swap, after [`Shelves::retire`] and the
    /// publication of the retired ids' final figures.
    pub fn install(&mut self, sw: &mut Swap) {
        std::mem::swap(&mut self.at, &mut sw.at);
        for &k in &sw.take {
            if let Some(slot) = self.shelves.get_mut(k) {
                if let Some(s) = slot.take() {
                    sw.returned.push(s);
                }
            }
        }
        if let Some((k, shelf)) = sw.shelf.take() {
            match self.shelves.get_mut(k) {
                Some(slot @ None) => *slot = Some(shelf),
                // The main lcore only names an empty shelf index; if not,
                // the shelf goes back unused rather than replacing one.
                _ => sw.returned.push(shelf),
            }
        }
    }

    fn each(&mut self, mut f: impl FnMut(&mut Shelf)) {
        for s in self.shelves.iter_mut().flatten() {
            f(s);
        }
    }
}

impl MergeSet for Shelves {
    #[inline]
    fn poll(&mut self, now: u64, sink: &mut impl Sink<Mbuf>) {
        self.each(|s| {
            let Shelf { engine, ids, .. } = s;
            engine.poll(now, &mut Mapped { sink, ids });
        });
    }
    fn shed(&mut self, want: u32, now: u64, sink: &mut impl Sink<Mbuf>) -> u32 {
        let mut shed = 0;
        self.each(|s| {
            if shed < want {
                let Shelf { engine, ids, .. } = s;
                shed += engine.shed(want - shed, now, &mut Mapped { sink, ids });
            }
        });
        shed
    }
    fn fill(&mut self, stream: usize, s: SeqSample, m: Mbuf, now: u64, sink: &mut impl Sink<Mbuf>) {
        let p = self.at.get(stream).copied().unwrap_or(Place::NONE);
        match self.shelves.get_mut(usize::from(p.shelf)) {
            Some(Some(shelf)) => {
                let Shelf { engine, ids, .. } = &mut **shelf;
                engine.fill(p.local as usize, s, m, now, &mut Mapped { sink, ids });
            }
            _ => sink.free(m, FreeReason::Invalid),
        }
    }
    fn drain(&mut self, now: u64, sink: &mut impl Sink<Mbuf>) {
        self.each(|s| {
            let Shelf { engine, ids, .. } = s;
            engine.drain(now, &mut Mapped { sink, ids });
        });
    }
    /// The shelves name streams by id already (`ids` is the identity).
    fn publish_streams(&self, shared: &Shared, _ids: &[u32], to_ns: TicksToNs) {
        for shelf in self.shelves.iter().flatten() {
            for (local, (&id, &live)) in shelf.ids.iter().zip(&shelf.live).enumerate() {
                if live {
                    put(shared, id as usize, &shelf.engine, local, to_ns);
                }
            }
        }
    }
}

/// One reload, from the main lcore to the worker and back.
///
/// Going out it carries the new state; coming back, what it replaced.
#[derive(Debug, Default)]
pub struct Swap {
    /// The new plan's index in [`Generations`].
    pub generation: usize,
    /// Ids to retire now (drained with the old plan).
    pub retire: Vec<u32>,
    /// The new place table (coming back: the old one).
    pub at: Vec<Place>,
    /// A new shelf and its index, which must be empty (coming back: `None`).
    pub shelf: Option<(usize, Box<Shelf>)>,
    /// Shelves whose streams are all retired after this swap: taken out.
    pub take: Vec<usize>,
    /// Coming back: the shelves taken out (capacity reserved by the main
    /// lcore: `take.len() + 1`, so the worker's pushes never allocate).
    pub returned: Vec<Box<Shelf>>,
    /// Fresh output state per new id (coming back: the ids' old state).
    pub outs: Vec<(u32, StreamOut)>,
}

/// Every plan of the run and the two queues of [`Swap`]s.
pub struct Generations {
    plans: Vec<OnceLock<Plan>>,
    /// 0..(board stream slots): the tx stage's id table under reload.
    identity: Vec<u32>,
    /// Main lcore -> worker (one in flight at a time).
    pub to_worker: ArrayQueue<Box<Swap>>,
    /// Worker -> main lcore: applied swaps, holding what they replaced.
    pub to_main: ArrayQueue<Box<Swap>>,
}

impl Generations {
    /// Generation 0 is `first`, the plan of the start.
    pub fn new(first: Plan) -> Self {
        let plans: Vec<OnceLock<Plan>> = (0..MAX_GENERATIONS).map(|_| OnceLock::new()).collect();
        let identity = (0..first.layout().streams() as u32).collect();
        let _ = plans[0].set(first);
        Generations {
            plans,
            identity,
            to_worker: ArrayQueue::new(1),
            to_main: ArrayQueue::new(1),
        }
    }

    /// The plan of generation `g` (`None` if not set).
    pub fn get(&self, g: usize) -> Option<&Plan> {
        self.plans.get(g).and_then(OnceLock::get)
    }

    /// Every board stream slot, in order (see [`super::tx::TxState::reloadable`]).
    pub fn identity(&self) -> &[u32] {
        &self.identity
    }

    /// The start's plan.
    pub fn first(&self) -> &Plan {
        self.plans[0]
            .get()
            .expect("generation 0 is set at construction")
    }

    /// Stores generation `g`; an error if it is out of range or set.
    pub fn set(&self, g: usize, plan: Plan) -> Result<(), String> {
        let cell = self
            .plans
            .get(g)
            .ok_or_else(|| format!("more than {MAX_GENERATIONS} reloads in one run"))?;
        cell.set(plan)
            .map_err(|_| format!("generation {g} is already set"))
    }
}

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.plans.iter().filter(|p| p.get().is_some()).count();
        f.debug_struct("Generations").field("plans", &set).finish()
    }
}
