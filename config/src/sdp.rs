//! Session descriptions (SDP, RFC 8866) of redundant streams: the legs of a
//! stream from RFC 7104 duplication grouping (`a=group:DUP` naming the
//! media by `a=mid`), each leg's group from its media's `c=` (or the
//! session's) and port from its `m=`, and its source from an RFC 4570
//! `a=source-filter: incl` line; and the SDP of a merged output.
//!
//! Why: ST 2110 / ST 2022-7 plants (and NMOS IS-05) hand a receiver exactly
//! this SDP; configuring the merger from it avoids retyping addresses.
//! [`parse`] is pure (text in, legs or a line-numbered error out) so it can
//! be fuzzed.

use std::net::{IpAddr, SocketAddr};

/// One leg of a described stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpLeg {
    /// Its `a=mid`, if any.
    pub mid: Option<String>,
    /// Destination group and port.
    pub group: SocketAddr,
    /// The one sender (`a=source-filter: incl`), if named.
    pub source: Option<IpAddr>,
    /// The 1-based line of its `m=`.
    pub line: usize,
}

/// An `m=` line without its port: media, transport protocol, formats.
pub type MediaLine = (String, String, String);

/// What an SDP describes: the legs in DUP order, and the media of the
/// first (for the output's own SDP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sdp {
    /// `s=` (the session name).
    pub name: String,
    /// The legs, primary first.
    pub legs: Vec<SdpLeg>,
    /// The first leg's `m=` line without its port: media, proto, formats.
    pub media: MediaLine,
    /// The first leg's attributes worth passing on (`rtpmap`, `fmtp`,
    /// `ts-refclk`, `mediaclk`, `ptime`, `framecount`...), as written.
    pub attributes: Vec<String>,
    /// Things the operator should know (a single-leg description).
    pub warnings: Vec<String>,
}

/// Why an SDP was refused: its line (1-based, 0 = the whole text) and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpError {
    /// Where.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl SdpError {
    fn at(line: usize, reason: impl Into<String>) -> SdpError {
        SdpError {
            line,
            reason: reason.into(),
        }
    }
}

/// The largest SDP accepted (a description of a few streams is a few KiB).
pub const MAX_SDP_BYTES: usize = 64 * 1024;

#[derive(Default)]
struct Media {
    line: usize,
    media: String,
    port: u16,
    proto: String,
    fmt: String,
    conn: Option<(IpAddr, usize)>,
    mid: Option<String>,
    filter: Option<(IpAddr, usize)>,
    attributes: Vec<String>,
}

/// Attributes a receiver of the output needs to decode it.
const PASSED_ON: &[&str] = &[
    "rtpmap",
    "fmtp",
    "ptime",
    "maxptime",
    "ts-refclk",
    "mediaclk",
    "framecount",
    "recvonly",
    "sendonly",
];

/// `IN IP4 ADDR[/TTL[/N]]` or `IN IP6 ADDR[/N]`: the address.
fn connection(value: &str, line: usize) -> Result<IpAddr, SdpError> {
    let f: Vec<&str> = value.split_whitespace().collect();
    if f.len() != 3 || f[0] != "IN" || !(f[1] == "IP4" || f[1] == "IP6") {
        return Err(SdpError::at(
            line,
            format!(
                "c= must be `IN IP4|IP6 ADDRESS`, not {}",
                model::quoted(value)
            ),
        ));
    }
    let addr = f[2].split('/').next().unwrap_or("");
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| SdpError::at(line, format!("bad address {}", model::quoted(addr))))?;
    if ip.is_ipv4() != (f[1] == "IP4") {
        return Err(SdpError::at(
            line,
            format!("{ip} is not an {} address", f[1]),
        ));
    }
    if f[2].contains('/') && f[2].split('/').count() > 2 && ip.is_ipv4() {
        return Err(SdpError::at(
            line,
            "multiple addresses (ADDR/TTL/N) are not supported: one group per leg",
        ));
    }
    Ok(ip)
}

/// `incl IN IP4|IP6 DEST SRC...`: the one source (RFC 4570).
fn source_filter(value: &str, line: usize) -> Result<(IpAddr, Option<IpAddr>), SdpError> {
    let f: Vec<&str> = value.split_whitespace().collect();
    if f.len() < 5 || f[1] != "IN" {
        return Err(SdpError::at(
            line,
            "source-filter must be `incl IN IP4|IP6 DEST-ADDRESS SOURCE`",
        ));
    }
    if f[0] != "incl" {
        return Err(SdpError::at(
            line,
            format!(
                "source-filter mode {} is not supported (only incl)",
                model::quoted(f[0])
            ),
        ));
    }
    if f.len() > 5 {
        return Err(SdpError::at(
            line,
            "source-filter names more than one source: a leg takes exactly one",
        ));
    }
    let src: IpAddr = f[4]
        .parse()
        .map_err(|_| SdpError::at(line, format!("bad source address {}", model::quoted(f[4]))))?;
    crate::addr::parse_source(f[4]).map_err(|e| SdpError::at(line, e))?;
    let dest = if f[3] == "*" {
        None
    } else {
        Some(
            f[3].parse::<IpAddr>()
                .map_err(|_| SdpError::at(line, format!("bad address {}", model::quoted(f[3]))))?,
        )
    };
    Ok((src, dest))
}

/// Parses an SDP into the legs of one stream.
///
/// Legs: with `a=group:DUP M1 M2 ...` the media named by those mids, in that
/// order; without it exactly one media section (a one-leg stream, with a
/// warning). Each leg needs a multicast group (media `c=`, else session
/// `c=`) and a port; a source-filter `incl` (media-level, else session-level
/// whose destination is that group or `*`) names its one source.
pub fn parse(text: &str) -> Result<Sdp, SdpError> {
    if text.len() > MAX_SDP_BYTES {
        return Err(SdpError::at(
            0,
            format!("larger than {MAX_SDP_BYTES} bytes"),
        ));
    }
    let mut name = String::new();
    let mut session_conn: Option<(IpAddr, usize)> = None;
    let mut session_filters: Vec<(IpAddr, Option<IpAddr>, usize)> = Vec::new();
    let mut dup: Option<(Vec<String>, usize)> = None;
    let mut media: Vec<Media> = Vec::new();
    let mut seen_v = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end_matches('\r');
        if l.trim().is_empty() {
            continue;
        }
        let b = l.as_bytes();
        if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
            return Err(SdpError::at(
                line,
                format!("not an SDP line `x=...`: {}", model::quoted(l)),
            ));
        }
        let (kind, value) = (b[0], &l[2..]);
        if !seen_v {
            if kind != b'v' || value.trim() != "0" {
                return Err(SdpError::at(line, "an SDP starts with v=0"));
            }
            seen_v = true;
            continue;
        }
        match kind {
            b's' if media.is_empty() => name = value.trim().to_string(),
            b'c' => {
                let ip = connection(value, line)?;
                match media.last_mut() {
                    Some(m) => m.conn = Some((ip, line)),
                    None => session_conn = Some((ip, line)),
                }
            }
            b'm' => {
                let f: Vec<&str> = value.split_whitespace().collect();
                if f.len() < 4 {
                    return Err(SdpError::at(
                        line,
                        "m= must be `MEDIA PORT PROTO FORMAT...`",
                    ));
                }
                let port_text = f[1].split('/').next().unwrap_or("");
                let port: u16 = port_text.parse().ok().filter(|&p| p != 0).ok_or_else(|| {
                    SdpError::at(line, format!("bad port {}", model::quoted(f[1])))
                })?;
                media.push(Media {
                    line,
                    media: f[0].to_string(),
                    port,
                    proto: f[2].to_string(),
                    fmt: f[3..].join(" "),
                    ..Media::default()
                });
            }
            b'a' => {
                let (attr, val) = match value.split_once(':') {
                    Some((a, v)) => (a.trim(), v.trim()),
                    None => (value.trim(), ""),
                };
                match (attr, media.last_mut()) {
                    ("group", None) => {
                        let mut f = val.split_whitespace();
                        if f.next() == Some("DUP") {
                            if dup.is_some() {
                                return Err(SdpError::at(line, "a second a=group:DUP"));
                            }
                            let mids: Vec<String> = f.map(str::to_string).collect();
                            if mids.is_empty() {
                                return Err(SdpError::at(line, "a=group:DUP names no mid"));
                            }
                            dup = Some((mids, line));
                        }
                    }
                    ("source-filter", None) => {
                        let (src, dest) = source_filter(val, line)?;
                        session_filters.push((src, dest, line));
                    }
                    ("source-filter", Some(m)) => {
                        if m.filter.is_some() {
                            return Err(SdpError::at(line, "a second source-filter in one media"));
                        }
                        let (src, _) = source_filter(val, line)?;
                        m.filter = Some((src, line));
                    }
                    ("mid", Some(m)) => m.mid = Some(val.to_string()),
                    (a, Some(m)) if PASSED_ON.contains(&a) => m.attributes.push(value.to_string()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !seen_v {
        return Err(SdpError::at(0, "empty: an SDP starts with v=0"));
    }
    let mut warnings = Vec::new();
    let chosen: Vec<&Media> = match &dup {
        Some((mids, line)) => {
            let mut out = Vec::new();
            for mid in mids {
                let m = media
                    .iter()
                    .find(|m| m.mid.as_deref() == Some(mid.as_str()))
                    .ok_or_else(|| {
                        SdpError::at(
                            *line,
                            format!("a=group:DUP names mid {mid} but no media has a=mid:{mid}"),
                        )
                    })?;
                if out.iter().any(|o: &&Media| std::ptr::eq(*o, m)) {
                    return Err(SdpError::at(
                        *line,
                        format!("a=group:DUP names mid {mid} twice"),
                    ));
                }
                out.push(m);
            }
            out
        }
        None => match media.len() {
            0 => return Err(SdpError::at(0, "no media (m=) section")),
            1 => {
                warnings.push(
                    "one media section and no a=group:DUP: a one-leg stream (nothing to fail over to)"
                        .to_string(),
                );
                vec![&media[0]]
            }
            n => {
                return Err(SdpError::at(
                    media[1].line,
                    format!(
                    "{n} media sections but no a=group:DUP saying which are copies of one stream"
                ),
                ))
            }
        },
    };
    let mut legs = Vec::new();
    for m in &chosen {
        let (ip, cline) = m.conn.or(session_conn).ok_or_else(|| {
            SdpError::at(m.line, "no c= line for this media (nor at session level)")
        })?;
        if !ip.is_multicast() {
            return Err(SdpError::at(
                cline,
                format!("{ip} is not a multicast group"),
            ));
        }
        let source = match m.filter {
            Some((s, _)) => Some(s),
            None => session_filters
                .iter()
                .find(|(_, dest, _)| dest.is_none_or(|d| d == ip))
                .map(|(s, _, _)| *s),
        };
        if let Some(s) = source {
            if s.is_ipv4() != ip.is_ipv4() {
                let line = m.filter.map_or(m.line, |(_, l)| l);
                return Err(SdpError::at(
                    line,
                    format!("source {s} and group {ip} are of different families"),
                ));
            }
        }
        legs.push(SdpLeg {
            mid: m.mid.clone(),
            group: SocketAddr::new(ip, m.port),
            source,
            line: m.line,
        });
    }
    if legs
        .iter()
        .any(|l| l.group.is_ipv4() != legs[0].group.is_ipv4())
    {
        return Err(SdpError::at(legs[1].line, "legs of different IP families"));
    }
    if legs.len() > model::limits::MAX_LEGS {
        return Err(SdpError::at(
            dup.map_or(0, |d| d.1),
            format!("{} legs, at most {}", legs.len(), model::limits::MAX_LEGS),
        ));
    }
    let first = chosen[0];
    Ok(Sdp {
        name,
        legs,
        media: (first.media.clone(), first.proto.clone(), first.fmt.clone()),
        attributes: first.attributes.clone(),
        warnings,
    })
}

/// The SDP of a merged output: one media, the virtual group, the source the
/// output is sent from (`a=source-filter` when known) and the first leg's
/// media attributes, so a downstream receiver can be set up from it.
pub fn output_sdp(
    name: &str,
    out: SocketAddr,
    source: Option<IpAddr>,
    ttl: Option<u8>,
    media: Option<(&MediaLine, &[String])>,
) -> String {
    let fam = if out.is_ipv4() { "IP4" } else { "IP6" };
    let origin = source.map_or_else(
        || {
            if out.is_ipv4() {
                "0.0.0.0".to_string()
            } else {
                "::".to_string()
            }
        },
        |s| s.to_string(),
    );
    let mut s = format!("v=0\r\no=- 1 1 IN {fam} {origin}\r\ns={name}\r\nt=0 0\r\n");
    let (m, attrs) = match media {
        Some((m, a)) => (m.clone(), a.to_vec()),
        None => (
            ("video".to_string(), "RTP/AVP".to_string(), "96".to_string()),
            Vec::new(),
        ),
    };
    s.push_str(&format!("m={} {} {} {}\r\n", m.0, out.port(), m.1, m.2));
    if out.is_ipv4() {
        s.push_str(&format!("c=IN IP4 {}/{}\r\n", out.ip(), ttl.unwrap_or(64)));
    } else {
        s.push_str(&format!("c=IN IP6 {}\r\n", out.ip()));
    }
    if let Some(src) = source {
        s.push_str(&format!(
            "a=source-filter: incl IN {fam} {} {src}\r\n",
            out.ip()
        ));
    }
    for a in attrs {
        s.push_str(&format!("a={a}\r\n"));
    }
    s
}

#[cfg(test)]
mod tests;
