//! Recovery at start: the journal and the gateway are brought to agree, by
//! `orderRef`, before the engine decides anything.
//!
//! - Fills (and their commissions) the gateway reports that the journal
//!   lacks are recorded: a process killed between a fill and its write loses
//!   nothing.
//! - Every order the journal holds open is settled: still working at the
//!   gateway, it is cancelled (the step that was walking it is gone) and its
//!   end awaited; unknown to the gateway, it ended while we were away, or
//!   never reached it. Nothing is ever sent again: a new decision makes a
//!   new order with a new reference.
//! - The legs the gateway holds are paired with the spreads the journal
//!   opened; a leg no spread explains (an orphan) or a spread whose legs
//!   disagree with the gateway (legged out) is reported loudly.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use futures::StreamExt;
use rust_decimal::Decimal;
use serde::Serialize;
use tracing::{info, warn};
use vspread_core::broker::{
    Broker, BrokerError, BrokerEvent, Discrepancy, Expectations, ExpectedOrder,
};
use vspread_core::clock::Clock;
use vspread_core::journal::{JournalError, OrderEnd, OrderRecord, SpreadRecord};
use vspread_core::{BrokerOrderId, ConId, OrderEvent, Position};

use crate::events::{EngineEvent, EventBus};
use crate::journal_io::JournalIo;

/// How long a cancelled order's end is awaited.
const CANCEL_WAIT: Duration = Duration::from_secs(10);

/// Why recovery could not finish; the engine must not trade then.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// A gateway position the journal's spreads do not account for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LegMismatch {
    pub con_id: i64,
    /// What the journal's open spreads imply.
    pub journal: Decimal,
    pub gateway: Decimal,
    /// The spread that claims this leg, if any (none: an orphan).
    pub spread_ref: Option<String>,
}

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RecoveryReport {
    pub fills_recorded: usize,
    pub commissions_recorded: usize,
    /// Open orders still working at the gateway, now cancelled.
    pub cancelled: Vec<String>,
    /// Open orders the gateway no longer works, with how they ended.
    pub settled: Vec<SettledOrder>,
    pub open_spreads: usize,
    pub mismatched_legs: Vec<LegMismatch>,
}

/// An order the journal held open that the gateway no longer works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SettledOrder {
    pub order_ref: String,
    /// How it ended: `filled` (while away), `ended_while_away` (partly
    /// filled) or `abandoned` (never filled).
    pub outcome: String,
}

/// Brings the journal up to date with the gateway. The order recorder
/// must be running (it journals the cancelled orders' last events).
pub async fn recover(
    broker: &dyn Broker,
    journal: &JournalIo,
    clock: &dyn Clock,
) -> Result<RecoveryReport, RecoveryError> {
    let mut report = RecoveryReport::default();
    let (orders, known) = journal
        .run(|j| {
            let known: Vec<String> = j.fills()?.into_iter().map(|f| f.exec_id).collect();
            Ok((j.orders()?, known))
        })
        .await?;
    let open: Vec<_> = orders.iter().filter(|o| o.is_open()).collect();
    let expectations = Expectations {
        open_orders: open
            .iter()
            .map(|o| ExpectedOrder {
                order_ref: o.order.order_ref.clone(),
                order_id: o.broker_order_id.map(BrokerOrderId),
                quantity: Decimal::from(o.order.quantity),
                filled: o.filled,
            })
            .collect(),
        positions: BTreeMap::new(),
        known_executions: known,
        executions_since: None,
    };
    let gateway = broker.reconcile(&expectations).await?;
    let now = clock.now();
    let missed: Vec<OrderEvent> = gateway
        .discrepancies
        .iter()
        .filter_map(|d| match d {
            Discrepancy::MissedExecution(x) => Some(OrderEvent::Execution(x.clone())),
            _ => None,
        })
        .collect();
    let commissions: Vec<OrderEvent> = gateway
        .commissions
        .iter()
        .map(|c| OrderEvent::Commission {
            exec_id: c.exec_id.clone(),
            order_ref: c.order_ref.clone(),
            commission: c.commission,
            currency: c.currency.clone(),
        })
        .collect();
    let (fills, commissions) = journal
        .run(move |j| {
            let mut counts = (0, 0);
            for e in &missed {
                counts.0 += usize::from(j.record_order_event(e, now)?);
            }
            for e in &commissions {
                counts.1 += usize::from(j.record_order_event(e, now)?);
            }
            Ok(counts)
        })
        .await?;
    report.fills_recorded = fills;
    report.commissions_recorded = commissions;

    // Settle every open order.
    let mut events = broker.events();
    let mut awaiting: HashSet<String> = HashSet::new();
    for o in &open {
        let order_ref = &o.order.order_ref;
        if let Some(w) = gateway.working.iter().find(|w| w.order_ref == *order_ref) {
            warn!(%order_ref, order_id = %w.order_id, "order left working by the last run; cancelling");
            broker.cancel_order(w.order_id).await?;
            awaiting.insert(order_ref.clone());
            report.cancelled.push(order_ref.clone());
        }
    }
    let deadline = tokio::time::Instant::now() + CANCEL_WAIT;
    let mut ended: BTreeMap<String, String> = BTreeMap::new();
    while !awaiting.is_empty() {
        match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(BrokerEvent::Order(OrderEvent::Status {
                order_ref, status, ..
            }))) if status.is_terminal() && awaiting.remove(&order_ref) => {
                ended.insert(order_ref, format!("{status:?}"));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    // The cancelled orders' last fills and commissions reach the recorder
    // just behind their status; give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = journal.run(|j| j.orders()).await?;
    for o in &open {
        let order_ref = &o.order.order_ref;
        let filled = after
            .iter()
            .find(|a| a.order.order_ref == *order_ref)
            .map_or(o.filled, |a| a.filled);
        let (outcome, detail) = if report.cancelled.contains(order_ref) {
            let status = ended
                .get(order_ref)
                .map_or("no final status within 10 s", String::as_str);
            (
                "cancelled_on_recovery",
                format!("working at restart; cancelled ({status}); {filled} filled"),
            )
        } else if filled >= Decimal::from(o.order.quantity) {
            ("filled", format!("filled while away ({filled})"))
        } else if filled > Decimal::ZERO {
            (
                "ended_while_away",
                format!("{filled} of {} filled, no longer working", o.order.quantity),
            )
        } else {
            (
                "abandoned",
                "not working at the gateway and never filled (not received, or cancelled)"
                    .to_string(),
            )
        };
        let end = OrderEnd {
            outcome: outcome.to_string(),
            detail: detail.clone(),
            at: clock.now(),
        };
        let r = order_ref.clone();
        journal.run(move |j| j.record_order_end(&r, &end)).await?;
        if !report.cancelled.contains(order_ref) {
            report.settled.push(SettledOrder {
                order_ref: order_ref.clone(),
                outcome: outcome.to_string(),
            });
        }
        info!(%order_ref, outcome, %detail, "open order settled");
    }

    // Pair the gateway's legs with the journal's spreads.
    let spreads = journal.run(|j| j.spreads()).await?;
    report.open_spreads = spreads.iter().filter(|s| s.is_open()).count();
    let positions = broker.positions().await?;
    report.mismatched_legs = pair_legs(&traded_of(&after), &spreads, &positions);
    for leg in &report.mismatched_legs {
        warn!(con_id = leg.con_id, journal = %leg.journal, gateway = %leg.gateway,
              spread = ?leg.spread_ref, "a leg at the gateway does not match the journal's spreads");
    }
    Ok(report)
}

/// Publishes a leg that does not pair, loudly.
pub fn publish_mismatch(events: &EventBus, leg: &LegMismatch) {
    warn!(con_id = leg.con_id, journal = %leg.journal, gateway = %leg.gateway,
          spread = ?leg.spread_ref, "a leg at the gateway does not pair with the journal's spreads");
    events.publish(
        format!(
            "conId {}: the gateway holds {}, the journal's spreads {} ({})",
            leg.con_id,
            leg.gateway,
            leg.journal,
            leg.spread_ref
                .as_deref()
                .unwrap_or("an orphan leg: no open spread")
        ),
        EngineEvent::PositionMismatch(leg.clone()),
    );
}

/// Every leg contract of these orders.
pub fn traded_of(orders: &[OrderRecord]) -> BTreeSet<ConId> {
    orders
        .iter()
        .flat_map(|o| [o.order.long.con_id, o.order.short.con_id])
        .collect()
}

/// Pairs the gateway's positions with the legs the journal's open spreads
/// imply, for the contracts vspread has traded (the account's other
/// positions are the trader's own business). Every contract where the two
/// differ is returned: a leg no open spread explains (an orphan, `spread_ref`
/// none) or a spread whose legs the gateway holds otherwise (legged out).
pub fn pair_legs(
    traded: &BTreeSet<ConId>,
    spreads: &[SpreadRecord],
    positions: &[Position],
) -> Vec<LegMismatch> {
    let mut implied: BTreeMap<ConId, (Decimal, Option<String>)> = BTreeMap::new();
    for s in spreads.iter().filter(|s| s.is_open()) {
        for (con_id, q) in s.leg_positions() {
            let e = implied.entry(con_id).or_default();
            e.0 += q;
            e.1 = Some(s.entry.order_ref.clone());
        }
    }
    let mut held: BTreeMap<ConId, Decimal> = BTreeMap::new();
    for p in positions.iter().filter(|p| traded.contains(&p.con_id)) {
        *held.entry(p.con_id).or_default() += p.quantity;
    }
    let con_ids: BTreeSet<ConId> = implied.keys().chain(held.keys()).copied().collect();
    con_ids
        .into_iter()
        .filter_map(|con_id| {
            let (journal_q, spread_ref) = implied.get(&con_id).cloned().unwrap_or_default();
            let gateway_q = held.get(&con_id).copied().unwrap_or_default();
            (journal_q != gateway_q).then_some(LegMismatch {
                con_id: con_id.0,
                journal: journal_q,
                gateway: gateway_q,
                spread_ref,
            })
        })
        .collect()
}
