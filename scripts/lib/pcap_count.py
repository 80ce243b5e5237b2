#!/usr/bin/env python3
"""Print the number of complete packet records in a pcap file that may still be growing.

Why: the demo waits on state (a capture holding N packets), polled often; starting tshark for
each poll is slow. A record cut short at the end of the file (still being written) is not
counted. usage: pcap_count.py FILE (prints 0 for a missing or empty file)
"""

import struct
import sys


def count(path: str) -> int:
    try:
        data = open(path, "rb").read()
    except OSError:
        return 0
    if len(data) < 24:
        return 0
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        return 0
    off, n = 24, 0
    while off + 16 <= len(data):
        (caplen,) = struct.unpack_from(endian + "I", data, off + 8)
        if off + 16 + caplen > len(data):
            break
        off += 16 + caplen
        n += 1
    return n


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print(count(sys.argv[1]))
