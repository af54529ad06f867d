//! Writes: each one statement or one transaction; how durable on return is the caller's choice (see the crate doc).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use vspread_core::journal::{
    JournalDecision, JournalError, JournalEvent, JournaledOrder, OrderEnd, SpreadClosure,
};
use vspread_core::{OrderEvent, OrderStatus};

use crate::storage;

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, JournalError> {
    serde_json::to_string(value).map_err(|e| JournalError::Refused(e.to_string()))
}

pub(crate) fn record_order(conn: &Connection, o: &JournaledOrder) -> Result<(), JournalError> {
    let kind = json(&o.kind)?;
    let result = conn.execute(
        "INSERT INTO orders (order_ref, purpose, spread_ref, symbol, currency, kind, long_leg,
             short_leg, quantity, limit_price, credit, mid, reason, context, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            o.order_ref,
            o.purpose.name(),
            o.spread_ref,
            o.symbol,
            o.currency,
            kind.trim_matches('"'),
            json(&o.long)?,
            json(&o.short)?,
            o.quantity,
            o.limit.to_string(),
            o.credit,
            o.mid.to_string(),
            o.reason,
            o.context,
            time(o.created_at),
        ],
    );
    match result {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Err(JournalError::Refused(format!(
                "order `{}` is already journaled: it would be sent twice",
                o.order_ref
            )))
        }
        Err(e) => Err(storage(e)),
    }
}

fn known(conn: &Connection, order_ref: &str) -> Result<bool, JournalError> {
    conn.query_row(
        "SELECT 1 FROM orders WHERE order_ref = ?1",
        [order_ref],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(storage)
}

fn status_name(s: OrderStatus) -> String {
    format!("{s:?}")
}

pub(crate) fn record_order_event(
    conn: &mut Connection,
    event: &OrderEvent,
    at: DateTime<Utc>,
) -> Result<bool, JournalError> {
    // Immediate: the write lock is taken (waiting out another connection's,
    // up to the busy timeout) before the first read. A deferred transaction
    // that has read cannot wait for it: SQLite refuses its upgrade to a
    // writer at once with SQLITE_BUSY.
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(storage)?;
    let at = time(at);
    let new = match event {
        OrderEvent::Status {
            order_id,
            order_ref,
            status,
            filled,
            remaining,
            average_fill_price,
        } => {
            if !known(&tx, order_ref)? {
                return Ok(false);
            }
            let status = status_name(*status);
            // A status repeated (IB repeats them freely) is not news.
            let last: Option<(Option<String>, Option<String>)> = tx
                .query_row(
                    "SELECT last_status, (SELECT detail FROM order_events
                         WHERE order_ref = ?1 AND kind = 'status' ORDER BY seq DESC LIMIT 1)
                     FROM orders WHERE order_ref = ?1",
                    [order_ref],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(storage)?;
            let detail = serde_json::json!({
                "status": status, "filled": filled, "remaining": remaining,
                "average_fill_price": average_fill_price, "order_id": order_id.0,
            })
            .to_string();
            tx.execute(
                "UPDATE orders SET last_status = ?2, broker_order_id = ?3 WHERE order_ref = ?1",
                params![order_ref, status, order_id.0],
            )
            .map_err(storage)?;
            let repeated = last.is_some_and(|(_, d)| d.as_deref() == Some(detail.as_str()));
            if !repeated {
                tx.execute(
                    "INSERT INTO order_events (order_ref, at, kind, detail)
                     VALUES (?1, ?2, 'status', ?3)",
                    params![order_ref, at, detail],
                )
                .map_err(storage)?;
            }
            !repeated
        }
        OrderEvent::Execution(x) => {
            if !known(&tx, &x.order_ref)? {
                return Ok(false);
            }
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO fills (exec_id, order_ref, con_id, action, quantity,
                         price, combo, time, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        x.exec_id,
                        x.order_ref,
                        x.con_id.0,
                        json(&x.side)?.trim_matches('"'),
                        x.quantity.to_string(),
                        x.price.to_string(),
                        x.combo,
                        x.time,
                        at,
                    ],
                )
                .map_err(storage)?;
            if inserted == 1 {
                tx.execute(
                    "UPDATE orders SET broker_order_id = coalesce(broker_order_id, ?2)
                     WHERE order_ref = ?1",
                    params![x.order_ref, x.order_id.0],
                )
                .map_err(storage)?;
            }
            inserted == 1
        }
        OrderEvent::Commission {
            exec_id,
            order_ref,
            commission,
            currency,
        } => {
            if !known(&tx, order_ref)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT OR IGNORE INTO commissions (exec_id, order_ref, amount, currency)
                 VALUES (?1, ?2, ?3, ?4)",
                params![exec_id, order_ref, commission.to_string(), currency],
            )
            .map_err(storage)?
                == 1
        }
        OrderEvent::Rejected {
            order_id,
            order_ref,
            code,
            reason,
        } => {
            if !known(&tx, order_ref)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO order_events (order_ref, at, kind, detail)
                 VALUES (?1, ?2, 'rejected', ?3)",
                params![
                    order_ref,
                    at,
                    serde_json::json!({ "code": code, "reason": reason, "order_id": order_id.0 })
                        .to_string()
                ],
            )
            .map_err(storage)?;
            true
        }
    };
    tx.commit().map_err(storage)?;
    Ok(new)
}

pub(crate) fn record_order_end(
    conn: &Connection,
    order_ref: &str,
    end: &OrderEnd,
) -> Result<(), JournalError> {
    let changed = conn
        .execute(
            "UPDATE orders SET end_outcome = ?2, end_detail = ?3, ended_at = ?4
             WHERE order_ref = ?1 AND end_outcome IS NULL",
            params![order_ref, end.outcome, end.detail, time(end.at)],
        )
        .map_err(storage)?;
    if changed == 0 && !known(conn, order_ref)? {
        return Err(JournalError::Refused(format!(
            "no journaled order `{order_ref}` to end"
        )));
    }
    Ok(())
}

pub(crate) fn record_closure(conn: &Connection, c: &SpreadClosure) -> Result<(), JournalError> {
    conn.execute(
        "INSERT OR IGNORE INTO closures (spread_ref, reason, realised, r_multiple, at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            c.spread_ref,
            c.reason,
            c.realised.to_string(),
            c.r_multiple,
            time(c.at)
        ],
    )
    .map_err(storage)?;
    Ok(())
}

pub(crate) fn record_event(conn: &Connection, e: &JournalEvent) -> Result<(), JournalError> {
    // The bus's number when it has one (NULL numbers it next).
    let seq = match e.seq {
        Some(seq) => Some(i64::try_from(seq).map_err(|_| {
            JournalError::Refused(format!("event {}: seq {seq} too large", e.kind))
        })?),
        None => None,
    };
    // The order an event names gets a column of its own (see the schema's
    // second migration): an order's steps are then read by index.
    conn.execute(
        "INSERT INTO events (seq, at, kind, message, data, order_ref) VALUES (?5, ?1, ?2, ?3, ?4,
             CASE WHEN json_valid(?4) AND json_type(?4, '$.order_ref') = 'text'
                  THEN json_extract(?4, '$.order_ref') END)",
        params![time(e.at), e.kind, e.message, e.data, seq],
    )
    .map_err(|err| match (&err, seq) {
        // Not the storage's fault: trying again cannot help.
        (rusqlite::Error::SqliteFailure(f, _), Some(seq))
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            JournalError::Refused(format!("event {}: number {seq} is taken", e.kind))
        }
        _ => storage(err),
    })?;
    Ok(())
}

pub(crate) fn record_decision(conn: &Connection, d: &JournalDecision) -> Result<(), JournalError> {
    let cycle = i64::try_from(d.cycle).map_err(|_| {
        JournalError::Refused(format!("decision {}: cycle {} too large", d.id, d.cycle))
    })?;
    conn.execute(
        "INSERT INTO decisions (decision_id, cycle, at, symbol, outcome, record)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![d.id, cycle, time(d.at), d.symbol, d.outcome, d.record],
    )
    .map_err(storage)?;
    Ok(())
}
