//! The simulator's handshake and first requests against the real `ibapi`
//! 5.5 async client, over TCP on port 0.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone as _;
use ibapi::prelude::StreamExt as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vspread_core::clock::ManualClock;
use vspread_sim::server::{SimSettings, run};

async fn start(clock: Arc<ManualClock>) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = SimSettings {
        accounts: vec!["DU1234567".into()],
        first_order_id: 1000,
        clock,
        handshake_timeout: Duration::from_secs(5),
        market: Arc::new(std::sync::Mutex::new(vspread_sim::market::Market::new(
            vspread_sim::market::MarketConfig {
                seed: 7,
                start: chrono::Utc
                    .with_ymd_and_hms(2026, 11, 23, 14, 30, 0)
                    .unwrap(),
                always_open: false,
            },
        ))),
        account: Arc::new(std::sync::Mutex::new(vspread_sim::account::Account::new(
            "DU1234567",
            rust_decimal::Decimal::new(100_000, 0),
        ))),
    };
    tokio::spawn(run(listener, settings, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// The market every test's simulator runs (same seed and start), so a test
/// can compute what the wire must carry.
fn test_market() -> vspread_sim::market::Market {
    vspread_sim::market::Market::new(vspread_sim::market::MarketConfig {
        seed: 7,
        start: chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 14, 30, 0)
            .unwrap(),
        always_open: false,
    })
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 14, 30, 0)
            .unwrap(),
    ))
}

#[tokio::test]
async fn ibapi_connects_and_gets_ids_time_and_accounts() {
    let clock = clock();
    let (addr, _stop) = start(clock.clone()).await;
    let client = ibapi::Client::connect(&addr, 7).await.expect("connect");
    assert_eq!(client.server_version(), 226);
    assert_eq!(client.next_valid_order_id().await.unwrap(), 1000);
    assert_eq!(client.managed_accounts().await.unwrap(), ["DU1234567"]);
    let t = client.server_time().await.unwrap();
    assert_eq!(t.unix_timestamp(), clock.now_timestamp());
    clock.advance(chrono::Duration::hours(2));
    let t = client.server_time().await.unwrap();
    assert_eq!(t.unix_timestamp(), clock.now_timestamp());
}

trait Timestamp {
    fn now_timestamp(&self) -> i64;
}

impl Timestamp for ManualClock {
    fn now_timestamp(&self) -> i64 {
        vspread_core::clock::Clock::now(self).timestamp()
    }
}

#[tokio::test]
async fn several_clients_at_once_and_a_taken_client_id_is_refused() {
    let (addr, _stop) = start(clock()).await;
    let a = ibapi::Client::connect(&addr, 1).await.expect("client 1");
    let b = ibapi::Client::connect(&addr, 2).await.expect("client 2");
    let dup = ibapi::Client::connect(&addr, 1).await;
    assert!(dup.is_err(), "client id 1 is taken");
    assert_eq!(a.next_valid_order_id().await.unwrap(), 1000);
    assert_eq!(b.managed_accounts().await.unwrap(), ["DU1234567"]);
    drop(a);
    // Once client 1 has gone, its id is free again.
    let mut again = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Ok(c) = ibapi::Client::connect(&addr, 1).await {
            again = Some(c);
            break;
        }
    }
    assert!(again.is_some(), "client id 1 reusable after disconnect");
}

#[tokio::test]
async fn bad_bytes_close_only_that_connection() {
    let (addr, _stop) = start(clock()).await;
    let good = ibapi::Client::connect(&addr, 3).await.expect("connect");
    for garbage in [
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        b"API\0\xff\xff\xff\xffjunk".to_vec(),
        b"API\0\x00\x00\x00\x03v1.".to_vec(),
    ] {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(&garbage).await.unwrap();
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("closed, not hung");
        assert_eq!(n.unwrap_or(0), 0, "the server closes the connection");
    }
    // An old client is refused at negotiation.
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"API\0\x00\x00\x00\x09v100..200")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0);
    // The good client never noticed.
    assert_eq!(good.next_valid_order_id().await.unwrap(), 1000);
}

#[tokio::test]
async fn contract_details_for_stocks_and_options() {
    let (addr, _stop) = start(clock()).await;
    let client = ibapi::Client::connect(&addr, 4).await.expect("connect");
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
    let market = test_market();
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
    let (addr, _stop) = start(clock()).await;
    let client = ibapi::Client::connect(&addr, 5).await.expect("connect");
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
    let market = test_market();
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
    let (addr, _stop) = start(clock()).await;
    let client = ibapi::Client::connect(&addr, 6).await.expect("connect");
    let spy = ibapi::contracts::Contract::stock("SPY").build();
    let data = client
        .historical_data(&spy, BarSize::Day)
        .duration(HistDuration::days(30))
        .fetch()
        .await
        .expect("daily bars");
    assert_eq!(data.bars.len(), 30);
    let market = test_market();
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
    let (addr, _stop) = start(clock()).await;
    let client = ibapi::Client::connect(&addr, 8).await.expect("connect");
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
    let market = test_market();
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

    // Streaming is refused by name, not left hanging.
    let streaming = client
        .market_data(&ibapi::contracts::Contract::stock("AAPL").build())
        .subscribe()
        .await;
    if let Ok(mut sub) = streaming {
        let first = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("an answer");
        assert!(
            matches!(first, Some(Err(_)) | None),
            "streaming is not served yet: {first:?}"
        );
    }
}

#[tokio::test]
async fn account_summary_of_a_fresh_cash_account() {
    use ibapi::accounts::AccountSummaryResult;
    let (addr, _stop) = start(clock()).await;
    let client = ibapi::Client::connect(&addr, 9).await.expect("connect");
    let group = ibapi::accounts::types::AccountGroup("All".into());
    let mut sub = client
        .account_summary(
            &group,
            &[
                "NetLiquidation",
                "TotalCashValue",
                "BuyingPower",
                "AccountType",
            ],
        )
        .await
        .expect("summary");
    let mut rows = std::collections::BTreeMap::new();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("no hang");
        match item.expect("an item").expect("no error") {
            ibapi::subscriptions::SubscriptionItem::Data(AccountSummaryResult::Summary(s)) => {
                assert_eq!(s.account, "DU1234567");
                rows.insert(s.tag.clone(), (s.value.clone(), s.currency.clone()));
            }
            ibapi::subscriptions::SubscriptionItem::Data(AccountSummaryResult::End) => break,
            _ => {}
        }
    }
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(
        rows["NetLiquidation"],
        ("100000.00".to_string(), "USD".to_string())
    );
    assert_eq!(rows["TotalCashValue"].0, "100000.00");
    assert_eq!(rows["AccountType"].0, "INDIVIDUAL");
    let buying_power: f64 = rows["BuyingPower"].0.parse().unwrap();
    assert!(buying_power > 0.0);
}

#[tokio::test]
async fn positions_follow_the_account() {
    use ibapi::accounts::PositionUpdate;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let market = test_market();
    let aapl = vspread_sim::market::Contract::Stock(market.find_stock("AAPL").unwrap().clone());
    let mut account =
        vspread_sim::account::Account::new("DU1234567", rust_decimal::Decimal::new(100_000, 0));
    account.apply_fill(
        &aapl,
        vspread_sim::account::Side::Bought,
        rust_decimal::Decimal::new(10, 0),
        rust_decimal::Decimal::new(20_000, 2),
        rust_decimal::Decimal::ONE,
    );
    let settings = SimSettings {
        accounts: vec!["DU1234567".into()],
        first_order_id: 1000,
        clock: clock(),
        handshake_timeout: Duration::from_secs(5),
        market: Arc::new(std::sync::Mutex::new(market)),
        account: Arc::new(std::sync::Mutex::new(account)),
    };
    tokio::spawn(run(listener, settings, std::future::pending()));
    let client = ibapi::Client::connect(&addr, 10).await.expect("connect");
    let mut sub = client.positions().await.expect("positions");
    let mut rows = Vec::new();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .expect("no hang");
        match item.expect("an item").expect("no error") {
            ibapi::subscriptions::SubscriptionItem::Data(PositionUpdate::Position(p)) => {
                rows.push(p)
            }
            ibapi::subscriptions::SubscriptionItem::Data(PositionUpdate::PositionEnd) => break,
            _ => {}
        }
    }
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].account, "DU1234567");
    assert_eq!(rows[0].contract.symbol.to_string(), "AAPL");
    assert_eq!(rows[0].position, 10.0);
    // IB's average cost includes the opening commission: (10 x 200 + 1) / 10.
    assert!(
        (rows[0].average_cost - 200.1).abs() < 1e-9,
        "{}",
        rows[0].average_cost
    );
}
