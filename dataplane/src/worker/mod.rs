//! The lcore loops: receive, classify, merge, rewrite, transmit.
//!
//! Three layouts share the same stages. With one worker lcore
//! ([`single::run`]) it polls every input, feeds the merge engine and
//! transmits in one loop. With more, either ([`shard`]) each worker owns a
//! disjoint set of streams with its own engine and tx queue, packets
//! reaching their owner by software dispatch, or ([`split`]) rx lcores
//! judge packets and hand them over lock-free queues to one tx lcore that
//! owns the engine.
//! The main lcore never touches packets: it reads the stats [`Board`] and
//! the event queue in [`Shared`].
//!
//! [`Board`]: crate::stats::Board

#![forbid(unsafe_code)]

pub mod classify;
pub mod io;
pub mod layout;
pub mod plan;
pub mod poll;
pub mod pool_watch;
mod publish;
pub mod reload;
pub mod rx;
pub mod shard;
pub mod single;
pub mod split;
pub mod tx;

pub use classify::{Classifier, Route};
pub use layout::{BoardLayout, ResidenceStatus, RxCounters, TxCounters, LEG_NAMES, STREAM_NAMES};
pub use plan::{
    Clock, FillAsk, InputPlan, Plan, Refill, Shared, StreamEvent, StreamPlan, FILL_QUEUE,
};
pub use shard::Shards;
