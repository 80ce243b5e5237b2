//! Every file the program writes (`--stats-json` now; events, pid and
//! capture files use the same type): checked once at start-up, then
//! replaced whole on each write.
//!
//! The program runs as root, often with its output in a directory other
//! users can write (/tmp). So a write must never go through a name someone
//! else planted: the new contents go to a fresh file with a random name in
//! the target's directory, created with `O_CREAT|O_EXCL|O_NOFOLLOW` (it
//! cannot be an existing file, FIFO, device or symlink), and are then
//! renamed over the target. A target that exists and is not a regular file
//! (a device such as /dev/full, a FIFO, a socket, a directory, a symlink)
//! is refused, at start-up and again before each rename, so a device node
//! or a symlink's target is never replaced. Readers see the old document or
//! the new one, never half of one.

use std::collections::hash_map::RandomState;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Names tried for the temporary file before giving up: a planted file can
/// take a name (the create then fails), never redirect the write.
const TEMP_ATTEMPTS: usize = 16;

/// Permissions of the files written: the stats are for monitoring, readable
/// by all, writable only by the program.
const FILE_MODE: u32 = 0o644;

/// A file the program rewrites whole, validated at start-up so that a bad
/// path is bad input (exit 2 before the run) rather than a failure after it.
#[derive(Debug, Clone)]
pub struct OutFile {
    /// The option that named it (`--stats-json`), for messages.
    flag: &'static str,
    path: PathBuf,
    dir: PathBuf,
}

/// What kind of non-regular file `t` is, for the refusal message.
fn kind(t: std::fs::FileType) -> &'static str {
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// An endless supply of random temporary names (the hasher's keys are
/// random per process; the counter makes each name new).
fn temp_names() -> impl Iterator<Item = String> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let keys = RandomState::new();
    std::iter::repeat_with(move || {
        let mut h = keys.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        format!(".mcast-failover-{:016x}.tmp", h.finish())
    })
}

/// Creates a new file in `dir` under the first of `names` that nothing
/// holds yet. `O_EXCL` with `O_CREAT` refuses any existing entry, a
/// symlink included (POSIX: it is not followed); `O_NOFOLLOW` says so
/// twice.
fn create_temp(
    dir: &Path,
    names: impl IntoIterator<Item = String>,
) -> std::io::Result<(File, PathBuf)> {
    for name in names.into_iter().take(TEMP_ATTEMPTS) {
        let p = dir.join(name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&p)
        {
            Ok(f) => return Ok((f, p)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        ErrorKind::AlreadyExists,
        format!("{TEMP_ATTEMPTS} temporary names in a row already taken"),
    ))
}

impl OutFile {
    /// Checks that `path` can be written as `flag`'s file: its directory
    /// exists and takes a new file, its name is one the file system
    /// accepts, and it is absent or a regular file. The message is one
    /// line naming the flag and the path.
    pub fn prepare(flag: &'static str, path: &Path) -> Result<OutFile, String> {
        let shown = model::quoted(&path.to_string_lossy());
        let bad = |why: String| format!("{flag} {shown}: {why}");
        if path.file_name().is_none() {
            return Err(bad("names a directory, not a file".into()));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(bad(format!("{} is not a directory", dir.display()))),
            Err(e) => return Err(bad(format!("directory {}: {e}", dir.display()))),
        }
        let out = OutFile {
            flag,
            path: path.to_path_buf(),
            dir,
        };
        out.check_target().map_err(bad)?;
        // The directory must take a new file: create the temporary file a
        // write would, and remove it.
        let (f, tmp) = create_temp(&out.dir, temp_names()).map_err(|e| {
            bad(format!(
                "cannot create a file in {}: {e}",
                out.dir.display()
            ))
        })?;
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        Ok(out)
    }

    /// Whether the target may be replaced now: absent or a regular file.
    fn check_target(&self) -> Result<(), String> {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.file_type().is_file() => Ok(()),
            Ok(m) => Err(format!(
                "exists and is {}; give the path of a regular file or a new name",
                kind(m.file_type())
            )),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Replaces the file's contents with `bytes` (see the module doc for
    /// how). On failure the old file is left as it was.
    pub fn write(&self, bytes: &[u8]) -> Result<(), String> {
        self.write_via(bytes, temp_names())
    }

    /// Writes `v` as pretty JSON plus a newline.
    pub fn write_json(&self, v: &serde_json::Value) -> Result<(), String> {
        let mut text = serde_json::to_vec_pretty(v).map_err(|e| e.to_string())?;
        text.push(b'\n');
        self.write(&text)
    }

    fn write_via(
        &self,
        bytes: &[u8],
        names: impl IntoIterator<Item = String>,
    ) -> Result<(), String> {
        let bad = |why: String| format!("{} {}: {why}", self.flag, self.path.display());
        self.check_target().map_err(bad)?;
        let (mut f, tmp) = create_temp(&self.dir, names).map_err(|e| {
            bad(format!(
                "cannot create a file in {}: {e}",
                self.dir.display()
            ))
        })?;
        let written = f.write_all(bytes).and_then(|()| f.flush());
        drop(f);
        let done = written
            .map_err(|e| format!("writing {}: {e}", tmp.display()))
            .and_then(|()| self.check_target())
            .and_then(|()| std::fs::rename(&tmp, &self.path).map_err(|e| e.to_string()));
        if done.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        done.map_err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("outfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary() {
        let d = scratch("plain");
        let p = d.join("stats.json");
        let f = OutFile::prepare("--stats-json", &p).unwrap();
        assert_eq!(entries(&d), Vec::<String>::new(), "prepare leaves nothing");
        f.write(b"one\n").unwrap();
        f.write(b"two\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two\n");
        assert_eq!(entries(&d), ["stats.json"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_symlink_at_the_temporary_name_is_not_followed() {
        let d = scratch("tmplink");
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let planted = ".mcast-failover-planted.tmp".to_string();
        symlink(&victim, d.join(&planted)).unwrap();
        let p = d.join("stats.json");
        let f = OutFile::prepare("--stats-json", &p).unwrap();
        // The first name tried is the planted link: skipped, never opened.
        let names = [planted.clone(), ".mcast-failover-next.tmp".to_string()];
        f.write_via(b"new", names).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert!(std::fs::symlink_metadata(d.join(&planted))
            .unwrap()
            .file_type()
            .is_symlink());
        // Every name taken: an error, still nothing written through.
        let err = f.write_via(b"x", [planted]).unwrap_err();
        assert!(err.contains("already taken"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_target_that_turns_into_a_symlink_is_not_replaced() {
        let d = scratch("late");
        let p = d.join("stats.json");
        let f = OutFile::prepare("--stats-json", &p).unwrap();
        let victim = d.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        symlink(&victim, &p).unwrap();
        let err = f.write(b"new").unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(entries(&d), ["stats.json", "victim"], "no temporary left");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn bad_paths_are_refused_at_prepare() {
        let d = scratch("bad");
        let long = d.join("x".repeat(300));
        let cases = [
            (d.join("missing/stats.json"), "No such file"),
            (long, "too long"),
            (d.clone(), "a directory"),
            (PathBuf::from("/dev/full"), "character device"),
            (d.join("sub/.."), "names a directory"),
        ];
        for (p, needle) in cases {
            let e = OutFile::prepare("--stats-json", &p).unwrap_err();
            assert!(e.starts_with("--stats-json '"), "{e}");
            assert!(e.contains(needle), "{p:?}: {e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
