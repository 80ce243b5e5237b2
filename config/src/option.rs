//! The option machinery: each option is declared once (in `global.rs` or
//! `stream.rs`) and the [`options!`] macro derives from that one line its
//! command-line flag (with help), its TOML key, its field in the resolved
//! configuration, and its resolution — command line, then each file layer
//! in order, then the built-in default — followed by its validation rule.
//!
//! The flag is the field name with `_` written `-` (`max_delay` ->
//! `--max-delay`), the TOML key is the field name itself. A value's
//! [`Kind`] says how it is written (integer, number, parsed text, file
//! name, switch); its rule (in `values.rs`) says what is accepted and what
//! the default is.

use std::ffi::OsString;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;

use clap::builder::StyledStr;
use clap::{value_parser, Arg, ArgAction, ArgMatches};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::ConfigError;
use crate::text::{ParseText, Text};
use crate::values::{Origin, Val};

/// How an option is written: its command-line shape and its TOML value.
pub(crate) trait Kind {
    /// The value as TOML holds it (and as command-line text parses to).
    type Raw: Clone + fmt::Display + DeserializeOwned;

    /// Shapes the clap argument; `None` for an option with no flag.
    fn arg(arg: Arg, value_name: &'static str) -> Option<Arg> {
        Some(takes_value(arg, value_name).value_parser(value_parser!(String)))
    }

    /// The command-line text of the option, if given.
    fn take(matches: &ArgMatches, id: &str) -> Option<OsString> {
        matches.get_one::<String>(id).map(OsString::from)
    }

    /// Parses command-line text; the error names `flag` and the text.
    fn from_cli(flag: &str, text: &OsString) -> Result<Self::Raw, ConfigError>;
}

/// An argument that takes one value, shown as `value_name` in the help.
fn takes_value(arg: Arg, value_name: &'static str) -> Arg {
    arg.value_name(value_name).action(ArgAction::Set)
}

/// The command-line text, which every kind but [`FilePath`] got as UTF-8.
fn utf8(text: &OsString) -> std::borrow::Cow<'_, str> {
    text.to_string_lossy()
}

/// Command-line text as a number (surrounding blanks allowed); `problem`
/// says what it is not.
fn number<T: std::str::FromStr>(
    flag: &str,
    text: &OsString,
    problem: &str,
) -> Result<T, ConfigError> {
    let t = utf8(text);
    t.trim()
        .parse()
        .map_err(|_| ConfigError::new(format!("{flag} {}: {problem}", model::clip(&t))))
}

/// An integer (range checked by the rule).
pub(crate) struct Int;

impl Kind for Int {
    type Raw = i64;

    fn from_cli(flag: &str, text: &OsString) -> Result<i64, ConfigError> {
        number(flag, text, "not an integer")
    }
}

/// A number, fractions allowed.
pub(crate) struct Float;

impl Kind for Float {
    type Raw = f64;

    fn from_cli(flag: &str, text: &OsString) -> Result<f64, ConfigError> {
        number(flag, text, "not a number")
    }
}

/// A value parsed from text by its type's one parser ([`ParseText`]).
pub(crate) struct Parsed<T>(PhantomData<T>);

impl<T: ParseText + Clone + fmt::Display> Kind for Parsed<T> {
    type Raw = Text<T>;

    fn from_cli(flag: &str, text: &OsString) -> Result<Text<T>, ConfigError> {
        T::parse_text(&utf8(text))
            .map(Text)
            .map_err(|e| ConfigError::new(format!("{flag}: {e}")))
    }
}

/// A file name (any bytes on the command line; clap refuses an empty one).
pub(crate) struct FilePath;

impl Kind for FilePath {
    type Raw = FileName;

    fn arg(arg: Arg, value_name: &'static str) -> Option<Arg> {
        Some(takes_value(arg, value_name).value_parser(value_parser!(PathBuf)))
    }

    fn take(matches: &ArgMatches, id: &str) -> Option<OsString> {
        matches
            .get_one::<PathBuf>(id)
            .map(|p| p.clone().into_os_string())
    }

    fn from_cli(_flag: &str, text: &OsString) -> Result<FileName, ConfigError> {
        Ok(FileName(PathBuf::from(text)))
    }
}

/// A file name as given, shown quoted in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileName(pub PathBuf);

impl<'de> Deserialize<'de> for FileName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PathBuf::deserialize(deserializer).map(FileName)
    }
}

impl fmt::Display for FileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.0.display())
    }
}

/// An on/off flag: given = on (`--renumber`; TOML `renumber = true`).
pub(crate) struct Switch;

impl Kind for Switch {
    type Raw = bool;

    fn arg(arg: Arg, _value_name: &'static str) -> Option<Arg> {
        Some(arg.action(ArgAction::SetTrue))
    }

    fn take(matches: &ArgMatches, id: &str) -> Option<OsString> {
        matches.get_flag(id).then(|| OsString::from("true"))
    }

    fn from_cli(_flag: &str, _text: &OsString) -> Result<bool, ConfigError> {
        Ok(true)
    }
}

/// A TOML key with no command-line flag of its own (the per-stream `mode`,
/// which the command line sets through `--forward-mode`).
pub(crate) struct FileOnly<K>(PhantomData<K>);

impl<K: Kind> Kind for FileOnly<K> {
    type Raw = K::Raw;

    fn arg(_arg: Arg, _value_name: &'static str) -> Option<Arg> {
        None
    }

    fn take(_matches: &ArgMatches, _id: &str) -> Option<OsString> {
        None
    }

    fn from_cli(flag: &str, text: &OsString) -> Result<K::Raw, ConfigError> {
        K::from_cli(flag, text)
    }
}

/// The command-line flag of option `key`: `max_delay` -> `--max-delay`.
pub(crate) fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// The clap argument of option `key`, before its kind shapes it.
pub(crate) fn option_arg(key: &'static str, help: impl Into<StyledStr>) -> Arg {
    Arg::new(key).long(key.replace('_', "-")).help(help.into())
}

/// The first place that gives option `key`: the command line (`cli`, its
/// text), else the first file layer (`files`: place for errors, settings)
/// that has it. A command-line value that does not parse is an error here.
pub(crate) fn pick<K: Kind, R>(
    cli: Option<&OsString>,
    key: &'static str,
    files: &[(&str, &R)],
    field: impl Fn(&R) -> &Option<K::Raw>,
) -> Result<Option<Val<K::Raw>>, ConfigError> {
    if let Some(text) = cli {
        let flag = flag_name(key);
        let v = K::from_cli(&flag, text)?;
        return Ok(Some(Val {
            v,
            from: Origin::Cli {
                flag,
                text: utf8(text).into_owned(),
            },
        }));
    }
    Ok(files.iter().find_map(|(place, settings)| {
        field(settings).as_ref().map(|v| Val {
            v: v.clone(),
            from: Origin::File {
                place: (*place).to_string(),
                key,
            },
        })
    }))
}

/// Declares a group of options (global or per-stream) once and derives:
///
/// * `$Flags`: the command-line flags (clap, flattened into the CLI);
/// * `$Settings`: the same options as one TOML table gives them (all
///   optional), and `$File`: that table with extra fields (e.g. `legs`);
/// * `$Out`: the public resolved struct, holding the extra fields plus one
///   field per `public` option; `internal` options are resolved the same
///   way but only feed hand-written code in `resolve.rs`;
/// * `Extra`: the extra fields of `$Out`, filled by hand-written code;
/// * `Values`/`Shown`/`resolve`: the resolution of every option (command
///   line, then each file layer, then its rule's default) and, for
///   cross-checks, where each given value came from;
/// * `KEYS`: the TOML keys, for the help text.
///
/// An option line is `name: Type as Kind = rule; "VALUE_NAME", help;`.
macro_rules! options {
    (
        $(#[$flags_meta:meta])* flags $Flags:ident;
        $(#[$settings_meta:meta])* settings $Settings:ident;
        $(#[$file_meta:meta])*
        file $File:ident { $($(#[$fx_meta:meta])* $fx:ident : $fx_ty:ty),* $(,)? }
        $(#[$out_meta:meta])*
        output $Out:ident { $($(#[$ox_meta:meta])* $ox:ident : $ox_ty:ty),* $(,)? }
        public {
            $($(#[$p_meta:meta])* $p:ident : $p_ty:ty as $p_kind:ty = $p_rule:expr;
                $p_vn:literal, $p_help:expr;)*
        }
        internal {
            $($(#[$i_meta:meta])* $i:ident : $i_ty:ty as $i_kind:ty = $i_rule:expr;
                $i_vn:literal, $i_help:expr;)*
        }
    ) => {
        $(#[$flags_meta])*
        #[derive(Debug, Default)]
        pub(crate) struct $Flags {
            $(pub(crate) $p: Option<std::ffi::OsString>,)*
            $(pub(crate) $i: Option<std::ffi::OsString>,)*
        }

        impl clap::FromArgMatches for $Flags {
            fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
                Ok($Flags {
                    $($p: <$p_kind as $crate::option::Kind>::take(m, stringify!($p)),)*
                    $($i: <$i_kind as $crate::option::Kind>::take(m, stringify!($i)),)*
                })
            }

            fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
                *self = Self::from_arg_matches(m)?;
                Ok(())
            }
        }

        impl clap::Args for $Flags {
            fn augment_args(cmd: clap::Command) -> clap::Command {
                let mut cmd = cmd;
                $(
                    let arg = $crate::option::option_arg(stringify!($p), $p_help);
                    if let Some(arg) = <$p_kind as $crate::option::Kind>::arg(arg, $p_vn) {
                        cmd = cmd.arg(arg);
                    }
                )*
                $(
                    let arg = $crate::option::option_arg(stringify!($i), $i_help);
                    if let Some(arg) = <$i_kind as $crate::option::Kind>::arg(arg, $i_vn) {
                        cmd = cmd.arg(arg);
                    }
                )*
                cmd
            }

            fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
                Self::augment_args(cmd)
            }
        }

        $(#[$settings_meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $Settings {
            $(pub(crate) $p: Option<<$p_kind as $crate::option::Kind>::Raw>,)*
            $(pub(crate) $i: Option<<$i_kind as $crate::option::Kind>::Raw>,)*
        }

        $(#[$file_meta])*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $File {
            $($(#[$fx_meta])* pub(crate) $fx: $fx_ty,)*
            $(pub(crate) $p: Option<<$p_kind as $crate::option::Kind>::Raw>,)*
            $(pub(crate) $i: Option<<$i_kind as $crate::option::Kind>::Raw>,)*
        }

        impl $File {
            /// The options this table gives.
            pub(crate) fn settings(&self) -> $Settings {
                $Settings {
                    $($p: self.$p.clone(),)*
                    $($i: self.$i.clone(),)*
                }
            }
        }

        $(#[$out_meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $Out {
            $($(#[$ox_meta])* pub $ox: $ox_ty,)*
            $($(#[$p_meta])* pub $p: $p_ty,)*
        }

        /// The fields of the resolved struct that hand-written code fills.
        pub(crate) struct Extra {
            $(pub(crate) $ox: $ox_ty,)*
        }

        impl $Out {
            /// The resolved struct: the public options' values plus the
            /// hand-filled fields.
            pub(crate) fn assemble(values: Values, extra: Extra) -> $Out {
                $Out {
                    $($ox: extra.$ox,)*
                    $($p: values.$p,)*
                }
            }
        }

        /// Every option's validated value (default filled in).
        pub(crate) struct Values {
            $(pub(crate) $p: $p_ty,)*
            $(pub(crate) $i: $i_ty,)*
        }

        /// Where each given option came from, as errors show it (`--burst
        /// 0`, `x.toml: burst = 0`); `None` = the default.
        #[allow(dead_code)]
        pub(crate) struct Shown {
            $(pub(crate) $p: Option<String>,)*
            $(pub(crate) $i: Option<String>,)*
        }

        /// The TOML keys of this group, in declaration order.
        #[allow(dead_code)]
        pub(crate) const KEYS: &[&str] = &[$(stringify!($p),)* $(stringify!($i),)*];

        /// Resolves every option: the command line, else the first of
        /// `files` that gives it, else the default; then its rule.
        pub(crate) fn resolve(
            cli: &$Flags,
            files: &[(&str, &$Settings)],
        ) -> Result<(Values, Shown), $crate::error::ConfigError> {
            $(
                let $p = $crate::option::pick::<$p_kind, _>(
                    cli.$p.as_ref(), stringify!($p), files, |s| &s.$p)?;
            )*
            $(
                let $i = $crate::option::pick::<$i_kind, _>(
                    cli.$i.as_ref(), stringify!($i), files, |s| &s.$i)?;
            )*
            let shown = Shown {
                $($p: $p.as_ref().map($crate::values::Val::shown),)*
                $($i: $i.as_ref().map($crate::values::Val::shown),)*
            };
            let values = Values {
                $($p: ($p_rule)($p)?,)*
                $($i: ($i_rule)($i)?,)*
            };
            Ok((values, shown))
        }
    };
}

pub(crate) use options;
