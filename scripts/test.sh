#!/usr/bin/env bash
# The one test command: formatting, lints, then the whole test suite
# (unit, property, integration tests on DPDK pcap vdevs and veth pairs).
# Runs every step and every test binary (--no-fail-fast), then prints one
# summary of everything that failed.
set -euo pipefail

PROG=$(basename "$0")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: $PROG [--help] [-- CARGO_TEST_ARGS...]

Runs, from the repository root, every step even after a failure:
  1. cargo fmt --all --check
  2. cargo clippy --workspace --all-targets -- -D warnings
  3. cargo test --workspace --no-fail-fast [CARGO_TEST_ARGS...]
     (the test profile builds at opt-level 2, see Cargo.toml)
  4. scripts/fuzz.sh --seconds 5: every fuzz target briefly on its stored
     corpus (a crash fails the step)
and ends with one summary: each failed step, each failing test binary and
the failing tests in it (the full output is above it).

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
FAILED=()
TOTAL_START=$SECONDS
LOG=$(mktemp "${TMPDIR:-/tmp}/test-sh.XXXXXX")
trap 'rm -f "$LOG"' EXIT
step() {
    local name=$1 start rc
    shift
    STEPS=$((STEPS + 1))
    printf '\n==> [%d/4] %s\n' "$STEPS" "$name"
    start=$SECONDS
    set +e
    "$@" 2>&1 | tee "$LOG"
    rc=${PIPESTATUS[0]}
    set -e
    if [[ $rc -ne 0 ]]; then
        printf '\n%s: FAILED: %s (exit %d after %ds)\n' "$PROG" "$name" "$rc" $((SECONDS - start)) >&2
        FAILED+=("$name")
        return 1
    fi
    printf '==> ok: %s (%ds)\n' "$name" $((SECONDS - start))
}

step "cargo fmt --all --check" cargo fmt --all --check || true
step "cargo clippy --workspace --all-targets -- -D warnings" \
    cargo clippy --workspace --all-targets -- -D warnings || true
if ! step "cargo test --workspace --no-fail-fast${EXTRA[*]:+ ${EXTRA[*]}}" \
    cargo test --workspace --no-fail-fast "${EXTRA[@]}"; then
    # Pair each failing test with the binary that ran it: cargo prints "Running <binary>"
    # before a binary's tests, "name ... FAILED" per failing test, and "error: ... `-p P
    # --test T`" per failing binary.
    BINARIES=$(awk '
        /^ *Running / { bin = $2 }
        / \.\.\. FAILED$/ { fails[bin] = fails[bin] " " $2 }
        /^error: test failed, to rerun pass/ { gsub(/`/, ""); sub(/.*pass /, ""); failed[bin] = $0 }
        END { for (b in failed) printf "  %s (%s):%s\n", b, failed[b], fails[b] }
    ' "$LOG")
fi

step "scripts/fuzz.sh --seconds 5" "$ROOT/scripts/fuzz.sh" --seconds 5 || true

printf '\n%s: summary after %ds\n' "$PROG" $((SECONDS - TOTAL_START))
if [[ ${#FAILED[@]} -eq 0 ]]; then
    printf '%s: all %d steps passed\n' "$PROG" "$STEPS"
    exit 0
fi
for f in "${FAILED[@]}"; do printf '  FAILED step: %s\n' "$f"; done
if [[ -n ${BINARIES:-} ]]; then
    printf '  failing test binaries (rerun with cargo test ARGS) and their failing tests:\n%s\n' "$BINARIES"
fi
exit 1
