#!/usr/bin/env python3
"""Send one RTP stream as identical copies on several multicast legs, paced.

Why: the membership test needs a real sender behind a snooping bridge whose
copies the merger can pair up (same SSRC, sequence numbers and payload on
every leg), each leg from its own source address (source-specific legs).

usage: mcast_send.py IFACE COUNT RATE GROUP:PORT@SRC [GROUP:PORT@SRC ...]
       (IPv6 as [ff3e::1]:5000@2001:db8::1)
Prints `sent COUNT` when done.
"""

import socket
import struct
import sys
import time


def leg(iface: str, spec: str):
    dst, src = spec.rsplit("@", 1)
    host, port = dst.rsplit(":", 1)
    host = host.strip("[]")
    if ":" in host:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(iface))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 8)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    return s, (host, int(port))


def main() -> int:
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    iface, count, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    legs = [leg(iface, spec) for spec in sys.argv[4:]]
    start = time.monotonic()
    for i in range(count):
        rtp = struct.pack("!BBHII", 0x80, 33, i & 0xFFFF, (i * 90) & 0xFFFFFFFF, 0x4D46)
        payload = rtp + bytes((i + k) & 0xFF for k in range(188))
        for s, dst in legs:
            s.sendto(payload, dst)
        delay = start + (i + 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(f"sent {count}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
