//! The trader's cockpit end to end: previews, manual entries and closes,
//! the decisions record, daily bars, the scanner watch and the risk
//! gate's use, the KPIs, through the real router over a real engine (a `vspread
//! sim` over TCP, the broker layer, a SQLite journal, a config file), every
//! answer checked against the OpenAPI document.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::{Value, json};
use vspread_analytics::scanner::SpreadRow;
use vspread_core::broker::Broker;
use vspread_core::clock::Clock;
use vspread_core::config::default_file_text;
use vspread_core::journal::Journal;
use vspread_core::{OrderPurpose, OrderRequest};
use vspread_engine::config_store::ConfigStore;
use vspread_engine::decision::quoted::QuotedSpread;
use vspread_engine::decision::{chain, scan};
use vspread_engine::kpis::{self, JournalView, Period};
use vspread_engine::watch::WatchOutcome;
use vspread_server::{AppState, Auth, Metrics};

#[path = "support/client.rs"]
mod client;
#[path = "support/engine.rs"]
mod engine;

use axum::http::StatusCode;
use client::{ADMIN, VIEWER, call, call_raw};

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
    running: engine::Running,
}

/// Scanner settings every fixture starts from: a window of a few expiries
/// keeps each chain to a few hundred quote requests (tens of seconds at the
/// gateway's message rate otherwise).
const LEAN_SCANNER: [(&str, i64); 2] = [("scanner.dte_min", 21), ("scanner.dte_max", 30)];

/// A real engine on the default config (a lean scanner) with `settings`
/// (dotted key, value) set in its file first.
async fn fixture(settings: &[(&str, Value)]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, default_file_text()).unwrap();
    let store = ConfigStore::new(&path);
    for (key, value) in LEAN_SCANNER {
        store.set(key, json!(value)).unwrap();
    }
    for (key, value) in settings {
        store.set(key, value.clone()).unwrap();
    }
    let running = engine::start(dir.path(), &path).await;
    let state = AppState {
        engine: running.engine.clone(),
        auth: Arc::new(Auth::new(ADMIN, Some(VIEWER.into()))),
        metrics: Arc::new(Metrics::new()),
    };
    Fixture {
        _dir: dir,
        state,
        running,
    }
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn dec(v: &Value) -> Decimal {
    d(v.as_str()
        .unwrap_or_else(|| panic!("not a decimal string: {v}")))
}

/// The best spread a scan of `symbol`'s chain ranks now (every
/// configured kind), with the ticket that names it.
async fn scanned(f: &Fixture, symbol: &str) -> (SpreadRow, QuotedSpread, Value) {
    let config = f.state.engine.live().current().config.clone();
    let broker = &*f.running.broker;
    let today = vspread_core::expiry::eastern_date(f.running.clock.now());
    let market = chain::market(broker, symbol, &config.scanner, today)
        .await
        .unwrap();
    let chained = chain::chain(
        broker,
        symbol,
        &market,
        &config.scanner.kinds,
        &config,
        today,
    )
    .await
    .unwrap();
    let scanned = scan::scan_chain(&chained.acquired, &chained.scanner);
    let row = scanned
        .result
        .rows
        .first()
        .unwrap_or_else(|| panic!("{symbol}: the scan ranked nothing"))
        .clone();
    let quoted = scanned.best.expect("the best row's legs were acquired");
    let spread = &quoted.spread;
    let ticket = json!({
        "symbol": symbol,
        "kind": spread.kind().name(),
        "expiry": spread.expiry(),
        "long_strike": spread.long().strike().value().to_string(),
        "short_strike": spread.short().strike().value().to_string(),
        "quantity": 1,
    });
    (row, quoted, ticket)
}

/// The row a scan with every filter open makes of the two quotes a
/// preview priced (its legs' bid, ask, IV, delta and open interest).
fn rescan(p: &Value) -> SpreadRow {
    use vspread_analytics::scanner::{ChainBuilder, OptionRow, scan};
    use vspread_core::config::ScannerConfig;
    let kind: vspread_core::SpreadKind = serde_json::from_value(p["kind"].clone()).unwrap();
    let expiry: chrono::NaiveDate = serde_json::from_value(p["expiry"].clone()).unwrap();
    let num = |v: &Value| -> f64 { v.as_str().unwrap().parse().unwrap() };
    let mut builder = ChainBuilder::new();
    for (line, leg) in p["legs"].as_array().unwrap().iter().enumerate() {
        let row = OptionRow {
            underlying: p["symbol"].as_str().unwrap(),
            underlying_price: p["underlying"].as_f64().unwrap(),
            expiry: vspread_engine::events::yyyymmdd(expiry),
            dte: p["dte"].as_i64().unwrap(),
            strike: num(&leg["strike"]),
            right: kind.right(),
            bid: num(&leg["bid"]),
            ask: num(&leg["ask"]),
            delta: leg["greeks"]["delta"].as_f64().unwrap(),
            iv: leg["greeks"]["iv"].as_f64().unwrap(),
            open_interest: leg["open_interest"].as_str().unwrap().parse().unwrap(),
            volume: 0,
        };
        builder.push(line + 1, &row).unwrap();
    }
    let (chain, bad) = builder.build();
    assert!(bad.is_empty(), "{bad:?}");
    let open = ScannerConfig {
        kinds: vec![kind],
        dte_min: 0,
        dte_max: 100_000,
        width_min: 0.0,
        width_max: 1e9,
        min_open_interest: 0,
        max_leg_spread_pct: 1e9,
        short_delta_min: 0.0,
        short_delta_max: 1.0,
        max_debit_to_width: 1e9,
        min_credit_to_width: -1e9,
        min_pop: -1.0,
        min_score: f64::NEG_INFINITY,
        ..ScannerConfig::default()
    };
    scan(&chain, &open).rows.remove(0)
}

/// Waits (real time) until `done` holds.
async fn until<F, Fut>(what: &str, within: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Moves the engine's (manual) clock one second every 10 ms until dropped.
struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn ticker(f: &Fixture) -> Ticker {
    let clock = f.running.clock.clone();
    Ticker(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            clock.advance(chrono::Duration::seconds(1));
        }
    }))
}

fn kinds_of(
    events: &[std::sync::Arc<vspread_engine::events::Event>],
    order_ref: &str,
) -> Vec<&'static str> {
    events
        .iter()
        .filter(|e| e.event.data().to_string().contains(order_ref))
        .map(|e| e.kind())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_has_the_scanners_numbers_and_the_simulators_what_if() {
    let f = fixture(&[]).await;
    let (row, quoted, ticket) = scanned(&f, "SPY").await;
    let (s, _, p) = call(
        &f.state,
        "POST",
        "/api/v1/preview",
        Some(ADMIN),
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");

    // The scanner's numbers, to the bit (JSON carries an f64 exactly): a
    // scan of the two quotes the preview priced ranks the spread with them.
    let sc = &p["scanner"];
    let again = rescan(&p);
    for (name, value) in [
        ("width", again.width),
        ("price", again.price),
        ("natural", again.natural),
        ("max_profit", again.max_profit),
        ("max_loss", again.max_loss),
        ("breakeven", again.breakeven),
        ("pop", again.pop),
        ("ev", again.ev),
        ("score", again.score),
    ] {
        assert_eq!(sc[name].as_f64(), Some(value), "{name}: {sc}");
    }
    // And they are the numbers the first scan of the chain ranked it by
    // (its quotes a tick apart at most).
    for (name, value) in [
        ("price", row.price),
        ("max_profit", row.max_profit),
        ("max_loss", row.max_loss),
        ("breakeven", row.breakeven),
        ("pop", row.pop),
        ("ev", row.ev),
        ("score", row.score),
    ] {
        let got = sc[name].as_f64().unwrap();
        assert!(
            (got - value).abs() <= 0.02 * value.abs().max(1.0),
            "{name}: {got} vs {value}"
        );
    }
    // A row the scanner kept passes every filter it applied.
    for filter in p["filters"].as_array().unwrap() {
        assert_eq!(filter["passed"], true, "{filter}");
    }
    assert_eq!(p["filters"].as_array().unwrap().len(), 10);

    // Exact prices from the same quotes, money for the quantity.
    let (mid, natural) = quoted.scanned_prices().unwrap();
    assert_eq!(dec(&p["mid"]["amount"]), mid.amount());
    assert_eq!(dec(&p["natural"]["amount"]), natural.amount());
    let per_share_loss = if quoted.spread.is_debit() {
        mid.amount()
    } else {
        quoted.spread.width().value() - mid.amount()
    };
    assert_eq!(dec(&p["max_loss"]), per_share_loss * Decimal::from(100));
    assert_eq!(
        dec(&p["max_profit"]),
        quoted.spread.width().value() * Decimal::from(100) - per_share_loss * Decimal::from(100)
    );
    assert_eq!(p["breakevens"].as_array().unwrap().len(), 1);
    assert!(
        (dec(&p["breakevens"][0]).to_string().parse::<f64>().unwrap() - row.breakeven).abs() < 1e-9
    );

    // Legs, their greeks, the net.
    assert_eq!(p["legs"][0]["role"], "long");
    assert_eq!(p["legs"][1]["role"], "short");
    assert_eq!(p["legs"][0]["con_id"], quoted.long.contract.con_id.0);
    let greek = |leg: usize, g: &str| p["legs"][leg]["greeks"][g].as_f64().unwrap();
    for g in ["delta", "gamma", "theta", "vega"] {
        assert_eq!(
            p["net_greeks"][g].as_f64().unwrap(),
            greek(0, g) - greek(1, g),
            "{g}"
        );
        assert!(
            (p["net_greeks"][&format!("position_{g}")].as_f64().unwrap()
                - (greek(0, g) - greek(1, g)) * 100.0)
                .abs()
                < 1e-9
        );
    }

    // The gateway's what-if of the same order, asked directly.
    let first = &p["walk"]["prices"][0];
    let price = serde_json::from_value::<vspread_core::NetPrice>(first.clone()).unwrap();
    let request = OrderRequest::vertical(
        "vs-00000000000000aa-m0",
        quoted.spread.clone(),
        OrderPurpose::Manual,
        1,
        price,
    )
    .unwrap();
    let what_if = f.running.broker.what_if(&request).await.unwrap();
    let margin = what_if.init_margin_change.unwrap();
    assert_eq!(dec(&p["what_if"]["init_margin_change"]), margin);
    assert_eq!(
        p["what_if"]["commission"].as_str().map(d),
        what_if.commission
    );
    assert!(p["what_if"]["equity_with_loan_after"].is_string(), "{p}");
    assert_eq!(
        dec(&p["buying_power_after"]),
        dec(&p["buying_power"]) - margin
    );
    // Nothing refuses a one-lot on a fresh paper account.
    assert_eq!(p["gate"]["passed"], true, "{}", p["gate"]);
    assert_eq!(p["mode"], "paper");
    assert!(p["sizing"]["allowed"].as_u64().unwrap() >= 1);

    // A viewer may preview (it places nothing).
    let (s, _, _) = call(
        &f.state,
        "POST",
        "/api/v1/preview",
        Some(VIEWER),
        Some(ticket),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        f.running.journal.orders().unwrap().is_empty(),
        "nothing placed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_entry_is_walked_filled_held_and_closed_by_hand() {
    let f = fixture(&[]).await;
    let _services = f.state.engine.start_services();
    let (_, _, mut ticket) = scanned(&f, "SPY").await;
    // Walk to the natural in two one-second steps.
    let walk = json!({ "max_walk_steps": 2, "max_slippage_pct": 100.0,
                       "walk_interval_s": 1.0, "order_timeout_s": 600.0 });
    ticket["limit"] = walk.clone();
    let (s, _, placed) = call(
        &f.state,
        "POST",
        "/api/v1/orders",
        Some(ADMIN),
        Some(ticket),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{placed}");
    let order_ref = placed["order_ref"].as_str().unwrap().to_string();
    assert!(order_ref.ends_with("-m0"), "{order_ref}");
    assert_eq!(placed["spread_ref"], order_ref.as_str());
    assert_eq!(
        placed["preview"]["walk"]["prices"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let _clock = ticker(&f);
    until(
        "the manual entry held as a position",
        Duration::from_secs(60),
        || async {
            f.state
                .engine
                .views()
                .positions()
                .positions
                .iter()
                .any(|p| p.entry_ref == order_ref)
        },
    )
    .await;

    // In /orders: manual, every limit step, its fills, slippage vs mid.
    let (_, _, body) = call(&f.state, "GET", "/api/v1/orders", Some(VIEWER), None).await;
    let order = body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_ref"] == order_ref.as_str())
        .unwrap_or_else(|| panic!("{body}"))
        .clone();
    assert_eq!(order["purpose"], "manual");
    assert_eq!(order["reason"], "manual");
    assert_eq!(order["outcome"], "filled", "{order}");
    assert_eq!(order["filled"], "1");
    let steps = order["steps"].as_array().unwrap();
    assert!(steps.len() >= 2, "walked: {order}");
    assert_eq!(steps[0]["step"], 0);
    assert_eq!(dec(&steps[0]["price"]), dec(&order["limit"]));
    assert_eq!(order["last_limit"], steps.last().unwrap()["price"]);
    assert!(!order["fills"].as_array().unwrap().is_empty(), "{order}");
    let average = dec(&order["average_price"]);
    let slippage = if order["credit"] == true {
        dec(&order["mid"]) - average
    } else {
        average - dec(&order["mid"])
    };
    assert_eq!(dec(&order["slippage_vs_mid"]), slippage);
    assert_eq!(dec(&order["slippage_money"]), slippage * Decimal::from(100));

    // Like any other entry on the event stream, audited with who.
    let events = f.state.engine.events().recent(10_000);
    let kinds = kinds_of(&events, &order_ref);
    for kind in [
        "manual.entry",
        "order.placed",
        "order.walked",
        "order.filled",
        "order.ended",
        "position.opened",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let entry = events.iter().find(|e| e.kind() == "manual.entry").unwrap();
    assert_eq!(
        entry.event.data()["who"],
        "admin:admin",
        "role:name of the admin token"
    );
    // Journaled as manual, with who in the order's context.
    let journaled = f.running.journal.orders().unwrap();
    let record = journaled
        .iter()
        .find(|o| o.order.order_ref == order_ref)
        .unwrap();
    assert_eq!(record.order.purpose, OrderPurpose::Manual);
    assert!(
        record.order.context.contains("\"who\":\"admin:admin\""),
        "{}",
        record.order.context
    );

    // The position with its payoff and legs; marked by a cycle, its POP
    // and greeks.
    f.state.engine.decide_once(false).await;
    let (_, _, body) = call(&f.state, "GET", "/api/v1/positions", Some(VIEWER), None).await;
    let p = body["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["entry_ref"] == order_ref.as_str())
        .unwrap()
        .clone();
    assert_eq!(p["opened_by"], "manual");
    assert_eq!(p["legs"][0]["role"], "long");
    assert_eq!(p["legs"][1]["role"], "short");
    assert_eq!(p["legs"][0]["strike"], p["long_strike"]);
    assert!(dec(&p["max_profit"]) > Decimal::ZERO && dec(&p["max_loss"]) > Decimal::ZERO);
    assert_eq!(
        dec(&p["max_profit"]) + dec(&p["max_loss"]),
        (dec(&p["long_strike"]) - dec(&p["short_strike"])).abs() * Decimal::from(100),
        "{p}"
    );
    assert_eq!(p["breakevens"].as_array().unwrap().len(), 1);
    let pop = p["pop"].as_f64().unwrap_or_else(|| panic!("{p}"));
    assert!(pop > 0.0 && pop < 1.0);
    assert!(p["greeks"]["delta"].is_number(), "{p}");
    let (_, _, status) = call(&f.state, "GET", "/api/v1/status", Some(VIEWER), None).await;
    assert_eq!(status["risk"]["open_positions"], 1);

    // Closed by hand: a walked closing order, exit reason manual.
    let close = format!("/api/v1/positions/{order_ref}/close");
    let (s, _, closing) = call(
        &f.state,
        "POST",
        &close,
        Some(ADMIN),
        Some(json!({ "limit": walk })),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{closing}");
    let exit_ref = closing["order_ref"].as_str().unwrap().to_string();
    assert!(exit_ref.ends_with("-x0"), "{exit_ref}");
    assert_eq!(closing["quantity"], 1);
    // One closing order at a time.
    let (s, _, body) = call(&f.state, "POST", &close, Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    until("the spread closed", Duration::from_secs(60), || async {
        f.state.engine.views().positions().positions.is_empty()
    })
    .await;
    let (_, _, trades) = call(&f.state, "GET", "/api/v1/trades", Some(VIEWER), None).await;
    assert_eq!(trades["trades"][0]["spread_ref"], order_ref.as_str());
    assert_eq!(trades["trades"][0]["reason"], "manual");
    let events = f.state.engine.events().recent(10_000);
    let close_event = events.iter().find(|e| e.kind() == "manual.close").unwrap();
    assert_eq!(close_event.event.data()["order_ref"], exit_ref.as_str());
    assert!(
        events
            .iter()
            .any(|e| e.kind() == "trade.closed" && e.event.data()["reason"] == "manual")
    );
    // A spread no longer held cannot be closed.
    let (s, _, _) = call(&f.state, "POST", &close, Some(ADMIN), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    kpis_are_the_journals(&f).await;
}

/// `GET /kpis` after one manual entry walked, filled and closed by hand:
/// the engine's KPIs of the journal, each figure also recounted from the
/// journal's records and the other endpoints.
async fn kpis_are_the_journals(f: &Fixture) {
    let (s, _, k) = call(&f.state, "GET", "/api/v1/kpis?days=30", Some(VIEWER), None).await;
    assert_eq!(s, StatusCode::OK, "{k}");
    // What `vspread report` computes from the same journal (the test's
    // orders all fall in the last 30 days).
    let view = JournalView::read(&*f.running.journal).unwrap();
    let report = serde_json::to_string(&kpis::kpis(&view, &Period::all())).unwrap();
    let mut expected: Value = serde_json::from_str(&report).unwrap();
    expected["period"] = k["period"].clone();
    assert_eq!(k, expected);
    assert!(k["period"]["from"].is_string() && k["period"]["to"].is_null());

    // Recounted: every order ended filled.
    let orders = f.running.journal.orders().unwrap();
    let filled = orders
        .iter()
        .filter(|o| o.end.is_some() && !o.filled.is_zero())
        .count();
    assert!(filled >= 2, "the entry and its close");
    assert_eq!(k["orders"]["all"]["ended"], filled);
    assert_eq!(k["orders"]["all"]["filled"], filled);
    assert_eq!(k["orders"]["all"]["rate"], 1.0);
    // Slippage: each filled order's slippage vs mid (from /orders) as a
    // share of its width.
    let (_, _, body) = call(&f.state, "GET", "/api/v1/orders", Some(VIEWER), None).await;
    let pcts: Vec<f64> = body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| !o["slippage_vs_mid"].is_null())
        .map(|o| {
            let width = (dec(&o["long_strike"]) - dec(&o["short_strike"])).abs();
            let slip = dec(&o["slippage_vs_mid"]) / width * Decimal::from(100);
            slip.to_string().parse::<f64>().unwrap()
        })
        .collect();
    assert_eq!(k["slippage"]["samples"], pcts.len(), "{body}");
    let mean = pcts.iter().sum::<f64>() / pcts.len() as f64;
    let measured = k["slippage"]["mean_pct"].as_f64().unwrap();
    assert!((measured - mean).abs() < 1e-9, "{measured} vs {mean}");
    // Trades: the one closed, its P&L as /trades has it.
    let (_, _, trades) = call(&f.state, "GET", "/api/v1/trades", Some(VIEWER), None).await;
    assert_eq!(k["trades"]["closed"], 1);
    assert_eq!(
        dec(&k["trades"]["realised_pnl"]),
        dec(&trades["realised_total"])
    );
    let wins = u64::from(dec(&trades["realised_total"]) > Decimal::ZERO);
    assert_eq!(k["trades"]["wins"], wins);
    // Each of the plan's targets, against its figure.
    let targets = k["targets"].as_array().unwrap();
    let names: Vec<&str> = targets.iter().map(|t| t["kpi"].as_str().unwrap()).collect();
    assert_eq!(names, ["fill_rate", "slippage", "signal_to_order"]);
    assert_eq!(targets[0]["value"], 100.0);
    assert_eq!(targets[0]["met"], true);
    assert_eq!(targets[1]["value"], k["slippage"]["median_pct"]);
    assert_eq!(
        targets[1]["met"],
        k["slippage"]["median_pct"].as_f64().unwrap() < kpis::SLIPPAGE_TARGET_PCT
    );
    // No signal behind a manual entry: nothing measured, nothing judged.
    assert!(targets[2]["value"].is_null() && targets[2]["met"].is_null());

    // A period of no days is refused with the allowed range.
    let (s, _, body) = call(&f.state, "GET", "/api/v1/kpis?days=0", Some(VIEWER), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.to_string().contains("1 to 3650"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kill_switch_and_live_mode_refuse_a_manual_entry() {
    let f = fixture(&[]).await;
    let (_, _, ticket) = scanned(&f, "SPY").await;
    let (s, _, _) = call(
        &f.state,
        "POST",
        "/api/v1/control/kill-switch",
        Some(ADMIN),
        Some(json!({ "engaged": true })),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/orders",
        Some(ADMIN),
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "refused");
    let refusal = &body["error"]["details"]["refusals"][0];
    assert_eq!(refusal["rule"], "kill_switch");
    assert_eq!(refusal["key"], "risk.kill_switch");
    assert!(
        f.running.journal.orders().unwrap().is_empty(),
        "nothing sent"
    );
    let events = f.state.engine.events().recent(1000);
    let refused = events
        .iter()
        .find(|e| e.kind() == "manual.refused")
        .unwrap();
    assert_eq!(
        refused.event.data()["who"],
        "admin:admin",
        "role:name of the admin token"
    );
    // The preview says the same, with every rule.
    let (_, _, p) = call(
        &f.state,
        "POST",
        "/api/v1/preview",
        Some(ADMIN),
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(p["gate"]["passed"], false);
    assert_eq!(p["gate"]["kill_switch"], true);
    assert_eq!(p["gate"]["refusals"][0]["rule"], "kill_switch");

    // Live mode refuses entries by hand unless the config allows them (the
    // same market: the same spread).
    let f = fixture(&[("trading.mode", json!("live"))]).await;
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/orders",
        Some(ADMIN),
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let rules: Vec<&str> = body["error"]["details"]["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["manual_in_live"]);
    assert_eq!(
        body["error"]["details"]["refusals"][0]["key"],
        "execution.manual_orders_live"
    );
    let snap = f.state.engine.live().current();
    let mut allowed = snap.config.as_ref().clone();
    allowed.execution.manual_orders_live = true;
    f.state
        .engine
        .apply(allowed, &snap.version, "test")
        .await
        .unwrap();
    let (_, _, p) = call(
        &f.state,
        "POST",
        "/api/v1/preview",
        Some(ADMIN),
        Some(ticket),
    )
    .await;
    assert_eq!(p["mode"], "live");
    assert_eq!(p["gate"]["passed"], true, "{}", p["gate"]);
}

/// A bull call of two listed strikes of a listed expiry of `symbol` (no
/// quote asked: for requests refused before any is).
async fn listed(f: &Fixture, symbol: &str) -> Value {
    let broker = &*f.running.broker;
    let params = broker.option_chain(symbol).await.unwrap();
    let today = vspread_core::expiry::eastern_date(f.running.clock.now());
    let expiry = params[0]
        .expirations
        .iter()
        .find(|e| (**e - today).num_days() > 20)
        .unwrap();
    let strikes = &params[0].strikes;
    let middle = strikes.len() / 2;
    json!({
        "symbol": symbol, "kind": "bull_call", "expiry": expiry,
        "long_strike": strikes[middle].to_string(),
        "short_strike": strikes[middle + 1].to_string(),
        "quantity": 1,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_unprocessable_request_names_its_field() {
    let f = fixture(&[]).await;
    let ticket = listed(&f, "SPY").await;
    let with = |key: &str, value: Value| {
        let mut t = ticket.clone();
        t[key] = value;
        t
    };
    let (long, short) = (
        ticket["long_strike"].clone(),
        ticket["short_strike"].clone(),
    );
    let mut missing = ticket.clone();
    missing.as_object_mut().unwrap().remove("quantity");
    // The strikes the other way round make the other kind.
    let mut swapped = with("long_strike", short.clone());
    swapped["short_strike"] = long.clone();
    let cases: Vec<(Value, &str)> = vec![
        (with("symbol", json!("ZZZQ")), "symbol"),
        (with("symbol", json!("spy")), "symbol"),
        // A Sunday: no option expires then.
        (with("expiry", json!("2026-12-20")), "expiry"),
        (with("expiry", json!("2026-11-20")), "expiry"),
        (with("long_strike", json!("600.37")), "long_strike"),
        (swapped, "long_strike"),
        (with("short_strike", long.clone()), "short_strike"),
        (with("quantity", json!(0)), "quantity"),
        (with("quantity", json!(-1)), "quantity"),
        (with("kind", json!("iron_condor")), "kind"),
        (missing, "quantity"),
        (with("price", json!(1)), "price"),
        (
            with("limit", json!({ "max_walk_steps": 99 })),
            "limit.max_walk_steps",
        ),
        (
            with("limit", json!({ "order_timeout_s": "long" })),
            "limit.order_timeout_s",
        ),
    ];
    for (body, field) in cases {
        for route in ["/api/v1/preview", "/api/v1/orders"] {
            let (s, _, answer) =
                call(&f.state, "POST", route, Some(ADMIN), Some(body.clone())).await;
            assert_eq!(
                s,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{route} {body}: {answer}"
            );
            assert_eq!(answer["error"]["code"], "invalid_request");
            let fields: Vec<&str> = answer["error"]["details"]["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(
                fields.contains(&field),
                "{route} {body}: {fields:?} lacks {field}"
            );
        }
    }
    let (s, _, _) = call_raw(
        &f.state,
        "POST",
        "/api/v1/preview",
        Some(ADMIN),
        Some("{not json".into()),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The close's limit, before any spread is looked for.
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/positions/vs-0000000000000001-e0/close",
        Some(ADMIN),
        Some(json!({ "limit": { "order_timeout_s": 1.0 } })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["error"]["details"]["errors"][0]["field"],
        "limit.order_timeout_s"
    );
    // Bars of a symbol the gateway does not know, or is no symbol.
    for symbol in ["ZZZQ", "zz"] {
        let (s, _, body) = call(
            &f.state,
            "GET",
            &format!("/api/v1/symbols/{symbol}/bars"),
            Some(VIEWER),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["details"]["errors"][0]["field"], "symbol");
    }
    assert!(
        f.running.journal.orders().unwrap().is_empty(),
        "nothing sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_viewer_token_is_refused_on_every_write() {
    let f = fixture(&[]).await;
    let writes = [
        ("POST", "/api/v1/orders", Some(json!({}))),
        (
            "POST",
            "/api/v1/positions/vs-0000000000000001-e0/close",
            None,
        ),
        ("POST", "/api/v1/orders/vs-0000000000000001-e0/cancel", None),
        ("POST", "/api/v1/control/pause", None),
        ("POST", "/api/v1/control/resume", None),
        (
            "POST",
            "/api/v1/control/kill-switch",
            Some(json!({ "engaged": true })),
        ),
        ("PUT", "/api/v1/config", Some(json!({}))),
        (
            "POST",
            "/api/v1/config/rollback",
            Some(json!({ "id": "x" })),
        ),
    ];
    for (method, uri, body) in writes {
        let (s, _, answer) = call(&f.state, method, uri, Some(VIEWER), body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {uri}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    assert!(!f.state.engine.kill_switch_engaged());
    // Reads stay open to it.
    for uri in [
        "/api/v1/decisions",
        "/api/v1/scans/latest",
        "/api/v1/symbols/SPY/bars?days=5",
        "/api/v1/status",
    ] {
        let (s, _, answer) = call(&f.state, "GET", uri, Some(VIEWER), None).await;
        assert_eq!(s, StatusCode::OK, "{uri}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_record_every_stage_and_link_the_scan_they_acted_on() {
    // A loose high base fires on SPY; the bearish strategy is off.
    let f = fixture(&[
        ("trading.universe", json!(["SPY"])),
        ("strategies.high_base.near_high_pct", json!(20.0)),
        ("strategies.high_base.max_base_depth_pct", json!(50.0)),
        ("strategies.high_base.min_rsi", json!(0.0)),
        ("strategies.high_base.max_atr_ratio", json!(5.0)),
        ("strategies.low_base.enabled", json!(false)),
    ])
    .await;
    let _services = f.state.engine.start_services();
    let first = f.state.engine.decide_once(true).await;
    let (s, _, body) = call(
        &f.state,
        "GET",
        "/api/v1/decisions?symbol=SPY",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let decision = body["decisions"][0].clone();
    assert_eq!(decision["id"], format!("c{}-SPY", first.number));
    assert_eq!(decision["signal"]["fired"], "high_base");
    let conditions = decision["signal"]["evaluations"][0]["conditions"]
        .as_array()
        .unwrap();
    assert_eq!(conditions.len(), 4);
    for c in conditions {
        assert!(
            c["key"]
                .as_str()
                .unwrap()
                .starts_with("strategies.high_base."),
            "{c}"
        );
        assert_eq!(c["passed"], true);
        assert!(c["value"].is_number() && c["threshold"].is_number());
        assert!(c["bound"] == "at_least" || c["bound"] == "at_most");
    }
    assert_eq!(decision["gate"]["passed"], true, "{}", decision["gate"]);
    let funnel = &decision["scan"]["funnel"];
    assert!(
        funnel["bull_call"]["candidates"].as_u64().unwrap() > 0,
        "{funnel}"
    );
    assert!(decision["scan"]["best"].is_object());
    assert!(decision["scan"]["top_rejected"].is_array());
    assert_eq!(
        decision["outcome"]["result"], "entered",
        "{}",
        decision["outcome"]
    );
    let order_ref = decision["outcome"]["order_ref"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(decision["outcome"]["rank"], 1);
    // The filters' keys, for links from the funnel.
    let filters = body["filters"].as_array().unwrap();
    assert!(
        filters.iter().any(|f| f["filter"] == "min_open_interest"
            && f["keys"] == json!(["scanner.min_open_interest"]))
    );

    // The scan it acted on links back to it, the row entered to the order.
    let (_, _, latest) = call(&f.state, "GET", "/api/v1/scans/latest", Some(VIEWER), None).await;
    let spy = latest["scans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["underlying"] == "SPY")
        .unwrap()
        .clone();
    assert_eq!(spy["source"], "trader");
    assert_eq!(spy["signal"], "high_base");
    assert_eq!(spy["decision"]["id"], decision["id"]);
    assert_eq!(spy["decision"]["outcome"], "entered");
    assert_eq!(spy["results"][0]["order_ref"], order_ref.as_str());
    assert_eq!(spy["results"][0]["decision_id"], decision["id"]);
    let watched = latest["watch"].as_array().unwrap();
    assert_eq!(watched.len(), 1);
    assert_eq!(watched[0]["signal_live"], true);
    assert_eq!(watched[0]["source"], "trader");

    // The entry still works (the clock stands still): the next cycle's
    // gate lists both rules that refuse, and stops at the first.
    let second = f.state.engine.decide_once(true).await;
    let (_, _, body) = call(
        &f.state,
        "GET",
        "/api/v1/decisions?symbol=SPY&limit=1",
        Some(VIEWER),
        None,
    )
    .await;
    let decision = &body["decisions"][0];
    assert_eq!(body["decisions"].as_array().unwrap().len(), 1);
    assert_eq!(decision["cycle"], second.number);
    let rules: Vec<&str> = decision["gate"]["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["entry_working", "max_positions_per_underlying"]);
    assert_eq!(decision["gate"]["open_on_underlying"], 1);
    assert_eq!(decision["outcome"]["result"], "refused");
    assert_eq!(decision["outcome"]["refusal"]["rule"], "entry_working");
    assert_eq!(decision["scan"], Value::Null);

    let (_, _, body) = call(
        &f.state,
        "GET",
        "/api/v1/decisions?symbol=QQQ",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(body["decisions"], json!([]));
    let (s, _, _) = call(
        &f.state,
        "GET",
        "/api/v1/decisions?limit=0",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Every decision is in the journal's file, not only in memory: a
    // reader of its own finds both, whole, newest first.
    let file = vspread_journal::SqliteJournal::open_read_only(
        &f._dir.path().join(vspread_journal::FILE_NAME),
    )
    .unwrap();
    let stored = file
        .decisions(&vspread_core::journal::DecisionQuery {
            symbol: Some("SPY".into()),
            limit: 0,
        })
        .unwrap();
    assert_eq!(
        stored.iter().map(|d| d.cycle).collect::<Vec<_>>(),
        [second.number, first.number]
    );
    assert_eq!(stored[1].outcome, "entered");
    let record: Value = serde_json::from_str(&stored[1].record).unwrap();
    assert_eq!(record["outcome"]["order_ref"], order_ref.as_str());
    f.state.engine.cancel_order(&order_ref, "test").unwrap();
    assert!(
        f.state
            .engine
            .wait_orders_idle(Duration::from_secs(10))
            .await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bars_carry_the_indicators_the_signals_read() {
    let f = fixture(&[]).await;
    let (s, _, body) = call(
        &f.state,
        "GET",
        "/api/v1/symbols/SPY/bars?days=30",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let bars = body["bars"].as_array().unwrap();
    assert_eq!(bars.len(), 30);
    let config = f.state.engine.live().current().config.clone();
    let window = vspread_engine::signals::bars_fetched(&config.strategies);
    assert_eq!(body["window"], window);
    let series = body["indicators"].as_array().unwrap();
    assert_eq!(series.len(), 2);
    assert_eq!(series[0]["strategy"], "high_base");
    assert_eq!(series[0]["rsi_period"], 14);
    assert_eq!(series[0]["points"].as_array().unwrap().len(), 30);
    // The last bar's values are what a signal evaluated now reads.
    let fetched = f
        .running
        .broker
        .daily_bars("SPY", u32::try_from(window).unwrap())
        .await
        .unwrap();
    assert_eq!(fetched.last().unwrap().date.to_string(), bars[29]["date"]);
    let evaluated = vspread_engine::signals::evaluate("SPY", &fetched, &config.strategies).unwrap();
    for (i, e) in evaluated.evaluations.iter().enumerate() {
        let last = &series[i]["points"][29];
        assert_eq!(last["rsi"].as_f64(), Some(e.indicators.rsi));
        assert_eq!(last["atr"].as_f64(), Some(e.indicators.atr));
        assert_eq!(last["atr_long"].as_f64(), Some(e.indicators.atr_long));
    }
    let (s, _, _) = call(
        &f.state,
        "GET",
        "/api/v1/symbols/SPY/bars?days=0",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scanner_watch_scans_in_the_background_and_gives_way_to_the_traders_chain() {
    // A loose high base fires on SPY, so a cycle quotes SPY's chain.
    let f = fixture(&[
        ("scanner.watch", json!(["SPY", "QQQ"])),
        ("scanner.watch_interval_s", json!(60)),
        ("trading.universe", json!(["SPY"])),
        ("strategies.high_base.near_high_pct", json!(20.0)),
        ("strategies.high_base.max_base_depth_pct", json!(50.0)),
        ("strategies.high_base.min_rsi", json!(0.0)),
        ("strategies.high_base.max_atr_ratio", json!(5.0)),
        ("strategies.low_base.enabled", json!(false)),
    ])
    .await;
    let _services = f.state.engine.start_services();
    let engine = f.state.engine.clone();
    let config = engine.live().current().config.clone();
    let background = |f: &Fixture| {
        f.running
            .broker
            .link_status()
            .queues
            .iter()
            .find(|q| q.priority == "background")
            .map_or(0, |q| q.granted)
    };
    let before = background(&f);
    let outcome = engine.watch_once("SPY", &config).await.unwrap();
    let WatchOutcome::Scanned { results } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        background(&f) > before,
        "its requests waited in the background queue"
    );
    let (_, _, latest) = call(&f.state, "GET", "/api/v1/scans/latest", Some(VIEWER), None).await;
    assert_eq!(latest["watch_interval_s"], 60);
    let watch = latest["watch"].as_array().unwrap();
    assert_eq!(
        watch
            .iter()
            .map(|w| w["symbol"].clone())
            .collect::<Vec<_>>(),
        [json!("SPY"), json!("QQQ")]
    );
    assert_eq!(watch[0]["source"], "watch");
    assert_eq!(watch[0]["age_s"], 0.0);
    assert_eq!(watch[0]["results"], results);
    assert!(watch[0]["signal_live"].is_boolean());
    assert_eq!(watch[1]["scanned_at"], Value::Null);
    let spy = &latest["scans"][0];
    assert_eq!(spy["underlying"], "SPY");
    assert_eq!(
        spy["kinds"].as_array().unwrap().len(),
        4,
        "every configured kind"
    );
    let events = engine.events().recent(1000);
    let watched = events.iter().find(|e| e.kind() == "scan.watched").unwrap();
    assert_eq!(watched.event.data()["symbol"], "SPY");
    assert_eq!(watched.event.data()["results"], results);

    // A decision quoting a chain meanwhile interrupts a watch scan (the two
    // would share the line budget); a cycle without one does not.
    let interrupted = {
        let engine = engine.clone();
        let config = config.clone();
        tokio::spawn(async move { engine.watch_once("QQQ", &config).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cycle = engine.decide_once(true).await;
    let outcome = interrupted.await.unwrap().unwrap();
    assert_eq!(outcome, WatchOutcome::Interrupted);
    assert!(engine.watch_state().entry("QQQ").is_none());
    let decided = engine.latest_decision("SPY").unwrap();
    assert_eq!(decided.cycle, cycle.number);
    assert!(decided.scan.is_some(), "the cycle quoted SPY's chain");
    if let vspread_engine::decision::record::DecisionOutcome::Entered { order_ref, .. } =
        &decided.outcome
    {
        engine.cancel_order(order_ref, "test").unwrap();
        assert!(engine.wait_orders_idle(Duration::from_secs(10)).await);
    }

    // The watch's own loop scans what is due.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let looping = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .run_watch(async {
                    let _ = stopped.await;
                })
                .await
        })
    };
    until("the watch scanned QQQ", Duration::from_secs(60), || async {
        engine
            .watch_state()
            .entry("QQQ")
            .is_some_and(|e| e.scanned_at.is_some())
    })
    .await;
    let _ = stop.send(());
    looping.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_the_gates_use_and_backups_what_they_changed() {
    let f = fixture(&[]).await;
    let (_, _, status) = call(&f.state, "GET", "/api/v1/status", Some(VIEWER), None).await;
    let risk = &status["risk"];
    assert_eq!(risk["open_positions"], 0);
    assert_eq!(risk["max_positions"], 5);
    assert_eq!(risk["max_positions_per_underlying"], 1);
    assert_eq!(risk["daily_loss"], "0");
    assert_eq!(risk["max_daily_loss"], 1000.0);
    assert_eq!(risk["daily_loss_used"], 0.0);
    assert_eq!(risk["kill_switch"], false);

    let snap = f.state.engine.live().current();
    let mut changed = snap.config.as_ref().clone();
    changed.exits.stop_loss_atr_mult = 1.5;
    f.state
        .engine
        .apply(changed, &snap.version, "test")
        .await
        .unwrap();
    let (s, _, backups) = call(
        &f.state,
        "GET",
        "/api/v1/config/backups",
        Some(VIEWER),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let changes = backups[0]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{backups}");
    assert_eq!(changes[0]["path"], "exits.stop_loss_atr_mult");
    assert_eq!(changes[0]["old"], 2.0);
    assert_eq!(changes[0]["new"], 1.5);
    assert_eq!(changes[0]["applies"], "live");
}
