//! Managing the held spreads: mark each at its legs' mids, test the exit
//! rules, and hand a walked closing combo to the order manager; its end is
//! booked on the spread when it comes.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::config::{Config, ExecutionConfig};
use vspread_core::journal::SpreadClosure;
use vspread_core::{NetPrice, OrderPurpose, OrderRef, Price, Quote};

use super::Trader;
use super::book::HeldSpread;
use crate::cycle_loop::CycleContext;
use crate::decision::StepError;
use crate::decision::order::{PlanInput, plan};
use crate::events::{EngineEvent, ExitFailed, ExitTriggered, TradeClosed};
use crate::exits::{ExitReason, Market, exit_reason, trade_result};
use crate::orders::OrderOutcome;

/// What a closing order is planned from.
#[derive(Debug)]
pub(super) struct ExitPlan<'a> {
    pub mid: NetPrice,
    pub natural: NetPrice,
    /// The `[execution]` values the order keeps.
    pub execution: &'a ExecutionConfig,
    /// What the decision rested on, as JSON text.
    pub context: String,
    pub now: DateTime<Utc>,
    pub decided_at: Instant,
    /// The snapshot the positions view is refreshed with once it ends.
    pub config: Arc<Config>,
}

/// What closing `held` at the legs' quotes would fetch (a debit spread is
/// sold for a credit) or cost (a credit spread is bought back for a
/// debit): the mid and the natural, as net prices of the closing order.
pub(super) fn closing_prices(
    held: &HeldSpread,
    long: &Quote,
    short: &Quote,
) -> Option<(NetPrice, NetPrice)> {
    let (lm, sm) = (long.mid()?, short.mid()?);
    if held.spread().is_debit() {
        let mid = lm - sm;
        let natural = long.bid? - short.ask?;
        (mid > Decimal::ZERO).then_some((
            NetPrice::Credit(mid),
            NetPrice::Credit(natural.max(Decimal::ZERO)),
        ))
    } else {
        let mid = sm - lm;
        let natural = short.ask? - long.bid?;
        (mid > Decimal::ZERO).then_some((NetPrice::Debit(mid), NetPrice::Debit(natural)))
    }
}

impl Trader {
    pub(super) async fn manage_exits(&self, ctx: &CycleContext, today: NaiveDate) {
        let held = self.state().held.clone();
        let closing: Vec<String> = self
            .orders
            .working()
            .into_iter()
            .filter(|o| o.purpose == OrderPurpose::Exit)
            .map(|o| o.spread_ref)
            .collect();
        for h in held {
            if !self.current(ctx) {
                self.abandon(ctx, Some(h.symbol()), "exit");
                return;
            }
            // One closing order at a time per spread.
            if closing.contains(&h.entry_ref) {
                continue;
            }
            if let Err(e) = self.manage_one(ctx, today, h.clone()).await {
                self.events.publish(
                    format!("{}: {e}", h.entry_ref),
                    EngineEvent::ExitFailed(ExitFailed {
                        order_ref: h.entry_ref.clone(),
                        error: e.to_string(),
                    }),
                );
            }
        }
    }

    async fn manage_one(
        &self,
        ctx: &CycleContext,
        today: NaiveDate,
        held: HeldSpread,
    ) -> Result<(), StepError> {
        let symbol = held.symbol().to_string();
        let stock = self.broker.stock(&symbol).await?;
        let uq = self.broker.snapshot(&stock).await?;
        let Some(underlying) = uq.last.or(uq.mid()).and_then(|d| d.to_f64()) else {
            return Ok(());
        };
        // The legs' pinned lines, or a snapshot if a line has no quote yet.
        let long = match self.broker.latest_quote(held.long_contract.con_id) {
            Some(q) if q.bid.is_some() && q.ask.is_some() => q,
            _ => self.broker.snapshot(&held.long_contract).await?,
        };
        let short = match self.broker.latest_quote(held.short_contract.con_id) {
            Some(q) if q.bid.is_some() && q.ask.is_some() => q,
            _ => self.broker.snapshot(&held.short_contract).await?,
        };
        let prices = closing_prices(&held, &long, &short);
        // The last needed quote is in hand: the decision's clock starts.
        let decided_at = Instant::now();
        let mark = prices.map(|(mid, _)| Price::new(mid.amount()));
        {
            let mut state = self.state();
            if let Some(mark) = mark {
                let pnl = held.position.unrealised_pnl(mark).value();
                state.unrealised.insert(held.entry_ref.clone(), pnl);
            }
            state.marks.insert(
                held.entry_ref.clone(),
                super::positions_view::Mark {
                    mark: mark.map(|m| m.value()),
                    underlying,
                    at: ctx.now,
                    long: long.clone(),
                    short: short.clone(),
                },
            );
        }
        let market = Market {
            underlying,
            mark,
            today,
        };
        let Some(reason) = exit_reason(&ctx.config.exits, &held.position, &held.entry, &market)
        else {
            return Ok(());
        };
        if !self.current(ctx) {
            self.abandon(ctx, Some(&symbol), "exit");
            return Ok(());
        }
        self.events.publish(
            format!("{}: {} on {symbol}", held.entry_ref, reason.name()),
            EngineEvent::ExitTriggered(ExitTriggered {
                order_ref: held.entry_ref.clone(),
                symbol: symbol.clone(),
                reason: reason.clone(),
            }),
        );
        let Some((mid, natural)) = prices else {
            return Err(StepError::Other(format!(
                "{symbol}: no two-sided market to close at"
            )));
        };
        let context =
            serde_json::json!({ "reason": reason, "underlying": underlying, "mark": mark })
                .to_string();
        self.submit_exit(
            held,
            reason,
            ExitPlan {
                mid,
                natural,
                execution: &ctx.config.execution,
                context,
                now: ctx.now,
                decided_at,
                config: ctx.config.clone(),
            },
        )
        .map(|_| ())
    }

    /// Plans a walked closing order for all of `held` and hands it to the
    /// order manager with the continuation that books its fills; returns
    /// its reference and walk. Counted as an exit attempt once planned.
    pub(super) fn submit_exit(
        &self,
        mut held: HeldSpread,
        reason: ExitReason,
        plan_for: ExitPlan<'_>,
    ) -> Result<(String, Vec<NetPrice>), StepError> {
        let decision = format!("exit:{}", held.entry_ref);
        let order_ref = OrderRef::for_decision(&decision, OrderPurpose::Exit, held.exit_attempts)
            .map_err(|e| StepError::Other(e.to_string()))?
            .to_string();
        held.exit_attempts += 1;
        let (long_id, short_id) = (held.long_contract.con_id, held.short_contract.con_id);
        let (broker, closing) = (self.broker.clone(), held.clone());
        let live = Arc::new(move || {
            closing_prices(
                &closing,
                &broker.latest_quote(long_id)?,
                &broker.latest_quote(short_id)?,
            )
        });
        let planned = plan(
            PlanInput {
                order_ref: order_ref.clone(),
                purpose: OrderPurpose::Exit,
                spread_ref: held.entry_ref.clone(),
                spread: held.spread(),
                long: &held.long_contract,
                short: &held.short_contract,
                quantity: held.position.quantity(),
                mid: plan_for.mid,
                natural: plan_for.natural,
                execution: plan_for.execution,
                reason: reason.name().to_string(),
                context: plan_for.context,
                now: plan_for.now,
                decided_at: plan_for.decided_at,
                signal_at: None,
            },
            live,
        )?;
        let walk = planned.walk.prices.clone();
        // Counted once decided: a restart numbers the next attempt after it
        // (the journal counts the exit orders it holds).
        self.state()
            .held
            .iter_mut()
            .filter(|h| h.entry_ref == held.entry_ref)
            .for_each(|h| h.exit_attempts = held.exit_attempts);
        let trader = self.clone();
        let config = plan_for.config;
        // Exits go on under the kill switch (it stops entries); the
        // operator may still cancel one.
        self.orders
            .submit(
                planned,
                Box::new(move |outcome| {
                    Box::pin(async move {
                        trader
                            .book_exit(outcome, held.entry_ref, reason, &config)
                            .await;
                    })
                }),
            )
            .map_err(|e| StepError::Other(e.to_string()))?;
        Ok((order_ref, walk))
    }

    /// An exit's end: what it filled comes off the spread; a spread that is
    /// flat is closed in the journal with its P&L and R.
    async fn book_exit(
        &self,
        outcome: OrderOutcome,
        entry_ref: String,
        reason: ExitReason,
        config: &Config,
    ) {
        let Ok(driven) = outcome.result else {
            return;
        };
        let Some(mut held) = self
            .state()
            .held
            .iter()
            .find(|h| h.entry_ref == entry_ref)
            .cloned()
        else {
            return;
        };
        let symbol = held.symbol().to_string();
        let before = held.position.realised_pnl().value();
        if let Some(fill) = driven
            .fills
            .spread_fill(OrderPurpose::Exit, driven.ended_at)
            && fill.quantity > 0
            && let Err(e) = held.position.apply(&fill)
        {
            tracing::warn!(spread = %entry_ref, error = %e, "exit fill cannot be booked");
            return;
        }
        let realised = held.position.realised_pnl().value() - before;
        let closed = !held.position.is_open();
        if closed && let Some(result) = trade_result(&held.position, held.entry_net, held.opened) {
            let closure = SpreadClosure {
                spread_ref: entry_ref.clone(),
                reason: reason.name().to_string(),
                realised: result.realised.value(),
                r_multiple: Some(result.r_multiple),
                at: self.clock.now(),
            };
            let record = closure.clone();
            match self.journal.run(move |j| j.record_closure(&record)).await {
                Ok(()) => {}
                Err(vspread_core::journal::JournalError::Storage(_)) => self
                    .records
                    .defer(crate::orders::TradingWrite::Closure(closure)),
                Err(e) => {
                    tracing::warn!(spread = %entry_ref, error = %e, "closure not journaled")
                }
            }
            self.events.publish(
                format!(
                    "{symbol}: {entry_ref} closed by {}: P&L {} ({:.2} R)",
                    reason.name(),
                    result.realised,
                    result.r_multiple
                ),
                EngineEvent::TradeClosed(TradeClosed {
                    order_ref: entry_ref.clone(),
                    symbol: symbol.clone(),
                    reason: reason.name().to_string(),
                    realised: result.realised.value(),
                    risk: result.risk.value(),
                    r_multiple: result.r_multiple,
                    commissions: held.position.commissions().value(),
                }),
            );
        }
        let closed_with = closed
            .then(|| trade_result(&held.position, held.entry_net, held.opened))
            .flatten()
            .map(|r| r.realised.value());
        {
            let mut state = self.state();
            state.realised_today += realised;
            if let Some(realised) = closed_with {
                state.realised_total += realised;
            }
            if closed {
                state.unrealised.remove(&entry_ref);
                state.marks.remove(&entry_ref);
                self.broker.set_pinned(held.long_contract.con_id, false);
                self.broker.set_pinned(held.short_contract.con_id, false);
            }
            if let Some(slot) = state.held.iter().position(|h| h.entry_ref == entry_ref) {
                if closed {
                    state.held.remove(slot);
                } else {
                    held.exit_attempts = state.held[slot].exit_attempts.max(held.exit_attempts);
                    state.held[slot] = held;
                }
            }
        }
        // Shown now, not at the next cycle.
        self.show_positions(&config.exits, self.clock.now());
    }
}
