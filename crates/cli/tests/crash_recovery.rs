//! Crash recovery, end to end: `vspread run` trades against a separate
//! `vspread sim` process and is killed with SIGKILL at random moments of
//! order placement, then started again, many times. After every restart's
//! recovery, the journal and the simulator agree: no orderRef was ever sent
//! twice, every order the simulator holds was journaled first, every fill
//! and commission the simulator made before the kill is in the journal,
//! nothing is left working from the killed run, and the gateway's legs
//! pair up with the journal's open spreads. At the end, with trading
//! stopped, the journal's cash to the cent is the simulator's.
//!
//! The engine is set to churn: every held spread is past `exit_dte`, so each
//! cycle closes what it holds and opens anew, and there are orders of both
//! kinds to kill in the middle of.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::Value;
use vspread_core::journal::{EventQuery, Journal};
use vspread_core::order::OrderPurpose;
use vspread_journal::{FILE_NAME, SqliteJournal};

const RUNS: usize = 8;
const SPEED: &str = "60";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn vspread() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
}

struct Sim {
    child: Child,
    control: u16,
}

impl Sim {
    fn start(dir: &Path) -> (Self, u16) {
        let (port, control) = (free_port(), free_port());
        let log = std::fs::File::create(dir.join("sim.log")).unwrap();
        let child = vspread()
            .args(["sim", "--seed", "3", "--speed", SPEED])
            .args(["--start", "2026-11-23T15:00:00Z"])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--control", &format!("127.0.0.1:{control}")])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let sim = Sim { child, control };
        let since = Instant::now();
        while TcpStream::connect(("127.0.0.1", control)).is_err() {
            assert!(
                since.elapsed() < Duration::from_secs(20),
                "the simulator did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        (sim, port)
    }

    fn ledger(&self) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.control)).unwrap();
        s.write_all(b"ledger\n").unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).unwrap();
        let json = line.strip_prefix("ok ").unwrap_or_else(|| panic!("{line}"));
        serde_json::from_str(json).unwrap()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set(config: &Path, key: &str, value: &str) {
    let out = vspread()
        .args(["config", "set", key, value, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{key}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_config(dir: &Path, gateway_port: u16) -> PathBuf {
    let config = dir.join("config.toml");
    let out = vspread()
        .args(["config", "init", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (key, value) in [
        ("ibkr.port", gateway_port.to_string()),
        ("storage.data_dir", "\".\"".into()),
        ("trading.universe", "[\"QQQ\", \"IWM\"]".into()),
        ("trading.scan_interval_s", "60".into()),
        ("trading.max_positions", "20".into()),
        ("trading.max_positions_per_underlying", "10".into()),
        ("risk.max_daily_loss", "100000".into()),
        ("execution.max_slippage_pct", "100".into()),
        ("exits.exit_dte", "365".into()),
    ] {
        set(&config, key, &value);
    }
    config
}

fn start_engine(config: &Path, log: &Path) -> Child {
    vspread()
        .args([
            "run",
            "--clock-from-gateway",
            SPEED,
            "--listen",
            "127.0.0.1:0",
            "--config",
        ])
        .arg(config)
        .env("VSPREAD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

fn journal(dir: &Path) -> Option<SqliteJournal> {
    let path = dir.join(FILE_NAME);
    path.exists()
        .then(|| SqliteJournal::open_read_only(&path).ok())
        .flatten()
}

/// The recovery reports so far.
fn recoveries(dir: &Path) -> Vec<Value> {
    let Some(j) = journal(dir) else { return vec![] };
    let query = EventQuery {
        kind_prefixes: vec!["recovery.completed".into()],
        order_refs: None,
        limit: 0,
        after: None,
        before: None,
    };
    j.events(&query)
        .map(|e| {
            e.iter()
                .map(|e| serde_json::from_str(&e.data).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn wait_until<T>(what: &str, limit: Duration, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let since = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if since.elapsed() > limit {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<_> = log.lines().rev().take(40).collect();
            panic!(
                "{what} not within {limit:?}; engine log tail:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn d(v: &Value) -> Decimal {
    v.as_str()
        .map_or_else(|| v.to_string().parse().unwrap(), |s| s.parse().unwrap())
}

/// What must hold after a restart's recovery, given the simulator's ledger
/// taken right after the kill.
fn check_agreement(dir: &Path, at_kill: &Value, after: &Value, run: usize) {
    let j = journal(dir).unwrap();
    let orders = j.orders().unwrap();
    let journaled: BTreeMap<&str, _> = orders
        .iter()
        .map(|o| (o.order.order_ref.as_str(), o))
        .collect();
    // No orderRef twice at the gateway, and none the journal lacks.
    let mut seen = BTreeSet::new();
    for o in after["orders"].as_array().unwrap() {
        let r = o["order_ref"].as_str().unwrap();
        assert!(
            seen.insert(r.to_string()),
            "run {run}: {r} was sent twice: {after}"
        );
        assert!(
            journaled.contains_key(r),
            "run {run}: {r} at the gateway but not journaled"
        );
    }
    // Every fill and commission made before the kill is journaled.
    let fills: BTreeMap<String, _> = j
        .fills()
        .unwrap()
        .into_iter()
        .map(|f| (f.exec_id.clone(), f))
        .collect();
    for x in at_kill["executions"].as_array().unwrap() {
        let id = x["exec_id"].as_str().unwrap();
        let f = fills
            .get(id)
            .unwrap_or_else(|| panic!("run {run}: fill {id} lost: {x}"));
        assert_eq!(f.order_ref, x["order_ref"].as_str().unwrap());
        assert_eq!(f.price, d(&x["price"]), "run {run}: {id}");
        assert_eq!(f.quantity, d(&x["shares"]), "run {run}: {id}");
        assert_eq!(
            f.commission,
            Some(d(&x["commission"])),
            "run {run}: {id} commission"
        );
    }
    // Nothing the killed run left working is still working, and every
    // order it journaled has an end.
    for o in at_kill["orders"].as_array().unwrap() {
        let r = o["order_ref"].as_str().unwrap();
        let now = after["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["order_ref"] == r)
            .unwrap();
        assert!(
            !matches!(now["status"].as_str(), Some("Submitted" | "PreSubmitted")),
            "run {run}: {r} still working after recovery: {now}"
        );
        assert!(
            !journaled[r].is_open(),
            "run {run}: {r} has no end in the journal"
        );
    }
}

#[test]
fn an_engine_killed_during_order_placement_never_sends_twice_nor_loses_a_fill() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (sim, port) = Sim::start(dir);
    let config = write_config(dir, port);
    // Kill delays after an order is journaled: from "before it is sent"
    // to "well into its walk", spread by a fixed generator so a failure
    // replays.
    let mut seed: u64 = 0x5eed;
    let mut delay = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Squared: as many kills in the first 15 ms (the order journaled,
        // maybe not yet sent) as in the last second.
        let x = (seed >> 33) % 1500;
        Duration::from_millis(x * x / 1500)
    };
    let mut kinds = BTreeMap::<String, usize>::new();
    for run in 0..RUNS {
        let log = dir.join(format!("engine-{run}.log"));
        let before_orders = journal(dir).map_or(0, |j| j.orders().unwrap().len());
        let mut engine = start_engine(&config, &log);
        let report = wait_until("recovery", Duration::from_secs(60), &log, || {
            recoveries(dir).get(run).cloned()
        });
        if run > 0 {
            let mismatched = &report["report"]["mismatched_legs"];
            assert_eq!(
                mismatched,
                &Value::Array(vec![]),
                "run {run}: legs disagree: {report}"
            );
            let at_kill: Value = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("ledger-{}.json", run - 1))).unwrap(),
            )
            .unwrap();
            check_agreement(dir, &at_kill, &sim.ledger(), run);
        }
        // Runs alternate between entries and exits: the next order of this
        // run's kind that the engine journals, then a random moment later:
        // kill. Orders of the other kind go on undisturbed (an exit needs
        // an entry to have filled first), so both kinds are killed however
        // slowly the machine fills orders.
        let wanted = if run % 2 == 0 {
            OrderPurpose::Entry
        } else {
            OrderPurpose::Exit
        };
        let purpose = wait_until(
            &format!("a new {wanted:?} order"),
            Duration::from_secs(240),
            &log,
            || {
                let orders = journal(dir)?.orders().ok()?;
                orders[before_orders.min(orders.len())..]
                    .iter()
                    .any(|o| o.order.purpose == wanted)
                    .then_some(wanted)
            },
        );
        let wait = delay();
        std::thread::sleep(wait);
        engine.kill().unwrap();
        engine.wait().unwrap();
        *kinds.entry(format!("{purpose:?}")).or_default() += 1;
        eprintln!("run {run}: killed {wait:?} after a {purpose:?} order was journaled");
        std::fs::write(
            dir.join(format!("ledger-{run}.json")),
            sim.ledger().to_string(),
        )
        .unwrap();
    }

    // Stop trading (no entries; nothing past exit_dte), recover once more,
    // and compare the money.
    set(&config, "risk.kill_switch", "true");
    set(&config, "exits.exit_dte", "0");
    let log = dir.join("engine-final.log");
    let mut engine = start_engine(&config, &log);
    let report = wait_until("the last recovery", Duration::from_secs(60), &log, || {
        recoveries(dir).get(RUNS).cloned()
    });
    assert_eq!(
        report["report"]["mismatched_legs"],
        Value::Array(vec![]),
        "{report}"
    );
    let at_kill: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("ledger-{}.json", RUNS - 1))).unwrap(),
    )
    .unwrap();
    let ledger = sim.ledger();
    check_agreement(dir, &at_kill, &ledger, RUNS);
    // An exit by the profit target or the stop may still be under way;
    // compare once the two are quiet.
    let j = journal(dir).unwrap();
    let cash = || -> (Decimal, Decimal) {
        let journal: Decimal = j.spreads().unwrap().iter().map(|s| s.cash).sum();
        (journal, d(&sim.ledger()["cash"]) - Decimal::from(100_000))
    };
    let quiet = Instant::now();
    let mut last = cash();
    while last.0 != last.1 && quiet.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(200));
        last = cash();
    }
    assert_eq!(
        last.0, last.1,
        "the journal's cash, every fill less every commission, is the simulator's"
    );
    let ledger = sim.ledger();
    let orders = j.orders().unwrap();
    let outcomes: BTreeMap<String, usize> = orders.iter().fold(BTreeMap::new(), |mut m, o| {
        *m.entry(o.end.as_ref().map_or("open".into(), |e| e.outcome.clone()))
            .or_default() += 1;
        m
    });
    eprintln!(
        "{RUNS} kills ({kinds:?}); {} orders journaled, {} at the gateway, {} fills; outcomes {outcomes:?}",
        orders.len(),
        ledger["orders"].as_array().unwrap().len(),
        ledger["executions"].as_array().unwrap().len()
    );
    assert!(
        kinds.len() == 2,
        "kills fell on entries and exits alike: {kinds:?}"
    );
    assert!(
        !ledger["executions"].as_array().unwrap().is_empty(),
        "the runs filled orders, so lost fills would have shown"
    );
    engine.kill().unwrap();
    engine.wait().unwrap();
}
