//! An owned packet buffer.

use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

/// What the NIC said about a checksum it verified on receive (`ol_flags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HwCksum {
    /// The driver has no information: verify in software.
    Unknown,
    /// The NIC found the checksum wrong.
    Bad,
    /// The NIC verified the checksum.
    Good,
    /// The checksum is not valid in the packet but the data is intact
    /// (e.g. checksum offload pending): treat as good.
    None,
}

impl HwCksum {
    fn decode(flags: u64, mask: u64, bad: u64, good: u64) -> HwCksum {
        match flags & mask {
            0 => HwCksum::Unknown,
            f if f == bad => HwCksum::Bad,
            f if f == good => HwCksum::Good,
            _ => HwCksum::None,
        }
    }
}

/// One packet buffer, owned: freed back to its pool on drop
/// (`rte_pktmbuf_free`, which also frees any chained segments).
///
/// Byte accessors cover the first segment (`data_len`): with the default
/// 2 KiB data room every frame up to 1518 B (and 2048 B) is one segment;
/// [`Mbuf::is_contiguous`] tells when it is not.
pub struct Mbuf {
    m: NonNull<rte_mbuf>,
}

// SAFETY: an Mbuf is the unique owner of its buffer; DPDK mbufs may be
// freed/used from any lcore (pools are MP/MC safe).
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `m` must point to a valid mbuf that nobody else owns or will free,
    /// with reference count 1 and a direct (non-attached) data buffer.
    #[inline(always)]
    pub unsafe fn from_raw(m: NonNull<rte_mbuf>) -> Mbuf {
        Mbuf { m }
    }

    /// Gives up ownership (e.g. to hand the mbuf to `rte_eth_tx_burst` or a
    /// ring); the caller must free it or rebuild it with `from_raw`.
    #[inline(always)]
    pub fn into_raw(self) -> NonNull<rte_mbuf> {
        let m = self.m;
        std::mem::forget(self);
        m
    }

    /// Raw pointer, still owned by `self`.
    #[inline(always)]
    pub fn as_ptr(&self) -> *mut rte_mbuf {
        self.m.as_ptr()
    }

    /// Bytes of the first segment.
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        // SAFETY: mtod points at data_len initialised bytes inside the
        // mbuf's buffer, which lives as long as `self` owns it.
        unsafe {
            let p = dpdk_sys::shim_rte_pktmbuf_mtod(self.m.as_ptr()) as *const u8;
            std::slice::from_raw_parts(
                p,
                usize::from(dpdk_sys::shim_rte_pktmbuf_data_len(self.m.as_ptr())),
            )
        }
    }

    /// Mutable bytes of the first segment.
    #[inline(always)]
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`; `&mut self` plus sole ownership (refcnt 1,
        // direct buffer, from_raw contract) makes the access exclusive.
        unsafe {
            let p = dpdk_sys::shim_rte_pktmbuf_mtod(self.m.as_ptr()) as *mut u8;
            std::slice::from_raw_parts_mut(
                p,
                usize::from(dpdk_sys::shim_rte_pktmbuf_data_len(self.m.as_ptr())),
            )
        }
    }

    /// Length of the first segment (`data_len`).
    #[inline(always)]
    pub fn len(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { dpdk_sys::shim_rte_pktmbuf_data_len(self.m.as_ptr()) })
    }

    /// Whether the first segment holds no bytes.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the whole packet over all segments (`pkt_len`).
    #[inline(always)]
    pub fn pkt_len(&self) -> u32 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_pktmbuf_pkt_len(self.m.as_ptr()) }
    }

    /// Number of segments.
    #[inline(always)]
    pub fn nb_segs(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_pktmbuf_nb_segs(self.m.as_ptr()) }
    }

    /// True when the whole packet is in the first segment.
    #[inline(always)]
    pub fn is_contiguous(&self) -> bool {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_pktmbuf_is_contiguous(self.m.as_ptr()) != 0 }
    }

    /// Grows the packet at the front by `n` bytes (e.g. to push a VLAN tag);
    /// false, and unchanged, when the headroom is too small.
    #[inline(always)]
    pub fn prepend(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the headroom.
        !unsafe { dpdk_sys::shim_rte_pktmbuf_prepend(self.m.as_ptr(), n) }.is_null()
    }

    /// Removes `n` bytes from the front (e.g. to pop a VLAN tag); false, and
    /// unchanged, when the first segment is shorter than `n`.
    #[inline(always)]
    pub fn adj(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the length.
        !unsafe { dpdk_sys::shim_rte_pktmbuf_adj(self.m.as_ptr(), n) }.is_null()
    }

    /// Removes `n` bytes from the end of the packet; false, and unchanged,
    /// when the last segment is shorter than `n`.
    #[inline(always)]
    pub fn trim(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks the length.
        unsafe { dpdk_sys::shim_rte_pktmbuf_trim(self.m.as_ptr(), n) == 0 }
    }

    /// Grows the packet at the end by `n` bytes and returns them (not
    /// initialised by DPDK: whatever the buffer held, so zero-filled here);
    /// `None` when the tailroom is too small.
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let n16 = u16::try_from(n).ok()?;
        // SAFETY: valid owned mbuf; DPDK checks the tailroom and returns a
        // pointer to n bytes inside the buffer, exclusively ours.
        unsafe {
            let p = dpdk_sys::shim_rte_pktmbuf_append(self.m.as_ptr(), n16) as *mut u8;
            if p.is_null() {
                return None;
            }
            std::ptr::write_bytes(p, 0, n);
            Some(std::slice::from_raw_parts_mut(p, n))
        }
    }

    /// Bytes free in front of the data.
    #[inline(always)]
    pub fn headroom(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { dpdk_sys::shim_rte_pktmbuf_headroom(self.m.as_ptr()) })
    }

    /// Bytes free after the data (last segment).
    #[inline(always)]
    pub fn tailroom(&self) -> usize {
        // SAFETY: valid owned mbuf.
        usize::from(unsafe { dpdk_sys::shim_rte_pktmbuf_tailroom(self.m.as_ptr()) })
    }

    /// Reference count (1 for every mbuf this crate hands out).
    #[inline(always)]
    pub fn refcnt(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_mbuf_refcnt_read(self.m.as_ptr()) }
    }

    /// Offload flags (`RTE_MBUF_F_*`) set by the driver on receive.
    #[inline(always)]
    pub fn ol_flags(&self) -> u64 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_mbuf_ol_flags(self.m.as_ptr()) }
    }

    /// Input port the driver recorded on receive.
    #[inline(always)]
    pub fn port(&self) -> u16 {
        // SAFETY: valid owned mbuf.
        unsafe { dpdk_sys::shim_rte_mbuf_port(self.m.as_ptr()) }
    }

    /// The NIC's verdict on the IPv4 header checksum.
    #[inline(always)]
    pub fn ip_cksum(&self) -> HwCksum {
        HwCksum::decode(
            self.ol_flags(),
            u64::from(dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_MASK),
            u64::from(dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_BAD),
            u64::from(dpdk_sys::RTE_MBUF_F_RX_IP_CKSUM_GOOD),
        )
    }

    /// The NIC's verdict on the L4 (UDP/TCP) checksum.
    #[inline(always)]
    pub fn l4_cksum(&self) -> HwCksum {
        HwCksum::decode(
            self.ol_flags(),
            u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_MASK),
            u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_BAD),
            u64::from(dpdk_sys::RTE_MBUF_F_RX_L4_CKSUM_GOOD),
        )
    }

    /// Prefetches the packet's first cache line (do it a few packets ahead).
    #[inline(always)]
    pub fn prefetch(&self) {
        // SAFETY: prefetch is a hint; mtod of a valid mbuf is a valid address.
        unsafe { dpdk_sys::shim_rte_prefetch0(dpdk_sys::shim_rte_pktmbuf_mtod(self.m.as_ptr())) }
    }
}

impl Drop for Mbuf {
    #[inline(always)]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and drop it once.
        unsafe { dpdk_sys::shim_rte_pktmbuf_free(self.m.as_ptr()) }
    }
}

impl std::fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mbuf")
            .field("len", &self.len())
            .field("pkt_len", &self.pkt_len())
            .field("ol_flags", &format_args!("{:#x}", self.ol_flags()))
            .finish()
    }
}

/// The rewriter edits mbufs in place through this trait; front growth and
/// shrink map to `rte_pktmbuf_prepend` / `rte_pktmbuf_adj` (no copy).
impl crate::rewrite::FrameBuf for Mbuf {
    #[inline(always)]
    fn bytes(&self) -> &[u8] {
        self.data()
    }

    #[inline(always)]
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.data_mut()
    }

    #[inline(always)]
    fn prepend(&mut self, n: usize) -> bool {
        Mbuf::prepend(self, n)
    }

    #[inline(always)]
    fn trim_front(&mut self, n: usize) -> bool {
        self.adj(n)
    }
}
