#!/usr/bin/env python3
"""Human summary of a demo run: one timeline and the packets per leg.

Why: the demo's own actions (links down/up) and mcast-failover's failover events (its
`mcast_failover::event` log lines) happen in two processes; putting both on one clock, next to
the per-leg counters of the final --stats-json, is what shows a reader that each outage was
absorbed by a switch to the other leg.

usage: stats_summary.py STATS_JSON DEVICE_LOG DEMO_TIMELINE T0_EPOCH
  DEMO_TIMELINE lines look like "t=+  5.01s primary path DOWN ..." (seconds since T0).
Prints the summary, then one line "DEVICE key=value ..." for the demo's RESULT line.
"""

import datetime
import json
import re
import sys

LOG_RE = re.compile(
    r"^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z\s+\w+\s+mcast_failover::event\]\s+"
    r"t=[\d.]+s\s+(.*)$"
)


def log_time(stamp: str) -> float:
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in stamp else "%Y-%m-%dT%H:%M:%S"
    dt = datetime.datetime.strptime(stamp, fmt).replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


def get(node, *path, default=0):
    for key in path:
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return default
    return node


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    stats_path, log_path, timeline_path, t0 = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])

    rows = []
    with open(timeline_path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"t=\+\s*([\d.]+)s (.*)", line.strip())
            if m:
                rows.append((float(m.group(1)), "demo  ", m.group(2)))
    device_events = 0
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LOG_RE.match(line.strip())
            if m:
                device_events += 1
                rows.append((log_time(m.group(1)) - t0, "device", m.group(2)))
    rows.sort(key=lambda r: r[0])
    print("timeline (seconds since the source started; 'device' = mcast-failover's event log):")
    for t, who, text in rows:
        print(f"  {t:+7.2f}s {who} {text}")

    try:
        with open(stats_path, encoding="utf-8") as f:
            st = json.load(f)
    except (OSError, ValueError) as e:
        print(f"stats JSON unreadable ({e})")
        print(f"DEVICE device_events={device_events}")
        return 1

    print("packets per leg (final --stats-json):")
    for i, inp in enumerate(get(st, "inputs", default=[])):
        leg = get(st, "streams", 0, "legs", i, default={})
        print(
            f"  {get(inp, 'role', default='?'):9} port {get(inp, 'port')}: received "
            f"{get(inp, 'rx', 'packets')}, used {get(leg, 'used')}, duplicates discarded "
            f"{get(leg, 'duplicates')}, late {get(leg, 'late')}, corrupt {get(leg, 'corrupt')}, "
            f"not merged {get(inp, 'rx', 'not_merged')}"
        )
    tot = get(st, "totals", default={})
    # Copies of one packet whose payloads differ between legs, as the device counted them
    # (a faulty or misconfigured encoder pair: the client capture cannot show it).
    mismatch = sum(get(s, "payload_mismatch") for s in get(st, "streams", default=[]))
    print(
        f"  output    port {get(st, 'output', 'port')}: sent {get(st, 'output', 'tx', 'packets')} "
        f"(substituted {get(tot, 'substituted')}, switches {get(tot, 'switches')}, "
        f"unrecoverable {get(tot, 'unrecoverable')}, restarts {get(tot, 'restarts')}, "
        f"payload_mismatch {mismatch}, NIC refused {get(st, 'output', 'tx', 'nic_refused')})"
    )
    lat = get(st, "latency_ns", default={})
    print(
        f"  residence time: p50 {get(lat, 'p50') / 1e3:.1f} us, p99 {get(lat, 'p99') / 1e3:.1f} us, "
        f"p99.9 {get(lat, 'p999') / 1e3:.1f} us, max {get(lat, 'max') / 1e3:.1f} us; "
        f"mempool in use at exit {get(st, 'mempool', 'in_use', default=-1)} "
        f"of {get(st, 'mempool', 'size')}"
    )
    legs = get(st, "streams", 0, "legs", default=[])
    print(
        "DEVICE "
        f"device_events={device_events} device_final={int(bool(get(st, 'final', default=False)))} "
        f"device_sent={get(st, 'output', 'tx', 'packets')} "
        f"device_primary_rx={get(legs, 0, 'received')} device_primary_used={get(legs, 0, 'used')} "
        f"device_secondary_rx={get(legs, 1, 'received')} device_secondary_used={get(legs, 1, 'used')} "
        f"device_switches={get(tot, 'switches')} device_substituted={get(tot, 'substituted')} "
        f"device_unrecoverable={get(tot, 'unrecoverable')} device_restarts={get(tot, 'restarts')} "
        f"device_payload_mismatch={mismatch} "
        f"device_nic_refused={get(st, 'output', 'tx', 'nic_refused')} "
        f"device_mempool_in_use={get(st, 'mempool', 'in_use', default=-1)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
