//! The trader: what one decision cycle decides. Exits first, for every held
//! spread while the market is open; then, while the trading session is
//! active, each universe symbol is considered for an entry through the
//! typed stages of [`crate::decision`]. A decision hands its order to the
//! [`OrderManager`] and goes on: the cycle never waits on a fill. What
//! follows an order's end (a spread opened, a spread closed) is booked by
//! the continuation the decision handed over with it.
//!
//! The trader talks to the gateway only through the [`Broker`] trait, reads
//! time only from the [`Clock`], reads the config only from the cycle's
//! snapshot (so a decision never mixes two versions), and stops deciding
//! at the next stage boundary once the engine is paused.

mod book;
mod entry;
mod exit;
mod manual;
mod positions_view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::Serialize;
use tracing::warn;
use vspread_core::DailyBar;
use vspread_core::broker::{Broker, BrokerError};
use vspread_core::clock::Clock;
use vspread_core::config::Config;
use vspread_core::journal::JournalError;

pub use book::{HeldSpread, RestoreError, restore_held};

use crate::control::ControlPlane;
use crate::cycle_loop::CycleContext;
use crate::decision::StepError;
use crate::decision::record::{DecisionLog, DecisionOutcome};
use crate::events::{DecisionAbandoned, DecisionRefused, EngineEvent, EventBus};
use crate::journal_io::JournalIo;
use crate::orders::{OrderManager, TradingRecords};
use crate::risk::{AccountState, Exposure, IvBreakers, Refusal};
use crate::storage::StorageHealth;
use crate::views::TradingViews;

/// What the trader keeps between cycles.
#[derive(Debug, Default)]
struct TraderState {
    held: Vec<HeldSpread>,
    iv_breakers: IvBreakers,
    /// The New York date `realised_today` belongs to.
    day: Option<NaiveDate>,
    realised_today: Decimal,
    /// Realised P&L of every spread closed, after commissions.
    realised_total: Decimal,
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

/// The parts a trader works with.
#[derive(Clone)]
pub struct TraderParts {
    pub broker: Arc<dyn Broker>,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<EventBus>,
    /// Orders are written here before the broker hears of them.
    pub journal: JournalIo,
    pub orders: Arc<OrderManager>,
    /// The pause and the kill switch.
    pub control: Arc<ControlPlane>,
    /// What the operator sees of scans and positions.
    pub views: Arc<TradingViews>,
    /// What each entry decision saw and decided, for the operator.
    pub decisions: Arc<DecisionLog>,
    /// The scanner watch gives way while a decision quotes a chain.
    pub watch: Arc<crate::watch::WatchState>,
    /// Whether the journal can be relied on for a new entry.
    pub storage: Arc<StorageHealth>,
    /// Where a closure goes when the journal cannot take it at once.
    pub records: Arc<TradingRecords>,
}

impl std::fmt::Debug for TraderParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraderParts").finish_non_exhaustive()
    }
}

struct Inner {
    parts: TraderParts,
    state: Mutex<TraderState>,
}

/// Runs decision cycles against a broker; cheap to clone (the order
/// continuations hold a clone).
#[derive(Clone)]
pub struct Trader(Arc<Inner>);

impl std::fmt::Debug for Trader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trader").finish_non_exhaustive()
    }
}

impl std::ops::Deref for Trader {
    type Target = TraderParts;
    fn deref(&self) -> &TraderParts {
        &self.0.parts
    }
}

impl Trader {
    pub fn new(parts: TraderParts) -> Self {
        Trader(Arc::new(Inner {
            parts,
            state: Mutex::new(TraderState::default()),
        }))
    }

    fn state(&self) -> MutexGuard<'_, TraderState> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes up the spreads the journal holds open (after a restart, once
    /// recovery has brought the journal up to date with the gateway), with
    /// their legs' lines pinned again. Returns how many.
    pub async fn restore_from_journal(&self) -> Result<usize, RestoreFailure> {
        let (orders, spreads) = self
            .journal
            .run(|j| Ok((j.orders()?, j.spreads()?)))
            .await?;
        let today = vspread_core::expiry::eastern_date(self.clock.now());
        let mut held = Vec::new();
        let mut realised_today = Decimal::ZERO;
        let realised_total = spreads
            .iter()
            .filter_map(|s| s.closure.as_ref())
            .map(|c| c.realised)
            .sum();
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
            let h = restore_held(s, &orders)?;
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
        let mut state = self.state();
        state.day = Some(today);
        state.realised_today = realised_today;
        state.realised_total = realised_total;
        state.held = held;
        Ok(count)
    }

    /// The spreads held now (open ones; closed ones leave the book).
    pub fn held(&self) -> Vec<HeldSpread> {
        self.state().held.clone()
    }

    /// Realised P&L of the current New York day, after commissions.
    pub fn realised_today(&self) -> Decimal {
        self.state().realised_today
    }

    /// Realised P&L of every spread closed so far (the journal's at
    /// recovery, then each closing as it is booked), after commissions.
    pub fn realised_total(&self) -> Decimal {
        self.state().realised_total
    }

    /// One decision cycle.
    pub async fn cycle(&self, ctx: &CycleContext) {
        let today = vspread_core::expiry::eastern_date(ctx.now);
        {
            let mut state = self.state();
            if state.day != Some(today) {
                state.day = Some(today);
                state.realised_today = Decimal::ZERO;
            }
        }
        // While an order works its legs move at the gateway before the
        // journal hears of the fills: pair them only when none works.
        if self.orders.is_idle() {
            self.check_legs().await;
        }
        if crate::market_hours::regular_session(ctx.now) {
            self.manage_exits(ctx, today).await;
        }
        if ctx.session_active {
            self.consider_entries(ctx, today).await;
        }
        self.show_positions(&ctx.config.exits, ctx.now);
    }

    /// Still allowed to decide: no pause since the cycle began.
    fn current(&self, ctx: &CycleContext) -> bool {
        self.control.is_current(ctx.token)
    }

    /// Says a paused cycle stopped before `stage`.
    fn abandon(&self, ctx: &CycleContext, symbol: Option<&str>, stage: &str) -> DecisionOutcome {
        self.events.publish(
            format!(
                "cycle {} stopped before {stage}{}: the engine was paused",
                ctx.number,
                symbol.map(|s| format!(" of {s}")).unwrap_or_default()
            ),
            EngineEvent::DecisionAbandoned(DecisionAbandoned {
                cycle: ctx.number,
                symbol: symbol.map(str::to_string),
                before: stage.to_string(),
            }),
        );
        DecisionOutcome::Abandoned {
            before: stage.to_string(),
        }
    }

    /// Publishes a refusal; logs it only when it differs from the last one
    /// for this symbol (a held position refuses the same signal every
    /// cycle). Returns the decision's outcome.
    fn refuse(&self, symbol: &str, refusal: &Refusal) -> DecisionOutcome {
        let message = format!("{symbol}: no entry: {refusal}");
        let repeated = {
            let mut state = self.state();
            let last = state
                .last_refusal
                .insert(symbol.to_string(), message.clone());
            last.as_deref() == Some(message.as_str())
        };
        let event = EngineEvent::DecisionRefused(DecisionRefused {
            symbol: symbol.to_string(),
            refusal: refusal.clone(),
        });
        if repeated {
            self.events.publish_quietly(message, event);
        } else {
            self.events.publish(message, event);
        }
        DecisionOutcome::Refused {
            refusal: refusal.clone().into(),
        }
    }

    /// Pairs the gateway's legs with the journal's open spreads and
    /// reports loudly, once per change, a leg no spread explains or a
    /// spread legged out at the gateway.
    async fn check_legs(&self) {
        // The open book and the contracts ever traded, not the whole
        // record: this runs every cycle, however long the journal grows.
        let read = self
            .journal
            .read(|j| Ok((j.traded_con_ids()?, j.open_spreads()?)))
            .await;
        let Ok((traded, spreads)) = read else {
            return;
        };
        if traded.is_empty() {
            return;
        }
        let Ok(positions) = self.broker.positions().await else {
            return;
        };
        // An order handed over since the journal was read moves legs the
        // read does not know of.
        if !self.orders.is_idle() {
            return;
        }
        let found = crate::recovery::pair_legs(&traded, &spreads, &positions);
        {
            let mut state = self.state();
            if found == state.mismatched_legs {
                return;
            }
            state.mismatched_legs = found.clone();
        }
        for leg in &found {
            crate::recovery::publish_mismatch(&self.events, leg);
        }
    }

    /// Held spreads and working entries (the bot's and manual ones), by
    /// underlying: what the position limits count.
    fn exposure(&self) -> Exposure {
        let mut exposure = Exposure::default();
        for order in self.orders.working() {
            if order.purpose.opens() {
                *exposure
                    .open_by_underlying
                    .entry(order.symbol.clone())
                    .or_default() += 1;
            }
        }
        let state = self.state();
        for h in &state.held {
            *exposure
                .open_by_underlying
                .entry(h.symbol().to_string())
                .or_default() += 1;
        }
        exposure
    }

    /// The account and exposure the risk gate reads: held spreads and
    /// working entries count alike against the position limits.
    async fn risk_inputs(&self) -> Result<(AccountState, Exposure), BrokerError> {
        let summary = self.broker.account_summary().await?;
        let exposure = self.exposure();
        let state = self.state();
        Ok((
            AccountState {
                net_liquidation: summary.value("NetLiquidation"),
                buying_power: summary.value("BuyingPower"),
                realised_today: state.realised_today,
                unrealised: state.unrealised.values().copied().sum(),
            },
            exposure,
        ))
    }

    /// How much of the gate's limits is in use now, from what the trader
    /// holds (no gateway call).
    pub fn risk_usage(&self, config: &Config, kill_switch: bool) -> RiskUsage {
        let exposure = self.exposure();
        let daily_pnl = {
            let state = self.state();
            state.realised_today + state.unrealised.values().copied().sum::<Decimal>()
        };
        let daily_loss = if daily_pnl < Decimal::ZERO {
            -daily_pnl
        } else {
            Decimal::ZERO
        };
        let limit = config.risk.max_daily_loss;
        let used = daily_loss.to_f64().unwrap_or(0.0);
        let mut per_underlying: Vec<UnderlyingUsage> = exposure
            .open_by_underlying
            .iter()
            .map(|(symbol, open)| UnderlyingUsage {
                symbol: symbol.clone(),
                open: *open,
            })
            .collect();
        per_underlying.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        RiskUsage {
            daily_pnl,
            daily_loss,
            max_daily_loss: limit,
            daily_loss_used: if limit > 0.0 { used / limit } else { 0.0 },
            open_positions: exposure.total(),
            max_positions: config.trading.max_positions,
            per_underlying,
            max_positions_per_underlying: config.trading.max_positions_per_underlying,
            kill_switch,
        }
    }
}

/// How much of the risk gate's limits is in use.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RiskUsage {
    /// Realised P&L of the New York day plus the held spreads' unrealised
    /// P&L at their last marks.
    pub daily_pnl: Decimal,
    /// The day's loss (zero when the day is up), against
    /// `risk.max_daily_loss`: entries halt when it reaches the limit.
    pub daily_loss: Decimal,
    pub max_daily_loss: f64,
    /// `daily_loss / max_daily_loss` (1 = entries halt).
    pub daily_loss_used: f64,
    /// Spreads held plus entries working, against `trading.max_positions`.
    pub open_positions: usize,
    pub max_positions: i64,
    /// The same per underlying, against
    /// `trading.max_positions_per_underlying`.
    pub per_underlying: Vec<UnderlyingUsage>,
    pub max_positions_per_underlying: i64,
    pub kill_switch: bool,
}

/// Spreads held plus entries working on one underlying.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UnderlyingUsage {
    pub symbol: String,
    pub open: usize,
}

/// Why the journal's spreads could not be taken up.
#[derive(Debug, thiserror::Error)]
pub enum RestoreFailure {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Spread(#[from] RestoreError),
}

impl From<RestoreFailure> for StepError {
    fn from(e: RestoreFailure) -> Self {
        StepError::Other(e.to_string())
    }
}
