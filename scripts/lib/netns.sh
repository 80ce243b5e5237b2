# shellcheck shell=bash
# Shared helpers for the veth/netns end-to-end topology (sourced by scripts/demo.sh).
#
# Topology (all names carry a per-run id so parallel runs never collide):
#
#   mfsrc-ID                         mfdev-ID                          mfcli-ID
#   srcA 192.168.201.1/24  <====>  vethA  (DPDK net_af_packet0, port 0)
#   srcB 192.168.202.1/24  <====>  vethB  (DPDK net_af_packet1, port 1)
#                                  vethO  (DPDK net_af_packet2, port 2) <====> cliO 192.168.203.2/24
#
# Only private addresses, only inside the namespaces this file creates. The device namespace
# has no IP addresses at all: DPDK owns its three interfaces through AF_PACKET sockets.
# Veth pairs are created directly inside their namespaces, so the root namespace never sees
# (or collides on) an interface name.

MF_PRI_SRC_IP=192.168.201.1
MF_SEC_SRC_IP=192.168.202.1
MF_CLI_IP=192.168.203.2

# mf_ns_names ID -> sets MF_NS_SRC, MF_NS_DEV, MF_NS_CLI
mf_ns_names() {
    MF_NS_SRC="mfsrc-$1"
    MF_NS_DEV="mfdev-$1"
    MF_NS_CLI="mfcli-$1"
}

# Quiet a namespace: no IPv6 (no router solicitations / MLD reports leaking onto the legs),
# loopback up.
mf_ns_quiet() {
    in_netns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    in_netns "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    in_netns "$1" ip link set lo up
}

# mf_topo_up ID PRI_GROUP SEC_GROUP : create the three namespaces, the veth pairs, addresses and
# the multicast routes that send PRI_GROUP out of srcA and SEC_GROUP out of srcB.
mf_topo_up() {
    local id=$1 pri_group=$2 sec_group=$3
    mf_ns_names "$id"
    ip netns add "$MF_NS_SRC"
    ip netns add "$MF_NS_DEV"
    ip netns add "$MF_NS_CLI"
    local ns
    for ns in "$MF_NS_SRC" "$MF_NS_DEV" "$MF_NS_CLI"; do mf_ns_quiet "$ns"; done

    ip link add name srcA netns "$MF_NS_SRC" type veth peer name vethA netns "$MF_NS_DEV"
    ip link add name srcB netns "$MF_NS_SRC" type veth peer name vethB netns "$MF_NS_DEV"
    ip link add name vethO netns "$MF_NS_DEV" type veth peer name cliO netns "$MF_NS_CLI"

    in_netns "$MF_NS_SRC" ip addr add "$MF_PRI_SRC_IP/24" dev srcA
    in_netns "$MF_NS_SRC" ip addr add "$MF_SEC_SRC_IP/24" dev srcB
    in_netns "$MF_NS_CLI" ip addr add "$MF_CLI_IP/24" dev cliO
    local dev
    for dev in srcA srcB; do
        # veth defaults to checksum offload: the kernel would leave a partial UDP checksum in
        # the frame (fine between two kernels, but DPDK reads the raw bytes and rightly calls
        # them corrupt). A real sender puts a full checksum on the wire, so do it in software.
        in_netns "$MF_NS_SRC" ethtool -K "$dev" tx off >/dev/null
        in_netns "$MF_NS_SRC" ip link set "$dev" up
    done
    for dev in vethA vethB vethO; do
        in_netns "$MF_NS_DEV" ip link set "$dev" promisc on
        in_netns "$MF_NS_DEV" ip link set "$dev" up
    done
    in_netns "$MF_NS_CLI" ip link set cliO up

    # Each group leaves by its own leg (the relay also pins the interface; the route makes the
    # intent visible with `ip route` and covers any other sender).
    in_netns "$MF_NS_SRC" ip route add "$pri_group/32" dev srcA src "$MF_PRI_SRC_IP"
    in_netns "$MF_NS_SRC" ip route add "$sec_group/32" dev srcB src "$MF_SEC_SRC_IP"
}

# mf_topo_down ID : remove the namespaces (their veths go with them). Idempotent, never fails.
mf_topo_down() {
    mf_ns_names "$1"
    local ns
    for ns in "$MF_NS_SRC" "$MF_NS_DEV" "$MF_NS_CLI"; do
        if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
            # Anything still running inside would keep the namespace alive: end it first.
            local pids
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            if [ -n "$pids" ]; then
                # shellcheck disable=SC2086
                kill -TERM $pids 2>/dev/null || true
                sleep 0.3
                pids=$(ip netns pids "$ns" 2>/dev/null || true)
                # shellcheck disable=SC2086
                [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
            fi
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}

# mf_run_begin TAG : start a run. Sets ID (8 characters, so that the topology's interface and
# namespace names stay within the kernel's 15), W (WORKDIR if the caller set it, else a new
# /tmp/mcast-failover-TAG.XXXXXX) and an empty PIDS, the background processes mf_run_end stops.
mf_run_begin() {
    ID="$$$RANDOM"
    ID=${ID:0:8}
    if [ -z "${WORKDIR:-}" ]; then WORKDIR=$(mktemp -d "/tmp/mcast-failover-$1.XXXXXX"); fi
    mkdir -p "$WORKDIR"
    W=$WORKDIR
    PIDS=()
    NAP_PID=""
}

# mf_run_end SIG : end a run, whatever state it is in: interrupt a pending nap, signal every
# process in PIDS with SIG and reap it, remove the topology, the EAL runtime directory and any
# hugepage files a DPDK process that died uncleanly left behind, and the work directory unless
# KEEP=1 (then say where it is).
mf_run_end() {
    local p
    [ -n "${NAP_PID:-}" ] && kill "$NAP_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill -"$1" "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    mf_topo_down "$ID"
    rm -rf "/var/run/dpdk/mf$ID"
    rm -f /dev/hugepages/"mf${ID}"map_* 2>/dev/null || true
    if [ "${KEEP:-0}" -eq 0 ]; then rm -rf "$W"; else echo "artefacts kept in $W" >&2; fi
}

# mf_hugepage_eal_args : "--no-huge -m 512" unless free hugepages are mounted.
mf_hugepage_eal_args() {
    local free
    free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
    if [ "${free:-0}" -ge 256 ] && grep -q ' hugetlbfs ' /proc/mounts; then
        echo ""
    else
        echo "--no-huge -m 512"
    fi
}

# mf_eal_args ID : EAL arguments binding ports 0,1,2 to vethA, vethB, vethO.
mf_eal_args() {
    echo "-l 0-1 --file-prefix mf$1 --no-pci $(mf_hugepage_eal_args)" \
        "--vdev net_af_packet0,iface=vethA --vdev net_af_packet1,iface=vethB" \
        "--vdev net_af_packet2,iface=vethO"
}
