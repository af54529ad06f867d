//! Backups of the config file: one file per replaced version in `backups/`
//! beside it, named `<stem>-<id>.toml` where the id is a sortable UTC
//! timestamp with milliseconds (`20261122T114501.123Z`). Ids only grow: a
//! new id is later than both the clock and the newest existing backup, so
//! two saves in one millisecond, or a clock stepped back, never reuse or
//! reorder ids, and pruning always removes the oldest.
//!
//! Backing up the file being replaced costs no copy: the backup is a hard
//! link to the current file, whose inode the following rename leaves to the
//! backup alone (a copy is made where links are impossible).

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use serde::Serialize;

use super::StoreError;
use super::atomic::{sync_dir, write_atomically_from};

/// One backup of the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    /// Sortable UTC timestamp, such as `20261122T114501.123Z`.
    pub id: String,
    /// When the backup was taken (the instant its id names).
    pub time: DateTime<Utc>,
    /// Size of the backed-up file in bytes.
    pub size: u64,
}

const ID_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// The id naming instant `time` (to the millisecond).
pub(super) fn format_id(time: DateTime<Utc>) -> String {
    time.format(ID_FORMAT).to_string()
}

/// The instant an id names; `None` for anything that is not exactly an id
/// (so a path such as `../config` can never name a backup).
pub(super) fn parse_id(id: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(id.strip_suffix('Z')?, "%Y%m%dT%H%M%S%.3f").ok()?;
    let time = naive.and_utc();
    (format_id(time) == id).then_some(time)
}

/// The backups directory of one config file.
#[derive(Debug, Clone)]
pub(super) struct BackupDir {
    dir: PathBuf,
    /// File names are `<prefix><id>.toml`: `config-` for `config.toml`, so
    /// two config files in one directory keep separate backups.
    prefix: String,
}

const SUFFIX: &str = ".toml";

impl BackupDir {
    pub(super) fn for_config(config_path: &Path, dir: PathBuf) -> Self {
        let stem = config_path
            .file_stem()
            .map_or_else(|| "config".into(), |s| s.to_string_lossy().into_owned());
        Self {
            dir,
            prefix: format!("{stem}-"),
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.dir
    }

    /// The file of backup `id`; an id that is not a timestamp is unknown.
    pub(super) fn file_of(&self, id: &str) -> Result<PathBuf, StoreError> {
        if parse_id(id).is_none() {
            return Err(StoreError::UnknownBackup { id: id.to_string() });
        }
        Ok(self.dir.join(format!("{}{id}{SUFFIX}", self.prefix)))
    }

    /// Backups, newest first.
    pub(super) fn list(&self) -> Result<Vec<BackupInfo>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("list", &self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(StoreError::io("list", &self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix(&self.prefix)
                .and_then(|n| n.strip_suffix(SUFFIX))
            else {
                continue;
            };
            let Some(time) = parse_id(id) else { continue };
            let size = entry.metadata().map_or(0, |m| m.len());
            out.push(BackupInfo {
                id: id.to_string(),
                time,
                size,
            });
        }
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    /// The bytes of backup `id`.
    pub(super) fn read(&self, id: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.file_of(id)?;
        fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::UnknownBackup { id: id.to_string() },
            _ => StoreError::io("read", &path)(e),
        })
    }

    /// Backs up the file at `source`, which is about to be replaced by a
    /// rename, as taken at `now`; returns the backup's id. The caller holds
    /// the save lock, so no other writer picks the same id.
    pub(super) fn write(&self, source: &Path, now: DateTime<Utc>) -> Result<String, StoreError> {
        fs::create_dir_all(&self.dir).map_err(StoreError::io("create", &self.dir))?;
        let newest = self.list()?.first().map(|b| b.time);
        let mut time = match newest {
            Some(newest) if newest >= now => newest + TimeDelta::milliseconds(1),
            _ => now,
        };
        let (id, path) = loop {
            let id = format_id(time);
            let path = self.file_of(&id)?;
            if !path.exists() {
                break (id, path);
            }
            time += TimeDelta::milliseconds(1);
        };
        match fs::hard_link(source, &path) {
            // The rename that follows leaves this inode to the backup
            // alone: no bytes to copy.
            Ok(()) => sync_dir(&self.dir)?,
            Err(e) => {
                tracing::debug!(error = %e, "cannot hard-link the backup; copying");
                let mut file = fs::File::open(source).map_err(StoreError::io("read", source))?;
                write_atomically_from(&path, &mut file)?;
            }
        }
        Ok(id)
    }

    /// Deletes all but the newest `keep` backups; returns the ids deleted.
    pub(super) fn prune(&self, keep: usize) -> Result<Vec<String>, StoreError> {
        let mut removed = Vec::new();
        for old in self.list()?.into_iter().skip(keep) {
            let path = self.file_of(&old.id)?;
            match fs::remove_file(&path) {
                Ok(()) => removed.push(old.id),
                // Pruned meanwhile by someone else: the goal is reached.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io("delete", &path)(e)),
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_store::write_atomically;

    /// Writes `bytes` as a fresh file (a new inode, as a save does) and
    /// backs it up.
    fn back_up(backups: &BackupDir, bytes: &[u8], now: DateTime<Utc>) -> String {
        fs::create_dir_all(backups.path()).unwrap();
        let source = backups.path().join("source");
        write_atomically(&source, bytes).unwrap();
        backups.write(&source, now).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ids_round_trip_and_nothing_else_parses() {
        let t = at("2026-11-22T11:45:01.123Z");
        assert_eq!(format_id(t), "20261122T114501.123Z");
        assert_eq!(parse_id("20261122T114501.123Z"), Some(t));
        for bad in [
            "",
            "../config",
            "20261122T114501Z",
            "20261122T114501.123",
            "20261122T114501.1234Z",
            "20261322T114501.123Z",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_keep_growing_when_the_clock_stands_still_or_steps_back() {
        let dir = tempfile::tempdir().unwrap();
        let backups = BackupDir::for_config(Path::new("config.toml"), dir.path().join("backups"));
        let t = at("2026-11-22T11:45:01.123Z");
        let a = back_up(&backups, b"a", t);
        let b = back_up(&backups, b"b", t);
        let c = back_up(&backups, b"c", t - TimeDelta::hours(1));
        assert_eq!(
            [a.as_str(), b.as_str(), c.as_str()],
            [
                "20261122T114501.123Z",
                "20261122T114501.124Z",
                "20261122T114501.125Z"
            ]
        );
        let listed: Vec<String> = backups.list().unwrap().into_iter().map(|b| b.id).collect();
        assert_eq!(listed, [c.clone(), b, a.clone()]);
        assert_eq!(backups.read(&c).unwrap(), b"c");
        assert_eq!(
            backups.read(&a).unwrap(),
            b"a",
            "each backup keeps its own bytes"
        );
    }

    #[test]
    fn pruning_keeps_the_newest_and_ignores_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let backups = BackupDir::for_config(Path::new("config.toml"), dir.path().to_path_buf());
        let other = BackupDir::for_config(Path::new("prod.toml"), dir.path().to_path_buf());
        let t = at("2026-01-01T00:00:00Z");
        let ids: Vec<String> = (0..4)
            .map(|i| back_up(&backups, b"x", t + TimeDelta::seconds(i)))
            .collect();
        back_up(&other, b"p", t);
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        assert_eq!(backups.prune(2).unwrap(), [ids[1].clone(), ids[0].clone()]);
        let kept: Vec<String> = backups.list().unwrap().into_iter().map(|b| b.id).collect();
        assert_eq!(kept, [ids[3].clone(), ids[2].clone()]);
        assert_eq!(other.list().unwrap().len(), 1);
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn a_backup_across_file_systems_is_a_complete_copy() {
        // Hard links cannot cross file systems; /dev/shm is a tmpfs.
        let Ok(elsewhere) = tempfile::tempdir_in("/dev/shm") else {
            eprintln!("no /dev/shm here: the copy fallback is not exercised");
            return;
        };
        let source = elsewhere.path().join("config.toml");
        fs::write(&source, "[exits]\nexit_dte = 2\n").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let backups = BackupDir::for_config(&source, dir.path().join("backups"));
        let id = backups.write(&source, at("2026-01-01T00:00:00Z")).unwrap();
        fs::write(&source, "changed in place").unwrap();
        assert_eq!(backups.read(&id).unwrap(), b"[exits]\nexit_dte = 2\n");
        assert!(crate::config_store::atomic::temp_files(backups.path()).is_empty());
    }
}
