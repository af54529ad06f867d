//! The series operators alert and build dashboards on, beyond the link's
//! and the orders' basics: the process and its build, the limits in force
//! (so rules alert at a share of them), the schedule and the restart
//! window on the engine's clock, refusals by rule, slippage and the times
//! from a signal to its order and fill, the scanner's own time, the age of
//! the last scan, decision latency, the journal's synced writes, and the
//! admin API's request durations.
//!
//! Labelled families whose label sets are known (refusals by rule,
//! slippage by purpose) exist at 0 from the start, so `rate()` and alerts
//! see a series before the first event.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use rust_decimal::prelude::ToPrimitive as _;
use vspread_core::OrderPurpose;
use vspread_core::journal::{SYNC_BUCKETS, SyncTimings};
use vspread_engine::Engine;
use vspread_engine::events::EngineEvent;
use vspread_engine::risk::Refusal;

type FloatGauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabels {
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PurposeLabels {
    pub purpose: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
    pub revision: String,
}

/// The revision this binary was built from (`build.rs`: `VSPREAD_REVISION`
/// or `git rev-parse`, else `unknown`).
pub const REVISION: &str = env!("VSPREAD_REVISION");

fn new_histogram(buckets: &[f64]) -> Histogram {
    Histogram::new(buckets.iter().copied())
}

/// Seconds of a scan's computation or a decision: from a millisecond to
/// seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// Seconds from a signal to its order or fill: a chain's acquisition to
/// an order's whole walk.
const SIGNAL_BUCKETS: [f64; 12] = [
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];
/// Slippage as a fraction of width: fills better than the mid are
/// negative, so the buckets start below zero.
const SLIPPAGE_BUCKETS: [f64; 12] = [
    -0.05, -0.02, -0.01, 0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5,
];
const HTTP_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 10.0,
];

/// A histogram kept elsewhere (the journal's synced writes), encoded as it
/// is at the scrape.
#[derive(Debug, Clone, Default)]
pub struct SyncHistogram(Arc<Mutex<SyncTimings>>);

impl SyncHistogram {
    fn set(&self, timings: SyncTimings) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = timings;
    }
}

impl TypedMetric for SyncHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for SyncHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let t = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut buckets: Vec<(f64, u64)> = SYNC_BUCKETS
            .iter()
            .copied()
            .zip(t.buckets.iter().copied())
            .collect();
        buckets.push((f64::MAX, t.over));
        encoder.encode_histogram::<NoLabelSet>(t.sum_seconds, t.count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// The series of this module.
#[derive(Debug)]
pub struct OpsMetrics {
    pub gateway_daily_restart_window: Gauge,
    pub pnl_realised_total: FloatGauge,
    pub order_slippage_width_ratio: Family<PurposeLabels, Histogram>,
    pub signal_to_order_seconds: Histogram,
    pub signal_to_fill_seconds: Histogram,
    pub decisions_refused: Family<RuleLabels, Counter>,
    pub risk_daily_loss_usd: FloatGauge,
    pub risk_daily_loss_limit_usd: FloatGauge,
    pub risk_max_positions: Gauge,
    pub trading_window_open: Gauge,
    pub trading_scan_interval_seconds: Gauge,
    pub scan_compute_duration_seconds: Histogram,
    pub scan_last_completed_age_seconds: FloatGauge,
    pub decision_latency_seconds: Histogram,
    pub journal_fsync_duration_seconds: SyncHistogram,
    pub http_request_duration_seconds: Family<RouteLabels, Histogram>,
    pub notify_sent: Family<TargetLabels, Counter>,
    pub notify_failed: Family<TargetLabels, Counter>,
    pub notify_retries: Family<TargetLabels, Counter>,
    pub notify_dropped: Family<TargetLabels, Counter>,
    pub notify_queue_depth: Family<TargetLabels, Gauge>,
}

impl OpsMetrics {
    /// Registers the process-wide series (`process_start_time_seconds`,
    /// unprefixed as every exporter names it) on `root`.
    pub fn register_process(root: &mut Registry) {
        let start = FloatGauge::default();
        start.set(process_start_time());
        root.register(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            start,
        );
    }

    /// The series, registered on `registry` (prefixed `vspread_`).
    pub fn register(registry: &mut Registry) -> Self {
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
                revision: REVISION.to_string(),
            })
            .set(1);
        registry.register(
            "build_info",
            "Always 1; the labels name the running build",
            build,
        );

        let m = Self {
            gateway_daily_restart_window: Gauge::default(),
            pnl_realised_total: FloatGauge::default(),
            order_slippage_width_ratio: Family::new_with_constructor(|| {
                new_histogram(&SLIPPAGE_BUCKETS)
            }),
            signal_to_order_seconds: new_histogram(&SIGNAL_BUCKETS),
            signal_to_fill_seconds: new_histogram(&SIGNAL_BUCKETS),
            decisions_refused: Family::default(),
            risk_daily_loss_usd: FloatGauge::default(),
            risk_daily_loss_limit_usd: FloatGauge::default(),
            risk_max_positions: Gauge::default(),
            trading_window_open: Gauge::default(),
            trading_scan_interval_seconds: Gauge::default(),
            scan_compute_duration_seconds: new_histogram(&LATENCY_BUCKETS),
            scan_last_completed_age_seconds: FloatGauge::default(),
            decision_latency_seconds: new_histogram(&LATENCY_BUCKETS),
            journal_fsync_duration_seconds: SyncHistogram::default(),
            http_request_duration_seconds: Family::new_with_constructor(|| {
                new_histogram(&HTTP_BUCKETS)
            }),
            notify_sent: Family::default(),
            notify_failed: Family::default(),
            notify_retries: Family::default(),
            notify_dropped: Family::default(),
            notify_queue_depth: Family::default(),
        };
        for rule in Refusal::RULES {
            let _ = m.decisions_refused.get_or_create(&RuleLabels {
                rule: rule.to_string(),
            });
        }
        for purpose in OrderPurpose::ALL {
            let _ = m.order_slippage_width_ratio.get_or_create(&PurposeLabels {
                purpose: purpose.name().to_string(),
            });
        }

        let r = registry;
        r.register(
            "gateway_daily_restart_window",
            "1 from [ibkr] daily_restart_utc for daily_restart_minutes (the gateway's nightly restart, on the engine's clock), else 0",
            m.gateway_daily_restart_window.clone(),
        );
        r.register(
            "pnl_realised_total",
            "Realised P&L of every closed spread in the journal, after commissions (cumulative P&L)",
            m.pnl_realised_total.clone(),
        );
        r.register(
            "order_slippage_width_ratio",
            "Fill price's distance from the mid at decision, against the order, as a fraction of the spread's width (0.01 = 1% of width)",
            m.order_slippage_width_ratio.clone(),
        );
        r.register(
            "signal_to_order_seconds",
            "From a signal firing to its entry order reaching the broker layer, on the engine's clock",
            m.signal_to_order_seconds.clone(),
        );
        r.register(
            "signal_to_fill_seconds",
            "From a signal firing to its entry order's last fill, on the engine's clock",
            m.signal_to_fill_seconds.clone(),
        );
        r.register(
            "decisions_refused",
            "Entries refused, by the rule that refused them",
            m.decisions_refused.clone(),
        );
        r.register(
            "risk_daily_loss_usd",
            "The day's loss as the risk gate counts it (realised plus unrealised; positive is a loss)",
            m.risk_daily_loss_usd.clone(),
        );
        r.register(
            "risk_daily_loss_limit_usd",
            "risk.max_daily_loss in force",
            m.risk_daily_loss_limit_usd.clone(),
        );
        r.register(
            "risk_max_positions",
            "trading.max_positions in force",
            m.risk_max_positions.clone(),
        );
        r.register(
            "trading_window_open",
            "1 while [trading_schedule] allows new entries on the engine's clock, else 0",
            m.trading_window_open.clone(),
        );
        r.register(
            "trading_scan_interval_seconds",
            "trading.scan_interval_s in force",
            m.trading_scan_interval_seconds.clone(),
        );
        r.register(
            "scan_compute_duration_seconds",
            "The scanner's own time for one underlying's chain (ranking the pairs, without waiting for quotes)",
            m.scan_compute_duration_seconds.clone(),
        );
        r.register(
            "scan_last_completed_age_seconds",
            "Seconds since the last completed scan (since the engine started, before the first), on the engine's clock",
            m.scan_last_completed_age_seconds.clone(),
        );
        r.register(
            "decision_latency_seconds",
            "From the last quote a decision needs to its order reaching the broker layer (the synced journal write included)",
            m.decision_latency_seconds.clone(),
        );
        r.register(
            "journal_fsync_duration_seconds",
            "One synced journal commit (orders, fills, ends), from write to durable",
            m.journal_fsync_duration_seconds.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Admin API request duration by matched route and method (the WebSocket route until its upgrade only)",
            m.http_request_duration_seconds.clone(),
        );
        r.register(
            "notify_sent",
            "Notifications delivered, by target ([notify])",
            m.notify_sent.clone(),
        );
        r.register(
            "notify_failed",
            "Notifications given up, by target: tries exhausted, refused by the service, or no secret",
            m.notify_failed.clone(),
        );
        r.register(
            "notify_retries",
            "Notification tries after the first, by target",
            m.notify_retries.clone(),
        );
        r.register(
            "notify_dropped",
            "Notifications dropped because the target's queue was full, by target",
            m.notify_dropped.clone(),
        );
        r.register(
            "notify_queue_depth",
            "Notifications waiting or being delivered, by target",
            m.notify_queue_depth.clone(),
        );
        m
    }

    /// Copies in what the engine knows now: the limits in force, the
    /// schedule, the scan age, the P&L, the journal's syncs.
    pub fn observe(&self, engine: &Engine) {
        let config = engine.live().current().config.clone();
        let g = engine.gauges();
        self.gateway_daily_restart_window
            .set(i64::from(g.daily_restart_window));
        self.trading_window_open
            .set(i64::from(g.trading_window_open));
        self.trading_scan_interval_seconds
            .set(config.trading.scan_interval_s);
        self.risk_max_positions.set(config.trading.max_positions);
        self.risk_daily_loss_limit_usd
            .set(config.risk.max_daily_loss);
        self.risk_daily_loss_usd
            .set(-g.daily_pnl.to_f64().unwrap_or(0.0));
        self.pnl_realised_total
            .set(g.realised_total.to_f64().unwrap_or(0.0));
        self.scan_last_completed_age_seconds
            .set(g.since_last_scan_s);
        self.journal_fsync_duration_seconds.set(g.journal_syncs);
        for t in engine.notify_stats() {
            let labels = TargetLabels {
                target: t.target.clone(),
            };
            super::raise_to(&self.notify_sent.get_or_create(&labels), t.sent);
            super::raise_to(&self.notify_failed.get_or_create(&labels), t.failed);
            super::raise_to(&self.notify_retries.get_or_create(&labels), t.retried);
            super::raise_to(&self.notify_dropped.get_or_create(&labels), t.dropped);
            self.notify_queue_depth.get_or_create(&labels).set(t.queued);
        }
    }

    /// Folds one event of the engine's stream.
    pub fn fold(&self, event: &EngineEvent) {
        match event {
            EngineEvent::DecisionRefused(refused) => {
                self.decisions_refused
                    .get_or_create(&RuleLabels {
                        rule: refused.refusal.rule().to_string(),
                    })
                    .inc();
            }
            EngineEvent::OrderPlaced(placed) => {
                if let Some(ms) = placed.signal_to_order_ms {
                    self.signal_to_order_seconds.observe(ms / 1e3);
                }
            }
            EngineEvent::OrderEnded(ended) => {
                if let Some(ratio) = ended.slippage_width_ratio {
                    self.order_slippage_width_ratio
                        .get_or_create(&PurposeLabels {
                            purpose: ended.purpose.name().to_string(),
                        })
                        .observe(ratio);
                }
                if let Some(ms) = ended.signal_to_fill_ms {
                    self.signal_to_fill_seconds.observe(ms / 1e3);
                }
                self.decision_latency_seconds
                    .observe(ended.decision_latency_us as f64 / 1e6);
            }
            EngineEvent::ScanCompleted(scan) => {
                self.scan_compute_duration_seconds
                    .observe(scan.compute_ms / 1e3);
            }
            _ => {}
        }
    }

    /// Counts one admin API request's duration.
    pub fn observe_request(&self, route: &str, method: &str, seconds: f64) {
        self.http_request_duration_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
                method: method.to_string(),
            })
            .observe(seconds);
    }
}

/// When this process started, in seconds since the Unix epoch: the
/// kernel's record of it (`/proc/self/stat` and the boot time), else the
/// first time this is asked.
fn process_start_time() -> f64 {
    static FIRST_ASKED: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    proc_start_time().unwrap_or_else(|| {
        *FIRST_ASKED.get_or_init(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
        })
    })
}

fn proc_start_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces and parentheses: fields start after
    // the last ')'. `starttime` is field 22, the 20th after it.
    let after = &stat[stat.rfind(')')? + 1..];
    let ticks: f64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot: f64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let hz = rustix::param::clock_ticks_per_second() as f64;
    (hz > 0.0).then(|| boot + ticks / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_started_in_the_past_year() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = proc_start_time().expect("Linux has /proc");
        assert!(started <= now + 1.0 && started > now - 86_400.0 * 365.0);
    }

    #[test]
    fn a_sync_histogram_encodes_every_bucket_and_the_overflow() {
        let h = SyncHistogram::default();
        let mut t = SyncTimings::default();
        t.observe(0.0004);
        t.observe(0.3);
        t.observe(9.0);
        h.set(t);
        let mut registry = Registry::default();
        registry.register("fsync_seconds", "h", h);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        for line in [
            "fsync_seconds_count 3",
            "fsync_seconds_bucket{le=\"0.0005\"} 1",
            "fsync_seconds_bucket{le=\"0.25\"} 1",
            "fsync_seconds_bucket{le=\"0.5\"} 2",
            "fsync_seconds_bucket{le=\"2.5\"} 2",
            "fsync_seconds_bucket{le=\"+Inf\"} 3",
        ] {
            assert!(out.lines().any(|l| l == line), "{line} missing in:\n{out}");
        }
    }
}
