//! Live reload on the main lcore: re-reads the configuration (SIGHUP or
//! the `/mcast_failover/reload` telemetry command), works out which streams
//! are added, removed or changed, builds the new streams' merge state off
//! the hot path and hands each merge worker its [`Swap`] (see
//! `dataplane::worker::reload` for the workers' side: with several, the
//! new classifier is released to their rx sides once every one applied
//! its swap).
//!
//! Shard layout: an added stream's id is placed on worker `id % N`, the
//! rule of the start ([`Shards::worker_for`]), with its own shelf there.
//! Split layout: the tx lcore is the one merge worker (every swap goes to
//! it); its rx lcores follow the released classifier on their own. Flow
//! steering is refused (`refuse`: the NIC's rules are made at start).
//!
//! Streams are matched by name: one whose settings are unchanged is left
//! alone (same id, same state: it loses nothing); a changed one is removed
//! and added again under a new id. A file that does not parse, or a change
//! outside the streams (ports, EAL, lcores, global options), or one
//! involving gap-fill streams, is refused with one line and the running
//! set is kept.

use config::{AppConfig, Parsed, StreamConfig};
use dataplane::worker::reload::{Generations, Place, Shelf, Swap, MAX_SHELVES};
use dataplane::worker::tx::StreamOut;
use dataplane::worker::{BoardLayout, Classifier, Plan, Shards};

use crate::plan;

/// What one applied reload changed, for the main lcore's tables.
#[derive(Debug)]
pub struct Applied {
    /// Ids and names of the streams that stopped (their final figures are
    /// on the board).
    pub removed: Vec<(usize, String)>,
    /// Ids of the streams that started.
    pub added: Vec<usize>,
    /// Streams left as they were.
    pub kept: usize,
}

/// The main lcore's view of the running set and the reload in flight.
pub struct Reloader {
    args: Vec<String>,
    /// The configuration the running set comes from.
    cfg: AppConfig,
    /// Per board id, the stream running there.
    live: Vec<Option<StreamConfig>>,
    /// Per board id, the most legs its slot holds.
    caps: Vec<usize>,
    /// Mirror of the workers' place tables: per id, its place on its
    /// owner ([`Shards::worker_for`]).
    at: Vec<Place>,
    /// Per merge worker, live streams per shelf.
    shelf_live: Vec<Vec<usize>>,
    generation: usize,
    pending: Option<Applied>,
    /// Swaps of the pending reload the workers handed back.
    back: usize,
    /// The mirror once the pending reload is applied: streams per id, the
    /// configuration, live streams per shelf, the place table.
    next: Option<Next>,
    /// Why this layout cannot reload (`None`: it can).
    refuse: Option<String>,
    out_mac: [u8; 6],
    hz: u64,
}

/// The main lcore's mirror after a pending reload.
type Next = (
    Vec<Option<StreamConfig>>,
    AppConfig,
    Vec<Vec<usize>>,
    Vec<Place>,
);

/// The first line where two values' pretty debug forms differ.
fn first_difference(a: &impl std::fmt::Debug, b: &impl std::fmt::Debug) -> String {
    let (a, b) = (format!("{a:#?}"), format!("{b:#?}"));
    a.lines()
        .zip(b.lines())
        .find(|(x, y)| x != y)
        .map_or_else(String::new, |(_, y)| {
            y.trim().trim_end_matches(',').to_string()
        })
}

impl Reloader {
    /// The running set of `cfg` (parsed from `args`) as `shards` places it
    /// on the merge workers, with board slots laid out by `layout`;
    /// `refuse` says why this layout cannot reload.
    pub fn new(
        args: Vec<String>,
        (cfg, shards): (&AppConfig, &Shards),
        layout: &BoardLayout,
        refuse: Option<String>,
        (out_mac, hz): ([u8; 6], u64),
    ) -> Self {
        let n = layout.streams();
        let mut live: Vec<Option<StreamConfig>> = vec![None; n];
        for (i, s) in cfg.streams.iter().enumerate() {
            live[i] = Some(s.clone());
        }
        let mut at = vec![Place::NONE; n];
        let mut shelf_live = vec![vec![0; MAX_SHELVES]; shards.workers()];
        for (w, live) in shelf_live.iter_mut().enumerate() {
            for (local, &id) in shards.members(w).iter().enumerate() {
                at[id as usize] = Place {
                    shelf: 0,
                    local: local as u32,
                };
            }
            live[0] = shards.members(w).len();
        }
        Reloader {
            args,
            cfg: cfg.clone(),
            live,
            caps: (0..n).map(|i| layout.legs(i)).collect(),
            at,
            shelf_live,
            generation: 0,
            pending: None,
            back: 0,
            next: None,
            refuse,
            out_mac,
            hz,
        }
    }

    /// The configuration of the running set.
    pub fn config(&self) -> &AppConfig {
        &self.cfg
    }

    /// The stream running as `id`, if any.
    pub fn stream(&self, id: usize) -> Option<&StreamConfig> {
        self.live.get(id).and_then(Option::as_ref)
    }

    /// Re-reads the configuration and queues the change for the worker;
    /// `Ok` says what was queued, `Err` (one line) why nothing was.
    pub fn request(&mut self, plans: &Generations) -> Result<String, String> {
        if let Some(why) = &self.refuse {
            return Err(why.clone());
        }
        if self.pending.is_some() {
            return Err("the previous reload is still being applied".into());
        }
        let new = match config::parse_args(self.args.clone()) {
            Ok(Parsed::Run(c)) => *c,
            Ok(_) => return Err("the arguments no longer describe a run".into()),
            Err(e) => return Err(e.to_string()),
        };
        let (mut a, mut b) = (self.cfg.clone(), new.clone());
        for c in [&mut a, &mut b] {
            c.streams.clear();
            c.warnings.clear();
        }
        if a != b {
            return Err(format!(
                "a change outside the streams needs a restart ({})",
                first_difference(&a, &b)
            ));
        }
        // Match by name.
        let mut removed = Vec::new();
        for (id, s) in self.live.iter().enumerate() {
            if let Some(s) = s {
                if !new.streams.iter().any(|n| n == s) {
                    removed.push(id);
                }
            }
        }
        let added: Vec<&StreamConfig> = new
            .streams
            .iter()
            .filter(|n| !self.live.iter().flatten().any(|s| s == *n))
            .collect();
        if removed.is_empty() && added.is_empty() {
            return Err("the configuration is unchanged".into());
        }
        let mold = |s: &StreamConfig| s.mold_request.is_some();
        if added.iter().any(|s| mold(s))
            || removed
                .iter()
                .any(|&i| self.live[i].as_ref().is_some_and(mold))
        {
            return Err(
                "adding or removing a gap-fill (mold-request) stream needs a restart".into(),
            );
        }
        // Ids for the added streams: free slots (not freed by this very
        // reload) big enough for their legs.
        let mut ids = Vec::with_capacity(added.len());
        for s in &added {
            let id = (0..self.live.len()).find(|&i| {
                self.live[i].is_none() && !ids.contains(&i) && self.caps[i] >= s.legs.len()
            });
            match id {
                Some(i) => ids.push(i),
                None => {
                    return Err(format!(
                        "no stats board room for stream {} (a run has room for as many added streams as it started with, at least 8): restart",
                        s.name
                    ))
                }
            }
        }
        let g = self.generation + 1;
        let prev = plans
            .get(self.generation)
            .ok_or("the running plan is missing")?;
        // The new plan: every id's stream plan (retired ones keep theirs,
        // never routed), routes only to the streams that run.
        let mut streams = prev.streams.clone();
        let mut next_live = self.live.clone();
        for &id in &removed {
            next_live[id] = None;
        }
        for (s, &id) in added.iter().zip(&ids) {
            let sp = plan::stream_plan(s, self.out_mac, self.hz)?;
            if streams.len() <= id {
                streams.resize(id + 1, sp.clone());
            }
            streams[id] = sp;
            next_live[id] = Some((*s).clone());
        }
        let mut classifier = Classifier::new();
        for (id, s) in next_live.iter().enumerate() {
            if let Some(s) = s {
                plan::add_routes(&mut classifier, &new, s, id)?;
            }
        }
        // The new streams' engines, built here, off the workers: per worker
        // its removed ids, its added ones on a new shelf, its place table.
        let workers = plans.workers();
        let owner = |id: usize| Shards::worker_for(id, workers);
        let mut at = self.at.clone();
        let mut shelf_live = self.shelf_live.clone();
        for &id in &removed {
            shelf_live[owner(id)][usize::from(at[id].shelf)] -= 1;
            at[id] = Place::NONE;
        }
        let mut swaps = Vec::with_capacity(workers);
        for (w, live) in shelf_live.iter_mut().enumerate() {
            let mine: Vec<usize> = ids.iter().copied().filter(|&id| owner(id) == w).collect();
            let take: Vec<usize> = (0..MAX_SHELVES)
                .filter(|&k| self.shelf_live[w][k] > 0 && live[k] == 0)
                .collect();
            let shelf = if mine.is_empty() {
                None
            } else {
                let k = (0..MAX_SHELVES)
                    .find(|&k| self.shelf_live[w][k] == 0 && !self.shelf_used(w, k))
                    .ok_or("too many reloads with streams still running from each: restart")?;
                let configs: Vec<_> = mine.iter().map(|&id| streams[id].merge).collect();
                let engine = dataplane::merge::Engine::new(&configs)?;
                for (local, &id) in mine.iter().enumerate() {
                    at[id] = Place {
                        shelf: k as u16,
                        local: local as u32,
                    };
                }
                live[k] = mine.len();
                Some((
                    k,
                    Box::new(Shelf::new(engine, mine.iter().map(|&i| i as u32).collect())),
                ))
            };
            swaps.push((w, take, shelf, mine));
        }
        let swaps: Vec<Box<Swap>> = swaps
            .into_iter()
            .map(|(w, take, shelf, mine)| {
                Box::new(Swap {
                    generation: g,
                    retire: removed
                        .iter()
                        .filter(|&&id| owner(id) == w)
                        .map(|&i| i as u32)
                        .collect(),
                    // Only this worker's ids: the shelf indices are its own.
                    at: at
                        .iter()
                        .enumerate()
                        .map(|(id, &p)| if owner(id) == w { p } else { Place::NONE })
                        .collect(),
                    shelf,
                    returned: Vec::with_capacity(take.len() + 1),
                    take,
                    outs: mine
                        .iter()
                        .map(|&id| (id as u32, StreamOut::for_stream(&streams[id])))
                        .collect(),
                })
            })
            .collect();
        let next_len = streams.len();
        plans.set(
            g,
            Plan {
                streams,
                classifier,
                shards: Shards::by_index(next_len, workers),
                ..clone_fixed(prev)
            },
        )?;
        let summary = format!(
            "adding [{}], removing [{}], keeping {}",
            added
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            removed
                .iter()
                .filter_map(|&i| self.live[i].as_ref().map(|s| s.name.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            self.live.iter().flatten().count() - removed.len()
        );
        plans.send(swaps)?;
        self.generation = g;
        self.pending = Some(Applied {
            removed: removed
                .iter()
                .map(|&i| {
                    (
                        i,
                        self.live[i]
                            .as_ref()
                            .map_or_else(String::new, |s| s.name.clone()),
                    )
                })
                .collect(),
            added: ids,
            kept: self.live.iter().flatten().count() - removed.len(),
        });
        // The mirror follows once the worker has applied it.
        self.back = 0;
        self.next = Some((next_live, new, shelf_live, at));
        Ok(summary)
    }

    /// Whether a running stream of worker `w` sits on its shelf `k`.
    fn shelf_used(&self, w: usize, k: usize) -> bool {
        let workers = self.shelf_live.len();
        self.at
            .iter()
            .enumerate()
            .any(|(id, p)| Shards::worker_for(id, workers) == w && usize::from(p.shelf) == k)
    }

    /// The reload the workers have applied since the last call, if any:
    /// once every worker handed its swap back (dropped here, on the main
    /// lcore: the old place tables, the shelves let go, the old output
    /// state), the new classifier is released to their rx sides; once
    /// every rx side uses it, the reload is done.
    pub fn poll(&mut self, plans: &Generations) -> Option<Applied> {
        while let Some(sw) = plans.to_main.pop() {
            self.back += 1;
            drop(sw);
        }
        self.pending.as_ref()?;
        if self.back < plans.workers() {
            return None;
        }
        plans.release_rx(self.generation);
        if !plans.rx_switched(self.generation) {
            return None;
        }
        if let Some((live, cfg, shelf_live, at)) = self.next.take() {
            self.live = live;
            self.cfg = cfg;
            self.shelf_live = shelf_live;
            self.at = at;
        }
        self.pending.take()
    }
}

/// The parts of a plan a reload never changes.
fn clone_fixed(p: &Plan) -> Plan {
    Plan {
        streams: Vec::new(),
        classifier: Classifier::new(),
        inputs: p.inputs.clone(),
        burst: p.burst,
        rx_prefetch: p.rx_prefetch,
        verify_udp: p.verify_udp,
        tsc_hz: p.tsc_hz,
        clock: p.clock,
        shards: p.shards.clone(),
        rx_lanes: p.rx_lanes,
        reload_slots: p.reload_slots,
    }
}
