//! Fills of a spread order: the gateway reports one execution per leg (and
//! a commission for each, separately); [`ComboFills`] folds them into whole
//! spreads at a net price, which a position can book.
//!
//! Executions are keyed by exec id, so the copies the gateway resends after
//! a reconnect count once. Each leg's side is checked against the order's
//! purpose (an entry buys the long leg and sells the short one), which
//! catches a mapping mistake before it reaches a position.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{Money, Price};
use crate::order::{OrderPurpose, OrderRef, Side, SpreadOrder};

/// Which leg of a vertical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    /// The option bought to open.
    Long,
    /// The option sold to open.
    Short,
}

impl LegRole {
    /// The side this leg trades on for an order's purpose.
    pub fn side(self, purpose: OrderPurpose) -> Side {
        match (self, purpose) {
            (LegRole::Long, OrderPurpose::Entry) | (LegRole::Short, OrderPurpose::Exit) => {
                Side::Buy
            }
            (LegRole::Short, OrderPurpose::Entry) | (LegRole::Long, OrderPurpose::Exit) => {
                Side::Sell
            }
        }
    }
}

/// One execution of one leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegFill {
    /// The gateway's execution id, unique per fill.
    pub exec_id: String,
    pub order_ref: OrderRef,
    pub leg: LegRole,
    pub side: Side,
    /// Contracts filled in this execution.
    pub quantity: u32,
    /// Per share.
    pub price: Price,
    pub time: DateTime<Utc>,
}

/// Whole spreads filled, at a net price in the spec's convention (paid for a
/// debit spread's entry, received for a credit spread's entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpreadFill {
    pub order_ref: OrderRef,
    pub purpose: OrderPurpose,
    /// Spreads filled; 0 when only late commission reports arrived.
    pub quantity: u32,
    /// Per share; 0 when `quantity` is 0.
    pub net: Price,
    /// Commissions reported since the previous fill of this order.
    pub commissions: Money,
    /// The latest execution's time.
    pub time: DateTime<Utc>,
}

/// Why an execution does not belong to the order being folded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error("execution {exec_id} belongs to order `{found}`, not `{expected}`")]
    OtherOrder {
        exec_id: String,
        expected: OrderRef,
        found: OrderRef,
    },
    #[error(
        "execution {exec_id}: the {leg:?} leg of an {purpose:?} trades {expected:?}, got {found:?}"
    )]
    WrongSide {
        exec_id: String,
        leg: LegRole,
        purpose: OrderPurpose,
        expected: Side,
        found: Side,
    },
    #[error("execution {exec_id} has quantity 0")]
    ZeroQuantity { exec_id: String },
    #[error("execution {exec_id} has a negative price {price}")]
    NegativePrice { exec_id: String, price: Price },
    #[error("execution {exec_id} fills the {leg:?} leg to {filled}, beyond the order's {ordered}")]
    Overfill {
        exec_id: String,
        leg: LegRole,
        filled: u32,
        ordered: u32,
    },
}

/// Contracts and Σ price × contracts of one leg so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LegTotal {
    quantity: u32,
    notional: Decimal,
}

impl LegTotal {
    fn average(self) -> Option<Decimal> {
        (self.quantity > 0).then(|| self.notional / Decimal::from(self.quantity))
    }
}

/// The fills of one spread order, folded.
#[derive(Debug, Clone, PartialEq)]
pub struct ComboFills {
    order_ref: OrderRef,
    purpose: OrderPurpose,
    debit: bool,
    ordered: u32,
    long: LegTotal,
    short: LegTotal,
    exec_ids: BTreeMap<String, LegRole>,
    commissions: BTreeMap<String, Money>,
    last_time: Option<DateTime<Utc>>,
    drained: Drained,
}

/// What [`ComboFills::drain`] has handed out so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Drained {
    quantity: u32,
    /// Σ net × quantity handed out.
    value: Decimal,
    commissions: Money,
}

impl ComboFills {
    /// Empty fills of `order`, which decides the reference, sides and
    /// quantity every execution is checked against.
    pub fn new(order: &SpreadOrder) -> Self {
        ComboFills {
            order_ref: order.order_ref().clone(),
            purpose: order.purpose(),
            debit: order.spread().is_debit(),
            ordered: order.quantity(),
            long: LegTotal::default(),
            short: LegTotal::default(),
            exec_ids: BTreeMap::new(),
            commissions: BTreeMap::new(),
            last_time: None,
            drained: Drained::default(),
        }
    }

    /// Folds one execution in. `Ok(false)` for an exec id already seen.
    pub fn apply_execution(&mut self, fill: &LegFill) -> Result<bool, FillError> {
        let exec_id = || fill.exec_id.clone();
        if fill.order_ref != self.order_ref {
            return Err(FillError::OtherOrder {
                exec_id: exec_id(),
                expected: self.order_ref.clone(),
                found: fill.order_ref.clone(),
            });
        }
        if self.exec_ids.contains_key(&fill.exec_id) {
            return Ok(false);
        }
        let expected = fill.leg.side(self.purpose);
        if fill.side != expected {
            return Err(FillError::WrongSide {
                exec_id: exec_id(),
                leg: fill.leg,
                purpose: self.purpose,
                expected,
                found: fill.side,
            });
        }
        if fill.quantity == 0 {
            return Err(FillError::ZeroQuantity { exec_id: exec_id() });
        }
        if fill.price < Price::ZERO {
            return Err(FillError::NegativePrice {
                exec_id: exec_id(),
                price: fill.price,
            });
        }
        let leg = match fill.leg {
            LegRole::Long => &mut self.long,
            LegRole::Short => &mut self.short,
        };
        let filled = leg.quantity.saturating_add(fill.quantity);
        if filled > self.ordered {
            return Err(FillError::Overfill {
                exec_id: exec_id(),
                leg: fill.leg,
                filled,
                ordered: self.ordered,
            });
        }
        leg.quantity = filled;
        leg.notional += fill.price.value() * Decimal::from(fill.quantity);
        self.exec_ids.insert(fill.exec_id.clone(), fill.leg);
        self.last_time = self.last_time.max(Some(fill.time));
        Ok(true)
    }

    /// Records the commission of an execution (reported after it, and
    /// possibly again after a reconnect: the latest report counts).
    pub fn apply_commission(&mut self, exec_id: &str, commission: Money) {
        self.commissions.insert(exec_id.to_string(), commission);
    }

    /// Whole spreads filled: both legs done.
    pub fn filled(&self) -> u32 {
        self.long.quantity.min(self.short.quantity)
    }

    /// True when every spread ordered has filled.
    pub fn is_complete(&self) -> bool {
        self.filled() == self.ordered
    }

    /// True when both legs have filled the same number of contracts (a
    /// guaranteed combo always is between executions of a spread).
    pub fn is_balanced(&self) -> bool {
        self.long.quantity == self.short.quantity
    }

    /// Average net price per share of the spreads filled, in the spec's
    /// convention; `None` until a whole spread has filled. Exact when the
    /// legs' totals divide evenly; otherwise to rust_decimal's 28
    /// significant digits.
    pub fn average_net(&self) -> Option<Price> {
        let filled = self.filled();
        (filled > 0).then(|| Price::new(self.filled_value() / Decimal::from(filled)))
    }

    /// Net price × spreads filled: exact when the legs are balanced.
    fn filled_value(&self) -> Decimal {
        let filled = self.filled();
        if filled == 0 {
            return Decimal::ZERO;
        }
        let long_minus_short = if self.is_balanced() {
            self.long.notional - self.short.notional
        } else {
            match (self.long.average(), self.short.average()) {
                (Some(l), Some(s)) => (l - s) * Decimal::from(filled),
                _ => Decimal::ZERO,
            }
        };
        if self.debit {
            long_minus_short
        } else {
            -long_minus_short
        }
    }

    /// Commissions reported so far, for every execution of this order.
    pub fn commissions(&self) -> Money {
        self.commissions.values().copied().sum()
    }

    /// The spreads completed (and commissions reported) since the last
    /// drain, to book on a position exactly once; `None` when nothing new.
    pub fn drain(&mut self) -> Option<SpreadFill> {
        let filled = self.filled();
        let commissions = self.commissions();
        let quantity = filled - self.drained.quantity;
        if quantity == 0 && commissions == self.drained.commissions {
            return None;
        }
        let value = self.filled_value();
        let net = if quantity == 0 {
            Price::ZERO
        } else {
            Price::new((value - self.drained.value) / Decimal::from(quantity))
        };
        let fill = SpreadFill {
            order_ref: self.order_ref.clone(),
            purpose: self.purpose,
            quantity,
            net,
            commissions: commissions - self.drained.commissions,
            time: self.last_time.unwrap_or(DateTime::<Utc>::MIN_UTC),
        };
        self.drained = Drained {
            quantity: filled,
            value,
            commissions,
        };
        Some(fill)
    }
}

#[cfg(test)]
#[path = "fill_tests.rs"]
mod tests;
