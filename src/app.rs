//! The run: configuration, EAL, ports, lcores, monitoring, shutdown.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use config::{AppConfig, ClockSource, ForwardMode, Parsed};
use dataplane::dpdk::{
    DpdkError, Eal, MbufRing, Mempool, Pdump, RxTimestamp, DEFAULT_DATA_ROOM, SOCKET_ANY,
};
use dataplane::membership::Host;
use dataplane::worker::reload::Generations;
use dataplane::worker::{io, shard, single, split, Clock, Plan, Shared};
use serde_json::{json, Value};

use crate::bringup::{self, OpenPort};
use crate::events::EventLog;
use crate::health::{HealthTracker, Sample};
use crate::membership::{self, Membership};
use crate::outfile::OutFile;
use crate::reload::Reloader;
use crate::report::Reporter;
use crate::signals::Signals;
use crate::steer::Steering;
use crate::view::{Snapshot, View};
use crate::{build_info, metrics, pcap_vdev, plan, telemetry};

/// Exit status for bad input of any kind.
const EXIT_USAGE: i32 = 2;
/// Exit status for a failure at run time (resources, leaked mbufs).
const EXIT_FAILURE: i32 = 1;

/// How often the main lcore looks at signals, duration and events.
const TICK: Duration = Duration::from_millis(5);

/// How often the main lcore refreshes the view the metrics endpoint and
/// the telemetry commands read, and judges health (more often when
/// `--stats-period` is shorter).
const REFRESH: Duration = Duration::from_secs(1);

fn fail(code: i32, msg: impl std::fmt::Display) -> i32 {
    eprintln!("mcast-failover: {msg}");
    code
}

/// Parses `args`, runs, and returns the process exit status.
pub fn run(args: Vec<String>) -> i32 {
    let argv = args.clone();
    let cfg = match config::parse_args(args) {
        Ok(Parsed::Run(c)) => c,
        Ok(Parsed::Help(h)) => {
            print!("{h}");
            return 0;
        }
        Ok(Parsed::Version(_)) => {
            println!("{}", build_info::version());
            return 0;
        }
        Err(e) => return fail(e.exit_code(), e),
    };
    for w in &cfg.warnings {
        log::warn!("{w}");
    }
    if cfg.print_streams {
        for s in &cfg.streams {
            let legs = leg_texts(s);
            println!("{} {}={}", s.name, legs.join(","), s.out.dst());
        }
        return 0;
    }
    if cfg.print_sdp {
        for s in &cfg.streams {
            let media = s.sdp.as_ref().map(|d| (&d.media, d.attributes.as_slice()));
            print!(
                "{}",
                config::sdp::output_sdp(&s.name, s.out.dst(), s.out.src_ip, s.out.ttl, media)
            );
        }
        return 0;
    }
    // Output files are checked before anything starts: a path that cannot
    // be written is bad input, not a failure found after the whole run.
    let stats_json = match cfg
        .stats_json
        .as_deref()
        .map(|p| OutFile::prepare("--stats-json", p))
        .transpose()
    {
        Ok(f) => f,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let events_json = match cfg
        .events_json
        .as_deref()
        .map(crate::events::open_lines)
        .transpose()
    {
        Ok(f) => f,
        Err(e) => return fail(EXIT_USAGE, e),
    };
    let outputs = Outputs {
        stats_json: stats_json.as_ref(),
        events_json,
        argv,
    };
    let max_frame = u32::from(DEFAULT_DATA_ROOM).saturating_sub(dpdk_sys::RTE_PKTMBUF_HEADROOM);
    if let Err(e) = pcap_vdev::check(&cfg.eal_args, max_frame) {
        return fail(EXIT_USAGE, e);
    }
    let signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => return fail(EXIT_FAILURE, e),
    };
    let eal = match Eal::init(&cfg.eal_args) {
        Ok(e) => e,
        Err(e) => {
            let code = match e {
                DpdkError::Call { errno, .. } if errno == libc::EINVAL => EXIT_USAGE,
                DpdkError::InvalidArgument(_) => EXIT_USAGE,
                _ => EXIT_FAILURE,
            };
            return fail(code, format!("EAL initialisation failed: {e}"));
        }
    };
    // Capture by dpdk-dumpcap needs the multi-process channel: with
    // --no-huge (or --in-memory) there is none, and the run goes on without.
    let _pdump = match Pdump::init(&eal) {
        Ok(p) => Some(p),
        Err(e) => {
            log::info!("packet capture (dpdk-dumpcap) not available: {e} (it needs hugepages and a --file-prefix)");
            None
        }
    };
    println!(
        "EAL: {}, main lcore {}, worker lcores {:?}, TSC {} Hz",
        eal.version(),
        eal.main_lcore(),
        eal.worker_lcores(),
        eal.tsc_hz()
    );
    let ids = eal.port_ids();
    if let Err(e) = cfg.check_ports(&ids) {
        return fail(EXIT_USAGE, e);
    }
    let workers = eal.worker_lcores();
    if workers.len() < cfg.nb_cores as usize {
        return fail(
            EXIT_USAGE,
            format!(
                "--nb-cores {} needs {} worker lcores but EAL has {} (give EAL -l 0-{} or --lcores)",
                cfg.nb_cores,
                cfg.nb_cores,
                workers.len(),
                cfg.nb_cores
            ),
        );
    }
    let pool = match bringup::make_pool(&eal, &cfg) {
        Ok(p) => p,
        Err(e) => return fail(EXIT_FAILURE, e),
    };
    println!(
        "Mempool {}: {} mbufs, {} in use",
        pool.name(),
        pool.size(),
        pool.in_use()
    );
    if let Some(w) = bringup::pool_warning(&cfg, pool.size()) {
        log::warn!("{w}");
    }
    let code = {
        let bringup::Opened { ports, steering } = match bringup::open_ports(&eal, &cfg, &pool) {
            Ok(p) => p,
            Err(bringup::PortError::Refused(e)) => return fail(EXIT_USAGE, e),
            Err(bringup::PortError::Failed(e)) => return fail(EXIT_FAILURE, e),
        };
        let ended = if cfg.forward_mode == ForwardMode::Io {
            (run_io(&eal, &cfg, &signals, &ports, &workers), None)
        } else {
            run_merge(
                &eal,
                &cfg,
                &signals,
                (&ports, &steering),
                &pool,
                &workers,
                outputs,
            )
        };
        // Dropping the ports stops and closes them, returning their mbufs.
        drop(ports);
        ended
    };
    let (code, final_stats) = code;
    if let Some(mut v) = final_stats {
        // The final block is shown once the ports are closed, so its
        // mempool line is the count after shutdown (the leak check's), and
        // the JSON says the same; what the rx rings held at the stop is
        // kept beside it.
        v["mempool"]["in_use_at_stop"] = v["mempool"]["in_use"].take();
        v["mempool"]["in_use"] = pool.in_use().into();
        v["mempool"]["avail"] = pool.avail().into();
        Reporter::print(&v);
        if let Some(f) = &stats_json {
            if let Err(e) = f.write_json(&v) {
                return fail(EXIT_FAILURE, e);
            }
        }
    }
    let in_use = pool.in_use();
    if in_use != 0 {
        return fail(
            EXIT_FAILURE,
            format!(
                "{in_use} mbufs of mempool {} still in use after shutdown: leaked",
                pool.name()
            ),
        );
    }
    println!(
        "Mempool {}: 0 of {} mbufs in use after shutdown (no leak)",
        pool.name(),
        pool.size()
    );
    code
}

fn find<'p, 'a>(ports: &'p [OpenPort<'a>], id: u16) -> &'p OpenPort<'a> {
    ports
        .iter()
        .find(|p| p.port.id() == id)
        .expect("every used port was opened")
}

/// Bumps the publish request and waits (bounded) until every publishing
/// lcore has served it.
fn request_publish(shared: &Shared) {
    let g0 = shared.board.generation();
    shared.publish_request.fetch_add(1, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_millis(250);
    while shared.board.generation() < g0 + shared.publishers as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(200));
    }
}

struct Monitor<'c> {
    cfg: &'c AppConfig,
    started: Instant,
    next_stats: Option<Instant>,
}

/// Why the monitor loop ended.
#[derive(PartialEq, Eq, Debug)]
enum End {
    Signal,
    Duration,
    WorkerExited,
}

impl Monitor<'_> {
    fn new(cfg: &AppConfig) -> Monitor<'_> {
        let started = Instant::now();
        Monitor {
            cfg,
            started,
            next_stats: cfg.stats_period.map(|p| started + p),
        }
    }

    /// One tick: returns Some(end) when the run must stop, and whether the
    /// stats block is due.
    fn tick(&mut self, signals: &Signals, running: usize, expected: usize) -> (Option<End>, bool) {
        if signals.terminate() {
            return (Some(End::Signal), false);
        }
        if running < expected {
            return (Some(End::WorkerExited), false);
        }
        if let Some(d) = self.cfg.duration {
            if self.started.elapsed() >= d {
                return (Some(End::Duration), false);
            }
        }
        signals.log_ignored();
        let mut due = signals.take_usr1();
        if let (Some(t), Some(p)) = (self.next_stats, self.cfg.stats_period) {
            let now = Instant::now();
            if now >= t {
                due = true;
                self.next_stats = Some(next_due(t, p, now));
            }
        }
        (None, due)
    }
}

/// The first period boundary after `now`, counting from `due` (a boundary
/// at or before `now`) in steps of `period`. Periods missed while the main
/// thread was busy are skipped, not replayed: one stats block is due, and
/// the computation is O(1) however far behind the clock is.
fn next_due(due: Instant, period: Duration, now: Instant) -> Instant {
    let step = period.as_nanos().max(1);
    let behind = now.saturating_duration_since(due).as_nanos();
    let steps = behind / step + 1;
    let ahead = u64::try_from(steps.saturating_mul(step)).unwrap_or(u64::MAX);
    due.checked_add(Duration::from_nanos(ahead))
        .unwrap_or(now + period)
}

/// The workers' clock, its ticks per second and its time at start.
///
/// `--clock capture` takes time from the rx timestamp the driver stamps;
/// only net_pcap's is known (microseconds of the capture), so every input
/// port must be a net_pcap vdev.
fn worker_clock(
    cfg: &AppConfig,
    ports: &[OpenPort<'_>],
    eal: &Eal,
) -> Result<(Clock, u64, u64), String> {
    match cfg.clock {
        ClockSource::Tsc => Ok((Clock::Tsc, eal.tsc_hz(), eal.tsc())),
        ClockSource::Capture => {
            for id in cfg.input_ports() {
                let driver = find(ports, id).port.driver_name();
                if driver != "net_pcap" {
                    return Err(format!(
                        "--clock capture: input port {id} is {driver}; only net_pcap stamps \
                         packets with their capture time (use --clock tsc)"
                    ));
                }
            }
            let ts = RxTimestamp::register().map_err(|e| format!("--clock capture: {e}"))?;
            // net_pcap stamps tv_sec * 10^6 + tv_usec; events count from 0.
            Ok((Clock::Capture(ts), 1_000_000, 0))
        }
    }
}

/// The files a run writes, opened or checked before EAL starts.
struct Outputs<'a> {
    /// `--stats-json`.
    stats_json: Option<&'a OutFile>,
    /// `--events-json`, open for appending.
    events_json: Option<std::fs::File>,
    /// The command line, parsed again at each live reload.
    argv: Vec<String>,
}

fn run_merge(
    eal: &Eal,
    cfg: &AppConfig,
    signals: &Signals,
    (ports, steering): (&[OpenPort<'_>], &Steering),
    pool: &Mempool<'_>,
    workers: &[u32],
    files: Outputs<'_>,
) -> (i32, Option<Value>) {
    let Outputs {
        stats_json,
        events_json,
        argv,
    } = files;
    let out = find(ports, cfg.output_port);
    let out_mac = match out.port.mac() {
        Ok(m) => m,
        Err(e) => {
            return (
                fail(
                    EXIT_FAILURE,
                    format!("output port {}: {e}", cfg.output_port),
                ),
                None,
            )
        }
    };
    let (clock, hz, start) = match worker_clock(cfg, ports, eal) {
        Ok(c) => c,
        Err(e) => return (fail(EXIT_USAGE, e), None),
    };
    let lanes = steering.lanes(cfg.merge_workers() as usize);
    let hw_l4 = |id| find(ports, id).hw_l4();
    let plans = match plan::build(cfg, out_mac, hw_l4, (clock, hz), lanes) {
        Ok(p) => Generations::new(p),
        Err(e) => return (fail(EXIT_USAGE, e), None),
    };
    let nb = cfg.nb_cores as usize;
    // Merge workers with their own engine and tx queue: nb when sharded.
    let owners = plans.first().shards.workers();
    let sharded = owners > 1;
    let rx_lanes = if nb <= 1 || sharded {
        0
    } else {
        (nb - 1).min(plans.first().inputs.len())
    };
    // Split layout: a reload's classifier is taken by each rx lcore.
    let plans = if rx_lanes > 0 {
        plans.with_rx_sides(rx_lanes)
    } else {
        plans
    };
    let plan = plans.first();
    let expected = if sharded {
        owners
    } else if nb <= 1 {
        1
    } else {
        rx_lanes + 1
    };
    let shared = Shared::new(plan, expected);
    let handoff = split::Handoff::new(rx_lanes);
    // rxqs[lane][input]: queue `lane` of each input (one lane unless
    // steered by flow rules: then lane w is worker w's).
    let mut rxqs = Vec::with_capacity(lanes);
    for lane in 0..lanes as u16 {
        let mut of_lane = Vec::with_capacity(plan.inputs.len());
        for i in &plan.inputs {
            match find(ports, i.port).port.rx_queue(lane) {
                Ok(q) => of_lane.push(q),
                Err(e) => {
                    return (
                        fail(
                            EXIT_FAILURE,
                            format!("port {} rx queue {lane}: {e}", i.port),
                        ),
                        None,
                    )
                }
            }
        }
        rxqs.push(of_lane);
    }
    // One tx queue on the output port per merge worker.
    let mut txqs = Vec::with_capacity(owners);
    for q in 0..owners as u16 {
        match out.port.tx_queue(q) {
            Ok(t) => txqs.push(t),
            Err(e) => {
                return (
                    fail(
                        EXIT_FAILURE,
                        format!("port {} tx queue {q}: {e}", cfg.output_port),
                    ),
                    None,
                )
            }
        }
    }
    let out_rx = if cfg.input_ports().contains(&cfg.output_port) {
        None
    } else {
        match out.port.rx_queue(0) {
            Ok(q) => Some(q),
            Err(e) => {
                return (
                    fail(
                        EXIT_FAILURE,
                        format!("port {} rx queue: {e}", cfg.output_port),
                    ),
                    None,
                )
            }
        }
    };
    // Membership: per input port with a host, a ring from its worker to the
    // main lcore and a tx queue the main lcore owns.
    let mut rings = Vec::new();
    for i in &plan.inputs {
        if !i.membership {
            rings.push(None);
            continue;
        }
        match MbufRing::new(
            eal,
            &format!("mf_ctl{}", i.port),
            membership::RING_CAPACITY,
            SOCKET_ANY,
        ) {
            Ok(r) => rings.push(Some(r)),
            Err(e) => {
                return (
                    fail(EXIT_FAILURE, format!("port {} control ring: {e}", i.port)),
                    None,
                )
            }
        }
    }
    let mut ctl = Vec::new();
    let mut memb = Membership::new();
    for (i, ring) in plan.inputs.iter().zip(&rings) {
        let Some(ring) = ring else {
            ctl.push(None);
            continue;
        };
        let p = &find(ports, i.port).port;
        // The queue after the workers' when the input is also the output.
        let q = if i.port == cfg.output_port {
            owners as u16
        } else {
            0
        };
        let (txq, prod, cons) = match (p.tx_queue(q), ring.producer(), ring.consumer()) {
            (Ok(t), Ok(pr), Ok(c)) => (t, pr, c),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                return (
                    fail(
                        EXIT_FAILURE,
                        format!("port {} membership host: {e}", i.port),
                    ),
                    None,
                )
            }
        };
        let mac = match p.mac() {
            Ok(m) => m,
            Err(e) => return (fail(EXIT_FAILURE, format!("port {}: {e}", i.port)), None),
        };
        let (v4, v6) = membership::addresses(cfg, i.port);
        let seed = u64::from(i.port) ^ u64::from(std::process::id()) << 16 ^ eal.tsc();
        let host = Host::new(mac, v4, v6, &membership::joins(cfg, i.port), seed);
        memb.add(i.port, host, txq, cons);
        ctl.push(Some(prod));
    }
    for port in cfg.input_ports() {
        if !cfg.no_membership && !membership::enabled(cfg, port) {
            log::warn!(
                "input port {port} has no --port-ip: it joins no group, so a switch with IGMP/MLD snooping forwards it nothing (give --port-ip {port}=ADDR, or --no-membership where no switch snoops)"
            );
        }
    }
    for s in &cfg.streams {
        let legs = leg_texts(s);
        println!(
            "Stream {}: legs [{}] -> {} mode {} seq {} max-delay {:?} leg-timeout {:?} slots {}",
            s.name,
            legs.join(", "),
            s.out.dst(),
            s.mode,
            s.seq,
            s.max_delay,
            s.leg_timeout,
            s.slots
        );
    }
    let names: Vec<String> = plan.streams.iter().map(|s| s.name.clone()).collect();
    let outputs: Vec<String> = cfg
        .streams
        .iter()
        .map(|s| s.out.dst().to_string())
        .collect();
    let roles = plan
        .inputs
        .iter()
        .map(|i| {
            let mut r = Vec::new();
            if i.port == cfg.primary_port {
                r.push("primary");
            }
            if i.port == cfg.secondary_port {
                r.push("secondary");
            }
            (i.port, r.join("+"))
        })
        .collect();
    let legs: Vec<Vec<(String, u16)>> = cfg
        .streams
        .iter()
        .map(|s| {
            s.legs
                .iter()
                .enumerate()
                .map(|(l, a)| (a.to_string(), plan::leg_port(cfg, l)))
                .collect()
        })
        .collect();
    let mut reporter = Reporter::new(roles, cfg.output_port, names.clone(), outputs, legs)
        .steered(steering.describe());
    let mut live = reporter.clone();
    let view = Arc::new(View::new());
    let mut health = HealthTracker::new(names.len(), cfg.health_hold);
    let mut requester = match crate::gapfill::Requester::new(cfg) {
        Ok(r) => r,
        Err(e) => return (fail(EXIT_USAGE, e), None),
    };
    let mut events = EventLog::new(names, hz, start);
    if let Some(f) = events_json {
        events = events.with_lines(f);
    }
    let _metrics = match cfg.metrics_listen {
        Some(addr) => match metrics::start(addr, view.clone()) {
            Ok(srv) => {
                println!("Metrics: http://{}/metrics", srv.addr());
                Some(srv)
            }
            Err(e) => return (fail(EXIT_USAGE, e), None),
        },
        None => None,
    };
    let reload_asked = Arc::new(AtomicBool::new(false));
    // Flow steering's NIC rules are made at start for the start's streams
    // (and no port here can take rules to test a change of them with).
    let refuse = if lanes > 1 {
        Some("live reload under flow steering needs a restart (the NIC's rules are made at start); --steer software reloads".to_string())
    } else {
        None
    };
    let mut reloader = Reloader::new(
        argv,
        (cfg, &plan.shards),
        &shared.layout,
        refuse,
        (out_mac, hz),
    );
    if let Err(e) = telemetry::register(view.clone(), reload_asked.clone()) {
        log::warn!("telemetry commands not registered: {e}");
    }
    // Health is judged from a publication: under the capture clock it
    // happened at the packets' time the tx stage had reached (events count
    // capture time from 0, as the workers' own events do).
    let event_time = || match cfg.clock {
        ClockSource::Tsc => eal.tsc().saturating_sub(start) as f64 / hz.max(1) as f64,
        ClockSource::Capture => shared.clock_now.load(Ordering::Relaxed) as f64 / hz.max(1) as f64,
    };
    // Under the capture clock, nothing is judged before the first packet
    // set the clock: there is nothing to judge yet, and no time to give it.
    let clock_started =
        || cfg.clock == ClockSource::Tsc || shared.clock_now.load(Ordering::Relaxed) > 0;
    let max_delay_ns: Vec<u64> = cfg
        .streams
        .iter()
        .map(|s| u64::try_from(s.max_delay.as_nanos()).unwrap_or(u64::MAX))
        .collect();
    let mut max_delay_ns = max_delay_ns;
    let running = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let port_refs: Vec<_> = ports.iter().map(|p| &p.port).collect();
    // Under flow steering every worker polls its own queue of every input
    // and nobody dispatches.
    let polls = if lanes > 1 {
        vec![0..0; owners]
    } else {
        shard::pollers(plan.inputs.len(), owners, plan.clock.is_capture())
    };
    let dispatch = if sharded {
        match shard::Dispatch::new(eal, &polls) {
            Ok(d) => Some(d),
            Err(e) => return (fail(EXIT_FAILURE, format!("dispatch rings: {e}")), None),
        }
    } else {
        None
    };
    if sharded {
        print_shards(plan, &polls, workers);
    }
    let mut rxqs = rxqs.into_iter();
    let lane0 = rxqs.next().unwrap_or_default();
    let mut steered: Vec<Vec<_>> = rxqs.collect();

    let worker_done = |r: Result<(), String>| -> i32 {
        running.fetch_sub(1, Ordering::AcqRel);
        match r {
            Ok(()) => 0,
            Err(e) => {
                log::error!("worker failed: {e}");
                failed.store(true, Ordering::Relaxed);
                1
            }
        }
    };

    let end = eal.scope(|s| {
        let mut joins = Vec::new();
        running.store(expected, Ordering::Release);
        let launched: Result<(), DpdkError> = (|| {
            if let Some(dispatch) = &dispatch {
                let mut rest = lane0.into_iter();
                let mut rest_ctl = ctl.into_iter();
                let mut out_rx = out_rx;
                let mut steered = steered.drain(..);
                for (w, (txq, range)) in txqs.into_iter().zip(&polls).enumerate() {
                    // Flow steering: worker 0 polls queue 0 of every input
                    // (what no rule matches lands there: membership frames
                    // included), worker w queue w.
                    let (first, rxqs, ctl) = match (lanes > 1, w) {
                        (true, 0) => (0, rest.by_ref().collect(), rest_ctl.by_ref().collect()),
                        (true, _) => (0, steered.next().unwrap_or_default(), Vec::new()),
                        (false, _) => (
                            range.start,
                            rest.by_ref().take(range.len()).collect(),
                            rest_ctl.by_ref().take(range.len()).collect(),
                        ),
                    };
                    let io = shard::WorkerIo {
                        first,
                        lane: if lanes > 1 { w } else { 0 },
                        rxqs,
                        ctl,
                        links: dispatch.links(w)?,
                        txq,
                        out_rx: out_rx.take(),
                    };
                    let (plans, shared) = (&plans, &shared);
                    joins.push(s.spawn(workers[w], move || {
                        worker_done(shard::run(plans, shared, dispatch, w, io, pool))
                    })?);
                }
            } else if nb <= 1 {
                let (plans, shared) = (&plans, &shared);
                let txq = txqs.pop().expect("one tx queue");
                joins.push(s.spawn(workers[0], move || {
                    worker_done(single::run(plans, shared, lane0, ctl, txq, out_rx, pool))
                })?);
            } else {
                let per_lane = plan.inputs.len().div_ceil(rx_lanes);
                let mut first = 0;
                let mut rest = lane0;
                let mut rest_ctl = ctl;
                for (lane, &lcore) in workers.iter().enumerate().take(rx_lanes) {
                    let take = per_lane.min(rest.len());
                    let mine: Vec<_> = rest.drain(..take).collect();
                    let my_ctl: Vec<_> = rest_ctl.drain(..take).collect();
                    let (plans, shared, handoff) = (&plans, &shared, &handoff);
                    let f = first;
                    joins.push(s.spawn(lcore, move || {
                        worker_done(split::rx_loop(
                            plans,
                            shared,
                            (handoff, pool),
                            lane,
                            f,
                            mine,
                            my_ctl,
                        ))
                    })?);
                    first += take;
                }
                let (plans, shared, handoff) = (&plans, &shared, &handoff);
                let txq = txqs.pop().expect("one tx queue");
                joins.push(s.spawn(workers[rx_lanes], move || {
                    worker_done(split::tx_loop(plans, shared, handoff, txq, out_rx, pool))
                })?);
            }
            Ok(())
        })();
        if let Err(e) = launched {
            log::error!("cannot launch worker lcore: {e}");
            shared.stop.store(true, Ordering::Relaxed);
            failed.store(true, Ordering::Relaxed);
            for j in joins {
                let _ = j.join();
            }
            return End::WorkerExited;
        }
        let mut mon = Monitor::new(cfg);
        let refresh = cfg.stats_period.map_or(REFRESH, |p| p.min(REFRESH));
        let mut next_refresh = Instant::now();
        let end = loop {
            events.drain(&shared);
            requester.service(&shared, pool);
            memb.service(pool);
            let (end, due) = mon.tick(signals, running.load(Ordering::Acquire), expected);
            if let Some(e) = end {
                break e;
            }
            let hup = signals.take_hup();
            if hup | reload_asked.swap(false, Ordering::Relaxed) {
                let by = if hup { "SIGHUP" } else { "telemetry" };
                match reloader.request(&plans) {
                    Ok(what) => log::info!("{by}: reload: {what}"),
                    Err(e) => {
                        log::error!("{by}: reload refused, the running streams are kept: {e}")
                    }
                }
            }
            if let Some(done) = reloader.poll(&plans) {
                request_publish(&shared);
                let t = event_time();
                for (id, name) in &done.removed {
                    let f = shared.layout.get_stream(&shared.board, *id);
                    let c = f.counters();
                    let detail = live.stream_json(&shared, *id);
                    events.note(
                        t,
                        name,
                        "stream_removed",
                        detail,
                        format!(
                            "removed by reload: final sent {} substituted {} unrecoverable {}",
                            c.sent, c.substituted, c.unrecoverable
                        ),
                    );
                    for r in [&mut reporter, &mut live] {
                        r.remove_stream(*id);
                    }
                }
                let rcfg = reloader.config();
                for &id in &done.added {
                    let Some(st) = reloader.stream(id) else {
                        continue;
                    };
                    let legs: Vec<(String, u16)> = st
                        .legs
                        .iter()
                        .enumerate()
                        .map(|(l, a)| (a.to_string(), plan::leg_port(rcfg, l)))
                        .collect();
                    for r in [&mut reporter, &mut live] {
                        r.set_stream(id, st.name.clone(), st.out.dst().to_string(), legs.clone());
                    }
                    events.set_name(id, &st.name);
                    health.reset(id);
                    if max_delay_ns.len() <= id {
                        max_delay_ns.resize(id + 1, u64::MAX);
                    }
                    max_delay_ns[id] = u64::try_from(st.max_delay.as_nanos()).unwrap_or(u64::MAX);
                    events.note(
                        t,
                        &st.name,
                        "stream_added",
                        json!({ "id": id, "output": st.out.dst().to_string() }),
                        format!("added by reload as id {id}"),
                    );
                }
                memb.update(rcfg, pool);
                log::info!(
                    "reload applied: {} added, {} removed, {} kept",
                    done.added.len(),
                    done.removed.len(),
                    done.kept
                );
            }
            let now = Instant::now();
            if due || now >= next_refresh {
                next_refresh = now + refresh;
                request_publish(&shared);
                let mut v = live.snapshot(&shared, &port_refs, pool, &events, false);
                if clock_started() {
                    let at = (now, event_time());
                    judge_health(&mut health, &mut events, &v, &max_delay_ns, at);
                }
                annotate_health(&health, &events, &mut v);
                if !requester.is_empty() {
                    v["gap_fill"] = requester.json(&shared);
                }
                view.publish(Snapshot {
                    json: v,
                    residence: shared.layout.get_latency(&shared.board),
                });
            }
            if due {
                let mut v = reporter.snapshot(&shared, &port_refs, pool, &events, false);
                annotate_health(&health, &events, &mut v);
                if !requester.is_empty() {
                    v["gap_fill"] = requester.json(&shared);
                }
                if !memb.is_empty() {
                    v["membership"] = memb.json();
                }
                Reporter::print(&v);
                if let Some(f) = stats_json {
                    if let Err(e) = f.write_json(&v) {
                        log::warn!("{e}");
                    }
                }
            }
            requester.idle(&shared, pool, TICK);
        };
        match end {
            End::Signal => log::info!("signal received: draining and stopping"),
            End::Duration => log::info!("--duration reached: draining and stopping"),
            End::WorkerExited => log::error!("a worker lcore exited early: stopping"),
        }
        shared.stop.store(true, Ordering::Relaxed);
        for j in joins {
            match j.join() {
                Ok(0) => {}
                Ok(_) => failed.store(true, Ordering::Relaxed),
                Err(e) => {
                    log::error!("{e}");
                    failed.store(true, Ordering::Relaxed);
                }
            }
        }
        end
    });
    // A reload queued as the run stopped is dropped here, never applied.
    plans.drop_queued();
    // Retransmissions the stopped tx stage never took go back to the pool.
    shared.drop_refills();
    // Clean exit: leave every group while the ports are still up.
    memb.leave(pool);
    events.drain(&shared);
    if clock_started() {
        let v = live.snapshot(&shared, &port_refs, pool, &events, true);
        let t_s = event_time();
        for (k, st) in v["streams"].as_array().into_iter().flatten().enumerate() {
            let i = st["id"].as_u64().map_or(k, |i| i as usize);
            let total = st["payload_mismatch"].as_u64().unwrap_or(0);
            events.payload_mismatch_at_exit(i, total, t_s);
        }
    }
    events.finish();
    // Printed and written by the caller once the ports are closed.
    let mut v = reporter.snapshot(&shared, &port_refs, pool, &events, true);
    annotate_health(&health, &events, &mut v);
    if !requester.is_empty() {
        v["gap_fill"] = requester.json(&shared);
    }
    if !memb.is_empty() {
        v["membership"] = memb.json();
    }
    drop(memb);
    view.publish(Snapshot {
        json: v.clone(),
        residence: shared.layout.get_latency(&shared.board),
    });
    let code = if failed.load(Ordering::Relaxed) || end == End::WorkerExited {
        EXIT_FAILURE
    } else {
        0
    };
    (code, Some(v))
}

/// Prints which worker lcore owns which streams and polls which inputs
/// (the shard layout's assignment: stream `i` to worker `i % N`).
fn print_shards(plan: &Plan, polls: &[std::ops::Range<usize>], lcores: &[u32]) {
    const SHOWN: usize = 8;
    let n = plan.shards.workers();
    println!("Shards: {n} merge workers, stream i owned by worker i % {n}");
    for (w, range) in polls.iter().enumerate() {
        // Flow steering: each worker polls its own queue of every input.
        let (range, queue) = if plan.rx_lanes > 1 {
            (0..plan.inputs.len(), w)
        } else {
            (range.clone(), 0)
        };
        let members = plan.shards.members(w);
        let mut names: Vec<&str> = members
            .iter()
            .take(SHOWN)
            .map(|&s| plan.streams[s as usize].name.as_str())
            .collect();
        if members.len() > SHOWN {
            names.push("...");
        }
        let inputs: Vec<String> = plan.inputs[range]
            .iter()
            .map(|i| format!("port {} queue {queue}", i.port))
            .collect();
        println!(
            "  worker {w} (lcore {}): {} streams [{}], polls [{}], tx queue {w}",
            lcores.get(w).copied().unwrap_or(0),
            members.len(),
            names.join(", "),
            inputs.join(", ")
        );
    }
}

/// Judges every stream's health from snapshot `v` taken at `at.0`, and
/// logs the changes that have held long enough (`at.1`: their event time)
/// and the copies that disagreed (`payload_mismatch`, rate-limited);
/// stream `i`'s max-delay is `max_delay_ns[i]` (the bound of "in step").
fn judge_health(
    health: &mut HealthTracker,
    events: &mut EventLog,
    v: &Value,
    max_delay_ns: &[u64],
    at: (Instant, f64),
) {
    let (now, t_s) = at;
    for (k, st) in v["streams"].as_array().into_iter().flatten().enumerate() {
        let i = st["id"].as_u64().map_or(k, |i| i as usize);
        let legs = st["legs"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        let bound = max_delay_ns.get(i).copied().unwrap_or(u64::MAX);
        let sample = Sample {
            legs: legs.len(),
            up: legs
                .iter()
                .filter(|l| l["up"].as_bool() == Some(true))
                .count(),
            substituted: st["substituted"].as_u64().unwrap_or(0),
            unrecoverable: st["unrecoverable"].as_u64().unwrap_or(0),
            lagging: legs
                .iter()
                .filter(|l| crate::health::out_of_step(l["lag_ns"].as_u64().unwrap_or(0), bound))
                .count(),
        };
        if let Some(c) = health.observe(i, sample, now) {
            events.health(c, t_s);
        }
        events.payload_mismatch(i, st["payload_mismatch"].as_u64().unwrap_or(0), t_s);
    }
}

/// Writes each stream's reported health (and the latest events) into `v`.
fn annotate_health(health: &HealthTracker, events: &EventLog, v: &mut Value) {
    if let Some(list) = v["streams"].as_array_mut() {
        for (k, st) in list.iter_mut().enumerate() {
            let i = st["id"].as_u64().map_or(k, |i| i as usize);
            st["health"] = json!(health.reported(i).map_or("unknown", |h| h.name()));
        }
    }
    v["events"] = events.json();
    v["events_total"] = json!(events.total);
}

fn run_io(
    eal: &Eal,
    cfg: &AppConfig,
    signals: &Signals,
    ports: &[OpenPort<'_>],
    workers: &[u32],
) -> i32 {
    let rx = &find(ports, cfg.primary_port).port;
    let tx = &find(ports, cfg.output_port).port;
    println!(
        "io forwarding: port {} -> port {} (burst {})",
        cfg.primary_port, cfg.output_port, cfg.burst
    );
    let stop = AtomicBool::new(false);
    let running = AtomicUsize::new(1);
    let result = eal.scope(|s| {
        let job = s.spawn(workers[0], || {
            let r = io::io_forward(rx, tx, cfg.burst as usize, &stop);
            running.store(0, Ordering::Release);
            match r {
                Ok(st) => {
                    println!(
                        "io forwarding done: rx {} tx {} dropped {} bursts {}",
                        st.rx, st.tx, st.dropped, st.bursts
                    );
                    0
                }
                Err(e) => {
                    log::error!("io forwarding failed: {e}");
                    1
                }
            }
        });
        let job = match job {
            Ok(j) => j,
            Err(e) => return Err(format!("cannot launch worker lcore: {e}")),
        };
        let mut mon = Monitor::new(cfg);
        loop {
            let (end, due) = mon.tick(signals, running.load(Ordering::Acquire), 1);
            if end.is_some() {
                break;
            }
            if signals.take_hup() {
                log::warn!(
                    "SIGHUP: io forwarding has no streams to reload; ignored, the run goes on"
                );
            }
            if due {
                for (id, p) in [(cfg.primary_port, rx), (cfg.output_port, tx)] {
                    if let Ok(st) = p.stats() {
                        println!(
                            "  port {id}: RX-packets {} RX-missed {} TX-packets {} TX-errors {}",
                            st.ipackets, st.imissed, st.opackets, st.oerrors
                        );
                    }
                }
            }
            std::thread::sleep(TICK);
        }
        stop.store(true, Ordering::Relaxed);
        job.join().map_err(|e| e.to_string())
    });
    for (id, p) in [(cfg.primary_port, rx), (cfg.output_port, tx)] {
        if let Ok(st) = p.stats() {
            println!(
                "Port {id} final: RX-packets {} RX-bytes {} RX-missed {} TX-packets {} TX-bytes {} TX-errors {}",
                st.ipackets, st.ibytes, st.imissed, st.opackets, st.obytes, st.oerrors
            );
        }
    }
    match result {
        Ok(0) => 0,
        Ok(_) => EXIT_FAILURE,
        Err(e) => fail(EXIT_FAILURE, e),
    }
}

/// A stream's legs as `--stream` writes them: `GROUP:PORT`, with `@SOURCE` when the leg is
/// source-specific.
fn leg_texts(s: &config::StreamConfig) -> Vec<String> {
    s.legs
        .iter()
        .zip(&s.sources)
        .map(|(a, src)| match src {
            Some(src) => format!("{a}@{src}"),
            None => a.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missed_stats_periods_are_skipped() {
        let t = Instant::now();
        let p = Duration::from_millis(10);
        assert_eq!(next_due(t, p, t), t + p);
        assert_eq!(next_due(t, p, t + Duration::from_millis(9)), t + p);
        assert_eq!(next_due(t, p, t + p), t + 2 * p);
        // 1000 periods behind: the next boundary after now, at once.
        assert_eq!(
            next_due(t, p, t + Duration::from_millis(10_005)),
            t + Duration::from_millis(10_010)
        );
        // A period of 1 ns a day behind is still one step.
        let day = Duration::from_secs(86_400);
        let n = next_due(t, Duration::from_nanos(1), t + day);
        assert_eq!(n, t + day + Duration::from_nanos(1));
    }
}
