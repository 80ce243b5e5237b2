#!/usr/bin/env python3
"""Duplicate one UDP stream onto two multicast legs, byte for byte.

Why: two ffmpeg RTP muxers (e.g. the tee muxer with two rtp_mpegts outputs) each pick a
random SSRC, sequence base and timestamp base, so they never produce the identical copies a
2022-7 merger expects. One ffmpeg sends to this relay on loopback; the relay re-sends every
datagram unchanged to the primary group out of the primary leg and to the secondary group out
of the secondary leg. Send errors (a leg whose link is down) are counted, never fatal.

usage: dup_relay.py LISTEN_PORT PRI_GROUP:PORT PRI_SRC_IP SEC_GROUP:PORT SEC_SRC_IP
Prints one summary line on SIGTERM/SIGINT/EOF of the stream.
"""

import select
import signal
import socket
import sys


def leg_socket(src_ip: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src_ip))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 8)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    return s


def parse_dst(text: str):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    listen_port = int(sys.argv[1])
    legs = [
        (parse_dst(sys.argv[2]), leg_socket(sys.argv[3])),
        (parse_dst(sys.argv[4]), leg_socket(sys.argv[5])),
    ]
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.bind(("127.0.0.1", listen_port))
    counts = {"received": 0, "sent": [0, 0], "errors": [0, 0]}

    def relay(data: bytes) -> None:
        counts["received"] += 1
        for i, (dst, s) in enumerate(legs):
            try:
                s.sendto(data, dst)
                counts["sent"][i] += 1
            except OSError:
                counts["errors"][i] += 1

    # A signal only sets a flag and wakes select(): a datagram is never half relayed.
    stopping = []
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    rx.setblocking(False)
    print(f"relay ready port={listen_port}", flush=True)
    while True:
        select.select([rx, wake_r], [], [])
        # The sender has finished before we are told to stop, and loopback delivery is
        # synchronous: whatever it sent is queued on our socket. Forward all of it first.
        while True:
            try:
                data = rx.recv(65535)
            except BlockingIOError:
                break
            relay(data)
        if stopping:
            break
    sent, errors = counts["sent"], counts["errors"]
    print(
        f"relay received={counts['received']} sent_primary={sent[0]} sent_secondary={sent[1]} "
        f"errors_primary={errors[0]} errors_secondary={errors[1]}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
