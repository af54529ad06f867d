//! The [`Engine`]: one handle on the whole trading stack, built by an
//! [`EngineBuilder`] from a broker, a journal, a clock and the live config.
//! `vspread run`, `vspread demo`, the admin server, the tests and the
//! benches all hold this handle: the server sees the engine only through it
//! (never the broker or the journal's implementation), and nobody wires the
//! parts by hand.
//!
//! What it wires: the event bus (stamped with the engine's clock, written
//! to the journal), the control plane, the order manager, the trader, the
//! config service (apply, rollback, the kill switch's record), the trading
//! views. What [`Engine::run`] runs, until its shutdown: the order recorder,
//! the config follower (the kill switch, logging and the broker follow
//! every new snapshot, and file edits are reported), the gateway watcher
//! (`gateway.lost` / `gateway.ready`), recovery against the gateway, then
//! the cycle loop; at shutdown, working orders are cancelled and their ends
//! journaled before it returns.

mod gauges;
mod health;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tracing::{info, warn};
use vspread_core::broker::{Broker, BrokerEvent, ConnectionEvent, LinkStatus};
use vspread_core::clock::Clock;
use vspread_core::config::{ApplyClass, Config, LoggingConfig};
use vspread_core::journal::{DecisionQuery, Journal, JournalDecision, JournalError};

pub use gauges::Gauges;
pub use health::{Check, Liveness, Readiness};

use crate::bars::{BarCache, BarsView};
use crate::config_service::{ApplyError, ApplyReport, BackupChanges, ConfigService};
use crate::config_store::{BackupInfo, ConfigStore};
use crate::control::{ControlPlane, EngineState, PauseReason};
use crate::cycle_loop::{CycleContext, CycleLoop, Heartbeat};
use crate::decision::record::{DecisionLog, DecisionRecord};
use crate::events::{
    ConfigReloadFailed, ConfigReloaded, ControlPaused, ControlResumed, EngineEvent, EngineStarted,
    EventBus, GatewayLost, GatewayReady, KillSwitchSet, OrderCancelRequested, PastEvent,
    RecoveryCompleted, read_back,
};
use crate::journal_io::JournalIo;
use crate::kpis::{JournalView, Kpis, Period};
use crate::live_config::{ChangeOrigin, ConfigChange, LiveConfig};
use crate::manual::{
    LimitSettings, ManualClosing, ManualError, ManualPlaced, OrderTicket, PreviewReport,
};
use crate::orders::{
    CancelReason, CancelRefused, OrderManager, TradingRecords, WorkingOrderView,
    spawn_order_recorder,
};
use crate::recovery::{publish_mismatch, recover};
use crate::storage::{HealthJournal, StorageHealth, StorageStatus};
use crate::trader::RiskUsage;
use crate::trader::{Trader, TraderParts};
use crate::views::TradingViews;
use crate::watch::WatchState;

/// Makes `[logging]` take effect; the binary owns the subscriber.
pub trait LogControl: Send + Sync {
    /// Applies a level and format; an error names what could not be done.
    fn apply(&self, logging: &LoggingConfig) -> Result<(), String>;
}

/// Why the engine could not run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the event bus already writes to a journal")]
    JournalAttached,
}

/// What engaging or releasing the kill switch did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct KillSwitchReport {
    pub engaged: bool,
    /// False when it already was as asked.
    pub changed: bool,
    /// Working entry orders whose cancel was sent at once.
    pub cancelled: Vec<String>,
    /// From the request to the cancels being asked for (milliseconds).
    pub cancel_ms: f64,
    /// The config file's record of it (`risk.kill_switch`), saved through
    /// the normal apply path; absent when it could not be saved.
    pub saved: Option<ApplyReport>,
    /// Why the record could not be saved (the switch holds regardless).
    pub save_error: Option<String>,
}

/// What pausing or resuming did.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ControlReport {
    pub state: EngineState,
    /// False when the engine already was in that state.
    pub changed: bool,
    /// A pause waits for nothing: about zero.
    pub waited_ms: f64,
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    live: Arc<LiveConfig>,
    broker: Arc<dyn Broker>,
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
    events_capacity: usize,
    logs: Option<Arc<dyn LogControl>>,
    data_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder").finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// The engine on `live` (whose file is the one applies save), trading
    /// through `broker`, recording in `journal`, on `clock`.
    pub fn new(
        live: Arc<LiveConfig>,
        broker: Arc<dyn Broker>,
        journal: Arc<dyn Journal>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            live,
            broker,
            journal,
            clock,
            events_capacity: DEFAULT_EVENTS_CAPACITY,
            logs: None,
            data_dir: None,
        }
    }

    /// Watches the free space of `dir` (the data directory, where the
    /// journal lives) and keeps the journal's reserve there (see
    /// [`crate::storage`]). Without it only failed writes are watched.
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Events kept in memory for late subscribers (default
    /// [`DEFAULT_EVENTS_CAPACITY`]).
    pub fn events_capacity(mut self, capacity: usize) -> Self {
        self.events_capacity = capacity;
        self
    }

    /// Applies `[logging]` through `logs` whenever it changes.
    pub fn logging(mut self, logs: Arc<dyn LogControl>) -> Self {
        self.logs = Some(logs);
        self
    }

    pub fn build(self) -> Result<Engine, EngineError> {
        // Every write, from every part, tells the storage health how it went.
        let storage = Arc::new(StorageHealth::new(self.data_dir));
        let watched: Arc<dyn Journal> = Arc::new(HealthJournal::new(self.journal, storage.clone()));
        let events = Arc::new(EventBus::new(self.events_capacity, self.clock.clone()));
        events
            .attach_journal(watched.clone())
            .map_err(|_| EngineError::JournalAttached)?;
        let journal = JournalIo::new(watched);
        let records = Arc::new(TradingRecords::new(journal.clone(), storage.clone()));
        let control = Arc::new(ControlPlane::new());
        control
            .kill_switch()
            .set(self.live.current().config.risk.kill_switch);
        let orders = Arc::new(OrderManager::with_records(
            self.broker.clone(),
            self.clock.clone(),
            records.clone(),
            events.clone(),
        ));
        let views = Arc::new(TradingViews::new());
        let decisions = Arc::new(DecisionLog::new(events.clone()));
        let watch = Arc::new(WatchState::default());
        let trader = Trader::new(TraderParts {
            broker: self.broker.clone(),
            clock: self.clock.clone(),
            events: events.clone(),
            journal: journal.clone(),
            orders: orders.clone(),
            control: control.clone(),
            views: views.clone(),
            decisions: decisions.clone(),
            watch: watch.clone(),
            storage: storage.clone(),
            records: records.clone(),
        });
        let background = self.broker.background();
        let config = ConfigService::new(
            ConfigStore::new(self.live.path()),
            self.live.clone(),
            control.clone(),
            events.clone(),
            Some(self.broker.clone()),
        );
        let built_on_clock = self.clock.now();
        Ok(Engine(Arc::new(Inner {
            built_on_clock,
            notify: Arc::default(),
            live: self.live,
            control,
            events,
            orders,
            trader,
            views,
            config,
            journal,
            broker: self.broker,
            clock: self.clock,
            heartbeat: Arc::new(Heartbeat::default()),
            started_at: Instant::now(),
            logs: self.logs,
            recovered: AtomicBool::new(false),
            health: health::HealthCache::default(),
            history: CycleHistory::default(),
            decisions,
            background,
            watch,
            bars: BarCache::new(),
            storage,
            records,
        })))
    }
}

struct Inner {
    /// When the engine was built, on its clock.
    built_on_clock: chrono::DateTime<chrono::Utc>,
    /// The notification targets' counts.
    notify: Arc<crate::notify::NotifyCounters>,
    live: Arc<LiveConfig>,
    control: Arc<ControlPlane>,
    events: Arc<EventBus>,
    orders: Arc<OrderManager>,
    trader: Trader,
    views: Arc<TradingViews>,
    config: ConfigService,
    journal: JournalIo,
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    heartbeat: Arc<Heartbeat>,
    started_at: Instant,
    logs: Option<Arc<dyn LogControl>>,
    /// Recovery has brought the journal and the gateway to agree.
    recovered: AtomicBool,
    health: health::HealthCache,
    history: CycleHistory,
    /// What each entry decision saw and decided.
    decisions: Arc<DecisionLog>,
    /// The broker's handle whose requests wait behind the trader's.
    background: Arc<dyn Broker>,
    /// The scanner watch's findings, and whether the trader quotes a chain.
    watch: Arc<WatchState>,
    /// Bars fetched for charts.
    bars: BarCache,
    /// Whether the journal can be relied on for new entries.
    storage: Arc<StorageHealth>,
    /// The trading record on its way to the journal.
    records: Arc<TradingRecords>,
}

/// The running engine, as everything outside it sees it. Cheap to clone.
#[derive(Clone)]
pub struct Engine(Arc<Inner>);

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

/// Events the bus keeps in memory by default: a page of the live view
/// (`GET /events` answers 200 by default) and a client's short reconnect
/// are served from memory; anything further back is read from the journal,
/// which keeps every event under the same number (see
/// [`crate::events::page_from`]). Memory's history is what a long run's
/// memory grows by in its first days (the demo fills 1,250 in about four
/// simulated days, 0.9 KB an event with the allocator's share), so it is
/// kept to what is read often.
pub const DEFAULT_EVENTS_CAPACITY: usize = 256;

/// How long a page of events read from the journal waits for the
/// journal's writer to catch up with what was published before it.
const EVENTS_FLUSH: Duration = Duration::from_secs(2);

/// How long a read of the decisions waits for the journal's writer to
/// catch up with the decisions made before it.
const DECISIONS_FLUSH: Duration = Duration::from_secs(2);

/// How long a stopping engine waits for its working orders' cancels.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Aborts a task when dropped.
struct Task(tokio::task::JoinHandle<()>);

/// The engine's background services; dropping it stops them.
pub struct Services(Vec<Task>);

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("tasks", &self.0.len())
            .finish()
    }
}

/// The last decision cycles, for the operator's views and for tests.
#[derive(Default)]
struct CycleHistory {
    cycles: std::sync::Mutex<std::collections::VecDeque<CycleContext>>,
    count: std::sync::atomic::AtomicU64,
}

impl CycleHistory {
    const KEEP: usize = 1000;

    fn record(&self, ctx: &CycleContext) {
        self.count.fetch_max(ctx.number, Ordering::SeqCst);
        let mut cycles = self.cycles.lock().unwrap_or_else(|e| e.into_inner());
        if cycles.len() == Self::KEEP {
            cycles.pop_front();
        }
        cycles.push_back(ctx.clone());
    }

    fn next_number(&self) -> u64 {
        self.count.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn last(&self) -> Option<CycleContext> {
        self.cycles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .back()
            .cloned()
    }

    fn all(&self) -> Vec<CycleContext> {
        self.cycles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Engine {
    /// Runs the engine until `shutdown` completes: recovery first (retried
    /// until the journal and the gateway agree), then one decision cycle
    /// every `[trading] scan_interval_s`. At shutdown every working order
    /// is cancelled and its end journaled (at most 10 s) before returning.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let e = &self.0;
        let services = self.start_services();
        self.announce_start();
        let recovered = tokio::select! {
            () = self.recover() => true,
            () = &mut shutdown => false,
        };
        if recovered {
            let watching = self.clone();
            let (stop_watch, watch_stopped) = tokio::sync::oneshot::channel::<()>();
            let watch = Task(tokio::spawn(async move {
                watching
                    .run_watch(async {
                        let _ = watch_stopped.await;
                    })
                    .await;
            }));
            let cycles = CycleLoop {
                clock: e.clock.clone(),
                control: e.control.clone(),
                config: e.live.clone(),
                events: e.events.clone(),
                heartbeat: e.heartbeat.clone(),
            };
            let engine = self.clone();
            cycles
                .run(
                    move |ctx| {
                        let engine = engine.clone();
                        async move { engine.decide(ctx).await }
                    },
                    &mut shutdown,
                )
                .await;
            let _ = stop_watch.send(());
            drop(watch);
        }
        let cancelled = e.orders.cancel_all(None, CancelReason::Shutdown);
        if !cancelled.is_empty() {
            info!(orders = %cancelled.join(", "), "stopping: cancelling working orders");
            if !e.orders.wait_idle(STOP_GRACE).await {
                warn!("orders still working after {STOP_GRACE:?}; the next start reconciles them");
            }
        }
        // Every order event the broker has published is journaled before
        // the process ends (the recorder's task is the first service);
        // dropping the services would abort it mid-queue.
        e.records.request_stop();
        if let Some(recorder) = services.0.into_iter().next() {
            let mut recorder = recorder;
            if tokio::time::timeout(STOP_GRACE, &mut recorder.0)
                .await
                .is_err()
            {
                warn!(
                    "the order recorder did not finish within {STOP_GRACE:?}; the next start's recovery takes the rest from the gateway"
                );
            }
        }
        // What was published is in the journal before the process ends.
        if !e.events.journal_written(Duration::from_secs(5)).await {
            warn!("the journal's event writer did not catch up within 5 s");
        }
        info!("engine stopped");
    }

    /// Journals the configuration the engine starts with (`engine.started`):
    /// the first entry of the config history a report reads.
    fn announce_start(&self) {
        let snapshot = self.0.live.current();
        self.0.events.publish(
            format!("engine started on config version {}", snapshot.version),
            EngineEvent::EngineStarted(EngineStarted {
                config_version: snapshot.version.clone(),
                config_generation: snapshot.generation,
                config: serde_json::to_value(&*snapshot.config).unwrap_or_default(),
            }),
        );
    }

    /// Whether a decision cycle is running now (for a driver that moves a
    /// manual clock only while the engine waits, as `vspread simulate`).
    pub fn cycle_running(&self) -> bool {
        self.0.heartbeat.cycle_running_for().is_some()
    }

    /// The services [`run`](Self::run) keeps beside the decisions: the order
    /// recorder (every order event to the journal), the config follower,
    /// the gateway watcher and the notifier. A tool or test that drives decisions by hand
    /// ([`decide_once`](Self::decide_once)) starts them with this; they stop
    /// when the guard is dropped.
    pub fn start_services(&self) -> Services {
        let e = &self.0;
        Services(vec![
            Task(spawn_order_recorder(
                &*e.broker,
                e.records.clone(),
                e.clock.clone(),
            )),
            Task(tokio::spawn(crate::storage::monitor(
                e.storage.clone(),
                e.live.clone(),
                e.events.clone(),
                e.clock.clone(),
            ))),
            Task(tokio::spawn(follow_config(self.clone()))),
            Task(tokio::spawn(watch_gateway(self.clone()))),
            Task(tokio::spawn(crate::notify::run(
                e.events.clone(),
                e.live.clone(),
                e.notify.clone(),
            ))),
        ])
    }

    /// Each notification target's counts (sent, failed, retried, dropped,
    /// queued), since the process started.
    pub fn notify_stats(&self) -> Vec<crate::notify::TargetStats> {
        self.0.notify.stats()
    }

    /// One decision cycle, recorded in the cycle history.
    async fn decide(&self, ctx: CycleContext) {
        self.0.history.record(&ctx);
        self.0.trader.cycle(&ctx).await;
    }

    /// Runs one decision cycle now, on the config in force, as the loop
    /// would (`session_active` says whether entries may be considered);
    /// returns once its decisions are handed over. For tools and tests
    /// that step the engine by hand (with [`start_services`](Self::start_services)
    /// and [`recover`](Self::recover) first).
    pub async fn decide_once(&self, session_active: bool) -> CycleContext {
        let snapshot = self.0.live.current();
        let token = self.0.control.enter_cycle().await;
        let ctx = CycleContext {
            number: self.0.history.next_number(),
            now: self.0.clock.now(),
            config: snapshot.config.clone(),
            config_generation: snapshot.generation,
            session_active,
            switched: None,
            token,
        };
        self.decide(ctx.clone()).await;
        ctx
    }

    /// Waits until no order is working, or `timeout` passes; returns
    /// whether none is.
    pub async fn wait_orders_idle(&self, timeout: Duration) -> bool {
        self.0.orders.wait_idle(timeout).await
    }

    /// The decision cycles run so far, oldest first (the last thousand).
    pub fn cycles(&self) -> Vec<CycleContext> {
        self.0.history.all()
    }

    /// Brings the journal and the gateway to agree and takes up the
    /// journal's open spreads; retried until it succeeds, as trading on a
    /// journal that disagrees with the account is not safe.
    pub async fn recover(&self) {
        let e = &self.0;
        loop {
            // Alive while waiting: a gateway outage is not a dead engine.
            e.heartbeat.beat();
            while !e.broker.is_ready() {
                e.heartbeat.beat();
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let report = match recover(&*e.broker, &e.journal, &*e.clock).await {
                Ok(report) => report,
                Err(err) => {
                    warn!(error = %err, "recovery failed; trying again in 5 s");
                    e.heartbeat.beat();
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
            };
            for leg in &report.mismatched_legs {
                publish_mismatch(&e.events, leg);
            }
            match e.trader.restore_from_journal().await {
                Ok(held) => {
                    e.events.publish(
                        format!(
                            "recovered: {} fills and {} commissions recorded, {} orders cancelled, {} settled, {held} spreads held",
                            report.fills_recorded,
                            report.commissions_recorded,
                            report.cancelled.len(),
                            report.settled.len()
                        ),
                        EngineEvent::RecoveryCompleted(RecoveryCompleted { report, held }),
                    );
                    e.recovered.store(true, Ordering::SeqCst);
                    return;
                }
                Err(err) => {
                    tracing::error!(error = %err, "the journal's spreads cannot be taken up; trying again in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    }

    // ------------------------------------------------------------ control

    pub fn state(&self) -> EngineState {
        self.0.control.state()
    }

    /// Why and since when the engine is paused, if it is.
    pub fn pause_reason(&self) -> Option<(PauseReason, Duration)> {
        self.0.control.pause_reason()
    }

    /// Pauses at once: no new decision; working orders go on.
    pub fn pause(&self, who: &str) -> ControlReport {
        let report = self.0.control.pause(PauseReason::Operator(who.to_string()));
        if report.newly_paused {
            tracing::info!(%who, "audit: engine paused");
            self.0.events.publish(
                format!("engine paused by {who}"),
                EngineEvent::ControlPaused(ControlPaused {
                    who: who.to_string(),
                    waited_ms: report.waited.as_secs_f64() * 1e3,
                }),
            );
        }
        ControlReport {
            state: self.state(),
            changed: report.newly_paused,
            waited_ms: report.waited.as_secs_f64() * 1e3,
        }
    }

    /// Lets decision cycles start again.
    pub fn resume(&self, who: &str) -> ControlReport {
        let changed = self.0.control.resume();
        if changed {
            tracing::info!(%who, "audit: engine resumed");
            self.0.events.publish(
                format!("engine resumed by {who}"),
                EngineEvent::ControlResumed(ControlResumed {
                    who: who.to_string(),
                }),
            );
        }
        ControlReport {
            state: self.state(),
            changed,
            waited_ms: 0.0,
        }
    }

    /// Engages or releases the kill switch. Engaging takes effect at once,
    /// whatever else is in flight: no entry is decided from this moment and
    /// every working entry order is cancelled; then it is recorded in the
    /// file (`risk.kill_switch`) through the normal save, which never
    /// conflicts with another edit (it sets the one key on the file as it
    /// is). A failed save leaves the switch as set and says so.
    pub async fn set_kill_switch(&self, engaged: bool, who: &str) -> KillSwitchReport {
        let e = &self.0;
        let started = Instant::now();
        let was = e.control.kill_switch().set(engaged);
        let cancelled = if engaged {
            e.orders.cancel_entries()
        } else {
            Vec::new()
        };
        let cancel_ms = started.elapsed().as_secs_f64() * 1e3;
        if was != engaged {
            tracing::warn!(%who, engaged, cancelled = %cancelled.join(", "), "audit: kill switch set");
            e.events.publish(
                format!(
                    "kill switch {} by {who}{}",
                    if engaged { "engaged" } else { "released" },
                    if cancelled.is_empty() {
                        String::new()
                    } else {
                        format!("; cancelling {}", cancelled.join(", "))
                    }
                ),
                EngineEvent::KillSwitch(KillSwitchSet {
                    who: who.to_string(),
                    engaged,
                    cancelled: cancelled.clone(),
                }),
            );
        }
        let saved = e
            .config
            .set_key("risk.kill_switch", serde_json::json!(engaged), who)
            .await;
        let (saved, save_error) = match saved {
            Ok(report) => (Some(report), None),
            Err(err) => {
                warn!(error = %err, "the kill switch holds but could not be recorded in the config file");
                (None, Some(err.to_string()))
            }
        };
        KillSwitchReport {
            engaged,
            changed: was != engaged,
            cancelled,
            cancel_ms,
            saved,
            save_error,
        }
    }

    pub fn kill_switch_engaged(&self) -> bool {
        self.0.control.kill_switch().is_engaged()
    }

    // ------------------------------------------------------------- config

    /// Applies `config` if the file is still at `if_match`.
    pub async fn apply(
        &self,
        config: Config,
        if_match: &str,
        who: &str,
    ) -> Result<ApplyReport, ApplyError> {
        self.0.config.apply(config, if_match, who).await
    }

    /// Restores backup `id` through the apply path.
    pub async fn rollback(&self, id: &str, who: &str) -> Result<ApplyReport, ApplyError> {
        self.0.config.rollback(id, who).await
    }

    pub fn backups(&self) -> Result<Vec<BackupInfo>, ApplyError> {
        self.0.config.backups()
    }

    /// Backups, newest first, each with the keys the save that took it
    /// changed.
    pub fn backups_with_changes(&self) -> Result<Vec<BackupChanges>, ApplyError> {
        self.0.config.backups_with_changes()
    }

    /// The running configuration.
    pub fn live(&self) -> &Arc<LiveConfig> {
        &self.0.live
    }

    /// The file the configuration is saved to.
    pub fn config_store(&self) -> &ConfigStore {
        &self.0.config.store
    }

    // ------------------------------------------------------------- orders

    /// The order manager (what a manual order is handed to).
    pub fn orders(&self) -> &Arc<OrderManager> {
        &self.0.orders
    }

    /// The orders working now.
    pub fn working_orders(&self) -> Vec<WorkingOrderView> {
        self.0.orders.working()
    }

    /// Asks for a working order to be cancelled; its driver sends the
    /// cancel at once.
    pub fn cancel_order(&self, order_ref: &str, who: &str) -> Result<(), CancelRefused> {
        self.0.orders.cancel(order_ref, CancelReason::Operator)?;
        tracing::info!(%who, %order_ref, "audit: order cancel requested");
        self.0.events.publish(
            format!("{who} asked to cancel {order_ref}"),
            EngineEvent::OrderCancelRequested(OrderCancelRequested {
                who: who.to_string(),
                order_ref: order_ref.to_string(),
            }),
        );
        Ok(())
    }

    // -------------------------------------------------------- by hand

    /// Everything about `ticket` now, nothing placed: its legs (quotes,
    /// IV, greeks) and net greeks, mid and natural, max profit and loss,
    /// breakeven, the scanner's numbers and each `[scanner]` filter, the
    /// gateway's what-if and the buying power after it, the sizing bounds,
    /// every rule of the risk gate that would refuse it, and the walk.
    pub async fn preview(&self, ticket: &OrderTicket) -> Result<PreviewReport, ManualError> {
        let config = self.0.live.current().config.clone();
        self.0.trader.preview(ticket, &config).await
    }

    /// Places `ticket` by hand for `who`: assessed as [`preview`](Self::preview)
    /// does (the what-if as `[execution] what_if` says), refused with every
    /// rule when the gate refuses (the kill switch, the position limits,
    /// the daily loss, the sizing bounds, live mode without
    /// `[execution] manual_orders_live`, ...), else journaled and handed to
    /// the order manager as a `manual` entry, walked and booked like the
    /// bot's. Audited: the log, a `manual.entry` or `manual.refused` event,
    /// the journaled order's context.
    pub async fn place_manual(
        &self,
        ticket: &OrderTicket,
        who: &str,
    ) -> Result<ManualPlaced, ManualError> {
        let config = self.0.live.current().config.clone();
        self.0.trader.place_manual(ticket, config, who).await
    }

    /// Closes all of held spread `spread_ref` for `who` with a walked
    /// closing order (exit reason `manual`); audited as `manual.close`.
    /// Exits are never refused by the kill switch or the mode.
    pub async fn close_position(
        &self,
        spread_ref: &str,
        limit: Option<&LimitSettings>,
        who: &str,
    ) -> Result<ManualClosing, ManualError> {
        let config = self.0.live.current().config.clone();
        self.0
            .trader
            .close_manual(spread_ref, limit, config, who)
            .await
    }

    // -------------------------------------------------------------- reads

    /// The newest `limit` entry decisions, on `symbol` if given, newest
    /// first, from the journal, once every decision made so far is in it:
    /// each as the JSON text of its [`DecisionRecord`].
    pub async fn decisions(
        &self,
        symbol: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JournalDecision>, JournalError> {
        let query = DecisionQuery {
            symbol: symbol.map(str::to_string),
            limit,
        };
        // The writer is behind by at most the last cycle; a journal that
        // refuses writes answers with what it has.
        self.0.events.journal_written(DECISIONS_FLUSH).await;
        self.0
            .journal
            .read(move |journal| journal.decisions(&query))
            .await
    }

    /// The newest decision on `symbol` in this process run, from memory.
    pub fn latest_decision(&self, symbol: &str) -> Option<Arc<DecisionRecord>> {
        self.0.decisions.latest(symbol)
    }

    /// The last `days` daily bars of `symbol` with the signals' RSI and
    /// ATR, from the gateway (one fetch per underlying and day).
    pub async fn bars(&self, symbol: &str, days: u32) -> Result<BarsView, ManualError> {
        let config = self.0.live.current().config.clone();
        let today = vspread_core::expiry::eastern_date(self.0.clock.now());
        crate::bars::bars(
            &*self.0.broker,
            &self.0.bars,
            &config.strategies,
            symbol,
            days,
            today,
        )
        .await
    }

    /// The KPIs of the last `days` days of the engine's clock (all the
    /// journal holds when `None`), each with its target, computed from
    /// the journal as `vspread report` computes them, reading the journal
    /// as [`Engine::read_journal`] does.
    pub async fn kpis(&self, days: Option<u32>) -> Result<Kpis, JournalError> {
        let period = days.map_or_else(Period::all, |d| Period::last_days(self.0.clock.now(), d));
        self.read_journal(move |j| Ok(crate::kpis::kpis(&JournalView::read(j)?, &period)))
            .await
    }

    /// Runs `read` on the journal off the async workers, taking its turn
    /// among the engine's other reads (see
    /// [`crate::journal_io::CONCURRENT_READS`]).
    pub async fn read_journal<T: Send + 'static>(
        &self,
        read: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        self.0.journal.read(read).await
    }

    /// The scanner watch's findings, and whether the trader quotes a chain.
    pub fn watch_state(&self) -> &WatchState {
        &self.0.watch
    }

    /// The broker's background handle (the scanner watch's).
    pub(crate) fn background_broker(&self) -> Arc<dyn Broker> {
        self.0.background.clone()
    }

    /// How much of the risk gate's limits is in use now.
    pub fn risk_usage(&self) -> RiskUsage {
        let config = self.0.live.current().config.clone();
        self.0
            .trader
            .risk_usage(&config, self.kill_switch_engaged())
    }

    pub fn events(&self) -> &Arc<EventBus> {
        &self.0.events
    }

    /// A page of the event history: the oldest `limit` events numbered
    /// after `after`, or the newest `limit` when `None`; from memory, or
    /// from the journal (as [`Engine::read_journal`] reads it) for what
    /// memory no longer holds.
    pub async fn event_page(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<PastEvent>, JournalError> {
        if let Some(page) = self.0.events.held_page(after, limit) {
            return Ok(page);
        }
        // What memory gave up must be in the journal: the writer may be a
        // burst behind (a journal that refuses writes answers with what
        // it has).
        self.0.events.journal_written(EVENTS_FLUSH).await;
        let bus = self.0.events.clone();
        self.read_journal(move |journal| read_back(&bus, journal, after, limit))
            .await
    }

    pub fn views(&self) -> &Arc<TradingViews> {
        &self.0.views
    }

    /// The journal, for reading (writes are the engine's).
    pub fn journal(&self) -> &Arc<dyn Journal> {
        self.0.journal.journal()
    }

    /// The engine's clock (the simulator's in the demo).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.clock
    }

    /// The link to the gateway.
    pub fn link_status(&self) -> LinkStatus {
        self.0.broker.link_status()
    }

    /// Since the engine was built (real time).
    pub fn uptime(&self) -> Duration {
        self.0.started_at.elapsed()
    }

    /// Recovery has finished; decisions are being made.
    pub fn recovered(&self) -> bool {
        self.0.recovered.load(Ordering::SeqCst)
    }

    /// The trader (its held spreads, its day's P&L).
    pub fn trader(&self) -> &Trader {
        &self.0.trader
    }

    /// The journal's storage: why new entries are refused, if they are,
    /// the free space, the reserve, failed and held writes.
    pub fn storage(&self) -> StorageStatus {
        self.0.storage.status()
    }
}

/// Follows every new snapshot: the kill switch, `[logging]` and, for edits
/// of the file, the broker take up their values; edits of the file and
/// refused ones are reported.
async fn follow_config(engine: Engine) {
    let mut changes = engine.0.live.subscribe();
    let mut refusals = engine.0.live.subscribe_refusals();
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(change) => on_config_change(&engine, &change).await,
                Err(RecvError::Lagged(n)) => warn!(missed = n, "config follower fell behind"),
                Err(RecvError::Closed) => return,
            },
            refused = refusals.recv() => match refused {
                Ok(err) => {
                    engine.0.events.publish(
                        format!("config reload refused: {}", err.message),
                        EngineEvent::ConfigReloadFailed(ConfigReloadFailed {
                            message: err.message.clone(),
                        }),
                    );
                }
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
        }
    }
}

async fn on_config_change(engine: &Engine, change: &ConfigChange) {
    let e = &engine.0;
    let config = &change.snapshot.config;
    let touched = |prefix: &str| change.changes.iter().any(|c| c.path.starts_with(prefix));
    if touched("risk.kill_switch") {
        let engaged = config.risk.kill_switch;
        if e.control.kill_switch().set(engaged) != engaged {
            let cancelled = if engaged {
                e.orders.cancel_entries()
            } else {
                Vec::new()
            };
            e.events.publish(
                format!(
                    "kill switch {} by the config file",
                    if engaged { "engaged" } else { "released" }
                ),
                EngineEvent::KillSwitch(KillSwitchSet {
                    who: "config file".into(),
                    engaged,
                    cancelled,
                }),
            );
        }
    }
    if touched("logging.")
        && let Some(logs) = &e.logs
        && let Err(err) = logs.apply(&config.logging)
    {
        warn!(error = %err, "[logging] not applied");
    }
    if change.origin != ChangeOrigin::File {
        return;
    }
    // An apply made the broker take up its values already.
    if (touched("ibkr.") || touched("pacing.") || touched("market_data.max_lines"))
        && let Err(err) = e.broker.apply_config(config).await
    {
        warn!(error = %err, "the broker did not take up the new config");
    }
    let restart: Vec<&str> = change
        .changes
        .iter()
        .filter(|c| c.applies == ApplyClass::Restart)
        .map(|c| c.path.as_str())
        .collect();
    let keys: Vec<&str> = change.changes.iter().map(|c| c.path.as_str()).collect();
    e.events.publish(
        format!(
            "config reloaded from the file: {}{}",
            keys.join(", "),
            if restart.is_empty() {
                String::new()
            } else {
                format!(" ({} after a restart)", restart.join(", "))
            }
        ),
        EngineEvent::ConfigReloaded(ConfigReloaded {
            version: change.snapshot.version.clone(),
            changes: change.changes.clone(),
        }),
    );
}

/// Publishes the link's losses and returns.
async fn watch_gateway(engine: Engine) {
    let e = &engine.0;
    let mut events = e.broker.events();
    let mut ready = e.broker.is_ready();
    while let Some(event) = events.next().await {
        let BrokerEvent::Connection(c) = event else {
            continue;
        };
        match c {
            ConnectionEvent::Ready | ConnectionEvent::Reconnected { .. } if !ready => {
                ready = true;
                let link = e.broker.link_status();
                e.events.publish(
                    format!("gateway {} ready", link.address),
                    EngineEvent::GatewayReady(GatewayReady {
                        address: link.address,
                        server_version: link.server_version,
                        connects: link.connects,
                    }),
                );
            }
            ConnectionEvent::Lost { reason, .. } if ready => {
                ready = false;
                let link = e.broker.link_status();
                e.events.publish(
                    format!("gateway {} lost: {reason}", link.address),
                    EngineEvent::GatewayLost(GatewayLost {
                        address: link.address,
                        reason,
                    }),
                );
            }
            ConnectionEvent::GatewayDisconnected if ready => {
                ready = false;
                let link = e.broker.link_status();
                e.events.publish(
                    format!("gateway {} lost its link to IB (1100)", link.address),
                    EngineEvent::GatewayLost(GatewayLost {
                        address: link.address,
                        reason: "TWS lost connectivity to IB (1100)".into(),
                    }),
                );
            }
            _ => {}
        }
    }
}
