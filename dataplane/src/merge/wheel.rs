//! Deadline queue: a hashed timer wheel with one intrusive entry per stream.
//!
//! Why: overdue gaps and silent legs must be noticed without scanning every
//! stream on every poll. Each stream has at most one armed deadline (the
//! earliest thing it waits for); arming, re-arming and firing are O(1), and a
//! poll only walks the buckets whose time has fully passed.

const NIL: u32 = u32::MAX;
/// "Not armed".
pub const NEVER: u64 = u64::MAX;

/// The wheel: `buckets` lists of entries, each bucket `2^shift` ticks.
#[derive(Debug)]
pub struct TimerWheel {
    /// Bucket width as a power of two: a shift, not a division, per arm
    /// and per expire.
    shift: u32,
    mask: u64,
    heads: Vec<u32>,
    /// One bit per bucket, set while its list is not empty: an expire
    /// skips 64 empty buckets per word instead of reading each head.
    occupied: Vec<u64>,
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
    /// two, `granularity` down to one (at least 1 tick); firing is exact
    /// whatever the width.
    pub fn new(entries: usize, granularity: u64, buckets: usize) -> Self {
        let n = buckets.max(64).next_power_of_two();
        Self {
            shift: granularity.max(1).ilog2(),
            mask: n as u64 - 1,
            heads: vec![NIL; n],
            occupied: vec![0; n / 64],
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
        let b = (t >> self.shift).max(self.done);
        self.link(e, (b & self.mask) as usize);
    }

    /// Disarms entry `e` (nothing if it is not armed).
    pub fn disarm(&mut self, e: usize) {
        if self.at.get(e).is_some_and(|&t| t != NEVER) {
            self.unlink(e);
            self.at[e] = NEVER;
        }
    }

    /// Disarms every entry.
    pub fn clear(&mut self) {
        self.heads.fill(NIL);
        self.occupied.fill(0);
        self.min_at.fill(NEVER);
        self.next.fill(NIL);
        self.prev.fill(NIL);
        self.at.fill(NEVER);
    }

    /// Moves every entry due at `now` into `out` (disarmed), exactly: the
    /// buckets wholly in the past are emptied of due entries, and the
    /// current bucket is walked only when its earliest deadline has come.
    pub fn expire(&mut self, now: u64, out: &mut Vec<u32>) {
        let end = now.saturating_add(1) >> self.shift;
        if end > self.done {
            let n = (end - self.done).min(self.mask + 1);
            // Buckets done..done + n, the occupied ones only (a bucket
            // walked and refilled is behind `b` and not seen again).
            let (mut b, last) = (self.done, self.done + n);
            while b < last {
                let slot = (b & self.mask) as usize;
                let bits = self.occupied[slot / 64] >> (slot % 64);
                if bits == 0 {
                    b += 64 - (slot % 64) as u64;
                    continue;
                }
                let skip = u64::from(bits.trailing_zeros());
                b += skip;
                if b >= last {
                    break;
                }
                self.walk(slot + skip as usize, now, out);
                b += 1;
            }
            self.done = end;
        }
        let current = ((now >> self.shift) & self.mask) as usize;
        if self.min_at[current] <= now {
            self.walk(current, now, out);
        }
    }

    /// Fires the due entries of one bucket, keeps the others.
    fn walk(&mut self, slot: usize, now: u64, out: &mut Vec<u32>) {
        let mut e = self.heads[slot];
        self.heads[slot] = NIL;
        self.occupied[slot / 64] &= !(1 << (slot % 64));
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
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.bucket[e] = slot as u32;
        if self.at[e] < self.min_at[slot] {
            self.min_at[slot] = self.at[e];
        }
    }

    #[inline]
    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        if p == NIL {
            let slot = self.bucket[e] as usize;
            self.heads[slot] = n;
            if n == NIL {
                self.occupied[slot / 64] &= !(1 << (slot % 64));
            }
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
    fn fires_exactly_what_is_due_under_random_arming() {
        // A reference of plain deadlines against the wheel (with its
        // occupancy bits) over random arms, re-arms and expires, across
        // many revolutions and word boundaries of the bitmap.
        let mut w = TimerWheel::new(200, 7, 100);
        let mut due = [NEVER; 200];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut now = 0u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let e = (x % 200) as usize;
            if x & 0x300 == 0 {
                now += (x >> 20) % 3000;
                let mut want: Vec<u32> = (0..200u32).filter(|&i| due[i as usize] <= now).collect();
                want.sort();
                assert_eq!(fired(&mut w, now), want, "at {now}");
                for i in want {
                    due[i as usize] = NEVER;
                }
            } else {
                let t = now + (x >> 32) % 5000;
                w.arm(e, t);
                due[e] = due[e].min(t);
            }
            for (slot, &h) in w.heads.iter().enumerate() {
                let bit = w.occupied[slot / 64] >> (slot % 64) & 1;
                assert_eq!(bit == 1, h != NIL, "bucket {slot}");
            }
        }
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
