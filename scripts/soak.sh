#!/usr/bin/env bash
# Soak: N packets per leg with loss, reorder, source restarts and malformed
# frames through looping pcap vdevs; checks nothing recoverable was lost,
# RSS stayed flat, the mempool came back empty and the counters add up;
# writes the figures into BENCHMARKS.md. See --help.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
    cat <<EOF
Usage: $PROG [--packets N] [--loss PCT] [--bin PATH] [--out FILE | --no-report] [--workdir DIR] [--keep]

Runs the release binary (built if missing) on two net_pcap vdevs with
infinite_rx=1 looping files from scripts/lib/soakgen.py, output to net_null,
at full rate (--clock tsc), until each input port has received N packets,
then stops it with SIGINT. Each loop of the files is 65536 RTP positions
(the sequence rolls over), with per leg: PCT % of copies lost (replaced by
a malformed frame, never on both legs, so every position is recoverable),
0.2 % corrupt (bad UDP checksum), 0.5 % swapped with a neighbour; 1 % extra
malformed frames; and two source restarts per loop (SSRC changes).

Checks, each printed PASS or FAIL:
  - 0 lost recoverable packets: unrecoverable = 0 and no gap event;
  - sent is within one loop of the positions the slower leg delivered;
  - RSS flat: the last sample is within 1 % (+1 MiB) of the first one
    once warm (10 % of the run, and 4 x the pool's mbufs per leg);
  - mempool 0 in use at exit (the binary's leak check) and exit 0;
  - counters add up: per port packets = not_merged + its leg's received,
    per leg received = used + duplicates + late + corrupt_dropped + wild +
    stale + invalid + heartbeats, sent = sum of used = output packets.

  --packets N   packets per leg [100000000]
  --loss PCT    loss per leg [1]
  --bin PATH    the binary to soak [target/release/mcast-failover, built if missing]
  --out FILE    report to update (the soak section only) [BENCHMARKS.md]
  --no-report   print the figures only
  --workdir DIR keep the files there [a temporary directory]
  --keep        keep the temporary directory

Exit status: 0 every check passed, 1 a check or a step failed, 2 bad
arguments, 3 a missing prerequisite.
EOF
}

PACKETS=100000000
LOSS=1
OUT=$ROOT/BENCHMARKS.md
REPORT=1
WORKDIR=""
KEEP=0
BIN=""
ORIG_ARGS="$*"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --packets) need_value "$@"; PACKETS=$2; shift ;;
        --loss) need_value "$@"; LOSS=$2; shift ;;
        --bin) need_value "$@"; BIN=$2; shift ;;
        --out) need_value "$@"; OUT=$2; shift ;;
        --no-report) REPORT=0 ;;
        --workdir) need_value "$@"; WORKDIR=$2; shift ;;
        --keep) KEEP=1 ;;
        *) die_usage "unknown argument '$1'" ;;
    esac
    shift
done
[[ $PACKETS =~ ^[1-9][0-9]*$ ]] || die_usage "--packets wants a positive integer, not '$PACKETS'"
[[ $LOSS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die_usage "--loss wants a percentage, not '$LOSS'"
need python3 jq
need_root "DPDK vdevs"

if [[ -z $WORKDIR ]]; then
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/soak.XXXXXX")
    [[ $KEEP -eq 1 ]] || trap 'rm -rf "$WORKDIR"' EXIT
else
    mkdir -p "$WORKDIR"
fi
if [[ -n $BIN ]]; then
    [[ -x $BIN ]] || die_usage "--bin $BIN: not an executable"
else
    BIN=$ROOT/target/release/mcast-failover
fi
if [[ ! -x $BIN ]]; then
    echo "== building the release binary"
    (cd "$ROOT" && cargo build --release --bin mcast-failover) || die "release build failed"
fi

echo "== generating the looping files"
GEN=$(python3 "$ROOT/scripts/lib/soakgen.py" --primary "$WORKDIR/primary.pcap" \
    --secondary "$WORKDIR/secondary.pcap" --loss "$LOSS") || die "soakgen.py failed"
echo "   $GEN"
FRAMES=$(kv frames_per_file "$GEN")

PREFIX=mfsoak$$
STATS=$WORKDIR/stats.json
SAMPLES=$WORKDIR/samples.tsv
# The files are read as fast as the worker polls, so time does not pace the
# legs: a 1 s hold bound (4096 slots) only keeps a worker that a loaded
# machine descheduled between its two rx bursts from giving up a copy that
# is still in the other port's ring.
# Every frame of both files sits in an mbuf of the vdev's ring (infinite_rx),
# plus the merge window and the rings: 2 x FRAMES + 64 Ki, as 2^k - 1.
MBUFS=$(python3 -c "n=2*$FRAMES+65536; k=1
while k-1<n: k*=2
print(k-1)")
"$BIN" -l 0-1 --no-pci --no-huge -m 2048 --file-prefix "$PREFIX" --log-level=warn \
    --vdev "net_pcap0,rx_pcap=$WORKDIR/primary.pcap,infinite_rx=1" \
    --vdev "net_pcap1,rx_pcap=$WORKDIR/secondary.pcap,infinite_rx=1" \
    --vdev net_null0 -- \
    --stream 239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004 \
    --max-delay 1000 --max-rate 4000 \
    --total-num-mbufs "$MBUFS" --stats-period 1 --stats-json "$STATS" \
    >"$WORKDIR/stdout" 2>"$WORKDIR/stderr" &
PID=$!
echo "== running pid $PID until each leg has $PACKETS packets"
T0=$(now)
printf 't_s\tprimary\tsecondary\trss_kib\n' >"$SAMPLES"
last_progress=$SECONDS
last_min=0
while :; do
    if ! kill -0 "$PID" 2>/dev/null; then
        wait "$PID" || true
        tail -n 20 "$WORKDIR/stderr" >&2
        die "the binary exited before the target (see above)"
    fi
    rss=$(awk '/^VmRSS:/{print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
    read -r p s < <(jq -r '[.inputs[0].rx.packets, .inputs[1].rx.packets] | @tsv' "$STATS" 2>/dev/null \
        || echo "0 0")
    printf '%s\t%s\t%s\t%s\n' "$(python3 -c "print(round($(now) - $T0, 1))")" "$p" "$s" "$rss" >>"$SAMPLES"
    min=$(( p < s ? p : s ))
    if [[ $min -ge $PACKETS ]]; then
        break
    fi
    if [[ $min -gt $last_min ]]; then
        last_min=$min
        last_progress=$SECONDS
    elif [[ $((SECONDS - last_progress)) -gt 300 ]]; then
        kill -KILL "$PID" 2>/dev/null || true
        die "no progress for 300 s (hang guard): $min packets"
    fi
    nap 1
done
ELAPSED=$(python3 -c "print(round($(now) - $T0, 1))")
kill -INT "$PID"
RC=0
wait "$PID" || RC=$?
rm -rf "/var/run/dpdk/$PREFIX"
echo "== stopped after ${ELAPSED} s, exit $RC"

RESULT=$(python3 - "$STATS" "$SAMPLES" "$WORKDIR/stdout" "$RC" "$FRAMES" "$ELAPSED" "$GEN" "${BIN#"$ROOT"/}" "$PACKETS" "$MBUFS" <<'EOF'
import csv, json, sys
stats, samples, stdout, rc, frames, elapsed, gen, binary, target, mbufs = sys.argv[1:11]
v = json.load(open(stats))
out = open(stdout).read()
rows = list(csv.DictReader(open(samples), delimiter="\t"))
rx = [i["rx"] for i in v["inputs"]]
s = v["streams"][0]
legs = s["legs"]
checks = []
def check(name, ok, detail):
    checks.append((name, ok, detail))
gaps = sum(1 for e in v["events"] if e["event"] == "gap")
check("0 lost recoverable packets", s["unrecoverable"] == 0 and gaps == 0,
      f"unrecoverable {s['unrecoverable']}, gap events {gaps}")
slow = min(r["packets"] for r in rx)
positions = slow * 65536 // int(frames)
check("sent covers what arrived", abs(s["sent"] - positions) <= 2 * 65536,
      f"sent {s['sent']}, positions delivered by the slower leg about {positions}")
# Baseline once warm: 10 % of the run, and every mbuf of the pool used a
# few times (the pool's pages are touched the first time each mbuf is).
warm = max(int(target) // 10, 4 * int(mbufs))
i10 = next((i for i, r in enumerate(rows) if min(int(r["primary"]), int(r["secondary"])) >= warm), len(rows) - 1)
r10, rl = int(rows[i10]["rss_kib"]), int(rows[-1]["rss_kib"])
at = min(int(rows[i10]["primary"]), int(rows[i10]["secondary"]))
check("RSS flat", rl <= r10 * 1.01 + 1024, f"{r10} KiB after {at:,} packets per leg, {rl} KiB at the end ({(rl - r10) / max(r10, 1) * 100:+.2f} %)")
check("mempool 0 at exit", int(rc) == 0 and "(no leak)" in out and v["mempool"]["in_use"] == 0,
      f"exit {rc}, final in_use {v['mempool']['in_use']}")
bad = []
for i, r in enumerate(rx):
    parts = sum(r[k] for k in ("unknown_flow", "bad_seq", "multi_segment", "handoff_full")) + sum(r["drops"].values())
    if parts != r["not_merged"] or r["packets"] != r["not_merged"] + legs[i]["received"]:
        bad.append(f"port {i}")
for i, l in enumerate(legs):
    b = sum(l[k] for k in ("used", "duplicates", "late", "corrupt_dropped", "wild", "stale", "invalid", "heartbeats"))
    if b != l["received"]:
        bad.append(f"leg {i}")
used = sum(l["used"] for l in legs)
if not (s["sent"] == used == v["output"]["tx"]["packets"]) or s["held"] != 0:
    bad.append("sent/used/output")
check("counters add up", not bad, "every packet in one bucket" if not bad else "mismatch: " + ", ".join(bad))
pps = sum(r["packets"] for r in rx) / float(elapsed)
fig = {
    "packets per leg": " / ".join(f"{r['packets']:,}" for r in rx),
    "run time": f"{elapsed} s ({pps / 1e6:.2f} Mpps both legs)",
    "sent": f"{s['sent']:,}", "substituted": f"{s['substituted']:,}",
    "unrecoverable": str(s["unrecoverable"]), "restarts": f"{s['restarts']:,}",
    "switches": str(s["switches"]),
    "not merged (both ports)": f"{sum(r['not_merged'] for r in rx):,}",
    "corrupt copies dropped": f"{sum(l['corrupt_dropped'] for l in legs):,}",
    "duplicates": f"{sum(l['duplicates'] for l in legs):,}",
    "NIC missed / no-mbuf": " / ".join(str(i.get("nic", {}).get(k, 0)) for i in v["inputs"] for k in ("imissed", "rx_nombuf")),
    "RSS": f"{r10} KiB once warm, {rl} KiB at the end",
    "mempool after shutdown": str(v["mempool"]["in_use"]),
    "files": gen,
    "binary": binary,
}
print(json.dumps({"checks": checks, "figures": fig}))
EOF
) || die "cannot read the run's results"

echo "$RESULT" | jq -r '.checks[] | "\(if .[1] then "PASS" else "FAIL" end)  \(.[0]): \(.[2])"'
echo "$RESULT" | jq -r '.figures | to_entries[] | "   \(.key): \(.value)"'
FAILS=$(echo "$RESULT" | jq '[.checks[] | select(.[1] | not)] | length')

if [[ $REPORT -eq 1 ]]; then
    BLOCK=$WORKDIR/soak.md
    {
        echo "<!-- soak.sh: begin -->"
        echo "## Soak (scripts/soak.sh)"
        echo
        echo "Written by \`scripts/soak.sh${ORIG_ARGS:+ $ORIG_ARGS}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), git \`$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\`, $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg). Two net_pcap vdevs loop files of 65536 RTP positions (loss replaced by malformed frames, never on both legs; corruption; neighbour swaps; two SSRC restarts per loop; malformed frames) into one stream, output to net_null, at full rate, until each leg received the target; then SIGINT."
        echo
        echo "| check | result | detail |"
        echo "|---|---|---|"
        echo "$RESULT" | jq -r '.checks[] | "| \(.[0]) | \(if .[1] then "pass" else "FAIL" end) | \(.[2]) |"'
        echo
        echo "| figure | value |"
        echo "|---|---|"
        echo "$RESULT" | jq -r '.figures | to_entries[] | "| \(.key) | \(.value) |"'
        echo "<!-- soak.sh: end -->"
    } >"$BLOCK"
    python3 "$HERE/lib/benchkit.py" section "$OUT" "$BLOCK" || die "cannot write $OUT"
    echo "== wrote the soak section of $OUT"
fi
[[ $FAILS -eq 0 ]] || die "$FAILS check(s) failed"
echo "== soak passed"
