//! `mcast-failover [EAL options] -- [options]`: merge a primary and a
//! secondary copy of multicast streams into one seamless output.
//!
//! Thin on purpose: parse the configuration, bring up EAL and the ports,
//! launch the lcores, wait, report. The work is in the `dataplane` crate.

#![forbid(unsafe_code)]

mod app;
mod bringup;
mod build_info;
mod events;
mod gapfill;
mod health;
mod membership;
mod metrics;
mod outfile;
mod pcap_vdev;
mod plan;
mod reload;
mod report;
mod signals;
mod steer;
mod telemetry;
mod view;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    std::process::exit(app::run(std::env::args().collect()));
}
