//! How the shard layout's inputs reach each stream's owner (`--steer`):
//! NIC flow rules keyed on each leg's destination group and UDP port, or
//! the software dispatch (`dataplane::worker::shard`).
//!
//! The decision is made once at bring-up, for every input port together:
//! flow steering needs each input to have one rx queue per worker and to
//! take a rule for every leg arriving on it. Any refusal (too few rx
//! queues, `rte_flow_validate` or `rte_flow_create` refusing a rule, two
//! streams of different owners on one group and port) means software
//! dispatch for all inputs under `auto` (one warning line with the
//! reason), or exit 2 with it under `flow`.

use std::collections::BTreeMap;

use config::{AppConfig, Steer, WorkerLayout};
use dataplane::dpdk::SteerRule;
use dataplane::worker::Shards;

use crate::plan::leg_port;

/// How the inputs were steered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Steering {
    /// One rx queue per input; with more than one worker, dispatched in
    /// software. `why`: the reason flow steering is not used, when it was
    /// asked for (`auto`).
    Software {
        /// Why not flow rules (`None`: not asked for, or one worker).
        why: Option<String>,
    },
    /// Every input port has one rx queue per worker and `rules` rules in
    /// all; worker `w` polls queue `w` of each.
    Flow {
        /// Rules installed over all input ports.
        rules: usize,
    },
}

impl Steering {
    /// Rx queues polled per input port.
    pub fn lanes(&self, workers: usize) -> usize {
        match self {
            Steering::Flow { .. } => workers,
            Steering::Software { .. } => 1,
        }
    }

    /// One line for the start-up log and the stats JSON.
    pub fn describe(&self) -> String {
        match self {
            Steering::Flow { rules } => {
                format!("flow ({rules} rte_flow rules, one rx queue per worker)")
            }
            Steering::Software { why: None } => "software".to_string(),
            Steering::Software { why: Some(w) } => format!("software ({w})"),
        }
    }
}

/// Whether `cfg` asks to try flow rules: the shard layout with more than
/// one merge worker and `--steer` other than `software`.
pub fn wanted(cfg: &AppConfig) -> bool {
    cfg.layout == WorkerLayout::Shard && cfg.merge_workers() > 1 && cfg.steer != Steer::Software
}

/// The rules of each input port (ascending port id): per leg arriving on
/// it, its group and UDP port to the queue of the worker owning its
/// stream (stream `i` to worker `i % N`, as [`Shards::by_index`]). An
/// error when two streams of different owners share a group and port on
/// one input (PITCH units on one group): no rule can send that traffic to
/// both.
pub fn rules(cfg: &AppConfig) -> Result<Vec<(u16, Vec<SteerRule>)>, String> {
    let shards = Shards::by_index(cfg.streams.len(), cfg.merge_workers() as usize);
    // (port, group, udp port) -> (queue, the stream that set it)
    let mut keys = BTreeMap::new();
    for (i, s) in cfg.streams.iter().enumerate() {
        let queue = shards.owner(i as u32) as u16;
        for (leg, addr) in s.legs.iter().enumerate() {
            let key = (leg_port(cfg, leg), addr.ip(), addr.port());
            let (q, first) = *keys.entry(key).or_insert((queue, i));
            if q != queue {
                return Err(format!(
                    "streams {} and {} share {addr} on port {} but are owned by workers {q} and {queue}",
                    cfg.streams[first].name, s.name, key.0
                ));
            }
        }
    }
    let mut by_port: BTreeMap<u16, Vec<SteerRule>> = BTreeMap::new();
    for ((port, group, udp_port), (queue, _)) in keys {
        by_port.entry(port).or_default().push(SteerRule {
            group,
            udp_port,
            queue,
        });
    }
    Ok(by_port.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &[&str]) -> AppConfig {
        let mut args: Vec<String> = ["prog", "--"].map(String::from).to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        match config::parse_args(args) {
            Ok(config::Parsed::Run(c)) => *c,
            Err(e) => panic!("bad test config {extra:?}: {e}"),
            _ => panic!("bad test config {extra:?}"),
        }
    }

    #[test]
    fn each_leg_goes_to_its_owners_queue_on_its_port() {
        let c = cfg(&[
            "--nb-cores",
            "2",
            "--stream",
            "239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004",
            "--stream",
            "239.1.0.2:5000,239.2.0.2:5000=239.10.0.2:5004",
            "--stream",
            "239.1.0.3:5000,239.2.0.3:5000=239.10.0.3:5004",
        ]);
        assert!(wanted(&c));
        let r = rules(&c).unwrap();
        let text =
            |port: usize| -> Vec<String> { r[port].1.iter().map(|x| x.to_string()).collect() };
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].0, r[1].0), (c.primary_port, c.secondary_port));
        assert_eq!(
            text(0),
            [
                "239.1.0.1:5000 -> queue 0",
                "239.1.0.2:5000 -> queue 1",
                "239.1.0.3:5000 -> queue 0"
            ]
        );
        assert_eq!(
            text(1),
            [
                "239.2.0.1:5000 -> queue 0",
                "239.2.0.2:5000 -> queue 1",
                "239.2.0.3:5000 -> queue 0"
            ]
        );
    }

    #[test]
    fn one_group_of_two_owners_cannot_be_steered() {
        // Two PITCH units on one group: streams 0 and 1, owners 0 and 1.
        let dir = std::env::temp_dir().join(format!("mf-steer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pitch.toml");
        let stream = |unit: u8, out: u8| {
            format!(
                "[[stream]]\nname = \"u{unit}\"\nlegs = [\"239.1.0.1:5000\", \"239.2.0.1:5000\"]\noutput = \"239.10.0.{out}:5004\"\nseq = \"pitch:{unit}\"\n"
            )
        };
        std::fs::write(&file, stream(1, 1) + &stream(2, 2)).unwrap();
        let c = cfg(&["--nb-cores", "2", "--config", file.to_str().unwrap()]);
        std::fs::remove_dir_all(&dir).unwrap();
        match rules(&c) {
            Err(e) => assert!(
                e.starts_with("streams u1 and u2 share 239.1.0.1:5000 on port"),
                "{e}"
            ),
            Ok(r) => panic!("steered one group to two queues: {r:?}"),
        }
    }

    #[test]
    fn software_one_worker_or_split_do_not_try_rules() {
        let s = "239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004";
        for extra in [
            &["--stream", s][..],
            &["--stream", s, "--nb-cores", "2", "--steer", "software"],
            &["--stream", s, "--nb-cores", "2", "--layout", "split"],
        ] {
            assert!(!wanted(&cfg(extra)), "{extra:?}");
        }
        assert!(wanted(&cfg(&[
            "--stream",
            s,
            "--nb-cores",
            "2",
            "--steer",
            "flow"
        ])));
    }
}
