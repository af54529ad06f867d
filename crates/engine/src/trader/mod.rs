//! The trader: what one decision cycle does. Exits first, for every held
//! spread while the market is open; then, while the trading session is
//! active, each universe symbol is considered for an entry: signal, risk
//! gate, model-guided chain, scan, sizing, what-if, and a walked combo
//! order. Every step publishes an event saying what was decided and why.
//!
//! The trader talks to the gateway only through the [`Broker`] trait, reads
//! time only from the [`Clock`], and reads the config only from the cycle's
//! snapshot, so a cycle never mixes two versions.

mod book;
mod entry;
mod exit;
mod positions_view;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};
use tokio::sync::Mutex;
use tracing::{info, warn};
use vspread_core::broker::{Broker, BrokerError, DailyBar, OrderRequest};
use vspread_core::clock::Clock;
use vspread_core::journal::{Journal, JournalError, OrderEnd};

pub use book::{HeldSpread, RestoreError};

use crate::control::KillSwitch;
use crate::cycle_loop::CycleContext;
use crate::events::EventBus;
use crate::order_driver::{DrivenOrder, PriceWalk, Reprice, drive_order_until};
use crate::risk::{AccountState, Exposure, IvBreakers};
use crate::views::TradingViews;

/// What the trader keeps between cycles.
#[derive(Debug, Default)]
struct TraderState {
    held: Vec<HeldSpread>,
    iv_breakers: IvBreakers,
    /// The New York date `realised_today` belongs to.
    day: Option<NaiveDate>,
    realised_today: Decimal,
    /// Unrealised P&L of each held spread at its last mark, by entry ref.
    unrealised: HashMap<String, Decimal>,
    /// Daily bars by symbol, fetched once per New York date.
    bars: HashMap<String, (NaiveDate, Vec<DailyBar>)>,
    /// The last refusal published for each symbol.
    last_refusal: HashMap<String, String>,
    /// The legs found not to pair with the journal's spreads, last look.
    mismatched_legs: Vec<crate::recovery::LegMismatch>,
    /// Each held spread's last mark, by entry ref.
    marks: HashMap<String, positions_view::Mark>,
}

/// Runs decision cycles against a broker.
pub struct Trader {
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    events: Arc<EventBus>,
    /// Orders are written here before the broker hears of them.
    journal: Arc<dyn Journal>,
    /// Engaged: no entry is considered and a working entry order is
    /// cancelled at once.
    kill_switch: Arc<KillSwitch>,
    /// What the operator sees of scans, positions and working orders.
    views: Arc<TradingViews>,
    state: Mutex<TraderState>,
}

impl std::fmt::Debug for Trader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trader").finish_non_exhaustive()
    }
}

impl Trader {
    pub fn new(
        broker: Arc<dyn Broker>,
        clock: Arc<dyn Clock>,
        events: Arc<EventBus>,
        journal: Arc<dyn Journal>,
    ) -> Self {
        Self {
            broker,
            clock,
            events,
            journal,
            kill_switch: Arc::new(KillSwitch::default()),
            views: Arc::new(TradingViews::new()),
            state: Mutex::new(TraderState::default()),
        }
    }

    /// Follows this kill switch (the control plane's) instead of its own.
    pub fn with_kill_switch(mut self, kill_switch: Arc<KillSwitch>) -> Self {
        self.kill_switch = kill_switch;
        self
    }

    /// Shows its scans, positions and working orders here (the admin
    /// API's) instead of in views of its own.
    pub fn with_views(mut self, views: Arc<TradingViews>) -> Self {
        self.views = views;
        self
    }

    pub fn views(&self) -> &Arc<TradingViews> {
        &self.views
    }

    /// Takes up the spreads the journal holds open (after a restart, once
    /// recovery has brought the journal up to date with the gateway), with
    /// their legs' lines pinned again. Returns how many.
    pub async fn restore_from_journal(&self) -> Result<usize, RestoreFailure> {
        let orders = self.journal.orders()?;
        let spreads = self.journal.spreads()?;
        let today = vspread_core::expiry::eastern_date(self.clock.now());
        let mut held = Vec::new();
        let mut realised_today = rust_decimal::Decimal::ZERO;
        for s in &spreads {
            let closed_today = s
                .closure
                .as_ref()
                .is_some_and(|c| vspread_core::expiry::eastern_date(c.at) == today);
            if closed_today {
                realised_today += s.cash;
            }
            if !s.is_open() {
                continue;
            }
            let h = book::restore_held(s, &orders)?;
            if vspread_core::expiry::eastern_date(s.entry.created_at) == today {
                realised_today += h.position.realised_pnl().value();
            }
            held.push(h);
        }
        for h in &held {
            for leg in [&h.long_contract, &h.short_contract] {
                if let Err(e) = self.broker.subscribe_quotes(leg, true).await {
                    warn!(spread = %h.entry_ref, error = %e, "restored leg not subscribed");
                }
            }
        }
        let count = held.len();
        let mut state = self.state.lock().await;
        state.day = Some(today);
        state.realised_today = realised_today;
        state.held = held;
        Ok(count)
    }

    /// Runs a journal write off the async workers (it waits for the disk).
    async fn journal_write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || write(&*journal))
            .await
            .unwrap_or_else(|e| Err(JournalError::Storage(format!("journal task failed: {e}"))))
    }

    /// Records how an order ended; a failure is logged (the order's fills
    /// are journaled by the recorder regardless).
    async fn journal_end(&self, order_ref: &str, outcome: &str, detail: String) {
        let end = OrderEnd {
            outcome: outcome.to_string(),
            detail,
            at: self.clock.now(),
        };
        let r = order_ref.to_string();
        if let Err(e) = self
            .journal_write(move |j| j.record_order_end(&r, &end))
            .await
        {
            warn!(%order_ref, error = %e, "order end not journaled");
        }
    }

    /// Drives a journaled order to its end while the operator may cancel
    /// it: the views list it as driven (the API's cancel answers 202 only
    /// then), a cancel request or `stop` ends it at the driver's next turn,
    /// and the end is journaled.
    async fn drive_cancellable(
        &self,
        request: &OrderRequest,
        walk: &PriceWalk,
        reprice: Reprice<'_>,
        stop: impl Fn() -> bool + Send + Sync,
    ) -> Result<DrivenOrder, BrokerError> {
        let order_ref = &request.order_ref;
        let views = &self.views;
        let abort = || stop() || views.cancel_requested(order_ref);
        views.begin_order(order_ref);
        let driven = drive_order_until(
            &*self.broker,
            &*self.clock,
            request,
            walk,
            Some(reprice),
            Some(&abort),
        )
        .await;
        views.end_order(order_ref);
        if let Ok(d) = &driven {
            let detail = format!(
                "{:?}; {} filled in {} steps",
                d.end,
                d.filled(),
                d.steps_taken
            );
            self.journal_end(order_ref, outcome_name(&d.end), detail)
                .await;
        }
        driven
    }

    /// The spreads held now (open ones; closed ones leave the book).
    pub async fn held(&self) -> Vec<HeldSpread> {
        self.state.lock().await.held.clone()
    }

    /// Realised P&L of the current New York day, after commissions.
    pub async fn realised_today(&self) -> Decimal {
        self.state.lock().await.realised_today
    }

    fn publish(&self, kind: &str, message: impl Into<String>, data: Json) {
        let message = message.into();
        info!(kind, "{message}");
        self.events.publish(kind, message, data);
    }

    /// One decision cycle.
    pub async fn cycle(&self, ctx: &CycleContext) {
        let today = vspread_core::expiry::eastern_date(ctx.now);
        {
            let mut state = self.state.lock().await;
            if state.day != Some(today) {
                state.day = Some(today);
                state.realised_today = Decimal::ZERO;
            }
        }
        self.check_legs().await;
        if crate::market_hours::regular_session(ctx.now) {
            self.manage_exits(ctx, today).await;
        }
        if ctx.session_active {
            self.consider_entries(ctx, today).await;
        }
        self.show_positions(ctx, today).await;
    }

    async fn consider_entries(&self, ctx: &CycleContext, today: NaiveDate) {
        for symbol in &ctx.config.trading.universe {
            if let Err(e) = self.consider_entry(ctx, today, symbol).await {
                warn!(%symbol, error = %e, "entry step failed");
                self.publish(
                    "entry.failed",
                    format!("{symbol}: {e}"),
                    json!({ "symbol": symbol, "error": e.to_string() }),
                );
            }
        }
    }

    /// Pairs the gateway's legs with the journal's open spreads (no order
    /// is in flight between cycles) and reports loudly, once per change, a
    /// leg no spread explains or a spread legged out at the gateway.
    async fn check_legs(&self) {
        let read = self
            .journal_write(|j| Ok((j.orders()?, j.spreads()?)))
            .await;
        let Ok((orders, spreads)) = read else {
            return;
        };
        if orders.is_empty() {
            return;
        }
        let Ok(positions) = self.broker.positions().await else {
            return;
        };
        let found = crate::recovery::pair_legs(&orders, &spreads, &positions);
        let mut state = self.state.lock().await;
        if found == state.mismatched_legs {
            return;
        }
        state.mismatched_legs = found.clone();
        drop(state);
        for leg in &found {
            warn!(con_id = leg.con_id, journal = %leg.journal, gateway = %leg.gateway,
                  spread = ?leg.spread_ref, "a leg at the gateway does not pair with the journal's spreads");
            self.publish(
                "position.mismatch",
                format!(
                    "conId {}: the gateway holds {}, the journal's spreads {} ({})",
                    leg.con_id,
                    leg.gateway,
                    leg.journal,
                    leg.spread_ref
                        .as_deref()
                        .unwrap_or("an orphan leg: no open spread")
                ),
                json!(leg),
            );
        }
    }

    /// The account and exposure the risk gate reads.
    async fn risk_inputs(
        &self,
    ) -> Result<(AccountState, Exposure), vspread_core::broker::BrokerError> {
        let summary = self.broker.account_summary().await?;
        let value = |tag: &str| summary.values.get(tag).copied().unwrap_or_default();
        let state = self.state.lock().await;
        let mut exposure = Exposure::default();
        for h in &state.held {
            *exposure
                .open_by_underlying
                .entry(h.order_spread.underlying.clone())
                .or_default() += 1;
        }
        Ok((
            AccountState {
                net_liquidation: value("NetLiquidation"),
                buying_power: value("BuyingPower"),
                realised_today: state.realised_today,
                unrealised: state.unrealised.values().copied().sum(),
            },
            exposure,
        ))
    }
}

/// Why the journal's spreads could not be taken up.
#[derive(Debug, thiserror::Error)]
pub enum RestoreFailure {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Spread(#[from] RestoreError),
}

/// The journal's name for how a driven order ended.
fn outcome_name(end: &crate::order_driver::OrderEnd) -> &'static str {
    use crate::order_driver::OrderEnd as E;
    match end {
        E::Filled => "filled",
        E::TimedOut => "timed_out",
        E::Cancelled => "cancelled",
        E::Rejected { .. } => "rejected",
    }
}

/// A failure of one entry or exit step (the cycle goes on with the next).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Broker(#[from] vspread_core::broker::BrokerError),
    #[error(transparent)]
    Signal(#[from] crate::signals::SignalError),
    #[error("{0}")]
    Other(String),
}
