//! Tests of parsing and validation: one per bad-input class of the issue,
//! each asserting the exact key path, plus the default file's round trip.

use super::*;

fn errors(text: &str) -> ConfigErrors {
    Config::from_toml_str(text).expect_err("config should be refused")
}

fn only_error(text: &str) -> ConfigError {
    let e = errors(text);
    assert_eq!(e.errors.len(), 1, "expected one error, got: {e}");
    e.errors[0].clone()
}

#[test]
fn default_file_is_valid_and_equals_the_defaults() {
    let text = default_file_text();
    let config = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(config, Config::default());
    assert!(text.contains("[strategies.high_base]"));
    assert!(text.contains("# Close when the underlying moves this many ATRs"));
    assert!(text.contains("Unit: s."));
    assert!(text.contains("max_lines = 90"));
    assert!(text.contains("listen = \"127.0.0.1:8080\""));
    assert!(text.contains("start_time_utc = \"13:30\""));
}

#[test]
fn defaults_pass_validation() {
    Config::default().validate().unwrap();
}

#[test]
fn partial_file_defaults_the_rest() {
    let c = Config::from_toml_str("[scanner]\ndte_max = 35\n").unwrap();
    assert_eq!(c.scanner.dte_max, 35);
    assert_eq!(c.scanner.dte_min, 21);
    assert_eq!(c.pacing.max_messages_per_sec, 45);
    assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
}

#[test]
fn the_scanner_sample_config_is_valid() {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/scan_small.toml"
    ));
    let c = Config::from_toml_str(text).unwrap();
    assert_eq!(c.scanner.dte_max, 35);
    assert_eq!(c.scanner.max_results, 300);
    assert_eq!(c.scanner.kinds.len(), 4);
}

#[test]
fn wrong_type_names_path_value_and_line() {
    let e = only_error("[ibkr]\nhost = \"x\"\nport = \"4002\"\n");
    assert_eq!(e.path, "ibkr.port");
    assert_eq!(e.kind, ConfigErrorKind::Type);
    assert_eq!(e.value.as_deref(), Some("\"4002\""));
    assert_eq!(e.allowed.as_deref(), Some("an integer from 1 to 65535"));
    assert_eq!(e.location, Some(Location { line: 3, column: 8 }));
    // A float where an integer belongs is a type error too.
    assert_eq!(
        only_error("[scanner]\ndte_min = 7.0\n").path,
        "scanner.dte_min"
    );
}

#[test]
fn out_of_range_values() {
    let e = only_error("[exits]\nstop_loss_atr_mult = -1\n");
    assert_eq!(e.path, "exits.stop_loss_atr_mult");
    assert_eq!(e.kind, ConfigErrorKind::Range);
    assert_eq!(e.allowed.as_deref(), Some("a finite number from 0.1 to 20"));
    let e = only_error("[scanner]\ntop_per_underlying = 0\n");
    assert_eq!(e.path, "scanner.top_per_underlying");
    let e = only_error("[scanner]\nshort_delta_max = 1.5\n");
    assert_eq!(e.path, "scanner.short_delta_max");
    let e = only_error("[scanner]\nmin_open_interest = 99999999999999999999\n");
    assert_eq!(e.path, "scanner.min_open_interest");
}

#[test]
fn nan_and_inf_are_refused() {
    for v in ["nan", "inf", "-inf", "+nan"] {
        let e = only_error(&format!("[risk]\nmax_daily_loss = {v}\n"));
        assert_eq!(e.path, "risk.max_daily_loss", "{v}");
        assert_eq!(e.kind, ConfigErrorKind::Range);
        assert!(e.message.contains("finite"), "{e}");
    }
    // The scanner's unbounded float keys must be finite too.
    assert_eq!(
        only_error("[scanner]\nmin_score = inf\n").path,
        "scanner.min_score"
    );
}

#[test]
fn unknown_keys_suggest_the_nearest() {
    let e = only_error("[exits]\nstop_loss_atr_mul = 1.5\n");
    assert_eq!(e.path, "exits.stop_loss_atr_mul");
    assert_eq!(e.kind, ConfigErrorKind::UnknownKey);
    assert!(
        e.message.contains("did you mean `stop_loss_atr_mult`"),
        "{e}"
    );
    assert_eq!(e.location, Some(Location { line: 2, column: 1 }));
    let e = only_error("[exit]\nstop_loss_atr_mult = 1.5\n");
    assert_eq!(e.path, "exit");
    assert!(e.message.contains("did you mean `exits`"), "{e}");
}

#[test]
fn bad_enums_list_the_allowed_values() {
    let e = only_error("[trading]\nmode = \"Live\"\n");
    assert_eq!(e.path, "trading.mode");
    assert_eq!(e.kind, ConfigErrorKind::Enum);
    assert_eq!(e.allowed.as_deref(), Some("one of \"paper\", \"live\""));
    let e = only_error("[scanner]\nkinds = [\"bull_call\", \"iron_condor\"]\n");
    assert_eq!(e.path, "scanner.kinds[1]");
    let e = only_error("[scanner]\nkinds = []\n");
    assert_eq!(e.path, "scanner.kinds");
    let e = only_error("[scanner]\nkinds = [\"bull_call\", \"bull_call\"]\n");
    assert_eq!(e.path, "scanner.kinds[1]");
}

#[test]
fn times_like_25_00_are_refused() {
    let e = only_error("[trading_schedule]\nstart_time_utc = \"25:00\"\n");
    assert_eq!(e.path, "trading_schedule.start_time_utc");
    assert_eq!(e.kind, ConfigErrorKind::Format);
    assert_eq!(
        e.allowed.as_deref(),
        Some("a time \"HH:MM\" from 00:00 to 23:59")
    );
    assert_eq!(
        e.location,
        Some(Location {
            line: 2,
            column: 18
        })
    );
}

#[test]
fn cross_field_rules_name_the_key() {
    let e = only_error("[scanner]\ndte_min = 40\ndte_max = 30\n");
    assert_eq!(e.path, "scanner.dte_min");
    assert_eq!(e.kind, ConfigErrorKind::Rule);
    assert_eq!(e.location.map(|l| l.line), Some(2));
    let e =
        only_error("[trading_schedule]\nstart_time_utc = \"20:00\"\nstop_time_utc = \"13:30\"\n");
    assert_eq!(e.path, "trading_schedule.start_time_utc");
    let e = only_error("[scanner]\nshort_delta_min = 0.5\nshort_delta_max = 0.4\n");
    assert_eq!(e.path, "scanner.short_delta_min");
    let e = only_error("[strategies.low_base]\natr_period = 30\natr_long_period = 20\n");
    assert_eq!(e.path, "strategies.low_base.atr_long_period");
    assert_eq!(e.location.map(|l| l.line), Some(3));
    let e = only_error("[risk]\nmax_iv = 0.5\nmax_iv_resume = 0.6\n");
    assert_eq!(e.path, "risk.max_iv_resume");
    // The spec allows a min equal to its max.
    Config::from_toml_str("[scanner]\ndte_min = 30\ndte_max = 30\n").unwrap();
}

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let text = "[trading]\nmode = \"real\"\n[exits]\nexit_dte = -3\nprofit_target_pct = \"half\"\n[bogus]\nx = 1\n";
    let e = errors(text);
    let paths: Vec<&str> = e.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "trading.mode",
            "exits.exit_dte",
            "exits.profit_target_pct",
            "bogus"
        ]
    );
    let shown = e.with_source_name("config.toml").to_string();
    assert!(shown.starts_with("4 errors in config.toml:"), "{shown}");
    assert!(shown.contains("config.toml:4:12: exits.exit_dte = -3: out of range (allowed: an integer from 0 to 365)"), "{shown}");
}

#[test]
fn rules_are_reported_with_per_key_errors_unless_they_touch_a_bad_key() {
    let text =
        "[exits]\nexit_dte = -3\n[scanner]\ndte_min = 40\ndte_max = 30\nwidth_min = \"wide\"\n";
    let e = errors(text);
    let paths: Vec<&str> = e.errors.iter().map(|e| e.path.as_str()).collect();
    // width_min is bad itself, so width_min <= width_max is not judged on
    // its default; dte_min > dte_max is reported alongside, in file order.
    assert_eq!(
        paths,
        ["exits.exit_dte", "scanner.dte_min", "scanner.width_min"]
    );
    assert_eq!(e.errors[1].kind, ConfigErrorKind::Rule);
    assert_eq!(e.errors[1].location.map(|l| l.line), Some(4));
    // A rule whose other key is bad is not reported.
    let e = errors("[scanner]\ndte_min = 40\ndte_max = -1\n");
    let paths: Vec<&str> = e.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["scanner.dte_max"]);
}

#[test]
fn duplicate_keys_name_the_key() {
    let e = only_error("[scanner]\ndte_min = 21\ndte_min = 22\n");
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert_eq!(e.path, "scanner.dte_min");
    assert_eq!(e.location.map(|l| l.line), Some(3));
    let e = only_error("[scanner]\n[scanner]\n");
    assert_eq!(e.path, "scanner");
}

#[test]
fn garbage_bytes_are_a_syntax_error() {
    let e = Config::from_toml_bytes(b"\x00\xff\xfe garbage").unwrap_err();
    assert_eq!(e.errors[0].path, "");
    assert_eq!(e.errors[0].kind, ConfigErrorKind::Syntax);
    assert!(e.errors[0].message.contains("not UTF-8"), "{e}");
    let e = only_error("this is not toml at all");
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert_eq!(e.path, "");
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = format!("x = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = only_error(&deep);
    assert_eq!(e.kind, ConfigErrorKind::Syntax);
    assert_eq!(e.path, "x");
    let deep_tables = format!("[{}]\n", vec!["a"; 5000].join("."));
    let e = errors(&deep_tables);
    assert!(
        e.errors[0].path.starts_with("a.a."),
        "{}",
        &e.errors[0].message
    );
}

#[test]
fn a_100_mb_file_is_refused_without_parsing() {
    let big = "#".repeat(100 * 1024 * 1024);
    let e = only_error(&big);
    assert_eq!(e.path, "");
    assert!(e.message.contains("too large"), "{e}");
}

#[test]
fn json_bodies_are_validated_the_same_way() {
    let mut json = serde_json::to_value(Config::default()).unwrap();
    json["exits"]["stop_loss_atr_mult"] = serde_json::json!(-1);
    json["trading"]["modes"] = serde_json::json!("paper");
    let e = Config::from_json(&json).unwrap_err();
    let paths: Vec<&str> = e.errors.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"exits.stop_loss_atr_mult"), "{paths:?}");
    assert!(paths.contains(&"trading.modes"), "{paths:?}");
    assert!(e.errors.iter().all(|e| e.location.is_none()));
}

#[test]
fn diff_lists_changed_leaves_in_schema_order() {
    let a = Config::default();
    let mut b = a.clone();
    b.exits.stop_loss_atr_mult = 1.5;
    b.trading.universe.push("GLD".into());
    let d = diff(&a, &b);
    let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["trading.universe", "exits.stop_loss_atr_mult"]);
    assert_eq!(d[1].old, serde_json::json!(2.0));
    assert_eq!(d[1].new, serde_json::json!(1.5));
    assert_eq!(
        value_at(&b, "exits.stop_loss_atr_mult"),
        Some(serde_json::json!(1.5))
    );
}

#[test]
fn schema_carries_bounds_defaults_units_and_descriptions() {
    let s = config_schema();
    let p = &s["properties"]["exits"]["properties"]["stop_loss_atr_mult"];
    assert_eq!(p["type"], "number");
    assert_eq!(p["minimum"], 0.1);
    assert_eq!(p["maximum"], 20.0);
    assert_eq!(p["x-unit"], "ATR");
    assert!(p["description"].as_str().unwrap().starts_with("Close when"));
    assert_eq!(
        s["properties"]["exits"]["default"]["stop_loss_atr_mult"],
        2.0
    );
    assert_eq!(
        s["properties"]["trading"]["properties"]["mode"]["enum"],
        serde_json::json!(["paper", "live"])
    );
    assert_eq!(s["properties"]["exits"]["additionalProperties"], false);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random byte-level mutations of a valid file never panic, and what
        /// they accept is a valid config.
        #[test]
        fn mutated_files_never_panic(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8)
        ) {
            let mut bytes = default_file_text().into_bytes();
            for (at, byte, op) in edits {
                if bytes.is_empty() { break; }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => { bytes.remove(i); }
                    _ => bytes.insert(i, byte),
                }
            }
            if let Ok(config) = Config::from_toml_bytes(&bytes) {
                prop_assert!(config.validate().is_ok());
            }
        }

        /// Any single value of any type at any known key gives either a
        /// config or errors that name that key.
        #[test]
        fn any_value_at_a_known_key_is_handled(
            value in prop_oneof![
                any::<i64>().prop_map(|v| v.to_string()),
                any::<f64>().prop_map(|v| format!("{v:?}")),
                "[a-z0-9:._ -]{0,12}".prop_map(|s| format!("{s:?}")),
                Just("true".to_string()),
                Just("[1, 2]".to_string()),
                Just("{ a = 1 }".to_string()),
            ],
            key in prop::sample::select(vec![
                ("exits", "stop_loss_atr_mult"), ("scanner", "dte_min"), ("trading", "mode"),
                ("trading_schedule", "stop_time_utc"), ("server", "listen"), ("trading", "universe"),
                ("ibkr", "port"), ("scanner", "kinds"),
            ]),
        ) {
            let text = format!("[{}]\n{} = {}\n", key.0, key.1, value);
            match Config::from_toml_str(&text) {
                Ok(c) => prop_assert!(c.validate().is_ok()),
                Err(e) => {
                    let path = format!("{}.{}", key.0, key.1);
                    prop_assert!(e.errors.iter().all(|err| err.path.starts_with(&path) || err.kind == ConfigErrorKind::Syntax || err.kind == ConfigErrorKind::Rule), "{}", e);
                }
            }
        }
    }
}

#[test]
fn a_retired_key_is_accepted_ignored_and_named() {
    let text = "[market_data]\nsnapshot = false\nmax_lines = 80\n";
    let config = Config::from_toml_str(text).unwrap();
    assert_eq!(config.market_data.max_lines, 80);
    let retired = super::retired_keys_in(text);
    assert_eq!(retired.len(), 1);
    assert_eq!(retired[0].0, "market_data.snapshot");
    assert!(super::retired_keys_in("[market_data]\nmax_lines = 80\n").is_empty());
    // Any other unknown key is still refused.
    let errors = Config::from_toml_str("[market_data]\nsnapshots = false\n").unwrap_err();
    assert_eq!(errors.errors[0].path, "market_data.snapshots");
}
