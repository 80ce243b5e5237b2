//! Handing a judged copy to the merge engine, with its UDP checksum
//! verified only when the engine may send it.
//!
//! Why: on a clean A/B pair every packet arrives twice and one copy of
//! each is a duplicate; the software UDP checksum over a ~1400-byte
//! datagram was most of the rx cost, and half of it went on copies that
//! were then dropped. The rx parse leaves the checksum
//! [`Integrity::Pending`]; here a copy the engine can only free
//! ([`Engine::wants`] false: its position was already sent or given up) is
//! handed in unverified and dropped as a duplicate, and every other copy is
//! verified before the engine sees it. So no copy reaches the output
//! unverified: a corrupt copy that arrives first is verified and caught,
//! one that arrives second is never sent (property-tested in
//! `tests/admit_props.rs`). A copy the engine can only free is verified
//! after all when its payload digest disagrees with the copy sent at its
//! position ([`Engine::sent_before`]): rare, and it keeps a copy damaged
//! in transit from counting as `payload_mismatch`. Hardware verdicts ([`Integrity::Ok`] or a bad
//! checksum flagged by the NIC) pass straight through.

#![forbid(unsafe_code)]

use crate::merge::{Engine, Sink, Verdict};
use crate::seq::SeqSample;
use crate::slots::{Checked, Digest};
use crate::wire::Integrity;

/// One copy the rx stage judged, on its way into the engine.
#[derive(Debug)]
pub struct Judged<H> {
    /// Stream index.
    pub stream: usize,
    /// Leg index (0 = primary).
    pub leg: usize,
    /// Its sequence number, not yet extended.
    pub sample: SeqSample,
    /// What the rx parse found ([`Integrity::Pending`]: UDP checksum not
    /// yet verified).
    pub integrity: Integrity,
    /// Its payload's digest, compared with the other legs' copies (what the
    /// checksum field claims: a copy that may be sent is verified first).
    pub digest: Digest,
    /// The packet.
    pub handle: H,
}

/// Whether [`admit`] computed the copy's UDP checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// Judged before (by the NIC, or not checked at all).
    AlreadyJudged,
    /// Verified now: the copy may be sent.
    Verified,
    /// Not computed: the copy can only be a duplicate and is freed.
    Skipped,
}

/// Hands `copy` to `engine` at `now`, computing a pending checksum with
/// `verify` (true = intact) only when the engine may send the copy.
#[inline(always)]
pub fn admit<H>(
    engine: &mut Engine<H>,
    copy: Judged<H>,
    now: u64,
    sink: &mut impl Sink<H>,
    verify: impl FnOnce(&H) -> bool,
) -> Checksum {
    let (verdict, checksum) = match copy.integrity {
        Integrity::Ok => (Verdict::Good, Checksum::AlreadyJudged),
        Integrity::Pending => match engine.sent_before(copy.stream, copy.leg, &copy.sample) {
            // Behind the output cursor: freed whatever it holds (see
            // `Engine::wants`), counted as a duplicate or late copy...
            Some(sent) if !copy.digest.disagrees(sent) => (Verdict::Good, Checksum::Skipped),
            // ... unless it disagrees with the copy sent there: verified,
            // so only an intact copy counts `payload_mismatch`. Else it
            // may be sent: verified.
            _ => (Verdict::of(verify(&copy.handle)), Checksum::Verified),
        },
        Integrity::BadIpChecksum | Integrity::BadUdpChecksum => {
            (Verdict::Corrupt, Checksum::AlreadyJudged)
        }
    };
    let checked = Checked {
        verdict,
        digest: copy.digest,
    };
    engine.insert(
        (copy.stream, copy.leg),
        copy.sample,
        checked,
        copy.handle,
        now,
        sink,
    );
    checksum
}
