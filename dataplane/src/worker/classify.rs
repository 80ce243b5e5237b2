//! Which stream and leg a received packet belongs to.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// The last route found, owned by one rx loop (see
/// [`Classifier::lookup_cached`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct RouteCache {
    last: Option<((u16, IpAddr, u16), Route)>,
}

/// Lookup table (receiving port, destination group, destination UDP port)
/// -> [`Route`], built once at start-up.
///
/// Why the port is part of the key: ST 2022-7 networks often carry both legs
/// on the same group address over physically separate networks; the port a
/// copy arrived on is then what tells the legs apart.
#[derive(Default, Debug)]
pub struct Classifier {
    /// IPv4 keys packed into one word: 16-byte entries, so 10000 streams x
    /// 2 legs fit in L2 (the (port, IpAddr, port) tuple took 32 bytes, and
    /// at 10000 streams its cache misses were half of the rx judge time).
    v4: HashMap<u64, Route, BuildHasherDefault<FastHasher>>,
    v6: HashMap<(u16, Ipv6Addr, u16), Route, BuildHasherDefault<FastHasher>>,
}

/// `port` (16 bits), IPv4 address (32), UDP port (16) in one word.
#[inline]
fn v4_key(port: u16, addr: Ipv4Addr, udp_port: u16) -> u64 {
    (u64::from(port) << 48) | (u64::from(u32::from(addr)) << 16) | u64::from(udp_port)
}

impl Classifier {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route; an error names the key when it is already taken.
    pub fn add(
        &mut self,
        port: u16,
        group: IpAddr,
        udp_port: u16,
        route: Route,
    ) -> Result<(), String> {
        let old = match group {
            IpAddr::V4(a) => self.v4.insert(v4_key(port, a, udp_port), route),
            IpAddr::V6(a) => self.v6.insert((port, a, udp_port), route),
        };
        if let Some(old) = old {
            return Err(format!(
                "{group}:{udp_port} on port {port} is claimed by stream {} leg {} and stream {} leg {}",
                old.stream, old.leg, route.stream, route.leg
            ));
        }
        Ok(())
    }

    /// The route for a packet, if any stream wants it. No allocation.
    #[inline]
    pub fn lookup(&self, port: u16, group: IpAddr, udp_port: u16) -> Option<Route> {
        match group {
            IpAddr::V4(a) => self.v4.get(&v4_key(port, a, udp_port)).copied(),
            IpAddr::V6(a) => self.v6.get(&(port, a, udp_port)).copied(),
        }
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
    ) -> Option<Route> {
        let key = (port, group, udp_port);
        if let Some((k, r)) = cache.last {
            if k == key {
                return Some(r);
            }
        }
        let r = self.lookup(port, group, udp_port)?;
        cache.last = Some((key, r));
        Some(r)
    }

    /// Number of routes.
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
        assert_eq!(c.lookup(1, g, 5000), Some(Route { stream: 0, leg: 1 }));
        assert_eq!(c.lookup(0, g, 5001), None);
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
                c.lookup_cached(&mut cache, port, grp, udp),
                c.lookup(port, grp, udp),
                "{port} {grp} {udp}"
            );
        }
    }
}
