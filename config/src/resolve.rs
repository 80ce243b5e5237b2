//! Turns the command line and the optional TOML file into an [`AppConfig`]:
//! layering (command line > `[[stream]]` > `[defaults]` > built-in), range
//! checks, slot-table sizing and the cross-stream overlap checks. Every error
//! names where the value came from and the value itself.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::addr::{family, MacAddr};
use crate::app::{AppConfig, OutputOptions, StreamConfig};
use crate::cli::CliArgs;
use crate::error::ConfigError;
use crate::file::{self, FileConfig, StreamSettings};
use crate::limits::*;
use crate::modes::{ForwardMode, MergeMode, VlanMode};
use crate::overlap::{check_addresses, check_name, check_overlaps};
use crate::seq_format::SeqFormat;
use crate::text::{Group, ParseText, Text};
use crate::values::{
    cli_float, cli_int, cli_text, int, layer, millis, seconds_or_off, Origin, Val,
};

/// Global (not per-stream) settings as given on the command line.
#[derive(Default)]
struct CliGlobals {
    primary_port: Option<i64>,
    secondary_port: Option<i64>,
    output_port: Option<i64>,
    forward_mode: Option<Text<ForwardMode>>,
    nb_cores: Option<i64>,
    burst: Option<i64>,
    rx_prefetch: Option<i64>,
    primary_reorder: Option<i64>,
    rxd: Option<i64>,
    txd: Option<i64>,
    total_num_mbufs: Option<i64>,
    stats_period: Option<f64>,
    stats_json: Option<PathBuf>,
    duration: Option<f64>,
    no_udp_csum_check: Option<bool>,
}

fn cli_globals(cli: &CliArgs) -> Result<CliGlobals, ConfigError> {
    Ok(CliGlobals {
        primary_port: cli_int("--primary-port", &cli.primary_port)?,
        secondary_port: cli_int("--secondary-port", &cli.secondary_port)?,
        output_port: cli_int("--output-port", &cli.output_port)?,
        forward_mode: cli_text("--forward-mode", &cli.forward_mode)?,
        nb_cores: cli_int("--nb-cores", &cli.nb_cores)?,
        burst: cli_int("--burst", &cli.burst)?,
        rx_prefetch: cli_int("--rx-prefetch", &cli.rx_prefetch)?,
        primary_reorder: cli_int("--primary-reorder", &cli.primary_reorder)?,
        rxd: cli_int("--rxd", &cli.rxd)?,
        txd: cli_int("--txd", &cli.txd)?,
        total_num_mbufs: cli_int("--total-num-mbufs", &cli.total_num_mbufs)?,
        stats_period: cli_float("--stats-period", &cli.stats_period)?,
        stats_json: cli.stats_json.clone(),
        duration: cli_float("--duration", &cli.duration)?,
        no_udp_csum_check: cli.no_udp_csum_check.then_some(true),
    })
}

/// Per-stream settings as given on the command line (`mode` comes from
/// `--forward-mode`).
fn cli_stream_settings(
    cli: &CliArgs,
    forward_mode: Option<ForwardMode>,
) -> Result<StreamSettings, ConfigError> {
    Ok(StreamSettings {
        seq: cli_text("--seq", &cli.seq)?,
        mode: forward_mode.and_then(|m| m.merge_mode()).map(Text),
        max_delay: cli_float("--max-delay", &cli.max_delay)?,
        leg_timeout: cli_float("--leg-timeout", &cli.leg_timeout)?,
        restart_after: cli_int("--restart-after", &cli.restart_after)?,
        slots: cli_int("--slots", &cli.slots)?,
        max_rate: cli_int("--max-rate", &cli.max_rate)?,
        out_src_ip: cli_text("--out-src-ip", &cli.out_src_ip)?,
        out_src_port: cli_int("--out-src-port", &cli.out_src_port)?,
        out_dst_mac: cli_text("--out-dst-mac", &cli.out_dst_mac)?,
        out_ttl: cli_int("--out-ttl", &cli.out_ttl)?,
        out_dscp: cli_int("--out-dscp", &cli.out_dscp)?,
        out_vlan: cli_text("--out-vlan", &cli.out_vlan)?,
        renumber: cli.renumber.then_some(true),
    })
}

/// The per-stream layers, most specific first after the command line.
struct Layers<'a> {
    cli: &'a StreamSettings,
    file: Vec<(&'a StreamSettings, String)>,
}

impl Layers<'_> {
    fn get<T: Clone>(
        &self,
        flag: &'static str,
        key: &'static str,
        field: impl Fn(&StreamSettings) -> &Option<T>,
    ) -> Option<Val<T>> {
        if let Some(v) = field(self.cli) {
            return Some(Val {
                v: v.clone(),
                from: Origin::Cli(flag),
            });
        }
        self.file.iter().find_map(|(settings, place)| {
            field(settings).as_ref().map(|v| Val {
                v: v.clone(),
                from: Origin::File {
                    place: place.clone(),
                    key,
                },
            })
        })
    }
}

/// Per-stream settings after layering and range checks (not yet tied to a
/// stream's addresses).
struct Settings {
    seq: SeqFormat,
    mode: Option<MergeMode>,
    max_delay: Duration,
    max_delay_ms: f64,
    leg_timeout: Duration,
    restart_after: u32,
    slots: Option<Val<i64>>,
    max_rate: u32,
    src_ip: Option<Val<IpAddr>>,
    src_port: Option<u16>,
    dst_mac: Option<MacAddr>,
    ttl: Option<u8>,
    dscp: Option<u8>,
    vlan: VlanMode,
    renumber: bool,
}

fn settings(layers: &Layers<'_>) -> Result<Settings, ConfigError> {
    let seq = layers
        .get("--seq", "seq", |s| &s.seq)
        .map_or(SeqFormat::Rtp, |v| v.v.0);
    let mode = layers
        .get("--forward-mode", "mode", |s| &s.mode)
        .map(|v| v.v.0);
    let max_delay_given = layers.get("--max-delay", "max_delay", |s| &s.max_delay);
    let max_delay = millis(&max_delay_given, MAX_MAX_DELAY_MS, DEFAULT_MAX_DELAY_MS)?;
    let max_delay_ms = max_delay_given.map_or(DEFAULT_MAX_DELAY_MS, |v| v.v);
    let leg_timeout = millis(
        &layers.get("--leg-timeout", "leg_timeout", |s| &s.leg_timeout),
        MAX_LEG_TIMEOUT_MS,
        DEFAULT_LEG_TIMEOUT_MS,
    )?;
    let restart_after = int(
        layers.get("--restart-after", "restart_after", |s| &s.restart_after),
        1,
        MAX_RESTART_AFTER.into(),
        DEFAULT_RESTART_AFTER,
    )?;
    let slots = layers.get("--slots", "slots", |s| &s.slots);
    if let Some(val) = &slots {
        let ok = val.v >= MIN_SLOTS.into()
            && val.v <= MAX_SLOTS.into()
            && (val.v as u64).is_power_of_two();
        if !ok {
            return Err(val.err(format_args!(
                "must be a power of two in {MIN_SLOTS}..={MAX_SLOTS}"
            )));
        }
    }
    let max_rate = int(
        layers.get("--max-rate", "max_rate", |s| &s.max_rate),
        1,
        MAX_MAX_RATE_PPS.into(),
        DEFAULT_MAX_RATE_PPS,
    )?;
    let src_ip = layers
        .get("--out-src-ip", "out_src_ip", |s| &s.out_src_ip)
        .map(|v| Val {
            v: v.v.0,
            from: v.from,
        });
    if let Some(ip) = &src_ip {
        if ip.v.is_multicast() || ip.v.is_unspecified() {
            return Err(ip.err("a source address must be a unicast address"));
        }
    }
    let src_port = int(
        layers.get("--out-src-port", "out_src_port", |s| &s.out_src_port),
        1,
        65_535,
        0u16,
    )?;
    let ttl = int(
        layers.get("--out-ttl", "out_ttl", |s| &s.out_ttl),
        1,
        255,
        0u8,
    )?;
    let dscp_given = layers.get("--out-dscp", "out_dscp", |s| &s.out_dscp);
    let dscp_set = dscp_given.is_some();
    let dscp = int(dscp_given, 0, 63, 0u8)?;
    Ok(Settings {
        seq,
        mode,
        max_delay,
        max_delay_ms,
        leg_timeout,
        restart_after,
        slots,
        max_rate,
        src_ip,
        src_port: (src_port != 0).then_some(src_port),
        dst_mac: layers
            .get("--out-dst-mac", "out_dst_mac", |s| &s.out_dst_mac)
            .map(|v| v.v.0),
        ttl: (ttl != 0).then_some(ttl),
        dscp: dscp_set.then_some(dscp),
        vlan: layers
            .get("--out-vlan", "out_vlan", |s| &s.out_vlan)
            .map_or(VlanMode::Keep, |v| v.v.0),
        renumber: layers
            .get("--renumber", "renumber", |s| &s.renumber)
            .is_some_and(|v| v.v),
    })
}

/// The slot-table capacity of a stream: explicit (checked against the
/// window) or the smallest power of two holding `max_delay x max_rate`.
fn slots_for(s: &Settings, label: &str) -> Result<u32, ConfigError> {
    let need = (s.max_delay.as_secs_f64() * f64::from(s.max_rate))
        .ceil()
        .max(1.0) as u64;
    let limit = s.seq.max_slots();
    let window = format!(
        "a {} ms window at {} pps needs {need} slots",
        s.max_delay_ms, s.max_rate
    );
    match &s.slots {
        Some(val) => {
            // Name the stream unless the value sits in that stream's own table.
            let whose = if val.shown().starts_with(label) {
                String::new()
            } else {
                format!(" for {label}")
            };
            let slots = val.v as u64;
            if slots > u64::from(limit) {
                return Err(val.err(format_args!(
                    "more than the {limit} slots that seq {} allows{whose}",
                    s.seq
                )));
            }
            if slots < need {
                return Err(val.err(format_args!(
                    "too small{whose}: {window} (raise slots, or lower max-delay or max-rate)"
                )));
            }
            Ok(slots as u32)
        }
        None => {
            let slots = need.next_power_of_two().max(u64::from(MIN_SLOTS));
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
    output: SocketAddr,
    overrides: Option<StreamSettings>,
    label: String,
}

/// Parses a `--stream LEG,LEG[,...]=OUT` value.
fn parse_cli_stream(spec: &str) -> Result<(Vec<SocketAddr>, SocketAddr), ConfigError> {
    let err = |problem: String| ConfigError::new(format!("--stream '{spec}': {problem}"));
    let (legs, output) = match spec.split_once('=') {
        Some((legs, output)) if !output.contains('=') => (legs, output),
        _ => {
            return Err(err(
                "expected PRI_GROUP:PORT,SEC_GROUP:PORT=OUT_GROUP:PORT".to_string()
            ))
        }
    };
    let legs = legs
        .split(',')
        .map(|leg| Group::parse_text(leg).map(|g| g.0).map_err(err))
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
    let file_name = cli
        .config
        .as_deref()
        .map_or_else(String::new, |p| p.display().to_string());
    resolve_with(eal_args, cli, &file, &file_name)
}

fn resolve_with(
    eal_args: Vec<String>,
    cli: &CliArgs,
    file: &FileConfig,
    file_name: &str,
) -> Result<AppConfig, ConfigError> {
    let g = cli_globals(cli)?;
    let f = file_name;
    let port = |val| int(val, 0, 65_535, 0u16);
    let primary_port = match layer(
        &g.primary_port,
        "--primary-port",
        &file.primary_port,
        f,
        "primary_port",
    ) {
        None => DEFAULT_PRIMARY_PORT,
        v => port(v)?,
    };
    let secondary_port = match layer(
        &g.secondary_port,
        "--secondary-port",
        &file.secondary_port,
        f,
        "secondary_port",
    ) {
        None => DEFAULT_SECONDARY_PORT,
        v => port(v)?,
    };
    let output_port = match layer(
        &g.output_port,
        "--output-port",
        &file.output_port,
        f,
        "output_port",
    ) {
        None => DEFAULT_OUTPUT_PORT,
        v => port(v)?,
    };
    let forward_mode = layer(
        &g.forward_mode,
        "--forward-mode",
        &file.forward_mode,
        f,
        "forward_mode",
    )
    .map_or(ForwardMode::Primary, |v| v.v.0);
    let nb_cores = int(
        layer(&g.nb_cores, "--nb-cores", &file.nb_cores, f, "nb_cores"),
        1,
        MAX_NB_CORES.into(),
        DEFAULT_NB_CORES,
    )?;
    let burst = int(
        layer(&g.burst, "--burst", &file.burst, f, "burst"),
        1,
        MAX_BURST.into(),
        DEFAULT_BURST,
    )?;
    let rx_prefetch = int(
        layer(
            &g.rx_prefetch,
            "--rx-prefetch",
            &file.rx_prefetch,
            f,
            "rx_prefetch",
        ),
        0,
        MAX_RX_PREFETCH.into(),
        DEFAULT_RX_PREFETCH,
    )?;
    let primary_reorder: Option<u32> = match layer(
        &g.primary_reorder,
        "--primary-reorder",
        &file.primary_reorder,
        f,
        "primary_reorder",
    ) {
        None => None,
        v => Some(int(v, 0, MAX_PRIMARY_REORDER.into(), 0u32)?),
    };
    let rxd_val = layer(&g.rxd, "--rxd", &file.rxd, f, "rxd");
    let rxd = int(
        rxd_val.clone(),
        MIN_DESC.into(),
        MAX_DESC.into(),
        DEFAULT_RXD,
    )?;
    let txd_val = layer(&g.txd, "--txd", &file.txd, f, "txd");
    let txd = int(
        txd_val.clone(),
        MIN_DESC.into(),
        MAX_DESC.into(),
        DEFAULT_TXD,
    )?;
    for (val, n) in [(rxd_val, rxd), (txd_val, txd)] {
        if n < burst {
            let shown = val.map_or_else(|| format!("{n} (default)"), |v| v.shown());
            return Err(ConfigError::new(format!(
                "{shown}: fewer descriptors than the burst of {burst}"
            )));
        }
    }
    let mbufs = layer(
        &g.total_num_mbufs,
        "--total-num-mbufs",
        &file.total_num_mbufs,
        f,
        "total_num_mbufs",
    );
    let total_num_mbufs = match mbufs {
        None => None,
        v => Some(int(
            v,
            MIN_TOTAL_NUM_MBUFS.into(),
            MAX_TOTAL_NUM_MBUFS.into(),
            0u32,
        )?),
    };
    let stats_period = seconds_or_off(
        layer(
            &g.stats_period,
            "--stats-period",
            &file.stats_period,
            f,
            "stats_period",
        ),
        MAX_STATS_PERIOD_S,
    )?;
    let duration = seconds_or_off(
        layer(&g.duration, "--duration", &file.duration, f, "duration"),
        MAX_DURATION_S,
    )?;
    let stats_json = layer(
        &g.stats_json,
        "--stats-json",
        &file.stats_json,
        f,
        "stats_json",
    )
    .map(|v| v.v);
    if let Some(path) = &stats_json {
        if path.as_os_str().is_empty() {
            return Err(ConfigError::new("--stats-json '': empty file name"));
        }
    }
    let verify_udp_checksum = !layer(
        &g.no_udp_csum_check,
        "--no-udp-csum-check",
        &file.no_udp_csum_check,
        f,
        "no_udp_csum_check",
    )
    .is_some_and(|v| v.v);

    // Per-stream settings: validate the command line and [defaults] once even
    // if no stream uses them, so a bad value never goes unnoticed.
    let cli_stream = cli_stream_settings(cli, g.forward_mode.map(|m| m.0))?;
    let defaults_place = format!("{f} [defaults]");
    let base_layers = Layers {
        cli: &cli_stream,
        file: vec![(&file.defaults, defaults_place.clone())],
    };
    settings(&base_layers)?;
    let file_default_mode = file.forward_mode.and_then(|m| m.0.merge_mode());

    let mut raw = Vec::new();
    for (i, s) in file.streams.iter().enumerate() {
        let label = match &s.name {
            Some(name) => format!("{f} [[stream]] {name:?}"),
            None => format!("{f} [[stream]] #{}", i + 1),
        };
        raw.push(RawStream {
            name: s.name.clone(),
            legs: s.legs.iter().map(|g| g.0 .0).collect(),
            output: s.output.0 .0,
            overrides: Some(s.settings()),
            label,
        });
    }
    for spec in &cli.streams {
        let (legs, output) = parse_cli_stream(spec)?;
        raw.push(RawStream {
            name: None,
            legs,
            output,
            overrides: None,
            label: format!("--stream '{spec}'"),
        });
    }

    let mut streams: Vec<StreamConfig> = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let name = r.name.clone().unwrap_or_else(|| format!("stream{}", i + 1));
        check_name(&name, &r.label)?;
        check_addresses(&r.legs, r.output, &r.label, primary_port != secondary_port)?;
        let mut file_layers = Vec::new();
        if let Some(o) = &r.overrides {
            file_layers.push((o, r.label.clone()));
        }
        file_layers.push((&file.defaults, defaults_place.clone()));
        let s = settings(&Layers {
            cli: &cli_stream,
            file: file_layers,
        })?;
        let slots = slots_for(&s, &r.label)?;
        if let Some(ip) = &s.src_ip {
            if ip.v.is_ipv4() != r.output.is_ipv4() {
                return Err(ip.err(format_args!(
                    "is {} but {} is {}",
                    family(ip.v),
                    r.label,
                    family(r.output.ip())
                )));
            }
        }
        streams.push(StreamConfig {
            name,
            legs: r.legs.clone(),
            output: r.output,
            seq: s.seq,
            mode: s.mode.or(file_default_mode).unwrap_or(MergeMode::Primary),
            max_delay: s.max_delay,
            leg_timeout: s.leg_timeout,
            restart_after: s.restart_after,
            primary_reorder,
            slots,
            out: OutputOptions {
                src_ip: s.src_ip.map(|v| v.v),
                src_port: s.src_port,
                dst_mac: s
                    .dst_mac
                    .unwrap_or_else(|| MacAddr::for_multicast_group(r.output.ip())),
                ttl: s.ttl,
                dscp: s.dscp,
                vlan: s.vlan,
                renumber: s.renumber,
            },
        });
    }
    let labels: Vec<String> = raw.iter().map(|r| r.label.clone()).collect();
    check_overlaps(&streams, &labels, primary_port != secondary_port)?;
    if streams.is_empty() && forward_mode != ForwardMode::Io {
        return Err(ConfigError::new(format!(
            "--forward-mode {forward_mode}: no stream configured (give --stream or --config FILE after `--`, or use --forward-mode io)"
        )));
    }

    Ok(AppConfig {
        eal_args,
        primary_port,
        secondary_port,
        output_port,
        forward_mode,
        streams,
        nb_cores,
        burst,
        rx_prefetch,
        rxd,
        txd,
        total_num_mbufs,
        stats_period,
        stats_json,
        duration,
        verify_udp_checksum,
        config_file: cli.config.as_deref().map(Path::to_path_buf),
    })
}
