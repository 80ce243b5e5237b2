#!/usr/bin/env bash
# The one test command: formatting, lints, then the whole test suite
# (unit, property, integration tests on DPDK pcap vdevs and veth pairs).
# Stops at the first failing step.
set -euo pipefail

PROG=$(basename "$0")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: $PROG [--help] [-- CARGO_TEST_ARGS...]

Runs, from the repository root, stopping at the first failure:
  1. cargo fmt --all --check
  2. cargo clippy --workspace --all-targets -- -D warnings
  3. cargo test --workspace [CARGO_TEST_ARGS...]
     (the test profile builds at opt-level 2, see Cargo.toml)

Run scripts/setup.sh once first (DPDK, tools, hugepages).
Exit status: 0 all passed, 1 a step failed, 2 bad arguments.
EOF
}

EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "$PROG: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

cd "$ROOT"
if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck source=/dev/null
    source "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || { echo "$PROG: cargo not found (install Rust with rustup)" >&2; exit 1; }

STEPS=0
TOTAL_START=$SECONDS
step() {
    local name=$1 start rc
    shift
    STEPS=$((STEPS + 1))
    printf '\n==> [%d/3] %s\n' "$STEPS" "$name"
    start=$SECONDS
    set +e
    "$@"
    rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then
        printf '\n%s: FAILED: %s (exit %d after %ds)\n' "$PROG" "$name" "$rc" $((SECONDS - start)) >&2
        exit 1
    fi
    printf '==> ok: %s (%ds)\n' "$name" $((SECONDS - start))
}

step "cargo fmt --all --check" cargo fmt --all --check
step "cargo clippy --workspace --all-targets -- -D warnings" \
    cargo clippy --workspace --all-targets -- -D warnings
step "cargo test --workspace${EXTRA[*]:+ ${EXTRA[*]}}" cargo test --workspace "${EXTRA[@]}"
printf '\n%s: all %d steps passed (%ds)\n' "$PROG" "$STEPS" $((SECONDS - TOTAL_START))
