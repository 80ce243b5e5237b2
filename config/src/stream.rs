//! The per-stream options, declared once each: flag `--NAME` (with `_`
//! written `-`), TOML key `NAME` in `[defaults]` or a `[[stream]]` table,
//! and (for `public` ones) field `NAME` of [`StreamConfig`].
//!
//! To add a per-stream option, add one line to `public` below (and a row to
//! the README's options table); read it as `StreamConfig::NAME`. Checks
//! that involve other options or the stream's addresses go in `resolve.rs`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use model::{Arbitrate, MacAddr, MergeMode, OutputSpec, Reorder, SeqSpec, VlanAction};

use crate::limits::*;
use crate::option::{options, FileOnly, Float, Int, Parsed, Switch};
use crate::skew_class::SkewClass;
use crate::text::{Group, LegText, Text};
use crate::values::{
    int_opt, int_or, millis_or, parsed_opt, parsed_or, power_of_two_opt, switch, unicast_opt,
    unicast_socket_opt,
};

options! {
    /// The per-stream options as given on the command line.
    flags StreamFlags;
    /// The per-stream options as one place gives them (the command line,
    /// `[defaults]` or a `[[stream]]`); `None` = not given there.
    settings StreamSettings;
    /// One `[[stream]]` table.
    file FileStream {
        name: Option<String>,
        #[serde(default)]
        legs: Vec<LegText>,
        sdp: Option<std::path::PathBuf>,
        output: Text<Group>,
    }
    /// One merged stream: its input legs in priority order and its output.
    output StreamConfig {
        /// Unique name, for logs and stats (`streamN` when not given).
        name: String,
        /// Destination group:port of each copy; `legs[0]` is the primary
        /// (preferred in primary mode), then the secondaries in priority
        /// order. A leg is recognised by this address on its input port
        /// (leg 0 on the primary port, others on the secondary port).
        /// 2..=4 legs, all of one IP family.
        legs: Vec<SocketAddr>,
        /// Per leg (same order as `legs`), the one sender whose packets
        /// belong to it (source-specific multicast, `GROUP:PORT@SOURCE`):
        /// packets to the leg's group from any other source are dropped and
        /// counted `wrong_source`, and the membership host joins the group
        /// for that source only. `None` = any source.
        sources: Vec<Option<IpAddr>>,
        /// Where the merged stream goes (`out.dst()`, same family as the
        /// legs) and how its headers are rewritten.
        out: OutputSpec,
        /// The SDP the legs came from (`--sdp`, `sdp = "FILE"`), for the
        /// output's own SDP (`--print-sdp`) and the log.
        sdp: Option<crate::sdp::Sdp>,
        /// Primary-preferred or first-wins selection.
        mode: MergeMode,
        /// Slot-table capacity per leg; a power of two that covers the window.
        slots: u32,
        /// When a missing copy stops being waited for (learned evidence by
        /// default; a fixed primary depth; or always `max_delay`).
        primary_reorder: Reorder,
    }
    public {
        /// Where the sequence number is read.
        seq: SeqSpec as Parsed<SeqSpec> = parsed_or(SeqSpec::Rtp);
            "SPEC", "Sequence number: rtp, moldudp64, cme-mdp3, pitch:UNIT (Cboe PITCH unit 1..255), or a UDP-payload field u32be@OFF, u32le@OFF, u64be@OFF, u64le@OFF [default: rtp]";
        /// SMPTE ST 2022-7 receiver class: gives `max_delay` its default.
        class: Option<SkewClass> as Parsed<SkewClass> = parsed_opt();
            "a|b|c|d", "SMPTE ST 2022-7 receiver class; sets --max-delay (unless given) to the class's largest path differential: a 10 ms (low skew), b 50 ms (moderate), c 450 ms (high skew; the standard's 150 ms for >= 270 Mb/s streams is not applied, give --max-delay 150), d 0.15 ms (ultra-low skew) [default: none, --max-delay's default]";
        /// Merge window: wait for a better copy or for a gap at most this long.
        max_delay: Duration as Float = millis_or(MAX_MAX_DELAY_MS, DEFAULT_MAX_DELAY_MS);
            "MS", format!("Merge window in ms (fractions allowed): the longest a packet waits for the preferred leg's copy, or a gap for any copy, >={MIN_TIME_MS} and <={MAX_MAX_DELAY_MS} [default: {DEFAULT_MAX_DELAY_MS}]");
        /// A leg silent this long is declared down and no longer waited for.
        leg_timeout: Duration as Float = millis_or(MAX_LEG_TIMEOUT_MS, DEFAULT_LEG_TIMEOUT_MS);
            "MS", format!("A leg silent this long (ms) is declared down until its next good packet, <={MAX_LEG_TIMEOUT_MS} [default: {DEFAULT_LEG_TIMEOUT_MS}]");
        /// Consecutive out-of-window packets on a leg that mean the source restarted.
        restart_after: u32 as Int = int_or(1, MAX_RESTART_AFTER.into(), DEFAULT_RESTART_AFTER);
            "K", format!("Out-of-window packets in a row that prove a source restart (then resynchronise), 1..={MAX_RESTART_AFTER} and at most a quarter of the slots [default: {DEFAULT_RESTART_AFTER}]");
        /// Rewrite the RTP sequence number and SSRC so that a source
        /// restart does not show downstream (gaps stay gaps).
        renumber: bool as Switch = switch();
            "", "RTP only: rewrite sequence numbers and SSRC so a source restart does not show downstream: the output keeps one SSRC and continues at its last sequence number + 1. Within one source, packets the merge skipped stay gaps (receivers still see the loss); timestamps are kept [default: off]";
        /// Whether the merge takes one copy of each packet or of each
        /// message (legs that pack the same messages differently).
        arbitrate: Arbitrate as Parsed<Arbitrate> = parsed_or(Arbitrate::Packets);
            "packets|messages", "What is taken once from whichever leg has it: packets, or (MoldUDP64 only) messages, for legs that pack the same messages into packets of different boundaries: each output packet then carries exactly the messages not yet sent, in order, cut from one input packet with its header, lengths and checksums rewritten [default: packets]";
        /// MoldUDP64 request server: a range missing on every leg is asked
        /// for here (gap fill by re-request) instead of being skipped.
        mold_request: Option<SocketAddr> as Parsed<SocketAddr> = unicast_socket_opt();
            "ADDR:PORT", "MoldUDP64 only: request server (unicast UDP) asked for a range of messages missing on every leg; its retransmissions are put in place, in order, if they come within --gap-fill-timeout [default: none, such a range is skipped]";
        /// How long a re-requested range is held for its retransmission.
        gap_fill_timeout: Duration as Float = millis_or(MAX_GAP_FILL_TIMEOUT_MS, DEFAULT_GAP_FILL_TIMEOUT_MS);
            "MS", format!("With --mold-request: the longest the stream is held (ms) for a requested range's retransmission before it is skipped, <={MAX_GAP_FILL_TIMEOUT_MS} [default: {DEFAULT_GAP_FILL_TIMEOUT_MS}]");
    }
    internal {
        mode: Option<MergeMode> as FileOnly<Parsed<MergeMode>> = parsed_opt();
            "", "";
        slots: Option<u32> as Int = power_of_two_opt(MIN_SLOTS, MAX_SLOTS);
            "N", format!("Slot-table capacity per leg: a power of two in {MIN_SLOTS}..={MAX_SLOTS} (rtp: <={MAX_RTP_SLOTS}) that holds max-delay x max-rate packets and 4 x restart-after [default: auto, the smallest such power of two, at least {MIN_SLOTS}]");
        max_rate: u32 as Int = int_or(1, MAX_MAX_RATE_PPS.into(), DEFAULT_MAX_RATE_PPS);
            "PPS", format!("Highest packet rate of one leg (MoldUDP64: messages/s); sizes the slot table [default: {DEFAULT_MAX_RATE_PPS}]");
        out_src_ip: Option<IpAddr> as Parsed<IpAddr> = unicast_opt();
            "IP", "Source IP written on the output [default: that of the stream's first sent packet, so the output stays one flow across failovers]";
        out_src_port: Option<u16> as Int = int_opt(1, 65_535);
            "N", "UDP source port written on the output, 1..=65535 [default: that of the stream's first sent packet, so the output stays one flow across failovers]";
        out_dst_mac: Option<MacAddr> as Parsed<MacAddr> = parsed_opt();
            "MAC", "Destination MAC of the output [default: the group's multicast MAC]";
        out_ttl: Option<u8> as Int = int_opt(1, 255);
            "N", "IPv4 TTL / IPv6 hop limit written on the output, 1..=255 [default: keep the chosen copy's]";
        out_dscp: Option<u8> as Int = int_opt(0, MAX_DSCP.into());
            "N", format!("DSCP written on the output, 0..={MAX_DSCP} [default: keep the chosen copy's]");
        out_vlan: VlanAction as Parsed<VlanAction> = parsed_or(VlanAction::Strip);
            "ID|strip|keep", format!("802.1Q tag of the output: a VLAN id 1..={MAX_VLAN_ID}, strip, or keep the chosen copy's (which then changes with the leg in use) [default: strip: the output is untagged]");
    }
}
