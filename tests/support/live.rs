//! A binary run the test talks to while it runs (signals, traffic, stats polled as they
//! come): its stdout and stderr are collected line by line into one log, and the test waits
//! on what the log or the stats say, never on time.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a wait may last before the test gives up: a hang guard, never a performance bound.
pub const HANG_GUARD: Duration = Duration::from_secs(180);

/// The running binary, both outputs collected as they come. Killed on drop if still running.
pub struct Run {
    /// The process.
    pub child: Child,
    log: Arc<Mutex<String>>,
}

impl Run {
    /// Starts `cmd` with stdin closed and both outputs collected.
    pub fn start(cmd: &mut Command) -> Run {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let log = Arc::new(Mutex::new(String::new()));
        for pipe in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let sink = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut s = sink.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        Run { child, log }
    }

    /// Everything it printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Polls `probe` on the log until it gives a value; the binary must stay up.
    pub fn until<T>(&mut self, what: &str, mut probe: impl FnMut(&str) -> Option<T>) -> T {
        let t0 = Instant::now();
        loop {
            if let Some(v) = probe(&self.log()) {
                return v;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "binary exited ({st}) while waiting for {what}\n{}",
                    self.log()
                );
            }
            assert!(
                t0.elapsed() < HANG_GUARD,
                "hang guard: no {what} within {HANG_GUARD:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends signal `sig` (`-HUP`, `-TERM`, ...).
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill {sig}");
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
