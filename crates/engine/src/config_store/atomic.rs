//! Writing a file so that a crash at any moment leaves either the old or the
//! new content complete, never a mix: the bytes go to a temp file in the
//! same directory (so the rename cannot cross file systems), which is
//! fsynced, renamed over the target, and then the directory is fsynced so
//! the rename itself survives a power cut.
//!
//! Temp files are named `.<file>.tmp-<pid>-<n>`. A writer killed between
//! creating its temp file and renaming it leaves that file behind;
//! [`remove_stale_temp_files`] deletes the ones whose process is gone.
//!
//! [`DirLock`] serialises savers across processes (the running service and
//! a `vspread config set` from a shell), so that "check the version, back
//! up, write" is one step for everybody.

use std::fs::{self, File};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// The directory a file lives in (`.` for a bare file name).
pub(super) fn parent_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_atomically_from(path, &mut &bytes[..])
}

/// Writes everything `source` yields to `path` atomically; used to back up
/// a file too large to hold in memory.
pub(super) fn write_atomically_from(path: &Path, source: &mut dyn Read) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}{TEMP_MARKER}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = File::create(&tmp).map_err(StoreError::io("create", &tmp))?;
        std::io::copy(source, &mut file).map_err(StoreError::io("write", &tmp))?;
        file.flush().map_err(StoreError::io("write", &tmp))?;
        file.sync_all().map_err(StoreError::io("fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(StoreError::io("rename into place", path))?;
        sync_dir(&dir)
    })();
    if result.is_err() {
        // Best effort: the error already names what failed.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs a directory, making renames and deletions in it durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io("fsync directory", dir))
}

const TEMP_MARKER: &str = ".tmp-";

/// The temp files in `dir` (any writer's, alive or not).
pub(super) fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| temp_writer_pid(&e.file_name().to_string_lossy()).is_some())
        .map(|e| e.path())
        .collect()
}

/// The pid in a temp file's name, if the name is one of ours.
fn temp_writer_pid(file_name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix('.')?
        .rsplit_once(TEMP_MARKER)
        .map(|(_, rest)| rest)?;
    let (pid, counter) = rest.split_once('-')?;
    counter.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Removes temp files left in `dir` by writers that died mid-write. A temp
/// file whose pid is no longer running is garbage; this process's own and
/// live processes' files are left alone. Best effort: returns how many were
/// removed and never fails a save.
pub(super) fn remove_stale_temp_files(dir: &Path) -> usize {
    let mut removed = 0;
    for path in temp_files(dir) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(pid) = name.as_deref().and_then(temp_writer_pid) else {
            continue;
        };
        if pid != std::process::id() && !process_is_alive(pid) && fs::remove_file(&path).is_ok() {
            tracing::info!(path = %path.display(), pid, "removed a temp file left by a killed save");
            removed += 1;
        }
    }
    removed
}

#[cfg(target_os = "linux")]
fn process_is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Without /proc we cannot tell, so every temp file is kept.
#[cfg(not(target_os = "linux"))]
fn process_is_alive(_pid: u32) -> bool {
    true
}

/// An exclusive advisory lock (`flock`) on a directory, held while one save
/// runs. The kernel drops it when the holder exits, however it exits, so a
/// killed saver never blocks the next one.
#[derive(Debug)]
pub(super) struct DirLock {
    _dir: Option<File>,
}

impl DirLock {
    /// Blocks until this process holds the lock on `dir`. Where the file
    /// system cannot lock, saving still works (serialised within this
    /// process only) and a warning says so.
    pub(super) fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        let file = File::open(dir).map_err(StoreError::io("open directory", dir))?;
        match lock_exclusive(&file) {
            Ok(()) => Ok(DirLock { _dir: Some(file) }),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot lock the config directory; saves from other processes are not serialised");
                Ok(DirLock { _dir: None })
            }
        }
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(Into::into)
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "directory locks need a unix system",
    ))
}

/// Reads at most `limit + 1` bytes of `path`, so an oversized file is
/// recognised without being read whole.
pub(super) fn read_capped(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised_only_when_they_are_ours() {
        assert_eq!(temp_writer_pid(".config.toml.tmp-123-4"), Some(123));
        assert_eq!(
            temp_writer_pid(".config-20260101T000000.000Z.toml.tmp-7-0"),
            Some(7)
        );
        assert_eq!(temp_writer_pid("config.toml"), None);
        assert_eq!(temp_writer_pid(".config.toml.tmp-abc-4"), None);
        assert_eq!(temp_writer_pid(".config.toml.tmp-12"), None);
        assert_eq!(temp_writer_pid("config.toml.tmp-12-3"), None);
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert!(temp_files(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        fs::write(&path, "old").unwrap();
        // Renaming a file over a non-empty directory fails after the temp
        // file was written: the temp file must be cleaned up.
        let blocker = dir.path().join("sub");
        fs::create_dir(&blocker).unwrap();
        fs::write(blocker.join("x"), "x").unwrap();
        let err = write_atomically(&blocker, b"new").unwrap_err();
        assert!(err.to_string().contains("rename into place"), "{err}");
        assert!(temp_files(dir.path()).is_empty());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn stale_temp_files_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = dir.path().join(format!(".config.toml.tmp-{dead}-0"));
        let mine = dir
            .path()
            .join(format!(".config.toml.tmp-{}-0", std::process::id()));
        fs::write(&stale, "half").unwrap();
        fs::write(&mine, "in progress").unwrap();
        assert_eq!(remove_stale_temp_files(dir.path()), 1);
        assert!(!stale.exists());
        assert!(mine.exists());
    }
}
