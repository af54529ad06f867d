//! Applying a configuration while the engine runs: the one path every GUI
//! edit, rollback and kill-switch record takes.
//!
//! Apply = validate (before touching anything, so a refused apply interrupts
//! nothing and writes nothing), back up and write atomically through the
//! [`ConfigStore`], then hold new decision cycles back only while the new
//! snapshot is swapped in (and, when a `reconnect` key changed, while the
//! broker reconnects with it), then resume. Nothing waits for a decision
//! cycle or a working order: a cycle already running finishes on the
//! snapshot it started with, and working orders keep the plan they were
//! issued with. The interruption is measured and reported with each apply,
//! with how each changed key takes effect (`live`, `reconnect`, `restart`),
//! and each apply is audited (who, when, which keys) on the event stream.
//!
//! Applies are serialised (one save and swap at a time), so the file and the
//! snapshot in force move forward together.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value as Json;
use vspread_core::broker::Broker;
use vspread_core::config::{ApplyClass, Config, ConfigErrors, KeyChange, diff};

use crate::config_store::{BackupInfo, ConfigStore, SaveReport, StoreError};
use crate::control::ControlPlane;
use crate::events::{
    ConfigApplied, ConfigApplyRefused, EngineEvent, EventBus, GatewayReconfigured,
};
use crate::live_config::LiveConfig;

/// The broker's part of an apply that changed a `reconnect` key.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReconnectReport {
    /// The `reconnect` keys that changed.
    pub keys: Vec<String>,
    /// Where the broker connects now.
    pub address: String,
    /// From the reconnect's start to the link being ready; `None` when it
    /// was not ready within `[ibkr] connect_timeout_s` (it keeps trying).
    pub ready_after_ms: Option<f64>,
}

/// What an apply did and how long each step took.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApplyReport {
    /// The new content version (the next `If-Match`).
    pub version: String,
    pub generation: u64,
    /// The backup of the file that was replaced (none when nothing changed).
    pub backup_id: Option<String>,
    /// Each key changed, with how it takes effect.
    pub changes: Vec<KeyChange>,
    /// Step timings in milliseconds: validate, save, swap, reconnect,
    /// interruption.
    pub timings_ms: BTreeMap<String, f64>,
    /// Seconds new decision cycles were held back.
    pub interruption_s: f64,
    /// False when the engine was paused before and stays paused.
    pub engine_resumed: bool,
    /// The broker's reconnect, when a `reconnect` key changed.
    pub reconnect: Option<ReconnectReport>,
    /// Keys saved that take effect only after a restart.
    pub restart_required: Vec<String>,
}

/// A backup and what the save that took it changed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BackupChanges {
    /// Sortable UTC timestamp, such as `20261122T114501.123Z`.
    pub id: String,
    /// When the backup was taken (wall time, UTC).
    pub time: DateTime<Utc>,
    /// Size of the backed-up file in bytes.
    pub size: u64,
    /// The keys that differ between this backup and the next version
    /// (what rolling back to it would undo); none when this backup or the
    /// next one cannot be read.
    pub changes: Option<Vec<KeyChange>>,
    /// Why this backup cannot be read, if it cannot.
    pub unreadable: Option<String>,
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

/// Owns the apply path; shared by the admin API, the kill switch and the
/// CLI.
pub struct ConfigService {
    pub store: ConfigStore,
    pub live: Arc<LiveConfig>,
    pub control: Arc<ControlPlane>,
    pub events: Arc<EventBus>,
    /// Told of every applied config, so `[pacing]`, the line budget and the
    /// `reconnect` keys reach the connection; none in config-only tools.
    pub broker: Option<Arc<dyn Broker>>,
    /// One save and swap at a time.
    serial: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for ConfigService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigService")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// How an apply was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Apply,
    Rollback,
}

impl ConfigService {
    pub fn new(
        store: ConfigStore,
        live: Arc<LiveConfig>,
        control: Arc<ControlPlane>,
        events: Arc<EventBus>,
        broker: Option<Arc<dyn Broker>>,
    ) -> Self {
        Self {
            store,
            live,
            control,
            events,
            broker,
            serial: tokio::sync::Mutex::new(()),
        }
    }

    /// Applies `new` if the file is still at `expected_version`. A refusal
    /// is published (`config.apply_refused`) as well as returned, so a
    /// trader watching the event stream, or the desktop app's
    /// notifications, learns of it whoever sent the apply.
    pub async fn apply(
        &self,
        new: Config,
        expected_version: &str,
        who: &str,
    ) -> Result<ApplyReport, ApplyError> {
        let result = self.apply_unpublished(new, expected_version, who).await;
        self.publish_refusal(&result, "apply", who);
        result
    }

    async fn apply_unpublished(
        &self,
        new: Config,
        expected_version: &str,
        who: &str,
    ) -> Result<ApplyReport, ApplyError> {
        let t0 = Instant::now();
        new.validate().map_err(ApplyError::Invalid)?;
        crate::notify::secrets::check(&new, self.live.path()).map_err(ApplyError::Invalid)?;
        let validate = t0.elapsed();
        let _serial = self.serial.lock().await;
        let current = self.live.current();
        if current.version != expected_version {
            return Err(ApplyError::Stale {
                current: current.version.clone(),
            });
        }
        let saved = {
            let _applying = self.live.begin_apply();
            let saved = self.store.save(&new, Some(expected_version))?;
            self.swap(new, saved, who, Source::Apply, validate, t0)
                .await
        };
        Ok(saved)
    }

    /// Restores backup `id` through the same path (the current file is
    /// backed up first, so a rollback can itself be rolled back).
    pub async fn rollback(&self, id: &str, who: &str) -> Result<ApplyReport, ApplyError> {
        let result = self.rollback_unpublished(id, who).await;
        self.publish_refusal(&result, "rollback", who);
        result
    }

    async fn rollback_unpublished(&self, id: &str, who: &str) -> Result<ApplyReport, ApplyError> {
        let t0 = Instant::now();
        let config = self.store.read_backup(id)?;
        crate::notify::secrets::check(&config, self.live.path()).map_err(ApplyError::Invalid)?;
        let validate = t0.elapsed();
        let _serial = self.serial.lock().await;
        let expected = self.live.current().version.clone();
        let _applying = self.live.begin_apply();
        let saved = self.store.save(&config, Some(&expected))?;
        Ok(self
            .swap(config, saved, who, Source::Rollback, validate, t0)
            .await)
    }

    fn publish_refusal(&self, result: &Result<ApplyReport, ApplyError>, action: &str, who: &str) {
        let Err(error) = result else { return };
        let (reason, errors) = match error {
            ApplyError::Invalid(e) => ("invalid", e.errors.iter().map(|e| e.to_string()).collect()),
            ApplyError::Stale { .. } => ("stale", Vec::new()),
            ApplyError::NoSuchBackup(_) => ("no_such_backup", Vec::new()),
            ApplyError::Store(_) => ("store", Vec::new()),
        };
        tracing::warn!(%who, action, reason, "audit: config {action} refused: {error}");
        self.events.publish(
            format!("{who}'s {action} was refused: {error}"),
            EngineEvent::ConfigApplyRefused(ConfigApplyRefused {
                who: who.to_string(),
                action: action.to_string(),
                reason: reason.to_string(),
                message: error.to_string(),
                errors,
            }),
        );
    }

    /// Sets one key on the file as it is now (a read-modify-write under the
    /// store's lock, so it never conflicts with an edit made meanwhile) and
    /// swaps it in: how the kill switch is recorded.
    pub async fn set_key(
        &self,
        path: &str,
        value: Json,
        who: &str,
    ) -> Result<ApplyReport, ApplyError> {
        let t0 = Instant::now();
        let _serial = self.serial.lock().await;
        let _applying = self.live.begin_apply();
        let saved = self.store.set(path, value)?;
        let config = self.store.load()?.config;
        Ok(self
            .swap(config, saved, who, Source::Apply, Duration::ZERO, t0)
            .await)
    }

    pub fn backups(&self) -> Result<Vec<BackupInfo>, ApplyError> {
        Ok(self.store.backups()?)
    }

    /// Backups, newest first, each with the keys the save that took it
    /// changed: its values against the next version's (the next newer
    /// backup's, or the file in force for the newest), so an operator sees
    /// what rolling back to it would undo.
    pub fn backups_with_changes(&self) -> Result<Vec<BackupChanges>, ApplyError> {
        let backups = self.store.backups()?;
        let mut newer: Option<Config> = Some(self.live.current().config.as_ref().clone());
        let mut out = Vec::with_capacity(backups.len());
        for info in backups {
            let read = self.store.read_backup(&info.id);
            let (changes, unreadable) = match (&read, &newer) {
                (Ok(this), Some(next)) => (Some(diff(this, next)), None),
                (Ok(_), None) => (None, None),
                (Err(e), _) => (None, Some(e.to_string())),
            };
            newer = read.ok();
            out.push(BackupChanges {
                id: info.id,
                time: info.time,
                size: info.size,
                changes,
                unreadable,
            });
        }
        Ok(out)
    }

    /// Swaps a saved config in, with new cycles held back meanwhile; the
    /// broker takes up its values in the same pause.
    async fn swap(
        &self,
        new: Config,
        saved: SaveReport,
        who: &str,
        source: Source,
        validate: Duration,
        t0: Instant,
    ) -> ApplyReport {
        let save = t0.elapsed().saturating_sub(validate);
        let reconnect_keys: Vec<String> = saved
            .changes
            .iter()
            .filter(|c| c.applies == ApplyClass::Reconnect)
            .map(|c| c.path.clone())
            .collect();
        let broker_keys = saved.changes.iter().any(|c| {
            c.applies == ApplyClass::Reconnect
                || c.path.starts_with("pacing.")
                || c.path.starts_with("market_data.max_lines")
                || c.path.starts_with("ibkr.")
        });
        let ((swap, broker), interruption) = self
            .control
            .while_paused(async {
                let t = Instant::now();
                self.live.publish(new.clone(), saved.version.clone());
                let swap = t.elapsed();
                let broker = match (&self.broker, broker_keys) {
                    (Some(broker), true) => {
                        let t = Instant::now();
                        let done = broker.apply_config(&new).await;
                        Some((t.elapsed(), done))
                    }
                    _ => None,
                };
                (swap, broker)
            })
            .await;
        let snapshot = self.live.current();
        let mut timings = BTreeMap::new();
        timings.insert("validate".to_string(), ms(validate));
        timings.insert("save".to_string(), ms(save));
        timings.insert("swap".to_string(), ms(swap));
        timings.insert("pause_wait".to_string(), ms(interruption.pause_wait));
        timings.insert("interruption".to_string(), ms(interruption.total));
        let mut reconnect = None;
        if let Some((took, done)) = broker {
            timings.insert("broker".to_string(), ms(took));
            if !reconnect_keys.is_empty() {
                let status = self.broker.as_ref().map(|b| b.link_status());
                let report = ReconnectReport {
                    keys: reconnect_keys.clone(),
                    address: status.map(|s| s.address).unwrap_or_default(),
                    ready_after_ms: done.ok().and_then(|d| d.ready_after).map(ms),
                };
                self.events.publish(
                    format!(
                        "the broker reconnected to {} for {}",
                        report.address,
                        reconnect_keys.join(", ")
                    ),
                    EngineEvent::GatewayReconfigured(GatewayReconfigured {
                        keys: report.keys.clone(),
                        address: report.address.clone(),
                        ready_after_ms: report.ready_after_ms,
                    }),
                );
                reconnect = Some(report);
            }
        }
        let keys: Vec<&str> = saved.changes.iter().map(|c| c.path.as_str()).collect();
        let restart_required: Vec<String> = saved
            .changes
            .iter()
            .filter(|c| c.applies == ApplyClass::Restart)
            .map(|c| c.path.clone())
            .collect();
        tracing::info!(%who, changed = %keys.join(", "), backup = ?saved.backup_id, "audit: config {}", match source {
            Source::Apply => "applied",
            Source::Rollback => "rolled back",
        });
        if !saved.changes.is_empty() {
            let data = ConfigApplied {
                who: who.to_string(),
                changes: saved.changes.clone(),
                backup_id: saved.backup_id.clone(),
                version: saved.version.clone(),
                interruption_ms: ms(interruption.total),
            };
            let message = format!("{who} changed {}", keys.join(", "));
            self.events.publish(
                message,
                match source {
                    Source::Apply => EngineEvent::ConfigApplied(data),
                    Source::Rollback => EngineEvent::ConfigRolledBack(data),
                },
            );
        }
        ApplyReport {
            version: saved.version,
            generation: snapshot.generation,
            backup_id: saved.backup_id,
            changes: saved.changes,
            timings_ms: timings,
            interruption_s: interruption.total.as_secs_f64(),
            engine_resumed: interruption.resumed,
            reconnect,
            restart_required,
        }
    }
}
