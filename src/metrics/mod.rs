//! `--metrics-listen ADDR:PORT`: the Prometheus endpoint.
//!
//! Served by threads of the main side (never a worker lcore) from the
//! latest [`View`] snapshot: a scrape costs the dataplane nothing.

mod render;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::build_info;
use crate::view::View;

pub use render::render;
pub use server::{Limits, Server};

/// Starts the endpoint on `addr`; returns the server (its bound address).
pub fn start(addr: SocketAddr, view: Arc<View>) -> Result<Server, String> {
    let build = build_info::labels();
    let page = Arc::new(move || render(&view.latest(), &build));
    Server::start(addr, "/metrics", page, Limits::default())
        .map_err(|e| format!("--metrics-listen {addr}: {e}"))
}
