//! The command line: splitting `[EAL options] -- [app options]` and the app
//! options themselves (clap), collected as text for `resolve` to check.

use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::error::ConfigError;
use crate::limits::*;

/// Program name used when argv is empty.
pub(crate) const PROGRAM: &str = "mcast-failover";

const AFTER_HELP: &str = "\
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
at top level, per-stream options (seq, mode, max_delay, leg_timeout,
restart_after, slots, max_rate, out_*, renumber) in [defaults] or [[stream]]
with name, legs = [\"GROUP:PORT\", ...] and output = \"GROUP:PORT\".
See examples/*.toml.

Example:
  mcast-failover -l 0-1 -a 0000:01:00.0 -a 0000:01:00.1 -- \\
      --primary-port 0 --secondary-port 1 --output-port 0 \\
      --stream 239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000 --stats-period 1";

/// The app options, as text; `resolve` parses and checks them so that file
/// and command-line values share one set of rules and messages.
#[derive(Debug, Default, Parser)]
#[command(
    name = PROGRAM,
    version,
    about = "Merge the primary and secondary copies of multicast streams into one seamless output (SMPTE ST 2022-7 / A-B line arbitration) on DPDK.",
    override_usage = "mcast-failover [EAL options] -- [options]",
    after_help = AFTER_HELP,
    color = clap::ColorChoice::Never,
    allow_negative_numbers = true,
    max_term_width = 100
)]
pub(crate) struct CliArgs {
    /// TOML file with ports, defaults and streams; flags override it [default: none]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[arg(long, value_name = "ID", help = format!("DPDK port id receiving the primary leg [default: {DEFAULT_PRIMARY_PORT}]"))]
    pub primary_port: Option<String>,

    #[arg(long, value_name = "ID", help = format!("DPDK port id receiving the secondary leg [default: {DEFAULT_SECONDARY_PORT}]"))]
    pub secondary_port: Option<String>,

    #[arg(long, value_name = "ID", help = format!("DPDK port id the merged streams are sent on [default: {DEFAULT_OUTPUT_PORT}]"))]
    pub output_port: Option<String>,

    #[arg(
        long = "stream",
        value_name = "PRI_GROUP:PORT,SEC_GROUP:PORT=OUT_GROUP:PORT",
        action = ArgAction::Append,
        help = format!("A stream: its legs ({MIN_LEGS}..={MAX_LEGS}, comma separated, primary first) = its output group; IPv6 as [ff3e::1]:5000; repeatable, added to the file's streams [default: none]")
    )]
    pub streams: Vec<String>,

    /// Source IP written on the output [default: that of the stream's first sent packet, so the output stays one flow across failovers]
    #[arg(long, value_name = "IP")]
    pub out_src_ip: Option<String>,

    /// UDP source port written on the output, 1..=65535 [default: that of the stream's first sent packet, so the output stays one flow across failovers]
    #[arg(long, value_name = "N")]
    pub out_src_port: Option<String>,

    /// Destination MAC of the output [default: the group's multicast MAC]
    #[arg(long, value_name = "MAC")]
    pub out_dst_mac: Option<String>,

    /// IPv4 TTL / IPv6 hop limit written on the output, 1..=255 [default: keep the chosen copy's]
    #[arg(long, value_name = "N")]
    pub out_ttl: Option<String>,

    /// DSCP written on the output, 0..=63 [default: keep the chosen copy's]
    #[arg(long, value_name = "N")]
    pub out_dscp: Option<String>,

    /// 802.1Q tag of the output: a VLAN id 1..=4094, strip, or keep [default: keep]
    #[arg(long, value_name = "ID|strip|keep")]
    pub out_vlan: Option<String>,

    /// Rewrite sequence numbers (and RTP SSRC) so the output stays continuous across gaps and source restarts [default: off]
    #[arg(long)]
    pub renumber: bool,

    /// primary: prefer the first leg; hitless: first good copy wins (ST 2022-7); io: forward the primary port to the output port unchanged [default: primary]
    #[arg(long, value_name = "primary|hitless|io")]
    pub forward_mode: Option<String>,

    #[arg(long, value_name = "MS", help = format!("Merge window in ms (fractions allowed): the longest a packet waits for the preferred leg's copy, or a gap for any copy, >0 and <={MAX_MAX_DELAY_MS} [default: {DEFAULT_MAX_DELAY_MS}]"))]
    pub max_delay: Option<String>,

    #[arg(long, value_name = "MS", help = format!("A leg silent this long (ms) is declared down until its next good packet, <={MAX_LEG_TIMEOUT_MS} [default: {DEFAULT_LEG_TIMEOUT_MS}]"))]
    pub leg_timeout: Option<String>,

    #[arg(long, value_name = "K", help = format!("Out-of-window packets in a row that prove a source restart (then resynchronise), 1..={MAX_RESTART_AFTER} [default: {DEFAULT_RESTART_AFTER}]"))]
    pub restart_after: Option<String>,

    #[arg(long, value_name = "N", help = format!("Slot-table capacity per leg: a power of two in {MIN_SLOTS}..={MAX_SLOTS} (rtp: <={MAX_RTP_SLOTS}) that holds max-delay x max-rate packets [default: auto, the smallest such power of two, at least {MIN_SLOTS}]"))]
    pub slots: Option<String>,

    #[arg(long, value_name = "PPS", help = format!("Highest packet rate of one leg (MoldUDP64: messages/s); sizes the slot table [default: {DEFAULT_MAX_RATE_PPS}]"))]
    pub max_rate: Option<String>,

    /// Sequence number: rtp, moldudp64, or a UDP-payload field u32be@OFF, u32le@OFF, u64be@OFF, u64le@OFF [default: rtp]
    #[arg(long, value_name = "SPEC")]
    pub seq: Option<String>,

    #[arg(long, value_name = "N", help = format!("Worker lcores: 1 = rx and tx on one lcore, more = rx and tx lcores, 1..={MAX_NB_CORES} [default: {DEFAULT_NB_CORES}]"))]
    pub nb_cores: Option<String>,

    #[arg(long, value_name = "N", help = format!("Packets per rx/tx burst, 1..={MAX_BURST} [default: {DEFAULT_BURST}]"))]
    pub burst: Option<String>,

    #[arg(long, value_name = "N", help = format!("Prefetch the packet data this many packets ahead in the rx loop, 0 = off, 0..={MAX_RX_PREFETCH} [default: {DEFAULT_RX_PREFETCH}]"))]
    pub rx_prefetch: Option<String>,

    #[arg(long, value_name = "N", help = format!("Primary mode: give up waiting for the primary's copy of a packet once the primary has delivered more than N later packets, and send the secondary's copy at once (lower latency on primary loss; a primary reordered deeper than N is covered by the secondary), 0..={MAX_PRIMARY_REORDER} [default: off, wait --max-delay]"))]
    pub primary_reorder: Option<String>,

    #[arg(long, value_name = "N", help = format!("rx descriptors per queue, {MIN_DESC}..={MAX_DESC}, >= burst [default: {DEFAULT_RXD}]"))]
    pub rxd: Option<String>,

    #[arg(long, value_name = "N", help = format!("tx descriptors per queue, {MIN_DESC}..={MAX_DESC}, >= burst [default: {DEFAULT_TXD}]"))]
    pub txd: Option<String>,

    #[arg(long, value_name = "N", help = format!("Mbufs in the pool, {MIN_TOTAL_NUM_MBUFS}..={MAX_TOTAL_NUM_MBUFS} [default: auto, from descriptors, slots and streams]"))]
    pub total_num_mbufs: Option<String>,

    /// Print stats every S seconds (fractions allowed); 0 = off [default: 0]
    #[arg(long, value_name = "S")]
    pub stats_period: Option<String>,

    /// Write stats as JSON to FILE each period and at exit [default: none]
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// Stop after S seconds; 0 = run until SIGINT/SIGTERM [default: 0]
    #[arg(long, value_name = "S")]
    pub duration: Option<String>,

    /// Trust input UDP checksums instead of verifying them in software [default: verify]
    #[arg(long)]
    pub no_udp_csum_check: bool,
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
    CliArgs::command().render_long_help().to_string()
}

/// The version line.
pub(crate) fn version_text() -> String {
    format!("{PROGRAM} {}", env!("CARGO_PKG_VERSION"))
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
    let matches = match CliArgs::command()
        .try_get_matches_from(std::iter::once(program.clone()).chain(app))
    {
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
    match lines.find(|l| l.starts_with("tip:")) {
        Some(tip) => format!("{first} ({tip}; see --help)"),
        None => format!("{first} (see --help)"),
    }
}
