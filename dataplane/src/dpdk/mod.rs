//! Safe wrappers over `dpdk-sys`: the only place outside `dpdk-ffi` with
//! `unsafe` (each block carries a `// SAFETY:` note).
//!
//! Ownership model: [`Eal`] is created once; [`Mempool`], [`Port`] and
//! [`MbufRing`] borrow it, so they are dropped before `rte_eal_cleanup`.
//! A port's rx queues reference its mempool, so `Port::configure` borrows
//! the pool for the port's lifetime (declare the pool before the port).
//! [`Mbuf`] is an owned packet (freed on drop) that moves freely between
//! lcores; [`RxBatch`]/[`TxBatch`] are the fixed-size burst containers of
//! the hot path.

mod burst;
mod eal;
mod elem_ring;
mod error;
mod flow;
mod lcore;
mod mbuf;
mod mempool;
mod offsets;
mod pdump;
mod port;
mod prefetch;
mod ring;
mod telemetry;
mod timestamp;

pub use burst::{FreeBatch, RxBatch, TxBatch, MAX_BURST};
pub use eal::{runtime_dir, version, Eal};
pub use elem_ring::{ElemConsumer, ElemProducer, ElemRing};
pub use error::{strerror, DpdkError};
pub use flow::{FlowRefused, SteerRule};
pub use lcore::{current as current_lcore, pause, tsc, LcoreJoin, Scope};
pub use mbuf::{HwCksum, Mbuf};
pub use mempool::{Mempool, DEFAULT_DATA_ROOM, SOCKET_ANY};
pub use pdump::Pdump;
pub use port::{Link, Port, PortSetup, PortStats, RxQueue, TxQueue};
pub use prefetch::prefetch;
pub use ring::{MbufRing, RingConsumer, RingProducer};
pub use telemetry::{register as register_telemetry, TelHandler, TelReply, TelValue};
pub use timestamp::RxTimestamp;
