//! Counters and gauges of the broker layer, kept as plain atomics so the
//! admin server can export them however it likes (no global recorder here).
//! [`BrokerMetrics::snapshot`] reads them all at once for export and tests.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use vspread_core::broker::{ConnectionState, LinkStatus, QueueStatus};

use crate::pacing::Priority;

/// Live counters; shared behind an `Arc` by every part of the layer.
#[derive(Debug, Default)]
pub struct BrokerMetrics {
    queue_depth: [AtomicI64; Priority::COUNT],
    granted: [AtomicU64; Priority::COUNT],
    wait_nanos_total: [AtomicU64; Priority::COUNT],
    wait_nanos_max: AtomicU64,
    throttle_events: AtomicU64,
    queue_full_rejections: AtomicU64,
    merged_requests: AtomicU64,
    historical_pacing_waits: AtomicU64,
    lines_active: AtomicI64,
    lines_pinned: AtomicI64,
    lines_evicted: AtomicU64,
    lines_refused: AtomicU64,
    snapshots: AtomicU64,
    connection_state: AtomicI64,
    ready: AtomicBool,
    connects: AtomicU64,
    connect_failures: AtomicU64,
    disconnects: AtomicU64,
    last_reconnect_millis: AtomicU64,
    resubscriptions: AtomicU64,
    reconciliations: AtomicU64,
    reconciliation_differences: AtomicU64,
    events_published: AtomicU64,
    gateway_errors: AtomicU64,
    pacing_violations_reported: AtomicU64,
    /// The gateway's API server version on the current connection (0 before).
    server_version: AtomicI64,
    /// Gateway errors by IB's code.
    errors_by_code: Mutex<BTreeMap<i32, u64>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl BrokerMetrics {
    pub(crate) fn queue_entered(&self, p: Priority) {
        self.queue_depth[p.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn queue_left(&self, p: Priority) {
        self.queue_depth[p.index()].fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn granted(&self, p: Priority, waited: Duration) {
        self.granted[p.index()].fetch_add(1, Ordering::Relaxed);
        self.wait_nanos_total[p.index()].fetch_add(nanos(waited), Ordering::Relaxed);
        self.wait_nanos_max
            .fetch_max(nanos(waited), Ordering::Relaxed);
    }

    pub(crate) fn throttled(&self) {
        self.throttle_events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn queue_full(&self) {
        self.queue_full_rejections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn merged(&self) {
        self.merged_requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn historical_wait(&self) {
        self.historical_pacing_waits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_lines(&self, active: usize, pinned: usize) {
        self.lines_active.store(active as i64, Ordering::Relaxed);
        self.lines_pinned.store(pinned as i64, Ordering::Relaxed);
    }

    pub(crate) fn line_evicted(&self) {
        self.lines_evicted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn line_refused(&self) {
        self.lines_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot_taken(&self) {
        self.snapshots.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn set_connection_state(&self, code: i64, ready: bool) {
        self.connection_state.store(code, Ordering::Relaxed);
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub(crate) fn connected(&self, server_version: i32) {
        self.server_version
            .store(i64::from(server_version), Ordering::Relaxed);
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connect_failed(&self) {
        self.connect_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn disconnected(&self) {
        self.disconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn reconnect_took(&self, d: Duration) {
        self.last_reconnect_millis.store(
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn resubscribed(&self, n: usize) {
        self.resubscriptions.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn reconciled(&self, differences: usize) {
        self.reconciliations.fetch_add(1, Ordering::Relaxed);
        self.reconciliation_differences
            .fetch_add(differences as u64, Ordering::Relaxed);
    }

    pub(crate) fn event_published(&self) {
        self.events_published.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn gateway_error(&self, code: i32) {
        self.gateway_errors.fetch_add(1, Ordering::Relaxed);
        *self
            .errors_by_code
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(code)
            .or_default() += 1;
        if code == 100 {
            self.pacing_violations_reported
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// True when the gateway answered a request on the current connection.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Every counter as the domain's [`LinkStatus`], read at one moment
    /// (each load is relaxed: consistent enough for monitoring). Its
    /// address, `since` and configured limits are the session's to fill in.
    pub fn link_status(&self) -> LinkStatus {
        let r = Ordering::Relaxed;
        let server_version = self.server_version.load(r);
        LinkStatus {
            address: String::new(),
            state: ConnectionState::from_code(self.connection_state.load(r)),
            ready: self.ready.load(r),
            since: None,
            server_version: (server_version > 0)
                .then(|| i32::try_from(server_version).unwrap_or(i32::MAX)),
            connects: self.connects.load(r),
            connect_failures: self.connect_failures.load(r),
            disconnects: self.disconnects.load(r),
            last_reconnect: Duration::from_millis(self.last_reconnect_millis.load(r)),
            queues: Priority::ALL
                .iter()
                .map(|p| QueueStatus {
                    priority: p.label(),
                    depth: self.queue_depth[p.index()].load(r),
                    granted: self.granted[p.index()].load(r),
                    waited: Duration::from_nanos(self.wait_nanos_total[p.index()].load(r)),
                })
                .collect(),
            max_messages_per_sec: 0,
            max_lines: 0,
            wait_max: Duration::from_nanos(self.wait_nanos_max.load(r)),
            throttle_events: self.throttle_events.load(r),
            queue_full_rejections: self.queue_full_rejections.load(r),
            merged_requests: self.merged_requests.load(r),
            historical_pacing_waits: self.historical_pacing_waits.load(r),
            lines_active: self.lines_active.load(r),
            lines_pinned: self.lines_pinned.load(r),
            lines_evicted: self.lines_evicted.load(r),
            lines_refused: self.lines_refused.load(r),
            snapshots: self.snapshots.load(r),
            resubscriptions: self.resubscriptions.load(r),
            reconciliations: self.reconciliations.load(r),
            reconciliation_differences: self.reconciliation_differences.load(r),
            events_published: self.events_published.load(r),
            gateway_errors: self.gateway_errors.load(r),
            pacing_violations_reported: self.pacing_violations_reported.load(r),
            errors_by_code: self
                .errors_by_code
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
