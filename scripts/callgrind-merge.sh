#!/usr/bin/env bash
# Instructions per input packet of the merge engine (clean 2-leg stream),
# counted by valgrind's callgrind: repeatable on a noisy machine, unlike ns.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/callgrind-merge.sh [--mode primary|hitless|both|mold|messages|parse|framing|all] [--packets N]
                                  [--streams N] [--cache-sim [--ll SIZE,ASSOC,LINE]]

Builds dataplane/examples/merge_callgrind.rs (release, no DPDK), runs it under
`valgrind --tool=callgrind` for N and 2N packets (each packet = 2 input
copies, one per leg) and prints the instructions per input packet from the
difference, so start-up and allocation costs cancel out.

Mode parse runs dataplane/examples/parse_callgrind.rs instead: the rx parse
of one 1370-byte RTP frame (views, IPv4 header checksum, software UDP
checksum over the 1336-byte datagram) and the same with the UDP checksum
skipped, so the difference is what the checksum costs.

Modes mold and messages feed MoldUDP64 packets of 4 messages (both merge
modes each): mold packs both legs alike (--arbitrate packets); messages
starts the secondary's packets 2 messages later, so every packet overlaps
two of the other leg's (--arbitrate messages): msg-* the engine alone,
msgcut-* with the tx stage's cut (rewrite::trim_mold_front) of every copy
sent short, and the copy restoring the frame for the next cut (an upper bound).

Mode framing runs dataplane/examples/framing_callgrind.rs for rtp, moldudp64,
cme-mdp3 and pitch: SeqSpec::extract of each leg's copy and Engine::insert
(clean 2-leg stream, primary mode; MoldUDP64 and PITCH packets of 3 messages,
CME MDP3 of 2), and prints each framing's instructions per input packet, its
ratio to RTP, and the input Mpps of the same loop run natively (10x N
packets, no valgrind).

  --mode M      primary, hitless, both (the two merge modes, RTP), mold,
                messages, parse, framing, or all (default: both)
  --packets N   packets of the smaller run (default: 200000)
  --streams N   merge modes: N streams, packet i on stream i % N (16 slots
                per leg when N > 1, as the 10000-stream benchmark sizes
                them; default 1)
  --cache-sim   also simulate the caches (valgrind --cache-sim=yes) and print
                D1 and LL misses (reads + writes) per input packet
  --ll S,A,L    the simulated last-level cache (valgrind --LL; default: the
                host's largest cache, e.g. 524288,8,64 for a 512 KiB L2)
  -h, --help    this text
EOF
}

mode=both
packets=200000
streams=1
cache_sim=no
ll=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mode) mode="${2:?--mode needs a value}"; shift 2 ;;
        --packets) packets="${2:?--packets needs a value}"; shift 2 ;;
        --streams) streams="${2:?--streams needs a value}"; shift 2 ;;
        --cache-sim) cache_sim=yes; shift ;;
        --ll) ll="${2:?--ll needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "callgrind-merge.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$mode" in
    primary|hitless) modes=("$mode") ;;
    both) modes=(primary hitless) ;;
    mold) modes=(mold-primary mold-hitless) ;;
    messages) modes=(msg-primary msg-hitless msgcut-primary msgcut-hitless) ;;
    parse) modes=(software skip) ;;
    framing) modes=(rtp moldudp64 cme-mdp3 pitch) ;;
    all) modes=(primary hitless mold-primary mold-hitless msg-primary msg-hitless msgcut-primary msgcut-hitless software skip rtp moldudp64 cme-mdp3 pitch) ;;
    *) echo "callgrind-merge.sh: invalid mode '$mode' (primary, hitless, both, mold, messages, parse, framing or all)" >&2; exit 2 ;;
esac
if ! [[ "$packets" =~ ^[1-9][0-9]*$ ]]; then
    echo "callgrind-merge.sh: invalid packet count '$packets'" >&2
    exit 2
fi
if [[ -n "$ll" ]] && ! [[ "$ll" =~ ^[1-9][0-9]*,[1-9][0-9]*,[1-9][0-9]*$ ]]; then
    echo "callgrind-merge.sh: invalid --ll '$ll' (SIZE,ASSOC,LINE)" >&2
    exit 2
fi
if ! [[ "$streams" =~ ^[1-9][0-9]*$ ]]; then
    echo "callgrind-merge.sh: invalid stream count '$streams'" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "callgrind-merge.sh: valgrind not installed" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release -q -p dataplane --no-default-features --example merge_callgrind --example parse_callgrind --example framing_callgrind
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

counts() { # example mode packets [streams] -> "Ir D1-misses LL-misses" (totals)
    valgrind --tool=callgrind --cache-sim="$cache_sim" ${ll:+--LL="$ll"} --callgrind-out-file="$tmp/out" \
        "$target_dir/release/examples/$1" "${@:2}" >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
    awk '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
         /^summary:/ { ir = $(col["Ir"] + 1)
             d1 = ("D1mr" in col) ? $(col["D1mr"] + 1) + $(col["D1mw"] + 1) : 0
             ll = ("DLmr" in col) ? $(col["DLmr"] + 1) + $(col["DLmw"] + 1) : 0
             print ir, d1, ll }' "$tmp/out"
}

rtp_ir=""
for m in "${modes[@]}"; do
    case "$m" in
        software|skip) example=parse_callgrind; inputs=$packets; extra=(); label="parse udp-csum=$m 1370-byte frame" ;;
        rtp|moldudp64|cme-mdp3|pitch) example=framing_callgrind; inputs=$((2 * packets)); extra=(); label="framing $m extract+merge" ;;
        *) example=merge_callgrind; inputs=$((2 * packets)); extra=("$streams")
           label="merge $m clean 2-leg"; [[ "$streams" -gt 1 ]] && label="$label $streams streams" ;;
    esac
    small="$(counts "$example" "$m" "$packets" "${extra[@]}")"
    large="$(counts "$example" "$m" "$((2 * packets))" "${extra[@]}")"
    awk -v l="$label" -v a="$small" -v b="$large" -v n="$inputs" -v cs="$cache_sim" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        printf "%-40s %.1f instructions per input packet (%d inputs)", l ":", (y[1] - x[1]) / n, n
        if (cs == "yes") printf "; D1 misses %.2f, LL misses %.2f per input packet", (y[2] - x[2]) / n, (y[3] - x[3]) / n
        printf "\n" }' >"$tmp/line"
    if [[ $example == framing_callgrind ]]; then
        ir="$(awk -v a="$small" -v b="$large" -v n="$inputs" 'BEGIN { split(a, x, " "); split(b, y, " "); printf "%.1f", (y[1] - x[1]) / n }')"
        [[ $m == rtp ]] && rtp_ir=$ir
        mpps="$("$target_dir/release/examples/$example" "$m" "$((10 * packets))" | sed -n 's/.* mpps //p')"
        ratio="$(awk -v ir="$ir" -v r="${rtp_ir:-}" 'BEGIN { if (r != "") printf ", %.2fx RTP", ir / r }')"
        printf '%s%s, %s Mpps native\n' "$(cat "$tmp/line")" "$ratio" "$mpps"
    else
        cat "$tmp/line"
    fi
done
