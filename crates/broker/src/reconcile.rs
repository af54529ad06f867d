//! Reconciliation: the gateway's open orders, executions and positions
//! compared with what the caller believes ([`Expectations`]). Every
//! difference becomes one [`Discrepancy`]. Pure: the fetching is in
//! [`crate::session`].

use std::collections::{BTreeMap, HashSet};

use rust_decimal::Decimal;
use vspread_core::broker::{Discrepancy, Expectations, ReconciliationReport, WorkingOrder};
use vspread_core::{BrokerOrderId, CommissionReport, ConId, Execution};

/// A working order as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayOrder {
    pub order_id: BrokerOrderId,
    pub order_ref: String,
    pub filled: Decimal,
}

/// What the gateway said at one reconciliation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayState {
    pub open_orders: Vec<GatewayOrder>,
    pub executions: Vec<Execution>,
    pub commissions: Vec<CommissionReport>,
    pub positions: BTreeMap<ConId, Decimal>,
}

pub fn compare(expected: &Expectations, actual: &GatewayState) -> ReconciliationReport {
    let mut discrepancies = Vec::new();
    let expected_refs: HashSet<&str> = expected
        .open_orders
        .iter()
        .map(|o| o.order_ref.as_str())
        .collect();
    for o in &actual.open_orders {
        if !expected_refs.contains(o.order_ref.as_str()) {
            discrepancies.push(Discrepancy::UnknownOpenOrder {
                order_id: o.order_id,
                order_ref: o.order_ref.clone(),
            });
        }
    }
    for e in &expected.open_orders {
        match actual
            .open_orders
            .iter()
            .find(|o| o.order_ref == e.order_ref)
        {
            None => discrepancies.push(Discrepancy::MissingOpenOrder {
                order_ref: e.order_ref.clone(),
            }),
            Some(o) if o.filled != e.filled => {
                discrepancies.push(Discrepancy::FilledQuantityDiffers {
                    order_ref: e.order_ref.clone(),
                    expected: e.filled,
                    actual: o.filled,
                })
            }
            Some(_) => {}
        }
    }
    let known: HashSet<&str> = expected
        .known_executions
        .iter()
        .map(String::as_str)
        .collect();
    let mut seen = HashSet::new();
    for x in &actual.executions {
        if !known.contains(x.exec_id.as_str()) && seen.insert(x.exec_id.clone()) {
            discrepancies.push(Discrepancy::MissedExecution(x.clone()));
        }
    }
    let con_ids: std::collections::BTreeSet<ConId> = expected
        .positions
        .keys()
        .chain(actual.positions.keys())
        .copied()
        .collect();
    for con_id in con_ids {
        let e = expected.positions.get(&con_id).copied().unwrap_or_default();
        let a = actual.positions.get(&con_id).copied().unwrap_or_default();
        if e != a {
            discrepancies.push(Discrepancy::PositionDiffers {
                con_id,
                expected: e,
                actual: a,
            });
        }
    }
    ReconciliationReport {
        open_orders: actual.open_orders.len(),
        executions: actual.executions.len(),
        positions: actual.positions.len(),
        discrepancies,
        working: actual
            .open_orders
            .iter()
            .map(|o| WorkingOrder {
                order_id: o.order_id,
                order_ref: o.order_ref.clone(),
                filled: o.filled,
            })
            .collect(),
        commissions: actual.commissions.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vspread_core::Side;
    use vspread_core::broker::ExpectedOrder;

    fn d(n: i64) -> Decimal {
        Decimal::from(n)
    }

    fn exec(id: &str) -> Execution {
        Execution {
            exec_id: id.into(),
            order_id: BrokerOrderId(5),
            order_ref: "r5".into(),
            con_id: ConId(11),
            side: Side::Buy,
            quantity: d(1),
            price: d(2),
            cumulative_quantity: d(1),
            average_price: d(2),
            time: String::new(),
            combo: false,
        }
    }

    #[test]
    fn agreement_reports_nothing() {
        let expected = Expectations {
            open_orders: vec![ExpectedOrder {
                order_ref: "r5".into(),
                order_id: Some(BrokerOrderId(5)),
                quantity: d(2),
                filled: d(1),
            }],
            positions: BTreeMap::from([(ConId(11), d(1))]),
            known_executions: vec!["e1".into()],
            executions_since: None,
        };
        let actual = GatewayState {
            open_orders: vec![GatewayOrder {
                order_id: BrokerOrderId(5),
                order_ref: "r5".into(),
                filled: d(1),
            }],
            executions: vec![exec("e1")],
            commissions: vec![],
            positions: BTreeMap::from([(ConId(11), d(1))]),
        };
        let report = compare(&expected, &actual);
        assert!(report.discrepancies.is_empty(), "{report:?}");
        assert_eq!(
            (report.open_orders, report.executions, report.positions),
            (1, 1, 1)
        );
        assert_eq!(
            report.working,
            [WorkingOrder {
                order_id: BrokerOrderId(5),
                order_ref: "r5".into(),
                filled: d(1),
            }]
        );
    }

    #[test]
    fn every_difference_is_reported_once() {
        let expected = Expectations {
            open_orders: vec![
                ExpectedOrder {
                    order_ref: "gone".into(),
                    order_id: None,
                    quantity: d(1),
                    filled: d(0),
                },
                ExpectedOrder {
                    order_ref: "r5".into(),
                    order_id: Some(BrokerOrderId(5)),
                    quantity: d(3),
                    filled: d(0),
                },
            ],
            positions: BTreeMap::from([(ConId(11), d(1)), (ConId(12), d(-1))]),
            known_executions: vec![],
            executions_since: None,
        };
        let actual = GatewayState {
            open_orders: vec![
                GatewayOrder {
                    order_id: BrokerOrderId(5),
                    order_ref: "r5".into(),
                    filled: d(2),
                },
                GatewayOrder {
                    order_id: BrokerOrderId(9),
                    order_ref: "stranger".into(),
                    filled: d(0),
                },
            ],
            executions: vec![exec("e1"), exec("e1")],
            commissions: vec![],
            positions: BTreeMap::from([(ConId(11), d(3))]),
        };
        let r = compare(&expected, &actual);
        assert_eq!(
            r.discrepancies,
            vec![
                Discrepancy::UnknownOpenOrder {
                    order_id: BrokerOrderId(9),
                    order_ref: "stranger".into()
                },
                Discrepancy::MissingOpenOrder {
                    order_ref: "gone".into()
                },
                Discrepancy::FilledQuantityDiffers {
                    order_ref: "r5".into(),
                    expected: d(0),
                    actual: d(2)
                },
                Discrepancy::MissedExecution(exec("e1")),
                Discrepancy::PositionDiffers {
                    con_id: ConId(11),
                    expected: d(1),
                    actual: d(3)
                },
                Discrepancy::PositionDiffers {
                    con_id: ConId(12),
                    expected: d(-1),
                    actual: d(0)
                },
            ]
        );
    }
}
