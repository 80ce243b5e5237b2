# shellcheck shell=bash
# The one bounded run a benchmark script has going at a time (sourced, never run): CHILD is
# the pid of the `timeout` bounding it, and the options the benchmarks share. Used by
# bench.sh, bench-shard.sh and bench-scale.sh.
#
# SIGINT goes to the process under `timeout`, once: a signal to `timeout` itself is
# forwarded to the child AND to the process group, i.e. twice, and mcast-failover treats a
# second SIGINT during shutdown as "exit now" (status 130).

CHILD=""

# stop_child : ask the run to stop (SIGINT to the process under `timeout`).
stop_child() {
    local target
    target=$(pgrep -P "$CHILD" | head -1 || true)
    kill -INT "${target:-$CHILD}" 2>/dev/null || true
}

# finish_child : stop the run and wait for it; its exit status is left in CHILD_RC.
CHILD_RC=0
finish_child() {
    stop_child
    CHILD_RC=0
    wait "$CHILD" || CHILD_RC=$?
    CHILD=""
}

# cleanup_child : stop and reap a run still going (exit traps, error paths).
cleanup_child() {
    if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
        stop_child
        wait "$CHILD" 2>/dev/null || true
    fi
    CHILD=""
}

# wait_rx STATS_JSON LIMIT TRIES : until the running binary's stats say its inputs received
# LIMIT packets, it exits, or TRIES polls of 0.1 s pass (a bound only: the caller stops it
# either way and reports what was counted).
wait_rx() {
    local i got
    for ((i = 0; i < $3; i++)); do
        kill -0 "$CHILD" 2>/dev/null || return 0
        got=$(jq '[.inputs[].rx.packets] | add' "$1" 2>/dev/null || echo 0)
        [ "${got:-0}" -ge "$2" ] && return 0
        sleep 0.1
    done
}

# bench_workdir NAME : WORKDIR (given, created if missing; or a new temporary one, then
# OWN_WORKDIR=1 so the exit trap removes it) as an absolute path.
OWN_WORKDIR=0
bench_workdir() {
    if [ -z "$WORKDIR" ]; then
        WORKDIR=$(mktemp -d "/tmp/mcast-failover-$1.XXXXXX")
        OWN_WORKDIR=1
    else
        mkdir -p "$WORKDIR"
    fi
    WORKDIR=$(cd "$WORKDIR" && pwd)
}

# bench_start NAME [CLEANUP] : the exit trap (stop a run still going, then CLEANUP if given,
# then remove our own workdir unless KEEP=1; Ctrl-C and TERM exit 130 through it), and the
# banner with the load average before the first run (LOAD_BEFORE, for the report).
bench_start() {
    BENCH_CLEANUP=${2:-}
    trap 'exit 130' INT TERM
    trap bench_exit EXIT
    echo "== $1: workdir $WORKDIR, report $OUT"
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "   load average before: $LOAD_BEFORE"
}
bench_exit() {
    cleanup_child
    [ -z "$BENCH_CLEANUP" ] || "$BENCH_CLEANUP"
    if [ "$OWN_WORKDIR" = 1 ] && [ "${KEEP:-0}" = 0 ]; then rm -rf "$WORKDIR"; fi
}

is_num() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_int() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# bench_opt "$@" : the options bench.sh, bench-shard.sh and bench-scale.sh share (same variables, same
# checks, exit 2 on a bad value). Returns 1 if $1 is not one of them; else sets BENCH_SHIFT to
# the number of words it took, for the caller's `shift "$BENCH_SHIFT"`.
bench_opt() {
    BENCH_SHIFT=2
    case $1 in
        --rounds) need_value "$@"; is_int "$2" || die_usage "--rounds: not a positive integer: $2"; ROUNDS=$2 ;;
        --warmup) need_value "$@"; is_num "$2" || die_usage "--warmup: not a number: $2"; WARMUP=$2 ;;
        --window) need_value "$@"; is_num "$2" || die_usage "--window: not a number: $2"; WINDOW=$2 ;;
        --frames) need_value "$@"; { is_int "$2" && [ $(($2 % 65536)) -eq 0 ]; } || die_usage "--frames: not a multiple of 65536: $2"; FRAMES=$2 ;;
        --streams) need_value "$@"; for n in $2; do is_int "$n" || die_usage "--streams: not a positive integer: $n"; done; STREAM_COUNTS=$2 ;;
        --callgrind-packets) need_value "$@"; is_int "$2" || die_usage "--callgrind-packets: not a positive integer: $2"; CG_PACKETS=$2 ;;
        --binary) need_value "$@"; BINARY=$2 ;;
        --out) need_value "$@"; OUT=$2 ;;
        --workdir) need_value "$@"; WORKDIR=$2 ;;
        --no-callgrind) CALLGRIND=0; BENCH_SHIFT=1 ;;
        --keep) KEEP=1; BENCH_SHIFT=1 ;;
        *) return 1 ;;
    esac
}
