use super::*;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn st2110_20_separate_destinations() {
    let s = parse(include_str!("../../../examples/st2110-20-dup.sdp")).unwrap();
    assert_eq!(s.legs.len(), 2);
    assert_eq!(s.legs[0].group, sa("239.100.10.1:50000"));
    assert_eq!(s.legs[0].source, ip("192.168.1.10"));
    assert_eq!(s.legs[0].mid.as_deref(), Some("primary"));
    assert_eq!(s.legs[1].group, sa("239.200.10.1:50000"));
    assert_eq!(s.legs[1].source, ip("192.168.2.10"));
    assert_eq!(s.media.0, "video");
    assert!(s
        .attributes
        .iter()
        .any(|a| a.starts_with("fmtp:96 sampling=YCbCr-4:2:2")));
    assert!(s.warnings.is_empty());
}

#[test]
fn aes67_same_destination_different_ports_session_level_filter() {
    let s = parse(include_str!("../../../examples/aes67-dup-same-group.sdp")).unwrap();
    assert_eq!(
        s.legs.iter().map(|l| l.group).collect::<Vec<_>>(),
        vec![sa("239.69.1.1:5004"), sa("239.69.1.1:5006")]
    );
    assert!(s.legs.iter().all(|l| l.source == ip("192.168.1.20")));
}

#[test]
fn st2110_30_ipv6() {
    let s = parse(include_str!("../../../examples/st2110-30-dup-ipv6.sdp")).unwrap();
    assert_eq!(s.legs[0].group, sa("[ff3e::8000:1]:5004"));
    assert_eq!(s.legs[1].source, ip("2001:db8:1::20"));
}

#[test]
fn single_leg_is_a_warning() {
    let s = parse(include_str!("../../../examples/single-leg.sdp")).unwrap();
    assert_eq!(s.legs.len(), 1);
    assert_eq!(s.warnings.len(), 1);
}

#[test]
fn dup_order_is_the_group_line_order() {
    let text = "v=0\ns=x\nt=0 0\na=group:DUP b a\nm=video 5000 RTP/AVP 96\nc=IN IP4 239.1.1.1/32\na=mid:a\nm=video 5000 RTP/AVP 96\nc=IN IP4 239.2.2.2/32\na=mid:b\n";
    let s = parse(text).unwrap();
    assert_eq!(s.legs[0].group, sa("239.2.2.2:5000"));
    assert_eq!(s.legs[0].line, 8);
}

#[test]
fn bad_sdp_names_the_line_and_reason() {
    let base = "v=0\ns=x\nt=0 0\na=group:DUP a b\nm=video 5000 RTP/AVP 96\nc=IN IP4 239.1.1.1/32\na=mid:a\nm=video 5000 RTP/AVP 96\nc=IN IP4 239.2.2.2/32\na=mid:b\n";
    assert!(parse(base).is_ok());
    for (text, line, needle) in [
        ("", 0, "empty"),
        ("x\n", 1, "not an SDP line"),
        ("s=x\n", 1, "starts with v=0"),
        (
            &base.replace("239.1.1.1/32", "10.0.0.1"),
            6,
            "not a multicast",
        ),
        (
            &base.replace("a=mid:b", "a=mid:c"),
            4,
            "no media has a=mid:b",
        ),
        (&base.replace("5000 RTP", "0 RTP"), 5, "bad port"),
        (&base.replace("5000 RTP", "x RTP"), 5, "bad port"),
        (
            &base.replace("c=IN IP4 239.1.1.1/32", "c=IN IP4 239.1.1.1/32/3"),
            6,
            "multiple addresses",
        ),
        (
            &base.replace("c=IN IP4 239.2.2.2/32", "c=IN IP6 239.2.2.2"),
            9,
            "not an IP6",
        ),
        (
            &base.replace("c=IN IP4 239.2.2.2/32", "c=IN IP6 ff3e::1"),
            8,
            "different IP families",
        ),
        (
            &base.replace(
                "a=mid:a",
                "a=mid:a\na=source-filter: excl IN IP4 239.1.1.1 192.0.2.1",
            ),
            8,
            "only incl",
        ),
        (
            &base.replace(
                "a=mid:a",
                "a=mid:a\na=source-filter: incl IN IP4 239.1.1.1 192.0.2.1 192.0.2.2",
            ),
            8,
            "more than one source",
        ),
        (
            &base.replace(
                "a=mid:a",
                "a=mid:a\na=source-filter: incl IN IP4 239.1.1.1 239.9.9.9",
            ),
            8,
            "not a unicast",
        ),
        (
            &base.replace("c=IN IP4 239.1.1.1/32\n", ""),
            5,
            "no c= line",
        ),
        (&base.replace("a=group:DUP a b\n", ""), 7, "no a=group:DUP"),
        ("v=0\ns=x\n", 0, "no media"),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, line, "{text:?}: {e:?}");
        assert!(e.reason.contains(needle), "{text:?}: {e:?}");
    }
}

#[test]
fn arbitrary_text_never_panics() {
    let base = include_str!("../../../examples/st2110-20-dup.sdp");
    for n in 0..base.len() {
        if base.is_char_boundary(n) {
            let _ = parse(&base[..n]);
        }
    }
    let _ = parse("v=0\nm=\na=\nc=\n\u{0}=\u{ffff}\n");
}

#[test]
fn output_sdp_round_trips() {
    let src = parse(include_str!("../../../examples/st2110-20-dup.sdp")).unwrap();
    let text = output_sdp(
        "out",
        sa("239.10.0.1:5004"),
        ip("10.9.9.9"),
        Some(32),
        Some((&src.media, &src.attributes)),
    );
    assert!(text.contains("c=IN IP4 239.10.0.1/32\r\n"), "{text}");
    let back = parse(&text).unwrap();
    assert_eq!(back.legs.len(), 1);
    assert_eq!(back.legs[0].group, sa("239.10.0.1:5004"));
    assert_eq!(back.legs[0].source, ip("10.9.9.9"));
    assert_eq!(back.attributes, src.attributes);
}
