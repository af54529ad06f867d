//! From a scanned spread to a filled combo, against `vspread sim` over TCP
//! through the real broker layer: the best bullish spread of a planned,
//! quoted chain becomes a BAG order whose mid and natural match what the
//! scanner computed, whose what-if margin is the spread's max loss, and
//! which fills when its limit is walked from the mid past the natural.

mod support;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_analytics::scanner::scan;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::SpreadKind;
use vspread_core::broker::{Broker, NetPrice};
use vspread_core::clock::ManualClock;
use vspread_core::config::{Config, ScannerConfig};
use vspread_engine::chain_acquisition::{AcquisitionSettings, acquire_chain, atm_vol_estimate};
use vspread_engine::chain_plan::{ModelInputs, PlanMargins, plan_chain};
use vspread_engine::entry_order::QuotedSpread;
use vspread_engine::order_driver::{OrderEnd, PriceWalk, drive_order};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, SimSettings};

const SEED: u64 = 3;
const SYMBOL: &str = "AAPL";

fn amount(p: NetPrice) -> Decimal {
    match p {
        NetPrice::Debit(d) | NetPrice::Credit(d) => d,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_best_bullish_spread_is_priced_previewed_and_filled() {
    let market = support::market_chain::market(SEED);
    let today = market.trading_date();
    let clock = Arc::new(ManualClock::new(market.now()));
    let mut settings = SimSettings::new(clock.clone());
    settings.heartbeat = Duration::from_millis(20);
    let server = Server::new(settings, market, Venue::new(VenueConfig::new(SEED)));
    let sim = server.start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let config = Config::default();
    let mut broker_settings = BrokerSettings::from_config(&config);
    broker_settings.address = sim.local_addr().to_string();
    let budget = broker_settings.max_lines;
    let broker = IbBroker::start(broker_settings);
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();

    // Plan, quote and scan the bullish kinds.
    let kinds = [SpreadKind::BullCall, SpreadKind::BullPut];
    let scanner = ScannerConfig {
        kinds: kinds.to_vec(),
        ..config.scanner.clone()
    };
    let stock = broker.stock(SYMBOL).await.unwrap();
    let q = broker.snapshot(&stock).await.unwrap();
    let spot = q.last.or(q.mid()).and_then(|d| d.to_f64()).unwrap();
    let params = broker.option_chain(SYMBOL).await.unwrap();
    let expiries: Vec<_> = params.iter().flat_map(|p| p.expirations.clone()).collect();
    let strikes: Vec<_> = params.iter().flat_map(|p| p.strikes.clone()).collect();
    let vol = atm_vol_estimate(&broker, SYMBOL, &expiries, &strikes, spot, today, 40)
        .await
        .unwrap()
        .unwrap();
    let model = ModelInputs {
        spot,
        vol,
        rate: 0.0,
        today,
    };
    let margins = PlanMargins {
        delta: config.market_data.model_delta_margin,
        ratio: config.market_data.model_ratio_margin,
    };
    let plan = plan_chain(&params, &model, &kinds, &scanner, margins);
    let acquired = acquire_chain(
        &broker,
        &plan,
        spot,
        &AcquisitionSettings::for_line_budget(budget),
    )
    .await
    .unwrap();
    let result = scan(&acquired.chain, &scanner);
    let best = result
        .rows
        .iter()
        .find(|r| r.kind == SpreadKind::BullCall)
        .expect("a bull call among the results");

    // Exact prices agree with the scanner's f64 ones.
    let quoted = QuotedSpread::from_row(best, &acquired).expect("both legs were acquired");
    let mid = quoted.mid().unwrap();
    let natural = quoted.natural().unwrap();
    assert!(matches!(mid, NetPrice::Debit(_)));
    assert!((amount(mid).to_f64().unwrap() - best.price).abs() < 1e-9);
    assert!((amount(natural).to_f64().unwrap() - best.natural).abs() < 1e-9);
    assert_eq!(quoted.spread.long.strike.to_f64(), Some(best.long_strike));
    assert_eq!(quoted.spread.short.strike.to_f64(), Some(best.short_strike));

    // The what-if margin of a debit spread is what it can lose.
    let start = NetPrice::Debit(amount(mid).round_dp(2));
    let request = quoted.opening_order("entry-to-fill-1", 2, start);
    let preview = broker.what_if(&request).await.unwrap();
    let margin = preview.init_margin_change.unwrap();
    let max_loss = amount(start) * Decimal::from(100 * 2);
    assert_eq!(margin, max_loss, "{preview:?}");

    // Walked from the mid to just past the natural: filled.
    let ticking = clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(chrono::Duration::seconds(1));
        }
    });
    let walk = PriceWalk {
        prices: vec![start, NetPrice::Debit(amount(natural) + Decimal::new(5, 2))],
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(60),
    };
    let driven = drive_order(&broker, clock.as_ref(), &request, &walk, None)
        .await
        .unwrap();
    ticker.abort();
    assert_eq!(driven.end, OrderEnd::Filled, "{driven:?}");
    assert_eq!(driven.filled(), Decimal::from(2));
    let paid = driven
        .fills
        .order
        .average_price()
        .expect("a combo fill price");
    assert!(paid <= amount(driven.last_price), "{paid}");
    broker.shutdown().await;
    sim.shutdown().await;
}
