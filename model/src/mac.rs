//! Ethernet MAC addresses: parsing with messages that quote the value, and
//! the standard mapping of a multicast group to its Ethernet MAC.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::quote::quoted;

/// An Ethernet MAC address, in wire order.
///
/// Parsed from `aa:bb:cc:dd:ee:ff` (or with `-` separators) and printed in
/// the colon form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The Ethernet multicast MAC a group maps to (RFC 1112: 01:00:5e + low
    /// 23 bits for IPv4; RFC 2464: 33:33 + low 32 bits for IPv6), so the
    /// output reaches receivers and IGMP/MLD-snooping switches without any
    /// MAC configuration. `None` if `group` is not multicast.
    pub fn multicast(group: IpAddr) -> Option<MacAddr> {
        match group {
            IpAddr::V4(v4) if v4.is_multicast() => {
                let o = v4.octets();
                Some(MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]))
            }
            IpAddr::V6(v6) if v6.is_multicast() => {
                let o = v6.octets();
                Some(MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]]))
            }
            _ => None,
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
        let bad = || {
            format!(
                "bad MAC address {}: expected six hex octets like 01:00:5e:0a:01:01",
                quoted(text)
            )
        };
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
                "bad MAC address {}: the all-zero address cannot be a destination",
                quoted(text)
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

    fn group(text: &str) -> Option<String> {
        MacAddr::multicast(text.parse().unwrap()).map(|m| m.to_string())
    }

    #[test]
    fn multicast_mapping() {
        assert_eq!(group("239.129.2.3").unwrap(), "01:00:5e:01:02:03");
        assert_eq!(group("224.255.254.253").unwrap(), "01:00:5e:7f:fe:fd");
        assert_eq!(group("ff3e::1234:5678").unwrap(), "33:33:12:34:56:78");
        assert_eq!(group("10.0.0.1"), None);
        assert_eq!(group("2001:db8::1"), None);
    }

    #[test]
    fn parse_and_errors() {
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
