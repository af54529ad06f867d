//! Considering one symbol for an entry, step by step; each step that says
//! no publishes why.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::json;
use vspread_analytics::scanner::scan;
use vspread_core::broker::{BrokerError, DailyBar, NetPrice};
use vspread_core::config::ScannerConfig;
use vspread_core::journal::JournaledOrder;
use vspread_core::{OrderPurpose, OrderRef, SpreadPosition, Tick};

use super::book::{
    HeldSpread, entry_context_json, journal_leg, net_amount, position_spread, spread_fill,
};
use super::{StepError, Trader};
use crate::chain_acquisition::{AcquisitionSettings, acquire_chain, atm_vol_estimate};
use crate::chain_plan::{ModelInputs, PlanMargins, plan_chain};
use crate::cycle_loop::CycleContext;
use crate::entry_order::{QuotedSpread, opening_prices};
use crate::exits::EntryContext;
use crate::limit_walk::{no_worse_than, price_walk, step_price};
use crate::risk::{self, BreakerSwitch, Refusal};
use crate::signals::{self, kinds_for};

impl Trader {
    /// Mid and natural of opening `kind` from the legs' lines, waiting a
    /// moment for a line that was just (re)subscribed to fill in.
    async fn fresh_opening_prices(
        &self,
        kind: vspread_core::SpreadKind,
        long: vspread_core::broker::ConId,
        short: vspread_core::broker::ConId,
    ) -> Option<(NetPrice, NetPrice)> {
        for _ in 0..50 {
            if let (Some(l), Some(s)) = (
                self.broker.latest_quote(long),
                self.broker.latest_quote(short),
            ) && let Some(prices) = opening_prices(kind, &l, &s)
            {
                return Some(prices);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        None
    }

    /// Publishes a refusal; logs it only when it differs from the last one
    /// for this symbol (a held position refuses the same signal every
    /// cycle).
    async fn refuse(&self, symbol: &str, refusal: &Refusal) {
        let message = format!("{symbol}: no entry: {refusal}");
        let data = json!({ "symbol": symbol, "refusal": refusal });
        let repeated = {
            let mut state = self.state.lock().await;
            let last = state
                .last_refusal
                .insert(symbol.to_string(), message.clone());
            last.as_deref() == Some(message.as_str())
        };
        if repeated {
            self.events.publish("decision.refused", message, data);
        } else {
            self.publish("decision.refused", message, data);
        }
    }

    /// Daily bars for `symbol`, fetched once per New York date.
    async fn bars(
        &self,
        symbol: &str,
        today: NaiveDate,
        needed: usize,
    ) -> Result<Vec<DailyBar>, BrokerError> {
        if let Some((day, bars)) = self.state.lock().await.bars.get(symbol)
            && *day == today
            && bars.len() >= needed
        {
            return Ok(bars.clone());
        }
        // A margin over what the strategies need, for holidays and gaps.
        let bars = self
            .broker
            .daily_bars(symbol, u32::try_from(needed + 10).unwrap_or(u32::MAX))
            .await?;
        self.state
            .lock()
            .await
            .bars
            .insert(symbol.to_string(), (today, bars.clone()));
        Ok(bars)
    }

    pub(super) async fn consider_entry(
        &self,
        ctx: &CycleContext,
        today: NaiveDate,
        symbol: &str,
    ) -> Result<(), StepError> {
        let config = &ctx.config;
        // Signal.
        let needed = signals::bars_needed(&config.strategies);
        if needed == 0 {
            return Ok(());
        }
        let bars = self.bars(symbol, today, needed).await?;
        let evaluated = signals::evaluate(symbol, &bars, &config.strategies)?;
        let Some(signal) = evaluated.signal() else {
            let failed: Vec<_> = evaluated
                .evaluations
                .iter()
                .map(
                    |e| json!({ "strategy": e.strategy, "failed": e.failed().collect::<Vec<_>>() }),
                )
                .collect();
            self.events.publish(
                "signal.none",
                format!("{symbol}: no signal"),
                json!({ "symbol": symbol, "evaluations": failed }),
            );
            return Ok(());
        };
        let direction = signal.strategy.direction();
        self.publish(
            "signal.fired",
            format!("{symbol}: {} ({direction:?})", signal.strategy.name()),
            json!({ "symbol": symbol, "signal": signal }),
        );
        // The gate that needs no market data, once there is something to
        // enter.
        let (account, exposure) = self.risk_inputs().await?;
        if self.kill_switch.is_engaged() {
            self.refuse(symbol, &Refusal::KillSwitch).await;
            return Ok(());
        }
        if let Err(refusal) = risk::pre_entry(config, ctx.now, symbol, &account, &exposure) {
            self.refuse(symbol, &refusal).await;
            return Ok(());
        }
        let kinds: Vec<_> = kinds_for(direction)
            .into_iter()
            .filter(|k| config.scanner.kinds.contains(k))
            .collect();
        if kinds.is_empty() {
            self.refuse(
                symbol,
                &Refusal::ZeroSize {
                    reason: format!("scanner.kinds allows no {direction:?} kind"),
                },
            )
            .await;
            return Ok(());
        }

        // The chain, priced by the model, then quoted where it matters.
        let stock = self.broker.stock(symbol).await?;
        let quote = self.broker.snapshot(&stock).await?;
        let Some(spot) = quote.last.or(quote.mid()).and_then(|d| d.to_f64()) else {
            return Err(StepError::Other(format!(
                "{symbol}: no price for the underlying"
            )));
        };
        let params = self.broker.option_chain(symbol).await?;
        let expiries: Vec<_> = params.iter().flat_map(|p| p.expirations.clone()).collect();
        let strikes: Vec<_> = params.iter().flat_map(|p| p.strikes.clone()).collect();
        let target_dte = (config.scanner.dte_min + config.scanner.dte_max) / 2;
        let Some(vol) = atm_vol_estimate(
            &*self.broker,
            symbol,
            &expiries,
            &strikes,
            spot,
            today,
            target_dte,
        )
        .await?
        else {
            return Err(StepError::Other(format!(
                "{symbol}: no at-the-money implied volatility"
            )));
        };
        {
            let mut state = self.state.lock().await;
            let switch = state.iv_breakers.observe(config, symbol, vol);
            let blocking = state.iv_breakers.blocking(symbol);
            drop(state);
            if let Some(switch) = switch {
                let kind = match switch {
                    BreakerSwitch::Tripped => "breaker.tripped",
                    BreakerSwitch::Reset => "breaker.reset",
                };
                self.publish(
                    kind,
                    format!("{symbol}: IV circuit breaker {switch:?} at {vol:.3}"),
                    json!({ "symbol": symbol, "iv": vol }),
                );
            }
            if let Some(iv) = blocking {
                self.refuse(
                    symbol,
                    &Refusal::IvCircuitBreaker {
                        underlying: symbol.to_string(),
                        iv,
                        max_iv: config.risk.max_iv,
                        resume: config.risk.max_iv_resume,
                    },
                )
                .await;
                return Ok(());
            }
        }
        let scanner = ScannerConfig {
            kinds: kinds.clone(),
            ..config.scanner.clone()
        };
        let model = ModelInputs {
            spot,
            vol,
            rate: 0.0,
            today,
        };
        let margins = PlanMargins {
            delta: config.market_data.model_delta_margin,
            ratio: config.market_data.model_ratio_margin,
        };
        let scan_started = std::time::Instant::now();
        let plan = plan_chain(&params, &model, &kinds, &scanner, margins);
        let budget = usize::try_from(config.market_data.max_lines.max(2)).unwrap_or(90);
        let acquired = acquire_chain(
            &*self.broker,
            &plan,
            spot,
            &AcquisitionSettings::for_line_budget(budget),
        )
        .await?;
        let result = scan(&acquired.chain, &scanner);
        let scan_time = scan_started.elapsed();
        let rejected = near_misses(&acquired.chain, &scanner, NEAR_MISSES);
        self.views.record_scan(scan_view(
            symbol,
            ctx.now,
            &kinds,
            acquired.quote_requests,
            &result,
            rejected.clone(),
        ));
        self.publish(
            "scan.completed",
            format!(
                "{symbol}: {} spreads from {} quotes ({} without the model)",
                result.rows.len(),
                acquired.quote_requests,
                plan.naive_requests
            ),
            json!({
                "symbol": symbol,
                "kinds": kinds,
                "results": result.rows.len(),
                "candidates": result.funnel.candidates(),
                "quote_requests": acquired.quote_requests,
                "duration_ms": scan_time.as_secs_f64() * 1e3,
                "naive_requests": plan.naive_requests,
                "best": result.rows.first().map(|r| json!({
                    "kind": r.kind, "expiry": r.expiry, "long": r.long_strike,
                    "short": r.short_strike, "price": r.price, "score": r.score,
                })),
                "top": result.rows.iter().take(5).map(|r| json!({
                    "kind": r.kind, "expiry": r.expiry, "long": r.long_strike,
                    "short": r.short_strike, "price": r.price, "score": r.score,
                })).collect::<Vec<_>>(),
                "funnel": funnel_json(&result.funnel, &kinds),
                "top_rejected": rejected,
            }),
        );
        let Some(best) = result.rows.first() else {
            return Ok(());
        };
        let Some(quoted) = QuotedSpread::from_row(best, &acquired) else {
            return Err(StepError::Other(format!(
                "{symbol}: the best row's legs were not acquired"
            )));
        };
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
        // Size from the spread's max loss at a mid.
        let width = (quoted.spread.long.strike - quoted.spread.short.strike).abs();
        let max_loss_at = |mid: NetPrice| {
            let per_share = match mid {
                NetPrice::Debit(d) => d,
                NetPrice::Credit(c) => width - c,
            };
            per_share * Decimal::ONE_HUNDRED
        };
        let decision = format!("entry:{symbol}:{}", ctx.now.to_rfc3339());
        let order_ref = OrderRef::for_decision(&decision, OrderPurpose::Entry, 0)
            .map_err(|e| StepError::Other(e.to_string()))?
            .to_string();
        let tick = Tick::new(
            quoted
                .long
                .contract
                .min_tick
                .max(quoted.short.contract.min_tick),
        )
        .unwrap_or(Tick::PENNY);

        // The what-if preview comes before the final quotes: it is a
        // gateway round trip, and the order should leave as soon as the
        // last quote is in. It previews the size at the scan's mid; the
        // order never exceeds that size.
        let Some((scan_mid, _)) = quoted.mid().zip(quoted.natural()) else {
            unpin();
            return Err(StepError::Other(format!(
                "{symbol}: the chosen spread has no two-sided market"
            )));
        };
        let previewed = match risk::size(config, account.net_liquidation, max_loss_at(scan_mid)) {
            Ok(q) => q,
            Err(refusal) => {
                unpin();
                self.refuse(symbol, &refusal).await;
                return Ok(());
            }
        };
        let mut margin = None;
        if config.execution.what_if {
            let preview_price =
                step_price(scan_mid, scan_mid, tick, &config.execution, 0).unwrap_or(scan_mid);
            let request = quoted.opening_order(&order_ref, previewed, preview_price);
            let preview = match self.broker.what_if(&request).await {
                Ok(p) => p,
                Err(e) => {
                    unpin();
                    return Err(e.into());
                }
            };
            let change = preview.init_margin_change.unwrap_or_default();
            margin = Some(change);
            if let Err(refusal) = risk::after_what_if(config, account.buying_power, change) {
                unpin();
                self.refuse(symbol, &refusal).await;
                return Ok(());
            }
            self.publish(
                "order.previewed",
                format!("{symbol}: what-if margin {change} for {previewed}"),
                json!({ "symbol": symbol, "order_ref": order_ref, "margin": change,
                        "quantity": previewed, "commission": preview.commission }),
            );
        }

        let fresh = self
            .fresh_opening_prices(best.kind, long_id, short_id)
            .await;
        // The last needed quote is in hand: the decision's clock starts.
        let decided = std::time::Instant::now();
        let Some((mid, natural)) = fresh.or_else(|| quoted.mid().zip(quoted.natural())) else {
            unpin();
            return Err(StepError::Other(format!(
                "{symbol}: the chosen spread has no two-sided market"
            )));
        };
        let max_loss = max_loss_at(mid);
        let quantity = match risk::size(config, account.net_liquidation, max_loss) {
            Ok(q) => q.min(previewed),
            Err(refusal) => {
                unpin();
                self.refuse(symbol, &refusal).await;
                return Ok(());
            }
        };
        let walk = price_walk(mid, natural, tick, &config.execution)
            .map_err(|e| StepError::Other(e.to_string()))?;
        let request = quoted.opening_order(&order_ref, quantity, walk.prices[0]);
        self.publish(
            "decision.entry",
            format!(
                "{symbol}: open {quantity} {} {}/{} at {} (natural {})",
                best.kind.name(),
                quoted.spread.long.strike,
                quoted.spread.short.strike,
                net_amount(walk.prices[0]),
                net_amount(natural)
            ),
            json!({ "symbol": symbol, "order_ref": order_ref, "quantity": quantity,
                    "kind": best.kind, "expiry": best.expiry,
                    "long": quoted.spread.long.strike, "short": quoted.spread.short.strike,
                    "mid": net_amount(mid), "natural": net_amount(natural),
                    "quotes": {
                        "long": leg_quote(self.broker.latest_quote(long_id)),
                        "short": leg_quote(self.broker.latest_quote(short_id)),
                    },
                    "walk": walk.prices.iter().map(|p| net_amount(*p)).collect::<Vec<_>>(),
                    // What the risk gate saw, beside its limits.
                    "risk": {
                        "open_positions": exposure.total(),
                        "max_positions": config.trading.max_positions,
                        "open_on_underlying": exposure.open_by_underlying.get(symbol).copied().unwrap_or(0),
                        "max_positions_per_underlying": config.trading.max_positions_per_underlying,
                        "daily_pnl": account.realised_today + account.unrealised,
                        "max_daily_loss": config.risk.max_daily_loss,
                        "iv": vol, "max_iv": config.risk.max_iv,
                        "order_value": max_loss * Decimal::from(quantity),
                        "max_order_value": config.risk.max_order_value,
                        "margin": margin, "buying_power": account.buying_power,
                        "min_buying_power": config.risk.min_buying_power,
                    } }),
        );
        // The legs' lines stay while the order works (and while the spread
        // is held); each walk step is priced from them when it comes.
        let (broker, kind, execution) = (self.broker.clone(), best.kind, config.execution.clone());
        // Re-priced steps never concede more than the planned walk's last.
        let bound = walk.prices.last().copied();
        let reprice = move |step: usize| {
            let (mid, natural) = opening_prices(
                kind,
                &broker.latest_quote(long_id)?,
                &broker.latest_quote(short_id)?,
            )?;
            Some(no_worse_than(
                step_price(mid, natural, tick, &execution, step)?,
                bound?,
            ))
        };
        // Durable before the broker hears of it: after a crash, the order
        // is found again by its reference and never sent twice.
        let entry_context = EntryContext {
            underlying: spot,
            atr: signal.indicators.atr,
        };
        let journaled = JournaledOrder {
            order_ref: order_ref.clone(),
            purpose: OrderPurpose::Entry,
            spread_ref: order_ref.clone(),
            symbol: symbol.to_string(),
            currency: quoted.spread.currency.clone(),
            kind: best.kind,
            long: journal_leg(&quoted.long.contract, &quoted.spread.long),
            short: journal_leg(&quoted.short.contract, &quoted.spread.short),
            quantity,
            limit: net_amount(walk.prices[0]),
            credit: matches!(walk.prices[0], NetPrice::Credit(_)),
            mid: net_amount(mid),
            reason: signal.strategy.name().to_string(),
            context: entry_context_json(&entry_context, json!(signal)),
            created_at: ctx.now,
        };
        let journal_started = std::time::Instant::now();
        let journaled = self
            .journal_write(move |j| j.record_order(&journaled))
            .await;
        let journal_time = journal_started.elapsed();
        if let Err(e) = journaled {
            self.broker.set_pinned(long_id, false);
            self.broker.set_pinned(short_id, false);
            return Err(StepError::Other(format!(
                "{symbol}: {order_ref} not sent: it could not be journaled: {e}"
            )));
        }
        let decision_latency = decided.elapsed();
        let kill_switch = &self.kill_switch;
        let driven = self
            .drive_cancellable(&request, &walk, &reprice, || kill_switch.is_engaged())
            .await;
        let driven = match driven {
            Ok(d) if !d.filled().is_zero() => d,
            other => {
                self.broker.set_pinned(long_id, false);
                self.broker.set_pinned(short_id, false);
                let d = other?;
                self.publish(
                    "order.ended",
                    format!("{symbol}: {order_ref} {:?}, nothing filled", d.end),
                    json!({ "symbol": symbol, "order_ref": order_ref, "end": format!("{:?}", d.end),
                            "filled": d.filled(), "steps": d.steps_taken, "purpose": "entry",
                            "execution_ms": (d.ended_at - d.placed_at).num_milliseconds(),
                            "decision_latency_us": decision_latency.as_micros() as u64,
                    "journal_us": journal_time.as_micros() as u64 }),
                );
                return Ok(());
            }
        };
        self.publish(
            "order.ended",
            format!(
                "{symbol}: {order_ref} {:?}, {} filled",
                driven.end,
                driven.filled()
            ),
            json!({ "symbol": symbol, "order_ref": order_ref, "end": format!("{:?}", driven.end),
                    "filled": driven.filled(), "steps": driven.steps_taken, "purpose": "entry",
                    "execution_ms": (driven.ended_at - driven.placed_at).num_milliseconds(),
                    "commissions": driven.fills.commissions,
                    "decision_latency_us": decision_latency.as_micros() as u64,
                    "journal_us": journal_time.as_micros() as u64 }),
        );
        let (Some(fill), Some(spread)) = (
            spread_fill(
                &driven.fills,
                OrderPurpose::Entry,
                &order_ref,
                driven.ended_at,
            ),
            position_spread(&quoted.spread),
        ) else {
            return Err(StepError::Other(format!(
                "{symbol}: {order_ref} filled but cannot be booked"
            )));
        };
        let position =
            SpreadPosition::open(spread, &fill).map_err(|e| StepError::Other(e.to_string()))?;
        let held = HeldSpread {
            entry_ref: order_ref.clone(),
            order_spread: quoted.spread.clone(),
            long_contract: quoted.long.contract.clone(),
            short_contract: quoted.short.contract.clone(),
            position,
            entry: entry_context,
            entry_net: fill.net,
            opened: fill.quantity,
            exit_attempts: 0,
        };
        self.publish(
            "position.opened",
            format!(
                "{symbol}: opened {} {} at {} ({:?})",
                fill.quantity,
                best.kind.name(),
                fill.net,
                driven.end
            ),
            json!({ "symbol": symbol, "order_ref": order_ref, "quantity": fill.quantity,
                    "net": fill.net, "commissions": fill.commissions,
                    "combo_fills": driven.fills.order.quantity,
                    "combo_notional": driven.fills.order.notional,
                    "legs": driven.fills.legs.iter().map(|(id, l)| json!({
                        "con_id": id.0, "quantity": l.quantity, "average": l.average_price(),
                    })).collect::<Vec<_>>(),
                    "slippage_vs_mid": fill.net.value() - net_amount(mid) }),
        );
        {
            let mut state = self.state.lock().await;
            // Entry commissions are realised when paid.
            state.realised_today += held.position.realised_pnl().value();
            state.held.push(held);
        }
        Ok(())
    }
}

/// A scan's funnel for the kinds it ran: per kind, the candidates, what each
/// filter removed (filters that removed none left out), what passed and
/// what was kept.
/// How many of the best rejected candidates a scan record keeps.
const NEAR_MISSES: usize = 5;

/// The best-scoring candidates that passed every structural filter (DTE,
/// width, open interest, leg spread, short delta, price, debit/credit to
/// width) and were removed by the last two, `min_pop` or `min_score`: the
/// near misses a trader looks at to see why a chain yielded what it did.
/// Found by scanning again with those two thresholds open (a live chain
/// scans in well under a millisecond), each labelled with the threshold it
/// missed.
fn near_misses(
    chain: &vspread_analytics::scanner::Chain,
    config: &ScannerConfig,
    k: usize,
) -> Vec<serde_json::Value> {
    let wider = |n: i64| n.saturating_mul(2).saturating_add(k as i64);
    let relaxed = ScannerConfig {
        min_pop: 0.0,
        min_score: f64::NEG_INFINITY,
        top_per_underlying: wider(config.top_per_underlying),
        max_results: wider(config.max_results),
        ..config.clone()
    };
    scan(chain, &relaxed)
        .rows
        .iter()
        .filter_map(|r| {
            let (filter, threshold) = if r.pop < config.min_pop {
                ("min_pop", config.min_pop)
            } else if r.score < config.min_score {
                ("min_score", config.min_score)
            } else {
                return None;
            };
            Some(json!({
                "kind": r.kind, "expiry": r.expiry, "long": r.long_strike,
                "short": r.short_strike, "price": r.price, "pop": r.pop,
                "score": r.score, "removed_by": filter, "threshold": threshold,
            }))
        })
        .take(k)
        .collect()
}

/// A scan as the operator's views show it: every ranked row.
fn scan_view(
    symbol: &str,
    at: chrono::DateTime<chrono::Utc>,
    kinds: &[vspread_core::SpreadKind],
    quote_requests: usize,
    result: &vspread_analytics::scanner::ScanResult,
    top_rejected: Vec<serde_json::Value>,
) -> crate::views::ScanView {
    let rows = result
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let expiry = chrono::NaiveDate::from_ymd_opt(
                (r.expiry / 10_000) as i32,
                r.expiry / 100 % 100,
                r.expiry % 100,
            )?;
            Some(crate::views::ScanRowView {
                rank: i + 1,
                underlying: r.underlying.clone(),
                kind: r.kind.name(),
                expiry,
                dte: r.dte,
                long_strike: r.long_strike,
                short_strike: r.short_strike,
                width: r.width,
                price: r.price,
                natural: r.natural,
                max_profit: r.max_profit,
                max_loss: r.max_loss,
                breakeven: r.breakeven,
                pop: r.pop,
                ev: r.ev,
                score: r.score,
            })
        })
        .collect();
    crate::views::ScanView {
        underlying: symbol.to_string(),
        at,
        kinds: kinds.iter().map(|k| k.name()).collect(),
        quote_requests,
        candidates: result.funnel.candidates(),
        funnel: funnel_json(&result.funnel, kinds),
        results: rows,
        top_rejected,
    }
}

fn funnel_json(
    funnel: &vspread_analytics::scanner::Funnel,
    kinds: &[vspread_core::SpreadKind],
) -> serde_json::Value {
    use vspread_analytics::scanner::Filter;
    let per_kind: serde_json::Map<String, serde_json::Value> = kinds
        .iter()
        .map(|k| {
            let f = funnel.kind(*k);
            let removed: serde_json::Map<String, serde_json::Value> = Filter::ALL
                .iter()
                .zip(f.removed)
                .filter(|(_, n)| *n > 0)
                .map(|(filter, n)| (filter.name().to_string(), json!(n)))
                .collect();
            (
                k.name().to_string(),
                json!({ "candidates": f.candidates, "removed": removed,
                        "passed": f.passed, "kept": f.kept }),
            )
        })
        .collect();
    serde_json::Value::Object(per_kind)
}

/// A leg's quote as the decision saw it.
fn leg_quote(q: Option<vspread_core::broker::Quote>) -> serde_json::Value {
    q.map_or(
        serde_json::Value::Null,
        |q| json!({ "bid": q.bid, "ask": q.ask, "last": q.last }),
    )
}

#[cfg(test)]
mod tests {
    use vspread_analytics::scanner::csv::read_chain;
    use vspread_core::config::Config;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

    #[test]
    fn near_misses_are_the_best_candidates_the_last_two_filters_removed() {
        let bytes = std::fs::read(format!("{DATA}/chain_small.csv")).unwrap();
        let toml = std::fs::read_to_string(format!("{DATA}/scan_small.toml")).unwrap();
        let config = Config::from_toml_str(&toml).unwrap().scanner;
        let chain = read_chain(&bytes).unwrap().chain;
        let kept = scan(&chain, &config);
        let missed = near_misses(&chain, &config, 5);
        assert_eq!(missed.len(), 5);
        let mut last_score = f64::INFINITY;
        for m in &missed {
            let (pop, score) = (m["pop"].as_f64().unwrap(), m["score"].as_f64().unwrap());
            match m["removed_by"].as_str().unwrap() {
                "min_pop" => assert!(pop < config.min_pop, "{m}"),
                "min_score" => {
                    assert!(pop >= config.min_pop && score < config.min_score, "{m}")
                }
                other => panic!("removed by {other}"),
            }
            assert!(score <= last_score, "best first: {missed:?}");
            last_score = score;
            let same = |r: &&vspread_analytics::scanner::SpreadRow| {
                json!(r.long_strike) == m["long"]
                    && json!(r.short_strike) == m["short"]
                    && json!(r.expiry) == m["expiry"]
                    && json!(r.kind) == m["kind"]
            };
            assert!(!kept.rows.iter().any(|r| same(&r)), "{m} was kept");
        }
    }
}
