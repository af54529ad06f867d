//! Matching, commissions, what-if, cancels and rejects, run against a real
//! market.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::Right;

use super::*;
use crate::market::{Market, MarketConfig, OptionContract};

/// Monday 2026-11-23 10:00 New York.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn setup(seed: u64) -> (Market, Venue) {
    let m = Market::new(MarketConfig {
        seed,
        start: start(),
        always_open: false,
    });
    (m, Venue::new(VenueConfig::new(seed)))
}

fn expiry(m: &Market, symbol: &str, days: i64) -> NaiveDate {
    let target = m.trading_date() + Duration::days(days);
    m.expiries(symbol)
        .into_iter()
        .min_by_key(|e| (*e - target).num_days().abs())
        .unwrap()
}

/// The listed option nearest `moneyness × spot`.
fn option(m: &Market, symbol: &str, e: NaiveDate, right: Right, moneyness: f64) -> OptionContract {
    let target = m.spot(symbol).unwrap() * moneyness;
    let k = m
        .strikes(symbol, e)
        .into_iter()
        .min_by_key(|k| ((k.to_f64().unwrap() - target).abs() * 1000.0) as i64)
        .unwrap();
    m.find_option(symbol, e, k, right).unwrap()
}

fn combo(legs: &[(&OptionContract, Action)]) -> OrderContract {
    OrderContract::Combo {
        symbol: legs[0].0.symbol.clone(),
        legs: legs
            .iter()
            .map(|(c, a)| ComboLeg {
                con_id: c.con_id,
                ratio: 1,
                action: *a,
            })
            .collect(),
    }
}

fn request(
    order_id: i32,
    contract: OrderContract,
    action: Action,
    qty: i64,
    limit: Decimal,
) -> OrderRequest {
    OrderRequest {
        client_id: 7,
        order_id,
        contract,
        action,
        quantity: Decimal::from(qty),
        order_type: OrderType::Limit,
        limit_price: Some(limit),
        tif: TimeInForce::Day,
        order_ref: format!("ref-{order_id}"),
        account: "DU1234567".to_string(),
    }
}

/// Natural BUY price of a combo now.
fn natural_buy(m: &Market, legs: &[(&OptionContract, Action)]) -> Decimal {
    legs.iter()
        .map(|(c, a)| {
            let q = m.quote(c.con_id).unwrap();
            match a {
                Action::Buy => q.ask.unwrap(),
                Action::Sell => -q.bid.unwrap(),
            }
        })
        .sum()
}

fn executions(events: &[OrderEvent]) -> Vec<&Execution> {
    events
        .iter()
        .filter_map(|e| match e {
            OrderEvent::Execution(x) => Some(x),
            _ => None,
        })
        .collect()
}

fn last_status(events: &[OrderEvent]) -> &Order {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            OrderEvent::Status(o) => Some(o),
            _ => None,
        })
        .unwrap()
}

#[test]
fn marketable_debit_combo_fills_at_the_natural() {
    let (m, mut v) = setup(1);
    let e = expiry(&m, "AAPL", 30);
    let long = option(&m, "AAPL", e, Right::Call, 1.0);
    let short = option(&m, "AAPL", e, Right::Call, 1.05);
    let legs = [(&long, Action::Buy), (&short, Action::Sell)];
    let nat = natural_buy(&m, &legs);
    assert!(nat > Decimal::ZERO);
    let events = v
        .place(
            &m,
            request(1, combo(&legs), Action::Buy, 1, nat + Decimal::new(10, 2)),
            m.now(),
        )
        .unwrap();
    let order = last_status(&events);
    assert_eq!(order.status, OrderStatus::Filled);
    assert_eq!(
        order.avg_fill_price, nat,
        "filled at the natural, better than the limit"
    );
    let execs = executions(&events);
    assert_eq!(execs.len(), 3, "two legs and the BAG");
    assert_eq!(execs[0].side, crate::account::Side::Bought);
    assert_eq!(execs[0].price, m.quote(long.con_id).unwrap().ask.unwrap());
    assert_eq!(execs[1].side, crate::account::Side::Sold);
    assert_eq!(execs[1].price, m.quote(short.con_id).unwrap().bid.unwrap());
    assert_eq!(execs[2].scope, ExecutionScope::Combo);
    assert_eq!(execs[2].price, nat);
    let commission: Decimal = execs.iter().map(|x| x.commission).sum();
    assert_eq!(commission, Decimal::new(130, 2));
    let acct = v.account();
    assert_eq!(
        acct.cash,
        Decimal::from(100_000) - nat * Decimal::from(100) - Decimal::new(130, 2)
    );
    assert_eq!(acct.positions[&long.con_id].quantity, Decimal::ONE);
    assert_eq!(
        acct.positions[&short.con_id].quantity,
        Decimal::NEGATIVE_ONE
    );
    assert!(
        execs
            .iter()
            .all(|x| x.order_ref == "ref-1" && x.client_id == 7)
    );
    let ids: std::collections::HashSet<_> = execs.iter().map(|x| &x.exec_id).collect();
    assert_eq!(ids.len(), 3, "exec ids unique");
}

#[test]
fn credit_combo_with_negative_limit_receives_the_credit() {
    let (m, mut v) = setup(2);
    let e = expiry(&m, "SPY", 30);
    let short = option(&m, "SPY", e, Right::Put, 0.97);
    let long = option(&m, "SPY", e, Right::Put, 0.94);
    let legs = [(&long, Action::Buy), (&short, Action::Sell)];
    let nat = natural_buy(&m, &legs);
    assert!(nat < Decimal::ZERO, "a credit: {nat}");
    // Asking for a bigger credit than the natural rests; the natural fills.
    let greedy = v
        .place(
            &m,
            request(1, combo(&legs), Action::Buy, 1, nat - Decimal::new(50, 2)),
            m.now(),
        )
        .unwrap();
    assert_eq!(last_status(&greedy).status, OrderStatus::Submitted);
    let events = v
        .place(&m, request(2, combo(&legs), Action::Buy, 1, nat), m.now())
        .unwrap();
    assert_eq!(last_status(&events).status, OrderStatus::Filled);
    assert_eq!(
        v.account().cash,
        Decimal::from(100_000) - nat * Decimal::from(100) - Decimal::new(130, 2)
    );
    assert!(v.account().cash > Decimal::from(100_000));
}

#[test]
fn resting_order_fills_when_the_market_moves_through_it() {
    let (mut m, mut v) = setup(3);
    let e = expiry(&m, "TSLA", 10);
    let call = option(&m, "TSLA", e, Right::Call, 1.0);
    // Below the bid (beyond the far side): no resting fill, only the
    // market moving through the limit fills it.
    let bid = m.quote(call.con_id).unwrap().bid.unwrap() - Decimal::new(50, 2);
    let events = v
        .place(
            &m,
            request(
                1,
                OrderContract::Single {
                    con_id: call.con_id,
                },
                Action::Buy,
                1,
                bid,
            ),
            m.now(),
        )
        .unwrap();
    assert_eq!(last_status(&events).status, OrderStatus::Submitted);
    assert!(executions(&events).is_empty());
    let mut t = m.now();
    let mut fill = None;
    for _ in 0..(2 * 390) {
        t += Duration::minutes(1);
        m.advance_to(t);
        let ev = v.on_tick(&m, t);
        if let Some(x) = executions(&ev).first() {
            fill = Some(((*x).clone(), m.quote(call.con_id).unwrap()));
            break;
        }
    }
    let (exec, quote) = fill.expect("the order fills once the market comes down to it");
    assert!(exec.price <= bid, "{} > limit {}", exec.price, bid);
    // Only once the market came to the limit: the bid at or below it (a
    // resting fill inside the spread) or the ask too (a marketable one).
    assert!(quote.bid.unwrap_or(Decimal::ZERO) <= bid, "{quote:?}");
    if exec.last_liquidity == 2 {
        assert!(quote.ask.unwrap() <= bid, "{quote:?}");
    }
    assert_eq!(v.order(7, 1).unwrap().status, OrderStatus::Filled);
}

#[test]
fn multi_contract_orders_fill_in_parts_that_sum_to_the_quantity() {
    let (mut m, mut v) = setup(4);
    let e = expiry(&m, "NVDA", 30);
    let long = option(&m, "NVDA", e, Right::Put, 0.95);
    let short = option(&m, "NVDA", e, Right::Put, 1.0);
    let legs = [(&long, Action::Sell), (&short, Action::Buy)];
    // Bear put debit spread: buy the higher put, sell the lower, limit far through the market.
    let nat = natural_buy(&m, &legs);
    let mut events = v
        .place(
            &m,
            request(5, combo(&legs), Action::Buy, 12, nat + Decimal::ONE),
            m.now(),
        )
        .unwrap();
    let mut t = m.now();
    while v.order(7, 5).unwrap().status != OrderStatus::Filled {
        t += Duration::seconds(1);
        m.advance_to(t);
        events.extend(v.on_tick(&m, t));
        assert!(t < start() + Duration::minutes(5), "fills too slow");
    }
    let execs = executions(&events);
    let per_leg = |con_id: i32| -> Decimal {
        execs
            .iter()
            .filter(|x| x.con_id == con_id)
            .map(|x| x.shares)
            .sum()
    };
    assert_eq!(per_leg(long.con_id), Decimal::from(12));
    assert_eq!(per_leg(short.con_id), Decimal::from(12));
    let bag_fills = execs
        .iter()
        .filter(|x| x.scope == ExecutionScope::Combo)
        .count();
    assert!(bag_fills > 1, "expected partial fills, got {bag_fills}");
    assert!(
        execs
            .iter()
            .filter(|x| x.scope == ExecutionScope::Combo)
            .all(|x| x.shares <= Decimal::from(5))
    );
    let commission: Decimal = execs.iter().map(|x| x.commission).sum();
    assert_eq!(commission, Decimal::new(65, 2) * Decimal::from(24));
    let order = v.order(7, 5).unwrap();
    assert_eq!(order.filled, Decimal::from(12));
    assert_eq!(order.remaining, Decimal::ZERO);
    let last_bag = execs
        .iter()
        .rfind(|x| x.scope == ExecutionScope::Combo)
        .unwrap();
    assert_eq!(last_bag.cum_qty, Decimal::from(12));
    assert_eq!(last_bag.avg_price, order.avg_fill_price);
    assert_eq!(
        v.account().positions[&short.con_id].quantity,
        Decimal::from(12)
    );
}

#[test]
fn forced_partial_fills_take_one_combo_at_a_time() {
    let (mut m, mut v) = setup(5);
    v.force_partial_fills(Some(1));
    let e = expiry(&m, "QQQ", 20);
    let c = option(&m, "QQQ", e, Right::Call, 1.0);
    let ask = m.quote(c.con_id).unwrap().ask.unwrap();
    let events = v
        .place(
            &m,
            request(
                1,
                OrderContract::Single { con_id: c.con_id },
                Action::Buy,
                3,
                ask + Decimal::ONE,
            ),
            m.now(),
        )
        .unwrap();
    assert_eq!(last_status(&events).filled, Decimal::ONE);
    assert_eq!(last_status(&events).status, OrderStatus::Submitted);
    let mut t = m.now();
    for _ in 0..2 {
        t += Duration::seconds(1);
        m.advance_to(t);
        let ev = v.on_tick(&m, t);
        assert_eq!(executions(&ev).len(), 1);
    }
    assert_eq!(v.order(7, 1).unwrap().status, OrderStatus::Filled);
}

#[test]
fn what_if_margin_is_the_max_loss_of_a_vertical() {
    let (m, v) = setup(6);
    let e = expiry(&m, "AAPL", 30);
    let k1 = option(&m, "AAPL", e, Right::Call, 1.0);
    let k2 = option(&m, "AAPL", e, Right::Call, 1.05);
    let width = k2.strike - k1.strike;
    assert!(width > Decimal::ZERO);
    // Debit (bull call), 3 lots at 2.50: max loss 750.
    let debit = [(&k1, Action::Buy), (&k2, Action::Sell)];
    let w = v
        .what_if(
            &m,
            &request(1, combo(&debit), Action::Buy, 3, Decimal::new(250, 2)),
        )
        .unwrap();
    assert_eq!(w.init_margin_before, Decimal::ZERO);
    assert_eq!(w.init_margin_change, Decimal::from(750));
    assert_eq!(w.init_margin_after, Decimal::from(750));
    assert_eq!(w.maint_margin_change, Decimal::from(750));
    assert_eq!(w.commission, Decimal::new(65, 2) * Decimal::from(6));
    assert_eq!(
        w.equity_with_loan_before,
        Decimal::from(100_000) + Decimal::ZERO
    );
    // Credit (bear call) as BUY at a negative price: receive 1.20, 2 lots.
    let credit = [(&k2, Action::Buy), (&k1, Action::Sell)];
    let w = v
        .what_if(
            &m,
            &request(2, combo(&credit), Action::Buy, 2, Decimal::new(-120, 2)),
        )
        .unwrap();
    let expected = width * Decimal::from(200) - Decimal::new(120, 2) * Decimal::from(200);
    assert_eq!(w.init_margin_change, expected);
    // The same credit as a SELL of the debit-ordered legs at a positive price.
    let w2 = v
        .what_if(
            &m,
            &request(3, combo(&debit), Action::Sell, 2, Decimal::new(120, 2)),
        )
        .unwrap();
    assert_eq!(w2.init_margin_change, expected);
    // What-if places nothing.
    assert!(v.orders().is_empty());
    assert_eq!(w.status, OrderStatus::PreSubmitted);
}

#[test]
fn account_values_follow_fills_and_marks() {
    let (mut m, mut v) = setup(7);
    let start_values = v.values(&m);
    assert_eq!(start_values.net_liquidation, Decimal::from(100_000));
    assert_eq!(start_values.available_funds, Decimal::from(100_000));
    assert_eq!(start_values.buying_power, Decimal::from(400_000));
    let e = expiry(&m, "MSFT", 30);
    let c = option(&m, "MSFT", e, Right::Call, 1.0);
    let q = m.quote(c.con_id).unwrap();
    let ask = q.ask.unwrap();
    v.place(
        &m,
        request(
            1,
            OrderContract::Single { con_id: c.con_id },
            Action::Buy,
            2,
            ask,
        ),
        m.now(),
    )
    .unwrap();
    let after = v.values(&m);
    let mid = q.mark().unwrap();
    let spread_cost = (ask - mid) * Decimal::from(200);
    assert_eq!(
        after.net_liquidation,
        Decimal::from(100_000) - spread_cost - Decimal::new(130, 2)
    );
    assert_eq!(
        after.init_margin_req,
        ask * Decimal::from(200),
        "a long option requires its premium"
    );
    assert_eq!(
        after.available_funds,
        after.net_liquidation - after.init_margin_req
    );
    assert_eq!(after.gross_position_value, mid * Decimal::from(200));
    let item = &v.portfolio(&m)[0];
    assert_eq!(
        item.average_cost,
        ask * Decimal::from(100) + Decimal::new(65, 2)
    );
    assert_eq!(item.unrealized_pnl, after.unrealized_pnl);
    // Marks move with the market; cash does not.
    m.advance_to(m.now() + Duration::hours(3));
    let later = v.values(&m);
    let new_mark = m.quote(c.con_id).unwrap().mark().unwrap();
    assert_eq!(later.total_cash_value, after.total_cash_value);
    assert_eq!(
        later.net_liquidation,
        later.total_cash_value + new_mark * Decimal::from(200)
    );
    // Closing realises the P&L net of both commissions.
    let bid = m.quote(c.con_id).unwrap().bid.unwrap();
    v.place(
        &m,
        request(
            2,
            OrderContract::Single { con_id: c.con_id },
            Action::Sell,
            2,
            bid,
        ),
        m.now(),
    )
    .unwrap();
    assert!(v.account().positions.is_empty());
    let expected = (bid - ask) * Decimal::from(200) - Decimal::new(260, 2);
    assert_eq!(v.account().realized_pnl, expected);
    assert_eq!(v.account().cash, Decimal::from(100_000) + expected);
}

#[test]
fn cancels_and_global_cancel() {
    let (m, mut v) = setup(8);
    let e = expiry(&m, "IWM", 30);
    let c = option(&m, "IWM", e, Right::Put, 0.95);
    let low = Decimal::new(1, 2);
    v.place(
        &m,
        request(
            1,
            OrderContract::Single { con_id: c.con_id },
            Action::Buy,
            1,
            low,
        ),
        m.now(),
    )
    .unwrap();
    v.place(
        &m,
        request(
            2,
            OrderContract::Single { con_id: c.con_id },
            Action::Buy,
            1,
            low,
        ),
        m.now(),
    )
    .unwrap();
    v.place(
        &m,
        request(
            3,
            OrderContract::Single { con_id: c.con_id },
            Action::Buy,
            1,
            low,
        ),
        m.now(),
    )
    .unwrap();
    let ev = v.cancel(7, 1, m.now()).unwrap();
    assert_eq!(last_status(&ev).status, OrderStatus::Cancelled);
    assert_eq!(v.cancel(7, 1, m.now()).unwrap_err().code(), 161);
    assert_eq!(v.cancel(7, 99, m.now()).unwrap_err().code(), 135);
    assert_eq!(
        v.cancel(8, 2, m.now()).unwrap_err().code(),
        135,
        "another client's id"
    );
    let ev = v.cancel_all(m.now());
    assert_eq!(ev.len(), 2);
    assert_eq!(v.open_orders().count(), 0);
    assert_eq!(v.next_order_id(), 4);
}

#[test]
fn invalid_orders_are_rejected_with_ib_codes() {
    let (m, mut v) = setup(9);
    let e = expiry(&m, "AAPL", 30);
    let c = option(&m, "AAPL", e, Right::Call, 1.1);
    let single = OrderContract::Single { con_id: c.con_id };
    let price = Decimal::new(10, 2);
    let code = |r: Result<Vec<OrderEvent>, RejectReason>| r.unwrap_err().code();
    assert_eq!(
        code(v.place(
            &m,
            request(
                1,
                OrderContract::Single { con_id: 42 },
                Action::Buy,
                1,
                price
            ),
            m.now()
        )),
        200
    );
    assert_eq!(
        code(v.place(
            &m,
            request(1, single.clone(), Action::Buy, 0, price),
            m.now()
        )),
        201
    );
    assert_eq!(
        code(v.place(
            &m,
            request(1, single.clone(), Action::Buy, -2, price),
            m.now()
        )),
        201
    );
    assert_eq!(
        code(v.place(
            &m,
            request(1, single.clone(), Action::Buy, 1, Decimal::new(1234, 3)),
            m.now()
        )),
        110
    );
    // Above $3 an AAPL option ticks in 0.05.
    assert_eq!(
        code(v.place(
            &m,
            request(1, single.clone(), Action::Buy, 1, Decimal::new(502, 2)),
            m.now()
        )),
        110
    );
    let mut no_limit = request(1, single.clone(), Action::Buy, 1, price);
    no_limit.limit_price = None;
    assert_eq!(code(v.place(&m, no_limit, m.now())), 321);
    v.reject_next("simulated rejection");
    let err = v
        .place(
            &m,
            request(1, single.clone(), Action::Buy, 1, price),
            m.now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), 201);
    assert!(err.to_string().contains("simulated rejection"));
    // The hook fires once.
    let ok = v
        .place(
            &m,
            request(1, single.clone(), Action::Buy, 1, price),
            m.now(),
        )
        .unwrap();
    assert!(!ok.is_empty());
    // Too large for the account.
    let ask = m.quote(c.con_id).unwrap().ask.unwrap();
    assert_eq!(
        code(v.place(
            &m,
            request(2, single.clone(), Action::Buy, 10_000, ask),
            m.now()
        )),
        201
    );
    // A done order's id cannot be reused.
    v.cancel(7, 1, m.now()).unwrap();
    assert_eq!(
        code(v.place(&m, request(1, single, Action::Buy, 1, price), m.now())),
        103
    );
}

#[test]
fn placing_a_working_id_again_modifies_it() {
    let (m, mut v) = setup(10);
    let e = expiry(&m, "KO", 30);
    let c = option(&m, "KO", e, Right::Put, 0.95);
    let single = OrderContract::Single { con_id: c.con_id };
    v.place(
        &m,
        request(1, single.clone(), Action::Buy, 1, Decimal::new(1, 2)),
        m.now(),
    )
    .unwrap();
    let perm = v.order(7, 1).unwrap().perm_id;
    v.place(
        &m,
        request(1, single, Action::Buy, 4, Decimal::new(2, 2)),
        m.now(),
    )
    .unwrap();
    let o = v.order(7, 1).unwrap();
    assert_eq!(o.perm_id, perm);
    assert_eq!(o.remaining, Decimal::from(4));
    assert_eq!(o.request.limit_price, Some(Decimal::new(2, 2)));
    assert_eq!(v.orders().len(), 1);
}

#[test]
fn orders_wait_for_the_open_and_day_orders_end_at_the_close() {
    // Saturday: closed.
    let sat = Utc.with_ymd_and_hms(2026, 11, 21, 15, 0, 0).unwrap();
    let mut m = Market::new(MarketConfig {
        seed: 11,
        start: sat,
        always_open: false,
    });
    let mut v = Venue::new(VenueConfig::new(11));
    let e = expiry(&m, "SPY", 30);
    let c = option(&m, "SPY", e, Right::Call, 1.0);
    let ask = m.quote(c.con_id).unwrap().ask.unwrap();
    let ev = v
        .place(
            &m,
            request(
                1,
                OrderContract::Single { con_id: c.con_id },
                Action::Buy,
                1,
                ask + Decimal::ONE,
            ),
            sat,
        )
        .unwrap();
    assert_eq!(last_status(&ev).status, OrderStatus::PreSubmitted);
    let rest = v
        .place(
            &m,
            request(
                2,
                OrderContract::Single { con_id: c.con_id },
                Action::Buy,
                1,
                Decimal::new(1, 2),
            ),
            sat,
        )
        .unwrap();
    assert_eq!(last_status(&rest).status, OrderStatus::PreSubmitted);
    let monday_open = Utc.with_ymd_and_hms(2026, 11, 23, 14, 30, 0).unwrap();
    m.advance_to(monday_open);
    let ev = v.on_tick(&m, monday_open);
    assert_eq!(v.order(7, 1).unwrap().status, OrderStatus::Filled, "{ev:?}");
    assert_eq!(v.order(7, 2).unwrap().status, OrderStatus::Submitted);
    let after_close = Utc.with_ymd_and_hms(2026, 11, 23, 21, 0, 1).unwrap();
    m.advance_to(after_close);
    v.on_tick(&m, after_close);
    assert_eq!(v.order(7, 2).unwrap().status, OrderStatus::Cancelled);
}

#[test]
fn expiring_positions_settle_at_intrinsic() {
    let (mut m, mut v) = setup(12);
    let e = m.expiries("SPY")[0];
    let c = option(&m, "SPY", e, Right::Put, 1.0);
    let ask = m.quote(c.con_id).unwrap().ask.unwrap();
    v.place(
        &m,
        request(
            1,
            OrderContract::Single { con_id: c.con_id },
            Action::Buy,
            1,
            ask,
        ),
        m.now(),
    )
    .unwrap();
    let after = crate::market::calendar::session_close(e) + Duration::minutes(1);
    m.advance_to(after);
    let ev = v.on_tick(&m, after);
    let settled = ev.iter().find_map(|x| match x {
        OrderEvent::Expired { con_id, price, .. } => Some((*con_id, *price)),
        _ => None,
    });
    let (con_id, price) = settled.expect("expiry event");
    assert_eq!(con_id, c.con_id);
    let spot = crate::market::quote::dec(m.spot("SPY").unwrap()).round_dp(2);
    assert_eq!(price, (c.strike - spot).max(Decimal::ZERO));
    assert!(v.account().positions.is_empty());
}

#[test]
fn same_seed_same_requests_same_fills() {
    let run = || {
        let (mut m, mut v) = setup(13);
        let e = expiry(&m, "AMZN", 30);
        let a = option(&m, "AMZN", e, Right::Call, 1.0);
        let b = option(&m, "AMZN", e, Right::Call, 1.05);
        let legs = [(&a, Action::Buy), (&b, Action::Sell)];
        let nat = natural_buy(&m, &legs);
        let mut events = v
            .place(
                &m,
                request(1, combo(&legs), Action::Buy, 9, nat + Decimal::new(5, 2)),
                m.now(),
            )
            .unwrap();
        let mut t = m.now();
        for _ in 0..20 {
            t += Duration::seconds(1);
            m.advance_to(t);
            events.extend(v.on_tick(&m, t));
        }
        events
    };
    assert_eq!(run(), run());
}

#[test]
fn venue_state_round_trips_through_serde() {
    let (m, mut v) = setup(14);
    let e = expiry(&m, "META", 30);
    let a = option(&m, "META", e, Right::Put, 0.95);
    let b = option(&m, "META", e, Right::Put, 1.0);
    let legs = [(&a, Action::Sell), (&b, Action::Buy)];
    let nat = natural_buy(&m, &legs);
    v.place(&m, request(1, combo(&legs), Action::Buy, 1, nat), m.now())
        .unwrap();
    v.place(
        &m,
        request(2, combo(&legs), Action::Buy, 1, Decimal::new(1, 2)),
        m.now(),
    )
    .unwrap();
    let json = serde_json::to_string_pretty(&v).unwrap();
    let back: Venue = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v);
    assert_eq!(back.next_order_id(), 3);
    assert_eq!(back.open_orders().count(), 1);
    assert!(!back.executions().is_empty());
    assert!(!back.account().positions.is_empty());
}

#[test]
fn gtc_orders_outlive_the_session_and_always_open_keeps_day_orders() {
    let (mut m, mut v) = setup(15);
    let e = expiry(&m, "XOM", 60);
    let c = option(&m, "XOM", e, Right::Put, 0.9);
    let mut gtc = request(
        1,
        OrderContract::Single { con_id: c.con_id },
        Action::Buy,
        1,
        Decimal::new(1, 2),
    );
    gtc.tif = TimeInForce::GoodTillCancelled;
    v.place(&m, gtc, m.now()).unwrap();
    let next_day = start() + Duration::days(1);
    m.advance_to(next_day);
    v.on_tick(&m, next_day);
    assert_eq!(v.order(7, 1).unwrap().status, OrderStatus::Submitted);

    let mut m = Market::new(MarketConfig {
        seed: 15,
        start: start(),
        always_open: true,
    });
    let mut v = Venue::new(VenueConfig::new(15));
    v.place(
        &m,
        request(
            1,
            OrderContract::Single { con_id: c.con_id },
            Action::Buy,
            1,
            Decimal::new(1, 2),
        ),
        m.now(),
    )
    .unwrap();
    let late = start() + Duration::hours(10);
    m.advance_to(late);
    v.on_tick(&m, late);
    assert_eq!(v.order(7, 1).unwrap().status, OrderStatus::Submitted);
}

/// A bull call vertical on `symbol` about `days` out (long near the money,
/// short about 5% above).
fn bull_call(m: &Market, symbol: &str, days: i64) -> (OptionContract, OptionContract) {
    let e = expiry(m, symbol, days);
    (
        option(m, symbol, e, Right::Call, 1.0),
        option(m, symbol, e, Right::Call, 1.05),
    )
}

/// A BUY's far side: bought legs at the bid, sold legs at the ask.
fn far_buy(m: &Market, legs: &[(&OptionContract, Action)]) -> Decimal {
    legs.iter()
        .map(|(c, a)| {
            let q = m.quote(c.con_id).unwrap();
            match a {
                Action::Buy => q.bid.unwrap(),
                Action::Sell => -q.ask.unwrap(),
            }
        })
        .sum()
}

/// The width and liquidity factors of a combo at the market's quotes,
/// computed here from the quotes and the universe table.
fn factors(m: &Market, legs: &[(&OptionContract, Action)], model: &FillModel) -> f64 {
    let (mut width, mut mid) = (0.0, 0.0);
    for (c, _) in legs {
        let q = m.quote(c.con_id).unwrap();
        let (b, a) = (
            q.bid.unwrap().to_f64().unwrap(),
            q.ask.unwrap().to_f64().unwrap(),
        );
        width += a - b;
        mid += (a + b) / 2.0;
    }
    let symbol = &legs[0].0.symbol;
    let index = crate::market::instrument::universe_index(symbol).unwrap();
    let dollar_volume =
        m.spot(symbol).unwrap() * crate::market::instrument::UNIVERSE[index].avg_volume;
    model.width_factor(width / mid) * model.liquidity_factor(dollar_volume)
}

#[test]
fn resting_rate_is_the_models_at_the_far_side_the_mid_and_near_the_natural() {
    let (m, mut v) = setup(21);
    let model = v.config().fill_model;
    let (long, short) = bull_call(&m, "AAPL", 30);
    let legs = [(&long, Action::Buy), (&short, Action::Sell)];
    let (far, nat) = (far_buy(&m, &legs), natural_buy(&m, &legs));
    assert!(
        nat - far >= Decimal::new(3, 2),
        "a spread to rest in: {far}..{nat}"
    );
    let mid = ((far + nat) / Decimal::TWO)
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
    let limits = [far, mid, nat - Decimal::new(1, 2)];
    for (k, limit) in limits.iter().enumerate() {
        let events = v
            .place(
                &m,
                request(k as i32 + 1, combo(&legs), Action::Buy, 1, *limit),
                m.now(),
            )
            .unwrap();
        assert!(executions(&events).is_empty(), "limit {limit} rests");
    }
    let f = factors(&m, &legs, &model);
    let rate = |id| {
        v.resting_rate(&m, 7, id)
            .expect("a resting order has a rate")
    };
    let a = |limit: Decimal| ((limit - far) / (nat - far)).to_f64().unwrap();
    assert!((rate(1) - model.rate_far * f).abs() < 1e-12, "far side");
    assert!((rate(2) - model.base_rate(a(mid)) * f).abs() < 1e-12, "mid");
    assert!(
        (rate(3) - model.base_rate(a(limits[2])) * f).abs() < 1e-12,
        "near the natural"
    );
    assert!(rate(1) < rate(2) && rate(2) < rate(3));
    // Well above zero at the mid: at least 40% of the mid anchor even
    // after the width and liquidity factors of this liquid name.
    assert!(rate(2) > 0.4 * model.rate_mid, "{}", rate(2));
    // Beyond the far side or marketable: no resting rate.
    v.place(
        &m,
        request(4, combo(&legs), Action::Buy, 1, far - Decimal::new(5, 2)),
        m.now(),
    )
    .unwrap();
    assert_eq!(v.resting_rate(&m, 7, 4), Some(0.0));
    assert_eq!(v.resting_rate(&m, 7, 99), None);
}

#[test]
fn wider_and_thinner_names_rest_longer_at_the_mid() {
    let (m, mut v) = setup(22);
    let mut rate_of = |symbol: &str, id: i32| {
        let (long, short) = bull_call(&m, symbol, 30);
        let legs = [(&long, Action::Buy), (&short, Action::Sell)];
        let mid = (far_buy(&m, &legs) + natural_buy(&m, &legs)) / Decimal::TWO;
        v.place(
            &m,
            request(id, combo(&legs), Action::Buy, 1, mid.round_dp(2)),
            m.now(),
        )
        .unwrap();
        let model = v.config().fill_model;
        (
            v.resting_rate(&m, 7, id).unwrap(),
            factors(&m, &legs, &model),
        )
    };
    let (spy, spy_f) = rate_of("SPY", 1);
    let (ko, ko_f) = rate_of("KO", 2);
    assert!(ko_f < spy_f, "KO's factors {ko_f} below SPY's {spy_f}");
    assert!(ko < spy, "KO at the mid {ko}/min, SPY {spy}/min");
}

/// Many seeded mid-priced one-lot verticals, ticked every simulated second:
/// the number of resting fills matches the model's expectation (the sum
/// of each order's per-second fill probability while it rests) within four
/// standard deviations.
#[test]
fn resting_fills_over_many_seeded_orders_match_the_model() {
    let mut expected = 0.0;
    let mut variance = 0.0;
    let mut observed = 0usize;
    let mut orders = 0usize;
    for seed in [31u64, 32, 33] {
        let start = start();
        let mut m = Market::new(MarketConfig {
            seed,
            start,
            always_open: true,
        });
        let mut v = Venue::new(VenueConfig::new(seed));
        let mut ids = Vec::new();
        for (k, symbol) in [
            "SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA", "KO", "XOM",
        ]
        .iter()
        .enumerate()
        {
            for (j, days) in [20i64, 30, 45, 60].iter().enumerate() {
                let (long, short) = bull_call(&m, symbol, *days);
                if m.quote(short.con_id).unwrap().bid.is_none() {
                    continue;
                }
                let legs = [(&long, Action::Buy), (&short, Action::Sell)];
                let mid = (far_buy(&m, &legs) + natural_buy(&m, &legs)) / Decimal::TWO;
                let id = (k * 10 + j + 1) as i32;
                v.place(
                    &m,
                    request(id, combo(&legs), Action::Buy, 1, mid.round_dp(2)),
                    m.now(),
                )
                .unwrap();
                ids.push(id);
            }
        }
        orders += ids.len();
        let mut t = start;
        for _ in 0..600 {
            t += Duration::seconds(1);
            m.advance_to(t);
            for id in &ids {
                if let Some(rate) = v.resting_rate(&m, 7, *id) {
                    let p = super::model::per_second(rate);
                    expected += p;
                    variance += p * (1.0 - p);
                }
            }
            observed += v
                .on_tick(&m, t)
                .iter()
                .filter(|e| {
                    matches!(e, OrderEvent::Execution(x)
                        if x.scope == ExecutionScope::Combo && x.last_liquidity == 1)
                })
                .count();
        }
    }
    let sd = variance.sqrt();
    assert!(
        (observed as f64 - expected).abs() < 4.0 * sd,
        "{orders} orders: {observed} resting fills, the model expects {expected:.1} ± {sd:.1}"
    );
    assert!(
        observed > orders / 3,
        "most mid-priced orders fill in 10 minutes: {observed}/{orders}"
    );
}

#[test]
fn fills_take_no_more_than_the_displayed_sizes() {
    let (mut m, _) = setup(23);
    let mut config = VenueConfig::new(23);
    config.max_fill_chunk = 1_000;
    let mut v = Venue::new(config);
    let (long, short) = bull_call(&m, "KO", 30);
    let legs = [(&long, Action::Buy), (&short, Action::Sell)];
    let displayed = |m: &Market| {
        let a = m.quote(long.con_id).unwrap().ask_size;
        let b = m.quote(short.con_id).unwrap().bid_size;
        a.min(b)
    };
    let nat = natural_buy(&m, &legs);
    let mut events = v
        .place(
            &m,
            request(1, combo(&legs), Action::Buy, 150, nat + Decimal::ONE),
            m.now(),
        )
        .unwrap();
    let mut bounds = vec![displayed(&m)];
    let mut t = m.now();
    while v.order(7, 1).unwrap().status != OrderStatus::Filled {
        t += Duration::seconds(1);
        m.advance_to(t);
        bounds.push(displayed(&m));
        events.extend(v.on_tick(&m, t));
        assert!(
            t < start() + Duration::minutes(30),
            "a 150-lot fills in half an hour"
        );
    }
    let bag: Vec<&Execution> = executions(&events)
        .into_iter()
        .filter(|x| x.scope == ExecutionScope::Combo)
        .collect();
    let mut seen_bound = false;
    for x in &bag {
        let at = (x.time - start()).num_seconds() as usize;
        assert!(
            x.shares <= bounds[at],
            "{} combos > displayed {}",
            x.shares,
            bounds[at]
        );
        seen_bound |= x.shares == bounds[at];
    }
    assert!(
        seen_bound,
        "the displayed size is what limits a large order's fills"
    );
    assert_eq!(
        bag.iter().map(|x| x.shares).sum::<Decimal>(),
        Decimal::from(150)
    );
}
