#!/usr/bin/env bash
# Interleaved A/B of two mcast-failover binaries on the stream-scaling runs (10 000 streams
# and the 1-stream restart-rate control) plus the merge engine's cache misses per packet, and
# writes the "bench-scale" section of BENCHMARKS.md. See --help.
set -euo pipefail

PROG=bench-scale.sh
# shellcheck source=lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
# shellcheck source=lib/child.sh
source "$HERE/lib/child.sh"
KIT="$HERE/lib/benchkit.py"
ORIG_ARGS="$*"

ROUNDS=5
WARMUP=2
WINDOW=4
FRAMES=262144
N=10000
CALLGRIND=1
CG_PACKETS=100000
OUT=""
WORKDIR=""
KEEP=0
PAGES=2048
BINARY_A=""
BINARY_B=""
LABEL_A=before
LABEL_B=after

usage() {
    cat <<EOF
usage: scripts/bench-scale.sh --binary-a OLD [--binary-b NEW] [options]

Input rate of two builds on the stream-scaling inputs of scripts/bench.sh, rounds interleaved
(per round: A then B on scale-N, A then B on scale-1r): two rx pcap vdevs (infinite_rx=1)
carrying N streams x frames/N packets into net_null (scale-N), and the 1-stream control with
the same frames and the same restart rate on one port (scale-1r, see BENCHMARKS.md "Stream
scaling"); rates from the pcap PMD's ipackets over the EAL telemetry socket. Reported per
build: median input pps of each and scale-N vs scale-1r (the cost of the stream count alone),
and B vs A. Then scripts/callgrind-merge.sh --cache-sim on 1 and N streams (engine only, no
DPDK, valgrind's LL set to 512 KiB, the EPYC's per-core L2) for the tree's code. Writes the
section between the markers "bench-scale:begin/end" of BENCHMARKS.md (the other
sections of the report are kept).

options:
  --binary-a PATH    build A (e.g. main's binary, copied aside) [required]
  --binary-b PATH    build B [target/release/mcast-failover, built if missing]
  --label-a NAME     name of A in the report [$LABEL_A]
  --label-b NAME     name of B in the report [$LABEL_B]
  --rounds N         rounds [$ROUNDS]
  --warmup S         seconds of traffic before sampling [$WARMUP]
  --window S         sampling window, seconds [$WINDOW]
  --frames N         frames per pcap file (multiple of 65536) [$FRAMES]
  --streams N        streams of the many-stream run [$N]
  --no-callgrind     skip the callgrind cache counts (needs valgrind)
  --callgrind-packets N  packets of the smaller callgrind run [$CG_PACKETS]
  --out FILE         report path [BENCHMARKS.md at the repo root]
  --workdir DIR      inputs, logs, per-run JSON (kept) [temp dir, removed unless --keep]
  --keep             keep the temp workdir
  -h, --help         this text
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --binary-a) need_value "$@"; BINARY_A=$2; shift 2 ;;
        --binary-b) need_value "$@"; BINARY_B=$2; shift 2 ;;
        --label-a) need_value "$@"; LABEL_A=$2; shift 2 ;;
        --label-b) need_value "$@"; LABEL_B=$2; shift 2 ;;
        --streams) need_value "$@"; is_int "$2" || die_usage "--streams: not a positive integer: $2"; N=$2; shift 2 ;;
        --binary) die_usage "--binary: this script compares two, give --binary-a and --binary-b" ;;
        *) bench_opt "$@" || die_usage "unknown option: $1"; shift "$BENCH_SHIFT" ;;
    esac
done
[ -n "$BINARY_A" ] || die_usage "--binary-a is required"

need_root "hugepages, DPDK"
need python3 jq
if [ "$CALLGRIND" = 1 ] && ! want valgrind; then
    echo "$PROG: skipping the callgrind count" >&2
    CALLGRIND=0
fi

cd "$ROOT"
GEN=$ROOT/target/release/mf-pcapgen
if [ -z "$BINARY_B" ]; then
    [ -x "$ROOT/target/release/mcast-failover" ] ||
        cargo build --release -p mcast-failover -p testkit --bins >&2 || die "cargo build --release failed"
    BINARY_B=$ROOT/target/release/mcast-failover
fi
for b in "$BINARY_A" "$BINARY_B"; do [ -x "$b" ] || die "no binary at $b"; done
[ -x "$GEN" ] || die "no mf-pcapgen at $GEN (cargo build --release -p testkit --bins)"
bench_workdir bench-scale
OUT=${OUT:-$ROOT/BENCHMARKS.md}
RESULTS=$WORKDIR/scale-results.jsonl
: >"$RESULTS"

bench_start bench-scale
bash "$HERE/hugepages.sh" --pages "$PAGES" >/dev/null || die "cannot reserve $PAGES hugepages"

# The inputs of scripts/bench.sh's scale-N and scale-1r runs (same generator, same rules).
P=$((FRAMES / N))
echo "== generating inputs ($FRAMES frames per file, $N streams x $P packets)"
"$GEN" --streams "$N" --packets-per-stream "$P" --primary "$WORKDIR/many-p.pcap" \
    --secondary "$WORKDIR/many-s.pcap" >"$WORKDIR/many.gen.log" 2>&1 ||
    { cat "$WORKDIR/many.gen.log" >&2; exit 1; }
python3 "$KIT" toml "$N" "$WORKDIR/many.toml" --max-rate "$(python3 "$KIT" max-rate "$N")" --restart-after 1
"$GEN" --streams 1 --packets-per-stream "$P" --primary "$WORKDIR/r1-p.pcap" \
    --secondary "$WORKDIR/r1-s.pcap" >"$WORKDIR/r1.gen.log" 2>&1 ||
    { cat "$WORKDIR/r1.gen.log" >&2; exit 1; }
python3 "$KIT" interleave "$WORKDIR/r1-p.pcap" "$WORKDIR/r1-s.pcap" "$WORKDIR/one1r.pcap" --repeat "$N" >/dev/null
rm -f "$WORKDIR/r1-p.pcap" "$WORKDIR/r1-s.pcap"
python3 "$KIT" toml 1 "$WORKDIR/one1r.toml" --max-rate "$(python3 "$KIT" max-rate "$N")" --restart-after 1 --ports 0,0,1
MBUFS=$((2 * FRAMES + 65536))

vdevs() { # input set
    case $1 in
        many) echo "--vdev net_pcap0,rx_pcap=$WORKDIR/many-p.pcap,infinite_rx=1 --vdev net_pcap1,rx_pcap=$WORKDIR/many-s.pcap,infinite_rx=1 --vdev net_null0,no-rx=1" ;;
        one1r) echo "--vdev net_pcap0,rx_pcap=$WORKDIR/one1r.pcap,infinite_rx=1 --vdev net_null0,no-rx=1" ;;
    esac
}
rxports() { case $1 in many) echo 0,1 ;; *) echo 0 ;; esac; }
txport() { case $1 in many) echo 2 ;; *) echo 1 ;; esac; }

run() { # build(a|b) set round
    local build=$1 set=$2 round=$3 bin prefix log json rate bound
    if [ "$build" = a ]; then bin=$BINARY_A; else bin=$BINARY_B; fi
    prefix="bsc$$${build}${set}r${round}"
    log=$WORKDIR/$build-$set-r$round.log
    json=$WORKDIR/$build-$set-r$round.json
    bound=$(python3 -c "print(int($WARMUP + $WINDOW + 120))")
    # shellcheck disable=SC2046
    timeout -s INT --kill-after=15 "$bound" "$bin" -l 0-1 --no-pci --log-level=warn \
        --file-prefix "$prefix" $(vdevs "$set") -- --config "$WORKDIR/$set.toml" \
        --total-num-mbufs "$MBUFS" --stats-json "$json" >"$log" 2>&1 &
    CHILD=$!
    if ! rate=$(python3 "$KIT" rate "$prefix" --rx "$(rxports "$set")" --tx "$(txport "$set")" \
        --warmup "$WARMUP" --window "$WINDOW" --timeout 90); then
        cleanup_child
        echo "$PROG: no rate from $build $set round $round; log tail:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    finish_child
    rm -rf "/var/run/dpdk/$prefix"
    [ "$CHILD_RC" = 0 ] || { echo "$PROG: $build $set round $round exited with $CHILD_RC; log tail:" >&2; tail -20 "$log" >&2; exit 1; }
    jq -c --arg b "$build" --arg set "$set" --argjson round "$round" \
        '{build: $b, set: $set, round: $round} + .' <<<"$rate" >>"$RESULTS"
    printf '   round %s %-6s %-5s in %s pps\n' "$round" "$build" "$set" "$(jq .rx_pps <<<"$rate")"
}

echo "== throughput: $ROUNDS interleaved rounds (A, B per input), ${WARMUP}s warm-up + ${WINDOW}s window"
for r in $(seq 1 "$ROUNDS"); do
    for set in many one1r; do
        run a "$set" "$r"
        run b "$set" "$r"
    done
done
rm -f "$WORKDIR"/*.pcap

CG_ROWS=""
if [ "$CALLGRIND" = 1 ]; then
    echo "== callgrind --cache-sim: the merge engine, 1 and $N streams, $CG_PACKETS/$((2 * CG_PACKETS)) packets"
    for s in 1 "$N"; do
        line=$(bash "$HERE/callgrind-merge.sh" --mode primary --packets "$CG_PACKETS" --streams "$s" --cache-sim --ll 524288,8,64)
        echo "   $line"
        CG_ROWS+="| $s | $(sed -n 's/.*:  *\([0-9.]*\) instructions.*D1 misses \([0-9.]*\), LL misses \([0-9.]*\).*/\1 | \2 | \3/p' <<<"$line") |"$'\n'
    done
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------ report
BLOCK=$(python3 - "$RESULTS" "$LABEL_A" "$LABEL_B" "$N" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
la, lb, n = sys.argv[2], sys.argv[3], sys.argv[4]
med = lambda b, s: statistics.median(r["rx_pps"] for r in rows if r["build"] == b and r["set"] == s)
rng = lambda b, s: [r["rx_pps"] for r in rows if r["build"] == b and r["set"] == s]
print(f"| build | scale-{n} in pps (median) | range | scale-1r in pps (median) | range | scale-{n} vs scale-1r |")
print("|---|---|---|---|---|---|")
for b, l in (("a", la), ("b", lb)):
    m, o = med(b, "many"), med(b, "one1r")
    fm = lambda v: f"{v / 1e6:.3f} M"
    print(f"| {l} | {fm(m)} | {fm(min(rng(b, 'many')))} .. {fm(max(rng(b, 'many')))} | {fm(o)} | "
          f"{fm(min(rng(b, 'one1r')))} .. {fm(max(rng(b, 'one1r')))} | {100 * (m / o - 1):+.1f} % |")
# B vs A per round (the two runs of a round are back to back), then the median.
for s, name in (("many", f"scale-{n}"), ("one1r", "scale-1r")):
    rs = sorted({r["round"] for r in rows})
    per = [next(r["rx_pps"] for r in rows if r["build"] == "b" and r["set"] == s and r["round"] == k)
           / next(r["rx_pps"] for r in rows if r["build"] == "a" and r["set"] == s and r["round"] == k) for k in rs]
    print(f"\n{lb} vs {la} on {name}, per round: " + ", ".join(f"{100 * (p - 1):+.1f} %" for p in per)
          + f" (median {100 * (statistics.median(per) - 1):+.1f} %)")
EOF
)
{
    echo "<!-- bench-scale:begin (scripts/bench-scale.sh) -->"
    echo "## Many streams: interleaved A/B of two builds (issue 12 \"Many streams\")"
    echo
    echo "\`scripts/bench-scale.sh${ORIG_ARGS:+ $ORIG_ARGS}\` ($(date -u '+%Y-%m-%d %H:%M UTC'), git \`$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' + uncommitted changes')\`, load $LOAD_BEFORE before, $LOAD_AFTER after, 2 shared vCPUs): $ROUNDS interleaved rounds, ${WARMUP} s warm-up + ${WINDOW} s window per run; A = \`$LABEL_A\`, B = \`$LABEL_B\`. scale-$N: $N streams x $P packets on two pcap ports; scale-1r: 1 stream, the same frames and restart rate on one port (as in \"Stream scaling\"). scale-$N vs scale-1r is the cost of the stream count alone (target: within 15 %)."
    echo
    echo "$BLOCK"
    if [ -n "$CG_ROWS" ]; then
        echo
        echo "Merge engine alone (\`scripts/callgrind-merge.sh --mode primary --streams S --cache-sim\`, valgrind LL = 512 KiB as the per-core L2; per input packet, from the difference of a $CG_PACKETS- and a $((2 * CG_PACKETS))-packet run). Valgrind does not simulate prefetches, so these counts are the misses the code has to take (or hide), not what it stalls on:"
        echo
        echo "| streams | instructions | D1 misses | L2 (LL) misses |"
        echo "|---|---|---|---|"
        printf '%s' "$CG_ROWS"
    fi
    echo "<!-- bench-scale:end -->"
} >"$WORKDIR/block.md"
python3 "$KIT" section "$OUT" "$WORKDIR/block.md" || die "cannot write $OUT"
cat "$WORKDIR/block.md"
echo "== wrote $OUT"
