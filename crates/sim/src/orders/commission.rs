//! IBKR-like fixed-rate commissions.
//!
//! - Options: $0.65 per contract, at least $1.00 per order.
//! - Stocks: $0.005 per share, at least $1.00 per order.
//!
//! The minimum applies per order, not per fill: an order's commission so far
//! is `max(minimum, rate × units filled so far)` and each fill is charged the
//! increase. IB's 1%-of-trade-value cap and exchange/regulatory fees are not
//! modelled.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A commission schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionSchedule {
    /// Per option contract.
    pub per_contract: Decimal,
    /// Per share of stock.
    pub per_share: Decimal,
    /// Per-order minimum.
    pub minimum: Decimal,
}

impl Default for CommissionSchedule {
    fn default() -> Self {
        CommissionSchedule {
            per_contract: Decimal::new(65, 2),
            per_share: Decimal::new(5, 3),
            minimum: Decimal::ONE,
        }
    }
}

impl CommissionSchedule {
    /// Total commission of an order once `option_contracts` contracts and
    /// `shares` shares (summed over legs) have filled.
    pub fn order_total(&self, option_contracts: Decimal, shares: Decimal) -> Decimal {
        if option_contracts.is_zero() && shares.is_zero() {
            return Decimal::ZERO;
        }
        (self.per_contract * option_contracts + self.per_share * shares).max(self.minimum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_applies_per_order_then_rate() {
        let s = CommissionSchedule::default();
        assert_eq!(s.order_total(Decimal::ZERO, Decimal::ZERO), Decimal::ZERO);
        assert_eq!(s.order_total(Decimal::ONE, Decimal::ZERO), Decimal::ONE);
        assert_eq!(
            s.order_total(Decimal::TWO, Decimal::ZERO),
            Decimal::new(130, 2)
        );
        assert_eq!(
            s.order_total(Decimal::from(20), Decimal::ZERO),
            Decimal::from(13)
        );
        assert_eq!(
            s.order_total(Decimal::ZERO, Decimal::from(100)),
            Decimal::ONE
        );
        assert_eq!(
            s.order_total(Decimal::ZERO, Decimal::from(1000)),
            Decimal::from(5)
        );
    }
}
