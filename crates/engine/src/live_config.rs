//! The running configuration: one immutable snapshot behind an atomic
//! pointer, replaced whole when `config.toml` changes.
//!
//! Readers call [`LiveConfig::current`] once per decision cycle and keep that
//! `Arc` for the whole cycle, so no decision ever mixes two versions and no
//! reader ever sees a torn config. A new version is read, parsed and
//! validated on the watcher's own thread, off the hot path, then swapped in
//! with one pointer store. An invalid file is refused: the running snapshot
//! stays and the error is kept as the "last reload error" for the API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use chrono::{DateTime, Utc};
use notify::{RecursiveMode, Watcher};
use tokio::sync::broadcast;
use vspread_core::config::{Config, ConfigErrors, KeyChange, LoadError, content_version, diff};

/// One version of the configuration as the process runs with it.
#[derive(Debug)]
pub struct ConfigSnapshot {
    /// Increases by one with every applied change, from 1 at start.
    pub generation: u64,
    /// Content version of the file this snapshot was read from.
    pub version: String,
    pub config: Arc<Config>,
    pub loaded_at: DateTime<Utc>,
}

/// Where a new snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOrigin {
    /// The process saved it (an apply, a rollback, the kill switch).
    Apply,
    /// The file changed on disk (an editor, SIGHUP).
    File,
}

/// What subscribers receive when a new snapshot is swapped in.
#[derive(Debug, Clone)]
pub struct ConfigChange {
    pub snapshot: Arc<ConfigSnapshot>,
    pub changes: Vec<KeyChange>,
    pub origin: ChangeOrigin,
}

/// A refused reload, kept until the next successful one.
#[derive(Debug, Clone)]
pub struct ReloadError {
    pub at: DateTime<Utc>,
    /// The file's content version that was refused (absent if unreadable).
    pub version: Option<String>,
    pub message: String,
    /// The individual errors, with key paths and line:column, when the file
    /// was readable.
    pub errors: Option<ConfigErrors>,
}

/// Held by an apply between saving the file and swapping it in.
#[derive(Debug)]
pub struct ApplyGuard<'a> {
    live: &'a LiveConfig,
}

impl Drop for ApplyGuard<'_> {
    fn drop(&mut self) {
        self.live.applying.store(false, Ordering::SeqCst);
        if let ReloadOutcome::Applied(_) = self.live.reload_from_disk() {
            tracing::info!("the file changed during an apply; that change is now in force");
        }
    }
}

/// What a reload attempt did.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The file's content is the running version's; nothing to do.
    Unchanged,
    /// An apply that saved the file is swapping it in under its pause;
    /// the file is looked at again when the apply ends.
    Deferred,
    /// The file parsed to the same configuration (a comment changed, say):
    /// the version moved on, no key changed, subscribers were not told.
    SameConfig,
    Applied(ConfigChange),
    Refused(ReloadError),
}

/// The shared handle to the running configuration.
#[derive(Debug)]
pub struct LiveConfig {
    path: PathBuf,
    current: ArcSwap<ConfigSnapshot>,
    last_error: ArcSwapOption<ReloadError>,
    generation: AtomicU64,
    changes: broadcast::Sender<ConfigChange>,
    /// Refused reloads, as they happen.
    refusals: broadcast::Sender<ReloadError>,
    /// Serialises reloads and publishes so two never interleave.
    apply_lock: std::sync::Mutex<()>,
    /// An apply has saved (or is saving) the file and swaps it in once the
    /// engine is paused: the watcher must not swap it in first, unpaused.
    applying: std::sync::atomic::AtomicBool,
}

impl LiveConfig {
    /// Loads `path` (which must exist and be valid) as the first snapshot.
    pub fn load(path: impl Into<PathBuf>) -> Result<Arc<Self>, LoadError> {
        let path = path.into();
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let config = Config::from_toml_bytes(&bytes)
            .and_then(|c| crate::notify::secrets::check(&c, &path).map(|()| c))
            .map_err(|e| LoadError::Invalid(e.with_source_name(path.display().to_string())))?;
        Ok(Arc::new(Self::with_config(
            path,
            config,
            content_version(&bytes),
        )))
    }

    /// A live config that starts from an already validated value.
    pub fn with_config(path: PathBuf, config: Config, version: String) -> Self {
        let (changes, _) = broadcast::channel(64);
        let (refusals, _) = broadcast::channel(16);
        Self {
            path,
            current: ArcSwap::from_pointee(ConfigSnapshot {
                generation: 1,
                version,
                config: Arc::new(config),
                loaded_at: Utc::now(),
            }),
            last_error: ArcSwapOption::empty(),
            generation: AtomicU64::new(1),
            changes,
            refusals,
            apply_lock: std::sync::Mutex::new(()),
            applying: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The snapshot in force now. Cheap (an atomic load and a refcount);
    /// hold the `Arc` for one decision cycle, not longer.
    pub fn current(&self) -> Arc<ConfigSnapshot> {
        self.current.load_full()
    }

    /// Receives every applied change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ConfigChange> {
        self.changes.subscribe()
    }

    /// Receives every refused reload from now on.
    pub fn subscribe_refusals(&self) -> broadcast::Receiver<ReloadError> {
        self.refusals.subscribe()
    }

    /// The last refused reload, cleared by the next successful one.
    pub fn last_reload_error(&self) -> Option<Arc<ReloadError>> {
        self.last_error.load_full()
    }

    /// An apply is about to save the file: reloads wait until the guard
    /// is dropped (the apply swapped its config in, failed, or was
    /// abandoned); the file is then read once, so an edit made meanwhile
    /// by someone else is not missed.
    pub fn begin_apply(&self) -> ApplyGuard<'_> {
        self.applying.store(true, Ordering::SeqCst);
        ApplyGuard { live: self }
    }

    /// Reads the file again and applies it if it is valid and different.
    pub fn reload_from_disk(&self) -> ReloadOutcome {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.applying.load(Ordering::SeqCst) {
            return ReloadOutcome::Deferred;
        }
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) => {
                return self.refuse(
                    None,
                    format!("cannot read {}: {e}", self.path.display()),
                    None,
                );
            }
        };
        let version = content_version(&bytes);
        if version == self.current.load().version {
            return ReloadOutcome::Unchanged;
        }
        // A notification target's secret is read where the file says it
        // is: a file naming a missing one is refused like a bad key.
        let checked = Config::from_toml_bytes(&bytes)
            .and_then(|c| crate::notify::secrets::check(&c, &self.path).map(|()| c));
        match checked {
            Ok(config) => self.swap_in(config, version, ChangeOrigin::File),
            Err(errors) => {
                let errors = errors.with_source_name(self.path.display().to_string());
                self.refuse(Some(version), errors.to_string(), Some(errors))
            }
        }
    }

    /// Makes an already validated configuration current: used after the
    /// process saved the file itself (the watcher then sees no change).
    pub fn publish(&self, config: Config, version: String) -> ReloadOutcome {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.swap_in(config, version, ChangeOrigin::Apply)
    }

    fn swap_in(&self, config: Config, version: String, origin: ChangeOrigin) -> ReloadOutcome {
        let old = self.current.load_full();
        let changes = diff(&old.config, &config);
        self.last_error.store(None);
        let generation = if changes.is_empty() {
            old.generation
        } else {
            self.generation.fetch_add(1, Ordering::SeqCst) + 1
        };
        let snapshot = Arc::new(ConfigSnapshot {
            generation,
            version,
            config: Arc::new(config),
            loaded_at: Utc::now(),
        });
        self.current.store(snapshot.clone());
        if changes.is_empty() {
            return ReloadOutcome::SameConfig;
        }
        let listed: Vec<String> = changes
            .iter()
            .map(|c| format!("{}: {} -> {}", c.path, c.old, c.new))
            .collect();
        tracing::info!(generation, changed = %listed.join(", "), "config reloaded");
        let change = ConfigChange {
            snapshot,
            changes,
            origin,
        };
        // No subscriber is not an error: the snapshot is current either way.
        let _ = self.changes.send(change.clone());
        ReloadOutcome::Applied(change)
    }

    fn refuse(
        &self,
        version: Option<String>,
        message: String,
        errors: Option<ConfigErrors>,
    ) -> ReloadOutcome {
        tracing::warn!(path = %self.path.display(), "config reload refused, keeping the running version: {message}");
        let error = ReloadError {
            at: Utc::now(),
            version,
            message,
            errors,
        };
        self.last_error.store(Some(Arc::new(error.clone())));
        let _ = self.refusals.send(error.clone());
        ReloadOutcome::Refused(error)
    }
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch {path}: {source}")]
    Notify {
        path: String,
        #[source]
        source: notify::Error,
    },
    #[error("cannot install the SIGHUP handler: {0}")]
    Signal(#[source] std::io::Error),
}

/// Options of [`watch`].
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Also reload on SIGHUP (the process-wide handler; one per process).
    pub sighup: bool,
    /// Quiet time after a file event before reading, so a multi-step write
    /// is read once, whole.
    pub settle: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            sighup: true,
            settle: Duration::from_millis(5),
        }
    }
}

/// Keeps the watcher alive; dropping it stops watching.
#[derive(Debug)]
pub struct WatchGuard {
    _watcher: notify::RecommendedWatcher,
    stop: mpsc::Sender<Trigger>,
    signals: Option<signal_hook::iterator::Handle>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        let _ = self.stop.send(Trigger::Stop);
        if let Some(h) = &self.signals {
            h.close();
        }
    }
}

#[derive(Debug)]
enum Trigger {
    FileEvent,
    Sighup,
    Stop,
}

/// Watches the config file's directory (editors replace files by rename, so
/// watching the file itself would lose it) and, optionally, SIGHUP; each
/// trigger reloads on a dedicated thread.
pub fn watch(live: Arc<LiveConfig>, options: WatchOptions) -> Result<WatchGuard, WatchError> {
    let (tx, rx) = mpsc::channel::<Trigger>();
    let file_name = live.path().file_name().map(|n| n.to_os_string());
    let dir = live
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let file_tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        if event
            .paths
            .iter()
            .any(|p| p.file_name().map(|n| n.to_os_string()) == file_name)
        {
            let _ = file_tx.send(Trigger::FileEvent);
        }
    })
    .map_err(|source| WatchError::Notify {
        path: dir.display().to_string(),
        source,
    })?;
    watcher
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|source| WatchError::Notify {
            path: dir.display().to_string(),
            source,
        })?;

    let signals = if options.sighup {
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
            .map_err(WatchError::Signal)?;
        let handle = signals.handle();
        let sig_tx = tx.clone();
        thread::Builder::new()
            .name("config-sighup".into())
            .spawn(move || {
                for _ in signals.forever() {
                    tracing::info!("SIGHUP received: reloading config");
                    if sig_tx.send(Trigger::Sighup).is_err() {
                        break;
                    }
                }
            })
            .map_err(WatchError::Signal)?;
        Some(handle)
    } else {
        None
    };

    let settle = options.settle;
    thread::Builder::new()
        .name("config-reload".into())
        .spawn(move || {
            while let Ok(trigger) = rx.recv() {
                if matches!(trigger, Trigger::Stop) {
                    break;
                }
                // Let a burst of events from one write settle, then read once.
                let mut stop = false;
                while let Ok(more) = rx.recv_timeout(settle) {
                    stop |= matches!(more, Trigger::Stop);
                }
                if stop {
                    break;
                }
                let _ = live.reload_from_disk();
            }
        })
        .map_err(WatchError::Signal)?;

    Ok(WatchGuard {
        _watcher: watcher,
        stop: tx,
        signals,
    })
}
