//! [`IbBroker`]: the [`Broker`] over `ibapi`'s async client, and the
//! watchdog loop that owns the connection.
//!
//! `ibapi`'s own reconnect is switched off (`max_reconnect_attempts(0)`): the
//! watchdog builds a fresh client per connection, so it alone decides the
//! backoff, knows when the gateway accepted again, and runs the
//! resubscription and reconciliation that must follow every reconnect.
//!
//! Every outbound message first takes a grant from the [`Coordinator`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use ibapi::Client;
use ibapi::market_data::MarketDataType as IbMarketDataType;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{info, warn};
use vspread_core::broker::{
    Broker, BrokerError, BrokerEvent, BrokerFuture, ConnectionEvent, ConnectionState, EventStream,
    Expectations, LinkStatus, Notice, ReconciliationReport, Reconfigured,
};
use vspread_core::clock::{Clock, SystemClock};
use vspread_core::config::Config;
use vspread_core::config::MarketDataType;
use vspread_core::{
    AccountSummary, BrokerOrderId, ConId, ContractInfo, DailyBar, NetPriceOrLimit,
    OptionChainParams, OptionContract, OrderRequest, Position, Quote, WhatIf,
};

use crate::events::EventHub;
use crate::lines::LineBook;
use crate::market_data::LineEntry;
use crate::metrics::BrokerMetrics;
use crate::orders::OrderBook;
use crate::pacing::{Coordinator, HistoricalPacer, InFlight, PacingSettings, Priority};
use crate::settings::BrokerSettings;

pub(crate) type LookupResult = Result<Vec<ContractInfo>, BrokerError>;

/// What the lookups are merged and cached by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum LookupKey {
    Stock(String),
    Option(OptionContract),
}

/// Unread messages each market-data line (and each other non-order
/// stream) may hold at the client before the oldest are dropped; `ibapi`'s
/// default is 1,024. Each of its channels was seen (in a heap profile of a
/// long run) to keep its whole ring of past messages alive, the newest
/// this-many of every line held: at 256, 90 lines kept 23,040 messages
/// (1.3 MB), filling for days after start. A quote is read as it comes
/// (the latest is what counts; a line that lags is told so and goes on),
/// so 64 unread is already a stalled reader. Order channels are not
/// shrunk by it (`ibapi` keeps its floors for them), and a list read to
/// its end that loses rows is asked again (see `lookups::lost_in_lag`).
pub(crate) const CHANNEL_CAPACITY: usize = 64;

pub(crate) struct Inner {
    /// The settings in force; replaced whole by `apply_config`.
    settings: RwLock<Arc<BrokerSettings>>,
    /// The address was given by the caller (the demo's in-process
    /// simulator), not by `[ibkr]`: a new config does not move it.
    address_fixed: std::sync::atomic::AtomicBool,
    /// Set while the connection is dropped on purpose to take up new
    /// settings: the watchdog reconnects at once, without backing off.
    reconfiguring: std::sync::atomic::AtomicBool,
    reconnect_now: Notify,
    /// Drops the connection as a gateway restart would (`drop_connection`).
    drop_now: Notify,
    pub(crate) metrics: Arc<BrokerMetrics>,
    pub(crate) coordinator: Coordinator,
    pub(crate) hub: EventHub,
    client: RwLock<Option<Arc<Client>>>,
    state: Mutex<ConnectionState>,
    /// When readiness last changed, on the clock below.
    ready_since: Mutex<Option<chrono::DateTime<Utc>>>,
    /// Time for quotes, the restart window and readiness: the engine's.
    clock: RwLock<Arc<dyn Clock>>,
    pub(crate) lines: Mutex<Lines>,
    pub(crate) contract_cache: Mutex<crate::contract_cache::ContractCache>,
    pub(crate) lookups: InFlight<LookupKey, LookupResult>,
    pub(crate) chains: InFlight<String, Result<Vec<OptionChainParams>, BrokerError>>,
    pub(crate) snapshots: InFlight<ConId, Result<Quote, BrokerError>>,
    pub(crate) bars: InFlight<(String, u32), Result<Vec<DailyBar>, BrokerError>>,
    pub(crate) historical: Mutex<HistoricalPacer>,
    pub(crate) orders: Mutex<OrderBook>,
    pub(crate) expectations: Mutex<Expectations>,
    pub(crate) origin: Instant,
    /// Wakes the watchdog when a request saw the connection die.
    pub(crate) loss_hint: Notify,
}

/// The held lines and their state.
#[derive(Debug)]
pub(crate) struct Lines {
    pub(crate) book: LineBook<ConId>,
    pub(crate) entries: HashMap<ConId, LineEntry>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Maps an `ibapi` error to the domain's, naming what was asked.
pub(crate) fn map_err(e: ibapi::Error, what: &str) -> BrokerError {
    if e.is_connection_lost() {
        return BrokerError::NotConnected;
    }
    match e {
        ibapi::Error::Notice(n) if n.code == 200 => BrokerError::NoSecurityDefinition {
            what: what.to_string(),
            code: n.code,
        },
        ibapi::Error::Notice(n) => BrokerError::Gateway {
            code: n.code,
            message: n.message,
        },
        ibapi::Error::Timeout => BrokerError::Timeout {
            what: what.to_string(),
            after: Duration::ZERO,
        },
        ibapi::Error::Shutdown
        | ibapi::Error::ConnectionFailed
        | ibapi::Error::ConnectionReset
        | ibapi::Error::Cancelled => BrokerError::NotConnected,
        other => BrokerError::Gateway {
            code: -1,
            message: format!("{what}: {other}"),
        },
    }
}

impl Inner {
    pub(crate) fn client(&self) -> Result<Arc<Client>, BrokerError> {
        self.client
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(BrokerError::NotConnected)
    }

    fn set_client(&self, client: Option<Arc<Client>>) {
        *self.client.write().unwrap_or_else(|p| p.into_inner()) = client;
    }

    /// Waits for a grant to send one message.
    pub(crate) async fn grant(&self, priority: Priority) -> Result<(), BrokerError> {
        self.coordinator
            .acquire(priority.in_lane())
            .await
            .map(|_| ())
            .map_err(|e| BrokerError::Busy(e.to_string()))
    }

    pub(crate) fn publish(&self, event: BrokerEvent) {
        self.hub.publish(event);
    }

    pub(crate) fn state(&self) -> ConnectionState {
        *lock(&self.state)
    }

    /// Now, on the engine's clock.
    pub(crate) fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.read().unwrap_or_else(|e| e.into_inner()).now()
    }

    /// The settings in force now.
    pub(crate) fn settings(&self) -> Arc<BrokerSettings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_state(&self, state: ConnectionState) {
        let was = std::mem::replace(&mut *lock(&self.state), state);
        if was.is_ready() != state.is_ready() || lock(&self.ready_since).is_none() {
            *lock(&self.ready_since) = Some(self.now());
        }
        self.metrics
            .set_connection_state(state.code(), state.is_ready());
    }

    /// Bounds a one-shot gateway call by the request timeout.
    pub(crate) async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, BrokerError>>,
    ) -> Result<T, BrokerError> {
        match tokio::time::timeout(self.settings().request_timeout, fut).await {
            Ok(r) => {
                if matches!(r, Err(BrokerError::NotConnected)) {
                    self.loss_hint.notify_one();
                }
                r
            }
            Err(_) => Err(BrokerError::Timeout {
                what: what.to_string(),
                after: self.settings().request_timeout,
            }),
        }
    }

    /// Asks the gateway the time: the readiness probe.
    async fn probe(&self, client: &Client) -> Result<(), BrokerError> {
        self.grant(Priority::MarketData).await?;
        self.timed("readiness probe", async {
            client
                .server_time()
                .await
                .map(|_| ())
                .map_err(|e| map_err(e, "current time"))
        })
        .await
    }
}

/// The broker over TWS / IB Gateway. Cheap to clone; the watchdog stops
/// when the last clone is dropped or [`shutdown`](Self::shutdown) is called.
#[derive(Clone)]
pub struct IbBroker {
    inner: Arc<Inner>,
    _watchdog: Arc<WatchdogTask>,
    /// Set on a background handle: its calls' requests wait in this queue.
    lane: Option<Priority>,
}

struct WatchdogTask(Mutex<Option<JoinHandle<()>>>);

impl Drop for WatchdogTask {
    fn drop(&mut self) {
        if let Some(h) = lock(&self.0).take() {
            h.abort();
        }
    }
}

impl std::fmt::Debug for IbBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IbBroker")
            .field("address", &self.inner.settings().address)
            .field("state", &self.inner.state())
            .finish()
    }
}

impl IbBroker {
    /// Starts the watchdog, which connects and keeps connecting. Must be
    /// called inside a tokio runtime. Use [`wait_ready`](Self::wait_ready)
    /// to wait for the first connection.
    pub fn start(settings: BrokerSettings) -> Self {
        Self::start_with_clock(settings, Arc::new(SystemClock))
    }

    /// [`start`](Self::start) on the engine's clock: quotes are stamped
    /// with it and the daily restart window is judged by it (a simulated
    /// gateway's time runs faster than the wall's).
    pub fn start_with_clock(settings: BrokerSettings, clock: Arc<dyn Clock>) -> Self {
        let metrics = Arc::new(BrokerMetrics::default());
        let coordinator = Coordinator::start(settings.pacing, metrics.clone());
        let inner = Arc::new(Inner {
            metrics: metrics.clone(),
            coordinator,
            hub: EventHub::new(metrics.clone()),
            client: RwLock::new(None),
            state: Mutex::new(ConnectionState::Disconnected),
            ready_since: Mutex::new(None),
            clock: RwLock::new(clock),
            lines: Mutex::new(Lines {
                book: LineBook::new(settings.max_lines),
                entries: HashMap::new(),
            }),
            contract_cache: Mutex::new(Default::default()),
            lookups: InFlight::new(metrics.clone()),
            chains: InFlight::new(metrics.clone()),
            snapshots: InFlight::new(metrics.clone()),
            bars: InFlight::new(metrics.clone()),
            historical: Mutex::new(HistoricalPacer::new(settings.historical_requests_per_10min)),
            orders: Mutex::new(OrderBook::default()),
            expectations: Mutex::new(Expectations::default()),
            origin: Instant::now(),
            loss_hint: Notify::new(),
            settings: RwLock::new(Arc::new(settings)),
            address_fixed: std::sync::atomic::AtomicBool::new(false),
            reconfiguring: std::sync::atomic::AtomicBool::new(false),
            reconnect_now: Notify::new(),
            drop_now: Notify::new(),
        });
        let task = tokio::spawn(watchdog(inner.clone()));
        Self {
            inner,
            _watchdog: Arc::new(WatchdogTask(Mutex::new(Some(task)))),
            lane: None,
        }
    }

    /// Runs `call` in this handle's lane, if it has one.
    fn in_lane<'a, T: 'a>(&self, call: BrokerFuture<'a, T>) -> BrokerFuture<'a, T> {
        match self.lane {
            Some(lane) => Box::pin(crate::pacing::LANE.scope(lane, call)),
            None => call,
        }
    }

    /// The layer's metrics, for export and tests.
    pub fn metrics(&self) -> Arc<BrokerMetrics> {
        self.inner.metrics.clone()
    }

    pub fn state(&self) -> ConnectionState {
        self.inner.state()
    }

    /// Waits until the gateway answers requests, or `timeout` passes.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), BrokerError> {
        let deadline = Instant::now() + timeout;
        while !self.inner.state().is_ready() {
            if Instant::now() >= deadline {
                return Err(BrokerError::Timeout {
                    what: "the gateway to become ready".into(),
                    after: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// The gateway's clock (whole seconds, as the TWS API reports it): lets
    /// an engine run on a simulated gateway's accelerated time.
    pub async fn gateway_time(&self) -> Result<chrono::DateTime<chrono::Utc>, BrokerError> {
        let client = self.inner.client()?;
        self.inner.grant(Priority::Lookup).await?;
        let t = self
            .inner
            .timed("current time", async {
                client
                    .server_time()
                    .await
                    .map_err(|e| map_err(e, "current time"))
            })
            .await?;
        chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).ok_or_else(|| {
            BrokerError::Gateway {
                code: 0,
                message: format!("gateway time {t} out of range"),
            }
        })
    }

    /// Stops the watchdog and disconnects.
    pub async fn shutdown(&self) {
        let watchdog = lock(&self._watchdog.0).take();
        if let Some(h) = watchdog {
            h.abort();
            let _ = h.await;
        }
        let client = self.inner.client().ok();
        self.inner.set_client(None);
        if let Some(c) = client {
            c.disconnect().await;
        }
        self.inner.set_state(ConnectionState::Disconnected);
    }

    /// Connects to `address` whatever `[ibkr]` says, now and after every
    /// new config (the demo's in-process simulator). Set before the first
    /// connection, with the settings' address.
    pub fn fix_address(&self) {
        self.inner
            .address_fixed
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Runs on `clock` from now on (an engine that reads its time from the
    /// gateway learns it only once connected).
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.inner.clock.write().unwrap_or_else(|e| e.into_inner()) = clock;
    }

    /// Takes up a new config (see [`Broker::apply_config`]).
    async fn reconfigure(&self, config: &Config) -> Reconfigured {
        let inner = &self.inner;
        let old = inner.settings();
        let mut next = BrokerSettings::from_config(config);
        if inner
            .address_fixed
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            next.address = old.address.clone();
        }
        // Only what the config carries changes; the rest stays as set.
        next.backoff = old.backoff;
        next.request_timeout = old.request_timeout;
        next.restart_warning = old.restart_warning;
        next.heartbeat_interval = old.heartbeat_interval;
        next.contract_cache_ttl = old.contract_cache_ttl;
        next.pacing = PacingSettings {
            max_messages_per_sec: next.pacing.max_messages_per_sec,
            ..old.pacing
        };
        let reconnect = next.address != old.address
            || next.client_id != old.client_id
            || next.account != old.account
            || next.read_only != old.read_only
            || next.market_data_type != old.market_data_type;
        inner.coordinator.set_rate(next.pacing.max_messages_per_sec);
        lock(&inner.historical).set_limit(next.historical_requests_per_10min);
        let lines = next.max_lines;
        let connect_timeout = next.connect_timeout;
        *inner.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        crate::market_data::resize(inner, lines).await;
        if !reconnect {
            return Reconfigured::default();
        }
        info!(address = %inner.settings().address, "reconnecting to take up new [ibkr] settings");
        let started = Instant::now();
        inner
            .reconfiguring
            .store(true, std::sync::atomic::Ordering::SeqCst);
        inner.reconnect_now.notify_one();
        // Wait for the drop to be seen, then for the new connection.
        let gone = tokio::time::timeout(Duration::from_secs(2), async {
            while inner.state().is_ready() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        if gone.is_err() {
            warn!("the connection did not drop for the reconnect");
        }
        let ready = self.wait_ready(connect_timeout).await.is_ok();
        Reconfigured {
            reconnected: true,
            ready_after: ready.then(|| started.elapsed()),
        }
    }

    /// Drops the connection now, as a gateway's restart would, and lets
    /// the watchdog make it again by its usual path (its backoff, then
    /// every held line subscribed again and a reconciliation), announced by
    /// `ConnectionEvent::Reconnected`: what `vspread validate` measures.
    /// Does nothing until the link is ready.
    pub fn drop_connection(&self) {
        if self.inner.state().is_ready() {
            self.inner.drop_now.notify_one();
        }
    }

    /// The order ids the layer has placed, by orderRef (for diagnostics and tests).
    pub fn order_id_of(&self, order_ref: &str) -> Option<BrokerOrderId> {
        lock(&self.inner.orders).id_of(order_ref)
    }
}

fn ib_market_data_type(t: MarketDataType) -> IbMarketDataType {
    match t {
        MarketDataType::Live => IbMarketDataType::Realtime,
        MarketDataType::Frozen => IbMarketDataType::Frozen,
        MarketDataType::Delayed => IbMarketDataType::Delayed,
        MarketDataType::DelayedFrozen => IbMarketDataType::DelayedFrozen,
    }
}

/// The connection loop: connect, watch, and after a loss back off and
/// connect again, forever.
async fn watchdog(inner: Arc<Inner>) {
    let mut rng = StdRng::from_os_rng();
    let mut attempt: u32 = 0;
    let mut ever_connected = false;
    let _restart_warner = AbortOnDrop(tokio::spawn(warn_before_restarts(inner.clone())));
    loop {
        let settings = inner.settings();
        inner.set_state(ConnectionState::Connecting);
        inner.publish(BrokerEvent::Connection(ConnectionEvent::Connecting {
            attempt: attempt + 1,
        }));
        let started = Instant::now();
        let connecting = Client::builder()
            .address(settings.address.as_str())
            .client_id(settings.client_id)
            .max_reconnect_attempts(0)
            .channel_capacity(CHANNEL_CAPACITY)
            .connect_with_notice_stream();
        let outcome = tokio::time::timeout(settings.connect_timeout, connecting).await;
        let (client, notices) = match outcome {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => {
                let reason = format!("connect to {} failed: {e}", settings.address);
                back_off(&inner, &mut attempt, &mut rng, reason).await;
                continue;
            }
            Err(_) => {
                let reason = format!(
                    "connect to {} timed out after {:?}",
                    settings.address, settings.connect_timeout
                );
                back_off(&inner, &mut attempt, &mut rng, reason).await;
                continue;
            }
        };
        let client = Arc::new(client);
        inner.metrics.connected(client.server_version());
        inner.set_state(ConnectionState::Connected);
        inner.publish(BrokerEvent::Connection(ConnectionEvent::Connected));
        match serve_connection(
            &inner,
            client.clone(),
            notices,
            started,
            &mut ever_connected,
            &mut attempt,
        )
        .await
        {
            Ok(()) => {}
            Err(reason) => {
                inner.set_client(None);
                client.disconnect().await;
                inner.metrics.disconnected();
                if inner
                    .reconfiguring
                    .swap(false, std::sync::atomic::Ordering::SeqCst)
                {
                    info!(%reason, "reconnecting with new settings");
                    inner.set_state(ConnectionState::Disconnected);
                    inner.publish(BrokerEvent::Connection(ConnectionEvent::Lost {
                        reason,
                        retry_in: Duration::ZERO,
                    }));
                    attempt = 0;
                    continue;
                }
                back_off(&inner, &mut attempt, &mut rng, reason).await;
                continue;
            }
        }
        attempt = 0;
    }
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn back_off(inner: &Inner, attempt: &mut u32, rng: &mut StdRng, reason: String) {
    let in_window = inner
        .settings()
        .restart_window
        .is_some_and(|w| w.contains(inner.now()));
    let delay = inner.settings().backoff.delay(*attempt, rng);
    if in_window {
        info!(%reason, ?delay, "gateway unavailable during its daily restart window");
    } else {
        warn!(%reason, ?delay, "gateway connection lost");
    }
    inner.metrics.connect_failed();
    inner.set_state(ConnectionState::Backoff);
    inner.publish(BrokerEvent::Connection(ConnectionEvent::Lost {
        reason,
        retry_in: delay,
    }));
    *attempt = attempt.saturating_add(1);
    tokio::time::sleep(delay).await;
}

/// One connection's life. Returns `Err(reason)` when it is lost.
async fn serve_connection(
    inner: &Arc<Inner>,
    client: Arc<Client>,
    notices: ibapi::subscriptions::NoticeStream,
    accepted_at: Instant,
    ever_connected: &mut bool,
    attempt: &mut u32,
) -> Result<(), String> {
    let fail = |what: &str, e: BrokerError| format!("{what} failed after connect: {e}");
    let (serving, serving_rx) = tokio::sync::watch::channel(false);
    let mut notices = AbortOnDrop(tokio::spawn(read_notices(
        inner.clone(),
        notices,
        serving_rx,
    )));
    // Setting the connection up is bounded like the connect itself: a
    // gateway that accepts and then closes the socket (a client id still
    // held from before a restart, say) must send the watchdog back to
    // backing off, never leave it waiting on a dead connection.
    let setup = async {
        // The market data type does not survive a connection.
        inner
            .grant(Priority::MarketData)
            .await
            .map_err(|e| fail("pacing", e))?;
        client
            .switch_market_data_type(ib_market_data_type(inner.settings().market_data_type))
            .await
            .map_err(|e| fail("market data type", map_err(e, "market data type")))?;
        let pump = crate::orders::start_pump(inner.clone(), client.clone())
            .await
            .map_err(|e| fail("order update stream", e))?;
        let pump = AbortOnDrop(pump);
        inner
            .probe(&client)
            .await
            .map_err(|e| fail("readiness probe", e))?;
        Ok::<_, String>(pump)
    };
    let _pump = tokio::time::timeout(inner.settings().connect_timeout, setup)
        .await
        .map_err(|_| {
            format!(
                "the gateway accepted but did not answer within {:?}",
                inner.settings().connect_timeout
            )
        })??;
    inner.set_client(Some(client.clone()));
    inner.set_state(ConnectionState::Ready);
    inner.publish(BrokerEvent::Connection(ConnectionEvent::Ready));
    info!(address = %inner.settings().address, "gateway ready");
    let reconnect = std::mem::replace(ever_connected, true);
    *attempt = 0;

    let restored = crate::market_data::resubscribe_all(inner).await;
    if reconnect {
        let after = accepted_at.elapsed();
        inner.metrics.reconnect_took(after);
        inner.publish(BrokerEvent::Connection(ConnectionEvent::Reconnected {
            after,
            lines_restored: restored,
        }));
    }
    let expectations = lock(&inner.expectations).clone();
    if let Err(e) = crate::orders::reconcile(inner, &expectations).await {
        warn!(error = %e, "reconciliation after connect failed");
        if !client.is_connected() {
            return Err(format!("connection lost during reconciliation: {e}"));
        }
    }

    serving.send_replace(true);
    let mut heartbeat = tokio::time::interval(inner.settings().heartbeat_interval);
    heartbeat.tick().await;
    let mut liveness = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            _ = &mut notices.0 => return Err("gateway notice stream ended".into()),
            _ = liveness.tick() => {
                if !client.is_connected() {
                    return Err("gateway closed the connection".into());
                }
            }
            _ = inner.loss_hint.notified() => {
                if !client.is_connected() {
                    return Err("gateway closed the connection".into());
                }
            }
            () = inner.reconnect_now.notified() => {
                return Err("new connection settings".into());
            }
            () = inner.drop_now.notified() => {
                return Err("connection dropped on request".into());
            }
            _ = heartbeat.tick() => {
                match inner.probe(&client).await {
                    Ok(()) => {
                        if inner.state() == ConnectionState::Connected {
                            inner.set_state(ConnectionState::Ready);
                            inner.publish(BrokerEvent::Connection(ConnectionEvent::Ready));
                        }
                    }
                    Err(e) => {
                        if !client.is_connected() {
                            return Err(format!("gateway stopped answering: {e}"));
                        }
                        if inner.state() == ConnectionState::Ready {
                            warn!(error = %e, "readiness probe failed");
                            inner.set_state(ConnectionState::Connected);
                        }
                    }
                }
            }
        }
    }
}

/// Reads a connection's notices (id −1) from the moment it is accepted,
/// so each is counted and published when it comes, also while the
/// connection is still being set up and reconciled (which can take long).
/// The connectivity codes change the link's state, which the setup ends by
/// declaring ready: they take effect once `serving` says the setup is done,
/// in the order they came, so a 1100 that came during the setup is not
/// overwritten by it.
async fn read_notices(
    inner: Arc<Inner>,
    mut notices: ibapi::subscriptions::NoticeStream,
    mut serving: tokio::sync::watch::Receiver<bool>,
) {
    while let Some(n) = notices.next().await {
        inner.metrics.gateway_error(n.code);
        if matches!(n.code, 1100..=1102) && serving.wait_for(|s| *s).await.is_err() {
            return;
        }
        on_notice(&inner, n).await;
    }
}

/// Acts on one connectivity or farm notice.
async fn on_notice(inner: &Arc<Inner>, n: ibapi::Notice) {
    match n.code {
        1100 => {
            warn!("1100: TWS lost connectivity to IB");
            inner.set_state(ConnectionState::GatewayDisconnected);
            inner.publish(BrokerEvent::Connection(
                ConnectionEvent::GatewayDisconnected,
            ));
        }
        1101 => {
            info!("1101: connectivity restored, market data lost: resubscribing");
            inner.publish(BrokerEvent::Connection(ConnectionEvent::RestoredDataLost));
            let n = crate::market_data::resubscribe_all(inner).await;
            info!(lines = n, "lines resubscribed after 1101");
            inner.set_state(ConnectionState::Ready);
            inner.publish(BrokerEvent::Connection(ConnectionEvent::Ready));
        }
        1102 => {
            info!("1102: connectivity restored, market data kept");
            inner.publish(BrokerEvent::Connection(ConnectionEvent::RestoredDataKept));
            inner.set_state(ConnectionState::Ready);
            inner.publish(BrokerEvent::Connection(ConnectionEvent::Ready));
        }
        100 => {
            warn!(message = %n.message, "gateway reports the message rate was exceeded");
            inner.publish(BrokerEvent::Notice(Notice {
                code: n.code,
                message: n.message,
            }));
        }
        _ => inner.publish(BrokerEvent::Notice(Notice {
            code: n.code,
            message: n.message,
        })),
    }
}

/// Logs and publishes the restart window before it comes (the window of
/// the settings in force at each look).
async fn warn_before_restarts(inner: Arc<Inner>) {
    loop {
        let Some(window) = inner.settings().restart_window else {
            tokio::time::sleep(Duration::from_secs(60)).await;
            continue;
        };
        let now = inner.now();
        let until = window.until_next(now);
        let warning = inner.settings().restart_warning;
        if until > warning {
            let warn_at = chrono::Duration::from_std(until - warning)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
            // Real time to sleep: less than `until - warning` when the
            // engine's clock runs fast; looked at again at least each minute.
            let nap = inner
                .clock
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .real_duration_until(warn_at)
                .clamp(Duration::from_millis(10), Duration::from_secs(60));
            tokio::time::sleep(nap).await;
            continue;
        }
        if !until.is_zero() {
            info!(starts_in = ?until, "gateway daily restart window ahead");
            inner.publish(BrokerEvent::Connection(
                ConnectionEvent::RestartWindowAhead { starts_in: until },
            ));
        }
        // Past this window's start: sleep until it is over.
        tokio::time::sleep(until + window.length + Duration::from_secs(1)).await;
    }
}

impl Broker for IbBroker {
    fn stock(&self, symbol: &str) -> BrokerFuture<'_, ContractInfo> {
        let symbol = symbol.to_string();
        self.in_lane(Box::pin(async move {
            self.inner.lookup_one(LookupKey::Stock(symbol)).await
        }))
    }

    fn option(&self, spec: &OptionContract) -> BrokerFuture<'_, ContractInfo> {
        let spec = spec.clone();
        self.in_lane(Box::pin(async move {
            self.inner.lookup_one(LookupKey::Option(spec)).await
        }))
    }

    fn option_chain(&self, underlying: &str) -> BrokerFuture<'_, Vec<OptionChainParams>> {
        let underlying = underlying.to_string();
        self.in_lane(Box::pin(async move {
            self.inner.option_chain(underlying).await
        }))
    }

    fn subscribe_quotes(&self, contract: &ContractInfo, pinned: bool) -> BrokerFuture<'_, ()> {
        let contract = contract.clone();
        self.in_lane(Box::pin(async move {
            crate::market_data::subscribe(&self.inner, contract, pinned).await
        }))
    }

    fn unsubscribe_quotes(&self, con_id: ConId) -> BrokerFuture<'_, ()> {
        self.in_lane(Box::pin(async move {
            crate::market_data::unsubscribe(&self.inner, con_id).await
        }))
    }

    fn set_pinned(&self, con_id: ConId, pinned: bool) {
        crate::market_data::set_pinned(&self.inner, con_id, pinned);
    }

    fn latest_quote(&self, con_id: ConId) -> Option<Quote> {
        crate::market_data::latest(&self.inner, con_id)
    }

    fn snapshot(&self, contract: &ContractInfo) -> BrokerFuture<'_, Quote> {
        let contract = contract.clone();
        self.in_lane(Box::pin(async move {
            crate::market_data::snapshot(&self.inner, contract).await
        }))
    }

    fn daily_bars(&self, symbol: &str, days: u32) -> BrokerFuture<'_, Vec<DailyBar>> {
        let symbol = symbol.to_string();
        self.in_lane(Box::pin(async move {
            self.inner.daily_bars(symbol, days).await
        }))
    }

    fn what_if(&self, order: &OrderRequest) -> BrokerFuture<'_, WhatIf> {
        let order = order.clone();
        self.in_lane(Box::pin(async move {
            crate::orders::what_if(&self.inner, &order).await
        }))
    }

    fn place_order(&self, order: &OrderRequest) -> BrokerFuture<'_, BrokerOrderId> {
        let order = order.clone();
        self.in_lane(Box::pin(async move {
            crate::orders::place(&self.inner, &order).await
        }))
    }

    fn modify_price(
        &self,
        order_id: BrokerOrderId,
        price: NetPriceOrLimit,
    ) -> BrokerFuture<'_, ()> {
        self.in_lane(Box::pin(async move {
            crate::orders::modify(&self.inner, order_id, price).await
        }))
    }

    fn cancel_order(&self, order_id: BrokerOrderId) -> BrokerFuture<'_, ()> {
        self.in_lane(Box::pin(async move {
            crate::orders::cancel(&self.inner, order_id).await
        }))
    }

    fn positions(&self) -> BrokerFuture<'_, Vec<Position>> {
        self.in_lane(Box::pin(async move { self.inner.positions().await }))
    }

    fn account_summary(&self) -> BrokerFuture<'_, AccountSummary> {
        self.in_lane(Box::pin(async move { self.inner.account_summary().await }))
    }

    fn set_expectations(&self, expectations: Expectations) {
        *lock(&self.inner.expectations) = expectations;
    }

    fn reconcile(&self, expectations: &Expectations) -> BrokerFuture<'_, ReconciliationReport> {
        let expectations = expectations.clone();
        self.in_lane(Box::pin(async move {
            crate::orders::reconcile(&self.inner, &expectations).await
        }))
    }

    fn events(&self) -> EventStream {
        self.inner.hub.subscribe()
    }

    fn is_ready(&self) -> bool {
        self.inner.state().is_ready()
    }

    fn link_status(&self) -> LinkStatus {
        let mut status = self.inner.metrics.link_status();
        let settings = self.inner.settings();
        status.address = settings.address.clone();
        status.state = self.inner.state();
        status.since = *lock(&self.inner.ready_since);
        status.max_messages_per_sec = self.inner.coordinator.rate();
        status.max_lines = lock(&self.inner.lines).book.capacity();
        status
    }

    fn background(&self) -> Arc<dyn Broker> {
        Arc::new(IbBroker {
            lane: Some(Priority::Background),
            ..self.clone()
        })
    }

    fn apply_config(&self, config: &Config) -> BrokerFuture<'_, Reconfigured> {
        let config = config.clone();
        self.in_lane(Box::pin(async move { Ok(self.reconfigure(&config).await) }))
    }
}
