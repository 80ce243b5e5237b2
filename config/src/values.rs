//! Values with their origin (a flag, or a key in a file), so that any
//! refusal names where the value came from; plus the shared range checks and
//! the parsing of command-line text.

use std::fmt::Display;
use std::time::Duration;

use crate::error::ConfigError;
use crate::text::{ParseText, Text};

/// Where a value came from, to name it in an error.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// A command-line flag, e.g. `--burst`.
    Cli(&'static str),
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
    /// `--burst 0` or `x.toml: burst = 0`.
    pub(crate) fn shown(&self) -> String {
        match &self.from {
            Origin::Cli(flag) => format!("{flag} {}", self.v),
            Origin::File { place, key } => format!("{place}: {key} = {}", self.v),
        }
    }

    pub(crate) fn err(&self, problem: impl Display) -> ConfigError {
        ConfigError::new(format!("{}: {problem}", self.shown()))
    }
}

/// Picks the first value given: command line, then the file.
pub(crate) fn layer<T: Clone>(
    cli: &Option<T>,
    flag: &'static str,
    file: &Option<T>,
    place: &str,
    key: &'static str,
) -> Option<Val<T>> {
    if let Some(v) = cli {
        return Some(Val {
            v: v.clone(),
            from: Origin::Cli(flag),
        });
    }
    file.as_ref().map(|v| Val {
        v: v.clone(),
        from: Origin::File {
            place: place.to_string(),
            key,
        },
    })
}

/// An integer setting within `lo..=hi`, or `default`.
pub(crate) fn int<T: TryFrom<i64> + Copy>(
    val: Option<Val<i64>>,
    lo: i64,
    hi: i64,
    default: T,
) -> Result<T, ConfigError> {
    match val {
        None => Ok(default),
        Some(val) => {
            if val.v < lo || val.v > hi {
                return Err(val.err(format_args!("must be in {lo}..={hi}")));
            }
            T::try_from(val.v).map_err(|_| val.err(format_args!("must be in {lo}..={hi}")))
        }
    }
}

/// A time in milliseconds, > 0 and <= `max_ms`, or `default_ms`.
pub(crate) fn millis(
    val: &Option<Val<f64>>,
    max_ms: f64,
    default_ms: f64,
) -> Result<Duration, ConfigError> {
    let ms = match val {
        None => default_ms,
        Some(val) => {
            if !(val.v.is_finite() && val.v > 0.0 && val.v <= max_ms) {
                return Err(val.err(format_args!("must be a time in ms, > 0 and <= {max_ms}")));
            }
            val.v
        }
    };
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

/// A time in seconds where 0 means "off", or off when not given.
pub(crate) fn seconds_or_off(
    val: Option<Val<f64>>,
    max_s: f64,
) -> Result<Option<Duration>, ConfigError> {
    match val {
        None => Ok(None),
        Some(val) => {
            if !(val.v.is_finite() && val.v >= 0.0 && val.v <= max_s) {
                return Err(val.err(format_args!(
                    "must be a time in seconds, 0 (off) to {max_s}"
                )));
            }
            Ok((val.v > 0.0).then(|| Duration::from_secs_f64(val.v)))
        }
    }
}

pub(crate) fn cli_int(flag: &str, text: &Option<String>) -> Result<Option<i64>, ConfigError> {
    text.as_ref()
        .map(|t| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| ConfigError::new(format!("{flag} {t}: not an integer")))
        })
        .transpose()
}

pub(crate) fn cli_float(flag: &str, text: &Option<String>) -> Result<Option<f64>, ConfigError> {
    text.as_ref()
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| ConfigError::new(format!("{flag} {t}: not a number")))
        })
        .transpose()
}

pub(crate) fn cli_text<T: ParseText>(
    flag: &str,
    text: &Option<String>,
) -> Result<Option<Text<T>>, ConfigError> {
    text.as_ref()
        .map(|t| {
            T::parse_text(t)
                .map(Text)
                .map_err(|e| ConfigError::new(format!("{flag}: {e}")))
        })
        .transpose()
}
