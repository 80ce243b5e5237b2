#!/usr/bin/env bash
# The merge policy before / after table of BENCHMARKS.md: residence and losses per scenario
# (scripts/compare-gstreamer.sh) and the engine's instructions per packet
# (scripts/callgrind-merge.sh) of this tree, beside a saved run of an earlier binary.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PACKETS=500
ENGINES=mcast-failover,mf-hitless,gst-20-none
BEFORE_ROWS=""
BEFORE_CG=""
BEFORE_COMMIT=""
BINARY=""
GEN=""
OUT=$ROOT/BENCHMARKS.md
usage() {
    cat <<EOF2
usage: scripts/bench-policy.sh --before-rows FILE --before-commit SHA [options]

Runs scripts/compare-gstreamer.sh --packets N --engines $ENGINES with this tree's binary and
scripts/callgrind-merge.sh, then writes the "Merge policy before / after" section of
BENCHMARKS.md (scripts/lib/benchkit.py policy) from those figures and the saved ones of an
earlier run (the same two scripts' output, made with that commit's binary).

  --before-rows FILE       compare-gstreamer.sh output of the earlier binary (its ROW lines)
  --before-callgrind FILE  callgrind-merge.sh output of the earlier tree [none]
  --before-commit SHA      the commit those figures come from (named in the table)
  --packets N              packets per scenario (default $PACKETS)
  --binary PATH, --gen PATH  passed to compare-gstreamer.sh
  --out FILE               report to update (default BENCHMARKS.md)
  -h, --help               this text
EOF2
}
while [ $# -gt 0 ]; do
    case $1 in
        --before-rows) need_value "$@"; BEFORE_ROWS=$2; shift 2 ;;
        --before-callgrind) need_value "$@"; BEFORE_CG=$2; shift 2 ;;
        --before-commit) need_value "$@"; BEFORE_COMMIT=$2; shift 2 ;;
        --packets) need_value "$@"; PACKETS=$2; shift 2 ;;
        --binary) need_value "$@"; BINARY=$2; shift 2 ;;
        --gen) need_value "$@"; GEN=$2; shift 2 ;;
        --out) need_value "$@"; OUT=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown option '$1'" ;;
    esac
done
[ -n "$BEFORE_ROWS" ] || die_usage "--before-rows is required"
[ -n "$BEFORE_COMMIT" ] || die_usage "--before-commit is required"
[ -r "$BEFORE_ROWS" ] || die "--before-rows: cannot read $BEFORE_ROWS"
need python3
W=$(mktemp -d /tmp/mf-bench-policy.XXXXXX)
trap 'rm -rf "$W"' EXIT
args=(--packets "$PACKETS" --engines "$ENGINES")
[ -z "$BINARY" ] || args+=(--binary "$BINARY")
[ -z "$GEN" ] || args+=(--gen "$GEN")
echo "== scripts/compare-gstreamer.sh ${args[*]}"
rc=0
bash "$HERE/compare-gstreamer.sh" "${args[@]}" >"$W/after.txt" 2>&1 || rc=$?
grep -E '^(ROW|VERDICT) ' "$W/after.txt" || die "compare-gstreamer.sh printed no ROW lines (exit $rc); see its output above"
echo "== scripts/callgrind-merge.sh --packets 100000"
bash "$HERE/callgrind-merge.sh" --packets 100000 | tee "$W/cg.txt"
python3 "$HERE/lib/benchkit.py" policy "$OUT" --before "$BEFORE_ROWS" --after "$W/after.txt" \
    --cg-before "$BEFORE_CG" --cg-after "$W/cg.txt" --before-commit "$BEFORE_COMMIT" \
    --command "scripts/compare-gstreamer.sh --packets $PACKETS --engines $ENGINES"
echo "== $OUT updated"
