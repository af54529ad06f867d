//! Runs the engine's Gherkin scenarios (`tests/features/engine/` at the
//! workspace root) with cucumber-rs against the real stack: the simulated
//! gateway on a TCP port, the broker layer over `ibapi`, a SQLite journal
//! file, the config file, and the engine built by its builder and run as
//! `vspread run` runs it (its cycle loop, trader, order manager, apply
//! path). The engine and the simulator share one clock, which a scenario
//! sets and a ticker runs at 100x real time.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use cucumber::{World, given, then, when};
use rust_decimal::Decimal;
use serde_json::Value;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::Broker;
use vspread_core::clock::{Clock, ManualClock};
use vspread_core::config::Config;
use vspread_core::journal::{EventQuery, Journal, JournalEvent, OrderRecord};
use vspread_core::{OrderPurpose, SpreadKind};
use vspread_engine::config_service::ApplyReport;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::control::EngineState;
use vspread_engine::cycle_loop::CycleContext;
use vspread_engine::live_config::LiveConfig;
use vspread_engine::schedule::SessionSwitch;
use vspread_engine::{Engine, EngineBuilder};
use vspread_journal::SqliteJournal;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

const SEED: u64 = 3;
/// How long a scenario waits for the engine to get somewhere.
const PATIENCE: Duration = Duration::from_secs(180);

/// Every log line of the process (tracing), for "the log says" steps.
fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    LOG.get_or_init(|| Mutex::new(Vec::new()))
}

struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parts of a running stack.
struct Stack {
    clock: Arc<ManualClock>,
    sim: ServerHandle,
    broker: Arc<IbBroker>,
    journal: Arc<SqliteJournal>,
    config_path: PathBuf,
    engine: Option<Running>,
    ticker: tokio::task::JoinHandle<()>,
}

/// The engine, running as `vspread run` runs it.
struct Running {
    engine: Engine,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.ticker.abort();
        if let Some(e) = &self.engine {
            e.task.abort();
        }
    }
}

#[derive(Default, World)]
struct Scenario {
    dir: Option<tempfile::TempDir>,
    start: Option<DateTime<Utc>>,
    stack: Option<Stack>,
    /// A moment the steps measure from (a session switch, an apply).
    mark: Option<DateTime<Utc>>,
    /// The number of cycles when `mark` was taken.
    mark_cycle: usize,
    apply: Option<Result<ApplyReport, String>>,
    file_before: Vec<u8>,
    backups_before: usize,
    /// The order the execution steps examine.
    order_ref: Option<String>,
    /// How long after the kill switch the gateway had the order cancelled.
    cancel_seen: Option<tokio::task::JoinHandle<Option<Duration>>>,
    /// Real time the operator's pause, apply and resume took.
    control_took: Option<Duration>,
    /// The working order's planned walk when the operator stepped in.
    issued_walk: Vec<Decimal>,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("start", &self.start)
            .finish()
    }
}

fn at_time(day: DateTime<Utc>, time: &str) -> DateTime<Utc> {
    let t = NaiveTime::parse_from_str(time, "%H:%M:%S").unwrap();
    Utc.from_utc_datetime(&day.date_naive().and_time(t))
}

impl Scenario {
    fn stack(&self) -> &Stack {
        self.stack.as_ref().expect("the stack is started")
    }

    fn engine(&self) -> &Engine {
        &self
            .stack()
            .engine
            .as_ref()
            .expect("the engine is running")
            .engine
    }

    fn cycles(&self) -> Vec<CycleContext> {
        self.engine().cycles()
    }

    /// The journaled events of a kind, once everything published so far
    /// has reached the journal (its writer runs on a thread of its own).
    fn events(&self, prefix: &str) -> Vec<JournalEvent> {
        self.engine()
            .events()
            .flush_journal(std::time::Duration::from_secs(5));
        let query = EventQuery {
            kind_prefixes: vec![prefix.to_string()],
            order_refs: None,
            limit: 0,
            after: None,
            before: None,
        };
        self.stack().journal.events(&query).unwrap()
    }

    fn data(e: &JournalEvent) -> Value {
        serde_json::from_str(&e.data).unwrap()
    }

    fn entries(&self) -> Vec<OrderRecord> {
        self.stack()
            .journal
            .orders()
            .unwrap()
            .into_iter()
            .filter(|o| o.order.purpose == OrderPurpose::Entry)
            .collect()
    }

    fn config_store(&self) -> ConfigStore {
        ConfigStore::new(&self.stack().config_path)
    }

    /// Starts the engine on the config file as it now is.
    fn ensure_running(&mut self) {
        let stack = self.stack.as_mut().expect("the stack is started");
        if stack.engine.is_some() {
            return;
        }
        let live = LiveConfig::load(&stack.config_path).unwrap();
        let engine = EngineBuilder::new(
            live,
            stack.broker.clone() as Arc<dyn Broker>,
            stack.journal.clone(),
            stack.clock.clone(),
        )
        .build()
        .unwrap();
        let running = engine.clone();
        let task = tokio::spawn(async move { running.run(std::future::pending()).await });
        stack.engine = Some(Running { engine, task });
    }

    /// Waits, within PATIENCE, until `f` gives something.
    async fn wait<T>(&self, what: &str, mut f: impl FnMut(&Self) -> Option<T>) -> T {
        let since = Instant::now();
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if since.elapsed() > PATIENCE {
                let events = self.events("");
                let tail: Vec<_> = events.iter().rev().take(30).map(|e| &e.message).collect();
                let log = String::from_utf8_lossy(&log().lock().unwrap()).to_string();
                let connection: Vec<_> = log
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .rev()
                    .take(15)
                    .collect();
                panic!(
                    "{what}: not within {PATIENCE:?}; latest events: {tail:#?}; latest warnings: {connection:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn apply(&mut self, edit: impl FnOnce(&mut Config)) {
        let current = self.engine().live().current();
        let mut config = (*current.config).clone();
        edit(&mut config);
        self.file_before = std::fs::read(&self.stack().config_path).unwrap();
        self.backups_before = self.config_store().backups().unwrap().len();
        self.mark = Some(self.stack().clock.now());
        self.mark_cycle = self.cycles().len();
        self.apply = Some(
            self.engine()
                .apply(config, &current.version, "scenario")
                .await
                .map_err(|e| e.to_string()),
        );
    }
}

// ------------------------------------------------------------------ given

#[given(expr = "the engine's clock is at {word} UTC on Monday 2026-11-23")]
async fn clock_at(w: &mut Scenario, time: String) {
    let day = Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    w.start = Some(at_time(day, &time));
}

#[given(regex = r"^the engine trades (.+) against the simulated gateway$")]
async fn engine_trades(w: &mut Scenario, symbols: String) {
    let dir = tempfile::tempdir().unwrap();
    let start = w.start.expect("the clock is set first");
    let config_path = dir.path().join("config.toml");
    let store = ConfigStore::new(&config_path);
    store.init(false).unwrap();
    let universe: Vec<&str> = symbols.split(',').map(str::trim).collect();
    for (key, value) in [
        ("trading.universe", serde_json::json!(universe)),
        ("trading.scan_interval_s", serde_json::json!(60)),
        // A walk to the natural price: every entry fills within its walk
        // (a resting combo's fills are random in the simulator; one at
        // the natural fills at once), so each scenario's steps happen.
        ("execution.max_slippage_pct", serde_json::json!(100.0)),
        ("storage.data_dir", serde_json::json!(".")),
    ] {
        store.set(key, value).unwrap();
    }

    let clock = Arc::new(ManualClock::new(start));
    let market = Market::new(MarketConfig {
        seed: SEED,
        start,
        always_open: false,
    });
    // The default heartbeat: the market moves a simulated second every 10
    // ms here, and a faster beat floods the client with ticks.
    let settings = SimSettings::new(clock.clone());
    let sim = Server::new(settings, market, Venue::new(VenueConfig::new(SEED)))
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let config = store.load().unwrap().config;
    let mut broker_settings = BrokerSettings::from_config(&config);
    broker_settings.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start_with_clock(broker_settings, clock.clone()));
    broker.fix_address();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
    let ticking = clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(chrono::Duration::seconds(1));
        }
    });
    w.stack = Some(Stack {
        clock,
        sim,
        broker,
        journal,
        config_path,
        engine: None,
        ticker,
    });
    w.dir = Some(dir);
}

#[given(regex = r"^([a-z_]+\.[a-z_]+) is (.+)$")]
async fn config_value(w: &mut Scenario, key: String, value: String) {
    let value: Value = serde_json::from_str(&value).unwrap_or(Value::String(value));
    w.config_store().set(&key, value).unwrap();
}

#[given(expr = "the simulated gateway fills at most {int} spread at a time")]
async fn partial_fills(w: &mut Scenario, n: u32) {
    w.stack().sim.force_partial_fills(Some(n));
}

#[given(expr = "the trading session is {word}")]
async fn session_is(w: &mut Scenario, state: String) {
    w.ensure_running();
    let first = w
        .wait("a first cycle", |w| w.cycles().first().cloned())
        .await;
    assert_eq!(first.session_active, state == "active", "{first:?}");
}

#[given("the engine is running")]
async fn engine_running(w: &mut Scenario) {
    w.ensure_running();
    w.wait("a first cycle", |w| w.cycles().first().cloned())
        .await;
    assert_eq!(w.engine().state(), EngineState::Running);
}

// --------------------------------------------------------------- schedule

#[when(expr = "the clock reaches {word} UTC")]
async fn clock_reaches(w: &mut Scenario, time: String) {
    w.ensure_running();
    let t = at_time(w.start.unwrap(), &time);
    w.wait(&format!("a cycle at {t}"), |w| {
        w.cycles().iter().any(|c| c.now >= t).then_some(())
    })
    .await;
}

#[when(expr = "the clock passes {word} UTC and {word} UTC")]
async fn clock_passes(w: &mut Scenario, first: String, second: String) {
    w.ensure_running();
    for time in [first, second] {
        let t = at_time(w.start.unwrap(), &time);
        // Jump to just before, then let the clock run across it.
        w.stack().clock.set(t - chrono::Duration::seconds(90));
        w.wait(&format!("cycles across {t}"), |w| {
            w.cycles().iter().any(|c| c.now >= t).then_some(())
        })
        .await;
    }
}

async fn session_switched(w: &mut Scenario, to: SessionSwitch) {
    let ctx = w
        .wait(&format!("a cycle that switched {to:?}"), |w| {
            w.cycles().into_iter().find(|c| c.switched == Some(to))
        })
        .await;
    assert_eq!(ctx.session_active, to == SessionSwitch::Activated);
    let cycles = w.cycles();
    w.mark_cycle = cycles.iter().position(|c| c.number == ctx.number).unwrap();
    w.mark = Some(ctx.now);
}

#[then("the session becomes inactive")]
async fn becomes_inactive(w: &mut Scenario) {
    session_switched(w, SessionSwitch::Deactivated).await;
    assert_eq!(w.events("session.deactivated").len(), 1);
}

#[then("the session becomes active")]
async fn becomes_active(w: &mut Scenario) {
    session_switched(w, SessionSwitch::Activated).await;
    assert_eq!(w.events("session.activated").len(), 1);
}

#[then(expr = "no new entry orders are placed for {int} cycles")]
async fn no_entries_for(w: &mut Scenario, n: usize) {
    let from = w.mark_cycle;
    w.wait(&format!("{n} cycles after the switch"), |w| {
        (w.cycles().len() > from + n).then_some(())
    })
    .await;
    let mark = w.mark.unwrap();
    let cycles = w.cycles();
    assert!(cycles[from..].iter().all(|c| !c.session_active));
    let late: Vec<_> = w
        .entries()
        .into_iter()
        .filter(|o| o.order.created_at >= mark)
        .collect();
    assert!(
        late.is_empty(),
        "entries after the window closed: {late:#?}"
    );
}

#[then("new entries are permitted: an entry order is placed")]
async fn entry_after_start(w: &mut Scenario) {
    let mark = w.mark.unwrap();
    let order = w
        .wait("an entry order after the window opened", |w| {
            w.entries().into_iter().find(|o| o.order.created_at >= mark)
        })
        .await;
    assert_eq!(order.order.symbol, "QQQ");
}

#[then("the session state is never switched by the schedule")]
async fn never_switched(w: &mut Scenario) {
    let cycles = w.cycles();
    assert!(cycles.len() >= 2);
    assert!(cycles.iter().all(|c| c.switched.is_none()), "{cycles:#?}");
    let first = cycles[0].session_active;
    assert!(cycles.iter().all(|c| c.session_active == first));
    assert!(w.events("session.").is_empty());
}

// -------------------------------------------------------------- execution

#[when(expr = "a bullish signal on {word} leads the engine to submit a bull call spread")]
async fn submits(w: &mut Scenario, symbol: String) {
    w.ensure_running();
    let order = w
        .wait("an entry order that ended", |w| {
            w.entries().into_iter().find(|o| !o.is_open())
        })
        .await;
    assert_eq!(order.order.symbol, symbol);
    assert_eq!(order.order.kind, SpreadKind::BullCall);
    // The journal's event writer is a moment behind the order's end.
    let r = order.order.order_ref.clone();
    let filled = !order.filled.is_zero();
    w.wait("the order's events in the journal", |w| {
        let has = |kind: &str| {
            w.events(kind)
                .iter()
                .any(|e| Scenario::data(e)["order_ref"] == r.as_str())
        };
        (has("order.ended") && (!filled || has("position.opened"))).then_some(())
    })
    .await;
    let fired = w.events("signal.fired");
    assert!(
        fired
            .iter()
            .any(|e| Scenario::data(e)["signal"]["strategy"] == "high_base")
    );
    w.order_ref = Some(order.order.order_ref);
}

impl Scenario {
    fn order(&self) -> OrderRecord {
        let r = self.order_ref.as_deref().unwrap();
        self.entries()
            .into_iter()
            .find(|o| o.order.order_ref == r)
            .unwrap()
    }

    /// The event of `kind` about the examined order.
    fn order_event(&self, kind: &str) -> Value {
        let r = self.order_ref.as_deref().unwrap();
        self.events(kind)
            .iter()
            .map(Scenario::data)
            .find(|d| d["order_ref"] == r)
            .unwrap_or_else(|| panic!("no {kind} event for {r}"))
    }

    fn sim_order(&self) -> Value {
        let r = self.order_ref.as_deref().unwrap();
        let ledger = self.stack().sim.ledger();
        ledger["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["order_ref"] == r)
            .cloned()
            .unwrap_or_else(|| panic!("{r} is not at the gateway"))
    }
}

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => s.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    }
}

#[then("position limits and risk limits were checked")]
async fn limits_checked(w: &mut Scenario) {
    let risk = &w.order_event("decision.entry")["risk"];
    assert!(risk["open_positions"].as_u64() < risk["max_positions"].as_u64());
    assert!(risk["open_on_underlying"].as_u64() < risk["max_positions_per_underlying"].as_u64());
    assert!(dec(&risk["daily_pnl"]) > -dec(&risk["max_daily_loss"]));
    assert!(
        dec(&risk["order_value"]) <= dec(&risk["max_order_value"]),
        "{risk}"
    );
}

#[then("the IV circuit breaker was checked")]
async fn breaker_checked(w: &mut Scenario) {
    let risk = &w.order_event("decision.entry")["risk"];
    assert!(risk["iv"].as_f64().unwrap() < risk["max_iv"].as_f64().unwrap());
    assert!(w.events("breaker.tripped").is_empty());
}

#[then("a BAG combo was built from both legs' conIds")]
async fn bag_combo(w: &mut Scenario) {
    let order = w.order();
    let contract = &w.sim_order()["contract"];
    let legs = contract["Combo"]["legs"]
        .as_array()
        .unwrap_or_else(|| panic!("not a combo: {contract}"));
    let leg = |con_id: i64| {
        legs.iter()
            .find(|l| l["con_id"].as_i64() == Some(con_id))
            .unwrap_or_else(|| panic!("no leg {con_id} in {contract}"))
    };
    assert_eq!(legs.len(), 2);
    assert_eq!(leg(order.order.long.con_id.0)["action"], "Buy");
    assert_eq!(leg(order.order.short.con_id.0)["action"], "Sell");
    assert_eq!(contract["Combo"]["symbol"], "QQQ");
}

#[then("a what-if preview showed acceptable margin")]
async fn what_if(w: &mut Scenario) {
    let preview = w.order_event("order.previewed");
    let risk = &w.order_event("decision.entry")["risk"];
    let margin = dec(&preview["margin"]);
    assert!(margin > Decimal::ZERO, "{preview}");
    assert!(dec(&risk["buying_power"]) - margin >= dec(&risk["min_buying_power"]));
}

#[then("the limit price started at the combo mid, within bid and ask")]
async fn limit_at_mid(w: &mut Scenario) {
    let order = w.order();
    let decision = w.order_event("decision.entry");
    let (mid, natural) = (dec(&decision["mid"]), dec(&decision["natural"]));
    let bid = mid * Decimal::TWO - natural;
    let limit = order.order.limit;
    let tick = order.order.long.min_tick.max(order.order.short.min_tick);
    assert!((limit - mid).abs() < tick, "limit {limit}, mid {mid}");
    assert!(
        bid <= limit && limit <= natural,
        "{bid} <= {limit} <= {natural}"
    );
    assert_eq!(dec(&decision["walk"][0]), limit);
}

#[then("the order was placed and followed through its events to its end")]
async fn followed(w: &mut Scenario) {
    let order = w.order();
    assert!(order.broker_order_id.is_some());
    let status = order.last_status.as_deref().unwrap();
    assert!(matches!(status, "Filled" | "Cancelled"), "{status}");
    let end = order.end.as_ref().unwrap();
    assert!(
        matches!(end.outcome.as_str(), "filled" | "timed_out"),
        "{end:?}"
    );
    let ended = w.order_event("order.ended");
    assert!(ended["steps"].as_u64().is_some());
}

#[then("its partial fills add up to the position, exactly")]
async fn partials_add_up(w: &mut Scenario) {
    let order = w.order();
    let r = order.order.order_ref.clone();
    let ledger = w.stack().sim.ledger();
    let combo_fills: Vec<Decimal> = ledger["executions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["order_ref"] == r.as_str() && x["con_id"] == 0)
        .map(|x| dec(&x["shares"]))
        .collect();
    assert!(
        combo_fills.len() >= 2,
        "partial fills expected: {combo_fills:?}"
    );
    assert!(combo_fills.iter().all(|q| *q == Decimal::ONE));
    let total: Decimal = combo_fills.iter().sum();
    assert_eq!(order.filled, total);
    assert_eq!(dec(&w.sim_order()["filled"]), total);
    let spread = w
        .stack()
        .journal
        .spreads()
        .unwrap()
        .into_iter()
        .find(|s| s.entry.order_ref == r)
        .unwrap();
    assert_eq!(spread.opened, total);
    let held = |con_id: i64| {
        ledger["positions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["con_id"].as_i64() == Some(con_id))
            .map(|p| dec(&p["quantity"]))
            .unwrap_or_default()
    };
    assert_eq!(held(order.order.long.con_id.0), total);
    assert_eq!(held(order.order.short.con_id.0), -total);
}

#[then("the journal holds the order, its fills with slippage versus mid, and the position")]
async fn journal_holds(w: &mut Scenario) {
    let order = w.order();
    let r = order.order.order_ref.clone();
    let fills: Vec<_> = w
        .stack()
        .journal
        .fills()
        .unwrap()
        .into_iter()
        .filter(|f| f.order_ref == r)
        .collect();
    // Per combo fill: the combo-level execution and one per leg, each leg
    // with its commission.
    assert_eq!(Decimal::from(fills.len()), order.filled * Decimal::from(3));
    assert!(
        fills
            .iter()
            .filter(|f| !f.combo)
            .all(|f| f.commission.is_some())
    );
    let average = order.average_net.unwrap();
    let slippage = average - order.order.mid;
    let opened = w.order_event("position.opened");
    assert_eq!(dec(&opened["slippage_vs_mid"]), slippage);
    assert!(
        w.stack()
            .journal
            .spreads()
            .unwrap()
            .iter()
            .any(|s| s.entry.order_ref == r && s.is_open())
    );
}

// -------------------------------------------------------------------- risk

#[when(expr = "the engine runs until {int} spread is open")]
async fn runs_until_open(w: &mut Scenario, n: usize) {
    w.ensure_running();
    w.wait("open spreads", |w| {
        let open = w.stack().journal.spreads().unwrap();
        (open.iter().filter(|s| s.is_open()).count() >= n).then_some(())
    })
    .await;
}

#[when("a new signal arrives")]
async fn new_signal(w: &mut Scenario) {
    w.wait("a refused signal", |w| {
        (!w.events("decision.refused").is_empty()).then_some(())
    })
    .await;
}

#[then("no order is placed for it and the refusal is journaled naming trading.max_positions")]
async fn refused_max_positions(w: &mut Scenario) {
    let refusals = w.events("decision.refused");
    let refusal = refusals
        .iter()
        .find(|e| Scenario::data(e)["refusal"]["rule"] == "max_positions")
        .unwrap_or_else(|| panic!("{refusals:#?}"));
    assert!(
        refusal.message.contains("trading.max_positions"),
        "{}",
        refusal.message
    );
    // No entry order after the one that opened the spread (an order before
    // it may have ended unfilled, leaving room).
    let entries = w.entries();
    let first_filled = entries.iter().position(|o| !o.filled.is_zero()).unwrap();
    assert_eq!(entries.len(), first_filled + 1, "{entries:#?}");
    let spreads = w.stack().journal.spreads().unwrap();
    assert_eq!(spreads.iter().filter(|s| s.is_open()).count(), 1);
    assert_eq!(
        w.stack().sim.ledger()["orders"].as_array().unwrap().len(),
        entries.len()
    );
}

#[when("a signal arrives")]
async fn a_signal(w: &mut Scenario) {
    w.ensure_running();
    w.wait("a signal", |w| {
        (!w.events("signal.fired").is_empty()).then_some(())
    })
    .await;
}

fn breaker_refusals(w: &Scenario) -> Vec<JournalEvent> {
    w.events("decision.refused")
        .into_iter()
        .filter(|e| Scenario::data(e)["refusal"]["rule"] == "iv_circuit_breaker")
        .collect()
}

#[then("no entry is made and the refusal is journaled naming the IV circuit breaker")]
async fn breaker_refuses(w: &mut Scenario) {
    let refusal = w
        .wait("a breaker refusal", |w| {
            breaker_refusals(w).into_iter().next()
        })
        .await;
    assert!(
        refusal.message.contains("risk.max_iv"),
        "{}",
        refusal.message
    );
    assert_eq!(w.events("breaker.tripped").len(), 1);
    assert!(w.entries().is_empty());
}

#[when(expr = "{word} is set to {float} and applied live")]
async fn set_live(w: &mut Scenario, key: String, value: f64) {
    w.apply(|c| match key.as_str() {
        "risk.max_iv" => c.risk.max_iv = value,
        "risk.max_iv_resume" => c.risk.max_iv_resume = value,
        other => panic!("no such step key {other}"),
    })
    .await;
    assert!(w.apply.as_ref().unwrap().is_ok(), "{:?}", w.apply);
}

#[then("still no entry is made, as the IV has not fallen below risk.max_iv_resume")]
async fn still_blocked(w: &mut Scenario) {
    let from = w.mark_cycle;
    w.wait("two cycles on the new config", |w| {
        (w.cycles().len() >= from + 2).then_some(())
    })
    .await;
    let mark = w.mark.unwrap();
    let refusal = w
        .wait("a breaker refusal on the new config", |w| {
            breaker_refusals(w).into_iter().find(|e| e.at >= mark)
        })
        .await;
    let data = Scenario::data(&refusal);
    let iv = data["refusal"]["iv"].as_f64().unwrap();
    assert!(
        iv < 0.9 && iv > data["refusal"]["resume"].as_f64().unwrap(),
        "{data}"
    );
    assert!(w.events("breaker.reset").is_empty());
    assert!(w.entries().is_empty());
}

#[then("the breaker resets and an entry order is placed")]
async fn breaker_resets(w: &mut Scenario) {
    w.wait("the breaker's reset", |w| {
        (!w.events("breaker.reset").is_empty()).then_some(())
    })
    .await;
    w.wait("an entry order", |w| w.entries().into_iter().next())
        .await;
}

// ------------------------------------------------------------ leg pairing

#[when(expr = "another client of the account buys {int} of that spread's short leg at the gateway")]
async fn manual_trade(w: &mut Scenario, quantity: u32) {
    use vspread_core::{OptionContract, OrderRequest, OrderTarget, Price, Side, TimeInForce};
    // The spread's entry order is done filling.
    w.wait("the entry order's end", |w| {
        let orders = w.stack().journal.orders().ok()?;
        (!orders.is_empty() && orders.iter().all(|o| !o.is_open())).then_some(())
    })
    .await;
    let spread = w
        .stack()
        .journal
        .spreads()
        .unwrap()
        .into_iter()
        .find(|s| s.is_open())
        .unwrap();
    let leg = spread.entry.short.clone();
    // A second API client (as a trader's own TWS session would be).
    let config = Config::default();
    let mut settings = BrokerSettings::from_config(&config);
    settings.address = w.stack().sim.local_addr().to_string();
    settings.client_id = 7;
    let other = IbBroker::start(settings);
    other.wait_ready(Duration::from_secs(10)).await.unwrap();
    let option = OptionContract::builder()
        .underlying(spread.entry.symbol.clone())
        .expiry(leg.expiry)
        .strike(Price::new(leg.strike))
        .right(leg.right)
        .build()
        .unwrap();
    let contract = other.option(&option).await.unwrap();
    let quote = other.snapshot(&contract).await.unwrap();
    let limit = quote.ask.unwrap() + Decimal::ONE;
    other
        .place_order(&OrderRequest {
            order_ref: "manual-buy".into(),
            target: OrderTarget::Single {
                contract,
                side: Side::Buy,
                limit,
            },
            quantity,
            tif: TimeInForce::Day,
        })
        .await
        .unwrap();
    let con_id = leg.con_id.0;
    let held = w
        .wait("the manual fill", |w| {
            let ledger = w.stack().sim.ledger();
            ledger["positions"]
                .as_array()?
                .iter()
                .find(|p| p["con_id"].as_i64() == Some(con_id))
                .map(|p| dec(&p["quantity"]))
                .filter(|q| *q == -spread.open_quantity() + Decimal::from(quantity))
        })
        .await;
    other.shutdown().await;
    w.order_ref = Some(spread.entry.order_ref.clone());
    w.mark = Some(w.stack().clock.now());
    eprintln!("conId {con_id} now {held} at the gateway");
}

#[then("a cycle flags the short leg as legged out of its spread")]
async fn flagged(w: &mut Scenario) {
    let spread_ref = w.order_ref.clone().unwrap();
    let spread = w
        .stack()
        .journal
        .spreads()
        .unwrap()
        .into_iter()
        .find(|s| s.entry.order_ref == spread_ref)
        .unwrap();
    let con_id = spread.entry.short.con_id.0;
    let flag = w
        .wait("a position.mismatch for the short leg", |w| {
            w.events("position.mismatch")
                .into_iter()
                .map(|e| Scenario::data(&e))
                .find(|d| d["con_id"].as_i64() == Some(con_id))
        })
        .await;
    assert_eq!(flag["spread_ref"], spread_ref.as_str());
    assert_eq!(dec(&flag["journal"]), -spread.open_quantity());
    assert_eq!(
        dec(&flag["gateway"]),
        -spread.open_quantity() + Decimal::ONE
    );
}

// ------------------------------------------------------------- kill switch

#[when("an entry order is working at the simulated gateway")]
async fn entry_working(w: &mut Scenario) {
    w.ensure_running();
    let order_ref = w
        .wait("an entry order working at the gateway", |w| {
            let open = w.entries().into_iter().find(|o| o.is_open())?;
            let r = open.order.order_ref;
            let ledger = w.stack().sim.ledger();
            ledger["orders"]
                .as_array()?
                .iter()
                .any(|o| o["order_ref"] == r.as_str() && o["status"] == "Submitted")
                .then_some(r)
        })
        .await;
    w.order_ref = Some(order_ref);
}

/// Watches the gateway from now on for the scenario's order to be
/// cancelled; the handle gives how long that took.
fn watch_for_cancel(w: &mut Scenario) {
    let sim = w.stack().sim.clone();
    let r = w.order_ref.clone().unwrap();
    let since = Instant::now();
    w.cancel_seen = Some(tokio::spawn(async move {
        while since.elapsed() < Duration::from_secs(10) {
            let ledger = sim.ledger();
            let status = ledger["orders"]
                .as_array()
                .and_then(|o| o.iter().find(|o| o["order_ref"] == r.as_str()))
                .and_then(|o| o["status"].as_str().map(str::to_string));
            if status.as_deref() == Some("Cancelled") {
                return Some(since.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        None
    }));
}

#[when("the operator engages the kill switch")]
async fn engage_kill_switch(w: &mut Scenario) {
    // Watch the gateway's side from the moment of engaging.
    watch_for_cancel(w);
    // As the admin API does.
    w.mark_cycle = w.cycles().len();
    w.mark = Some(w.stack().clock.now());
    let report = w.engine().set_kill_switch(true, "scenario").await;
    assert!(report.changed);
    assert_eq!(report.cancelled, vec![w.order_ref.clone().unwrap()]);
    let saved = report.saved.expect("recorded in the file");
    assert!(saved.changes.iter().any(|c| c.path == "risk.kill_switch"));
}

#[then("the order is cancelled at the gateway within a second")]
async fn cancelled_within_a_second(w: &mut Scenario) {
    let seen = w.cancel_seen.take().unwrap().await.unwrap();
    let took = seen.unwrap_or_else(|| panic!("not cancelled: {}", w.sim_order()));
    eprintln!("cancel asked to cancelled at the gateway: {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[then("the journal records its end as cancelled")]
async fn journal_cancelled(w: &mut Scenario) {
    let order = w
        .wait("the order's end", |w| {
            Some(w.order()).filter(|o| !o.is_open())
        })
        .await;
    assert_eq!(order.end.unwrap().outcome, "cancelled");
}

#[then("no entry is considered while the kill switch is engaged")]
async fn no_entry_while_killed(w: &mut Scenario) {
    let from = w.mark_cycle;
    w.wait("two cycles after the kill switch", |w| {
        (w.cycles().len() >= from + 2).then_some(())
    })
    .await;
    let mark = w.mark.unwrap();
    let refused = w
        .wait("a kill switch refusal", |w| {
            w.events("decision.refused")
                .into_iter()
                .find(|e| e.at >= mark && Scenario::data(e)["refusal"]["rule"] == "kill_switch")
        })
        .await;
    assert!(refused.message.contains("risk.kill_switch"));
    let late: Vec<_> = w
        .entries()
        .into_iter()
        .filter(|o| o.order.created_at >= mark)
        .collect();
    assert!(late.is_empty(), "{late:#?}");
}

#[when("the operator cancels that order")]
async fn operator_cancels(w: &mut Scenario) {
    watch_for_cancel(w);
    // As `POST /api/v1/orders/{ref}/cancel` does.
    let r = w.order_ref.clone().unwrap();
    w.engine().cancel_order(&r, "scenario").unwrap();
    w.mark = Some(w.stack().clock.now());
}

#[then("entries go on: a later entry order is placed")]
async fn entries_go_on(w: &mut Scenario) {
    let mark = w.mark.unwrap();
    let cancelled = w.order_ref.clone().unwrap();
    w.wait("a later entry order", |w| {
        w.entries()
            .into_iter()
            .find(|o| o.order.created_at >= mark && o.order.order_ref != cancelled)
    })
    .await;
    assert!(
        !w.engine()
            .working_orders()
            .iter()
            .any(|o| o.order_ref == cancelled),
        "the cancelled order is no longer cancellable"
    );
}

// ----------------------------------------------------------------- control

#[when(expr = "the operator sets {word} to {float} and applies")]
async fn operator_sets(w: &mut Scenario, key: String, value: f64) {
    assert_eq!(key, "exits.stop_loss_atr_mult");
    w.apply(|c| c.exits.stop_loss_atr_mult = value).await;
}

#[when(expr = "the operator applies a config whose {word} is {float}")]
async fn operator_applies_bad(w: &mut Scenario, key: String, value: f64) {
    assert_eq!(key, "exits.stop_loss_atr_mult");
    w.apply(|c| c.exits.stop_loss_atr_mult = value).await;
}

#[then("the engine was paused for the apply and is running again")]
async fn paused_and_resumed(w: &mut Scenario) {
    let report = w.apply.as_ref().unwrap().as_ref().unwrap();
    assert!(report.engine_resumed);
    assert!(report.timings_ms["interruption"] > 0.0, "{report:?}");
    assert!(report.timings_ms.contains_key("pause_wait"));
    assert_eq!(w.engine().state(), EngineState::Running);
    // No cycle ran on a mix: each read the old generation or the new one.
    let generation = report.generation;
    let cycles = w.cycles();
    assert!(
        cycles[..w.mark_cycle]
            .iter()
            .all(|c| c.config_generation < generation)
    );
}

#[then(expr = "config.toml contains {string}")]
async fn file_contains(w: &mut Scenario, text: String) {
    let file = std::fs::read_to_string(&w.stack().config_path).unwrap();
    assert!(file.contains(&text), "{file}");
}

#[then("a backup of the previous config.toml exists")]
async fn backup_exists(w: &mut Scenario) {
    let report = w.apply.as_ref().unwrap().as_ref().unwrap();
    let id = report.backup_id.clone().unwrap();
    let backups = w.config_store().backups().unwrap();
    assert_eq!(backups.len(), w.backups_before + 1);
    let backup = w.config_store().read_backup(&id).unwrap();
    let before = Config::from_toml_bytes(&w.file_before).unwrap();
    assert_eq!(
        backup.exits.stop_loss_atr_mult,
        before.exits.stop_loss_atr_mult
    );
}

#[then(expr = "the log says the config reloaded with {word}")]
async fn log_reloaded(w: &mut Scenario, key: String) {
    let text = String::from_utf8_lossy(&log().lock().unwrap()).to_string();
    assert!(
        text.lines()
            .any(|l| l.contains("config reloaded") && l.contains(&key)),
        "{text}"
    );
    // The journal's event writer is a moment behind the bus.
    w.wait("the apply in the journal", |w| {
        w.events("config.applied")
            .into_iter()
            .find(|e| e.message.contains(&key))
    })
    .await;
}

#[then(expr = "the next decision cycle reads {word} = {float}")]
async fn next_cycle_reads(w: &mut Scenario, key: String, value: f64) {
    let from = w.mark_cycle;
    let ctx = w
        .wait("a cycle after the apply", |w| w.cycles().get(from).cloned())
        .await;
    let read = match key.as_str() {
        "exits.stop_loss_atr_mult" => ctx.config.exits.stop_loss_atr_mult,
        "execution.max_slippage_pct" => ctx.config.execution.max_slippage_pct,
        other => panic!("no such step key {other}"),
    };
    assert_eq!(read, value, "{key} in cycle {}", ctx.number);
}

#[when(
    expr = "the operator pauses, sets {word} to {float} and {word} to {float}, applies and resumes"
)]
async fn pause_edit_apply_resume(
    w: &mut Scenario,
    first: String,
    first_value: f64,
    second: String,
    second_value: f64,
) {
    let r = w.order_ref.clone().unwrap();
    let decision = w
        .wait("the working order's decision in the journal", |w| {
            w.events("decision.entry")
                .into_iter()
                .map(|e| Scenario::data(&e))
                .find(|d| d["order_ref"] == r.as_str())
        })
        .await;
    w.issued_walk = decision["walk"]
        .as_array()
        .unwrap()
        .iter()
        .map(dec)
        .collect();
    let engine = w.engine().clone();
    let started = Instant::now();
    let paused = engine.pause("scenario");
    assert!(paused.changed && paused.waited_ms < 50.0, "{paused:?}");
    w.mark_cycle = w.cycles().len();
    w.mark = Some(w.stack().clock.now());
    w.apply(|c| {
        for (key, value) in [(&first, first_value), (&second, second_value)] {
            match key.as_str() {
                "execution.max_slippage_pct" => c.execution.max_slippage_pct = value,
                "exits.stop_loss_atr_mult" => c.exits.stop_loss_atr_mult = value,
                other => panic!("no such step key {other}"),
            }
        }
    })
    .await;
    let resumed = engine.resume("scenario");
    w.control_took = Some(started.elapsed());
    assert!(resumed.changed);
    let report = w.apply.as_ref().unwrap().as_ref().unwrap();
    assert!(
        !report.engine_resumed,
        "the operator's pause outlasts the apply"
    );
    assert!(
        engine.working_orders().iter().any(|o| o.order_ref == r),
        "still working after the apply"
    );
}

#[then("the pause, the apply and the resume took less than a second together")]
async fn control_was_quick(w: &mut Scenario) {
    let took = w.control_took.unwrap();
    eprintln!("pause + apply + resume while an order walked: {took:?}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[then("the order goes on with the bound it was issued with and ends as planned")]
async fn order_keeps_its_plan(w: &mut Scenario) {
    let r = w.order_ref.clone().unwrap();
    let order = w
        .wait("the order's end", |w| {
            Some(w.order()).filter(|o| !o.is_open())
        })
        .await;
    let end = order.end.as_ref().unwrap();
    assert!(
        matches!(end.outcome.as_str(), "filled" | "timed_out"),
        "ended as planned, not cut short: {end:?}"
    );
    let walk = &w.issued_walk;
    let (first, bound) = (walk[0], *walk.last().unwrap());
    // A debit walks up from its mid, a credit down: distance from the
    // first price is what a step concedes.
    let conceded = |p: Decimal| (p - first).abs();
    let mark = w.mark.unwrap();
    // The journal's event writer is a moment behind the bus.
    w.wait("the order's end in the journal", |w| {
        w.events("order.ended")
            .into_iter()
            .find(|e| Scenario::data(e)["order_ref"] == r.as_str())
    })
    .await;
    let steps: Vec<(chrono::DateTime<Utc>, Decimal)> = w
        .events("order.walked")
        .into_iter()
        .filter(|e| Scenario::data(e)["order_ref"] == r.as_str())
        .map(|e| (e.at, dec(&Scenario::data(&e)["price"]["amount"])))
        .collect();
    // Never past the bound: a debit pays no more, a credit takes no less
    // (a step re-priced from a market that moved in the trader's favour
    // may be better than the first price).
    let debit = bound >= first;
    assert!(
        steps
            .iter()
            .all(|(_, p)| if debit { *p <= bound } else { *p >= bound }),
        "every step within the issued bound {bound} (from {first}): {steps:?}"
    );
    let after: Vec<_> = steps.iter().filter(|(at, _)| *at >= mark).collect();
    // The new max_slippage_pct (10) would have bounded a walk planned now
    // at a tenth of the issued one's concession: steps beyond it show the
    // order kept its own plan.
    let new_bound = conceded(bound) / Decimal::TEN;
    eprintln!(
        "issued walk {walk:?}; the new settings would concede at most {new_bound}; steps after the apply: {after:?}; end {end:?}"
    );
    if end.outcome == "timed_out" {
        assert!(
            after.iter().any(|(_, p)| conceded(*p) > new_bound),
            "a walk that ran to its timeout walked past the new settings' bound: {steps:?}"
        );
    }
}

#[then("the gateway connection was never dropped")]
async fn never_dropped(w: &mut Scenario) {
    assert!(w.stack().broker.is_ready());
    assert_eq!(w.stack().sim.client_count(), 1);
    let metrics = w.stack().broker.metrics().link_status();
    assert_eq!(
        (metrics.connects, metrics.disconnects),
        (1, 0),
        "{metrics:?}"
    );
}

#[then(expr = "the apply is refused naming {word}")]
async fn refused_naming(w: &mut Scenario, key: String) {
    let err = w.apply.as_ref().unwrap().as_ref().unwrap_err();
    assert!(err.contains(&key), "{err}");
}

#[then("config.toml is byte-for-byte unchanged and no backup is written")]
async fn unchanged(w: &mut Scenario) {
    assert_eq!(
        std::fs::read(&w.stack().config_path).unwrap(),
        w.file_before
    );
    assert_eq!(w.config_store().backups().unwrap().len(), w.backups_before);
}

#[then("the engine is running with the old config")]
async fn old_config(w: &mut Scenario) {
    assert_eq!(w.engine().state(), EngineState::Running);
    let before = Config::from_toml_bytes(&w.file_before).unwrap();
    assert_eq!(
        w.engine().live().current().config.exits.stop_loss_atr_mult,
        before.exits.stop_loss_atr_mult
    );
    let from = w.mark_cycle;
    let ctx = w
        .wait("a cycle after the refusal", |w| {
            w.cycles().get(from).cloned()
        })
        .await;
    assert_eq!(
        ctx.config.exits.stop_loss_atr_mult,
        before.exits.stop_loss_atr_mult
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_ansi(false)
        .with_writer(|| LogWriter)
        .init();
    let features = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/features/engine");
    Scenario::cucumber()
        .max_concurrent_scenarios(2)
        .fail_on_skipped()
        .run_and_exit(features)
        .await;
}
