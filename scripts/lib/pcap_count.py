#!/usr/bin/env python3
"""Print the number of complete packet records in a pcap file that may still be growing.

Why: the demo waits on state (a capture holding N packets), polled often; starting tshark for
each poll is slow. A record cut short at the end of the file (still being written) is not
counted. usage: pcap_count.py FILE (prints 0 for a missing, empty or non-pcap file)
"""

import sys

import pcapio


def count(path: str) -> int:
    try:
        f, _, order = pcapio.open_pcap(path)
    except (OSError, pcapio.PcapError):
        return 0
    with f:
        return sum(1 for _ in pcapio.records(f, order, path, partial_ok=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    print(count(sys.argv[1]))
