//! The broker layer against `vspread sim` over TCP: line budget with LRU
//! eviction, then the gateway's daily restart survived (reconnect within
//! 2 s of the gateway accepting again, every line resubscribed, reconciled).

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use vspread_broker::watchdog::Backoff;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::{Broker, BrokerError, BrokerEvent, ConnectionEvent, MarketDataIssue};
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_core::{
    NetPrice, OptionContract, OrderFills, OrderPurpose, OrderRequest, Price, VerticalSpread,
};
use vspread_core::{Right, SpreadKind};
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

/// An option to look up, by identity.
fn option_spec(
    underlying: &str,
    expiry: chrono::NaiveDate,
    strike: Decimal,
    right: Right,
) -> OptionContract {
    OptionContract::builder()
        .underlying(underlying)
        .expiry(expiry)
        .strike(Price::new(strike))
        .right(right)
        .build()
        .unwrap()
}

const SYMBOLS: [&str; 14] = [
    "SPY", "QQQ", "IWM", "DIA", "GLD", "TLT", "XLF", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA",
    "META", "GOOGL",
];

async fn start_sim() -> ServerHandle {
    start_sim_with_clock().await.0
}

async fn start_sim_with_clock() -> (ServerHandle, Arc<ManualClock>) {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let mut s = SimSettings::new(clock.clone());
    s.heartbeat = Duration::from_millis(20);
    let market = Market::new(MarketConfig {
        seed: 7,
        start,
        always_open: false,
    });
    let server = Server::new(s, market, Venue::new(VenueConfig::new(7)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (server.start(listener), clock)
}

fn settings(address: String, max_lines: usize) -> BrokerSettings {
    let mut s = BrokerSettings::from_config(&Config::default());
    s.address = address;
    s.max_lines = max_lines;
    s.connect_timeout = Duration::from_secs(2);
    s.backoff = Backoff {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(500),
    };
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_stay_within_budget_and_survive_the_daily_restart() {
    let sim = start_sim().await;
    let broker = IbBroker::start(settings(sim.local_addr().to_string(), 10));
    let mut events = broker.events();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();

    // 14 symbols through 10 lines, the first two pinned.
    let mut contracts = Vec::new();
    for s in SYMBOLS {
        contracts.push(broker.stock(s).await.unwrap());
    }
    for (i, c) in contracts.iter().enumerate() {
        broker.subscribe_quotes(c, i < 2).await.unwrap();
        assert!(broker.metrics().link_status().lines_active <= 10);
    }
    let m = broker.metrics().link_status();
    assert_eq!(m.lines_active, 10);
    assert_eq!(m.lines_evicted, 4);
    assert_eq!(m.lines_pinned, 2);
    // Pinned lines were never evicted; the LRU ones (2..6) were.
    for (i, c) in contracts.iter().enumerate() {
        let held = broker.latest_quote(c.con_id).is_some();
        assert_eq!(held, !(2..6).contains(&i), "line {i}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sim.market_data_lines(),
        10,
        "the gateway holds exactly our lines"
    );
    let reconciliations_before = broker.metrics().link_status().reconciliations;
    assert!(reconciliations_before >= 1, "reconciled at first connect");

    // Daily restart: connections dropped and refused for a second.
    let window = Duration::from_secs(1);
    let restarted_at = tokio::time::Instant::now();
    sim.daily_restart(window);
    let mut evicted_seen = 0;
    let after = loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("reconnect within 10 s")
            .unwrap();
        match ev {
            BrokerEvent::Connection(ConnectionEvent::Reconnected {
                after,
                lines_restored,
            }) => {
                assert_eq!(lines_restored, 10);
                break after;
            }
            BrokerEvent::MarketData {
                issue: MarketDataIssue::Evicted,
                ..
            } => evicted_seen += 1,
            _ => {}
        }
    };
    assert_eq!(evicted_seen, 4);
    let since_accepting = restarted_at.elapsed().saturating_sub(window);
    assert!(
        since_accepting <= Duration::from_secs(2),
        "ready {since_accepting:?} after the gateway accepted again (connect took {after:?})"
    );
    broker.wait_ready(Duration::from_secs(5)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = broker.metrics().link_status();
    assert!(m.reconciliations > reconciliations_before, "{m:?}");
    assert!(m.disconnects >= 1);
    assert_eq!(m.resubscriptions, 10);
    assert_eq!(m.pacing_violations_reported, 0);
    assert_eq!(sim.market_data_lines(), 10, "every line resubscribed");
    eprintln!("reconnect: ready {since_accepting:?} after the gateway accepted again");
    broker.shutdown().await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bag_order_is_previewed_and_followed_to_filled_with_partial_fills() {
    let (sim, clock) = start_sim_with_clock().await;
    let broker = IbBroker::start(settings(sim.local_addr().to_string(), 90));
    let mut events = broker.events();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();

    let order = spy_bull_call(&broker, "test-bag-1", 3).await;
    let preview = broker.what_if(&order).await.unwrap();
    assert!(
        preview.init_margin_change.unwrap() > Decimal::ZERO,
        "{preview:?}"
    );
    assert!(preview.commission.unwrap() > Decimal::ZERO, "{preview:?}");

    sim.force_partial_fills(Some(1));
    let id = broker.place_order(&order).await.unwrap();
    assert_eq!(broker.order_id_of("test-bag-1"), Some(id));
    assert!(matches!(
        broker.place_order(&order).await,
        Err(vspread_core::broker::BrokerError::DuplicateOrderRef(_))
    ));
    let mut fills = OrderFills::new("test-bag-1");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !fills.is_done() {
        clock.advance(chrono::Duration::seconds(2));
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(50), events.next()).await
        {
            if let BrokerEvent::Order(e) = ev {
                fills.apply(&e);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not filled: {fills:?}"
        );
    }
    assert_eq!(fills.status, Some(vspread_core::OrderStatus::Filled));
    assert_eq!(fills.filled, Decimal::from(3));
    assert_eq!(fills.remaining, Decimal::ZERO);
    assert_eq!(fills.legs.len(), 2);
    for leg in fills.legs.values() {
        assert_eq!(leg.quantity, Decimal::from(3));
    }
    assert!(fills.commissions > Decimal::ZERO);
    broker.shutdown().await;
    sim.shutdown().await;
}

/// A walk step sent as the order fills: the gateway refuses to modify a
/// filled order (104). That refusal is a notice about the change, not an
/// end of the order: the order stays filled, no `Rejected` is published,
/// so nothing downstream mistakes a filled order for a cancelled one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modification_refused_after_the_fill_leaves_the_order_filled() {
    use vspread_core::{NetPriceOrLimit, OrderEvent};
    let (sim, clock) = start_sim_with_clock().await;
    let broker = IbBroker::start(settings(sim.local_addr().to_string(), 90));
    let mut events = broker.events();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let order = spy_bull_call(&broker, "modify-after-fill", 1).await;
    let id = broker.place_order(&order).await.unwrap();
    let mut fills = OrderFills::new("modify-after-fill");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while fills.status != Some(vspread_core::OrderStatus::Filled) {
        clock.advance(chrono::Duration::seconds(2));
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(50), events.next()).await
        {
            if let BrokerEvent::Order(e) = ev {
                fills.apply(&e);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not filled: {fills:?}"
        );
    }

    let vspread_core::OrderTarget::Vertical { price, .. } = order.target else {
        panic!("a vertical");
    };
    broker
        .modify_price(id, NetPriceOrLimit::Net(price))
        .await
        .unwrap();
    let code = expect_event(&mut events, "the refusal", |ev| match ev {
        BrokerEvent::Order(OrderEvent::Rejected { code, .. }) => {
            panic!("a refused modification ended the order ({code})")
        }
        BrokerEvent::Notice(n) if n.message.contains("modify-after-fill") => Some(n.code),
        _ => None,
    })
    .await;
    assert_eq!(code, 104);
    // Anything that trails is not a rejection either.
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(300), events.next()).await {
        if let BrokerEvent::Order(e) = &ev {
            assert!(!matches!(e, OrderEvent::Rejected { .. }), "{e:?}");
            fills.apply(e);
        }
    }
    assert_eq!(fills.status, Some(vspread_core::OrderStatus::Filled));
    broker.shutdown().await;
    sim.shutdown().await;
}

/// A gateway that refuses our client id (TWS's 326: another session holds
/// it, as after a restart before the old session is gone) closes each
/// attempt right after the handshake; the watchdog keeps backing off and
/// is ready soon after the id is free again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_in_use_is_retried_until_it_is_free() {
    let sim = start_sim().await;
    let address = sim.local_addr().to_string();
    let holder = ibapi::Client::connect(&address, 1).await.unwrap();
    let mut s = settings(address, 10);
    s.client_id = 1;
    let broker = IbBroker::start(s);
    let mut events = broker.events();
    // Several refused attempts, and never ready while the id is held.
    let mut failures = 0;
    while failures < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("the watchdog keeps trying")
            .unwrap();
        if let BrokerEvent::Connection(ConnectionEvent::Lost { .. }) = ev {
            failures += 1;
        }
    }
    assert!(!broker.is_ready());
    drop(holder);
    broker
        .wait_ready(Duration::from_secs(5))
        .await
        .expect("ready once the id is free");
    broker.shutdown().await;
    sim.shutdown().await;
}

/// A SPY bull call 5 wide from the money, priced 5 cents through its
/// natural (marketable) as of now.
async fn spy_bull_call(broker: &IbBroker, order_ref: &str, quantity: u32) -> OrderRequest {
    let chain = broker.option_chain("SPY").await.unwrap();
    let params = &chain[0];
    let expiry = params.expirations[2];
    let spot = broker.stock("SPY").await.unwrap();
    let quote = broker.snapshot(&spot).await.unwrap();
    let mid = quote.mid().or(quote.last).expect("SPY quote");
    let low = *params.strikes.iter().find(|k| **k >= mid).unwrap();
    let high = *params
        .strikes
        .iter()
        .find(|k| **k >= low + Decimal::from(5))
        .unwrap();
    let leg = |strike| option_spec("SPY", expiry, strike, Right::Call);
    let long = broker.option(&leg(low)).await.unwrap();
    let short = broker.option(&leg(high)).await.unwrap();
    let (lq, sq) = (
        broker.snapshot(&long).await.unwrap(),
        broker.snapshot(&short).await.unwrap(),
    );
    let natural = lq.ask.unwrap() - sq.bid.unwrap_or_default();
    let width = high - low;
    let limit = (natural + Decimal::new(5, 2)).min(width);
    let spread = VerticalSpread::from_legs(
        SpreadKind::BullCall,
        long.option().unwrap().clone(),
        short.option().unwrap().clone(),
    )
    .unwrap();
    OrderRequest::vertical(
        order_ref,
        spread,
        OrderPurpose::Entry,
        quantity,
        NetPrice::Debit(limit),
    )
    .unwrap()
}

/// The connection drops while a combo order is in flight (the gateway
/// answers slowly, and every socket is closed before the answer): after
/// the reconnect and its reconciliation the order is known exactly once,
/// by its orderRef, and sending it again never makes a second order at the
/// gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_in_flight_when_the_connection_drops_is_sent_once() {
    let (sim, _clock) = start_sim_with_clock().await;
    let broker = Arc::new(IbBroker::start(settings(sim.local_addr().to_string(), 90)));
    let mut events = broker.events();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let order = spy_bull_call(&broker, "inflight-1", 2).await;

    sim.delay_responses(Duration::from_millis(300));
    let placing = {
        let (broker, order) = (broker.clone(), order.clone());
        tokio::spawn(async move { broker.place_order(&order).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.disconnect_all();
    let first = placing.await.unwrap();
    sim.delay_responses(Duration::ZERO);

    // Back, and reconciled.
    let mut reconnected = false;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(15), events.next())
            .await
            .expect("reconnect and reconcile within 15 s")
            .unwrap();
        match ev {
            BrokerEvent::Connection(ConnectionEvent::Reconnected { .. }) => reconnected = true,
            BrokerEvent::Reconciled(_) if reconnected => break,
            _ => {}
        }
    }
    let again = broker.place_order(&order).await;
    match (&first, &again) {
        // The gateway had it: the broker knows it and refuses a second.
        (_, Err(BrokerError::DuplicateOrderRef(r))) => assert_eq!(r, "inflight-1"),
        // It never reached the gateway: the second attempt is the only one.
        (Err(_), Ok(_)) => {}
        other => panic!("sent twice? {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sim.orders_with_ref("inflight-1"),
        1,
        "exactly one order at the gateway"
    );
    assert!(broker.order_id_of("inflight-1").is_some());
    eprintln!("first attempt: {first:?}; second: {again:?}");
    broker.shutdown().await;
    sim.shutdown().await;
}

/// A burst of 1,000 mixed requests at once (option and stock lookups, chain
/// parameters, snapshots, positions, account summaries; many identical,
/// which are merged) all complete, the simulator refuses none for the
/// message rate, and no connection ever sent more than the configured rate
/// within one sliding second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_a_thousand_requests_never_breaks_the_message_rate() {
    use futures::future::{BoxFuture, join_all};
    let (sim, _clock) = start_sim_with_clock().await;
    let config = Config::default();
    let rate = config.pacing.max_messages_per_sec as usize;
    let mut s = settings(sim.local_addr().to_string(), 90);
    s.request_timeout = Duration::from_secs(120);
    let broker = Arc::new(IbBroker::start(s));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let chain = broker.option_chain("SPY").await.unwrap();
    let params = chain[0].clone();
    let spot = broker.stock("SPY").await.unwrap();
    let price = broker.snapshot(&spot).await.unwrap().mid().unwrap();
    let near: Vec<Decimal> = {
        let mut strikes = params.strikes.clone();
        strikes.sort_by_key(|k| (*k - price).abs());
        strikes.into_iter().take(100).collect()
    };

    let mut calls: Vec<BoxFuture<'static, Result<(), BrokerError>>> = Vec::new();
    for (i, strike) in near.iter().cycle().take(500).enumerate() {
        let b = broker.clone();
        let spec = option_spec(
            "SPY",
            params.expirations[i / 100],
            *strike,
            if i % 2 == 0 { Right::Call } else { Right::Put },
        );
        calls.push(Box::pin(async move {
            match b.option(&spec).await {
                Ok(_) | Err(BrokerError::NoSecurityDefinition { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        }));
    }
    for i in 0..200 {
        let b = broker.clone();
        let symbol = SYMBOLS[i % SYMBOLS.len()];
        calls.push(Box::pin(async move {
            let stock = b.stock(symbol).await?;
            b.snapshot(&stock).await.map(|_| ())
        }));
    }
    for i in 0..100 {
        let b = broker.clone();
        let symbol = SYMBOLS[i % SYMBOLS.len()];
        calls.push(Box::pin(
            async move { b.option_chain(symbol).await.map(|_| ()) },
        ));
    }
    for i in 0..200 {
        let b = broker.clone();
        calls.push(Box::pin(async move {
            if i % 2 == 0 {
                b.positions().await.map(|_| ())
            } else {
                b.account_summary().await.map(|_| ())
            }
        }));
    }
    assert_eq!(calls.len(), 1000);
    let started = tokio::time::Instant::now();
    let results = join_all(calls).await;
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} failed, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    let (peak, refused) = sim.message_pacing();
    let m = broker.metrics().link_status();
    eprintln!(
        "1,000 requests in {:?}; peak {peak} messages in one second (configured {rate}); refused {refused}; {m:?}",
        started.elapsed()
    );
    assert_eq!(refused, 0, "no message refused for the rate (error 100)");
    assert_eq!(m.pacing_violations_reported, 0);
    assert!(
        peak <= rate,
        "peak {peak} messages in a second, configured {rate}"
    );
    broker.shutdown().await;
    sim.shutdown().await;
}

/// Waits for the first event `pick` accepts, within five seconds.
async fn expect_event<T>(
    events: &mut vspread_core::broker::EventStream,
    what: &str,
    mut pick: impl FnMut(&BrokerEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let ev = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no {what} within 5 s"))
            .unwrap();
        if let Some(t) = pick(&ev) {
            return t;
        }
    }
}

/// The gateway's notices are read from the moment the connection is
/// accepted: with a gateway that answers slowly, the farm notices it sends
/// on connect are counted before the reconciliation after connect is done
/// (which waits on the gateway's answers), not only after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_are_counted_while_the_connection_is_reconciled() {
    let (sim, _clock) = start_sim_with_clock().await;
    sim.delay_responses(Duration::from_millis(150));
    let mut settings = settings(sim.local_addr().to_string(), 10);
    settings.connect_timeout = Duration::from_secs(10);
    let broker = IbBroker::start(settings);
    let mut events = broker.events();
    expect_event(&mut events, "ready", |e| {
        matches!(e, BrokerEvent::Connection(ConnectionEvent::Ready)).then_some(())
    })
    .await;
    let counted = broker.metrics().link_status().errors_by_code;
    let mut reconciled_after = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, events.next()).await {
        if matches!(ev, BrokerEvent::Reconciled(_)) {
            reconciled_after = true;
            break;
        }
    }
    sim.delay_responses(Duration::ZERO);
    assert!(
        reconciled_after,
        "the reconciliation ends after the link is ready"
    );
    for code in [2104, 2106, 2158] {
        assert_eq!(
            counted.get(&code),
            Some(&1),
            "farm notice {code} counted by the time the link was ready: {counted:?}"
        );
    }
}

/// Each IB code the layer knows, sent by the simulator over the wire,
/// produces its domain outcome: 1100 the gateway-disconnected state (not
/// ready), 1102 ready again with every line kept, 1101 ready again with
/// every line resubscribed, 354 / 10090 / 10197 a market data issue on each
/// line, the farm notices 2104 / 2106 / 2158 a notice that leaves the
/// connection ready, 200 a missing security definition, 201 a rejected
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ib_codes_produce_their_domain_outcomes() {
    use vspread_core::OrderEvent;
    use vspread_core::broker::MarketDataIssue as Issue;
    let (sim, _clock) = start_sim_with_clock().await;
    let broker = IbBroker::start(settings(sim.local_addr().to_string(), 10));
    let mut events = broker.events();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let mut lines = Vec::new();
    for s in ["SPY", "QQQ"] {
        let c = broker.stock(s).await.unwrap();
        broker.subscribe_quotes(&c, false).await.unwrap();
        lines.push(c.con_id);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    sim.send_notice(1100).unwrap();
    expect_event(&mut events, "1100", |e| {
        matches!(
            e,
            BrokerEvent::Connection(ConnectionEvent::GatewayDisconnected)
        )
        .then_some(())
    })
    .await;
    assert!(
        !broker.is_ready(),
        "1100: not ready while TWS has no link to IB"
    );

    let before = broker.metrics().link_status().resubscriptions;
    sim.send_notice(1102).unwrap();
    expect_event(&mut events, "1102", |e| {
        matches!(
            e,
            BrokerEvent::Connection(ConnectionEvent::RestoredDataKept)
        )
        .then_some(())
    })
    .await;
    expect_event(&mut events, "ready after 1102", |e| {
        matches!(e, BrokerEvent::Connection(ConnectionEvent::Ready)).then_some(())
    })
    .await;
    assert!(broker.is_ready());
    assert_eq!(
        broker.metrics().link_status().resubscriptions,
        before,
        "1102 keeps the lines"
    );

    sim.send_notice(1100).unwrap();
    sim.send_notice(1101).unwrap();
    expect_event(&mut events, "1101", |e| {
        matches!(
            e,
            BrokerEvent::Connection(ConnectionEvent::RestoredDataLost)
        )
        .then_some(())
    })
    .await;
    expect_event(&mut events, "ready after 1101", |e| {
        matches!(e, BrokerEvent::Connection(ConnectionEvent::Ready)).then_some(())
    })
    .await;
    assert_eq!(
        broker.metrics().link_status().resubscriptions,
        before + 2,
        "1101 resubscribes every line"
    );
    assert!(broker.is_ready());
    let mut held = 0;
    for _ in 0..100 {
        held = sim.market_data_lines();
        if held == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(held, 2, "the gateway serves both lines again");

    // Market data codes go to each line's request id. 10090 is advisory
    // (the line goes on); 10197 and 354 end the line: each gets fresh lines.
    for (code, want, symbols) in [
        (10090, Issue::PartiallySubscribed, None),
        (10197, Issue::CompetingSession, Some(["IWM", "DIA"])),
        (
            354,
            Issue::NotSubscribed { code: 354 },
            Some(["GLD", "TLT"]),
        ),
    ] {
        let mut targets = lines.clone();
        if let Some(symbols) = symbols {
            targets.clear();
            for s in symbols {
                let c = broker.stock(s).await.unwrap();
                broker.subscribe_quotes(&c, false).await.unwrap();
                targets.push(c.con_id);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(sim.send_notice(code).unwrap() >= 2, "{code}: one per line");
        let mut seen = Vec::new();
        while !targets.iter().all(|t| seen.contains(t)) {
            let con_id = expect_event(&mut events, &format!("{code}"), |e| match e {
                BrokerEvent::MarketData { con_id, issue } if *issue == want => Some(*con_id),
                _ => None,
            })
            .await;
            seen.push(con_id);
        }
    }

    // A line the gateway ended can be asked for again: quotes flow anew.
    let iwm = broker.stock("IWM").await.unwrap();
    broker.subscribe_quotes(&iwm, false).await.unwrap();
    expect_event(
        &mut events,
        "IWM quotes after 10197 ended its line",
        |e| match e {
            BrokerEvent::Quote(q) if q.con_id == iwm.con_id => Some(()),
            _ => None,
        },
    )
    .await;

    for code in [2104, 2106, 2158] {
        sim.send_notice(code).unwrap();
        let notice = expect_event(&mut events, &format!("{code}"), |e| match e {
            BrokerEvent::Notice(n) if n.code == code => Some(n.message.clone()),
            _ => None,
        })
        .await;
        assert!(notice.contains("OK"), "{notice}");
        assert!(broker.is_ready(), "{code} is information only");
    }

    let missing = option_spec(
        "SPY",
        chrono::NaiveDate::from_ymd_opt(2030, 1, 18).unwrap(),
        Decimal::from(1),
        Right::Call,
    );
    match broker.option(&missing).await {
        Err(BrokerError::NoSecurityDefinition { code, .. }) => assert_eq!(code, 200),
        other => panic!("200 expected: {other:?}"),
    }

    let order = spy_bull_call(&broker, "rejected-1", 1).await;
    sim.reject_next_orders(1);
    let placed = broker.place_order(&order).await;
    if let Err(e) = &placed {
        assert!(
            matches!(e, BrokerError::OrderRejected { code: 201, .. }),
            "{e}"
        );
    } else {
        let code = expect_event(&mut events, "201", |e| match e {
            BrokerEvent::Order(OrderEvent::Rejected {
                order_ref, code, ..
            }) if order_ref == "rejected-1" => Some(*code),
            _ => None,
        })
        .await;
        assert_eq!(code, 201);
    }
    broker.shutdown().await;
    sim.shutdown().await;
}

/// The original plan's scenario at full size: 120 option contracts asked
/// for through a budget of 90 lines, the first five pinned. The total never
/// exceeds 90, the 30 least recently used unpinned lines are the ones
/// evicted (each counted), the pinned ones never are, and the gateway
/// holds exactly the broker's 90 lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ninety_lines_for_a_hundred_and_twenty_contracts() {
    let (sim, _clock) = start_sim_with_clock().await;
    let broker = IbBroker::start(settings(sim.local_addr().to_string(), 90));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let params = broker.option_chain("SPY").await.unwrap()[0].clone();
    let spot = broker.stock("SPY").await.unwrap();
    let price = broker.snapshot(&spot).await.unwrap().mid().unwrap();
    let mut strikes = params.strikes.clone();
    strikes.sort_by_key(|k| (*k - price).abs());
    let mut contracts = Vec::new();
    for strike in strikes.iter().take(60) {
        for right in [Right::Call, Right::Put] {
            let spec = option_spec("SPY", params.expirations[1], *strike, right);
            contracts.push(broker.option(&spec).await.unwrap());
        }
    }
    assert_eq!(contracts.len(), 120);
    for (i, c) in contracts.iter().enumerate() {
        broker.subscribe_quotes(c, i < 5).await.unwrap();
        assert!(broker.metrics().link_status().lines_active <= 90, "at {i}");
    }
    let m = broker.metrics().link_status();
    assert_eq!(
        (m.lines_active, m.lines_evicted, m.lines_pinned),
        (90, 30, 5)
    );
    for (i, c) in contracts.iter().enumerate() {
        let held = broker.latest_quote(c.con_id).is_some();
        assert_eq!(held, !(5..35).contains(&i), "contract {i}");
    }
    let mut at_gateway = 0;
    for _ in 0..100 {
        at_gateway = sim.market_data_lines();
        if at_gateway == 90 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        at_gateway, 90,
        "the gateway holds exactly the broker's lines"
    );
    broker.shutdown().await;
    sim.shutdown().await;
}

/// The layer drops its own connection (as `vspread validate` does to
/// measure a reconnect): the link is ready again, and every held line is
/// subscribed again and quoting, none lost to the old client's shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_on_purpose_comes_back_with_every_line() {
    let (sim, clock) = start_sim_with_clock().await;
    let broker = IbBroker::start(settings(sim.local_addr().to_string(), 90));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let mut contracts = Vec::new();
    for s in &SYMBOLS[..6] {
        let c = broker.stock(s).await.unwrap();
        broker.subscribe_quotes(&c, false).await.unwrap();
        contracts.push(c);
    }
    assert_eq!(broker.metrics().link_status().lines_active, 6);
    let mut events = broker.events();
    broker.drop_connection();
    let (mut lost, mut restored) = (false, None);
    while restored.is_none() {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("back within 10 s")
            .unwrap();
        match ev {
            BrokerEvent::Connection(ConnectionEvent::Lost { reason, .. }) => {
                assert!(reason.contains("dropped on request"), "{reason}");
                lost = true;
            }
            BrokerEvent::Connection(ConnectionEvent::Reconnected { lines_restored, .. }) => {
                restored = Some(lines_restored);
            }
            BrokerEvent::MarketData { con_id, issue } => {
                panic!("line {con_id} ended by the drop: {issue:?}")
            }
            _ => {}
        }
    }
    assert!(lost);
    assert_eq!(restored, Some(6));
    // Each line quotes again on the new connection.
    clock.advance(chrono::Duration::seconds(5));
    let mut quoting = std::collections::BTreeSet::new();
    while quoting.len() < contracts.len() {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("quotes after the reconnect")
            .unwrap();
        if let BrokerEvent::Quote(q) = ev {
            quoting.insert(q.con_id);
        }
    }
    assert_eq!(broker.metrics().link_status().lines_active, 6);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sim.market_data_lines(),
        6,
        "the gateway holds every line again"
    );
    broker.shutdown().await;
    sim.shutdown().await;
}
