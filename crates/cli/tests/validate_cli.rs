//! `vspread validate` as a process against `vspread sim` processes: with
//! the simulator forcing partial fills, every row of the validation is
//! observable and passes (exit 0, JSON and HTML reports); against a
//! simulator logged in to a live account, or with a config that says
//! live, it refuses before any order (exit 2, the simulator's ledger
//! holds no order).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn vspread() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vspread"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `vspread sim` process with a control port, killed (by its pid) when
/// dropped.
struct Sim {
    child: Child,
    port: u16,
    control: u16,
}

impl Sim {
    fn start(flags: &[&str]) -> Sim {
        let (port, control) = (free_port(), free_port());
        let child = vspread()
            .args([
                "sim",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--control",
                &format!("127.0.0.1:{control}"),
                "--always-open",
            ])
            .args(flags)
            .env("VSPREAD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let sim = Sim {
            child,
            port,
            control,
        };
        let since = Instant::now();
        while TcpStream::connect(("127.0.0.1", control)).is_err() {
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "the simulator did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sim
    }

    /// The orders the simulator's venue holds (its ledger).
    fn orders(&self) -> Vec<Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.control)).unwrap();
        stream.write_all(b"ledger\n").unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        let json = line.trim().strip_prefix("ok ").expect("ok {...}");
        let ledger: Value = serde_json::from_str(json).unwrap();
        ledger["orders"].as_array().unwrap().clone()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn set(config: &Path, key: &str, value: &str) {
    let out = vspread()
        .args(["config", "set", key, value, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{key}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A config for `port` trading IWM with a narrow chain (one expiry's
/// worth of quotes: the performance row times the whole decision).
fn config(dir: &Path, port: u16, extra: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("config.toml");
    let out = vspread()
        .args(["config", "init", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    set(&path, "ibkr.port", &port.to_string());
    set(&path, "trading.universe", "[\"IWM\"]");
    set(&path, "scanner.dte_min", "21");
    set(&path, "scanner.dte_max", "28");
    set(&path, "scanner.width_max", "5");
    for (key, value) in extra {
        set(&path, key, value);
    }
    path
}

fn validate(config: &Path, extra: &[&str]) -> Output {
    vspread()
        .args(["validate", "--timeout-s", "20", "--config"])
        .arg(config)
        .args(extra)
        .env("VSPREAD_LOG", "warn")
        .output()
        .unwrap()
}

#[test]
fn against_a_simulator_forcing_partial_fills_every_row_passes() {
    let sim = Sim::start(&["--seed", "3", "--partial-fills", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), sim.port, &[]);
    let json = dir.path().join("validation.json");
    let out = validate(&config, &["--fill", "--report", json.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert!(report["account"].as_str().unwrap().starts_with('D'));
    let rows = report["rows"].as_array().unwrap();
    let checks: Vec<&str> = rows.iter().map(|r| r["check"].as_str().unwrap()).collect();
    assert_eq!(
        checks,
        [
            "performance",
            "order execution",
            "connection handling",
            "partial fills",
            "sequence numbers",
            "risk limits",
            "circuit breaker"
        ]
    );
    for row in rows {
        assert_eq!(row["verdict"], "pass", "{row}\n{stdout}");
        assert!(!row["measured"].as_str().unwrap().is_empty());
    }
    let measured = |check: &str| -> String {
        rows.iter().find(|r| r["check"] == check).unwrap()["measured"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Split fills were seen (one combo per simulated second).
    assert_eq!(measured("partial fills"), "2 executions");
    assert!(measured("connection handling").starts_with("reconnect "));
    // The table was printed, one line per row.
    for check in checks {
        assert!(stdout.contains(check), "{stdout}");
    }
    // Every validation order ended at the simulator: none is left working,
    // and the fills were closed (the ledger's positions are flat).
    let orders = sim.orders();
    assert!(orders.len() >= 6, "{orders:?}");
    assert!(
        orders
            .iter()
            .all(|o| !matches!(o["status"].as_str(), Some("Submitted" | "PreSubmitted"))),
        "{orders:?}"
    );

    // The same table as HTML, through the report module.
    let html = dir.path().join("validation.html");
    let out = validate(&config, &["--report", html.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    let results: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("td") && n.attribute("class").is_some_and(|c| c != "num"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect();
    // Without --fill the partial fills row cannot be observed.
    assert_eq!(
        results,
        [
            "pass",
            "pass",
            "pass",
            "not observable",
            "pass",
            "pass",
            "pass"
        ]
    );
}

#[test]
fn a_live_account_or_a_live_config_is_refused_before_any_order() {
    let sim = Sim::start(&["--account", "U7654321"]);
    let dir = tempfile::tempdir().unwrap();
    let config_path = config(dir.path(), sim.port, &[]);
    let out = validate(&config_path, &["--fill"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("U7654321"), "{stderr}");
    assert!(stderr.contains("not a paper account"), "{stderr}");
    assert!(sim.orders().is_empty());

    let paper = Sim::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let live = config(dir.path(), paper.port, &[("trading.mode", "\"live\"")]);
    let out = validate(&live, &["--fill"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("mode = \"live\""), "{stderr}");
    assert!(paper.orders().is_empty());
}
