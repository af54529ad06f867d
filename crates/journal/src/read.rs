//! Reads: rows back into the domain's records, each unreadable value named
//! by its table and row.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};
use rust_decimal::Decimal;
use vspread_core::journal::{
    DecisionQuery, EventQuery, FillRecord, JournalDecision, JournalError, JournalEvent,
    JournaledOrder, OrderEnd, OrderRecord, SpreadClosure, SpreadRecord,
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

/// A selection of rows: an SQL condition (our own text, never a caller's)
/// with its bound values.
pub(crate) struct Selection {
    condition: String,
    values: Vec<String>,
}

impl Selection {
    pub(crate) fn all() -> Self {
        Self::when("1")
    }

    pub(crate) fn when(condition: impl Into<String>) -> Self {
        Self {
            condition: condition.into(),
            values: Vec::new(),
        }
    }

    pub(crate) fn with(condition: String, values: Vec<String>) -> Self {
        Self { condition, values }
    }

    /// `column IN (values…)`; nothing when `values` is empty.
    pub(crate) fn among(column: &str, values: &[String]) -> Self {
        if values.is_empty() {
            return Self::when("0");
        }
        let marks = vec!["?"; values.len()].join(", ");
        Self {
            condition: format!("{column} IN ({marks})"),
            values: values.to_vec(),
        }
    }

    fn params(&self) -> rusqlite::ParamsFromIter<std::slice::Iter<'_, String>> {
        rusqlite::params_from_iter(self.values.iter())
    }
}

/// The fills `which` selects (a condition on the `fills` row `f`), oldest
/// first.
pub(crate) fn fills_where(
    conn: &Connection,
    which: &Selection,
) -> Result<Vec<FillRecord>, JournalError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT f.seq, f.exec_id, f.order_ref, f.con_id, f.action, f.quantity, f.price,
                    f.combo, f.time, f.recorded_at, c.amount
             FROM fills f LEFT JOIN commissions c ON c.exec_id = f.exec_id
             WHERE {}
             ORDER BY f.seq",
            which.condition
        ))
        .map_err(storage)?;
    let rows = stmt
        .query_map(which.params(), |r| {
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

pub(crate) fn fills(conn: &Connection) -> Result<Vec<FillRecord>, JournalError> {
    fills_where(conn, &Selection::all())
}

/// Commissions by order (those `which` selects, a condition on the
/// `commissions` row `c`), including those whose execution is not (yet)
/// journaled.
fn commissions_by_order(
    conn: &Connection,
    which: &Selection,
) -> Result<BTreeMap<String, Decimal>, JournalError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT c.rowid, c.order_ref, c.amount FROM commissions c WHERE {}",
            which.condition
        ))
        .map_err(storage)?;
    let rows = stmt
        .query_map(which.params(), |r| {
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

/// How a read of orders is ordered and cut.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Page {
    /// Oldest first, every row.
    Oldest,
    /// Newest first, at most this many (0: all).
    Newest(usize),
}

/// The orders `which` selects (a condition on the `orders` row `o`), with
/// what their fills and commissions add up to, read for those orders only.
pub(crate) fn orders_where(
    conn: &Connection,
    which: &Selection,
    page: Page,
) -> Result<Vec<OrderRecord>, JournalError> {
    Ok(orders_with_fills(conn, which, page)?.0)
}

/// [`orders_where`], with the fills it read for those orders (oldest
/// first), for a caller that needs them too and should not read them again.
fn orders_with_fills(
    conn: &Connection,
    which: &Selection,
    page: Page,
) -> Result<(Vec<OrderRecord>, Vec<FillRecord>), JournalError> {
    let tail = match page {
        Page::Oldest => "ORDER BY o.seq".to_string(),
        Page::Newest(0) => "ORDER BY o.seq DESC".to_string(),
        Page::Newest(n) => format!("ORDER BY o.seq DESC LIMIT {n}"),
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT o.* FROM orders o WHERE {} {tail}",
            which.condition
        ))
        .map_err(storage)?;
    let rows = stmt.query_map(which.params(), order_row).map_err(storage)?;
    let mut read = Vec::new();
    for row in rows {
        let row = row.map_err(storage)?;
        read.push((row.order()?, row));
    }
    // The fills and commissions of the orders read: by their references
    // for a page, by the selection itself for a whole table (cheaper than
    // a list of every reference).
    let of_orders = |alias: &str| match page {
        Page::Newest(n) if n > 0 => {
            let refs: Vec<String> = read.iter().map(|(o, _)| o.order_ref.clone()).collect();
            Selection::among(&format!("{alias}.order_ref"), &refs)
        }
        _ => Selection {
            condition: format!(
                "{alias}.order_ref IN (SELECT o.order_ref FROM orders o WHERE {})",
                which.condition
            ),
            values: which.values.clone(),
        },
    };
    let (fills, commissions) = if read.is_empty() {
        (Vec::new(), BTreeMap::new())
    } else {
        (
            fills_where(conn, &of_orders("f"))?,
            commissions_by_order(conn, &of_orders("c"))?,
        )
    };
    let mut by_order: BTreeMap<&str, Vec<&FillRecord>> = BTreeMap::new();
    for f in &fills {
        by_order.entry(f.order_ref.as_str()).or_default().push(f);
    }
    let mut out = Vec::with_capacity(read.len());
    for (order, row) in read {
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
    drop(by_order);
    Ok((out, fills))
}

pub(crate) fn orders(conn: &Connection) -> Result<Vec<OrderRecord>, JournalError> {
    orders_where(conn, &Selection::all(), Page::Oldest)
}

/// The closures `which` selects (a condition on the `closures` row `c`).
fn closures_where(
    conn: &Connection,
    which: &Selection,
) -> Result<BTreeMap<String, SpreadClosure>, JournalError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT c.rowid, c.spread_ref, c.reason, c.realised, c.r_multiple, c.at
             FROM closures c WHERE {}",
            which.condition
        ))
        .map_err(storage)?;
    let rows = stmt
        .query_map(which.params(), |r| {
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

/// The spreads whose entry order `entries` selects (an SQL query giving
/// entry order references, with its bound values), oldest first: each
/// folded from its entry, its exits and their fills, read for those
/// spreads only.
fn spreads_among(
    conn: &Connection,
    entries: &Selection,
) -> Result<Vec<SpreadRecord>, JournalError> {
    let of_spreads = |condition: String| Selection {
        condition,
        values: entries.values.clone(),
    };
    // The spreads' orders, and their fills read once with them.
    let (orders, fills) = orders_with_fills(
        conn,
        &of_spreads(format!("o.spread_ref IN ({})", entries.condition)),
        Page::Oldest,
    )?;
    let mut closures = closures_where(
        conn,
        &of_spreads(format!("c.spread_ref IN ({})", entries.condition)),
    )?;
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

/// Entry orders: every order that is not an exit.
const ENTRIES: &str = "SELECT e.order_ref FROM orders e WHERE e.purpose <> 'exit'";

pub(crate) fn spreads(conn: &Connection) -> Result<Vec<SpreadRecord>, JournalError> {
    spreads_among(conn, &Selection::when(ENTRIES))
}

/// Spreads with a fill and no closure, still open once folded.
pub(crate) fn open_spreads(conn: &Connection) -> Result<Vec<SpreadRecord>, JournalError> {
    let entries = Selection::when(format!(
        "{ENTRIES} AND NOT EXISTS (SELECT 1 FROM closures x WHERE x.spread_ref = e.order_ref)
             AND EXISTS (SELECT 1 FROM fills y WHERE y.order_ref = e.order_ref)"
    ));
    let mut spreads = spreads_among(conn, &entries)?;
    spreads.retain(SpreadRecord::is_open);
    Ok(spreads)
}

/// The newest `limit` closed spreads (0: all), newest closure first.
pub(crate) fn closed_spreads(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<SpreadRecord>, JournalError> {
    let cut = if limit == 0 {
        String::new()
    } else {
        format!(" LIMIT {limit}")
    };
    let entries = Selection::when(format!(
        "SELECT x.spread_ref FROM closures x ORDER BY x.at DESC{cut}"
    ));
    let mut spreads = spreads_among(conn, &entries)?;
    spreads.retain(|s| s.closure.is_some());
    spreads.sort_by(|a, b| {
        let at = |s: &SpreadRecord| s.closure.as_ref().map(|c| c.at);
        at(b).cmp(&at(a))
    });
    Ok(spreads)
}

/// The sum of every closure's realised P&L, row by row (nothing is kept).
pub(crate) fn realised_total(conn: &Connection) -> Result<Decimal, JournalError> {
    let mut stmt = conn
        .prepare("SELECT rowid, realised FROM closures")
        .map_err(storage)?;
    let mut rows = stmt.query([]).map_err(storage)?;
    let mut total = Decimal::ZERO;
    while let Some(row) = rows.next().map_err(storage)? {
        let id: i64 = row.get(0).map_err(storage)?;
        let text: String = row.get(1).map_err(storage)?;
        total += decimal("closures", id, "realised", &text)?;
    }
    Ok(total)
}

/// Every leg contract of every order, found by SQLite in the legs' JSON.
pub(crate) fn traded_con_ids(conn: &Connection) -> Result<BTreeSet<ConId>, JournalError> {
    let mut stmt = conn
        .prepare(
            "SELECT json_extract(long_leg, '$.con_id') FROM orders
             UNION SELECT json_extract(short_leg, '$.con_id') FROM orders",
        )
        .map_err(storage)?;
    let rows = stmt
        .query_map([], |r| r.get::<_, Option<i64>>(0))
        .map_err(storage)?;
    let mut out = BTreeSet::new();
    for row in rows {
        if let Some(id) = row.map_err(storage)? {
            out.insert(ConId(id));
        }
    }
    Ok(out)
}

/// A query's `limit` as SQL's `LIMIT`: 0 asks for no limit.
fn sql_limit(limit: usize) -> i64 {
    if limit == 0 {
        i64::MAX
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX)
    }
}

pub(crate) fn events(conn: &Connection, q: &EventQuery) -> Result<Vec<JournalEvent>, JournalError> {
    let limit = sql_limit(q.limit);
    let mut sql = String::from("SELECT seq, at, kind, message, data FROM events");
    let mut values: Vec<&String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    if !q.kind_prefixes.is_empty() {
        let clauses: Vec<_> = q
            .kind_prefixes
            .iter()
            .map(|prefix| {
                values.push(prefix);
                let i = values.len();
                format!("substr(kind, 1, length(?{i})) = ?{i}")
            })
            .collect();
        conditions.push(format!("({})", clauses.join(" OR ")));
    }
    if let Some(refs) = &q.order_refs {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<_> = refs
            .iter()
            .map(|r| {
                values.push(r);
                format!("?{}", values.len())
            })
            .collect();
        conditions.push(format!("order_ref IN ({})", marks.join(", ")));
    }
    // Numbers go into the text: they are integers, not caller's text.
    if let Some(after) = q.after {
        conditions.push(format!(
            "seq > {}",
            i64::try_from(after).unwrap_or(i64::MAX)
        ));
    }
    if let Some(before) = q.before {
        conditions.push(format!(
            "seq < {}",
            i64::try_from(before).unwrap_or(i64::MAX)
        ));
    }
    if !conditions.is_empty() {
        sql.push_str(&format!(" WHERE {}", conditions.join(" AND ")));
    }
    // A page forward reads the oldest after its mark; any other, the newest.
    let forward = q.after.is_some();
    let order = if forward { "ASC" } else { "DESC" };
    sql.push_str(&format!(" ORDER BY seq {order} LIMIT {limit}"));
    let mut stmt = conn.prepare(&sql).map_err(storage)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(values), |r| {
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
            seq: u64::try_from(seq).ok(),
            at: instant("events", seq, "at", &at)?,
            kind,
            message,
            data,
        });
    }
    if !forward {
        out.reverse();
    }
    Ok(out)
}

pub(crate) fn decisions(
    conn: &Connection,
    q: &DecisionQuery,
) -> Result<Vec<JournalDecision>, JournalError> {
    let limit = sql_limit(q.limit);
    // One statement per case, so a symbol's page is read by its index
    // (symbol, seq) and the cost follows the page, not the journal.
    let sql = match q.symbol {
        Some(_) => {
            "SELECT seq, decision_id, cycle, at, symbol, outcome, record FROM decisions
             WHERE symbol = ?1 ORDER BY seq DESC LIMIT ?2"
        }
        None => {
            "SELECT seq, decision_id, cycle, at, symbol, outcome, record FROM decisions
             WHERE ?1 IS NULL ORDER BY seq DESC LIMIT ?2"
        }
    };
    let mut stmt = conn.prepare_cached(sql).map_err(storage)?;
    let rows = stmt
        .query_map(rusqlite::params![q.symbol, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .map_err(storage)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, id, cycle, at, symbol, outcome, record) = row.map_err(storage)?;
        out.push(JournalDecision {
            id,
            cycle: u64::try_from(cycle)
                .map_err(|_| corrupt("decisions", seq, format!("cycle `{cycle}` is negative")))?,
            at: instant("decisions", seq, "at", &at)?,
            symbol,
            outcome,
            record,
        });
    }
    Ok(out)
}
