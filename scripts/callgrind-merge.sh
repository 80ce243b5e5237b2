#!/usr/bin/env bash
# Instructions per input packet of the merge engine (clean 2-leg stream),
# counted by valgrind's callgrind: repeatable on a noisy machine, unlike ns.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/callgrind-merge.sh [--mode primary|hitless|both|mold|messages|parse|all] [--packets N]

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
two of the other leg's (--arbitrate messages), and includes the tx stage's
cut (rewrite::trim_mold_front) of every copy sent short.

  --mode M      primary, hitless, both (the two merge modes, RTP), mold,
                messages, parse, or all (default: both)
  --packets N   packets of the smaller run (default: 200000)
  -h, --help    this text
EOF
}

mode=both
packets=200000
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mode) mode="${2:?--mode needs a value}"; shift 2 ;;
        --packets) packets="${2:?--packets needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "callgrind-merge.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$mode" in
    primary|hitless) modes=("$mode") ;;
    both) modes=(primary hitless) ;;
    mold) modes=(mold-primary mold-hitless) ;;
    messages) modes=(msg-primary msg-hitless) ;;
    parse) modes=(software skip) ;;
    all) modes=(primary hitless mold-primary mold-hitless msg-primary msg-hitless software skip) ;;
    *) echo "callgrind-merge.sh: invalid mode '$mode' (primary, hitless, both, mold, messages, parse or all)" >&2; exit 2 ;;
esac
if ! [[ "$packets" =~ ^[1-9][0-9]*$ ]]; then
    echo "callgrind-merge.sh: invalid packet count '$packets'" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "callgrind-merge.sh: valgrind not installed" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release -q -p dataplane --no-default-features --example merge_callgrind --example parse_callgrind
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

instructions() { # example mode packets -> total Ir
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$target_dir/release/examples/$1" "$2" "$3" \
        >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/out"
}

for m in "${modes[@]}"; do
    case "$m" in
        software|skip) example=parse_callgrind; inputs=$packets; label="parse udp-csum=$m 1370-byte frame" ;;
        *) example=merge_callgrind; inputs=$((2 * packets)); label="merge $m clean 2-leg" ;;
    esac
    small="$(instructions "$example" "$m" "$packets")"
    large="$(instructions "$example" "$m" "$((2 * packets))")"
    awk -v l="$label" -v a="$small" -v b="$large" -v n="$inputs" 'BEGIN {
        printf "%-40s %.1f instructions per input packet (%d inputs)\n", l ":", (b - a) / n, n }'
done
