//! Properties of the scanner: ranking does not depend on row order, every
//! output row passes every filter, and no input makes the reader panic.

use proptest::prelude::*;
use vspread_analytics::scanner::csv::{InputError, read_chain};
use vspread_analytics::scanner::scan;
use vspread_core::config::{Config, ScannerConfig};

#[path = "support/scanner_configs.rs"]
mod scanner_configs;
use scanner_configs::scanner_configs;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

fn sample() -> (String, ScannerConfig) {
    let chain = std::fs::read_to_string(format!("{DATA}/chain_small.csv")).unwrap();
    let config =
        Config::from_toml_str(&std::fs::read_to_string(format!("{DATA}/scan_small.toml")).unwrap())
            .unwrap()
            .scanner;
    (chain, config)
}

/// The sample without its bad rows, one underlying only, to keep cases fast.
fn small_chain() -> (Vec<String>, String, ScannerConfig) {
    let (chain, config) = sample();
    let mut lines = chain.lines();
    let header = lines.next().unwrap().to_string();
    let rows: Vec<String> = lines
        .filter(|l| l.starts_with("HXAM,"))
        .map(String::from)
        .collect();
    (rows, header, config)
}

/// Each ranked row with its legs named by their CSV text instead of their
/// line (lines move when rows are shuffled; the options they name must not).
fn with_legs(
    result: &vspread_analytics::scanner::ScanResult,
    rows: &[String],
) -> Vec<(vspread_analytics::scanner::SpreadRow, String, String)> {
    let text = |line: usize| rows[line - 2].clone();
    result
        .rows
        .iter()
        .map(|r| {
            let legs = (text(r.long_line), text(r.short_line));
            let mut r = r.clone();
            (r.long_line, r.short_line) = (0, 0);
            (r, legs.0, legs.1)
        })
        .collect()
}

fn csv_of(header: &str, rows: &[String]) -> Vec<u8> {
    let mut s = String::from(header);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn ranking_is_deterministic_under_row_shuffles(seed in any::<u64>()) {
        let (mut rows, header, config) = small_chain();
        // The bad rows of the sample depend on order (first seen wins), so
        // shuffle only rows that are valid and unique.
        let read = read_chain(&csv_of(&header, &rows)).unwrap();
        let bad: std::collections::HashSet<usize> = read.bad_rows.iter().map(|b| b.line - 2).collect();
        rows = rows.into_iter().enumerate().filter(|(i, _)| !bad.contains(i)).map(|(_, r)| r).collect();
        let baseline = scan(&read_chain(&csv_of(&header, &rows)).unwrap().chain, &config);
        let baseline_rows = with_legs(&baseline, &rows);
        let mut state = seed | 1;
        for i in (1..rows.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            rows.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let shuffled = scan(&read_chain(&csv_of(&header, &rows)).unwrap().chain, &config);
        // The same spreads, in the same order, with legs naming the same
        // options wherever their rows moved.
        prop_assert_eq!(baseline_rows, with_legs(&shuffled, &rows));
        prop_assert_eq!(baseline.funnel, shuffled.funnel);
    }

    #[test]
    fn every_output_row_satisfies_every_filter(
        config in scanner_configs(Just(ScannerConfig::default().kinds)),
    ) {
        let (chain, _) = sample();
        let (top, max) = (config.top_per_underlying, config.max_results);
        let read = read_chain(chain.as_bytes()).unwrap();
        let result = scan(&read.chain, &config);
        prop_assert!(result.rows.len() as i64 <= max);
        let mut per_underlying = std::collections::HashMap::new();
        for r in &result.rows {
            *per_underlying.entry(r.underlying.clone()).or_insert(0i64) += 1;
            prop_assert!(config.dte_min <= r.dte && r.dte <= config.dte_max);
            prop_assert!(config.width_min <= r.width && r.width <= config.width_max);
            prop_assert!(r.price > 1e-6 && r.width - r.price > 1e-6);
            if r.kind.is_debit() {
                prop_assert!(r.price / r.width <= config.max_debit_to_width);
            } else {
                prop_assert!(r.price / r.width >= config.min_credit_to_width);
            }
            prop_assert!(r.pop >= config.min_pop);
            prop_assert!(r.score >= config.min_score);
            prop_assert!((r.max_profit + r.max_loss - r.width).abs() < 1e-9);
        }
        prop_assert!(per_underlying.values().all(|n| *n <= top));
        // Ranked: rank keys never increase.
        for w in result.rows.windows(2) {
            let (a, b) = ((w[0].score * 1e9).round_ties_even(), (w[1].score * 1e9).round_ties_even());
            prop_assert!(a >= b);
        }
    }

    #[test]
    fn the_reader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let _ = read_chain(&bytes);
    }

    #[test]
    fn the_reader_never_panics_on_mutated_chains(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..20)
    ) {
        let (rows, header, _) = small_chain();
        let mut bytes = csv_of(&header, &rows[..200]);
        for (at, byte, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        if let Ok(read) = read_chain(&bytes) {
            // Every data row is either in the chain or reported.
            prop_assert_eq!(read.chain.len() + read.bad_rows.len(), read.rows);
            let _ = scan(&read.chain, &ScannerConfig::default());
        }
    }
}

#[test]
fn input_errors_are_clear() {
    assert_eq!(read_chain(b"").unwrap_err(), InputError::Empty);
    assert_eq!(read_chain(b"\n\n  \n").unwrap_err(), InputError::Empty);
    let missing = read_chain(b"underlying,strike\nAAPL,100\n").unwrap_err();
    assert!(
        matches!(&missing, InputError::MissingColumns { line: 1, missing } if missing.len() == 10),
        "{missing}"
    );
    assert!(
        missing
            .to_string()
            .contains("lacks the columns underlying_price, expiry"),
        "{missing}"
    );
    let twice = "underlying,underlying_price,expiry,dte,strike,right,bid,ask,delta,iv,open_interest,volume,bid\n";
    assert_eq!(
        read_chain(twice.as_bytes()).unwrap_err(),
        InputError::DuplicateColumn {
            line: 1,
            column: "bid".into()
        }
    );
    assert_eq!(
        read_chain(b"\xff\xfe\x00binary").unwrap_err(),
        InputError::NotText { line: 1 }
    );
}

#[test]
fn each_bad_row_class_is_reported_with_its_column() {
    let header = "volume,underlying,underlying_price,expiry,dte,strike,right,bid,ask,delta,iv,open_interest,extra";
    let good = "5,AAA,100,20261218,30,100,C,1.0,1.2,0.5,0.3,500,x";
    let cases = [
        (
            "5,AAA,100,20261218,30,100,C,abc,1.2,0.5,0.3,500,x",
            "bid",
            "not a number",
        ),
        (
            "5,AAA,100,20261218,30,100,C,1.3,1.2,0.5,0.3,500,x",
            "ask",
            "below the bid",
        ),
        (
            "5,AAA,100,20261218,30,100,c,1.0,1.2,0.5,0.3,500,x",
            "right",
            "not C or P",
        ),
        (
            "5,AAA,100,20261218,30,100,C,1.0,1.2,,0.3,500,x",
            "delta",
            "empty",
        ),
        (
            "5,AAA,100,20261218,30,-100,C,1.0,1.2,0.5,0.3,500,x",
            "strike",
            "not > 0",
        ),
        (
            "5,AAA,101,20261218,30,105,C,1.0,1.2,0.5,0.3,500,x",
            "underlying_price",
            "disagrees",
        ),
        (
            "5,AAA,100,20261218,31,110,C,1.0,1.2,0.5,0.3,500,x",
            "dte",
            "disagrees",
        ),
        (
            "5,AAA,100,20261218,30,100,C,1.0,1.2,0.5,0.3,500,x",
            "strike",
            "repeats line 2",
        ),
        (
            "5,AAA,100,20261231,30,100,P,1.0,1.2,0.5,0.3,500,x",
            "delta",
            "[-1, 0] for a put",
        ),
        (
            "5,AAA,100,20260231,30,100,C,1.0,1.2,0.5,0.3,500,x",
            "expiry",
            "not a YYYYMMDD date",
        ),
        (
            "5,AAA,100,20261218,30,100,C,1.0,1.2,0.5,0.3,7.0,x",
            "open_interest",
            "not an integer",
        ),
        (
            "5,AAA,100,20261218,30,100,C,1.0,1.2,0.5,inf,500,x",
            "iv",
            "not a number",
        ),
        (
            "5,AAA,100,20261218,30,100,C,1.0,1e999,0.5,0.3,500,x",
            "ask",
            "not finite",
        ),
        (
            "5,,100,20261218,30,100,C,1.0,1.2,0.5,0.3,500,x",
            "underlying",
            "empty",
        ),
        ("5,AAA,100,20261218", "dte", "the row has 4 fields"),
        (
            "5,AAA,100,20261218,30,100,C,1.0,1.2,0.5,0.3,500,x,y",
            "underlying",
            "the row has 14 fields",
        ),
    ];
    for (row, column, reason) in cases {
        let text = format!("{header}\n{good}\n\n{row}\n");
        let read = read_chain(text.as_bytes()).unwrap();
        assert_eq!(read.bad_rows.len(), 1, "{row}: {:?}", read.bad_rows);
        let bad = &read.bad_rows[0];
        assert_eq!(
            bad.line, 4,
            "{row}: blank lines count as lines but not rows"
        );
        assert_eq!(bad.problem.column, column, "{row}: {}", bad.problem.reason);
        assert!(
            bad.problem.reason.contains(reason),
            "{row}: {}",
            bad.problem.reason
        );
        assert_eq!(read.chain.len(), 1);
    }
}
