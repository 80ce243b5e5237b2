//! A cache prefetch hint callable from safe code.
//!
//! Why here: the hint is an intrinsic (`unsafe` to call), and this module
//! is where every `unsafe` block outside `dpdk-ffi` lives. The merge engine
//! stays safe and DPDK-free: it only hands out addresses
//! ([`crate::merge::Engine::prefetch_state`]) for the rx stage to pass here.

/// Asks the CPU to bring the cache line holding `p` into every cache level.
///
/// Why: with thousands of streams every packet meets a stream state, slot
/// and output state that sit in no cache; hinting them while the rest of
/// the burst is judged overlaps those misses instead of stalling on each
/// one in turn. A hint only: any address is fine (dangling, null, past an
/// allocation), nothing is read or written, nothing can fault.
#[inline(always)]
pub fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 neither reads nor writes memory as far as the
    // program can tell and never faults, whatever the address; SSE, which
    // the intrinsic requires, is part of every x86_64 CPU.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: rte_prefetch0 is the same hint (or nothing) on every
    // architecture DPDK supports: it never dereferences `p`.
    unsafe {
        dpdk_sys::shim_rte_prefetch0(p.cast());
    }
}
