//! Values written as text on the command line and in TOML (addresses, modes,
//! sequence formats): one parser per type, shared by both front ends, so a
//! value is accepted or refused with the same message wherever it appears.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::de::{Deserialize, Deserializer, Error as DeError, Visitor};

use crate::skew_class::SkewClass;
use model::{Arbitrate, MacAddr, MergeMode, PortAddr, Reorder, SeqSpec, VlanAction};

use crate::addr::{check_source, parse_group, parse_leg, parse_source};
use crate::clock::ClockSource;
use crate::forward_mode::ForwardMode;
use crate::worker_layout::{Steer, WorkerLayout};

/// A type parsed from text with an error message that quotes the text.
pub(crate) trait ParseText: Sized {
    fn parse_text(text: &str) -> Result<Self, String>;
}

/// A multicast `group:port` (checked to be multicast, port not 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group(pub SocketAddr);

impl ParseText for Group {
    fn parse_text(text: &str) -> Result<Self, String> {
        parse_group(text).map(Group)
    }
}

/// One input leg: its group:port and, for source-specific multicast, the
/// one sender whose packets belong to it. Written `GROUP:PORT[@SOURCE]`, or
/// in TOML also as a table `{ group = "GROUP:PORT", source = "SOURCE" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LegText {
    pub group: SocketAddr,
    pub source: Option<IpAddr>,
}

impl ParseText for LegText {
    fn parse_text(text: &str) -> Result<Self, String> {
        parse_leg(text).map(|(group, source)| LegText { group, source })
    }
}

impl<'de> Deserialize<'de> for LegText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LegVisitor)
    }
}

/// A leg as a string, or as a `{ group, source }` table.
struct LegVisitor;

impl<'de> Visitor<'de> for LegVisitor {
    type Value = LegText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"GROUP:PORT[@SOURCE]\" or { group = \"GROUP:PORT\", source = \"IP\" }")
    }

    fn visit_str<E: DeError>(self, v: &str) -> Result<LegText, E> {
        LegText::parse_text(v).map_err(E::custom)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<LegText, A::Error> {
        let (mut group, mut source) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            let value: String = map.next_value()?;
            match key.as_str() {
                "group" => group = Some(parse_group(&value).map_err(A::Error::custom)?),
                "source" => source = Some(parse_source(&value).map_err(A::Error::custom)?),
                other => {
                    return Err(A::Error::custom(format!(
                        "unknown key {} in a leg (expected group, source)",
                        model::quoted(other)
                    )))
                }
            }
        }
        let group =
            group.ok_or_else(|| A::Error::custom("a leg table needs group = \"GROUP:PORT\""))?;
        if let Some(s) = source {
            check_source(group, s).map_err(A::Error::custom)?;
        }
        Ok(LegText { group, source })
    }
}

/// A listening address `ADDR:PORT` (`[v6]:PORT` for IPv6; port 0 lets the
/// kernel choose one, which the binary prints).
impl ParseText for SocketAddr {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.trim().parse().map_err(|_| {
            format!(
                "bad listen address {} (want ADDR:PORT, e.g. 127.0.0.1:9105 or [::1]:9105)",
                model::quoted(text)
            )
        })
    }
}

impl ParseText for IpAddr {
    fn parse_text(text: &str) -> Result<Self, String> {
        text.trim()
            .parse()
            .map_err(|_| format!("bad IP address {}", model::quoted(text)))
    }
}

macro_rules! parse_text_via_from_str {
    ($($ty:ty),*) => {$(
        impl ParseText for $ty {
            fn parse_text(text: &str) -> Result<Self, String> {
                text.parse()
            }
        }
    )*};
}
parse_text_via_from_str!(
    SeqSpec,
    Arbitrate,
    MergeMode,
    ForwardMode,
    ClockSource,
    VlanAction,
    MacAddr,
    PortAddr,
    Reorder,
    SkewClass,
    WorkerLayout,
    Steer
);

/// A TOML string parsed with [`ParseText`]; a refusal becomes a TOML error
/// carrying the value's line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Text<T>(pub T);

impl<'de, T: ParseText> Deserialize<'de> for Text<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = deserializer.deserialize_any(TextVisitor)?;
        T::parse_text(&text).map(Text).map_err(D::Error::custom)
    }
}

/// Accepts a string, or an integer read as its decimal text (so that
/// `out_vlan = 100` works as well as `out_vlan = "100"`).
struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: DeError>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_i64<E: DeError>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: DeError>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl<T: fmt::Display> fmt::Display for Text<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
