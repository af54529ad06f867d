//! Considering one symbol for an entry: the stages of
//! [`crate::decision`] in order, each one's verdict published, a stop at
//! each stage boundary once the engine is paused, and the order handed to
//! the order manager with the continuation that books what it fills.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures::StreamExt;
use tracing::warn;
use vspread_core::broker::BrokerEvent;
use vspread_core::{
    ConId, NetPrice, OrderPurpose, OrderRef, SpreadFill, SpreadKind, SpreadPosition,
};

use super::Trader;
use super::book::{HeldSpread, entry_context_json};
use crate::cycle_loop::CycleContext;
use crate::decision::StepError;
use crate::decision::chain::{self, MarketView};
use crate::decision::gate::{self, GateInput};
use crate::decision::order::{LivePrices, PlanInput, plan};
use crate::decision::preview::preview;
use crate::decision::quoted::{QuotedSpread, opening_prices};
use crate::decision::record::{DecisionOutcome, DecisionRecord, GateVerdict, SignalStep};
use crate::decision::scan::scan_chain;
use crate::decision::signal::{SignalOutcome, signal};
use crate::decision::size::size;
use crate::events::{
    BreakerSwitched, DecisionEntry, DecisionQuotes, EngineEvent, EntryFailed, GateView, LegFilled,
    LegQuote, OrderPreviewed, PositionOpened, SignalFired, yyyymmdd,
};
use crate::exits::EntryContext;
use crate::orders::OrderOutcome;
use crate::risk::{AccountState, BreakerSwitch, Exposure, Refusal};
use crate::signals;
use crate::views::{ScanDecision, ScanSource};

/// How long a decision waits for the chosen legs' pinned lines to quote.
const FRESH_QUOTES: Duration = Duration::from_secs(1);

impl Trader {
    pub(super) async fn consider_entries(&self, ctx: &CycleContext, today: NaiveDate) {
        for symbol in &ctx.config.trading.universe {
            let mut record = DecisionRecord {
                id: DecisionRecord::id_of(ctx.number, symbol),
                cycle: ctx.number,
                at: ctx.now,
                symbol: symbol.clone(),
                config_generation: ctx.config_generation,
                signal: None,
                gate: None,
                scan: None,
                outcome: DecisionOutcome::NoSignal,
            };
            if !self.current(ctx) {
                record.outcome = self.abandon(ctx, Some(symbol), "signal");
                self.decisions.push(record);
                return;
            }
            record.outcome = match self.consider_entry(ctx, today, symbol, &mut record).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    warn!(%symbol, error = %e, "entry step failed");
                    self.events.publish(
                        format!("{symbol}: {e}"),
                        EngineEvent::EntryFailed(EntryFailed {
                            symbol: symbol.clone(),
                            error: e.to_string(),
                        }),
                    );
                    DecisionOutcome::Failed {
                        error: e.to_string(),
                    }
                }
            };
            if record.scan.is_some() {
                let (order_ref, rank) = match &record.outcome {
                    DecisionOutcome::Entered {
                        order_ref, rank, ..
                    } => (Some(order_ref.clone()), Some(*rank)),
                    _ => (None, None),
                };
                self.views.record_decision(
                    symbol,
                    ctx.now,
                    ScanDecision {
                        id: record.id.clone(),
                        outcome: record.outcome.name(),
                        order_ref,
                    },
                    rank,
                );
            }
            self.decisions.push(record);
        }
    }

    /// The strategy firing on `symbol` now, on the trader's daily bars
    /// (none when none fires, or the bars cannot be had).
    pub async fn signal_now(
        &self,
        symbol: &str,
        config: &vspread_core::config::Config,
        today: NaiveDate,
    ) -> Option<signals::Strategy> {
        let needed = signals::bars_needed(&config.strategies);
        if needed == 0 {
            return None;
        }
        let bars = self.bars(symbol, today, needed).await.ok()?;
        signals::evaluate(symbol, &bars, &config.strategies)
            .ok()?
            .signal()
            .map(|e| e.strategy)
    }

    /// Daily bars for `symbol`, fetched once per New York date.
    pub(super) async fn bars(
        &self,
        symbol: &str,
        today: NaiveDate,
        needed: usize,
    ) -> Result<Vec<vspread_core::DailyBar>, StepError> {
        if let Some((day, bars)) = self.state().bars.get(symbol)
            && *day == today
            && bars.len() >= needed
        {
            return Ok(bars.clone());
        }
        // A margin over what the strategies need, for holidays and gaps.
        let bars = self
            .broker
            .daily_bars(
                symbol,
                u32::try_from(needed + signals::BARS_MARGIN).unwrap_or(u32::MAX),
            )
            .await?;
        self.state()
            .bars
            .insert(symbol.to_string(), (today, bars.clone()));
        Ok(bars)
    }

    /// The IV breaker's verdict on a fresh reading; a switch is published.
    fn observe_iv(&self, ctx: &CycleContext, symbol: &str, iv: f64) -> Option<Refusal> {
        let config = &ctx.config;
        let (switch, blocking) = {
            let mut state = self.state();
            let switch = state.iv_breakers.observe(config, symbol, iv);
            (switch, state.iv_breakers.blocking(symbol))
        };
        if let Some(switch) = switch {
            let data = BreakerSwitched {
                symbol: symbol.to_string(),
                iv,
            };
            let message = format!("{symbol}: IV circuit breaker {switch:?} at {iv:.3}");
            self.events.publish(
                message,
                match switch {
                    BreakerSwitch::Tripped => EngineEvent::BreakerTripped(data),
                    BreakerSwitch::Reset => EngineEvent::BreakerReset(data),
                },
            );
        }
        blocking.map(|iv| Refusal::IvCircuitBreaker {
            underlying: symbol.to_string(),
            iv,
            max_iv: config.risk.max_iv,
            resume: config.risk.max_iv_resume,
        })
    }

    /// The working entry (the bot's or a manual one) on `symbol`, if one
    /// works.
    pub(super) fn working_entry(&self, symbol: &str) -> Option<String> {
        self.orders
            .working()
            .into_iter()
            .find(|o| o.purpose.opens() && o.symbol == symbol)
            .map(|o| o.order_ref)
    }

    /// The re-pricing an opening order's walk reads before each step (the
    /// bot's entries and an operator's manual ones alike): mid and natural
    /// of opening `kind` from the legs' latest quotes.
    pub(super) fn live_opening_prices(
        &self,
        kind: SpreadKind,
        long: ConId,
        short: ConId,
    ) -> LivePrices {
        let broker = self.broker.clone();
        Arc::new(move || {
            opening_prices(
                kind,
                &broker.latest_quote(long)?,
                &broker.latest_quote(short)?,
            )
        })
    }

    /// Mid and natural of opening `kind` from the legs' pinned lines,
    /// waiting (for the broker's quote events, at most [`FRESH_QUOTES`])
    /// for a line that was just subscribed to fill in.
    async fn fresh_opening_prices(
        &self,
        kind: SpreadKind,
        long: ConId,
        short: ConId,
    ) -> Option<(NetPrice, NetPrice)> {
        let mut events = self.broker.events();
        let now = || {
            opening_prices(
                kind,
                &self.broker.latest_quote(long)?,
                &self.broker.latest_quote(short)?,
            )
        };
        let deadline = tokio::time::Instant::now() + FRESH_QUOTES;
        loop {
            if let Some(prices) = now() {
                return Some(prices);
            }
            match tokio::time::timeout_at(deadline, events.next()).await {
                Ok(Some(BrokerEvent::Quote(_))) | Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// The stages for one symbol, each one's findings written to `record`;
    /// returns what was decided.
    pub(super) async fn consider_entry(
        &self,
        ctx: &CycleContext,
        today: NaiveDate,
        symbol: &str,
        record: &mut DecisionRecord,
    ) -> Result<DecisionOutcome, StepError> {
        let config = &ctx.config;

        // 1. Signal.
        let needed = signals::bars_needed(&config.strategies);
        if needed == 0 {
            return Ok(DecisionOutcome::NoSignal);
        }
        let bars = self.bars(symbol, today, needed).await?;
        let (evaluations, outcome) = signal(symbol, &bars, &config.strategies)?;
        record.signal = Some(SignalStep {
            evaluations,
            fired: match &outcome {
                SignalOutcome::Fired(e) => Some(e.strategy),
                SignalOutcome::None(_) => None,
            },
        });
        let fired = match outcome {
            SignalOutcome::None(none) => {
                self.events.publish_quietly(
                    format!("{symbol}: no signal"),
                    EngineEvent::SignalNone(none),
                );
                return Ok(DecisionOutcome::NoSignal);
            }
            SignalOutcome::Fired(fired) => fired,
        };
        let direction = fired.strategy.direction();
        let signal_at = self
            .events
            .publish(
                format!("{symbol}: {} ({direction:?})", fired.strategy.name()),
                EngineEvent::SignalFired(SignalFired {
                    symbol: symbol.to_string(),
                    signal: fired.clone(),
                }),
            )
            .at;

        // 2. Gate: every rule that refuses is recorded; the first decides.
        if !self.current(ctx) {
            return Ok(self.abandon(ctx, Some(symbol), "gate"));
        }
        let (account, exposure) = self.risk_inputs().await?;
        let working = self.working_entry(symbol);
        let kill_switch = self.control.kill_switch().is_engaged();
        let journal = self.storage.degraded();
        let refusals = gate::refusals(GateInput {
            config,
            now: ctx.now,
            symbol,
            kill_switch,
            journal_degraded: journal.as_ref(),
            account: &account,
            exposure: &exposure,
            entry_working: working.as_deref(),
        });
        record.gate = Some(gate_verdict(
            config,
            symbol,
            kill_switch,
            &account,
            &exposure,
            &refusals,
        ));
        if let Some(first) = refusals.first() {
            return Ok(self.refuse(symbol, first));
        }
        let kinds = match chain::kinds(direction, &config.scanner) {
            Ok(kinds) => kinds,
            Err(refusal) => return Ok(self.refuse(symbol, &refusal)),
        };

        // 3. Chain: the market, the IV breaker, the planned and quoted chain
        // (the scanner watch gives way meanwhile: its lines and the chain's
        // share one budget).
        let quoting = self.watch.chain_quoting();
        let market = chain::market(&*self.broker, symbol, &config.scanner, today).await?;
        if let Some(refusal) = self.observe_iv(ctx, symbol, market.vol) {
            return Ok(self.refuse(symbol, &refusal));
        }
        if !self.current(ctx) {
            return Ok(self.abandon(ctx, Some(symbol), "chain"));
        }
        let scan_started = Instant::now();
        let chained = chain::chain(&*self.broker, symbol, &market, &kinds, config, today).await?;
        drop(quoting);

        // 4. Scan.
        if !self.current(ctx) {
            return Ok(self.abandon(ctx, Some(symbol), "scan"));
        }
        let compute_started = Instant::now();
        let scanned = scan_chain(&chained.acquired, &chained.scanner);
        let compute = compute_started.elapsed();
        let duration = scan_started.elapsed();
        let requests = chained.acquired.quote_requests;
        self.views.record_scan(scanned.view(
            symbol,
            ctx.now,
            ScanSource::Trader,
            Some(fired.strategy),
            &kinds,
            requests,
        ));
        let completed = scanned.event(
            symbol,
            &kinds,
            requests,
            chained.naive_requests,
            duration.as_secs_f64() * 1e3,
            compute.as_secs_f64() * 1e3,
        );
        record.scan = Some(completed.clone());
        self.events.publish(
            format!(
                "{symbol}: {} spreads from {requests} quotes ({} without the model)",
                scanned.result.rows.len(),
                chained.naive_requests
            ),
            EngineEvent::ScanCompleted(completed),
        );
        let Some(quoted) = scanned.best else {
            if scanned.result.rows.is_empty() {
                return Ok(DecisionOutcome::NoSpread);
            }
            return Err(StepError::Other(format!(
                "{symbol}: the best row's legs were not acquired"
            )));
        };
        if !self.current(ctx) {
            return Ok(self.abandon(ctx, Some(symbol), "size"));
        }
        let signal = FiredSignal {
            evaluation: &fired,
            at: signal_at,
        };
        self.enter(ctx, symbol, signal, &account, &exposure, &market, quoted)
            .await
    }

    /// Stages 5 to 7 for the chosen spread: size, preview, order.
    #[allow(clippy::too_many_arguments)]
    async fn enter(
        &self,
        ctx: &CycleContext,
        symbol: &str,
        signal: FiredSignal<'_>,
        account: &crate::risk::AccountState,
        exposure: &crate::risk::Exposure,
        market: &MarketView,
        quoted: QuotedSpread,
    ) -> Result<DecisionOutcome, StepError> {
        let config = &ctx.config;
        let fired = signal.evaluation;
        // The scan's quotes may be a while old (a chain takes many
        // requests): pin the chosen legs' lines and price the decision from
        // their latest quotes.
        for leg in [&quoted.long.contract, &quoted.short.contract] {
            self.broker.subscribe_quotes(leg, true).await?;
        }
        let (long_id, short_id) = (quoted.long.contract.con_id, quoted.short.contract.con_id);
        let unpin = || {
            self.broker.set_pinned(long_id, false);
            self.broker.set_pinned(short_id, false);
        };
        let kind = quoted.spread.kind();
        let decision = format!("entry:{symbol}:{}", ctx.now.to_rfc3339());
        let order_ref = OrderRef::for_decision(&decision, OrderPurpose::Entry, 0)
            .map_err(|e| StepError::Other(e.to_string()))?
            .to_string();

        // 5. Size at the scan's mid: the size the preview asks about.
        let Some((scan_mid, _)) = quoted.scanned_prices() else {
            unpin();
            return Err(StepError::Other(format!(
                "{symbol}: the chosen spread has no two-sided market"
            )));
        };
        let previewed = match size(
            config,
            account.net_liquidation,
            &quoted.spread,
            scan_mid,
            None,
        ) {
            Ok(s) => s,
            Err(refusal) => {
                unpin();
                return Ok(self.refuse(symbol, &refusal));
            }
        };

        // 6. Preview: a gateway round trip, before the final quotes, so the
        // order leaves as soon as the last quote is in. The order never
        // exceeds the size previewed.
        let mut margin = None;
        if config.execution.what_if {
            let tick = quoted.tick();
            let price = crate::orders::step_price(scan_mid, scan_mid, tick, &config.execution, 0)
                .unwrap_or(scan_mid);
            let request = vspread_core::OrderRequest::vertical(
                &order_ref,
                quoted.spread.clone(),
                OrderPurpose::Entry,
                previewed.quantity,
                price,
            )
            .map_err(|e| StepError::Other(format!("{symbol}: {e}")));
            let previewed_margin = match request {
                Ok(request) => preview(&*self.broker, config, account.buying_power, &request).await,
                Err(e) => {
                    unpin();
                    return Err(e);
                }
            };
            match previewed_margin {
                Ok(Ok(p)) => {
                    self.events.publish(
                        format!(
                            "{symbol}: what-if margin {} for {}",
                            p.margin, previewed.quantity
                        ),
                        EngineEvent::OrderPreviewed(OrderPreviewed {
                            symbol: symbol.to_string(),
                            order_ref: order_ref.clone(),
                            margin: p.margin,
                            quantity: previewed.quantity,
                            commission: p.commission,
                        }),
                    );
                    margin = Some(p.margin);
                }
                Ok(Err(refusal)) => {
                    unpin();
                    return Ok(self.refuse(symbol, &refusal));
                }
                Err(e) => {
                    unpin();
                    return Err(e.into());
                }
            }
        }

        // 7. Order.
        if !self.current(ctx) {
            unpin();
            return Ok(self.abandon(ctx, Some(symbol), "order"));
        }
        let fresh = self.fresh_opening_prices(kind, long_id, short_id).await;
        // The last needed quote is in hand: the decision's clock starts.
        let decided_at = Instant::now();
        let Some((mid, natural)) = fresh.or_else(|| quoted.scanned_prices()) else {
            unpin();
            return Err(StepError::Other(format!(
                "{symbol}: the chosen spread has no two-sided market"
            )));
        };
        let sized = match size(
            config,
            account.net_liquidation,
            &quoted.spread,
            mid,
            Some(previewed.quantity),
        ) {
            Ok(s) => s,
            Err(refusal) => {
                unpin();
                return Ok(self.refuse(symbol, &refusal));
            }
        };
        let entry = EntryContext {
            underlying: market.spot,
            atr: fired.indicators.atr,
        };
        let live = self.live_opening_prices(kind, long_id, short_id);
        let planned = plan(
            PlanInput {
                order_ref: order_ref.clone(),
                purpose: OrderPurpose::Entry,
                spread_ref: order_ref.clone(),
                spread: &quoted.spread,
                long: &quoted.long.contract,
                short: &quoted.short.contract,
                quantity: sized.quantity,
                mid,
                natural,
                execution: &config.execution,
                reason: fired.strategy.name().to_string(),
                context: entry_context_json(
                    &entry,
                    serde_json::to_value(fired).unwrap_or_default(),
                    signal.at,
                ),
                now: ctx.now,
                decided_at,
                signal_at: Some(signal.at),
            },
            live,
        );
        let planned = match planned {
            Ok(p) => p,
            Err(e) => {
                unpin();
                return Err(e);
            }
        };
        let quote = |id| {
            self.broker.latest_quote(id).map(|q| LegQuote {
                bid: q.bid,
                ask: q.ask,
                last: q.last,
            })
        };
        let spread = &quoted.spread;
        self.events.publish(
            format!(
                "{symbol}: open {} {} {}/{} at {} (natural {})",
                sized.quantity,
                kind.name(),
                spread.long().strike(),
                spread.short().strike(),
                planned.walk.prices[0].amount(),
                natural.amount()
            ),
            EngineEvent::DecisionEntry(Box::new(DecisionEntry {
                symbol: symbol.to_string(),
                order_ref: order_ref.clone(),
                quantity: sized.quantity,
                kind,
                expiry: yyyymmdd(spread.expiry()),
                long: spread.long().strike().value(),
                short: spread.short().strike().value(),
                mid: mid.amount(),
                natural: natural.amount(),
                quotes: DecisionQuotes {
                    long: quote(long_id),
                    short: quote(short_id),
                },
                walk: planned.walk.prices.iter().map(|p| p.amount()).collect(),
                risk: GateView {
                    open_positions: exposure.total(),
                    max_positions: config.trading.max_positions,
                    open_on_underlying: exposure.on(symbol),
                    max_positions_per_underlying: config.trading.max_positions_per_underlying,
                    daily_pnl: account.realised_today + account.unrealised,
                    max_daily_loss: config.risk.max_daily_loss,
                    iv: market.vol,
                    max_iv: config.risk.max_iv,
                    order_value: sized.max_loss * rust_decimal::Decimal::from(sized.quantity),
                    max_order_value: config.risk.max_order_value,
                    margin,
                    buying_power: account.buying_power,
                    min_buying_power: config.risk.min_buying_power,
                },
                config_generation: ctx.config_generation,
            })),
        );
        // The kill switch may have been engaged while the decision was made:
        // it is read once more at the hand-over.
        if self.control.kill_switch().is_engaged() {
            unpin();
            return Ok(self.refuse(symbol, &Refusal::KillSwitch));
        }
        let entered = DecisionOutcome::Entered {
            order_ref: order_ref.clone(),
            kind,
            quantity: sized.quantity,
            limit: planned.walk.prices[0].amount(),
            bound: planned
                .walk
                .prices
                .last()
                .unwrap_or(&planned.walk.prices[0])
                .amount(),
            rank: 1,
        };
        let trader = self.clone();
        let mid_amount = mid.amount();
        let snapshot = ctx.config.clone();
        let handed = self.orders.submit(
            planned,
            Box::new(move |outcome| {
                Box::pin(async move {
                    trader
                        .book_entry(outcome, quoted, entry, mid_amount, &snapshot)
                        .await;
                })
            }),
        );
        if let Err(e) = handed {
            unpin();
            return Err(StepError::Other(e.to_string()));
        }
        Ok(entered)
    }

    /// An entry's end: a spread opened by what it filled, or its legs'
    /// lines let go when nothing filled.
    pub(super) async fn book_entry(
        &self,
        outcome: OrderOutcome,
        quoted: QuotedSpread,
        entry: EntryContext,
        mid: rust_decimal::Decimal,
        config: &vspread_core::config::Config,
    ) {
        let purpose = outcome.record.purpose;
        let (long_id, short_id) = (quoted.long.contract.con_id, quoted.short.contract.con_id);
        let symbol = outcome.record.symbol.clone();
        let order_ref = outcome.record.order_ref.clone();
        let driven = match outcome.result {
            Ok(d) if !d.filled().is_zero() => d,
            _ => {
                self.broker.set_pinned(long_id, false);
                self.broker.set_pinned(short_id, false);
                return;
            }
        };
        let Some(fill) = driven.fills.spread_fill(purpose, driven.ended_at) else {
            warn!(%order_ref, "filled but its fills make no spread fill");
            return;
        };
        let position = match SpreadPosition::open(quoted.spread.clone(), &fill) {
            Ok(p) => p,
            Err(e) => {
                warn!(%order_ref, error = %e, "filled but cannot be booked");
                return;
            }
        };
        let held = HeldSpread {
            entry_ref: order_ref.clone(),
            long_contract: quoted.long.contract.clone(),
            short_contract: quoted.short.contract.clone(),
            position,
            entry,
            entry_net: fill.net,
            opened: fill.quantity,
            exit_attempts: 0,
            opened_by: purpose,
        };
        let opened = opened_event(&symbol, &order_ref, &fill, &driven, mid);
        self.events.publish(
            format!(
                "{symbol}: opened {} {} at {} ({})",
                fill.quantity,
                quoted.spread.kind().name(),
                fill.net,
                driven.end.outcome()
            ),
            EngineEvent::PositionOpened(opened),
        );
        {
            let mut state = self.state();
            // Entry commissions are realised when paid.
            state.realised_today += held.position.realised_pnl().value();
            state.held.push(held);
        }
        // Shown now, not at the next cycle.
        self.show_positions(&config.exits, self.clock.now());
    }
}

/// The signal an entry acts on, and when it fired on the engine's clock.
#[derive(Clone, Copy)]
struct FiredSignal<'a> {
    evaluation: &'a signals::Evaluation,
    at: chrono::DateTime<chrono::Utc>,
}

fn opened_event(
    symbol: &str,
    order_ref: &str,
    fill: &SpreadFill,
    driven: &crate::orders::DrivenOrder,
    mid: rust_decimal::Decimal,
) -> PositionOpened {
    PositionOpened {
        symbol: symbol.to_string(),
        order_ref: order_ref.to_string(),
        quantity: fill.quantity,
        net: fill.net.value(),
        commissions: fill.commissions.value(),
        combo_fills: driven.fills.order.quantity,
        combo_notional: driven.fills.order.notional,
        legs: driven
            .fills
            .legs
            .iter()
            .map(|(id, l)| LegFilled {
                con_id: id.0,
                quantity: l.quantity,
                average: l.average_price(),
            })
            .collect(),
        slippage_vs_mid: fill.net.value() - mid,
    }
}

/// The gate's verdict on `symbol`: every rule that refused (`refusals`, in
/// the gate's order) beside the numbers it judged.
pub(super) fn gate_verdict(
    config: &vspread_core::config::Config,
    symbol: &str,
    kill_switch: bool,
    account: &AccountState,
    exposure: &Exposure,
    refusals: &[Refusal],
) -> GateVerdict {
    GateVerdict {
        passed: refusals.is_empty(),
        refusals: refusals.iter().cloned().map(Into::into).collect(),
        open_positions: exposure.total(),
        max_positions: config.trading.max_positions,
        open_on_underlying: exposure.on(symbol),
        max_positions_per_underlying: config.trading.max_positions_per_underlying,
        daily_pnl: account.realised_today + account.unrealised,
        max_daily_loss: config.risk.max_daily_loss,
        kill_switch,
    }
}
