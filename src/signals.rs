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
    /// Installs the handlers. A second SIGINT/SIGTERM while the first is
    /// being handled exits at once (status 130), for a stuck shutdown.
    pub fn install() -> Result<Signals, String> {
        let term = Arc::new(AtomicBool::new(false));
        let usr1 = Arc::new(AtomicBool::new(false));
        for sig in [SIGINT, SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 130, term.clone())
                .and_then(|_| signal_hook::flag::register(sig, term.clone()))
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
