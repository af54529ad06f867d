//! The in-memory path the engine takes with live quotes: rows pushed into a
//! `ChainBuilder` scan exactly like the same rows read from CSV, and rows
//! that break a rule are refused with the column and reason.

use vspread_analytics::scanner::csv::read_chain;
use vspread_analytics::scanner::{ChainBuilder, OptionRow, scan};
use vspread_core::Right;
use vspread_core::config::Config;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

/// A row of the sample in its own column order, parsed without the reader.
fn row_of(line: &str) -> Option<OptionRow<'_>> {
    let f: Vec<&str> = line.split(',').collect();
    Some(OptionRow {
        underlying: f[0],
        underlying_price: f[1].parse().ok()?,
        expiry: f[2].parse().ok()?,
        dte: f[3].parse().ok()?,
        strike: f[4].parse().ok()?,
        right: match f[5] {
            "C" => Right::Call,
            "P" => Right::Put,
            _ => return None,
        },
        bid: f[6].parse().ok()?,
        ask: f[7].parse().ok()?,
        delta: f[8].parse().ok()?,
        iv: f[9].parse().ok()?,
        open_interest: f[10].parse().ok()?,
        volume: f[11].parse().ok()?,
    })
}

#[test]
fn pushed_rows_scan_like_the_csv() {
    let text = std::fs::read_to_string(format!("{DATA}/chain_small.csv")).unwrap();
    let config =
        Config::from_toml_str(&std::fs::read_to_string(format!("{DATA}/scan_small.toml")).unwrap())
            .unwrap()
            .scanner;
    let mut builder = ChainBuilder::new();
    let mut refused = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        match row_of(line) {
            Some(row) => {
                if let Err(p) = builder.push(i + 1, &row) {
                    refused.push((i + 1, p.column));
                }
            }
            None => refused.push((i + 1, "unparsed")),
        }
    }
    let (chain, repeats) = builder.build();
    refused.extend(repeats.iter().map(|b| (b.line, b.problem.column)));
    refused.sort();
    assert_eq!(
        refused,
        [
            (1541, "unparsed"),
            (3045, "ask"),
            (4199, "unparsed"),
            (6035, "unparsed"),
            (6365, "strike"),
            (9549, "underlying_price"),
            (11500, "strike"),
        ]
    );
    let from_csv = scan(&read_chain(text.as_bytes()).unwrap().chain, &config);
    let in_memory = scan(&chain, &config);
    assert_eq!(in_memory.rows.len(), 300);
    assert_eq!(in_memory, from_csv);
}

#[test]
fn pushed_rows_that_break_a_rule_are_refused() {
    let good = OptionRow {
        underlying: "AAA",
        underlying_price: 100.0,
        expiry: 20261218,
        dte: 30,
        strike: 100.0,
        right: Right::Call,
        bid: 1.0,
        ask: 1.2,
        delta: 0.5,
        iv: 0.3,
        open_interest: 500,
        volume: 5,
    };
    let cases = [
        (
            OptionRow {
                underlying: "",
                ..good
            },
            "underlying",
            "empty",
        ),
        (
            OptionRow {
                underlying_price: f64::NAN,
                ..good
            },
            "underlying_price",
            "not finite",
        ),
        (
            OptionRow {
                expiry: 20260231,
                ..good
            },
            "expiry",
            "not a YYYYMMDD date",
        ),
        (OptionRow { dte: -1, ..good }, "dte", "negative"),
        (
            OptionRow {
                strike: 0.0,
                ..good
            },
            "strike",
            "not > 0",
        ),
        (OptionRow { bid: -0.01, ..good }, "bid", "negative"),
        (OptionRow { ask: 0.9, ..good }, "ask", "below the bid"),
        (
            OptionRow {
                delta: -0.5,
                ..good
            },
            "delta",
            "[0, 1] for a call",
        ),
        (
            OptionRow {
                iv: f64::INFINITY,
                ..good
            },
            "iv",
            "not finite",
        ),
        (
            OptionRow {
                open_interest: -3,
                ..good
            },
            "open_interest",
            "negative",
        ),
        (
            OptionRow {
                volume: i64::MAX,
                ..good
            },
            "volume",
            "too large",
        ),
    ];
    for (row, column, reason) in cases {
        let mut builder = ChainBuilder::new();
        builder.push(2, &good).unwrap();
        let problem = builder.push(3, &row).unwrap_err();
        assert_eq!(problem.column, column, "{row:?}: {}", problem.reason);
        assert!(
            problem.reason.contains(reason),
            "{row:?}: {}",
            problem.reason
        );
        assert_eq!(builder.build().0.len(), 1);
    }
}
