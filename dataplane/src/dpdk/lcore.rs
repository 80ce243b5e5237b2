//! lcores: the current lcore, the TSC clock, and launching Rust closures on
//! worker lcores in a scope (like `std::thread::scope`), so they may borrow
//! ports, mempools and stats owned by the main lcore.

use std::any::Any;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::os::raw::{c_int, c_void};
use std::panic::{self, AssertUnwindSafe};

use super::eal::Eal;
use super::error::DpdkError;

/// Current TSC (rdtsc): a few ns, no syscall; the hot path's clock.
#[inline(always)]
pub fn tsc() -> u64 {
    // SAFETY: rdtsc has no preconditions.
    unsafe { dpdk_sys::shim_rte_rdtsc() }
}

/// The EAL lcore id of the calling thread, `None` on a non-EAL thread.
#[inline]
pub fn current() -> Option<u32> {
    // SAFETY: reads a thread-local; valid on any thread.
    let id = unsafe { dpdk_sys::shim_rte_lcore_id() };
    (id != dpdk_sys::LCORE_ID_ANY).then_some(id)
}

/// CPU pause hint for polling loops with nothing to do.
#[inline(always)]
pub fn pause() {
    // SAFETY: the pause instruction has no preconditions.
    unsafe { dpdk_sys::shim_rte_pause() }
}

/// What a launched closure leaves for its joiner.
trait Job {
    /// The panic message, if the closure panicked.
    fn take_panic(&mut self) -> Option<String>;
}

struct JobCell<F> {
    f: Option<F>,
    panic: Option<String>,
}

impl<F> Job for JobCell<F> {
    fn take_panic(&mut self) -> Option<String> {
        self.panic.take()
    }
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Entry point EAL calls on the worker lcore. Never unwinds into C.
extern "C" fn trampoline<F: FnOnce() -> i32>(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `JobCell<F>` that `Scope::spawn` leaked for this
    // launch; only this lcore touches it until `rte_eal_wait_lcore` returns
    // on the main lcore, and it is freed only after that.
    let job = unsafe { &mut *(arg as *mut JobCell<F>) };
    let Some(f) = job.f.take() else { return -1 };
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(rc) => rc,
        Err(p) => {
            job.panic = Some(panic_message(&*p));
            -1
        }
    }
}

struct Launched<'scope> {
    lcore: u32,
    job: *mut (dyn Job + 'scope),
}

/// Launch scope: every closure spawned in it is joined before
/// [`Eal::scope`] returns, so closures may borrow anything that outlives the
/// scope. Only usable on the main lcore (not `Sync`).
pub struct Scope<'scope, 'env: 'scope> {
    launched: RefCell<Vec<Launched<'scope>>>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

/// Handle to a closure running on a worker lcore.
pub struct LcoreJoin<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    lcore: u32,
}

impl Eal {
    /// Runs `f`, which may launch closures on worker lcores via
    /// [`Scope::spawn`]; returns after every launched closure has finished
    /// (even if `f` panics: the panic is resumed after the joins).
    ///
    /// A panic inside a launched closure is caught on its lcore and reported
    /// by [`LcoreJoin::join`] as [`DpdkError::LcorePanicked`] (with
    /// `panic = "abort"`, as in the release profile, it aborts instead).
    pub fn scope<'env, F, T>(&'env self, f: F) -> T
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
    {
        let scope = Scope {
            launched: RefCell::new(Vec::new()),
            _scope: PhantomData,
            _env: PhantomData,
        };
        let out = panic::catch_unwind(AssertUnwindSafe(|| f(&scope)));
        let mut first_panic = None;
        loop {
            let next = scope.launched.borrow().first().map(|l| l.lcore);
            let Some(lcore) = next else { break };
            if let Err(e) = scope.wait(lcore) {
                log::error!("{e}");
                first_panic.get_or_insert(e);
            }
        }
        match out {
            Ok(v) => {
                if let Some(e) = first_panic {
                    log::error!("unjoined lcore closure failed: {e}");
                }
                v
            }
            Err(p) => panic::resume_unwind(p),
        }
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Launches `f` on worker lcore `lcore` (`rte_eal_remote_launch`).
    /// The i32 it returns is what [`LcoreJoin::join`] yields.
    ///
    /// Errors: called off the main lcore, `lcore` not an enabled worker, or
    /// the lcore already busy.
    pub fn spawn<F>(&'scope self, lcore: u32, f: F) -> Result<LcoreJoin<'scope, 'env>, DpdkError>
    where
        F: FnOnce() -> i32 + Send + 'scope,
    {
        // SAFETY: EAL is initialised (the scope borrows an Eal).
        let main = unsafe { dpdk_sys::rte_get_main_lcore() };
        if current() != Some(main) {
            return Err(DpdkError::InvalidArgument(
                "lcores can only be launched from the main lcore".into(),
            ));
        }
        if lcore == main
            || lcore >= dpdk_sys::RTE_MAX_LCORE
            // SAFETY: range-checked id; reads the lcore table.
            || unsafe { dpdk_sys::rte_lcore_is_enabled(lcore) } == 0
        {
            return Err(DpdkError::InvalidArgument(format!(
                "lcore {lcore} is not an enabled worker lcore"
            )));
        }
        if self.launched.borrow().iter().any(|l| l.lcore == lcore) {
            return Err(DpdkError::InvalidArgument(format!(
                "lcore {lcore} is already running a closure"
            )));
        }
        let cell: *mut JobCell<F> = Box::into_raw(Box::new(JobCell {
            f: Some(f),
            panic: None,
        }));
        // SAFETY: `cell` stays allocated until this lcore is waited for
        // (`Scope::wait`), which happens before the scope ends, so the
        // closure's borrows ('scope) are alive for its whole run.
        // trampoline::<F> matches the payload type.
        let ret = unsafe {
            dpdk_sys::rte_eal_remote_launch(Some(trampoline::<F>), cell as *mut c_void, lcore)
        };
        if ret < 0 {
            // SAFETY: the launch failed, so no lcore holds `cell`; reclaim it.
            drop(unsafe { Box::from_raw(cell) });
            return Err(DpdkError::from_ret(
                format!("rte_eal_remote_launch on lcore {lcore}"),
                ret,
            ));
        }
        let job: *mut (dyn Job + 'scope) = cell;
        self.launched.borrow_mut().push(Launched { lcore, job });
        Ok(LcoreJoin { scope: self, lcore })
    }

    /// Waits for `lcore`'s closure, frees its payload, reports its outcome.
    fn wait(&self, lcore: u32) -> Result<i32, DpdkError> {
        let pos = self.launched.borrow().iter().position(|l| l.lcore == lcore);
        let Some(pos) = pos else {
            return Err(DpdkError::InvalidArgument(format!(
                "lcore {lcore} was not launched in this scope"
            )));
        };
        // SAFETY: lcore was launched by this scope from the main lcore;
        // rte_eal_wait_lcore blocks until its function returned.
        let rc = unsafe { dpdk_sys::rte_eal_wait_lcore(lcore) };
        let entry = self.launched.borrow_mut().swap_remove(pos);
        // SAFETY: the lcore finished (wait returned, which orders its writes
        // before ours), so we are the only owner of the payload.
        let mut job = unsafe { Box::from_raw(entry.job) };
        match job.take_panic() {
            Some(message) => Err(DpdkError::LcorePanicked { lcore, message }),
            None => Ok(rc),
        }
    }
}

impl LcoreJoin<'_, '_> {
    /// The worker lcore this closure runs on.
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// Waits for the closure; its return value, or the panic it raised.
    pub fn join(self) -> Result<i32, DpdkError> {
        self.scope.wait(self.lcore)
    }
}
