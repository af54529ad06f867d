//! The simulated account: cash, positions with average cost, realised P&L,
//! and the account values TWS reports (NetLiquidation, AvailableFunds, …),
//! following fills and the market's marks. Everything is an exact decimal.
//!
//! Positions keep two averages: `avg_price`, the average fill price per unit
//! (used for P&L and margin), and `avg_cost`, IB's figure: average price ×
//! multiplier plus the opening commissions per unit (what `reqPositions`
//! reports). Realised P&L, like IB's, is net of the opening and closing
//! commissions of the quantity closed.

pub mod margin;

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::market::{Contract, Market};

/// Default account id reported to clients.
pub const DEFAULT_ACCOUNT_ID: &str = "DU1234567";
/// Default starting cash.
pub const DEFAULT_CASH: i64 = 100_000;

/// Which way a fill went for the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    /// Bought (`BOT` on the wire).
    Bought,
    /// Sold (`SLD`).
    Sold,
}

impl Side {
    /// TWS execution side: `BOT` / `SLD`.
    pub fn code(self) -> &'static str {
        match self {
            Side::Bought => "BOT",
            Side::Sold => "SLD",
        }
    }

    fn sign(self) -> Decimal {
        match self {
            Side::Bought => Decimal::ONE,
            Side::Sold => Decimal::NEGATIVE_ONE,
        }
    }
}

/// One position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub contract: Contract,
    /// Signed quantity (negative = short).
    pub quantity: Decimal,
    /// Average fill price per unit (per share; an option's premium):
    /// `open_cost / (|quantity| × multiplier)`.
    pub avg_price: Decimal,
    /// Premium paid (long) or received (short) for the quantity held, in
    /// dollars (price × units × multiplier, summed exactly).
    pub open_cost: Decimal,
    /// Commissions paid opening the quantity still held.
    pub open_commission: Decimal,
    /// Realised P&L booked on this contract so far.
    pub realized_pnl: Decimal,
}

impl Position {
    /// IB's average cost per unit: premium plus opening commissions (long)
    /// or premium received less them (short), per unit held.
    pub fn avg_cost(&self) -> Decimal {
        if self.quantity.is_zero() {
            return Decimal::ZERO;
        }
        self.cost_basis() / self.quantity
    }

    /// Signed cost basis in dollars: what holding the position cost
    /// (negative for a short: the net premium received).
    pub fn cost_basis(&self) -> Decimal {
        if self.quantity.is_sign_negative() {
            -(self.open_cost - self.open_commission)
        } else {
            self.open_cost + self.open_commission
        }
    }
}

/// A position valued at the market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortfolioItem {
    pub contract: Contract,
    pub position: Decimal,
    /// Mark per unit (mid of the quote; intrinsic for an expired option).
    pub market_price: Decimal,
    /// position × mark × multiplier.
    pub market_value: Decimal,
    /// IB's average cost (see [`Position::avg_cost`]).
    pub average_cost: Decimal,
    pub unrealized_pnl: Decimal,
    pub realized_pnl: Decimal,
}

/// The account values TWS reports (`reqAccountSummary`, `reqAccountUpdates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountValues {
    pub net_liquidation: Decimal,
    pub total_cash_value: Decimal,
    pub settled_cash: Decimal,
    pub equity_with_loan: Decimal,
    pub gross_position_value: Decimal,
    pub init_margin_req: Decimal,
    pub maint_margin_req: Decimal,
    pub available_funds: Decimal,
    pub excess_liquidity: Decimal,
    /// AvailableFunds × 4 (a margin account's intraday buying power).
    pub buying_power: Decimal,
    /// ExcessLiquidity / NetLiquidation (0 when NetLiquidation is 0).
    pub cushion: Decimal,
    pub unrealized_pnl: Decimal,
    pub realized_pnl: Decimal,
}

impl AccountValues {
    /// `(tag, value)` pairs for `reqAccountSummary`, values as decimal
    /// strings in USD (`AccountType` is `INDIVIDUAL`). Includes every tag of
    /// IB's summary list the simulator can state.
    pub fn summary_tags(&self) -> Vec<(&'static str, String)> {
        let s = |d: Decimal| format!("{:.2}", d.round_dp(2));
        vec![
            ("AccountType", "INDIVIDUAL".to_string()),
            ("NetLiquidation", s(self.net_liquidation)),
            ("TotalCashValue", s(self.total_cash_value)),
            ("SettledCash", s(self.settled_cash)),
            ("AccruedCash", "0.00".to_string()),
            ("BuyingPower", s(self.buying_power)),
            ("EquityWithLoanValue", s(self.equity_with_loan)),
            ("PreviousDayEquityWithLoanValue", s(self.equity_with_loan)),
            ("GrossPositionValue", s(self.gross_position_value)),
            ("ReqTEquity", s(self.equity_with_loan)),
            ("ReqTMargin", s(self.init_margin_req)),
            ("SMA", s(self.available_funds.max(Decimal::ZERO))),
            ("InitMarginReq", s(self.init_margin_req)),
            ("MaintMarginReq", s(self.maint_margin_req)),
            ("AvailableFunds", s(self.available_funds)),
            ("ExcessLiquidity", s(self.excess_liquidity)),
            ("Cushion", self.cushion.round_dp(4).to_string()),
            ("FullInitMarginReq", s(self.init_margin_req)),
            ("FullMaintMarginReq", s(self.maint_margin_req)),
            ("FullAvailableFunds", s(self.available_funds)),
            ("FullExcessLiquidity", s(self.excess_liquidity)),
            ("LookAheadNextChange", "0".to_string()),
            ("LookAheadInitMarginReq", s(self.init_margin_req)),
            ("LookAheadMaintMarginReq", s(self.maint_margin_req)),
            ("LookAheadAvailableFunds", s(self.available_funds)),
            ("LookAheadExcessLiquidity", s(self.excess_liquidity)),
            ("HighestSeverity", "0".to_string()),
            ("DayTradesRemaining", "-1".to_string()),
            (
                "Leverage",
                s(if self.net_liquidation.is_zero() {
                    Decimal::ZERO
                } else {
                    self.gross_position_value / self.net_liquidation
                }),
            ),
            ("UnrealizedPnL", s(self.unrealized_pnl)),
            ("RealizedPnL", s(self.realized_pnl)),
        ]
    }
}

/// The account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub cash: Decimal,
    /// Open positions by conId (closed positions are removed; their realised
    /// P&L stays in [`Account::realized_pnl`]).
    pub positions: BTreeMap<i32, Position>,
    /// Realised P&L since the account was created.
    pub realized_pnl: Decimal,
    /// Commissions paid since the account was created.
    pub commissions: Decimal,
}

impl Account {
    /// A fresh account holding only cash.
    pub fn new(id: impl Into<String>, cash: Decimal) -> Self {
        Account {
            id: id.into(),
            cash,
            positions: BTreeMap::new(),
            realized_pnl: Decimal::ZERO,
            commissions: Decimal::ZERO,
        }
    }

    /// Books a fill of `quantity` (> 0) units at `price` per unit with its
    /// commission. Returns the P&L realised by this fill, if it closed
    /// anything.
    pub fn apply_fill(
        &mut self,
        contract: &Contract,
        side: Side,
        quantity: Decimal,
        price: Decimal,
        commission: Decimal,
    ) -> Option<Decimal> {
        let mult = contract.multiplier();
        self.cash -= side.sign() * quantity * price * mult + commission;
        self.commissions += commission;
        let pos = self
            .positions
            .entry(contract.con_id())
            .or_insert_with(|| Position {
                contract: contract.clone(),
                quantity: Decimal::ZERO,
                avg_price: Decimal::ZERO,
                open_cost: Decimal::ZERO,
                open_commission: Decimal::ZERO,
                realized_pnl: Decimal::ZERO,
            });
        let signed = side.sign() * quantity;
        let mut realized = None;
        if pos.quantity.is_zero() || pos.quantity.is_sign_positive() == signed.is_sign_positive() {
            pos.open_cost += price * quantity * mult;
            pos.open_commission += commission;
            pos.quantity += signed;
        } else {
            let held = pos.quantity.abs();
            let closed = quantity.min(held);
            let opened = quantity - closed;
            let held_sign = if pos.quantity.is_sign_positive() {
                Decimal::ONE
            } else {
                Decimal::NEGATIVE_ONE
            };
            // Shares of the opening totals, to a millionth of a dollar so no
            // repeating decimals enter the books; closing everything takes
            // the whole remainder, so a round trip realises the cash exactly.
            let share = |total: Decimal, part: Decimal, whole: Decimal| {
                if part == whole {
                    total
                } else {
                    (total * part / whole).round_dp(6)
                }
            };
            let cost_share = share(pos.open_cost, closed, held);
            let open_comm_share = share(pos.open_commission, closed, held);
            let close_comm_share = share(commission, closed, quantity);
            let pnl = held_sign * (price * closed * mult - cost_share)
                - open_comm_share
                - close_comm_share;
            pos.open_cost -= cost_share;
            pos.open_commission -= open_comm_share;
            pos.quantity += signed;
            pos.realized_pnl += pnl;
            self.realized_pnl += pnl;
            realized = Some(pnl);
            if opened > Decimal::ZERO {
                pos.open_cost = price * opened * mult;
                pos.open_commission = commission - close_comm_share;
            }
        }
        pos.avg_price = if pos.quantity.is_zero() {
            Decimal::ZERO
        } else {
            pos.open_cost / (pos.quantity.abs() * mult)
        };
        if pos.quantity.is_zero() {
            self.positions.remove(&contract.con_id());
        }
        realized
    }

    /// Closes a position at `price` per unit without commission (an option
    /// expiring: settled in cash at intrinsic value). Returns the realised P&L.
    pub fn settle(&mut self, con_id: i32, price: Decimal) -> Option<Decimal> {
        let pos = self.positions.get(&con_id)?.clone();
        let side = if pos.quantity.is_sign_positive() {
            Side::Sold
        } else {
            Side::Bought
        };
        self.apply_fill(
            &pos.contract,
            side,
            pos.quantity.abs(),
            price,
            Decimal::ZERO,
        )
    }

    /// Positions valued at the market's current marks.
    pub fn portfolio(&self, market: &Market) -> Vec<PortfolioItem> {
        self.positions
            .values()
            .map(|p| {
                let mark = mark(market, &p.contract);
                let mult = p.contract.multiplier();
                let value = p.quantity * mark * mult;
                PortfolioItem {
                    contract: p.contract.clone(),
                    position: p.quantity,
                    market_price: mark,
                    market_value: value,
                    average_cost: p.avg_cost(),
                    unrealized_pnl: value - p.cost_basis(),
                    realized_pnl: p.realized_pnl,
                }
            })
            .collect()
    }

    /// Account values at the market's current marks. See [`margin`] for the
    /// requirement model.
    pub fn values(&self, market: &Market) -> AccountValues {
        let portfolio = self.portfolio(market);
        let position_value: Decimal = portfolio.iter().map(|p| p.market_value).sum();
        let gross: Decimal = portfolio.iter().map(|p| p.market_value.abs()).sum();
        let unrealized: Decimal = portfolio.iter().map(|p| p.unrealized_pnl).sum();
        let req = margin::requirement(
            self.positions.values(),
            |symbol| market.spot(symbol),
            |c| mark(market, c),
        );
        let net_liq = self.cash + position_value;
        let available = net_liq - req.initial;
        let excess = net_liq - req.maintenance;
        AccountValues {
            net_liquidation: net_liq,
            total_cash_value: self.cash,
            settled_cash: self.cash,
            equity_with_loan: net_liq,
            gross_position_value: gross,
            init_margin_req: req.initial,
            maint_margin_req: req.maintenance,
            available_funds: available,
            excess_liquidity: excess,
            buying_power: (available * Decimal::from(4)).max(Decimal::ZERO),
            cushion: if net_liq.is_zero() {
                Decimal::ZERO
            } else {
                (excess / net_liq).round_dp(6)
            },
            unrealized_pnl: unrealized,
            realized_pnl: self.realized_pnl,
        }
    }
}

/// The mark of a contract: the quote's mid (see `Quote::mark`); an option
/// without a quote (expired) is marked at intrinsic value.
pub fn mark(market: &Market, contract: &Contract) -> Decimal {
    if let Some(q) = market.quote(contract.con_id()).and_then(|q| q.mark()) {
        return q;
    }
    match contract {
        Contract::Option(o) => {
            let spot = crate::market::quote::dec(market.spot(&o.symbol).unwrap_or(0.0));
            margin::intrinsic(o.right, o.strike, spot)
        }
        Contract::Stock(s) => {
            crate::market::quote::dec(market.spot(&s.symbol).unwrap_or(0.0)).round_dp(2)
        }
    }
}

#[cfg(test)]
mod tests;
