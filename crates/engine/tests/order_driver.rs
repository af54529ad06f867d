//! The order driver against `vspread sim` over TCP through the real broker
//! layer: a walked BAG limit fills once it reaches the natural price, an
//! unmarketable one is cancelled at its timeout, partial fills are kept to
//! the contract when the timeout cuts an order short, and a rejection is
//! reported as such.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use rust_decimal::Decimal;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::{
    Broker, BrokerError, ContractInfo, NetPrice, OpenClose, OptionSpec, OrderRequest, OrderTarget,
    SpreadLeg, TimeInForce, VerticalSpread,
};
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_core::{Right, SpreadKind};
use vspread_engine::order_driver::{OrderEnd, PriceWalk, drive_order};
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

struct Stack {
    sim: ServerHandle,
    broker: IbBroker,
    clock: Arc<ManualClock>,
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
    let broker = IbBroker::start(s);
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
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
        clock,
        ticker,
    }
}

impl Stack {
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
    let leg = |strike| OptionSpec {
        underlying: "SPY".into(),
        expiry,
        strike,
        right: Right::Call,
    };
    let long = broker.option(&leg(low)).await.unwrap();
    let short = broker.option(&leg(high)).await.unwrap();
    let lq = broker.snapshot(&long).await.unwrap();
    let sq = broker.snapshot(&short).await.unwrap();
    let mid = lq.mid().unwrap() - sq.mid().unwrap();
    let natural = lq.ask.unwrap() - sq.bid.unwrap();
    let as_leg = |c: &ContractInfo, strike| SpreadLeg {
        con_id: c.con_id,
        strike,
        right: Right::Call,
        expiry,
    };
    let request = OrderRequest {
        order_ref: order_ref.into(),
        target: OrderTarget::Vertical {
            spread: VerticalSpread {
                underlying: "SPY".into(),
                kind: SpreadKind::BullCall,
                long: as_leg(&long, low),
                short: as_leg(&short, high),
                currency: "USD".into(),
            },
            intent: OpenClose::Open,
            price: NetPrice::Debit(mid),
        },
        quantity,
        tif: TimeInForce::Day,
    };
    (request, mid.round_dp(2), natural)
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
    let driven = drive_order(&s.broker, s.clock.as_ref(), &request, &walk, None)
        .await
        .unwrap();
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
    let driven = drive_order(&s.broker, s.clock.as_ref(), &request, &walk, None)
        .await
        .unwrap();
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
    let driven = drive_order(&s.broker, s.clock.as_ref(), &request, &walk, None)
        .await
        .unwrap();
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
    match drive_order(&s.broker, s.clock.as_ref(), &request, &walk, None).await {
        Ok(driven) => assert!(
            matches!(driven.end, OrderEnd::Rejected { code: 201, .. }),
            "{driven:?}"
        ),
        Err(BrokerError::OrderRejected { code, .. }) => assert_eq!(code, 201),
        Err(e) => panic!("{e}"),
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_spread_fills_at_a_credit_near_its_natural() {
    let s = stack().await;
    // The bull call's legs sold as a bear call: short the lower strike.
    let (mut request, mid, natural) = bull_call(&s.broker, "credit", 3).await;
    let OrderTarget::Vertical { spread, price, .. } = &mut request.target else {
        unreachable!()
    };
    std::mem::swap(&mut spread.long, &mut spread.short);
    spread.kind = SpreadKind::BearCall;
    // The bull call's debit mid is the bear call's credit mid; its natural
    // credit is the short bid less the long ask.
    *price = NetPrice::Credit(mid);
    let credit_natural = Decimal::from(5) - natural;
    let _ = credit_natural;
    let walk = PriceWalk {
        prices: vec![NetPrice::Credit(cents(1))],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(30),
    };
    let driven = drive_order(&s.broker, s.clock.as_ref(), &request, &walk, None)
        .await
        .unwrap();
    assert_eq!(driven.end, OrderEnd::Filled, "{driven:?}");
    let net = driven.fills.order.average_price().unwrap();
    eprintln!(
        "credit fill: combo average {net}, mid {mid}, legs {:?}",
        driven.fills.legs
    );
    assert!(net.abs() > cents(1) && net.abs() <= mid + cents(5), "{net}");
    s.stop().await;
}
