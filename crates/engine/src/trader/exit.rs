//! Managing the held spreads: mark each at its legs' mids, test the exit
//! rules, and close through the same walked combo path entries take.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::json;
use vspread_core::broker::{NetPrice, OpenClose, OrderRequest, OrderTarget, Quote, TimeInForce};
use vspread_core::journal::{JournaledOrder, SpreadClosure};
use vspread_core::{OrderPurpose, OrderRef, Price, Tick};

use super::book::{HeldSpread, journal_leg, net_amount, spread_fill};
use super::{StepError, Trader};
use crate::cycle_loop::CycleContext;
use crate::exits::{Market, exit_reason, trade_result};
use crate::limit_walk::{no_worse_than, price_walk, step_price};

/// What closing `held` at the legs' quotes would fetch (a debit spread is
/// sold for a credit) or cost (a credit spread is bought back for a
/// debit): the mid and the natural, as net prices of the closing order.
fn closing_prices(held: &HeldSpread, long: &Quote, short: &Quote) -> Option<(NetPrice, NetPrice)> {
    let (lm, sm) = (long.mid()?, short.mid()?);
    if held.order_spread.kind.is_debit() {
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
        let held = self.state.lock().await.held.clone();
        for h in held {
            if let Err(e) = self.manage_one(ctx, today, h.clone()).await {
                self.publish(
                    "exit.failed",
                    format!("{}: {e}", h.entry_ref),
                    json!({ "order_ref": h.entry_ref, "error": e.to_string() }),
                );
            }
        }
    }

    async fn manage_one(
        &self,
        ctx: &CycleContext,
        today: NaiveDate,
        mut held: HeldSpread,
    ) -> Result<(), StepError> {
        let symbol = held.order_spread.underlying.clone();
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
        let decided = std::time::Instant::now();
        let mark = prices.map(|(mid, _)| Price::new(net_amount(mid)));
        {
            let mut state = self.state.lock().await;
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
        self.publish(
            "exit.triggered",
            format!("{}: {} on {symbol}", held.entry_ref, reason.name()),
            json!({ "order_ref": held.entry_ref, "symbol": symbol, "reason": reason }),
        );
        let Some((mid, natural)) = prices else {
            return Err(StepError::Other(format!(
                "{symbol}: no two-sided market to close at"
            )));
        };
        let decision = format!("exit:{}", held.entry_ref);
        let order_ref = OrderRef::for_decision(&decision, OrderPurpose::Exit, held.exit_attempts)
            .map_err(|e| StepError::Other(e.to_string()))?
            .to_string();
        held.exit_attempts += 1;
        let tick = Tick::new(
            held.long_contract
                .min_tick
                .max(held.short_contract.min_tick),
        )
        .unwrap_or(Tick::PENNY);
        let walk = price_walk(mid, natural, tick, &ctx.config.execution)
            .map_err(|e| StepError::Other(e.to_string()))?;
        let request = OrderRequest {
            order_ref: order_ref.clone(),
            target: OrderTarget::Vertical {
                spread: held.order_spread.clone(),
                intent: OpenClose::Close,
                price: walk.prices[0],
            },
            quantity: held.position.quantity(),
            tif: TimeInForce::Day,
        };
        let (long_id, short_id) = (held.long_contract.con_id, held.short_contract.con_id);
        let (broker, execution, closing) = (
            self.broker.clone(),
            ctx.config.execution.clone(),
            held.clone(),
        );
        // Re-priced steps never concede more than the planned walk's last.
        let bound = walk.prices.last().copied();
        let reprice = move |step: usize| {
            let (mid, natural) = closing_prices(
                &closing,
                &broker.latest_quote(long_id)?,
                &broker.latest_quote(short_id)?,
            )?;
            Some(no_worse_than(
                step_price(mid, natural, tick, &execution, step)?,
                bound?,
            ))
        };
        let journaled = JournaledOrder {
            order_ref: order_ref.clone(),
            purpose: OrderPurpose::Exit,
            spread_ref: held.entry_ref.clone(),
            symbol: symbol.clone(),
            currency: held.order_spread.currency.clone(),
            kind: held.order_spread.kind,
            long: journal_leg(&held.long_contract, &held.order_spread.long),
            short: journal_leg(&held.short_contract, &held.order_spread.short),
            quantity: held.position.quantity(),
            limit: net_amount(walk.prices[0]),
            credit: matches!(walk.prices[0], NetPrice::Credit(_)),
            mid: net_amount(mid),
            reason: reason.name().to_string(),
            context: json!({ "reason": reason, "underlying": underlying, "mark": mark })
                .to_string(),
            created_at: ctx.now,
        };
        let journal_started = std::time::Instant::now();
        let journaled = self
            .journal_write(move |j| j.record_order(&journaled))
            .await;
        let journal_time = journal_started.elapsed();
        journaled.map_err(|e| {
            StepError::Other(format!(
                "{symbol}: {order_ref} not sent: it could not be journaled: {e}"
            ))
        })?;
        // Counted once journaled: a restart numbers the next attempt after it.
        self.state
            .lock()
            .await
            .held
            .iter_mut()
            .filter(|h| h.entry_ref == held.entry_ref)
            .for_each(|h| h.exit_attempts = held.exit_attempts);
        let decision_latency = decided.elapsed();
        // Exits go on under the kill switch (it stops entries); the
        // operator may still cancel one.
        let driven = self
            .drive_cancellable(&request, &walk, &reprice, || false)
            .await?;
        self.publish(
            "order.ended",
            format!(
                "{symbol}: {order_ref} {:?}, {} filled",
                driven.end,
                driven.filled()
            ),
            json!({ "symbol": symbol, "order_ref": order_ref, "end": format!("{:?}", driven.end),
                    "filled": driven.filled(), "purpose": "exit",
                    "execution_ms": (driven.ended_at - driven.placed_at).num_milliseconds(),
                    "decision_latency_us": decision_latency.as_micros() as u64,
                    "journal_us": journal_time.as_micros() as u64 }),
        );
        let before = held.position.realised_pnl().value();
        if let Some(fill) = spread_fill(
            &driven.fills,
            OrderPurpose::Exit,
            &order_ref,
            driven.ended_at,
        ) && fill.quantity > 0
        {
            held.position
                .apply(&fill)
                .map_err(|e| StepError::Other(e.to_string()))?;
        }
        let realised = held.position.realised_pnl().value() - before;
        let closed = !held.position.is_open();
        if closed && let Some(result) = trade_result(&held.position, held.entry_net, held.opened) {
            let closure = SpreadClosure {
                spread_ref: held.entry_ref.clone(),
                reason: reason.name().to_string(),
                realised: result.realised.value(),
                r_multiple: Some(result.r_multiple),
                at: self.clock.now(),
            };
            if let Err(e) = self
                .journal_write(move |j| j.record_closure(&closure))
                .await
            {
                tracing::warn!(spread = %held.entry_ref, error = %e, "closure not journaled");
            }
            self.publish(
                "trade.closed",
                format!(
                    "{symbol}: {} closed by {}: P&L {} ({:.2} R)",
                    held.entry_ref,
                    reason.name(),
                    result.realised,
                    result.r_multiple
                ),
                json!({ "order_ref": held.entry_ref, "symbol": symbol, "reason": reason,
                        "realised": result.realised, "risk": result.risk,
                        "r_multiple": result.r_multiple,
                        "commissions": held.position.commissions() }),
            );
        }
        let mut state = self.state.lock().await;
        state.realised_today += realised;
        if closed {
            state.unrealised.remove(&held.entry_ref);
            state.marks.remove(&held.entry_ref);
            self.broker.set_pinned(long_id, false);
            self.broker.set_pinned(short_id, false);
        }
        if let Some(slot) = state
            .held
            .iter_mut()
            .position(|h| h.entry_ref == held.entry_ref)
        {
            if closed {
                state.held.remove(slot);
            } else {
                state.held[slot] = held;
            }
        }
        Ok(())
    }
}
