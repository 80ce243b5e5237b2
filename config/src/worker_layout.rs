//! How more than one worker lcore share the work (`--layout`).

use std::fmt;
use std::str::FromStr;

/// The lcore layout for `--nb-cores N > 1` (one worker does everything
/// with `N = 1`, whatever this says).
///
/// Why a choice: sharding (each worker owns a disjoint set of streams with
/// its own engine and output tx queue) scales with streams and cores; the
/// split layout (rx lcores feeding one merge lcore) keeps every stream on
/// one engine, which is what a single very fast stream needs, since a
/// stream cannot be spread over workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum WorkerLayout {
    /// N merge workers, each owning the streams `i` with `i % N` = its
    /// index, its own engine and its own tx queue on the output port.
    #[default]
    Shard,
    /// N-1 rx lcores judging packets for one merge-and-tx lcore.
    Split,
}

impl FromStr for WorkerLayout {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "shard" => Ok(WorkerLayout::Shard),
            "split" => Ok(WorkerLayout::Split),
            _ => Err(format!(
                "bad layout {}: expected shard or split",
                model::quoted(text)
            )),
        }
    }
}

impl fmt::Display for WorkerLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WorkerLayout::Shard => "shard",
            WorkerLayout::Split => "split",
        })
    }
}

/// How the shard layout's inputs reach each stream's owner (`--steer`).
///
/// Why a choice: NIC steering (`rte_flow` rules on the destination group,
/// one rx queue per worker) costs no lcore anything, but only some ports
/// take the rules; software dispatch works on every port. `auto` takes
/// the NIC's when it accepts every rule and says why when it does not;
/// `flow` is for a deployment that must not silently lose the parallel rx
/// path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Steer {
    /// Flow rules if every input port takes every rule, else software
    /// dispatch (one line saying why).
    #[default]
    Auto,
    /// Flow rules or exit 2 with the port's reason.
    Flow,
    /// Software dispatch only (one rx queue per input).
    Software,
}

impl FromStr for Steer {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Steer::Auto),
            "flow" => Ok(Steer::Flow),
            "software" => Ok(Steer::Software),
            _ => Err(format!(
                "bad steering {}: expected auto, flow or software",
                model::quoted(text)
            )),
        }
    }
}

impl fmt::Display for Steer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Steer::Auto => "auto",
            Steer::Flow => "flow",
            Steer::Software => "software",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_round_trips() {
        for l in [WorkerLayout::Shard, WorkerLayout::Split] {
            assert_eq!(l.to_string().parse::<WorkerLayout>(), Ok(l));
        }
        let err = "ring".parse::<WorkerLayout>().unwrap_err();
        assert!(err.contains("'ring'"), "{err}");
        for s in [Steer::Auto, Steer::Flow, Steer::Software] {
            assert_eq!(s.to_string().parse::<Steer>(), Ok(s));
        }
        let err = "rss".parse::<Steer>().unwrap_err();
        assert!(err.contains("'rss'"), "{err}");
    }
}

#[cfg(test)]
mod option_tests {
    use crate::{parse_args, Parsed};

    fn run(extra: &[&str]) -> Result<crate::AppConfig, crate::ConfigError> {
        let mut argv = vec![
            "mcast-failover",
            "--",
            "--stream",
            "239.1.1.1:5000,239.2.1.1:5000=239.10.1.1:5000",
        ];
        argv.extend(extra);
        match parse_args(argv.into_iter().map(String::from))? {
            Parsed::Run(c) => Ok(*c),
            _ => panic!("not a run"),
        }
    }

    #[test]
    fn shard_is_the_default_for_more_than_one_core() {
        assert_eq!(run(&[]).unwrap().merge_workers(), 1);
        assert_eq!(run(&["--nb-cores", "3"]).unwrap().merge_workers(), 3);
        let split = run(&["--nb-cores", "3", "--layout", "split"]).unwrap();
        assert_eq!(split.merge_workers(), 1);
        let io = run(&["--nb-cores", "3", "--forward-mode", "io"]).unwrap();
        assert_eq!(io.merge_workers(), 1, "io mode forwards on one lcore");
        assert_eq!(run(&[]).unwrap().steer, crate::Steer::Auto);
        let flow = run(&["--nb-cores", "2", "--steer", "flow"]).unwrap();
        assert_eq!(flow.steer, crate::Steer::Flow);
        let err = run(&["--steer", "rss"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--steer"), "{err}");
        let err = run(&["--layout", "ring"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--layout"), "{err}");
        assert_eq!(err.to_string().lines().count(), 1);
    }
}
