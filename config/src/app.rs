//! The resolved configuration handed to the binary ([`AppConfig`], declared
//! with its options in `global.rs`): plain data, every default already
//! filled in, every value already validated.

use crate::error::ConfigError;
use crate::forward_mode::ForwardMode;
use crate::global::AppConfig;

/// What `parse_args` decided the process should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run with this configuration.
    Run(Box<AppConfig>),
    /// Print this help text to stdout and exit 0.
    Help(String),
    /// Print this version line to stdout and exit 0.
    Version(String),
}

impl AppConfig {
    /// Merge workers, each with its own engine and output tx queue: N with
    /// `--layout shard` and `--nb-cores N`, else 1 (and 1 in `io` mode,
    /// which forwards on one lcore).
    pub fn merge_workers(&self) -> u32 {
        if self.nb_cores > 1
            && self.layout == crate::WorkerLayout::Shard
            && self.forward_mode != ForwardMode::Io
        {
            self.nb_cores
        } else {
            1
        }
    }

    /// The distinct input ports to receive from (one entry when primary and
    /// secondary are the same port; only the primary in `io` mode).
    pub fn input_ports(&self) -> Vec<u16> {
        let mut ports = vec![self.primary_port];
        if self.forward_mode != ForwardMode::Io && self.secondary_port != self.primary_port {
            ports.push(self.secondary_port);
        }
        ports
    }

    /// Checks that every port the configuration uses is one EAL enumerated
    /// (`available` = the valid port ids). The secondary port is not used,
    /// hence not checked, in `io` mode.
    pub fn check_ports(&self, available: &[u16]) -> Result<(), ConfigError> {
        let mut used = vec![("primary-port", self.primary_port)];
        if self.forward_mode != ForwardMode::Io {
            used.push(("secondary-port", self.secondary_port));
        }
        used.push(("output-port", self.output_port));
        for (what, id) in used {
            if !available.contains(&id) {
                let found = if available.is_empty() {
                    "EAL found no ports".to_string()
                } else {
                    let ids: Vec<String> = available.iter().map(u16::to_string).collect();
                    format!("EAL found ports {}", ids.join(", "))
                };
                return Err(ConfigError::new(format!(
                    "--{what} {id}: no such port ({found}; add a -a PCI address or --vdev before `--`)"
                )));
            }
        }
        Ok(())
    }
}
