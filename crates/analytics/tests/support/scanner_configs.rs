//! Scanner settings for property tests: every filter drawn over a range
//! wide enough to pass everything or nothing, with ordered bounds.

use proptest::prelude::*;
use vspread_core::SpreadKind;
use vspread_core::config::ScannerConfig;

/// Any settings, with the kinds drawn by `kinds`.
pub fn scanner_configs(
    kinds: impl Strategy<Value = Vec<SpreadKind>>,
) -> impl Strategy<Value = ScannerConfig> {
    (
        kinds,
        (0i64..40, 0i64..400, 0.0f64..5.0, 0.0f64..30.0),
        (0i64..3000, 0.01f64..1.0, 0.0f64..0.5, 0.0f64..0.5),
        (0.05f64..1.0, 0.0f64..0.6, 0.0f64..0.8, -1.0f64..0.5),
        (1i64..50, 1i64..400),
    )
        .prop_map(
            |(
                kinds,
                (dte_min, dte_span, width_min, width_span),
                (min_open_interest, max_leg_spread_pct, dmin, dspan),
                (max_debit_to_width, min_credit_to_width, min_pop, min_score),
                (top_per_underlying, max_results),
            )| ScannerConfig {
                kinds,
                dte_min,
                dte_max: dte_min + dte_span,
                width_min,
                width_max: width_min + width_span,
                min_open_interest,
                max_leg_spread_pct,
                short_delta_min: dmin,
                short_delta_max: (dmin + dspan).min(1.0),
                max_debit_to_width,
                min_credit_to_width,
                min_pop,
                min_score,
                top_per_underlying,
                max_results,
                ..ScannerConfig::default()
            },
        )
}
