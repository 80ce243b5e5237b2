//! The membership hosts on the main lcore: one per input port given a
//! `--port-ip`, each owning a tx queue of its port and the consumer end of
//! the ring its worker hands IGMP/MLD frames over.
//!
//! Why here: IGMP/MLD is control traffic at a few packets a second; the
//! main lcore already wakes every few milliseconds for signals and stats,
//! so it answers queries with no cost to the workers, whose loop stays free
//! of timers, allocation and system calls for it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use config::AppConfig;
use dataplane::dpdk::{Mempool, RingConsumer, RxBatch, TxBatch, TxQueue};
use dataplane::membership::{Compat, Host, HostCounters, HostEvent, Join, QueryVersion};
use serde_json::{json, Value};

use crate::plan::leg_port;

/// Frames a ring between a worker and the main lcore holds.
pub const RING_CAPACITY: u32 = 256;

/// How often a refused report is offered to the NIC again before it is dropped.
const TX_TRIES: usize = 8;

/// The groups (and sources) the legs received on `port` join.
pub fn joins(cfg: &AppConfig, port: u16) -> Vec<Join> {
    let mut out = Vec::new();
    for s in &cfg.streams {
        for (l, (leg, src)) in s.legs.iter().zip(&s.sources).enumerate() {
            if leg_port(cfg, l) == port {
                out.push(Join {
                    group: leg.ip(),
                    source: *src,
                });
            }
        }
    }
    out
}

/// Whether `port` runs a membership host.
pub fn enabled(cfg: &AppConfig, port: u16) -> bool {
    !cfg.no_membership && cfg.port_ips.iter().any(|a| a.port == port)
}

/// The port's addresses from `--port-ip`.
pub fn addresses(cfg: &AppConfig, port: u16) -> (Option<Ipv4Addr>, Option<Ipv6Addr>) {
    let mut v4 = None;
    let mut v6 = None;
    for a in cfg.port_ips.iter().filter(|a| a.port == port) {
        match a.addr {
            IpAddr::V4(x) => v4 = Some(x),
            IpAddr::V6(x) => v6 = Some(x),
        }
    }
    (v4, v6)
}

/// One port's host with its queue and ring.
pub struct PortHost<'q, 'a> {
    port: u16,
    host: Host,
    txq: TxQueue<'q, 'a>,
    from_worker: RingConsumer<'q, 'a>,
    /// Reports the NIC refused after the retries (dropped).
    tx_refused: u64,
    /// Reports not sent for want of an mbuf.
    no_mbuf: u64,
}

/// Every port's host, driven from the main lcore's loop.
pub struct Membership<'q, 'a> {
    hosts: Vec<PortHost<'q, 'a>>,
    t0: Instant,
    rx: RxBatch,
    frames: Vec<Vec<u8>>,
}

impl<'q, 'a> Membership<'q, 'a> {
    /// No hosts yet.
    pub fn new() -> Self {
        Membership {
            hosts: Vec::new(),
            t0: Instant::now(),
            rx: RxBatch::new(32),
            frames: Vec::new(),
        }
    }

    /// Adds port `port`'s host and starts it (its first reports go at the
    /// next [`Membership::service`]).
    pub fn add(
        &mut self,
        port: u16,
        mut host: Host,
        txq: TxQueue<'q, 'a>,
        from_worker: RingConsumer<'q, 'a>,
    ) {
        for st in host.status() {
            log::info!(
                "port {port}: {} membership host from {} for {} group(s)",
                st.compat.name(st.v6),
                st.source,
                st.groups
            );
        }
        host.start(self.now_ms());
        self.hosts.push(PortHost {
            port,
            host,
            txq,
            from_worker,
            tx_refused: 0,
            no_mbuf: 0,
        });
    }

    /// True when no port has a host.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    fn now_ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    /// Takes what the workers handed over, answers it, sends what is due.
    pub fn service(&mut self, pool: &Mempool<'_>) {
        let now = self.now_ms();
        for h in &mut self.hosts {
            loop {
                if h.from_worker.dequeue_burst(&mut self.rx) == 0 {
                    break;
                }
                while let Some(m) = self.rx.pop() {
                    h.host.on_frame(now, m.data());
                }
            }
            h.host.poll(now, &mut self.frames);
            for ev in h.host.take_events() {
                log_event(h.port, &ev);
            }
            send(h, pool, &mut self.frames);
        }
    }

    /// Live reload: every host's groups become those `cfg`'s legs on its
    /// port want; removed groups are left and the new set reported at once.
    pub fn update(&mut self, cfg: &AppConfig, pool: &Mempool<'_>) {
        let now = self.now_ms();
        for h in &mut self.hosts {
            let want = joins(cfg, h.port);
            self.frames.clear();
            h.host.update(&want, now, &mut self.frames);
            send(h, pool, &mut self.frames);
        }
        self.service(pool);
    }

    /// Sends every host's leave messages (clean exit), after handling what
    /// is still in the rings.
    pub fn leave(&mut self, pool: &Mempool<'_>) {
        self.service(pool);
        for h in &mut self.hosts {
            h.host.leave(&mut self.frames);
            send(h, pool, &mut self.frames);
            let c = h.host.counters();
            log::info!(
                "port {}: membership left: {} reports and {} leaves sent, {} queries heard",
                h.port,
                c.reports_sent,
                c.leaves_sent,
                c.general_queries + c.group_queries + c.source_queries
            );
        }
    }

    /// Per port: counters, querier, compatibility mode (for the stats JSON).
    pub fn json(&self) -> Value {
        Value::Array(
            self.hosts
                .iter()
                .map(|h| {
                    let c: HostCounters = h.host.counters();
                    let families: Vec<Value> = h
                        .host
                        .status()
                        .iter()
                        .map(|st| {
                            json!({
                                "protocol": if st.v6 { "mld" } else { "igmp" },
                                "source": st.source.to_string(),
                                "groups": st.groups,
                                "compat": st.compat.name(st.v6),
                                "querier": st.querier.map(|(_, a)| a.to_string()),
                                "querier_version": st.querier.map(|(v, _)| version_name(v, st.v6)),
                            })
                        })
                        .collect();
                    json!({
                        "port": h.port,
                        "reports_sent": c.reports_sent,
                        "leaves_sent": c.leaves_sent,
                        "general_queries": c.general_queries,
                        "group_queries": c.group_queries,
                        "source_queries": c.source_queries,
                        "other_messages": c.other_messages,
                        "malformed": c.malformed,
                        "tx_refused": h.tx_refused,
                        "no_mbuf": h.no_mbuf,
                        "families": families,
                    })
                })
                .collect(),
        )
    }
}

fn version_name(v: QueryVersion, v6: bool) -> &'static str {
    let c = match v {
        QueryVersion::V3 => Compat::V3,
        QueryVersion::V2 => Compat::V2,
        QueryVersion::V1 => Compat::V1,
    };
    c.name(v6)
}

fn log_event(port: u16, ev: &HostEvent) {
    match ev {
        HostEvent::Querier { v6, version, addr } => log::info!(
            "port {port}: {} querier {addr}",
            version_name(*version, *v6)
        ),
        HostEvent::Compat { v6, mode } => log::warn!(
            "port {port}: {} compatibility mode {}",
            if *v6 { "MLD" } else { "IGMP" },
            mode.name(*v6)
        ),
    }
}

/// Copies `frames` into mbufs and sends them on the host's queue (a few
/// bounded retries; then dropped and counted).
fn send(h: &mut PortHost<'_, '_>, pool: &Mempool<'_>, frames: &mut Vec<Vec<u8>>) {
    let mut batch = TxBatch::new(32);
    for f in frames.drain(..) {
        let Some(mut m) = pool.alloc() else {
            h.no_mbuf += 1;
            continue;
        };
        match m.append(f.len()) {
            Some(buf) => buf.copy_from_slice(&f),
            None => {
                h.no_mbuf += 1;
                continue;
            }
        }
        if let Err(m) = batch.push(m) {
            flush(h, &mut batch);
            let _ = batch.push(m);
        }
    }
    flush(h, &mut batch);
}

fn flush(h: &mut PortHost<'_, '_>, batch: &mut TxBatch) {
    for _ in 0..TX_TRIES {
        if batch.is_empty() {
            return;
        }
        h.txq.tx_burst(batch);
    }
    h.tx_refused += batch.free_all() as u64;
}
