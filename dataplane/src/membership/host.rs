//! The membership host of one input port (RFC 3376 §5 and §7 for IGMP,
//! RFC 3810 §6 and §8 for MLD): what it has joined, when it must report,
//! and which protocol version the querier forces on it.
//!
//! Pure: time is a millisecond count the caller passes in, randomness a
//! seeded generator, received frames are byte slices and the frames to send
//! come back as byte vectors. Nothing here allocates per data packet: the
//! host sees only membership traffic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::frame::{is_link_local, link_local_of};
use super::{igmp, mld, parse, Heard, Query, QueryVersion, Record, RecordType};

/// RFC 3376 §8.1 / RFC 3810 §9.1: the default robustness variable.
pub const DEFAULT_ROBUSTNESS: u8 = 2;
/// RFC 3376 §8.2: the default query interval.
pub const DEFAULT_QUERY_INTERVAL_MS: u64 = 125_000;
/// RFC 3376 §8.3: the default query response interval.
pub const DEFAULT_QUERY_RESPONSE_MS: u64 = 10_000;
/// RFC 3376 §8.11 / RFC 3810 §9.11: spacing of the unsolicited reports.
pub const UNSOLICITED_REPORT_INTERVAL_MS: u64 = 1_000;

/// One group a leg receives on this port, and the one source it wants
/// (`None`: any source, EXCLUDE({})).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Join {
    /// The group.
    pub group: IpAddr,
    /// The source (SSM), or any.
    pub source: Option<IpAddr>,
}

/// The protocol version a family speaks, forced down by an older querier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compat {
    /// IGMPv3 / MLDv2.
    V3,
    /// IGMPv2 / MLDv1.
    V2,
    /// IGMPv1.
    V1,
}

impl Compat {
    /// Its name for a family: "IGMPv3", "MLDv1", ...
    pub fn name(self, v6: bool) -> &'static str {
        match (v6, self) {
            (false, Compat::V3) => "IGMPv3",
            (false, Compat::V2) => "IGMPv2",
            (false, Compat::V1) => "IGMPv1",
            (true, Compat::V3) => "MLDv2",
            (true, _) => "MLDv1",
        }
    }
}

/// Something an operator wants in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// A querier was heard for the first time, or changed address/version.
    Querier {
        /// IPv6 (MLD) or IPv4 (IGMP).
        v6: bool,
        /// Its version.
        version: QueryVersion,
        /// Its address.
        addr: IpAddr,
    },
    /// The compatibility mode changed.
    Compat {
        /// IPv6 (MLD) or IPv4 (IGMP).
        v6: bool,
        /// The new mode.
        mode: Compat,
    },
}

/// What one port's host did, for the stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostCounters {
    /// Report messages sent (unsolicited, and answers to queries).
    pub reports_sent: u64,
    /// Leave messages sent (TO_IN({})/BLOCK records, v2 Leave, MLD Done).
    pub leaves_sent: u64,
    /// General queries heard.
    pub general_queries: u64,
    /// Group-specific queries heard.
    pub group_queries: u64,
    /// Group-and-source-specific queries heard.
    pub source_queries: u64,
    /// Other hosts' reports and leaves heard (nothing to do).
    pub other_messages: u64,
    /// Frames handed over that were not valid IGMP/MLD (ignored).
    pub malformed: u64,
}

/// The per-family state a report is built from and the status the stats show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FamilyStatus {
    /// IPv6 (MLD) or IPv4 (IGMP).
    pub v6: bool,
    /// The address reports are sent from.
    pub source: IpAddr,
    /// Groups joined.
    pub groups: usize,
    /// Compatibility mode in force.
    pub compat: Compat,
    /// The last querier heard: its version and address.
    pub querier: Option<(QueryVersion, IpAddr)>,
}

#[derive(Clone, Debug)]
struct Membership {
    group: IpAddr,
    /// `None`: EXCLUDE({}); else INCLUDE(these).
    include: Option<Vec<IpAddr>>,
    /// When the answer to a group(-and-source) query is due.
    due: Option<u64>,
    /// What that answer covers: `None` the whole group, else these sources.
    asked: Option<Vec<IpAddr>>,
}

#[derive(Clone, Debug)]
struct Family {
    v6: bool,
    src: IpAddr,
    groups: Vec<Membership>,
    compat: Compat,
    v1_until: Option<u64>,
    v2_until: Option<u64>,
    robustness: u8,
    query_interval_ms: u64,
    query_response_ms: u64,
    general_due: Option<u64>,
    unsolicited_left: u8,
    unsolicited_due: Option<u64>,
    querier: Option<(QueryVersion, IpAddr)>,
}

impl Family {
    fn new(v6: bool, src: IpAddr, joins: &[Join]) -> Family {
        let mut groups: Vec<Membership> = Vec::new();
        for j in joins.iter().filter(|j| j.group.is_ipv6() == v6) {
            let m = match groups.iter_mut().find(|m| m.group == j.group) {
                Some(m) => m,
                None => {
                    groups.push(Membership {
                        group: j.group,
                        include: Some(Vec::new()),
                        due: None,
                        asked: None,
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            // Any leg without a source wants every source: EXCLUDE({}).
            match (&mut m.include, j.source) {
                (Some(list), Some(s)) => {
                    if !list.contains(&s) {
                        list.push(s);
                    }
                }
                (_, None) => m.include = None,
                (None, Some(_)) => {}
            }
        }
        Family {
            v6,
            src,
            groups,
            compat: Compat::V3,
            v1_until: None,
            v2_until: None,
            robustness: DEFAULT_ROBUSTNESS,
            query_interval_ms: DEFAULT_QUERY_INTERVAL_MS,
            query_response_ms: DEFAULT_QUERY_RESPONSE_MS,
            general_due: None,
            unsolicited_left: 0,
            unsolicited_due: None,
            querier: None,
        }
    }

    /// RFC 3376 §8.12 / RFC 3810 §9.12: Older Version Querier Present Timeout.
    fn older_querier_timeout(&self) -> u64 {
        u64::from(self.robustness) * self.query_interval_ms + self.query_response_ms
    }

    fn current_compat(&self) -> Compat {
        if self.v1_until.is_some() && !self.v6 {
            Compat::V1
        } else if self.v2_until.is_some() || self.v1_until.is_some() {
            Compat::V2
        } else {
            Compat::V3
        }
    }

    fn next_due(&self) -> Option<u64> {
        let g = self.groups.iter().filter_map(|m| m.due);
        [
            self.general_due,
            self.unsolicited_due,
            self.v1_until,
            self.v2_until,
        ]
        .into_iter()
        .flatten()
        .chain(g)
        .min()
    }

    fn state_record(m: &Membership, current: bool) -> Record {
        match &m.include {
            Some(s) => Record {
                kind: if current {
                    RecordType::IsInclude
                } else {
                    RecordType::AllowNew
                },
                group: m.group,
                sources: s.clone(),
            },
            None => Record {
                kind: if current {
                    RecordType::IsExclude
                } else {
                    RecordType::ToExclude
                },
                group: m.group,
                sources: Vec::new(),
            },
        }
    }

    fn leave_record(m: &Membership) -> Record {
        match &m.include {
            // INCLUDE(A) -> INCLUDE({}): BLOCK(A).
            Some(s) => Record {
                kind: RecordType::BlockOld,
                group: m.group,
                sources: s.clone(),
            },
            // EXCLUDE({}) -> INCLUDE({}): TO_IN({}).
            None => Record {
                kind: RecordType::ToInclude,
                group: m.group,
                sources: Vec::new(),
            },
        }
    }
}

/// The membership host of one port: IGMP for its IPv4 groups, MLD for
/// its IPv6 groups.
#[derive(Clone, Debug)]
pub struct Host {
    mac: [u8; 6],
    fams: Vec<Family>,
    rng: u64,
    counters: HostCounters,
    events: Vec<HostEvent>,
}

impl Host {
    /// A host for a port with MAC `mac` and addresses `v4`/`v6` that joins
    /// `joins`. An IPv6 source that is not link-local is replaced by the
    /// MAC's link-local address (RFC 3810 §5: MLD is sent from link-local).
    /// Families with no group are left out. `seed` drives the random delays.
    pub fn new(
        mac: [u8; 6],
        v4: Option<Ipv4Addr>,
        v6: Option<Ipv6Addr>,
        joins: &[Join],
        seed: u64,
    ) -> Host {
        let mut fams = Vec::new();
        if joins.iter().any(|j| j.group.is_ipv4()) {
            let src = v4.unwrap_or(Ipv4Addr::UNSPECIFIED);
            fams.push(Family::new(false, IpAddr::V4(src), joins));
        }
        if joins.iter().any(|j| j.group.is_ipv6()) {
            let src = v6
                .filter(|a| is_link_local(*a))
                .unwrap_or_else(|| link_local_of(mac));
            fams.push(Family::new(true, IpAddr::V6(src), joins));
        }
        Host {
            mac,
            fams,
            rng: seed | 1,
            counters: HostCounters::default(),
            events: Vec::new(),
        }
    }

    /// Starts: the unsolicited reports (robustness-variable of them, the
    /// first at once).
    pub fn start(&mut self, now: u64) {
        for f in &mut self.fams {
            f.unsolicited_left = f.robustness;
            f.unsolicited_due = Some(now);
        }
    }

    /// What it did so far.
    pub fn counters(&self) -> HostCounters {
        self.counters
    }

    /// Per family: source, groups, compatibility mode, querier.
    pub fn status(&self) -> Vec<FamilyStatus> {
        self.fams
            .iter()
            .map(|f| FamilyStatus {
                v6: f.v6,
                source: f.src,
                groups: f.groups.len(),
                compat: f.compat,
                querier: f.querier,
            })
            .collect()
    }

    /// Events since the last call.
    pub fn take_events(&mut self) -> Vec<HostEvent> {
        std::mem::take(&mut self.events)
    }

    /// The earliest time `poll` has something to do.
    pub fn next_due(&self) -> Option<u64> {
        self.fams.iter().filter_map(Family::next_due).min()
    }

    fn random_below(&mut self, max: u64) -> u64 {
        // xorshift64*: plenty for spreading report times.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        if max == 0 {
            0
        } else {
            r % (max + 1)
        }
    }

    /// Handles a frame a worker handed over (IGMP, or IPv6 with a
    /// Hop-by-Hop header); returns what it was.
    pub fn on_frame(&mut self, now: u64, frame: &[u8]) -> Heard {
        let heard = parse(frame);
        match &heard {
            Heard::Query(q) => self.on_query(now, q),
            Heard::OtherMessage => self.counters.other_messages += 1,
            Heard::Malformed(_) => self.counters.malformed += 1,
        }
        heard
    }

    /// Handles a query (RFC 3376 §5.2, §7.2.1; RFC 3810 §6.2, §8.2.1).
    pub fn on_query(&mut self, now: u64, q: &Query) {
        let v6 = q.querier.is_ipv6();
        let Some(fi) = self.fams.iter().position(|f| f.v6 == v6) else {
            // No group of that family here: not ours to answer.
            self.counters.other_messages += 1;
            return;
        };
        self.count_query(q);
        let delay = self.random_below(q.max_resp_ms);
        let f = &mut self.fams[fi];
        if f.querier != Some((q.version, q.querier)) {
            f.querier = Some((q.version, q.querier));
            self.events.push(HostEvent::Querier {
                v6,
                version: q.version,
                addr: q.querier,
            });
        }
        match q.version {
            QueryVersion::V3 => {
                if q.qrv != 0 {
                    f.robustness = q.qrv;
                }
                if q.qqi_s != 0 {
                    f.query_interval_ms = u64::from(q.qqi_s) * 1000;
                }
                f.query_response_ms = q.max_resp_ms;
            }
            QueryVersion::V2 => {
                let until = now + f.older_querier_timeout();
                f.v2_until = Some(until);
            }
            QueryVersion::V1 => {
                let until = now + f.older_querier_timeout();
                f.v1_until = Some(until);
            }
        }
        let mode = f.current_compat();
        if mode != f.compat {
            f.compat = mode;
            if mode != Compat::V3 {
                // §7.2.1: an older querier cancels pending v3 responses and
                // state-change retransmissions.
                f.general_due = None;
                f.unsolicited_left = 0;
                f.unsolicited_due = None;
                for m in &mut f.groups {
                    m.due = None;
                    m.asked = None;
                }
            }
            self.events.push(HostEvent::Compat { v6, mode });
        }
        let at = now + delay;
        let f = &mut self.fams[fi];
        match q.group {
            None if f.compat == Compat::V3 => {
                f.general_due = Some(f.general_due.map_or(at, |d| d.min(at)));
            }
            None => {
                // Older versions answer a general query group by group.
                for m in &mut f.groups {
                    m.due = Some(m.due.map_or(at, |d| d.min(at)));
                    m.asked = None;
                }
            }
            Some(g) => {
                if f.general_due.is_some_and(|d| d <= at) {
                    return; // §5.2 rule 1: the general answer covers it.
                }
                let v3 = f.compat == Compat::V3;
                let Some(m) = f.groups.iter_mut().find(|m| m.group == g) else {
                    return;
                };
                let whole = !v3 || q.sources.is_empty();
                m.asked = match (m.due, m.asked.take(), whole) {
                    // §5.2 rules 3-5: a group query or no pending answer
                    // with a group query covers the whole group; source
                    // lists add up.
                    (_, _, true) => None,
                    (None, _, false) => Some(q.sources.clone()),
                    (Some(_), None, false) => None,
                    (Some(_), Some(mut list), false) => {
                        for s in &q.sources {
                            if !list.contains(s) {
                                list.push(*s);
                            }
                        }
                        Some(list)
                    }
                };
                m.due = Some(m.due.map_or(at, |d| d.min(at)));
            }
        }
    }

    fn count_query(&mut self, q: &Query) {
        match (&q.group, q.sources.is_empty()) {
            (None, _) => self.counters.general_queries += 1,
            (Some(_), true) => self.counters.group_queries += 1,
            (Some(_), false) => self.counters.source_queries += 1,
        }
    }

    /// Appends the frames due at `now` to `out` (and expires the
    /// compatibility timers).
    pub fn poll(&mut self, now: u64, out: &mut Vec<Vec<u8>>) {
        for fi in 0..self.fams.len() {
            self.poll_family(fi, now, out);
        }
    }

    fn poll_family(&mut self, fi: usize, now: u64, out: &mut Vec<Vec<u8>>) {
        let mac = self.mac;
        let f = &mut self.fams[fi];
        if f.v1_until.is_some_and(|t| t <= now) {
            f.v1_until = None;
        }
        if f.v2_until.is_some_and(|t| t <= now) {
            f.v2_until = None;
        }
        let mode = f.current_compat();
        if mode != f.compat {
            f.compat = mode;
            self.events.push(HostEvent::Compat { v6: f.v6, mode });
        }
        let mut sent = 0u64;
        if f.unsolicited_due.is_some_and(|t| t <= now) && f.unsolicited_left > 0 {
            let records: Vec<Record> = f
                .groups
                .iter()
                .map(|m| Family::state_record(m, false))
                .collect();
            sent += emit(f, mac, &records, out);
            f.unsolicited_left -= 1;
            f.unsolicited_due =
                (f.unsolicited_left > 0).then_some(now + UNSOLICITED_REPORT_INTERVAL_MS);
        }
        if f.general_due.is_some_and(|t| t <= now) {
            f.general_due = None;
            let records: Vec<Record> = f
                .groups
                .iter()
                .map(|m| Family::state_record(m, true))
                .collect();
            sent += emit(f, mac, &records, out);
        }
        let mut answers = Vec::new();
        for m in &mut f.groups {
            if m.due.is_none_or(|t| t > now) {
                continue;
            }
            m.due = None;
            let asked = m.asked.take();
            let record = match (asked, &m.include) {
                (None, _) => Some(Family::state_record(m, true)),
                // §5.2: INCLUDE(A) answers IS_IN(A * asked); EXCLUDE({})
                // wants every asked source: IS_IN(asked).
                (Some(asked), Some(a)) => {
                    let both: Vec<IpAddr> = asked.into_iter().filter(|s| a.contains(s)).collect();
                    (!both.is_empty()).then_some(Record {
                        kind: RecordType::IsInclude,
                        group: m.group,
                        sources: both,
                    })
                }
                (Some(asked), None) => Some(Record {
                    kind: RecordType::IsInclude,
                    group: m.group,
                    sources: asked,
                }),
            };
            answers.extend(record);
        }
        if !answers.is_empty() {
            sent += emit(f, mac, &answers, out);
        }
        self.counters.reports_sent += sent;
    }

    /// Live reload: the host's groups become `joins`. Groups no longer
    /// wanted are left at once (leave messages appended to `out`, as at
    /// exit); the new set is reported again as a state change
    /// (robustness-variable unsolicited reports from `now`, RFC 3376 §5.1,
    /// RFC 3810 §7.1), which covers the added groups. Nothing happens when
    /// the set is unchanged.
    pub fn update(&mut self, joins: &[Join], now: u64, out: &mut Vec<Vec<u8>>) {
        let mac = self.mac;
        let wanted: Vec<Family> = [false, true]
            .into_iter()
            .filter(|&v6| joins.iter().any(|j| j.group.is_ipv6() == v6))
            .map(|v6| {
                let src = self.fams.iter().find(|f| f.v6 == v6).map_or(
                    if v6 {
                        IpAddr::V6(link_local_of(mac))
                    } else {
                        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                    },
                    |f| f.src,
                );
                Family::new(v6, src, joins)
            })
            .collect();
        let same = |a: &Family, b: &Family| {
            a.groups.len() == b.groups.len()
                && a.groups.iter().all(|m| {
                    b.groups
                        .iter()
                        .any(|n| n.group == m.group && n.include == m.include)
                })
        };
        let unchanged = self.fams.len() == wanted.len()
            && self
                .fams
                .iter()
                .all(|f| wanted.iter().any(|w| w.v6 == f.v6 && same(f, w)));
        if unchanged {
            return;
        }
        // Leave what is no longer wanted (or wanted with other sources).
        let mut gone = self.clone();
        for f in &mut gone.fams {
            let w = wanted.iter().find(|w| w.v6 == f.v6);
            f.groups.retain(|m| {
                !w.is_some_and(|w| {
                    w.groups
                        .iter()
                        .any(|n| n.group == m.group && n.include == m.include)
                })
            });
        }
        gone.fams.retain(|f| !f.groups.is_empty());
        gone.counters = HostCounters::default();
        gone.leave(out);
        self.counters.leaves_sent += gone.counters.leaves_sent;
        for w in wanted {
            match self.fams.iter_mut().find(|f| f.v6 == w.v6) {
                Some(f) => f.groups = w.groups,
                None => self.fams.push(w),
            }
        }
        self.fams.retain(|f| !f.groups.is_empty());
        self.start(now);
    }

    /// Appends the leave messages for every group to `out`
    /// (robustness-variable copies: they cannot be retransmitted later,
    /// the process is exiting). IGMPv1 has none.
    pub fn leave(&mut self, out: &mut Vec<Vec<u8>>) {
        let mac = self.mac;
        let mut sent = 0;
        for f in &self.fams {
            for _ in 0..f.robustness.max(1) {
                match f.compat {
                    Compat::V3 => {
                        let records: Vec<Record> =
                            f.groups.iter().map(Family::leave_record).collect();
                        sent += emit_v3(f, mac, &records, out);
                    }
                    Compat::V2 => {
                        for m in &f.groups {
                            out.push(match (f.src, m.group) {
                                (IpAddr::V4(s), IpAddr::V4(g)) => igmp::v2_leave(mac, s, g),
                                (IpAddr::V6(s), IpAddr::V6(g)) => mld::v1_done(mac, s, g),
                                _ => continue,
                            });
                            sent += 1;
                        }
                    }
                    Compat::V1 => {}
                }
            }
        }
        self.counters.leaves_sent += sent;
    }
}

/// Sends `records` in the family's mode: version-3 reports, or one older
/// report per group. Returns the messages sent.
fn emit(f: &Family, mac: [u8; 6], records: &[Record], out: &mut Vec<Vec<u8>>) -> u64 {
    if records.is_empty() {
        return 0;
    }
    match f.compat {
        Compat::V3 => emit_v3(f, mac, records, out),
        old => {
            let mut n = 0;
            for r in records {
                out.push(match (f.src, r.group) {
                    (IpAddr::V4(s), IpAddr::V4(g)) => igmp::v2_report(mac, s, g, old == Compat::V1),
                    (IpAddr::V6(s), IpAddr::V6(g)) => mld::v1_report(mac, s, g),
                    _ => continue,
                });
                n += 1;
            }
            n
        }
    }
}

fn emit_v3(f: &Family, mac: [u8; 6], records: &[Record], out: &mut Vec<Vec<u8>>) -> u64 {
    let per = if f.v6 {
        mld::MAX_RECORDS_PER_REPORT
    } else {
        igmp::MAX_RECORDS_PER_REPORT
    };
    let mut n = 0;
    for chunk in records.chunks(per) {
        out.push(match f.src {
            IpAddr::V4(s) => igmp::v3_report(mac, s, chunk),
            IpAddr::V6(s) => mld::v2_report(mac, s, chunk),
        });
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests;
