//! Prices an order can fill at: resolving an order's legs, the natural price
//! on each side, and how a combo price is split across legs. See the fill
//! model in the [module docs](super).

use rust_decimal::Decimal;

use super::{Action, OrderContract};
use crate::account::Side;
use crate::market::{Contract, Market, Quote};

/// One leg of an order, resolved to its contract.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLeg {
    pub contract: Contract,
    pub ratio: Decimal,
    /// The leg's action as the combo defines it.
    pub action: Action,
}

impl ResolvedLeg {
    /// +1 for legs the combo buys, −1 for legs it sells.
    pub fn sign(&self) -> Decimal {
        match self.action {
            Action::Buy => Decimal::ONE,
            Action::Sell => Decimal::NEGATIVE_ONE,
        }
    }

    /// What the account does on this leg when the order has `order_action`.
    pub fn side(&self, order_action: Action) -> Side {
        if self.action == order_action {
            Side::Bought
        } else {
            Side::Sold
        }
    }
}

/// Resolves an order's contract into legs; `Err(con_id)` names a conId the
/// market does not know.
pub fn resolve(market: &Market, contract: &OrderContract) -> Result<Vec<ResolvedLeg>, i32> {
    match contract {
        OrderContract::Single { con_id } => {
            let c = market.contract_by_con_id(*con_id).ok_or(*con_id)?;
            Ok(vec![ResolvedLeg {
                contract: c,
                ratio: Decimal::ONE,
                action: Action::Buy,
            }])
        }
        OrderContract::Combo { legs, .. } => legs
            .iter()
            .map(|l| {
                let c = market.contract_by_con_id(l.con_id).ok_or(l.con_id)?;
                Ok(ResolvedLeg {
                    contract: c,
                    ratio: Decimal::from(l.ratio),
                    action: l.action,
                })
            })
            .collect(),
    }
}

/// Per-leg prices and the net combo price of one potential fill.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    /// Price per unit of each leg, in leg order.
    pub leg_prices: Vec<Decimal>,
    /// `Σ sign × ratio × leg price` (the combo's price as defined).
    pub net: Decimal,
}

fn net_of(legs: &[ResolvedLeg], prices: &[Decimal]) -> Decimal {
    legs.iter()
        .zip(prices)
        .map(|(l, p)| l.sign() * l.ratio * *p)
        .sum()
}

/// Quotes for every leg (None if any leg has no quote).
pub fn quotes(market: &Market, legs: &[ResolvedLeg]) -> Option<Vec<Quote>> {
    legs.iter()
        .map(|l| market.quote(l.contract.con_id()))
        .collect()
}

/// The natural price for an order with `action`: what a BUY pays now
/// (bought legs at the ask, sold legs at the bid) or what a SELL receives
/// (its bought legs at the ask, sold legs at the bid, after reversal).
/// `None` when a leg the order must sell has no bid or a leg it must buy no ask.
pub fn natural(legs: &[ResolvedLeg], quotes: &[Quote], action: Action) -> Option<Pricing> {
    let prices: Option<Vec<Decimal>> = legs
        .iter()
        .zip(quotes)
        .map(|(l, q)| match l.side(action) {
            Side::Bought => q.ask,
            Side::Sold => q.bid,
        })
        .collect();
    let prices = prices?;
    Some(Pricing {
        net: net_of(legs, &prices),
        leg_prices: prices,
    })
}

/// Leg prices that sum to `limit`: mids to the cent, with the difference
/// put on the first leg(s) that can absorb it without going negative.
pub fn at_limit(legs: &[ResolvedLeg], quotes: &[Quote], limit: Decimal) -> Pricing {
    let cent = Decimal::new(1, 2);
    let mut prices: Vec<Decimal> = quotes
        .iter()
        .map(|q| q.mark().unwrap_or(Decimal::ZERO).round_dp(2))
        .collect();
    for i in 0..legs.len() {
        let diff = limit - net_of(legs, &prices);
        if diff.is_zero() {
            break;
        }
        let per_unit = (diff / (legs[i].sign() * legs[i].ratio) / cent).round() * cent;
        prices[i] = (prices[i] + per_unit).max(Decimal::ZERO);
    }
    Pricing {
        net: net_of(legs, &prices),
        leg_prices: prices,
    }
}

/// How far `limit` sits from the far side toward the natural, in `[0, 1]`
/// when between them: 0 at the far side, 1 at the natural. `None` if
/// either side is missing or they coincide.
pub fn aggressiveness(
    legs: &[ResolvedLeg],
    quotes: &[Quote],
    action: Action,
    limit: Decimal,
) -> Option<Decimal> {
    let near = natural(legs, quotes, action)?.net;
    let far = natural(legs, quotes, action.reversed())?.net;
    if near == far {
        return None;
    }
    Some((limit - far) / (near - far))
}
