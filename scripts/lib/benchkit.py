#!/usr/bin/env python3
"""Helpers for scripts/bench.sh (stdlib only).

  toml N OUT [--slots N --max-rate PPS --restart-after K]
        write a config with N [[stream]] tables matching mf-pcapgen's groups
        (stream i: 239.1.x+i / 239.2.x+i :5000 -> 239.10.x+i :5004)
  rate PREFIX --rx 0,1 [--tx 2] [--warmup S] [--window S] [--timeout S]
        read the EAL telemetry socket of a running DPDK process
        (/var/run/dpdk/PREFIX/dpdk_telemetry.v2, command /ethdev/stats,N):
        wait until the rx ports count packets, wait --warmup, then sample
        ipackets/opackets over --window seconds; print one JSON line
  pad A.pcap B.pcap
        append copies of the last record to the shorter file until both hold
        the same number of records (so two lossy legs loop in step)
  report RESULTS.jsonl OUT.md --meta META.json
        medians and spreads of the runs, written as BENCHMARKS.md

The same `rate` sampling is used for dpdk-testpmd and for mcast-failover, so
the two throughput figures come from the same counters read the same way
(the pcap PMD's own rx counters).
"""

import argparse
import ipaddress
import json
import os
import socket
import statistics
import sys
import time


def die(msg, code=1):
    print(f"benchkit: {msg}", file=sys.stderr)
    sys.exit(code)


# --------------------------------------------------------------------- toml


def cmd_toml(a):
    p0 = int(ipaddress.IPv4Address("239.1.0.1"))
    s0 = int(ipaddress.IPv4Address("239.2.0.1"))
    o0 = int(ipaddress.IPv4Address("239.10.0.1"))
    lines = ["primary_port = 0", "secondary_port = 1", "output_port = 2", ""]
    if a.slots or a.max_rate or a.restart_after:
        lines.append("[defaults]")
        if a.slots:
            lines.append(f"slots = {a.slots}")
        if a.max_rate:
            lines.append(f"max_rate = {a.max_rate}")
        if a.restart_after:
            lines.append(f"restart_after = {a.restart_after}")
        lines.append("")
    for i in range(a.n):
        p = ipaddress.IPv4Address(p0 + i)
        s = ipaddress.IPv4Address(s0 + i)
        o = ipaddress.IPv4Address(o0 + i)
        lines += [
            "[[stream]]",
            f'name = "s{i}"',
            f'legs = ["{p}:5000", "{s}:5000"]',
            f'output = "{o}:5004"',
            "",
        ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))


# ---------------------------------------------------------------------- pad


def pcap_records(path):
    """(count, last record bytes) of a classic pcap file (either byte order)."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            die(f"{path}: not a pcap file")
        magic = hdr[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            order = "little"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            order = "big"
        else:
            die(f"{path}: not a pcap file (magic {magic.hex()})")
        n, last = 0, None
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            incl = int.from_bytes(rh[8:12], order)
            body = f.read(incl)
            if len(body) < incl:
                die(f"{path}: truncated record {n}")
            n, last = n + 1, rh + body
        return n, last


def cmd_pad(a):
    (na, la), (nb, lb) = pcap_records(a.a), pcap_records(a.b)
    path, last, k = (a.a, la, nb - na) if na < nb else (a.b, lb, na - nb)
    if k > 0:
        with open(path, "ab") as f:
            f.write(last * k)
    print(json.dumps({"records": max(na, nb), "padded": path if k else None, "repeats": k}))


# ---------------------------------------------------------------- telemetry


class Telemetry:
    """One connection to a DPDK telemetry v2 socket (SOCK_SEQPACKET)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(2.0)
        self.s.connect(path)
        hello = json.loads(self.s.recv(4096).decode())
        self.max_len = int(hello.get("max_output_len", 16384))

    def cmd(self, c):
        self.s.send(c.encode())
        return json.loads(self.s.recv(self.max_len).decode())

    def stats(self, port):
        r = self.cmd(f"/ethdev/stats,{port}")
        v = r.get("/ethdev/stats")
        if not isinstance(v, dict):
            raise RuntimeError(f"/ethdev/stats,{port}: {r}")
        return v


def ports(s):
    return [int(x) for x in s.split(",") if x != ""]


def cmd_rate(a):
    path = f"/var/run/dpdk/{a.prefix}/dpdk_telemetry.v2"
    deadline = time.monotonic() + a.timeout
    tel = None
    while tel is None:
        try:
            tel = Telemetry(path)
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                die(f"no telemetry socket at {path} after {a.timeout} s")
            time.sleep(0.1)
    rx, tx = ports(a.rx), ports(a.tx)

    def sample():
        t = time.monotonic()
        ri = [tel.stats(p)["ipackets"] for p in rx]
        to = [tel.stats(p)["opackets"] for p in tx]
        return t, ri, to

    # The ports count only once the application forwards: wait for traffic.
    while True:
        try:
            t, ri, _ = sample()
        except (RuntimeError, OSError, ValueError):
            ri = [0]
        if all(x > 0 for x in ri):
            break
        if time.monotonic() > deadline:
            die(f"{a.prefix}: rx ports {rx} still idle after {a.timeout} s")
        time.sleep(0.05)
    time.sleep(a.warmup)
    t0, r0, o0 = sample()
    time.sleep(a.window)
    t1, r1, o1 = sample()
    dt = t1 - t0
    out = {
        "window_s": round(dt, 4),
        "rx_pps": round(sum(r1) / dt - sum(r0) / dt),
        "rx_pps_per_port": [round((b - c) / dt) for b, c in zip(r1, r0)],
        "tx_pps": round((sum(o1) - sum(o0)) / dt),
    }
    print(json.dumps(out))


# ------------------------------------------------------------------- report


def med_spread(xs):
    """Median and spread ((max-min)/median, percent) of a list."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None
    m = statistics.median(xs)
    sp = (max(xs) - min(xs)) / m * 100 if m else 0.0
    return m, sp


def fmt_pps(x):
    return "n/a" if x is None else f"{x / 1e6:.3f} M"


def fmt_pct(x):
    return "n/a" if x is None else f"{x:.1f} %"


def fmt_ns(x):
    return "n/a" if x is None else f"{x:,.0f}"


def cmd_report(a):
    runs = [json.loads(line) for line in open(a.results) if line.strip()]
    meta = json.load(open(a.meta))
    by = {}
    for r in runs:
        by.setdefault((r["tool"], r["variant"]), []).append(r)

    def series(tool, variant, key):
        return [r.get(key) for r in by.get((tool, variant), [])]

    def ratio(variant):
        """Per-round ratios (round i of ours / round i of testpmd)."""
        ours = {r["round"]: r["rx_pps"] for r in by.get(("mf", variant), [])}
        tp = {r["round"]: r["rx_pps"] for r in by.get(("testpmd", meta["tp_of"][variant]), [])}
        return [ours[k] / tp[k] for k in sorted(ours) if k in tp and tp[k]]

    o = []
    o.append("# Benchmarks\n")
    o.append(
        "Written by `scripts/bench.sh` from measured figures (nothing in this file is typed in;"
        " re-run the script to regenerate it).\n"
    )
    o.append("## Machine and run\n")
    for k in ("date", "host", "nproc", "cpu", "kernel", "dpdk", "git", "load_before", "load_after",
              "hugepages", "rounds", "warmup_s", "window_s", "frames_per_file", "command"):
        if k in meta:
            v = meta[k]
            o.append(f"- **{k}**: `{v}`" if k in ("command", "git") else f"- **{k}**: {v}")
    o.append("")
    o.append("## Throughput vs dpdk-testpmd (io forwarding), 1370-byte frames\n")
    o.append(
        "Both tools: same EAL options (`-l 0-1 --no-pci`, the two rx pcap vdevs with"
        " `infinite_rx=1`, `net_null0,no-rx=1`), one forwarding lcore, rx pps read the same way:"
        " the pcap PMD's `ipackets` of ports 0+1 over the EAL telemetry socket"
        f" (`/ethdev/stats,N`), sampled over {meta.get('window_s')} s after {meta.get('warmup_s')} s"
        " of warm-up. Ratio = mcast-failover input pps (both legs) / testpmd rx pps, per round"
        " (rounds interleaved), then median. Spread = (max - min) / median over the rounds.\n"
    )
    o.append("| variant | streams | testpmd rx pps | spread | mcast-failover in pps | spread | out pps | ratio (median) | ratio range |")
    o.append("|---|---|---|---|---|---|---|---|---|")
    for v in meta["variants"]:
        tpm, tps = med_spread(series("testpmd", meta["tp_of"][v], "rx_pps"))
        mm, ms = med_spread(series("mf", v, "rx_pps"))
        om, _ = med_spread(series("mf", v, "tx_pps"))
        rs = ratio(v)
        rm = statistics.median(rs) if rs else None
        rr = f"{min(rs):.3f} .. {max(rs):.3f}" if rs else "n/a"
        o.append(
            f"| {v} | {meta['streams'][v]} | {fmt_pps(tpm)} | {fmt_pct(tps)} | {fmt_pps(mm)} | {fmt_pct(ms)}"
            f" | {fmt_pps(om)} | {'n/a' if rm is None else f'{rm:.3f}'} | {rr} |"
        )
    o.append("")
    o.append("Variant settings:\n")
    for v in meta["variants"]:
        o.append(f"- `{v}`: {meta['describe'][v]}")
    o.append("")

    o.append("## Merge outcome of the same runs (from `--stats-json`, whole run)\n")
    o.append("| variant | input pkts | sent | substituted | unrecoverable | restarts | out/in (per leg) |")
    o.append("|---|---|---|---|---|---|---|")
    for v in meta["variants"]:
        rs = by.get(("mf", v), [])
        if not rs:
            continue
        r = rs[len(rs) // 2]
        t = r.get("totals", {})
        inp = t.get("input_packets", 0)
        eff = (2 * t.get("sent", 0) / inp) if inp else 0
        o.append(
            f"| {v} (round {r['round']}) | {inp} | {t.get('sent')} | {t.get('substituted')}"
            f" | {t.get('unrecoverable')} | {t.get('restarts')} | {eff:.4f} |"
        )
    o.append("")

    o.append("## Residence latency (mcast-failover's own histogram, ns)\n")
    o.append(
        "From `latency_ns` of `--stats-json` at the end of each full-rate run (median over the"
        " rounds). What the binary records: TSC of the rx burst that brought the chosen copy to"
        " the TSC at which the engine hands it to the tx batch (`TxState::send`), i.e. time held"
        " in the merge, not the time to `rte_eth_tx_burst`. On the single-lcore layout a"
        " primary copy that arrives in order is handed over in the same loop iteration, so it"
        " records 0 ns; non-zero values are packets that waited for their primary copy, for a"
        " gap, or around a source restart. No paced-rate figure: the pcap PMD has no rx pacing"
        " (infinite_rx replays as fast as it is polled) and a kernel-paced path (veth +"
        " af_packet + tcpreplay) would measure the kernel, not the merge.\n"
    )
    o.append("| variant | p50 | p99 | p99.9 | max | packets |")
    o.append("|---|---|---|---|---|---|")
    lat_med = {}
    for v in meta["variants"]:
        rs = by.get(("mf", v), [])
        if not rs:
            continue
        lat = [r.get("latency_ns", {}) for r in rs]
        cols = []
        for k in ("p50", "p99", "p999", "max"):
            m, _ = med_spread([x.get(k) for x in lat])
            lat_med[(v, k)] = m
            cols.append(fmt_ns(m))
        cnt, _ = med_spread([x.get("count") for x in lat])
        o.append(f"| {v} (full rate) | " + " | ".join(cols) + f" | {fmt_ns(cnt)} |")
    o.append("")

    o.append("## Stream scaling\n")
    o.append(
        "Same frames per file for every stream count, so the mbuf working set is the same;"
        " N streams get frames/N packets each. A looping replay therefore steps every stream"
        " back by frames/N - 1 once per loop (only 1 stream covers whole 65536 cycles and rolls"
        " over naturally). Each stream's window is 50 ms at its share of ~1.2 Mpps per leg"
        " (`max_rate` = 1.2M / N clamped to 300..10000, the binary sizing the slots), which"
        " keeps that step larger than the window, so the engine sees it as a source restart"
        " and, with `restart_after 1`, resynchronises at once and the output keeps flowing."
        " The cost of one restart per stream per loop is in the figure (`restarts` above; 1 in"
        " frames/N packets, e.g. 1 in 26 at 10000 streams with 262144 frames), and so are the"
        " packets held around a restart (p99 column). A 16-slot window for 1 stream would be"
        " wrong: the legs arrive a 32-packet burst apart, so the secondary copies would fall"
        " outside the window and, with `restart_after 1`, be taken for a restarted source"
        " and sent again.\n"
    )
    base = meta.get("scale_base")
    bm, _ = med_spread(series("mf", base, "rx_pps")) if base else (None, None)
    o.append("| streams | in pps (median) | vs 1 stream | ratio to testpmd | out/in per leg | p99 ns |")
    o.append("|---|---|---|---|---|---|")
    rel_of = {}
    for v in meta.get("scaling", []):
        m, _ = med_spread(series("mf", v, "rx_pps"))
        om, _ = med_spread(series("mf", v, "tx_pps"))
        rs = ratio(v)
        rel = (m / bm - 1) * 100 if (m and bm) else None
        rel_of[v] = rel
        eff = f"{2 * om / m:.4f}" if (m and om is not None) else "n/a"
        o.append(
            f"| {meta['streams'][v]} | {fmt_pps(m)} | {'n/a' if rel is None else f'{rel:+.1f} %'} |"
            f" {f'{statistics.median(rs):.3f}' if rs else 'n/a'} | {eff} | {fmt_ns(lat_med.get((v, 'p99')))} |"
        )
    o.append("")

    mem = meta.get("mem", {})
    per_stream_b = None
    slot_b = None
    if mem.get("slots"):
        o.append("## Memory per stream (50 ms window at 10 kpps)\n")
        slots = mem["slots"]
        slot_b = slots * 2 * 16 + slots // 8
        o.append(
            f"- Slot table, from the binary's own sizing: with the default 50 ms / 10 kpps it"
            f" prints `slots {slots}` per leg; a slot is 16 B (handle, rx TSC, span, verdict;"
            f" asserted by `slots::table` tests), plus a 1-bit-per-slot sent map:"
            f" {slots} x 2 legs x 16 B + {slots // 8} B = **{slot_b} B"
            f" ({slot_b / 1024:.2f} KiB)** per stream."
        )
        d = mem.get("vmdata_10000_kib", 0) - mem.get("vmdata_1_kib", 0)
        if d > 0:
            per_stream_b = d * 1024 / 9999
            o.append(
                f"- Whole process, measured: private data (VmData) of the running binary with"
                f" 10000 streams minus 1 stream = {d} KiB, i.e. **{per_stream_b:,.0f} B"
                f" ({per_stream_b / 1024:.2f} KiB) per stream** (slot tables plus everything"
                f" else a stream costs: stats board, classifier, timers, config; VmData counts"
                f" allocated, not necessarily touched, memory)."
            )
        o.append("")

    if meta.get("profile"):
        o.append("## Hot-path profile\n")
        o.append(
            "`perf record -e cpu-clock` (no hardware counters in this VM: `perf stat -e"
            " instructions` says not supported) on the running binary, 1 stream, defaults,"
            " full rate; `perf report --no-children --sort dso,symbol`, top entries:\n"
        )
        o.append("```")
        o.append("\n".join(line.rstrip(" -") for line in meta["profile"].splitlines()))
        o.append("```\n")

    o.append("## Targets (issue 6), judged from the figures above\n")
    rs = ratio("default")
    if rs:
        r = statistics.median(rs)
        o.append(f"- input pps >= 0.9 x testpmd: ratio {r:.3f} (1 stream, defaults) -> "
                 + ("**reached**" if r >= 0.9 else "**not reached**"))
    rs2 = ratio("no-csum")
    if rs2:
        r = statistics.median(rs2)
        o.append(f"  - with --no-udp-csum-check: {r:.3f} -> " + ("reached" if r >= 0.9 else "not reached"))
    o.append(
        "- residence p99 <= 2 us at 1 Mpps: **not measured as specified** (no paced source;"
        f" full-rate histogram p99 = {fmt_ns(lat_med.get(('default', 'p99')))} ns with the"
        " semantics above, which exclude the tx burst)"
    )
    last = meta.get("scaling", [])[-1:] or [None]
    if last[0] and rel_of.get(last[0]) is not None:
        rel = rel_of[last[0]]
        o.append(f"- {meta['streams'][last[0]]} streams within 15 % of 1 stream: {rel:+.1f} % -> "
                 + ("**reached**" if rel >= -15 else "**not reached**"))
    if slot_b is not None:
        o.append(f"- <= 16 KiB per stream at 50 ms / 10 kpps: slot table {slot_b} B ->"
                 + (" **reached**" if slot_b <= 16 * 1024 else " **not reached** (16384 B of slots + the sent map)")
                 + ("" if per_stream_b is None else f"; whole process {per_stream_b / 1024:.1f} KiB per stream"))
    o.append("")
    o.append(
        f"Load average before / after the run: {meta.get('load_before')} / {meta.get('load_after')}"
        " (1, 5, 15 min). A load above ~1 means other work shared the 2 vCPUs with the"
        " benchmark and the figures are pessimistic and noisier for both tools."
    )
    with open(a.out, "w") as f:
        f.write("\n".join(o) + "\n")


def main():
    ap = argparse.ArgumentParser(prog="benchkit")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("toml")
    t.add_argument("n", type=int)
    t.add_argument("out")
    t.add_argument("--slots", type=int)
    t.add_argument("--max-rate", type=int)
    t.add_argument("--restart-after", type=int)
    r = sub.add_parser("rate")
    r.add_argument("prefix")
    r.add_argument("--rx", default="0,1")
    r.add_argument("--tx", default="")
    r.add_argument("--warmup", type=float, default=2.0)
    r.add_argument("--window", type=float, default=5.0)
    r.add_argument("--timeout", type=float, default=60.0)
    d = sub.add_parser("pad")
    d.add_argument("a")
    d.add_argument("b")
    p = sub.add_parser("report")
    p.add_argument("results")
    p.add_argument("out")
    p.add_argument("--meta", required=True)
    a = ap.parse_args()
    {"toml": cmd_toml, "rate": cmd_rate, "pad": cmd_pad, "report": cmd_report}[a.cmd](a)


if __name__ == "__main__":
    main()
