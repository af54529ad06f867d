//! What the validation's checks work with: the broker layer connected to
//! the configured gateway, and an engine of its own (built by
//! `EngineBuilder`, in a temporary data directory: its journal records the
//! validation's orders, apart from any trading journal), whose order
//! manager places, walks and cancels every order the checks send.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use tokio::sync::oneshot;
use vspread_broker::diagnostics;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::{Broker, BrokerEvent, EventStream};
use vspread_core::clock::{Clock, SystemClock};
use vspread_core::config::Config;
use vspread_core::journal::JournaledOrder;
use vspread_core::{NetPrice, OrderEvent, OrderPurpose, OrderRequest};
use vspread_engine::decision::order::journal_leg;
use vspread_engine::decision::quoted::QuotedSpread;
use vspread_engine::orders::{OrderOutcome, OrderPlan, PriceWalk};
use vspread_engine::{Engine, EngineBuilder};
use vspread_journal::SqliteJournal;

/// Why the validation may not run on the gateway's account.
pub enum AccountRefusal {
    /// A live account (not starting with `D`).
    Live(String),
    /// The accounts could not be read.
    Unavailable(String),
}

/// The account `config` would trade, if it is a paper account. Read on a
/// connection of its own, closed before anything else happens.
pub async fn paper_account(config: &Config) -> Result<String, AccountRefusal> {
    let settings = BrokerSettings::from_config(config);
    let probe = diagnostics::connect(
        &settings.address,
        settings.client_id,
        settings.connect_timeout,
        Duration::from_secs(15),
    )
    .await
    .map_err(|e| AccountRefusal::Unavailable(e.to_string()))?;
    let accounts = probe.accounts().await;
    probe.disconnect().await;
    let accounts = accounts.map_err(|e| AccountRefusal::Unavailable(e.to_string()))?;
    let wanted = config.ibkr.account.trim();
    let account = if wanted.is_empty() {
        accounts.first().cloned()
    } else {
        accounts.iter().find(|a| a.as_str() == wanted).cloned()
    }
    .ok_or_else(|| {
        AccountRefusal::Unavailable(format!(
            "the gateway reports accounts [{}], not [ibkr] account = \"{wanted}\"",
            accounts.join(", ")
        ))
    })?;
    if crate::cmd::doctor::is_paper(&account) {
        Ok(account)
    } else {
        Err(AccountRefusal::Live(account))
    }
}

/// The broker layer and the validation's engine.
pub struct Session {
    pub config: Config,
    pub broker: Arc<IbBroker>,
    pub engine: Engine,
    pub clock: Arc<dyn Clock>,
    /// How long to wait for each confirmation.
    pub timeout: Duration,
    _services: vspread_engine::engine::Services,
    _dir: tempfile::TempDir,
}

impl Session {
    /// Connects the broker layer and builds the engine.
    pub async fn start(config: &Config, timeout: Duration) -> anyhow::Result<Self> {
        let settings = BrokerSettings::from_config(config);
        let ready_wait = settings.connect_timeout + Duration::from_secs(5);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let broker = Arc::new(IbBroker::start_with_clock(settings, clock.clone()));
        broker
            .wait_ready(ready_wait)
            .await
            .context("the gateway did not become ready")?;
        let dir = tempfile::Builder::new()
            .prefix("vspread-validate-")
            .tempdir()
            .context("creating the validation's data directory")?;
        let config_path = dir.path().join("config.toml");
        let mut own = config.clone();
        own.storage.data_dir = ".".into();
        vspread_engine::config_store::ConfigStore::new(&config_path)
            .save(&own, None)
            .context("writing the validation's config")?;
        let live = vspread_engine::live_config::LiveConfig::load(&config_path)
            .context("loading the validation's config")?;
        let journal = Arc::new(
            SqliteJournal::open_in(dir.path()).context("opening the validation's journal")?,
        );
        let engine = EngineBuilder::new(
            live,
            broker.clone() as Arc<dyn Broker>,
            journal,
            clock.clone(),
        )
        .build()?;
        let services = engine.start_services();
        Ok(Self {
            config: config.clone(),
            broker,
            engine,
            clock,
            timeout,
            _services: services,
            _dir: dir,
        })
    }

    /// Cancels whatever still works and disconnects.
    pub async fn stop(self) {
        let cancelled = self
            .engine
            .orders()
            .cancel_all(None, vspread_engine::orders::CancelReason::Shutdown);
        if !cancelled.is_empty() {
            self.engine.wait_orders_idle(Duration::from_secs(10)).await;
        }
        self.broker.shutdown().await;
    }

    /// A fresh order reference for the check `what`.
    pub fn order_ref(&self, what: &str, purpose: OrderPurpose) -> String {
        let decision = format!("validate:{what}:{}", self.clock.now().to_rfc3339());
        vspread_core::OrderRef::for_decision(&decision, purpose, 0)
            .map(|r| r.to_string())
            .unwrap_or_else(|_| format!("vs-validate-{what}"))
    }

    /// Hands an order for `quoted` to the engine's order manager: journaled,
    /// placed at `prices[0]`, walked to each next price every `interval`,
    /// cancelled at `timeout`. Resolves with its outcome.
    pub fn submit(
        &self,
        order_ref: &str,
        purpose: OrderPurpose,
        quoted: &QuotedSpread,
        quantity: u32,
        prices: Vec<NetPrice>,
        interval: Duration,
    ) -> anyhow::Result<oneshot::Receiver<OrderOutcome>> {
        let spread = quoted.spread.clone();
        let first = prices[0];
        let request = OrderRequest::vertical(order_ref, spread.clone(), purpose, quantity, first)
            .with_context(|| format!("the order {order_ref} at {first:?}"))?;
        let leg = |c: &vspread_core::ContractInfo| {
            journal_leg(c).with_context(|| format!("{} is not an option", c.con_id))
        };
        let record = JournaledOrder {
            order_ref: order_ref.to_string(),
            purpose,
            spread_ref: order_ref.to_string(),
            symbol: spread.underlying().to_string(),
            currency: spread.long().currency().to_string(),
            kind: spread.kind(),
            long: leg(&quoted.long.contract)?,
            short: leg(&quoted.short.contract)?,
            quantity,
            limit: first.amount(),
            credit: first.is_credit(),
            mid: first.amount(),
            reason: "validation".into(),
            context: "{}".into(),
            created_at: self.clock.now(),
        };
        let plan = OrderPlan {
            record,
            request,
            walk: PriceWalk {
                prices,
                interval,
                timeout: self.timeout * 4,
            },
            reprice: None,
            decided_at: Instant::now(),
            // Validation orders answer no signal.
            signal_at: None,
        };
        let (tx, rx) = oneshot::channel();
        self.engine
            .orders()
            .submit(
                plan,
                Box::new(move |outcome| {
                    Box::pin(async move {
                        let _ = tx.send(outcome);
                    })
                }),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(rx)
    }
}

/// The next order event of `order_ref` that `matches`, within `timeout`.
pub async fn next_order_event(
    events: &mut EventStream,
    order_ref: &str,
    timeout: Duration,
    matches: impl Fn(&OrderEvent) -> bool,
) -> Option<OrderEvent> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(BrokerEvent::Order(e))) if e.order_ref() == order_ref && matches(&e) => {
                return Some(e);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return None,
        }
    }
}

/// Milliseconds, for the table.
pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}
