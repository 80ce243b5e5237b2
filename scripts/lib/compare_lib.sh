# shellcheck shell=bash
# Helpers for scripts/compare-gstreamer.sh, layered on scripts/lib/netns.sh (source that first;
# nothing here changes its behaviour).
#
# netns.sh leaves the device namespace without IP addresses: DPDK owns its interfaces through
# AF_PACKET. GStreamer runs on kernel sockets instead, so for its runs the device namespace
# gets addresses on the three links and a route for the output group; they are removed again
# before mcast-failover runs on the same links.

MF_CMP_DEV_IP_A=192.168.201.2
MF_CMP_DEV_IP_B=192.168.202.2
MF_CMP_DEV_IP_O=192.168.203.1
MF_CMP_OUT_GROUP=239.10.10.10
# Leg ports: scenario slot S sends its primary to port 5000+2S, its secondary to 5001+2S.
# udpsrc binds the wildcard address, so two udpsrc on one port would each get both legs.
MF_CMP_LEG_PORT_BASE=5000
# RTP/MPEG-TS (RFC 2250): payload type 33, 90 kHz clock.
MF_CMP_RTP_CAPS='application/x-rtp,media=video,clock-rate=90000,encoding-name=MP2T,payload=33'

# mf_cmp_kernel_addrs_up ID : addresses and routes the kernel stack needs in the device namespace.
mf_cmp_kernel_addrs_up() {
    mf_ns_names "$1"
    in_netns "$MF_NS_DEV" ip addr add "$MF_CMP_DEV_IP_A/24" dev vethA
    in_netns "$MF_NS_DEV" ip addr add "$MF_CMP_DEV_IP_B/24" dev vethB
    in_netns "$MF_NS_DEV" ip addr add "$MF_CMP_DEV_IP_O/24" dev vethO
    # Strict reverse-path filtering would be fine here (each source is on-link), but make the
    # receive path independent of the host's defaults.
    in_netns "$MF_NS_DEV" sysctl -qw net.ipv4.conf.all.rp_filter=0
    in_netns "$MF_NS_DEV" sysctl -qw net.ipv4.conf.vethA.rp_filter=0
    in_netns "$MF_NS_DEV" sysctl -qw net.ipv4.conf.vethB.rp_filter=0
    in_netns "$MF_NS_DEV" ip route replace "$MF_CMP_OUT_GROUP/32" dev vethO src "$MF_CMP_DEV_IP_O"
}

# mf_cmp_kernel_addrs_down ID : back to the address-less device namespace of netns.sh.
mf_cmp_kernel_addrs_down() {
    mf_ns_names "$1"
    local dev
    for dev in vethA vethB vethO; do
        in_netns "$MF_NS_DEV" ip addr flush dev "$dev" 2>/dev/null || true
    done
}

# mf_cmp_group SLOT LEG(1|2) : the multicast group of scenario SLOT's leg.
mf_cmp_group() { echo "239.$2.0.$(($1 + 1))"; }
# mf_cmp_port SLOT LEG(1|2) : the UDP destination port of scenario SLOT's leg.
mf_cmp_port() { echo $((MF_CMP_LEG_PORT_BASE + 2 * $1 + $2 - 1)); }

# mf_cmp_gst_pipeline LATENCY_MS MODE DROP_ON_LATENCY(true|false) PORT_BASE SLOT... :
# prints the gst-launch-1.0 pipeline description, one line per element chain: per scenario,
# two udpsrc (one per leg, joined on its own link) -> funnel -> rtpjitterbuffer -> udpsink to
# the output group on port PORT_BASE+SLOT. udpsink does not sync to the clock: the
# jitterbuffer already releases each packet when its latency has elapsed.
mf_cmp_gst_pipeline() {
    local latency=$1 mode=$2 drop=$3 base=$4
    shift 4
    local s
    for s in "$@"; do
        echo "funnel name=f$s ! rtpjitterbuffer name=jb$s latency=$latency mode=$mode drop-on-latency=$drop" \
            "! udpsink host=$MF_CMP_OUT_GROUP port=$((base + s)) multicast-iface=vethO sync=false async=false"
        echo "udpsrc address=$(mf_cmp_group "$s" 1) port=$(mf_cmp_port "$s" 1) multicast-iface=vethA caps=$MF_CMP_RTP_CAPS ! f$s."
        echo "udpsrc address=$(mf_cmp_group "$s" 2) port=$(mf_cmp_port "$s" 2) multicast-iface=vethB caps=$MF_CMP_RTP_CAPS ! f$s."
    done
}

# mf_cmp_joined ID SLOT... : true once the device namespace's kernel has joined every leg's group
# on its link (udpsrc does this while going to PLAYING).
mf_cmp_joined() {
    local id=$1 s
    shift
    mf_ns_names "$id"
    local a b
    a=$(in_netns "$MF_NS_DEV" ip maddr show dev vethA 2>/dev/null)
    b=$(in_netns "$MF_NS_DEV" ip maddr show dev vethB 2>/dev/null)
    for s in "$@"; do
        grep -qw "$(mf_cmp_group "$s" 1)" <<<"$a" || return 1
        grep -qw "$(mf_cmp_group "$s" 2)" <<<"$b" || return 1
    done
}
