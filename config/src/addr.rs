//! Multicast group addresses (`GROUP:PORT`, `[GROUP]:PORT` for IPv6):
//! parsing with messages that quote the value.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use model::quoted;

/// Parses `GROUP:PORT` (IPv4) or `[GROUP]:PORT` (IPv6) and checks that the
/// address is a multicast group and the port is not 0.
///
/// The error quotes the value and says what is wrong with it.
pub(crate) fn parse_group(text: &str) -> Result<SocketAddr, String> {
    let addr = SocketAddr::from_str(text.trim()).map_err(|_| {
        format!(
            "bad address {}: expected GROUP:PORT, e.g. 239.1.1.1:5000 or [ff3e::1]:5000",
            quoted(text)
        )
    })?;
    if !addr.ip().is_multicast() {
        return Err(format!(
            "{} is not a multicast group (IPv4 224.0.0.0/4, IPv6 ff00::/8)",
            quoted(text)
        ));
    }
    if addr.port() == 0 {
        return Err(format!("{}: UDP port 0 is not allowed", quoted(text)));
    }
    Ok(addr)
}

/// Parses a leg: `GROUP:PORT` or `GROUP:PORT@SOURCE` (SSM: only packets
/// from that sender belong to the leg), e.g. `232.1.1.1:5000@192.0.2.1` or
/// `[ff3e::1]:5000@2001:db8::1`. The source must be a unicast address of
/// the group's family.
pub(crate) fn parse_leg(text: &str) -> Result<(SocketAddr, Option<IpAddr>), String> {
    match text.trim().rsplit_once('@') {
        None => parse_group(text).map(|g| (g, None)),
        Some((group, source)) => {
            let group = parse_group(group)?;
            let source = parse_source(source)?;
            check_source(group, source)?;
            Ok((group, Some(source)))
        }
    }
}

/// Parses a leg's source address (a unicast IPv4 or IPv6 address).
pub(crate) fn parse_source(text: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = text
        .trim()
        .parse()
        .map_err(|_| format!("bad source address {}", quoted(text)))?;
    if ip.is_multicast() || ip.is_unspecified() || ip == IpAddr::from([255, 255, 255, 255]) {
        return Err(format!("source {} is not a unicast address", quoted(text)));
    }
    Ok(ip)
}

/// A leg's source must be of its group's family.
pub(crate) fn check_source(group: SocketAddr, source: IpAddr) -> Result<(), String> {
    if source.is_ipv4() != group.is_ipv4() {
        return Err(format!(
            "source {source} is {} but group {group} is {}",
            family(source),
            family(group.ip())
        ));
    }
    Ok(())
}

/// "IPv4" or "IPv6", for messages about mixed families.
pub(crate) fn family(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IPv4",
        IpAddr::V6(_) => "IPv6",
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
    fn legs_may_name_their_source() {
        let (g, s) = parse_leg("232.1.1.1:5000@192.0.2.1").unwrap();
        assert_eq!(g, "232.1.1.1:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(s, Some("192.0.2.1".parse().unwrap()));
        let (g, s) = parse_leg("[ff3e::1]:5000@2001:db8::1").unwrap();
        assert_eq!(g, "[ff3e::1]:5000".parse::<SocketAddr>().unwrap());
        assert_eq!(s, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_leg("239.1.1.1:5000").unwrap().1, None);
        for (text, needle) in [
            ("232.1.1.1:5000@", "bad source address ''"),
            ("232.1.1.1:5000@x", "bad source address 'x'"),
            ("232.1.1.1:5000@239.0.0.1", "not a unicast"),
            ("232.1.1.1:5000@0.0.0.0", "not a unicast"),
            ("232.1.1.1:5000@2001:db8::1", "is IPv6 but group"),
            ("[ff3e::1]:5000@192.0.2.1", "is IPv4 but group"),
        ] {
            let err = parse_leg(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
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
}
