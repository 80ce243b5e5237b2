//! Signals the run answers, each polled by the main lcore between ticks
//! (the handlers only set flags):
//!
//! * SIGINT, SIGTERM, SIGQUIT: stop. Workers drain, the final stats are
//!   printed and written, ports close and EAL cleans up (its runtime
//!   directory and hugepage files go too). QUIT is treated like TERM on
//!   purpose: its default action (core dump, no cleanup) would leave the
//!   hugepage files behind.
//! * SIGUSR1: print the stats block now.
//! * SIGHUP: live reload (`crate::reload`): the configuration is read
//!   again and the stream set changed without a restart; a bad file is
//!   refused with one line and the run goes on. It never stops the run
//!   (in `io` mode, where there is nothing to reload, it is logged and
//!   ignored).
//! * SIGUSR2: reserved, logged and ignored for the same reason.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// Flags set from the signal handlers, polled by the main lcore.
pub struct Signals {
    term: Arc<AtomicBool>,
    usr1: Arc<AtomicBool>,
    hup: Arc<AtomicBool>,
    usr2: Arc<AtomicBool>,
}

fn register(sig: i32, flag: &Arc<AtomicBool>) -> Result<(), String> {
    signal_hook::flag::register(sig, flag.clone())
        .map(drop)
        .map_err(|e| format!("cannot install handler for signal {sig}: {e}"))
}

impl Signals {
    /// Installs the handlers. Repeated SIGINT/SIGTERM only set the same
    /// flag: `timeout -s INT` and a terminal's Ctrl-C can deliver the signal
    /// twice (to the process and to its group), and an orderly drain takes
    /// well under a second; SIGKILL remains for a truly stuck process.
    pub fn install() -> Result<Signals, String> {
        let s = Signals {
            term: Arc::default(),
            usr1: Arc::default(),
            hup: Arc::default(),
            usr2: Arc::default(),
        };
        for sig in [SIGINT, SIGTERM, SIGQUIT] {
            register(sig, &s.term)?;
        }
        register(SIGUSR1, &s.usr1)?;
        register(SIGHUP, &s.hup)?;
        register(SIGUSR2, &s.usr2)?;
        Ok(s)
    }

    /// True once SIGINT, SIGTERM or SIGQUIT arrived.
    pub fn terminate(&self) -> bool {
        self.term.load(Ordering::Relaxed)
    }

    /// True (once) after each SIGUSR1.
    pub fn take_usr1(&self) -> bool {
        self.usr1.swap(false, Ordering::Relaxed)
    }

    /// True (once) after each SIGHUP: a live reload is asked for.
    pub fn take_hup(&self) -> bool {
        self.hup.swap(false, Ordering::Relaxed)
    }

    /// True (once) after each SIGUSR2.
    pub fn take_usr2(&self) -> bool {
        self.usr2.swap(false, Ordering::Relaxed)
    }

    /// Logs (and so consumes) the signals that are answered by a log line
    /// only: SIGUSR2.
    pub fn log_ignored(&self) {
        if self.take_usr2() {
            log::warn!("SIGUSR2: no action is assigned to it; ignored, the run goes on");
        }
    }
}
