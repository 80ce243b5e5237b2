#!/usr/bin/env python3
"""Judge the merged output against what the source really put on each leg.

Why: the end-to-end demo and tests/e2e_wire.rs must judge the merge, not the encoder or
the network harness. The source's copies are captured on each leg inside the source
namespace; the client's capture of the virtual group must then hold, in order and exactly
once, every RTP sequence number that reached at least one leg (no gap except where every
leg lost it), each payload byte-identical to a copy that was sent. Decode errors are the
client's minus the source's own: the transport stream reassembled from the legs is decoded
the same way, so damage the encoder put in its own test pattern is not blamed on the merge.
tshark's RTP stream analysis and MPEG-TS continuity check and header checks (virtual
group/port, multicast MAC, source IP, IP/UDP checksums) are reported as independent views.

usage: check_capture.py CLIENT_PCAP GROUP:PORT OUT_SRC_IP WORKDIR
                        --leg PCAP GROUP:PORT [--leg PCAP GROUP:PORT ...]

Prints human-readable lines, then exactly one machine-readable line:
  RESULT ok=0|1 key=value ...
Exit status: 0 when every check passes, 1 when any fails, 2 on usage/tool errors.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

SEQ_SPACE = 1 << 16


def tshark(args):
    proc = subprocess.run(["tshark", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"tshark {' '.join(args)} failed: {proc.stderr.strip()}", file=sys.stderr)
        sys.exit(2)
    return proc.stdout


def multicast_mac(group: str) -> str:
    """RFC 1112: 01:00:5e + low 23 bits of the group address."""
    o = [int(x) for x in group.split(".")]
    return "01:00:5e:%02x:%02x:%02x" % (o[1] & 0x7F, o[2], o[3])


FIELDS = [
    "frame.time_relative", "eth.dst", "ip.src", "ip.dst", "udp.dstport",
    "ip.checksum.status", "udp.checksum.status", "rtp.seq", "rtp.ssrc", "udp.payload",
]


def packets(pcap, dst):
    """Rows (time, eth_dst, ip_src, ip_dst, ip_ck, udp_ck, seq|None, ssrc, udp_payload_hex)
    of the UDP packets to GROUP:PORT in PCAP, in capture order."""
    group, port = dst.rsplit(":", 1)
    out = tshark(
        ["-r", pcap, "-d", f"udp.port=={port},rtp",
         "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
         "-Y", f"ip.dst=={group} && udp.dstport=={port}",
         "-T", "fields", "-E", "separator=\t"] + [a for f in FIELDS for a in ("-e", f)]
    )
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        t, mac, ip_src, ip_dst, _port, ipck, udpck, seq, ssrc, payload = cols[: len(FIELDS)]
        rows.append((float(t or 0), mac.lower(), ip_src, ip_dst, ipck, udpck,
                     int(seq) if seq else None, ssrc, payload.replace(":", "").lower()))
    return rows


class Unwrap:
    """Extends 16-bit RTP sequence numbers to integers, all captures against one anchor, so
    the same packet gets the same number in every capture even across a rollover."""

    def __init__(self):
        self.anchor = None

    def capture(self):
        last = [None]

        def ext(seq):
            if self.anchor is None:
                self.anchor = seq
            ref = self.anchor if last[0] is None else last[0]
            d = (seq - ref + SEQ_SPACE // 2) % SEQ_SPACE - SEQ_SPACE // 2
            last[0] = ref + d
            return last[0]

        return ext


def rtp_payload(udp_hex):
    """The RTP payload of a UDP payload (fixed 12-byte header + CSRCs + extension; padding
    removed), for reassembling the MPEG-TS."""
    b = bytes.fromhex(udp_hex)
    if len(b) < 12:
        return b""
    off = 12 + 4 * (b[0] & 0x0F)
    if b[0] & 0x10 and len(b) >= off + 4:
        off += 4 + 4 * int.from_bytes(b[off + 2: off + 4], "big")
    end = len(b) - (b[-1] if b[0] & 0x20 and b else 0)
    return b[off:end]


def decode(ts: bytes, path: Path):
    """ffmpeg error lines decoding TS (written to PATH), and the decoded video frames."""
    path.write_bytes(ts)
    dec = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )
    errors = [ln for ln in dec.stderr.splitlines() if ln.strip()]
    if dec.returncode != 0 and not errors:
        errors = [f"ffmpeg exit {dec.returncode}"]
    path.with_suffix(".decode.log").write_text(dec.stderr)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=index,codec_type,codec_name,width,height,nb_read_frames",
         "-of", "compact=p=0", str(path)],
        capture_output=True, text=True, check=False,
    )
    streams = sorted({ln for ln in probe.stdout.splitlines() if ln.strip()})
    frames = 0
    for ln in streams:
        m = re.search(r"nb_read_frames=(\d+)", ln)
        if "codec_type=video" in ln and m:
            frames = max(frames, int(m.group(1)))
    return errors, frames, streams


def rtp_streams(pcap, port):
    """Rows of `tshark -z rtp,streams`: (ssrc, pkts, lost, problem_flag)."""
    out = tshark(["-r", pcap, "-d", f"udp.port=={port},rtp", "-q", "-z", "rtp,streams"])
    rows = []
    for line in out.splitlines():
        m = re.search(r"(0x[0-9A-Fa-f]{8})\s.*?\s(\d+)\s+(-?\d+) \((-?[\d.]+)%\)(.*)$", line)
        if m:
            rows.append((m.group(1).lower(), int(m.group(2)), int(m.group(3)),
                         "X" in m.group(5).split()))
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
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("client")
    ap.add_argument("dst")
    ap.add_argument("src_ip")
    ap.add_argument("workdir")
    ap.add_argument("--leg", nargs=2, action="append", metavar=("PCAP", "GROUP:PORT"),
                    required=True)
    a = ap.parse_args()
    work = Path(a.workdir)
    work.mkdir(parents=True, exist_ok=True)
    group, port = a.dst.rsplit(":", 1)
    want_mac = multicast_mac(group)
    unwrap = Unwrap()

    # What the source put on the legs: extended seq -> the set of UDP payloads sent for it.
    sent = {}
    leg_counts = []
    for pcap, dst in a.leg:
        ext = unwrap.capture()
        n = 0
        for row in packets(pcap, dst):
            if row[6] is None:
                continue
            n += 1
            sent.setdefault(ext(row[6]), set()).add(row[8])
        leg_counts.append(n)
    union = sorted(sent)
    copies_disagree = sum(1 for s in union if len(sent[s]) > 1)

    # What the client received.
    ext = unwrap.capture()
    rows = packets(a.client, a.dst)
    out_seqs = []
    bad_dst_mac = bad_dst_ip = bad_src_ip = bad_checksum = not_rtp = 0
    payload_mismatch = 0
    ssrcs = set()
    max_gap_ms = 0.0
    prev_t = None
    for t, mac, ip_src, ip_dst, ipck, udpck, seq, ssrc, payload in rows:
        bad_dst_mac += mac != want_mac
        bad_dst_ip += ip_dst != group
        bad_src_ip += ip_src != a.src_ip
        # status 1 = good; 0 = bad; 2 = not present (UDP checksum 0 over IPv4 is allowed).
        bad_checksum += ipck != "1" or udpck == "0"
        if seq is None:
            not_rtp += 1
            continue
        s = ext(seq)
        ssrcs.add(ssrc)
        out_seqs.append(s)
        if payload not in sent.get(s, ()):
            payload_mismatch += 1
        if prev_t is not None:
            max_gap_ms = max(max_gap_ms, (t - prev_t) * 1000.0)
        prev_t = t
    seen = set(out_seqs)
    duplicates = len(out_seqs) - len(seen)
    out_of_order = sum(1 for x, y in zip(out_seqs, out_seqs[1:]) if y <= x)
    missing = len(set(union) - seen)
    extra = len(seen - set(union))
    # Sequence numbers between the first and last sent that no leg carried.
    both_lost = (union[-1] - union[0] + 1 - len(union)) if union else 0

    # Decode: the client's stream against the source's own (the union of the legs).
    by_seq = {s: next(iter(sent[s])) for s in union}
    src_ts = b"".join(rtp_payload(by_seq[s]) for s in union)
    cli_ts = b"".join(rtp_payload(r[8]) for r in rows if r[6] is not None)
    src_err, src_frames, src_streams = decode(src_ts, work / "source.ts")
    cli_err, cli_frames, cli_streams = decode(cli_ts, work / "client.ts")
    decode_errors = max(0, len(cli_err) - len(src_err))

    rtp_rows = rtp_streams(a.client, port)
    tshark_lost = sum(r[2] for r in rtp_rows)
    tshark_problems = sum(1 for r in rtp_rows if r[3])
    cc_errors = mp2t_cc_errors(a.client, port)

    print(f"source: {' + '.join(str(c) for c in leg_counts)} RTP packets captured on the legs, "
          f"{len(union)} distinct sequence numbers, {both_lost} lost on every leg, "
          f"{copies_disagree} with copies that differ")
    print(f"client: {len(out_seqs)} RTP packets to {group}:{port}, SSRCs {len(ssrcs)}, "
          f"max inter-packet gap {max_gap_ms:.1f} ms")
    print(f"merge: missing={missing} extra={extra} duplicates={duplicates} "
          f"out_of_order={out_of_order} payload_mismatch={payload_mismatch}")
    for r in rtp_rows:
        print(f"tshark rtp,streams: ssrc={r[0]} pkts={r[1]} lost={r[2]} problems={'X' if r[3] else '-'}")
    print(f"MPEG-TS continuity errors (tshark expert)={cc_errors}")
    print(f"headers: bad dst MAC (want {want_mac})={bad_dst_mac} bad dst IP={bad_dst_ip} "
          f"bad src IP (want {a.src_ip})={bad_src_ip} bad checksum={bad_checksum}")
    print(f"decode: source {len(src_ts)} TS bytes, {len(src_err)} ffmpeg errors, {src_frames} "
          f"video frames; client {len(cli_ts)} TS bytes, {len(cli_err)} errors, {cli_frames} "
          f"frames; blamed on the merge: {decode_errors}")
    for ln in cli_err[:5]:
        print(f"  ffmpeg (client): {ln}")

    ok = (
        len(out_seqs) > 0 and missing == 0 and extra == 0 and duplicates == 0
        and out_of_order == 0 and payload_mismatch == 0 and copies_disagree == 0
        and decode_errors == 0 and cli_frames == src_frames and tshark_lost == both_lost
        and tshark_problems == 0 and not_rtp == 0 and bad_dst_mac == 0 and bad_dst_ip == 0
        and bad_src_ip == 0 and bad_checksum == 0 and len(ssrcs) == 1 and len(rtp_rows) == 1
        and len(cli_streams) >= 2
    )
    print(
        f"RESULT ok={int(ok)} packets={len(out_seqs)} expected={len(union)} "
        f"leg_packets={'+'.join(str(c) for c in leg_counts)} both_lost={both_lost} "
        f"missing={missing} extra={extra} duplicates={duplicates} out_of_order={out_of_order} "
        f"payload_mismatch={payload_mismatch} copies_disagree={copies_disagree} "
        f"lost={tshark_lost} tshark_problems={tshark_problems} ts_cc_errors={cc_errors} "
        f"decode_errors={decode_errors} client_decode_errors={len(cli_err)} "
        f"source_decode_errors={len(src_err)} video_frames={cli_frames} "
        f"source_video_frames={src_frames} ssrcs={len(ssrcs)} rtp_streams={len(rtp_rows)} "
        f"bad_dst_mac={bad_dst_mac} bad_dst_ip={bad_dst_ip} bad_src_ip={bad_src_ip} "
        f"bad_checksum={bad_checksum} not_rtp={not_rtp} max_gap_ms={max_gap_ms:.1f} "
        f"ts_streams={len(cli_streams)}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
