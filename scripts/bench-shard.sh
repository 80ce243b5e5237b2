#!/usr/bin/env bash
# Measures the lcore layouts (--nb-cores 1, --nb-cores 2 --layout shard, --nb-cores 2 --layout
# split) on this machine and writes the sharding section of BENCHMARKS.md. See --help.
set -euo pipefail

PROG=bench-shard.sh
# shellcheck source=lib/common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
# shellcheck source=lib/child.sh
source "$HERE/lib/child.sh"
KIT="$HERE/lib/benchkit.py"
ORIG_ARGS="$*"

ROUNDS=5
WARMUP=1
WINDOW=3
FRAMES=65536
STREAM_COUNTS="1 100"
LAYOUTS="one shard2 split2"
CALLGRIND=1
CG_PACKETS=50000
CG_STREAMS=10
OUT=""
WORKDIR=""
KEEP=0
PAGES=1024
BINARY=""

usage() {
    cat <<EOF
usage: scripts/bench-shard.sh [options]

Input rate of the lcore layouts, interleaved rounds (one run per layout per stream count per
round): two rx pcap vdevs (infinite_rx=1) into a net_null output, the rates read from the pcap
PMD's ipackets over the EAL telemetry socket (as scripts/bench.sh does). Layouts:
  one     --nb-cores 1, EAL -l 0-1 (main lcore on CPU 0, the worker on CPU 1)
  shard2  --nb-cores 2 (--layout shard), EAL --lcores 0@0,1@1,2@0: worker 1 shares CPU 0 with
          the main lcore (which sleeps between 5 ms ticks)
  split2  --nb-cores 2 --layout split, the same lcores
Then callgrind instructions per input packet of each worker thread, --nb-cores 1 and 2
(shard), $CG_STREAMS streams, and the paper estimate for 16 cores and 100 GbE. Writes the
section between the markers "bench-shard:begin/end" of BENCHMARKS.md (scripts/bench.sh
carries it over).

options:
  --rounds N         rounds [$ROUNDS]
  --warmup S         seconds of traffic before sampling [$WARMUP]
  --window S         sampling window, seconds [$WINDOW]
  --frames N         frames per pcap file (multiple of 65536) [$FRAMES]
  --streams "LIST"   stream counts [$STREAM_COUNTS]
  --layouts "LIST"   layouts, of: one shard2 split2 [$LAYOUTS]
  --no-callgrind     skip the callgrind count (needs valgrind)
  --callgrind-packets N  packets per leg of the callgrind runs [$CG_PACKETS]
  --binary PATH      mcast-failover binary [target/release/mcast-failover]
  --out FILE         report path [BENCHMARKS.md at the repo root]
  --workdir DIR      inputs, logs, per-run JSON (kept) [temp dir, removed unless --keep]
  --keep             keep the temp workdir
  -h, --help         this text
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --layouts) need_value "$@"; for l in $2; do case $l in one|shard2|split2) ;; *) die_usage "--layouts: unknown layout: $l" ;; esac; done; LAYOUTS=$2; shift 2 ;;
        *) bench_opt "$@" || die_usage "unknown option: $1"; shift "$BENCH_SHIFT" ;;
    esac
done

need_root "hugepages, DPDK"
need python3 jq
if [ "$CALLGRIND" = 1 ] && ! want valgrind; then
    echo "$PROG: skipping the callgrind count" >&2
    CALLGRIND=0
fi

cd "$ROOT"
GEN=$ROOT/target/release/mf-pcapgen
if [ -z "$BINARY" ]; then
    cargo build --release -p mcast-failover -p testkit --bins >&2 || die "cargo build --release failed"
    BINARY=$ROOT/target/release/mcast-failover
fi
[ -x "$BINARY" ] || die "no binary at $BINARY"
[ -x "$GEN" ] || die "no mf-pcapgen at $GEN (cargo build --release -p testkit --bins)"
bench_workdir bench-shard
OUT=${OUT:-$ROOT/BENCHMARKS.md}
RESULTS=$WORKDIR/shard-results.jsonl
: >"$RESULTS"

bench_start bench-shard
bash "$HERE/hugepages.sh" --pages "$PAGES" >/dev/null || die "cannot reserve $PAGES hugepages"

echo "== generating inputs ($FRAMES frames per file)"
for n in $STREAM_COUNTS; do
    "$GEN" --streams "$n" --packets-per-stream $((FRAMES / n)) --primary "$WORKDIR/n$n-p.pcap" \
        --secondary "$WORKDIR/n$n-s.pcap" >"$WORKDIR/n$n.gen.log" 2>&1 ||
        { cat "$WORKDIR/n$n.gen.log" >&2; exit 1; }
    python3 "$KIT" toml "$n" "$WORKDIR/scale-$n.toml" --max-rate "$(python3 "$KIT" max-rate "$n")" --restart-after 1
done
MBUFS=$((2 * FRAMES + 65536))

lcores_of() { case $1 in one) echo "-l 0-1" ;; *) echo "--lcores 0@0,1@1,2@0" ;; esac; }
layout_args() {
    case $1 in
        one) echo "--nb-cores 1" ;;
        shard2) echo "--nb-cores 2 --layout shard" ;;
        split2) echo "--nb-cores 2 --layout split" ;;
    esac
}

RUN_RC=0
run() { # layout streams round
    local layout=$1 n=$2 round=$3 prefix="bsh$$${1}n${2}r${3}" log json rate bound
    log=$WORKDIR/$layout-n$n-r$round.log
    json=$WORKDIR/$layout-n$n-r$round.json
    bound=$(python3 -c "print(int($WARMUP + $WINDOW + 120))")
    # shellcheck disable=SC2046
    timeout -s INT --kill-after=15 "$bound" "$BINARY" $(lcores_of "$layout") --no-pci --log-level=warn \
        --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$WORKDIR/n$n-p.pcap,infinite_rx=1" \
        --vdev "net_pcap1,rx_pcap=$WORKDIR/n$n-s.pcap,infinite_rx=1" \
        --vdev net_null0,no-rx=1 -- --config "$WORKDIR/scale-$n.toml" $(layout_args "$layout") \
        --total-num-mbufs "$MBUFS" --stats-json "$json" >"$log" 2>&1 &
    CHILD=$!
    if ! rate=$(python3 "$KIT" rate "$prefix" --rx 0,1 --tx 2 --warmup "$WARMUP" --window "$WINDOW" --timeout 90); then
        cleanup_child
        echo "$PROG: no rate from $layout n$n round $round; log tail:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    finish_child
    RUN_RC=$CHILD_RC
    rm -rf "/var/run/dpdk/$prefix"
    [ "$RUN_RC" = 0 ] || { echo "$PROG: $layout n$n round $round exited with $RUN_RC; log tail:" >&2; tail -20 "$log" >&2; exit 1; }
    jq -c --arg layout "$layout" --argjson n "$n" --argjson round "$round" --argjson rate "$rate" \
        '{layout: $layout, streams: $n, round: $round, rate: $rate,
          dispatched: ([.inputs[].rx.dispatched] | add), handoff_full: ([.inputs[].rx.handoff_full] | add),
          input: ([.inputs[].rx.packets] | add),
          workers_tx: [(.output.workers // [{tx: .output.tx}])[] | .tx.packets]}' "$json" >>"$RESULTS"
    printf '   round %s %-7s %5s streams: in %s pps, out %s pps\n' "$round" "$layout" "$n" \
        "$(jq -r .rx_pps <<<"$rate")" "$(jq -r .tx_pps <<<"$rate")"
}

echo "== throughput: $ROUNDS interleaved rounds, ${WARMUP}s warm-up + ${WINDOW}s window per run"
for r in $(seq 1 "$ROUNDS"); do
    for n in $STREAM_COUNTS; do
        for layout in $LAYOUTS; do run "$layout" "$n" "$r"; done
    done
done

# Instructions per input packet of each worker thread (valgrind serialises the threads, so
# the count does not depend on the load). The pcap files are read once; stopped as soon as
# every packet is in.
CG_JSON=$WORKDIR/callgrind.jsonl
: >"$CG_JSON"
if [ "$CALLGRIND" = 1 ]; then
    "$GEN" --streams "$CG_STREAMS" --packets-per-stream $((CG_PACKETS / CG_STREAMS)) \
        --primary "$WORKDIR/cg-p.pcap" --secondary "$WORKDIR/cg-s.pcap" >"$WORKDIR/cg.gen.log" 2>&1 ||
        { cat "$WORKDIR/cg.gen.log" >&2; exit 1; }
    python3 "$KIT" toml "$CG_STREAMS" "$WORKDIR/cg.toml"
    for layout in one shard2; do
        echo "== callgrind: $layout, $CG_PACKETS packets per leg, $CG_STREAMS streams"
        prefix="bsh$$cg$layout"
        out=$WORKDIR/cg-$layout.out
        rm -f "$out"-* "$WORKDIR/cg-$layout.json"
        # shellcheck disable=SC2046
        timeout -s INT --kill-after=30 900 valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes \
            --callgrind-out-file="$out" \
            "$BINARY" $(lcores_of "$layout") --no-pci --no-huge -m 512 --log-level=warn --file-prefix "$prefix" \
            --vdev "net_pcap0,rx_pcap=$WORKDIR/cg-p.pcap" --vdev "net_pcap1,rx_pcap=$WORKDIR/cg-s.pcap" \
            --vdev net_null0,no-rx=1 -- --config "$WORKDIR/cg.toml" $(layout_args "$layout") \
            --stats-json "$WORKDIR/cg-$layout.json" --stats-period 0.2 >"$WORKDIR/cg-$layout.log" 2>&1 &
        CHILD=$!
        wait_rx "$WORKDIR/cg-$layout.json" $((2 * CG_PACKETS)) 6000
        finish_child
        rc=$CHILD_RC
        rm -rf "/var/run/dpdk/$prefix"
        [ "$rc" = 0 ] || { echo "$PROG: $layout under valgrind exited with $rc; log tail:" >&2; tail -5 "$WORKDIR/cg-$layout.log" >&2; exit 1; }
        for f in "$out"-*; do
            python3 "$KIT" callgrind "$f" --stats "$WORKDIR/cg-$layout.json" --worker-thread |
                jq -c --arg layout "$layout" --arg file "$(basename "$f")" '. + {layout: $layout, file: $file}' >>"$CG_JSON" || true
        done
    done
    rm -f "$WORKDIR/cg-p.pcap" "$WORKDIR/cg-s.pcap"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "   load average after: $LOAD_AFTER"
TSC_HZ=$(sed -n 's/.*TSC \([0-9]*\) Hz.*/\1/p' "$WORKDIR"/one-n*-r1.log | head -1)
python3 "$KIT" shard-report "$RESULTS" "$OUT" --callgrind "$CG_JSON" \
    --fact "command=scripts/bench-shard.sh $ORIG_ARGS" --fact "rounds=$ROUNDS" --fact "window=$WINDOW" \
    --fact "warmup=$WARMUP" --fact "frames=$FRAMES" --fact "tsc_hz=${TSC_HZ:-0}" \
    --fact "load_before=$LOAD_BEFORE" --fact "load_after=$LOAD_AFTER" --fact "cpus=$(nproc)" \
    --fact "cg_packets=$CG_PACKETS" --fact "cg_streams=$CG_STREAMS" \
    --fact "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "== wrote the sharding section of $OUT"
