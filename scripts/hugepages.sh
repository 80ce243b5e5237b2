#!/usr/bin/env bash
# Reserve hugepages for DPDK and make sure a hugetlbfs is mounted for them.
# DPDK's EAL backs its mempools with hugepages; without them tests fall back to
# `--no-huge -m 512` (slower, but correct).
set -euo pipefail

PROG=$(basename "$0")
SYS=/sys/kernel/mm/hugepages

usage() {
    cat <<EOF
Usage: $PROG [--pages N] [--size 2M|1G] [--mount DIR]
       $PROG --status
       $PROG --clear [--size 2M|1G]

Reserve N hugepages of the given size (default: 1024 x 2M = 2 GiB) and mount a
hugetlbfs for that size if none is mounted (default mount point:
/dev/hugepages for 2M, /dev/hugepages1G for 1G).

  --pages N     number of pages to reserve [1024]. Never shrinks an existing,
                larger reservation (other DPDK processes may use it); use
                --clear first to lower it.
  --size S      page size: 2M or 1G [2M]
  --mount DIR   hugetlbfs mount point [per size, see above]
  --status      print reserved/free pages per size and hugetlbfs mounts; exit 0
  --clear       release the pages of --size (default: of every size)
  --help        this help

The kernel may grant fewer pages than asked (fragmented or insufficient
memory, 1G pages usually need a boot parameter): the script reads the count
back and fails if it is short.

Exit status: 0 success, 1 the kernel refused or not root, 2 bad arguments.
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
bad_arg() { echo "$PROG: $*" >&2; exit 2; }

PAGES=1024
SIZE=""
MOUNT_DIR=""
ACTION=reserve

while [[ $# -gt 0 ]]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --status) ACTION=status ;;
        --clear) ACTION=clear ;;
        --pages|--size|--mount)
            [[ $# -ge 2 ]] || bad_arg "$1 needs a value"
            case "$1" in
                --pages) PAGES=$2 ;;
                --size) SIZE=$2 ;;
                --mount) MOUNT_DIR=$2 ;;
            esac
            shift ;;
        --pages=*) PAGES=${1#*=} ;;
        --size=*) SIZE=${1#*=} ;;
        --mount=*) MOUNT_DIR=${1#*=} ;;
        *) bad_arg "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

[[ $PAGES =~ ^[0-9]+$ ]] || bad_arg "bad value '$PAGES' for --pages: need a whole number"
PAGES=$((10#$PAGES))

# size_kb SIZE -> kB used in /sys paths
size_kb() {
    case "$1" in
        2M|2m|2048k|2048kB) echo 2048 ;;
        1G|1g|1024M|1048576kB) echo 1048576 ;;
        *) return 1 ;;
    esac
}

if [[ -n $SIZE ]]; then
    KB=$(size_kb "$SIZE") || bad_arg "bad value '$SIZE' for --size: need 2M or 1G"
else
    KB=2048
fi
if [[ $KB == 2048 ]]; then LABEL=2M; else LABEL=1G; fi

read_sys() { cat "$1" 2>/dev/null || echo 0; }

# hugetlbfs mount points serving pages of $1 kB (explicit pagesize= option, or
# none, which means the default Hugepagesize).
mounts_for() {
    local kb=$1 def
    def=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo 2>/dev/null || true)
    awk -v kb="$kb" -v def="$def" '$3 == "hugetlbfs" {
        ps = def
        n = split($4, o, ",")
        for (i = 1; i <= n; i++) if (o[i] ~ /^pagesize=/) {
            v = substr(o[i], 10)
            if (v ~ /[Mm]$/) ps = v * 1024; else if (v ~ /[Gg]$/) ps = v * 1048576; else ps = v / 1024
        }
        if (ps == kb) print $2
    }' /proc/mounts
}

status() {
    if [[ ! -d $SYS ]]; then
        echo "hugepages: not supported by this kernel (no $SYS)"
        return 0
    fi
    local d kb label total free m
    for d in "$SYS"/hugepages-*kB; do
        [[ -d $d ]] || continue
        kb=${d##*/hugepages-}; kb=${kb%kB}
        case $kb in 2048) label=2M ;; 1048576) label=1G ;; *) label="${kb}kB" ;; esac
        total=$(read_sys "$d/nr_hugepages")
        free=$(read_sys "$d/free_hugepages")
        m=$(mounts_for "$kb" | paste -sd, -)
        printf '%-4s pages: %6s reserved, %6s free, mounted at: %s\n' "$label" "$total" "$free" "${m:-(none)}"
    done
}

need_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root to $1 (try: sudo $0 ...)"
}

case "$ACTION" in
status)
    status
    exit 0
    ;;
clear)
    [[ -d $SYS ]] || die "hugepages not supported by this kernel (no $SYS)"
    need_root "release hugepages"
    if [[ -n $SIZE ]]; then dirs=("$SYS/hugepages-${KB}kB"); else dirs=("$SYS"/hugepages-*kB); fi
    rc=0
    for d in "${dirs[@]}"; do
        [[ -d $d ]] || die "this kernel has no ${LABEL} hugepages ($d missing)"
        echo 0 > "$d/nr_hugepages" 2>/dev/null || true
        left=$(read_sys "$d/nr_hugepages")
        kb=${d##*/hugepages-}; kb=${kb%kB}
        if [[ $left -ne 0 ]]; then
            files=$(mounts_for "$kb" | while read -r m; do find "$m" -maxdepth 1 -type f 2>/dev/null; done | wc -l)
            echo "$PROG: ${kb}kB: $left pages still held (in use by a running process, or by $files leftover file(s) in hugetlbfs mounts)" >&2
            rc=1
        fi
    done
    status
    exit $rc
    ;;
esac

# reserve
[[ -d $SYS ]] || die "hugepages not supported by this kernel (no $SYS)"
D="$SYS/hugepages-${KB}kB"
[[ -d $D ]] || die "this kernel has no ${LABEL} hugepages ($D missing)"
need_root "reserve hugepages"

have=$(read_sys "$D/nr_hugepages")
if (( have < PAGES )); then
    if ! echo "$PAGES" > "$D/nr_hugepages" 2>/dev/null; then
        die "kernel refused to set ${LABEL} nr_hugepages to $PAGES (write to $D/nr_hugepages failed; read-only /sys in a container?)"
    fi
    got=$(read_sys "$D/nr_hugepages")
    if (( got < PAGES )); then
        # Give back the partial grant: a half-done reservation only starves
        # the rest of the machine.
        echo "$have" > "$D/nr_hugepages" 2>/dev/null || true
        die "kernel granted only $got of $PAGES ${LABEL} hugepages (not enough free contiguous memory; kept $(read_sys "$D/nr_hugepages"); try fewer pages, or reserve at boot with hugepages=$PAGES)"
    fi
    have=$got
fi

if [[ -z $(mounts_for "$KB") ]]; then
    if [[ -z $MOUNT_DIR ]]; then
        MOUNT_DIR=$([[ $KB == 2048 ]] && echo /dev/hugepages || echo /dev/hugepages1G)
    fi
    mkdir -p "$MOUNT_DIR" || die "cannot create mount point $MOUNT_DIR"
    mount -t hugetlbfs -o "pagesize=${LABEL}" nodev "$MOUNT_DIR" 2>/dev/null \
        || die "cannot mount hugetlbfs (pagesize=${LABEL}) on $MOUNT_DIR"
fi
echo "hugepages: $have x ${LABEL} reserved, mounted at $(mounts_for "$KB" | paste -sd, -)"
