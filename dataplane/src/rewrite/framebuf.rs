//! The one abstraction the rewriter needs over a packet buffer: its bytes
//! and the ability to grow or shrink it at the front (VLAN push/strip).

/// A frame whose bytes can be edited in place and whose start can move.
///
/// Implemented by the DPDK mbuf wrapper (`rte_pktmbuf_prepend` / `adj`) and
/// here for `Vec<u8>` (tests, benchmarks).
pub trait FrameBuf {
    /// The frame, from its first byte (destination MAC) to its last.
    fn bytes(&self) -> &[u8];
    /// The same bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Makes the frame `n` bytes longer at the front (contents of the new
    /// bytes unspecified). False, with the frame unchanged, when there is no
    /// headroom.
    fn prepend(&mut self, n: usize) -> bool;
    /// Removes `n` bytes from the front. False, with the frame unchanged,
    /// when the frame is shorter than `n`.
    fn trim_front(&mut self, n: usize) -> bool;
}

impl FrameBuf for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    /// Always succeeds (may reallocate: fine for tests, not for the hot path).
    fn prepend(&mut self, n: usize) -> bool {
        let old = self.len();
        self.resize(old + n, 0);
        self.copy_within(0..old, n);
        true
    }

    fn trim_front(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.drain(..n);
        true
    }
}

/// A heap frame with fixed headroom in front, as a DPDK mbuf has: a VLAN
/// push or strip moves only the start, never the payload, and fails when
/// the headroom is used up (what the mbuf does). Why: tests and benchmarks
/// must see the mbuf's behaviour and cost, which `Vec<u8>`'s
/// grow-anything `prepend` does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Headroom {
    mem: Vec<u8>,
    start: usize,
}

impl Headroom {
    /// `frame` behind `headroom` filler bytes (0xee, so a rewrite that
    /// forgets to write a prepended byte shows).
    pub fn new(frame: &[u8], headroom: usize) -> Self {
        let mut mem = vec![0xee; headroom];
        mem.extend_from_slice(frame);
        Headroom {
            mem,
            start: headroom,
        }
    }
}

impl FrameBuf for Headroom {
    fn bytes(&self) -> &[u8] {
        &self.mem[self.start..]
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.mem[self.start..]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }
    fn trim_front(&mut self, n: usize) -> bool {
        if n > self.mem.len() - self.start {
            return false;
        }
        self.start += n;
        true
    }
}
