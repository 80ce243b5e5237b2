//! Turns the command line and the optional TOML file into an [`AppConfig`].
//! Each option's own layering (command line > `[[stream]]` > `[defaults]` >
//! built-in) and range check come from its declaration (`global.rs`,
//! `stream.rs`); what is here is what involves several options or a
//! stream's addresses: descriptors against the burst, slot-table sizing,
//! the output rewrite, and the cross-stream overlap checks. Every error
//! names where the value came from and the value itself.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use model::{Arbitrate, MacAddr, MergeMode, OutputSpec, PortAddr, SeqSpec};
use std::time::Duration;

use crate::addr::family;
use crate::cli::CliArgs;
use crate::error::ConfigError;
use crate::file;
use crate::forward_mode::ForwardMode;
use crate::global::{self, AppConfig, FileConfig};
use crate::limits::{max_restart_after, MIN_SLOTS};
use crate::overlap::leg_side;
use crate::overlap::{check_addresses, check_name, check_overlaps};
use crate::stream::{self, StreamConfig, StreamSettings};
use crate::text::{Group, LegText, ParseText};

/// The slot-table capacity of a stream: explicit (checked against the
/// window and `restart-after`) or the smallest power of two holding
/// `max_delay x max_rate` packets and four times `restart_after`.
fn slots_for(s: &stream::Values, shown: &stream::Shown, label: &str) -> Result<u32, ConfigError> {
    // With gap fill a range may be held max-delay, then gap-fill-timeout.
    let hold = s.max_delay
        + s.mold_request
            .map_or(Duration::ZERO, |_| s.gap_fill_timeout);
    let need = (hold.as_secs_f64() * f64::from(s.max_rate)).ceil().max(1.0) as u64;
    let limit = s.seq.max_slots();
    let max_delay_ms = hold.as_nanos() as f64 / 1e6;
    let window = format!(
        "a {max_delay_ms} ms window at {} pps needs {need} slots",
        s.max_rate
    );
    match (s.slots, &shown.slots) {
        (Some(slots), Some(given)) => {
            let err = |problem: String| ConfigError::new(format!("{given}: {problem}"));
            // Name the stream unless the value sits in that stream's own table.
            let whose = if given.starts_with(label) {
                String::new()
            } else {
                format!(" for {label}")
            };
            if slots > limit {
                return Err(err(format!(
                    "more than the {limit} slots that seq {} allows{whose}",
                    s.seq
                )));
            }
            if u64::from(slots) < need {
                return Err(err(format!(
                    "too small{whose}: {window} (raise slots, or lower max-delay or max-rate)"
                )));
            }
            if s.restart_after > max_restart_after(slots) {
                return Err(err(format!(
                    "too small{whose} for restart-after {}: a restart is proved within a quarter of the slots (raise slots, or lower restart-after)",
                    s.restart_after
                )));
            }
            Ok(slots)
        }
        _ => {
            let for_restart = 4 * u64::from(s.restart_after);
            let slots = need
                .max(for_restart)
                .next_power_of_two()
                .max(u64::from(MIN_SLOTS));
            if slots > u64::from(limit) {
                return Err(ConfigError::new(format!(
                    "{label}: {window}, more than the {limit} that seq {} allows (lower max-delay or max-rate)",
                    s.seq
                )));
            }
            Ok(slots as u32)
        }
    }
}

/// A stream before resolution: its addresses, overrides and a label for errors.
struct RawStream {
    name: Option<String>,
    legs: Vec<SocketAddr>,
    sources: Vec<Option<IpAddr>>,
    output: SocketAddr,
    overrides: Option<StreamSettings>,
    label: String,
    sdp: Option<crate::sdp::Sdp>,
}

/// Reads and parses an SDP file; `shown` names it in errors as
/// `FILE:LINE: reason`.
fn load_sdp(path: &Path, shown: &str) -> Result<crate::sdp::Sdp, ConfigError> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| {
            f.take(crate::sdp::MAX_SDP_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .map_err(|e| ConfigError::new(format!("{shown}: cannot read: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError::new(format!("{shown}: cannot read: not UTF-8 text")))?;
    crate::sdp::parse(&text).map_err(|e| {
        let place = if e.line == 0 {
            shown.to_string()
        } else {
            format!("{shown}:{}", e.line)
        };
        ConfigError::new(format!("{place}: {}", model::clip(&e.reason)))
    })
}

/// The legs (with sources) of an SDP.
fn sdp_legs(sdp: &crate::sdp::Sdp) -> (Vec<SocketAddr>, Vec<Option<IpAddr>>) {
    (
        sdp.legs.iter().map(|l| l.group).collect(),
        sdp.legs.iter().map(|l| l.source).collect(),
    )
}

/// Parses a `--stream LEG,LEG[,...]=OUT` value (a leg is
/// `GROUP:PORT[@SOURCE]`).
fn parse_cli_stream(spec: &str) -> Result<(Vec<LegText>, SocketAddr), ConfigError> {
    let shown = model::clip(spec);
    let err = |problem: String| ConfigError::new(format!("--stream '{shown}': {problem}"));
    let (legs, output) = match spec.split_once('=') {
        Some((legs, output)) if !output.contains('=') => (legs, output),
        _ => {
            return Err(err(
                "expected PRI_GROUP:PORT[@SOURCE],SEC_GROUP:PORT[@SOURCE]=OUT_GROUP:PORT"
                    .to_string(),
            ))
        }
    };
    let legs = legs
        .split(',')
        .map(|leg| LegText::parse_text(leg).map_err(err))
        .collect::<Result<Vec<_>, _>>()?;
    let output = Group::parse_text(output).map_err(err)?.0;
    Ok((legs, output))
}

/// Builds the [`AppConfig`] from the split command line.
pub(crate) fn resolve(eal_args: Vec<String>, cli: &CliArgs) -> Result<AppConfig, ConfigError> {
    let file = match &cli.config {
        Some(path) => file::load(path)?,
        None => FileConfig::default(),
    };
    let file_name = cli.config.as_deref().map_or_else(String::new, |p| {
        model::clip(&p.display().to_string()).into_owned()
    });
    resolve_with(eal_args, cli, &file, &file_name)
}

/// The streams of the file, then those of `--stream` and `--sdp` flags, not
/// yet resolved; SDP warnings go to `warnings`.
fn raw_streams(
    cli: &CliArgs,
    file: &FileConfig,
    f: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<RawStream>, ConfigError> {
    let mut raw = Vec::new();
    for (i, s) in file.streams.iter().enumerate() {
        let label = match &s.name {
            Some(name) => format!("{f} [[stream]] {:?}", model::clip(name)),
            None => format!("{f} [[stream]] #{}", i + 1),
        };
        let (legs, sources, sdp) = match &s.sdp {
            Some(path) => {
                if !s.legs.is_empty() {
                    return Err(ConfigError::new(format!(
                        "{label}: give legs or sdp, not both"
                    )));
                }
                // Relative to the configuration file's directory.
                let base = cli.config.as_deref().and_then(Path::parent);
                let full = base.map_or_else(|| path.clone(), |b| b.join(path));
                let shown = model::clip(&path.display().to_string()).into_owned();
                let sdp = load_sdp(&full, &shown)?;
                warnings.extend(
                    sdp.warnings
                        .iter()
                        .map(|w| format!("{label}: {shown}: {w}")),
                );
                let (l, s) = sdp_legs(&sdp);
                (l, s, Some(sdp))
            }
            None if s.legs.is_empty() => {
                return Err(ConfigError::new(format!(
                    "{label}: no legs (give legs = [\"GROUP:PORT\", ...] or sdp = \"FILE\")"
                )))
            }
            None => (
                s.legs.iter().map(|l| l.group).collect(),
                s.legs.iter().map(|l| l.source).collect(),
                None,
            ),
        };
        raw.push(RawStream {
            name: s.name.clone(),
            legs,
            sources,
            output: s.output.0 .0,
            overrides: Some(s.settings()),
            label,
            sdp,
        });
    }
    for spec in &cli.streams {
        let (legs, output) = parse_cli_stream(spec)?;
        raw.push(RawStream {
            name: None,
            sources: legs.iter().map(|l| l.source).collect(),
            legs: legs.iter().map(|l| l.group).collect(),
            output,
            overrides: None,
            label: format!("--stream '{}'", model::clip(spec)),
            sdp: None,
        });
    }
    for spec in &cli.sdps {
        let shown = model::clip(spec).into_owned();
        let (file, output) = spec
            .rsplit_once('=')
            .and_then(|(f, o)| Group::parse_text(o).ok().map(|g| (f, g.0)))
            .ok_or_else(|| {
                ConfigError::new(format!(
                    "--sdp '{shown}': expected FILE=OUT_GROUP:PORT (the output the legs merge to)"
                ))
            })?;
        let file_shown = model::clip(file).into_owned();
        let sdp = load_sdp(Path::new(file), &file_shown)?;
        let label = format!("--sdp '{shown}'");
        warnings.extend(sdp.warnings.iter().map(|w| format!("{label}: {w}")));
        let (legs, sources) = sdp_legs(&sdp);
        raw.push(RawStream {
            name: None,
            legs,
            sources,
            output,
            overrides: None,
            label,
            sdp: Some(sdp),
        });
    }
    Ok(raw)
}

/// The output header spec of a stream from its resolved options.
fn output_spec(
    s: &stream::Values,
    shown: &stream::Shown,
    output: SocketAddr,
    label: &str,
) -> Result<OutputSpec, ConfigError> {
    if let (Some(ip), Some(given)) = (s.out_src_ip, &shown.out_src_ip) {
        if ip.is_ipv4() != output.is_ipv4() {
            return Err(ConfigError::new(format!(
                "{given}: is {} but {label} is {}",
                family(ip),
                family(output.ip())
            )));
        }
    }
    Ok(OutputSpec {
        dst_ip: output.ip(),
        dst_port: output.port(),
        src_ip: s.out_src_ip,
        src_port: s.out_src_port,
        dst_mac: s.out_dst_mac.or_else(|| MacAddr::multicast(output.ip())),
        vlan: s.out_vlan,
        ttl: s.out_ttl,
        dscp: s.out_dscp,
    })
}

/// `--port-ip` values, else the file's `port_ip` list; one per port and family.
fn port_ips(cli: &CliArgs, file: &FileConfig, f: &str) -> Result<Vec<PortAddr>, ConfigError> {
    let mut out: Vec<(PortAddr, String)> = Vec::new();
    if cli.port_ips.is_empty() {
        for a in &file.port_ip {
            out.push((a.0, format!("{f}: port_ip = {}", a.0)));
        }
    } else {
        for text in &cli.port_ips {
            let a = PortAddr::parse_text(text)
                .map_err(|e| ConfigError::new(format!("--port-ip: {e}")))?;
            out.push((a, format!("--port-ip {}", model::clip(text))));
        }
    }
    for (i, (a, shown)) in out.iter().enumerate() {
        if let Some((b, _)) = out[..i]
            .iter()
            .find(|(b, _)| b.port == a.port && b.addr.is_ipv4() == a.addr.is_ipv4())
        {
            return Err(ConfigError::new(format!(
                "{shown}: port {} already has {} address {}",
                a.port,
                family(a.addr),
                b.addr
            )));
        }
    }
    Ok(out.into_iter().map(|(a, _)| a).collect())
}

/// A port's membership host sends from an address of each family it joins:
/// a source-specific leg needs its input port to have one (IGMPv3/MLDv2
/// INCLUDE is the only way to tell the network the source), and a port with
/// any `--port-ip` joins all its legs' groups, so it needs one per family.
fn check_port_ips(
    streams: &[StreamConfig],
    labels: &[String],
    port_ips: &[PortAddr],
    side_port: impl Fn(usize) -> u16,
) -> Result<(), ConfigError> {
    for (s, label) in streams.iter().zip(labels) {
        for (l, (leg, src)) in s.legs.iter().zip(&s.sources).enumerate() {
            let port = side_port(l);
            let has = |v4: bool| {
                port_ips
                    .iter()
                    .any(|a| a.port == port && a.addr.is_ipv4() == v4)
            };
            let joins = src.is_some() || port_ips.iter().any(|a| a.port == port);
            if joins && !has(leg.is_ipv4()) {
                let (proto, example) = if leg.is_ipv4() {
                    ("IGMP", "192.0.2.10/24")
                } else {
                    ("MLD", "fe80::10")
                };
                let why = match src {
                    Some(src) => format!("leg {leg}@{src} is source-specific"),
                    None => format!("leg {leg} is joined by port {port}'s membership host"),
                };
                return Err(ConfigError::new(format!(
                    "{label}: {why}, so input port {port} must send {proto} from an {} address: give --port-ip {port}={example} (or --no-membership)",
                    family(leg.ip())
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn resolve_with(
    eal_args: Vec<String>,
    cli: &CliArgs,
    file: &FileConfig,
    f: &str,
) -> Result<AppConfig, ConfigError> {
    let (g, g_shown) = global::resolve(&cli.global, &[(f, &file.settings())])?;
    for (n, shown) in [(g.rxd, &g_shown.rxd), (g.txd, &g_shown.txd)] {
        if n < g.burst {
            let shown = shown.clone().unwrap_or_else(|| format!("{n} (default)"));
            return Err(ConfigError::new(format!(
                "{shown}: fewer descriptors than the burst of {}",
                g.burst
            )));
        }
    }

    // Per-stream settings: validate the command line and [defaults] once even
    // if no stream uses them, so a bad value never goes unnoticed.
    let defaults_place = format!("{f} [defaults]");
    stream::resolve(&cli.stream, &[(&defaults_place, &file.defaults)])?;
    // A stream's mode: --forward-mode, else its table, else [defaults], else
    // the file's forward_mode.
    let cli_mode = match &cli.global.forward_mode {
        Some(_) => g.forward_mode.merge_mode(),
        None => None,
    };
    let file_mode = file.forward_mode.and_then(|m| m.0.merge_mode());

    let split_ports = g.primary_port != g.secondary_port;
    let mut warnings = Vec::new();
    let raw = raw_streams(cli, file, f, &mut warnings)?;
    let mut streams: Vec<StreamConfig> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let name = r.name.clone().unwrap_or_else(|| format!("stream{}", i + 1));
        check_name(&name, &r.label)?;
        let min_legs = if r.sdp.is_some() { 1 } else { usize::MAX };
        check_addresses(&r.legs, r.output, &r.label, split_ports, min_legs)?;
        let mut layers = Vec::new();
        if let Some(o) = &r.overrides {
            layers.push((r.label.as_str(), o));
        }
        layers.push((defaults_place.as_str(), &file.defaults));
        let (mut s, shown) = stream::resolve(&cli.stream, &layers)?;
        // A receiver class gives max-delay its value unless one is given.
        if let (Some(class), None) = (s.class, &shown.max_delay) {
            s.max_delay = class.max_delay();
        }
        if let (Some(server), Some(given)) = (s.mold_request, &shown.mold_request) {
            if r.legs
                .first()
                .is_some_and(|l| l.is_ipv4() != server.is_ipv4())
            {
                return Err(ConfigError::new(format!(
                    "{given}: the request server must be of the legs' IP family (its answers are framed like a leg's copy)"
                )));
            }
            if s.seq != SeqSpec::MoldUdp64 {
                return Err(ConfigError::new(format!(
                    "{given}: gap fill by re-request needs seq moldudp64 (the stream reads {})",
                    s.seq
                )));
            }
        }
        if s.arbitrate == Arbitrate::Messages && s.seq != SeqSpec::MoldUdp64 {
            let given = shown.arbitrate.as_deref().unwrap_or("arbitrate messages");
            return Err(ConfigError::new(format!(
                "{given}: message-level arbitration needs seq moldudp64 (the stream reads {})",
                s.seq
            )));
        }
        let slots = slots_for(&s, &shown, &r.label)?;
        let out = output_spec(&s, &shown, r.output, &r.label)?;
        let mode = cli_mode
            .or(s.mode)
            .or(file_mode)
            .unwrap_or(MergeMode::Primary);
        let extra = stream::Extra {
            name,
            legs: r.legs.clone(),
            sources: r.sources.clone(),
            sdp: r.sdp.clone(),
            out,
            mode,
            slots,
            primary_reorder: g.primary_reorder,
        };
        streams.push(StreamConfig::assemble(s, extra));
    }
    let labels: Vec<String> = raw.iter().map(|r| r.label.clone()).collect();
    check_overlaps(&streams, &labels, split_ports)?;
    if streams.is_empty() && g.forward_mode != ForwardMode::Io {
        return Err(ConfigError::new(format!(
            "--forward-mode {}: no stream configured (give --stream or --config FILE after `--`, or use --forward-mode io)",
            g.forward_mode
        )));
    }

    let port_ips = port_ips(cli, file, f)?;
    if !g.no_membership {
        let side_port = |leg: usize| match leg_side(leg, split_ports) {
            0 => g.primary_port,
            _ => g.secondary_port,
        };
        check_port_ips(&streams, &labels, &port_ips, side_port)?;
    }
    let extra = global::Extra {
        eal_args,
        streams,
        verify_udp_checksum: !g.no_udp_csum_check,
        config_file: cli.config.as_deref().map(Path::to_path_buf),
        port_ips,
        warnings,
    };
    Ok(AppConfig::assemble(g, extra))
}
