//! `rte_flow` steering rules: the NIC puts every packet of a destination
//! group (and UDP port) on the rx queue of the worker that owns its
//! stream, so sharded workers poll their own queues and no packet crosses
//! lcores in software.
//!
//! A rule is ETH / IPV4 (or IPV6) dst = group / UDP dst = port -> QUEUE.
//! Each is validated (`rte_flow_validate`) and then created
//! (`rte_flow_create`); the first refusal of either is returned with the
//! driver's own message, and the rules created before it are removed, so a
//! port is left either with every rule or with none. Rules are removed
//! with `rte_flow_flush` when the port stops (see `Port::stop`).

use std::ffi::CStr;
use std::fmt;
use std::net::IpAddr;
use std::os::raw::c_void;
use std::ptr;

use super::error::strerror;

/// One steering rule: packets to `group`:`udp_port` go to rx queue
/// `queue`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SteerRule {
    /// Destination multicast group (IPv4 or IPv6).
    pub group: IpAddr,
    /// Destination UDP port.
    pub udp_port: u16,
    /// The rx queue the packets go to.
    pub queue: u16,
}

impl fmt::Display for SteerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.group {
            IpAddr::V4(g) => write!(f, "{g}:{}", self.udp_port)?,
            IpAddr::V6(g) => write!(f, "[{g}]:{}", self.udp_port)?,
        }
        write!(f, " -> queue {}", self.queue)
    }
}

/// A rule the port would not take: which call, which rule, and why in the
/// driver's words (`rte_flow_error.message`, else DPDK's text for the
/// errno).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRefused {
    /// DPDK port id.
    pub port: u16,
    /// `rte_flow_validate` or `rte_flow_create`.
    pub call: &'static str,
    /// The refused rule.
    pub rule: SteerRule,
    /// The driver's reason.
    pub reason: String,
}

impl fmt::Display for FlowRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "port {}: {} refused {}: {}",
            self.port, self.call, self.rule, self.reason
        )
    }
}

impl std::error::Error for FlowRefused {}

/// The protocol items of one rule, kept together so the pattern's
/// pointers stay valid for the call.
struct Headers {
    ipv4: dpdk_sys::rte_flow_item_ipv4,
    ipv4_mask: dpdk_sys::rte_flow_item_ipv4,
    ipv6: dpdk_sys::rte_flow_item_ipv6,
    ipv6_mask: dpdk_sys::rte_flow_item_ipv6,
    udp: dpdk_sys::rte_flow_item_udp,
    udp_mask: dpdk_sys::rte_flow_item_udp,
    queue: dpdk_sys::rte_flow_action_queue,
}

impl Headers {
    fn of(rule: &SteerRule) -> Headers {
        let mut h = Headers {
            ipv4: Default::default(),
            ipv4_mask: Default::default(),
            ipv6: Default::default(),
            ipv6_mask: Default::default(),
            udp: Default::default(),
            udp_mask: Default::default(),
            queue: dpdk_sys::rte_flow_action_queue { index: rule.queue },
        };
        match rule.group {
            IpAddr::V4(g) => {
                // Network order in memory, as on the wire.
                h.ipv4.hdr.dst_addr = u32::from_ne_bytes(g.octets());
                h.ipv4_mask.hdr.dst_addr = u32::MAX;
            }
            IpAddr::V6(g) => {
                h.ipv6.hdr.dst_addr = g.octets();
                h.ipv6_mask.hdr.dst_addr = [0xff; 16];
            }
        }
        h.udp.hdr.dst_port = rule.udp_port.to_be();
        h.udp_mask.hdr.dst_port = u16::MAX;
        h
    }
}

fn item(
    kind: dpdk_sys::rte_flow_item_type,
    spec: *const c_void,
    mask: *const c_void,
) -> dpdk_sys::rte_flow_item {
    dpdk_sys::rte_flow_item {
        type_: kind,
        spec,
        last: ptr::null(),
        mask,
    }
}

/// The reason text of a failed rte_flow call returning `ret`.
fn reason(err: &dpdk_sys::rte_flow_error, ret: i32) -> String {
    if err.message.is_null() {
        return strerror(ret.checked_neg().unwrap_or(i32::MAX));
    }
    // SAFETY: the driver set `message` to a NUL-terminated string that
    // lives at least until the next flow call on this port (usually a
    // literal); it is copied at once.
    unsafe { CStr::from_ptr(err.message) }
        .to_string_lossy()
        .into_owned()
}

/// Validates then creates every rule of `rules` on `port`; on the first
/// refusal removes the rules it created and returns the refusal.
pub(crate) fn install(port: u16, rules: &[SteerRule]) -> Result<usize, FlowRefused> {
    let mut attr = dpdk_sys::rte_flow_attr::default();
    attr.set_ingress(1);
    let mut made = 0;
    for rule in rules {
        let h = Headers::of(rule);
        let (l3, spec, mask) = match rule.group {
            IpAddr::V4(_) => (
                dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV4,
                &h.ipv4 as *const _ as *const c_void,
                &h.ipv4_mask as *const _ as *const c_void,
            ),
            IpAddr::V6(_) => (
                dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV6,
                &h.ipv6 as *const _ as *const c_void,
                &h.ipv6_mask as *const _ as *const c_void,
            ),
        };
        let pattern = [
            item(dpdk_sys::RTE_FLOW_ITEM_TYPE_ETH, ptr::null(), ptr::null()),
            item(l3, spec, mask),
            item(
                dpdk_sys::RTE_FLOW_ITEM_TYPE_UDP,
                &h.udp as *const _ as *const c_void,
                &h.udp_mask as *const _ as *const c_void,
            ),
            item(dpdk_sys::RTE_FLOW_ITEM_TYPE_END, ptr::null(), ptr::null()),
        ];
        let actions = [
            dpdk_sys::rte_flow_action {
                type_: dpdk_sys::RTE_FLOW_ACTION_TYPE_QUEUE,
                conf: &h.queue as *const _ as *const c_void,
            },
            dpdk_sys::rte_flow_action {
                type_: dpdk_sys::RTE_FLOW_ACTION_TYPE_END,
                conf: ptr::null(),
            },
        ];
        let refused = |call, err: &dpdk_sys::rte_flow_error, ret| FlowRefused {
            port,
            call,
            rule: *rule,
            reason: reason(err, ret),
        };
        let mut err = dpdk_sys::rte_flow_error::default();
        // SAFETY: valid, configured port; attr, pattern (END-terminated),
        // actions (END-terminated) and every spec/mask/conf they point to
        // live on this stack frame for the call; err is a valid out-pointer.
        let ret = unsafe {
            dpdk_sys::rte_flow_validate(port, &attr, pattern.as_ptr(), actions.as_ptr(), &mut err)
        };
        if ret != 0 {
            let e = refused("rte_flow_validate", &err, ret);
            remove_all(port, made);
            return Err(e);
        }
        let mut err = dpdk_sys::rte_flow_error::default();
        // SAFETY: as for validate; the driver copies what it keeps.
        let flow = unsafe {
            dpdk_sys::rte_flow_create(port, &attr, pattern.as_ptr(), actions.as_ptr(), &mut err)
        };
        if flow.is_null() {
            let e = refused("rte_flow_create", &err, -super::error::rte_errno());
            remove_all(port, made);
            return Err(e);
        }
        made += 1;
    }
    Ok(made)
}

/// Removes every rule of `port` (`rte_flow_flush`) when it has `made` > 0;
/// a failure is logged (the port is being stopped or given up anyway).
pub(crate) fn remove_all(port: u16, made: usize) {
    if made == 0 {
        return;
    }
    let mut err = dpdk_sys::rte_flow_error::default();
    // SAFETY: valid port; err is a valid out-pointer.
    let ret = unsafe { dpdk_sys::rte_flow_flush(port, &mut err) };
    if ret != 0 {
        log::warn!(
            "port {port}: rte_flow_flush of {made} steering rules failed: {}",
            reason(&err, ret)
        );
    }
}
