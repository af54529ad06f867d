//! The journal's storage health: whether the journal can be relied on for
//! a new entry now, and why not.
//!
//! Two things make it unfit: the data directory's filesystem running low
//! (free space under `[storage] min_free_mb`), and a journal write failing
//! with a storage error (a full disk, a read-only remount, an I/O error).
//! Either way the entry gate refuses new entries (`journal_degraded`) while
//! exits, working orders, fills and commissions go on, and readiness says
//! so. Every write goes through [`HealthJournal`], which tells
//! [`StorageHealth`] how it went; the [`monitor`] task looks at the free
//! space once a second, publishes `journal.degraded` and
//! `journal.recovered`, and keeps the reserve.
//!
//! The reserve is a file of `[storage] reserve_mb` in the data directory,
//! written while there is room. When a write finds the disk full it is
//! deleted at once: SQLite then has that much room for the records that
//! must not be lost (fills, commissions, order ends, and the exit orders
//! that take the engine out of the market, which are journaled before they
//! are sent like every order). It is written again once the filesystem has
//! room for it and the free-space floor; only then, and after a write has
//! gone through, does the journal count as healthy again. The records that
//! could not be written meanwhile are retried in order until they are
//! ([`crate::orders::spawn_order_recorder`]), and after a crash recovery
//! takes them from the gateway.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::watch;
use tracing::{info, warn};
use vspread_core::clock::Clock;
use vspread_core::config::StorageConfig;
use vspread_core::journal::{
    EventQuery, FillRecord, Journal, JournalError, JournalEvent, JournaledOrder, OrderEnd,
    OrderQuery, OrderRecord, SpreadClosure, SpreadRecord,
};

use crate::events::{EngineEvent, EventBus, JournalDegraded, JournalRecovered};
use crate::live_config::LiveConfig;

/// The reserve's file name inside the data directory.
pub const RESERVE_FILE: &str = "journal.reserve";

const MB: u64 = 1024 * 1024;

/// How often the monitor looks at the filesystem.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// Why the journal cannot be relied on for a new entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Degraded {
    /// The data directory's filesystem has less free space than the floor
    /// (`storage.min_free_mb`) plus what the reserve lacks.
    LowSpace {
        free_bytes: u64,
        min_free_bytes: u64,
    },
    /// A journal write failed with a storage error (and none has gone
    /// through since, with room on the disk).
    WriteFailed { error: String },
}

impl std::fmt::Display for Degraded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Degraded::LowSpace {
                free_bytes,
                min_free_bytes,
            } => write!(
                f,
                "the data dir has {:.1} MB free, under the {:.1} MB needed (storage.min_free_mb and the reserve, storage.reserve_mb)",
                *free_bytes as f64 / MB as f64,
                *min_free_bytes as f64 / MB as f64
            ),
            Degraded::WriteFailed { error } => write!(f, "a journal write failed: {error}"),
        }
    }
}

/// The journal's storage as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StorageStatus {
    /// Why new entries are refused, if they are.
    pub degraded: Option<Degraded>,
    /// Since when (the engine's clock).
    pub degraded_since: Option<DateTime<Utc>>,
    /// Free space of the data directory's filesystem at the last look.
    pub free_bytes: Option<u64>,
    /// Bytes held in the reserve file now.
    pub reserve_bytes: u64,
    /// Journal writes that failed with a storage error, since start.
    pub write_errors: u64,
    /// Records waiting to be written again.
    pub pending_writes: u64,
}

#[derive(Debug, Default)]
struct State {
    low_space: Option<(u64, u64)>,
    /// The last storage error, while writes are failing.
    write_error: Option<String>,
    /// A write went through since the last failure.
    wrote_since_error: bool,
    degraded_since: Option<DateTime<Utc>>,
    free_bytes: Option<u64>,
    reserve_bytes: u64,
}

impl State {
    fn degraded(&self) -> Option<Degraded> {
        if let Some(error) = &self.write_error {
            return Some(Degraded::WriteFailed {
                error: error.clone(),
            });
        }
        self.low_space
            .map(|(free_bytes, min_free_bytes)| Degraded::LowSpace {
                free_bytes,
                min_free_bytes,
            })
    }
}

/// Shared by the journal wrapper, the gate, readiness and the monitor.
#[derive(Debug)]
pub struct StorageHealth {
    state: Mutex<State>,
    write_errors: AtomicU64,
    pending: AtomicU64,
    /// Bumped on every failed write, so the monitor reacts at once.
    failures: watch::Sender<u64>,
    /// The data directory (free space and the reserve live there); `None`:
    /// only write failures are watched.
    dir: Option<PathBuf>,
}

impl StorageHealth {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            write_errors: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            failures: watch::channel(0).0,
            dir,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Why a new entry must be refused now, if it must.
    pub fn degraded(&self) -> Option<Degraded> {
        self.lock().degraded()
    }

    pub fn status(&self) -> StorageStatus {
        let state = self.lock();
        StorageStatus {
            degraded: state.degraded(),
            degraded_since: state.degraded_since,
            free_bytes: state.free_bytes,
            reserve_bytes: state.reserve_bytes,
            write_errors: self.write_errors.load(Ordering::Relaxed),
            pending_writes: self.pending.load(Ordering::Relaxed),
        }
    }

    /// Records how a journal write went.
    fn observe<T>(&self, result: &Result<T, JournalError>) {
        match result {
            Ok(_) => {
                let mut state = self.lock();
                if state.write_error.is_some() {
                    state.wrote_since_error = true;
                }
            }
            Err(JournalError::Storage(error)) => {
                self.write_errors.fetch_add(1, Ordering::Relaxed);
                {
                    let mut state = self.lock();
                    state.write_error = Some(error.clone());
                    state.wrote_since_error = false;
                }
                self.failures.send_modify(|n| *n += 1);
            }
            // A record refused (a duplicate) says nothing about the disk.
            Err(_) => {}
        }
    }

    /// Records waiting to be written again (the order recorder's queue).
    pub fn set_pending(&self, n: usize) {
        self.pending.store(n as u64, Ordering::Relaxed);
    }

    /// The data directory's free space now, if it can be read.
    fn free_space(&self) -> Option<u64> {
        let dir = self.dir.as_ref()?;
        match rustix::fs::statvfs(dir) {
            Ok(s) => Some(s.f_bavail.saturating_mul(s.f_frsize)),
            Err(e) => {
                warn!(dir = %dir.display(), error = %e, "cannot read the data dir's free space");
                None
            }
        }
    }
}

/// A [`Journal`] that tells [`StorageHealth`] how each write went.
#[derive(Debug)]
pub struct HealthJournal {
    inner: Arc<dyn Journal>,
    health: Arc<StorageHealth>,
}

impl HealthJournal {
    pub fn new(inner: Arc<dyn Journal>, health: Arc<StorageHealth>) -> Self {
        Self { inner, health }
    }

    fn seen<T>(&self, result: Result<T, JournalError>) -> Result<T, JournalError> {
        self.health.observe(&result);
        result
    }
}

impl Journal for HealthJournal {
    fn record_order(&self, order: &JournaledOrder) -> Result<(), JournalError> {
        self.seen(self.inner.record_order(order))
    }

    fn record_order_event(
        &self,
        event: &vspread_core::OrderEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, JournalError> {
        self.seen(self.inner.record_order_event(event, at))
    }

    fn record_order_end(&self, order_ref: &str, end: &OrderEnd) -> Result<(), JournalError> {
        self.seen(self.inner.record_order_end(order_ref, end))
    }

    fn record_closure(&self, closure: &SpreadClosure) -> Result<(), JournalError> {
        self.seen(self.inner.record_closure(closure))
    }

    fn record_event(&self, event: &JournalEvent) -> Result<(), JournalError> {
        self.seen(self.inner.record_event(event))
    }

    fn record_decision(
        &self,
        decision: &vspread_core::journal::JournalDecision,
    ) -> Result<(), JournalError> {
        self.seen(self.inner.record_decision(decision))
    }

    fn decisions(
        &self,
        query: &vspread_core::journal::DecisionQuery,
    ) -> Result<Vec<vspread_core::journal::JournalDecision>, JournalError> {
        self.inner.decisions(query)
    }

    fn orders(&self) -> Result<Vec<OrderRecord>, JournalError> {
        self.inner.orders()
    }

    fn fills(&self) -> Result<Vec<FillRecord>, JournalError> {
        self.inner.fills()
    }

    fn spreads(&self) -> Result<Vec<SpreadRecord>, JournalError> {
        self.inner.spreads()
    }

    fn events(&self, query: &EventQuery) -> Result<Vec<JournalEvent>, JournalError> {
        self.inner.events(query)
    }

    fn orders_page(&self, query: &OrderQuery) -> Result<Vec<OrderRecord>, JournalError> {
        self.inner.orders_page(query)
    }

    fn fills_of(&self, order_refs: &[String]) -> Result<Vec<FillRecord>, JournalError> {
        self.inner.fills_of(order_refs)
    }

    fn open_spreads(&self) -> Result<Vec<SpreadRecord>, JournalError> {
        self.inner.open_spreads()
    }

    fn closed_spreads(&self, limit: usize) -> Result<Vec<SpreadRecord>, JournalError> {
        self.inner.closed_spreads(limit)
    }

    fn realised_total(&self) -> Result<rust_decimal::Decimal, JournalError> {
        self.inner.realised_total()
    }

    fn traded_con_ids(
        &self,
    ) -> Result<std::collections::BTreeSet<vspread_core::ConId>, JournalError> {
        self.inner.traded_con_ids()
    }

    fn probe(&self) -> Result<(), JournalError> {
        self.inner.probe()
    }

    fn sync_timings(&self) -> vspread_core::journal::SyncTimings {
        self.inner.sync_timings()
    }
}

/// Writes the reserve file up to `bytes` (or removes it for 0); returns
/// the bytes it holds.
fn fill_reserve(path: &Path, bytes: u64) -> std::io::Result<u64> {
    use std::io::Write as _;
    if bytes == 0 {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        return Ok(0);
    }
    let have = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if have == bytes {
        return Ok(have);
    }
    // Written out, not `set_len`: a sparse file holds no space.
    let tmp = path.with_extension("reserve.tmp");
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        let chunk = vec![0u8; MB as usize];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(MB);
            file.write_all(&chunk[..n as usize])?;
            left -= n;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(bytes)
}

fn release_reserve(path: &Path) -> u64 {
    let had = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    match std::fs::remove_file(path) {
        Ok(()) => had,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => {
            warn!(path = %path.display(), error = %e, "cannot release the journal's reserve");
            0
        }
    }
}

/// Watches the storage until dropped: the free space once a second, a
/// failed write at once. Releases the reserve when a write fails, writes
/// it back once there is room, and publishes every change of verdict.
pub async fn monitor(
    health: Arc<StorageHealth>,
    live: Arc<LiveConfig>,
    events: Arc<EventBus>,
    clock: Arc<dyn Clock>,
) {
    let mut failures = health.failures.subscribe();
    let reserve = health.dir.as_ref().map(|d| d.join(RESERVE_FILE));
    if let Some(path) = &reserve {
        // A reserve left by an earlier run counts as held.
        health.lock().reserve_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    let mut published: Option<Degraded> = None;
    let mut since = Instant::now();
    loop {
        let config = live.current().config.storage.clone();
        look(&health, &config, reserve.as_deref());
        let verdict = health.degraded();
        let changed = match (&published, &verdict) {
            (None, None) => false,
            (Some(a), Some(b)) => std::mem::discriminant(a) != std::mem::discriminant(b),
            _ => true,
        };
        if changed {
            publish(
                &health,
                &events,
                &clock,
                published.as_ref(),
                verdict.as_ref(),
                since.elapsed(),
            );
            if published.is_none() {
                since = Instant::now();
            }
            published = verdict;
        }
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            changed = failures.changed() => if changed.is_err() { return },
        }
    }
}

/// One look: a failed write releases the reserve; a write that went
/// through since ends the failure; the reserve is written back once there
/// is room for it above the floor; and the space is low while the free
/// space is under the floor plus what the reserve lacks.
fn look(health: &StorageHealth, config: &StorageConfig, reserve: Option<&Path>) {
    let floor = u64::try_from(config.min_free_mb).unwrap_or(0) * MB;
    let wanted = u64::try_from(config.reserve_mb).unwrap_or(0) * MB;
    let failing = {
        let mut state = health.lock();
        if state.write_error.is_some() && state.wrote_since_error {
            info!("journal writes go through again");
            state.write_error = None;
            state.wrote_since_error = false;
        }
        state.write_error.is_some()
    };
    let mut held = health.lock().reserve_bytes;
    if let Some(path) = reserve {
        if failing && held > 0 {
            // Room at once for what must be written.
            let freed = release_reserve(path);
            warn!(
                freed_mb = freed as f64 / MB as f64,
                "a journal write failed: the reserve is released for exits and fills"
            );
            held = 0;
        } else if !failing
            && held != wanted
            && let Some(free) = health.free_space()
            && (wanted < held || free >= floor + (wanted - held))
        {
            held = match fill_reserve(path, wanted) {
                Ok(held) => held,
                Err(e) => {
                    warn!(error = %e, "cannot write the journal's reserve");
                    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
                }
            };
        }
    }
    let free = health.free_space();
    let mut state = health.lock();
    state.reserve_bytes = held;
    state.free_bytes = free;
    let needed = floor + wanted.saturating_sub(held);
    state.low_space = free.filter(|f| *f < needed).map(|f| (f, needed));
}

fn publish(
    health: &StorageHealth,
    events: &EventBus,
    clock: &Arc<dyn Clock>,
    was: Option<&Degraded>,
    now: Option<&Degraded>,
    lasted: Duration,
) {
    let status = health.status();
    {
        let mut state = health.lock();
        state.degraded_since = now.map(|_| state.degraded_since.unwrap_or_else(|| clock.now()));
    }
    match now {
        Some(reason) => {
            warn!(%reason, "journal degraded: new entries are refused");
            events.publish(
                format!("journal degraded, new entries refused: {reason}"),
                EngineEvent::JournalDegraded(JournalDegraded {
                    degraded: reason.clone(),
                    free_bytes: status.free_bytes,
                    reserve_bytes: status.reserve_bytes,
                    write_errors: status.write_errors,
                }),
            );
        }
        None => {
            info!("journal healthy again: new entries allowed");
            events.publish(
                format!(
                    "journal healthy again after {:.0} s ({}); new entries allowed",
                    lasted.as_secs_f64(),
                    was.map_or_else(String::new, ToString::to_string)
                ),
                EngineEvent::JournalRecovered(JournalRecovered {
                    degraded_for_s: lasted.as_secs_f64(),
                    free_bytes: status.free_bytes,
                    write_errors: status.write_errors,
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_error_degrades_until_a_write_goes_through() {
        let health = StorageHealth::new(None);
        assert_eq!(health.degraded(), None);
        health.observe::<()>(&Err(JournalError::Refused("duplicate".into())));
        assert_eq!(health.degraded(), None, "a refusal is not a disk problem");
        health.observe::<()>(&Err(JournalError::Storage(
            "database or disk is full".into(),
        )));
        assert!(matches!(
            health.degraded(),
            Some(Degraded::WriteFailed { ref error }) if error.contains("disk is full")
        ));
        assert_eq!(health.status().write_errors, 1);
        let config = StorageConfig::default();
        look(&health, &config, None);
        assert!(health.degraded().is_some(), "no write has gone through yet");
        health.observe(&Ok(()));
        look(&health, &config, None);
        assert_eq!(health.degraded(), None);
    }

    #[test]
    fn low_space_degrades_and_the_reserve_is_kept_written_and_given_back() {
        let dir = tempfile::tempdir().unwrap();
        let health = StorageHealth::new(Some(dir.path().to_path_buf()));
        let path = dir.path().join(RESERVE_FILE);
        let mut config = StorageConfig {
            min_free_mb: 0,
            reserve_mb: 2,
            ..StorageConfig::default()
        };
        look(&health, &config, Some(&path));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * MB);
        assert_eq!(health.degraded(), None);
        // A floor no disk has: low space.
        config.min_free_mb = 1_000_000;
        look(&health, &config, Some(&path));
        assert!(matches!(
            health.degraded(),
            Some(Degraded::LowSpace { min_free_bytes, .. }) if min_free_bytes == 1_000_000 * MB
        ));
        config.min_free_mb = 0;
        // A failed write releases the reserve; it comes back once a write
        // has gone through.
        health.observe::<()>(&Err(JournalError::Storage("disk I/O error".into())));
        look(&health, &config, Some(&path));
        assert!(!path.exists(), "released");
        assert!(health.degraded().is_some());
        health.observe(&Ok(()));
        look(&health, &config, Some(&path));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 2 * MB);
        assert_eq!(health.degraded(), None);
        // reserve_mb = 0 removes it.
        config.reserve_mb = 0;
        look(&health, &config, Some(&path));
        assert!(!path.exists());
    }
}
