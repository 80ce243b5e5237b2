//! The DPDK Environment Abstraction Layer: one per process.

use std::ffi::{CStr, CString};
use std::fs::OpenOptions;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use super::error::DpdkError;

const EAL_NEVER: u8 = 0;
const EAL_LIVE: u8 = 1;
const EAL_DONE: u8 = 2;

/// EAL can be initialised once per process, and never again after cleanup.
static EAL_STATE: AtomicU8 = AtomicU8::new(EAL_NEVER);

/// Set when a mempool had to be leaked (mbufs still out at its drop): the
/// EAL must then not unmap its memory, so `Eal::drop` skips `rte_eal_cleanup`.
pub(crate) static MEMORY_PINNED: AtomicBool = AtomicBool::new(false);

/// Set when a port was left half set up (see `Port`'s Drop): EAL cleanup
/// would close it through its driver, which net_pcap 22.11 cannot survive.
pub(crate) static PORT_HALF_SETUP: AtomicBool = AtomicBool::new(false);

/// A live EAL. Ports, mempools and rings borrow it, so the borrow checker
/// makes them go before `rte_eal_cleanup` runs in `Drop`.
///
/// `Sync` (its `&self` queries are thread-safe reads) but not `Send`: it is
/// created, launched from and cleaned up on the main lcore.
///
/// PMD plugins: Debian's shared-library DPDK autoloads every driver in
/// `dpdk_sys::PMD_DIR` from `rte_eal_init` (librte_eal has that directory
/// built in), so `--vdev net_pcap0,...`, `net_null`, `net_ring`,
/// `net_af_packet` and PCI PMDs work with no `-d` (verified on bookworm,
/// DPDK 22.11; see dpdk-ffi/build.rs).
pub struct Eal {
    _not_send: PhantomData<*mut ()>,
}

// SAFETY: every `&self` method is a read of EAL state that DPDK allows from
// any thread (lcore tables, port list, tsc hz); launching checks at run time
// that it is on the main lcore.
unsafe impl Sync for Eal {}

impl Eal {
    /// Brings up the EAL from `args` (`args[0]` = program name, then EAL
    /// options only, as testpmd before `--`).
    ///
    /// A vdev whose driver fails to probe does not fail EAL (DPDK logs
    /// "Bus (vdev) probe failed" and goes on): check `port_ids()`.
    pub fn init(args: &[String]) -> Result<Eal, DpdkError> {
        if args.is_empty() {
            return Err(DpdkError::InvalidArgument(
                "EAL arguments must start with the program name".into(),
            ));
        }
        if EAL_STATE
            .compare_exchange(EAL_NEVER, EAL_LIVE, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(DpdkError::InvalidArgument(
                "EAL can only be initialised once per process".into(),
            ));
        }
        let mut owned = Vec::with_capacity(args.len());
        for a in args {
            match CString::new(a.as_str()) {
                Ok(c) => owned.push(c),
                Err(_) => {
                    EAL_STATE.store(EAL_NEVER, Ordering::Release);
                    return Err(DpdkError::InvalidArgument(format!(
                        "EAL argument contains a NUL byte: {a:?}"
                    )));
                }
            }
        }
        // EAL keeps pointers into argv for some options and getopt permutes
        // the array, so both live for the rest of the process (a few bytes,
        // once).
        let strings: &'static [CString] = Box::leak(owned.into_boxed_slice());
        let argv: &'static mut [*mut c_char] = Box::leak(
            strings
                .iter()
                .map(|c| c.as_ptr() as *mut c_char)
                .chain(std::iter::once(std::ptr::null_mut()))
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let argc = i32::try_from(strings.len())
            .map_err(|_| DpdkError::InvalidArgument("too many EAL arguments".into()))?;
        // SAFETY: argv holds argc valid NUL-terminated strings plus a NULL
        // terminator, all leaked so they outlive EAL; EAL is not initialised
        // yet (guarded by EAL_STATE).
        let ret = unsafe { dpdk_sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            let mut err = DpdkError::from_rte_errno("rte_eal_init");
            if matches!(err, DpdkError::Call { errno: 0, .. }) {
                // Some refusals set no rte_errno ("failed: Success"): name
                // the commonest one, a runtime directory another primary
                // process holds.
                err = match (
                    runtime_dir(),
                    runtime_dir().as_deref().and_then(config_lock_holder),
                ) {
                    (Some(dir), Some(pid)) => DpdkError::InvalidArgument(format!(
                        "process {pid} already runs as DPDK primary with runtime directory {}; \
                         give each instance its own --file-prefix",
                        dir.display()
                    )),
                    _ => DpdkError::InvalidArgument(
                        "rte_eal_init refused the EAL options without a reason code; \
                         see the EAL: lines above"
                            .into(),
                    ),
                };
            }
            // DPDK does not support a second rte_eal_init after a failed one
            // either (EALREADY), so the state stays "used".
            EAL_STATE.store(EAL_DONE, Ordering::Release);
            return Err(err);
        }
        // Before any port starts or lcore launches: the rx stage records
        // each packet's header offsets in this field for the tx side.
        super::offsets::register()?;
        Ok(Eal {
            _not_send: PhantomData,
        })
    }

    /// Ids of the ethdev ports EAL enumerated and nobody owns, in order
    /// (what `RTE_ETH_FOREACH_DEV` visits).
    pub fn port_ids(&self) -> Vec<u16> {
        let mut ids = Vec::new();
        let mut p: u64 = 0;
        loop {
            // SAFETY: EAL is initialised; the call only walks the port table.
            p = unsafe {
                dpdk_sys::rte_eth_find_next_owned_by(
                    p as u16,
                    u64::from(dpdk_sys::RTE_ETH_DEV_NO_OWNER),
                )
            };
            if p >= u64::from(dpdk_sys::RTE_MAX_ETHPORTS) {
                return ids;
            }
            ids.push(p as u16);
            p += 1;
        }
    }

    /// TSC ticks per second, to turn `tsc()` deltas into time.
    pub fn tsc_hz(&self) -> u64 {
        // SAFETY: EAL is initialised (it calibrates the TSC in init).
        unsafe { dpdk_sys::rte_get_tsc_hz() }
    }

    /// Current TSC (rdtsc): the cheap clock of the hot path.
    pub fn tsc(&self) -> u64 {
        super::lcore::tsc()
    }

    /// DPDK's version string, e.g. "DPDK 22.11.11".
    pub fn version(&self) -> String {
        version()
    }

    /// The main lcore (where `init` ran and where `scope` launches from).
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: EAL is initialised.
        unsafe { dpdk_sys::rte_get_main_lcore() }
    }

    /// Enabled worker lcores (every lcore of `-l`/`-c` except the main one).
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let mut i = u32::MAX; // -1: start of iteration
        loop {
            // SAFETY: EAL is initialised; pure table walk.
            i = unsafe { dpdk_sys::rte_get_next_lcore(i, 1, 0) };
            if i >= dpdk_sys::RTE_MAX_LCORE {
                return out;
            }
            out.push(i);
        }
    }

    /// Number of enabled lcores, main included.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: EAL is initialised.
        unsafe { dpdk_sys::rte_lcore_count() }
    }

    /// NUMA socket of an lcore (for placing its mempool).
    pub fn lcore_socket(&self, lcore: u32) -> u32 {
        // SAFETY: EAL is initialised; out-of-range ids return a default.
        unsafe { dpdk_sys::rte_lcore_to_socket_id(lcore) }
    }

    /// Whether `lcore` is enabled in this EAL.
    pub fn lcore_enabled(&self, lcore: u32) -> bool {
        // SAFETY: EAL is initialised; the function range-checks its argument.
        lcore < dpdk_sys::RTE_MAX_LCORE && unsafe { dpdk_sys::rte_lcore_is_enabled(lcore) } != 0
    }
}

/// EAL's runtime directory (`/var/run/dpdk/<file-prefix>` for root), once
/// `rte_eal_init` has parsed its options (set even when init then failed).
pub fn runtime_dir() -> Option<PathBuf> {
    // SAFETY: returns a pointer to EAL's static path buffer (empty before
    // option parsing); we copy it at once.
    let p = unsafe { dpdk_sys::rte_eal_get_runtime_dir() };
    if p.is_null() {
        return None;
    }
    // SAFETY: p is non-null and NUL-terminated (a static char array).
    let s = unsafe { CStr::from_ptr(p) };
    let s = s.to_str().ok()?;
    (!s.is_empty()).then(|| PathBuf::from(s))
}

/// The pid holding the write lock a primary process takes on
/// `dir/config` (fcntl record lock), if any.
fn config_lock_holder(dir: &Path) -> Option<i32> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.join("config"))
        .ok()?;
    // SAFETY: flock is a plain C struct; all-zero is a valid value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // l_start = 0, l_len = 0: the whole file.
    // SAFETY: f is an open descriptor and fl a valid flock for F_GETLK,
    // which only fills it in.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
    (r == 0 && fl.l_type != libc::F_UNLCK as libc::c_short).then_some(fl.l_pid)
}

/// Removes what a primary process leaves behind after `rte_eal_cleanup`:
/// its runtime directory (config, hugepage info, sockets) and its hugepage
/// files (`<prefix>map_*` in every hugetlbfs mount; gone already with
/// `--huge-unlink`). They are this process's alone: it held the runtime
/// directory's lock, and nothing can attach to a cleaned-up EAL.
fn remove_runtime_files(dir: &Path) {
    if let Err(e) = std::fs::remove_dir_all(dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            log::warn!("cannot remove EAL runtime directory {}: {e}", dir.display());
        }
    }
    let Some(prefix) = dir.file_name().and_then(|p| p.to_str()) else {
        return;
    };
    let map = format!("{prefix}map_");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    for mount in mounts
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .get(1..3)
                .map(<[&str]>::to_vec)
        })
        .filter(|f| f[1] == "hugetlbfs")
        .map(|f| f[0].to_string())
    {
        let Ok(entries) = std::fs::read_dir(&mount) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(|n| n.starts_with(&map)) {
                if let Err(err) = std::fs::remove_file(e.path()) {
                    log::warn!("cannot remove hugepage file {}: {err}", e.path().display());
                }
            }
        }
    }
}

/// DPDK's version string; needs no EAL.
pub fn version() -> String {
    // SAFETY: rte_version returns a static NUL-terminated string.
    let s = unsafe { CStr::from_ptr(dpdk_sys::rte_version()) };
    s.to_string_lossy().into_owned()
}

impl Drop for Eal {
    fn drop(&mut self) {
        if MEMORY_PINNED.load(Ordering::Acquire) {
            log::warn!(
                "mbufs were still in use when their mempool was dropped: \
                 skipping rte_eal_cleanup so their memory stays mapped"
            );
            return;
        }
        if PORT_HALF_SETUP.load(Ordering::Acquire) {
            log::warn!("a port's queue setup failed half way: skipping rte_eal_cleanup");
            return;
        }
        let dir = runtime_dir();
        // SAFETY: EAL is live; every Port/Mempool/Ring borrowed `self` and is
        // gone, and no lcore closure is running (scopes join before return).
        let ret = unsafe { dpdk_sys::rte_eal_cleanup() };
        if ret < 0 {
            log::warn!("{}", DpdkError::from_ret("rte_eal_cleanup", ret));
        } else if let Some(dir) = dir {
            remove_runtime_files(&dir);
        }
        EAL_STATE.store(EAL_DONE, Ordering::Release);
    }
}
