//! An address of a DPDK port: `--port-ip PORT=ADDR[/PREFIX]`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::quote::quoted;

/// The address a port speaks IGMP/MLD from.
///
/// Why: a DPDK port has no kernel interface and so no address; the
/// membership host needs one per family to send reports from (IGMP from
/// this IPv4 address; MLD from this IPv6 address if it is link-local, else
/// from the port MAC's link-local address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortAddr {
    /// DPDK port id.
    pub port: u16,
    /// Its unicast address.
    pub addr: IpAddr,
    /// Prefix length (default 32 / 128).
    pub prefix: u8,
}

impl FromStr for PortAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "bad port address {}: {why} (expected PORT=ADDR[/PREFIX], e.g. 0=192.0.2.10/24 or 1=fe80::10)",
                quoted(text)
            )
        };
        let (port, rest) = text.trim().split_once('=').ok_or_else(|| bad("no '='"))?;
        let port: u16 = port
            .trim()
            .parse()
            .map_err(|_| bad("port is not a port id"))?;
        let (addr, prefix) = match rest.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad("not an IP address"))?;
        if addr.is_multicast() || addr.is_unspecified() || addr.is_loopback() {
            return Err(bad("not a unicast address"));
        }
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if (1..=max).contains(&p) => p,
                _ => return Err(bad(&format!("prefix must be 1..={max}"))),
            },
        };
        Ok(PortAddr { port, addr, prefix })
    }
}

impl fmt::Display for PortAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}/{}", self.port, self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_families_and_refuses_junk() {
        let a: PortAddr = "0=192.0.2.10/24".parse().unwrap();
        assert_eq!((a.port, a.prefix), (0, 24));
        assert_eq!(a.to_string(), "0=192.0.2.10/24");
        let b: PortAddr = "3=fe80::10".parse().unwrap();
        assert_eq!((b.port, b.prefix), (3, 128));
        for bad in [
            "192.0.2.10",
            "x=192.0.2.10",
            "0=300.1.1.1",
            "0=239.1.1.1",
            "0=0.0.0.0",
            "0=192.0.2.1/33",
            "0=192.0.2.1/0",
            "70000=192.0.2.1",
        ] {
            assert!(bad.parse::<PortAddr>().is_err(), "{bad}");
        }
    }
}
