#![cfg(feature = "dpdk")]
//! End to end through the real DPDK: pcap vdev in -> `io_forward` on a worker
//! lcore -> pcap vdev out. The output file must hold exactly the input's
//! frames, byte for byte, in order, and every mbuf must be back in the pool.
//!
//! One #[test] in this file: EAL can be initialised once per process.
//! Needs root (hugepages or --no-huge memory, vdev probing); if EAL cannot
//! start the test fails, it never passes silently.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dataplane::dpdk::{
    Eal, ElemRing, FreeBatch, HwCksum, MbufRing, Mempool, Port, RxBatch, TxBatch,
    DEFAULT_DATA_ROOM, SOCKET_ANY,
};
use dataplane::rewrite::FrameBuf;
use dataplane::worker::io::io_forward;
use testkit::frame::{build_rtp_frame_with_pattern, FrameSpec, RtpFields};
use testkit::pcap::{read_frames, write_pcap, PcapPacket, TsResolution};

const PACKETS: usize = 1000;
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// Memory flags: hugepages when hugetlbfs is mounted with enough free 2 MiB
/// pages (unlinked at once, so runs with unique prefixes leave no files
/// pinning pages behind), otherwise plain memory.
fn memory_args() -> Vec<String> {
    let mounted = std::fs::read_to_string("/proc/mounts")
        .map(|m| {
            m.lines()
                .any(|l| l.split_whitespace().nth(2) == Some("hugetlbfs"))
        })
        .unwrap_or(false);
    let free = std::fs::read_to_string("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if mounted && free >= 128 {
        vec!["--huge-unlink".into()]
    } else {
        vec!["--no-huge".into(), "-m".into(), "512".into()]
    }
}

/// A mix of frame sizes (60..1514 B) so short and full-size frames both go
/// through; each one distinct (RTP sequence in header and payload pattern).
fn input_frames() -> Vec<Vec<u8>> {
    let spec = FrameSpec::multicast(
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
        IpAddr::V4(Ipv4Addr::new(239, 1, 1, 1)),
        5000,
    );
    (0..PACKETS)
        .map(|i| {
            let rtp = RtpFields {
                seq: i as u16,
                timestamp: 90 * i as u32,
                ssrc: 0x1234_5678,
                pt: 33,
                marker: false,
            };
            let len = [18, 200, 1200, 1460][i % 4] + i % 7;
            build_rtp_frame_with_pattern(&spec, &rtp, len)
        })
        .collect()
}

fn tmp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("dpdk_io_test_{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("create temp dir");
    d
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The wrappers the io path does not exercise: mbuf editing, the FrameBuf
/// impl, batches and the SP/SC ring, all checked against the pool's in-use
/// count so a leak or double free shows.
fn check_mbuf_ring_and_batches(eal: &Eal, pool: &Mempool<'_>) {
    let mut m = pool.alloc().expect("alloc");
    assert_eq!(pool.in_use(), 1);
    assert_eq!((m.len(), m.refcnt(), m.nb_segs()), (0, 1, 1));
    assert_eq!(m.headroom(), 128, "RTE_PKTMBUF_HEADROOM");
    let body = m.append(100).expect("append 100 bytes");
    assert!(body.iter().all(|&b| b == 0));
    for (i, b) in m.data_mut().iter_mut().enumerate() {
        *b = i as u8;
    }
    assert!(m.prepend(4));
    assert_eq!(m.len(), 104);
    assert_eq!(&m.data()[4..8], &[0, 1, 2, 3]);
    assert!(FrameBuf::trim_front(&mut m, 4));
    assert_eq!(FrameBuf::bytes(&m)[0], 0);
    assert!(m.trim(10));
    assert_eq!((m.len(), m.pkt_len()), (90, 90));
    assert!(!m.prepend(10_000), "more than the headroom");
    assert!(!m.adj(91), "more than the data");
    assert_eq!(m.len(), 90, "failed edits leave the mbuf unchanged");
    assert_eq!(m.ip_cksum(), HwCksum::Unknown);
    assert_eq!(m.l4_cksum(), HwCksum::Unknown);
    drop(m);
    assert_eq!(pool.in_use(), 0, "Mbuf drop frees");

    let mut tx = TxBatch::new(8);
    for i in 0..8u8 {
        let mut m = pool.alloc().expect("alloc");
        m.append(1).expect("append")[0] = i;
        tx.push(m).expect("room in batch");
    }
    let extra = pool.alloc().expect("alloc");
    let extra = tx.push(extra).expect_err("batch of 8 is full");
    drop(extra);
    assert_eq!(pool.in_use(), 8);

    let ring = MbufRing::new(eal, "io_test_ring", 6, SOCKET_ANY).expect("ring");
    let mut prod = ring.producer().expect("producer");
    assert!(ring.producer().is_err(), "one producer at a time");
    let mut cons = ring.consumer().expect("consumer");
    assert_eq!(prod.enqueue_burst(&mut tx), 6, "ring holds exactly 6");
    assert_eq!((tx.len(), ring.count(), ring.free_count()), (2, 6, 0));
    let mut rx = RxBatch::new(4);
    assert_eq!(cons.dequeue_burst(&mut rx), 4);
    let firsts: Vec<u8> = (&mut rx).take(2).map(|m| m.data()[0]).collect();
    assert_eq!(firsts, vec![0, 1], "FIFO order");
    assert_eq!(prod.enqueue_burst(&mut tx), 2);
    assert!(tx.is_empty());
    drop(rx); // two untaken mbufs freed by the batch
    assert_eq!(pool.in_use(), 4, "4 left in the ring");
    drop((prod, cons));
    drop(ring); // frees what is still queued
    assert_eq!(pool.in_use(), 0, "ring drop frees its contents");

    // A ring of values (the shard dispatch's): each value moves whole, with
    // the mbuf it owns; a partial enqueue keeps the rest in order; values
    // left in the ring are dropped (their mbufs freed) with it.
    struct Judged {
        tag: u64,
        mbuf: dataplane::dpdk::Mbuf,
    }
    let ring: ElemRing<'_, Judged> =
        ElemRing::new(eal, "io_test_elems", 7, SOCKET_ANY).expect("ring");
    let mut prod = ring.producer().expect("producer");
    assert!(ring.producer().is_err(), "one producer at a time");
    let mut cons = ring.consumer().expect("consumer");
    let mut staged: Vec<Judged> = (0..10u64)
        .map(|tag| Judged {
            tag,
            mbuf: pool.alloc().expect("alloc"),
        })
        .collect();
    assert_eq!(prod.enqueue_burst(&mut staged), 7, "ring holds exactly 7");
    assert_eq!(
        staged.iter().map(|j| j.tag).collect::<Vec<_>>(),
        vec![7, 8, 9]
    );
    assert_eq!(
        (ring.count(), pool.in_use()),
        (7, 10),
        "nothing freed by the move"
    );
    let mut out: Vec<Judged> = Vec::with_capacity(4);
    assert_eq!(
        cons.dequeue_burst(&mut out, 8),
        4,
        "bounded by the spare capacity"
    );
    assert_eq!(
        out.iter().map(|j| j.tag).collect::<Vec<_>>(),
        vec![0, 1, 2, 3]
    );
    assert!(out.iter().all(|j| j.mbuf.refcnt() == 1));
    out.clear();
    assert_eq!(cons.dequeue_burst(&mut out, 2), 2, "bounded by max");
    assert_eq!(out.iter().map(|j| j.tag).collect::<Vec<_>>(), vec![4, 5]);
    out.clear();
    assert_eq!(pool.in_use(), 4, "6 freed with their values");
    assert_eq!(prod.enqueue_burst(&mut staged), 3);
    assert!(staged.is_empty());
    drop((prod, cons));
    drop(ring);
    assert_eq!(pool.in_use(), 0, "ring drop drops its values");
    assert!(
        ElemRing::<u8>::new(eal, "io_test_bad", 7, SOCKET_ANY).is_err(),
        "an element size DPDK cannot copy is refused"
    );

    let mut free = FreeBatch::new();
    for _ in 0..100 {
        free.push(pool.alloc().expect("alloc"));
    }
    assert_eq!(pool.in_use(), 36, "100 pushed, 64 flushed when full");
    drop(free);
    assert_eq!(pool.in_use(), 0);
}

#[test]
fn pcap_vdev_io_forward_is_byte_exact_and_leak_free() {
    let dir = tmp_dir();
    let input = dir.join("in.pcap");
    let output = dir.join("out.pcap");
    let frames = input_frames();
    let packets: Vec<PcapPacket> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| PcapPacket::new(1_700_000_000_000_000_000 + i as u64 * 1000, f.clone()))
        .collect();
    write_pcap(&input, TsResolution::Nano, &packets).expect("write input pcap");

    let mut args: Vec<String> = vec![
        "dpdk_io_test".into(),
        "-l".into(),
        "0-1".into(),
        "--no-pci".into(),
        format!("--file-prefix=dpdk_io_{}", std::process::id()),
        "--log-level=warn".into(),
        "--vdev".into(),
        format!("net_pcap0,rx_pcap={}", path_str(&input)),
        "--vdev".into(),
        format!("net_pcap1,tx_pcap={}", path_str(&output)),
    ];
    args.extend(memory_args());

    let eal = match Eal::init(&args) {
        Ok(e) => e,
        Err(e) => panic!(
            "EAL init failed ({e}) with {args:?}: this test needs root and DPDK (scripts/setup.sh)"
        ),
    };
    assert_eq!(eal.port_ids(), vec![0, 1], "both pcap vdevs probed");
    let worker = *eal
        .worker_lcores()
        .first()
        .expect("EAL started with -l 0-1 has a worker lcore");

    let pool = Mempool::pktmbuf(
        &eal,
        "io_test_pool",
        4095,
        256,
        DEFAULT_DATA_ROOM,
        SOCKET_ANY,
    )
    .expect("create mempool");
    let mut rx = Port::new(&eal, 0).expect("port 0");
    let mut tx = Port::new(&eal, 1).expect("port 1");
    assert_eq!(rx.driver_name(), "net_pcap");
    assert!(Port::new(&eal, 1).is_err(), "a port can be taken only once");
    assert!(Port::new(&eal, 7).is_err(), "port 7 was never probed");
    for p in [&mut rx, &mut tx] {
        p.configure(1, 1, 512, 512, &pool).expect("configure");
        p.start().expect("start");
    }

    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (io_stats, forwarded) = eal.scope(|s| {
        let job = s
            .spawn(worker, || {
                let st = io_forward(&rx, &tx, 32, &stop).expect("claim queues");
                assert_eq!(st.dropped, 0, "no tx refusals on a pcap vdev");
                0
            })
            .expect("launch io_forward on the worker lcore");
        // Poll the output port's counter, bounded by count and time.
        let mut sent = 0;
        while started.elapsed() < TIME_LIMIT {
            sent = tx.stats().expect("tx stats").opackets;
            if sent >= PACKETS as u64 {
                break;
            }
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        let rc = job.join().expect("io_forward lcore closure did not panic");
        (rc, sent)
    });
    assert_eq!(io_stats, 0);
    assert_eq!(
        forwarded, PACKETS as u64,
        "forwarded {forwarded}/{PACKETS} within {TIME_LIMIT:?}"
    );

    let rx_stats = rx.stats().expect("rx stats");
    let tx_stats = tx.stats().expect("tx stats");
    assert_eq!(rx_stats.ipackets, PACKETS as u64);
    assert_eq!(tx_stats.opackets, PACKETS as u64);
    let bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
    assert_eq!(tx_stats.obytes, bytes);
    assert!(!rx.xstats().expect("xstats").is_empty());

    // Stopping the pcap port closes (flushes) the tx dumper; closing the
    // ports returns every rx-ring mbuf to the pool.
    rx.stop().expect("stop rx");
    tx.stop().expect("stop tx");
    drop(rx);
    drop(tx);
    assert_eq!(pool.in_use(), 0, "mbufs leaked");
    assert_eq!(pool.avail(), pool.size());
    check_mbuf_ring_and_batches(&eal, &pool);
    drop(pool);
    drop(eal);

    let out = read_frames(&output).expect("read output pcap");
    assert_eq!(out.len(), frames.len(), "output frame count");
    for (i, (got, want)) in out.iter().zip(&frames).enumerate() {
        assert_eq!(got, want, "frame {i} differs");
    }
    std::fs::remove_dir_all(&dir).ok();
}
