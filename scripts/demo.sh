#!/usr/bin/env bash
# End-to-end demo of mcast-failover on the wire: real ffmpeg sources, veth links, DPDK
# af_packet ports, a client capturing the merged virtual group with tshark.
#
#   mfsrc-ID: ffmpeg (testsrc + sine, MPEG-TS over RTP, -re) -> dup_relay.py
#             -> 239.1.1.1:5000 out of srcA (primary)  -> vethA = DPDK port 0
#             -> 239.2.2.2:5000 out of srcB (secondary)-> vethB = DPDK port 1
#   mfdev-ID: mcast-failover merges both legs    -> vethO = DPDK port 2
#   mfcli-ID: tshark on cliO captures 239.10.10.10:5004
#
# Mid-run the primary link goes down and comes back, later the secondary does the same.
# What the source put on each leg is captured inside mfsrc-ID (tshark on srcA and srcB). The
# client capture must hold every RTP packet that reached at least one leg, once, in order,
# byte-identical to a copy that was sent; decode errors count only beyond the source's own.
set -uo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/netns.sh
source "$HERE/lib/netns.sh"

PRI=239.1.1.1:5000
SEC=239.2.2.2:5000
OUT=239.10.10.10:5004
OUT_SRC_IP=192.168.203.1
OUT_SRC_PORT=5004
RELAY_PORT=6000

DURATION=30
BINARY=""
ENGINE=mcast-failover
MODE=primary
FAILURES=1
FORCE_FAILURES=0
KEEP=0
WORKDIR=""
MAX_DELAY=50
LEG_TIMEOUT=200
SDP=""
VIDEO_RATE=1200k
# Constant-rate transport stream (null-packet padded, like broadcast): ~190 RTP packets/s.
MUXRATE=2000000

usage() {
    cat <<EOF
usage: scripts/demo.sh [options]

Runs mcast-failover between network namespaces with real ffmpeg sources, takes the primary
path down and up mid-run, then the secondary, captures the merged output in a client
namespace and judges it against what the source put on each leg (captured in the source
namespace): every RTP packet that reached a leg must come out once, in order, byte-identical
to a sent copy; ffmpeg decode errors count only beyond those of the source's own stream.
tshark's RTP analysis, MPEG-TS continuity and header checks are printed as independent
views. Needs root, ffmpeg, tshark, ethtool, python3 (scripts/setup.sh installs them).

options:
  --duration S         seconds of stream sent by the source (default $DURATION, min 12)
  --binary PATH        mcast-failover binary (default: target/release, else target/debug)
  --forward-mode M     primary | hitless | io (default $MODE; io = plain port 0 -> 2
                       forwarder: output is the primary leg unchanged, no failures injected)
  --engine E           mcast-failover (default) | testpmd (plumbing self-check with
                       dpdk-testpmd io forwarding port 0 -> 2; no failures injected)
  --no-failures        do not take the legs down
  --force-failures     take the legs down even with --engine testpmd / --forward-mode io
                       (negative control: the checks must then report the loss)
  --out-src-port P     UDP source port of the output (default $OUT_SRC_PORT; 'keep' = the chosen
                       copy's, which differs per leg here, so the output flips between two flows)
  --sdp FILE           take the legs from an SDP (a=group:DUP, see examples/demo-dup.sdp)
                       instead of --stream: the device runs with --sdp FILE=OUT, and the
                       sources send to the groups the SDP names (its sources, if any, must be
                       the demo's $MF_PRI_SRC_IP and $MF_SEC_SRC_IP)
  --max-delay MS       passed to mcast-failover (default $MAX_DELAY)
  --leg-timeout MS     passed to mcast-failover (default $LEG_TIMEOUT)
  --workdir DIR        write logs, captures and the reassembled TS here (default: temp dir)
  --keep               keep the temp workdir (a given --workdir is always kept)
  -h, --help           this text

Output: a human summary, then one machine-readable line
  RESULT ok=0|1 packets=N expected=N lost=N seq_errors=N decode_errors=N ...
Exit status: 0 all checks passed, 1 a check failed, 2 bad usage, 3 missing prerequisite.
Namespaces mfsrc-ID, mfdev-ID, mfcli-ID are removed on exit, Ctrl-C included.
EOF
}

while [ $# -gt 0 ]; do
    case $1 in
        --duration) DURATION=${2:-}; shift 2 ;;
        --binary) BINARY=${2:-}; shift 2 ;;
        --forward-mode) MODE=${2:-}; shift 2 ;;
        --engine) ENGINE=${2:-}; shift 2 ;;
        --no-failures) FAILURES=0; shift ;;
        --force-failures) FORCE_FAILURES=1; shift ;;
        --out-src-port) OUT_SRC_PORT=${2:-}; shift 2 ;;
        --max-delay) MAX_DELAY=${2:-}; shift 2 ;;
        --sdp) SDP=${2:-}; shift 2 ;;
        --leg-timeout) LEG_TIMEOUT=${2:-}; shift 2 ;;
        --workdir) WORKDIR=${2:-}; KEEP=1; shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown option '$1'" ;;
    esac
done
[[ $DURATION =~ ^[0-9]+$ ]] && [ "$DURATION" -ge 12 ] || die_usage "--duration must be an integer >= 12, got '$DURATION'"
[[ $MAX_DELAY =~ ^[0-9]+$ ]] || die_usage "--max-delay must be an integer, got '$MAX_DELAY'"
[[ $OUT_SRC_PORT =~ ^([0-9]+|keep)$ ]] || die_usage "--out-src-port must be a port number or 'keep', got '$OUT_SRC_PORT'"
[[ $LEG_TIMEOUT =~ ^[0-9]+$ ]] || die_usage "--leg-timeout must be an integer, got '$LEG_TIMEOUT'"
case $ENGINE in mcast-failover|testpmd) ;; *) die_usage "--engine must be mcast-failover or testpmd, got '$ENGINE'" ;; esac
case $MODE in primary|hitless|io) ;; *) die_usage "--forward-mode must be primary, hitless or io, got '$MODE'" ;; esac

need_root "network namespaces, AF_PACKET"
need ip nsenter ethtool ffmpeg ffprobe tshark python3
if [ "$ENGINE" = testpmd ]; then
    need dpdk-testpmd
    BINARY=$(command -v dpdk-testpmd)
elif [ -z "$BINARY" ]; then
    for cand in "$ROOT/target/release/mcast-failover" "$ROOT/target/debug/mcast-failover"; do
        [ -x "$cand" ] && { BINARY=$cand; break; }
    done
    [ -n "$BINARY" ] || { echo "demo.sh: no mcast-failover binary; build it (cargo build --release) or pass --binary" >&2; exit 3; }
fi
[ -x "$BINARY" ] || { echo "demo.sh: binary '$BINARY' is not executable" >&2; exit 3; }

# --sdp: the binary resolves the SDP (one parser) and says which legs it found.
if [ -n "$SDP" ]; then
    [ "$ENGINE" = mcast-failover ] || die_usage "--sdp needs --engine mcast-failover"
    [ -r "$SDP" ] || die_usage "--sdp: cannot read '$SDP'"
    SDP=$(cd "$(dirname "$SDP")" && pwd)/$(basename "$SDP")
    line=$("$BINARY" -- --sdp "$SDP=$OUT" --no-membership --print-streams) \
        || die_usage "--sdp '$SDP': refused by mcast-failover (above)"
    legs=${line#* }
    legs=${legs%%=*}
    pri_leg=${legs%%,*}
    sec_leg=${legs#*,}
    [[ $legs == *,* && $sec_leg != *,* ]] || die_usage "--sdp '$SDP': the demo needs exactly two legs, the SDP gives '$legs'"
    PRI=${pri_leg%%@*}
    SEC=${sec_leg%%@*}
    for pair in "$pri_leg:$MF_PRI_SRC_IP" "$sec_leg:$MF_SEC_SRC_IP"; do
        leg=${pair%:*}
        if [[ $leg == *@* && ${leg#*@} != "${pair##*:}" ]]; then
            die_usage "--sdp '$SDP': leg $leg names a source the demo does not send from (${pair##*:})"
        fi
    done
    echo "SDP $SDP: legs $pri_leg (primary), $sec_leg (secondary)"
fi

# Without a merger in the path (testpmd, io) the output is the primary leg unchanged and a
# failed primary is a real outage: check against the primary group and inject no failures.
if [ "$ENGINE" = testpmd ] || [ "$MODE" = io ]; then
    FAILURES=0
    EXPECT_DST=$PRI
    EXPECT_SRC=$MF_PRI_SRC_IP
    [ "$FORCE_FAILURES" -eq 1 ] && FAILURES=1
else
    EXPECT_DST=$OUT
    EXPECT_SRC=$OUT_SRC_IP
fi

mf_run_begin demo
T0=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    mf_run_end TERM
    exit "$rc"
}
trap cleanup EXIT
trap 'echo "demo.sh: interrupted, cleaning up" >&2; exit 130' INT TERM

rel() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%6.2f", b - a }'; }
TIMELINE=$W/timeline.txt
: >"$TIMELINE"
event() { local line; line="t=+$(rel "$T0")s $*"; echo "$line" >>"$TIMELINE"; echo "  $line"; }

# wait_for FILE REGEX TIMEOUT_S WHAT : poll a log for a readiness line (bounded).
wait_for() {
    local file=$1 re=$2 timeout=$3 what=$4 i
    for ((i = 0; i < timeout * 20; i++)); do
        grep -qE "$re" "$file" 2>/dev/null && return 0
        nap 0.05
    done
    echo "demo.sh: timed out after ${timeout}s waiting for $what (see $file)" >&2
    tail -n 20 "$file" >&2 2>/dev/null
    exit 1
}

echo "== mcast-failover end-to-end demo (id $ID, workdir $W)"
mf_topo_up "$ID" "${PRI%:*}" "${SEC%:*}"
echo "namespaces: $MF_NS_SRC (srcA, srcB) -> $MF_NS_DEV (vethA=port0, vethB=port1, vethO=port2) -> $MF_NS_CLI (cliO)"

# shellcheck disable=SC2207
EAL=($(mf_eal_args "$ID"))
DEVICE_LOG=$W/device.log
STATS_JSON=$W/stats.json
if [ "$ENGINE" = testpmd ]; then
    DEV_CMD=("$BINARY" "${EAL[@]}" -- --portmask=0x5 --port-topology=paired --forward-mode=io
        --nb-cores=1 --stats-period "$DURATION" --total-num-mbufs=8192)
    READY_RE='packet forwarding - ports='
else
    DEV_CMD=("$BINARY" "${EAL[@]}" -- --primary-port 0 --secondary-port 1 --output-port 2
        --out-src-ip "$OUT_SRC_IP" --forward-mode "$MODE"
        --max-delay "$MAX_DELAY" --leg-timeout "$LEG_TIMEOUT" --stats-period 1
        --stats-json "$STATS_JSON" --duration $((DURATION + 30)))
    [ "$OUT_SRC_PORT" != keep ] && DEV_CMD+=(--out-src-port "$OUT_SRC_PORT")
    if [ -n "$SDP" ]; then
        # Straight veths, no snooping switch: nothing to join.
        DEV_CMD+=(--sdp "$SDP=$OUT" --no-membership)
    else
        DEV_CMD+=(--stream "$PRI,$SEC=$OUT")
    fi
fi
echo "device: nsenter --net=/run/netns/$MF_NS_DEV ${DEV_CMD[*]}"
RUST_LOG=${RUST_LOG:-info} in_netns "$MF_NS_DEV" "${DEV_CMD[@]}" </dev/null >"$DEVICE_LOG" 2>&1 &
DEV_PID=$!
PIDS+=("$DEV_PID")
if [ "$ENGINE" = testpmd ]; then
    wait_for "$DEVICE_LOG" "$READY_RE" 30 "dpdk-testpmd to start forwarding"
elif [ "$MODE" = io ]; then
    wait_for "$DEVICE_LOG" 'io forwarding: port' 30 "mcast-failover to start io forwarding"
else
    # The binary writes its stats JSON once its ports are started and then every period.
    for ((i = 0; i < 600; i++)); do
        [ -s "$STATS_JSON" ] && break
        kill -0 "$DEV_PID" 2>/dev/null || { echo "demo.sh: mcast-failover exited early:" >&2; tail -n 20 "$DEVICE_LOG" >&2; exit 1; }
        nap 0.05
    done
    [ -s "$STATS_JSON" ] || { echo "demo.sh: mcast-failover wrote no stats JSON within 30 s" >&2; tail -n 20 "$DEVICE_LOG" >&2; exit 1; }
fi

# Captures, each bounded in time and packets: the client's view of the output group, and what
# the source put on each leg (inside the source namespace, before the device).
CAP_LIMIT_S=$((DURATION + 60))
CAP_LIMIT_PKTS=$((DURATION * 1000))
CAP_PIDS=()
# capture NS IFACE FILTER FILE : tshark in the background, waits until it is capturing.
capture() {
    in_netns "$1" tshark -q -i "$2" -F pcap -w "$4" -f "$3" \
        -a "duration:$CAP_LIMIT_S" -c "$CAP_LIMIT_PKTS" </dev/null >"$4.log" 2>&1 &
    CAP_PIDS+=($!)
    PIDS+=($!)
    wait_for "$4.log" '^Capturing on' 20 "tshark to capture on $2"
}
# pcap_count FILE : packets in a (possibly still growing) pcap file.
pcap_count() { python3 "$HERE/lib/pcap_count.py" "$1"; }
# at_least FILE N : FILE holds at least N packets.
at_least() { [ "$(pcap_count "$1")" -ge "$2" ]; }
CAP=$W/client.pcap
LEG_A=$W/source-primary.pcap
LEG_B=$W/source-secondary.pcap
capture "$MF_NS_CLI" cliO "udp dst port ${EXPECT_DST#*:}" "$CAP"
capture "$MF_NS_SRC" srcA "dst host ${PRI%:*} and udp dst port ${PRI#*:}" "$LEG_A"
capture "$MF_NS_SRC" srcB "dst host ${SEC%:*} and udp dst port ${SEC#*:}" "$LEG_B"

in_netns "$MF_NS_SRC" python3 -u "$HERE/lib/dup_relay.py" "$RELAY_PORT" \
    "$PRI" "$MF_PRI_SRC_IP" "$SEC" "$MF_SEC_SRC_IP" </dev/null >"$W/relay.log" 2>&1 &
RELAY_PID=$!
PIDS+=("$RELAY_PID")
wait_for "$W/relay.log" '^relay ready' 20 "the duplicating relay"

echo "progress:"
T0=$(now)
in_netns "$MF_NS_SRC" ffmpeg -hide_banner -nostdin -loglevel error -re \
    -f lavfi -i "testsrc=size=320x240:rate=25" -f lavfi -i "sine=frequency=1000:sample_rate=48000" \
    -t "$DURATION" -c:v mpeg2video -b:v "$VIDEO_RATE" -g 25 -c:a mp2 -b:a 128k \
    -mpegts_muxer_options "muxrate=$MUXRATE" -f rtp_mpegts "rtp://127.0.0.1:$RELAY_PORT" >"$W/ffmpeg.log" 2>&1 &
SRC_PID=$!
PIDS+=("$SRC_PID")
event "source started: ffmpeg testsrc 320x240@25 + sine, MPEG-TS/RTP, ${DURATION}s -> $PRI (srcA) and $SEC (srcB)"

leg_down() { in_netns "$MF_NS_SRC" ip link set "$1" down; event "$2 path DOWN (ip link set $1 down)"; }
leg_up() {
    in_netns "$MF_NS_SRC" ip link set "$1" up
    # Admin-down flushed the leg's /32 route: restore it.
    in_netns "$MF_NS_SRC" ip route replace "$3/32" dev "$1" src "$4"
    event "$2 path UP   (ip link set $1 up)"
}
# sleep_until T : sleep until T seconds after T0 (scheduling the scripted failures).
sleep_until() { local d; d=$(awk -v t0="$T0" -v t="$1" -v n="$(now)" 'BEGIN { d = t0 + t - n; print (d > 0 ? d : 0) }'); nap "$d"; }

if [ "$FAILURES" -eq 1 ]; then
    OUTAGE=$(( DURATION * 15 / 100 )); [ "$OUTAGE" -lt 3 ] && OUTAGE=3
    P_DOWN=$(( DURATION * 25 / 100 )); S_DOWN=$(( DURATION * 60 / 100 ))
    sleep_until "$P_DOWN"; leg_down srcA primary
    sleep_until $((P_DOWN + OUTAGE)); leg_up srcA primary "${PRI%:*}" "$MF_PRI_SRC_IP"
    sleep_until "$S_DOWN"; leg_down srcB secondary
    sleep_until $((S_DOWN + OUTAGE)); leg_up srcB secondary "${SEC%:*}" "$MF_SEC_SRC_IP"
fi
wait "$SRC_PID"; SRC_RC=$?
event "source finished (ffmpeg exit $SRC_RC)"
kill -TERM "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null
# Relay counters = packets offered on each leg.
RELAY_LINE=$(grep '^relay received=' "$W/relay.log" || true)
SENT=$(kv received "$RELAY_LINE"); SENT=${SENT:-0}
PRI_SENT=$(kv sent_primary "$RELAY_LINE"); PRI_ERR=$(kv errors_primary "$RELAY_LINE")
SEC_SENT=$(kv sent_secondary "$RELAY_LINE"); SEC_ERR=$(kv errors_secondary "$RELAY_LINE")

# Stop on state, not on a guess of how long things take. The legs' captures are complete once
# they hold what the relay sent on them (a packet accepted by the kernel just as its link went
# down may never reach the wire: then the wait ends at its hang guard and the capture, quiet by
# then, is what went out). Every captured packet crossed its veth, so the device has taken in
# everything once its input counters reach the captures' counts; SIGINT then drains it (held
# copies go out in order), and the client has everything once it holds the device's output.
leg_cap_done() { at_least "$LEG_A" "${PRI_SENT:-0}" && at_least "$LEG_B" "${SEC_SENT:-0}"; }
for ((i = 0; i < 200; i++)); do leg_cap_done && break; nap 0.05; done
kill -INT "${CAP_PIDS[1]}" "${CAP_PIDS[2]}" 2>/dev/null
wait "${CAP_PIDS[1]}" "${CAP_PIDS[2]}" 2>/dev/null
LEG_A_N=$(pcap_count "$LEG_A"); LEG_B_N=$(pcap_count "$LEG_B")
event "source captures: $LEG_A_N packets on the primary leg, $LEG_B_N on the secondary"
json_rx() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v["inputs"][int(sys.argv[2])]["rx"]["packets"])' "$STATS_JSON" "$1" 2>/dev/null || echo 0; }
device_has_all() { [ "$(json_rx 0)" -ge "$LEG_A_N" ] && [ "$(json_rx 1)" -ge "$LEG_B_N" ]; }
if [ "$ENGINE" = mcast-failover ] && [ "$MODE" != io ]; then
    wait_until 60 "mcast-failover to take in every packet of the legs (see $DEVICE_LOG)" device_has_all
fi
kill -INT "$DEV_PID" 2>/dev/null; wait "$DEV_PID"; DEV_RC=$?
event "device stopped with SIGINT (exit $DEV_RC)"
DEV_OUT=""
if [ "$ENGINE" = mcast-failover ] && [ "$MODE" != io ]; then
    DEV_OUT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["output"]["tx"]["packets"])' "$STATS_JSON" 2>/dev/null || true)
fi
if [ -n "$DEV_OUT" ]; then
    for ((i = 0; i < 600; i++)); do at_least "$CAP" "$DEV_OUT" && break; nap 0.05; done
else
    # testpmd / io: no output counter to wait for; the capture stops once it is quiet.
    prev=-1
    for ((i = 0; i < 60; i++)); do n=$(pcap_count "$CAP"); [ "$n" -eq "$prev" ] && break; prev=$n; nap 0.5; done
fi
kill -INT "${CAP_PIDS[0]}" 2>/dev/null; wait "${CAP_PIDS[0]}" 2>/dev/null

echo
DEVICE_FIELDS=""
if [ "$ENGINE" = mcast-failover ] && [ "$MODE" = io ]; then
    echo "device (mcast-failover --forward-mode io):"
    grep -E 'io forwarding|Mempool' "$DEVICE_LOG" | sed 's/^/  /'
elif [ "$ENGINE" = mcast-failover ]; then
    python3 "$HERE/lib/stats_summary.py" "$STATS_JSON" "$DEVICE_LOG" "$TIMELINE" "$T0" >"$W/summary.txt" 2>&1
    grep -v '^DEVICE ' "$W/summary.txt"
    DEVICE_FIELDS=$(sed -n 's/^DEVICE //p' "$W/summary.txt")
else
    echo "device (dpdk-testpmd) forward statistics:"
    grep -E 'Forward statistics for port|RX-packets|TX-packets' "$DEVICE_LOG" | tail -n 8 | sed 's/^/  /'
fi
echo "  source: ffmpeg sent $SENT RTP packets; relay put $PRI_SENT on the primary leg ($PRI_ERR refused while its link was down), $SEC_SENT on the secondary ($SEC_ERR refused)"

echo
echo "client capture (${EXPECT_DST}, source IP ${EXPECT_SRC}):"
python3 "$HERE/lib/check_capture.py" "$CAP" "$EXPECT_DST" "$EXPECT_SRC" "$W/check" \
    --leg "$LEG_A" "$PRI" --leg "$LEG_B" "$SEC" >"$W/check.log" 2>&1
CHECK_RC=$?
grep -v '^RESULT ' "$W/check.log" | grep -v 'could be dangerous' | sed 's/^/  /'
CHECK=$(sed -n 's/^RESULT //p' "$W/check.log")
[ -n "$CHECK" ] || CHECK="ok=0 packets=0"
OK=0
if [ "$CHECK_RC" -eq 0 ] && [ "$DEV_RC" -eq 0 ] && [ "$SRC_RC" -eq 0 ] && [ "$SENT" -gt 0 ]; then OK=1; fi

echo
if [ "$OK" -eq 1 ]; then
    echo "PASS: $(kv packets "$CHECK") of $(kv expected "$CHECK") packets the legs carried reached the client once, in order, byte-identical (missing $(kv missing "$CHECK"), duplicates $(kv duplicates "$CHECK"), decode errors beyond the source's own $(kv decode_errors "$CHECK"))"
else
    echo "FAIL: see $W (rerun with --keep to inspect)"
    KEEP=1
fi
echo "RESULT ok=$OK engine=$ENGINE mode=$MODE failures=$FAILURES device_rc=$DEV_RC source_rc=$SRC_RC sent=$SENT primary_sent=${PRI_SENT:-0} primary_refused=${PRI_ERR:-0} secondary_sent=${SEC_SENT:-0} secondary_refused=${SEC_ERR:-0} ${DEVICE_FIELDS:+$DEVICE_FIELDS }${CHECK#ok=? }"
[ "$OK" -eq 1 ]
