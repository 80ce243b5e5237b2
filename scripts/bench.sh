#!/usr/bin/env bash
# Benchmarks mcast-failover against dpdk-testpmd (io forwarding) on this machine and writes
# BENCHMARKS.md from the measured figures. See --help.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/child.sh
source "$HERE/lib/child.sh"
# shellcheck source=lib/netns.sh
source "$HERE/lib/netns.sh"
KIT="$HERE/lib/benchkit.py"
ORIG_ARGS="$*"

ROUNDS=3
WARMUP=2
WINDOW=4
FRAMES=262144
STREAM_COUNTS="1 100 1000 10000"
RATES="10000 50000 100000 200000 max"
PACED_SECONDS=4
PACED=1
GST=1
GST_PACKETS=2000
CALLGRIND=1
CG_PACKETS=100000
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
window at its share of the rate and restart-after 1 (see BENCHMARKS.md for why), plus two
1-stream controls with both legs interleaved on one port: scale-1p (no restarts) and scale-1r
(the sequence restarts every frames/N_max packets, the restart rate of the largest N).
Then residence latency at paced rates (tcpreplay into veth pairs in a network namespace made
for the run, the binary on net_af_packet), the per-stream memory (512-slot default window),
a perf profile of the worker lcore, callgrind instructions per packet of the worker
functions, and BENCHMARKS.md. Default run: about 8 minutes.

options:
  --quick            short smoke run: 1 and 100 streams, 65536-frame files, 1 round,
                     1 s windows, 1 s per paced rate, no profile, no callgrind (options
                     after --quick override these); writes WORKDIR/BENCHMARKS.md unless --out
                     (printed instead when the workdir is a temp dir that is removed)
  --rounds N         rounds per variant [$ROUNDS]
  --warmup S         seconds of traffic before sampling [$WARMUP]
  --window S         sampling window, seconds [$WINDOW]
  --frames N         frames per pcap file (multiple of 65536) [$FRAMES]
  --streams "LIST"   stream counts of the scaling series [$STREAM_COUNTS]
  --hugepages N      2 MiB hugepages to reserve (never shrinks) [$PAGES]
  --rates "LIST"     paced rates, aggregate pps of both legs; "max" = tcpreplay --topspeed
                     [$RATES]
  --paced-seconds S  seconds of traffic per paced rate [$PACED_SECONDS]
  --no-paced         skip the paced latency runs (needs ip, tcpreplay, tcpprep, ethtool)
  --no-gstreamer     skip the merge-policy residence comparison (scripts/compare-gstreamer.sh:
                     every scenario, mcast-failover primary and hitless against GStreamer)
  --gst-packets N    packets per scenario of that comparison [$GST_PACKETS; 500 with --quick]
  --no-profile       skip the perf profile
  --no-callgrind     skip the callgrind count (needs valgrind)
  --profile, --callgrind  run these sections even with --quick (given after it)
  --callgrind-packets N  packets per leg of the callgrind run [$CG_PACKETS]
  --binary PATH      mcast-failover binary [target/release/mcast-failover]
  --out FILE         report path [BENCHMARKS.md at the repo root; WORKDIR/BENCHMARKS.md with --quick]
  --workdir DIR      inputs, logs, per-run JSON (kept) [temp dir, removed unless --keep]
  --keep             keep the temp workdir
  -h, --help         this text

Needs root, dpdk-testpmd, python3, jq and hugepages; perf, valgrind and tcpreplay for their
sections (skipped with a warning when missing); builds the release binaries (mcast-failover,
mf-pcapgen) if missing.
Exit status: 0 done, 1 a run failed, 2 bad usage, 3 missing prerequisite.
EOF
}


while [ $# -gt 0 ]; do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --quick)
            QUICK=1; ROUNDS=1; WARMUP=1; WINDOW=1; FRAMES=65536; STREAM_COUNTS="1 100"
            PROFILE=0; CALLGRIND=0; PACED_SECONDS=1; GST_PACKETS=500; shift ;;
        --hugepages) need_value "$@"; is_int "$2" || die_usage "--hugepages: not a positive integer: $2"; PAGES=$2; shift 2 ;;
        --rates) need_value "$@"; for r in $2; do [ "$r" = max ] || is_int "$r" || die_usage "--rates: not a rate: $r"; done; RATES=$2; shift 2 ;;
        --paced-seconds) need_value "$@"; is_num "$2" || die_usage "--paced-seconds: not a number: $2"; PACED_SECONDS=$2; shift 2 ;;
        --no-paced) PACED=0; shift ;;
        --no-gstreamer) GST=0; shift ;;
        --gst-packets) need_value "$@"; is_int "$2" || die_usage "--gst-packets: not a positive integer: $2"; GST_PACKETS=$2; shift 2 ;;
        --no-profile) PROFILE=0; shift ;;
        --callgrind) CALLGRIND=1; shift ;;
        --profile) PROFILE=1; shift ;;
        *) bench_opt "$@" || die_usage "unknown option: $1"; shift "$BENCH_SHIFT" ;;
    esac
done


missing() { echo "$PROG: $*" >&2; exit 3; }
need_root "hugepages, DPDK"
need python3 jq
[ "$TESTPMD" = dpdk-testpmd ] && need dpdk-testpmd
need "$TESTPMD"
if [ "$PROFILE" = 1 ] && ! want perf; then
    echo "$PROG: skipping the profile" >&2
    PROFILE=0
fi
if [ "$CALLGRIND" = 1 ] && ! want valgrind; then
    echo "$PROG: skipping the callgrind count" >&2
    CALLGRIND=0
fi
if [ "$PACED" = 1 ] && ! want ip nsenter tcpreplay tcpprep taskset ethtool; then
    echo "$PROG: skipping the paced latency runs" >&2
    PACED=0
fi

cd "$ROOT"
GEN=$ROOT/target/release/mf-pcapgen
BINARY=${BINARY:-$ROOT/target/release/mcast-failover}
if [ ! -x "$BINARY" ] || [ ! -x "$GEN" ]; then
    echo "== building release binaries"
    cargo build --release -p mcast-failover -p testkit --bins >&2 || missing "cargo build --release failed"
fi
[ -x "$BINARY" ] || missing "no binary at $BINARY"

bench_workdir bench
if [ -z "$OUT" ]; then
    if [ "$QUICK" = 1 ]; then OUT=$WORKDIR/BENCHMARKS.md; else OUT=$ROOT/BENCHMARKS.md; fi
fi
RESULTS=$WORKDIR/results.jsonl
: >"$RESULTS"

# The network namespace of the paced runs: only ours (name carries our pid), removed on exit
# with whatever still runs inside it (only processes this script started there).
NS=""
ns_down() {
    [ -n "$NS" ] || return 0
    if ip netns list | awk '{print $1}' | grep -qx "$NS"; then
        local pids
        pids=$(ip netns pids "$NS" 2>/dev/null || true)
        # shellcheck disable=SC2086
        [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
        ip netns del "$NS" 2>/dev/null || true
    fi
    NS=""
}
bench_start bench ns_down
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
# Per-stream max_rate for N streams (benchkit.py holds the rule: the report describes it too).
max_rate_for() { python3 "$KIT" max-rate "$1"; }
for n in $STREAM_COUNTS; do
    gen "n$n" "$n"
    python3 "$KIT" toml "$n" "$WORKDIR/scale-$n.toml" --max-rate "$(max_rate_for "$n")" --restart-after 1
done
case " $STREAM_COUNTS " in *" 1 "*) ;; *) gen n1 1 ;; esac
# One-port controls (see BENCHMARKS.md, "Stream scaling"): both legs of a stream interleaved in
# one file on port 0 (P0 S0 P1 S1 ...), output on port 1, so each stream sees its two copies
# back to back as every stream does with many streams. scale-1p: the n1 packets, no restart.
# scale-1r: 1 stream whose sequence restarts every P = frames/N_max packets (N_max's packets
# per stream per file loop), repeated N_max times: the file holds as many frames as N_max's
# files (same mbuf working set) and restarts the stream as often per packet.
N_MAX=$(tr ' ' '\n' <<<"$STREAM_COUNTS" | grep -v '^$' | sort -n | tail -1)
P_MAX=$((FRAMES / N_MAX))
python3 "$KIT" interleave "$WORKDIR/n1-p.pcap" "$WORKDIR/n1-s.pcap" "$WORKDIR/one1p.pcap" >/dev/null
python3 "$KIT" toml 1 "$WORKDIR/scale-1p.toml" --max-rate "$(max_rate_for 1)" --restart-after 1 --ports 0,0,1
CONTROLS="scale-1p"
if [ "$N_MAX" -gt 1 ]; then
    "$GEN" --streams 1 --packets-per-stream "$P_MAX" --primary "$WORKDIR/r1-p.pcap" \
        --secondary "$WORKDIR/r1-s.pcap" >"$WORKDIR/r1.gen.log" 2>&1 ||
        { cat "$WORKDIR/r1.gen.log" >&2; exit 1; }
    python3 "$KIT" interleave "$WORKDIR/r1-p.pcap" "$WORKDIR/r1-s.pcap" "$WORKDIR/one1r.pcap" --repeat "$N_MAX" >/dev/null
    rm -f "$WORKDIR/r1-p.pcap" "$WORKDIR/r1-s.pcap"
    python3 "$KIT" toml 1 "$WORKDIR/scale-1r.toml" --max-rate "$(max_rate_for "$N_MAX")" --restart-after 1 --ports 0,0,1
    CONTROLS="$CONTROLS scale-1r"
fi
gen loss1 1 --loss 1 --seed 7
# Independent loss leaves the two files with different frame counts: looping, the legs would
# drift apart by the difference on every loop. Repeat the shorter file's last frame (a
# duplicate the engine drops) so both loop in step.
PAD=$(python3 "$KIT" pad "$WORKDIR/loss1-p.pcap" "$WORKDIR/loss1-s.pcap")
MBUFS=$((2 * FRAMES + 65536))

EAL_BASE=(-l 0-1 --no-pci --log-level=warn)
vdevs() { # input-set (one*: one file on port 0, output port 1)
    case $1 in
        one*)
            echo "--vdev net_pcap0,rx_pcap=$WORKDIR/$1.pcap,infinite_rx=1"
            echo "--vdev net_null0,no-rx=1" ;;
        *)
            echo "--vdev net_pcap0,rx_pcap=$WORKDIR/$1-p.pcap,infinite_rx=1"
            echo "--vdev net_pcap1,rx_pcap=$WORKDIR/$1-s.pcap,infinite_rx=1"
            echo "--vdev net_null0,no-rx=1" ;;
    esac
}
rxports() { case $1 in one*) echo 0 ;; *) echo 0,1 ;; esac; }
txport() { case $1 in one*) echo 1 ;; *) echo 2 ;; esac; }

# Starts "$@" in the background under a hard time bound, samples its ports over telemetry,
# stops it with SIGINT. Leaves benchkit's rate JSON in $RATE and the exit status in $RUN_RC
# (runs in the current shell: no command substitution, so both survive).
RUN_RC=0
RATE=""
measure() { # prefix log rxports txports cmd...
    local prefix=$1 log=$2 rxp=$3 txp=$4; shift 4
    local bound
    bound=$(python3 -c "print(int($WARMUP + $WINDOW + 120))")
    timeout -s INT --kill-after=15 "$bound" "$@" >"$log" 2>&1 &
    CHILD=$!
    if ! RATE=$(python3 "$KIT" rate "$prefix" --rx "$rxp" --tx "$txp" --warmup "$WARMUP" --window "$WINDOW" --timeout 90); then
        cleanup_child
        echo "$PROG: no rate from $prefix; log tail:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    finish_child
    RUN_RC=$CHILD_RC
    rm -rf "/var/run/dpdk/$prefix"
}

run_testpmd() { # set round
    local set=$1 round=$2 prefix="bench$$tp$1r$2" log="$WORKDIR/testpmd-$1-r$2.log"
    # shellcheck disable=SC2046
    measure "$prefix" "$log" 0,1 0,1 "$TESTPMD" "${EAL_BASE[@]}" --file-prefix "$prefix" $(vdevs "$set") \
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
    measure "$prefix" "$log" "$(rxports "$set")" "$(txport "$set")" "$BINARY" "${EAL_BASE[@]}" --file-prefix "$prefix" $(vdevs "$set") \
        -- --total-num-mbufs "$MBUFS" --stats-json "$st" "$@"
    local rate=$RATE
    if [ "$RUN_RC" != 0 ] || [ ! -s "$st" ]; then
        echo "$PROG: mcast-failover ($v round $round) exited with $RUN_RC; log tail:" >&2
        tail -20 "$log" >&2
        exit 1
    fi
    jq -c --arg v "$v" --argjson round "$round" --slurpfile st "$st" \
        '{tool: "mf", variant: $v, round: $round} + . + {latency_ns: $st[0].latency_ns, totals: ($st[0].totals + {overruns: ([$st[0].streams[].overruns // 0] | add)}), leak_free: ($st[0].mempool.in_use)}' \
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
    run_mf scale-1p one1p "$r" --config "$WORKDIR/scale-1p.toml"
    SLOTS_OF[1p]=$(grep -m1 -o 'slots [0-9]*' "$WORKDIR/mf-scale-1p-r$r.log" | cut -d' ' -f2)
    if [ "$N_MAX" -gt 1 ]; then
        run_mf scale-1r one1r "$r" --config "$WORKDIR/scale-1r.toml"
        SLOTS_OF[1r]=$(grep -m1 -o 'slots [0-9]*' "$WORKDIR/mf-scale-1r-r$r.log" | cut -d' ' -f2)
    fi
done
rm -f "$WORKDIR"/one1p.pcap "$WORKDIR"/one1r.pcap

# ------------------------------------------------------------------ paced latency
# The binary's histogram measures residence inside the process (rx burst TSC -> the tx burst
# that sent the packet); the kernel path in front of it does not enter it. tcpreplay paces one
# stream (both legs of each packet back to back, primary first, a full 65536 RTP cycle so the
# loop rolls over) into two veth pairs in a namespace made for this run; the binary reads the
# far ends with net_af_packet (large rings: no drop while the worker is preempted) and sends
# to net_null. One binary run per rate, so each histogram holds one rate only.
PACED_RATES=""
if [ "$PACED" = 1 ]; then
    echo "== paced latency: tcpreplay -> veth -> net_af_packet, ${PACED_SECONDS}s per rate ($RATES)"
    "$GEN" --streams 1 --packets-per-stream 65536 --micro --primary "$WORKDIR/paced-p.pcap" \
        --secondary "$WORKDIR/paced-s.pcap" >"$WORKDIR/paced.gen.log" 2>&1 ||
        { cat "$WORKDIR/paced.gen.log" >&2; exit 1; }
    python3 "$KIT" interleave "$WORKDIR/paced-p.pcap" "$WORKDIR/paced-s.pcap" "$WORKDIR/paced.pcap" >/dev/null
    # The same with 1 % independent loss per copy (per leg), for the loss row.
    python3 "$KIT" interleave "$WORKDIR/paced-p.pcap" "$WORKDIR/paced-s.pcap" "$WORKDIR/pacedloss.pcap" \
        --loss 1 --seed 7 >/dev/null
    rm -f "$WORKDIR/paced-p.pcap" "$WORKDIR/paced-s.pcap"
    # tcpprep: frames from the primary's source address leave by -i, the others by -I.
    tcpprep --cidr=10.0.1.1/32 -i "$WORKDIR/paced.pcap" -o "$WORKDIR/paced.cache" >/dev/null
    tcpprep --cidr=10.0.1.1/32 -i "$WORKDIR/pacedloss.pcap" -o "$WORKDIR/pacedloss.cache" >/dev/null
    NS="mfbench-$$"
    ip netns add "$NS"
    mf_ns_quiet "$NS"
    in_netns "$NS" ip link add pa type veth peer name pb
    in_netns "$NS" ip link add sa type veth peer name sb
    # Full UDP checksums on the wire (veth would leave partial ones for offload).
    in_netns "$NS" ethtool -K pa tx off >/dev/null
    in_netns "$NS" ethtool -K sa tx off >/dev/null
    for l in lo pa pb sa sb; do in_netns "$NS" ip link set "$l" up; done
    afp=blocksz=4096,framesz=2048,framecnt=8192
    first_rate=$(tr ' ' '\n' <<<"$RATES" | grep -v -e '^$' -e max | head -1 || true)
    for rate in $RATES ${first_rate:+loss1@$first_rate}; do
        prefix="bench$$paced${rate/@/at}" log="$WORKDIR/paced-$rate.log" st="$WORKDIR/paced-$rate.json"
        input=paced
        if [[ $rate == loss1@* ]]; then
            input=pacedloss
            r=${rate#loss1@}
            limit=$(python3 -c "print(max(1000, int($r * $PACED_SECONDS)))")
            pace=(--pps "$r")
        elif [ "$rate" = max ]; then
            limit=$(python3 -c "print(int(250000 * $PACED_SECONDS))")
            pace=(--topspeed)
        else
            limit=$(python3 -c "print(max(1000, int($rate * $PACED_SECONDS)))")
            pace=(--pps "$rate")
        fi
        rm -f "$st"
        timeout -s INT --kill-after=15 120 nsenter --net="/run/netns/$NS" -- "$BINARY" "${EAL_BASE[@]}" \
            --file-prefix "$prefix" --vdev "net_af_packet0,iface=pb,$afp" \
            --vdev "net_af_packet1,iface=sb,$afp" --vdev net_null0,no-rx=1 -- \
            "${ONE_STREAM[@]}" --stats-json "$st" --stats-period 0.1 >"$log" 2>&1 &
        CHILD=$!
        # Ports started (the af_packet sockets take traffic) once the stream line is out.
        i=0
        while ! grep -qs '^Stream ' "$log" && [ $i -lt 600 ]; do
            kill -0 "$CHILD" 2>/dev/null || break
            sleep 0.1; i=$((i + 1))
        done
        grep -qs '^Stream ' "$log" || { echo "$PROG: paced $rate: binary not ready; log tail:" >&2; tail -20 "$log" >&2; exit 1; }
        # tcpreplay on CPU 0 (EAL's main lcore, idle): the worker busy-polls CPU 1.
        if ! timeout --kill-after=5 $((${PACED_SECONDS%.*} * 3 + 60)) nsenter --net="/run/netns/$NS" -- taskset -c 0 \
            tcpreplay -q -K -i pa -I sa -c "$WORKDIR/$input.cache" "${pace[@]}" --loop 0 \
            --limit "$limit" "$WORKDIR/$input.pcap" >"$WORKDIR/paced-$rate.tcpreplay" 2>&1; then
            echo "$PROG: paced $rate: tcpreplay failed:" >&2
            cat "$WORKDIR/paced-$rate.tcpreplay" >&2
            exit 1
        fi
        # Every sent frame counted in by the binary (bounded), then stop it like an operator.
        wait_rx "$st" "$limit" 100
        finish_child
        rc=$CHILD_RC
        rm -rf "/var/run/dpdk/$prefix"
        if [ "$rc" != 0 ] || [ ! -s "$st" ]; then
            echo "$PROG: paced $rate: mcast-failover exited with $rc; log tail:" >&2
            tail -20 "$log" >&2
            exit 1
        fi
        tr_line=$(python3 "$KIT" tcpreplay "$WORKDIR/paced-$rate.tcpreplay")
        jq -c --arg rate "$rate" --argjson tr "$tr_line" --argjson limit "$limit" \
            '{tool: "paced", variant: ("paced-" + $rate), rate: $rate, tcpreplay: $tr, limit: $limit,
              received: ([.inputs[].rx.packets] | add), missed: ([.inputs[].nic.imissed] | add),
              latency_ns: .latency_ns, totals: .totals}' "$st" >>"$RESULTS"
        PACED_RATES="$PACED_RATES $rate"
        printf '   %-7s sent %s pps (%s frames), received %s, p50 %s p99 %s p99.9 %s max %s ns\n' "$rate" \
            "$(jq .pps <<<"$tr_line")" "$(jq .packets <<<"$tr_line")" "$(jq '[.inputs[].rx.packets] | add' "$st")" \
            "$(jq .latency_ns.p50 "$st")" "$(jq .latency_ns.p99 "$st")" "$(jq .latency_ns.p999 "$st")" "$(jq .latency_ns.max "$st")"
    done
    ns_down
    rm -f "$WORKDIR/paced.pcap" "$WORKDIR/pacedloss.pcap"
fi

# ------------------------------------------------------------------ residence vs GStreamer
# The merge policy's latency and correctness on the wire, scenario by scenario (loss, common
# loss, bursts, reorder, skew, restart), for both modes and for GStreamer's funnel ->
# rtpjitterbuffer: scripts/compare-gstreamer.sh prints one ROW line per scenario and engine.
GST_ROWS=$WORKDIR/gst-rows.txt
: >"$GST_ROWS"
GST_VERDICT=""
if [ "$GST" = 1 ]; then
    if want gst-launch-1.0 tcpreplay tcpprep tshark; then
        echo "== merge policy residence: compare-gstreamer.sh, $GST_PACKETS packets per scenario"
        rc=0
        bash "$HERE/compare-gstreamer.sh" --packets "$GST_PACKETS" --binary "$BINARY" \
            --gen "$ROOT/target/release/mf-gstcompare" \
            --engines mcast-failover,mf-hitless,gst-200,gst-20,gst-20-none \
            >"$WORKDIR/gst.log" 2>&1 || rc=$?
        grep '^ROW ' "$WORKDIR/gst.log" >"$GST_ROWS" || true
        GST_VERDICT=$(grep '^VERDICT ' "$WORKDIR/gst.log" || echo "VERDICT missing (exit $rc, see $WORKDIR/gst.log)")
        echo "   $GST_VERDICT"
    else
        echo "$PROG: skipping the GStreamer comparison" >&2
    fi
fi

# ------------------------------------------------------------------ memory
# Process memory per stream: private data (VmData, allocated) and anonymous resident memory
# (RssAnon, touched) of the running binary with 10000 streams minus with 1 stream, both with
# the default window (50 ms x 10 kpps -> 512 slots), divided by 9999. Includes everything a
# stream costs (slots, stats board, classifier, timers, config).
echo "== memory per stream (default 50 ms / 10 kpps window)"
"$GEN" --streams 1 --packets-per-stream 64 --primary "$WORKDIR/mem-p.pcap" --secondary "$WORKDIR/mem-s.pcap" >/dev/null 2>&1
python3 "$KIT" toml 10000 "$WORKDIR/mem-10000.toml"
python3 "$KIT" toml 1 "$WORKDIR/mem-1.toml"
memof() { # n -> "vmdata_kib rssanon_kib slots"
    local n=$1 prefix="bench$$mem$1" log="$WORKDIR/mem-$1.log" st="$WORKDIR/mem-$1.json"
    rm -f "$st"
    timeout -s INT --kill-after=10 60 "$BINARY" "${EAL_BASE[@]}" --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$WORKDIR/mem-p.pcap" --vdev "net_pcap1,rx_pcap=$WORKDIR/mem-s.pcap" \
        --vdev net_null0,no-rx=1 -- --config "$WORKDIR/mem-$n.toml" --total-num-mbufs 8192 \
        --stats-json "$st" --stats-period 0.1 >"$log" 2>&1 &
    CHILD=$!
    local i=0 got
    # Sampled once the worker has merged the 64 packets: its engine (every slot table) exists.
    while [ $i -lt 300 ]; do
        got=$(jq '.totals.sent // 0' "$st" 2>/dev/null || echo 0)
        [ "${got:-0}" -ge 64 ] && break
        sleep 0.1; i=$((i + 1))
    done
    local kib=0 rss=0 pid
    pid=$(pgrep -P "$CHILD" | head -1 || true)
    if [ -n "$pid" ]; then
        kib=$(awk '/^VmData:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        rss=$(awk '/^RssAnon:/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    fi
    finish_child
    rm -rf "/var/run/dpdk/$prefix"
    echo "${kib:-0} ${rss:-0} $(grep -m1 -o 'slots [0-9]*' "$log" | cut -d' ' -f2)"
}
read -r MEM1 RSS1 SLOTS1 <<<"$(memof 1)"
read -r MEM10K RSS10K SLOTS10K <<<"$(memof 10000)"
echo "   VmData 1 stream $MEM1 KiB, 10000 streams $MEM10K KiB; RssAnon $RSS1 / $RSS10K KiB; slots per leg $SLOTS1/$SLOTS10K"

# ------------------------------------------------------------------ profile
PROFILE_TXT=""
PROFILE_N_TXT=""
# perf_profile SET OUTFILE-TAG ARGS... : cpu-clock samples of the worker lcore's thread over
# WINDOW seconds at full rate; prints `perf report` top entries.
perf_profile() {
    local set=$1 tag=$2; shift 2
    local prefix="bench$$prof$tag" pid tid
    # shellcheck disable=SC2046
    timeout -s INT --kill-after=15 90 "$BINARY" "${EAL_BASE[@]}" --file-prefix "$prefix" $(vdevs "$set") \
        -- --total-num-mbufs "$MBUFS" "$@" >"$WORKDIR/prof-$tag.log" 2>&1 &
    CHILD=$!
    python3 "$KIT" rate "$prefix" --warmup 1 --window 0.1 --timeout 90 >/dev/null
    pid=$(pgrep -P "$CHILD" | head -1 || true)
    tid=$(ps -L -o tid=,comm= -p "$pid" | awk '$2 ~ /^rte-worker/ {print $1; exit}')
    perf record -q -e cpu-clock -F 2999 -t "${tid:-$pid}" -o "$WORKDIR/perf-$tag.data" -- sleep "$WINDOW" \
        2>"$WORKDIR/perf-$tag.err" || true
    cleanup_child
    rm -rf "/var/run/dpdk/$prefix"
    if [ -s "$WORKDIR/perf-$tag.data" ]; then
        perf report -i "$WORKDIR/perf-$tag.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -20 | sed -E 's/[ -]+$//' || true
    fi
}
if [ "$PROFILE" = 1 ]; then
    echo "== perf profile of the worker lcore (cpu-clock sampling, full rate): 1 stream, defaults"
    PROFILE_TXT=$(perf_profile n1 1 "${ONE_STREAM[@]}")
    echo "$PROFILE_TXT" | head -12
    if [ "$N_MAX" -gt 1 ]; then
        echo "== perf profile of the worker lcore: $N_MAX streams (scale-$N_MAX)"
        PROFILE_N_TXT=$(perf_profile "n$N_MAX" "$N_MAX" --config "$WORKDIR/scale-$N_MAX.toml")
        echo "$PROFILE_N_TXT" | head -12
    fi
fi

# ------------------------------------------------------------------ callgrind
# Instructions per input packet of the worker functions, counted by valgrind (repeatable on a
# loaded machine, unlike time). The release binary itself runs under callgrind: pcap files
# read once (no infinite_rx), --no-huge -m 512; stopped as soon as every packet is in.
CG_SUMMARY=""
if [ "$CALLGRIND" = 1 ]; then
    echo "== callgrind: $CG_PACKETS packets per leg, 1 stream, defaults"
    "$GEN" --streams 1 --packets-per-stream "$CG_PACKETS" --primary "$WORKDIR/cg-p.pcap" \
        --secondary "$WORKDIR/cg-s.pcap" >"$WORKDIR/cg.gen.log" 2>&1 ||
        { cat "$WORKDIR/cg.gen.log" >&2; exit 1; }
    prefix="bench$$cg"
    rm -f "$WORKDIR/cg.json" "$WORKDIR/callgrind.out"
    # --fair-sched=yes: valgrind runs one thread at a time, and with its default (unfair) lock
    # the busy-polling worker can starve the main thread that writes the stats file.
    timeout -s INT --kill-after=30 900 valgrind --tool=callgrind --fair-sched=yes \
        --callgrind-out-file="$WORKDIR/callgrind.out" \
        "$BINARY" -l 0-1 --no-pci --no-huge -m 512 --log-level=warn --file-prefix "$prefix" \
        --vdev "net_pcap0,rx_pcap=$WORKDIR/cg-p.pcap" --vdev "net_pcap1,rx_pcap=$WORKDIR/cg-s.pcap" \
        --vdev net_null0,no-rx=1 -- "${ONE_STREAM[@]}" --stats-json "$WORKDIR/cg.json" \
        --stats-period 0.2 >"$WORKDIR/cg.log" 2>&1 &
    CHILD=$!
    wait_rx "$WORKDIR/cg.json" $((2 * CG_PACKETS)) 6000
    finish_child
    rc=$CHILD_RC
    rm -rf "/var/run/dpdk/$prefix" "$WORKDIR/cg-p.pcap" "$WORKDIR/cg-s.pcap"
    if [ "$rc" = 0 ] && [ -s "$WORKDIR/callgrind.out" ]; then
        CG_SUMMARY=$(python3 "$KIT" callgrind "$WORKDIR/callgrind.out" --stats "$WORKDIR/cg.json")
        jq -r '.rows[] | "   \(.ir_per_packet) Ir/packet  \(.name)"' <<<"$CG_SUMMARY"
    else
        echo "   warning: the binary under valgrind exited with $rc (see $WORKDIR/cg.log): no callgrind figures" >&2
        tail -5 "$WORKDIR/cg.log" >&2
    fi
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "   load average after: $LOAD_AFTER"

# ------------------------------------------------------------------ report
# The measured facts; benchkit.py derives the report's variants and descriptions from them.
# It replaces only its own (bench.sh) section of the report; the other scripts' sections stay.
SLOTS_JSON="{$(for n in $STREAM_COUNTS 1p 1r; do printf '"%s": "%s",' "$n" "${SLOTS_OF[$n]:-?}"; done | sed 's/,$//')}"
python3 "$KIT" report "$RESULTS" "$OUT" \
    --fact "date=$(date -u '+%Y-%m-%d %H:%M UTC')" \
    --fact "host=$(uname -n)" \
    --fact "nproc=$(nproc)" \
    --fact "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo) ($(grep -c ^processor /proc/cpuinfo) vCPU, $(systemd-detect-virt 2>/dev/null || echo unknown virt))" \
    --fact "kernel=$(uname -r)" \
    --fact "dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo unknown); testpmd $(command -v "$TESTPMD")" \
    --fact "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' + uncommitted changes')" \
    --fact "load_before=$LOAD_BEFORE" --fact "load_after=$LOAD_AFTER" --fact "hugepages=$HP" \
    --fact "rounds=$ROUNDS" --fact "warmup_s=$WARMUP" --fact "window_s=$WINDOW" --fact "frames_per_file=$FRAMES" \
    --fact "command=scripts/bench.sh${ORIG_ARGS:+ $ORIG_ARGS}" \
    --fact "counts=$STREAM_COUNTS" --fact "controls=$CONTROLS" \
    --fact "vmdata_1_kib=${MEM1:-0}" --fact "vmdata_10000_kib=${MEM10K:-0}" \
    --fact "rssanon_1_kib=${RSS1:-0}" --fact "rssanon_10000_kib=${RSS10K:-0}" --fact "slots=${SLOTS1:-0}" \
    --fact "profile=$PROFILE_TXT" --fact "profile_n=$PROFILE_N_TXT" \
    --fact "quick=$QUICK" --fact "pad=$(jq -r '.repeats' <<<"$PAD")" \
    --fact "slots_of=$SLOTS_JSON" --fact "n_max=$N_MAX" --fact "p_max=$P_MAX" \
    --fact "paced=$PACED_RATES" --fact "paced_s=$PACED_SECONDS" --fact "callgrind=${CG_SUMMARY:-}" \
    --fact "gst_rows=$GST_ROWS" --fact "gst_verdict=$GST_VERDICT" --fact "gst_packets=$GST_PACKETS"
if [ "$OWN_WORKDIR" = 1 ] && [ "$KEEP" = 0 ] && [[ $OUT == "$WORKDIR"/* ]]; then
    cat "$OUT"   # the temp workdir goes away on exit
else
    echo "== wrote $OUT"
fi
