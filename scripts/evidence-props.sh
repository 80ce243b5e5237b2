#!/usr/bin/env bash
# The 10^5-case sweep of the learned-evidence merge properties
# (dataplane/tests/merge_evidence_props.rs, test `evidence_sweep_1e5`, ignored by
# `cargo test`, which runs a few thousand cases of each property instead).
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CASES=50000
usage() {
    cat <<EOF2
usage: scripts/evidence-props.sh [--cases N]

Runs the ignored sweep of dataplane/tests/merge_evidence_props.rs in a release build:
N stationary schedules (no packet may be lost within the learned bounds), N arbitrary
schedules (every early loss counted in lost_early, never an out-of-order send) and N/500
slow-change schedules (lag 0 -> 40 periods and back, reorder depth 0 -> 6 one step at a
time: nothing lost, skew estimate follows). Default N = $CASES, i.e. 10^5 cases plus ramps.

  --cases N   schedules per kind (default $CASES)
  -h, --help  this text
EOF2
}
while [ $# -gt 0 ]; do
    case $1 in
        --cases) need_value "$@"; CASES=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown option '$1'" ;;
    esac
done
[[ $CASES =~ ^[1-9][0-9]*$ ]] || die_usage "--cases must be a positive integer, got '$CASES'"
need cargo
cd "$ROOT"
EVIDENCE_CASES=$CASES cargo test --release -p dataplane --no-default-features \
    --test merge_evidence_props evidence_sweep_1e5 -- --ignored --nocapture
