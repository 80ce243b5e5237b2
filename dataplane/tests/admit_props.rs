//! Verify only what will be used (`dataplane::admit`): the UDP checksum is
//! computed only for copies the engine may send, and no corrupt copy is
//! ever sent. Random loss, corruption and skew (either leg ahead) on two
//! legs, in both modes; each case runs twice, once verifying every copy at
//! rx (the reference) and once deferring the checksum to `admit`.
//! Properties: the two outputs are byte-identical; every output frame has
//! valid checksums (full recompute by the independent testkit); no copy
//! whose checksum was skipped is ever sent; a clean pair skips exactly one
//! checksum per packet.

use std::net::IpAddr;

use dataplane::admit::{admit, Checksum, Judged};
use dataplane::merge::record::Recorder;
use dataplane::merge::{Engine, MergeConfig, Mode, Reorder, Verdict};
use dataplane::seq::{Extract, SeqSpec};
use dataplane::slots::Digest;
use dataplane::wire::{parse_frame, verify_udp, FrameOffsets, Integrity, L4Check};
use proptest::prelude::*;
use testkit::{build_rtp_frame, FrameSpec, RtpFields};

/// A handle: arrival number, leg, wire frame, where its headers are.
type Handle = (usize, usize, Vec<u8>, FrameOffsets);

type Collect = Recorder<Handle>;

fn frame(leg: usize, seq: u16) -> Vec<u8> {
    frame_xor(leg, seq, 0)
}

/// [`frame`] with its payload's last byte XORed with `x` (and valid
/// checksums): a copy whose content differs.
fn frame_xor(leg: usize, seq: u16, x: u8) -> Vec<u8> {
    let src: IpAddr = format!("10.0.{}.1", leg + 1).parse().unwrap();
    let group: IpAddr = format!("239.{}.0.1", leg + 1).parse().unwrap();
    let rtp = RtpFields {
        seq,
        timestamp: u32::from(seq) * 3000,
        ssrc: 0xfeed_0001,
        pt: 96,
        marker: false,
    };
    let mut payload: Vec<u8> = (0..300u32).map(|i| (i as u16 ^ seq) as u8).collect();
    payload[299] ^= x;
    build_rtp_frame(&FrameSpec::multicast(src, group, 5000), &rtp, &payload)
}

/// One copy as it reaches the rx stage: (leg, seq, corrupt).
type Copy = (usize, u16, bool);

fn engine(hitless: bool) -> Engine<Handle> {
    let cfg = MergeConfig {
        mode: if hitless {
            Mode::Hitless
        } else {
            Mode::Primary
        },
        max_delay: 1_000,
        leg_timeout: 1_000_000,
        // The default policy: copies given up on evidence as well as on time.
        reorder: Reorder::Auto,
        margin: 0,
        ..MergeConfig::default()
    };
    Engine::new(&[cfg]).unwrap()
}

/// Copy number `id` of leg `leg` as the rx stage hands it on: parsed with
/// `l4`, its sequence read, its payload digest taken.
fn judged(id: usize, leg: usize, f: Vec<u8>, l4: L4Check) -> Judged<Handle> {
    let info = parse_frame(&f, l4).unwrap();
    let sample = SeqSpec::Rtp.extract(&f[info.offsets.payload()]).unwrap();
    Judged {
        stream: 0,
        leg,
        sample,
        integrity: info.integrity,
        digest: Digest::of(info.payload_sum),
        handle: (id, leg, f, info.offsets),
    }
}

/// Runs `copies` through parse + merge; `deferred`: the rx stage leaves the
/// UDP checksum to `admit`. Returns the sink and what `admit` did per copy.
fn run(copies: &[Copy], hitless: bool, deferred: bool) -> (Collect, Vec<Checksum>) {
    let mut e = engine(hitless);
    let mut sink = Collect::default();
    let mut done = Vec::new();
    let mut now = 0u64;
    for (id, &(leg, seq, corrupt)) in copies.iter().enumerate() {
        let mut f = frame(leg, seq);
        if corrupt {
            let at = f.len() - 3;
            f[at] ^= 0x5a; // a payload byte: only the UDP checksum tells
        }
        let l4 = if deferred {
            L4Check::Deferred
        } else {
            L4Check::Software
        };
        let copy = judged(id, leg, f, l4);
        now += 10;
        if deferred {
            assert_eq!(copy.integrity, Integrity::Pending);
            done.push(admit(&mut e, copy, now, &mut sink, |h| {
                verify_udp(&h.2, h.3)
            }));
        } else {
            assert_eq!(copy.integrity == Integrity::Ok, !corrupt);
            let verdict = Verdict::of(!corrupt);
            e.insert((0, leg), copy.sample, verdict, copy.handle, now, &mut sink);
            done.push(Checksum::AlreadyJudged);
        }
        e.poll(now, &mut sink);
    }
    e.drain(now + 1_000_000, &mut sink);
    assert_eq!(sink.sent.len() + sink.freed.len(), copies.len());
    (sink, done)
}

/// Both runs of a case, and what every property says about them.
fn check(copies: &[Copy], hitless: bool) -> Vec<Checksum> {
    let (eager, _) = run(copies, hitless, false);
    let (lazy, done) = run(copies, hitless, true);
    let bytes = |c: &Collect| {
        c.sent
            .iter()
            .map(|x| x.handle.2.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(bytes(&lazy), bytes(&eager), "deferred output differs");
    for (id, _, f, _) in lazy.sent.iter().map(|x| &x.handle) {
        testkit::checksum::verify_checksums(f)
            .unwrap_or_else(|e| panic!("copy {id} sent corrupt: {e}"));
        assert_ne!(done[*id], Checksum::Skipped, "copy {id} sent unverified");
    }
    done
}

/// The copies of `n` packets from `start`: the secondary `skew` packets
/// behind the primary (negative: ahead), loss and corruption per copy.
fn copies(
    n: usize,
    start: u16,
    skew: i64,
    lost: &[(bool, bool)],
    bad: &[(bool, bool)],
) -> Vec<Copy> {
    let mut out = Vec::new();
    let (lag0, lag1) = if skew >= 0 { (0, skew) } else { (-skew, 0) };
    for t in 0..n as i64 + skew.abs() {
        for (leg, lag) in [(0usize, lag0), (1, lag1)] {
            let i = t - lag;
            if i < 0 || i >= n as i64 {
                continue;
            }
            let i = i as usize;
            let (l, b) = if leg == 0 {
                (lost[i].0, bad[i].0)
            } else {
                (lost[i].1, bad[i].1)
            };
            if !l {
                out.push((leg, start.wrapping_add(i as u16), b));
            }
        }
    }
    out
}

#[test]
fn corrupt_first_is_caught_and_corrupt_second_is_not_even_checked() {
    for hitless in [false, true] {
        // Packet 0: primary corrupt first, secondary intact second: the
        // secondary's copy goes out. Packet 1: primary intact first, then a
        // corrupt secondary: its checksum is never computed.
        let c = [(0, 0, true), (1, 0, false), (0, 1, false), (1, 1, true)];
        let done = check(&c, hitless);
        assert_eq!(done[0], Checksum::Verified);
        assert_eq!(done[1], Checksum::Verified);
        assert_eq!(done[2], Checksum::Verified);
        assert_eq!(done[3], Checksum::Skipped);
        let (lazy, _) = run(&c, hitless, true);
        let sent: Vec<(usize, usize)> =
            lazy.sent.iter().map(|x| (x.handle.0, x.handle.1)).collect();
        assert_eq!(sent, [(1, 1), (2, 0)], "hitless {hitless}");
    }
}

#[test]
fn a_clean_pair_verifies_each_packet_once() {
    for hitless in [false, true] {
        for skew in [0i64, 3, -3] {
            let n = 100;
            let c = copies(
                n,
                65500,
                skew,
                &vec![(false, false); n],
                &vec![(false, false); n],
            );
            let done = check(&c, hitless);
            let skipped = done.iter().filter(|&&d| d == Checksum::Skipped).count();
            let verified = done.iter().filter(|&&d| d == Checksum::Verified).count();
            assert_eq!(verified + skipped, 2 * n);
            // One copy per packet is verified; a leg's copies are verified
            // too until the leg is up (its first good copy), and in primary
            // mode with the secondary ahead its copies wait for the
            // primary's (held: may be sent), so they are verified as well.
            if skew >= 0 || hitless {
                assert!(
                    (n..=n + 2).contains(&verified),
                    "hitless {hitless} skew {skew}: {verified}"
                );
            } else {
                assert!(verified >= n, "skew {skew}: {verified}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn no_corrupt_copy_is_ever_sent_and_output_equals_eager_verification(
        n in 10usize..150,
        start in any::<u16>(),
        skew in -6i64..7,
        hitless in any::<bool>(),
        flags in prop::collection::vec(
            ((prop::bool::weighted(0.1), prop::bool::weighted(0.1)),
             (prop::bool::weighted(0.2), prop::bool::weighted(0.2))),
            150,
        ),
    ) {
        let lost: Vec<(bool, bool)> = flags.iter().map(|f| f.0).collect();
        let bad: Vec<(bool, bool)> = flags.iter().map(|f| f.1).collect();
        check(&copies(n, start, skew, &lost, &bad), hitless);
    }
}

/// A duplicate behind the cursor (handed in unverified) whose digest
/// disagrees with the sent copy's is verified first: one whose checksum
/// field was damaged is caught as corrupt and counts no mismatch; one
/// whose payload differs under a valid checksum counts `payload_mismatch`.
/// (Sequence 8: copies are compared at positions that are multiples of 8
/// only, and in epoch 0 the position is the sequence number.)
#[test]
fn a_duplicate_that_disagrees_is_verified_first() {
    for damaged_field in [true, false] {
        let mut e = engine(false);
        let mut sink = Collect::default();
        let mut done = Vec::new();
        for (id, leg) in [(0usize, 0usize), (1, 1)] {
            let mut f = frame_xor(leg, 8, if leg == 1 && !damaged_field { 0x5a } else { 0 });
            if leg == 1 && damaged_field {
                // The UDP checksum field (bytes 40..42 of this frame).
                f[40] ^= 0x11;
            }
            let copy = judged(id, leg, f, L4Check::Deferred);
            done.push(admit(&mut e, copy, 10, &mut sink, |h| {
                verify_udp(&h.2, h.3)
            }));
        }
        assert_eq!(done, [Checksum::Verified, Checksum::Verified]);
        let c = e.counters(0);
        assert_eq!(sink.sent.len(), 1);
        if damaged_field {
            assert_eq!((c.payload_mismatch, c.legs[1].corrupt), (0, 1));
        } else {
            assert_eq!((c.payload_mismatch, c.legs[1].duplicates), (1, 1));
        }
    }
}
