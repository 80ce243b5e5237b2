//! SIGINT/SIGTERM stop the run; SIGUSR1 prints the stats block now.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};

/// Flags set from the signal handlers, polled by the main lcore.
pub struct Signals {
    term: Arc<AtomicBool>,
    usr1: Arc<AtomicBool>,
}

impl Signals {
    /// Installs the handlers. Repeated SIGINT/SIGTERM only set the same
    /// flag: `timeout -s INT` and a terminal's Ctrl-C can deliver the signal
    /// twice (to the process and to its group), and an orderly drain takes
    /// well under a second; SIGKILL remains for a truly stuck process.
    pub fn install() -> Result<Signals, String> {
        let term = Arc::new(AtomicBool::new(false));
        let usr1 = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register(sig, term.clone())
                .map_err(|e| format!("cannot install handler for signal {sig}: {e}"))?;
        }
        signal_hook::flag::register(SIGUSR1, usr1.clone())
            .map_err(|e| format!("cannot install SIGUSR1 handler: {e}"))?;
        Ok(Signals { term, usr1 })
    }

    /// True once SIGINT or SIGTERM arrived.
    pub fn terminate(&self) -> bool {
        self.term.load(Ordering::Relaxed)
    }

    /// True (once) after each SIGUSR1.
    pub fn take_usr1(&self) -> bool {
        self.usr1.swap(false, Ordering::Relaxed)
    }
}
