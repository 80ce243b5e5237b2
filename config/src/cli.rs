//! The command line: splitting `[EAL options] -- [app options]` and the app
//! options themselves (clap), collected as text for `resolve` to check.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::error::ConfigError;
use crate::global::GlobalFlags;
use crate::limits::{MAX_LEGS, MIN_LEGS};
use crate::stream::{self, StreamFlags};

/// Program name used when argv is empty.
pub(crate) const PROGRAM: &str = "mcast-failover";

/// The text after the options list; the per-stream TOML keys come from
/// their declarations.
fn after_help() -> String {
    let mut keys = String::new();
    let mut line = String::from(" ");
    for key in stream::KEYS {
        if line.len() + key.len() + 2 > 78 {
            keys.push_str(line.trim_end());
            keys.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(key);
        line.push(',');
    }
    keys.push_str(line.trim_end_matches(','));
    format!(
        "\
Arguments before `--` go to DPDK's EAL untouched (e.g. -l 0-1 -a 0000:01:00.0
or --no-pci --vdev net_pcap0,rx_pcap=in.pcap); the options above go after it.
Without `--`, every argument goes to EAL, except that -h/--help and -V/--version
print this text and the version.

A packet belongs to a leg by the port it arrives on and its destination
group:port: the first leg of a stream (its primary) is expected on the primary
port, the other legs on the secondary port. --primary-port and --secondary-port
may be the same port when both legs arrive on one NIC.

Settings come from, in order of precedence: the command line, the stream's
[[stream]] table, the file's [defaults] table, the built-in defaults above.
In the TOML file keys are the flag names with `-` written `_`: global options
at top level, per-stream options in [defaults] or [[stream]] (which also holds
name, legs = [\"GROUP:PORT[@SRC]\" or {{ group = \"GROUP:PORT\", source = \"SRC\" }}, ...]
and output = \"GROUP:PORT\"). Per-stream keys:
{keys}
(On the command line, --forward-mode sets mode = \"primary\" or \"hitless\".)
See examples/*.toml.

Example:
  mcast-failover -l 0-1 -a 0000:01:00.0 -a 0000:01:00.1 -- \\
      --primary-port 0 --secondary-port 1 --output-port 0 \\
      --stream 239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000 --stats-period 1"
    )
}

/// The app options, as text; `resolve` parses and checks them so that file
/// and command-line values share one set of rules and messages. Besides
/// `--config` and `--stream`, the options come from their declarations.
#[derive(Debug, Default, Parser)]
#[command(
    name = PROGRAM,
    version,
    about = "Merge the primary and secondary copies of multicast streams into one seamless output (SMPTE ST 2022-7 / A-B line arbitration) on DPDK.",
    override_usage = "mcast-failover [EAL options] -- [options]",
    after_help = after_help(),
    color = clap::ColorChoice::Never,
    allow_negative_numbers = true,
    max_term_width = 100
)]
pub(crate) struct CliArgs {
    /// TOML file with ports, defaults and streams; flags override it [default: none]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[arg(
        long = "stream",
        value_name = "PRI_GROUP:PORT[@SRC],SEC_GROUP:PORT[@SRC]=OUT_GROUP:PORT",
        action = ArgAction::Append,
        help = format!("A stream: its legs ({MIN_LEGS}..={MAX_LEGS}, comma separated, primary first) = its output group; IPv6 as [ff3e::1]:5000; a leg written GROUP:PORT@SRC takes only packets from sender SRC (source-specific multicast; others are counted wrong_source); repeatable, added to the file's streams [default: none]")
    )]
    pub streams: Vec<String>,

    #[arg(
        long = "sdp",
        value_name = "FILE=OUT_GROUP:PORT",
        action = ArgAction::Append,
        help = "A stream whose legs come from an SDP file: the media an a=group:DUP names (RFC 7104, by a=mid) in its order, each leg's group from c=, port from m=, source from a=source-filter: incl (RFC 4570); IPv4 or IPv6; one media without DUP gives a one-leg stream (warned). =OUT_GROUP:PORT is the output; repeatable [default: none]"
    )]
    pub sdps: Vec<String>,

    #[arg(
        long = "port-ip",
        value_name = "PORT=ADDR[/PREFIX]",
        action = ArgAction::Append,
        help = "The address input port PORT sends IGMP (IPv4) or MLD (IPv6) membership reports from, e.g. 0=192.0.2.10/24 or 0=fe80::10; repeatable, one per port and family. A port given one joins every group its legs receive (IGMPv3/MLDv2, INCLUDE(source) for a GROUP:PORT@SRC leg); a source-specific leg needs one [default: none: the port joins nothing]"
    )]
    pub port_ips: Vec<String>,

    /// The per-stream options (`stream.rs`).
    #[command(flatten)]
    pub stream: StreamFlags,

    /// The global options (`global.rs`).
    #[command(flatten)]
    pub global: GlobalFlags,
}

/// What the command line asks for before any value is checked.
pub(crate) enum Request {
    Run {
        eal_args: Vec<String>,
        app: Box<CliArgs>,
    },
    Help(String),
    Version(String),
}

/// The full help text.
pub(crate) fn help_text() -> String {
    with_command(|command, _| command.render_long_help().to_string())
}

/// The version line.
pub(crate) fn version_text() -> String {
    format!("{PROGRAM} {}", env!("CARGO_PKG_VERSION"))
}

/// Runs `f` on the clap command, built (defaults propagated, arguments
/// checked) once per thread and reused, with the length of its longest
/// option name: building it walks every option and is most of a short
/// command line's parse cost, which matters to the config fuzz target
/// (millions of parses) and to nothing else.
fn with_command<T>(f: impl FnOnce(&mut clap::Command, usize) -> T) -> T {
    thread_local! {
        static BUILT: std::cell::RefCell<(clap::Command, usize)> = std::cell::RefCell::new({
            let mut command = CliArgs::command();
            command.build();
            let longest = command
                .get_arguments()
                .filter_map(|a| a.get_long())
                .map(str::len)
                .max()
                .unwrap_or(0);
            (command, longest)
        });
    }
    BUILT.with(|built| {
        let (command, longest) = &mut *built.borrow_mut();
        f(command, *longest)
    })
}

/// How much longer than the longest option name an unknown `--word` may be
/// and still get clap's "did you mean" search. That search is quadratic in
/// the word's length (Jaro similarity against every option), so a
/// kilobyte-long garbage flag cost milliseconds per parse; nothing that
/// long is a typo of an option, so it is refused without the search.
const TYPO_SLACK: usize = 8;

/// A `--name` or `--name=value` word whose name no option can be a typo of.
fn far_too_long_for_a_flag(word: &str, longest: usize) -> bool {
    word.strip_prefix("--")
        .map(|rest| rest.split('=').next().unwrap_or(rest))
        .is_some_and(|name| name.len() > longest + TYPO_SLACK)
}

/// Splits argv at the first `--` and parses the app options after it.
pub(crate) fn split_and_parse<I: IntoIterator<Item = String>>(
    argv: I,
) -> Result<Request, ConfigError> {
    let mut args = argv.into_iter();
    let program = args.next().unwrap_or_else(|| PROGRAM.to_string());
    let rest: Vec<String> = args.collect();
    let (eal, app): (Vec<String>, Vec<String>) = match rest.iter().position(|a| a == "--") {
        Some(at) => (rest[..at].to_vec(), rest[at + 1..].to_vec()),
        None => {
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Request::Help(help_text()));
            }
            if rest.iter().any(|a| a == "-V" || a == "--version") {
                return Ok(Request::Version(version_text()));
            }
            (rest, Vec::new())
        }
    };
    let argv = std::iter::once(program.clone()).chain(app);
    let parsed = with_command(|command, longest| {
        let argv: Vec<String> = argv.collect();
        match argv.iter().find(|w| far_too_long_for_a_flag(w, longest)) {
            Some(word) => Err(ConfigError::new(format!(
                "unexpected argument '{}': no option has a name that long (see --help)",
                model::clip(word)
            ))),
            None => Ok(command.try_get_matches_from_mut(argv)),
        }
    });
    let matches = match parsed? {
        Ok(matches) => matches,
        Err(e) => return clap_outcome(e),
    };
    let app = match CliArgs::from_arg_matches(&matches) {
        Ok(app) => app,
        Err(e) => return clap_outcome(e),
    };
    let mut eal_args = Vec::with_capacity(eal.len() + 1);
    eal_args.push(program);
    eal_args.extend(eal);
    Ok(Request::Run {
        eal_args,
        app: Box::new(app),
    })
}

/// A clap "error" is sometimes a request for help or the version.
fn clap_outcome(e: clap::Error) -> Result<Request, ConfigError> {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            Ok(Request::Help(help_text()))
        }
        ErrorKind::DisplayVersion => Ok(Request::Version(version_text())),
        _ => Err(ConfigError::new(one_line(&e.render().to_string()))),
    }
}

/// Keeps clap's first line (which quotes the bad argument) and its tip, if
/// any, dropping the usage block.
fn one_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("bad command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = model::clip(first);
    match lines.find(|l| l.starts_with("tip:")) {
        Some(tip) => format!("{first} ({}; see --help)", model::clip(tip)),
        None => format!("{first} (see --help)"),
    }
}
