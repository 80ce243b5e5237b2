//! The one error type of the DPDK wrappers.

use std::ffi::CStr;
use std::fmt;

/// Why a DPDK operation failed. Every variant renders as one line naming the
/// operation and DPDK's own reason, so the binary can print it and exit 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DpdkError {
    /// A DPDK call returned an error; `errno` is positive (EINVAL, ENOMEM...).
    Call {
        /// The DPDK function (and object) that failed.
        what: String,
        /// Positive errno value DPDK reported.
        errno: i32,
    },
    /// An argument was rejected before reaching DPDK.
    InvalidArgument(String),
    /// The port id is not one EAL enumerated (or it is already in use).
    InvalidPort(u16),
    /// A closure launched on a worker lcore panicked.
    LcorePanicked {
        /// The worker lcore that ran the closure.
        lcore: u32,
        /// The panic payload, if it was a string.
        message: String,
    },
}

impl DpdkError {
    /// Error from a DPDK call that returns `-errno` (ethdev style).
    pub(crate) fn from_ret(what: impl Into<String>, ret: i32) -> Self {
        DpdkError::Call {
            what: what.into(),
            errno: ret.checked_neg().unwrap_or(i32::MAX).max(1),
        }
    }

    /// Error from a DPDK call that reports through `rte_errno`.
    pub(crate) fn from_rte_errno(what: impl Into<String>) -> Self {
        DpdkError::Call {
            what: what.into(),
            errno: rte_errno(),
        }
    }
}

/// Current thread's `rte_errno`.
pub(crate) fn rte_errno() -> i32 {
    // SAFETY: reads a thread-local int; valid on any thread.
    unsafe { dpdk_sys::shim_rte_errno() }
}

/// DPDK's text for an errno value (covers DPDK-specific codes too).
pub fn strerror(errno: i32) -> String {
    // SAFETY: rte_strerror returns a pointer to a static or thread-local,
    // NUL-terminated string valid until the next call on this thread; we copy
    // it immediately.
    let s = unsafe { CStr::from_ptr(dpdk_sys::rte_strerror(errno)) };
    s.to_string_lossy().into_owned()
}

impl fmt::Display for DpdkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpdkError::Call { what, errno } => {
                write!(f, "{what} failed: {} (errno {errno})", strerror(*errno))
            }
            DpdkError::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            DpdkError::InvalidPort(p) => {
                write!(f, "port {p} does not exist (or is already in use)")
            }
            DpdkError::LcorePanicked { lcore, message } => {
                write!(f, "closure on lcore {lcore} panicked: {message}")
            }
        }
    }
}

impl std::error::Error for DpdkError {}
