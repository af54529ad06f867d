//! Model-guided chain acquisition against `vspread sim` over TCP, through
//! the real broker layer: the plan asks for a fraction of the chain's
//! quotes, and the scan of those quotes finds exactly what a scan of the
//! whole chain finds.

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::prelude::ToPrimitive;
use vspread_analytics::scanner::scan;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::SpreadKind;
use vspread_core::broker::Broker;
use vspread_core::clock::ManualClock;
use vspread_core::config::{Config, ScannerConfig};
use vspread_engine::chain_acquisition::{AcquisitionSettings, acquire_chain, atm_vol_estimate};
use vspread_engine::chain_plan::{ModelInputs, PlanMargins, plan_chain};
use vspread_sim::market::Market;
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

mod support;

use support::market_chain::scan_listed;

const SEED: u64 = 11;

/// Monday 2026-11-23 10:00 New York; the clock stays there, so the
/// market does not move while the test compares.
fn market() -> Market {
    support::market_chain::market(SEED)
}

async fn start_sim() -> ServerHandle {
    let clock = Arc::new(ManualClock::new(market().now()));
    let mut settings = SimSettings::new(clock);
    settings.heartbeat = Duration::from_millis(20);
    let server = Server::new(settings, market(), Venue::new(VenueConfig::new(SEED)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    server.start(listener)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_quotes_a_fraction_of_the_chain_and_loses_no_result() {
    let sim = start_sim().await;
    let config = Config::default();
    let mut settings = BrokerSettings::from_config(&config);
    settings.address = sim.local_addr().to_string();
    let budget = settings.max_lines;
    let broker = IbBroker::start(settings);
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();

    let symbol = "SPY";
    let today = market().trading_date();
    let stock = broker.stock(symbol).await.unwrap();
    let spot_quote = broker.snapshot(&stock).await.unwrap();
    let spot = spot_quote
        .last
        .or(spot_quote.mid())
        .and_then(|d| d.to_f64())
        .unwrap();
    let params = broker.option_chain(symbol).await.unwrap();
    assert!(!params.is_empty());

    // A bullish signal: only the bullish kinds are scanned.
    let kinds = [SpreadKind::BullCall, SpreadKind::BullPut];
    let scanner = ScannerConfig {
        kinds: kinds.to_vec(),
        ..config.scanner.clone()
    };
    let expiries: Vec<_> = params.iter().flat_map(|p| p.expirations.clone()).collect();
    let strikes: Vec<_> = params.iter().flat_map(|p| p.strikes.clone()).collect();
    let target_dte = (scanner.dte_min + scanner.dte_max) / 2;
    let vol = atm_vol_estimate(
        &broker, symbol, &expiries, &strikes, spot, today, target_dte,
    )
    .await
    .unwrap()
    .expect("an at-the-money IV");
    let model = ModelInputs {
        spot,
        vol,
        rate: 0.0,
        today,
    };
    let plan = plan_chain(
        &params,
        &model,
        &kinds,
        &scanner,
        PlanMargins {
            delta: config.market_data.model_delta_margin,
            ratio: config.market_data.model_ratio_margin,
        },
    );
    assert!(!plan.options.is_empty());

    let acquired = acquire_chain(
        &broker,
        &plan,
        spot,
        &AcquisitionSettings::for_line_budget(budget),
    )
    .await
    .unwrap();
    assert_eq!(acquired.incomplete_quotes, 0);
    assert!(acquired.bad_rows.is_empty(), "{:?}", acquired.bad_rows);
    assert_eq!(
        acquired.quote_requests + acquired.unknown_contracts,
        plan.options.len()
    );
    assert_eq!(acquired.chain.len(), acquired.quote_requests);

    let planned = scan(&acquired.chain, &scanner);
    // Every listed option of the window, straight from the market model:
    // the chain a scan without the plan would see.
    let (full, full_rows) = scan_listed(&market(), symbol, spot, &scanner, |_, _, _| true);
    assert!(!full.rows.is_empty(), "the full chain yields spreads");
    assert!(
        planned.rows.iter().all(|r| kinds.contains(&r.kind)),
        "only the signal's kinds"
    );
    assert_eq!(
        support::market_chain::spreads_of(&planned),
        support::market_chain::spreads_of(&full),
        "the plan lost no result"
    );
    // Quote requests against requesting every strike of the chain
    // parameters for every expiry of the window (the target: at most a
    // quarter), and, for information, against the options each expiry of
    // the window really lists.
    let ratio = acquired.quote_requests as f64 / plan.naive_requests as f64;
    eprintln!(
        "{symbol}: {} quote requests ({} lookups, {} unknown) vs {} naive ({} listed in the window): ratio {ratio:.3}",
        acquired.quote_requests,
        acquired.contract_lookups,
        acquired.unknown_contracts,
        plan.naive_requests,
        full_rows
    );
    assert!(ratio <= 0.25, "ratio {ratio}");
    assert!(broker.metrics().link_status().lines_active <= budget as i64);
    broker.shutdown().await;
    sim.shutdown().await;
}
