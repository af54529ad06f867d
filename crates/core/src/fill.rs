//! Fills: the gateway's executions and commissions, and what they make of
//! an order. One fold, [`OrderFills`], turns an order's events into per-leg
//! and combo-level totals; [`OrderFills::spread_fill`] turns those into
//! whole spreads at a net price, which a position books.
//!
//! Executions are keyed by exec id, so the copies the gateway resends after
//! a reconnect (or that reconciliation replays) count once.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde::{Deserialize, Serialize};

use crate::contract::ConId;
use crate::money::{Money, Price};
use crate::order::{BrokerOrderId, OrderEvent, OrderPurpose, OrderRef, OrderStatus, Side};

/// One fill: of a leg, or of a single-contract order, or the combo-level
/// fill of a BAG order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    pub exec_id: String,
    pub order_id: BrokerOrderId,
    pub order_ref: String,
    pub con_id: ConId,
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    /// Cumulative quantity of the order after this fill.
    pub cumulative_quantity: Decimal,
    pub average_price: Decimal,
    /// The gateway's time text, as it sent it.
    pub time: String,
    /// True for the combo-level fill of a BAG order (price = net price);
    /// its legs' fills come as their own executions with `false`.
    pub combo: bool,
}

/// A commission the gateway reported for one execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionReport {
    pub exec_id: String,
    pub order_ref: String,
    pub commission: Decimal,
    pub currency: String,
}

/// Whole spreads filled, at a net price in the spec's convention (paid for
/// a debit spread's entry, received for a credit spread's entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpreadFill {
    pub order_ref: OrderRef,
    pub purpose: OrderPurpose,
    /// Spreads filled; 0 when only commissions are being booked.
    pub quantity: u32,
    /// Per share; 0 when `quantity` is 0.
    pub net: Price,
    /// Commissions of these fills.
    pub commissions: Money,
    /// The latest execution's time.
    pub time: DateTime<Utc>,
}

/// One contract's fills within an order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegFills {
    pub quantity: Decimal,
    /// Σ price × quantity; divide by `quantity` for the average.
    pub notional: Decimal,
}

impl LegFills {
    pub fn average_price(&self) -> Option<Decimal> {
        (!self.quantity.is_zero()).then(|| self.notional / self.quantity)
    }
}

/// The events of one order folded together: per-leg quantities and prices,
/// the combo-level fills, commissions and the last status. Duplicate
/// executions (same exec id, as after a reconnect) count once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderFills {
    pub order_ref: String,
    pub legs: BTreeMap<ConId, LegFills>,
    /// Combo-level fills of a BAG order (net price), or the fills of a
    /// single-contract order.
    pub order: LegFills,
    pub commissions: Decimal,
    pub status: Option<OrderStatus>,
    pub filled: Decimal,
    pub remaining: Decimal,
    exec_ids: BTreeSet<String>,
    combo: bool,
}

impl OrderFills {
    pub fn new(order_ref: impl Into<String>) -> Self {
        Self {
            order_ref: order_ref.into(),
            ..Self::default()
        }
    }

    /// Folds one event in; events of other orders are ignored. Returns
    /// whether it belonged to this order.
    pub fn apply(&mut self, event: &OrderEvent) -> bool {
        if event.order_ref() != self.order_ref {
            return false;
        }
        match event {
            OrderEvent::Status {
                status,
                filled,
                remaining,
                ..
            } => {
                self.status = Some(*status);
                self.filled = *filled;
                self.remaining = *remaining;
            }
            OrderEvent::Execution(x) => {
                if !self.exec_ids.insert(x.exec_id.clone()) {
                    return true;
                }
                let add = |f: &mut LegFills| {
                    f.quantity += x.quantity;
                    f.notional += x.price * x.quantity;
                };
                if x.combo {
                    self.combo = true;
                    add(&mut self.order);
                } else {
                    add(self.legs.entry(x.con_id).or_default());
                }
            }
            OrderEvent::Commission { commission, .. } => self.commissions += *commission,
            // A filled order stays filled: a late refusal answers a change
            // sent as it filled.
            OrderEvent::Rejected { .. } if self.status == Some(OrderStatus::Filled) => {}
            OrderEvent::Rejected { .. } => self.status = Some(OrderStatus::Inactive),
        }
        true
    }

    /// Quantity filled according to the executions: the combo-level fills
    /// for a BAG, else the single contract's (or the smaller leg's).
    pub fn executed_quantity(&self) -> Decimal {
        if self.combo || self.legs.is_empty() {
            self.order.quantity
        } else if self.legs.len() == 1 {
            self.legs.values().map(|l| l.quantity).sum()
        } else {
            self.legs
                .values()
                .map(|l| l.quantity)
                .min()
                .unwrap_or_default()
        }
    }

    /// The gateway reported a final status.
    pub fn is_done(&self) -> bool {
        self.status.is_some_and(OrderStatus::is_terminal)
    }

    /// The spread-level fill of a combo order: spreads filled, the average
    /// net per share (from the combo-level executions, whose price is the
    /// net in the order's sign convention) and every commission. `None`
    /// when nothing filled or `order_ref` is not a vspread reference.
    pub fn spread_fill(&self, purpose: OrderPurpose, time: DateTime<Utc>) -> Option<SpreadFill> {
        let net = self.order.average_price()?.abs();
        Some(SpreadFill {
            order_ref: OrderRef::parse(&self.order_ref).ok()?,
            purpose,
            quantity: self.executed_quantity().trunc().to_u32()?,
            net: Price::new(net),
            commissions: Money::new(self.commissions),
            time,
        })
    }
}

#[cfg(test)]
#[path = "fill_tests.rs"]
mod tests;
