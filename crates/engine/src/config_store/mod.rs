//! Saving `config.toml` so that it is never half-written and never loses
//! the user's edits.
//!
//! Every write takes one path, whether it comes from the admin API, from
//! `vspread config set`, from a rollback or from `config init --force`:
//!
//! 1. validate the new configuration (on error nothing is touched and the
//!    error lists every bad key);
//! 2. take the save lock (a mutex in this process and an advisory `flock`
//!    on the directory, so a shell command and the running service never
//!    interleave);
//! 3. refuse if the file is no longer at the version the caller read (its
//!    content hash, the API's ETag);
//! 4. edit the file's text so it means the new config (only changed leaves
//!    are rewritten, see [`edit`]); a save that changes nothing writes
//!    nothing;
//! 5. back up the current file to `backups/` (see [`backup`]);
//! 6. write the new text atomically (see [`atomic`]): a crash at any moment
//!    leaves the old or the new file complete;
//! 7. prune backups to `storage.backups_keep`.
//!
//! Temp files left by a saver that was killed mid-write are removed by the
//! next save.
//!
//! ```
//! use vspread_engine::config_store::ConfigStore;
//!
//! let dir = tempfile::tempdir()?;
//! let store = ConfigStore::new(dir.path().join("config.toml"));
//! store.init(false)?; // the commented default file
//!
//! let loaded = store.load()?;
//! let mut config = loaded.config.clone();
//! config.exits.stop_loss_atr_mult = 1.5;
//! let report = store.save(&config, Some(&loaded.version))?;
//! assert_eq!(report.changes[0].path, "exits.stop_loss_atr_mult");
//!
//! // Saving against the old version again is refused: the file moved on.
//! assert!(store.save(&config, Some(&loaded.version)).is_err());
//!
//! // The replaced file is a backup, and rolling back restores it.
//! let backup = report.backup_id.unwrap();
//! store.rollback(&backup)?;
//! assert_eq!(store.load()?.config, loaded.config);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
mod backup;
mod edit;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value as Json;
use vspread_core::clock::{Clock, SystemClock};
use vspread_core::config::{
    Config, ConfigErrors, KeyChange, LoadError, MAX_CONFIG_BYTES, content_version,
    default_file_text, diff,
};

pub use atomic::write_atomically;
pub use backup::BackupInfo;

use atomic::{DirLock, parent_dir, read_capped, remove_stale_temp_files};
use backup::BackupDir;

/// Where a config file lives and how it is saved. Cheap to create; any
/// number of stores (in any number of processes) may point at one file.
#[derive(Debug)]
pub struct ConfigStore {
    path: PathBuf,
    backups: BackupDir,
    clock: Arc<dyn Clock>,
    /// One save at a time within this process (the directory lock does the
    /// same across processes).
    lock: Mutex<()>,
}

/// A config file as read.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub text: String,
    /// Content version of the bytes (the API's ETag): the same bytes give
    /// the same version in every process.
    pub version: String,
}

/// What a save did.
#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    /// Content version of the file now on disk.
    pub version: String,
    /// The backup of the replaced file; none when nothing was written or
    /// there was no file before.
    pub backup_id: Option<String>,
    /// The keys whose values changed, in schema order (empty: nothing was
    /// written, except by `init`, which always writes).
    pub changes: Vec<KeyChange>,
    /// False when the old file was not valid TOML for this model and the
    /// commented default layout was written instead (the old text is in the
    /// backup).
    pub kept_user_text: bool,
    /// How long each step took.
    pub timings: SaveTimings,
}

/// Milliseconds spent in each step of a save.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct SaveTimings {
    /// Validating the new configuration.
    pub validate_ms: f64,
    /// Waiting for the save lock.
    pub lock_wait_ms: f64,
    /// Reading the current file, diffing and editing its text (with the
    /// check that the edited text means the new configuration).
    pub edit_ms: f64,
    /// Writing the backup.
    pub backup_ms: f64,
    /// Writing the new file (temp file, fsync, rename, fsync directory).
    pub write_ms: f64,
    /// Deleting backups beyond `storage.backups_keep`.
    pub prune_ms: f64,
    /// The whole save.
    pub total_ms: f64,
}

/// Why a store operation failed. Each names what and where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The configuration (or the file, or the backup) is not valid; every
    /// problem is listed with its key path.
    #[error("{0}")]
    Invalid(ConfigErrors),
    #[error("{path} changed since it was read (expected version {expected}, found {current})")]
    Stale {
        path: String,
        expected: String,
        current: String,
    },
    #[error("no config backup with id {id:?}")]
    UnknownBackup { id: String },
    #[error("{path} already exists (use --force to overwrite)")]
    Exists { path: String },
    /// A key path for [`ConfigStore::set`] that cannot name a value.
    #[error("cannot set {path}: {reason}")]
    BadKeyPath { path: String, reason: String },
    /// The new configuration could not be written as a file that means it
    /// (a bug, reported instead of writing a wrong file).
    #[error("cannot write the configuration as TOML: {reason}")]
    Render { reason: String },
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + use<> {
        let path = path.display().to_string();
        move |source| StoreError::Io { op, path, source }
    }
}

/// The version reported for a file that does not exist.
pub const NO_FILE_VERSION: &str = "none";

/// The file as found at the start of a save.
struct Current {
    /// `None`: there is no file.
    bytes: Option<Vec<u8>>,
    /// Larger than any config file may be (`bytes` holds only its start).
    oversized: bool,
    version: String,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl ConfigStore {
    /// A store for the file at `path`, timestamping backups by the wall clock.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_clock(path, Arc::new(SystemClock))
    }

    /// A store whose backup ids come from `clock`.
    pub fn with_clock(path: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        let path = path.into();
        let backups = BackupDir::for_config(&path, parent_dir(&path).join("backups"));
        Self {
            path,
            backups,
            clock,
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory holding the backups (`backups/` beside the file).
    pub fn backups_dir(&self) -> PathBuf {
        self.backups.path().to_path_buf()
    }

    /// Reads and validates the file.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let bytes = read_capped(&self.path, MAX_CONFIG_BYTES)
            .map_err(StoreError::io("read", &self.path))?;
        if bytes.len() > MAX_CONFIG_BYTES {
            return Err(self.oversized_error());
        }
        let config = Config::from_toml_bytes(&bytes).map_err(|e| self.invalid_file(e))?;
        Ok(Loaded {
            config,
            version: content_version(&bytes),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Writes the commented default file (creating its directory). An
    /// existing file is refused unless `force`, and then it is backed up
    /// first.
    pub fn init(&self, force: bool) -> Result<SaveReport, StoreError> {
        let started = Instant::now();
        let dir = parent_dir(&self.path);
        std::fs::create_dir_all(&dir).map_err(StoreError::io("create", &dir))?;
        let (_guard, _dir_lock) = self.exclusive()?;
        let lock_wait_ms = ms_since(started);
        let current = self.read_current()?;
        if current.bytes.is_some() && !force {
            return Err(StoreError::Exists {
                path: self.path.display().to_string(),
            });
        }
        let default = Config::default();
        let old = self.valid_config_of(&current);
        let changes = old
            .as_ref()
            .map_or_else(Vec::new, |old| diff(old, &default));
        let text = default_file_text();
        self.write_replacing(
            &current,
            &text,
            &default,
            started,
            SaveTimings {
                lock_wait_ms,
                ..SaveTimings::default()
            },
        )
        .map(|(backup_id, timings)| SaveReport {
            version: content_version(text.as_bytes()),
            backup_id,
            changes,
            kept_user_text: false,
            timings,
        })
    }

    /// Saves `new` if the file is still at `expected_version` (when given).
    /// A missing file is created (without a backup); with an expected
    /// version it is stale, its version being [`NO_FILE_VERSION`].
    pub fn save(
        &self,
        new: &Config,
        expected_version: Option<&str>,
    ) -> Result<SaveReport, StoreError> {
        let started = Instant::now();
        new.validate().map_err(StoreError::Invalid)?;
        let validate_ms = ms_since(started);
        let (_guard, _dir_lock) = self.exclusive()?;
        let timings = SaveTimings {
            validate_ms,
            lock_wait_ms: ms_since(started) - validate_ms,
            ..SaveTimings::default()
        };
        let current = self.read_current()?;
        self.save_locked(&current, new, expected_version, started, timings)
    }

    /// Sets one key (a dotted path such as `exits.stop_loss_atr_mult`) to
    /// `value` and saves through the same path as [`ConfigStore::save`]. The
    /// current file must be valid (or absent: then the defaults are the
    /// starting point). An unknown key is refused by validation, which
    /// names it and suggests the nearest known one.
    pub fn set(&self, key_path: &str, value: Json) -> Result<SaveReport, StoreError> {
        let started = Instant::now();
        let (_guard, _dir_lock) = self.exclusive()?;
        let lock_wait_ms = ms_since(started);
        let current = self.read_current()?;
        let t = Instant::now();
        let old = match &current.bytes {
            None => Config::default(),
            Some(_) if current.oversized => return Err(self.oversized_error()),
            Some(bytes) => Config::from_toml_bytes(bytes).map_err(|e| self.invalid_file(e))?,
        };
        let mut json = serde_json::to_value(&old).map_err(|e| StoreError::Render {
            reason: e.to_string(),
        })?;
        *slot_at(&mut json, key_path)? = value;
        let new = Config::from_json(&json).map_err(StoreError::Invalid)?;
        let timings = SaveTimings {
            validate_ms: ms_since(t),
            lock_wait_ms,
            ..SaveTimings::default()
        };
        let version = current.version.clone();
        self.save_locked(&current, &new, Some(&version), started, timings)
    }

    /// Backups, newest first.
    pub fn backups(&self) -> Result<Vec<BackupInfo>, StoreError> {
        self.backups.list()
    }

    /// The configuration backup `id` holds, validated.
    pub fn read_backup(&self, id: &str) -> Result<Config, StoreError> {
        let bytes = self.backups.read(id)?;
        let name = self.backups.file_of(id)?.display().to_string();
        Config::from_toml_bytes(&bytes).map_err(|e| StoreError::Invalid(e.with_source_name(name)))
    }

    /// Restores backup `id` through [`ConfigStore::save`], so the current
    /// file is backed up first and a rollback can itself be rolled back.
    /// The restored file means exactly what the backup meant; its text is
    /// the current file edited to those values.
    pub fn rollback(&self, id: &str) -> Result<SaveReport, StoreError> {
        let config = self.read_backup(id)?;
        self.save(&config, None)
    }

    /// The in-process mutex, then the directory lock.
    fn exclusive(&self) -> Result<(MutexGuard<'_, ()>, DirLock), StoreError> {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let dir_lock = DirLock::acquire(&parent_dir(&self.target()))?;
        Ok((guard, dir_lock))
    }

    fn read_current(&self) -> Result<Current, StoreError> {
        match read_capped(&self.path, MAX_CONFIG_BYTES) {
            Ok(bytes) => Ok(Current {
                oversized: bytes.len() > MAX_CONFIG_BYTES,
                version: content_version(&bytes),
                bytes: Some(bytes),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Current {
                bytes: None,
                oversized: false,
                version: NO_FILE_VERSION.into(),
            }),
            Err(e) => Err(StoreError::io("read", &self.path)(e)),
        }
    }

    fn valid_config_of(&self, current: &Current) -> Option<Config> {
        match &current.bytes {
            Some(bytes) if !current.oversized => Config::from_toml_bytes(bytes).ok(),
            _ => None,
        }
    }

    fn save_locked(
        &self,
        current: &Current,
        new: &Config,
        expected_version: Option<&str>,
        started: Instant,
        mut timings: SaveTimings,
    ) -> Result<SaveReport, StoreError> {
        if let Some(expected) = expected_version
            && expected != current.version
        {
            return Err(StoreError::Stale {
                path: self.path.display().to_string(),
                expected: expected.to_string(),
                current: current.version.clone(),
            });
        }
        let t = Instant::now();
        let old = self.valid_config_of(current);
        let changes = diff(old.as_ref().unwrap_or(&Config::default()), new);
        if changes.is_empty() && old.is_some() {
            timings.edit_ms = ms_since(t);
            timings.total_ms = ms_since(started);
            return Ok(SaveReport {
                version: current.version.clone(),
                backup_id: None,
                changes,
                kept_user_text: true,
                timings,
            });
        }
        // A file that is not valid (edited by hand) is replaced by the new
        // config in the default layout; its bytes stay in the backup.
        let old_text = match (&old, &current.bytes) {
            (Some(_), Some(bytes)) => std::str::from_utf8(bytes).ok(),
            _ => None,
        };
        let edited = edit::text_for(old_text, &changes, new)?;
        timings.edit_ms = ms_since(t);
        let (backup_id, timings) =
            self.write_replacing(current, &edited.text, new, started, timings)?;
        tracing::debug!(
            path = %self.path.display(),
            changed = %changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>().join(", "),
            backup = ?backup_id,
            "config saved"
        );
        Ok(SaveReport {
            version: content_version(edited.text.as_bytes()),
            backup_id,
            changes,
            kept_user_text: edited.kept_user_text,
            timings,
        })
    }

    /// Steps 5 to 7: back up the current file (if any), write `text`
    /// atomically, prune backups to what `new` keeps.
    fn write_replacing(
        &self,
        current: &Current,
        text: &str,
        new: &Config,
        started: Instant,
        mut timings: SaveTimings,
    ) -> Result<(Option<String>, SaveTimings), StoreError> {
        let target = self.target();
        remove_stale_temp_files(&parent_dir(&target));
        remove_stale_temp_files(self.backups.path());

        let t = Instant::now();
        let now = self.clock.now();
        let backup_id = match &current.bytes {
            None => None,
            Some(_) => Some(self.backups.write(&target, now)?),
        };
        timings.backup_ms = ms_since(t);

        let t = Instant::now();
        write_atomically(&target, text.as_bytes())?;
        timings.write_ms = ms_since(t);

        let t = Instant::now();
        let keep = usize::try_from(new.storage.backups_keep.max(1)).unwrap_or(usize::MAX);
        self.backups.prune(keep)?;
        timings.prune_ms = ms_since(t);
        timings.total_ms = ms_since(started);
        Ok((backup_id, timings))
    }

    /// The file a save replaces: the configured path, or the file it
    /// points to when it is a symlink (renaming over the link would cut it,
    /// and a hard link to it would be a backup that follows the file).
    fn target(&self) -> PathBuf {
        match std::fs::symlink_metadata(&self.path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
            }
            _ => self.path.clone(),
        }
    }

    fn invalid_file(&self, errors: ConfigErrors) -> StoreError {
        StoreError::Invalid(errors.with_source_name(self.path.display().to_string()))
    }

    /// The error for a file too large to be a config file, with its size.
    fn oversized_error(&self) -> StoreError {
        match Config::load_file(&self.path) {
            Err(LoadError::Invalid(errors)) => StoreError::Invalid(errors),
            Err(LoadError::Io { source, .. }) => StoreError::io("read", &self.path)(source),
            Ok(_) => StoreError::Io {
                op: "read",
                path: self.path.display().to_string(),
                source: std::io::Error::other("the file changed while it was read; try again"),
            },
        }
    }
}

/// The slot for a dotted key path in a configuration's JSON; a missing leaf
/// is created (validation then names it as unknown, with a suggestion).
fn slot_at<'a>(json: &'a mut Json, key_path: &str) -> Result<&'a mut Json, StoreError> {
    let bad = |reason: String| StoreError::BadKeyPath {
        path: key_path.to_string(),
        reason,
    };
    let mut slot = json;
    let mut walked = String::new();
    for part in key_path.split('.') {
        if part.is_empty() {
            return Err(bad(
                "a key path is dotted names, such as exits.stop_loss_atr_mult".into(),
            ));
        }
        let Some(object) = slot.as_object_mut() else {
            return Err(bad(format!("{walked} is a value, not a section")));
        };
        slot = object.entry(part.to_string()).or_insert(Json::Null);
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(part);
    }
    if slot.is_object() {
        return Err(bad(format!("{key_path} is a section; set one of its keys")));
    }
    Ok(slot)
}
