# shellcheck shell=bash
# Conventions shared by every script under scripts/ (sourced, never run).
#
# Exit status: 0 success, 1 a step or check failed (`die`), 2 bad usage (`die_usage`), 3 a
# missing prerequisite (`need`, `need_root`). Every message is one line prefixed with the
# script's name, so a user can tell which script said it.
#
# Prerequisites are declared with `need TOOL...` (required) and `want TOOL...` (optional:
# warns, returns 1 so the caller can skip a section). Keep each on one line with literal
# tool names: tests/setup_tools.rs reads these lines to prove that scripts/setup.sh installs
# every tool a script asks for.

# Sourcing this also sets what every script starts with: PROG (the script's name, for
# messages), HERE (scripts/), ROOT (the repository) and PYTHONDONTWRITEBYTECODE (the helper
# Python programs leave no __pycache__ in the tree).
PROG=${PROG:-$(basename "$0")}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export PYTHONDONTWRITEBYTECODE=1

# die MSG... : a step failed (exit 1).
die() { echo "$PROG: $*" >&2; exit 1; }

# die_usage MSG... : bad arguments (exit 2), with a pointer to --help.
die_usage() { echo "$PROG: $*" >&2; echo "try: $PROG --help" >&2; exit 2; }

# need_value OPTION [VALUE...] : OPTION must be followed by a non-empty value ("$@" of the
# argument loop).
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die_usage "$1 needs a value"; }

# need TOOL... : each TOOL must be on PATH (exit 3 naming the first missing one).
need() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 \
            || { echo "$PROG: missing prerequisite '$t' (run scripts/setup.sh)" >&2; exit 3; }
    done
}

# want TOOL... : like need, but only warns; returns 1 if any is missing.
want() {
    local t rc=0
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            echo "$PROG: warning: '$t' not found (run scripts/setup.sh)" >&2
            rc=1
        fi
    done
    return $rc
}

# need_root WHY : exit 3 unless running as root.
need_root() { [ "$(id -u)" -eq 0 ] || { echo "$PROG: must run as root ($1)" >&2; exit 3; }; }

# kv KEY LINE : the value of KEY=VALUE in a space-separated LINE (empty if absent).
kv() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# now : wall-clock seconds with nanoseconds.
now() { date +%s.%N; }

# nap S : sleep in the background and `wait` for it, so a Ctrl-C runs the INT trap at once
# (bash defers traps until a foreground child ends). NAP_PID lets a cleanup trap end it.
NAP_PID=""
nap() { sleep "$1" & NAP_PID=$!; wait "$NAP_PID"; NAP_PID=""; }

# wait_until TIMEOUT_S WHAT COMMAND... : poll COMMAND (every 50 ms) until it succeeds; `die`
# naming WHAT after TIMEOUT_S seconds. The timeout is a hang guard, never a result.
wait_until() {
    local timeout=$1 what=$2 i
    shift 2
    for ((i = 0; i < timeout * 20; i++)); do
        "$@" && return 0
        nap 0.05
    done
    die "timed out after ${timeout}s waiting for $what"
}

# in_netns NS COMMAND... : run COMMAND in network namespace NS (made by `ip netns add`).
# Not `ip netns exec` / `ip -n`: those remount / and /sys and fail where / is not a mount
# point (a chroot, some containers); entering only the network namespace works everywhere.
# In a subshell (`in_netns ... &`, a pipeline, $(...)) it execs, so `$!` is COMMAND's own pid
# and a signal sent to it reaches COMMAND, not a wrapper shell.
# Under `timeout`, which runs programs, not functions, write the same thing out:
# `timeout ... nsenter --net=/run/netns/NS -- COMMAND...`.
_COMMON_SUBSHELL=$BASH_SUBSHELL
in_netns() {
    local ns=$1
    shift
    if [ "$BASH_SUBSHELL" -gt "$_COMMON_SUBSHELL" ]; then
        exec nsenter --net="/run/netns/$ns" -- "$@"
    fi
    nsenter --net="/run/netns/$ns" -- "$@"
}
