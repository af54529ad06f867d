//! The order recorder against `vspread sim` over TCP and a real SQLite
//! journal: while another connection holds the journal's write lock past
//! the journal's busy timeout, so that its writes fail, an order fills at
//! the gateway; once the lock is gone every status, execution and
//! commission the gateway reported is in the journal, and the money the
//! journal folds equals the simulated account's cash change to the cent.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::{Broker, BrokerEvent};
use vspread_core::clock::{Clock, ManualClock};
use vspread_core::config::Config;
use vspread_core::journal::{Journal, JournaledOrder};
use vspread_core::{
    NetPrice, OptionContract, OrderEvent, OrderPurpose, OrderRequest, OrderStatus, Price, Right,
    SpreadKind, VerticalSpread,
};
use vspread_engine::decision::order::journal_leg;
use vspread_engine::events::EventBus;
use vspread_engine::journal_io::JournalIo;
use vspread_engine::orders::{
    OrderEnd, OrderManager, OrderPlan, PriceWalk, TradingRecords, spawn_order_recorder,
};
use vspread_engine::storage::StorageHealth;
use vspread_journal::SqliteJournal;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, SimSettings};

fn cents(n: i64) -> Decimal {
    Decimal::new(n, 2)
}

/// Waits until `done` holds, for at most `limit`.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let since = Instant::now();
    while since.elapsed() < limit {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fills_reported_while_the_journal_refuses_writes_are_journaled_once_it_takes_them() {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let mut settings = SimSettings::new(clock.clone());
    settings.heartbeat = Duration::from_millis(20);
    let market = Market::new(MarketConfig {
        seed: 5,
        start,
        always_open: false,
    });
    let venue = VenueConfig::new(5);
    let starting_cash = venue.starting_cash;
    let sim = Server::new(settings, market, Venue::new(venue))
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let mut s = BrokerSettings::from_config(&Config::default());
    s.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start_with_clock(s, clock.clone()));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
    // Writes give up on another connection's lock after a tenth of a
    // second (five by default), so every report of the fill meets a failed
    // write while the lock is held, without a long test.
    let busy = Duration::from_millis(100);
    journal.set_busy_timeout(busy).unwrap();
    let io = JournalIo::new(journal.clone());
    let records = Arc::new(TradingRecords::new(io, Arc::new(StorageHealth::new(None))));
    let recorder = spawn_order_recorder(&*broker, records.clone(), clock.clone());
    let orders = Arc::new(OrderManager::with_records(
        broker.clone(),
        clock.clone(),
        records.clone(),
        Arc::new(EventBus::new(1000, clock.clone())),
    ));
    let mut seen = broker.events();

    // A SPY bull call just above the money, about a month out.
    let params = broker.option_chain("SPY").await.unwrap();
    let params = &params[0];
    let expiry = params.expirations[4];
    let stock = broker.stock("SPY").await.unwrap();
    let spot = broker.snapshot(&stock).await.unwrap();
    let spot = spot.last.or(spot.mid()).unwrap();
    let low = *params.strikes.iter().find(|k| **k >= spot).unwrap();
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
    let short = broker.option(&leg(low + Decimal::from(5))).await.unwrap();
    let lq = broker.snapshot(&long).await.unwrap();
    let sq = broker.snapshot(&short).await.unwrap();
    let mid = (lq.mid().unwrap() - sq.mid().unwrap()).round_dp(2);
    let natural = lq.ask.unwrap() - sq.bid.unwrap();
    let spread = VerticalSpread::from_legs(
        SpreadKind::BullCall,
        long.option().unwrap().clone(),
        short.option().unwrap().clone(),
    )
    .unwrap();
    let order_ref = "vs-0123456789abcdef-e0";
    // Rests well below the market until its one step, to beyond the
    // natural price: it fills at the step, which the test takes by moving
    // the clock.
    let resting = NetPrice::Debit((mid - cents(60)).max(cents(1)));
    let walk = PriceWalk {
        prices: vec![resting, NetPrice::Debit(natural + cents(25))],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(3600),
    };
    let request =
        OrderRequest::vertical(order_ref, spread.clone(), OrderPurpose::Entry, 3, resting).unwrap();
    let plan = OrderPlan {
        record: JournaledOrder {
            order_ref: order_ref.into(),
            purpose: OrderPurpose::Entry,
            spread_ref: order_ref.into(),
            symbol: "SPY".into(),
            currency: "USD".into(),
            kind: spread.kind(),
            long: journal_leg(&long).unwrap(),
            short: journal_leg(&short).unwrap(),
            quantity: 3,
            limit: resting.amount(),
            credit: false,
            mid,
            reason: "test".into(),
            context: "{}".into(),
            created_at: clock.now(),
        },
        request,
        walk,
        reprice: None,
        decided_at: Instant::now(),
        signal_at: None,
    };
    let (done, outcome) = tokio::sync::oneshot::channel();
    orders
        .submit(
            plan,
            Box::new(move |o| {
                Box::pin(async move {
                    let _ = done.send(o);
                })
            }),
        )
        .unwrap();

    // Resting at the gateway, its acknowledgement journaled.
    let acknowledged = eventually(Duration::from_secs(20), || {
        journal
            .orders()
            .unwrap()
            .iter()
            .any(|o| o.order.order_ref == order_ref && o.last_status.is_some())
    })
    .await;
    assert!(acknowledged, "the resting order's status is journaled");

    // Another connection takes the write lock; then the order fills.
    let lock = vspread_journal::testing::lock_writes(journal.path()).unwrap();
    // Simulated time passes (a second every 10 ms): the walk's step comes
    // and the simulator fills over the time that passes.
    let ticking = clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(chrono::Duration::seconds(1));
        }
    });
    let mut executions = BTreeSet::new();
    let mut commissions = BTreeSet::new();
    let mut filled_at = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    // Until the final status and every execution's commission are in.
    while filled_at.is_none() || commissions.len() < executions.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, seen.next())
            .await
            .expect("the order fills at the gateway")
            .unwrap();
        let BrokerEvent::Order(event) = event else {
            continue;
        };
        match event {
            OrderEvent::Execution(x) if x.order_ref == order_ref => {
                executions.insert(x.exec_id);
            }
            OrderEvent::Commission {
                order_ref: r,
                exec_id,
                ..
            } if r == order_ref => {
                commissions.insert(exec_id);
            }
            OrderEvent::Status {
                order_ref: r,
                status: OrderStatus::Filled,
                ..
            } if r == order_ref => {
                filled_at.get_or_insert_with(Instant::now);
            }
            _ => {}
        }
    }
    assert!(!executions.is_empty());
    // Held for a second past the last report, ten busy timeouts: the
    // journal's writes of every report time out and fail meanwhile.
    let filled_at = filled_at.unwrap();
    tokio::time::sleep((busy * 10).saturating_sub(filled_at.elapsed())).await;
    drop(lock);

    let outcome = tokio::time::timeout(Duration::from_secs(60), outcome)
        .await
        .expect("the order ends")
        .unwrap();
    let driven = outcome.result.unwrap();
    assert_eq!(driven.end, OrderEnd::Filled, "{driven:?}");
    // Everything the recorder received is written once the lock is gone.
    let written = eventually(Duration::from_secs(30), || {
        records.pending() == 0
            && journal
                .fills()
                .unwrap()
                .iter()
                .filter(|f| f.order_ref == order_ref)
                .count()
                == executions.len()
    })
    .await;
    assert!(written, "the held records are written");
    recorder.abort();

    let journaled: BTreeSet<String> = journal
        .fills()
        .unwrap()
        .into_iter()
        .filter(|f| f.order_ref == order_ref)
        .map(|f| f.exec_id)
        .collect();
    assert_eq!(journaled, executions, "every execution is journaled");
    let record = journal
        .orders()
        .unwrap()
        .into_iter()
        .find(|o| o.order.order_ref == order_ref)
        .unwrap();
    assert_eq!(record.last_status.as_deref(), Some("Filled"));
    assert_eq!(record.end.map(|e| e.outcome).as_deref(), Some("filled"));
    assert_eq!(record.commissions, driven.fills.commissions);
    assert!(record.commissions > Decimal::ZERO);
    // The journal's money is the account's, to the cent.
    let folded: Decimal = journal.spreads().unwrap().iter().map(|s| s.cash).sum();
    let cash: Decimal = sim.ledger()["cash"].as_str().unwrap().parse().unwrap();
    assert_eq!(folded, cash - starting_cash);

    ticker.abort();
    broker.shutdown().await;
    sim.shutdown().await;
}
