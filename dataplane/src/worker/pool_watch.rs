//! Keeping the packet pool from running dry while the merge holds copies.
//!
//! Why: every held copy is an mbuf. When loss makes the merge hold many
//! (a long `--max-delay`, a small `--total-num-mbufs`), the pool can empty;
//! the NIC then has no mbuf to receive into and drops at the port
//! (`rx_nombuf`), so the stream could never recover. The tx side reads the
//! pool's free count once per loop (no per-packet cost) and, below a
//! floor, has the engine shed held copies in its defined order
//! ([`crate::merge::Engine::shed`]: duplicates first, then the copies
//! furthest from the cursor), each counted `shed_pool_low`.

use super::plan::Plan;
use crate::dpdk::Mempool;

/// The pool and the free count below which the merge sheds.
pub struct PoolWatch<'q> {
    pool: &'q Mempool<'q>,
    /// Below this many free mbufs, shed.
    floor: u32,
    /// Shed back up to this many free mbufs (hysteresis: one shed frees a
    /// batch rather than one mbuf per loop).
    refill: u32,
    /// Merge workers that shed from this pool.
    share: u32,
}

impl<'q> PoolWatch<'q> {
    /// Watches `pool` for `plan`: the floor is what every input needs to
    /// refill two bursts, so the ports keep receiving, capped at a quarter
    /// of the pool (a pool that small is warned about at start-up).
    pub fn new(pool: &'q Mempool<'q>, plan: &Plan) -> Self {
        let need = (plan.inputs.len().max(1) * plan.burst.max(1) * 2) as u32;
        let floor = need.min(pool.size() / 4).max(1);
        PoolWatch {
            pool,
            floor,
            refill: floor.saturating_mul(2).min(pool.size() / 2).max(floor),
            share: plan.shards.workers().max(1) as u32,
        }
    }

    /// How many held copies this worker should shed now (0 while the pool
    /// has room). One read of the pool's free count. Sharded workers each
    /// shed their share (the shortfall over the number of workers, rounded
    /// up), so together they free what is missing, not N times it.
    #[inline]
    pub fn shortfall(&self) -> u32 {
        let free = self.pool.avail();
        if free >= self.floor {
            0
        } else {
            (self.refill - free).div_ceil(self.share)
        }
    }
}

impl std::fmt::Debug for PoolWatch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolWatch")
            .field("floor", &self.floor)
            .field("refill", &self.refill)
            .finish()
    }
}
