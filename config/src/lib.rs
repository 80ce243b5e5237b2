//! Configuration of `mcast-failover`: a testpmd-style command line
//! (`mcast-failover [EAL options] -- [options]`) and an optional TOML file,
//! resolved into plain, validated data ([`AppConfig`]) with every default
//! filled in. Bad input of any kind becomes a one-line [`ConfigError`] that
//! names the offending value (the binary exits with status 2); nothing here
//! panics on user input, and nothing here depends on DPDK.
//!
//! Argument split: everything before the first `--` is passed to EAL
//! untouched (program name first); everything after it is ours. Without any
//! `--`, all arguments go to EAL as with testpmd, except that `-h`/`--help`
//! or `-V`/`--version` anywhere print our help or version.
//!
//! Precedence: command line > the stream's `[[stream]]` table > the file's
//! `[defaults]` table > built-in defaults ([`limits`]). `--stream` flags add
//! streams after the file's.
//!
//! TOML (`--config`, see `examples/*.toml`): keys are the flag names with
//! `-` written `_`. Global options are top-level keys; per-stream options
//! go in `[defaults]` or in a `[[stream]]` table, which also holds `name`
//! (optional), `legs` and `output`.
//!
//! Each option is declared once, with its flag, key, type, default, range
//! and help: the global ones in `global.rs` (fields of [`AppConfig`]), the
//! per-stream ones in `stream.rs` (fields of [`StreamConfig`]); see
//! `option.rs` for the mechanism. The types shared with the dataplane
//! ([`SeqSpec`], [`MergeMode`], [`VlanAction`], [`OutputSpec`], [`MacAddr`])
//! and their parsers come from the `model` crate.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod addr;
mod app;
mod cli;
mod clock;
mod error;
mod file;
mod forward_mode;
mod global;
pub mod limits;
mod option;
mod overlap;
mod resolve;
pub mod sdp;
mod skew_class;
mod stream;
mod text;
mod values;
mod worker_layout;

pub use app::Parsed;
pub use clock::ClockSource;
pub use error::ConfigError;
pub use forward_mode::ForwardMode;
pub use global::AppConfig;
pub use model::{Endian, FieldWidth, MacAddr, MergeMode, OutputSpec, Reorder, SeqSpec, VlanAction};
pub use skew_class::SkewClass;
pub use stream::StreamConfig;
pub use worker_layout::{Steer, WorkerLayout};

/// Parses a full argv (program name first) into what to do: run with a
/// validated configuration (reading the `--config` file if given), or print
/// help or the version.
///
/// ```
/// use config::{parse_args, Parsed};
///
/// let argv = ["mcast-failover", "-l", "0-1", "--no-pci", "--",
///             "--stream", "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000"];
/// let Ok(Parsed::Run(cfg)) = parse_args(argv.map(String::from)) else { panic!() };
/// assert_eq!(cfg.eal_args, ["mcast-failover", "-l", "0-1", "--no-pci"]);
/// assert_eq!(cfg.streams[0].slots, 512);
///
/// let bad = ["mcast-failover", "--", "--burst", "0"].map(String::from);
/// let err = parse_args(bad).unwrap_err();
/// assert_eq!(err.to_string(), "--burst 0: must be in 1..=512");
/// assert_eq!(err.exit_code(), 2);
/// ```
pub fn parse_args<I: IntoIterator<Item = String>>(argv: I) -> Result<Parsed, ConfigError> {
    match cli::split_and_parse(argv)? {
        cli::Request::Help(text) => Ok(Parsed::Help(text)),
        cli::Request::Version(text) => Ok(Parsed::Version(text)),
        cli::Request::Run { eal_args, app } => {
            resolve::resolve(eal_args, &app).map(|c| Parsed::Run(Box::new(c)))
        }
    }
}

/// [`parse_args`] with `toml` as the text of the `--config` file, named
/// `name` in messages (any `--config` in `argv` is ignored).
///
/// Why: the fuzz target of the whole resolver feeds millions of files, and
/// one temporary file per input would cost more than the parse; the checks
/// and messages are those of a real file.
pub fn parse_args_with_toml<I: IntoIterator<Item = String>>(
    argv: I,
    toml: &str,
    name: &str,
) -> Result<Parsed, ConfigError> {
    match cli::split_and_parse(argv)? {
        cli::Request::Help(text) => Ok(Parsed::Help(text)),
        cli::Request::Version(text) => Ok(Parsed::Version(text)),
        cli::Request::Run { eal_args, app } => {
            let file = file::parse(toml, name)?;
            resolve::resolve_with(eal_args, &app, &file, name).map(|c| Parsed::Run(Box::new(c)))
        }
    }
}

/// The `--help` text (also what `Parsed::Help` carries).
pub fn help_text() -> String {
    cli::help_text()
}
