//! `vspread report` on a journal whose numbers are known: the page is
//! well-formed (it parses as XML), each chart is there with the right
//! numbers, the trade list has each trade's R, the config history is
//! shown, and a string from the journal that looks like markup stays text.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use vspread_core::SpreadKind;
use vspread_core::journal::{
    Journal, JournalEvent, JournalLeg, JournaledOrder, OrderEnd, SpreadClosure,
};
use vspread_core::{BrokerOrderId, ConId, Execution, OrderEvent, OrderPurpose, Right, Side};
use vspread_journal::SqliteJournal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn t(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, h, m, s).unwrap()
}

fn leg(con_id: i64, strike: &str) -> JournalLeg {
    JournalLeg {
        con_id: ConId(con_id),
        strike: d(strike),
        right: Right::Call,
        expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        exchange: "SMART".into(),
        trading_class: "QQQ".into(),
        local_symbol: String::new(),
        multiplier: d("100"),
        min_tick: d("0.01"),
    }
}

struct Order<'a> {
    order_ref: &'a str,
    purpose: OrderPurpose,
    spread_ref: &'a str,
    symbol: &'a str,
    mid: &'a str,
    created: DateTime<Utc>,
    signal: Option<DateTime<Utc>>,
}

fn record(j: &SqliteJournal, o: &Order<'_>) {
    let context = match o.signal {
        Some(s) => serde_json::json!({ "signal_at": s }).to_string(),
        None => "{}".into(),
    };
    j.record_order(&JournaledOrder {
        order_ref: o.order_ref.into(),
        purpose: o.purpose,
        spread_ref: o.spread_ref.into(),
        symbol: o.symbol.into(),
        currency: "USD".into(),
        kind: SpreadKind::BullCall,
        long: leg(1, "500"),
        short: leg(2, "505"),
        quantity: 2,
        limit: d(o.mid),
        credit: o.purpose == OrderPurpose::Exit,
        mid: d(o.mid),
        reason: "high_base".into(),
        context,
        created_at: o.created,
    })
    .unwrap();
}

fn event(j: &SqliteJournal, at: DateTime<Utc>, kind: &str, data: serde_json::Value) {
    j.record_event(&JournalEvent {
        seq: None,
        at,
        kind: kind.into(),
        message: kind.into(),
        data: data.to_string(),
    })
    .unwrap();
}

/// Placed at `placed`, both spreads filled at `price` at `filled`.
fn fill(
    j: &SqliteJournal,
    order_ref: &str,
    placed: DateTime<Utc>,
    price: &str,
    filled: DateTime<Utc>,
) {
    event(
        j,
        placed,
        "order.placed",
        serde_json::json!({ "order_ref": order_ref }),
    );
    let exec = Execution {
        exec_id: format!("{order_ref}.combo"),
        order_id: BrokerOrderId(1),
        order_ref: order_ref.into(),
        con_id: ConId(0),
        side: Side::Buy,
        quantity: d("2"),
        price: d(price),
        cumulative_quantity: d("2"),
        average_price: d(price),
        time: String::new(),
        combo: true,
    };
    j.record_order_event(&OrderEvent::Execution(exec), filled)
        .unwrap();
    end(j, order_ref, "filled", None, filled);
}

fn end(j: &SqliteJournal, order_ref: &str, outcome: &str, reason: Option<&str>, at: DateTime<Utc>) {
    j.record_order_end(
        order_ref,
        &OrderEnd {
            outcome: outcome.into(),
            detail: String::new(),
            at,
        },
    )
    .unwrap();
    let mut data = serde_json::json!({ "order_ref": order_ref, "end": outcome });
    if let Some(r) = reason {
        data["reason"] = r.into();
    }
    event(j, at, "order.ended", data);
}

/// Two trades (+180.80 on the 24th, −95.40 on the 25th), an entry timed
/// out, one cancelled by the kill switch, four refusals, two config
/// versions.
fn known_journal(dir: &Path) {
    let j = SqliteJournal::open_in(dir).unwrap();
    event(
        &j,
        t(23, 14, 0, 0),
        "engine.started",
        serde_json::json!({"config_version": "v-start", "config_generation": 0, "config": {}}),
    );
    let order = |order_ref, purpose, spread_ref, symbol, mid, created, signal| Order {
        order_ref,
        purpose,
        spread_ref,
        symbol,
        mid,
        created,
        signal,
    };
    // Trade 1: paid 2.05 for a 2.00 mid (1 % of the 5 width), sold at 2.98
    // for a 3.00 mid (0.4 %).
    record(
        &j,
        &order(
            "e1",
            OrderPurpose::Entry,
            "e1",
            "QQQ",
            "2.00",
            t(23, 15, 0, 1),
            Some(t(23, 15, 0, 0)),
        ),
    );
    fill(&j, "e1", t(23, 15, 0, 2), "2.05", t(23, 15, 0, 32));
    record(
        &j,
        &order(
            "x1",
            OrderPurpose::Exit,
            "e1",
            "QQQ",
            "3.00",
            t(24, 15, 0, 0),
            None,
        ),
    );
    fill(&j, "x1", t(24, 15, 0, 1), "2.98", t(24, 15, 0, 11));
    j.record_closure(&SpreadClosure {
        spread_ref: "e1".into(),
        reason: "profit_target".into(),
        realised: d("180.80"),
        r_multiple: Some(0.44),
        at: t(24, 15, 0, 11),
    })
    .unwrap();
    // Trade 2: 0 % in, 0.4 % out, a loss; its exit reason looks like markup.
    record(
        &j,
        &order(
            "e4",
            OrderPurpose::Entry,
            "e4",
            "IWM",
            "1.50",
            t(24, 16, 0, 0),
            Some(t(24, 16, 0, 0)),
        ),
    );
    fill(&j, "e4", t(24, 16, 0, 0), "1.50", t(24, 16, 0, 5));
    record(
        &j,
        &order(
            "x4",
            OrderPurpose::Exit,
            "e4",
            "IWM",
            "1.02",
            t(25, 15, 30, 0),
            None,
        ),
    );
    fill(&j, "x4", t(25, 15, 30, 0), "1.00", t(25, 15, 30, 20));
    j.record_closure(&SpreadClosure {
        spread_ref: "e4".into(),
        reason: "stop <script>alert(1)</script>".into(),
        realised: d("-95.40"),
        r_multiple: Some(-0.32),
        at: t(25, 15, 30, 20),
    })
    .unwrap();
    // An entry that timed out and one the kill switch cancelled.
    record(
        &j,
        &order(
            "e2",
            OrderPurpose::Entry,
            "e2",
            "SPY",
            "1.00",
            t(24, 17, 0, 0),
            Some(t(24, 17, 0, 0)),
        ),
    );
    event(
        &j,
        t(24, 17, 0, 1),
        "order.placed",
        serde_json::json!({ "order_ref": "e2" }),
    );
    end(&j, "e2", "timed_out", None, t(24, 17, 2, 1));
    record(
        &j,
        &order(
            "e3",
            OrderPurpose::Entry,
            "e3",
            "SPY",
            "1.00",
            t(24, 18, 0, 0),
            None,
        ),
    );
    end(&j, "e3", "cancelled", Some("kill_switch"), t(24, 18, 0, 5));
    for (i, rule) in [
        "max_positions",
        "max_positions",
        "iv_circuit_breaker",
        "max_positions",
    ]
    .into_iter()
    .enumerate()
    {
        event(
            &j,
            t(24, 19, i as u32, 0),
            "decision.refused",
            serde_json::json!({"symbol": "QQQ", "refusal": {"rule": rule}}),
        );
    }
    event(
        &j,
        t(24, 20, 0, 0),
        "config.applied",
        serde_json::json!({"who": "admin", "version": "v-two", "backup_id": null, "interruption_ms": 0.1, "changes": [{"path": "risk.max_iv", "old": 1.0, "new": 0.8, "applies": "live"}]}),
    );
}

fn vspread() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
}

fn by_id<'a>(doc: &'a roxmltree::Document<'a>, id: &str) -> roxmltree::Node<'a, 'a> {
    doc.descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no element #{id}"))
}

/// `(data-label or data-at, data-value)` of each mark of class `class`.
fn marks(node: roxmltree::Node<'_, '_>, class: &str) -> Vec<(String, String)> {
    node.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .map(|n| {
            (
                n.attribute("data-label")
                    .or(n.attribute("data-at"))
                    .unwrap_or_default()
                    .to_string(),
                n.attribute("data-value").unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn rows(doc: &roxmltree::Document<'_>, id: &str) -> Vec<Vec<String>> {
    by_id(doc, id)
        .descendants()
        .filter(|n| n.has_tag_name("tr"))
        .skip(1)
        .map(|tr| {
            tr.children()
                .filter(|c| c.has_tag_name("td"))
                .map(|td| td.text().unwrap_or_default().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn the_report_of_a_known_journal_draws_each_chart_with_its_numbers() {
    let dir = tempfile::tempdir().unwrap();
    known_journal(dir.path());
    let out = dir.path().join("report.html");
    let run = vspread()
        .args(["report", "--data-dir"])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the report is well-formed");
    // Self-contained: no script, nothing fetched.
    assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
    assert!(
        !doc.descendants()
            .any(|n| n.attribute("src").is_some() || n.has_tag_name("link"))
    );

    let equity = marks(by_id(&doc, "equity-curve"), "point");
    assert_eq!(
        equity,
        [
            ("2026-11-24T15:00:11+00:00".into(), "180.80".into()),
            ("2026-11-25T15:30:20+00:00".into(), "85.40".into()),
        ]
    );
    let drawdown: Vec<Decimal> = marks(by_id(&doc, "drawdown-curve"), "point")
        .into_iter()
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    assert_eq!(drawdown, [d("0"), d("-95.40")]);
    assert_eq!(
        marks(by_id(&doc, "daily-pnl"), "bar"),
        [
            ("11-24".into(), "180.80".into()),
            ("11-25".into(), "-95.40".into())
        ]
    );
    // Entries: e1 and e4 filled, e2 timed out (e3, cancelled by the kill
    // switch, is left out); both exits filled.
    assert_eq!(
        marks(by_id(&doc, "fill-rate-chart"), "bar"),
        [
            ("all".into(), "80.0".into()),
            ("entries".into(), "66.7".into()),
            ("exits".into(), "100.0".into()),
        ]
    );
    let slippage: Vec<(String, String)> = marks(by_id(&doc, "slippage-histogram"), "bar")
        .into_iter()
        .filter(|(_, v)| v != "0")
        .collect();
    assert_eq!(
        slippage,
        [
            ("0–0.25 %".into(), "1".into()),
            ("0.25–0.5 %".into(), "2".into()),
            ("1–2 %".into(), "1".into()),
        ]
    );
    let fill_times: Vec<(String, String)> = marks(by_id(&doc, "time-to-fill-histogram"), "bar")
        .into_iter()
        .filter(|(_, v)| v != "0")
        .collect();
    assert_eq!(
        fill_times,
        [
            ("5–10 s".into(), "1".into()),
            ("10–20 s".into(), "1".into()),
            ("20–30 s".into(), "1".into()),
            ("30–60 s".into(), "1".into()),
        ]
    );
    assert_eq!(
        marks(by_id(&doc, "refusals-chart"), "bar"),
        [
            ("max_positions".into(), "3".into()),
            ("iv_circuit_breaker".into(), "1".into()),
        ]
    );

    let trades = rows(&doc, "trade-list");
    assert_eq!(trades.len(), 2);
    assert_eq!(
        (
            trades[0][1].as_str(),
            trades[0][6].as_str(),
            trades[0][7].as_str()
        ),
        ("QQQ", "180.80", "0.44")
    );
    assert_eq!(
        trades[1][5], "stop <script>alert(1)</script>",
        "escaped, kept as text"
    );
    assert_eq!(trades[1][7], "-0.32");
    let versions = rows(&doc, "config-versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (versions[0][1].as_str(), versions[0][2].as_str()),
        ("v-start", "start")
    );
    assert_eq!(versions[1][4], "risk.max_iv = 0.8");

    let targets = rows(&doc, "targets");
    assert_eq!(targets[0][0], "fill rate");
    assert_eq!(targets[0][4], "missed", "80 % is below 98 %");
    assert_eq!(targets[1][3], "0.400 % of width");
    assert_eq!(targets[1][4], "met");
    // Signal to order: e1 2 s, e4 0 s, e2 1 s: p95 1.9 s.
    assert_eq!(targets[2][3], "1.900 s");
}

#[test]
fn a_period_narrows_the_report_and_a_missing_journal_is_named() {
    let dir = tempfile::tempdir().unwrap();
    known_journal(dir.path());
    let out = dir.path().join("25th.html");
    let run = vspread()
        .args([
            "report",
            "--from",
            "2026-11-25",
            "--to",
            "2026-11-25",
            "--data-dir",
        ])
        .arg(dir.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        marks(by_id(&doc, "daily-pnl"), "bar"),
        [("11-25".into(), "-95.40".into())]
    );
    // v-two, applied on the 24th, was in force when the 25th began.
    let versions = rows(&doc, "config-versions");
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0][1], "v-two");

    let empty = tempfile::tempdir().unwrap();
    let run = vspread()
        .args(["report", "--data-dir"])
        .arg(empty.path())
        .arg("--out")
        .arg(empty.path().join("r.html"))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no journal at"), "{stderr}");
    assert!(!empty.path().join("r.html").exists());
}
