//! The journal's tables and their migrations.
//!
//! The schema version lives in SQLite's `user_version`; each migration moves
//! it up by one inside a transaction, so a file is always at a version this
//! code knows, or refused. Money is stored as decimal text (exact), times as
//! RFC 3339 text (readable with `sqlite3`, sortable).

use rusqlite::Connection;

use crate::StoreError;

/// Migration `i` takes the file from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the trading record and the narrative.
    "
    CREATE TABLE orders (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        order_ref       TEXT NOT NULL UNIQUE,
        purpose         TEXT NOT NULL,
        spread_ref      TEXT NOT NULL,
        symbol          TEXT NOT NULL,
        currency        TEXT NOT NULL,
        kind            TEXT NOT NULL,
        long_leg        TEXT NOT NULL,
        short_leg       TEXT NOT NULL,
        quantity        INTEGER NOT NULL,
        limit_price     TEXT NOT NULL,
        credit          INTEGER NOT NULL,
        mid             TEXT NOT NULL,
        reason          TEXT NOT NULL,
        context         TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        broker_order_id INTEGER,
        last_status     TEXT,
        end_outcome     TEXT,
        end_detail      TEXT,
        ended_at        TEXT
    );
    CREATE INDEX orders_spread ON orders (spread_ref);
    CREATE TABLE order_events (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        order_ref TEXT NOT NULL REFERENCES orders (order_ref),
        at        TEXT NOT NULL,
        kind      TEXT NOT NULL,
        detail    TEXT NOT NULL
    );
    CREATE INDEX order_events_ref ON order_events (order_ref);
    CREATE TABLE fills (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        exec_id     TEXT NOT NULL UNIQUE,
        order_ref   TEXT NOT NULL REFERENCES orders (order_ref),
        con_id      INTEGER NOT NULL,
        action      TEXT NOT NULL,
        quantity    TEXT NOT NULL,
        price       TEXT NOT NULL,
        combo       INTEGER NOT NULL,
        time        TEXT NOT NULL,
        recorded_at TEXT NOT NULL
    );
    CREATE INDEX fills_ref ON fills (order_ref);
    CREATE TABLE commissions (
        exec_id   TEXT PRIMARY KEY,
        order_ref TEXT NOT NULL REFERENCES orders (order_ref),
        amount    TEXT NOT NULL,
        currency  TEXT NOT NULL
    );
    CREATE TABLE closures (
        spread_ref TEXT PRIMARY KEY,
        reason     TEXT NOT NULL,
        realised   TEXT NOT NULL,
        r_multiple REAL,
        at         TEXT NOT NULL
    );
    CREATE TABLE events (
        seq     INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL,
        kind    TEXT NOT NULL,
        message TEXT NOT NULL,
        data    TEXT NOT NULL
    );
    CREATE INDEX events_kind ON events (kind);
    ",
    // 2: pages instead of whole tables. An event names its order in a
    // column of its own (the `order_ref` of its data), so an order's limit
    // steps are found by index; closures are found by when they happened.
    "
    ALTER TABLE events ADD COLUMN order_ref TEXT;
    UPDATE events SET order_ref = json_extract(data, '$.order_ref')
        WHERE json_valid(data) AND json_type(data, '$.order_ref') = 'text';
    CREATE INDEX events_order ON events (order_ref);
    CREATE INDEX closures_at ON closures (at);
    CREATE INDEX orders_open ON orders (seq) WHERE end_outcome IS NULL;
    ",
    // 3: every entry decision, whole (the engine keeps only the newest per
    // symbol in memory), found by symbol, newest first.
    "
    CREATE TABLE decisions (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id TEXT NOT NULL,
        cycle       INTEGER NOT NULL,
        at          TEXT NOT NULL,
        symbol      TEXT NOT NULL,
        outcome     TEXT NOT NULL,
        record      TEXT NOT NULL
    );
    CREATE INDEX decisions_symbol ON decisions (symbol, seq);
    ",
];

/// The version this code writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file up to [`VERSION`]; refuses a newer one.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::TooNew {
            found,
            known: VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = from + 1, "journal migrated");
    }
    Ok(())
}
