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

/// A consistent-enough copy of every metric at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// Requests waiting for a token, by priority (orders, market data, lookups).
    pub queue_depth: [i64; Priority::COUNT],
    /// Tokens granted, by priority.
    pub granted: [u64; Priority::COUNT],
    /// Total time spent waiting in the queue, by priority.
    pub wait_total: [Duration; Priority::COUNT],
    /// Longest single wait.
    pub wait_max: Duration,
    /// Times the dispatcher had to sleep for a token.
    pub throttle_events: u64,
    /// Requests refused because their queue was full (non-blocking path).
    pub queue_full_rejections: u64,
    /// Requests answered by an identical one already in flight.
    pub merged_requests: u64,
    /// Historical requests delayed by IB's historical pacing rules.
    pub historical_pacing_waits: u64,
    pub lines_active: i64,
    pub lines_pinned: i64,
    pub lines_evicted: u64,
    /// Subscriptions refused because every held line was pinned.
    pub lines_refused: u64,
    pub snapshots: u64,
    /// [`crate::watchdog::ConnectionState::code`] of the current state.
    pub connection_state: i64,
    /// True only after the gateway answered a request on this connection.
    pub ready: bool,
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    /// From the gateway accepting again to the layer being ready, last time.
    pub last_reconnect: Duration,
    pub resubscriptions: u64,
    pub reconciliations: u64,
    pub reconciliation_differences: u64,
    pub events_published: u64,
    pub gateway_errors: u64,
    /// Error 100 (message rate exceeded) seen from the gateway.
    pub pacing_violations_reported: u64,
    /// The gateway's API server version on the last connection (0 before).
    pub server_version: i64,
    /// Gateway errors by IB's code.
    pub errors_by_code: BTreeMap<i32, u64>,
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

    /// The counters as the domain's [`LinkStatus`] (its address, state and
    /// `since` are the session's to fill in).
    pub fn link_status(&self) -> LinkStatus {
        let m = self.snapshot();
        LinkStatus {
            address: String::new(),
            state: ConnectionState::from_code(m.connection_state),
            ready: m.ready,
            since: None,
            server_version: (m.server_version > 0)
                .then(|| i32::try_from(m.server_version).unwrap_or(i32::MAX)),
            connects: m.connects,
            connect_failures: m.connect_failures,
            disconnects: m.disconnects,
            last_reconnect: m.last_reconnect,
            queues: Priority::ALL
                .iter()
                .map(|p| QueueStatus {
                    priority: p.label(),
                    depth: m.queue_depth[p.index()],
                    granted: m.granted[p.index()],
                    waited: m.wait_total[p.index()],
                })
                .collect(),
            max_messages_per_sec: 0,
            max_lines: 0,
            wait_max: m.wait_max,
            throttle_events: m.throttle_events,
            queue_full_rejections: m.queue_full_rejections,
            merged_requests: m.merged_requests,
            historical_pacing_waits: m.historical_pacing_waits,
            lines_active: m.lines_active,
            lines_pinned: m.lines_pinned,
            lines_evicted: m.lines_evicted,
            lines_refused: m.lines_refused,
            snapshots: m.snapshots,
            resubscriptions: m.resubscriptions,
            reconciliations: m.reconciliations,
            reconciliation_differences: m.reconciliation_differences,
            events_published: m.events_published,
            gateway_errors: m.gateway_errors,
            pacing_violations_reported: m.pacing_violations_reported,
            errors_by_code: m.errors_by_code,
        }
    }

    /// Reads every metric.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let r = Ordering::Relaxed;
        MetricsSnapshot {
            queue_depth: std::array::from_fn(|i| self.queue_depth[i].load(r)),
            granted: std::array::from_fn(|i| self.granted[i].load(r)),
            wait_total: std::array::from_fn(|i| {
                Duration::from_nanos(self.wait_nanos_total[i].load(r))
            }),
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
            connection_state: self.connection_state.load(r),
            ready: self.ready.load(r),
            connects: self.connects.load(r),
            connect_failures: self.connect_failures.load(r),
            disconnects: self.disconnects.load(r),
            last_reconnect: Duration::from_millis(self.last_reconnect_millis.load(r)),
            resubscriptions: self.resubscriptions.load(r),
            reconciliations: self.reconciliations.load(r),
            reconciliation_differences: self.reconciliation_differences.load(r),
            events_published: self.events_published.load(r),
            gateway_errors: self.gateway_errors.load(r),
            pacing_violations_reported: self.pacing_violations_reported.load(r),
            server_version: self.server_version.load(r),
            errors_by_code: self
                .errors_by_code
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
