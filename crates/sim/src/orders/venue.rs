//! The venue: the account plus the order book, with placement, matching,
//! cancels, what-if and expiry settlement. See the fill model in the
//! [module docs](super).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::commission::CommissionSchedule;
use super::fill::{self, Pricing, ResolvedLeg};
use super::model::{self, FillModel, MAX_RESTING_WINDOW_S, RateInputs};
use super::{
    Action, CancelError, Execution, ExecutionScope, Order, OrderContract, OrderEvent, OrderRequest,
    OrderStatus, OrderType, RejectReason, TimeInForce,
};
use crate::account::margin::intrinsic;
use crate::account::{
    Account, AccountValues, DEFAULT_ACCOUNT_ID, DEFAULT_CASH, PortfolioItem, Side,
};
use crate::market::calendar::{is_trading_day, next_trading_day, ny_date, session_close};
use crate::market::instrument::{UNIVERSE, universe_index};
use crate::market::quote::dec;
use crate::market::rng::hash;
use crate::market::{Contract, Market, Quote};

/// How the venue behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VenueConfig {
    /// Seed of the fill draws (partial sizes, resting fills).
    pub seed: u64,
    pub account_id: String,
    pub starting_cash: Decimal,
    pub commissions: CommissionSchedule,
    /// Most combos one fill takes (≥ 1).
    pub max_fill_chunk: u32,
    /// How resting orders fill (default parameters in state files written
    /// before the model had them).
    #[serde(default)]
    pub fill_model: FillModel,
}

impl VenueConfig {
    /// Defaults: account `DU1234567`, $100,000 cash, IBKR-like commissions,
    /// fills of up to 5 combos, the default fill model.
    pub fn new(seed: u64) -> Self {
        VenueConfig {
            seed,
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            starting_cash: Decimal::from(DEFAULT_CASH),
            commissions: CommissionSchedule::default(),
            max_fill_chunk: 5,
            fill_model: FillModel::default(),
        }
    }
}

/// The result of a what-if order: margin and equity before, change and
/// after, and the commission estimate (`OrderState` fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub init_margin_before: Decimal,
    pub maint_margin_before: Decimal,
    pub equity_with_loan_before: Decimal,
    pub init_margin_change: Decimal,
    pub maint_margin_change: Decimal,
    pub equity_with_loan_change: Decimal,
    pub init_margin_after: Decimal,
    pub maint_margin_after: Decimal,
    pub equity_with_loan_after: Decimal,
    /// Commission of the whole order (min and max equal it).
    pub commission: Decimal,
    pub min_commission: Decimal,
    pub max_commission: Decimal,
    /// `USD` (commission and margin currency).
    pub currency: String,
    /// `PreSubmitted`, as live TWS reports what-if orders.
    pub status: OrderStatus,
}

/// Fault-injection switches (not persisted).
#[derive(Debug, Clone, Default, PartialEq)]
struct Faults {
    reject_next: Option<String>,
    forced_chunk: Option<u32>,
}

/// Account, order book and executions: the state `--state FILE` keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Venue {
    config: VenueConfig,
    account: Account,
    /// Every order ever placed (working and done), by permId.
    orders: Vec<Order>,
    executions: Vec<Execution>,
    next_perm_id: i64,
    /// One more than the highest order id seen from any client.
    next_order_id: i32,
    #[serde(skip)]
    faults: Faults,
}

impl Venue {
    /// A fresh venue: cash only, no orders.
    pub fn new(config: VenueConfig) -> Self {
        Venue {
            account: Account::new(config.account_id.clone(), config.starting_cash),
            config,
            orders: Vec::new(),
            executions: Vec::new(),
            next_perm_id: 1_000_000_001,
            next_order_id: 1,
            faults: Faults::default(),
        }
    }

    pub fn config(&self) -> &VenueConfig {
        &self.config
    }

    /// Replaces the fill model (`vspread sim --fill-…` on every start, also
    /// over a venue loaded from a state file).
    pub fn set_fill_model(&mut self, fill_model: FillModel) {
        self.config.fill_model = fill_model;
    }

    /// The fill rate per simulated minute of a working order resting at the
    /// market's current quotes (see [`model`]); `None` when the order is not
    /// working, not a limit order, marketable, or a leg lacks a quote.
    pub fn resting_rate(&self, market: &Market, client_id: i32, order_id: i32) -> Option<f64> {
        let order = self.order(client_id, order_id)?;
        if !order.status.is_working() {
            return None;
        }
        let limit = order.request.limit_price?;
        let legs = fill::resolve(market, &order.request.contract).ok()?;
        let quotes = fill::quotes(market, &legs)?;
        let action = order.request.action;
        let natural = fill::natural(&legs, &quotes, action)?;
        let marketable = match action {
            Action::Buy => natural.net <= limit,
            Action::Sell => natural.net >= limit,
        };
        if marketable {
            return None;
        }
        self.rate_at(market, &legs, &quotes, action, limit)
    }

    /// The resting rate of a limit at these quotes.
    fn rate_at(
        &self,
        market: &Market,
        legs: &[ResolvedLeg],
        quotes: &[Quote],
        action: Action,
        limit: Decimal,
    ) -> Option<f64> {
        let a = fill::aggressiveness(legs, quotes, action, limit)?;
        let inputs = RateInputs {
            aggressiveness: decimal_f64(a),
            relative_width: relative_width(legs, quotes)?,
            dollar_volume: dollar_volume(market, legs),
        };
        Some(self.config.fill_model.rate(inputs))
    }

    pub fn account(&self) -> &Account {
        &self.account
    }

    /// Account values at the market's marks.
    pub fn values(&self, market: &Market) -> AccountValues {
        self.account.values(market)
    }

    /// Positions at the market's marks.
    pub fn portfolio(&self, market: &Market) -> Vec<PortfolioItem> {
        self.account.portfolio(market)
    }

    /// The next order id to hand out (`nextValidId`): above every id used.
    pub fn next_order_id(&self) -> i32 {
        self.next_order_id
    }

    /// Every order ever placed, oldest first.
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// Working orders (PreSubmitted or Submitted), oldest first.
    pub fn open_orders(&self) -> impl Iterator<Item = &Order> {
        self.orders.iter().filter(|o| o.status.is_working())
    }

    pub fn order(&self, client_id: i32, order_id: i32) -> Option<&Order> {
        self.orders
            .iter()
            .rev()
            .find(|o| o.client_id() == client_id && o.order_id() == order_id)
    }

    /// Every execution, oldest first.
    pub fn executions(&self) -> &[Execution] {
        &self.executions
    }

    /// Fault injection: reject the next placed order with `reason` (201).
    pub fn reject_next(&mut self, reason: impl Into<String>) {
        self.faults.reject_next = Some(reason.into());
    }

    /// Fault injection: cap every fill at `max` combos (`None` restores the
    /// configured chunk).
    pub fn force_partial_fills(&mut self, max: Option<u32>) {
        self.faults.forced_chunk = max.map(|m| m.max(1));
    }

    /// Places (or, for the id of a working order of the same client,
    /// modifies) an order at the market's current time. The market must have
    /// been advanced to `now`. An empty `account` becomes the venue's
    /// account id. Returns the status event and any immediate fills.
    pub fn place(
        &mut self,
        market: &Market,
        mut request: OrderRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<OrderEvent>, RejectReason> {
        if request.account.is_empty() {
            request.account.clone_from(&self.config.account_id);
        }
        let legs = self.validate(market, &request)?;
        if let Some(reason) = self.faults.reject_next.take() {
            tracing::info!(order_id = request.order_id, %reason, "injected order rejection");
            return Err(RejectReason::Injected { reason });
        }
        let existing = self
            .orders
            .iter()
            .position(|o| o.client_id() == request.client_id && o.order_id() == request.order_id);
        if let Some(i) = existing {
            if self.orders[i].status == OrderStatus::Filled
                && self.orders[i].request.contract == request.contract
            {
                return Err(RejectReason::ModifyFilled);
            }
            if !self.orders[i].status.is_working()
                || self.orders[i].request.contract != request.contract
            {
                return Err(RejectReason::DuplicateOrderId);
            }
            if request.quantity < self.orders[i].filled {
                return Err(RejectReason::InvalidQuantity {
                    quantity: request.quantity,
                });
            }
        }
        self.check_funds(market, &request, &legs, existing)?;
        let mut events = Vec::new();
        let open = market.is_open(now);
        let status = if open {
            OrderStatus::Submitted
        } else {
            OrderStatus::PreSubmitted
        };
        let index = match existing {
            Some(i) => {
                let o = &mut self.orders[i];
                o.remaining = request.quantity - o.filled;
                o.request = request;
                i
            }
            None => {
                self.next_order_id = self.next_order_id.max(request.order_id.saturating_add(1));
                let perm_id = self.next_perm_id;
                self.next_perm_id += 1;
                self.orders.push(Order {
                    remaining: request.quantity,
                    request,
                    perm_id,
                    status,
                    filled: Decimal::ZERO,
                    avg_fill_price: Decimal::ZERO,
                    last_fill_price: Decimal::ZERO,
                    commission: Decimal::ZERO,
                    placed_at: now,
                    session_date: session_date_for(now),
                    last_fill_at: None,
                    fills: 0,
                    resting_drawn_until: now.timestamp(),
                });
                self.orders.len() - 1
            }
        };
        self.orders[index].status = status;
        events.push(OrderEvent::Status(self.orders[index].clone()));
        if open {
            self.try_fill(market, index, &legs, now, true, &mut events);
        }
        Ok(events)
    }

    /// What the order would do to margin and equity, without placing it.
    pub fn what_if(&self, market: &Market, request: &OrderRequest) -> Result<WhatIf, RejectReason> {
        let legs = self.validate(market, request)?;
        Ok(self.compute_what_if(market, request, &legs))
    }

    /// Cancels a working order of `client_id`.
    pub fn cancel(
        &mut self,
        client_id: i32,
        order_id: i32,
        _now: DateTime<Utc>,
    ) -> Result<Vec<OrderEvent>, CancelError> {
        let i = self
            .orders
            .iter()
            .rposition(|o| o.client_id() == client_id && o.order_id() == order_id)
            .ok_or(CancelError::NotFound { order_id })?;
        let o = &mut self.orders[i];
        if !o.status.is_working() {
            return Err(CancelError::NotCancellable { perm_id: o.perm_id });
        }
        o.status = OrderStatus::Cancelled;
        Ok(vec![OrderEvent::Status(o.clone())])
    }

    /// Cancels every working order of every client (`reqGlobalCancel`).
    pub fn cancel_all(&mut self, _now: DateTime<Utc>) -> Vec<OrderEvent> {
        self.orders
            .iter_mut()
            .filter(|o| o.status.is_working())
            .map(|o| {
                o.status = OrderStatus::Cancelled;
                OrderEvent::Status(o.clone())
            })
            .collect()
    }

    /// Lets time act on the book: submits orders at the open, fills what has
    /// become fillable, cancels DAY orders after their session and orders
    /// whose legs expired, and settles expired option positions. The market
    /// must have been advanced to `now`.
    pub fn on_tick(&mut self, market: &Market, now: DateTime<Utc>) -> Vec<OrderEvent> {
        let mut events = Vec::new();
        let open = market.is_open(now);
        for i in 0..self.orders.len() {
            if !self.orders[i].status.is_working() {
                continue;
            }
            let Ok(legs) = fill::resolve(market, &self.orders[i].request.contract) else {
                continue;
            };
            let leg_expired = legs.iter().any(
                |l| matches!(&l.contract, Contract::Option(o) if session_close(o.expiry) <= now),
            );
            let day_over = !market.config().always_open
                && self.orders[i].request.tif == TimeInForce::Day
                && now >= session_close(self.orders[i].session_date);
            if leg_expired || day_over {
                self.orders[i].status = OrderStatus::Cancelled;
                events.push(OrderEvent::Status(self.orders[i].clone()));
                continue;
            }
            if !open {
                // Closed time never counts toward a resting fill.
                self.orders[i].resting_drawn_until = now.timestamp();
                continue;
            }
            if self.orders[i].status == OrderStatus::PreSubmitted {
                self.orders[i].status = OrderStatus::Submitted;
                events.push(OrderEvent::Status(self.orders[i].clone()));
            }
            self.try_fill(market, i, &legs, now, false, &mut events);
        }
        self.settle_expired(market, now, &mut events);
        events
    }

    fn settle_expired(
        &mut self,
        market: &Market,
        now: DateTime<Utc>,
        events: &mut Vec<OrderEvent>,
    ) {
        let expired: Vec<(i32, Decimal, Decimal)> = self
            .account
            .positions
            .values()
            .filter_map(|p| match &p.contract {
                Contract::Option(o) if session_close(o.expiry) <= now => {
                    let spot = dec(market.spot(&o.symbol)?).round_dp(2);
                    Some((o.con_id, p.quantity, intrinsic(o.right, o.strike, spot)))
                }
                _ => None,
            })
            .collect();
        for (con_id, quantity, price) in expired {
            self.account.settle(con_id, price);
            events.push(OrderEvent::Expired {
                con_id,
                quantity,
                price,
            });
        }
    }

    fn validate(
        &self,
        market: &Market,
        r: &OrderRequest,
    ) -> Result<Vec<ResolvedLeg>, RejectReason> {
        if r.quantity <= Decimal::ZERO || !r.quantity.fract().is_zero() {
            return Err(RejectReason::InvalidQuantity {
                quantity: r.quantity,
            });
        }
        let legs = fill::resolve(market, &r.contract)
            .map_err(|con_id| RejectReason::UnknownContract { con_id })?;
        let now = market.now();
        for l in &legs {
            if let Contract::Option(o) = &l.contract
                && session_close(o.expiry) <= now
            {
                return Err(RejectReason::UnknownContract { con_id: o.con_id });
            }
        }
        if let OrderContract::Combo { legs: raw, .. } = &r.contract {
            if !(2..=4).contains(&raw.len()) {
                return Err(RejectReason::Invalid {
                    detail: format!("a combo needs 2 to 4 legs, got {}", raw.len()),
                });
            }
            if raw.iter().any(|l| l.ratio == 0) {
                return Err(RejectReason::Invalid {
                    detail: "combo leg ratio must be at least 1".to_string(),
                });
            }
            let first = legs[0].contract.symbol().to_string();
            if legs
                .iter()
                .any(|l| l.contract.as_option().is_none() || l.contract.symbol() != first)
            {
                return Err(RejectReason::Invalid {
                    detail: "combo legs must be options on one underlying".to_string(),
                });
            }
        }
        match (r.order_type, r.limit_price) {
            (OrderType::Limit, None) => {
                return Err(RejectReason::Invalid {
                    detail: "a limit order needs a limit price".to_string(),
                });
            }
            (OrderType::Limit, Some(price)) => {
                let tick = match &r.contract {
                    OrderContract::Combo { .. } => Decimal::new(1, 2),
                    OrderContract::Single { con_id } => market
                        .tick_size(*con_id, price)
                        .ok_or(RejectReason::UnknownContract { con_id: *con_id })?,
                };
                let single = matches!(r.contract, OrderContract::Single { .. });
                if !(price / tick).fract().is_zero() || (single && price <= Decimal::ZERO) {
                    return Err(RejectReason::PriceNotOnTick { tick });
                }
            }
            (OrderType::Market, _) => {}
        }
        Ok(legs)
    }

    /// Refuses an order whose worst case would leave AvailableFunds negative.
    fn check_funds(
        &self,
        market: &Market,
        r: &OrderRequest,
        legs: &[ResolvedLeg],
        existing: Option<usize>,
    ) -> Result<(), RejectReason> {
        let mut request = r.clone();
        if let Some(i) = existing {
            request.quantity = r.quantity - self.orders[i].filled;
        }
        let w = self.compute_what_if(market, &request, legs);
        if w.equity_with_loan_after < w.init_margin_after {
            return Err(RejectReason::InsufficientFunds {
                equity: w.equity_with_loan_after.round_dp(2),
                margin: w.init_margin_after.round_dp(2),
            });
        }
        Ok(())
    }

    fn compute_what_if(&self, market: &Market, r: &OrderRequest, legs: &[ResolvedLeg]) -> WhatIf {
        let before = self.account.values(market);
        let commission = self.config.commissions.order_total(
            option_units(legs) * r.quantity,
            stock_units(legs) * r.quantity,
        );
        let quotes = fill::quotes(market, legs);
        let pricing = match (r.order_type, r.limit_price, &quotes) {
            (OrderType::Limit, Some(limit), Some(q)) => Some(fill::at_limit(legs, q, limit)),
            (_, _, Some(q)) => fill::natural(legs, q, r.action),
            _ => None,
        };
        let mut after_account = self.account.clone();
        if let Some(p) = &pricing {
            for (leg, price) in legs.iter().zip(&p.leg_prices) {
                after_account.apply_fill(
                    &leg.contract,
                    leg.side(r.action),
                    leg.ratio * r.quantity,
                    *price,
                    Decimal::ZERO,
                );
            }
            after_account.cash -= commission;
        }
        let after = after_account.values(market);
        WhatIf {
            init_margin_before: before.init_margin_req,
            maint_margin_before: before.maint_margin_req,
            equity_with_loan_before: before.equity_with_loan,
            init_margin_change: after.init_margin_req - before.init_margin_req,
            maint_margin_change: after.maint_margin_req - before.maint_margin_req,
            equity_with_loan_change: after.equity_with_loan - before.equity_with_loan,
            init_margin_after: after.init_margin_req,
            maint_margin_after: after.maint_margin_req,
            equity_with_loan_after: after.equity_with_loan,
            commission,
            min_commission: commission,
            max_commission: commission,
            currency: "USD".to_string(),
            status: OrderStatus::PreSubmitted,
        }
    }

    /// One fill attempt for order `i` (see the fill model).
    fn try_fill(
        &mut self,
        market: &Market,
        i: usize,
        legs: &[ResolvedLeg],
        now: DateTime<Utc>,
        on_placement: bool,
        events: &mut Vec<OrderEvent>,
    ) {
        let second = now.timestamp();
        let order = &self.orders[i];
        if order.remaining <= Decimal::ZERO {
            return;
        }
        if !on_placement && order.last_fill_at.is_some_and(|t| t.timestamp() >= second) {
            return;
        }
        // The seconds since the last look, for the resting draws; taken now
        // so that a marketable tick also uses them up.
        let drawn_after = order
            .resting_drawn_until
            .max(order.placed_at.timestamp())
            .max(second - MAX_RESTING_WINDOW_S);
        self.orders[i].resting_drawn_until = second.max(self.orders[i].resting_drawn_until);
        let Some(quotes) = fill::quotes(market, legs) else {
            return;
        };
        let order = &self.orders[i];
        let action = order.request.action;
        let natural = fill::natural(legs, &quotes, action);
        let marketable = match (
            order.request.order_type,
            order.request.limit_price,
            &natural,
        ) {
            (_, _, None) => false,
            (OrderType::Market, _, Some(_)) => true,
            (OrderType::Limit, Some(limit), Some(n)) => match action {
                Action::Buy => n.net <= limit,
                Action::Sell => n.net >= limit,
            },
            (OrderType::Limit, None, Some(_)) => false,
        };
        let (pricing, liquidity) = if marketable {
            (natural.expect("marketable implies a natural price"), 2)
        } else {
            let Some(limit) = order.request.limit_price else {
                return;
            };
            if second <= drawn_after {
                return;
            }
            let Some(rate) = self.rate_at(market, legs, &quotes, action, limit) else {
                return;
            };
            let p = model::per_second(rate);
            let perm_id = order.perm_id;
            if model::first_fill_second(self.config.seed, perm_id, drawn_after, second, p).is_none()
            {
                return;
            }
            (fill::at_limit(legs, &quotes, limit), 1)
        };
        let displayed = displayed_combos(legs, &quotes, action);
        if displayed <= Decimal::ZERO {
            return;
        }
        self.execute(i, legs, pricing, liquidity, displayed, now, events);
    }

    /// Fills one chunk of order `i`: a seeded size up to the chunk limit,
    /// no more than `displayed` combos nor what remains.
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &mut self,
        i: usize,
        legs: &[ResolvedLeg],
        pricing: Pricing,
        liquidity: i32,
        displayed: Decimal,
        now: DateTime<Utc>,
        events: &mut Vec<OrderEvent>,
    ) {
        let chunk_max = self
            .faults
            .forced_chunk
            .unwrap_or(self.config.max_fill_chunk)
            .max(1);
        let order = &self.orders[i];
        let draw = hash(&[
            self.config.seed,
            order.perm_id as u64,
            u64::from(order.fills),
            0x6368,
        ]);
        let chunk = Decimal::from(1 + draw % u64::from(chunk_max))
            .min(order.remaining)
            .min(displayed);
        let filled_after = order.filled + chunk;
        let commission_total = self.config.commissions.order_total(
            option_units(legs) * filled_after,
            stock_units(legs) * filled_after,
        );
        let fill_commission = commission_total - order.commission;
        let leg_units: Vec<Decimal> = legs.iter().map(|l| l.ratio * chunk).collect();
        let total_units: Decimal = leg_units.iter().sum();
        let action = order.request.action;
        let is_combo = matches!(order.request.contract, OrderContract::Combo { .. });
        let fill_no = order.fills + 1;
        let (perm_id, order_id, client_id) = (order.perm_id, order.order_id(), order.client_id());
        let (order_ref, account) = (
            order.request.order_ref.clone(),
            order.request.account.clone(),
        );
        let prev_filled = order.filled;
        let prev_avg = order.avg_fill_price;

        let mut charged = Decimal::ZERO;
        for (k, (leg, price)) in legs.iter().zip(&pricing.leg_prices).enumerate() {
            let units = leg_units[k];
            let commission = if k + 1 == legs.len() {
                fill_commission - charged
            } else {
                (fill_commission * units / total_units).round_dp(4)
            };
            charged += commission;
            let side = leg.side(action);
            let realized = self
                .account
                .apply_fill(&leg.contract, side, units, *price, commission);
            let cum_qty = leg.ratio * filled_after;
            let prev_units = leg.ratio * prev_filled;
            let prev_leg_avg = self.leg_avg(perm_id, leg.contract.con_id());
            let avg_price = (prev_leg_avg * prev_units + *price * units) / cum_qty;
            let exec = Execution {
                exec_id: format!("{:08x}.{:08x}.{:02x}.01", perm_id, fill_no, k + 1),
                order_id,
                client_id,
                perm_id,
                time: now,
                account: account.clone(),
                scope: ExecutionScope::Leg,
                con_id: leg.contract.con_id(),
                side,
                shares: units,
                price: *price,
                cum_qty,
                avg_price,
                order_ref: order_ref.clone(),
                exchange: "SMART".to_string(),
                last_liquidity: liquidity,
                commission,
                realized_pnl: realized,
                currency: "USD".to_string(),
            };
            self.executions.push(exec.clone());
            events.push(OrderEvent::Execution(exec));
        }
        let avg = (prev_avg * prev_filled + pricing.net * chunk) / filled_after;
        if is_combo {
            let exec = Execution {
                exec_id: format!("{:08x}.{:08x}.00.01", perm_id, fill_no),
                order_id,
                client_id,
                perm_id,
                time: now,
                account,
                scope: ExecutionScope::Combo,
                con_id: 0,
                side: if action == Action::Buy {
                    Side::Bought
                } else {
                    Side::Sold
                },
                shares: chunk,
                price: pricing.net,
                cum_qty: filled_after,
                avg_price: avg,
                order_ref,
                exchange: "SMART".to_string(),
                last_liquidity: liquidity,
                commission: Decimal::ZERO,
                realized_pnl: None,
                currency: "USD".to_string(),
            };
            self.executions.push(exec.clone());
            events.push(OrderEvent::Execution(exec));
        }
        tracing::debug!(perm_id, order_id, %chunk, net = %pricing.net, liquidity, "order filled");
        let o = &mut self.orders[i];
        o.filled = filled_after;
        o.remaining -= chunk;
        o.avg_fill_price = avg;
        o.last_fill_price = pricing.net;
        o.commission = commission_total;
        o.last_fill_at = Some(now);
        o.fills = fill_no;
        if o.remaining.is_zero() {
            o.status = OrderStatus::Filled;
        }
        events.push(OrderEvent::Status(o.clone()));
    }

    /// Average price of earlier leg executions of an order for one conId.
    fn leg_avg(&self, perm_id: i64, con_id: i32) -> Decimal {
        self.executions
            .iter()
            .rev()
            .find(|e| e.perm_id == perm_id && e.con_id == con_id && e.scope == ExecutionScope::Leg)
            .map_or(Decimal::ZERO, |e| e.avg_price)
    }
}

/// Option contracts per combo.
fn option_units(legs: &[ResolvedLeg]) -> Decimal {
    legs.iter()
        .filter(|l| matches!(l.contract, Contract::Option(_)))
        .map(|l| l.ratio)
        .sum()
}

/// Shares per unit.
fn stock_units(legs: &[ResolvedLeg]) -> Decimal {
    legs.iter()
        .filter(|l| matches!(l.contract, Contract::Stock(_)))
        .map(|l| l.ratio)
        .sum()
}

/// The session whose close ends a DAY order placed at `now`: today's if
/// `now` is before today's close on a trading day, else the next one.
fn session_date_for(now: DateTime<Utc>) -> chrono::NaiveDate {
    let d = ny_date(now);
    if is_trading_day(d) && now < session_close(d) {
        d
    } else {
        next_trading_day(d)
    }
}

/// Combos the legs' displayed sizes allow at once: for each leg the size on
/// the side the order takes (the ask of a leg it buys, the bid of a leg it
/// sells) in whole combos, the smallest of them.
fn displayed_combos(legs: &[ResolvedLeg], quotes: &[Quote], action: Action) -> Decimal {
    legs.iter()
        .zip(quotes)
        .map(|(l, q)| {
            let size = match l.side(action) {
                Side::Bought => q.ask_size,
                Side::Sold => q.bid_size,
            };
            (size / l.ratio).floor()
        })
        .min()
        .unwrap_or(Decimal::ZERO)
}

/// The legs' quoted bid-ask summed, as a share of their mids summed (a
/// missing bid counts as zero); `None` when the mids sum to nothing.
fn relative_width(legs: &[ResolvedLeg], quotes: &[Quote]) -> Option<f64> {
    let (mut width, mut mid) = (Decimal::ZERO, Decimal::ZERO);
    for (l, q) in legs.iter().zip(quotes) {
        let ask = q.ask?;
        let bid = q.bid.unwrap_or(Decimal::ZERO);
        width += l.ratio * (ask - bid);
        mid += l.ratio * (ask + bid) / Decimal::TWO;
    }
    (mid > Decimal::ZERO).then(|| decimal_f64(width / mid))
}

/// The underlying's daily dollar volume: spot × average share volume.
fn dollar_volume(market: &Market, legs: &[ResolvedLeg]) -> f64 {
    let Some(first) = legs.first() else {
        return 0.0;
    };
    let symbol = first.contract.symbol();
    match (universe_index(symbol), market.spot(symbol)) {
        (Some(index), Some(spot)) => spot * UNIVERSE[index].avg_volume,
        _ => 0.0,
    }
}

fn decimal_f64(d: Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive as _;
    d.to_f64().unwrap_or(f64::NAN)
}
