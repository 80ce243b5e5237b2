#!/usr/bin/env bash
# Benchmarks mcast-failover against dpdk-testpmd (io forwarding) on this machine and writes
# BENCHMARKS.md from the measured figures. See --help.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
KIT="$HERE/lib/benchkit.py"
PROG=bench.sh
ORIG_ARGS="$*"

ROUNDS=3
WARMUP=2
WINDOW=4
FRAMES=262144
STREAM_COUNTS="1 100 1000 10000"
OUT=""
WORKDIR=""
KEEP=0
QUICK=0
PROFILE=1
PAGES=2048
BINARY=""
TESTPMD=${TESTPMD:-dpdk-testpmd}

usage() {
    cat <<EOF
usage: scripts/bench.sh [options]

Measures mcast-failover against dpdk-testpmd (io forwarding) with the same EAL options on this
machine: -l 0-1 --no-pci, two rx pcap vdevs (primary, secondary) with infinite_rx=1 and a
net_null output (no-rx=1). Both tools' rx rates are read the same way: the pcap PMD's ipackets
of ports 0+1 over the EAL telemetry socket (/ethdev/stats,N). Rounds are interleaved
(testpmd, then mcast-failover, per input set, per round); medians and spreads are reported.

Runs: 1 stream with defaults, 1 stream with --no-udp-csum-check, 1 stream with 1 % independent
loss per leg, and a scaling series of 1/100/1000/10000 streams, each stream with a 50 ms
window at its share of the rate and restart-after 1 (see BENCHMARKS.md for why). Then the
per-stream memory (512-slot default window), a perf profile of the worker lcore, and
BENCHMARKS.md. Default run: about 8 minutes.

options:
  --quick            short smoke run: 1 and 100 streams, 65536-frame files, 1 round,
                     1 s windows, no profile; writes WORKDIR/BENCHMARKS.md unless --out
                     (printed instead when the workdir is a temp dir that is removed)
  --rounds N         rounds per variant [$ROUNDS]
  --warmup S         seconds of traffic before sampling [$WARMUP]
  --window S         sampling window, seconds [$WINDOW]
  --frames N         frames per pcap file (multiple of 65536) [$FRAMES]
  --streams "LIST"   stream counts of the scaling series [$STREAM_COUNTS]
  --hugepages N      2 MiB hugepages to reserve (never shrinks) [$PAGES]
  --no-profile       skip the perf profile
  --binary PATH      mcast-failover binary [target/release/mcast-failover]
  --out FILE         report path [BENCHMARKS.md at the repo root; WORKDIR/BENCHMARKS.md with --quick]
  --workdir DIR      inputs, logs, per-run JSON (kept) [temp dir, removed unless --keep]
  --keep             keep the temp workdir
  -h, --help         this text

Needs root, dpdk-testpmd, python3, perf (for the profile) and hugepages; builds the release
binaries (mcast-failover, mf-pcapgen) if missing.
Exit status: 0 done, 1 a run failed, 2 bad usage, 3 missing prerequisite.
EOF
}

bad() { echo "$PROG: $* (try --help)" >&2; exit 2; }
need_val() { if [ $# -lt 2 ] || [ -z "$2" ]; then bad "$1 needs a value"; fi; }
is_num() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_int() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --quick) QUICK=1; shift ;;
        --rounds) need_val "$@"; is_int "$2" || bad "--rounds: not a positive integer: $2"; ROUNDS=$2; shift 2 ;;
        --warmup) need_val "$@"; is_num "$2" || bad "--warmup: not a number: $2"; WARMUP=$2; shift 2 ;;
        --window) need_val "$@"; is_num "$2" || bad "--window: not a number: $2"; WINDOW=$2; shift 2 ;;
        --frames) need_val "$@"; { is_int "$2" && [ $(($2 % 65536)) -eq 0 ]; } || bad "--frames: not a multiple of 65536: $2"; FRAMES=$2; shift 2 ;;
        --streams) need_val "$@"; for n in $2; do is_int "$n" || bad "--streams: not a positive integer: $n"; done; STREAM_COUNTS=$2; shift 2 ;;
        --hugepages) need_val "$@"; is_int "$2" || bad "--hugepages: not a positive integer: $2"; PAGES=$2; shift 2 ;;
        --no-profile) PROFILE=0; shift ;;
        --binary) need_val "$@"; BINARY=$2; shift 2 ;;
        --out) need_val "$@"; OUT=$2; shift 2 ;;
        --workdir) need_val "$@"; WORKDIR=$2; shift 2 ;;
        --keep) KEEP=1; shift ;;
        *) bad "unknown option: $1" ;;
    esac
done

if [ "$QUICK" = 1 ]; then
    ROUNDS=1; WARMUP=1; WINDOW=1; FRAMES=65536; STREAM_COUNTS="1 100"; PROFILE=0
fi

missing() { echo "$PROG: $*" >&2; exit 3; }
[ "$(id -u)" = 0 ] || missing "must run as root (hugepages, DPDK)"
command -v "$TESTPMD" >/dev/null || missing "$TESTPMD not found (apt-get install dpdk)"
command -v python3 >/dev/null || missing "python3 not found"
command -v jq >/dev/null || missing "jq not found"
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null; then
    echo "$PROG: perf not found: skipping the profile" >&2
    PROFILE=0
fi

cd "$ROOT"
GEN=$ROOT/target/release/mf-pcapgen
BINARY=${BINARY:-$ROOT/target/release/mcast-failover}
if [ ! -x "$BINARY" ] || [ ! -x "$GEN" ]; then
    echo "== building release binaries"
    cargo build --release -p mcast-failover -p testkit --bins >&2 || missing "cargo build --release failed"
fi
[ -x "$BINARY" ] || missing "no binary at $BINARY"

OWN_WORKDIR=0
if [ -z "$WORKDIR" ]; then
    WORKDIR=$(mktemp -d /tmp/mcast-failover-bench.XXXXXX)
    OWN_WORKDIR=1
else
    mkdir -p "$WORKDIR"
fi
WORKDIR=$(cd "$WORKDIR" && pwd)
if [ -z "$OUT" ]; then
    if [ "$QUICK" = 1 ]; then OUT=$WORKDIR/BENCHMARKS.md; else OUT=$ROOT/BENCHMARKS.md; fi
fi
RESULTS=$WORKDIR/results.jsonl
: >"$RESULTS"

# Children we started, stopped on exit or Ctrl-C (by pid, never by name). CHILD is the
# `timeout` bounding a run; SIGINT goes to the process under it, once: a signal to
# `timeout` itself is forwarded to the child AND to the process group, i.e. twice, and
# mcast-failover treats a second SIGINT during shutdown as "exit now" (status 130).
CHILD=""
stop_child() {
    local target
    target=$(pgrep -P "$CHILD" | head -1 || true)
    kill -INT "${target:-$CHILD}" 2>/dev/null || true
}
cleanup_child() {
    if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
        stop_child
        wait "$CHILD" 2>/dev/null || true
    fi
    CHILD=""
}
on_exit() {
    cleanup_child
    if [ "$OWN_WORKDIR" = 1 ] && [ "$KEEP" = 0 ]; then rm -rf "$WORKDIR"; fi
}
trap 'exit 130' INT TERM
trap on_exit EXIT

echo "== bench: workdir $WORKDIR, report $OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "   load average before: $LOAD_BEFORE"
bash "$HERE/hugepages.sh" --pages "$PAGES" >/dev/null || missing "cannot reserve $PAGES hugepages"
HP="$(awk '/HugePages_Total/{t=$2}/HugePages_Free/{f=$2}END{print t" x 2 MiB reserved ("f" free at start)"}' /proc/meminfo)"

# ------------------------------------------------------------------ inputs
# One primary/secondary pair per stream count, all with FRAMES frames (same mbuf working set).
# 1 stream: FRAMES/65536 full RTP cycles -> a looping replay rolls over naturally.
# N streams: FRAMES/N packets per stream; each loop of the file is a step back in every
# stream's sequence, which the engine (slots 16 < step) resynchronises as a source restart.
gen() { # name streams extra...
    local name=$1 n=$2; shift 2
    local per=$((FRAMES / n))
    "$GEN" --streams "$n" --packets-per-stream "$per" --primary "$WORKDIR/$name-p.pcap" \
        --secondary "$WORKDIR/$name-s.pcap" "$@" >"$WORKDIR/$name.gen.log" 2>&1 ||
        { cat "$WORKDIR/$name.gen.log" >&2; exit 1; }
}
echo "== generating inputs ($FRAMES frames per file)"
# Per-stream window of the scaling series: 50 ms at the stream's share of ~1.2 Mpps per leg
# (max_rate = 1.2M / N, clamped to 300..10000; the binary sizes the slots from it), and
# restart_after 1 so a file loop (a step back larger than the window) resynchronises at once.
max_rate_for() { local r=$((1200000 / $1)); [ $r -gt 10000 ] && r=10000; [ $r -lt 300 ] && r=300; echo $r; }
for n in $STREAM_COUNTS; do
    gen "n$n" "$n"
    python3 "$KIT" toml "$n" "$WORKDIR/scale-$n.toml" --max-rate "$(max_rate_for "$n")" --restart-after 1
done
case " $STREAM_COUNTS " in *" 1 "*) ;; *) gen n1 1 ;; esac
gen loss1 1 --loss 1 --seed 7
# Independent loss leaves the two files with different frame counts: looping, the legs would
# drift apart by the difference on every loop. Repeat the shorter file's last frame (a
# duplicate the engine drops) so both loop in step.
PAD=$(python3 "$KIT" pad "$WORKDIR/loss1-p.pcap" "$WORKDIR/loss1-s.pcap")
MBUFS=$((2 * FRAMES + 65536))

EAL_BASE=(-l 0-1 --no-pci --log-level=warn)
vdevs() { # input-set
    echo "--vdev net_pcap0,rx_pcap=$WORKDIR/$1-p.pcap,infinite_rx=1"
    echo "--vdev net_pcap1,rx_pcap=$WORKDIR/$1-s.pcap,infinite_rx=1"
    echo "--vdev net_null0,no-rx=1"
}

# Starts "$@" in the background under a hard time bound, samples its ports over telemetry,
# stops it with SIGINT. Leaves benchkit's rate JSON in $RATE and the exit status in $RUN_RC
# (runs in the current shell: no command substitution, so both survive).
RUN_RC=0
RATE=""
measure() { # prefix log txports cmd...
    local prefix=$1 log=$2 txp=$3; shift 3
    local bound
    bound=$(python3 -c "print(int($WARMUP + $WINDOW + 120))")
    timeout -s INT --kill-after=15 "$bound" "$@" >"$log" 2>&1 &
    CHILD=$!
    if ! RATE=$(python3 "$KIT" rate "$prefix" --rx 0,1 --tx "$txp" --warmup "$WARMUP" --window "$WINDOW" --timeout 90); then
        cleanup_child
        echo "$PROG: no rate from $prefix; log tail:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    stop_child
    RUN_RC=0
    wait "$CHILD" || RUN_RC=$?
    CHILD=""
    rm -rf "/var/run/dpdk/$prefix"
}

run_testpmd() { # set round
    local set=$1 round=$2 prefix="bench$$tp$1r$2" log="$WORKDIR/testpmd-$1-r$2.log"
    # shellcheck disable=SC2046
    measure "$prefix" "$log" 0,1 "$TESTPMD" "${EAL_BASE[@]}" --file-prefix "$prefix" $(vdevs "$set") \
        -- --forward-mode=io --nb-cores=1 --total-num-mbufs="$MBUFS" --stats-period 1000
    local rate=$RATE
    [ "$RUN_RC" = 0 ] || echo "   warning: testpmd exited with $RUN_RC (see $log)" >&2
    jq -c --arg set "$set" --argjson round "$round" \
        '{tool: "testpmd", variant: $set, round: $round} + .' <<<"$rate" >>"$RESULTS"
    printf '   round %s testpmd        %-10s rx %s pps\n' "$round" "$set" "$(jq .rx_pps <<<"$rate")"
}

run_mf() { # variant set round extra-args...
    local v=$1 set=$2 round=$3; shift 3
    local prefix="bench$$mf$v-r$round" log="$WORKDIR/mf-$v-r$round.log" st="$WORKDIR/mf-$v-r$round.json"
    # shellcheck disable=SC2046
    measure "$prefix" "$log" 2 "$BINARY" "${EAL_BASE[@]}" --file-prefix "$prefix" $(vdevs "$set") \
        -- --total-num-mbufs "$MBUFS" --stats-json "$st" "$@"
    local rate=$RATE
    if [ "$RUN_RC" != 0 ] || [ ! -s "$st" ]; then
        echo "$PROG: mcast-failover ($v round $round) exited with $RUN_RC; log tail:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    jq -c --arg v "$v" --argjson round "$round" --slurpfile st "$st" \
        '{tool: "mf", variant: $v, round: $round} + . + {latency_ns: $st[0].latency_ns, totals: $st[0].totals, leak_free: ($st[0].mempool.in_use)}' \
        <<<"$rate" >>"$RESULTS"
    printf '   round %s mcast-failover %-10s in %s pps, out %s pps, p99 %s ns\n' "$round" "$v" \
        "$(jq .rx_pps <<<"$rate")" "$(jq .tx_pps <<<"$rate")" "$(jq .latency_ns.p99 "$st")"
}

ONE_STREAM=(--stream "239.1.0.1:5000,239.2.0.1:5000=239.10.0.1:5004")

declare -A SLOTS_OF
echo "== throughput: $ROUNDS interleaved rounds, ${WARMUP}s warm-up + ${WINDOW}s window per run"
for r in $(seq 1 "$ROUNDS"); do
    run_testpmd n1 "$r"
    run_mf default n1 "$r" "${ONE_STREAM[@]}"
    run_mf no-csum n1 "$r" "${ONE_STREAM[@]}" --no-udp-csum-check
    run_mf loss1 loss1 "$r" "${ONE_STREAM[@]}"
    for n in $STREAM_COUNTS; do
        [ "$n" = 1 ] || run_testpmd "n$n" "$r"
        run_mf "scale-$n" "n$n" "$r" --config "$WORKDIR/scale-$n.toml"
        slots=$(grep -m1 -o 'slots [0-9]*' "$WORKDIR/mf-scale-$n-r$r.log" | cut -d' ' -f2)
        SLOTS_OF[$n]=$slots
        if [ "$n" -gt 1 ] && [ $((FRAMES / n - 1)) -le "${slots:-0}" ]; then
            echo "   warning: $n streams: a file loop steps back $((FRAMES / n - 1)) <= $slots slots: not a restart, output stalls" >&2
        fi
    done
done

# ------------------------------------------------------------------ memory
# Process memory per stream: private data (VmData) of the running binary with 10000 streams
# minus with 1 stream, both with the default window (50 ms x 10 kpps -> 512 slots), divided
# by 9999. Includes everything a stream costs (slots, sent map, stats board, classifier).
echo "== memory per stream (default 50 ms / 10 kpps window)"
"$GEN" --streams 1 --packets-per-stream 64 --primary "$WORKDIR/mem-p.pcap" --secondary "$WORKDIR/mem-s.pcap" >/dev/null 2>&1
python3 "$KIT" toml 10000 "$WORKDIR/mem-10000.toml"
python3 "$KIT" toml 1 "$WORKDIR/mem-1.toml"
vmdata() { # n -> "vmdata_kib slots"
    local n=$1 prefix="bench$$mem$1" log="$WORKDIR/mem-$1.log"
    timeout -s INT --kill-after=10 60 "$BINARY" "${EAL_BASE[@]}" --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$WORKDIR/mem-p.pcap" --vdev "net_pcap1,rx_pcap=$WORKDIR/mem-s.pcap" \
        --vdev net_null0,no-rx=1 -- --config "$WORKDIR/mem-$n.toml" --total-num-mbufs 8192 \
        --stats-json "$WORKDIR/mem-$n.json" --stats-period 0.2 >"$log" 2>&1 &
    CHILD=$!
    local i=0
    # The first stats file is written by the running monitor loop: the workers are up.
    while [ ! -s "$WORKDIR/mem-$n.json" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    local kib=0 pid
    pid=$(pgrep -P "$CHILD" | head -1 || true)
    [ -n "$pid" ] && kib=$(awk '/^VmData:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    stop_child
    wait "$CHILD" || true
    CHILD=""
    rm -rf "/var/run/dpdk/$prefix"
    echo "$kib $(grep -m1 -o 'slots [0-9]*' "$log" | cut -d' ' -f2)"
}
read -r MEM1 SLOTS1 <<<"$(vmdata 1)"
read -r MEM10K SLOTS10K <<<"$(vmdata 10000)"
echo "   VmData 1 stream $MEM1 KiB, 10000 streams $MEM10K KiB, slots per leg $SLOTS1/$SLOTS10K"

# ------------------------------------------------------------------ profile
PROFILE_TXT=""
if [ "$PROFILE" = 1 ]; then
    echo "== perf profile of the worker lcore (cpu-clock sampling, 1 stream defaults)"
    prefix="bench$$prof"
    # shellcheck disable=SC2046
    timeout -s INT --kill-after=15 60 "$BINARY" "${EAL_BASE[@]}" --file-prefix "$prefix" $(vdevs n1) \
        -- --total-num-mbufs "$MBUFS" "${ONE_STREAM[@]}" >"$WORKDIR/prof.log" 2>&1 &
    CHILD=$!
    python3 "$KIT" rate "$prefix" --warmup 1 --window 0.1 --timeout 90 >/dev/null
    pid=$(pgrep -P "$CHILD" | head -1 || true)
    perf record -q -e cpu-clock -F 2999 -p "$pid" -o "$WORKDIR/perf.data" -- sleep "$WINDOW" 2>"$WORKDIR/perf.err" || true
    cleanup_child
    rm -rf "/var/run/dpdk/$prefix"
    if [ -s "$WORKDIR/perf.data" ]; then
        PROFILE_TXT=$(perf report -i "$WORKDIR/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -20 | sed -E 's/[ -]+$//' || true)
        echo "$PROFILE_TXT" | head -12
    fi
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "   load average after: $LOAD_AFTER"

# ------------------------------------------------------------------ report
SCALE_VARIANTS=""
for n in $STREAM_COUNTS; do SCALE_VARIANTS="$SCALE_VARIANTS scale-$n"; done
jq -n \
    --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --arg host "$(uname -n)" \
    --arg nproc "$(nproc)" \
    --arg cpu "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) ($(grep -c ^processor /proc/cpuinfo) vCPU, $(systemd-detect-virt 2>/dev/null || echo unknown virt))" \
    --arg kernel "$(uname -r)" \
    --arg dpdk "$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown); testpmd $(command -v "$TESTPMD")" \
    --arg git "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' + uncommitted changes')" \
    --arg lb "$LOAD_BEFORE" --arg la "$LOAD_AFTER" --arg hp "$HP" \
    --arg rounds "$ROUNDS" --arg warmup "$WARMUP" --arg window "$WINDOW" --arg frames "$FRAMES" \
    --arg command "scripts/bench.sh${ORIG_ARGS:+ $ORIG_ARGS}" \
    --arg scale "$SCALE_VARIANTS" --arg counts "$STREAM_COUNTS" \
    --argjson mem1 "${MEM1:-0}" --argjson mem10k "${MEM10K:-0}" \
    --argjson slots "${SLOTS1:-0}" --arg profile "$PROFILE_TXT" \
    --arg quick "$QUICK" --arg pad "$(jq -r '.repeats' <<<"$PAD")" \
    --argjson rates "$(for n in $STREAM_COUNTS; do echo "{\"$n\": \"$(max_rate_for "$n")\"}"; done | jq -s add)" \
    --argjson slotsof "$(for n in $STREAM_COUNTS; do echo "{\"$n\": \"${SLOTS_OF[$n]:-?}\"}"; done | jq -s add)" \
    '{
      date: $date, host: $host, nproc: $nproc, cpu: $cpu, kernel: $kernel, dpdk: $dpdk, git: $git,
      load_before: $lb, load_after: $la, hugepages: $hp, rounds: $rounds,
      warmup_s: $warmup, window_s: $window, frames_per_file: $frames, command: $command,
      quick: ($quick == "1"),
      variants: (["default", "no-csum", "loss1"] + ($scale | split(" ") | map(select(. != "")))),
      scaling: ($scale | split(" ") | map(select(. != ""))),
      scale_base: "scale-1",
      streams: ({default: 1, "no-csum": 1, loss1: 1} + ([$counts | split(" ")[] | select(. != "") | {key: ("scale-" + .), value: tonumber}] | from_entries)),
      tp_of: ({default: "n1", "no-csum": "n1", loss1: "n1"} + ([$counts | split(" ")[] | select(. != "") | {key: ("scale-" + .), value: ("n" + .)}] | from_entries)),
      describe: ({
        default: "1 stream, all defaults (primary mode, 50 ms / 10 kpps window = 512 slots, UDP checksum verified in software)",
        "no-csum": "as default with --no-udp-csum-check",
        loss1: ("as default, input with 1 % independent random loss per leg (mf-pcapgen --loss 1 --seed 7; the shorter file padded with " + $pad + " repeats of its last frame so both legs loop in step; ratio against the lossless n1 testpmd run)")
      } + ([$counts | split(" ")[] | select(. != "") | {key: ("scale-" + .), value: (. + " streams, --config: per stream max_rate " + ($rates[.] // "?") + " (-> slots " + ($slotsof[.] // "?") + " per leg for 50 ms), restart_after 1")}] | from_entries)),
      mem: {vmdata_1_kib: $mem1, vmdata_10000_kib: $mem10k, slots: $slots},
      profile: $profile
    }' >"$WORKDIR/meta.json"

python3 "$KIT" report "$RESULTS" "$OUT" --meta "$WORKDIR/meta.json"
if [ "$OWN_WORKDIR" = 1 ] && [ "$KEEP" = 0 ] && [[ $OUT == "$WORKDIR"/* ]]; then
    cat "$OUT"   # the temp workdir goes away on exit
else
    echo "== wrote $OUT"
fi
