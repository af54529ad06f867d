//! Applying a configuration while the engine runs: the one path every GUI
//! edit, rollback and kill-switch change takes.
//!
//! Apply = validate (before touching anything, so a refused apply interrupts
//! nothing and writes nothing), back up and write atomically through the
//! [`ConfigStore`], then pause (in-flight cycles finish on the old
//! snapshot), swap the snapshot, resume. The write precedes the pause
//! because it is the slow, fsync-bound step and nothing a cycle reads
//! depends on it; so the interruption is the wait for in-flight cycles plus
//! a pointer swap. It is measured and reported with each apply, and each
//! apply is audited (who, when, which keys) on the event stream.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;
use vspread_core::config::{Config, ConfigErrors, KeyChange};

use crate::config_store::{BackupInfo, ConfigStore, StoreError};
use crate::control::ControlPlane;
use crate::events::EventBus;
use crate::live_config::LiveConfig;

/// What an apply did and how long each step took.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    /// The new content version (the next `If-Match`).
    pub version: String,
    pub generation: u64,
    /// The backup of the file that was replaced (none when nothing changed).
    pub backup_id: Option<String>,
    pub changes: Vec<KeyChange>,
    /// Step timings in milliseconds: validate, pause_wait, save, swap, interruption.
    pub timings_ms: BTreeMap<&'static str, f64>,
    /// Seconds new decision cycles were held back.
    pub interruption_s: f64,
    /// False when the engine was paused before and stays paused.
    pub engine_resumed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the config changed since it was read (current version {current})")]
    Stale { current: String },
    #[error("{0}")]
    Invalid(ConfigErrors),
    #[error("no backup with id {0:?}")]
    NoSuchBackup(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(errors) => ApplyError::Invalid(errors),
            StoreError::Stale { current, .. } => ApplyError::Stale { current },
            StoreError::UnknownBackup { id } => ApplyError::NoSuchBackup(id),
            other => ApplyError::Store(other),
        }
    }
}

/// Owns the apply path; shared by the admin API and the CLI.
#[derive(Debug)]
pub struct ConfigService {
    pub store: ConfigStore,
    pub live: Arc<LiveConfig>,
    pub control: Arc<ControlPlane>,
    pub events: Arc<EventBus>,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

impl ConfigService {
    /// Applies `new` if the file is still at `expected_version`.
    pub async fn apply(
        &self,
        new: Config,
        expected_version: &str,
        who: &str,
    ) -> Result<ApplyReport, ApplyError> {
        let t0 = Instant::now();
        new.validate().map_err(ApplyError::Invalid)?;
        let validate = t0.elapsed();
        let current = self.live.current();
        if current.version != expected_version {
            return Err(ApplyError::Stale {
                current: current.version.clone(),
            });
        }
        self.apply_validated(
            new,
            Some(expected_version.to_string()),
            who,
            "config.applied",
            validate,
        )
        .await
    }

    /// Restores backup `id` through the same path (the current file is
    /// backed up first, so a rollback can itself be rolled back).
    pub async fn rollback(&self, id: &str, who: &str) -> Result<ApplyReport, ApplyError> {
        let t0 = Instant::now();
        let config = self.store.read_backup(id)?;
        let validate = t0.elapsed();
        let expected = self.live.current().version.clone();
        self.apply_validated(config, Some(expected), who, "config.rolled_back", validate)
            .await
    }

    pub fn backups(&self) -> Result<Vec<BackupInfo>, ApplyError> {
        Ok(self.store.backups()?)
    }

    async fn apply_validated(
        &self,
        new: Config,
        expected: Option<String>,
        who: &str,
        kind: &str,
        validate: std::time::Duration,
    ) -> Result<ApplyReport, ApplyError> {
        // The durable steps (back up, atomic write, fsync) come before the
        // pause: they change nothing a decision cycle reads, and a failure
        // leaves the old file and the old snapshot in place without the
        // engine ever having stopped. The pause covers what cycles can
        // observe: in-flight cycles finish on the old snapshot, the new one
        // is swapped in, new cycles start on it.
        let t = Instant::now();
        // The watcher sees the saved file at once; it must leave the swap
        // to the pause below.
        let applying = self.live.begin_apply();
        let saved = self.store.save(&new, expected.as_deref())?;
        let save = t.elapsed();
        let (swap, interruption) = self
            .control
            .while_paused(async {
                let t = Instant::now();
                self.live.publish(new.clone(), saved.version.clone());
                t.elapsed()
            })
            .await;
        drop(applying);
        let snapshot = self.live.current();
        let mut timings = BTreeMap::new();
        timings.insert("validate", ms(validate));
        timings.insert("pause_wait", ms(interruption.pause_wait));
        timings.insert("save", ms(save));
        timings.insert("swap", ms(swap));
        timings.insert("interruption", ms(interruption.total));
        let keys: Vec<&str> = saved.changes.iter().map(|c| c.path.as_str()).collect();
        tracing::info!(%who, changed = %keys.join(", "), backup = ?saved.backup_id, "audit: {kind}");
        if !saved.changes.is_empty() {
            self.events.publish(
                kind,
                format!("{who} changed {}", keys.join(", ")),
                json!({
                    "who": who,
                    "changes": saved.changes,
                    "backup_id": saved.backup_id,
                    "version": saved.version,
                    "interruption_ms": ms(interruption.total),
                }),
            );
        }
        Ok(ApplyReport {
            version: saved.version,
            generation: snapshot.generation,
            backup_id: saved.backup_id,
            changes: saved.changes,
            timings_ms: timings,
            interruption_s: interruption.total.as_secs_f64(),
            engine_resumed: interruption.resumed,
        })
    }
}
