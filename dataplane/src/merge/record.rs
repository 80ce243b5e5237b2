//! Ready-made [`Sink`]s for everything that drives the engine without a
//! dataplane: unit and property tests, benchmarks, fuzz targets.
//!
//! Why here and public: tests, benches and the fuzzer each wrote their own
//! recorder, and copies of a recorder drift (one asserted the stream id, one
//! counted frees, one kept them). One recorder and one allocation-free
//! tally keep every harness reading the engine's output the same way.

use super::output::{Event, EventKind, FreeReason, SendInfo, Sink};

/// One packet the engine sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent<H> {
    /// Stream index it was sent on.
    pub stream: usize,
    /// The handle given back for transmission.
    pub handle: H,
    /// What the engine said about it.
    pub info: SendInfo,
}

/// Keeps every call the engine makes, in order per kind, for assertions.
#[derive(Debug)]
pub struct Recorder<H> {
    /// Each send, in send order.
    pub sent: Vec<Sent<H>>,
    /// `(handle, why)` of each free, in free order.
    pub freed: Vec<(H, FreeReason)>,
    /// `(stream, event)` of each event, in report order.
    pub events: Vec<(usize, Event)>,
}

impl<H> Default for Recorder<H> {
    fn default() -> Self {
        Self {
            sent: Vec::new(),
            freed: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl<H> Recorder<H> {
    /// The merged positions (`ext_seq`) sent, in order.
    pub fn ext_seqs(&self) -> Vec<u64> {
        self.sent.iter().map(|s| s.info.ext_seq).collect()
    }

    /// The wire sequence numbers sent (`ext_seq` modulo 2^16), in order.
    pub fn seqs(&self) -> Vec<u64> {
        self.sent.iter().map(|s| s.info.ext_seq & 0xFFFF).collect()
    }

    /// The leg of each sent copy, in send order.
    pub fn legs(&self) -> Vec<usize> {
        self.sent.iter().map(|s| s.info.leg).collect()
    }

    /// How many handles were freed for `why`.
    pub fn freed_as(&self, why: FreeReason) -> usize {
        self.freed.iter().filter(|(_, w)| *w == why).count()
    }

    /// Every handle given back either way (sent, then freed), for the
    /// "every handle returned exactly once" check.
    pub fn returned(&self) -> impl Iterator<Item = &H> {
        self.sent
            .iter()
            .map(|s| &s.handle)
            .chain(self.freed.iter().map(|(h, _)| h))
    }

    /// The kinds of the events reported, in order (any stream).
    pub fn event_kinds(&self) -> Vec<EventKind> {
        self.events.iter().map(|(_, e)| e.kind).collect()
    }
}

impl<H> Sink<H> for Recorder<H> {
    fn send(&mut self, stream: usize, handle: H, info: SendInfo) {
        self.sent.push(Sent {
            stream,
            handle,
            info,
        });
    }
    fn free(&mut self, handle: H, why: FreeReason) {
        self.freed.push((handle, why));
    }
    fn event(&mut self, stream: usize, event: Event) {
        self.events.push((stream, event));
    }
}

/// Counts and checksums the engine's output without allocating, so a
/// benchmark measures the engine and not the recorder, and the optimiser
/// cannot discard the work (the sums depend on every call).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Packets sent.
    pub sent: u64,
    /// Handles freed.
    pub freed: u64,
    /// Events reported.
    pub events: u64,
    /// Wrapping sum over sent `handle ^ ext_seq` and freed handles.
    pub sum: u64,
}

impl<H: Into<u64>> Sink<H> for Tally {
    #[inline]
    fn send(&mut self, _stream: usize, handle: H, info: SendInfo) {
        self.sent += 1;
        self.sum = self.sum.wrapping_add(handle.into() ^ info.ext_seq);
    }
    #[inline]
    fn free(&mut self, handle: H, _why: FreeReason) {
        self.freed += 1;
        self.sum = self.sum.wrapping_add(handle.into());
    }
    #[inline]
    fn event(&mut self, _stream: usize, _event: Event) {
        self.events += 1;
    }
}

/// Prints each call as it happens, interleaved with the harness's own
/// lines, for replaying one failing property-test seed by hand.
/// `describe` names a handle in the harness's terms (e.g. "idx 7 leg 1").
pub struct Trace<F> {
    describe: F,
}

impl<F> Trace<F> {
    /// A tracer naming handles with `describe`.
    pub fn new(describe: F) -> Self {
        Self { describe }
    }
}

impl<H, F: Fn(&H) -> String> Sink<H> for Trace<F> {
    fn send(&mut self, stream: usize, handle: H, info: SendInfo) {
        println!(
            "    SEND stream {stream} {} from leg {} ext {}",
            (self.describe)(&handle),
            info.leg,
            info.ext_seq
        );
    }
    fn free(&mut self, handle: H, why: FreeReason) {
        println!("    free {} {why:?}", (self.describe)(&handle));
    }
    fn event(&mut self, stream: usize, event: Event) {
        println!("    event stream {stream} {event}");
    }
}
