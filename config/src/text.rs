//! Values written as text on the command line and in TOML (addresses, modes,
//! sequence formats): one parser per type, shared by both front ends, so a
//! value is accepted or refused with the same message wherever it appears.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::de::{Deserialize, Deserializer, Error as DeError, Visitor};

use crate::skew_class::SkewClass;
use model::{MacAddr, MergeMode, Reorder, SeqSpec, VlanAction};

use crate::addr::parse_group;
use crate::clock::ClockSource;
use crate::forward_mode::ForwardMode;

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
    MergeMode,
    ForwardMode,
    ClockSource,
    VlanAction,
    MacAddr,
    Reorder,
    SkewClass
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
