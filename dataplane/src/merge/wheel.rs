//! Deadline queue: a hashed timer wheel with one intrusive entry per stream.
//!
//! Why: overdue gaps and silent legs must be noticed without scanning every
//! stream on every poll. Each stream has at most one armed deadline (the
//! earliest thing it waits for); arming, re-arming and firing are O(1), and a
//! poll only walks the buckets whose time has fully passed.

const NIL: u32 = u32::MAX;
/// "Not armed".
pub const NEVER: u64 = u64::MAX;

/// The wheel: `buckets` lists of entries, each bucket `granularity` ticks.
#[derive(Debug)]
pub struct TimerWheel {
    granularity: u64,
    mask: u64,
    heads: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    bucket: Vec<u32>,
    at: Vec<u64>,
    /// Lower bound of the deadlines in each bucket (NEVER if empty).
    min_at: Vec<u64>,
    /// Absolute bucket number of the first bucket not yet expired.
    done: u64,
}

impl TimerWheel {
    /// A wheel for `entries` streams. `buckets` is rounded up to a power of
    /// two; `granularity` is at least 1 tick.
    pub fn new(entries: usize, granularity: u64, buckets: usize) -> Self {
        let n = buckets.max(2).next_power_of_two();
        Self {
            granularity: granularity.max(1),
            mask: n as u64 - 1,
            heads: vec![NIL; n],
            next: vec![NIL; entries],
            prev: vec![NIL; entries],
            bucket: vec![0; entries],
            at: vec![NEVER; entries],
            min_at: vec![NEVER; n],
            done: 0,
        }
    }

    /// When entry `e` is armed for, `NEVER` if not.
    #[inline]
    pub fn armed_at(&self, e: usize) -> u64 {
        self.at[e]
    }

    /// Ensures `e` fires no later than `t` (keeps an earlier deadline).
    #[inline]
    pub fn arm(&mut self, e: usize, t: u64) {
        if self.at[e] <= t {
            return;
        }
        if self.at[e] != NEVER {
            self.unlink(e);
        }
        self.at[e] = t;
        let b = (t / self.granularity).max(self.done);
        self.link(e, (b & self.mask) as usize);
    }

    /// Disarms every entry.
    pub fn clear(&mut self) {
        self.heads.fill(NIL);
        self.min_at.fill(NEVER);
        self.next.fill(NIL);
        self.prev.fill(NIL);
        self.at.fill(NEVER);
    }

    /// Moves every entry due at `now` into `out` (disarmed), exactly: the
    /// buckets wholly in the past are emptied of due entries, and the
    /// current bucket is walked only when its earliest deadline has come.
    pub fn expire(&mut self, now: u64, out: &mut Vec<u32>) {
        let end = now.saturating_add(1) / self.granularity;
        if end > self.done {
            let n = (end - self.done).min(self.mask + 1);
            for b in self.done..self.done + n {
                let slot = (b & self.mask) as usize;
                if self.heads[slot] != NIL {
                    self.walk(slot, now, out);
                }
            }
            self.done = end;
        }
        let current = ((now / self.granularity) & self.mask) as usize;
        if self.min_at[current] <= now {
            self.walk(current, now, out);
        }
    }

    /// Fires the due entries of one bucket, keeps the others.
    fn walk(&mut self, slot: usize, now: u64, out: &mut Vec<u32>) {
        let mut e = self.heads[slot];
        self.heads[slot] = NIL;
        self.min_at[slot] = NEVER;
        while e != NIL {
            let i = e as usize;
            let following = self.next[i];
            self.next[i] = NIL;
            self.prev[i] = NIL;
            if self.at[i] <= now {
                self.at[i] = NEVER;
                out.push(e);
            } else {
                self.link(i, slot);
            }
            e = following;
        }
    }

    #[inline]
    fn link(&mut self, e: usize, slot: usize) {
        let head = self.heads[slot];
        self.next[e] = head;
        self.prev[e] = NIL;
        if head != NIL {
            self.prev[head as usize] = e as u32;
        }
        self.heads[slot] = e as u32;
        self.bucket[e] = slot as u32;
        if self.at[e] < self.min_at[slot] {
            self.min_at[slot] = self.at[e];
        }
    }

    #[inline]
    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        if p == NIL {
            self.heads[self.bucket[e] as usize] = n;
        } else {
            self.next[p as usize] = n;
        }
        if n != NIL {
            self.prev[n as usize] = p;
        }
        self.next[e] = NIL;
        self.prev[e] = NIL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fired(w: &mut TimerWheel, now: u64) -> Vec<u32> {
        let mut v = Vec::new();
        w.expire(now, &mut v);
        v.sort();
        v
    }

    #[test]
    fn fires_once_in_time_order() {
        let mut w = TimerWheel::new(4, 10, 8);
        w.arm(0, 25);
        w.arm(1, 5);
        w.arm(2, 200); // beyond one revolution (80 ticks)
        assert!(fired(&mut w, 4).is_empty());
        assert_eq!(fired(&mut w, 5), vec![1]);
        assert!(fired(&mut w, 24).is_empty());
        assert_eq!(fired(&mut w, 25), vec![0]);
        assert!(fired(&mut w, 150).is_empty());
        assert!(fired(&mut w, 199).is_empty());
        assert_eq!(fired(&mut w, 200), vec![2]);
        assert!(fired(&mut w, 10_000).is_empty());
        assert_eq!(w.armed_at(2), NEVER);
    }

    #[test]
    fn rearm_earlier_moves_later_is_ignored() {
        let mut w = TimerWheel::new(3, 1, 16);
        w.arm(0, 100);
        w.arm(0, 200);
        assert_eq!(w.armed_at(0), 100);
        w.arm(0, 50);
        w.arm(1, 50);
        w.arm(2, 51);
        assert_eq!(fired(&mut w, 50), vec![0, 1]);
        assert_eq!(fired(&mut w, 51), vec![2]);
        assert!(fired(&mut w, 1000).is_empty());
    }

    #[test]
    fn arming_in_the_past_fires_at_next_expire() {
        let mut w = TimerWheel::new(2, 10, 4);
        assert!(fired(&mut w, 1000).is_empty());
        w.arm(1, 3);
        assert_eq!(fired(&mut w, 1000), vec![1]);
    }

    #[test]
    fn long_pause_visits_each_bucket_once() {
        let mut w = TimerWheel::new(50, 1, 8);
        for e in 0..50 {
            w.arm(e, e as u64 * 3);
        }
        assert_eq!(fired(&mut w, 1_000_000).len(), 50);
    }
}
