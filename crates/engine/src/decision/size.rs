//! Stage 5: how many spreads, from NetLiquidation and the spread's max
//! loss at a mid.

use rust_decimal::Decimal;
use vspread_core::config::Config;
use vspread_core::{NetPrice, VerticalSpread};

use crate::risk::{self, Refusal};

/// The size of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizing {
    pub quantity: u32,
    /// Max loss of one spread at the mid it was sized at, in money.
    pub max_loss: Decimal,
}

/// Max loss of one spread opened at `mid`: the debit paid, or the width
/// less the credit received, times the multiplier.
pub fn max_loss_per_contract(spread: &VerticalSpread, mid: NetPrice) -> Decimal {
    let per_share = match mid {
        NetPrice::Debit(d) => d,
        NetPrice::Credit(c) => spread.width().value() - c,
    };
    per_share * Decimal::from(spread.multiplier())
}

/// Contracts for `spread` at `mid`, never above `cap` (what a preview
/// already cleared).
pub fn size(
    config: &Config,
    net_liquidation: Decimal,
    spread: &VerticalSpread,
    mid: NetPrice,
    cap: Option<u32>,
) -> Result<Sizing, Refusal> {
    let max_loss = max_loss_per_contract(spread, mid);
    let quantity = risk::size(config, net_liquidation, max_loss)?;
    Ok(Sizing {
        quantity: cap.map_or(quantity, |c| quantity.min(c)),
        max_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use vspread_core::{OptionContract, SpreadKind};

    fn spread(kind: SpreadKind) -> VerticalSpread {
        let leg = |strike: &str| {
            OptionContract::builder()
                .underlying("QQQ")
                .expiry(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap())
                .strike(strike.parse().unwrap())
                .right(kind.right())
                .build()
                .unwrap()
        };
        VerticalSpread::from_strikes(kind, leg("500"), leg("505")).unwrap()
    }

    #[test]
    fn max_loss_is_the_debit_or_the_width_less_the_credit() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            max_loss_per_contract(&spread(SpreadKind::BullCall), NetPrice::Debit(d("2.10"))),
            d("210")
        );
        assert_eq!(
            max_loss_per_contract(&spread(SpreadKind::BullPut), NetPrice::Credit(d("1.40"))),
            d("360")
        );
    }

    #[test]
    fn a_preview_caps_the_size() {
        let mut config = Config::default();
        config.trading.risk_per_trade_pct = 2.0;
        config.trading.max_contracts_per_trade = 50;
        config.risk.max_order_value = 1e9;
        let s = spread(SpreadKind::BullCall);
        let mid = NetPrice::Debit(Decimal::from(2));
        // 2% of 100,000 over 200 per spread.
        let free = size(&config, Decimal::from(100_000), &s, mid, None).unwrap();
        assert_eq!(free.quantity, 10);
        let capped = size(&config, Decimal::from(100_000), &s, mid, Some(4)).unwrap();
        assert_eq!(capped.quantity, 4);
    }
}
