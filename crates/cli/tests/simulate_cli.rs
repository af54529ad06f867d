//! `vspread simulate` as a user runs it: the whole engine headless against
//! the in-process simulator for a few market days, then the report. The
//! 20-day figure (wall time, fill rate, slippage, signal to fill) is
//! measured with the same command on a release build; CI runs this short
//! form.

use std::process::Command;

fn vspread() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
}

#[test]
fn a_simulated_day_trades_balances_to_the_cent_and_reports_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let data = dir.path().join("data");
    // The defaults, but every held spread is past its exit DTE and a cycle
    // runs every hour: each entry is closed on the next cycle, so one day
    // holds closed trades and every chart has something to draw.
    let config = dir.path().join("config.toml");
    let init = vspread()
        .args(["config", "init", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(init.status.success());
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\nexit_dte = 7\n"));
    assert!(text.contains("\nscan_interval_s = 300\n"));
    let text = text
        .replace("\nexit_dte = 7\n", "\nexit_dte = 365\n")
        .replace("\nscan_interval_s = 300\n", "\nscan_interval_s = 3600\n");
    std::fs::write(&config, text).unwrap();
    let out = vspread()
        .args(["simulate", "--days", "1", "--seed", "3", "--report"])
        .arg(&report)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("simulated 1 market days (2026-07-06 to 2026-07-06"),
        "{stdout}"
    );
    assert!(stdout.contains("equal to the cent"), "{stdout}");
    // Entries and exits ended: the simulation traded, not only waited.
    let ended: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("orders: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no orders line in {stdout}"));
    assert!(ended >= 2, "{stdout}");
    let closed: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("trades: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no trades line in {stdout}"));
    assert!(closed >= 1, "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // The journal and config stay in the data dir asked for.
    assert!(data.join("config.toml").is_file());

    // One self-contained document: well-formed, every chart present, no
    // script and nothing fetched from elsewhere.
    let html = std::fs::read_to_string(&report).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the report is well-formed XHTML");
    for id in [
        "equity-curve",
        "drawdown-curve",
        "daily-pnl",
        "fill-rate-chart",
        "slippage-histogram",
        "time-to-fill-histogram",
        "refusals-chart",
    ] {
        assert!(
            doc.descendants().any(|n| n.attribute("id") == Some(id)),
            "no #{id} in the report"
        );
    }
    assert!(!html.contains("<script"), "the report runs no script");
    for n in doc.descendants() {
        for a in ["src", "href"] {
            if let Some(v) = n.attribute(a) {
                assert!(
                    !v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"),
                    "{a}={v} reaches the network"
                );
            }
        }
    }
}
