//! The TOML configuration file (`--config FILE`): its schema and loading,
//! with syntax, type and unknown-key errors reported as `FILE:LINE:COL: msg`.
//!
//! Keys are the command-line flag names with `-` turned into `_`. Global
//! options are top-level keys; per-stream options sit in `[defaults]` and may
//! be overridden in each `[[stream]]`. The schema is declared with the
//! options themselves (`global.rs`, `stream.rs`).

use std::io::Read;
use std::path::Path;

use crate::error::ConfigError;
use crate::global::FileConfig;
use crate::limits::MAX_CONFIG_BYTES;

/// Reads and parses a configuration file, at most [`MAX_CONFIG_BYTES`] of it.
pub(crate) fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let shown = model::clip(&path.display().to_string()).into_owned();
    let cannot =
        |e: std::io::Error| ConfigError::new(format!("--config {shown}: cannot read: {e}"));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::new(format!(
            "--config {shown}: larger than {} MiB, not a configuration file",
            MAX_CONFIG_BYTES >> 20
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ConfigError::new(format!("--config {shown}: cannot read: not UTF-8 text")))?;
    parse(&text, &shown)
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
        ConfigError::new(format!("{place}: {}", model::clip(e.message().trim())))
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
    use crate::forward_mode::ForwardMode;
    use model::VlanAction;

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
            Some(VlanAction::Strip)
        );
    }
}
