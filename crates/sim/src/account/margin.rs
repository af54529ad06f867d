//! Margin requirements, simplified to one rule a trader can check by hand:
//! **an option position requires its worst-case loss**.
//!
//! - Options of one underlying, expiry and right are paired into verticals
//!   (each short leg with the nearest-strike long leg). A vertical requires
//!   its maximum loss at expiry given the prices paid: a debit spread its
//!   debit, a credit spread `width × 100 × qty − credit`.
//! - A long option left over requires its premium (it can lose no more).
//! - A naked short option requires the Reg-T amount:
//!   `max(20% of the underlying − out-of-the-money amount, 10% of the
//!   underlying (calls) or strike (puts)) + its mark`, × 100 × qty.
//! - Stock: 50% initial and 25% (long) / 30% (short) maintenance.
//!
//! Equity with loan value is NetLiquidation (option values included), so
//! buying a debit spread lowers AvailableFunds by the debit and selling a
//! credit spread by its maximum loss, which is what the what-if reports.
//! Maintenance equals initial for options.

use rust_decimal::Decimal;
use vspread_core::Right;

use super::Position;
use crate::market::Contract;
use crate::market::quote::dec;

/// Initial and maintenance requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Requirement {
    pub initial: Decimal,
    pub maintenance: Decimal,
}

/// Intrinsic value of an option per share.
pub fn intrinsic(right: Right, strike: Decimal, spot: Decimal) -> Decimal {
    match right {
        Right::Call => (spot - strike).max(Decimal::ZERO),
        Right::Put => (strike - spot).max(Decimal::ZERO),
    }
}

/// Options that can pair into verticals: underlying, expiry, right.
type GroupKey = (String, chrono::NaiveDate, Right);

struct Leg {
    strike: Decimal,
    /// Units not yet paired.
    qty: Decimal,
    /// Units held.
    total: Decimal,
    /// Premium of the units held, in dollars.
    cost: Decimal,
    mark: Decimal,
    mult: Decimal,
}

impl Leg {
    /// Premium of `part` of the units held (exact when `part` is all of them).
    fn cost_of(&self, part: Decimal) -> Decimal {
        if part == self.total {
            self.cost
        } else {
            (self.cost * part / self.total).round_dp(6)
        }
    }
}

/// The requirement of a set of positions; `spot` gives an underlying's price
/// and `mark` a contract's mark.
pub fn requirement<'a>(
    positions: impl Iterator<Item = &'a Position>,
    spot: impl Fn(&str) -> Option<f64>,
    mark: impl Fn(&Contract) -> Decimal,
) -> Requirement {
    use std::collections::BTreeMap;
    let mut req = Requirement::default();
    let mut groups: BTreeMap<GroupKey, (Vec<Leg>, Vec<Leg>)> = BTreeMap::new();
    for p in positions {
        match &p.contract {
            Contract::Stock(_) => {
                let value = (p.quantity * mark(&p.contract)).abs();
                let half = Decimal::new(5, 1);
                req.initial += value * half;
                req.maintenance += value
                    * if p.quantity.is_sign_positive() {
                        Decimal::new(25, 2)
                    } else {
                        Decimal::new(3, 1)
                    };
            }
            Contract::Option(o) => {
                let leg = Leg {
                    strike: o.strike,
                    qty: p.quantity.abs(),
                    total: p.quantity.abs(),
                    cost: p.open_cost,
                    mark: mark(&p.contract),
                    mult: p.contract.multiplier(),
                };
                let entry = groups
                    .entry((o.symbol.clone(), o.expiry, o.right))
                    .or_default();
                if p.quantity.is_sign_positive() {
                    entry.0.push(leg)
                } else {
                    entry.1.push(leg)
                }
            }
        }
    }
    let mut add = |x: Decimal| {
        req.initial += x;
        req.maintenance += x;
    };
    for ((symbol, _, right), (mut longs, shorts)) in groups {
        let underlying = dec(spot(&symbol).unwrap_or(0.0));
        for mut short in shorts {
            while short.qty > Decimal::ZERO {
                let Some(best) = longs
                    .iter_mut()
                    .filter(|l| l.qty > Decimal::ZERO)
                    .min_by_key(|l| (l.strike - short.strike).abs())
                else {
                    break;
                };
                let q = short.qty.min(best.qty);
                // Worst payoff of long-minus-short at expiry, per share.
                let worst = match right {
                    Right::Call => (best.strike - short.strike).max(Decimal::ZERO),
                    Right::Put => (short.strike - best.strike).max(Decimal::ZERO),
                };
                let loss = worst * short.mult * q + best.cost_of(q) - short.cost_of(q);
                add(loss.max(Decimal::ZERO));
                short.qty -= q;
                best.qty -= q;
            }
            if short.qty > Decimal::ZERO {
                let otm = match right {
                    Right::Call => (short.strike - underlying).max(Decimal::ZERO),
                    Right::Put => (underlying - short.strike).max(Decimal::ZERO),
                };
                let floor_base = match right {
                    Right::Call => underlying,
                    Right::Put => short.strike,
                };
                let per_share = (underlying * Decimal::new(2, 1) - otm)
                    .max(floor_base * Decimal::new(1, 1))
                    + short.mark;
                add(per_share * short.mult * short.qty);
            }
        }
        for long in longs.into_iter().filter(|l| l.qty > Decimal::ZERO) {
            add(long.cost_of(long.qty));
        }
    }
    req
}
