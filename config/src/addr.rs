//! Multicast group addresses (`GROUP:PORT`, `[GROUP]:PORT` for IPv6) and MAC
//! addresses: parsing with messages that quote the value, and the standard
//! mapping of a group to its Ethernet multicast MAC.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// Parses `GROUP:PORT` (IPv4) or `[GROUP]:PORT` (IPv6) and checks that the
/// address is a multicast group and the port is not 0.
///
/// The error quotes the value and says what is wrong with it.
pub(crate) fn parse_group(text: &str) -> Result<SocketAddr, String> {
    let addr = SocketAddr::from_str(text.trim()).map_err(|_| {
        format!("bad address '{text}': expected GROUP:PORT, e.g. 239.1.1.1:5000 or [ff3e::1]:5000")
    })?;
    if !addr.ip().is_multicast() {
        return Err(format!(
            "'{text}' is not a multicast group (IPv4 224.0.0.0/4, IPv6 ff00::/8)"
        ));
    }
    if addr.port() == 0 {
        return Err(format!("'{text}': UDP port 0 is not allowed"));
    }
    Ok(addr)
}

/// "IPv4" or "IPv6", for messages about mixed families.
pub(crate) fn family(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
    }
}

/// An Ethernet MAC address.
///
/// Used for the output's destination MAC; parsed from `aa:bb:cc:dd:ee:ff`
/// (or with `-` separators) and printed in the colon form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The Ethernet multicast MAC a group maps to (RFC 1112: 01:00:5e + low
    /// 23 bits for IPv4; RFC 2464: 33:33 + low 32 bits for IPv6), so the
    /// output reaches receivers and IGMP/MLD-snooping switches without any
    /// MAC configuration.
    pub fn for_multicast_group(group: IpAddr) -> MacAddr {
        match group {
            IpAddr::V4(v4) => {
                let o = v4.octets();
                MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
            }
            IpAddr::V6(v6) => {
                let o = v6.octets();
                MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
            }
        }
    }

    /// The six octets, in wire order.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl FromStr for MacAddr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("bad MAC address '{text}': expected six hex octets like 01:00:5e:0a:01:01");
        let separator = if text.contains('-') { '-' } else { ':' };
        let mut octets = [0u8; 6];
        let mut count = 0;
        for part in text.split(separator) {
            if count == 6 || part.is_empty() || part.len() > 2 {
                return Err(bad());
            }
            octets[count] = u8::from_str_radix(part, 16).map_err(|_| bad())?;
            count += 1;
        }
        if count != 6 {
            return Err(bad());
        }
        if octets == [0; 6] {
            return Err(format!(
                "bad MAC address '{text}': the all-zero address cannot be a destination"
            ));
        }
        Ok(MacAddr(octets))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            o[0], o[1], o[2], o[3], o[4], o[5]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ipv4_and_ipv6_groups() {
        assert_eq!(
            parse_group("239.1.1.1:5000").unwrap(),
            "239.1.1.1:5000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_group("[ff3e::1]:5000").unwrap(),
            "[ff3e::1]:5000".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn rejects_bad_groups_naming_them() {
        for (text, needle) in [
            ("239.1.1.1", "bad address '239.1.1.1'"),
            ("239.1.1:5000", "bad address '239.1.1:5000'"),
            ("239.1.1.1:70000", "bad address '239.1.1.1:70000'"),
            ("ff3e::1:5000", "bad address 'ff3e::1:5000'"),
            ("10.0.0.1:5000", "'10.0.0.1:5000' is not a multicast group"),
            (
                "[2001:db8::1]:5000",
                "'[2001:db8::1]:5000' is not a multicast group",
            ),
            ("239.1.1.1:0", "'239.1.1.1:0': UDP port 0"),
        ] {
            let err = parse_group(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn multicast_mac_mapping() {
        let v4 = MacAddr::for_multicast_group("239.129.2.3".parse().unwrap());
        assert_eq!(v4.to_string(), "01:00:5e:01:02:03");
        let v6 = MacAddr::for_multicast_group("ff3e::1234:5678".parse().unwrap());
        assert_eq!(v6.to_string(), "33:33:12:34:56:78");
    }

    #[test]
    fn mac_parse_and_errors() {
        assert_eq!(
            "01:00:5E:0a:01:01".parse::<MacAddr>().unwrap().octets(),
            [0x01, 0x00, 0x5e, 0x0a, 0x01, 0x01]
        );
        assert_eq!(
            "02-00-00-00-00-01".parse::<MacAddr>().unwrap().octets(),
            [2, 0, 0, 0, 0, 1]
        );
        for bad in [
            "01:00:5e:0a:01",
            "01:00:5e:0a:01:01:02",
            "01:00:5e:0a:01:zz",
            "010:0:5e:0a:01:01",
            "",
            "00:00:00:00:00:00",
        ] {
            let err = bad.parse::<MacAddr>().unwrap_err();
            assert!(err.contains(&format!("'{bad}'")), "{bad}: {err}");
        }
    }
}
