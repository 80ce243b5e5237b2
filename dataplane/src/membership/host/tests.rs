use super::*;
use crate::membership::frame::l3_of;

const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const ME: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const QUERIER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// (IGMP/MLD type, records) of a sent frame; records only for v3 reports.
fn decode(frame: &[u8]) -> (u8, Vec<(u8, IpAddr, Vec<IpAddr>)>) {
    let (et, l3) = l3_of(frame).unwrap();
    let (m, alen) = if et == 0x0800 {
        (&l3[usize::from(l3[0] & 15) * 4..], 4)
    } else {
        (&l3[48..], 16)
    };
    let addr = |b: &[u8]| -> IpAddr {
        if alen == 4 {
            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
        } else {
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[..16]);
            IpAddr::V6(Ipv6Addr::from(o))
        }
    };
    let mut records = Vec::new();
    if m[0] == igmp::TYPE_V3_REPORT || m[0] == mld::TYPE_V2_REPORT {
        let n = usize::from(u16::from_be_bytes([m[6], m[7]]));
        let mut at = 8;
        for _ in 0..n {
            let ns = usize::from(u16::from_be_bytes([m[at + 2], m[at + 3]]));
            let g = addr(&m[at + 4..]);
            let s = (0..ns)
                .map(|i| addr(&m[at + 4 + alen * (1 + i)..]))
                .collect();
            records.push((m[at], g, s));
            at += 4 + alen * (1 + ns);
        }
    } else {
        records.push((0, addr(&m[if alen == 4 { 4 } else { 8 }..]), Vec::new()));
    }
    (m[0], records)
}

fn host() -> Host {
    Host::new(
        MAC,
        Some(ME),
        None,
        &[
            Join {
                group: ip("232.1.1.1"),
                source: Some(ip("192.0.2.1")),
            },
            Join {
                group: ip("239.1.1.1"),
                source: None,
            },
        ],
        7,
    )
}

fn polled(h: &mut Host, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    h.poll(now, &mut out);
    out
}

fn query(h: &mut Host, now: u64, v: QueryVersion, g: Option<&str>, s: &[&str], ms: u64) {
    let g = g.map(|g| g.parse().unwrap());
    let s: Vec<Ipv4Addr> = s.iter().map(|s| s.parse().unwrap()).collect();
    let f = igmp::query(MAC, QUERIER, v, g, &s, ms);
    assert!(matches!(h.on_frame(now, &f), Heard::Query(_)));
}

/// Runs the host until `until`, stepping to each due time; returns (time, frame).
fn run_until(h: &mut Host, until: u64) -> Vec<(u64, Vec<u8>)> {
    let mut got = Vec::new();
    while let Some(t) = h.next_due().filter(|&t| t <= until) {
        for f in polled(h, t) {
            got.push((t, f));
        }
    }
    got
}

#[test]
fn joins_with_robustness_unsolicited_reports() {
    let mut h = host();
    h.start(0);
    let first = polled(&mut h, 0);
    assert_eq!(first.len(), 1);
    let (t, recs) = decode(&first[0]);
    assert_eq!(t, igmp::TYPE_V3_REPORT);
    assert_eq!(
        recs,
        vec![
            (5, ip("232.1.1.1"), vec![ip("192.0.2.1")]),
            (4, ip("239.1.1.1"), vec![])
        ]
    );
    assert!(polled(&mut h, 999).is_empty());
    assert_eq!(polled(&mut h, 1000).len(), 1);
    assert_eq!(h.next_due(), None, "robustness 2: two reports, then quiet");
    assert_eq!(h.counters().reports_sent, 2);
}

#[test]
fn general_query_is_answered_within_max_resp_with_current_state() {
    let mut h = host();
    for round in 0..20u64 {
        let t0 = 10_000 * round;
        query(&mut h, t0, QueryVersion::V3, None, &[], 2000);
        let due = h.next_due().unwrap();
        assert!((t0..=t0 + 2000).contains(&due), "{due}");
        let got = run_until(&mut h, t0 + 5000);
        assert_eq!(got.len(), 1);
        assert_eq!(
            decode(&got[0].1).1,
            vec![
                (1, ip("232.1.1.1"), vec![ip("192.0.2.1")]),
                (2, ip("239.1.1.1"), vec![])
            ]
        );
    }
    assert_eq!(h.counters().general_queries, 20);
    assert_eq!(h.counters().reports_sent, 20);
    assert_eq!(
        h.take_events(),
        vec![HostEvent::Querier {
            v6: false,
            version: QueryVersion::V3,
            addr: IpAddr::V4(QUERIER)
        }]
    );
}

#[test]
fn group_and_source_queries() {
    let mut h = host();
    // Not a member: nothing.
    query(&mut h, 0, QueryVersion::V3, Some("239.9.9.9"), &[], 1000);
    assert!(run_until(&mut h, 5000).is_empty());
    // Group-specific: that group's current state only.
    query(&mut h, 5000, QueryVersion::V3, Some("239.1.1.1"), &[], 1000);
    let got = run_until(&mut h, 10_000);
    assert_eq!(decode(&got[0].1).1, vec![(2, ip("239.1.1.1"), vec![])]);
    // Group-and-source on INCLUDE(S): IS_IN(asked * S).
    query(
        &mut h,
        10_000,
        QueryVersion::V3,
        Some("232.1.1.1"),
        &["192.0.2.1", "192.0.2.99"],
        1000,
    );
    let got = run_until(&mut h, 15_000);
    assert_eq!(
        decode(&got[0].1).1,
        vec![(1, ip("232.1.1.1"), vec![ip("192.0.2.1")])]
    );
    // Asked only about a source it does not want: silence.
    query(
        &mut h,
        15_000,
        QueryVersion::V3,
        Some("232.1.1.1"),
        &["192.0.2.99"],
        1000,
    );
    assert!(run_until(&mut h, 20_000).is_empty());
    // EXCLUDE({}) wants every asked source.
    query(
        &mut h,
        20_000,
        QueryVersion::V3,
        Some("239.1.1.1"),
        &["10.0.0.1"],
        1000,
    );
    let got = run_until(&mut h, 25_000);
    assert_eq!(
        decode(&got[0].1).1,
        vec![(1, ip("239.1.1.1"), vec![ip("10.0.0.1")])]
    );
    let c = h.counters();
    assert_eq!((c.group_queries, c.source_queries), (2, 3));
}

#[test]
fn v2_querier_forces_compatibility_until_its_timer_runs_out() {
    let mut h = host();
    h.start(0);
    query(&mut h, 0, QueryVersion::V2, None, &[], 10_000);
    assert!(h.take_events().contains(&HostEvent::Compat {
        v6: false,
        mode: Compat::V2
    }));
    // Answers group by group with v2 reports to the group.
    let got = run_until(&mut h, 11_000);
    let types: Vec<u8> = got.iter().map(|(_, f)| decode(f).0).collect();
    assert_eq!(types, vec![igmp::TYPE_V2_REPORT, igmp::TYPE_V2_REPORT]);
    let mut groups: Vec<IpAddr> = got.iter().map(|(_, f)| decode(f).1[0].1).collect();
    groups.sort();
    assert_eq!(groups, vec![ip("232.1.1.1"), ip("239.1.1.1")]);
    // Leave in v2 mode: Leave Group messages.
    let mut out = Vec::new();
    h.clone().leave(&mut out);
    assert!(out.iter().all(|f| decode(f).0 == igmp::TYPE_V2_LEAVE));
    assert_eq!(out.len(), 4, "2 groups x robustness 2");
    // Older Version Querier Present Timeout: 2 x 125 s + 10 s.
    assert!(polled(&mut h, 259_999).is_empty());
    assert_eq!(h.status()[0].compat, Compat::V2);
    polled(&mut h, 260_000);
    assert_eq!(h.status()[0].compat, Compat::V3);
    assert!(h.take_events().contains(&HostEvent::Compat {
        v6: false,
        mode: Compat::V3
    }));
    // A v1 query: v1 reports.
    query(&mut h, 300_000, QueryVersion::V1, None, &[], 0);
    let got = run_until(&mut h, 320_000);
    assert!(got.iter().all(|(_, f)| decode(f).0 == igmp::TYPE_V1_REPORT));
    let mut out = Vec::new();
    h.leave(&mut out);
    assert!(out.is_empty(), "IGMPv1 has no leave");
}

#[test]
fn v3_leave_blocks_sources_and_goes_to_include_nothing() {
    let mut h = host();
    let mut out = Vec::new();
    h.leave(&mut out);
    assert_eq!(out.len(), 2, "robustness copies");
    assert_eq!(
        decode(&out[0]).1,
        vec![
            (6, ip("232.1.1.1"), vec![ip("192.0.2.1")]),
            (3, ip("239.1.1.1"), vec![])
        ]
    );
    assert_eq!(h.counters().leaves_sent, 2);
}

#[test]
fn mld_host_from_link_local_with_v1_compat() {
    let joins = [
        Join {
            group: ip("ff3e::8000:1"),
            source: Some(ip("2001:db8::1")),
        },
        Join {
            group: ip("ff3e::8000:1"),
            source: Some(ip("2001:db8::2")),
        },
    ];
    let mut h = Host::new(MAC, None, Some("2001:db8::10".parse().unwrap()), &joins, 3);
    assert_eq!(h.status()[0].source, ip("fe80::ff:fe00:1"));
    assert_eq!(h.status()[0].groups, 1);
    h.start(0);
    let f = polled(&mut h, 0);
    assert_eq!(
        decode(&f[0]),
        (
            mld::TYPE_V2_REPORT,
            vec![(
                5,
                ip("ff3e::8000:1"),
                vec![ip("2001:db8::1"), ip("2001:db8::2")]
            )]
        )
    );
    let q = link_local_of([2, 0, 0, 0, 0, 0xfe]);
    let qf = mld::query(MAC, q, QueryVersion::V2, None, &[], 1000);
    h.on_frame(5000, &qf);
    assert_eq!(h.status()[0].compat, Compat::V2);
    let got = run_until(&mut h, 7000);
    assert_eq!(decode(&got[0].1).0, mld::TYPE_V1_REPORT);
    let mut out = Vec::new();
    h.leave(&mut out);
    assert!(out.iter().all(|f| decode(f).0 == mld::TYPE_V1_DONE));
}

#[test]
fn update_leaves_removed_groups_and_reports_the_new_set() {
    let mut h = host();
    h.start(0);
    run_until(&mut h, 5000);
    let keep = Join {
        group: ip("239.1.1.1"),
        source: None,
    };
    let add = Join {
        group: ip("239.1.1.2"),
        source: None,
    };
    let mut out = Vec::new();
    // Unchanged: nothing sent.
    h.update(
        &[
            Join {
                group: ip("232.1.1.1"),
                source: Some(ip("192.0.2.1")),
            },
            keep,
        ],
        6000,
        &mut out,
    );
    assert!(out.is_empty() && h.next_due().is_none());
    // 232.1.1.1 removed, 239.1.1.2 added.
    h.update(&[keep, add], 6000, &mut out);
    assert_eq!(out.len(), 2, "robustness copies of the leave");
    assert_eq!(
        decode(&out[0]).1,
        vec![(6, ip("232.1.1.1"), vec![ip("192.0.2.1")])],
        "BLOCK_OLD of the removed group's source only"
    );
    let reports = polled(&mut h, 6000);
    assert_eq!(reports.len(), 1);
    assert_eq!(
        decode(&reports[0]).1,
        vec![(4, ip("239.1.1.1"), vec![]), (4, ip("239.1.1.2"), vec![])],
        "the new set, as a state change"
    );
    assert_eq!(h.status()[0].groups, 2);
}
