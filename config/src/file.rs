//! The TOML configuration file (`--config FILE`): its schema and loading,
//! with syntax, type and unknown-key errors reported as `FILE:LINE:COL: msg`.
//!
//! Keys are the command-line flag names with `-` turned into `_`. Global
//! options are top-level keys; per-stream options sit in `[defaults]` and may
//! be overridden in each `[[stream]]`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::addr::MacAddr;
use crate::error::ConfigError;
use crate::modes::{ForwardMode, MergeMode, VlanMode};
use crate::seq_format::SeqFormat;
use crate::text::{Group, Text};

/// Declares the per-stream settings once, for `[defaults]`, for each
/// `[[stream]]` (which adds name, legs and output) and for the command line.
macro_rules! stream_settings {
    ($($field:ident : $ty:ty),* $(,)?) => {
        /// Per-stream settings as given in one place (command line,
        /// `[defaults]` or a `[[stream]]`); `None` = not given there.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct StreamSettings {
            $(pub $field: Option<$ty>,)*
        }

        /// One `[[stream]]` table.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct FileStream {
            pub name: Option<String>,
            pub legs: Vec<Text<Group>>,
            pub output: Text<Group>,
            $(pub $field: Option<$ty>,)*
        }

        impl FileStream {
            /// The per-stream overrides of this table.
            pub fn settings(&self) -> StreamSettings {
                StreamSettings { $($field: self.$field.clone(),)* }
            }
        }
    };
}

stream_settings!(
    seq: Text<SeqFormat>,
    mode: Text<MergeMode>,
    max_delay: f64,
    leg_timeout: f64,
    restart_after: i64,
    slots: i64,
    max_rate: i64,
    out_src_ip: Text<IpAddr>,
    out_src_port: i64,
    out_dst_mac: Text<MacAddr>,
    out_ttl: i64,
    out_dscp: i64,
    out_vlan: Text<VlanMode>,
    renumber: bool,
);

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    pub primary_port: Option<i64>,
    pub secondary_port: Option<i64>,
    pub output_port: Option<i64>,
    pub forward_mode: Option<Text<ForwardMode>>,
    pub nb_cores: Option<i64>,
    pub burst: Option<i64>,
    pub rx_prefetch: Option<i64>,
    pub primary_reorder: Option<i64>,
    pub rxd: Option<i64>,
    pub txd: Option<i64>,
    pub total_num_mbufs: Option<i64>,
    pub stats_period: Option<f64>,
    pub stats_json: Option<PathBuf>,
    pub duration: Option<f64>,
    pub no_udp_csum_check: Option<bool>,
    #[serde(default)]
    pub defaults: StreamSettings,
    #[serde(default, rename = "stream")]
    pub streams: Vec<FileStream>,
}

/// Reads and parses a configuration file.
pub(crate) fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(format!("--config {}: cannot read: {e}", path.display())))?;
    parse(&text, &path.display().to_string())
}

/// Parses configuration text; `name` labels error messages.
pub(crate) fn parse(text: &str, name: &str) -> Result<FileConfig, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let place = match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{name}:{line}:{col}")
            }
            None => name.to_string(),
        };
        ConfigError::new(format!("{place}: {}", e.message().trim()))
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 9), (2, 3));
        assert_eq!(line_col(text, 1000), (3, 1));
    }

    #[test]
    fn parses_a_full_file() {
        let file = parse(
            r#"
primary_port = 3
forward_mode = "hitless"
stats_period = 1
[defaults]
max_delay = 20.5
seq = "u64be@10"
[[stream]]
name = "a"
legs = ["239.1.1.1:5000", "[ff3e::1]:5000"]
output = "239.9.9.9:5000"
out_vlan = "strip"
"#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(file.primary_port, Some(3));
        assert_eq!(file.forward_mode.map(|m| m.0), Some(ForwardMode::Hitless));
        assert_eq!(file.stats_period, Some(1.0));
        assert_eq!(file.defaults.max_delay, Some(20.5));
        assert_eq!(file.streams.len(), 1);
        assert_eq!(file.streams[0].legs.len(), 2);
        assert_eq!(
            file.streams[0].settings().out_vlan.map(|v| v.0),
            Some(VlanMode::Strip)
        );
    }
}
