//! Rules that relate two keys. They run on the typed model, after every key
//! passed its own schema check, so each rule may assume well-typed values.

use super::error::{ConfigError, ConfigErrorKind};
use super::model::Config;

/// One broken rule: the key it is reported on and the words for it.
struct Broken {
    path: &'static str,
    /// The other key of the rule.
    other: &'static str,
    value: String,
    message: String,
}

/// All rules broken by `config`, in schema order, each with the other key
/// it involves.
pub(crate) fn check_rules(config: &Config) -> Vec<(ConfigError, &'static str)> {
    let mut broken = Vec::new();
    let mut min_max = |min_path: &'static str,
                       min: f64,
                       max_path: &'static str,
                       max: f64,
                       shown: (String, String)| {
        if min > max {
            broken.push(Broken {
                path: min_path,
                other: max_path,
                value: shown.0,
                message: format!("must not be above {max_path} ({})", shown.1),
            });
        }
    };

    let t = &config.trading;
    min_max(
        "trading.max_positions_per_underlying",
        t.max_positions_per_underlying as f64,
        "trading.max_positions",
        t.max_positions as f64,
        (
            t.max_positions_per_underlying.to_string(),
            t.max_positions.to_string(),
        ),
    );

    let s = &config.scanner;
    min_max(
        "scanner.dte_min",
        s.dte_min as f64,
        "scanner.dte_max",
        s.dte_max as f64,
        (s.dte_min.to_string(), s.dte_max.to_string()),
    );
    min_max(
        "scanner.width_min",
        s.width_min,
        "scanner.width_max",
        s.width_max,
        (format!("{:?}", s.width_min), format!("{:?}", s.width_max)),
    );
    min_max(
        "scanner.short_delta_min",
        s.short_delta_min,
        "scanner.short_delta_max",
        s.short_delta_max,
        (
            format!("{:?}", s.short_delta_min),
            format!("{:?}", s.short_delta_max),
        ),
    );

    let r = &config.risk;
    if r.max_iv_resume >= r.max_iv {
        broken.push(Broken {
            path: "risk.max_iv_resume",
            other: "risk.max_iv",
            value: format!("{:?}", r.max_iv_resume),
            message: format!(
                "must be below risk.max_iv ({:?}) so the breaker cannot flap",
                r.max_iv
            ),
        });
    }

    let bases = [
        (
            "strategies.high_base.atr_long_period",
            "strategies.high_base.atr_period",
            config.strategies.high_base.atr_long_period,
            config.strategies.high_base.atr_period,
        ),
        (
            "strategies.low_base.atr_long_period",
            "strategies.low_base.atr_period",
            config.strategies.low_base.atr_long_period,
            config.strategies.low_base.atr_period,
        ),
    ];
    for (long_path, short_path, long, short) in bases {
        if long <= short {
            broken.push(Broken {
                path: long_path,
                other: short_path,
                value: long.to_string(),
                message: format!("must be above {short_path} ({short})"),
            });
        }
    }

    let sched = &config.trading_schedule;
    if sched.start_time_utc >= sched.stop_time_utc {
        broken.push(Broken {
            path: "trading_schedule.start_time_utc",
            other: "trading_schedule.stop_time_utc",
            value: format!("\"{}\"", sched.start_time_utc),
            message: format!(
                "must be before trading_schedule.stop_time_utc (\"{}\")",
                sched.stop_time_utc
            ),
        });
    }

    let e = &config.execution;
    if e.walk_interval_s > e.order_timeout_s {
        broken.push(Broken {
            path: "execution.walk_interval_s",
            other: "execution.order_timeout_s",
            value: format!("{:?}", e.walk_interval_s),
            message: format!(
                "must not be above execution.order_timeout_s ({:?}): the order would time out before its first step",
                e.order_timeout_s
            ),
        });
    }

    broken
        .into_iter()
        .map(|b| {
            (
                ConfigError {
                    path: b.path.to_string(),
                    kind: ConfigErrorKind::Rule,
                    value: Some(b.value),
                    message: b.message,
                    allowed: None,
                    location: None,
                },
                b.other,
            )
        })
        .collect()
}
