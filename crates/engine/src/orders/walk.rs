//! The prices an entry or exit is offered at: the combo mid first, then
//! steps toward the natural price, never conceding more than
//! `[execution] max_slippage_pct` of the mid-to-natural distance.
//!
//! With mid `m`, natural `n` (both as the amount paid for a debit or
//! received for a credit), `s = max_walk_steps` and `p = max_slippage_pct`,
//! step `k` (1..=s) concedes `|n - m| x p / 100 x k / s`: a debit pays
//! `m` plus it, a credit receives `m` less it. Every price is put on the
//! tick grid in the trader's favour (a debit rounded down, a credit up), so
//! rounding never concedes more than the rule allows. A step can be priced
//! again from the market of its moment ([`step_price`]), which is how the
//! trader follows a market that moves during the walk.

use std::time::Duration;

use rust_decimal::Decimal;
use vspread_core::NetPrice;
use vspread_core::config::ExecutionConfig;
use vspread_core::{Price, Tick, TickRounding};

use super::driver::PriceWalk;

/// Why no walk can be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WalkError {
    #[error("mid {mid:?} and natural {natural:?} are not both debits or both credits")]
    MixedSides { mid: NetPrice, natural: NetPrice },
    #[error("the mid {0} rounds to no positive price on the tick grid")]
    NoPositivePrice(Decimal),
}

fn parts(p: NetPrice) -> (bool, Decimal) {
    match p {
        NetPrice::Debit(d) => (true, d),
        NetPrice::Credit(c) => (false, c),
    }
}

/// Step `k` of the walk from `mid` toward `natural` (0 is the mid itself),
/// on the tick grid in the trader's favour; `None` when the two are not on
/// the same side or the price would not be positive.
pub fn step_price(
    mid: NetPrice,
    natural: NetPrice,
    tick: Tick,
    execution: &ExecutionConfig,
    k: usize,
) -> Option<NetPrice> {
    let ((debit, m), (natural_debit, n)) = (parts(mid), parts(natural));
    if debit != natural_debit {
        return None;
    }
    // A debit concedes by paying more, a credit by receiving less; a
    // natural on the good side of the mid leaves nothing to concede.
    let distance = if debit { n - m } else { m - n }.max(Decimal::ZERO);
    let pct = Decimal::try_from(execution.max_slippage_pct).unwrap_or(Decimal::ZERO);
    let steps = execution.max_walk_steps.max(0);
    let concession = if steps == 0 {
        Decimal::ZERO
    } else {
        let k = Decimal::from(u32::try_from(k).unwrap_or(u32::MAX).min(steps as u32));
        distance * pct / Decimal::ONE_HUNDRED * k / Decimal::from(steps)
    };
    let favour = if debit {
        TickRounding::Down
    } else {
        TickRounding::Up
    };
    let amount = Price::new(if debit {
        m + concession
    } else {
        m - concession
    })
    .round_to(tick, favour)
    .value();
    (amount > Decimal::ZERO).then_some(if debit {
        NetPrice::Debit(amount)
    } else {
        NetPrice::Credit(amount)
    })
}

/// `price`, or `bound` if `price` concedes more: a debit never pays above
/// the bound, a credit never receives below it. A walk re-priced from a
/// moving market keeps the planned walk's last price as its bound, so the
/// slippage limit holds against the mid the decision was made at.
pub fn no_worse_than(price: NetPrice, bound: NetPrice) -> NetPrice {
    match (price, bound) {
        (NetPrice::Debit(p), NetPrice::Debit(b)) => NetPrice::Debit(p.min(b)),
        (NetPrice::Credit(p), NetPrice::Credit(b)) => NetPrice::Credit(p.max(b)),
        // Sides differ only if the market flipped the spread's sign: the
        // planned bound is the only safe price.
        _ => bound,
    }
}

/// The walk for one order as planned from `mid` and `natural` now: one
/// price per step (`max_walk_steps + 1` of them; neighbours may be equal
/// on a coarse grid), with `[execution]`'s interval and timeout.
pub fn price_walk(
    mid: NetPrice,
    natural: NetPrice,
    tick: Tick,
    execution: &ExecutionConfig,
) -> Result<PriceWalk, WalkError> {
    if parts(mid).0 != parts(natural).0 {
        return Err(WalkError::MixedSides { mid, natural });
    }
    let steps = usize::try_from(execution.max_walk_steps.max(0)).unwrap_or(0);
    let prices: Vec<NetPrice> = (0..=steps)
        .map(|k| step_price(mid, natural, tick, execution, k))
        .collect::<Option<_>>()
        .ok_or(WalkError::NoPositivePrice(parts(mid).1))?;
    Ok(PriceWalk {
        prices,
        interval: Duration::from_secs_f64(execution.walk_interval_s.max(0.001)),
        timeout: Duration::from_secs_f64(execution.order_timeout_s.max(0.001)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn amounts(walk: &PriceWalk) -> Vec<Decimal> {
        walk.prices.iter().map(|p| parts(*p).1).collect()
    }

    #[test]
    fn a_debit_walks_up_from_the_mid_to_its_slippage_bound() {
        // Mid 1.00, natural 1.20, 60% of 0.20 = 0.12 over 5 steps:
        // +0.024 each -> 1.024, 1.048, 1.072, 1.096, 1.12, rounded down.
        let e = ExecutionConfig::default();
        let walk = price_walk(
            NetPrice::Debit(d("1.00")),
            NetPrice::Debit(d("1.20")),
            Tick::PENNY,
            &e,
        )
        .unwrap();
        assert_eq!(
            amounts(&walk),
            vec![
                d("1.00"),
                d("1.02"),
                d("1.04"),
                d("1.07"),
                d("1.09"),
                d("1.12")
            ]
        );
        assert!(walk.prices.iter().all(|p| matches!(p, NetPrice::Debit(_))));
        assert_eq!(walk.interval, Duration::from_secs(10));
        assert_eq!(walk.timeout, Duration::from_secs(120));
    }

    #[test]
    fn a_credit_walks_down_and_rounds_up() {
        // Mid credit 0.835 (rounds up to 0.84), natural 0.70: 60% of 0.135
        // = 0.081 over 3 steps: 0.808, 0.781, 0.754 -> up: 0.81, 0.79, 0.76.
        let e = ExecutionConfig {
            max_walk_steps: 3,
            ..ExecutionConfig::default()
        };
        let walk = price_walk(
            NetPrice::Credit(d("0.835")),
            NetPrice::Credit(d("0.70")),
            Tick::PENNY,
            &e,
        )
        .unwrap();
        assert_eq!(
            amounts(&walk),
            vec![d("0.84"), d("0.81"), d("0.79"), d("0.76")]
        );
    }

    #[test]
    fn steps_that_round_alike_repeat_and_no_room_means_one_price() {
        let e = ExecutionConfig::default();
        // 0.03 of room on a nickel grid: every step rounds down to 2.00.
        let walk = price_walk(
            NetPrice::Debit(d("2.00")),
            NetPrice::Debit(d("2.05")),
            Tick::NICKEL,
            &e,
        )
        .unwrap();
        assert_eq!(amounts(&walk), vec![d("2.00"); 6]);
        // A natural better than the mid: nothing to concede.
        let walk = price_walk(
            NetPrice::Debit(d("2.00")),
            NetPrice::Debit(d("1.90")),
            Tick::PENNY,
            &e,
        )
        .unwrap();
        assert_eq!(amounts(&walk), vec![d("2.00"); 6]);
        // Step k alone, as the trader re-prices it from a fresh market.
        let e = ExecutionConfig::default();
        assert_eq!(
            step_price(
                NetPrice::Debit(d("1.00")),
                NetPrice::Debit(d("1.20")),
                Tick::PENNY,
                &e,
                3
            ),
            Some(NetPrice::Debit(d("1.07")))
        );
        assert_eq!(
            step_price(
                NetPrice::Debit(d("1.00")),
                NetPrice::Debit(d("1.20")),
                Tick::PENNY,
                &e,
                99
            ),
            Some(NetPrice::Debit(d("1.12"))),
            "steps past the last stay at the bound"
        );
    }

    #[test]
    fn mixed_sides_and_vanishing_prices_are_refused() {
        let e = ExecutionConfig::default();
        assert!(matches!(
            price_walk(
                NetPrice::Debit(d("1")),
                NetPrice::Credit(d("1")),
                Tick::PENNY,
                &e
            ),
            Err(WalkError::MixedSides { .. })
        ));
        assert_eq!(
            price_walk(
                NetPrice::Debit(d("0.004")),
                NetPrice::Debit(d("0.05")),
                Tick::PENNY,
                &e
            ),
            Err(WalkError::NoPositivePrice(d("0.004")))
        );
    }

    proptest! {
        /// Every walk starts at the rounded mid, moves monotonically toward
        /// the natural, stays on the grid and never concedes past the bound.
        #[test]
        fn walks_are_monotone_on_grid_and_bounded(
            mid_cents in 5i64..5000,
            room_cents in 0i64..500,
            steps in 0i64..50,
            pct in 0.0f64..100.0,
            debit in any::<bool>(),
        ) {
            let e = ExecutionConfig { max_walk_steps: steps, max_slippage_pct: pct, ..ExecutionConfig::default() };
            let m = Decimal::new(mid_cents, 2);
            let room = Decimal::new(room_cents, 2);
            let (mid, natural) = if debit {
                (NetPrice::Debit(m), NetPrice::Debit(m + room))
            } else {
                (NetPrice::Credit(m), NetPrice::Credit((m - room).max(Decimal::ZERO)))
            };
            let walk = price_walk(mid, natural, Tick::PENNY, &e).unwrap();
            let a = amounts(&walk);
            prop_assert_eq!(a[0], m);
            prop_assert_eq!(a.len() as i64, steps + 1);
            let distance = if debit { room } else { room.min(m) };
            let bound = distance * Decimal::try_from(pct).unwrap() / Decimal::ONE_HUNDRED;
            for w in a.windows(2) {
                if debit { prop_assert!(w[1] >= w[0]) } else { prop_assert!(w[1] <= w[0]) }
            }
            for x in &a {
                prop_assert!(Price::new(*x).is_on_tick(Tick::PENNY));
                prop_assert!(*x > Decimal::ZERO);
                let conceded = if debit { *x - m } else { m - *x };
                prop_assert!(conceded <= bound + Decimal::new(1, 12), "{} > {}", conceded, bound);
            }
        }
    }
}
