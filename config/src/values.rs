//! Values with their origin (a flag, or a key in a file), so that any
//! refusal names where the value came from; and the rules that options are
//! declared with (`int_or(1, 512, 32)`, `millis_or(...)`, ...): each takes
//! the value as given, if any, and returns the validated value or the
//! default.

use std::fmt::Display;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::ConfigError;
use crate::limits::MIN_TIME_MS;
use crate::option::FileName;
use crate::text::Text;

/// Where a value came from, to name it in an error.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// A command-line flag and its text, e.g. `--burst` `0`.
    Cli { flag: String, text: String },
    /// A key in the file; `place` is e.g. `x.toml` or `x.toml [defaults]`.
    File { place: String, key: &'static str },
}

/// A value and its origin.
#[derive(Debug, Clone)]
pub(crate) struct Val<T> {
    pub v: T,
    pub from: Origin,
}

impl<T: Display> Val<T> {
    /// `--burst 0` or `x.toml: burst = 0` (the value clipped to
    /// [`model::MAX_QUOTED_CHARS`]).
    pub(crate) fn shown(&self) -> String {
        match &self.from {
            Origin::Cli { flag, text } => format!("{flag} {}", model::clip(text)),
            Origin::File { place, key } => {
                format!("{place}: {key} = {}", model::clip(&self.v.to_string()))
            }
        }
    }

    pub(crate) fn err(&self, problem: impl Display) -> ConfigError {
        ConfigError::new(format!("{}: {problem}", self.shown()))
    }
}

/// An option as given (`None`: not given anywhere).
pub(crate) type Given<T> = Option<Val<T>>;

/// The rule of an option: the value as given -> the value to use.
pub(crate) type Rule<R, T> = Box<dyn FnOnce(Given<R>) -> Result<T, ConfigError>>;

fn in_range<T: TryFrom<i64>>(val: &Val<i64>, lo: i64, hi: i64) -> Result<T, ConfigError> {
    if val.v < lo || val.v > hi {
        return Err(val.err(format_args!("must be in {lo}..={hi}")));
    }
    T::try_from(val.v).map_err(|_| val.err(format_args!("must be in {lo}..={hi}")))
}

/// An integer in `lo..=hi`, or `default`.
pub(crate) fn int_or<T: TryFrom<i64> + 'static>(lo: i64, hi: i64, default: T) -> Rule<i64, T> {
    Box::new(move |given| match given {
        None => Ok(default),
        Some(val) => in_range(&val, lo, hi),
    })
}

/// An integer in `lo..=hi`, or `None` (the binary decides).
pub(crate) fn int_opt<T: TryFrom<i64> + 'static>(lo: i64, hi: i64) -> Rule<i64, Option<T>> {
    Box::new(move |given| given.map(|val| in_range(&val, lo, hi)).transpose())
}

/// A power of two in `lo..=hi`, or `None` (sized automatically).
pub(crate) fn power_of_two_opt(lo: u32, hi: u32) -> Rule<i64, Option<u32>> {
    Box::new(move |given| {
        given
            .map(|val| {
                let ok =
                    val.v >= lo.into() && val.v <= hi.into() && (val.v as u64).is_power_of_two();
                if ok {
                    Ok(val.v as u32)
                } else {
                    Err(val.err(format_args!("must be a power of two in {lo}..={hi}")))
                }
            })
            .transpose()
    })
}

/// A time in milliseconds, at least [`MIN_TIME_MS`] (a finer time cannot
/// be told apart by the dataplane's clock) and at most `max_ms`; or
/// `default_ms`.
pub(crate) fn millis_or(max_ms: f64, default_ms: f64) -> Rule<f64, Duration> {
    Box::new(move |given| {
        let ms = match given {
            None => default_ms,
            Some(val) => {
                if !(val.v.is_finite() && val.v > 0.0 && val.v <= max_ms) {
                    return Err(val.err(format_args!("must be a time in ms, > 0 and <= {max_ms}")));
                }
                if val.v < MIN_TIME_MS {
                    return Err(val.err(format_args!(
                        "must be a time in ms, at least {MIN_TIME_MS} (1 µs) and <= {max_ms}"
                    )));
                }
                val.v
            }
        };
        Ok(Duration::from_secs_f64(ms / 1000.0))
    })
}

/// A time in seconds where 0 means off, else at least `min_s` and at most
/// `max_s`; off when not given.
pub(crate) fn seconds_or_off(min_s: f64, max_s: f64) -> Rule<f64, Option<Duration>> {
    Box::new(move |given| match given {
        None => Ok(None),
        Some(val) => {
            if !(val.v.is_finite() && val.v >= 0.0 && val.v <= max_s) {
                return Err(val.err(format_args!(
                    "must be a time in seconds, 0 (off) to {max_s}"
                )));
            }
            if val.v > 0.0 && val.v < min_s {
                return Err(val.err(format_args!(
                    "must be 0 (off) or at least {min_s} s, and at most {max_s}"
                )));
            }
            Ok((val.v > 0.0).then(|| Duration::from_secs_f64(val.v)))
        }
    })
}

/// A time in seconds in `min_s..=max_s` (0 allowed when `min_s` is 0), or
/// `default_s`.
pub(crate) fn seconds_or(min_s: f64, max_s: f64, default_s: f64) -> Rule<f64, Duration> {
    Box::new(move |given| {
        let s = match given {
            None => default_s,
            Some(val) => {
                if !(val.v.is_finite() && val.v >= min_s && val.v <= max_s) {
                    return Err(val.err(format_args!(
                        "must be a time in seconds, {min_s} to {max_s}"
                    )));
                }
                val.v
            }
        };
        Ok(Duration::from_secs_f64(s))
    })
}

/// A parsed value (already checked by its parser), or `default`.
pub(crate) fn parsed_or<T: 'static>(default: T) -> Rule<Text<T>, T> {
    Box::new(move |given| Ok(given.map_or(default, |val| val.v.0)))
}

/// A parsed value, or `None`.
pub(crate) fn parsed_opt<T: 'static>() -> Rule<Text<T>, Option<T>> {
    Box::new(|given| Ok(given.map(|val| val.v.0)))
}

/// A unicast source address, or `None` (keep the packet's).
pub(crate) fn unicast_opt() -> Rule<Text<IpAddr>, Option<IpAddr>> {
    Box::new(|given| {
        given
            .map(|val| {
                let ip = val.v.0;
                if ip.is_multicast() || ip.is_unspecified() {
                    Err(val.err("a source address must be a unicast address"))
                } else {
                    Ok(ip)
                }
            })
            .transpose()
    })
}

/// A unicast UDP destination (a server to ask), or `None`.
pub(crate) fn unicast_socket_opt() -> Rule<Text<SocketAddr>, Option<SocketAddr>> {
    Box::new(|given| {
        given
            .map(|val| {
                let a = val.v.0;
                if a.ip().is_multicast() || a.ip().is_unspecified() || a.port() == 0 {
                    Err(val.err("must be a unicast ADDR:PORT with a port > 0"))
                } else {
                    Ok(a)
                }
            })
            .transpose()
    })
}

/// An on/off switch, off unless given as on.
pub(crate) fn switch() -> Rule<bool, bool> {
    Box::new(|given| Ok(given.is_some_and(|val| val.v)))
}

/// A non-empty file name, or `None`.
pub(crate) fn file_opt() -> Rule<FileName, Option<PathBuf>> {
    Box::new(|given| {
        given
            .map(|val| {
                if val.v.0.as_os_str().is_empty() {
                    Err(val.err("empty file name"))
                } else {
                    Ok(val.v.0)
                }
            })
            .transpose()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli<T>(v: T, text: &str) -> Given<T> {
        Some(Val {
            v,
            from: Origin::Cli {
                flag: "--x".into(),
                text: text.into(),
            },
        })
    }

    #[test]
    fn ranges_and_defaults() {
        assert_eq!(int_or(1, 5, 3u8)(None).unwrap(), 3);
        assert_eq!(int_or(1, 5, 3u8)(cli(5, "5")).unwrap(), 5);
        let e = int_or(1, 5, 3u8)(cli(6, "6")).unwrap_err();
        assert_eq!(e.to_string(), "--x 6: must be in 1..=5");
        assert_eq!(int_opt::<u16>(1, 5)(None).unwrap(), None);
        assert_eq!(power_of_two_opt(16, 64)(cli(32, "32")).unwrap(), Some(32));
        assert!(power_of_two_opt(16, 64)(cli(48, "48")).is_err());
    }

    #[test]
    fn times_have_a_floor() {
        let ms = |v: f64| millis_or(100.0, 50.0)(cli(v, &v.to_string()));
        assert_eq!(ms(2.5).unwrap(), Duration::from_micros(2500));
        assert!(ms(0.0).unwrap_err().to_string().contains("> 0"));
        let e = ms(1e-300).unwrap_err().to_string();
        assert!(e.contains("at least 0.001"), "{e}");
        let s = |v: f64| seconds_or_off(0.01, 10.0)(cli(v, &v.to_string()));
        assert_eq!(s(0.0).unwrap(), None);
        assert_eq!(s(0.01).unwrap(), Some(Duration::from_millis(10)));
        assert!(s(1e-8).unwrap_err().to_string().contains("at least 0.01 s"));
    }

    #[test]
    fn shown_values_are_clipped() {
        let long = "9".repeat(5000);
        let v = cli(0i64, &long).unwrap();
        assert!(v.shown().chars().count() < 220, "{}", v.shown());
        let f = Val {
            v: long.clone(),
            from: Origin::File {
                place: "x.toml".into(),
                key: "k",
            },
        };
        assert!(f.shown().starts_with("x.toml: k = 999"));
        assert!(f.shown().ends_with('…'));
    }
}
