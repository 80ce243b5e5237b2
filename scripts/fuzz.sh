#!/usr/bin/env bash
# Runs every cargo-fuzz (libFuzzer) target of fuzz/ for N seconds each, on
# its stored corpus, and prints executions and crashes per target.
set -euo pipefail

# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
    cat <<EOF
Usage: $PROG [--seconds N] [--jobs J] [--keep-new] [TARGET...]

Builds the fuzz targets of fuzz/ (cargo fuzz, libFuzzer, no sanitizer: the
targets are safe Rust, so a bug shows as a panic or a failed invariant) and
runs each for N seconds at nice 19, starting from fuzz/corpus/TARGET.
Prints one line per target: executions, executions per second, corpus size,
crashes. A crash leaves its input in fuzz/artifacts/TARGET/ (replay it with
fuzz/target/*/release/TARGET FILE) and makes the exit status 1.

  --seconds N   run time per target [60]
  --jobs J      targets run at once [1]
  --keep-new    add the inputs a run finds to fuzz/corpus/TARGET (default:
                they go to a temporary directory, the stored corpus stays as is)
  TARGET...     only these [all of fuzz/fuzz_targets/*.rs]

Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets cargo fuzz pass
the few unstable rustc flags it uses. CI (scripts/test.sh) runs
"$PROG --seconds 5". Exit status: 0 no crash, 1 a crash or a build
failure, 2 bad arguments, 3 cargo-fuzz missing (scripts/setup.sh installs it).
EOF
}

SECONDS_EACH=60
JOBS=1
KEEP=0
TARGETS=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --seconds) need_value "$@"; SECONDS_EACH=$2; shift ;;
        --jobs) need_value "$@"; JOBS=$2; shift ;;
        --keep-new) KEEP=1 ;;
        -*) die_usage "unknown option '$1'" ;;
        *) TARGETS+=("$1") ;;
    esac
    shift
done
[[ $SECONDS_EACH =~ ^[1-9][0-9]*$ ]] || die_usage "--seconds wants a positive integer, not '$SECONDS_EACH'"
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die_usage "--jobs wants a positive integer, not '$JOBS'"

command -v cargo >/dev/null 2>&1 || die "cargo not found (install Rust with rustup)"
cargo fuzz --version >/dev/null 2>&1 \
    || { echo "$PROG: missing prerequisite 'cargo fuzz' (run scripts/setup.sh)" >&2; exit 3; }

cd "$ROOT/fuzz"
if [[ ${#TARGETS[@]} -eq 0 ]]; then
    for f in fuzz_targets/*.rs; do
        TARGETS+=("$(basename "$f" .rs)")
    done
fi
for t in "${TARGETS[@]}"; do
    [[ -f fuzz_targets/$t.rs ]] || die_usage "no fuzz target '$t' (see fuzz/fuzz_targets/)"
done

export RUSTC_BOOTSTRAP=1
echo "$PROG: building ${#TARGETS[@]} targets"
for t in "${TARGETS[@]}"; do
    nice -n 19 cargo fuzz build --sanitizer none --release --debug-assertions "$t" \
        || die "cargo fuzz build $t failed"
done
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN_DIR=$ROOT/fuzz/target/$TRIPLE/release

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-sh.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# max_len TARGET: longest input worth trying. An arrival is 4 bytes, so 512
# bytes are 127 arrivals and time steps (windows of 64 slots wrap twice);
# a configuration of 2 KiB holds a dozen streams. Longer inputs only slow
# each execution down.
max_len() {
    case $1 in
        merge_engine) echo 512 ;;
        config_toml) echo 2048 ;;
        *) echo 9100 ;;  # a jumbo frame
    esac
}

# run_one TARGET: fuzzes TARGET for SECONDS_EACH; its log goes to WORK/TARGET.log.
run_one() {
    local t=$1 corpus=$ROOT/fuzz/corpus/$1 new=$WORK/$1.new
    mkdir -p "$corpus" "$new" "$ROOT/fuzz/artifacts/$t"
    local dirs=("$new" "$corpus")
    [[ $KEEP -eq 1 ]] && dirs=("$corpus")
    set +e
    nice -n 19 "$BIN_DIR/$t" "${dirs[@]}" \
        -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$t")" -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$ROOT/fuzz/artifacts/$t/" >"$WORK/$t.log" 2>&1
    echo $? >"$WORK/$t.rc"
    set -e
}

running=0
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [[ $running -ge $JOBS ]]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait

crashed=0
printf '%-16s %14s %12s %8s %8s\n' target executions exec/s corpus crashes
for t in "${TARGETS[@]}"; do
    log=$WORK/$t.log
    rc=$(cat "$WORK/$t.rc")
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    size=$(find "$ROOT/fuzz/corpus/$t" "$WORK/$t.new" -type f 2>/dev/null | wc -l)
    crashes=0
    if [[ $rc -ne 0 ]]; then
        crashes=1
        crashed=1
    fi
    printf '%-16s %14s %12s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "$size" "$crashes"
    if [[ $rc -ne 0 ]]; then
        echo "--- $t (exit $rc): last lines of its log ---" >&2
        tail -n 30 "$log" >&2
    fi
done
[[ $crashed -eq 0 ]] || die "a fuzz target crashed (inputs in fuzz/artifacts/)"
