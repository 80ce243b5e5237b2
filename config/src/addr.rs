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
