#!/usr/bin/env bash
# Head-to-head on the wire: mcast-failover against the commodity merger people build today
# with GStreamer (udpsrc per leg -> funnel -> rtpjitterbuffer -> udpsink, which drops
# duplicate RTP sequence numbers), over the same replayed scenarios.
#
#   mfsrc-ID: tcpreplay -i srcA -I srcB (one file, both legs, one timeline)  + tshark (input)
#   mfdev-ID: ONE engine at a time on vethA/vethB -> vethO
#             mcast-failover on net_af_packet vdevs, or gst-launch-1.0 on kernel sockets
#   mfcli-ID: tshark on cliO captures the merged output (239.10.10.10, one port per row)
#
# Each scenario has its own groups and ports (primary 239.1.0.S+1:5000+2S, secondary
# 239.2.0.S+1:5001+2S) and output port, so one replay
# plays them all back to back and every engine merges them as independent streams.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/netns.sh
source "$HERE/lib/netns.sh"
# shellcheck source=lib/compare_lib.sh
source "$HERE/lib/compare_lib.sh"

SCENARIOS=baseline,skew,reorder,restart,loss2,common,burst40,reorder5,lag35
ENGINES=mcast-failover,mf-hitless,gst-200,gst-20,gst-20-none
RATE=2000
PACKETS=2000
SEED=1
BINARY=""
GEN=""
MAX_DELAY=50
LEG_TIMEOUT=200
GST_MODE=slave
GST_DROP=false
WORKDIR=""
KEEP=0
REPLAY_TOLERANCE=10
ATTEMPTS=3
# The load generators (tcpreplay, the captures) run on this CPU; mcast-failover's worker lcore
# busy-polls the other one (EAL -l 0-1: main lcore 0, worker lcore 1). Unpinned, the scheduler
# sometimes puts tcpreplay next to the busy worker and the replay stalls for a time slice.
LOAD_CPU=0

usage() {
    cat <<EOF
usage: scripts/compare-gstreamer.sh [options]

Replays crafted RTP/MPEG-TS scenarios (tcpreplay, pcap timestamps) on the two legs of a
veth/netns topology and runs each engine in turn in the device namespace over the same
replay; a client namespace captures the merged output and mf-gstcompare judges it.

Scenarios (each on its own groups and ports: primary 239.1.0.S+1:5000+2S, secondary
239.2.0.S+1:5001+2S, output 239.10.10.10:BASE+S, S = position in the list below):
  baseline  control: both legs complete, secondary 1 ms behind; every engine must be perfect
  skew      secondary 35 ms late; primary loses bursts of 20 and 60 packets and 1 % at random
  reorder   one leg reordered by up to 5 packets while the other loses 3 % plus a burst of 10
            (primary reordered first half, secondary reordered second half)
  restart   the source restarts (new SSRC, sequence and timestamp base); the secondary runs
            10 ms late, so it restarts 10 ms after the primary
  loss2     independent random loss of 2 % on each leg
  common    0.5 % of the packets lost on both legs (unrecoverable by any merger)
  burst40   a burst of 40 consecutive packets lost on the primary
  reorder5  the primary reordered by up to 5 positions, no loss
  lag35     the secondary 35 ms behind; the primary loses 1 % at random

Engines:
  mcast-failover  the binary on net_af_packet vdevs (ports 0,1 -> 2), --forward-mode primary
  mf-hitless      the same with --forward-mode hitless (ST 2022-7: first good copy wins)
  gst-N           gst-launch-1.0: udpsrc x2 -> funnel -> rtpjitterbuffer latency=N (ms)
                  -> udpsink, on kernel sockets (e.g. gst-200 = GStreamer's default latency),
                  rtpjitterbuffer mode from --gst-mode
  gst-N-MODE      the same with rtpjitterbuffer mode=MODE (none | slave | buffer | synced),
                  e.g. gst-20-none: it never waits for a gap

GStreamer settings (what a user would pick; change with the options below):
  latency=N         the longest rtpjitterbuffer waits for a missing sequence number (packets
                    in order leave at once); 200 is its default, 20 a low-latency choice
  mode=slave        its default. mode=none barely waits for gaps: measured worse here (gst-200
                    lost 100 in skew, 46 in reorder, 980 in restart); try --gst-mode none
  drop-on-latency   false (its default): it only caps the queue, never helps a late copy
  udpsink           sync=false async=false: the jitterbuffer already paced the output
  one udpsrc per leg, each leg on its own port: udpsrc binds the wildcard address, so two
                    udpsrc on one port would each receive both legs

options:
  --scenarios LIST      comma-separated subset of the scenarios (default $SCENARIOS)
  --engines LIST        comma-separated engines (default $ENGINES)
  --rate PPS            packets per second per leg, 100..5000 (default $RATE)
  --packets N           packets the source sends per scenario, 100..20000 (default $PACKETS)
  --seed N              loss / reorder pattern seed (default $SEED)
  --max-delay MS        mcast-failover --max-delay (default $MAX_DELAY)
  --leg-timeout MS      mcast-failover --leg-timeout (default $LEG_TIMEOUT)
  --gst-mode M          rtpjitterbuffer mode: none | slave | buffer | synced (default $GST_MODE)
  --gst-drop-on-latency rtpjitterbuffer drop-on-latency=true (default false)
  --replay-tolerance MS a replay that distorts the scenario's timing by more than this
                        (replay_dev_ms) makes the verdict not ok (default $REPLAY_TOLERANCE); so
                        does one that runs outside 0.9..1.2 x the planned duration
  --attempts N          run an engine up to N times (1..5) until its replay is faithful
                        (default $ATTEMPTS)
  --binary PATH         mcast-failover binary (default: target/release, else target/debug)
  --gen PATH            mf-gstcompare binary (default: target/release, else target/debug)
  --workdir DIR         keep pcaps, captures and logs here (default: temp dir, removed)
  --keep                keep the temp workdir
  -h, --help            this text

Output: a table per scenario (engine, expected, received, lost, dups, reordered, max gap,
residence p50/p99/max: output time - first copy on the wire, and p99 split into packets whose
primary copy was on the wire and those only a backup leg carried), one machine-readable line
per row
  ROW scenario=S engine=E expected=N received=N lost=N dups=N reordered=N bad=N max_gap_ms=X
      delay_p50_ms=X delay_p99_ms=X delay_max_ms=X delay_p99_primary_ms=X
      delay_p99_backup_ms=X after_restart=GOT/WANT|- in_primary=N in_secondary=N
      planned_primary=N planned_secondary=N replay_dev_ms=X replay_stretch=X
and a final line
  VERDICT ok=0|1 replay_ok=0|1 mf_perfect=0|1 gst_baseline_perfect=0|1 mf_at_least_as_good=0|1
Exit status: 0 verdict ok, 1 verdict not ok, 2 bad usage, 3 missing prerequisite.
Needs root, ip, ethtool, tcpreplay, tcpprep, tshark, gst-launch-1.0 (scripts/setup.sh).
Namespaces mfsrc-ID, mfdev-ID, mfcli-ID are removed on exit, Ctrl-C included.
EOF
}


while [ $# -gt 0 ]; do
    case $1 in
        --scenarios) need_value "$@"; SCENARIOS=$2; shift 2 ;;
        --engines) need_value "$@"; ENGINES=$2; shift 2 ;;
        --rate) need_value "$@"; RATE=$2; shift 2 ;;
        --packets) need_value "$@"; PACKETS=$2; shift 2 ;;
        --seed) need_value "$@"; SEED=$2; shift 2 ;;
        --max-delay) need_value "$@"; MAX_DELAY=$2; shift 2 ;;
        --leg-timeout) need_value "$@"; LEG_TIMEOUT=$2; shift 2 ;;
        --gst-mode) need_value "$@"; GST_MODE=$2; shift 2 ;;
        --gst-drop-on-latency) GST_DROP=true; shift ;;
        --replay-tolerance) need_value "$@"; REPLAY_TOLERANCE=$2; shift 2 ;;
        --attempts) need_value "$@"; ATTEMPTS=$2; shift 2 ;;
        --binary) need_value "$@"; BINARY=$2; shift 2 ;;
        --gen) need_value "$@"; GEN=$2; shift 2 ;;
        --workdir) need_value "$@"; WORKDIR=$2; KEEP=1; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown option '$1'" ;;
    esac
done

ALL_SCENARIOS=(baseline skew reorder restart loss2 common burst40 reorder5 lag35)
IFS=, read -r -a SCEN_LIST <<<"$SCENARIOS"
[ ${#SCEN_LIST[@]} -gt 0 ] || die_usage "--scenarios is empty"
SLOTS=()
for s in "${SCEN_LIST[@]}"; do
    slot=-1
    for i in "${!ALL_SCENARIOS[@]}"; do [ "${ALL_SCENARIOS[$i]}" = "$s" ] && slot=$i; done
    [ "$slot" -ge 0 ] || die_usage "--scenarios: unknown scenario '$s' (${ALL_SCENARIOS[*]})"
    for x in "${SLOTS[@]}"; do [ "$x" != "$slot" ] || die_usage "--scenarios names '$s' twice"; done
    SLOTS+=("$slot")
done
IFS=, read -r -a ENGINE_LIST <<<"$ENGINES"
[ ${#ENGINE_LIST[@]} -gt 0 ] || die_usage "--engines is empty"
for e in "${ENGINE_LIST[@]}"; do
    [[ $e == mcast-failover || $e == mf-hitless || $e =~ ^gst-[0-9]+(-(none|slave|buffer|synced))?$ ]] \
        || die_usage "--engines: unknown engine '$e' (mcast-failover, mf-hitless, gst-<latency ms>[-<mode>])"
    if [[ $e =~ ^gst-([0-9]+) ]]; then
        [ "${BASH_REMATCH[1]}" -ge 1 ] && [ "${BASH_REMATCH[1]}" -le 5000 ] || die_usage "--engines: '$e' latency must be 1..5000 ms"
    fi
done
[ "$(printf '%s\n' "${ENGINE_LIST[@]}" | sort | uniq -d)" = "" ] || die_usage "--engines names an engine twice"
[[ $RATE =~ ^[0-9]+$ ]] && [ "$RATE" -ge 100 ] && [ "$RATE" -le 5000 ] || die_usage "--rate must be an integer 100..5000, got '$RATE'"
[[ $PACKETS =~ ^[0-9]+$ ]] && [ "$PACKETS" -ge 100 ] && [ "$PACKETS" -le 20000 ] || die_usage "--packets must be an integer 100..20000, got '$PACKETS'"
[[ $SEED =~ ^[0-9]+$ ]] || die_usage "--seed must be a non-negative integer, got '$SEED'"
[[ $MAX_DELAY =~ ^[0-9]+$ ]] && [ "$MAX_DELAY" -ge 1 ] || die_usage "--max-delay must be a positive integer, got '$MAX_DELAY'"
[[ $LEG_TIMEOUT =~ ^[0-9]+$ ]] && [ "$LEG_TIMEOUT" -ge 1 ] || die_usage "--leg-timeout must be a positive integer, got '$LEG_TIMEOUT'"
[[ $REPLAY_TOLERANCE =~ ^[0-9]+$ ]] || die_usage "--replay-tolerance must be a non-negative integer, got '$REPLAY_TOLERANCE'"
[[ $ATTEMPTS =~ ^[1-5]$ ]] || die_usage "--attempts must be 1..5, got '$ATTEMPTS'"
case $GST_MODE in none|slave|buffer|synced) ;; *) die_usage "--gst-mode must be none, slave, buffer or synced, got '$GST_MODE'" ;; esac

need_root "network namespaces, AF_PACKET"
need ip nsenter ethtool tcpreplay tcpprep tshark timeout taskset chrt awk
for e in "${ENGINE_LIST[@]}"; do [[ $e == gst-* ]] && { need gst-launch-1.0; break; }; done
pick() {
    local given=$1 name=$2 cand
    if [ -n "$given" ]; then echo "$given"; return; fi
    for cand in "$ROOT/target/release/$name" "$ROOT/target/debug/$name"; do
        [ -x "$cand" ] && { echo "$cand"; return; }
    done
    return 0   # none: the caller names what to build (set -e must not end the script here)
}
GEN=$(pick "$GEN" mf-gstcompare)
[ -n "$GEN" ] && [ -x "$GEN" ] || { echo "compare-gstreamer.sh: no mf-gstcompare binary; build it (cargo build --release -p testkit --bin mf-gstcompare) or pass --gen" >&2; exit 3; }
if printf '%s\n' "${ENGINE_LIST[@]}" | grep -qxE 'mcast-failover|mf-hitless'; then
    BINARY=$(pick "$BINARY" mcast-failover)
    [ -n "$BINARY" ] && [ -x "$BINARY" ] || { echo "compare-gstreamer.sh: no mcast-failover binary; build it (cargo build --release) or pass --binary" >&2; exit 3; }
fi

mf_run_begin gstcmp

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    mf_run_end INT
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "compare-gstreamer.sh: interrupted, cleaning up" >&2; exit 130' INT TERM

# forget PID : drop a finished process from the cleanup list.
forget() { local p keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; PIDS=("${keep[@]}"); }
has_line() { grep -qE "$2" "$1" 2>/dev/null; }
# stop PID TIMEOUT_S : SIGINT, then SIGKILL if it outlives TIMEOUT_S; returns its exit status.
stop() {
    local pid=$1 timeout=$2 i rc=0
    kill -INT "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 20; i++)); do kill -0 "$pid" 2>/dev/null || break; nap 0.05; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}

COMMON=(--scenarios "$SCENARIOS" --rate "$RATE" --packets "$PACKETS" --seed "$SEED"
    --primary-src "$MF_PRI_SRC_IP" --secondary-src "$MF_SEC_SRC_IP")

echo "== mcast-failover vs GStreamer (id $ID, workdir $W)"
"$GEN" gen --out-dir "$W" "${COMMON[@]}" >"$W/plan.txt"
sed 's/^/  /' "$W/plan.txt"
REPLAY=$W/replay.pcap
SPAN=$(sed -n 's/^REPLAY .*span_s=\([0-9.]*\).*/\1/p' "$W/plan.txt")
FRAMES=$(sed -n 's/^REPLAY .*frames=\([0-9]*\).*/\1/p' "$W/plan.txt")
SPAN_S=$(awk -v s="$SPAN" 'BEGIN { printf "%d", s + 1 }')
# tcpprep: frames from the primary's source address leave by -i (srcA), the rest by -I (srcB).
tcpprep --cidr="$MF_PRI_SRC_IP/32" -i "$REPLAY" -o "$W/replay.cache" >"$W/tcpprep.log" 2>&1 \
    || die "tcpprep failed: $(tail -n 3 "$W/tcpprep.log")"

mf_topo_up "$ID" "$(mf_cmp_group 0 1)" "$(mf_cmp_group 0 2)"
echo "namespaces: $MF_NS_SRC (srcA, srcB) -> $MF_NS_DEV (vethA=port0, vethB=port1, vethO=port2) -> $MF_NS_CLI (cliO)"

ROWS=$W/rows.txt
: >"$ROWS"
REPLAY_OK=1

# replay_problem ROW : prints why the replay behind ROW did not play its scenario faithfully
# (frames missing from the legs, local timing distorted, or far off pace); nothing if it did.
replay_problem() {
    local row=$1 dev stretch
    if [ "$(kv in_primary "$row")" != "$(kv planned_primary "$row")" ] || [ "$(kv in_secondary "$row")" != "$(kv planned_secondary "$row")" ]; then
        echo "replay for $(kv engine "$row") put $(kv in_primary "$row")/$(kv in_secondary "$row") frames of $(kv scenario "$row") on the legs, planned $(kv planned_primary "$row")/$(kv planned_secondary "$row")"
    fi
    dev=$(kv replay_dev_ms "$row")
    stretch=$(kv replay_stretch "$row")
    if [ "$dev" = - ] || awk -v d="$dev" -v t="$REPLAY_TOLERANCE" 'BEGIN { exit !(d > t) }'; then
        echo "replay for $(kv engine "$row") distorted $(kv scenario "$row")'s timing by $dev ms (tolerance $REPLAY_TOLERANCE ms): machine too busy?"
    fi
    if [ "$stretch" = - ] || awk -v s="$stretch" 'BEGIN { exit !(s < 0.9 || s > 1.2) }'; then
        echo "replay for $(kv engine "$row") played $(kv scenario "$row") at $stretch x its planned duration (allowed 0.9..1.2)"
    fi
}

# run_engine INDEX ENGINE ATTEMPT : one replay through one engine; writes its ROW lines to
# $W/rows-TAG.txt and sets RUN_ROWS to that file.
run_engine() {
    local k=$1 engine=$2 attempt=$3
    local base=$((5100 + 100 * k)) tag=$engine
    [ "$attempt" -eq 1 ] || tag=$engine.$attempt
    local out=$W/out-$tag.pcap in=$W/in-$tag.pcapng log=$W/engine-$tag.log
    local cap_s=$((SPAN_S + 60)) cap_n=$((FRAMES * 2 + 1000))
    echo
    echo "-- engine $engine (output ports $MF_CMP_OUT_GROUP:$((base + SLOTS[0]))..), attempt $attempt"

    # Captures first, so nothing the engine sends is missed.
    in_netns "$MF_NS_CLI" taskset -c "$LOAD_CPU" tshark -q -i cliO -F pcap -w "$out" -f "udp and dst host $MF_CMP_OUT_GROUP" \
        -a "duration:$cap_s" -c "$cap_n" </dev/null >"$W/tshark-out-$tag.log" 2>&1 &
    local cap_out=$!
    PIDS+=("$cap_out")
    in_netns "$MF_NS_SRC" taskset -c "$LOAD_CPU" tshark -q -i srcA -i srcB -w "$in" -f "udp and (dst net 239.1.0.0/16 or dst net 239.2.0.0/16)" \
        -a "duration:$cap_s" -c "$cap_n" </dev/null >"$W/tshark-in-$tag.log" 2>&1 &
    local cap_in=$!
    PIDS+=("$cap_in")
    wait_until 20 "the output capture" has_line "$W/tshark-out-$tag.log" '^Capturing on'
    wait_until 20 "the input capture" has_line "$W/tshark-in-$tag.log" '^Capturing on'

    local dev hold_ms
    if [[ $engine == mcast-failover || $engine == mf-hitless ]]; then
        local mode=primary
        [ "$engine" = mf-hitless ] && mode=hitless
        local streams=() s
        for s in "${SLOTS[@]}"; do
            streams+=(--stream "$(mf_cmp_group "$s" 1):$(mf_cmp_port "$s" 1),$(mf_cmp_group "$s" 2):$(mf_cmp_port "$s" 2)=$MF_CMP_OUT_GROUP:$((base + s))")
        done
        local eal
        # shellcheck disable=SC2207
        eal=($(mf_eal_args "$ID"))
        local cmd=("$BINARY" "${eal[@]}" --log-level=warn -- --primary-port 0 --secondary-port 1 --output-port 2
            "${streams[@]}" --out-src-ip "$MF_CMP_DEV_IP_O" --forward-mode "$mode"
            --max-delay "$MAX_DELAY" --leg-timeout "$LEG_TIMEOUT" --stats-period 1
            --stats-json "$W/stats-$tag.json" --duration $((SPAN_S + 40)))
        echo "$ nsenter --net=/run/netns/$MF_NS_DEV ${cmd[*]}" | tee "$log"
        RUST_LOG=${RUST_LOG:-info} in_netns "$MF_NS_DEV" "${cmd[@]}" </dev/null >>"$log" 2>&1 &
        dev=$!
        PIDS+=("$dev")
        # The stats JSON is first written once the ports are started.
        local i
        for ((i = 0; i < 600; i++)); do
            [ -s "$W/stats-$tag.json" ] && break
            kill -0 "$dev" 2>/dev/null || die "mcast-failover exited early: $(tail -n 5 "$log")"
            nap 0.05
        done
        [ -s "$W/stats-$tag.json" ] || die "mcast-failover wrote no stats JSON within 30 s (see $log)"
        hold_ms=$MAX_DELAY
    else
        local spec=${engine#gst-} latency gmode=$GST_MODE
        latency=${spec%%-*}
        [[ $spec == *-* ]] && gmode=${spec#*-}
        mf_cmp_kernel_addrs_up "$ID"
        local pipeline
        pipeline=$(mf_cmp_gst_pipeline "$latency" "$gmode" "$GST_DROP" "$base" "${SLOTS[@]}")
        echo "$ nsenter --net=/run/netns/$MF_NS_DEV gst-launch-1.0 $(tr '\n' ' ' <<<"$pipeline")" >"$log"
        echo "$ nsenter --net=/run/netns/$MF_NS_DEV gst-launch-1.0 $(head -n 3 <<<"$pipeline" | tr '\n' ' ')[... the same for each scenario]"
        # shellcheck disable=SC2086
        # No `timeout` wrapper: it would signal gst-launch twice (child and process group) and
        # a second SIGINT kills it mid-shutdown. `stop` below bounds it instead.
        in_netns "$MF_NS_DEV" gst-launch-1.0 $pipeline </dev/null >>"$log" 2>&1 &
        dev=$!
        PIDS+=("$dev")
        wait_until 20 "GStreamer to play" has_line "$log" '^New clock'
        wait_until 20 "GStreamer to join the groups" mf_cmp_joined "$ID" "${SLOTS[@]}"
        hold_ms=$latency
    fi

    local t0 rc=0
    t0=$(date +%s.%N)
    # The replay is the test's network: it must keep the scenario's timing even when other
    # work loads the machine. -K: the whole file in memory first (no disk read delays a
    # packet); -T select: sleep between packets, at a real-time priority, so it wakes on time
    # without starving the captures sharing its CPU (the default busy-wait timer at normal
    # priority stalls for tens of ms under load; at real-time priority it starves the
    # captures). Sleeping runs a few % slow overall; the judge measures that (replay_stretch)
    # apart from local distortion (replay_dev_ms).
    in_netns "$MF_NS_SRC" timeout $((SPAN_S + 30)) taskset -c "$LOAD_CPU" chrt -f 50 \
        tcpreplay -K -T select -i srcA -I srcB -c "$W/replay.cache" "$REPLAY" \
        >"$W/tcpreplay-$tag.log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || die "tcpreplay failed ($rc): $(tail -n 3 "$W/tcpreplay-$tag.log")"
    echo "   replay: $(grep -E '^\s*Actual:' "$W/tcpreplay-$tag.log" | sed 's/^ *//') (wall $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s)"
    # Everything an engine still holds leaves within its hold time (max-delay / latency); give
    # it twice that plus 300 ms. A packet later than that is late for any viewer anyway.
    nap "$(awk -v h="$hold_ms" 'BEGIN { printf "%.3f", 2 * h / 1000 + 0.3 }')"
    rc=0
    stop "$dev" 15 || rc=$?
    if [[ $engine == mcast-failover || $engine == mf-hitless ]]; then
        [ "$rc" -eq 0 ] || die "mcast-failover exited with status $rc on SIGINT (see $log)"
        # Its own account of each stream (the final stats block).
        grep -E '^ *Stream ' "$log" | tail -n ${#SLOTS[@]} | sed 's/^ */   mcast-failover: /' || true
    else
        mf_cmp_kernel_addrs_down "$ID"
        # gst-launch-1.0 exits 0 on SIGINT; anything else means the pipeline broke.
        [ "$rc" -eq 0 ] || die "gst-launch-1.0 exited with status $rc (see $log)"
        grep -iE 'error|warn' "$log" | head -n 3 | sed 's/^/   gst: /' || true
    fi
    stop "$cap_out" 15 || true
    stop "$cap_in" 15 || true
    [ -s "$out" ] || die "no output capture for $engine (see $W/tshark-out-$tag.log)"
    RUN_ROWS=$W/rows-$tag.txt
    "$GEN" judge --capture "$out" --input "$in" --engine "$engine" --port-base "$base" "${COMMON[@]}" \
        >"$RUN_ROWS" 2>"$W/judge-$tag.log" || die "judge failed: $(cat "$W/judge-$tag.log")"
}

# Each engine gets the same scenarios played faithfully, or the comparison is not fair: a run
# whose replay was distorted (a stalled machine) is repeated, up to --attempts times.
for k in "${!ENGINE_LIST[@]}"; do
    for ((attempt = 1; attempt <= ATTEMPTS; attempt++)); do
        run_engine "$k" "${ENGINE_LIST[$k]}" "$attempt"
        problems=$(while IFS= read -r row; do replay_problem "$row"; done <"$RUN_ROWS")
        [ -n "$problems" ] || break
        sed 's/^/   ! /' <<<"$problems"
        [ "$attempt" -lt "$ATTEMPTS" ] && echo "   the comparison needs the scenario as planned: running ${ENGINE_LIST[$k]} again"
    done
    cat "$RUN_ROWS" >>"$ROWS"
done
echo
echo "== results ($RATE pps per leg, $PACKETS packets per scenario; delay = output time - first copy on the wire)"
MF_PERFECT=1
GST_BASE=1
AT_LEAST=1
for s in "${SCEN_LIST[@]}"; do
    echo
    echo "scenario $s"
    printf '  %-15s %8s %8s %6s %5s %5s %8s %8s %8s %8s %8s %8s %9s\n' engine expected received lost dups reord \
        "gap ms" "p50 ms" "p99 ms" "max ms" "p99 pri" "p99 bak" restart
    while IFS= read -r row; do
        [ "$(kv scenario "$row")" = "$s" ] || continue
        printf '  %-15s %8s %8s %6s %5s %5s %8s %8s %8s %8s %8s %8s %9s\n' "$(kv engine "$row")" "$(kv expected "$row")" \
            "$(kv received "$row")" "$(kv lost "$row")" "$(kv dups "$row")" "$(kv reordered "$row")" \
            "$(kv max_gap_ms "$row")" "$(kv delay_p50_ms "$row")" "$(kv delay_p99_ms "$row")" "$(kv delay_max_ms "$row")" \
            "$(kv delay_p99_primary_ms "$row")" "$(kv delay_p99_backup_ms "$row")" "$(kv after_restart "$row")"
        problems=$(replay_problem "$row")
        if [ -n "$problems" ]; then
            sed 's/^/  ! /' <<<"$problems"
            REPLAY_OK=0
        fi
    done <"$ROWS"
    # Badness of a row: every packet a viewer would miss or see twice or out of order.
    score() { echo $(($(kv lost "$1") + $(kv dups "$1") + $(kv reordered "$1") + $(kv bad "$1"))); }
    mf_worst=""
    while IFS= read -r mf_row; do
        [ -n "$mf_row" ] || continue
        mf_score=$(score "$mf_row")
        [ "$mf_score" -eq 0 ] && [ "$(kv received "$mf_row")" = "$(kv expected "$mf_row")" ] || MF_PERFECT=0
        [ -n "$mf_worst" ] && [ "$mf_worst" -ge "$mf_score" ] || mf_worst=$mf_score
    done < <(grep -E " scenario=$s engine=(mcast-failover|mf-hitless) " "$ROWS" || true)
    while IFS= read -r row; do
        [ -n "$row" ] || continue
        g_score=$(score "$row")
        [ "$s" != baseline ] || [ "$g_score" -eq 0 ] || GST_BASE=0
        [ -z "$mf_worst" ] || [ "$mf_worst" -le "$g_score" ] || AT_LEAST=0
    done < <(grep " scenario=$s engine=gst-" "$ROWS" || true)
done
echo
cat "$ROWS"
OK=$((REPLAY_OK && MF_PERFECT && GST_BASE && AT_LEAST))
echo "VERDICT ok=$OK replay_ok=$REPLAY_OK mf_perfect=$MF_PERFECT gst_baseline_perfect=$GST_BASE mf_at_least_as_good=$AT_LEAST"
[ "$OK" -eq 1 ]
