//! The journal on a real SQLite file: what is written reads back after the
//! file is closed and opened again, replays count once, spreads fold from
//! their orders' fills, and bad files are named, not trusted.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use vspread_core::journal::{
    EventQuery, Journal, JournalError, JournalEvent, JournalLeg, JournaledOrder, OrderEnd,
    SpreadClosure,
};
use vspread_core::{BrokerOrderId, ConId, Execution, OrderEvent, OrderStatus, Side};
use vspread_core::{OrderPurpose, Right, SpreadKind};
use vspread_journal::SqliteJournal;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn t(sec: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + sec, 0).unwrap()
}

fn leg(con_id: i64, strike: &str) -> JournalLeg {
    JournalLeg {
        con_id: ConId(con_id),
        strike: d(strike),
        right: Right::Call,
        expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        exchange: "SMART".into(),
        trading_class: "AAPL".into(),
        local_symbol: format!("AAPL C{strike}"),
        multiplier: d("100"),
        min_tick: d("0.01"),
    }
}

fn order(order_ref: &str, purpose: OrderPurpose, spread_ref: &str, qty: u32) -> JournaledOrder {
    JournaledOrder {
        order_ref: order_ref.into(),
        purpose,
        spread_ref: spread_ref.into(),
        symbol: "AAPL".into(),
        currency: "USD".into(),
        kind: SpreadKind::BullCall,
        long: leg(11, "100"),
        short: leg(12, "105"),
        quantity: qty,
        limit: d("2.10"),
        credit: purpose == OrderPurpose::Exit,
        mid: d("2.12"),
        reason: "high_base".into(),
        context: r#"{"rsi":61.5}"#.into(),
        created_at: t(0),
    }
}

fn exec(
    id: &str,
    order_ref: &str,
    con_id: i64,
    action: Side,
    qty: &str,
    price: &str,
    combo: bool,
) -> OrderEvent {
    OrderEvent::Execution(Execution {
        exec_id: id.into(),
        order_id: BrokerOrderId(7),
        order_ref: order_ref.into(),
        con_id: ConId(con_id),
        side: action,
        quantity: d(qty),
        price: d(price),
        cumulative_quantity: d(qty),
        average_price: d(price),
        time: "20261120 15:30:00".into(),
        combo,
    })
}

fn commission(id: &str, order_ref: &str, amount: &str) -> OrderEvent {
    OrderEvent::Commission {
        exec_id: id.into(),
        order_ref: order_ref.into(),
        commission: d(amount),
        currency: "USD".into(),
    }
}

const ENTRY: &str = "vs-0123456789abcdef-e0";
const EXIT: &str = "vs-0123456789abcdef-x0";

/// An entry of 2 filled 1 + 1, an exit of 2 filled at once.
fn trade(j: &SqliteJournal) {
    j.record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 2))
        .unwrap();
    for (id, qty) in [("a", "1"), ("b", "1")] {
        j.record_order_event(
            &exec(&format!("{id}.l"), ENTRY, 11, Side::Buy, qty, "3.50", false),
            t(1),
        )
        .unwrap();
        j.record_order_event(
            &exec(
                &format!("{id}.s"),
                ENTRY,
                12,
                Side::Sell,
                qty,
                "1.40",
                false,
            ),
            t(1),
        )
        .unwrap();
        j.record_order_event(
            &exec(
                &format!("{id}.c"),
                ENTRY,
                28812380,
                Side::Buy,
                qty,
                "2.10",
                true,
            ),
            t(1),
        )
        .unwrap();
        j.record_order_event(&commission(&format!("{id}.l"), ENTRY, "0.65"), t(1))
            .unwrap();
        j.record_order_event(&commission(&format!("{id}.s"), ENTRY, "0.65"), t(1))
            .unwrap();
    }
    j.record_order_end(
        ENTRY,
        &OrderEnd {
            outcome: "filled".into(),
            detail: String::new(),
            at: t(2),
        },
    )
    .unwrap();
    j.record_order(&order(EXIT, OrderPurpose::Exit, ENTRY, 2))
        .unwrap();
    j.record_order_event(&exec("x.l", EXIT, 11, Side::Sell, "2", "4.80", false), t(3))
        .unwrap();
    j.record_order_event(&exec("x.s", EXIT, 12, Side::Buy, "2", "2.00", false), t(3))
        .unwrap();
    j.record_order_event(
        &exec("x.c", EXIT, 28812380, Side::Sell, "2", "2.80", true),
        t(3),
    )
    .unwrap();
    j.record_order_event(&commission("x.l", EXIT, "1.30"), t(3))
        .unwrap();
    j.record_order_event(&commission("x.s", EXIT, "1.30"), t(3))
        .unwrap();
}

#[test]
fn a_trade_reads_back_after_reopening_with_its_pnl_to_the_cent() {
    let dir = tempfile::tempdir().unwrap();
    {
        let j = SqliteJournal::open_in(dir.path()).unwrap();
        trade(&j);
    }
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    let orders = j.orders().unwrap();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].order, order(ENTRY, OrderPurpose::Entry, ENTRY, 2));
    assert_eq!(orders[0].filled, d("2"));
    assert_eq!(orders[0].average_net, Some(d("2.10")));
    assert_eq!(orders[0].commissions, d("2.60"));
    assert!(!orders[0].is_open());
    assert!(orders[1].is_open(), "the exit has no end recorded");
    let spreads = j.spreads().unwrap();
    assert_eq!(spreads.len(), 1);
    let s = &spreads[0];
    assert_eq!((s.opened, s.closed, s.exit_orders), (d("2"), d("2"), 1));
    assert!(!s.is_open());
    // Legs: -350 -350 +140 +140 (entry), +960 -400 (exit) = 140; less 5.20 commissions.
    assert_eq!(s.commissions, d("5.20"));
    assert_eq!(s.cash, d("134.80"));
    assert_eq!(j.fills().unwrap().len(), 9);
}

#[test]
fn replayed_executions_and_commissions_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    trade(&j);
    let again = exec("a.l", ENTRY, 11, Side::Buy, "1", "3.50", false);
    assert!(!j.record_order_event(&again, t(9)).unwrap());
    assert!(
        !j.record_order_event(&commission("a.l", ENTRY, "0.65"), t(9))
            .unwrap()
    );
    assert_eq!(j.fills().unwrap().len(), 9);
    assert_eq!(j.spreads().unwrap()[0].cash, d("134.80"));
}

#[test]
fn the_same_order_cannot_be_journaled_twice() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    j.record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 1))
        .unwrap();
    let err = j
        .record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 1))
        .unwrap_err();
    assert!(
        matches!(err, JournalError::Refused(ref m) if m.contains(ENTRY)),
        "{err}"
    );
    assert_eq!(j.orders().unwrap().len(), 1);
}

#[test]
fn events_of_unknown_orders_are_ignored_and_statuses_tracked() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    let foreign = exec("z", "someone-else", 11, Side::Buy, "1", "1", false);
    assert!(!j.record_order_event(&foreign, t(0)).unwrap());
    j.record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 1))
        .unwrap();
    let status = OrderEvent::Status {
        order_id: BrokerOrderId(42),
        order_ref: ENTRY.into(),
        status: OrderStatus::Submitted,
        filled: Decimal::ZERO,
        remaining: d("1"),
        average_fill_price: None,
    };
    assert!(j.record_order_event(&status, t(1)).unwrap());
    assert!(
        !j.record_order_event(&status, t(2)).unwrap(),
        "a repeated status is not news"
    );
    let o = &j.orders().unwrap()[0];
    assert_eq!(o.broker_order_id, Some(42));
    assert_eq!(o.last_status.as_deref(), Some("Submitted"));
    assert!(j.fills().unwrap().is_empty());
    // An order's end is recorded once.
    let end = |outcome: &str| OrderEnd {
        outcome: outcome.into(),
        detail: String::new(),
        at: t(3),
    };
    j.record_order_end(ENTRY, &end("cancelled")).unwrap();
    j.record_order_end(ENTRY, &end("filled")).unwrap();
    assert_eq!(
        j.orders().unwrap()[0].end.as_ref().unwrap().outcome,
        "cancelled"
    );
    assert!(
        j.record_order_end("vs-ffffffffffffffff-e0", &end("filled"))
            .is_err()
    );
}

#[test]
fn events_are_read_by_kind_prefix_newest_kept_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    for (i, kind) in [
        "signal.fired",
        "decision.refused",
        "config.applied",
        "decision.entry",
        "scan.completed",
    ]
    .iter()
    .enumerate()
    {
        j.record_event(&JournalEvent {
            at: t(i as i64),
            kind: kind.to_string(),
            message: format!("m{i}"),
            data: "{}".into(),
        })
        .unwrap();
    }
    let q = |prefixes: &[&str], limit| EventQuery {
        kind_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        limit,
    };
    let kinds = |e: Vec<JournalEvent>| e.into_iter().map(|e| e.kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(j.events(&q(&["decision."], 0)).unwrap()),
        ["decision.refused", "decision.entry"]
    );
    assert_eq!(
        kinds(j.events(&q(&["signal.", "scan."], 0)).unwrap()),
        ["signal.fired", "scan.completed"]
    );
    assert_eq!(
        kinds(j.events(&q(&[], 2)).unwrap()),
        ["decision.entry", "scan.completed"]
    );
}

#[test]
fn closures_read_back_with_their_spread() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    trade(&j);
    j.record_closure(&SpreadClosure {
        spread_ref: ENTRY.into(),
        reason: "profit_target".into(),
        realised: d("134.80"),
        r_multiple: Some(0.32),
        at: t(4),
    })
    .unwrap();
    let s = &j.spreads().unwrap()[0];
    assert_eq!(s.closure.as_ref().unwrap().reason, "profit_target");
}

#[test]
fn a_newer_schema_or_a_corrupt_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(vspread_journal::FILE_NAME);
    {
        let j = SqliteJournal::open(&path).unwrap();
        j.record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 1))
            .unwrap();
    }
    rusqlite_like_edit(&path, "UPDATE orders SET limit_price = 'two dollars'");
    let j = SqliteJournal::open(&path).unwrap();
    let err = j.orders().unwrap_err().to_string();
    assert!(
        err.contains("orders") && err.contains("limit_price") && err.contains("two dollars"),
        "{err}"
    );
    drop(j);
    rusqlite_like_edit(&path, "PRAGMA user_version = 99");
    let err = SqliteJournal::open(&path).unwrap_err().to_string();
    assert!(
        err.contains("99") && err.contains(&path.display().to_string()),
        "{err}"
    );
    // Nothing was changed by the refused open.
    let err = SqliteJournal::open_read_only(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("99"), "{err}");
}

/// Edits the file as a user with `sqlite3` would (through the journal's own
/// driver, the only SQL in the workspace).
fn rusqlite_like_edit(path: &std::path::Path, sql: &str) {
    vspread_journal::testing::execute(path, sql).unwrap();
}

#[test]
fn synced_writes_are_timed_and_narrative_events_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    assert_eq!(j.sync_timings().count, 0);
    j.record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 1))
        .unwrap();
    let after_order = j.sync_timings();
    assert_eq!(after_order.count, 1);
    assert!(after_order.sum_seconds > 0.0);
    j.record_event(&JournalEvent {
        at: t(1),
        kind: "signal.fired".into(),
        message: "a signal".into(),
        data: "{}".into(),
    })
    .unwrap();
    assert_eq!(j.sync_timings().count, 1, "a narrative event is not synced");
    j.record_order_end(
        ENTRY,
        &OrderEnd {
            outcome: "cancelled".into(),
            detail: String::new(),
            at: t(2),
        },
    )
    .unwrap();
    // A refused write is not a sync.
    assert!(
        j.record_order(&order(ENTRY, OrderPurpose::Entry, ENTRY, 1))
            .is_err()
    );
    let timings = j.sync_timings();
    assert_eq!(timings.count, 2);
    assert_eq!(timings.buckets.iter().sum::<u64>() + timings.over, 2);
}
