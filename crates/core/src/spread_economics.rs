//! A vertical spread's money per share in exact decimals: the same formulas
//! as the scanner spec (which works in f64 for ranking), for the prices and
//! P&L that reach orders and the journal.

use rust_decimal::Decimal;

use crate::SpreadKind;

/// Why two strikes and a net price do not make a spread.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EconomicsError {
    #[error("strikes must satisfy low < high, got {low} and {high}")]
    StrikeOrder { low: Decimal, high: Decimal },
    #[error("net price {net} must be above 0 and below the width {width}")]
    NetPrice { net: Decimal, width: Decimal },
}

/// Per-share economics of one vertical at one net price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadEconomics {
    pub kind: SpreadKind,
    pub low_strike: Decimal,
    pub high_strike: Decimal,
    /// The debit paid or credit received per share, always positive.
    pub net: Decimal,
}

impl SpreadEconomics {
    pub fn new(
        kind: SpreadKind,
        low_strike: Decimal,
        high_strike: Decimal,
        net: Decimal,
    ) -> Result<Self, EconomicsError> {
        if low_strike >= high_strike {
            return Err(EconomicsError::StrikeOrder {
                low: low_strike,
                high: high_strike,
            });
        }
        let width = high_strike - low_strike;
        if net <= Decimal::ZERO || net >= width {
            return Err(EconomicsError::NetPrice { net, width });
        }
        Ok(Self {
            kind,
            low_strike,
            high_strike,
            net,
        })
    }

    pub fn width(&self) -> Decimal {
        self.high_strike - self.low_strike
    }

    /// (long strike, short strike) as the kind defines them.
    pub fn strikes(&self) -> (Decimal, Decimal) {
        if self.kind.long_is_low_strike() {
            (self.low_strike, self.high_strike)
        } else {
            (self.high_strike, self.low_strike)
        }
    }

    pub fn max_profit(&self) -> Decimal {
        if self.kind.is_debit() {
            self.width() - self.net
        } else {
            self.net
        }
    }

    pub fn max_loss(&self) -> Decimal {
        if self.kind.is_debit() {
            self.net
        } else {
            self.width() - self.net
        }
    }

    /// Where the spread breaks even at expiry (calls: low strike + net;
    /// puts: high strike - net).
    pub fn breakeven(&self) -> Decimal {
        match self.kind {
            SpreadKind::BullCall | SpreadKind::BearCall => self.low_strike + self.net,
            SpreadKind::BearPut | SpreadKind::BullPut => self.high_strike - self.net,
        }
    }

    /// Value per share at expiry with the underlying at `price`, from the
    /// holder's side (what closing would pay for a debit spread, or cost for
    /// a credit spread, as a positive number).
    pub fn value_at_expiry(&self, price: Decimal) -> Decimal {
        match self.kind.right() {
            crate::Right::Call => (price - self.low_strike).clamp(Decimal::ZERO, self.width()),
            crate::Right::Put => (self.high_strike - price).clamp(Decimal::ZERO, self.width()),
        }
    }

    /// P&L per share at expiry with the underlying at `price`.
    pub fn pnl_at_expiry(&self, price: Decimal) -> Decimal {
        let v = self.value_at_expiry(price);
        if self.kind.is_debit() {
            v - self.net
        } else {
            self.net - v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn bull_call_and_bull_put_match_the_spec() {
        let bc = SpreadEconomics::new(SpreadKind::BullCall, d("100"), d("105"), d("2.10")).unwrap();
        assert_eq!(
            (bc.max_profit(), bc.max_loss(), bc.breakeven()),
            (d("2.90"), d("2.10"), d("102.10"))
        );
        assert_eq!(bc.strikes(), (d("100"), d("105")));
        let bp = SpreadEconomics::new(SpreadKind::BullPut, d("95"), d("100"), d("1.50")).unwrap();
        assert_eq!(
            (bp.max_profit(), bp.max_loss(), bp.breakeven()),
            (d("1.50"), d("3.50"), d("98.50"))
        );
        assert_eq!(bp.strikes(), (d("95"), d("100")));
        assert!(SpreadEconomics::new(SpreadKind::BullCall, d("105"), d("100"), d("1")).is_err());
        assert!(SpreadEconomics::new(SpreadKind::BullCall, d("100"), d("105"), d("5")).is_err());
    }

    proptest! {
        #[test]
        fn profit_plus_loss_is_the_width_and_pnl_is_bounded(
            low in 1i64..500, width in 1i64..20, net_frac in 1i64..99, price in 0i64..600, k in 0usize..4
        ) {
            let kind = SpreadKind::ALL[k];
            let (low, width) = (Decimal::new(low, 0), Decimal::new(width, 0));
            let net = width * Decimal::new(net_frac, 2);
            let s = SpreadEconomics::new(kind, low, low + width, net).unwrap();
            prop_assert_eq!(s.max_profit() + s.max_loss(), width);
            let pnl = s.pnl_at_expiry(Decimal::new(price, 0));
            prop_assert!(pnl <= s.max_profit() && pnl >= -s.max_loss());
            prop_assert_eq!(s.pnl_at_expiry(s.breakeven()), Decimal::ZERO);
        }
    }
}
