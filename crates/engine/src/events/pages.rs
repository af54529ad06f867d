//! Pages of the event history: the newest events from memory, older ones
//! read back from the journal, under the same numbers.
//!
//! Memory keeps a few hundred events (what a page of the live view and a
//! client's short reconnect need); the journal keeps them all, each under
//! the bus's number. A page that reaches back past memory is read from the
//! journal and continued from memory, so `GET /events?after=` and a
//! stream's resume work however far back they start, and the process does
//! not hold a long history to serve the rare reader who wants one.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use vspread_core::journal::{EventQuery, Journal, JournalError, JournalEvent};

use super::{Event, EventBus};

/// One event of a history page, serialised alike either way:
/// `{seq, at, message, kind, data}`.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum PastEvent {
    /// Still in memory: the event as it was published.
    Held(Arc<Event>),
    /// Read back from the journal: its data as the JSON it was written.
    Journaled(JournaledEvent),
}

impl PastEvent {
    pub fn seq(&self) -> u64 {
        match self {
            PastEvent::Held(e) => e.seq,
            PastEvent::Journaled(e) => e.seq,
        }
    }
}

/// An event as the journal keeps it, in the fields' order of [`Event`].
#[derive(Debug, Clone, Serialize)]
pub struct JournaledEvent {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub message: String,
    pub kind: String,
    /// The event's `data`, the JSON text the bus wrote.
    pub data: Box<RawValue>,
}

impl JournaledEvent {
    /// `None` for a row without a number (written before numbers were the
    /// bus's, it cannot be placed among them).
    fn from_record(record: JournalEvent) -> Option<Self> {
        let seq = record.seq?;
        // The bus writes JSON; text that is not (edited by hand) is shown
        // as a string rather than dropped.
        let data = if serde_json::from_str::<&RawValue>(&record.data).is_ok() {
            RawValue::from_string(record.data)
        } else {
            serde_json::value::to_raw_value(&record.data)
        };
        Some(Self {
            seq,
            at: record.at,
            message: record.message,
            kind: record.kind,
            data: data.ok()?,
        })
    }
}

impl EventBus {
    /// The page memory alone can answer: `None` when it reaches back past
    /// what memory holds (then [`read_back`] reads the journal).
    ///
    /// `after`: the oldest `limit` events numbered after it; `None`: the
    /// newest `limit`.
    pub fn held_page(&self, after: Option<u64>, limit: usize) -> Option<Vec<PastEvent>> {
        let held = |events: Vec<Arc<Event>>| events.into_iter().map(PastEvent::Held).collect();
        match after {
            Some(after) if after.saturating_add(1) >= self.oldest_held() => {
                Some(held(self.since(after, limit)))
            }
            Some(_) => None,
            None => {
                let newest = self.recent(limit);
                let whole = newest.len() == limit || self.oldest_held() <= 1;
                whole.then(|| held(newest))
            }
        }
    }
}

/// A page of the history (see [`EventBus::held_page`]), from the journal
/// as far as memory does not reach. Blocking: it may read the journal.
pub fn page_from(
    bus: &EventBus,
    journal: &dyn Journal,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<PastEvent>, JournalError> {
    match bus.held_page(after, limit) {
        Some(page) => Ok(page),
        None => read_back(bus, journal, after, limit),
    }
}

/// The page [`EventBus::held_page`] could not answer: the journal's part,
/// then memory's. Blocking: it reads the journal.
///
/// An event neither written yet nor still in memory (the journal refused
/// writes for longer than memory holds) is missing from the page.
pub fn read_back(
    bus: &EventBus,
    journal: &dyn Journal,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<PastEvent>, JournalError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let journaled = |query: EventQuery| -> Result<Vec<PastEvent>, JournalError> {
        Ok(journal
            .events(&query)?
            .into_iter()
            .filter_map(JournaledEvent::from_record)
            .map(PastEvent::Journaled)
            .collect())
    };
    match after {
        Some(after) => {
            let mut page = journaled(EventQuery {
                after: Some(after),
                limit,
                ..EventQuery::default()
            })?;
            if page.len() < limit {
                let from = page.last().map_or(after, PastEvent::seq);
                page.extend(
                    bus.since(from, limit - page.len())
                        .into_iter()
                        .map(PastEvent::Held),
                );
            }
            Ok(page)
        }
        None => {
            let newest = bus.recent(limit);
            let before = newest.first().map_or_else(|| bus.last_seq() + 1, |e| e.seq);
            let mut page = journaled(EventQuery {
                before: Some(before),
                limit: limit - newest.len(),
                ..EventQuery::default()
            })?;
            page.extend(newest.into_iter().map(PastEvent::Held));
            Ok(page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ControlResumed, EngineEvent};
    use chrono::TimeZone as _;
    use vspread_core::clock::ManualClock;
    use vspread_journal::SqliteJournal;

    fn bus(journal: &Arc<SqliteJournal>, capacity: usize) -> EventBus {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let bus = EventBus::new(capacity, Arc::new(ManualClock::new(t)));
        bus.attach_journal(journal.clone()).unwrap();
        bus
    }

    fn publish(bus: &EventBus, who: u64) {
        let event = EngineEvent::ControlResumed(ControlResumed {
            who: who.to_string(),
        });
        bus.publish(format!("resumed by {who}"), event);
    }

    fn seqs(page: &[PastEvent]) -> Vec<u64> {
        page.iter().map(PastEvent::seq).collect()
    }

    #[test]
    fn a_run_numbers_on_from_the_journal_and_pages_reach_back_into_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
        let first = bus(&journal, 4);
        for who in 1..=10 {
            publish(&first, who);
        }
        assert!(first.flush_journal(std::time::Duration::from_secs(5)));
        let held_then: Vec<_> = first
            .recent(2)
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        drop(first);

        // The next run goes on from the journal's last number.
        let second = bus(&journal, 4);
        assert_eq!(second.last_seq(), 10);
        for who in 11..=13 {
            publish(&second, who);
        }
        assert_eq!(second.oldest_held(), 11);

        // Forward from before memory: the journal's, then memory's.
        assert!(second.held_page(Some(0), 100).is_none());
        let all = page_from(&second, &*journal, Some(0), 100).unwrap();
        assert_eq!(seqs(&all), (1..=13).collect::<Vec<_>>());
        assert!(matches!(all[0], PastEvent::Journaled(_)));
        // A journaled event reads as it was published, field for field.
        let journaled: Vec<_> = all[8..10]
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        assert_eq!(journaled, held_then);
        // Pages of a limit, each going on from the last.
        let page = page_from(&second, &*journal, Some(3), 4).unwrap();
        assert_eq!(seqs(&page), [4, 5, 6, 7]);
        // From within memory: memory alone.
        let held = second.held_page(Some(11), 100).unwrap();
        assert_eq!(seqs(&held), [12, 13]);
        assert!(held.iter().all(|e| matches!(e, PastEvent::Held(_))));

        // The newest: memory's three, and the journal's before them.
        assert!(second.held_page(None, 6).is_none());
        let newest = page_from(&second, &*journal, None, 6).unwrap();
        assert_eq!(seqs(&newest), [8, 9, 10, 11, 12, 13]);
        assert_eq!(seqs(&second.held_page(None, 2).unwrap()), [12, 13]);
        assert!(
            page_from(&second, &*journal, Some(0), 0)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_journal_whose_last_number_cannot_be_read_numbers_the_events_itself() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
        let first = bus(&journal, 4);
        publish(&first, 1);
        assert!(first.flush_journal(std::time::Duration::from_secs(5)));
        drop(first);
        // A row whose time does not read: the last number is unknown.
        let conn = rusqlite::Connection::open(dir.path().join(vspread_journal::FILE_NAME)).unwrap();
        conn.execute("UPDATE events SET at = 'not a time'", [])
            .unwrap();
        drop(conn);
        let second = bus(&journal, 4);
        assert_eq!(second.last_seq(), 0);
        publish(&second, 2);
        assert!(second.flush_journal(std::time::Duration::from_secs(5)));
        let count: i64 = rusqlite::Connection::open(dir.path().join(vspread_journal::FILE_NAME))
            .unwrap()
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(count, 2, "the second run's event is journaled, not refused");
    }
}
