//! One engine per data directory. A data directory holds one journal, and a
//! journal has one writer: two engines on one directory would each
//! reconcile, each cancel the other's working orders at start, and trade
//! the same account twice.
//!
//! The lock is an exclusive advisory `flock` on `<data_dir>/vspread.lock`,
//! taken before the journal is opened or the gateway contacted, and held
//! for the process's life. The kernel releases it when the process ends,
//! however it ends, so a killed engine leaves no stale lock; the file keeps
//! the holder's pid as text, so a refusal can name it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// The lock file's name inside a data directory.
pub const LOCK_FILE: &str = "vspread.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{dir} is in use by another vspread engine (pid {holder}); one engine per data dir: stop it, or give this one another data dir"
    )]
    Held { dir: String, holder: String },
    #[error(
        "the data dir {dir} is not writable ({source}): vspread keeps its journal and its lock there; make it writable (remount it read-write, or fix its owner or mode) or set [storage] data_dir to a writable directory"
    )]
    NotWritable {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Held while the engine runs; dropping it (or the process ending)
/// releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Takes the lock on `dir` (created if missing) without waiting.
    pub fn acquire(dir: &Path) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source: std::io::Error| {
            if matches!(
                source.raw_os_error(),
                Some(code) if code == rustix::io::Errno::ROFS.raw_os_error()
                    || code == rustix::io::Errno::ACCESS.raw_os_error()
                    || code == rustix::io::Errno::PERM.raw_os_error()
            ) {
                LockError::NotWritable {
                    dir: dir.display().to_string(),
                    source,
                }
            } else {
                LockError::Io {
                    path: path.display().to_string(),
                    source,
                }
            }
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    dir: dir.display().to_string(),
                    holder: if holder.is_empty() {
                        "unknown".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(e) => return Err(io(e.into())),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(Self { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether another process holds the lock on `dir` now, and its pid as
    /// the file says (for diagnostics; does not take the lock).
    pub fn holder(dir: &Path) -> Option<String> {
        match Self::acquire_probe(dir) {
            Err(LockError::Held { holder, .. }) => Some(holder),
            _ => None,
        }
    }

    fn acquire_probe(dir: &Path) -> Result<(), LockError> {
        let path = dir.join(LOCK_FILE);
        let Ok(mut file) = OpenOptions::new().read(true).open(&path) else {
            return Ok(());
        };
        if flock(&file, FlockOperation::NonBlockingLockShared).is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(LockError::Held {
                dir: dir.display().to_string(),
                holder: holder.trim().to_string(),
            });
        }
        Ok(())
    }
}

impl Drop for DataDirLock {
    fn drop(&mut self) {
        // Emptied, so a reader never names a pid that no longer holds it.
        let _ = self.file.set_len(0);
        let _ = flock(&self.file, FlockOperation::Unlock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_a_dropped_one_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        // flock locks belong to the open file description: a second open
        // in this process conflicts as another process's would.
        let err = DataDirLock::acquire(dir.path()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&std::process::id().to_string()),
            "names the holder's pid: {text}"
        );
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
        assert_eq!(
            DataDirLock::holder(dir.path()),
            Some(std::process::id().to_string())
        );
        drop(first);
        assert_eq!(DataDirLock::holder(dir.path()), None);
        let again = DataDirLock::acquire(dir.path()).unwrap();
        assert!(again.path().ends_with(LOCK_FILE));
    }
}
