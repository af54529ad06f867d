//! `vspread scan` as a user runs it on the sample in `tests/data` and on bad
//! input.

use std::process::{Command, Output};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

fn vspread(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
        .args(args)
        .output()
        .expect("run vspread")
}

#[test]
fn csv_output_reproduces_the_sample() {
    let chain = format!("{DATA}/chain_small.csv");
    let config = format!("{DATA}/scan_small.toml");
    let o = vspread(&[
        "scan",
        "--chain",
        &chain,
        "--config",
        &config,
        "--format",
        "csv",
        "--explain",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = String::from_utf8(o.stdout).unwrap();
    let want = std::fs::read_to_string(format!("{DATA}/scan_small.expected.csv")).unwrap();
    assert_eq!(got.lines().count(), want.lines().count());
    assert_eq!(got.lines().next(), want.lines().next(), "header");
    for (g, w) in got.lines().zip(want.lines()).skip(1) {
        let (g, w): (Vec<&str>, Vec<&str>) = (g.split(',').collect(), w.split(',').collect());
        assert_eq!(g[..6], w[..6]);
        for c in 6..15 {
            let (a, b): (f64, f64) = (g[c].parse().unwrap(), w[c].parse().unwrap());
            assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()), "{a} vs {b}");
        }
    }
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("line 1541, column bid: \"N/A\" is not a number"),
        "{err}"
    );
    assert!(err.contains("7 bad row(s) of 11499 skipped"), "{err}");
    assert!(err.contains("filter funnel"), "{err}");
    assert!(err.contains("min_open_interest"), "{err}");
}

#[test]
fn json_and_table_formats() {
    let chain = format!("{DATA}/chain_small.csv");
    let config = format!("{DATA}/scan_small.toml");
    let o = vspread(&[
        "scan", "--chain", &chain, "--config", &config, "--format", "json",
    ]);
    assert!(o.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 300);
    assert_eq!(rows[0]["underlying"], "HXAM");
    assert_eq!(rows[0]["long_strike"], 74.0);
    let o = vspread(&["scan", "--chain", &chain, "--config", &config]);
    assert!(o.status.success());
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.lines().next().unwrap().contains("breakeven"));
    assert_eq!(table.lines().count(), 301);
}

#[test]
fn bad_input_fails_clearly_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let binary = dir.path().join("image.csv");
    std::fs::write(&binary, [0x89, b'P', b'N', b'G', 0, 0xff, 0xfe]).unwrap();
    let cols = dir.path().join("cols.csv");
    std::fs::write(&cols, "underlying,strike\nAAA,1\n").unwrap();
    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, "[scanner]\ndte_min = 50\ndte_max = 10\n").unwrap();
    let chain = format!("{DATA}/chain_small.csv");
    let cases: [(&[&str], &str); 5] = [
        (
            &["scan", "--chain", empty.to_str().unwrap()],
            "the file is empty",
        ),
        (&["scan", "--chain", binary.to_str().unwrap()], "not text"),
        (
            &["scan", "--chain", cols.to_str().unwrap()],
            "lacks the columns",
        ),
        (
            &["scan", "--chain", "/no/such/file.csv"],
            "cannot read chain file /no/such/file.csv",
        ),
        (
            &[
                "scan",
                "--chain",
                &chain,
                "--config",
                bad_config.to_str().unwrap(),
            ],
            "scanner.dte_min = 50: must not be above scanner.dte_max",
        ),
    ];
    for (args, message) in cases {
        let o = vspread(args);
        assert!(!o.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}
