//! Saving `config.toml` so that it is never half-written and never loses
//! the user's edits.
//!
//! A save validates first (nothing is touched on error), refuses a stale
//! expected version, backs up the current file, writes the new text to a
//! temp file in the same directory, fsyncs it, renames it over the old one
//! and fsyncs the directory: a crash at any moment leaves either the old or
//! the new file complete. Only the values that changed are rewritten, with
//! `toml_edit`, so comments, key order and formatting stay as the user left
//! them. Backups live in `backups/` beside the file, named by a sortable
//! UTC timestamp, and are pruned to `storage.backups_keep`.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use toml_edit::{DocumentMut, Item, Table, Value};
use vspread_core::config::{
    Config, ConfigErrors, KeyChange, content_version, default_file_text, diff,
};

/// Where a config file lives and how it is saved.
#[derive(Debug)]
pub struct ConfigStore {
    path: PathBuf,
    /// One save at a time within this process.
    lock: Mutex<()>,
}

/// A config file as read.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub text: String,
    /// Content version of the bytes (the API's ETag).
    pub version: String,
}

/// What a save did.
#[derive(Debug, Clone, Serialize)]
pub struct SaveReport {
    /// Content version of the file now on disk.
    pub version: String,
    /// The backup of the replaced file; none when nothing changed.
    pub backup_id: Option<String>,
    /// The keys whose values changed (empty: nothing was written).
    pub changes: Vec<KeyChange>,
}

/// One backup of the config file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupInfo {
    /// Sortable UTC timestamp, such as `20261122T114501.123Z`.
    pub id: String,
    pub time: DateTime<Utc>,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + use<> {
    let path = path.display().to_string();
    move |source| StoreError::Io { op, path, source }
}

const BACKUP_PREFIX: &str = "config-";
const BACKUP_SUFFIX: &str = ".toml";
const ID_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

impl ConfigStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// The directory holding the backups.
    pub fn backups_dir(&self) -> PathBuf {
        self.dir().join("backups")
    }

    /// Reads and validates the file.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let bytes = fs::read(&self.path).map_err(io("read", &self.path))?;
        let config = Config::from_toml_bytes(&bytes).map_err(|e| {
            StoreError::Invalid(e.with_source_name(self.path.display().to_string()))
        })?;
        Ok(Loaded {
            config,
            version: content_version(&bytes),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Writes the commented default file; refuses to replace an existing
    /// file unless `force` (and then backs it up first).
    pub fn init(&self, force: bool) -> Result<SaveReport, StoreError> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let text = default_file_text();
        let backup_id = match fs::read(&self.path) {
            Ok(_) if !force => {
                return Err(StoreError::Exists {
                    path: self.path.display().to_string(),
                });
            }
            Ok(old) => Some(self.write_backup(&old)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io("read", &self.path)(e)),
        };
        write_atomically(&self.path, text.as_bytes())?;
        Ok(SaveReport {
            version: content_version(text.as_bytes()),
            backup_id,
            changes: Vec::new(),
        })
    }

    /// Saves `new` if the file is still at `expected_version` (when given).
    pub fn save(
        &self,
        new: &Config,
        expected_version: Option<&str>,
    ) -> Result<SaveReport, StoreError> {
        new.validate().map_err(StoreError::Invalid)?;
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let old_bytes = fs::read(&self.path).map_err(io("read", &self.path))?;
        let current = content_version(&old_bytes);
        if let Some(expected) = expected_version
            && expected != current
        {
            return Err(StoreError::Stale {
                path: self.path.display().to_string(),
                expected: expected.to_string(),
                current,
            });
        }
        let old_text = String::from_utf8_lossy(&old_bytes);
        // A file that no longer parses (edited by hand) is replaced by the
        // new config in full; its bytes stay in the backup.
        let old_config = Config::from_toml_str(&old_text).ok();
        let changes = diff(old_config.as_ref().unwrap_or(&Config::default()), new);
        if changes.is_empty() && old_config.is_some() {
            return Ok(SaveReport {
                version: current,
                backup_id: None,
                changes,
            });
        }
        let new_text = match old_text.parse::<DocumentMut>() {
            Ok(mut doc) if old_config.is_some() => {
                for change in &changes {
                    set_path(&mut doc, &change.path, &change.new);
                }
                doc.to_string()
            }
            _ => render_full(new),
        };
        // The edit must mean exactly `new`; if not, fall back to a full render.
        let new_text = match Config::from_toml_str(&new_text) {
            Ok(parsed) if &parsed == new => new_text,
            _ => render_full(new),
        };
        remove_stale_temp_files(&self.dir());
        remove_stale_temp_files(&self.backups_dir());
        let backup_id = self.write_backup(&old_bytes)?;
        write_atomically(&self.path, new_text.as_bytes())?;
        self.prune(new.storage.backups_keep.max(1) as usize)?;
        Ok(SaveReport {
            version: content_version(new_text.as_bytes()),
            backup_id: Some(backup_id),
            changes,
        })
    }

    /// Backups, newest first.
    pub fn backups(&self) -> Result<Vec<BackupInfo>, StoreError> {
        let dir = self.backups_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name
                .strip_prefix(BACKUP_PREFIX)
                .and_then(|n| n.strip_suffix(BACKUP_SUFFIX))
            else {
                continue;
            };
            let Some(time) = parse_id(id) else { continue };
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(BackupInfo {
                id: id.to_string(),
                time,
                size,
            });
        }
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    /// The configuration a backup holds, validated.
    pub fn read_backup(&self, id: &str) -> Result<Config, StoreError> {
        let path = self.backup_path(id)?;
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::UnknownBackup { id: id.to_string() });
            }
            Err(e) => return Err(io("read", &path)(e)),
        };
        Config::from_toml_bytes(&bytes)
            .map_err(|e| StoreError::Invalid(e.with_source_name(path.display().to_string())))
    }

    /// Restores backup `id` through [`ConfigStore::save`], so the current
    /// file is backed up first.
    pub fn rollback(&self, id: &str) -> Result<SaveReport, StoreError> {
        let config = self.read_backup(id)?;
        self.save(&config, None)
    }

    fn backup_path(&self, id: &str) -> Result<PathBuf, StoreError> {
        // Ids are timestamps; anything else (a path, "..") is unknown.
        if parse_id(id).is_none() {
            return Err(StoreError::UnknownBackup { id: id.to_string() });
        }
        Ok(self
            .backups_dir()
            .join(format!("{BACKUP_PREFIX}{id}{BACKUP_SUFFIX}")))
    }

    fn write_backup(&self, bytes: &[u8]) -> Result<String, StoreError> {
        let dir = self.backups_dir();
        fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let mut now = Utc::now();
        loop {
            let id = now.format(ID_FORMAT).to_string();
            let path = self.backup_path(&id)?;
            if !path.exists() {
                write_atomically(&path, bytes)?;
                return Ok(id);
            }
            // Two saves in one millisecond: take the next free millisecond.
            now += chrono::Duration::milliseconds(1);
        }
    }

    fn prune(&self, keep: usize) -> Result<(), StoreError> {
        for old in self.backups()?.into_iter().skip(keep) {
            let path = self.backup_path(&old.id)?;
            fs::remove_file(&path).map_err(io("delete", &path))?;
        }
        Ok(())
    }
}

fn parse_id(id: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(id.strip_suffix('Z')?, "%Y%m%dT%H%M%S%.3f").ok()?;
    let time = naive.and_utc();
    (time.format(ID_FORMAT).to_string() == id).then_some(time)
}

/// Writes `bytes` to `path` so that a crash leaves the old or the new file,
/// never a mix: temp file in the same directory, fsync, rename, fsync dir.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path
        .file_name()
        .map_or_else(|| "config".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
        file.write_all(bytes).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("fsync", &tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io("rename into place", path))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io("fsync directory", &dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Removes temp files left by saves whose process died mid-write (killed
/// between create and rename). A temp file names its writer's pid; one whose
/// pid is gone is garbage. Best effort: a failure here never fails a save.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file
            .strip_prefix('.')
            .and_then(|f| f.split_once(".tmp-"))
            .map(|(_, rest)| rest)
        else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The config rendered whole: the commented default file with every value
/// set to `config`'s.
fn render_full(config: &Config) -> String {
    let mut doc: DocumentMut = default_file_text()
        .parse()
        .unwrap_or_else(|_| DocumentMut::new());
    for change in diff(&Config::default(), config) {
        set_path(&mut doc, &change.path, &change.new);
    }
    doc.to_string()
}

/// Sets a dotted key path in `doc`, keeping the old value's comments and
/// spacing; missing tables and keys are created.
fn set_path(doc: &mut DocumentMut, path: &str, value: &Json) {
    let Some(new) = to_toml(value) else { return };
    let mut keys: Vec<&str> = path.split('.').collect();
    let Some(leaf) = keys.pop() else { return };
    let mut table: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for key in keys {
        if table.get(key).and_then(Item::as_table_like).is_none() {
            let mut t = Table::new();
            t.set_implicit(false);
            table.insert(key, Item::Table(t));
        }
        let Some(next) = table.get_mut(key).and_then(Item::as_table_like_mut) else {
            return;
        };
        table = next;
    }
    match table.get_mut(leaf).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = new;
            *old.decor_mut() = decor;
        }
        None => {
            table.insert(leaf, Item::Value(new));
        }
    }
}

fn to_toml(value: &Json) -> Option<Value> {
    Some(match value {
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) if n.is_i64() => Value::from(n.as_i64()?),
        Json::Number(n) => Value::from(n.as_f64()?),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => {
            let mut array = toml_edit::Array::new();
            for item in items {
                array.push(to_toml(item)?);
            }
            Value::Array(array)
        }
        Json::Null | Json::Object(_) => return None,
    })
}
