#!/usr/bin/env python3
"""Judge a client-side capture of the merged output the way a user would.

Why: the end-to-end demo and tests/e2e_wire.rs must assert what a viewer of the virtual group
sees, with independent tools: tshark's own RTP stream analysis (lost packets, its "Problems?"
flag) and MPEG-TS expert (continuity-counter errors), a strict sequence walk over every
packet, header checks (virtual group/port, multicast MAC, source IP, IP/UDP checksums), and
ffmpeg decoding the transport stream reassembled from the RTP payloads.

usage: check_capture.py PCAP GROUP:PORT OUT_SRC_IP WORKDIR [EXPECTED_PACKETS]

Prints human-readable lines, then exactly one machine-readable line:
  RESULT key=value key=value ...
Exit status: 0 when every check passes, 1 when any fails, 2 on usage/tool errors.
"""

import re
import subprocess
import sys
from pathlib import Path


def tshark(args):
    proc = subprocess.run(
        ["tshark", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        print(f"tshark {' '.join(args)} failed: {proc.stderr.strip()}", file=sys.stderr)
        sys.exit(2)
    return proc.stdout


def multicast_mac(group: str) -> str:
    """RFC 1112: 01:00:5e + low 23 bits of the group address."""
    o = [int(x) for x in group.split(".")]
    return "01:00:5e:%02x:%02x:%02x" % (o[1] & 0x7F, o[2], o[3])


def rtp_streams(pcap, port):
    """Rows of `tshark -z rtp,streams`: (ssrc, pkts, lost, problem_flag)."""
    out = tshark(["-r", pcap, "-d", f"udp.port=={port},rtp", "-q", "-z", "rtp,streams"])
    rows = []
    for line in out.splitlines():
        m = re.search(r"(0x[0-9A-Fa-f]{8})\s.*?\s(\d+)\s+(-?\d+) \((-?[\d.]+)%\)(.*)$", line)
        if m:
            problems = "X" in m.group(5).split()
            rows.append((m.group(1).lower(), int(m.group(2)), int(m.group(3)), problems))
    return rows


def mp2t_cc_errors(pcap, port):
    out = tshark(["-r", pcap, "-d", f"udp.port=={port},rtp", "-q", "-z", "expert,warn"])
    total = 0
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+Sequence\s+MP2T\s", line)
        if m:
            total += int(m.group(1))
    return total


def main() -> int:
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    pcap, dst, src_ip, workdir = sys.argv[1:5]
    expected = int(sys.argv[5]) if len(sys.argv) == 6 else None
    group, port = dst.rsplit(":", 1)
    work = Path(workdir)
    work.mkdir(parents=True, exist_ok=True)
    want_mac = multicast_mac(group)

    fields = tshark(
        [
            "-r", pcap, "-d", f"udp.port=={port},rtp",
            "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-Y", f"udp.dstport=={port}",
            "-T", "fields", "-E", "separator=\t",
            "-e", "frame.time_relative", "-e", "eth.dst", "-e", "ip.src", "-e", "ip.dst",
            "-e", "udp.dstport", "-e", "ip.checksum.status", "-e", "udp.checksum.status",
            "-e", "rtp.seq", "-e", "rtp.ssrc", "-e", "rtp.payload",
        ]
    )
    pkts = 0
    bad_dst_mac = bad_dst_ip = bad_src_ip = bad_checksum = not_rtp = 0
    seq_errors = duplicates = 0
    seen = set()
    ssrcs = set()
    prev_seq = None
    prev_t = None
    max_gap_ms = 0.0
    ts = bytearray()
    for line in fields.splitlines():
        cols = line.split("\t")
        if len(cols) < 10:
            cols += [""] * (10 - len(cols))
        t, mac, ip_src, ip_dst, _udp_dst, ipck, udpck, seq, ssrc, payload = cols[:10]
        pkts += 1
        bad_dst_mac += mac.lower() != want_mac
        bad_dst_ip += ip_dst != group
        bad_src_ip += ip_src != src_ip
        # status 1 = good; 0 = bad; 2 = not present (UDP checksum 0 over IPv4 is allowed).
        bad_checksum += ipck != "1" or udpck == "0"
        if not seq:
            not_rtp += 1
            continue
        s = int(seq)
        ssrcs.add(ssrc)
        if s in seen:
            duplicates += 1
        seen.add(s)
        if prev_seq is not None and s != (prev_seq + 1) & 0xFFFF:
            seq_errors += 1
        prev_seq = s
        tf = float(t)
        if prev_t is not None:
            max_gap_ms = max(max_gap_ms, (tf - prev_t) * 1000.0)
        prev_t = tf
        ts += bytes.fromhex(payload.replace(":", ""))

    rows = rtp_streams(pcap, port)
    tshark_lost = sum(r[2] for r in rows)
    tshark_problems = sum(1 for r in rows if r[3])
    cc_errors = mp2t_cc_errors(pcap, port)

    ts_path = work / "out.ts"
    ts_path.write_bytes(bytes(ts))
    dec = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(ts_path), "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )
    decode_errors = len([ln for ln in dec.stderr.splitlines() if ln.strip()])
    if dec.returncode != 0:
        decode_errors = max(decode_errors, 1)
    (work / "decode.log").write_text(dec.stderr)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=index,codec_type,codec_name,width,height,nb_read_frames",
         "-of", "compact=p=0", str(ts_path)],
        capture_output=True, text=True, check=False,
    )
    streams = sorted({ln for ln in probe.stdout.splitlines() if ln.strip()})
    video_frames = 0
    for ln in streams:
        if "codec_type=video" in ln:
            m = re.search(r"nb_read_frames=(\d+)", ln)
            video_frames = max(video_frames, int(m.group(1)) if m else 0)

    print(f"capture: {pkts} packets to {group}:{port}, RTP streams (SSRC) {len(ssrcs)}, "
          f"max inter-packet gap {max_gap_ms:.1f} ms")
    for r in rows:
        print(f"tshark rtp,streams: ssrc={r[0]} pkts={r[1]} lost={r[2]} problems={'X' if r[3] else '-'}")
    print(f"sequence walk: errors={seq_errors} duplicates={duplicates}; "
          f"MPEG-TS continuity errors (tshark expert)={cc_errors}")
    print(f"headers: bad dst MAC (want {want_mac})={bad_dst_mac} bad dst IP={bad_dst_ip} "
          f"bad src IP (want {src_ip})={bad_src_ip} bad checksum={bad_checksum}")
    print(f"decode: {len(ts)} TS bytes, ffmpeg errors={decode_errors}; streams: {'; '.join(streams)}")
    for ln in dec.stderr.splitlines()[:5]:
        print(f"  ffmpeg: {ln}")

    ok = (
        pkts > 0 and tshark_lost == 0 and tshark_problems == 0 and seq_errors == 0
        and duplicates == 0 and cc_errors == 0 and decode_errors == 0 and not_rtp == 0
        and bad_dst_mac == 0 and bad_dst_ip == 0 and bad_src_ip == 0 and bad_checksum == 0
        and len(ssrcs) == 1 and len(rows) == 1 and len(streams) >= 2
        and (expected is None or pkts == expected)
    )
    print(
        f"RESULT ok={int(ok)} packets={pkts} expected={expected if expected is not None else -1} "
        f"lost={tshark_lost} tshark_problems={tshark_problems} seq_errors={seq_errors} "
        f"duplicates={duplicates} ts_cc_errors={cc_errors} decode_errors={decode_errors} "
        f"ssrcs={len(ssrcs)} rtp_streams={len(rows)} bad_dst_mac={bad_dst_mac} bad_dst_ip={bad_dst_ip} "
        f"bad_src_ip={bad_src_ip} bad_checksum={bad_checksum} not_rtp={not_rtp} "
        f"max_gap_ms={max_gap_ms:.1f} ts_streams={len(streams)} video_frames={video_frames}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
