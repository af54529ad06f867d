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

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{Value as Json, json};
use tokio::sync::Mutex;
use tracing::{info, warn};
use vspread_core::broker::{Broker, DailyBar};
use vspread_core::clock::Clock;

pub use book::HeldSpread;

use crate::cycle_loop::CycleContext;
use crate::events::EventBus;
use crate::risk::{AccountState, Exposure, IvBreakers};

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
}

/// Runs decision cycles against a broker.
pub struct Trader {
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    events: Arc<EventBus>,
    state: Mutex<TraderState>,
}

impl std::fmt::Debug for Trader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trader").finish_non_exhaustive()
    }
}

impl Trader {
    pub fn new(broker: Arc<dyn Broker>, clock: Arc<dyn Clock>, events: Arc<EventBus>) -> Self {
        Self {
            broker,
            clock,
            events,
            state: Mutex::new(TraderState::default()),
        }
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
        if crate::market_hours::regular_session(ctx.now) {
            self.manage_exits(ctx, today).await;
        }
        if !ctx.session_active {
            return;
        }
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
