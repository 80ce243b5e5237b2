//! Live reload on the one-lcore and shard layouts: the stream set changes
//! while the merge workers run, without touching the streams that stay.
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
//! ([`Generations::send`]); the worker applies it at a burst boundary
//! and pushes the same box back ([`Generations::to_main`]) holding what it
//! replaced (the old place table, the shelves it let go, the old output
//! state), for the main lcore to drop: the worker frees and allocates
//! nothing but moves pointers. The plans of every generation live in
//! [`Generations`] for the whole run (set once each, never moved), so the
//! worker's references to them stay valid; their number is bounded by
//! [`MAX_GENERATIONS`].
//!
//! Shard layout: every merge worker has its own shelves and its own queue
//! pair, and a stream's swap goes to its owner (id `i` to worker
//! `i % N`, the start-up rule, [`Shards::worker_for`]). A worker's rx side
//! may pass packets to the others (software dispatch), so the classifier
//! of a generation may be used only once every owner merges its streams:
//! each worker first applies its swap to its merge and tx side (removed
//! streams drained, new shelves in) and hands it back; when all have, the
//! main lcore releases the generation to the rx sides
//! ([`Generations::release_rx`]) and each worker's rx side switches at its
//! next loop and says so ([`Generations::rx_switched`]). Meanwhile a
//! packet judged under the old classifier for a stream just removed finds
//! no place and is freed, counted `unrouted`; an added stream's packets are
//! `unknown_flow` until the switch; untouched streams keep their id, their
//! owner and their place throughout. With one worker the two steps are
//! one: it switches its own rx side as it applies the swap.
//!
//! Split layout (`--layout split`): one merge worker (the tx lcore, with
//! the shelves) and rx lcores that only judge packets and pass them on
//! through the handoff queues. The merge worker applies its swap and
//! releases the generation at once, as the one worker of the one-lcore
//! layout does; each rx lcore follows with its own [`RxEnd`] at its next
//! loop, and the reload is done when every rx lcore has switched
//! ([`Generations::with_rx_sides`]). Packets already in a handoff queue
//! were judged under the old classifier: an untouched stream's keep their
//! id, a removed stream's are `unrouted`, as in the shard layout. An rx
//! lcore reports its switch ([`RxEnd::acknowledge`]) only once the tx
//! lcore has taken every packet it queued before it, so no such packet
//! is left when the reload counts as done and a later one reuses the id.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crossbeam_queue::ArrayQueue;

use super::layout::BoardLayout;
use super::plan::{Plan, Shared};
use super::poll::RxStage;
use super::rx::{merge, Arrival};
#[cfg(doc)]
use super::shard::Shards;
use super::tx::{StreamOut, TicksToNs, TxState};
use crate::dpdk::Mbuf;
use crate::merge::{Engine, Event, FreeReason, SendInfo, Sink};
use crate::seq::SeqSample;
use crate::stats::StreamResidence;

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
    /// `ids[i]` is the plan's index of the set's stream `i`, and `outs`
    /// the tx stage's output state indexed as the set's sink names
    /// streams (holding each stream's residence).
    fn publish_streams(&self, shared: &Shared, ids: &[u32], outs: &[StreamOut], to_ns: TicksToNs);
}

/// Puts stream `local` of `engine` on the board as stream `id`, with the
/// residence of `out` (none: an empty histogram, which allocates nothing).
fn put(
    shared: &Shared,
    (id, out): (usize, Option<&StreamOut>),
    engine: &Engine<Mbuf>,
    local: usize,
    to_ns: TicksToNs,
) {
    let none;
    let residence = match out {
        Some(o) => &o.residence,
        None => {
            none = StreamResidence::placeholder();
            &none
        }
    };
    shared.layout.put_stream(
        &shared.board,
        id,
        (&engine.counters(local), &engine.evidence(local), residence),
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
    fn publish_streams(&self, shared: &Shared, ids: &[u32], outs: &[StreamOut], to_ns: TicksToNs) {
        for (s, &id) in ids.iter().enumerate().take(self.streams()) {
            put(shared, (id as usize, outs.get(s)), self, s, to_ns);
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
    /// The start: one shelf holding every stream of `engine` (engine
    /// stream `i` is id `ids[i]`: the worker's members), a place table for
    /// every board stream slot of `layout`.
    pub fn new(engine: Engine<Mbuf>, ids: &[u32], layout: &BoardLayout) -> Self {
        let top = ids.iter().map(|&i| i as usize + 1).max().unwrap_or(0);
        let mut at = vec![Place::NONE; layout.streams().max(top)];
        for (local, &id) in ids.iter().enumerate().take(engine.streams()) {
            at[id as usize] = Place {
                shelf: 0,
                local: local as u32,
            };
        }
        let mut shelves: Vec<Option<Box<Shelf>>> = Vec::with_capacity(MAX_SHELVES);
        // A worker that starts with no stream (more workers than streams)
        // leaves shelf 0 empty: the main lcore counts it free, and a
        // reload's first shelf for this worker goes there.
        shelves.push((!ids.is_empty()).then(|| Box::new(Shelf::new(engine, ids.to_vec()))));
        shelves.resize_with(MAX_SHELVES, || None);
        Shelves { shelves, at }
    }

    /// The engine holding stream id `id`, and the id's index there.
    #[inline(always)]
    fn place(&self, id: u32) -> Option<(&Engine<Mbuf>, usize)> {
        let p = self.at.get(id as usize)?;
        let shelf = self.shelves.get(usize::from(p.shelf))?.as_ref()?;
        Some((&shelf.engine, p.local as usize))
    }

    /// Prefetches (through `fetch`) the stream state judged packet `a`
    /// will meet in [`Shelves::accept`] (see [`Engine::prefetch_state`]).
    #[inline(always)]
    pub fn prefetch_state(&self, a: &Arrival, fetch: impl FnMut(*const u8)) {
        if let Some((engine, local)) = self.place(a.route.stream) {
            engine.prefetch_state(local, usize::from(a.route.leg), fetch);
        }
    }

    /// Prefetches the slots `a` will meet (see [`Engine::prefetch_slots`]).
    #[inline(always)]
    pub fn prefetch_slots(&self, a: &Arrival, fetch: impl FnMut(*const u8)) {
        if let Some((engine, local)) = self.place(a.route.stream) {
            engine.prefetch_slots((local, usize::from(a.route.leg)), &a.sample, fetch);
        }
    }

    /// Hands judged packet `a` (routed to an id) to its shelf's engine;
    /// gives it back when no shelf of this worker merges that id (a packet
    /// judged under the previous classifier for a stream a reload removed,
    /// see the module doc): the caller counts and frees it.
    #[inline(always)]
    pub fn accept(&mut self, mut a: Arrival, now: u64, sink: &mut impl Sink<Mbuf>) -> Option<Mbuf> {
        let p = self
            .at
            .get(a.route.stream as usize)
            .copied()
            .unwrap_or(Place::NONE);
        let Some(Some(shelf)) = self.shelves.get_mut(usize::from(p.shelf)) else {
            return Some(a.mbuf);
        };
        a.route.stream = p.local;
        let Shelf { engine, ids, .. } = &mut **shelf;
        merge(engine, a, now, &mut Mapped { sink, ids });
        None
    }

    /// Applies `sw` (see [`Swap`]): first retires its removed ids (their
    /// held copies go out in order through `sink`, still with the old
    /// plan). They stay live on the board until [`Shelves::install`], so
    /// the publication in between carries their final figures.
    pub fn retire(&mut self, sw: &Swap, now: u64, sink: &mut impl Sink<Mbuf>) {
        for &id in &sw.retire {
            let p = self.at.get(id as usize).copied().unwrap_or(Place::NONE);
            if let Some(Some(shelf)) = self.shelves.get_mut(usize::from(p.shelf)) {
                let Shelf { engine, ids, .. } = &mut **shelf;
                engine.retire(p.local as usize, now, &mut Mapped { sink, ids });
            }
        }
    }

    /// The second half of a swap, after [`Shelves::retire`] and the
    /// publication of the retired ids' final figures: marks them retired,
    /// installs the new place table and shelf and lets go of the emptied
    /// shelves, leaving what it replaced in `sw`.
    pub fn install(&mut self, sw: &mut Swap) {
        for &id in &sw.retire {
            let p = self.at.get(id as usize).copied().unwrap_or(Place::NONE);
            if let Some(Some(shelf)) = self.shelves.get_mut(usize::from(p.shelf)) {
                if let Some(l) = shelf.live.get_mut(p.local as usize) {
                    *l = false;
                }
            }
        }
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
    fn publish_streams(&self, shared: &Shared, _ids: &[u32], outs: &[StreamOut], to_ns: TicksToNs) {
        for shelf in self.shelves.iter().flatten() {
            for (local, (&id, &live)) in shelf.ids.iter().zip(&shelf.live).enumerate() {
                if live {
                    let id = id as usize;
                    put(shared, (id, outs.get(id)), &shelf.engine, local, to_ns);
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

/// Every plan of the run, the queues of [`Swap`]s and the rx sides'
/// generations.
pub struct Generations {
    plans: Vec<OnceLock<Plan>>,
    /// 0..(board stream slots): the tx stage's id table under reload.
    identity: Vec<u32>,
    /// Main lcore -> each merge worker (one swap in flight per worker).
    to_worker: Vec<ArrayQueue<Box<Swap>>>,
    /// Workers -> main lcore: applied swaps, holding what they replaced.
    pub to_main: ArrayQueue<Box<Swap>>,
    /// The generation whose classifier the rx sides may use.
    rx_release: AtomicUsize,
    /// Per rx side (a merge worker's, or a split layout's rx lcore): the
    /// generation it uses.
    rx_at: Vec<AtomicUsize>,
}

impl Generations {
    /// Generation 0 is `first`, the plan of the start.
    pub fn new(first: Plan) -> Self {
        let plans: Vec<OnceLock<Plan>> = (0..MAX_GENERATIONS).map(|_| OnceLock::new()).collect();
        let identity = (0..first.layout().streams() as u32).collect();
        let workers = first.shards.workers();
        let _ = plans[0].set(first);
        Generations {
            plans,
            identity,
            to_worker: (0..workers).map(|_| ArrayQueue::new(1)).collect(),
            to_main: ArrayQueue::new(workers),
            rx_release: AtomicUsize::new(0),
            rx_at: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
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

    /// Split layout: the rx sides are `n` rx lcores (each follows the
    /// released generation with its own [`RxEnd`]), not the merge workers.
    pub fn with_rx_sides(mut self, n: usize) -> Self {
        self.rx_at = (0..n.max(1)).map(|_| AtomicUsize::new(0)).collect();
        self
    }

    /// The start's plan.
    pub fn first(&self) -> &Plan {
        self.plans[0]
            .get()
            .expect("generation 0 is set at construction")
    }

    /// Merge workers a reload sends a swap to.
    pub fn workers(&self) -> usize {
        self.to_worker.len()
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

    /// Queues `swaps[w]` for worker `w`, all or none (each worker's queue
    /// must be empty: one reload in flight).
    pub fn send(&self, swaps: Vec<Box<Swap>>) -> Result<(), String> {
        if swaps.len() != self.to_worker.len() || self.to_worker.iter().any(|q| !q.is_empty()) {
            return Err("the workers' reload queues are busy".into());
        }
        for (q, sw) in self.to_worker.iter().zip(swaps) {
            q.push(sw)
                .map_err(|_| "the workers' reload queues are busy".to_string())?;
        }
        Ok(())
    }

    /// Drops every swap no worker took (after they stopped).
    pub fn drop_queued(&self) {
        for q in &self.to_worker {
            while q.pop().is_some() {}
        }
    }

    /// Main lcore: every worker merges generation `g`'s streams, so its
    /// classifier may route packets to them.
    pub fn release_rx(&self, g: usize) {
        self.rx_release.store(g, Ordering::Release);
    }

    /// Whether every worker's rx side uses generation `g`.
    pub fn rx_switched(&self, g: usize) -> bool {
        self.rx_at.iter().all(|a| a.load(Ordering::Acquire) == g)
    }
}

impl std::fmt::Debug for Generations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.plans.iter().filter(|p| p.get().is_some()).count();
        f.debug_struct("Generations").field("plans", &set).finish()
    }
}

/// An rx side's end of the reload protocol: follows the generation the
/// main lcore (or the one merge worker) released.
#[derive(Debug)]
pub struct RxEnd<'g> {
    plans: &'g Generations,
    me: usize,
    /// The generation this rx side uses.
    rx: usize,
}

impl<'g> RxEnd<'g> {
    /// Rx side `me`'s end (a merge worker's index, or a split layout's rx
    /// lcore); it starts on generation 0.
    pub fn new(plans: &'g Generations, me: usize) -> Self {
        RxEnd { plans, me, rx: 0 }
    }

    /// Called between two polls: the plan `rx` must judge with from now
    /// on when a newer generation was released (its route cache is
    /// forgotten here, and the switch is reported to the main lcore).
    pub fn follow(&mut self, rx: &mut RxStage) -> Option<&'g Plan> {
        let next = self.switch(rx)?;
        self.acknowledge();
        Some(next)
    }

    /// [`RxEnd::follow`] without the report: for an rx side whose judged
    /// packets wait in a queue (split layout), which reports with
    /// [`RxEnd::acknowledge`] once the merge has taken every packet judged
    /// under the old classifier, so a later reload cannot give a freed id
    /// to a new stream while such a packet is still on its way.
    pub fn switch(&mut self, rx: &mut RxStage) -> Option<&'g Plan> {
        let g = self.plans.rx_release.load(Ordering::Acquire);
        if g == self.rx {
            return None;
        }
        let next = self.plans.get(g)?;
        self.rx = g;
        rx.forget_routes();
        Some(next)
    }

    /// Tells the main lcore this rx side uses the generation it switched to.
    pub fn acknowledge(&self) {
        if let Some(a) = self.plans.rx_at.get(self.me) {
            a.store(self.rx, Ordering::Release);
        }
    }
}

/// One merge worker's end of the reload protocol (see the module doc).
#[derive(Debug)]
pub struct WorkerEnd<'g> {
    plans: &'g Generations,
    me: usize,
    /// Its own rx side's end (unused by the split layout's merge worker,
    /// whose rx lcores follow on their own).
    rx: RxEnd<'g>,
}

impl<'g> WorkerEnd<'g> {
    /// Worker `me`'s end; its rx side starts on generation 0.
    pub fn new(plans: &'g Generations, me: usize) -> Self {
        WorkerEnd {
            plans,
            me,
            rx: RxEnd::new(plans, me),
        }
    }

    /// Called at a burst boundary by a worker that merges and polls:
    /// [`WorkerEnd::apply`], then its rx side follows ([`RxEnd::follow`]).
    /// Returns the plan the rx side must use from now on when that changed.
    pub fn service(
        &mut self,
        (engine, tx): (&mut Shelves, &mut TxState<'g, '_, '_>),
        rx: &mut RxStage,
        shared: &Shared,
        scratch: &mut [u64],
    ) -> Option<&'g Plan> {
        self.apply((engine, tx), Some(rx), shared, scratch);
        self.rx.follow(rx)
    }

    /// Applies the swap queued for this worker, if any: retires its removed
    /// ids (held copies sent in order with the plan they ran under, final
    /// figures published, with `rx`'s counters when this worker polls),
    /// then installs the new place table, shelf and output state and points
    /// the tx stage at the new plan, and hands the box back. With one merge
    /// worker it releases the generation to the rx sides at once.
    pub fn apply(
        &mut self,
        (engine, tx): (&mut Shelves, &mut TxState<'g, '_, '_>),
        rx: Option<&RxStage>,
        shared: &Shared,
        scratch: &mut [u64],
    ) {
        let plans = self.plans;
        if let Some(mut sw) = plans.to_worker.get(self.me).and_then(ArrayQueue::pop) {
            if let Some(next) = plans.get(sw.generation) {
                let now = tx.now();
                engine.retire(&sw, now, tx);
                tx.flush();
                if let Some(rx) = rx {
                    rx.publish(shared);
                }
                tx.publish(engine, scratch);
                shared.board.commit();
                engine.install(&mut sw);
                tx.swap_outs(&mut sw.outs);
                tx.retarget(next);
                if plans.workers() == 1 {
                    // Nobody else merges: the rx side may switch at once.
                    plans.release_rx(sw.generation);
                }
            }
            // One swap in flight per worker: there is room.
            let _ = plans.to_main.push(sw);
        }
    }
}
