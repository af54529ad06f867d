use super::*;
use chrono::TimeZone as _;
use vspread_core::journal::{JournalLeg, JournaledOrder, OrderEnd, SpreadClosure};
use vspread_core::{ConId, Right, Side, SpreadKind};

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
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

/// A bull call 500/505 debit order decided at `created`, signal at
/// `signal`, mid 2.00.
fn order(
    order_ref: &str,
    purpose: OrderPurpose,
    created: DateTime<Utc>,
    signal: Option<DateTime<Utc>>,
) -> OrderRecord {
    let context = match signal {
        Some(t) => serde_json::json!({ "signal_at": t }).to_string(),
        None => "{}".into(),
    };
    OrderRecord {
        order: JournaledOrder {
            order_ref: order_ref.into(),
            purpose,
            spread_ref: order_ref.into(),
            symbol: "QQQ".into(),
            currency: "USD".into(),
            kind: SpreadKind::BullCall,
            long: leg(1, "500"),
            short: leg(2, "505"),
            quantity: 2,
            limit: d("2.00"),
            credit: purpose == OrderPurpose::Exit,
            mid: d("2.00"),
            reason: "high_base".into(),
            context,
            created_at: created,
        },
        broker_order_id: Some(1),
        last_status: None,
        end: None,
        filled: Decimal::ZERO,
        commissions: Decimal::ZERO,
        average_net: None,
    }
}

fn ended(mut o: OrderRecord, outcome: &str, filled: &str, average: Option<&str>) -> OrderRecord {
    o.end = Some(OrderEnd {
        outcome: outcome.into(),
        detail: String::new(),
        at: o.order.created_at + chrono::Duration::seconds(60),
    });
    o.filled = d(filled);
    o.average_net = average.map(d);
    o
}

fn event(at: DateTime<Utc>, kind: &str, data: Json) -> JournalEvent {
    JournalEvent {
        seq: None,
        at,
        kind: kind.into(),
        message: String::new(),
        data: data.to_string(),
    }
}

fn fill(order_ref: &str, at: DateTime<Utc>) -> FillRecord {
    FillRecord {
        exec_id: format!("{order_ref}-{at}"),
        order_ref: order_ref.into(),
        con_id: ConId(0),
        action: Side::Buy,
        quantity: d("1"),
        price: d("2"),
        combo: true,
        time: String::new(),
        commission: None,
        recorded_at: at,
    }
}

#[test]
fn quantiles_interpolate_and_histograms_bucket_at_their_edges() {
    assert_eq!(quantile(&[], 0.5), None);
    assert_eq!(quantile(&[3.0], 0.95), Some(3.0));
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
    let p95 = quantile(&[0.0, 10.0], 0.95).unwrap();
    assert!((p95 - 9.5).abs() < 1e-12);
    let h = histogram(&[-0.1, 0.0, 0.25, 7.0], &[0.0, 0.25, 5.0]);
    let counts: Vec<u64> = h.iter().map(|b| b.count).collect();
    assert_eq!(counts, [1, 1, 1, 1]);
    assert_eq!((h[0].from, h[0].to), (None, Some(0.0)));
    assert_eq!((h[3].from, h[3].to), (Some(5.0), None));
}

#[test]
fn the_fill_rate_counts_orders_that_ended_by_their_own_course() {
    let t = at(15, 0, 0);
    let view = JournalView {
        orders: vec![
            ended(
                order("e1", OrderPurpose::Entry, t, None),
                "filled",
                "2",
                Some("2.05"),
            ),
            ended(
                order("e2", OrderPurpose::Entry, t, None),
                "timed_out",
                "1",
                Some("2.10"),
            ),
            ended(
                order("e3", OrderPurpose::Entry, t, None),
                "cancelled",
                "0",
                None,
            ),
            ended(
                order("e4", OrderPurpose::Entry, t, None),
                "cancelled",
                "0",
                None,
            ),
            ended(
                order("e5", OrderPurpose::Entry, t, None),
                "cancelled_on_recovery",
                "0",
                None,
            ),
            order("e6", OrderPurpose::Entry, t, None),
            ended(
                order("x1", OrderPurpose::Exit, t, None),
                "filled",
                "2",
                Some("1.00"),
            ),
        ],
        events: vec![
            // e3 was cancelled by the kill switch; e4 by the gateway.
            event(
                t,
                "order.ended",
                serde_json::json!({"order_ref": "e3", "end": "cancelled", "reason": "kill_switch"}),
            ),
            event(
                t,
                "order.ended",
                serde_json::json!({"order_ref": "e4", "end": "cancelled_by_gateway"}),
            ),
        ],
        ..JournalView::default()
    };
    let k = kpis(&view, &Period::all());
    let entry = &k.orders.entry;
    assert_eq!(
        (
            entry.ended,
            entry.filled,
            entry.partially_filled,
            entry.excluded,
            entry.working
        ),
        (3, 1, 1, 2, 1)
    );
    assert_eq!(entry.rate, Some(1.0 / 3.0));
    assert_eq!(k.orders.exit.rate, Some(1.0));
    assert_eq!((k.orders.all.ended, k.orders.all.filled), (4, 2));
    let fill_target = &k.targets[0];
    assert_eq!(fill_target.kpi, "fill_rate");
    assert_eq!(fill_target.met, Some(false));
}

#[test]
fn slippage_is_the_costly_side_of_the_mid_as_a_share_of_the_width() {
    let t = at(15, 0, 0);
    // Paid 2.05 against a 2.00 mid on a 5-wide spread: 1 % of the width.
    let paid = ended(
        order("e1", OrderPurpose::Entry, t, None),
        "filled",
        "2",
        Some("2.05"),
    );
    assert!((slippage_pct(&paid).unwrap() - 1.0).abs() < 1e-9);
    // Received 2.01 against a 2.00 mid: 0.2 % of price improvement.
    let received = ended(
        order("x1", OrderPurpose::Exit, t, None),
        "filled",
        "2",
        Some("2.01"),
    );
    assert!((slippage_pct(&received).unwrap() + 0.2).abs() < 1e-9);
    let unfilled = ended(
        order("e2", OrderPurpose::Entry, t, None),
        "timed_out",
        "0",
        None,
    );
    assert_eq!(slippage_pct(&unfilled), None);
    let view = JournalView {
        orders: vec![paid, received, unfilled],
        ..JournalView::default()
    };
    let s = kpis(&view, &Period::all()).slippage;
    assert_eq!(s.samples, 2);
    assert!((s.median_pct.unwrap() - 0.4).abs() < 1e-9);
    let counts: u64 = s.histogram.iter().map(|b| b.count).sum();
    assert_eq!(counts, 2);
}

#[test]
fn signal_order_and_fill_times_come_from_the_journaled_instants() {
    let signal = at(15, 0, 0);
    let created = at(15, 0, 1);
    let view = JournalView {
        orders: vec![ended(
            order("e1", OrderPurpose::Entry, created, Some(signal)),
            "filled",
            "2",
            Some("2.00"),
        )],
        fills: vec![fill("e1", at(15, 0, 30)), fill("e1", at(15, 0, 41))],
        events: vec![event(
            at(15, 0, 1) + chrono::Duration::milliseconds(500),
            "order.placed",
            serde_json::json!({"order_ref": "e1"}),
        )],
        ..JournalView::default()
    };
    let t = kpis(&view, &Period::all()).timing;
    assert_eq!(t.signal_to_order.median_s, Some(1.5));
    assert_eq!(t.signal_to_fill.median_s, Some(41.0));
    assert_eq!(t.time_to_fill.median_s, Some(39.5));
    assert_eq!(t.time_to_fill.histogram[5].count, 1, "30-60 s bucket");
}

fn spread(order: OrderRecord, closed: DateTime<Utc>, realised: &str, r: f64) -> SpreadRecord {
    SpreadRecord {
        opened: order.filled,
        closed: order.filled,
        cash: d(realised),
        commissions: d("2.60"),
        entry_average: order.average_net,
        closure: Some(SpreadClosure {
            spread_ref: order.order.order_ref.clone(),
            reason: "profit_target".into(),
            realised: d(realised),
            r_multiple: Some(r),
            at: closed,
        }),
        exit_orders: 1,
        entry: order.order,
    }
}

#[test]
fn trades_make_the_equity_curve_its_drawdown_and_the_trade_figures() {
    let t = at(15, 0, 0);
    let e = |r: &str| {
        ended(
            order(r, OrderPurpose::Entry, t, None),
            "filled",
            "1",
            Some("2"),
        )
    };
    let view = JournalView {
        spreads: vec![
            spread(e("a"), at(16, 0, 0), "100", 0.5),
            spread(e("b"), at(17, 0, 0), "-150", -0.75),
            spread(e("c"), at(18, 0, 0), "80", 0.4),
        ],
        ..JournalView::default()
    };
    let curve = equity(&view, &Period::all());
    let points: Vec<(Decimal, Decimal)> = curve.iter().map(|p| (p.equity, p.drawdown)).collect();
    assert_eq!(
        points,
        [(d("100"), d("0")), (d("-50"), d("150")), (d("30"), d("70"))]
    );
    let k = kpis(&view, &Period::all()).trades;
    assert_eq!((k.closed, k.wins, k.losses), (3, 2, 1));
    assert_eq!(k.realised_pnl, d("30"));
    assert_eq!(k.expectancy, Some(d("10")));
    assert_eq!(k.max_drawdown, d("150"));
    assert_eq!(k.commissions, d("7.80"));
    assert!((k.average_r.unwrap() - 0.05).abs() < 1e-9);
    let er = k.expectancy_r.unwrap();
    assert!((er - (2.0 / 3.0 * 0.45 - 1.0 / 3.0 * 0.75)).abs() < 1e-9);
    // A period that starts after the first trade leaves it out.
    let later = Period {
        from: Some(at(16, 30, 0)),
        to: None,
    };
    assert_eq!(trades(&view, &later).len(), 2);
    let days = daily_pnl(&view, &Period::all());
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].realised, days[0].trades), (d("30"), 3));
}

#[test]
fn refusals_count_by_rule_and_config_versions_follow_the_history() {
    let refused = |t, rule: &str| {
        event(
            t,
            "decision.refused",
            serde_json::json!({"symbol": "QQQ", "refusal": {"rule": rule}}),
        )
    };
    let view = JournalView {
        events: vec![
            event(
                at(14, 0, 0),
                "engine.started",
                serde_json::json!({"config_version": "v1", "config_generation": 0, "config": {}}),
            ),
            refused(at(15, 0, 0), "max_positions"),
            refused(at(15, 5, 0), "max_positions"),
            refused(at(15, 10, 0), "iv_circuit_breaker"),
            event(
                at(16, 0, 0),
                "config.applied",
                serde_json::json!({"who": "admin", "version": "v2", "changes": [{"path": "risk.max_iv", "old": 1.0, "new": 0.8, "applies": "live"}]}),
            ),
            event(
                at(17, 0, 0),
                "config.reloaded",
                serde_json::json!({"version": "v3", "changes": []}),
            ),
        ],
        ..JournalView::default()
    };
    let k = kpis(&view, &Period::all());
    assert_eq!(
        k.refusals,
        [
            RefusalCount {
                rule: "max_positions".into(),
                count: 2
            },
            RefusalCount {
                rule: "iv_circuit_breaker".into(),
                count: 1
            },
        ]
    );
    let all = config_versions(&view, &Period::all());
    let names: Vec<(&str, &str)> = all
        .iter()
        .map(|v| (v.version.as_str(), v.origin.as_str()))
        .collect();
    assert_eq!(names, [("v1", "start"), ("v2", "apply"), ("v3", "file")]);
    assert_eq!(all[1].changes, ["risk.max_iv = 0.8"]);
    assert_eq!(all[1].who.as_deref(), Some("admin"));
    // From 16:30: v2 was in force at its start, v3 came within it.
    let later = Period {
        from: Some(at(16, 30, 0)),
        to: None,
    };
    let in_force: Vec<String> = config_versions(&view, &later)
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(in_force, ["v2", "v3"]);
}
