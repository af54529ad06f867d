//! The entry decision's stages one by one, against `vspread sim` over TCP
//! through the real broker layer: the chain stage plans and quotes the
//! bullish kinds; the scan stage ranks them and resolves the best spread's
//! legs by the identity its row carries, with a mid and natural that match
//! what the scanner computed; the preview stage's what-if margin is the
//! spread's max loss; the order stage's plan, handed to the order manager,
//! fills when its limit is walked from the mid past the natural.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_core::{NetPrice, OrderPurpose, OrderTarget, SpreadKind};
use vspread_engine::decision::order::{PlanInput, plan};
use vspread_engine::decision::{chain, preview, scan};
use vspread_engine::events::EventBus;
use vspread_engine::journal_io::JournalIo;
use vspread_engine::orders::{OrderEnd, OrderManager};
use vspread_journal::SqliteJournal;

use support::stack::{broker, sim_on, ticker};

const SEED: u64 = 3;
const SYMBOL: &str = "AAPL";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_best_bullish_spread_is_priced_previewed_and_filled() {
    let market = support::market_chain::market(SEED);
    let today = market.trading_date();
    let clock = Arc::new(ManualClock::new(market.now()));
    let sim = sim_on(market, SEED, clock.clone(), Some(Duration::from_millis(20))).await;
    let config = Config::default();
    let broker = broker(&sim, &config, clock.clone()).await;

    // The chain stage: the market, then the planned and quoted chain.
    let kinds = chain::kinds(vspread_core::Direction::Bullish, &config.scanner).unwrap();
    assert_eq!(kinds, vec![SpreadKind::BullCall, SpreadKind::BullPut]);
    let market = chain::market(&*broker, SYMBOL, &config.scanner, today)
        .await
        .unwrap();
    let chained = chain::chain(&*broker, SYMBOL, &market, &kinds, &config, today)
        .await
        .unwrap();
    assert!(chained.acquired.quote_requests < chained.naive_requests);

    // The scan stage: the best spread, its legs found by line.
    let scanned = scan::scan_chain(&chained.acquired, &chained.scanner);
    let best = &scanned.result.rows[0];
    let quoted = scanned.best.clone().expect("both legs were acquired");
    assert_eq!(quoted.spread.kind(), best.kind);
    assert_eq!(quoted.long.line, best.long_line);
    assert_eq!(quoted.short.line, best.short_line);
    assert_eq!(
        quoted.spread.long().strike().value().to_f64(),
        Some(best.long_strike)
    );
    assert_eq!(
        quoted.spread.short().strike().value().to_f64(),
        Some(best.short_strike)
    );
    // Exact prices agree with the scanner's f64 ones.
    let (mid, natural) = quoted.scanned_prices().unwrap();
    assert!((mid.amount().to_f64().unwrap() - best.price).abs() < 1e-9);
    assert!((natural.amount().to_f64().unwrap() - best.natural).abs() < 1e-9);

    // The preview stage: a debit spread's what-if margin is what it can
    // lose.
    let start = NetPrice::for_spread(
        &quoted.spread,
        OrderPurpose::Entry,
        mid.amount().round_dp(2),
    );
    let request = vspread_core::OrderRequest::vertical(
        "entry-to-fill-1",
        quoted.spread.clone(),
        OrderPurpose::Entry,
        2,
        start,
    )
    .unwrap();
    let previewed = preview::preview(&*broker, &config, Decimal::from(1_000_000), &request)
        .await
        .unwrap()
        .unwrap();
    let max_loss = match start {
        NetPrice::Debit(d) => d,
        NetPrice::Credit(c) => quoted.spread.width().value() - c,
    } * Decimal::from(100 * 2);
    assert_eq!(previewed.margin, max_loss, "{previewed:?}");

    // The order stage: walked from the mid to past the natural (the walk
    // may concede all of the way), through the order manager: filled.
    let _ticker = ticker(
        clock.clone(),
        Duration::from_millis(10),
        chrono::Duration::seconds(1),
    );
    let mut execution = config.execution.clone();
    execution.max_slippage_pct = 100.0;
    execution.walk_interval_s = 10.0;
    execution.order_timeout_s = 120.0;
    let fixed = Arc::new(move || Some((mid, natural)));
    let planned = plan(
        PlanInput {
            order_ref: "vs-0000000000000001-e0".into(),
            purpose: OrderPurpose::Entry,
            spread_ref: "vs-0000000000000001-e0".into(),
            spread: &quoted.spread,
            long: &quoted.long.contract,
            short: &quoted.short.contract,
            quantity: 2,
            mid,
            natural,
            execution: &execution,
            reason: "test".into(),
            context: "{}".into(),
            now: Utc::now(),
            decided_at: Instant::now(),
            signal_at: None,
        },
        fixed,
    )
    .unwrap();
    assert_eq!(planned.walk.prices.first(), Some(&start));
    assert_eq!(planned.walk.prices.last(), Some(&natural), "the bound");
    assert!(matches!(
        planned.request.target,
        OrderTarget::Vertical {
            purpose: OrderPurpose::Entry,
            ..
        }
    ));
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
    let orders = Arc::new(OrderManager::new(
        broker.clone(),
        clock.clone(),
        JournalIo::new(journal),
        Arc::new(EventBus::new(1000, clock.clone())),
    ));
    let (done, outcome) = tokio::sync::oneshot::channel();
    orders
        .submit(
            planned,
            Box::new(move |o| {
                Box::pin(async move {
                    let _ = done.send(o);
                })
            }),
        )
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(60), outcome)
        .await
        .unwrap()
        .unwrap();
    let driven = outcome.result.unwrap();
    assert_eq!(driven.end, OrderEnd::Filled, "{driven:?}");
    assert_eq!(driven.filled(), Decimal::from(2));
    let paid = driven
        .fills
        .order
        .average_price()
        .expect("a combo fill price");
    assert!(paid <= driven.last_price.amount(), "{paid}");
    broker.shutdown().await;
    sim.shutdown().await;
}
