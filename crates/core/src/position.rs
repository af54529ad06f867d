//! Spread positions: how many of one vertical are held, what they cost, and
//! what they have made.
//!
//! Conventions, chosen so the figures add up exactly:
//! - prices are per share in the spec's net convention (paid for a debit
//!   spread, received for a credit spread), multiplied by the contract
//!   multiplier for money;
//! - each entry fill is a lot; exits close the oldest lots first (FIFO), so
//!   every figure is a sum of products, never a division, and a position
//!   opened and closed in any steps realises exactly Σ exits − Σ entries;
//! - commissions are realised when paid: [`SpreadPosition::realised_pnl`]
//!   is price P&L on closed spreads minus every commission so far, and
//!   [`SpreadPosition::unrealised_pnl`] is price P&L on open spreads only.
//!   Their sum is the position's whole P&L after costs.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::fill::SpreadFill;
use crate::money::{Money, Price};
use crate::order::OrderPurpose;
use crate::spread::VerticalSpread;

/// Why a fill cannot be booked on a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    #[error("order `{order_ref}` is an exit; a position opens with an entry")]
    OpensWithExit { order_ref: String },
    #[error("order `{order_ref}` opens with no spreads filled")]
    EmptyEntry { order_ref: String },
    #[error("order `{order_ref}` exits {exit} spreads, only {open} are open")]
    ExitExceedsOpen {
        order_ref: String,
        exit: u32,
        open: u32,
    },
    #[error("order `{order_ref}` would take the position past {max} spreads", max = u32::MAX)]
    TooLarge { order_ref: String },
}

/// Holdings of one vertical spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpreadPosition {
    spread: VerticalSpread,
    opened_at: DateTime<Utc>,
    closed_at: Option<DateTime<Utc>>,
    quantity: u32,
    /// Open lots, oldest first: (spreads, entry net per share).
    lots: VecDeque<(u32, Price)>,
    realised_gross: Money,
    commissions: Money,
}

impl SpreadPosition {
    /// A position from its first entry fill.
    pub fn open(spread: VerticalSpread, entry: &SpreadFill) -> Result<Self, PositionError> {
        if !entry.purpose.opens() {
            return Err(PositionError::OpensWithExit {
                order_ref: entry.order_ref.to_string(),
            });
        }
        if entry.quantity == 0 {
            return Err(PositionError::EmptyEntry {
                order_ref: entry.order_ref.to_string(),
            });
        }
        let mut position = SpreadPosition {
            spread,
            opened_at: entry.time,
            closed_at: None,
            quantity: 0,
            lots: VecDeque::new(),
            realised_gross: Money::ZERO,
            commissions: Money::ZERO,
        };
        position.apply(entry)?;
        Ok(position)
    }

    /// Books a fill of this position's spread: an entry adds spreads, an
    /// exit closes some. Returns the price P&L the fill realised (before
    /// commissions; zero for an entry).
    pub fn apply(&mut self, fill: &SpreadFill) -> Result<Money, PositionError> {
        let realised = match fill.purpose {
            OrderPurpose::Entry | OrderPurpose::Manual => {
                self.quantity = self.quantity.checked_add(fill.quantity).ok_or_else(|| {
                    PositionError::TooLarge {
                        order_ref: fill.order_ref.to_string(),
                    }
                })?;
                if fill.quantity > 0 {
                    self.lots.push_back((fill.quantity, fill.net));
                    self.closed_at = None;
                }
                Money::ZERO
            }
            OrderPurpose::Exit => {
                if fill.quantity > self.quantity {
                    return Err(PositionError::ExitExceedsOpen {
                        order_ref: fill.order_ref.to_string(),
                        exit: fill.quantity,
                        open: self.quantity,
                    });
                }
                let mut cost = Decimal::ZERO;
                let mut left = fill.quantity;
                while left > 0 {
                    let Some(lot) = self.lots.front_mut() else {
                        break;
                    };
                    let take = left.min(lot.0);
                    cost += lot.1.value() * Decimal::from(take);
                    lot.0 -= take;
                    left -= take;
                    if lot.0 == 0 {
                        self.lots.pop_front();
                    }
                }
                self.quantity -= fill.quantity;
                let gross =
                    self.value_change(cost, fill.net.value() * Decimal::from(fill.quantity));
                self.realised_gross += gross;
                if self.quantity == 0 && fill.quantity > 0 {
                    self.closed_at = Some(fill.time);
                }
                gross
            }
        };
        self.commissions += fill.commissions;
        Ok(realised)
    }

    /// Money made moving from `cost` to `value` (both Σ net × spreads, per
    /// share): a debit spread gains when its value rises, a credit spread
    /// when the price to buy it back falls.
    fn value_change(&self, cost: Decimal, value: Decimal) -> Money {
        let per_share = if self.spread.is_debit() {
            value - cost
        } else {
            cost - value
        };
        Money::new(per_share * Decimal::from(self.spread.multiplier()))
    }

    pub fn spread(&self) -> &VerticalSpread {
        &self.spread
    }
    /// Spreads open.
    pub fn quantity(&self) -> u32 {
        self.quantity
    }
    pub fn is_open(&self) -> bool {
        self.quantity > 0
    }
    pub fn opened_at(&self) -> DateTime<Utc> {
        self.opened_at
    }
    /// When the last spread was closed; `None` while any is open.
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.closed_at
    }

    /// Σ entry net × spreads of the open lots, per share.
    fn open_cost(&self) -> Decimal {
        self.lots
            .iter()
            .map(|(q, net)| net.value() * Decimal::from(*q))
            .sum()
    }

    /// Average entry net of the open spreads (for display; P&L uses the
    /// lots); `None` when flat.
    pub fn average_entry(&self) -> Option<Price> {
        (self.quantity > 0).then(|| Price::new(self.open_cost() / Decimal::from(self.quantity)))
    }

    /// Every commission paid on this position, entries and exits.
    pub fn commissions(&self) -> Money {
        self.commissions
    }

    /// Price P&L of closed spreads minus all commissions paid.
    pub fn realised_pnl(&self) -> Money {
        self.realised_gross - self.commissions
    }

    /// Price P&L of the open spreads if closed at `mark` (the current net
    /// per share, e.g. the legs' mid net).
    pub fn unrealised_pnl(&self, mark: Price) -> Money {
        self.value_change(
            self.open_cost(),
            mark.value() * Decimal::from(self.quantity),
        )
    }
}

#[cfg(test)]
#[path = "position_tests.rs"]
mod tests;
