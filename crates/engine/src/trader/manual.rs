//! The trader's part of trading by hand (the types are
//! [`crate::manual`]'s): assessing a spread an operator names (its legs
//! resolved and quoted through the broker, the scanner's numbers and
//! filters, the sizing bounds, the what-if, every rule of the risk gate),
//! handing a manual entry to the order manager with the continuation that
//! books it like the bot's entries, and closing a held spread with a
//! walked order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use tracing::info;
use vspread_analytics::scanner::{EvaluateError, LegMarket, SpreadMarket, check_filters, evaluate};
use vspread_core::broker::BrokerError;
use vspread_core::config::{Config, TradingMode};
use vspread_core::{
    ContractInfo, NetPrice, OptionContract, OrderPurpose, OrderRef, OrderRequest, Price, Quote,
    Right, SpreadKind, Tick, VerticalSpread,
};

use super::Trader;
use super::exit::{ExitPlan, closing_prices};
use super::positions_view::breakeven;
use crate::chain_acquisition::{AcquiredLeg, await_complete_quotes};
use crate::chain_plan::PlannedOption;
use crate::decision::gate::{self, GateInput};
use crate::decision::order::{PlanInput, plan};
use crate::decision::quoted::{QuotedSpread, opening_prices};
use crate::decision::size::max_loss_per_contract;
use crate::events::{
    EngineEvent, ExitTriggered, ManualClose, ManualEntry, ManualRefused, yyyymmdd,
};
use crate::exits::{EntryContext, ExitReason};
use crate::manual::{
    FieldError, FilterVerdict, LimitSettings, ManualClosing, ManualError, ManualPlaced,
    OrderTicket, PreviewLeg, PreviewReport, ScannerNumbers, WalkView, WhatIfView, days_to,
};
use crate::orders::price_walk;
use crate::risk::{self, Refusal};
use crate::signals::{self, Strategy};
use crate::views::{LegGreeks, LegRole, NetGreeks};

/// How long a preview waits for the legs' lines to quote in full.
const QUOTE_WAIT: Duration = Duration::from_secs(3);

/// Numbers manual orders' decision ids within a process (two identical
/// tickets in the same instant still make two orders).
static MANUAL_SEQ: AtomicU64 = AtomicU64::new(0);

/// A spread assessed for a manual entry: the report and what an order
/// needs beside it.
struct Assessment {
    report: PreviewReport,
    refusals: Vec<Refusal>,
    spread: VerticalSpread,
    long: AcquiredLeg,
    short: AcquiredLeg,
    mid: NetPrice,
    natural: NetPrice,
    execution: vspread_core::config::ExecutionConfig,
}

fn symbol_ok(symbol: &str) -> bool {
    let mut chars = symbol.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && symbol.len() <= 10
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.')
}

/// The ticket's own rules, every broken one named by its field.
fn check_ticket(ticket: &OrderTicket, today: chrono::NaiveDate) -> Result<(), ManualError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.to_string(),
            message,
        });
    };
    if !symbol_ok(&ticket.symbol) {
        bad(
            "symbol",
            format!(
                "`{}` is not a symbol (upper-case letters, digits and dots, at most 10)",
                ticket.symbol
            ),
        );
    }
    if !(1..=1000).contains(&ticket.quantity) {
        bad(
            "quantity",
            format!("{} is outside 1 to 1000", ticket.quantity),
        );
    }
    for (field, strike) in [
        ("long_strike", ticket.long_strike),
        ("short_strike", ticket.short_strike),
    ] {
        if strike <= Decimal::ZERO {
            bad(field, format!("{strike} is not a positive strike"));
        }
    }
    let (long, short) = (ticket.long_strike, ticket.short_strike);
    let low_long = ticket.kind.long_is_low_strike();
    if long == short {
        bad(
            "short_strike",
            format!("{short} is the long strike too: a vertical needs two strikes"),
        );
    } else if low_long != (long < short) && long > Decimal::ZERO && short > Decimal::ZERO {
        bad(
            "long_strike",
            format!(
                "a {} buys the {} strike: long {long} and short {short} make the other kind",
                ticket.kind.name(),
                if low_long { "lower" } else { "higher" }
            ),
        );
    }
    if ticket.expiry < today {
        bad(
            "expiry",
            format!(
                "{} has expired (today is {today} in New York)",
                ticket.expiry
            ),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ManualError::Invalid(errors))
    }
}

/// An unknown contract is the caller's field; anything else the gateway's.
fn unknown_or(field: &str, message: String) -> impl FnOnce(BrokerError) -> ManualError + '_ {
    move |e| match e {
        BrokerError::NoSecurityDefinition { .. } => ManualError::invalid(field, message),
        other => ManualError::Gateway(other),
    }
}

fn f64_of(d: Option<Decimal>) -> f64 {
    d.and_then(|d| d.to_f64()).unwrap_or(f64::NAN)
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn leg_market(strike: Decimal, q: &Quote) -> LegMarket {
    let g = q.greeks.unwrap_or_default();
    LegMarket {
        strike: strike.to_f64().unwrap_or(f64::NAN),
        bid: f64_of(q.bid),
        ask: f64_of(q.ask),
        delta: g.delta.unwrap_or(f64::NAN),
        iv: g.implied_vol.unwrap_or(f64::NAN),
        open_interest: q.open_interest.and_then(|d| d.to_i64()).unwrap_or(-1),
    }
}

fn preview_leg(role: LegRole, contract: &ContractInfo, strike: Decimal, q: &Quote) -> PreviewLeg {
    PreviewLeg {
        role,
        con_id: contract.con_id.0,
        local_symbol: contract.local_symbol.clone(),
        right: contract.option().map_or(Right::Call, |o| o.right()),
        strike: strike.normalize(),
        bid: q.bid,
        ask: q.ask,
        mid: q.mid(),
        open_interest: q.open_interest,
        greeks: q.greeks.map(LegGreeks::from).unwrap_or_default(),
    }
}

/// The strategy whose ATR sets a manual spread's stop: the bullish one for
/// bullish kinds, the bearish one for bearish kinds.
fn stop_strategy(kind: SpreadKind) -> Strategy {
    match kind.direction() {
        vspread_core::Direction::Bullish => Strategy::HighBase,
        vspread_core::Direction::Bearish => Strategy::LowBase,
    }
}

impl Trader {
    /// The preview of `ticket` now (see [`crate::Engine::preview`]).
    pub async fn preview(
        &self,
        ticket: &OrderTicket,
        config: &Config,
    ) -> Result<PreviewReport, ManualError> {
        let assessed = self.assess(ticket, config, true, false).await?;
        Ok(assessed.report)
    }

    /// Resolves, quotes and judges `ticket`. With `pin`, the legs' lines
    /// are pinned (an order follows; they are let go again on failure).
    async fn assess(
        &self,
        ticket: &OrderTicket,
        config: &Config,
        what_if: bool,
        pin: bool,
    ) -> Result<Assessment, ManualError> {
        let now = self.clock.now();
        let today = vspread_core::expiry::eastern_date(now);
        check_ticket(ticket, today)?;
        let execution = ticket
            .limit
            .clone()
            .unwrap_or_default()
            .apply(&config.execution)?;
        let symbol = ticket.symbol.as_str();
        let stock = self.broker.stock(symbol).await.map_err(unknown_or(
            "symbol",
            format!("the gateway knows no stock `{symbol}`"),
        ))?;
        let params = self.broker.option_chain(symbol).await.map_err(unknown_or(
            "symbol",
            format!("the gateway lists no options on `{symbol}`"),
        ))?;
        if !params
            .iter()
            .any(|p| p.expirations.contains(&ticket.expiry))
        {
            return Err(ManualError::invalid(
                "expiry",
                format!("{symbol} lists no options expiring {}", ticket.expiry),
            ));
        }
        let mut unlisted = Vec::new();
        for (field, strike) in [
            ("long_strike", ticket.long_strike),
            ("short_strike", ticket.short_strike),
        ] {
            if !params.iter().any(|p| p.strikes.contains(&strike)) {
                unlisted.push(FieldError {
                    field: field.into(),
                    message: format!("{symbol} lists no strike {strike}"),
                });
            }
        }
        if !unlisted.is_empty() {
            return Err(ManualError::Invalid(unlisted));
        }
        let right = ticket.kind.right();
        let spec = |strike: Decimal| {
            OptionContract::builder()
                .underlying(symbol)
                .expiry(ticket.expiry)
                .strike(Price::new(strike))
                .right(right)
                .build()
        };
        let mut legs = Vec::new();
        for (field, strike) in [
            ("long_strike", ticket.long_strike),
            ("short_strike", ticket.short_strike),
        ] {
            let spec =
                spec(strike).map_err(|e| ManualError::invalid(field, format!("{strike}: {e}")))?;
            let contract = self.broker.option(&spec).await.map_err(unknown_or(
                field,
                format!("no {symbol} {} {right:?} {strike} is listed", ticket.expiry),
            ))?;
            legs.push(contract);
        }
        let (long_c, short_c) = (legs[0].clone(), legs[1].clone());
        let spread = match (long_c.option(), short_c.option()) {
            (Some(l), Some(s)) => VerticalSpread::from_legs(ticket.kind, l.clone(), s.clone())
                .map_err(|e| ManualError::invalid("long_strike", e.to_string()))?,
            _ => {
                return Err(ManualError::Internal(format!(
                    "the gateway described {symbol}'s legs as something other than options"
                )));
            }
        };

        // Quotes: the legs' lines (which carry open interest and the
        // model's greeks), the underlying's snapshot.
        let mut events = self.broker.events();
        for leg in [&long_c, &short_c] {
            self.broker.subscribe_quotes(leg, pin).await?;
        }
        let unpin = || {
            if pin {
                self.broker.set_pinned(long_c.con_id, false);
                self.broker.set_pinned(short_c.con_id, false);
            }
        };
        let judged = self
            .judge(
                ticket,
                config,
                what_if,
                now,
                today,
                &stock,
                &spread,
                &long_c,
                &short_c,
                &mut events,
                execution,
            )
            .await;
        if judged.is_err() {
            unpin();
        }
        judged
    }

    /// The quotes in, everything the preview says.
    #[allow(clippy::too_many_arguments)]
    async fn judge(
        &self,
        ticket: &OrderTicket,
        config: &Config,
        what_if: bool,
        now: chrono::DateTime<chrono::Utc>,
        today: chrono::NaiveDate,
        stock: &ContractInfo,
        spread: &VerticalSpread,
        long_c: &ContractInfo,
        short_c: &ContractInfo,
        events: &mut vspread_core::broker::EventStream,
        execution: vspread_core::config::ExecutionConfig,
    ) -> Result<Assessment, ManualError> {
        let symbol = ticket.symbol.as_str();
        let deadline = tokio::time::Instant::now() + QUOTE_WAIT;
        await_complete_quotes(
            &*self.broker,
            events,
            &[long_c.con_id, short_c.con_id],
            deadline,
        )
        .await;
        let quote_of = |c: &ContractInfo| self.broker.latest_quote(c.con_id).unwrap_or_default();
        let (long_q, short_q) = (quote_of(long_c), quote_of(short_c));
        let underlying = self.broker.snapshot(stock).await?;
        let Some(spot) = underlying
            .last
            .or(underlying.mid())
            .and_then(|d| d.to_f64())
        else {
            return Err(ManualError::NoMarket(format!(
                "{symbol}: the underlying has no price now"
            )));
        };
        let Some((mid, natural)) = opening_prices(ticket.kind, &long_q, &short_q) else {
            return Err(ManualError::NoMarket(format!(
                "{symbol}: no two-sided market to open the spread at (long {:?}/{:?}, short {:?}/{:?})",
                long_q.bid, long_q.ask, short_q.bid, short_q.ask
            )));
        };
        let dte = days_to(ticket.expiry, today);
        let market = SpreadMarket {
            kind: ticket.kind,
            spot,
            dte,
            long: leg_market(ticket.long_strike, &long_q),
            short: leg_market(ticket.short_strike, &short_q),
        };
        for (leg, name) in [(&market.long, "long"), (&market.short, "short")] {
            if !(leg.iv.is_finite() && leg.iv > 0.0) {
                return Err(ManualError::NoMarket(format!(
                    "{symbol}: the {name} leg has no implied volatility from the gateway yet"
                )));
            }
        }
        let metrics = match evaluate(&market) {
            Ok(m) => m,
            Err(EvaluateError::Price { price, width }) => {
                let message = format!(
                    "at the legs' mids the spread's net is {price:.4}, not inside (0, {width}): the scanner's rule says it cannot lose or cannot win"
                );
                return Err(ManualError::Invalid(vec![
                    FieldError {
                        field: "long_strike".into(),
                        message: message.clone(),
                    },
                    FieldError {
                        field: "short_strike".into(),
                        message,
                    },
                ]));
            }
            Err(e @ EvaluateError::StrikeOrder { .. }) => {
                return Err(ManualError::invalid("long_strike", e.to_string()));
            }
        };
        let filters = check_filters(&market, Some(&metrics), &config.scanner)
            .into_iter()
            .map(|c| FilterVerdict {
                filter: c.filter.name(),
                keys: c.filter.keys().to_vec(),
                value: c.value.and_then(finite),
                min: c.min,
                max: c.max,
                passed: c.passed,
            })
            .collect();

        // Money, exact at the mid.
        let multiplier = spread.multiplier();
        let quantity = Decimal::from(ticket.quantity);
        let per_spread_loss = max_loss_per_contract(spread, mid);
        let width = spread.width().value();
        let per_spread_profit = width * Decimal::from(multiplier) - per_spread_loss;
        let (low, high) = (
            ticket.long_strike.min(ticket.short_strike),
            ticket.long_strike.max(ticket.short_strike),
        );
        let tick = Tick::new(long_c.min_tick.max(short_c.min_tick)).unwrap_or(Tick::PENNY);
        let walk = price_walk(mid, natural, tick, &execution)
            .map_err(|e| ManualError::NoMarket(format!("{symbol}: {e}")))?;

        // The account, the gate, the sizing, the what-if.
        let (account, exposure) = self.risk_inputs().await?;
        let working = self.working_entry(symbol);
        let kill_switch = self.control.kill_switch().is_engaged();
        let journal = self.storage.degraded();
        let mut refusals = gate::refusals(GateInput {
            config,
            now,
            symbol,
            kill_switch,
            journal_degraded: journal.as_ref(),
            account: &account,
            exposure: &exposure,
            entry_working: working.as_deref(),
        });
        if config.trading.mode == TradingMode::Live && !config.execution.manual_orders_live {
            refusals.push(Refusal::ManualInLive);
        }
        if let Some(iv) = self.state().iv_breakers.blocking(symbol) {
            refusals.push(Refusal::IvCircuitBreaker {
                underlying: symbol.to_string(),
                iv,
                max_iv: config.risk.max_iv,
                resume: config.risk.max_iv_resume,
            });
        }
        let sizing = risk::size_limits(config, account.net_liquidation, per_spread_loss);
        if sizing.allowed == 0 {
            if let Err(refusal) = risk::size(config, account.net_liquidation, per_spread_loss) {
                refusals.push(refusal);
            }
        } else if ticket.quantity > sizing.allowed {
            refusals.push(Refusal::Oversized {
                requested: ticket.quantity,
                allowed: sizing.allowed,
                key: sizing.key,
            });
        }
        let (what_if_view, buying_power_after) = if what_if {
            let preview_ref =
                OrderRef::for_decision(&format!("preview:{symbol}:{now}"), OrderPurpose::Manual, 0)
                    .map_err(|e| ManualError::Internal(e.to_string()))?;
            let request = OrderRequest::vertical(
                preview_ref.as_str(),
                spread.clone(),
                OrderPurpose::Manual,
                ticket.quantity,
                walk.prices[0],
            )
            .map_err(|e| ManualError::NoMarket(format!("{symbol}: {e}")))?;
            match self.broker.what_if(&request).await {
                Ok(w) => {
                    let after = w
                        .init_margin_change
                        .map(|margin| account.buying_power - margin);
                    if let Err(refusal) = risk::after_what_if(
                        config,
                        account.buying_power,
                        w.init_margin_change.unwrap_or_default(),
                    ) {
                        refusals.push(refusal);
                    }
                    (Some(WhatIfView::from(w)), after)
                }
                Err(BrokerError::OrderRejected { code, reason, .. }) => {
                    refusals.push(Refusal::WhatIfRejected { code, reason });
                    (None, None)
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            (None, None)
        };
        let gate =
            super::entry::gate_verdict(config, symbol, kill_switch, &account, &exposure, &refusals);
        let legs = vec![
            preview_leg(LegRole::Long, long_c, ticket.long_strike, &long_q),
            preview_leg(LegRole::Short, short_c, ticket.short_strike, &short_q),
        ];
        let net_greeks = NetGreeks::of(
            &legs[0].greeks,
            &legs[1].greeks,
            ticket.quantity,
            multiplier,
        );
        let report = PreviewReport {
            at: now,
            mode: config.trading.mode,
            symbol: symbol.to_string(),
            kind: ticket.kind,
            expiry: ticket.expiry,
            dte,
            quantity: ticket.quantity,
            multiplier,
            width: width.normalize(),
            underlying: spot,
            legs,
            net_greeks,
            mid,
            natural,
            max_profit: (per_spread_profit * quantity).normalize(),
            max_loss: (per_spread_loss * quantity).normalize(),
            breakevens: vec![breakeven(ticket.kind, low, high, mid.amount()).normalize()],
            scanner: ScannerNumbers {
                width: metrics.width,
                price: metrics.price,
                natural: metrics.natural,
                max_profit: metrics.max_profit,
                max_loss: metrics.max_loss,
                breakeven: metrics.breakeven,
                pop: metrics.pop,
                ev: metrics.ev,
                score: metrics.score,
            },
            filters,
            what_if: what_if_view,
            net_liquidation: account.net_liquidation,
            buying_power: account.buying_power,
            buying_power_after,
            sizing,
            max_loss_per_spread: per_spread_loss.normalize(),
            gate,
            walk: WalkView::of(walk.prices.clone(), &execution),
        };
        let acquired = |contract: &ContractInfo, strike: Decimal, quote: Quote| AcquiredLeg {
            line: 0,
            option: PlannedOption {
                expiry: ticket.expiry,
                dte,
                strike,
                right: ticket.kind.right(),
                model_delta: quote.greeks.and_then(|g| g.delta).unwrap_or(f64::NAN),
            },
            contract: contract.clone(),
            quote,
        };
        Ok(Assessment {
            report,
            refusals,
            spread: spread.clone(),
            long: acquired(long_c, ticket.long_strike, long_q),
            short: acquired(short_c, ticket.short_strike, short_q),
            mid,
            natural,
            execution,
        })
    }

    /// Places `ticket` as a manual entry for `who` (see
    /// [`crate::Engine::place_manual`]).
    pub async fn place_manual(
        &self,
        ticket: &OrderTicket,
        config: Arc<Config>,
        who: &str,
    ) -> Result<ManualPlaced, ManualError> {
        let symbol = ticket.symbol.clone();
        let a = self
            .assess(ticket, &config, config.execution.what_if, true)
            .await?;
        let (long_id, short_id) = (a.long.contract.con_id, a.short.contract.con_id);
        let unpin = || {
            self.broker.set_pinned(long_id, false);
            self.broker.set_pinned(short_id, false);
        };
        // The kill switch is read once more at the hand-over, as the bot's
        // entries read it.
        let mut refusals = a.refusals.clone();
        if self.control.kill_switch().is_engaged() && !refusals.contains(&Refusal::KillSwitch) {
            refusals.insert(0, Refusal::KillSwitch);
        }
        if !refusals.is_empty() {
            unpin();
            let refusals: Vec<risk::RuleRefusal> = refusals.into_iter().map(Into::into).collect();
            info!(%who, %symbol, "audit: manual entry refused");
            self.events.publish(
                format!(
                    "{symbol}: manual entry by {who} refused: {}",
                    refusals
                        .iter()
                        .map(|r| r.message.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                EngineEvent::ManualRefused(ManualRefused {
                    who: who.to_string(),
                    symbol: symbol.clone(),
                    refusals: refusals.clone(),
                }),
            );
            return Err(ManualError::Refused(refusals));
        }
        // The ATR the stop is placed with, as a signal would have read it.
        let today = vspread_core::expiry::eastern_date(self.clock.now());
        let strategy = stop_strategy(ticket.kind);
        let periods = signals::indicator_periods(&vspread_core::config::StrategiesConfig {
            high_base: vspread_core::config::HighBaseConfig {
                enabled: true,
                ..config.strategies.high_base.clone()
            },
            low_base: vspread_core::config::LowBaseConfig {
                enabled: true,
                ..config.strategies.low_base.clone()
            },
        })
        .into_iter()
        .find(|p| p.strategy == strategy);
        let needed =
            signals::bars_needed(&config.strategies).max(periods.map_or(15, |p| p.atr_period + 1));
        let atr = match self.bars(&symbol, today, needed).await {
            Ok(bars) => periods.and_then(|p| {
                signals::indicator_series(&bars, &p, bars.len())
                    .last()
                    .and_then(|x| x.atr)
            }),
            Err(_) => None,
        };
        let Some(atr) = atr.filter(|a| a.is_finite()) else {
            unpin();
            return Err(ManualError::NoMarket(format!(
                "{symbol}: no daily bars to measure the ATR the stop is set from"
            )));
        };
        let now = self.clock.now();
        let decision = format!(
            "manual:{symbol}:{}:{}:{}",
            now.to_rfc3339(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
            MANUAL_SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let order_ref = OrderRef::for_decision(&decision, OrderPurpose::Manual, 0)
            .map_err(|e| ManualError::Internal(e.to_string()))?
            .to_string();
        let entry = EntryContext {
            underlying: a.report.underlying,
            atr,
        };
        let kind = ticket.kind;
        let live = self.live_opening_prices(kind, long_id, short_id);
        let planned = plan(
            PlanInput {
                order_ref: order_ref.clone(),
                purpose: OrderPurpose::Manual,
                spread_ref: order_ref.clone(),
                spread: &a.spread,
                long: &a.long.contract,
                short: &a.short.contract,
                quantity: ticket.quantity,
                mid: a.mid,
                natural: a.natural,
                execution: &a.execution,
                reason: "manual".into(),
                context: serde_json::json!({
                    "underlying": entry.underlying, "atr": entry.atr,
                    "who": who, "manual": true,
                })
                .to_string(),
                now,
                decided_at: Instant::now(),
                // A person decided, not a signal: no signal-to-order time.
                signal_at: None,
            },
            live,
        );
        let planned = match planned {
            Ok(p) => p,
            Err(e) => {
                unpin();
                return Err(ManualError::NoMarket(e.to_string()));
            }
        };
        let walk: Vec<Decimal> = planned.walk.prices.iter().map(|p| p.amount()).collect();
        info!(%who, %order_ref, %symbol, "audit: manual entry placed");
        self.events.publish(
            format!(
                "{symbol}: manual entry by {who}: {} {} {}/{} at {} (natural {})",
                ticket.quantity,
                kind.name(),
                ticket.long_strike,
                ticket.short_strike,
                walk[0],
                a.natural.amount()
            ),
            EngineEvent::ManualEntry(ManualEntry {
                who: who.to_string(),
                symbol: symbol.clone(),
                order_ref: order_ref.clone(),
                kind,
                expiry: yyyymmdd(ticket.expiry),
                long: ticket.long_strike,
                short: ticket.short_strike,
                quantity: ticket.quantity,
                mid: a.mid.amount(),
                natural: a.natural.amount(),
                walk,
                walk_interval_s: a.execution.walk_interval_s,
                order_timeout_s: a.execution.order_timeout_s,
            }),
        );
        let quoted = QuotedSpread {
            spread: a.spread.clone(),
            long: a.long.clone(),
            short: a.short.clone(),
        };
        let trader = self.clone();
        let mid = a.mid.amount();
        let snapshot = config.clone();
        let handed = self.orders.submit(
            planned,
            Box::new(move |outcome| {
                Box::pin(async move {
                    trader
                        .book_entry(outcome, quoted, entry, mid, &snapshot)
                        .await;
                })
            }),
        );
        if let Err(e) = handed {
            unpin();
            return Err(ManualError::Internal(e.to_string()));
        }
        Ok(ManualPlaced {
            order_ref: order_ref.clone(),
            spread_ref: order_ref,
            preview: a.report,
        })
    }

    /// Closes all of held spread `spread_ref` with a walked order for
    /// `who` (see [`crate::Engine::close_position`]).
    pub async fn close_manual(
        &self,
        spread_ref: &str,
        limit: Option<&LimitSettings>,
        config: Arc<Config>,
        who: &str,
    ) -> Result<ManualClosing, ManualError> {
        let execution = limit
            .cloned()
            .unwrap_or_default()
            .apply(&config.execution)?;
        let Some(held) = self.held().into_iter().find(|h| h.entry_ref == spread_ref) else {
            return Err(ManualError::NotHeld(spread_ref.to_string()));
        };
        if let Some(working) = self
            .orders
            .working()
            .into_iter()
            .find(|o| o.purpose == OrderPurpose::Exit && o.spread_ref == spread_ref)
        {
            return Err(ManualError::Closing {
                spread_ref: spread_ref.to_string(),
                order_ref: working.order_ref,
            });
        }
        let symbol = held.symbol().to_string();
        // The legs' pinned lines, or a snapshot if a line has no quote yet.
        let long = match self.broker.latest_quote(held.long_contract.con_id) {
            Some(q) if q.bid.is_some() && q.ask.is_some() => q,
            _ => self.broker.snapshot(&held.long_contract).await?,
        };
        let short = match self.broker.latest_quote(held.short_contract.con_id) {
            Some(q) if q.bid.is_some() && q.ask.is_some() => q,
            _ => self.broker.snapshot(&held.short_contract).await?,
        };
        let Some((mid, natural)) = closing_prices(&held, &long, &short) else {
            return Err(ManualError::NoMarket(format!(
                "{symbol}: no two-sided market to close {spread_ref} at"
            )));
        };
        let decided_at = Instant::now();
        let reason = ExitReason::Manual {
            who: who.to_string(),
        };
        let quantity = held.position.quantity();
        let now = self.clock.now();
        self.events.publish(
            format!("{spread_ref}: manual on {symbol} by {who}"),
            EngineEvent::ExitTriggered(ExitTriggered {
                order_ref: spread_ref.to_string(),
                symbol: symbol.clone(),
                reason: reason.clone(),
            }),
        );
        let context = serde_json::json!({ "reason": reason, "who": who }).to_string();
        let (order_ref, walk) = self
            .submit_exit(
                held,
                reason,
                ExitPlan {
                    mid,
                    natural,
                    execution: &execution,
                    context,
                    now,
                    decided_at,
                    config,
                },
            )
            .map_err(|e| ManualError::Internal(e.to_string()))?;
        info!(%who, %order_ref, %spread_ref, "audit: manual close placed");
        self.events.publish(
            format!(
                "{symbol}: {spread_ref} closed by hand by {who}: {quantity} at {} (natural {})",
                walk[0].amount(),
                natural.amount()
            ),
            EngineEvent::ManualClose(ManualClose {
                who: who.to_string(),
                symbol,
                spread_ref: spread_ref.to_string(),
                order_ref: order_ref.clone(),
                quantity,
                mid: mid.amount(),
                natural: natural.amount(),
                walk: walk.iter().map(|p| p.amount()).collect(),
            }),
        );
        Ok(ManualClosing {
            spread_ref: spread_ref.to_string(),
            order_ref,
            quantity,
            mid,
            natural,
            walk: WalkView::of(walk, &execution),
        })
    }
}
