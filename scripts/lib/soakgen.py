#!/usr/bin/env python3
"""Writes the two pcap files scripts/soak.sh loops with net_pcap infinite_rx=1.

One loop is 65536 RTP positions (sequence 0..65535, so the loop rolls over
as a real source does) plus malformed frames. Both files have exactly the
same number of frames, so the two looping legs stay in step for ever:

* loss: a lost copy is replaced by a malformed frame, never on both legs
  (every position keeps a good copy on one leg: all of it is recoverable);
* corruption: a copy with a wrong UDP checksum (the other leg's is good);
* reorder: a leg's copies of two neighbouring positions swapped;
* restarts: the SSRC changes at position 32768 and again at the loop's
  end (two source restarts per loop, on both legs at the same position);
* malformed frames: garbage, truncated, ARP, RTP version 1 to the
  stream's own group, other groups, at the same places on both legs.

Prints one line of key=value counts per loop (what soak.sh expects).
"""

import argparse
import random
import struct
import sys

POSITIONS = 65536


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def udp_frame(src, dst, sport, dport, payload, ident, ttl, udp_csum=True):
    length = 8 + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, ident & 0xFFFF, 0, ttl, 17, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    c = 0
    if udp_csum:
        pseudo = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, 17, length)
        c = csum(pseudo + struct.pack("!HHHH", sport, dport, length, 0) + payload) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, length, c) + payload
    mac = bytes([1, 0, 0x5E, dst[1] & 0x7F, dst[2], dst[3]])
    return mac + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip + udp


def rtp(seq, ssrc, payload_len):
    body = bytes((seq + i) & 0xFF for i in range(payload_len))
    return struct.pack("!BBHII", 0x80, 33, seq, (seq * 90) & 0xFFFFFFFF, ssrc) + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--primary", required=True)
    ap.add_argument("--secondary", required=True)
    ap.add_argument("--loss", type=float, default=1.0, help="percent per leg")
    ap.add_argument("--corrupt", type=float, default=0.2, help="percent per leg")
    ap.add_argument("--reorder", type=float, default=0.5, help="percent per leg")
    ap.add_argument("--malformed", type=float, default=1.0, help="percent of positions")
    ap.add_argument("--payload", type=int, default=200, help="RTP payload bytes")
    ap.add_argument("--seed", type=int, default=17)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    groups = ([239, 1, 0, 1], [239, 2, 0, 1])
    srcs = ([10, 0, 1, 1], [10, 0, 2, 1])
    ttls = (64, 60)
    ssrcs = (0x11111111, 0x22222222)

    def malformed(leg, q):
        kind = rnd.randrange(5)
        if kind == 0:
            return bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(1, 200)))
        if kind == 1:
            f = udp_frame(srcs[leg], groups[leg], 10000, 5000, rtp(q, 1, a.payload), q, 64)
            return f[: rnd.randrange(14, len(f) - 1)]
        if kind == 2:
            return bytes(6 * [0xFF]) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x06" + bytes(28)
        if kind == 3:
            bad = b"\x40" + rtp(q, 1, a.payload)[1:]
            return udp_frame(srcs[leg], groups[leg], 10000, 5000, bad, q, ttls[leg])
        return udp_frame(srcs[leg], [239, 99, 0, 1], 10000, 5000, rtp(q, 1, a.payload), q, 64)

    legs = ([], [])
    counts = {"positions": POSITIONS, "lost": 0, "corrupt": 0, "reordered": 0, "malformed": 0}
    for q in range(POSITIONS):
        ssrc = ssrcs[0] if q < POSITIONS // 2 else ssrcs[1]
        r = rnd.random() * 100
        lost_leg = 0 if r < a.loss else (1 if r < 2 * a.loss else None)
        r = rnd.random() * 100
        bad_leg = None
        if lost_leg is None:
            bad_leg = 0 if r < a.corrupt else (1 if r < 2 * a.corrupt else None)
        for leg in (0, 1):
            if leg == lost_leg:
                legs[leg].append(malformed(leg, q))
                counts["lost"] += 1
                continue
            f = udp_frame(srcs[leg], groups[leg], 10000 + 2 * leg, 5000, rtp(q, ssrc, a.payload),
                          q, ttls[leg])
            if leg == bad_leg:
                f = f[:40] + bytes([f[40] ^ 0x5A, f[41]]) + f[42:]
                counts["corrupt"] += 1
            legs[leg].append(f)
        if rnd.random() * 100 < a.malformed:
            for leg in (0, 1):
                legs[leg].append(malformed(leg, q))
            counts["malformed"] += 2
    for leg in (0, 1):
        frames = legs[leg]
        i = 0
        while i + 1 < len(frames):
            if rnd.random() * 100 < a.reorder:
                frames[i], frames[i + 1] = frames[i + 1], frames[i]
                counts["reordered"] += 1
                i += 2
            else:
                i += 1
    assert len(legs[0]) == len(legs[1])
    for path, frames in ((a.primary, legs[0]), (a.secondary, legs[1])):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for i, fr in enumerate(frames):
                f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(fr), len(fr)))
                f.write(fr)
    counts["frames_per_file"] = len(legs[0])
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


if __name__ == "__main__":
    sys.exit(main())
