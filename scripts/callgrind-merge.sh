#!/usr/bin/env bash
# Instructions per input packet of the merge engine (clean 2-leg stream),
# counted by valgrind's callgrind: repeatable on a noisy machine, unlike ns.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/callgrind-merge.sh [--mode primary|hitless|both] [--packets N]

Builds dataplane/examples/merge_callgrind.rs (release, no DPDK), runs it under
`valgrind --tool=callgrind` for N and 2N packets (each packet = 2 input
copies, one per leg) and prints the instructions per input packet from the
difference, so start-up and allocation costs cancel out.

  --mode M      primary, hitless or both (default: both)
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
    *) echo "callgrind-merge.sh: invalid mode '$mode' (primary, hitless or both)" >&2; exit 2 ;;
esac
if ! [[ "$packets" =~ ^[1-9][0-9]*$ ]]; then
    echo "callgrind-merge.sh: invalid packet count '$packets'" >&2
    exit 2
fi
command -v valgrind >/dev/null || { echo "callgrind-merge.sh: valgrind not installed" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release -q -p dataplane --no-default-features --example merge_callgrind
target_dir="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
bin="$target_dir/release/examples/merge_callgrind"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

instructions() { # mode packets -> total Ir
    valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" >/dev/null 2>"$tmp/log" ||
        { cat "$tmp/log" >&2; exit 1; }
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/out"
}

for m in "${modes[@]}"; do
    small="$(instructions "$m" "$packets")"
    large="$(instructions "$m" "$((2 * packets))")"
    inputs=$((2 * packets))
    awk -v m="$m" -v a="$small" -v b="$large" -v n="$inputs" 'BEGIN {
        printf "merge %-8s clean 2-leg: %.1f instructions per input packet (%d inputs)\n", m, (b - a) / n, n }'
done
