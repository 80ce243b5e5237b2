"""The one classic-pcap reader of the Python helpers (benchkit.py, pcap_count.py).

Classic pcap (either byte order, micro- or nanosecond timestamps): a 24-byte file header, then
records of a 16-byte header (its bytes 8..12 the captured length) and the captured bytes.
"""

MAGIC_LITTLE = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
MAGIC_BIG = (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")


class PcapError(Exception):
    """Not a pcap file, or a record cut short where the caller needs it whole."""


def byte_order(header):
    """'little' or 'big' for a pcap file header, None if it is not one."""
    if len(header) < 24:
        return None
    if header[:4] in MAGIC_LITTLE:
        return "little"
    if header[:4] in MAGIC_BIG:
        return "big"
    return None


def open_pcap(path):
    """(file, 24-byte header, byte order) of a pcap file; PcapError if it is not one."""
    f = open(path, "rb")
    hdr = f.read(24)
    order = byte_order(hdr)
    if order is None:
        f.close()
        what = f"magic {hdr[:4].hex()}" if len(hdr) >= 4 else "too short"
        raise PcapError(f"{path}: not a pcap file ({what})")
    return f, hdr, order


def records(f, order, path, partial_ok=False):
    """Each record (16-byte header + body) of an open pcap file. A record cut short at the end
    is a PcapError, or (partial_ok: a file still being written) the end."""
    n = 0
    while True:
        rh = f.read(16)
        if len(rh) < 16:
            if rh and not partial_ok:
                raise PcapError(f"{path}: truncated record header {n}")
            return
        incl = int.from_bytes(rh[8:12], order)
        body = f.read(incl)
        if len(body) < incl:
            if partial_ok:
                return
            raise PcapError(f"{path}: truncated record {n}")
        n += 1
        yield rh + body
