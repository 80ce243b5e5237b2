#!/usr/bin/env bash
# Bind NICs to vfio-pci so DPDK's PCI drivers can drive them, and give them
# back to their kernel driver afterwards.
set -euo pipefail

PROG=$(basename "$0")
STATE_DIR=${VFIO_BIND_STATE_DIR:-/run/mcast-failover}
STATE=$STATE_DIR/vfio-bind.state

usage() {
    cat <<EOF
Usage: $PROG [--dry-run] [--noiommu] DEVICE...
       $PROG --unbind [--dry-run] [DEVICE...]

Bind each DEVICE to vfio-pci for DPDK. DEVICE is a PCI address
(0000:03:00.0 or 03:00.0) or a kernel interface name (eth1), which is
resolved through /sys/class/net/IF/device.

Steps: check that the vfio-pci module exists and that the IOMMU is on
(/sys/kernel/iommu_groups not empty); load the module; for each device,
remember its kernel driver and interface in $STATE, bring the
interface down, and bind it with dpdk-devbind.py.

  --dry-run   print the plan and change nothing. The read-only checks (module,
              IOMMU, devices) still run: the exit status is the one the real
              run would have at that point (0 = it would proceed, 1 = it
              would stop, with the same one-line error after the plan).
  --noiommu   no IOMMU: use vfio's unsafe no-IOMMU mode. The device can then
              DMA anywhere in memory; only for machines you fully trust.
  --unbind    give DEVICEs (default: every device this script bound) back to
              the driver remembered in $STATE and bring their
              interfaces up again if they were up.
  --help      this help

The state file's directory can be moved with VFIO_BIND_STATE_DIR (tests do).

Exit status: 0 success, 1 cannot proceed (no vfio-pci module, no IOMMU,
unknown device, not root, dpdk-devbind.py failed), 2 bad arguments.
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
bad_arg() { echo "$PROG: $*" >&2; exit 2; }

DRY=0
NOIOMMU=0
UNBIND=0
DEVICES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --help|-h) usage; exit 0 ;;
        --dry-run|-n) DRY=1 ;;
        --noiommu) NOIOMMU=1 ;;
        --unbind) UNBIND=1 ;;
        --) shift; DEVICES+=("$@"); break ;;
        -*) bad_arg "unknown argument '$1' (see --help)" ;;
        *) DEVICES+=("$1") ;;
    esac
    shift
done
if [[ $UNBIND -eq 0 && ${#DEVICES[@]} -eq 0 ]]; then
    bad_arg "no device given (PCI address or interface name; see --help)"
fi
if [[ $UNBIND -eq 1 && $NOIOMMU -eq 1 ]]; then
    bad_arg "--noiommu makes no sense with --unbind"
fi

PCI_RE='^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$'

# resolve DEVICE -> full PCI address on stdout, or an error message on stderr
resolve() {
    local dev=$1 path
    if [[ $dev =~ $PCI_RE ]]; then
        [[ $dev == ????:* ]] || dev="0000:$dev"
        dev=${dev,,}
        [[ -e /sys/bus/pci/devices/$dev ]] || { echo "no PCI device $dev" >&2; return 1; }
        echo "$dev"
        return 0
    fi
    [[ $dev =~ ^[A-Za-z0-9_.:@-]{1,15}$ ]] || { echo "'$dev' is neither a PCI address nor an interface name" >&2; return 1; }
    [[ -e /sys/class/net/$dev ]] || { echo "no PCI device or interface named '$dev'" >&2; return 1; }
    path=$(readlink -f "/sys/class/net/$dev/device" 2>/dev/null || true)
    # virtio and friends hang the netdev off a child of the PCI function:
    # walk up to the first path component that is a PCI address.
    while [[ -n $path && $path != / ]]; do
        if [[ ${path##*/} =~ ^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$ ]]; then
            echo "${path##*/}"
            return 0
        fi
        path=${path%/*}
    done
    echo "interface '$dev' is not backed by a PCI device (virtual interface?)" >&2
    return 1
}

driver_of() {
    local l
    l=$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null || true)
    echo "${l##*/}"
}

ifaces_of() {
    local d
    for d in /sys/bus/pci/devices/"$1"/net/* /sys/bus/pci/devices/"$1"/*/net/*; do
        [[ -e $d ]] && echo "${d##*/}"
    done
    return 0
}

# Is the vfio-pci module available (loaded, built in, or installed)? Sets
# VFIO_WHY to a one-line reason when not.
vfio_available() {
    local rel
    rel=$(uname -r)
    [[ -d /sys/bus/pci/drivers/vfio-pci || -d /sys/module/vfio_pci ]] && return 0
    if command -v modprobe >/dev/null 2>&1 && modprobe -n vfio-pci >/dev/null 2>&1; then
        return 0
    fi
    if [[ -f /lib/modules/$rel/modules.builtin ]] && grep -q '/vfio-pci\.ko' "/lib/modules/$rel/modules.builtin"; then
        return 0
    fi
    if [[ -d /lib/modules/$rel ]] && [[ -n $(find "/lib/modules/$rel" -name 'vfio-pci.ko*' -print -quit 2>/dev/null) ]]; then
        command -v modprobe >/dev/null 2>&1 && return 0
        VFIO_WHY="vfio-pci module exists but modprobe is missing (apt-get install kmod)"
        return 1
    fi
    if [[ ! -d /lib/modules/$rel ]]; then
        VFIO_WHY="vfio-pci kernel module not available on this machine: kernel $rel has no /lib/modules/$rel and vfio-pci is neither built in nor loaded"
    else
        VFIO_WHY="vfio-pci kernel module not available on this machine: kernel $rel does not ship vfio-pci and it is neither built in nor loaded"
    fi
    return 1
}

iommu_on() {
    [[ -d /sys/kernel/iommu_groups ]] && [[ -n $(ls -A /sys/kernel/iommu_groups 2>/dev/null) ]]
}

find_devbind() {
    local c
    for c in "$(command -v dpdk-devbind.py 2>/dev/null || true)" /usr/bin/dpdk-devbind.py \
             /usr/share/dpdk/usertools/dpdk-devbind.py /usr/local/bin/dpdk-devbind.py; do
        [[ -n $c && -x $c ]] && { echo "$c"; return 0; }
    done
    return 1
}

FAIL=""           # first fatal problem found (dry-run keeps going to show the plan)
fail() {
    if [[ $DRY -eq 1 ]]; then
        [[ -n $FAIL ]] || FAIL=$1
    else
        die "$1"
    fi
}
run() {
    if [[ $DRY -eq 1 ]]; then
        echo "  would run: $*"
    else
        echo "  running: $*"
        "$@"
    fi
}

DEVBIND=$(find_devbind || true)
[[ $DRY -eq 1 ]] && echo "$PROG: dry run, nothing will be changed"

# ---------------------------------------------------------------- unbind
if [[ $UNBIND -eq 1 ]]; then
    [[ -n $DEVBIND ]] || fail "dpdk-devbind.py not found (install dpdk: scripts/setup.sh)"
    if [[ ${#DEVICES[@]} -eq 0 ]]; then
        if [[ -s $STATE ]]; then
            mapfile -t DEVICES < <(awk '{print $1}' "$STATE")
        else
            echo "$PROG: nothing to unbind ($STATE is empty or missing)"
            [[ $DRY -eq 1 && -n $FAIL ]] && die "$FAIL"
            exit 0
        fi
    fi
    [[ $DRY -eq 1 || $(id -u) -eq 0 ]] || fail "must run as root to rebind devices"
    for dev in "${DEVICES[@]}"; do
        if ! addr=$(resolve "$dev" 2>&1); then fail "$addr"; continue; fi
        line=$(awk -v a="$addr" '$1 == a {l = $0} END {print l}' "$STATE" 2>/dev/null || true)
        if [[ -z $line ]]; then
            fail "no saved kernel driver for $addr in $STATE; rebind it by hand: dpdk-devbind.py --bind=DRIVER $addr"
            continue
        fi
        read -r _ drv ifs up <<<"$line"
        echo "$addr: $(driver_of "$addr" || true) -> $drv"
        run "${DEVBIND:-dpdk-devbind.py}" --bind="$drv" "$addr"
        if [[ ${up:-} == up && ${ifs:--} != - ]]; then
            for i in ${ifs//,/ }; do run ip link set "$i" up; done
        fi
        if [[ $DRY -eq 0 ]]; then
            awk -v a="$addr" '$1 != a' "$STATE" > "$STATE.tmp" && mv "$STATE.tmp" "$STATE"
        fi
    done
    [[ -n $FAIL ]] && die "$FAIL"
    exit 0
fi

# ---------------------------------------------------------------- bind
VFIO_WHY=""
if vfio_available; then
    :
else
    fail "$VFIO_WHY"
fi
if iommu_on; then
    IOMMU=1
else
    IOMMU=0
    [[ $NOIOMMU -eq 1 ]] || fail "no IOMMU groups in /sys/kernel/iommu_groups: enable the IOMMU (intel_iommu=on or amd_iommu=on, and VT-d/AMD-Vi in firmware) or pass --noiommu (unsafe)"
fi
[[ -n $DEVBIND ]] || fail "dpdk-devbind.py not found (install dpdk: scripts/setup.sh)"
[[ $DRY -eq 1 || $(id -u) -eq 0 ]] || fail "must run as root to bind devices"

if [[ $NOIOMMU -eq 1 ]]; then
    cat >&2 <<'EOF'
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! WARNING: vfio no-IOMMU mode. The bound devices can DMA to ANY physical  !!
!! memory; a buggy or malicious device or driver can corrupt the kernel.   !!
!! The kernel is tainted. Use only on machines you fully trust.            !!
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
EOF
fi

echo "plan:"
if [[ $NOIOMMU -eq 1 && $IOMMU -eq 0 ]]; then
    run modprobe vfio enable_unsafe_noiommu_mode=1
    if [[ $DRY -eq 1 ]]; then
        echo "  would write 1 to /sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
    elif [[ -w /sys/module/vfio/parameters/enable_unsafe_noiommu_mode ]]; then
        echo 1 > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode
    fi
fi
run modprobe vfio-pci

for dev in "${DEVICES[@]}"; do
    if ! addr=$(resolve "$dev" 2>&1); then
        echo "  $dev: $addr"
        fail "$addr"
        continue
    fi
    drv=$(driver_of "$addr")
    mapfile -t ifs < <(ifaces_of "$addr")
    iflist=$(IFS=,; echo "${ifs[*]:-}")
    echo "  $dev -> $addr (driver ${drv:-none}, interfaces ${iflist:-none})"
    if [[ $drv == vfio-pci ]]; then
        echo "  $addr: already bound to vfio-pci"
        continue
    fi
    up=down
    for i in "${ifs[@]}"; do
        if ip -o link show "$i" 2>/dev/null | grep -q '[<,]UP[,>]'; then up=up; fi
        run ip link set "$i" down
    done
    if [[ $DRY -eq 1 ]]; then
        echo "  would record '$addr ${drv:-none} ${iflist:--} $up' in $STATE"
    else
        mkdir -p "$STATE_DIR"
        touch "$STATE"
        awk -v a="$addr" '$1 != a' "$STATE" > "$STATE.tmp" && mv "$STATE.tmp" "$STATE"
        echo "$addr ${drv:-none} ${iflist:--} $up" >> "$STATE"
    fi
    run "${DEVBIND:-dpdk-devbind.py}" --bind=vfio-pci "$addr"
done

[[ -n $FAIL ]] && die "$FAIL"
if [[ $DRY -eq 1 ]]; then
    echo "$PROG: dry run complete: the real run would proceed"
fi
exit 0
