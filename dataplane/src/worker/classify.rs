//! Which stream and leg a received packet belongs to.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::seq::PITCH_UNIT_AT;

/// A multiply-rotate hasher for the classifier's small fixed keys.
///
/// Why: the lookup runs once per received packet; SipHash's DoS resistance
/// buys nothing for a table built once from the operator's own config and
/// costs several times more per lookup.
#[derive(Default, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(K);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // A multiply only carries entropy upwards, while the table indexes
        // buckets with the low bits: fold the high half down (MurmurHash3's
        // finaliser), or keys differing only above their low bits collide.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^ (x >> 33)
    }
}

/// Where a packet goes: its stream index and its leg (0 = primary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Index of the stream in the engine.
    pub stream: u32,
    /// Leg index in priority order (0 = primary).
    pub leg: u8,
}

/// A table entry: the route, and for a key several PITCH streams share,
/// which unit set tells them apart (0: none, else index + 1). 8 bytes, as
/// a [`Route`] alone: the set sits in the route's padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    route: Route,
    set: u16,
}

/// The routes of the PITCH streams sharing one key, by Hdr Unit; a unit
/// no stream of the set arbitrates (and the unit-0 heartbeat) goes to the
/// set's first stream, whose extractor counts it `other_unit` (or takes
/// the heartbeat). `all` is every stream of the set in the order added
/// (the first one first), for the port-wide heartbeat each of them takes.
#[derive(Debug)]
struct UnitSet {
    by_unit: Box<[Option<Route>; 256]>,
    all: Vec<Route>,
}

/// The last route found, owned by one rx loop (see
/// [`Classifier::lookup_cached`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteCache {
    last: Option<((u16, IpAddr, u16), Entry)>,
}

/// Lookup table (receiving port, destination group, destination UDP port)
/// -> [`Route`], built once at start-up; for a key that several
/// `--seq pitch:UNIT` streams share (Cboe sends several units, each its own
/// sequence space, on one group), the packet's Hdr Unit then picks the
/// stream.
///
/// Why the port is part of the key: ST 2022-7 networks often carry both legs
/// on the same group address over physically separate networks; the port a
/// copy arrived on is then what tells the legs apart.
#[derive(Default, Debug)]
pub struct Classifier {
    /// IPv4 keys packed into one word: 16-byte entries, so 10000 streams x
    /// 2 legs fit in L2 (the (port, IpAddr, port) tuple took 32 bytes, and
    /// at 10000 streams its cache misses were half of the rx judge time).
    v4: HashMap<u64, Entry, BuildHasherDefault<FastHasher>>,
    v6: HashMap<(u16, Ipv6Addr, u16), Entry, BuildHasherDefault<FastHasher>>,
    units: Vec<UnitSet>,
}

/// `port` (16 bits), IPv4 address (32), UDP port (16) in one word.
#[inline]
fn v4_key(port: u16, addr: Ipv4Addr, udp_port: u16) -> u64 {
    (u64::from(port) << 48) | (u64::from(u32::from(addr)) << 16) | u64::from(udp_port)
}

fn claimed(port: u16, group: IpAddr, udp_port: u16, old: Route, new: Route) -> String {
    format!(
        "{group}:{udp_port} on port {port} is claimed by stream {} leg {} and stream {} leg {}",
        old.stream, old.leg, new.stream, new.leg
    )
}

impl Classifier {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry_mut(&mut self, port: u16, group: IpAddr, udp_port: u16) -> Option<&mut Entry> {
        match group {
            IpAddr::V4(a) => self.v4.get_mut(&v4_key(port, a, udp_port)),
            IpAddr::V6(a) => self.v6.get_mut(&(port, a, udp_port)),
        }
    }

    fn insert(&mut self, port: u16, group: IpAddr, udp_port: u16, e: Entry) -> Option<Entry> {
        match group {
            IpAddr::V4(a) => self.v4.insert(v4_key(port, a, udp_port), e),
            IpAddr::V6(a) => self.v6.insert((port, a, udp_port), e),
        }
    }

    /// Adds a route; an error names the key when it is already taken.
    pub fn add(
        &mut self,
        port: u16,
        group: IpAddr,
        udp_port: u16,
        route: Route,
    ) -> Result<(), String> {
        let e = Entry { route, set: 0 };
        if let Some(old) = self.insert(port, group, udp_port, e) {
            self.insert(port, group, udp_port, old);
            return Err(claimed(port, group, udp_port, old.route, route));
        }
        Ok(())
    }

    /// Adds the route of a `--seq pitch:UNIT` stream: the key may be shared
    /// with other PITCH streams (added the same way) of other units; an
    /// error names the key when a stream of the same unit, or a stream that
    /// is not PITCH, already has it.
    pub fn add_unit(
        &mut self,
        port: u16,
        group: IpAddr,
        udp_port: u16,
        unit: u8,
        route: Route,
    ) -> Result<(), String> {
        let Some(e) = self.entry_mut(port, group, udp_port).copied() else {
            let set = u16::try_from(self.units.len() + 1)
                .map_err(|_| "more than 65535 groups carry PITCH units".to_string())?;
            let mut by_unit = Box::new([None; 256]);
            by_unit[usize::from(unit)] = Some(route);
            self.units.push(UnitSet {
                by_unit,
                all: vec![route],
            });
            self.insert(port, group, udp_port, Entry { route, set });
            return Ok(());
        };
        let Some(units) = e.set.checked_sub(1).map(usize::from) else {
            return Err(claimed(port, group, udp_port, e.route, route));
        };
        let slot = &mut self.units[units].by_unit[usize::from(unit)];
        if let Some(old) = *slot {
            return Err(format!(
                "{} (both PITCH unit {unit})",
                claimed(port, group, udp_port, old, route)
            ));
        }
        *slot = Some(route);
        self.units[units].all.push(route);
        Ok(())
    }

    /// Every route of the `--seq pitch:UNIT` streams sharing a key (empty
    /// for a key that is not shared): where a port-wide heartbeat (unit 0,
    /// count 0) goes, since it is the liveness of every unit the group
    /// carries. Looked up only for such a heartbeat.
    pub fn unit_peers(&self, port: u16, group: IpAddr, udp_port: u16) -> &[Route] {
        self.entry(port, group, udp_port)
            .and_then(|e| e.set.checked_sub(1))
            .map_or(&[], |set| self.units[usize::from(set)].all.as_slice())
    }

    #[inline]
    fn entry(&self, port: u16, group: IpAddr, udp_port: u16) -> Option<Entry> {
        match group {
            IpAddr::V4(a) => self.v4.get(&v4_key(port, a, udp_port)).copied(),
            IpAddr::V6(a) => self.v6.get(&(port, a, udp_port)).copied(),
        }
    }

    /// The route of an entry for a packet with UDP payload `payload`: its
    /// own, or for a shared key the stream of the payload's Hdr Unit.
    #[inline(always)]
    fn resolve(&self, e: Entry, payload: &[u8]) -> Route {
        let Some(set) = e.set.checked_sub(1) else {
            return e.route;
        };
        let units = &self.units[usize::from(set)];
        payload
            .get(PITCH_UNIT_AT)
            .and_then(|&u| units.by_unit[usize::from(u)])
            .unwrap_or(units.all[0])
    }

    /// The route for a packet with UDP payload `payload`, if any stream
    /// wants it. No allocation.
    #[inline]
    pub fn lookup(&self, port: u16, group: IpAddr, udp_port: u16, payload: &[u8]) -> Option<Route> {
        let e = self.entry(port, group, udp_port)?;
        Some(self.resolve(e, payload))
    }

    /// [`Classifier::lookup`] through a one-entry cache of the last hit.
    ///
    /// Why: a burst mostly carries consecutive packets of one stream and
    /// leg (per-port queues, bursty senders); a key compare is a few
    /// instructions against a hash and probe (~100 instructions per packet
    /// under callgrind). Misses fall through to the table.
    #[inline]
    pub fn lookup_cached(
        &self,
        cache: &mut RouteCache,
        port: u16,
        group: IpAddr,
        udp_port: u16,
        payload: &[u8],
    ) -> Option<Route> {
        let key = (port, group, udp_port);
        if let Some((k, e)) = cache.last {
            if k == key {
                return Some(self.resolve(e, payload));
            }
        }
        let e = self.entry(port, group, udp_port)?;
        cache.last = Some((key, e));
        Some(self.resolve(e, payload))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// True when no route exists.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_group_on_two_ports_is_two_legs() {
        let g: IpAddr = "239.1.1.1".parse().unwrap();
        let mut c = Classifier::new();
        c.add(0, g, 5000, Route { stream: 0, leg: 0 }).unwrap();
        c.add(1, g, 5000, Route { stream: 0, leg: 1 }).unwrap();
        assert_eq!(c.lookup(1, g, 5000, &[]), Some(Route { stream: 0, leg: 1 }));
        assert_eq!(c.lookup(0, g, 5001, &[]), None);
        let err = c.add(0, g, 5000, Route { stream: 1, leg: 0 }).unwrap_err();
        assert!(err.contains("239.1.1.1:5000"), "{err}");
    }

    #[test]
    fn cached_lookup_agrees_with_the_table() {
        let g: IpAddr = "239.1.1.1".parse().unwrap();
        let h: IpAddr = "239.2.2.2".parse().unwrap();
        let mut c = Classifier::new();
        c.add(0, g, 5000, Route { stream: 0, leg: 0 }).unwrap();
        c.add(1, h, 5000, Route { stream: 0, leg: 1 }).unwrap();
        let mut cache = RouteCache::default();
        for (port, grp, udp) in [
            (0, g, 5000),
            (0, g, 5000),
            (1, h, 5000),
            (0, g, 5001),
            (1, g, 5000),
            (0, g, 5000),
        ] {
            assert_eq!(
                c.lookup_cached(&mut cache, port, grp, udp, &[]),
                c.lookup(port, grp, udp, &[]),
                "{port} {grp} {udp}"
            );
        }
    }

    fn pitch(unit: u8) -> Vec<u8> {
        vec![18, 0, 1, unit, 9, 0, 0, 0, 10, b'A', 0, 0, 0, 0, 0, 0, 0, 0]
    }

    #[test]
    fn pitch_streams_share_a_group_by_unit() {
        let g: IpAddr = "239.1.1.1".parse().unwrap();
        let h: IpAddr = "ff15::1".parse().unwrap();
        let mut c = Classifier::new();
        for (stream, unit) in [(0, 3), (1, 7)] {
            for (port, leg) in [(0, 0), (1, 1)] {
                for grp in [g, h] {
                    c.add_unit(port, grp, 5000, unit, Route { stream, leg })
                        .unwrap();
                }
            }
        }
        assert_eq!(c.len(), 4);
        let mut cache = RouteCache::default();
        for grp in [g, h] {
            for (unit, stream) in [(3, 0), (7, 1), (3, 0), (9, 0), (0, 0)] {
                let want = Some(Route { stream, leg: 1 });
                assert_eq!(c.lookup(1, grp, 5000, &pitch(unit)), want, "unit {unit}");
                let got = c.lookup_cached(&mut cache, 1, grp, 5000, &pitch(unit));
                assert_eq!(got, want, "cached, unit {unit}");
            }
            // The port-wide heartbeat's peers: both streams, first first.
            assert_eq!(
                c.unit_peers(1, grp, 5000),
                &[Route { stream: 0, leg: 1 }, Route { stream: 1, leg: 1 }]
            );
            assert!(c.unit_peers(1, grp, 5001).is_empty());
            // Too short to name a unit: the set's first stream (whose
            // extractor calls it truncated).
            assert_eq!(
                c.lookup(0, grp, 5000, &[1, 2]),
                Some(Route { stream: 0, leg: 0 })
            );
        }
        // The same unit twice, and a non-PITCH stream on a PITCH key (or
        // the reverse), are refused, naming the key.
        let r = Route { stream: 2, leg: 0 };
        let e = c.add_unit(0, g, 5000, 7, r).unwrap_err();
        assert!(e.contains("239.1.1.1:5000") && e.contains("unit 7"), "{e}");
        assert!(c.add(0, g, 5000, r).is_err());
        c.add(0, g, 6000, r).unwrap();
        assert!(c.add_unit(0, g, 6000, 1, r).is_err());
        assert_eq!(c.lookup(0, g, 6000, &pitch(1)), Some(r));
        assert_eq!(
            c.lookup(0, g, 5000, &pitch(7)),
            Some(Route { stream: 1, leg: 0 })
        );
    }
}
