//! Conformance with the real `ibapi` 5.5 async client over TCP on port 0:
//! every call the simulator serves, its end markers and its error codes,
//! and IB's limits (message pacing, market data lines, historical pacing).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{ACCOUNT, connect, market, start, start_with};
use ibapi::contracts::{Contract, OptionRight};
use ibapi::market_data::realtime::TickTypes;
use ibapi::orders::{Action, CancelOrder, Executions, Orders, PlaceOrder, order_builder};
use ibapi::prelude::StreamExt as _;
use ibapi::subscriptions::SubscriptionItem;

#[tokio::test]
async fn ibapi_connects_and_gets_ids_time_and_accounts() {
    let sim = start().await;
    let client = connect(&sim, 7).await;
    assert_eq!(client.server_version(), 226);
    assert_eq!(client.next_valid_order_id().await.unwrap(), 1);
    assert_eq!(client.managed_accounts().await.unwrap(), [ACCOUNT]);
    let now = || vspread_core::clock::Clock::now(&*sim.clock).timestamp();
    assert_eq!(client.server_time().await.unwrap().unix_timestamp(), now());
    sim.clock.advance(chrono::Duration::hours(2));
    assert_eq!(client.server_time().await.unwrap().unix_timestamp(), now());
}

#[tokio::test]
async fn several_clients_at_once_and_a_taken_client_id_is_refused() {
    let sim = start().await;
    let a = connect(&sim, 1).await;
    let b = connect(&sim, 2).await;
    let dup = ibapi::Client::connect(&sim.addr, 1).await;
    assert!(dup.is_err(), "client id 1 is taken");
    assert_eq!(sim.handle.client_count(), 2);
    assert_eq!(a.next_valid_order_id().await.unwrap(), 1);
    assert_eq!(b.managed_accounts().await.unwrap(), [ACCOUNT]);
    drop(a);
    // Once client 1 has gone, its id is free again.
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Ok(c) = ibapi::Client::connect(&sim.addr, 1).await {
            again = Some(c);
            break;
        }
    }
    assert!(again.is_some(), "client id 1 reusable after disconnect");
}

#[tokio::test]
async fn contract_details_for_stocks_and_options() {
    let sim = start().await;
    let client = connect(&sim, 4).await;
    let stock = ibapi::contracts::Contract::stock("AAPL").build();
    let details = client.contract_details(&stock).await.expect("AAPL");
    assert_eq!(details.len(), 1);
    let aapl = &details[0];
    assert_eq!(aapl.contract.symbol.to_string(), "AAPL");
    assert!(aapl.contract.contract_id > 0);
    assert_eq!(aapl.min_tick, 0.01);
    assert_eq!(aapl.contract.currency.to_string(), "USD");

    // Same conId again: stable identity.
    let again = client.contract_details(&stock).await.unwrap();
    assert_eq!(again[0].contract.contract_id, aapl.contract.contract_id);

    // All AAPL calls of one expiry: many contracts, all calls, sorted strikes.
    let market = market();
    let expiry = market.expiries("AAPL")[3];
    let strikes = market.strikes("AAPL", expiry);
    let k = strikes[strikes.len() / 2];
    let yyyymmdd = expiry.format("%Y%m%d").to_string();
    let one = ibapi::contracts::Contract::option(
        "AAPL",
        &yyyymmdd,
        k.to_string().parse().unwrap(),
        ibapi::contracts::OptionRight::Call,
    );
    let d = client.contract_details(&one).await.expect("one option");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].contract.strike, k.to_string().parse::<f64>().unwrap());
    assert_eq!(d[0].contract.last_trade_date_or_contract_month, yyyymmdd);
    assert_eq!(d[0].contract.multiplier, "100");
    assert_ne!(d[0].contract.contract_id, aapl.contract.contract_id);

    // An unknown symbol is TWS's error 200, not silence.
    let nothing = client
        .contract_details(&ibapi::contracts::Contract::stock("NOSUCH").build())
        .await;
    let err = nothing.expect_err("unknown contract");
    assert!(err.to_string().contains("200"), "{err}");
}

#[tokio::test]
async fn option_chain_parameters() {
    let sim = start().await;
    let client = connect(&sim, 5).await;
    let spy = client
        .contract_details(&ibapi::contracts::Contract::stock("SPY").build())
        .await
        .unwrap();
    let con_id = spy[0].contract.contract_id;
    let mut chain = client
        .option_chain("SPY", ibapi::contracts::SecurityType::Stock, con_id)
        .subscribe()
        .await
        .expect("option chain");
    let first = match chain.next().await.expect("one row").expect("no error") {
        ibapi::subscriptions::SubscriptionItem::Data(row) => row,
        other => panic!("expected a chain row, got {other:?}"),
    };
    assert_eq!(first.exchange, "SMART");
    assert_eq!(first.underlying_contract_id, con_id);
    assert_eq!(first.multiplier, "100");
    // Exactly the market model's listed expiries, weeklies and monthlies.
    let market = market();
    let listed: Vec<String> = market
        .expiries("SPY")
        .iter()
        .map(|d| d.format("%Y%m%d").to_string())
        .collect();
    assert_eq!(first.expirations, listed);
    assert!(listed.len() >= 12, "{} expiries", listed.len());
    assert!(
        first.strikes.windows(2).all(|w| w[0] < w[1]),
        "ascending strikes"
    );
    assert!(first.strikes.len() > 50);
}

#[tokio::test]
async fn daily_history_matches_the_market_model() {
    use ibapi::market_data::historical::{BarSize, Duration as HistDuration};
    let sim = start().await;
    let client = connect(&sim, 6).await;
    let spy = ibapi::contracts::Contract::stock("SPY").build();
    let data = client
        .historical_data(&spy, BarSize::Day)
        .duration(HistDuration::days(30))
        .fetch()
        .await
        .expect("daily bars");
    assert_eq!(data.bars.len(), 30);
    let market = market();
    let expected = market.daily_bars("SPY", market.trading_date(), 30);
    for (got, want) in data.bars.iter().zip(&expected) {
        assert_eq!(
            (got.open, got.high, got.low, got.close),
            (want.open, want.high, want.low, want.close)
        );
        assert!(got.high >= got.low);
    }
    // Unsupported bar sizes are TWS's error 162, not silence.
    let minutes = client
        .historical_data(&spy, BarSize::Min)
        .duration(HistDuration::days(1))
        .fetch()
        .await;
    let err = minutes.expect_err("only daily bars");
    assert!(err.to_string().contains("162"), "{err}");
}

/// Collects a snapshot's ticks until `SnapshotEnd`.
async fn snapshot(
    client: &ibapi::Client,
    contract: &ibapi::contracts::Contract,
) -> Vec<ibapi::market_data::realtime::TickTypes> {
    use ibapi::market_data::realtime::TickTypes;
    let mut sub = client
        .market_data(contract)
        .snapshot()
        .subscribe()
        .await
        .expect("snapshot");
    let mut ticks = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("no hang")
    {
        match item.expect("no error") {
            ibapi::subscriptions::SubscriptionItem::Data(TickTypes::SnapshotEnd) => return ticks,
            ibapi::subscriptions::SubscriptionItem::Data(t) => ticks.push(t),
            _ => {}
        }
    }
    panic!("the snapshot ended without SnapshotEnd: {ticks:?}");
}

#[tokio::test]
async fn market_data_snapshots_for_a_stock_and_an_option() {
    use ibapi::market_data::realtime::TickTypes;
    let sim = start().await;
    let client = connect(&sim, 8).await;
    let ticks = snapshot(&client, &ibapi::contracts::Contract::stock("AAPL").build()).await;
    let prices: Vec<(String, f64, f64)> = ticks
        .iter()
        .filter_map(|t| match t {
            TickTypes::PriceSize(p) => Some((format!("{:?}", p.price_tick_type), p.price, p.size)),
            _ => None,
        })
        .collect();
    let bid = prices.iter().find(|p| p.0 == "Bid").expect("bid");
    let ask = prices.iter().find(|p| p.0 == "Ask").expect("ask");
    assert!(bid.1 > 0.0 && ask.1 > bid.1, "bid {bid:?} ask {ask:?}");
    assert!(bid.2 > 0.0 && ask.2 > 0.0, "sizes");

    // An at-the-money call: prices and a model computation with IV and greeks.
    let market = market();
    let expiry = market.expiries("AAPL")[4];
    let spot = market.spot("AAPL").unwrap();
    let strike = market
        .strikes("AAPL", expiry)
        .into_iter()
        .min_by(|a, b| {
            let (a, b): (f64, f64) = (
                a.to_string().parse().unwrap(),
                b.to_string().parse().unwrap(),
            );
            (a - spot).abs().total_cmp(&(b - spot).abs())
        })
        .unwrap();
    let call = ibapi::contracts::Contract::option(
        "AAPL",
        &expiry.format("%Y%m%d").to_string(),
        strike.to_string().parse().unwrap(),
        ibapi::contracts::OptionRight::Call,
    );
    let ticks = snapshot(&client, &call).await;
    let model = ticks
        .iter()
        .find_map(|t| match t {
            TickTypes::OptionComputation(c) if format!("{:?}", c.field).contains("Model") => {
                Some(c.clone())
            }
            _ => None,
        })
        .expect("a model option computation");
    let iv = model.implied_volatility.expect("iv");
    let delta = model.delta.expect("delta");
    assert!((0.05..2.0).contains(&iv), "iv {iv}");
    assert!(
        (0.3..0.7).contains(&delta),
        "an at-the-money call's delta, got {delta}"
    );
    assert!(model.gamma.unwrap() > 0.0 && model.vega.unwrap() > 0.0);
    assert!((model.underlying_price.unwrap() - spot).abs() < 1e-6 * spot.max(1.0) + 0.01);
}

/// An at-the-money SPY call vertical five strikes wide, its legs' conIds
/// looked up through contract details, and its width in dollars.
async fn spy_vertical(client: &ibapi::Client) -> (Contract, f64) {
    let m = market();
    let expiry = m.expiries("SPY")[3];
    let spot = m.spot("SPY").unwrap();
    let strikes: Vec<f64> = m
        .strikes("SPY", expiry)
        .iter()
        .map(|k| k.to_string().parse().unwrap())
        .collect();
    let atm = strikes
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1 - spot).abs().total_cmp(&(b.1 - spot).abs()))
        .unwrap()
        .0;
    let (low, high) = (strikes[atm], strikes[atm + 5]);
    let day = expiry.format("%Y%m%d").to_string();
    let id = |k: f64| {
        let c = Contract::option("SPY", &day, k, OptionRight::Call);
        async move {
            client.contract_details(&c).await.unwrap()[0]
                .contract
                .contract_id
        }
    };
    let (long, short) = (id(low).await, id(high).await);
    let bag = Contract::spread()
        .symbol("SPY")
        .vertical(long, short)
        .build()
        .unwrap();
    (bag, high - low)
}

#[tokio::test]
async fn option_lookup_by_expiry_and_right_lists_every_strike() {
    let sim = start().await;
    let client = connect(&sim, 12).await;
    let m = market();
    let expiry = m.expiries("QQQ")[1];
    let mut partial = Contract::option(
        "QQQ",
        &expiry.format("%Y%m%d").to_string(),
        0.0,
        OptionRight::Put,
    );
    partial.strike = 0.0;
    let all = client.contract_details(&partial).await.expect("many");
    assert_eq!(all.len(), m.strikes("QQQ", expiry).len());
    assert!(
        all.iter()
            .all(|d| d.contract.right == Some(OptionRight::Put))
    );
}

#[tokio::test]
async fn streaming_quotes_move_with_the_market_and_stop_on_cancel() {
    let sim = start().await;
    let client = connect(&sim, 13).await;
    let (bag, _) = spy_vertical(&client).await;
    let leg = bag.combo_legs[0].contract_id;
    let mut contract = Contract {
        contract_id: leg,
        ..Default::default()
    };
    contract.exchange = "SMART".into();
    let mut sub = client
        .market_data(&contract)
        .generic_ticks(&["101"])
        .subscribe()
        .await
        .expect("streaming");
    assert!(eventually(|| sim.handle.market_data_lines() == 1).await);
    let mut bids = Vec::new();
    let mut models = 0;
    let mut open_interest = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while bids.len() < 2 || models < 2 || open_interest.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "bids {bids:?}, models {models}"
        );
        if bids.len() == 1 {
            sim.advance(chrono::Duration::minutes(5)).await;
        }
        let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await
        else {
            continue;
        };
        match item.expect("no error") {
            SubscriptionItem::Data(TickTypes::PriceSize(p))
                if format!("{:?}", p.price_tick_type) == "Bid" =>
            {
                bids.push(p.price)
            }
            SubscriptionItem::Data(TickTypes::OptionComputation(c))
                if format!("{:?}", c.field).contains("Model") =>
            {
                assert!(c.implied_volatility.unwrap() > 0.0 && c.delta.unwrap() > 0.0);
                models += 1;
            }
            SubscriptionItem::Data(TickTypes::Size(s))
                if format!("{:?}", s.tick_type).contains("OpenInterest") =>
            {
                open_interest = Some(s.size)
            }
            SubscriptionItem::Data(TickTypes::SnapshotEnd) => panic!("streaming has no end"),
            _ => {}
        }
    }
    assert!(open_interest.unwrap() > 0.0);
    drop(sub);
    assert!(
        eventually(|| sim.handle.market_data_lines() == 0).await,
        "dropping the subscription cancels it and frees the line"
    );
}

/// Polls `done` for up to two seconds.
async fn eventually(done: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done()
}

/// The error a subscription ends with (panics on data first).
macro_rules! error_code_of {
    ($sub:expr) => {{
        loop {
            let item = tokio::time::timeout(Duration::from_secs(5), $sub.next())
                .await
                .expect("an answer")
                .expect("an item");
            match item {
                Err(e) => break e.to_string(),
                Ok(SubscriptionItem::Data(d)) => panic!("expected an error, got {d:?}"),
                Ok(_) => {}
            }
        }
    }};
}

#[tokio::test]
async fn a_combo_order_what_if_then_filled_with_executions_positions_and_summary() {
    let sim = start().await;
    let client = connect(&sim, 14).await;
    let (bag, width) = spy_vertical(&client).await;

    // What-if first: margin of a debit vertical is what it can lose.
    let state = client
        .order(&bag)
        .buy(1)
        .limit(width)
        .analyze()
        .await
        .expect("what-if");
    let margin = state.initial_margin_change.expect("margin change");
    assert!(margin > 0.0 && margin <= width * 100.0 + 1e-6, "{margin}");
    assert!(state.commission.unwrap() > 0.0);
    assert_eq!(state.commission_currency, "USD");

    // A limit at the width is marketable: it fills at once.
    let order_id = client.next_order_id();
    let mut order = order_builder::combo_limit_order(Action::Buy, 2.0, width);
    order.order_ref = "conformance-1".into();
    let mut sub = client.place_order(order_id, &bag, &order).await.unwrap();
    let (mut executions, mut commissions, mut filled) = (Vec::new(), 0, None);
    while filled.is_none() {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("order events")
            .expect("more events")
            .expect("no error");
        match item {
            SubscriptionItem::Data(PlaceOrder::ExecutionData(e)) => executions.push(e),
            SubscriptionItem::Data(PlaceOrder::CommissionReport(c)) => {
                assert!(
                    executions
                        .iter()
                        .any(|e| e.execution.execution_id == c.execution_id)
                );
                commissions += 1;
            }
            SubscriptionItem::Data(PlaceOrder::OrderStatus(s))
                if format!("{:?}", s.status) == "Filled" =>
            {
                assert_eq!(s.order_id, order_id);
                assert_eq!((s.filled, s.remaining), (2.0, 0.0));
                filled = Some(s);
            }
            _ => {}
        }
    }
    drop(sub);
    let legs: Vec<_> = executions
        .iter()
        .filter(|e| e.contract.contract_id != 0)
        .collect();
    assert!(
        legs.iter()
            .any(|e| e.execution.side == ibapi::orders::ExecutionSide::Bought)
    );
    assert!(
        legs.iter()
            .any(|e| e.execution.side == ibapi::orders::ExecutionSide::Sold)
    );
    assert!(
        executions
            .iter()
            .all(|e| e.execution.order_reference == "conformance-1")
    );
    assert_eq!(commissions, executions.len());

    // reqExecutions replays them, each with its commission report.
    let mut replay = client
        .executions(ibapi::orders::ExecutionFilter::default())
        .await
        .unwrap();
    let (mut seen, mut reports) = (0, 0);
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(2), replay.next()).await {
        match item.expect("no error") {
            SubscriptionItem::Data(Executions::ExecutionData(_)) => seen += 1,
            SubscriptionItem::Data(Executions::CommissionReport(_)) => reports += 1,
            _ => {}
        }
        if seen == executions.len() && reports == seen {
            break;
        }
    }
    assert_eq!((seen, reports), (executions.len(), executions.len()));

    // Positions: long the lower strike, short the upper.
    let mut positions = client.positions().await.unwrap();
    let mut rows = Vec::new();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), positions.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match item {
            SubscriptionItem::Data(ibapi::accounts::PositionUpdate::Position(p)) => rows.push(p),
            SubscriptionItem::Data(ibapi::accounts::PositionUpdate::PositionEnd) => break,
            _ => {}
        }
    }
    let mut sizes: Vec<f64> = rows.iter().map(|p| p.position).collect();
    sizes.sort_by(f64::total_cmp);
    assert_eq!(sizes, [-2.0, 2.0]);
    assert!(rows.iter().all(|p| p.account == ACCOUNT));

    // The account paid the debit and the commissions.
    let summary = account_summary(&client, &["TotalCashValue", "NetLiquidation"]).await;
    let cash: f64 = summary["TotalCashValue"].parse().unwrap();
    assert!(
        cash < 100_000.0 && cash > 100_000.0 - 2.0 * width * 100.0 - 50.0,
        "{cash}"
    );

    // The same order again is a modification of a filled order (104).
    let mut again = client.place_order(order_id, &bag, &order).await.unwrap();
    let err = error_code_of!(again);
    assert!(err.contains("104"), "{err}");
}

async fn account_summary(
    client: &ibapi::Client,
    tags: &[&str],
) -> std::collections::BTreeMap<String, String> {
    use ibapi::accounts::AccountSummaryResult;
    let group = ibapi::accounts::types::AccountGroup("All".into());
    let mut sub = client.account_summary(&group, tags).await.expect("summary");
    let mut rows = std::collections::BTreeMap::new();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("no hang");
        match item.expect("an item").expect("no error") {
            SubscriptionItem::Data(AccountSummaryResult::Summary(s)) => {
                assert_eq!(s.account, ACCOUNT);
                rows.insert(s.tag.clone(), s.value.clone());
            }
            SubscriptionItem::Data(AccountSummaryResult::End) => return rows,
            _ => {}
        }
    }
}

#[tokio::test]
async fn account_summary_of_a_fresh_cash_account() {
    let sim = start().await;
    let client = connect(&sim, 9).await;
    let rows = account_summary(
        &client,
        &[
            "NetLiquidation",
            "TotalCashValue",
            "BuyingPower",
            "AccountType",
        ],
    )
    .await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows["NetLiquidation"], "100000.00");
    assert_eq!(rows["TotalCashValue"], "100000.00");
    assert_eq!(rows["AccountType"], "INDIVIDUAL");
    assert!(rows["BuyingPower"].parse::<f64>().unwrap() > 0.0);
}

#[tokio::test]
async fn a_resting_order_is_listed_then_cancelled_and_global_cancel_clears_the_rest() {
    let sim = start().await;
    let client = connect(&sim, 15).await;
    let (bag, _) = spy_vertical(&client).await;
    let place = |price: f64| {
        let order = order_builder::combo_limit_order(Action::Buy, 1.0, price);
        let id = client.next_order_id();
        let client = &client;
        let bag = &bag;
        async move {
            let mut sub = client.place_order(id, bag, &order).await.unwrap();
            // Wait for it to be working.
            loop {
                let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                if let SubscriptionItem::Data(PlaceOrder::OrderStatus(s)) = item {
                    assert_eq!(format!("{:?}", s.status), "Submitted");
                    return id;
                }
            }
        }
    };
    let first = place(0.01).await;
    let second = place(0.02).await;
    let listed = open_order_ids(&client).await;
    assert_eq!(listed, [first, second]);

    let mut cancel = client.cancel_order(first, "").await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(5), cancel.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match item {
        SubscriptionItem::Data(CancelOrder::OrderStatus(s)) => {
            assert_eq!(s.order_id, first);
            assert_eq!(format!("{:?}", s.status), "Cancelled");
        }
        other => panic!("expected the cancelled status, got {other:?}"),
    }
    assert_eq!(open_order_ids(&client).await, [second]);

    // Cancelling it again: the order is no longer cancellable (161).
    let mut again = client.cancel_order(first, "").await.unwrap();
    let err = error_code_of!(again);
    assert!(err.contains("161"), "{err}");

    client.global_cancel().await.unwrap();
    let mut empty = false;
    for _ in 0..50 {
        if open_order_ids(&client).await.is_empty() {
            empty = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(empty, "global cancel leaves no working order");
}

async fn open_order_ids(client: &ibapi::Client) -> Vec<i32> {
    let mut sub = client.all_open_orders().await.unwrap();
    let mut ids = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(2), sub.next()).await {
        if let SubscriptionItem::Data(Orders::OrderData(o)) = item.unwrap() {
            ids.push(o.order_id);
        }
    }
    ids
}

#[tokio::test]
async fn rejected_and_unknown_orders_carry_ibs_codes() {
    let sim = start().await;
    let client = connect(&sim, 16).await;
    let (bag, width) = spy_vertical(&client).await;
    let order = order_builder::combo_limit_order(Action::Buy, 1.0, width);

    sim.handle.reject_next_orders(1);
    let mut sub = client
        .place_order(client.next_order_id(), &bag, &order)
        .await
        .unwrap();
    let err = error_code_of!(sub);
    assert!(err.contains("201"), "{err}");

    let nosuch = Contract::stock("NOSUCH").build();
    let stock_order = order_builder::limit_order(Action::Buy, 1.0, 10.0);
    let mut sub = client
        .place_order(client.next_order_id(), &nosuch, &stock_order)
        .await
        .unwrap();
    let err = error_code_of!(sub);
    assert!(err.contains("200"), "{err}");

    // The rejection was used up: the next order is accepted.
    let mut sub = client
        .place_order(client.next_order_id(), &bag, &order)
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_ok(), "{first:?}");
}

#[tokio::test]
async fn more_than_fifty_messages_a_second_are_refused_with_error_100() {
    let sim = start().await;
    let client = Arc::new(connect(&sim, 17).await);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..70 {
        let client = client.clone();
        tasks.spawn(async move {
            client
                .contract_details(&Contract::stock("KO").build())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
    }
    let (mut ok, mut paced) = (0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(()) => ok += 1,
            Err(e) if e.contains("100") => paced += 1,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    // The handshake's startApi is not paced; 50 requests fit in the second.
    assert_eq!(ok, 50, "served {ok}");
    assert_eq!(ok + paced, 70);
    // A second later the client is served again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        client
            .contract_details(&Contract::stock("KO").build())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_hundred_and_first_streaming_line_is_error_101() {
    let sim = start_with(|s| s.messages_per_second = 100_000).await;
    let client = connect(&sim, 18).await;
    let symbols: Vec<String> = market().stocks().iter().map(|s| s.symbol.clone()).collect();
    let mut subs = Vec::new();
    for i in 0..100 {
        let c = Contract::stock(symbols[i % symbols.len()].as_str()).build();
        subs.push(client.market_data(&c).subscribe().await.unwrap());
    }
    assert!(eventually(|| sim.handle.market_data_lines() == 100).await);
    let mut over = client
        .market_data(&Contract::stock("SPY").build())
        .subscribe()
        .await
        .unwrap();
    let err = error_code_of!(over);
    assert!(err.contains("101"), "{err}");
    assert_eq!(sim.handle.market_data_lines(), 100);
    // Freeing a line lets the next request in.
    subs.pop();
    assert!(eventually(|| sim.handle.market_data_lines() == 99).await);
    let mut next = client
        .market_data(&Contract::stock("SPY").build())
        .subscribe()
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), next.next())
        .await
        .unwrap()
        .unwrap();
    assert!(first.is_ok(), "{first:?}");
}

#[tokio::test]
async fn an_identical_history_request_within_fifteen_seconds_is_a_pacing_violation() {
    use ibapi::market_data::historical::{BarSize, Duration as HistDuration};
    let sim = start().await;
    let client = connect(&sim, 19).await;
    let qqq = Contract::stock("QQQ").build();
    let fetch = || {
        client
            .historical_data(&qqq, BarSize::Day)
            .duration(HistDuration::days(10))
            .fetch()
    };
    assert_eq!(fetch().await.expect("first").bars.len(), 10);
    let err = fetch().await.expect_err("paced").to_string();
    assert!(
        err.contains("162") && err.contains("pacing violation"),
        "{err}"
    );
}

#[tokio::test]
async fn account_updates_list_values_portfolio_and_end() {
    use ibapi::accounts::AccountUpdate;
    let sim = start().await;
    let client = connect(&sim, 23).await;
    let spy = Contract::stock("SPY").build();
    let mut sub = client
        .place_order(
            client.next_order_id(),
            &spy,
            &order_builder::limit_order(Action::Buy, 3.0, 10_000.0),
        )
        .await
        .unwrap();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let SubscriptionItem::Data(PlaceOrder::OrderStatus(s)) = item
            && s.remaining == 0.0
        {
            break;
        }
        sim.clock.advance(chrono::Duration::seconds(2));
    }
    let account = ibapi::accounts::types::AccountId(ACCOUNT.into());
    let mut updates = client.account_updates(&account).await.unwrap();
    let (mut values, mut portfolio) = (std::collections::BTreeMap::new(), Vec::new());
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), updates.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match item {
            SubscriptionItem::Data(AccountUpdate::AccountValue(v)) => {
                values.insert(v.key.clone(), v.value.clone());
            }
            SubscriptionItem::Data(AccountUpdate::PortfolioValue(p)) => portfolio.push(p),
            SubscriptionItem::Data(AccountUpdate::End) => break,
            _ => {}
        }
    }
    assert!(values["NetLiquidation"].parse::<f64>().unwrap() > 90_000.0);
    assert_eq!(portfolio.len(), 1);
    assert_eq!(portfolio[0].contract.symbol.to_string(), "SPY");
    assert_eq!(portfolio[0].position, 3.0);
    assert!(portfolio[0].market_price > 0.0);
}

#[tokio::test]
async fn the_same_seed_and_requests_give_the_same_quotes_and_fills() {
    async fn run_once() -> (Vec<String>, Vec<(f64, f64)>) {
        let sim = start().await;
        let client = connect(&sim, 24).await;
        let (bag, width) = spy_vertical(&client).await;
        let leg = Contract {
            contract_id: bag.combo_legs[1].contract_id,
            exchange: "SMART".into(),
            ..Default::default()
        };
        let ticks: Vec<String> = snapshot(&client, &leg)
            .await
            .iter()
            .map(|t| format!("{t:?}"))
            .collect();
        // One combo fills at placement, at the natural price of that instant.
        let order = order_builder::combo_limit_order(Action::Buy, 1.0, width);
        let mut sub = client
            .place_order(client.next_order_id(), &bag, &order)
            .await
            .unwrap();
        let mut fills = Vec::new();
        loop {
            let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            match item {
                SubscriptionItem::Data(PlaceOrder::ExecutionData(e)) => {
                    fills.push((e.execution.shares, e.execution.price))
                }
                SubscriptionItem::Data(PlaceOrder::OrderStatus(s)) if s.remaining == 0.0 => {
                    break;
                }
                _ => {}
            }
        }
        (ticks, fills)
    }
    let (a, b) = (run_once().await, run_once().await);
    assert!(!a.0.is_empty() && !a.1.is_empty());
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_single_option_limit_order_fills_with_an_option_execution() {
    let sim = start().await;
    let client = connect(&sim, 25).await;
    let (bag, _) = spy_vertical(&client).await;
    let call = Contract {
        contract_id: bag.combo_legs[0].contract_id,
        exchange: "SMART".into(),
        ..Default::default()
    };
    // A limit far above the ask is marketable and on every tick grid.
    let order = order_builder::limit_order(Action::Buy, 1.0, 100.0);
    let mut sub = client
        .place_order(client.next_order_id(), &call, &order)
        .await
        .unwrap();
    let mut execution = None;
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        match item {
            SubscriptionItem::Data(PlaceOrder::ExecutionData(e)) => execution = Some(e),
            SubscriptionItem::Data(PlaceOrder::OrderStatus(s))
                if format!("{:?}", s.status) == "Filled" =>
            {
                break;
            }
            _ => {}
        }
    }
    let e = execution.expect("an execution");
    assert_eq!(e.contract.contract_id, call.contract_id);
    assert_eq!(
        e.contract.security_type,
        ibapi::contracts::SecurityType::Option
    );
    assert_eq!(e.execution.side, ibapi::orders::ExecutionSide::Bought);
    assert!(e.execution.price > 0.0 && e.execution.price < 100.0);
}
