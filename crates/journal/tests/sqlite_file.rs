//! The journal on a real SQLite file: what is written reads back after the
//! file is closed and opened again, replays count once, spreads fold from
//! their orders' fills, and bad files are named, not trusted.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;
use vspread_core::journal::{
    DecisionQuery, EventQuery, Journal, JournalDecision, JournalError, JournalEvent, JournalLeg,
    JournaledOrder, OrderEnd, SpreadClosure,
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
            seq: None,
            at: t(i as i64),
            kind: kind.to_string(),
            message: format!("m{i}"),
            data: "{}".into(),
        })
        .unwrap();
    }
    let q = |prefixes: &[&str], limit| EventQuery {
        kind_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        order_refs: None,
        limit,
        after: None,
        before: None,
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

fn decision(cycle: u64, symbol: &str) -> JournalDecision {
    JournalDecision {
        id: format!("c{cycle}-{symbol}"),
        cycle,
        at: t(cycle as i64 * 300),
        symbol: symbol.into(),
        outcome: "no_signal".into(),
        record: format!(r#"{{"id":"c{cycle}-{symbol}","outcome":{{"result":"no_signal"}}}}"#),
    }
}

#[test]
fn decisions_read_back_newest_first_by_symbol_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(vspread_journal::FILE_NAME);
    {
        let j = SqliteJournal::open(&path).unwrap();
        for cycle in 1..=6 {
            let symbol = if cycle % 3 == 0 { "QQQ" } else { "SPY" };
            j.record_decision(&decision(cycle, symbol)).unwrap();
        }
    }
    let j = SqliteJournal::open(&path).unwrap();
    let ids = |q: DecisionQuery| -> Vec<String> {
        j.decisions(&q).unwrap().into_iter().map(|d| d.id).collect()
    };
    assert_eq!(
        ids(DecisionQuery::default()),
        ["c6-QQQ", "c5-SPY", "c4-SPY", "c3-QQQ", "c2-SPY", "c1-SPY"]
    );
    assert_eq!(
        ids(DecisionQuery {
            symbol: Some("SPY".into()),
            limit: 2
        }),
        ["c5-SPY", "c4-SPY"]
    );
    assert!(
        ids(DecisionQuery {
            symbol: Some("IWM".into()),
            limit: 0
        })
        .is_empty()
    );
    let back = j
        .decisions(&DecisionQuery {
            symbol: Some("QQQ".into()),
            limit: 1,
        })
        .unwrap();
    assert_eq!(back, [decision(6, "QQQ")], "every field as written");
    drop(j);

    // A hand-edited time is named by its table and row.
    rusqlite_like_edit(&path, "UPDATE decisions SET at = 'noon' WHERE seq = 2");
    let j = SqliteJournal::open(&path).unwrap();
    let err = j
        .decisions(&DecisionQuery::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("decisions") && err.contains("row 2") && err.contains("noon"),
        "{err}"
    );
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
        seq: None,
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

/// `n` spreads on contracts of their own: every third still open, the
/// others closed at `t(100 + i)`; then two entries that never filled (one
/// timed out, one still working).
fn book(j: &SqliteJournal, n: i64) {
    let end = |outcome: &str, at| OrderEnd {
        outcome: outcome.into(),
        detail: String::new(),
        at,
    };
    for i in 0..n {
        let entry = format!("vs-{i:016x}-e0");
        let exit = format!("vs-{i:016x}-x0");
        let (long, short) = (1000 + 2 * i, 1001 + 2 * i);
        let mut o = order(&entry, OrderPurpose::Entry, &entry, 1);
        o.long.con_id = ConId(long);
        o.short.con_id = ConId(short);
        j.record_order(&o).unwrap();
        for (id, con, side, price, combo) in [
            ("l", long, Side::Buy, "3.00", false),
            ("s", short, Side::Sell, "1.00", false),
            ("c", 9, Side::Buy, "2.00", true),
        ] {
            let id = format!("{entry}.{id}");
            j.record_order_event(&exec(&id, &entry, con, side, "1", price, combo), t(i))
                .unwrap();
            if !combo {
                j.record_order_event(&commission(&id, &entry, "0.65"), t(i))
                    .unwrap();
            }
        }
        j.record_order_end(&entry, &end("filled", t(i))).unwrap();
        if i % 3 == 0 {
            continue;
        }
        let mut x = order(&exit, OrderPurpose::Exit, &entry, 1);
        x.long = o.long.clone();
        x.short = o.short.clone();
        j.record_order(&x).unwrap();
        for (id, con, side, price) in [
            ("l", long, Side::Sell, "4.00"),
            ("s", short, Side::Buy, "1.50"),
        ] {
            let id = format!("{exit}.{id}");
            j.record_order_event(&exec(&id, &exit, con, side, "1", price, false), t(50 + i))
                .unwrap();
        }
        j.record_order_end(&exit, &end("filled", t(50 + i)))
            .unwrap();
        j.record_closure(&SpreadClosure {
            spread_ref: entry.clone(),
            reason: "profit_target".into(),
            realised: d("48.70") + Decimal::from(i),
            r_multiple: Some(0.25),
            at: t(100 + i),
        })
        .unwrap();
    }
    for (r, ended) in [
        ("vs-00000000000000aa-e0", true),
        ("vs-00000000000000bb-e0", false),
    ] {
        j.record_order(&order(r, OrderPurpose::Entry, r, 1))
            .unwrap();
        if ended {
            j.record_order_end(r, &end("timed_out", t(500))).unwrap();
        }
    }
}

#[test]
fn pages_read_what_they_ask_for_and_agree_with_the_whole_record() {
    use vspread_core::journal::OrderQuery;
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    book(&j, 30);
    let all = j.orders().unwrap();
    let newest: Vec<_> = all.iter().rev().cloned().collect();
    let page = |q: OrderQuery| j.orders_page(&q).unwrap();

    assert_eq!(
        page(OrderQuery {
            limit: 7,
            ..Default::default()
        }),
        newest[..7]
    );
    assert_eq!(page(OrderQuery::default()), newest);
    let open: Vec<_> = newest.iter().filter(|o| o.is_open()).cloned().collect();
    assert_eq!(open.len(), 1, "only the entry still working is open");
    assert_eq!(
        page(OrderQuery {
            open: Some(true),
            ..Default::default()
        }),
        open
    );
    let ended: Vec<_> = newest
        .iter()
        .filter(|o| !o.is_open())
        .take(3)
        .cloned()
        .collect();
    assert_eq!(
        page(OrderQuery {
            open: Some(false),
            limit: 3,
            ..Default::default()
        }),
        ended
    );
    let one = page(OrderQuery {
        order_ref: Some("vs-0000000000000004-x0".into()),
        limit: 1,
        ..Default::default()
    });
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].filled,
        d("1"),
        "the page's order has its fills summed"
    );
    assert_eq!(one[0].commissions, Decimal::ZERO);
    assert_eq!(
        one,
        all.iter()
            .filter(|o| o.order.order_ref == "vs-0000000000000004-x0")
            .cloned()
            .collect::<Vec<_>>()
    );
    assert!(
        page(OrderQuery {
            order_ref: Some("vs-none".into()),
            ..Default::default()
        })
        .is_empty()
    );

    let refs = vec![
        "vs-0000000000000002-e0".to_string(),
        "vs-0000000000000005-x0".to_string(),
    ];
    let fills: Vec<_> = j
        .fills()
        .unwrap()
        .into_iter()
        .filter(|f| refs.contains(&f.order_ref))
        .collect();
    assert_eq!(fills.len(), 5);
    assert_eq!(j.fills_of(&refs).unwrap(), fills);
    assert!(j.fills_of(&[]).unwrap().is_empty());

    let spreads = j.spreads().unwrap();
    let open: Vec<_> = spreads.iter().filter(|s| s.is_open()).cloned().collect();
    assert_eq!(open.len(), 10);
    assert_eq!(j.open_spreads().unwrap(), open);

    let mut closed: Vec<_> = spreads
        .iter()
        .filter(|s| s.closure.is_some())
        .cloned()
        .collect();
    closed.sort_by_key(|s| std::cmp::Reverse(s.closure.as_ref().unwrap().at));
    assert_eq!(closed.len(), 20);
    assert_eq!(j.closed_spreads(4).unwrap(), closed[..4]);
    assert_eq!(j.closed_spreads(0).unwrap(), closed);
    let total: Decimal = closed
        .iter()
        .map(|s| s.closure.as_ref().unwrap().realised)
        .sum();
    assert_eq!(j.realised_total().unwrap(), total);

    let traded = j.traded_con_ids().unwrap();
    assert_eq!(
        traded.len(),
        2 * 30 + 2,
        "each spread's two legs and the unfilled entries' 11, 12"
    );
    assert!(traded.contains(&ConId(1000)) && traded.contains(&ConId(1059)));
}

fn event(kind: &str, data: &str) -> JournalEvent {
    JournalEvent {
        seq: None,
        at: t(0),
        kind: kind.into(),
        message: kind.into(),
        data: data.into(),
    }
}

#[test]
fn events_are_found_by_their_order_and_an_older_file_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(vspread_journal::FILE_NAME);
    let of = |j: &SqliteJournal, refs: &[&str]| {
        j.events(&EventQuery {
            kind_prefixes: vec!["order.".into()],
            order_refs: Some(refs.iter().map(|r| r.to_string()).collect()),
            limit: 0,
            after: None,
            before: None,
        })
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .collect::<Vec<_>>()
    };
    {
        let j = SqliteJournal::open(&path).unwrap();
        j.record_event(&event(
            "order.placed",
            r#"{"order_ref":"A","price":"1.00"}"#,
        ))
        .unwrap();
        j.record_event(&event(
            "order.placed",
            r#"{"order_ref":"B","price":"2.00"}"#,
        ))
        .unwrap();
        j.record_event(&event("order.walked", r#"{"order_ref":"A","step":1}"#))
            .unwrap();
        j.record_event(&event("signal.fired", r#"{"symbol":"A"}"#))
            .unwrap();
        j.record_event(&event("order.odd", "not json")).unwrap();
        j.record_event(&event("order.odd", r#"{"order_ref":7}"#))
            .unwrap();
        assert_eq!(
            of(&j, &["A"]),
            [
                r#"{"order_ref":"A","price":"1.00"}"#,
                r#"{"order_ref":"A","step":1}"#
            ]
        );
        assert_eq!(of(&j, &["B", "C"]), [r#"{"order_ref":"B","price":"2.00"}"#]);
        assert_eq!(
            of(&j, &[]),
            Vec::<String>::new(),
            "an empty list of orders: no event"
        );
        let any_order = j
            .events(&EventQuery {
                kind_prefixes: vec!["order.".into()],
                order_refs: None,
                limit: 0,
                after: None,
                before: None,
            })
            .unwrap();
        assert_eq!(any_order.len(), 5, "no order filter: every order event");
    }
    // The same file as the first schema wrote it, with an event of then.
    rusqlite_like_edit(
        &path,
        "DROP TABLE decisions;
         DROP INDEX events_order; DROP INDEX closures_at; DROP INDEX orders_open;
         ALTER TABLE events DROP COLUMN order_ref;
         INSERT INTO events (at, kind, message, data)
             VALUES ('2026-11-20T15:30:00Z', 'order.walked', 'm', '{\"order_ref\":\"B\",\"step\":1}');
         PRAGMA user_version = 1;",
    );
    let err = SqliteJournal::open_read_only(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("version 1") && err.contains("older"), "{err}");
    let j = SqliteJournal::open(&path).unwrap();
    assert_eq!(
        of(&j, &["B"]),
        [
            r#"{"order_ref":"B","price":"2.00"}"#,
            r#"{"order_ref":"B","step":1}"#
        ],
        "the older events are found by their order once migrated"
    );
    drop(j);
    assert!(SqliteJournal::open_read_only(&path).is_ok());
}

#[test]
fn events_keep_the_buses_numbers_and_are_paged_forward_and_back_by_them() {
    let dir = tempfile::tempdir().unwrap();
    let j = SqliteJournal::open_in(dir.path()).unwrap();
    // A run numbered 1 to 3 by the journal, then a bus's run going on
    // from 10 (its numbers kept as given).
    for _ in 0..3 {
        j.record_event(&event("control.paused", "{}")).unwrap();
    }
    for seq in 10..20 {
        j.record_event(&JournalEvent {
            seq: Some(seq),
            ..event("control.resumed", &format!("{{\"n\":{seq}}}"))
        })
        .unwrap();
    }
    let page = |after: Option<u64>, before: Option<u64>, limit| {
        j.events(&EventQuery {
            after,
            before,
            limit,
            ..EventQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.seq.unwrap())
        .collect::<Vec<_>>()
    };
    assert_eq!(
        page(None, None, 0),
        [1, 2, 3, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
    );
    // Forward: the oldest after the mark.
    assert_eq!(page(Some(2), None, 3), [3, 10, 11]);
    assert_eq!(page(Some(17), None, 5), [18, 19]);
    assert_eq!(page(Some(19), None, 5), Vec::<u64>::new());
    // Back: the newest before the mark, oldest first.
    assert_eq!(page(None, Some(12), 3), [3, 10, 11]);
    assert_eq!(page(Some(1), Some(11), 0), [2, 3, 10]);
    // A number the journal holds already is refused, not overwritten.
    let again = j.record_event(&JournalEvent {
        seq: Some(12),
        ..event("control.paused", "{}")
    });
    assert!(matches!(again, Err(JournalError::Refused(_))), "{again:?}");
    let kept = j
        .events(&EventQuery {
            after: Some(11),
            limit: 1,
            ..EventQuery::default()
        })
        .unwrap();
    assert_eq!(kept[0].kind, "control.resumed");
    assert_eq!(kept[0].data, "{\"n\":12}");
    // The journal's own numbering goes on after the bus's.
    j.record_event(&event("control.paused", "{}")).unwrap();
    assert_eq!(page(None, None, 1), [20]);
}
