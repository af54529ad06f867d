//! The order manager against `vspread sim` over TCP through the real broker
//! layer and a real SQLite journal: a walked BAG limit fills once it reaches
//! the natural price, an unmarketable one is cancelled at its timeout,
//! partial fills are kept to the contract when the timeout cuts an order
//! short, a rejection is reported as such, and a cancel asked for (the kill
//! switch) reaches the gateway at once, without waiting for a walk step.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use rust_decimal::Decimal;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::{Broker, BrokerError};
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_core::journal::{Journal, JournaledOrder};
use vspread_core::{
    NetPrice, OptionContract, OrderPurpose, OrderRequest, OrderTarget, Price, Right, SpreadKind,
    VerticalSpread,
};
use vspread_engine::decision::order::journal_leg;
use vspread_engine::events::EventBus;
use vspread_engine::journal_io::JournalIo;
use vspread_engine::orders::{
    CancelReason, DrivenOrder, OrderEnd, OrderFailure, OrderManager, OrderPlan, PriceWalk,
};
use vspread_journal::SqliteJournal;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

struct Stack {
    sim: ServerHandle,
    broker: Arc<IbBroker>,
    orders: Arc<OrderManager>,
    journal: Arc<SqliteJournal>,
    _dir: tempfile::TempDir,
    /// Moves the shared clock one simulated second every 10 ms.
    ticker: tokio::task::JoinHandle<()>,
}

async fn stack() -> Stack {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let mut settings = SimSettings::new(clock.clone());
    settings.heartbeat = Duration::from_millis(20);
    let market = Market::new(MarketConfig {
        seed: 5,
        start,
        always_open: false,
    });
    let server = Server::new(settings, market, Venue::new(VenueConfig::new(5)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = server.start(listener);
    let mut s = BrokerSettings::from_config(&Config::default());
    s.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start(s));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
    let orders = Arc::new(OrderManager::new(
        broker.clone(),
        clock.clone(),
        JournalIo::new(journal.clone()),
        Arc::new(EventBus::new(1000, clock.clone())),
    ));
    let ticking = clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(chrono::Duration::seconds(1));
        }
    });
    Stack {
        sim,
        broker,
        orders,
        journal,
        _dir: dir,
        ticker,
    }
}

impl Stack {
    /// Hands `request` over to the order manager and waits for its end.
    async fn drive(
        &self,
        request: &OrderRequest,
        walk: &PriceWalk,
    ) -> Result<DrivenOrder, OrderFailure> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        self.orders
            .submit(
                plan(request, walk),
                Box::new(move |o| {
                    Box::pin(async move {
                        let _ = done.send(o);
                    })
                }),
            )
            .unwrap();
        let outcome = tokio::time::timeout(Duration::from_secs(120), outcome)
            .await
            .expect("the order ends")
            .unwrap();
        outcome.result
    }

    async fn stop(self) {
        self.ticker.abort();
        self.broker.shutdown().await;
        self.sim.shutdown().await;
    }
}

/// A SPY bull call 5 wide, just above the money, about a month out; with
/// its mid and natural debit at the time of asking.
async fn bull_call(
    broker: &IbBroker,
    order_ref: &str,
    quantity: u32,
) -> (OrderRequest, Decimal, Decimal) {
    let params = broker.option_chain("SPY").await.unwrap();
    let params = &params[0];
    let expiry = params.expirations[4];
    let stock = broker.stock("SPY").await.unwrap();
    let spot = broker.snapshot(&stock).await.unwrap();
    let spot = spot.last.or(spot.mid()).unwrap();
    let low = *params.strikes.iter().find(|k| **k >= spot).unwrap();
    let high = low + Decimal::from(5);
    let leg = |strike| {
        OptionContract::builder()
            .underlying("SPY")
            .expiry(expiry)
            .strike(Price::new(strike))
            .right(Right::Call)
            .build()
            .unwrap()
    };
    let long = broker.option(&leg(low)).await.unwrap();
    let short = broker.option(&leg(high)).await.unwrap();
    let lq = broker.snapshot(&long).await.unwrap();
    let sq = broker.snapshot(&short).await.unwrap();
    let mid = lq.mid().unwrap() - sq.mid().unwrap();
    let natural = lq.ask.unwrap() - sq.bid.unwrap();
    let spread = VerticalSpread::from_legs(
        SpreadKind::BullCall,
        long.option().unwrap().clone(),
        short.option().unwrap().clone(),
    )
    .unwrap();
    let request = OrderRequest::vertical(
        order_ref,
        spread,
        OrderPurpose::Entry,
        quantity,
        NetPrice::Debit(mid),
    )
    .unwrap();
    LEGS.lock()
        .unwrap()
        .insert(order_ref.to_string(), (long, short));
    (request, mid.round_dp(2), natural)
}

/// The legs' contracts of each request made, by reference (the journal
/// keeps them with the order).
static LEGS: std::sync::Mutex<
    std::collections::BTreeMap<String, (vspread_core::ContractInfo, vspread_core::ContractInfo)>,
> = std::sync::Mutex::new(std::collections::BTreeMap::new());

/// The plan the order manager takes for `request`.
fn plan(request: &OrderRequest, walk: &PriceWalk) -> OrderPlan {
    let OrderTarget::Vertical {
        spread, purpose, ..
    } = &request.target
    else {
        unreachable!("verticals only")
    };
    let (long, short) = LEGS.lock().unwrap()[&request.order_ref].clone();
    let (long, short) = if spread.long().con_id() == Some(long.con_id) {
        (long, short)
    } else {
        (short, long)
    };
    let first = walk.prices[0];
    OrderPlan {
        record: JournaledOrder {
            order_ref: request.order_ref.clone(),
            purpose: *purpose,
            spread_ref: request.order_ref.clone(),
            symbol: spread.underlying().to_string(),
            currency: "USD".into(),
            kind: spread.kind(),
            long: journal_leg(&long).unwrap(),
            short: journal_leg(&short).unwrap(),
            quantity: request.quantity,
            limit: first.amount(),
            credit: first.is_credit(),
            mid: first.amount(),
            reason: "test".into(),
            context: "{}".into(),
            created_at: Utc::now(),
        },
        request: request.clone(),
        walk: walk.clone(),
        reprice: None,
        decided_at: std::time::Instant::now(),
        signal_at: None,
    }
}

fn cents(n: i64) -> Decimal {
    Decimal::new(n, 2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_walked_limit_fills_when_it_reaches_the_natural_price() {
    let s = stack().await;
    let (request, mid, natural) = bull_call(&s.broker, "walk-fills", 2).await;
    assert!(natural >= mid, "the natural debit is never below the mid");
    // Two prices below the mid (so below the natural: they rest), then
    // beyond the natural (the market may move a little while the walk
    // runs).
    let walk = PriceWalk {
        prices: vec![
            NetPrice::Debit(mid - cents(30)),
            NetPrice::Debit(mid - cents(15)),
            NetPrice::Debit(natural + cents(25)),
        ],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(120),
    };
    let driven = s.drive(&request, &walk).await.unwrap();
    assert_eq!(driven.end, OrderEnd::Filled, "{driven:?}");
    assert_eq!(driven.steps_taken, 2);
    assert_eq!(driven.last_price, NetPrice::Debit(natural + cents(25)));
    assert_eq!(driven.filled(), Decimal::from(2));
    assert_eq!(driven.fills.legs.len(), 2);
    assert!(
        driven
            .fills
            .legs
            .values()
            .all(|l| l.quantity == Decimal::from(2))
    );
    assert!(driven.fills.commissions > Decimal::ZERO);
    // The walk's steps took simulated time: at least two intervals.
    assert!(driven.ended_at - driven.placed_at >= chrono::Duration::seconds(20));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmarketable_limit_is_cancelled_at_its_timeout() {
    let s = stack().await;
    let (request, mid, _) = bull_call(&s.broker, "never-fills", 1).await;
    let walk = PriceWalk {
        prices: vec![NetPrice::Debit((mid - cents(60)).max(cents(1)))],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(30),
    };
    let driven = s.drive(&request, &walk).await.unwrap();
    assert_eq!(driven.end, OrderEnd::TimedOut, "{driven:?}");
    assert_eq!(driven.filled(), Decimal::ZERO);
    assert!(driven.ended_at - driven.placed_at >= chrono::Duration::seconds(30));
    assert_eq!(driven.steps_taken, 0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_fills_cut_short_by_the_timeout_are_kept_to_the_contract() {
    let s = stack().await;
    let (request, _, natural) = bull_call(&s.broker, "partial", 10).await;
    // One combo per fill, one fill per simulated second: ten cannot fill
    // within a four-second timeout.
    s.sim.force_partial_fills(Some(1));
    let walk = PriceWalk {
        prices: vec![NetPrice::Debit(natural + cents(25))],
        interval: Duration::from_secs(60),
        timeout: Duration::from_secs(4),
    };
    let driven = s.drive(&request, &walk).await.unwrap();
    assert_eq!(driven.end, OrderEnd::TimedOut, "{driven:?}");
    let filled = driven.filled();
    assert!(
        filled > Decimal::ZERO && filled < Decimal::from(10),
        "{filled}"
    );
    // Both legs filled exactly as many as the combo.
    assert_eq!(driven.fills.legs.len(), 2);
    assert!(driven.fills.legs.values().all(|l| l.quantity == filled));
    assert_eq!(driven.fills.filled, filled, "the final status agrees");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_order_is_reported_with_its_code() {
    let s = stack().await;
    let (request, _, natural) = bull_call(&s.broker, "rejected", 1).await;
    s.sim.reject_next_orders(1);
    let walk = PriceWalk {
        prices: vec![NetPrice::Debit(natural)],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(30),
    };
    match s.drive(&request, &walk).await {
        Ok(driven) => assert!(
            matches!(driven.end, OrderEnd::Rejected { code: 201, .. }),
            "{driven:?}"
        ),
        Err(OrderFailure::Broker(BrokerError::OrderRejected { code, .. })) => {
            assert_eq!(code, 201)
        }
        Err(e) => panic!("{e}"),
    }
    let journaled = s.journal.orders().unwrap();
    assert_eq!(journaled.len(), 1, "journaled before it was sent");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_spread_fills_at_a_credit_near_its_natural() {
    let s = stack().await;
    // The bull call's legs sold as a bear call: short the lower strike.
    let (bull, mid, _) = bull_call(&s.broker, "credit", 3).await;
    let OrderTarget::Vertical { spread, .. } = &bull.target else {
        unreachable!()
    };
    let bear = VerticalSpread::from_legs(
        SpreadKind::BearCall,
        spread.short().clone(),
        spread.long().clone(),
    )
    .unwrap();
    // The bull call's debit mid is the bear call's credit mid.
    let request = OrderRequest::vertical(
        "credit",
        bear,
        OrderPurpose::Entry,
        3,
        NetPrice::Credit(mid),
    )
    .unwrap();
    let walk = PriceWalk {
        prices: vec![NetPrice::Credit(cents(1))],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(30),
    };
    let driven = s.drive(&request, &walk).await.unwrap();
    assert_eq!(driven.end, OrderEnd::Filled, "{driven:?}");
    let net = driven.fills.order.average_price().unwrap();
    eprintln!(
        "credit fill: combo average {net}, mid {mid}, legs {:?}",
        driven.fills.legs
    );
    assert!(net.abs() > cents(1) && net.abs() <= mid + cents(5), "{net}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_the_gateway_at_once_whatever_the_walk() {
    let s = stack().await;
    let (request, mid, _) = bull_call(&s.broker, "killed", 1).await;
    // Resting far below the market, with an hour between steps: nothing
    // but the cancel can end it.
    let walk = PriceWalk {
        prices: vec![
            NetPrice::Debit((mid - cents(60)).max(cents(1))),
            NetPrice::Debit((mid - cents(50)).max(cents(1))),
        ],
        interval: Duration::from_secs(3600),
        timeout: Duration::from_secs(7200),
    };
    let (done, outcome) = tokio::sync::oneshot::channel();
    s.orders
        .submit(
            plan(&request, &walk),
            Box::new(move |o| {
                Box::pin(async move {
                    let _ = done.send(o);
                })
            }),
        )
        .unwrap();
    let cancelled_at_gateway = || {
        s.sim.ledger()["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_ref"] == "killed" && o["status"] == "Cancelled")
    };
    while s.broker.order_id_of("killed").is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Working at the gateway.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.orders.is_working("killed"));
    let asked = std::time::Instant::now();
    let cancelled = s.orders.cancel_entries();
    assert_eq!(cancelled, vec!["killed".to_string()]);
    let at_gateway = loop {
        if cancelled_at_gateway() {
            break asked.elapsed();
        }
        assert!(asked.elapsed() < Duration::from_secs(5), "never cancelled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    eprintln!("cancel asked -> cancelled at the gateway: {at_gateway:?}");
    assert!(at_gateway < Duration::from_millis(100), "{at_gateway:?}");
    let outcome = tokio::time::timeout(Duration::from_secs(10), outcome)
        .await
        .unwrap()
        .unwrap();
    let driven = outcome.result.unwrap();
    assert_eq!(
        driven.end,
        OrderEnd::Cancelled {
            reason: CancelReason::KillSwitch
        }
    );
    // The end callback runs before the order leaves the working set (a
    // spread is never out of both the book and the working orders), so
    // idleness follows the outcome by a moment, not at the same instant.
    assert!(s.orders.wait_idle(Duration::from_secs(1)).await);
    s.stop().await;
}
