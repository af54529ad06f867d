//! Reads: rows back into the domain's records, each unreadable value named
//! by its table and row.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};
use rust_decimal::Decimal;
use vspread_core::journal::{
    EventQuery, FillRecord, JournalError, JournalEvent, JournaledOrder, OrderEnd, OrderRecord,
    SpreadClosure, SpreadRecord,
};
use vspread_core::order::OrderPurpose;
use vspread_core::{ConId, Side};

use crate::storage;

fn corrupt(table: &'static str, row: i64, reason: impl Into<String>) -> JournalError {
    JournalError::Corrupt {
        table,
        row,
        reason: reason.into(),
    }
}

fn decimal(
    table: &'static str,
    row: i64,
    column: &str,
    text: &str,
) -> Result<Decimal, JournalError> {
    Decimal::from_str(text).map_err(|e| corrupt(table, row, format!("{column} `{text}`: {e}")))
}

fn instant(
    table: &'static str,
    row: i64,
    column: &str,
    text: &str,
) -> Result<DateTime<Utc>, JournalError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(table, row, format!("{column} `{text}`: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(
    table: &'static str,
    row: i64,
    column: &str,
    text: &str,
) -> Result<T, JournalError> {
    serde_json::from_str(text).map_err(|e| corrupt(table, row, format!("{column} `{text}`: {e}")))
}

/// The raw text columns of an `orders` row.
struct OrderRow {
    seq: i64,
    text: BTreeMap<&'static str, Option<String>>,
    quantity: u32,
    credit: bool,
    broker_order_id: Option<i64>,
}

const ORDER_TEXT: [&str; 17] = [
    "order_ref",
    "purpose",
    "spread_ref",
    "symbol",
    "currency",
    "kind",
    "long_leg",
    "short_leg",
    "limit_price",
    "mid",
    "reason",
    "context",
    "created_at",
    "last_status",
    "end_outcome",
    "end_detail",
    "ended_at",
];

fn order_row(r: &Row<'_>) -> rusqlite::Result<OrderRow> {
    let mut text = BTreeMap::new();
    for name in ORDER_TEXT {
        text.insert(name, r.get::<_, Option<String>>(name)?);
    }
    Ok(OrderRow {
        seq: r.get("seq")?,
        text,
        quantity: r.get("quantity")?,
        credit: r.get("credit")?,
        broker_order_id: r.get("broker_order_id")?,
    })
}

impl OrderRow {
    fn get(&self, column: &'static str) -> Result<&str, JournalError> {
        self.text
            .get(column)
            .and_then(|v| v.as_deref())
            .ok_or_else(|| corrupt("orders", self.seq, format!("{column} is empty")))
    }

    fn opt(&self, column: &'static str) -> Option<&str> {
        self.text.get(column).and_then(|v| v.as_deref())
    }

    fn order(&self) -> Result<JournaledOrder, JournalError> {
        let seq = self.seq;
        let name = self.get("purpose")?;
        let purpose = OrderPurpose::from_name(name)
            .ok_or_else(|| corrupt("orders", seq, format!("purpose `{name}`")))?;
        let kind = self.get("kind")?;
        Ok(JournaledOrder {
            order_ref: self.get("order_ref")?.to_string(),
            purpose,
            spread_ref: self.get("spread_ref")?.to_string(),
            symbol: self.get("symbol")?.to_string(),
            currency: self.get("currency")?.to_string(),
            kind: from_json("orders", seq, "kind", &format!("\"{kind}\""))?,
            long: from_json("orders", seq, "long_leg", self.get("long_leg")?)?,
            short: from_json("orders", seq, "short_leg", self.get("short_leg")?)?,
            quantity: self.quantity,
            limit: decimal("orders", seq, "limit_price", self.get("limit_price")?)?,
            credit: self.credit,
            mid: decimal("orders", seq, "mid", self.get("mid")?)?,
            reason: self.get("reason")?.to_string(),
            context: self.get("context")?.to_string(),
            created_at: instant("orders", seq, "created_at", self.get("created_at")?)?,
        })
    }

    fn end(&self) -> Result<Option<OrderEnd>, JournalError> {
        let Some(outcome) = self.opt("end_outcome") else {
            return Ok(None);
        };
        Ok(Some(OrderEnd {
            outcome: outcome.to_string(),
            detail: self.opt("end_detail").unwrap_or_default().to_string(),
            at: instant("orders", self.seq, "ended_at", self.get("ended_at")?)?,
        }))
    }
}

pub(crate) fn fills(conn: &Connection) -> Result<Vec<FillRecord>, JournalError> {
    let mut stmt = conn
        .prepare(
            "SELECT f.seq, f.exec_id, f.order_ref, f.con_id, f.action, f.quantity, f.price,
                    f.combo, f.time, f.recorded_at, c.amount
             FROM fills f LEFT JOIN commissions c ON c.exec_id = f.exec_id
             ORDER BY f.seq",
        )
        .map_err(storage)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, bool>(7)?,
                r.get::<_, String>(8)?,
                r.get::<_, String>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })
        .map_err(storage)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, exec_id, order_ref, con_id, action, qty, price, combo, time, at, commission) =
            row.map_err(storage)?;
        let action = match action.as_str() {
            "buy" => Side::Buy,
            "sell" => Side::Sell,
            other => return Err(corrupt("fills", seq, format!("action `{other}`"))),
        };
        out.push(FillRecord {
            exec_id,
            order_ref,
            con_id: ConId(con_id),
            action,
            quantity: decimal("fills", seq, "quantity", &qty)?,
            price: decimal("fills", seq, "price", &price)?,
            combo,
            time,
            commission: commission
                .map(|c| decimal("commissions", seq, "amount", &c))
                .transpose()?,
            recorded_at: instant("fills", seq, "recorded_at", &at)?,
        });
    }
    Ok(out)
}

/// Commissions by order, including those whose execution is not (yet)
/// journaled.
fn commissions_by_order(conn: &Connection) -> Result<BTreeMap<String, Decimal>, JournalError> {
    let mut stmt = conn
        .prepare("SELECT rowid, order_ref, amount FROM commissions")
        .map_err(storage)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(storage)?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (id, order_ref, amount) = row.map_err(storage)?;
        *out.entry(order_ref).or_default() += decimal("commissions", id, "amount", &amount)?;
    }
    Ok(out)
}

/// Spreads filled by one order's fills: the combo-level fills of a BAG,
/// else the smaller leg.
fn filled_of(fills: &[&FillRecord]) -> (Decimal, Option<Decimal>) {
    let combo: Vec<_> = fills.iter().filter(|f| f.combo).collect();
    if !combo.is_empty() {
        let qty: Decimal = combo.iter().map(|f| f.quantity).sum();
        let notional: Decimal = combo.iter().map(|f| f.quantity * f.price).sum();
        let avg = (!qty.is_zero()).then(|| (notional / qty).abs());
        return (qty, avg);
    }
    let mut by_leg: BTreeMap<ConId, Decimal> = BTreeMap::new();
    for f in fills {
        *by_leg.entry(f.con_id).or_default() += f.quantity;
    }
    (by_leg.values().copied().min().unwrap_or_default(), None)
}

pub(crate) fn orders(conn: &Connection) -> Result<Vec<OrderRecord>, JournalError> {
    let fills = fills(conn)?;
    let commissions = commissions_by_order(conn)?;
    let mut by_order: BTreeMap<&str, Vec<&FillRecord>> = BTreeMap::new();
    for f in &fills {
        by_order.entry(f.order_ref.as_str()).or_default().push(f);
    }
    let mut stmt = conn
        .prepare("SELECT * FROM orders ORDER BY seq")
        .map_err(storage)?;
    let rows = stmt.query_map([], order_row).map_err(storage)?;
    let mut out = Vec::new();
    for row in rows {
        let row = row.map_err(storage)?;
        let order = row.order()?;
        let (filled, average_net) = by_order
            .get(order.order_ref.as_str())
            .map(|f| filled_of(f))
            .unwrap_or_default();
        out.push(OrderRecord {
            broker_order_id: row.broker_order_id,
            last_status: row.opt("last_status").map(str::to_string),
            end: row.end()?,
            filled,
            commissions: commissions
                .get(&order.order_ref)
                .copied()
                .unwrap_or_default(),
            average_net,
            order,
        });
    }
    Ok(out)
}

fn closures(conn: &Connection) -> Result<BTreeMap<String, SpreadClosure>, JournalError> {
    let mut stmt = conn
        .prepare("SELECT rowid, spread_ref, reason, realised, r_multiple, at FROM closures")
        .map_err(storage)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<f64>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })
        .map_err(storage)?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (id, spread_ref, reason, realised, r_multiple, at) = row.map_err(storage)?;
        out.insert(
            spread_ref.clone(),
            SpreadClosure {
                spread_ref,
                reason,
                realised: decimal("closures", id, "realised", &realised)?,
                r_multiple,
                at: instant("closures", id, "at", &at)?,
            },
        );
    }
    Ok(out)
}

pub(crate) fn spreads(conn: &Connection) -> Result<Vec<SpreadRecord>, JournalError> {
    let orders = orders(conn)?;
    let fills = fills(conn)?;
    let mut closures = closures(conn)?;
    let mut out: Vec<SpreadRecord> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for o in orders.iter().filter(|o| o.order.purpose.opens()) {
        if o.filled.is_zero() {
            continue;
        }
        index.insert(o.order.order_ref.clone(), out.len());
        out.push(SpreadRecord {
            entry: o.order.clone(),
            opened: o.filled,
            closed: Decimal::ZERO,
            cash: Decimal::ZERO,
            commissions: Decimal::ZERO,
            entry_average: o.average_net,
            closure: closures.remove(&o.order.order_ref),
            exit_orders: 0,
        });
    }
    let spread_of: BTreeMap<&str, &str> = orders
        .iter()
        .map(|o| (o.order.order_ref.as_str(), o.order.spread_ref.as_str()))
        .collect();
    for o in &orders {
        let Some(&i) = index.get(&o.order.spread_ref) else {
            continue;
        };
        let s = &mut out[i];
        s.commissions += o.commissions;
        if o.order.purpose == OrderPurpose::Exit {
            s.closed += o.filled;
            s.exit_orders += 1;
        }
    }
    for f in &fills {
        let Some(&i) = spread_of
            .get(f.order_ref.as_str())
            .and_then(|s| index.get(*s))
        else {
            continue;
        };
        let s = &mut out[i];
        let multiplier = s.entry.long.multiplier;
        s.cash += f.cash(multiplier);
    }
    for s in &mut out {
        s.cash -= s.commissions;
    }
    Ok(out)
}

pub(crate) fn events(conn: &Connection, q: &EventQuery) -> Result<Vec<JournalEvent>, JournalError> {
    let limit = if q.limit == 0 {
        i64::MAX
    } else {
        q.limit as i64
    };
    let mut sql = String::from("SELECT seq, at, kind, message, data FROM events");
    if !q.kind_prefixes.is_empty() {
        let clauses: Vec<_> = (1..=q.kind_prefixes.len())
            .map(|i| format!("substr(kind, 1, length(?{i})) = ?{i}"))
            .collect();
        sql.push_str(&format!(" WHERE {}", clauses.join(" OR ")));
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {limit}"));
    let mut stmt = conn.prepare(&sql).map_err(storage)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(q.kind_prefixes.iter()), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(storage)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, at, kind, message, data) = row.map_err(storage)?;
        out.push(JournalEvent {
            at: instant("events", seq, "at", &at)?,
            kind,
            message,
            data,
        });
    }
    out.reverse();
    Ok(out)
}
