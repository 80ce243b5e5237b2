#!/usr/bin/env bash
# One-time (and idempotent) machine setup for building and testing
# mcast-failover on Debian/Ubuntu: DPDK and its headers, libclang for bindgen,
# the tools the tests and benchmarks drive, Rust lint components, hugepages.
# A second run finds everything in place and finishes in about a second.
set -euo pipefail

PROG=$(basename "$0")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Build: DPDK (libs, PMD plugins, headers, pkg-config file), C toolchain,
# libclang for bindgen. Demo, tests, benchmarks and comparisons: tcpreplay,
# tshark, tcpdump, ffmpeg (ffmpeg, ffprobe), iproute2 (ip netns/veth, bridge),
# ethtool (veth checksum offload off), python3, valgrind (callgrind), perf,
# gstreamer (comparison pipeline), jq (stats JSON), pciutils+kmod
# (dpdk-devbind.py, vfio), procps, util-linux (taskset, chrt).
# tests/setup_tools.rs proves that this list covers every tool a script
# `need`s or `want`s and every tool tests/prereq requires: add new ones here.
PACKAGES=(
    dpdk dpdk-dev libdpdk-dev pkg-config libclang-dev build-essential
    tcpreplay tshark tcpdump ffmpeg iproute2 ethtool python3 valgrind
    linux-perf jq gstreamer1.0-tools gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good pciutils kmod procps util-linux ca-certificates curl
    prometheus systemd
)

usage() {
    cat <<EOF
Usage: $PROG [--pages N] [--no-hugepages] [--help]

Prepare this machine to build and test mcast-failover (Debian bookworm or
similar; run as root or with sudo available):
  1. apt-get install (non-interactive) of: ${PACKAGES[*]}
     skipped entirely when all of them are already installed
  2. rustfmt and clippy via rustup, if rustup is present and they are missing,
     and cargo-fuzz (cargo install) for scripts/fuzz.sh
  3. hugepages: scripts/hugepages.sh --pages N --size 2M. A failure here is a
     warning, not an error: tests fall back to EAL --no-huge.

  --pages N        2M hugepages to reserve [1024 = 2 GiB]
  --no-hugepages   skip step 3
  --help           this help

Safe to run any number of times. Exit status: 0 ready, 1 a step failed,
2 bad arguments.
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
bad_arg() { echo "$PROG: $*" >&2; exit 2; }
say() { echo "setup: $*"; }

PAGES=1024
HUGE=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --no-hugepages) HUGE=0 ;;
        --pages)
            [[ $# -ge 2 ]] || bad_arg "--pages needs a value"
            PAGES=$2; shift ;;
        --pages=*) PAGES=${1#*=} ;;
        *) bad_arg "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
[[ $PAGES =~ ^[0-9]+$ ]] || bad_arg "bad value '$PAGES' for --pages: need a whole number"

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=()
fi
as_root() {
    if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
        die "need root for: $* (run as root or install sudo)"
    fi
    "${SUDO[@]}" "$@"
}

# ---------------------------------------------------------------- packages
missing=()
for p in "${PACKAGES[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) != installed ]]; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    say "packages: all ${#PACKAGES[@]} installed"
else
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install by hand: ${missing[*]}"
    say "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer "no" up front.
    echo "wireshark-common wireshark-common/install-setuid boolean false" \
        | as_root debconf-set-selections
    log=$(mktemp "${TMPDIR:-/tmp}/setup-apt.XXXXXX")
    trap 'rm -f "$log"' EXIT
    # apt's chatter goes to a log that is shown only if something fails.
    as_root apt-get update -q >"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; die "apt-get update failed"; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o Dpkg::Options::=--force-confdef \
        -o Dpkg::Options::=--force-confold "${missing[@]}" >>"$log" 2>&1 \
        || { tail -n 30 "$log" >&2; die "apt-get install failed for: ${missing[*]}"; }
    say "packages: installed ${#missing[@]}"
fi
DPDK_VERSION=$(pkg-config --modversion libdpdk 2>/dev/null) \
    || die "pkg-config cannot find libdpdk after install (is libdpdk-dev installed?)"
say "dpdk: $DPDK_VERSION ($(pkg-config --variable=libdir libdpdk))"

# ---------------------------------------------------------------- rust
if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck source=/dev/null
    source "$HOME/.cargo/env"
fi
if command -v rustup >/dev/null 2>&1; then
    installed=$(rustup component list --installed 2>/dev/null || true)
    want=()
    for c in rustfmt clippy; do
        grep -q "^$c" <<<"$installed" || want+=("$c")
    done
    if [[ ${#want[@]} -gt 0 ]]; then
        say "rust: adding ${want[*]}"
        rustup component add "${want[@]}" >/dev/null || die "rustup component add ${want[*]} failed"
    fi
    say "rust: $(rustc --version 2>/dev/null || echo 'rustc missing'), rustfmt and clippy present"
elif command -v cargo >/dev/null 2>&1; then
    for t in fmt clippy; do
        cargo "$t" --version >/dev/null 2>&1 || say "warning: 'cargo $t' missing and no rustup to add it"
    done
else
    say "warning: no Rust toolchain found (install it with rustup: https://rustup.rs)"
fi

# ---------------------------------------------------------------- cargo-fuzz
# scripts/fuzz.sh (and so scripts/test.sh) runs the libFuzzer targets of
# fuzz/ through cargo fuzz, on the stable toolchain (see fuzz.sh).
CARGO_FUZZ_VERSION=0.13.2
if command -v cargo >/dev/null 2>&1; then
    if cargo fuzz --version 2>/dev/null | grep -qF "$CARGO_FUZZ_VERSION"; then
        say "rust: cargo-fuzz $CARGO_FUZZ_VERSION present"
    else
        say "rust: installing cargo-fuzz $CARGO_FUZZ_VERSION (a few minutes)"
        fuzz_log=$(mktemp "${TMPDIR:-/tmp}/setup-cargo-fuzz.XXXXXX")
        cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION" >"$fuzz_log" 2>&1 \
            || { tail -n 30 "$fuzz_log" >&2; rm -f "$fuzz_log"; die "cargo install cargo-fuzz failed"; }
        rm -f "$fuzz_log"
        say "rust: cargo-fuzz $CARGO_FUZZ_VERSION installed"
    fi
fi

# ---------------------------------------------------------------- hugepages
if [[ $HUGE -eq 1 ]]; then
    if out=$(as_root "$HERE/hugepages.sh" --pages "$PAGES" --size 2M 2>&1); then
        say "$out"
    else
        say "warning: hugepages unavailable, tests will run DPDK with --no-huge: ${out##*: }"
    fi
fi
say "ready"
